"""Benchmark: BATS training throughput, compiled engine (numba) against the numpy reference.

    python experiments/benchmarks/bats_speed.py [--fast-samples 6000] [--numpy-samples 300]

Both engines train the same network from the same seeded init on the first training images of
MNIST (784-800-10, batch 50, thresholds 0.2 / 1.3, at dt = 0, 1 and 5 ms) and Fashion-MNIST
(784-400-400-10, batch 5, thresholds 0.13 / 0.45 / 0.7, dt = 0), one epoch each, after a warm-up
call that compiles (or loads) the numba kernels. The numpy engine trains on fewer images (it is
~30x slower); both rates are per sample from the first epoch, so the spike counts they see are
comparable. Prints one table and, last, ``samples_per_s=<compiled, MNIST, dt=0>
speedup_over_numpy=<x>``.
"""

import argparse
import sys
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import mnist  # noqa: E402

from brainconv.spiketime import train_bats, ttfs_encode  # noqa: E402

WORKLOADS = [  # (dataset, hidden, batch, thresholds, max_spikes, lr, dt in ms)
    ("mnist", (800,), 50, (0.2, 1.3), 30, 0.003, 0.0),
    ("mnist", (800,), 50, (0.2, 1.3), 30, 0.003, 1.0),
    ("mnist", (800,), 50, (0.2, 1.3), 30, 0.003, 5.0),
    ("fashion-mnist", (400, 400), 5, (0.13, 0.45, 0.7), (5, 5, 20), 0.005, 0.0),
]


def rate(engine, x, y, hidden, batch, thresholds, max_spikes, lr, dt_ms):
    _, history = train_bats(x, y, hidden=hidden, thresholds=thresholds, dt=dt_ms * 1e-3,
                            epochs=1, batch_size=batch, lr=lr, seed=0, max_spikes=max_spikes,
                            n_classes=10, engine=engine)
    return history["samples_per_s"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast-samples", type=int, default=6000)
    parser.add_argument("--numpy-samples", type=int, default=300)
    args = parser.parse_args(argv)
    data = {}
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads", flush=True)
    rows = []
    for dataset, hidden, batch, thresholds, ks, lr, dt_ms in WORKLOADS:
        if dataset not in data:
            x, y = mnist("train", dataset)
            n = max(args.fast_samples, args.numpy_samples)
            data[dataset] = (ttfs_encode(x[:n]), y[:n])
        x, y = data[dataset]
        settings = (hidden, batch, thresholds, ks, lr, dt_ms)
        rate("compiled", x[:batch], y[:batch], *settings)  # compile or load the kernels
        fast = rate("compiled", x[:args.fast_samples], y[:args.fast_samples], *settings)
        slow = rate("numpy", x[:args.numpy_samples], y[:args.numpy_samples], *settings)
        sizes = "-".join(str(n) for n in (784, *hidden, 10))
        rows.append((f"{dataset} {sizes}", batch, dt_ms, slow, fast, fast / slow))
        print(f"  {rows[-1][0]} dt {dt_ms:g} ms: numpy {slow:.0f}, compiled {fast:.0f} "
              "samples/s", flush=True)
    print()
    print("| network | batch | dt (ms) | numpy samples/s | compiled samples/s | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, batch, dt_ms, slow, fast, ratio in rows:
        print(f"| {name} | {batch} | {dt_ms:g} | {slow:.1f} | {fast:.0f} | {ratio:.1f}x |")
    name, batch, dt_ms, slow, fast, ratio = rows[0]
    print(f"samples_per_s={fast:.0f} speedup_over_numpy={ratio:.1f}")


if __name__ == "__main__":
    main()
