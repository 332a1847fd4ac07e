"""One warm ``cpp_standalone`` run of an MNIST workload, for timing two checkouts side by side.

    python experiments/benchmarks/warm_run_once.py 784-500-10 [--processes 2]

Loads the workload's ANN (trained and cached by ``experiments/common.py``), the MNIST test set
and 1,000 training images for normalization, converts to soft-reset IF and runs
``run_network`` once over the 10,000 test images x 100 steps on the cached project of the
layout (compiled on the first call). Whole-process timings of two checkouts, in turn::

    git worktree add /tmp/before <commit>
    farm-bench -n 5 --vs "env PYTHONPATH=/tmp/before python \\
        /tmp/before/experiments/benchmarks/warm_run_once.py 784-500-10" \\
        -- python experiments/benchmarks/warm_run_once.py 784-500-10

(``/tmp/before`` needs a copy of this script if the commit predates it.)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import WORKLOADS, mnist, workload_ann  # noqa: E402

try:
    from brainconv.conversion import convert
    from brainconv.simulation import run_network
except ImportError:  # a checkout from before the modules were renamed
    from brainconv.convert import convert
    from brainconv.simulate import run_network


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=list(WORKLOADS))
    parser.add_argument("--processes", type=int, default=None,
                        help="binaries side by side (default one per CPU)")
    args = parser.parse_args()
    ann = workload_ann(args.workload)
    x, _ = mnist("test")
    spec = convert(ann, data=mnist("train")[0][:1000])
    run_network(spec, x, 100, device="cpp_standalone", processes=args.processes)


if __name__ == "__main__":
    main()
