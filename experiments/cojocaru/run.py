"""Cojocaru (2024): what a time grid of step dt does to a BATS CuBa-LIF network, at the thesis's
training budget.

    python experiments/cojocaru/run.py --dataset mnist           # 784-800-10, 6 dt x 2 seeds
    python experiments/cojocaru/run.py --dataset fashion-mnist   # 784-400-400-10, 3 dt x 2 seeds

For each dt in ``--dts`` (ms; 0 = continuous) and each seed, a network is trained with BATS
(exact spike-time gradients, straight-through estimator for ``d(t)``) with the discretisation in
its forward pass, ``--epochs`` epochs over ``--train-samples`` training images, scored on the
first ``--test-samples`` test images after every epoch. Every network is checkpointed after every
epoch in ``results/cache/`` under a name made of its settings (the checkpoint also checks its
inputs), so an interrupted study resumes where it stopped; so is each network's Brian2 check
(``--brian2``), by the network's weights and the test images. After training, each network is
measured at its dt on the test images (accuracy, spikes per neuron per layer, prediction
confidence over time), and the dt = 0 network of the same seed is run at each dt ("trained
continuous").

Writes ``results/<dataset>.md`` (the command, per-epoch tables, mean and spread over seeds) and
``results/<dataset>_study.png`` (thesis Figs 1-4 and 13: accuracy per epoch, spikes per epoch,
confidence over time, accuracy against 1/spikes). Settings: ``SETTINGS`` below, the thesis
appendix (MNIST thresholds 0.2 / 1.3 as BATS; the thesis table swaps them; Fashion-MNIST's
Adam rate 0.0005 as the appendix table and BATS' code, where the thesis text says 0.005: with
0.005, Δt = 0 seed 0 stalled at 76.2-76.3 % test accuracy from epoch 3 to 6).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import mnist  # noqa: E402

from brainconv.spiketime import discretise, train_bats, ttfs_encode  # noqa: E402
from brainconv.spiketime.compiled import run_batch  # noqa: E402

RESULTS = HERE / "results"
#: Cojocaru's thesis, appendix (training settings).
SETTINGS = {
    "mnist": {"hidden": (800,), "thresholds": (0.2, 1.3), "lr": 0.003, "batch_size": 50,
              "max_spikes": (30, 30), "lr_halving_epochs": None, "dts": (0, 0.5, 3, 5, 8, 9)},
    "fashion-mnist": {"hidden": (400, 400), "thresholds": (0.13, 0.45, 0.7), "lr": 0.0005,
                      "batch_size": 5, "max_spikes": (5, 5, 20), "lr_halving_epochs": 10,
                      "dts": (0, 3, 5)},
}
T_MAX, TAU_S, TARGETS = 0.2, 0.13, (15, 3)
GRID = np.linspace(0, T_MAX, 201)


def measure(weights, setting, x_times, labels, dt, keep_counts=False, t_max=T_MAX):
    """Accuracy, spikes per neuron per sample of each layer, confidence over :data:`GRID`.

    Confidence (thesis Fig. 4): the true-class output spikes emitted up to t (from ``d(t)``
    when dt > 0, when they are passed on), over the target count 15, averaged over samples.
    """
    correct, spikes, confidence = 0, np.zeros(len(weights)), np.zeros(len(GRID))
    output_counts = []
    for start in range(0, len(labels), 500):
        y = labels[start:start + 500]
        out = run_batch(weights, setting["thresholds"], setting["max_spikes"],
                        x_times[start:start + 500], y, TARGETS, TAU_S, dt, t_max, train=False,
                        keep_times=True)
        output_counts.append(out["counts"][-1])
        counts = out["counts"][-1]
        correct += int(np.sum(np.argmax(counts, axis=1) == y))
        spikes += [c.sum() for c in out["counts"]]
        times = out["times"][-1][np.arange(len(y)), y]  # (samples, max_spikes)
        times = discretise(times, dt)  # emitted: passed on at d(t)
        confidence += (times[:, None, :] <= GRID[None, :, None] + 1e-12).sum(axis=(0, 2))
    n = len(labels)
    result = {"accuracy": correct / n,
              "spikes_per_neuron": spikes / (n * np.array([w.shape[1] for w in weights])),
              "spikes": spikes.sum() / n, "confidence": confidence / (n * TARGETS[0])}
    if keep_counts:
        result["counts"] = np.concatenate(output_counts)
    return result


def double_crossings(weights, setting, x_times, dt, t_max):
    """Spikes of the engine that follow another of the same neuron within one grid step: the
    grid cannot separate them (Brian2's in-step crossing finds the first only)."""
    found = 0
    for start in range(0, len(x_times), 500):
        out = run_batch(weights, setting["thresholds"], setting["max_spikes"],
                        x_times[start:start + 500], np.zeros(len(x_times[start:start + 500]),
                                                             np.int64),
                        TARGETS, TAU_S, dt, t_max, train=False, keep_times=True)
        for times in out["times"]:
            step = np.ceil(np.round(times / dt, 6)) - 1
            with np.errstate(invalid="ignore"):  # inf - inf between empty slots
                found += int(np.sum(np.diff(step, axis=-1) == 0))
    return found


def brian2_check(weights, setting, pixels, labels, dt_ms):
    """Brian2's cuba_lif (cpp_standalone) on the test images against the event-driven engine
    at the same grid (a dt = 0 network runs on a 1 ms grid) and over the same window: whole
    steps, so ``round(200 ms / dt) * dt`` (201 ms at 3 ms, 198 ms at 9 ms)."""
    from brainconv.simulation import run_network
    from brainconv.spiketime import cuba_network

    dt_ms = dt_ms or 1.0
    spec = cuba_network(weights, setting["thresholds"], tau_s=TAU_S, t_window=0.1,
                        max_spikes=setting["max_spikes"])
    start = time.perf_counter()
    steps = int(round(T_MAX * 1e3 / dt_ms))
    raw = run_network(spec, pixels, steps, device="cpp_standalone", dt=dt_ms)
    seconds = time.perf_counter() - start
    counts = raw["output_spikes"].sum(axis=1)
    ref = measure(weights, setting, ttfs_encode(pixels), labels, dt_ms * 1e-3, keep_counts=True,
                  t_max=steps * dt_ms * 1e-3)
    return {"dt_ms": dt_ms, "seconds": seconds, "window_ms": steps * dt_ms,
            "accuracy": float(np.mean(np.argmax(counts, axis=1) == labels)),
            "reference_accuracy": ref["accuracy"],
            "same_predictions": float(np.mean(np.argmax(counts, axis=1)
                                              == np.argmax(ref["counts"], axis=1))),
            "differing_counts": int(np.sum(counts != ref["counts"])), "counts": counts.size,
            "double_crossings": double_crossings(weights, setting, ttfs_encode(pixels),
                                                 dt_ms * 1e-3, steps * dt_ms * 1e-3)}


def cached_brian2_check(dataset, dt_ms, seed, weights, setting, pixels, labels):
    """:func:`brian2_check`, kept in ``results/cache/`` by the network's weights and the test
    images: a repeated study (e.g. with another seed added) reruns only new networks."""
    import json

    from brainconv.cache import digest

    key = digest(dataset, float(dt_ms), int(seed), *weights, setting["thresholds"],
                 setting["max_spikes"], pixels, labels)
    path = RESULTS / "cache" / f"{dataset}_dt{dt_ms:g}_seed{seed}_brian2.json"
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("key") == key:
            return cached["check"]
    check = brian2_check(weights, setting, pixels, labels, dt_ms)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "check": check}))
    tmp.replace(path)
    return check


