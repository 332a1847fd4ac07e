"""Hunsberger & Eliasmith (2016) on MNIST with brainconv: Tables 1, 3, 4 and Figures 2, 3.

A 784-H-10 MLP (H = 500 by default), or with ``--network cnn`` the paper's MNIST CNN (the
authors' ``layers-mnist-lif.cfg``: conv 16 5x5 pad 2, 2x2 average pool, conv 64 5x5 pad 2,
2x2 average pool, fc 2000 with dropout 0.5, fc 10; 27,098 neurons, trained in PyTorch, see
:func:`train_cnn`), is trained four times with the same seed: ReLU, and
soft-LIF (tau_rc 22 ms, tau_ref 2 ms, gamma 0.02, amp 0.063 s, gain 1; the authors' MNIST cfg)
with training noise sigma = 0, 10, 20 Hz. Each soft-LIF network is converted to spiking
``lif_rc`` neurons (Nengo-exact LIF on a 1 ms grid) with alpha synapses and a non-spiking
filtered readout, and simulated by Brian2 (``cpp_standalone``) on the MNIST test set.

    python experiments/hunsberger/reproduce.py [--samples 10000] [--hidden 500] [--epochs 20]
                                               [--device cpp_standalone] [--only PART ...]
    python experiments/hunsberger/reproduce.py --network cnn --epochs 10   # needs torch

PART is one of ``train tables figure2 figure3`` (default: all). Writes into ``results/``:
``tables.md`` (Tables 1, 3 and 4 beside the paper), ``figure2.md/.png`` (variability of the
alpha-filtered spike train against the input current), ``figure3.md/.png`` (error against
the classification end time c1 for several start times c0). Trained ANNs are cached as
``results/ann_*.npz`` (retrained when missing) and every simulation as
``results/runs/*.nc`` (the results Dataset without the per-step readout, plus the error of
every window [c0, c1] on the c0 grid), so a rerun only redoes what is missing.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import brian2  # noqa: E402

from brainconv.ann import load_ann, save_ann, train_ann  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.energy import ann_flops, energy_summary, snn_energy  # noqa: E402
from brainconv.results import concat_results, load_results, save_results  # noqa: E402
from brainconv.simulation import run_network, simulate  # noqa: E402
from brainconv.softlif import softlif_rate  # noqa: E402
from brainconv.equations.lif_rc import lif_rc_step, rate_of_j  # noqa: E402
from brainconv.equations.synapses import alpha_step  # noqa: E402

from common import mnist  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RUNS = RESULTS / "runs"

#: The authors' MNIST soft-LIF settings (hunse/cuda-convnet2 layers-mnist-lif.cfg).
SOFTLIF = {"tau_rc": 0.022, "tau_ref": 0.002, "gamma": 0.02, "amp": 0.063, "gain": 1.0}
SIGMAS = (0.0, 10.0, 20.0)
#: Table 4 MNIST rows: (tau_s ms, c0 ms, c1 ms) -> (paper error %, paper efficiency or None).
TABLE4 = {(5, 120, 200): (0.88, 5.94), (2, 40, 100): (0.92, 11.98),
          (2, 50, 60): (1.14, 14.42), (0, 20, 60): (3.67, 14.42)}  # 14.42x printed twice
#: Simulations: name -> (sigma of the ANN, tau_s in ms (0: delta synapse), steps of 1 ms).
RUN_SETUPS = {"sigma0_tau5": (0.0, 5, 200), "sigma10_tau5": (10.0, 5, 200),
              "sigma20_tau5": (20.0, 5, 200), "sigma10_tau2": (10.0, 2, 200),
              "sigma10_tau0": (10.0, 0, 200)}
#: Start times of the classification window kept for every run (Figure 3, Table 4).
C0_GRID = (0, 10, 20, 30, 40, 50, 60, 80, 100, 120, 150)
#: Back-to-back presentation (the paper's Fig. 3): streams of this many consecutive test images,
#: each image 200 steps, no reset between them; the first image of a stream (from a reset
#: network) is left out. A numpy run takes STREAMS_PER_RUN streams (2.5 GB of input frames).
STREAM_IMAGES, STREAMS_PER_RUN = 100, 20
PAPER_TABLE1 = {"relu": 0.79, "softlif": 0.84, "snn": 0.88}
#: The CNN's base learning rate per activation: the cfg's 0.02 for ReLU; soft-LIF units output
#: up to amp / tau_ref = 31.5 where ReLU units start near 0, and at 0.02 the soft-LIF CNN
#: diverged (loss 9.7, 10 % train accuracy after 46 batches of 128); 0.001 learns.
CNN_LR = {"relu": 0.02, "softlif": 0.001}
#: --network -> how it is trained (for the tables).
TRAINING = {"mlp": "brainconv defaults: momentum 0.9, batch 64, weight decay 1e-4, cosine "
                   "learning-rate decay",
            "cnn": "PyTorch, after the authors' cfg: momentum 0.9, batch 128, base learning "
                   "rate 0.02 for ReLU and 0.001 for soft-LIF (biases twice that) decayed to "
                   "1/100, weight decay 0.004 / 0.001 on the FC layers, dropout 0.5"}
#: --network -> its description (for logs and tables).
NETWORKS = {"mlp": lambda args: f"784-{args.hidden}-10 MLP",
            "cnn": lambda args: "CNN 16C5-2P-64C5-2P-2000FC-10FC (the paper's, 27,098 neurons)"}


def log(message):
    print(message, flush=True)


def network_tag(args):
    """The network's part of every cache name: ``h<hidden>`` (MLP) or ``cnn``."""
    return "cnn" if args.network == "cnn" else f"h{args.hidden}"


