"""Cojocaru (2024): what a time grid of step dt does to a BATS CuBa-LIF network.

    python experiments/cojocaru/run.py --dataset mnist [--train-samples 5000] [--epochs 1]
    python experiments/cojocaru/run.py --dataset fashion-mnist

For each dt in ``--dts`` (ms; 0 = continuous) two settings, both with the event-driven
closed-form simulator (``brainconv.spiketime``), seeded:

* *trained at dt*: BATS training (exact spike-time gradients, straight-through estimator for
  ``d(t)``) with the discretisation in the forward pass, evaluated at the same dt;
* *trained continuous*: the dt = 0 network evaluated at dt.

Measured on the test images: accuracy, spikes per neuron per sample in the hidden and output
layers, and the prediction confidence over time (true-class output spikes emitted up to t,
divided by the target count 15; a spike counts from ``d(t)`` when dt > 0, when it is
emitted). Writes ``results/<dataset>.md`` (tables, the command) and ``<dataset>_study.png``
(accuracy against 1 / spikes as thesis Fig. 13, confidence over time, spikes against dt);
trained weights go to ``results/<dataset>_dt<dt>_n<samples>_e<epochs>.npz`` (reused).
Hyperparameters: thesis appendix with BATS' thresholds (MNIST hidden 0.2, output 1.3),
smaller training budgets (``--train-samples``, ``--epochs``) stated in the results.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import mnist  # noqa: E402

from brainconv.spiketime import simulate_events, train_bats, ttfs_encode  # noqa: E402

RESULTS = HERE / "results"
#: Cojocaru's thesis, appendix (training settings). Fashion-MNIST trains with batch 50 here, not 5
#: (2 cores), with lr 0.001 instead of 0.0005 for the larger batch.
SETTINGS = {
    "mnist": {"hidden": (800,), "thresholds": (0.2, 1.3), "lr": 0.003, "max_spikes": 30},
    "fashion-mnist": {"hidden": (400, 400), "thresholds": (0.13, 0.45, 0.7), "lr": 0.001,
                      "max_spikes": (5, 5, 20)},
}
T_MAX, TAU_S, TARGET = 0.2, 0.13, 15


def evaluate(weights, setting, x_times, labels, dt):
    """Accuracy, spikes per neuron per sample (hidden layers together, output), confidence."""
    grid = np.linspace(0, T_MAX, 201)
    correct, hidden, output = 0, 0.0, 0.0
    confidence = np.zeros(len(grid))
    for start in range(0, len(labels), 200):
        y = labels[start:start + 200]
        result = simulate_events(weights, setting["thresholds"], x_times[start:start + 200],
                                 tau_s=TAU_S, dt=dt, t_max=T_MAX,
                                 max_spikes=setting["max_spikes"], record=False)
        counts = result.counts
        correct += int(np.sum(np.argmax(counts, axis=1) == y))
        hidden += sum(float(layer.counts.sum()) for layer in result.layers[:-1])
        output += float(counts.sum())
        out = result.layers[-1]
        emitted = np.where(out.times <= T_MAX, out.out_times, np.inf)  # d(t) when dt > 0
        true = emitted[np.arange(len(y)), y]  # (samples, max_spikes)
        confidence += (true[:, None, :] <= grid[None, :, None]).sum(axis=(0, 2))
    n = len(labels)
    n_hidden = sum(w.shape[1] for w in weights[:-1])
    return {"accuracy": correct / n, "hidden": hidden / (n * n_hidden),
            "output": output / (n * weights[-1].shape[1]),
            "spikes": (hidden + output) / n, "confidence": (grid, confidence / (n * TARGET))}


def trained(dataset, dt_ms, setting, x_times, labels, args):
    path = RESULTS / f"{dataset}_dt{dt_ms:g}_n{len(labels)}_e{args.epochs}.npz"
    if path.exists():
        with np.load(path) as npz:
            return [npz[f"W{i}"] for i in range(len(npz.files))], None
    print(f"training {dataset} at dt = {dt_ms:g} ms on {len(labels)} images", flush=True)
    weights, history = train_bats(
        x_times, labels, hidden=setting["hidden"], thresholds=setting["thresholds"],
        tau_s=TAU_S, dt=dt_ms * 1e-3, epochs=args.epochs, batch_size=50, lr=setting["lr"],
        seed=args.seed, max_spikes=setting["max_spikes"], t_max=T_MAX, n_classes=10)
    np.savez(path, **{f"W{i}": w for i, w in enumerate(weights)})
    print(f"  {history['samples_per_s']:.1f} samples/s, last loss "
          f"{history['loss'][-20:].mean():.1f}", flush=True)
    return weights, history["samples_per_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=SETTINGS, default="mnist")
    parser.add_argument("--dts", type=float, nargs="+", default=[0, 0.5, 3, 5, 8, 9],
                        help="grid steps in ms; 0 is continuous")
    parser.add_argument("--train-samples", type=int, default=5000)
    parser.add_argument("--test-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    setting = SETTINGS[args.dataset]
    x_train, y_train = mnist("train", args.dataset)
    x_test, y_test = mnist("test", args.dataset)
    rng = np.random.default_rng(args.seed)
    pick = rng.permutation(len(y_train))[:args.train_samples]
    train_times, y_train = ttfs_encode(x_train[pick]), y_train[pick]
    test_times, y_test = ttfs_encode(x_test[:args.test_samples]), y_test[:args.test_samples]
    continuous, _ = trained(args.dataset, 0.0, setting, train_times, y_train, args)
    rows, speeds = [], []
    for dt_ms in args.dts:
        weights, speed = trained(args.dataset, dt_ms, setting, train_times, y_train, args)
        speeds += [speed] if speed else []
        start = time.perf_counter()
        at_dt = evaluate(weights, setting, test_times, y_test, dt_ms * 1e-3)
        from_continuous = evaluate(continuous, setting, test_times, y_test, dt_ms * 1e-3)
        rows.append((dt_ms, at_dt, from_continuous))
        print(f"dt {dt_ms:g} ms: trained at dt {100 * at_dt['accuracy']:.2f} %, "
              f"trained continuous {100 * from_continuous['accuracy']:.2f} % "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    write_results(args, rows, speeds)


def write_results(args, rows, speeds):
    name = args.dataset
    command = (f"python experiments/cojocaru/run.py --dataset {name} --train-samples "
               f"{args.train_samples} --test-samples {args.test_samples} --epochs {args.epochs} "
               f"--dts {' '.join(f'{d:g}' for d in args.dts)}")
    sizes = "-".join(str(n) for n in (784, *SETTINGS[name]["hidden"], 10))
    lines = [f"# Cojocaru's dt study on {name} ({sizes}, CuBa-LIF, event-driven)", "",
             f"Command: `{command}`", "",
             f"Training: {args.epochs} epoch(s) on {args.train_samples} training images (seed "
             f"{args.seed}), batch 50, Adam lr {SETTINGS[name]['lr']}, thresholds "
             f"{SETTINGS[name]['thresholds']}; the thesis trains 10 epochs on the full set. "
             f"Test: the first {args.test_samples} test images."
             + (f" Trainer throughput: {np.mean(speeds):.0f} samples/s on 2 cores." if speeds
                else ""), "",
             "| dt (ms) | accuracy % (trained at dt) | hidden spikes/neuron | output "
             "spikes/neuron | accuracy % (trained continuous, run at dt) | hidden | output | "
             "confidence at 0.1 s / 0.2 s (trained at dt) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for dt_ms, a, c in rows:
        grid, conf = a["confidence"]
        lines.append(f"| {dt_ms:g} | {100 * a['accuracy']:.2f} | {a['hidden']:.3f} | "
                     f"{a['output']:.3f} | {100 * c['accuracy']:.2f} | {c['hidden']:.3f} | "
                     f"{c['output']:.3f} | {conf[100]:.3f} / {conf[200]:.3f} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(name, rows)


def plot(name, rows):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6))
    pareto, confidence, by_dt = fig.subplots(1, 3)
    for key, label, marker in ((1, "trained at dt", "o"), (2, "trained continuous", "s")):
        xs = [1 / row[key]["spikes"] for row in rows]
        ys = [100 * row[key]["accuracy"] for row in rows]
        pareto.plot(xs, ys, marker, label=label)
        for x, y, row in zip(xs, ys, rows):
            pareto.annotate(f"{row[0]:g}", (x, y), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
        by_dt.plot([row[0] for row in rows], [row[key]["spikes"] for row in rows], marker + "-",
                   label=f"spikes per sample, {label}")
    for dt_ms, a, _ in rows:
        grid, conf = a["confidence"]
        confidence.plot(grid, conf, label=f"dt {dt_ms:g} ms")
    pareto.set(xlabel="1 / spikes per sample", ylabel="test accuracy %",
               title="accuracy vs 1/spikes (labels: dt ms)")
    confidence.set(xlabel="t (s)", ylabel="true-class spikes / 15",
                   title="prediction confidence (trained at dt)")
    by_dt.set(xlabel="dt (ms)", ylabel="spikes per sample")
    for ax in (pareto, confidence, by_dt):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}_study.png", dpi=120)


if __name__ == "__main__":
    main()