def checkpoint_name(dataset, dt_ms, seed, args):
    """The file of one network's checkpoint in ``results/cache``."""
    return (f"{dataset}_dt{dt_ms:g}_seed{seed}_n{args.train_samples}_e{args.epochs}_"
            f"t{args.test_samples}.npz")


def status(args):
    """Print what the checkpoints of the study hold, per epoch, without training."""
    for seed in args.seeds:
        for dt_ms in sorted(args.dts):
            path = RESULTS / "cache" / checkpoint_name(args.dataset, dt_ms, seed, args)
            if not path.exists():
                print(f"{args.dataset} dt = {dt_ms:g} ms, seed {seed}: not started")
                continue
            with np.load(path) as saved:
                done, accuracy = int(saved["epochs_done"]), saved["history_epoch_test_accuracy"]
            print(f"{args.dataset} dt = {dt_ms:g} ms, seed {seed}: {done}/{args.epochs} epochs, "
                  "test % per epoch " + " ".join(f"{100 * a:.2f}" for a in accuracy))


def trained(dataset, dt_ms, seed, data, args):
    """Train (or resume, or reuse) the network of one dt and seed; its weights and history."""
    setting = SETTINGS[dataset]
    x_train, y_train, x_test, y_test = data
    name = checkpoint_name(dataset, dt_ms, seed, args)
    (RESULTS / "cache").mkdir(parents=True, exist_ok=True)
    print(f"{dataset} dt = {dt_ms:g} ms, seed {seed}: {args.epochs} epochs x {len(y_train)} "
          f"images (checkpoint results/cache/{name})", flush=True)
    return train_bats(
        x_train, y_train, hidden=setting["hidden"], thresholds=setting["thresholds"],
        tau_s=TAU_S, dt=dt_ms * 1e-3, epochs=args.epochs, batch_size=setting["batch_size"],
        lr=setting["lr"], seed=seed, max_spikes=setting["max_spikes"], t_max=T_MAX,
        targets=TARGETS, n_classes=10, test=(x_test, y_test), checkpoint=RESULTS / "cache" / name,
        lr_halving_epochs=setting["lr_halving_epochs"], progress=not args.quiet)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=SETTINGS, default="mnist")
    parser.add_argument("--dts", type=float, nargs="+", help="grid steps in ms; 0 is "
                        "continuous (default: the thesis's for the dataset)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train-samples", type=int, default=60000)
    parser.add_argument("--test-samples", type=int, default=10000)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--brian2", action="store_true", help="also run every trained network "
                        "in Brian2 (cuba_lif, cpp_standalone) on the test images and compare "
                        "it with the event-driven engine at the same dt")
    parser.add_argument("--status", action="store_true", help="print the test accuracy per "
                        "epoch that each network's checkpoint holds, and train nothing")
    args = parser.parse_args(argv)
    setting = SETTINGS[args.dataset]
    args.dts = args.dts if args.dts is not None else list(setting["dts"])
    if 0 not in args.dts:
        parser.error("--dts must include 0: the continuous network is run at every dt")
    if args.status:
        return status(args)
    x_train, y_train = mnist("train", args.dataset)
    x_test, y_test = mnist("test", args.dataset)
    data = (ttfs_encode(x_train[:args.train_samples]), y_train[:args.train_samples],
            ttfs_encode(x_test[:args.test_samples]), y_test[:args.test_samples])
    test_pixels = x_test[:args.test_samples]
    runs = {}  # (dt, seed) -> measurements
    for seed in args.seeds:  # a whole seed first: a partial study already has every dt
        for dt_ms in sorted(args.dts):
            start = time.perf_counter()
            weights, history = trained(args.dataset, dt_ms, seed, data, args)
            at_dt = measure(weights, setting, data[2], data[3], dt_ms * 1e-3)
            runs[dt_ms, seed] = {"history": history["epochs"], "at_dt": at_dt,
                                 "weights": weights}
            print(f"  test {100 * at_dt['accuracy']:.2f} % ({time.perf_counter() - start:.0f} "
                  "s)", flush=True)
            if args.brian2:
                check = cached_brian2_check(args.dataset, dt_ms, seed, weights, setting,
                                            test_pixels, data[3])
                runs[dt_ms, seed]["brian2"] = check
                print(f"  brian2 at {check['dt_ms']:g} ms: {100 * check['accuracy']:.2f} %, "
                      f"same predictions {100 * check['same_predictions']:.2f} %, "
                      f"{check['differing_counts']} of {check['counts']} output counts differ "
                      f"({check['seconds']:.0f} s)", flush=True)
        for dt_ms in sorted(args.dts):
            runs[dt_ms, seed]["continuous"] = measure(runs[0, seed]["weights"], setting,
                                                      data[2], data[3], dt_ms * 1e-3)
    write_results(args, runs)


