"""Benchmark: 10,000 MNIST test images x 100 timesteps through the converted 784-500-10 network.

Runs the numpy reference (float32 and float64) and the Brian2 cpp_standalone binary in the same
process, and prints one table: compile time (first build in an empty cache, then a second
build of the same layout as a new process would do it), run time, peak memory and the ratio
Brian2/numpy (against the faster numpy run). The last line is
``ratio_to_numpy=<x> accuracy=<y>``.

    python experiments/benchmarks/mnist_if_speed.py [--samples 10000] [--batch-size 16] [--repeats 3]
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainconv.conversion import convert  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv import simulation  # noqa: E402

from common import mnist, trained_ann  # noqa: E402

# Runs the binary as a child and writes that child's peak resident memory (KiB) to a file,
# so the binary's footprint is not mixed up with the compiler's.
MAXRSS_WRAPPER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open('maxrss_kib.txt', 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def accuracy(result, labels):
    return float((result["output_spikes"].sum(axis=1).argmax(axis=1) == labels).mean())


def time_numpy(spec, x, steps, dtype, repeats):
    times = []
    for _ in range(repeats):
        tracemalloc.start()
        start = time.perf_counter()
        result = simulate_reference(spec, x, steps, dtype)
        times.append(time.perf_counter() - start)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return min(times), peak / 2**20, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=simulation.DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeats", type=int, default=3, help="runs per simulator (best kept)")
    parser.add_argument("--ann", default=str(Path(__file__).resolve().parent.parent
                                             / "results" / "ann_mnist_seed0.npz"))
    args = parser.parse_args()

    import brian2

    ann = trained_ann(args.ann)
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    spec = convert(ann, data=x_train[:10000])
    rows = []

    for dtype in (np.float32, np.float64):
        seconds, peak, result = time_numpy(spec, x, args.steps, dtype, args.repeats)
        rows.append((f"numpy reference ({np.dtype(dtype).name})", "-", "-", seconds, peak,
                     accuracy(result, y)))
    numpy_seconds = min(row[3] for row in rows)

    brian2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", MAXRSS_WRAPPER,
                                                        "./main"]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BRAINCONV_CACHE"] = cache
        start = time.perf_counter()
        simulation.run_network(spec, x[:1], 1, batch_size=1)  # warm up Brian2's code generation
        simulation.StandaloneProject._current = None
        # One binary per CPU, each on its share of the batches (the default of run_network).
        processes, n_batches = simulation.plan_processes(len(x), args.batch_size)
        start = time.perf_counter()
        project = simulation.StandaloneProject(spec, args.steps, args.batch_size, n_batches)
        first_build = time.perf_counter() - start
        del project  # what a new process finds: no live project, a built cache
        start = time.perf_counter()
        project = simulation.StandaloneProject(spec, args.steps, args.batch_size, n_batches)
        cached_build = time.perf_counter() - start
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = simulation.run_network(spec, x, args.steps, batch_size=args.batch_size)
            times.append(time.perf_counter() - start)
        peak = int((project.directory / "maxrss_kib.txt").read_text()) / 1024
        brian_accuracy = accuracy(result, y)
        rows.append((f"brian2 cpp_standalone (batch {args.batch_size}, {processes} binaries)",
                     f"{first_build:.1f}",
                     f"{cached_build:.1f}", min(times), peak, brian_accuracy))

    print(f"\n{len(x)} MNIST test images x {args.steps} timesteps, 784-500-10 soft-reset IF, "
          f"{os.cpu_count()} CPU cores, brian2 {brian2.__version__}")
    print(f"{'simulator':46s} {'compile s':>9s} {'cached s':>9s} {'run s':>7s} "
          f"{'peak MiB':>9s} {'accuracy':>9s} {'ratio':>6s}")
    for name, first, cached, seconds, peak, acc in rows:
        print(f"{name:46s} {first:>9s} {cached:>9s} {seconds:7.2f} {peak:9.0f} "
              f"{100 * acc:8.2f}% {seconds / numpy_seconds:6.2f}")
    print("run s: best of %d, including passing inputs to the binary and reading its spikes "
          "back; peak MiB: numpy arrays allocated (tracemalloc) / binary's resident set"
          % args.repeats)
    print(f"ratio_to_numpy={min(times) / numpy_seconds:.2f} accuracy={brian_accuracy:.4f}")


if __name__ == "__main__":
    main()