def suffix(args):
    """The output files' suffix: none for the MLP (the first results), ``_cnn`` for the CNN."""
    return "_cnn" if args.network == "cnn" else ""


def ann_path(args, name):
    return RESULTS / f"ann_{name}_{network_tag(args)}_e{args.epochs}_seed{args.seed}.npz"


def cnn_model(activation, sigma):
    """The authors' MNIST CNN (``layers-mnist-lif.cfg``) in PyTorch, their initialisation
    (weights normal with std 0.1 for the convolutions, 0.01 for the FC layers; biases 0)."""
    import torch
    from torch import nn

    from brainconv.torch_softlif import SoftLIF

    def act():
        return nn.ReLU() if activation == "relu" else SoftLIF(**SOFTLIF, sigma=sigma)

    model = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), act(), nn.AvgPool2d(2),
                          nn.Conv2d(16, 64, 5, padding=2), act(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(64 * 7 * 7, 2000), act(), nn.Dropout(0.5),
                          nn.Linear(2000, 10))
    for layer, std in zip((model[0], model[3], model[7], model[10]), (0.1, 0.1, 0.01, 0.01)):
        torch.nn.init.normal_(layer.weight, std=std)
        torch.nn.init.zeros_(layer.bias)
    return model


def train_cnn(x_train, y_train, activation, sigma, epochs, seed, batch=128, lr=0.02,
              checkpoint=None):
    """Train :func:`cnn_model` as ``layer-params-mnist-lif.cfg`` does: SGD with momentum 0.9,
    learning rate ``lr`` for weights (the cfg: 0.02; see :data:`CNN_LR`) and twice that for
    biases, decayed exponentially to 1/100 of that over the run, weight decay 0.004 (fc 2000)
    and 0.001 (fc 10), none on the convolutions;
    mini-batches of 128 (cuda-convnet's default) in a seeded order, pixels in [0, 1], no
    augmentation (the cfg names none). With ``checkpoint`` (a path) the state after each epoch
    is saved there atomically and a run with the same settings resumes from it. Returns the
    brainconv ANN (``from_torch``)."""
    import torch

    from brainconv.torch_import import from_torch

    torch.manual_seed(seed)
    model = cnn_model(activation, sigma)
    convs, fcs = (model[0], model[3]), (model[7], model[10])
    groups = [{"params": [m.weight for m in convs], "lr": lr, "weight_decay": 0.0},
              {"params": [fcs[0].weight], "lr": lr, "weight_decay": 0.004},
              {"params": [fcs[1].weight], "lr": lr, "weight_decay": 0.001},
              {"params": [m.bias for m in convs + fcs], "lr": 2 * lr, "weight_decay": 0.0}]
    optimizer = torch.optim.SGD(groups, momentum=0.9)
    steps = epochs * (len(x_train) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 0.01 ** (k / steps))
    x = torch.from_numpy(np.asarray(x_train, np.float32).reshape(-1, 1, 28, 28))
    y = torch.from_numpy(np.asarray(y_train, np.int64))
    settings = [activation, sigma, epochs, seed, batch, lr, len(x)]
    done = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=False)
        if state["settings"] == settings:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            done = state["epoch"]
            log(f"  resuming after epoch {done} ({checkpoint})")
    for epoch in range(done, epochs):
        model.train()
        torch.manual_seed(seed * 1000 + epoch)  # dropout and noise draws of this epoch
        order = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(len(x)))
        total, right, start = 0.0, 0, time.perf_counter()
        for k in range(len(x) // batch):
            idx = order[k * batch:(k + 1) * batch]
            optimizer.zero_grad()
            out = model(x[idx])
            loss = torch.nn.functional.cross_entropy(out, y[idx])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * batch
            right += int((out.argmax(1) == y[idx]).sum())
            if k % 100 == 0:
                print(f"\r  epoch {epoch + 1}/{epochs}: batch {k}/{len(x) // batch}", end="",
                      flush=True)
        seen = batch * (len(x) // batch)
        log(f"\r  epoch {epoch + 1}/{epochs}: loss {total / seen:.4f} train acc "
            f"{right / seen:.4f} ({time.perf_counter() - start:.0f} s)")
        if checkpoint is not None:
            tmp = Path(checkpoint).with_suffix(".part")
            torch.save({"settings": settings, "epoch": epoch + 1, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "schedule": schedule.state_dict()}, tmp)
            tmp.replace(checkpoint)
    model.eval()
    return from_torch(model, input_shape=(1, 28, 28))


def get_ann(args, name, x_train=None, y_train=None, timings=None):
    """The cached ANN ``name`` ("relu" or "softlif_sigma<s>"), trained when missing."""
    path = ann_path(args, name)
    if path.exists():
        return load_ann(path)
    if x_train is None:
        x_train, y_train = mnist("train")
    sigma = 0.0 if name == "relu" else float(name.split("sigma")[1])
    if name == "relu":
        kwargs = {"activation": "relu"}
    else:
        kwargs = {"activation": "softlif", "activation_params": {**SOFTLIF, "sigma": sigma}}
    log(f"training {name}: {NETWORKS[args.network](args)}, {args.epochs} epochs, seed "
        f"{args.seed}")
    start = time.perf_counter()
    if args.network == "cnn":
        ann = train_cnn(x_train, y_train, kwargs["activation"], sigma, args.epochs, args.seed,
                        lr=CNN_LR[kwargs["activation"]], checkpoint=path.with_suffix(".pt"))
    else:
        ann = train_ann(x_train, y_train, hidden=(args.hidden,), epochs=args.epochs,
                        seed=args.seed, progress=lambda e, n, loss, acc: log(
                            f"  epoch {e}/{n}: loss {loss:.4f} train acc {acc:.4f}"), **kwargs)
    seconds = time.perf_counter() - start
    log(f"  trained in {seconds:.0f} s")
    if timings is not None:
        timings[f"train {name}"] = seconds
    path.parent.mkdir(parents=True, exist_ok=True)
    save_ann(ann, path)
    return ann


def ann_names():
    """ReLU, then the soft-LIF networks, sigma 10 (Table 1's) first."""
    return ["relu"] + [f"softlif_sigma{s:g}" for s in sorted(SIGMAS, key=lambda s: s != 10)]


def convert_softlif(ann, tau_s):
    if tau_s == 0:
        return convert(ann, model="lif_rc", normalization="none", synapse="delta",
                       readout="filtered")
    return convert(ann, model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": tau_s * brian2.ms}, readout="filtered")


def window_errors(readout, labels, c0_grid=C0_GRID):
    """Error of every window (c0, c1] with c0 on the grid and c1 any later step end (ms, dt 1).

    Returns an array (len(c0_grid), steps) whose [i, c1 - 1] entry is the error with the
    prediction argmax of the mean readout over the steps ending in (c0_i, c1]; NaN for c1 <= c0.
    """
    n, steps, _ = readout.shape
    cum = np.concatenate([np.zeros((n, 1, readout.shape[2])), np.cumsum(readout, axis=1)], 1)
    errors = np.full((len(c0_grid), steps), np.nan)
    for i, c0 in enumerate(c0_grid):
        for c1 in range(c0 + 1, steps + 1):
            pred = np.argmax(cum[:, c1] - cum[:, c0], axis=1)
            errors[i, c1 - 1] = float(np.mean(pred != labels))
    return errors


def run_path(args, name, n, ann):
    """Cache file of simulation ``name`` on ``n`` images: named by the settings and by the
    ANN's content, so a retrained network (other code, same settings) is simulated anew."""
    from brainconv.cache import digest

    return RUNS / (f"{name}_{network_tag(args)}_e{args.epochs}_seed{args.seed}_n{n}"
                   f"_ann{digest(ann)[:10]}.nc")


def get_run(args, name, x, y, timings=None):
    """Cached simulation ``name`` of RUN_SETUPS: results Dataset plus ``window_error``.

    The images run in chunks of ``args.chunk``, each cached on its own (its results without
    the per-step readout, plus the wrong predictions of every window), so an interrupted run
    resumes at the first missing chunk; the chunks are merged into one file at the end.
    """
    sigma, tau_s, steps = RUN_SETUPS[name]
    ann = get_ann(args, f"softlif_sigma{sigma:g}")
    path = run_path(args, name, len(y), ann)
    if path.exists():
        return load_results(path)
    spec = convert_softlif(ann, tau_s)
    log(f"simulating {name}: {len(y)} images x {steps} ms, tau_s {tau_s} ms, {args.device}, "
        f"chunks of {args.chunk}")
    start, seconds, chunks = time.perf_counter(), 0.0, []
    for first in range(0, len(y), args.chunk):
        last = min(first + args.chunk, len(y))
        chunk_path = path.with_name(f"{path.stem}_images{first}-{last}.nc")
        if chunk_path.exists():
            chunks.append(load_results(chunk_path))
            continue
        began = time.perf_counter()
        ds = simulate(spec, x[first:last], y[first:last], steps, device=args.device, dt=1.0,
                      progress=True, notify=log,
                      attrs={"sigma": sigma, "tau_s_ms": tau_s, "seed": args.seed,
                             "network": network_tag(args), "epochs": args.epochs})
        wrong = window_errors(ds["readout"].values, ds["label"].values) * (last - first)
        ds = ds.drop_vars("readout")
        ds["window_wrong"] = (("c0", "c1"), wrong)
        ds.attrs["simulate_seconds"] = time.perf_counter() - began
        RUNS.mkdir(parents=True, exist_ok=True)
        save_results(ds, chunk_path)
        chunks.append(ds)
        log(f"  images {first}-{last}: {ds.attrs['simulate_seconds']:.0f} s")
    seconds = sum(float(c.attrs["simulate_seconds"]) for c in chunks)
    log(f"  simulated in {seconds:.0f} s over the chunks ({time.perf_counter() - start:.0f} s "
        "in this call, including any compile)")
    if timings is not None:
        timings[f"simulate {name}"] = seconds
    errors = sum(c["window_wrong"].values for c in chunks) / len(y)
    ds = concat_results([c.drop_vars("window_wrong") for c in chunks])
    ds["window_error"] = (("c0", "c1"), errors, {"long_name": "error of the mean readout over "
                                                 "the steps ending in (c0, c1]", "units": "1"})
    ds = ds.assign_coords(c0=("c0", np.array(C0_GRID, float), {"units": "ms"}),
                          c1=("c1", np.arange(1, steps + 1, dtype=float), {"units": "ms"}))
    ds.attrs["simulate_seconds"] = seconds
    save_results(ds, path)
    for c in range(0, len(y), args.chunk):
        path.with_name(f"{path.stem}_images{c}-{min(c + args.chunk, len(y))}.nc").unlink()
    return ds


def window_error(ds, c0, c1):
    return float(ds["window_error"].sel(c0=float(c0), c1=float(c1)))


def efficiency(ds, spec, ann, c1_ms):
    """Energy figures of the first ``c1_ms`` of a run (Hunsberger eq. 4-5), both conventions.

    Synaptic events: each spiking layer's spikes in (0, c1] times its fan-out into the next
    layer (per neuron; a layer's spikes in the window are weighted by its neurons' share of
    the whole run's spikes, exact for the MLP's uniform fan-out of 10); updates are every
    neuron every 1 ms step; ``first_layer`` "none" counts the analog input current W0 x as
    free (the paper), "once" adds one product per image (2 flops per first-layer connection).
    """
    times = ds["time"].values
    n, c1 = ds.sizes["sample"], c1_ms / 1000
    counts = ds["unit_spike_count"].values
    layer_of = ds["neuron_layer"].values
    events = hidden_spikes = hidden_size = 0.0
    for layer, after in zip(spec.layers[:-1], spec.layers[1:]):
        fan_out = np.diff(scipy.sparse.csr_matrix(after.weights).indptr)
        unit = counts[layer_of == layer.name]
        window = float(ds["layer_spikes"].sel(layer=layer.name).values[
            times <= c1_ms + 1e-9].sum())
        mean_fan_out = float(unit @ fan_out / unit.sum()) if unit.sum() else 0.0
        events += window * mean_fan_out
        hidden_spikes += window
        hidden_size += layer.size
    synops_per_s = events / (n * c1)
    updates_per_s = float(sum(spec.layer_sizes)) / 1e-3
    energy = snn_energy(synops_per_s, updates_per_s, c1)
    flops = ann_flops(ann)
    input_flops = 2.0 * scipy.sparse.csr_matrix(spec.layers[0].weights).nnz
    rate = hidden_spikes / (n * c1 * hidden_size)
    return {"synops_per_s": synops_per_s, "updates_per_s": updates_per_s, "energy": energy,
            "ann_flops": flops, "eff_none": flops / energy,
            "eff_once": flops / (energy + input_flops), "rate_hz": rate}


def pct(error):
    return f"{100 * error:.2f}"


def tables(args, timings):
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    anns = {name: get_ann(args, name, timings=timings) for name in ann_names()}
    ann_err = {name: 1 - ann.accuracy(x, y) for name, ann in anns.items()}
    runs = {name: get_run(args, name, x, y, timings) for name in RUN_SETUPS}
    n = len(y)
    lines = ["# Hunsberger & Eliasmith (2016) on MNIST: Tables 1, 3, 4", "",
             f"Command: `{command(args, 'tables')}`", "",
             f"{NETWORKS[args.network](args)}, {args.epochs} epochs of SGD "
             f"({TRAINING[args.network]}), "
             f"seed {args.seed}; soft-LIF tau_rc 22 ms, tau_ref 2 ms, gamma 0.02, amp 0.063 s, "
             f"gain 1. Spiking: `lif_rc` (Nengo-exact LIF, dt = 1 ms), non-spiking filtered "
             f"readout, {n} MNIST test images, Brian2 `{args.device}`, each image from a reset "
             "state (t = 0 at image onset). Errors in %; the paper's value in brackets.", ""]

    snn_main = window_error(runs["sigma10_tau5"], 120, 200)
    lines += ["## Table 1 (MNIST row)", "",
              "| ReLU ANN | soft-LIF ANN (sigma 10) | LIF SNN (sigma 10, tau_s 5 ms, window "
              "(120, 200] ms) |", "| ---: | ---: | ---: |",
              f"| {pct(ann_err['relu'])} (0.79) | {pct(ann_err['softlif_sigma10'])} (0.84) | "
              f"{pct(snn_main)} (0.88) |", ""]

    lines += ["## Table 3 analogue (training noise sigma, MNIST)", "",
              "The paper's Table 3 is on CIFAR-10 (ANN / SNN error: sigma 0 15.89 / 17.06, "
              "sigma 10 16.28 / 16.46, sigma 20 16.92 / 17.04); here the same ablation on "
              f"MNIST with the {NETWORKS[args.network](args)}. SNN: alpha synapse tau_s 5 ms, "
              "window (120, 200] ms.", "",
              "| sigma (Hz) | ANN error | SNN error | SNN - ANN | SNN error, window (0, 200] "
              "| paper CIFAR-10 ANN / SNN |", "| ---: | ---: | ---: | ---: | ---: | --- |"]
    paper3 = {0: "15.89 / 17.06", 10: "16.28 / 16.46", 20: "16.92 / 17.04"}
    for sigma in SIGMAS:
        a = ann_err[f"softlif_sigma{sigma:g}"]
        ds = runs[f"sigma{sigma:g}_tau5"]
        s = window_error(ds, 120, 200)
        lines.append(f"| {sigma:g} | {pct(a)} | {pct(s)} | {100 * (s - a):+.2f} | "
                     f"{pct(window_error(ds, 0, 200))} | {paper3[int(sigma)]} |")
    lines.append("")

    lines += ["## Table 4 (MNIST rows, network sigma = 10)", "",
              "Efficiency = ANN flops / SNN energy (eq. 4-5; E_synop 0.08, E_update 0.25 flops). "
              "ANN flops: 1 per hidden unit + 2 per connection (all layers). SNN: each spiking "
              "layer's spikes in (0, c1] x their fan-out into the next layer are the synaptic "
              "events, every neuron and readout unit is updated every 1 ms step, c1 the end of "
              "the window. *first layer none*: the "
              "analog input current W0 x costs nothing (the paper's convention); *once*: one "
              "dense product per image (2 flops per first-layer connection) is added to the "
              "SNN's cost.", "",
              "| tau_s (ms) | c0 (ms) | c1 (ms) | error (paper) | efficiency, first layer none "
              "(paper) | efficiency, first layer once | mean hidden rate (Hz) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ann10 = anns["softlif_sigma10"]
    for (tau_s, c0, c1), (perr, peff) in TABLE4.items():
        ds = runs[f"sigma10_tau{tau_s}"]
        spec = convert_softlif(ann10, tau_s)
        e = efficiency(ds, spec, ann10, c1)
        lines.append(f"| {tau_s} | {c0} | {c1} | {pct(window_error(ds, c0, c1))} ({perr}) | "
                     f"{e['eff_none']:.2f}x ({'-' if peff is None else f'{peff}x'}) | "
                     f"{e['eff_once']:.3f}x | {e['rate_hz']:.2f} |")
    ds = runs["sigma10_tau5"]
    full = energy_summary(ds, convert_softlif(ann10, 5), ann=ann10, c1=0.2)
    lines += ["", f"Check against `brainconv.energy.energy_summary` on the whole 200 ms run "
              f"(tau_s 5 ms, c1 0.2 s): synops/s {full['synops_per_s']:.0f}, updates/s "
              f"{full['updates_per_s']:.0f}, E_SNN {full['snn_energy']:.0f} flops, ANN "
              f"{full['ann_flops']:.0f} flops, efficiency {full['efficiency']:.2f}x "
              f"(first layer '{full['first_layer']}'). Paper: MNIST mean rate 9.67 Hz (its CNN); "
              "it prints 14.42x for both rows with c1 = 60 ms.", ""]
    lines += ["Run times (this invocation; cached ANNs and runs are read back, not redone): "
              + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()), ""]
    write(RESULTS / f"tables{suffix(args)}.md", "\n".join(lines))
    return runs


def command(args, step):
    """The command that regenerates ``step``'s file with these settings."""
    network = ("--network cnn" if args.network == "cnn" else f"--hidden {args.hidden}")
    return (f"python experiments/hunsberger/reproduce.py --only {step} --samples {args.samples} "
            f"{network} --epochs {args.epochs} --seed {args.seed} --device {args.device}")


def write(path, text):
    """Write text atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    tmp.replace(path)
    log(f"wrote {path}")


def figure2(args):
    """One lif_rc neuron per input current J, alpha-filtered amp-scaled output, numpy, dt 1 ms."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dt, seconds, skip = 1e-3, 4.0, 0.5
    amp = SOFTLIF["amp"]
    J = np.linspace(0.0, 6.0, 241)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    lines = ["# Figure 2 analogue: variability of the alpha-filtered spike train", "",
             f"One `lif_rc` neuron per input current J (tau_rc 22 ms, tau_ref 2 ms, threshold 1, "
             f"dt = 1 ms, the arithmetic of `equations.lif_rc.lif_rc_step`), its spikes "
             f"(weight amp = 0.063 s) through the unit-area alpha filter "
             f"(`equations.synapses.alpha_step`), {seconds:g} s per J, the first {skip:g} s "
             "dropped. Shown: the filtered train per step (the current the next layer sees) "
             "against J, with the soft-LIF activation amp * r(J) (gamma 0.02) that the ANN "
             "was trained on. The paper's Figure 2 uses tau_rc 20 ms, tau_ref 4 ms, tau_s 3 ms.",
             "", "Standard deviation of the filtered train over time, in Hz (divided by amp), "
             "compared with the training noise sigma = 10 Hz the paper calibrated on it:", "",
             "| J | r(J) Hz | tau_s 5 ms: mean Hz | std Hz | 5-95 % band Hz | tau_s 2 ms: "
             "mean Hz | std Hz |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    stats = {}
    for ax, tau_s in zip(axes, (0.005, 0.002)):
        state = {"v": np.zeros_like(J), "ref": np.zeros_like(J)}
        fstate = {"f_syn": np.zeros_like(J), "s_syn": np.zeros_like(J)}
        spikes = np.zeros_like(J)
        steps, start = int(round(seconds / dt)), int(round(skip / dt))
        trace = np.zeros((steps - start, len(J)))
        for k in range(steps):
            lif_rc_step(state, J - 1, spikes, dt, **{n: SOFTLIF[n] for n in ("tau_rc", "tau_ref")})
            current = alpha_step(fstate, amp * spikes, dt, tau_s)
            if k >= start:
                trace[k - start] = current
        mean = trace.mean(0)
        lo, hi = np.percentile(trace, [5, 95], axis=0)
        p1, p99 = np.percentile(trace, [1, 99], axis=0)
        stats[tau_s] = (mean, trace.std(0), lo, hi)
        ax.fill_between(J, p1, p99, color="C0", alpha=0.15, label="1-99 % of the filtered train")
        ax.fill_between(J, lo, hi, color="C0", alpha=0.35, label="5-95 %")
        ax.plot(J, mean, color="C0", label="time average")
        ax.plot(J, softlif_rate(J, SOFTLIF["tau_rc"], SOFTLIF["tau_ref"], SOFTLIF["gamma"], amp),
                "k--", lw=1, label="soft-LIF amp r(J) (ANN)")
        ax.set_title(f"alpha synapse tau_s = {tau_s * 1e3:g} ms, dt = 1 ms")
        ax.set_xlabel("input current J")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("filtered output (amp x spike train)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / ".figure2.png.part.png", dpi=120)
    (RESULTS / ".figure2.png.part.png").replace(RESULTS / "figure2.png")
    log(f"wrote {RESULTS / 'figure2.png'}")
    rate = rate_of_j(J, SOFTLIF["tau_rc"], SOFTLIF["tau_ref"])
    for j in (1.2, 1.5, 2.0, 3.0, 4.0, 6.0):
        i = int(np.argmin(abs(J - j)))
        m5, s5, lo5, hi5 = (a[i] / amp for a in stats[0.005])
        m2, s2 = stats[0.002][0][i] / amp, stats[0.002][1][i] / amp
        lines.append(f"| {J[i]:g} | {rate[i]:.1f} | {m5:.1f} | {s5:.1f} | {lo5:.0f}-{hi5:.0f} "
                     f"| {m2:.1f} | {s2:.1f} |")
    lines += ["", f"Command: `{command(args, 'figure2')}`", ""]
    write(RESULTS / "figure2.md", "\n".join(lines))


def back_to_back_errors(args, name, x, y):
    """``window_error`` (c0 grid x c1) of simulation ``name`` with the images presented back to
    back, as the paper does: each stream of STREAM_IMAGES consecutive images is one sample of
    the numpy reference whose input changes every 200 steps (``x`` as frames), so membrane and
    synapse states carry one image into the next. Cached in ``results/runs``."""
    sigma, tau_s, steps = RUN_SETUPS[name]
    n = len(y) // STREAM_IMAGES * STREAM_IMAGES
    ann = get_ann(args, f"softlif_sigma{sigma:g}")
    path = run_path(args, f"b2b_{name}", n, ann).with_suffix(f".m{STREAM_IMAGES}.npz")
    if path.exists():
        return np.load(path)["window_error"]
    spec = convert_softlif(ann, tau_s)
    log(f"back to back {name}: {n} images in streams of {STREAM_IMAGES} (numpy reference)")
    wrong, counted = 0.0, 0
    for first in range(0, n, STREAM_IMAGES * STREAMS_PER_RUN):
        images = x[first:first + STREAM_IMAGES * STREAMS_PER_RUN]
        streams = len(images) // STREAM_IMAGES
        frames = np.repeat(images.reshape(streams, STREAM_IMAGES, -1), steps, axis=1)
        readout = run_network(spec, frames, STREAM_IMAGES * steps, device="numpy",
                              dt=1.0)["readout"]
        per_image = readout.reshape(streams, STREAM_IMAGES, steps, -1)[:, 1:]
        labels = y[first:first + streams * STREAM_IMAGES].reshape(streams, -1)[:, 1:].ravel()
        wrong = wrong + window_errors(per_image.reshape(len(labels), steps, -1), labels) \
            * len(labels)
        counted += len(labels)
        log(f"  images {first}-{first + streams * STREAM_IMAGES}")
    errors = wrong / counted
    RUNS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part.npz")
    np.savez(tmp, window_error=errors, images=counted)
    tmp.replace(path)
    return errors


def figure3(args, runs=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if runs is None:
        x, y = mnist("test")
        x, y = x[:args.samples], y[:args.samples]
        runs = {name: get_run(args, name, x, y) for name in
                ("sigma10_tau5", "sigma10_tau2", "sigma10_tau0")}
    shown = (0, 20, 50, 80, 120)
    names = [("sigma10_tau5", "tau_s = 5 ms"), ("sigma10_tau2", "tau_s = 2 ms"),
             ("sigma10_tau0", "tau_s = 0 (delta)")]
    back = {}  # the paper's presentation; the numpy reference cannot run the CNN at this size
    if args.network != "mlp" or args.samples < STREAM_IMAGES:
        log(f"figure 3: no back-to-back panel (it needs the MLP and at least {STREAM_IMAGES} "
            "test images: one stream)")
    else:
        x, y = mnist("test")
        x, y = x[:args.samples], y[:args.samples]
        back = {name: back_to_back_errors(args, name, x, y) for name, _ in names}
    fig, axes = plt.subplots(2 if back else 1, 3, figsize=(14, 8.4 if back else 4.2),
                             sharey=True, squeeze=False)
    lines = ["# Figure 3 analogue: error against classification end time c1", "",
             "Network sigma = 10; error of the argmax of the mean readout over (c0, c1], for "
             f"several start times c0; {runs['sigma10_tau5'].sizes['sample']} MNIST test "
             "images, each from a reset state.", "",
             "| synapse | c0 (ms) | c1 = 20 | 40 | 60 | 80 | 100 | 150 | 200 | best c1 (error) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    panels = [("each image from a reset network", {name: runs[name]["window_error"].values
                                                   for name, _ in names})]
    if back:
        panels.append(("images back to back (the paper's presentation)", back))
    c1 = np.arange(1, runs["sigma10_tau5"].sizes["c1"] + 1)
    for row, (presentation, errors) in enumerate(panels):
        if row:
            lines += ["", f"Images back to back, as the paper presents them: {STREAMS_PER_RUN} "
                      f"streams of {STREAM_IMAGES} consecutive test images per numpy run, no reset "
                      "between images (membrane and synapse states carry over), the first image "
                      f"of each stream left out: {args.samples // STREAM_IMAGES * (STREAM_IMAGES - 1)}"
                      " images.", "",
                      "| synapse | c0 (ms) | c1 = 20 | 40 | 60 | 80 | 100 | 150 | 200 | best c1 "
                      "(error) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                      "| --- |"]
        for ax, (name, label) in zip(axes[row], names):
            for c0 in shown:
                err = errors[name][C0_GRID.index(c0)]
                ok = c1 > c0
                ax.plot(c1[ok], 100 * err[ok], label=f"c0 = {c0} ms")
                cells = [pct(err[int(c) - 1]) if c > c0 else "-" for c in (20, 40, 60, 80, 100,
                                                                            150, 200)]
                best = int(np.nanargmin(err))
                lines.append(f"| {label} | {c0} | " + " | ".join(cells)
                             + f" | {best + 1} ms ({pct(err[best])}) |")
            ax.set_yscale("log")
            ax.set_ylim(0.5, 100)
            ax.set_title(f"{label}; {presentation}", fontsize=9)
            ax.set_xlabel("classification end time c1 (ms)")
            ax.grid(alpha=0.3, which="both")
        axes[row][0].set_ylabel("test error (%)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    png = RESULTS / f"figure3{suffix(args)}.png"
    fig.savefig(png.with_name(f".{png.name}.part.png"), dpi=120)
    png.with_name(f".{png.name}.part.png").replace(png)
    log(f"wrote {png}")
    lines += ["", f"Command: `{command(args, 'figure3')}` "
              "(reads the runs cached by the tables step, simulates them if missing)", ""]
    write(RESULTS / f"figure3{suffix(args)}.md", "\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000, help="test images (first N)")
    parser.add_argument("--network", choices=tuple(NETWORKS), default="mlp",
                        help="the 784-H-10 MLP or the paper's CNN (trained in PyTorch)")
    parser.add_argument("--hidden", type=int, default=500, help="MLP hidden units")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpp_standalone")
    parser.add_argument("--chunk", type=int, default=1000,
                        help="test images per cached chunk of a simulation (resume unit)")
    parser.add_argument("--only", nargs="+", choices=("train", "tables", "figure2", "figure3"),
                        default=("train", "tables", "figure2", "figure3"))
    args = parser.parse_args()
    if args.chunk < 1 or args.samples < 1 or args.epochs < 1:
        parser.error(f"--chunk, --samples and --epochs must be >= 1, got {args.chunk}, "
                     f"{args.samples}, {args.epochs}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    timings = {}
    start = time.perf_counter()
    if "train" in args.only:
        x_train, y_train = mnist("train")
        for name in ann_names():
            get_ann(args, name, x_train, y_train, timings)
    runs = None
    if "tables" in args.only:
        runs = tables(args, timings)
    if "figure2" in args.only:
        figure2(args)
    if "figure3" in args.only:
        figure3(args, runs)
    log(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