def _mean_spread(values, scale=1.0, digits=2):
    values = scale * np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def write_results(args, runs):
    name, setting = args.dataset, SETTINGS[args.dataset]
    dts, seeds = sorted(args.dts), args.seeds
    command = (f"python experiments/cojocaru/run.py --dataset {name} --dts "
               f"{' '.join(f'{d:g}' for d in dts)} --seeds {' '.join(map(str, seeds))} "
               f"--epochs {args.epochs} --train-samples {args.train_samples} --test-samples "
               f"{args.test_samples}")
    sizes = "-".join(str(n) for n in (784, *setting["hidden"], 10))
    spread = ("mean ± sample standard deviation over seeds " + ", ".join(map(str, seeds))
              if len(seeds) > 1 else f"seed {seeds[0]}")
    lines = [f"# Cojocaru's dt study on {name} ({sizes}, CuBa-LIF, event-driven)", "",
             f"Command: `{command}`", "",
             f"Training: {args.epochs} epochs x {args.train_samples} images, batch "
             f"{setting['batch_size']}, Adam lr {setting['lr']}"
             + (f" halved every {setting['lr_halving_epochs']} epochs"
                if setting["lr_halving_epochs"] else "")
             + f", thresholds {setting['thresholds']}, spike buffers {setting['max_spikes']}, "
             f"targets {TARGETS}, tau_s {TAU_S} s, {T_MAX} s per image. Test: the first "
             f"{args.test_samples} test images. Figures: {spread}.", "",
             "## After the last epoch", "",
             "| dt (ms) | test accuracy % (trained at dt) | spikes per neuron per image, by "
             "layer | confidence at 0.1 s | test accuracy % (dt = 0 network run at dt) | "
             "its spikes per neuron |", "| ---: | ---: | --- | ---: | ---: | --- |"]
    for dt in dts:
        rows = [runs[dt, s] for s in seeds]
        layer_spikes = " / ".join(
            _mean_spread([r["at_dt"]["spikes_per_neuron"][l] for r in rows], digits=3)
            for l in range(len(setting["max_spikes"])))
        cont_spikes = " / ".join(
            _mean_spread([r["continuous"]["spikes_per_neuron"][l] for r in rows], digits=3)
            for l in range(len(setting["max_spikes"])))
        lines.append(
            f"| {dt:g} | {_mean_spread([r['at_dt']['accuracy'] for r in rows], 100)} | "
            f"{layer_spikes} | "
            f"{_mean_spread([r['at_dt']['confidence'][100] for r in rows], digits=3)} | "
            f"{_mean_spread([r['continuous']['accuracy'] for r in rows], 100)} | {cont_spikes} |")
    lines += ["", "## Per epoch (thesis Figs 1-3): train / test accuracy %, test spikes per "
              "neuron by layer", "",
              "| dt (ms) | " + " | ".join(f"epoch {e + 1}" for e in range(args.epochs)) + " |",
              "| ---: |" + " --- |" * args.epochs]
    for dt in dts:
        cells = []
        for e in range(args.epochs):
            hist = [runs[dt, s]["history"] for s in seeds]
            spikes = "/".join(f"{np.mean([h['test_spikes_per_neuron'][e][l] for h in hist]):.2f}"
                              for l in range(len(setting["max_spikes"])))
            cells.append(f"{_mean_spread([h['train_accuracy'][e] for h in hist], 100, 1)} / "
                         f"{_mean_spread([h['test_accuracy'][e] for h in hist], 100, 1)}; "
                         f"{spikes}")
        lines.append(f"| {dt:g} | " + " | ".join(cells) + " |")
    if args.brian2:
        lines += ["", "## Brian2 (cuba_lif, cpp_standalone) against the event-driven engine",
                  "", "Each trained network on the test images at its dt (dt = 0: a 1 ms grid), "
                  "against the engine run on the same grid and over Brian2's window of whole "
                  "steps.", "",
                  "| dt (ms) | seed | grid (ms) | window (ms) | Brian2 accuracy % | engine "
                  "accuracy % | same "
                  "predictions % | output counts differing | two engine spikes of a neuron "
                  "in one grid step | Brian2 s |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for dt in dts:
            for s in seeds:
                c = runs[dt, s]["brian2"]
                lines.append(f"| {dt:g} | {s} | {c['dt_ms']:g} | {c['window_ms']:g} | "
                             f"{100 * c['accuracy']:.2f} | "
                             f"{100 * c['reference_accuracy']:.2f} | "
                             f"{100 * c['same_predictions']:.2f} | {c['differing_counts']} of "
                             f"{c['counts']} | {c['double_crossings']} | {c['seconds']:.0f} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(name, runs, dts, seeds, args.epochs)


def plot(name, runs, dts, seeds, epochs):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 3.6))
    acc, spk, conf, pareto = fig.subplots(1, 4)
    colours = {dt: f"C{i}" for i, dt in enumerate(dts)}
    epoch_axis = np.arange(1, epochs + 1)
    for dt in dts:
        hist = [runs[dt, s]["history"] for s in seeds]
        test = 100 * np.mean([h["test_accuracy"] for h in hist], axis=0)
        train = 100 * np.mean([h["train_accuracy"] for h in hist], axis=0)
        acc.plot(epoch_axis, test, "-o", color=colours[dt], ms=3, label=f"dt {dt:g} ms")
        acc.plot(epoch_axis, train, ":", color=colours[dt])
        total = np.mean([np.asarray(h["test_spikes_per_neuron"]).mean(axis=1) for h in hist],
                        axis=0)
        spk.plot(epoch_axis, total, "-o", color=colours[dt], ms=3)
        conf.plot(GRID, np.mean([runs[dt, s]["at_dt"]["confidence"] for s in seeds], axis=0),
                  color=colours[dt])
        for s in seeds:
            for key, marker in (("at_dt", "o"), ("continuous", "s")):
                m = runs[dt, s][key]
                pareto.plot(1 / m["spikes"], 100 * m["accuracy"], marker, color=colours[dt],
                            ms=4, mfc="none" if key == "continuous" else colours[dt])
    acc.set(xlabel="epoch", ylabel="accuracy % (test -o-, train ···)", title="accuracy")
    spk.set(xlabel="epoch", ylabel="test spikes per neuron (layer mean)", title="spikes")
    conf.set(xlabel="t (s)", ylabel="true-class spikes / 15", title="confidence (trained at dt)")
    pareto.set(xlabel="1 / spikes per image", ylabel="test accuracy %",
               title="accuracy vs 1/spikes\n(o trained at dt, □ dt = 0 net)")
    acc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}_study.png", dpi=120)


if __name__ == "__main__":
    main()
