"""Benchmark: 10,000 MNIST test images x 200 ms (dt 1 ms) through the converted 784-H-10 LIF net.

Hunsberger & Eliasmith's MNIST setting: the soft-LIF (sigma 10) MLP of
``experiments/hunsberger`` converted to ``lif_rc`` neurons with alpha synapses (tau_s 5 ms) and
a non-spiking filtered readout. Runs the numpy reference (float64, as Brian2; float32 with
``--float32``) and the Brian2 ``cpp_standalone`` binary in the same process and prints compile
time (first build in an empty cache), run time, peak memory and the ratio Brian2/numpy. The
accuracy is the readout's mean over the window (120, 200] ms. The last line is
``ratio_to_numpy=<x> accuracy=<y>``.

    python experiments/benchmarks/hunsberger_speed.py [--samples 10000] [--hidden 500]
                                                       [--batch-size N] [--repeats 1]
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

from brainconv.ann import load_ann, save_ann, train_ann  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.equations.readout import window_mean  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv import simulation  # noqa: E402

from common import mnist  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "hunsberger" / "results"
SOFTLIF = {"tau_rc": 0.022, "tau_ref": 0.002, "gamma": 0.02, "amp": 0.063, "gain": 1.0,
           "sigma": 10.0}
WINDOW = (120.0, 200.0)

# Runs the binary as a child and writes that child's peak resident memory (KiB) to a file,
# so the binary's footprint is not mixed up with the compiler's.
MAXRSS_WRAPPER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "open('maxrss_kib.txt', 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def softlif_ann(hidden, epochs, seed):
    """The sigma-10 soft-LIF ANN cached by experiments/hunsberger/reproduce.py, or train it."""
    path = RESULTS / f"ann_softlif_sigma10_h{hidden}_e{epochs}_seed{seed}.npz"
    if path.exists():
        print(f"using the trained ANN in {path}", flush=True)
        return load_ann(path)
    x, y = mnist("train")
    print(f"training 784-{hidden}-10 soft-LIF (sigma 10), {epochs} epochs", flush=True)
    ann = train_ann(x, y, hidden=(hidden,), epochs=epochs, seed=seed, activation="softlif",
                    activation_params=SOFTLIF)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_ann(ann, path)
    return ann


def accuracy(readout, labels):
    time_ms = np.arange(1, readout.shape[1] + 1, dtype=float)
    return float((window_mean(readout, time_ms, WINDOW).argmax(axis=1) == labels).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=200, help="1 ms steps per image")
    parser.add_argument("--hidden", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images side by side in the binary (default: brainconv's choice)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per simulator (best kept)")
    parser.add_argument("--float32", action="store_true", help="also time numpy in float32")
    args = parser.parse_args()

    import brian2
    import brian2.units as u

    ann = softlif_ann(args.hidden, args.epochs, args.seed)
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    spec = convert(ann, model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": 5 * u.ms}, readout="filtered")
    batch_size = args.batch_size or simulation.choose_batch_size(spec, len(x))
    rows = []

    numpy_results = {}
    for dtype in (np.float64,) + ((np.float32,) if args.float32 else ()):
        times = []
        for _ in range(args.repeats):
            tracemalloc.start()
            start = time.perf_counter()
            result = simulate_reference(spec, x, args.steps, dtype, dt_ms=1.0)
            times.append(time.perf_counter() - start)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        numpy_results[dtype] = result
        rows.append((f"numpy reference ({np.dtype(dtype).name})", "-", min(times), peak,
                     accuracy(result["readout"], y)))
        print(f"numpy {np.dtype(dtype).name}: {min(times):.1f} s", flush=True)
    numpy_seconds = min(row[2] for row in rows)

    brian2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", MAXRSS_WRAPPER,
                                                        "./main"]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BRAINCONV_CACHE"] = cache
        simulation.run_network(spec, x[:1], 1, batch_size=1, dt=1.0)  # warm up code generation
        simulation.StandaloneProject._current = None
        processes, n_batches = simulation.plan_processes(len(x), batch_size)
        start = time.perf_counter()
        project = simulation.StandaloneProject(spec, args.steps, batch_size, n_batches,
                                               dt_ms=1.0)
        first_build = time.perf_counter() - start
        print(f"compiled in {first_build:.1f} s ({project.directory})", flush=True)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            result = simulation.run_network(spec, x, args.steps, batch_size=batch_size, dt=1.0)
            times.append(time.perf_counter() - start)
        peak = int((project.directory / "maxrss_kib.txt").read_text()) / 1024
        brian_accuracy = accuracy(result["readout"], y)
        rows.append((f"brian2 cpp_standalone (batch {batch_size}, {processes} binaries)",
                     f"{first_build:.1f}",
                     min(times), peak, brian_accuracy))
        same = np.array_equal(result["unit_spike_count"],
                              numpy_results[np.float64]["unit_spike_count"])
        max_diff = float(np.max(np.abs(result["readout"]
                                       - numpy_results[np.float64]["readout"])))

    print(f"\n{len(x)} MNIST test images x {args.steps} ms (dt 1 ms), 784-{args.hidden}-10 "
          f"lif_rc + alpha (tau_s 5 ms) + filtered readout, window {WINDOW} ms, "
          f"{os.cpu_count()} CPU cores, brian2 {brian2.__version__}, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'simulator':46s} {'compile s':>9s} {'run s':>7s} {'peak MiB':>9s} "
          f"{'accuracy':>9s} {'ratio':>6s}")
    for name, first, seconds, peak, acc in rows:
        print(f"{name:46s} {first:>9s} {seconds:7.2f} {peak:9.0f} {100 * acc:8.2f}% "
              f"{seconds / numpy_seconds:6.2f}")
    print(f"run s: best of {args.repeats}, including passing inputs to the binary and reading "
          "its results back; peak MiB: numpy arrays allocated (tracemalloc) / binary's resident "
          f"set (RUSAGE of the child); readout max |brian2 - numpy float64| = {max_diff:.2e}, "
          f"spike counts per neuron identical: {same}")
    print(f"ratio_to_numpy={min(times) / numpy_seconds:.2f} accuracy={brian_accuracy:.4f}")


if __name__ == "__main__":
    main()
