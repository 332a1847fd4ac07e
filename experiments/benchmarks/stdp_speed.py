"""Benchmark: the STDP learning run of experiments/srinivasan on cpp_standalone and on Brian2's
runtime device, in the same run.

    python experiments/benchmarks/stdp_speed.py [--patches 10000] [--runtime-patches 200]
                                                [--digits 200]

The network of ``brainconv.learning.learn_kernels``: 9 Poisson pixels -> 36 adaptive-threshold
LIF neurons through 324 stochastic binary STDP synapses, 70 ms per presentation at dt = 1 ms.
``cpp_standalone`` learns on ``--patches`` MNIST patches (compile time printed apart);
the runtime device (Brian2's default code-generation target, printed; after a short warm-up run
so that Cython code comes from its cache) on the first ``--runtime-patches`` of them, which is
enough for a steady per-sample time. Then the shared-kernel learner
(``brainconv.learning.learn_shared_kernels``: 36 kernels applied at all 676 positions of whole
28x28 digits, 24,336 LIF neurons, 70 ms per digit) on ``cpp_standalone`` for ``--digits``
digits (0: skipped). Prints a table with samples/s for each and ends with
``ratio_to_runtime=<x>``: the patch learner's compiled time per sample over its runtime time
per sample (below 1: the compiled run is faster).
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import mnist  # noqa: E402

from brainconv.learning import image_patches, learn_kernels, learn_shared_kernels  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=10000)
    parser.add_argument("--runtime-patches", type=int, default=200)
    parser.add_argument("--digits", type=int, default=200,
                        help="whole digits for the shared-kernel learner (0: skip it)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import brian2

    x, _ = mnist("train")
    patches = image_patches(x, args.patches, seed=args.seed)
    rows = []
    start = time.perf_counter()
    compiled = learn_kernels(patches, seed=args.seed, progress=False)
    wall = time.perf_counter() - start
    rows.append(("cpp_standalone", args.patches, wall - compiled.seconds, compiled.seconds))
    target = brian2.prefs.codegen.target
    if target == "auto":
        from brian2.devices.device import auto_target

        target = auto_target().class_name
    # A warm-up run first, so that the timed one finds Cython's compiled code in its cache.
    learn_kernels(patches[:5], seed=args.seed, device="runtime", progress=False)
    runtime = learn_kernels(patches[:args.runtime_patches], seed=args.seed, device="runtime",
                            progress=False)
    rows.append((f"runtime ({target})", args.runtime_patches, 0.0, runtime.seconds))
    if args.digits:
        start = time.perf_counter()
        shared = learn_shared_kernels(x[:args.digits], seed=args.seed, progress=False)
        rows.append(("cpp_standalone, shared kernels, whole digits", args.digits,
                     time.perf_counter() - start - shared.seconds, shared.seconds))

    print("| device | presentations | compile + build s | run s | samples/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for device, n, build, run in rows:
        print(f"| {device} | {n} | {build:.1f} | {run:.2f} | {n / run:,.1f} |")
    per_sample = [run / n for _, n, _, run in rows]
    print(f"ratio_to_runtime={per_sample[0] / per_sample[1]:.4f}")


if __name__ == "__main__":
    main()
