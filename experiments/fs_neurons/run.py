"""Few-spike neurons (Stöckl & Maass 2021) on MNIST: accuracy, spikes per neuron, latency.

    python experiments/fs_neurons/run.py [--limit N] [--device numpy|cpp_standalone]

Writes ``experiments/fs_neurons/results/`` : ``README.md`` (tables), ``functions.png``
(FS-ReLU/swish/sigmoid against the true functions), ``tradeoff.png`` (accuracy against
timesteps and against spikes per neuron, FS and the soft-reset IF rate code). The ANNs are
trained once (seed 0, 784-500-10, ``--epochs`` epochs, default 5) and cached in ``results/``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import mnist  # noqa: E402

from brainconv.ann import load_ann, save_ann, train_ann  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.equations.fs import (SIGMOID_D, SIGMOID_H, SIGMOID_T, SWISH_D,  # noqa: E402
                                    SWISH_H, SWISH_T, fs_transfer, relu_coefficients,
                                    sigmoid, swish)
from brainconv.fs_fit import fit_fs  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402

RESULTS = HERE / "results"
KS = (4, 6, 8, 10)


def summarize(raw, labels, spec):
    """Accuracy per step, spikes per neuron per sample (all layers, hidden only)."""
    counts = np.cumsum(raw["output_spikes"], axis=1)
    accuracy = (np.argmax(counts, axis=2) == labels[:, None]).mean(axis=0)
    n = len(labels)
    sizes = np.array(spec.layer_sizes)
    hidden = raw["unit_spike_count"][:sizes[0]].sum() / (n * sizes[0])
    total = raw["unit_spike_count"].sum() / (n * sizes.sum())
    per_step = np.cumsum(raw["layer_spikes"].sum(axis=0)) / (n * sizes.sum())
    return accuracy, total, hidden, per_step


def cached_ann(x, y, activation, epochs):
    """The 784-500-10 MLP with ``activation``, trained once (seed 0) and kept in results/."""
    path = RESULTS / f"ann_{activation}_e{epochs}.npz"
    if path.exists():
        return load_ann(path)
    print(f"training the 784-500-10 {activation} MLP (seed 0, {epochs} epochs)", flush=True)
    ann = train_ann(x, y, epochs=epochs, seed=0, activation=activation)
    save_ann(ann, path)
    return ann


def plot_functions(path, fitted):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3)
    x = np.linspace(-8, 12, 4001)
    T, h, d = relu_coefficients(10, 25.0)
    axes[0].plot(x, np.maximum(x, 0), "k", lw=1, label="ReLU")
    axes[0].plot(x, fs_transfer(x, T, h, d), "C0", lw=1, label="FS-ReLU K=10, alpha=25")
    axes[1].plot(x, swish(x), "k", lw=1, label="swish")
    axes[1].plot(x, fs_transfer(x, SWISH_T, SWISH_H, SWISH_D), "C1", lw=1,
                 label="FS-swish K=16 (published)")
    if fitted is not None:
        axes[1].plot(x, fs_transfer(x, fitted.T, fitted.h, fitted.d), "C2", lw=1, ls="--",
                     label=f"FS-swish K=16 (fit_fs, MSE {fitted.mse:.4f})")
    xs = np.linspace(-10, 10, 4001)
    axes[2].plot(xs, sigmoid(xs), "k", lw=1, label="sigmoid")
    axes[2].plot(xs, fs_transfer(xs, SIGMOID_T, SIGMOID_H, SIGMOID_D), "C3", lw=1,
                 label="FS-sigmoid K=12 (published)")
    for ax in axes:
        ax.legend(fontsize=7)
        ax.set_xlabel("input x")
    axes[0].set_ylabel("output")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10000, help="test samples")
    parser.add_argument("--device", default="numpy")
    parser.add_argument("--rate-steps", type=int, default=100)
    parser.add_argument("--fit-iterations", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=5, help="ANN training epochs")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    x_test, y_test = x_test[:args.limit], y_test[:args.limit]
    calibration = x_train[:5000]
    lines = [f"Command: `python experiments/fs_neurons/run.py --limit {args.limit} --device "
             f"{args.device} --epochs {args.epochs} --rate-steps {args.rate_steps} "
             f"--fit-iterations {args.fit_iterations}`", ""]

    relu = cached_ann(x_train, y_train, "relu", args.epochs)
    ann_accuracy = relu.accuracy(x_test, y_test)
    lines += ["## FS-ReLU, 784-500-10 MLP (percentile 99.9 normalization, alpha = 1)", "",
              f"ANN accuracy: {100 * ann_accuracy:.2f} %", "",
              "| K | latency (steps) | accuracy % | ANN - SNN (points) | spikes/neuron (all) "
              "| spikes/neuron (hidden) | wall s |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    fs_points = []
    for K in KS:
        spec = convert(relu, model="fs_relu", data=calibration,
                       parameters={"K": K, "alpha": 1.0})
        start = time.perf_counter()
        raw = run_network(spec, x_test, 2 * K, device=args.device)
        wall = time.perf_counter() - start
        accuracy, total, hidden, _ = summarize(raw, y_test, spec)
        fs_points.append((K, 2 * K, accuracy[-1], total))
        lines.append(f"| {K} | {2 * K} | {100 * accuracy[-1]:.2f} | "
                     f"{100 * (ann_accuracy - accuracy[-1]):.2f} | {total:.3f} | {hidden:.3f} "
                     f"| {wall:.1f} |")
        print(lines[-1], flush=True)

    spec = convert(relu, model="if_soft", data=calibration)
    raw = run_network(spec, x_test, args.rate_steps, device=args.device)
    rate_accuracy, _, _, rate_spikes = summarize(raw, y_test, spec)
    lines += ["", f"Rate code (if_soft, same ANN): accuracy {100 * rate_accuracy[-1]:.2f} % "
              f"after {args.rate_steps} steps with {rate_spikes[-1]:.1f} spikes per neuron; "
              + ", ".join(f"{100 * rate_accuracy[t - 1]:.2f} % at {t} steps "
                          f"({rate_spikes[t - 1]:.2f} spikes/neuron)"
                          for t in (8, 12, 16, 20) if t <= args.rate_steps), ""]
    print(lines[-2], flush=True)

    sw = cached_ann(x_train, y_train, "swish", args.epochs)
    sw_accuracy = sw.accuracy(x_test, y_test)
    logits = sw.forward(x_train[:5000])
    alpha = float(2.0 ** np.ceil(np.log2(np.percentile(logits.max(axis=1), 99.9))))
    spec = convert(sw, model=["fs_swish", "fs_relu"], normalization="none",
                   parameters={"K": 10, "alpha": alpha})
    raw = run_network(spec, x_test, 16 + 10, device=args.device)
    accuracy, total, hidden, _ = summarize(raw, y_test, spec)
    lines += ["## Swish MLP (784-500-10) with the published K = 16 FS-swish coefficients", "",
              f"Hidden layer FS-swish (16 steps, no normalization), output FS-ReLU K = 10, "
              f"alpha = {alpha:g} (power of two above the 99.9th percentile of the top logit); "
              "latency 26 steps.", "",
              "| ANN % | SNN % | ANN - SNN (points) | spikes/neuron (all) | "
              "spikes/neuron (hidden) |", "| ---: | ---: | ---: | ---: | ---: |",
              f"| {100 * sw_accuracy:.2f} | {100 * accuracy[-1]:.2f} | "
              f"{100 * (sw_accuracy - accuracy[-1]):.2f} | {total:.3f} | {hidden:.3f} |", ""]
    print(lines[-2], flush=True)

    start = time.perf_counter()
    fitted = fit_fs(swish, 16, (-8, 12), iterations=args.fit_iterations, init="relu", seed=0)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    # 96 random restarts at lr 0.05 (MSE 9.8e-5, ~5 min) beat 24 (2.2e-4), 8 (2.8e-4) and 2 at
    # lr 0.1 (5.3e-4): the published search also ran many restarts.
    sig = fit_fs(sigmoid, 12, (-10, 10), iterations=args.fit_iterations, restarts=96,
                 lr=0.05, seed=0)
    sig_s = time.perf_counter() - start
    grid = np.linspace(-8, 12, 2001)
    sgrid = np.linspace(-10, 10, 2001)
    lines += ["## fit_fs (brainconv.fs_fit) against the published coefficients", "",
              "MSE on linspace(lo, hi, 2001); published values measured with the same loop.", "",
              "| function | K | range | fit_fs MSE | published MSE | fit_fs spikes | seconds |",
              "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
              f"| swish (init relu, 1000 points, {args.fit_iterations} Adam steps) | 16 | "
              f"[-8, 12] | {np.mean((fs_transfer(grid, fitted.T, fitted.h, fitted.d) - swish(grid))**2):.5f} | "
              f"{np.mean((fs_transfer(grid, SWISH_T, SWISH_H, SWISH_D) - swish(grid))**2):.5f} | "
              f"{fitted.mean_spikes:.2f} | {fit_s:.0f} |",
              f"| sigmoid (96 random restarts, lr 0.05) | 12 | [-10, 10] | "
              f"{np.mean((fs_transfer(sgrid, sig.T, sig.h, sig.d) - sigmoid(sgrid))**2):.2e} | "
              f"{np.mean((fs_transfer(sgrid, SIGMOID_T, SIGMOID_H, SIGMOID_D) - sigmoid(sgrid))**2):.2e} | "
              f"{sig.mean_spikes:.2f} | {sig_s:.0f} |", ""]
    print("\n".join(lines[-3:]), flush=True)

    plot_functions(RESULTS / "functions.png", fitted)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    steps = np.arange(1, len(rate_accuracy) + 1)
    ax1.plot(steps, 100 * rate_accuracy, "C0", label="rate code (if_soft)")
    ax2.plot(rate_spikes, 100 * rate_accuracy, "C0", label="rate code (if_soft)")
    for number, (K, latency, acc, spk) in enumerate(fs_points):
        offset = (4, -12 if number % 2 else 6)
        ax1.plot(latency, 100 * acc, "o", color="C3", label="FS-ReLU" if not number else None)
        ax1.annotate(f"K={K}", (latency, 100 * acc), xytext=offset,
                     textcoords="offset points", fontsize=8)
        ax2.plot(spk, 100 * acc, "o", color="C3", label="FS-ReLU" if not number else None)
        ax2.annotate(f"K={K}", (spk, 100 * acc), xytext=offset,
                     textcoords="offset points", fontsize=8)
    for ax in (ax1, ax2):
        ax.axhline(100 * ann_accuracy, color="k", lw=0.8, ls=":", label="ANN")
        ax.set_ylim(95, 99)
        ax.set_ylabel("test accuracy (%)")
        ax.legend(fontsize=8)
    ax1.set_xscale("log")
    ax1.set_xlabel("timesteps per sample (log)")
    ax2.set_xscale("log")
    ax2.set_xlabel("spikes per neuron per sample (all layers, log)")
    fig.tight_layout()
    fig.savefig(RESULTS / "tradeoff.png", dpi=120)
    lines += ["## Against the paper's claims", "",
              "| claim (Stöckl & Maass 2021) | here |", "| --- | --- |",
              "| FS-SNN within ~0.2 points of the ANN (CIFAR-10 ResNets lose 0.1-0.6) | "
              "FS-ReLU tables above (ANN - SNN column); swish MLP row |",
              "| 1.36-2.14 spikes per neuron (ResNet50 CIFAR 1.36 ... EfficientNet-B7 2.14) | "
              "spikes/neuron columns above |",
              "| published swish MSE 0.00345 on [-8, 12], sigmoid 1.44e-4 on [-10, 10] | "
              "published-MSE column (same loop, `>=`) |", "",
              "Figures: `functions.png` (FS-ReLU K=10 alpha=25, FS-swish K=16, FS-sigmoid "
              "K=12 against the true functions; the paper's Fig. 5 analogue) and "
              "`tradeoff.png` (accuracy vs timesteps and vs spikes per neuron, FS-ReLU for "
              "K in {4, 6, 8, 10} against the if_soft rate code), both from the command at the "
              "top. Simulations on the numpy reference, which equals Brian2 runtime and "
              "cpp_standalone spike for spike (tests/test_fs.py)."]
    (RESULTS / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}", flush=True)


if __name__ == "__main__":
    main()
