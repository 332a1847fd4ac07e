"""Benchmark: every paradigm of brainconv.comparison.PARADIGMS on the converted 784-500-10 MNIST net.

Paradigms that do not apply to this ReLU network (``brainconv.comparison.applicable``: e.g.
``lif_alpha`` needs a soft-LIF-trained ANN) are listed with the reason after the table.

For each paradigm: the numpy reference (float64, the exact yardstick; float32 for speed) and
the Brian2 cpp_standalone binary (compiled once, timed on a second run that reuses it), on the
same images and timesteps. Prints one table with the ratio Brian2 / fastest numpy, and both
accuracies (they should agree).

    python experiments/benchmarks/paradigms_speed.py [--samples 2000] [--steps 100]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainconv.comparison import applicable  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402

from common import mnist, trained_ann  # noqa: E402


def accuracy(result, labels):
    return 100 * float((result["output_spikes"].sum(axis=1).argmax(axis=1) == labels).mean())


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--ann", default=str(Path(__file__).resolve().parent.parent / "results"
                                             / "ann_mnist_seed0.npz"))
    args = parser.parse_args()
    # A fresh compile cache, so that "compile s" (first run minus second) is a compilation.
    os.environ["BRAINCONV_CACHE"] = tempfile.mkdtemp(prefix="brainconv-bench-")
    ann = trained_ann(args.ann)
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    print(f"{args.samples} images x {args.steps} timesteps, 2 cores\n")
    header = (f"{'paradigm':18s} {'numpy f64 s':>11s} {'numpy f32 s':>11s} {'compile s':>9s} "
              f"{'brian2 s':>8s} {'ratio':>6s} {'acc numpy':>9s} {'acc brian2':>10s}")
    runnable, skipped = applicable(ann, calibration=x_train)
    print(header)
    for name, paradigm in runnable.items():
        spec = convert(ann, model=paradigm.model, data=x_train[:10000],
                       normalization=paradigm.normalization, parameters=paradigm.parameters)
        f64, reference = timed(lambda: simulate_reference(spec, x, args.steps, np.float64))
        f32, _ = timed(lambda: simulate_reference(spec, x, args.steps, np.float32))
        first, _ = timed(lambda: run_network(spec, x, args.steps, device="cpp_standalone"))
        second, brian = timed(lambda: run_network(spec, x, args.steps, device="cpp_standalone"))
        print(f"{name:18s} {f64:11.2f} {f32:11.2f} {first - second:9.1f} {second:8.2f} "
              f"{second / min(f64, f32):6.2f} {accuracy(reference, y):9.2f} "
              f"{accuracy(brian, y):10.2f}", flush=True)
    for name, reason in skipped.items():
        print(f"not applicable: {name}: {reason}")


if __name__ == "__main__":
    main()
