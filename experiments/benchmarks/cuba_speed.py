"""Benchmark: a trained BATS CuBa-LIF network on Brian2 cpp_standalone against the event-driven
numpy reference, on the MNIST test images, both on a grid of ``--dt`` ms (Cojocaru's semantics).

    python experiments/benchmarks/cuba_speed.py [--samples 10000] [--dt 1.0]

The network is the 784-800-10 one trained by ``experiments/cojocaru/run.py`` at dt = 0 (read
from its results folder; ``--weights`` names another file). Brian2 runs ``cuba_lif`` behind the
``ttfs`` input layer, 0.2 s per image, batches in time; the reference is
``brainconv.spiketime.simulate_events`` with the same dt, both with BATS' 30-spike buffer. Prints
the times, whether predictions and spike counts agree, and how many spikes of one neuron share a
grid step (Brian2 sends them at once, as one event with payload ``n``). Last line:
``ratio_to_numpy=<x> accuracy=<y>`` (Brian2 run time over the reference's; Brian2's accuracy).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import mnist  # noqa: E402

from brainconv.simulation import run_network  # noqa: E402
from brainconv.spiketime import cuba_network, simulate_events, ttfs_encode  # noqa: E402

WEIGHTS = (Path(__file__).resolve().parent.parent / "cojocaru" / "results" / "cache"
           / "mnist_dt0_seed0_n60000_e10_t10000.npz")
THRESHOLDS, TAU_S, T_MAX = (0.2, 1.3), 0.13, 0.2


def reference(weights, times, dt, batch=200):
    """Output counts, hidden spikes per step of the grid, and spikes that share a grid step
    with an earlier one of the same neuron."""
    steps = int(round(T_MAX / dt))
    counts, hidden, doubles = [], np.zeros(steps), 0
    for start in range(0, len(times), batch):
        result = simulate_events(weights, THRESHOLDS, times[start:start + batch], tau_s=TAU_S,
                                 dt=dt, t_max=T_MAX, record=False)
        counts.append(result.counts)
        for layer in result.layers:
            step = np.ceil(np.round(layer.times / dt, 6)) - 1  # the grid step that sees it
            with np.errstate(invalid="ignore"):  # inf - inf between padding slots
                doubles += int(np.sum(np.diff(step, axis=-1) == 0))
        step = np.ceil(np.round(result.layers[0].times / dt, 6)) - 1
        hidden += np.bincount(step[np.isfinite(step)].astype(int), minlength=steps)[:steps]
    return np.concatenate(counts), hidden, doubles


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--dt", type=float, default=1.0, help="grid step in ms")
    parser.add_argument("--weights", default=str(WEIGHTS))
    args = parser.parse_args()
    path = Path(args.weights)
    if not path.exists():
        sys.exit(f"{path} does not exist: run `python experiments/cojocaru/run.py --dataset "
                 "mnist` first (it trains and saves the network), or pass --weights")
    with np.load(path) as npz:  # a train_bats checkpoint or a file of W0, W1, ...
        weights = [npz[f"W{i}"] for i in range(sum(name[1:].isdigit() and name[0] == "W"
                                                   for name in npz.files))]
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    dt = args.dt * 1e-3
    steps = int(round(T_MAX / dt))

    start = time.perf_counter()
    counts, hidden, doubles = reference(weights, ttfs_encode(x), dt)
    numpy_seconds = time.perf_counter() - start

    spec = cuba_network(weights, THRESHOLDS, tau_s=TAU_S)
    start = time.perf_counter()
    run_network(spec, x, steps, dt=args.dt)  # compiles (or finds the cached binary) and runs
    first_seconds = time.perf_counter() - start
    start = time.perf_counter()
    brian = run_network(spec, x, steps, dt=args.dt)  # the compiled binary only
    brian_seconds = time.perf_counter() - start

    brian_counts = brian["output_spikes"].sum(axis=1)
    accuracy = float(np.mean(np.argmax(brian_counts, axis=1) == y))
    same_predictions = float(np.mean(np.argmax(brian_counts, axis=1) == np.argmax(counts, 1)))
    print(f"\n{len(x)} MNIST test images x {steps} steps of {args.dt:g} ms, 784-800-10 "
          f"CuBa-LIF ({path.name})")
    print(f"{'simulator':38s} {'seconds':>8s} {'accuracy':>9s}")
    print(f"{'event-driven numpy reference':38s} {numpy_seconds:8.2f} "
          f"{100 * np.mean(np.argmax(counts, axis=1) == y):8.2f}%")
    print(f"{'brian2 cpp_standalone (cuba_lif)':38s} {brian_seconds:8.2f} {100 * accuracy:8.2f}%"
          f"   (first call {first_seconds:.1f} s: code generation and\n"
          f"{'':38s} compilation, unless a cached binary was found)")
    print(f"same predictions: {100 * same_predictions:.2f} %; output counts differing: "
          f"{int(np.sum(brian_counts != counts))} of {counts.size}; hidden spikes: Brian2 "
          f"{int(brian['layer_spikes'][1].sum())}, reference {int(hidden.sum())}; spikes that "
          f"share a grid step with an earlier one of the same neuron: {doubles}")
    print(f"ratio_to_numpy={brian_seconds / numpy_seconds:.2f} accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
