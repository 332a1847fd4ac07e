"""Benchmark: cpp_standalone against the numpy reference at every size (width, depth, CNN).

    python experiments/benchmarks/scaling_speed.py [--samples 10000] [--workloads ...]

Workloads (soft-reset IF, 99.9 % normalization, 100 timesteps, MNIST test images): the MLPs
784-500-10, 784-4000-10 and 784-500-500-500-10 (trained and cached by
``experiments/common.py``) and the CNN of ``experiments/mnist_cnn.py`` (needs torch; trained
once). For each, one table row: compile seconds (empty cache, the default run's layout), run
seconds of one binary (``processes=1``; ``--no-one-binary`` skips it) and of the default run
(one binary per CPU, each on its share of the batches; a warm run, inputs written and spikes
read back included), numpy float32 seconds (numpy's BLAS uses every CPU too), the default
run's ratio to numpy, one binary's peak resident memory, the accuracy and whether Brian2's
output spikes equal the float64 numpy reference's on the first 500 images, and, for the MLPs,
the seconds of a minimal hand-written C++ simulator of the same work on one core
(``handwritten_cpp.py``, in the compiled runs' precision) with the ratio of one brainconv
binary to it. Last lines:
``worst_ratio_to_numpy=<largest ratio>`` and ``worst_ratio_to_handwritten=<largest ratio>``.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import brian2  # noqa: E402

from brainconv import simulation  # noqa: E402
from brainconv.conversion import convert  # noqa: E402

from common import REPO, WORKLOADS, mnist, workload_ann  # noqa: E402
from handwritten_cpp import run_handwritten  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from mnist_if_speed import MAXRSS_WRAPPER, accuracy, time_numpy  # noqa: E402


def cnn_ann():
    """The small MNIST CNN, trained once (5 epochs, seed 0) and imported."""
    import torch

    from brainconv.torch_import import from_torch
    from mnist_cnn import make_model, train

    path = REPO / "experiments" / "results" / "cnn_mnist_seed0.pt"
    model = make_model(torch)
    if path.exists():
        model.load_state_dict(torch.load(path))
    else:
        x, y = mnist("train")
        model = train(torch, x, y, 5, 0)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
    return from_torch(model.eval(), (1, 28, 28))


def time_compiled(spec, x, steps, batch, processes, precision="float64"):
    """(compile s, warm run s, results, peak MiB of one binary) in a fresh compile cache."""
    n_batches = simulation.plan_processes(len(x), batch, processes=processes)[1]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BRAINCONV_CACHE"] = cache
        start = time.perf_counter()
        project = simulation.StandaloneProject(spec, steps, batch, n_batches,
                                               precision=precision)
        compile_seconds = time.perf_counter() - start
        run = dict(batch_size=batch, processes=processes, precision=precision)
        simulation.run_network(spec, x, steps, **run)  # warm the files
        start = time.perf_counter()
        result = simulation.run_network(spec, x, steps, **run)
        seconds = time.perf_counter() - start
        peak = int((project.directory / "maxrss_kib.txt").read_text()) / 1024
        del project
        simulation.StandaloneProject._current = None
    return compile_seconds, seconds, result, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workloads", nargs="+", default=[*WORKLOADS, "cnn"],
                        choices=[*WORKLOADS, "cnn"])
    parser.add_argument("--precision", default="float64", choices=["float64", "float32"],
                        help="the compiled runs' floating-point type (= numpy compares with "
                        "the reference of the same type)")
    parser.add_argument("--one-binary", action=argparse.BooleanOptionalAction, default=True,
                        help="also time one binary (processes=1); --no-one-binary skips it")
    args = parser.parse_args()
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    brian2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, "-c", MAXRSS_WRAPPER,
                                                        "./main"]
    processes = simulation.available_cpus()
    rows = []
    for name in args.workloads:
        ann = cnn_ann() if name == "cnn" else workload_ann(name)
        spec = convert(ann, data=x_train[:2000 if name == "cnn" else 10000], percentile=99.9)
        numpy_seconds, _, _ = time_numpy(spec, x, args.steps, np.float32, 1)
        handwritten = (None if name == "cnn"
                       else run_handwritten(spec, x, args.steps, args.precision)[0])
        reference = simulate_reference(spec, x[:500], args.steps, dtype=np.dtype(args.precision))
        batch = simulation.choose_batch_size(spec, len(x))
        one = peak = None
        if args.one_binary:
            _, one, _, peak = time_compiled(spec, x, args.steps, batch, 1, args.precision)
        compile_seconds, seconds, result, default_peak = time_compiled(
            spec, x, args.steps, batch, processes, args.precision)
        peak = peak or default_peak
        # share of the first 500 images whose output spike trains equal the reference's
        same = float(np.mean(np.all(result["output_spikes"][:500] == reference["output_spikes"],
                                    axis=(1, 2))))
        rows.append((name, batch, compile_seconds, one, seconds, numpy_seconds, peak,
                     accuracy(result, y), same, handwritten))
        print(rows[-1], flush=True)

    print(f"\n{len(x)} MNIST test images x {args.steps} timesteps, soft-reset IF, "
          f"{processes} CPUs, brian2 {brian2.__version__}, compiled runs in {args.precision}")
    print(f"{'workload':20s} {'batch':>5s} {'compile s':>9s} {'1 binary s':>10s} "
          f"{f'{processes} binaries s':>14s} {'numpy s':>8s} {'ratio':>6s} {'peak MiB':>8s} "
          f"{'accuracy':>9s} {'= numpy':>7s} {'hand C++ s':>10s} {'1 bin/hand':>10s}")
    for name, batch, compiled, one, seconds, numpy_seconds, peak, acc, same, hand in rows:
        versus = "-" if hand is None or one is None else f"{one / hand:.2f}"
        one = "-" if one is None else f"{one:.2f}"
        hand = "-" if hand is None else f"{hand:.2f}"
        print(f"{name:20s} {batch:5d} {compiled:9.1f} {one:>10s} {seconds:14.2f} "
              f"{numpy_seconds:8.2f} {seconds / numpy_seconds:6.2f} {peak:8.0f} "
              f"{100 * acc:8.2f}% {100 * same:6.1f}% {hand:>10s} {versus:>10s}")
    print(f"run s: a warm run of the compiled binary ({processes} side by side: the default), "
          "inputs written and spikes read back; ratio: the default run / numpy float32; peak "
          "MiB: one binary; = numpy: share of the first 500 images whose output spike trains "
          "equal the reference's of the same precision; hand C++: handwritten_cpp.py on one core, "
          f"{args.precision}, its loop alone; "
          "1 bin/hand: one brainconv binary's run / the hand-written one")
    print(f"worst_ratio_to_numpy={max(row[4] / row[5] for row in rows):.2f}")
    versus = [row[3] / row[9] for row in rows if row[3] is not None and row[9] is not None]
    print("worst_ratio_to_handwritten=" + (f"{max(versus):.2f}" if versus else "-"))


if __name__ == "__main__":
    main()
