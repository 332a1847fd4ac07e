"""The compiled binary's own seconds for an MNIST workload, for comparing two checkouts.

    python experiments/benchmarks/binary_seconds.py 784-500-500-500-10 [--repeat 3]
    python experiments/benchmarks/binary_seconds.py cnn --images 320 [--precision float32]
    python experiments/benchmarks/binary_seconds.py hunsberger-cnn --images 16

Converts the workload's ANN (soft-reset IF, percentile normalization on 1,000 training images;
``cnn``: the MNIST CNN of ``scaling_speed.py``; ``hunsberger-cnn``: the paper's CNN trained with
ReLU by ``hunsberger/reproduce.py --network cnn`` (its ``results/ann_relu_cnn_e10_seed0.npz``),
its weights run as soft-LIF sigma 10 -> ``lif_rc`` with alpha synapses of 5 ms and the filtered
readout, 200 steps of 1 ms), runs it once on the first ``--images`` test images (100 steps)
with one ``cpp_standalone`` binary (the compile, not timed), then ``--repeat`` more times, and
prints the seconds the binary ran in each (``brainconv.devices.PROFILE["binary"]``: inputs written and results read back are not
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

from common import REPO, WORKLOADS, mnist, workload_ann  # noqa: E402

from brainconv.conversion import convert  # noqa: E402
from brainconv.devices import PROFILE  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402


def workload(name):
    """``(spec, steps, run options)`` of workload ``name``."""
    if name == "hunsberger-cnn":
        import dataclasses

        sys.path.insert(0, str(REPO / "experiments" / "hunsberger"))
        from brainconv.ann import load_ann
        from reproduce import RESULTS, SOFTLIF, convert_softlif

        path = RESULTS / "ann_relu_cnn_e10_seed0.npz"
        if not path.exists():
            raise SystemExit(f"{path} is missing: train it with python experiments/hunsberger/"
                             "reproduce.py --network cnn --epochs 10 --only train")
        ann = dataclasses.replace(load_ann(path), activation="softlif",
                                  activation_params=tuple(sorted({**SOFTLIF,
                                                                  "sigma": 10.0}.items())))
        return convert_softlif(ann, 5), 200, {"dt": 1.0}
    train = mnist("train")[0]
    if name == "cnn":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from scaling_speed import cnn_ann

        return convert(cnn_ann(), data=train[:2000], percentile=99.9), 100, {}
    return convert(workload_ann(name), data=train[:1000], normalization="percentile"), 100, {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=[*WORKLOADS, "cnn", "hunsberger-cnn"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--images", type=int, default=10000, help="first N test images")
    parser.add_argument("--precision", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()
    if args.repeat < 1 or not 1 <= args.images <= 10000:
        parser.error("--repeat must be >= 1 and --images in [1, 10000]")
    x, y = mnist("test")
    x, y = x[:args.images], y[:args.images]
    spec, steps, options = workload(args.workload)
    run = dict(device="cpp_standalone", processes=1, precision=args.precision, **options)
    run_network(spec, x, steps, **run)
    seconds = []
    for _ in range(args.repeat):
        before = PROFILE.get("binary", 0.0)
        out = run_network(spec, x, steps, **run)
        seconds.append(PROFILE["binary"] - before)
    scores = out["readout"].mean(axis=1) if "readout" in out else out["output_spikes"].sum(axis=1)
    accuracy = np.mean(np.argmax(scores, axis=1) == y)
    print(f"{args.workload} ({args.images} images, {args.precision}): binary seconds "
          f"{', '.join(f'{s:.3f}' for s in seconds)} (median {np.median(seconds):.3f}); "
          f"accuracy {100 * accuracy:.2f} %")


if __name__ == "__main__":
    main()
