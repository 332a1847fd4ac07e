"""The compiled binary's own seconds for an MNIST workload, for comparing two checkouts.

    python experiments/benchmarks/binary_seconds.py 784-500-500-500-10 [--repeat 3]

Converts the workload's ANN (soft-reset IF, percentile normalization on 1,000 training images),
runs it once on the 10,000 test images x 100 steps with one ``cpp_standalone`` binary (the
compile, not timed), then ``--repeat`` more times, and prints the seconds the binary ran in
each (``brainconv.devices.PROFILE["binary"]``: inputs written and results read back are not
in it). Whole-process timings (``warm_run_once.py``) bury a change to the binary under ~15 s of
loading and converting; this times the binary alone. Two checkouts in turn::

    git worktree add /tmp/before <commit>
    for i in 1 2; do
        PYTHONPATH=/tmp/before python /tmp/before/experiments/benchmarks/binary_seconds.py W
        python experiments/benchmarks/binary_seconds.py W
    done

(``/tmp/before`` needs a copy of this script if the commit predates it.)
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORKLOADS, mnist, workload_ann  # noqa: E402

from brainconv.conversion import convert  # noqa: E402
from brainconv.devices import PROFILE  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=[w for w in WORKLOADS if w != "cnn"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    x, y = mnist("test")
    spec = convert(workload_ann(args.workload), data=mnist("train")[0][:1000],
                   normalization="percentile")
    run_network(spec, x, 100, device="cpp_standalone", processes=1)
    seconds = []
    for _ in range(args.repeat):
        before = PROFILE.get("binary", 0.0)
        out = run_network(spec, x, 100, device="cpp_standalone", processes=1)
        seconds.append(PROFILE["binary"] - before)
    accuracy = np.mean(np.argmax(out["output_spikes"].sum(axis=1), axis=1) == y)
    print(f"{args.workload}: binary seconds {', '.join(f'{s:.3f}' for s in seconds)} "
          f"(median {np.median(seconds):.3f}); accuracy {100 * accuracy:.2f} %")


if __name__ == "__main__":
    main()
