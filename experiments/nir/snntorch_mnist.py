"""A brainconv network exported to NIR and run by snnTorch: the same output spikes on MNIST?

    python experiments/nir/snntorch_mnist.py [--steps 50] [--R 1.25] [--limit 10000]

The 784-500-10 MLP of ``experiments/common.py`` (trained once and cached), converted to the
grid LIF (``lif``, ``v = v/R + I``, reset to zero, 99.9 % normalization), written with
``brainconv.nir.to_nir(spec, dt=1e-4)`` (snnTorch's LIF import assumes dt = 0.1 ms) and read back
by ``snntorch.import_nir.import_from_nir`` (``snn.Leaky``: ``beta = 1 - dt/tau``, reset to
zero, in float32). Both run the test images for ``--steps`` steps with the image as a constant
input; prints snnTorch's version, the accuracy of each, and the share of images whose output
spike trains are identical to brainconv's float32 and float64 numpy references. Needs
``pip install -e ".[torch,nir,interop]"``. Writes ``results/snntorch_mnist.md``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import mnist, workload_ann  # noqa: E402

from brainconv.conversion import convert  # noqa: E402
from brainconv.nir import to_nir  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--R", type=float, default=1.25, help="leak of brainconv's lif")
    parser.add_argument("--limit", type=int, default=10000)
    args = parser.parse_args(argv)
    import snntorch
    import torch
    from snntorch.import_nir import import_from_nir

    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.limit], y[:args.limit]
    spec = convert(workload_ann("784-500-10"), "lif", data=x_train[:10000],
                   parameters={"R": args.R})
    net = import_from_nir(to_nir(spec, dt=1e-4))
    theirs = []
    with torch.no_grad():
        for start in range(0, len(x), 1000):
            for module in net.modules():  # fresh membranes for each batch
                if hasattr(module, "reset_mem"):
                    module.reset_mem()
            batch = torch.tensor(x[start:start + 1000], dtype=torch.float32)
            theirs.append(np.stack([net(batch)[0].numpy() for _ in range(args.steps)], 1))
    theirs = np.concatenate(theirs)
    rows = []
    for dtype in (np.float32, np.float64):
        ours = simulate_reference(spec, x, args.steps, dtype=dtype)["output_spikes"]
        same = float(np.mean(np.all(ours == theirs, axis=(1, 2))))
        rows.append((np.dtype(dtype).name, float(np.mean(ours.sum(1).argmax(1) == y)), same,
                     int(np.sum(ours != theirs))))
    accuracy = float(np.mean(theirs.sum(1).argmax(1) == y))
    lines = [
        "# brainconv → NIR → snnTorch on MNIST",
        "",
        f"Command: `python experiments/nir/snntorch_mnist.py --steps {args.steps} --R {args.R:g} "
        f"--limit {args.limit}` (snnTorch {snntorch.__version__}, torch {torch.__version__}).",
        "",
        f"784-500-10 converted to `lif` (R = {args.R:g}), exported at dt = 0.1 ms, read by "
        f"`snntorch.import_nir.import_from_nir`; {len(x)} test images, {args.steps} steps, "
        f"constant-current input. snnTorch accuracy {100 * accuracy:.2f} %.",
        "",
        "| brainconv reference | its accuracy % | images with identical output spike trains % "
        "| differing (image, step, unit) entries |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| numpy {name} | {100 * acc:.2f} | {100 * same:.2f} | {diff} |"
              for name, acc, same, diff in rows]
    lines += ["", "What had to match: LIF as `snn.Leaky` with `beta = 1 - dt/tau = 1/R`, weights "
              "times `r dt/tau = 1`, reset to zero in the same step (`reset_delay=False`), "
              "spikes passed on in the same step; snnTorch compares `v > threshold` where "
              "brainconv compares `v >= threshold`, and computes in float32."]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "snntorch_mnist.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
