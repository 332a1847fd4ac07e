"""Benchmark: brian2cuda (``cuda_standalone``) against ``cpp_standalone`` and the numpy reference.

For each workload, a converted soft-reset IF MLP on the MNIST test images (99.9 % normalization,
100 timesteps), one table row per simulator: batch size, compile seconds (an empty cache), run
seconds (best of ``--repeats``, inputs passed to the binary and spikes read back included), the
ratio to the float32 numpy reference run in the same process, accuracy, and whether the output
spikes equal ``cpp_standalone``'s exactly. The workloads' ANNs are read from ``--ann-dir``
(trained and saved there when missing). The last line is
``gpu_speedup_over_cpp=<x> ratio_to_numpy=<y>`` for the first workload.

    python experiments/benchmarks/gpu_speed.py [--samples 10000] [--workloads 784-500-10 ...]

Needs brian2cuda and an NVIDIA GPU (README, "GPU"); ``cpp_standalone`` runs one process
(``processes=1``), numpy one thread.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # numpy one thread, as the C++ binary (before numpy loads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from brainconv import simulation  # noqa: E402
from brainconv.conversion import convert  # noqa: E402

from common import WORKLOADS, mnist, workload_ann  # noqa: E402
from mnist_if_speed import accuracy, time_numpy  # noqa: E402

def time_device(spec, x, steps, device, batch_size, repeats):
    """(compile s, best run s, result) of one device in a fresh cache."""
    n_batches = -(-len(x) // batch_size)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BRAINCONV_CACHE"] = cache
        start = time.perf_counter()
        simulation.StandaloneProject(spec, steps, batch_size, n_batches, device=device)
        compile_seconds = time.perf_counter() - start
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = simulation.run_network(spec, x, steps, device=device, batch_size=batch_size,
                                            processes=1 if device == "cpp_standalone" else None)
            times.append(time.perf_counter() - start)
        simulation.StandaloneProject._current = None
    return compile_seconds, min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2, help="runs per compiled simulator")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--ann-dir", default=str(Path(__file__).resolve().parent.parent
                                                 / "results"))
    parser.add_argument("--cuda-batch-size", type=int, default=None,
                        help="samples per GPU batch (default: simulate.choose_batch_size)")
    args = parser.parse_args()

    import brian2

    from brainconv.devices.cuda_standalone import gpu_available

    if not gpu_available():
        sys.exit("gpu_speed.py needs brian2cuda and an NVIDIA GPU (nvidia-smi found none)")
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    rows, first = [], None
    for name in args.workloads:
        ann = workload_ann(name, args.ann_dir)
        spec = convert(ann, data=x_train[:10000])
        numpy_seconds, _, reference = time_numpy(spec, x, args.steps, np.float32, 1)
        rows.append((name, "numpy float32", "-", "-", numpy_seconds, 1.0,
                     accuracy(reference, y), "-"))
        print(rows[-1], flush=True)
        cpp = None
        for device in ("cpp_standalone", "cuda_standalone"):
            batch = (simulation.DEFAULT_BATCH_SIZE if device == "cpp_standalone" else
                     args.cuda_batch_size or simulation.choose_batch_size(spec, len(x), device))
            compiled, seconds, result = time_device(spec, x, args.steps, device, batch,
                                                    args.repeats)
            same = "-" if cpp is None else (
                "yes" if np.array_equal(result["output_spikes"], cpp["output_spikes"]) else "NO")
            cpp = cpp or result
            rows.append((name, device, str(batch), f"{compiled:.1f}", seconds,
                         seconds / numpy_seconds, accuracy(result, y), same))
            print(rows[-1], flush=True)
        if first is None:
            first = (rows[-2][4] / rows[-1][4], rows[-1][5])

    gpu = os.popen("nvidia-smi --query-gpu=name --format=csv,noheader").read().strip()
    print(f"\n{len(x)} MNIST test images x {args.steps} timesteps, soft-reset IF, {gpu}, "
          f"{os.cpu_count()} CPU cores, brian2 {brian2.__version__}")
    print(f"{'workload':20s} {'simulator':16s} {'batch':>6s} {'compile s':>9s} {'run s':>7s} "
          f"{'ratio':>6s} {'accuracy':>9s} {'= cpp':>5s}")
    for name, device, batch, compiled, seconds, ratio, acc, same in rows:
        print(f"{name:20s} {device:16s} {batch:>6s} {compiled:>9s} {seconds:7.2f} {ratio:6.2f} "
              f"{100 * acc:8.2f}% {same:>5s}")
    print(f"ratio: run s / numpy float32 run s; = cpp: output spikes identical to "
          f"cpp_standalone's; run s of the compiled simulators: best of {args.repeats}")
    print(f"gpu_speedup_over_cpp={first[0]:.2f} ratio_to_numpy={first[1]:.2f}")


if __name__ == "__main__":
    main()
