"""Srinivasan et al. 2020: binary 3x3 kernels learned by stochastic STDP, MNIST 36C3-2P-128FC-10FC.

    python experiments/srinivasan/kernels.py [--patches 10000] [--epochs 10] [--limit 10000]
    python experiments/srinivasan/kernels.py --learner shared     # kernels shared over positions

1. **STDP in Brian2** (``brainconv.learning.learn_kernels``, one ``cpp_standalone`` run): one
   random inky 3x3 patch from each of the first ``--patches`` training digits, Poisson input
   (200 Hz at intensity 1, 50 ms + 20 ms rest per patch), 36 adaptive-threshold LIF neurons with
   dropout 0.5, stochastic binary STDP (weights {0, 1}; the model's placeholder constants).
2. **Network**: convolution with the 36 binary kernels (no bias, weights kernel / 9), ReLU,
   2x2 average pooling, then FC 128 -> 10 trained by backprop (brainconv's ``train_ann``, SGD,
   seeded) on the pooled features of all 60,000 training digits, the kernels fixed.
3. **Spiking**: the whole network converted to soft-reset IF neurons (99.9 % normalization,
   constant-current input) and run on the first ``--limit`` test digits for ``--steps`` steps.

The same pipeline with the *initial* random binary kernels of the STDP run (Bernoulli 0.5,
the same seed) is the baseline that shows what STDP adds. With ``--learner shared`` the kernels
come from ``brainconv.learning.learn_shared_kernels`` on the first ``--patches`` whole digits
(each kernel applied at all positions; cached with ``stdp_vs_random.py``'s), and the baseline is
random binary kernels with the same number of ones per kernel; outputs get the suffix
``_shared``. Kernel memory: 36 x 9 weights of 1
bit against 32 bits each (32x; the scale 1/9 is one shared number, folded into the IF
thresholds by the conversion). Writes ``results/kernels.md``, ``kernels.png``, ``kernels.npz``
(the learned and random kernels) and ``kernels.json`` (the table, read by ``energy.py``).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import mnist  # noqa: E402

from brainconv.analysis import accuracy_over_time  # noqa: E402
from brainconv.ann import ANN, train_ann  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.energy import ann_macs, efficiency, snn_operations  # noqa: E402
from brainconv.layers import avgpool2d_connectivity, conv2d_connectivity  # noqa: E402
from brainconv.learning import image_patches, learn_kernels  # noqa: E402
from brainconv.results import save_results  # noqa: E402
from brainconv.simulation import simulate  # noqa: E402

RESULTS = HERE / "results"
PAPER_ACCURACY, PAPER_COMPRESSION = 98.54, 39.5


def feature_layers(kernels):
    """Sparse matrices of the fixed layers: conv (kernels / 9, no padding) and 2x2 avg pool."""
    weight = kernels[:, None].astype(np.float64) / 9.0
    pre, post, w = conv2d_connectivity((1, 28, 28), weight)
    conv = scipy.sparse.csr_matrix((w, (pre, post)), shape=(784, len(kernels) * 26 * 26))
    pre, post, w = avgpool2d_connectivity((len(kernels), 26, 26), 2)
    pool = scipy.sparse.csr_matrix((w, (pre, post)), shape=(conv.shape[1],
                                                            len(kernels) * 13 * 13))
    return conv, pool


def kernel_network(kernels, x_train, y_train, epochs, seed):
    """The 36C3-2P-128FC-10FC ANN: fixed binary kernels, FC head trained on their features."""
    conv, pool = feature_layers(kernels)
    features = np.concatenate([(np.maximum(chunk @ conv, 0) @ pool).astype(np.float32)
                               for chunk in np.array_split(x_train, 20)])  # 0.5 GB chunks
    head = train_ann(features, y_train, hidden=(128,), epochs=epochs, seed=seed,
                     progress=lambda e, n, loss, acc: print(
                         f"    epoch {e}/{n}: loss {loss:.4f}, train accuracy {acc:.4f}",
                         flush=True))
    zeros = [np.zeros(conv.shape[1]), np.zeros(pool.shape[1])]
    return ANN((conv, pool, *head.weights), (*zeros, *head.biases))


def spiking_run(ann, x_train, x, y, steps, device, seed):
    """Convert to IF neurons, simulate, return (accuracy %, results, spec)."""
    spec = convert(ann, "if_soft", data=x_train[:10000])
    results = simulate(spec, x, y, steps, device=device, attrs={"seed": seed})
    return 100 * float(accuracy_over_time(results)[-1]), results, spec


def plot_kernels(learned, random, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 4.3))
    for ax, kernels, title in ((axes[0], learned, "learned by stochastic STDP"),
                               (axes[1], random, "random (the STDP run's start)")):
        tiles = np.ones((6 * 4 - 1, 6 * 4 - 1)) * 0.5
        for k, kernel in enumerate(kernels):
            row, col = divmod(k, 6)
            tiles[row * 4:row * 4 + 3, col * 4:col * 4 + 3] = kernel
        ax.imshow(tiles, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"36 binary 3x3 kernels,\n{title}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=None,
                        help="training digits for STDP: one patch each (default 10,000), or "
                        "whole digits with --learner shared (default 1,000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the FC head")
    parser.add_argument("--limit", type=int, default=10000,
                        help="test digits simulated as spiking networks (the ANNs use all)")
    parser.add_argument("--steps", type=int, default=100, help="timesteps of the SNN runs")
    parser.add_argument("--device", default="cpp_standalone")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learner", choices=("patches", "shared"), default="patches")
    parser.add_argument("--scale", type=float, default=0.01,
                        help="shared learner: factor on the STDP probabilities and threshold "
                        "step (stdp_vs_random.SHARED_CONSTANTS)")
    parser.add_argument("--no-winner-take-all", dest="winner_take_all", action="store_false",
                        help="shared learner: no lateral inhibition across maps")
    args = parser.parse_args()
    if args.patches is not None and args.patches < 1:
        parser.error(f"--patches must be >= 1, got {args.patches}")
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must lie in (0, 1] (it multiplies probabilities), got {args.scale}")
    args.patches = args.patches or (1000 if args.learner == "shared" else 10000)
    suffix = "" if args.learner == "patches" else f"_{args.learner}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    command = "python experiments/srinivasan/kernels.py " + " ".join(sys.argv[1:])

    start = time.perf_counter()
    if args.learner == "shared":
        from stdp_vs_random import random_kernels, stdp_kernels

        learned = stdp_kernels(x_train, args.seed, argparse.Namespace(
            learner="shared", digits=args.patches, scale=args.scale,
            winner_take_all=args.winner_take_all))
        kernels = {"STDP": learned, "random": random_kernels(learned, args.seed)}
        learn_note = (f"shared-kernel STDP on the first {args.patches} whole digits, lateral "
                      f"inhibition {'on' if args.winner_take_all else 'off'}, constants x "
                      f"{args.scale:g} ({time.perf_counter() - start:.0f} s here, cached by "
                      "stdp_vs_random.py)")
    else:
        patches = image_patches(x_train, args.patches, seed=args.seed)
        learned = learn_kernels(patches, n_maps=36, seed=args.seed, progress=True)
        learn_wall = time.perf_counter() - start
        kernels = {"STDP": learned.kernels(), "random": learned.initial.T.reshape(-1, 3, 3)}
        learn_note = (f"STDP learning run: {learned.seconds:.1f} s simulation ({args.patches} "
                      f"presentations of 70 ms, {learn_wall:.1f} s with compilation); spikes "
                      f"per learning neuron {learned.spikes.min()}-{learned.spikes.max()}.")
    print(learn_note, flush=True)
    np.savez(RESULTS / f"kernels{suffix}.npz", learned=kernels["STDP"], random=kernels["random"])
    plot_kernels(kernels["STDP"], kernels["random"], RESULTS / f"kernels{suffix}.png")

    rows = []
    x_snn, y_snn = x_test[:args.limit], y_test[:args.limit]
    for name, k in kernels.items():
        print(f"{name} kernels: training the FC head", flush=True)
        ann = kernel_network(k, x_train, y_train, args.epochs, args.seed)
        ann_accuracy = 100 * ann.accuracy(x_test, y_test)
        ann_subset = 100 * ann.accuracy(x_snn, y_snn)
        start = time.perf_counter()
        snn_accuracy, results, spec = spiking_run(ann, x_train, x_snn, y_snn, args.steps,
                                                  args.device, args.seed)
        save_results(results, RESULTS / f"kernels{suffix}_{name.lower()}_snn.nc")
        ops = snn_operations(results, spec)
        macs = ann_macs(ann)
        rows.append((name, int(k.sum()), ann_accuracy, ann_subset, snn_accuracy, macs,
                     ops["macs"], ops["acs"],
                     efficiency(macs, ops["acs"], ops["macs"], preset="int32"),
                     efficiency(macs, ops["acs"], ops["macs"], preset="float32")))
        print(f"  ANN {ann_accuracy:.2f} % (all {len(x_test)}), {ann_subset:.2f} % on the "
              f"first {args.limit}; SNN {snn_accuracy:.2f} % ({time.perf_counter() - start:.0f}"
              " s)", flush=True)

    bits = 36 * 9
    lines = [
        "# Srinivasan et al. 2020: stochastic-STDP kernels, MNIST 36C3-2P-128FC-10FC",
        "",
        f"Command: `{command}` (seed {args.seed}; STDP on {args.patches} "
        + ("patches, one per training digit" if args.learner == "patches" else "whole digits")
        + f"; FC head {args.epochs} epochs on all 60,000 training digits; SNN: "
        f"soft-reset IF, 99.9 % normalization, {args.steps} steps, first {args.limit} test "
        f"digits, {args.device}).",
        "",
        learn_note,
        "",
        "| kernels | ones (of 324) | ANN test % (10,000) | ANN % (SNN subset) | SNN % "
        "| ANN MACs | SNN MACs (input layer) | SNN ACs | efficiency int32 | float32 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append("| {} | {} | {:.2f} | {:.2f} | {:.2f} | {:,} | {:,.0f} | {:,.0f} | "
                     "{:.2f}x | {:.2f}x |".format(*row))
    lines += [
        "",
        f"Paper: {PAPER_ACCURACY} % test accuracy. Kernel memory: {bits} one-bit weights "
        f"against {bits} 32-bit ones, **{32 * bits // bits}x** (paper {PAPER_COMPRESSION}x; "
        "the paper does not say how it counts, so the two are not directly comparable).",
        "",
        "Energy: with constant-current input the first (convolution) layer computes its "
        "input once per image as MACs; the efficiency is ANN energy / SNN energy "
        "(`brainconv.energy.efficiency`, presets int32 3.1/0.1 pJ and float32 3.7/0.9 pJ).",
        "",
        f"![kernels](kernels{suffix}.png)",
    ]
    (RESULTS / f"kernels{suffix}.md").write_text("\n".join(lines) + "\n")
    keys = ("kernels", "ones", "ann_accuracy", "ann_accuracy_subset", "snn_accuracy",
            "ann_macs", "snn_macs", "snn_acs", "efficiency_int32", "efficiency_float32")
    (RESULTS / f"kernels{suffix}.json").write_text(json.dumps(
        {"command": command, "limit": args.limit, "steps": args.steps,
         "rows": [dict(zip(keys, row)) for row in rows]}, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
