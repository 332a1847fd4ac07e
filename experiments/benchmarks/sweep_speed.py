"""Benchmark: one sweep of 8 points on a LocalCluster with 1 and with 2 worker processes.

The sweep (4 paradigm variants x 2 seeds on the built-in digits set, numpy device so that no
C++ compile is timed) runs twice in the same process, each time into a fresh folder so that
nothing is reused: every point loads the data, trains its seeded ANN (once per seed, shared
through the ANN cache), converts and simulates. The clusters are started before the clock
starts; their start-up time is printed apart. The last line is
``sweep_speedup_2_workers=<x>``.

    python experiments/benchmarks/sweep_speed.py [--samples 449] [--steps 100] [--device numpy]
"""

import argparse
import logging
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from brainconv.sweep import check_config, run_sweep


def config(out, samples, steps, device):
    return check_config({
        "sweep": {"datasets": ["digits"], "seeds": [0, 1], "steps": steps, "samples": samples,
                  "calibration": 1000, "device": device, "out": str(out)},
        "ann": {"hidden": [100], "epochs": 3},
        "paradigm": [{"name": "rate_soft"}, {"name": "rate_hard"},
                     {"name": "acc", "model": "accumulator", "normalization": "none",
                      "parameters": {"k": [2, 10]}}]}, where="benchmark")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=449, help="test samples per point")
    parser.add_argument("--steps", type=int, default=100, help="timesteps per sample")
    parser.add_argument("--device", default="numpy")
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 2):
            start = time.perf_counter()
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            with cluster, Client(cluster) as client:
                startup = time.perf_counter() - start
                cfg = config(Path(folder) / f"workers{workers}", args.samples, args.steps,
                             args.device)
                start = time.perf_counter()
                result = run_sweep(cfg, client=client, progress=False,
                                   notify=lambda message: None)
                seconds = time.perf_counter() - start
            assert result.attrs["n_computed"] == result.attrs["n_points"] >= 8
            rows[workers] = (startup, seconds, result)
    one, two = rows[1][2], rows[2][2]
    assert (one["accuracy"].values == two["accuracy"].values).all(), "results differ"
    print(f"{one.attrs['n_points']} points (4 variants x 2 seeds, digits, {args.samples} "
          f"samples x {args.steps} steps, device {args.device})\n")
    print(f"{'workers':>7s} {'cluster start s':>15s} {'sweep s':>8s} {'s/point':>8s}")
    for workers, (startup, seconds, result) in rows.items():
        print(f"{workers:7d} {startup:15.1f} {seconds:8.1f} "
              f"{seconds / result.attrs['n_points']:8.2f}")
    print(f"\nsweep_speedup_2_workers={rows[1][1] / rows[2][1]:.2f}")


if __name__ == "__main__":
    main()
