"""Benchmark: the converted MNIST CNN on cpp_standalone vs the numpy reference, same run.

Uses the model trained by ``experiments/mnist_cnn.py`` (run that first; needs the torch extra).
Prints a table (run time, ratio to numpy, accuracy); last line ``ratio_to_numpy=<x>
accuracy=<y>``. The full test set takes about 15 minutes per simulator on 2 cores, so the
default is the first 1,000 test images.

    python experiments/benchmarks/mnist_cnn_speed.py [--samples 1000] [--batch-size N]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainconv.conversion import convert  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv.simulation import choose_batch_size, run_network  # noqa: E402
from brainconv.torch_import import from_torch  # noqa: E402

from common import mnist  # noqa: E402
from mnist_cnn import HERE, make_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="samples per group (default: brainconv.simulation.choose_batch_size)")
    args = parser.parse_args()
    import brian2
    import torch

    model = make_model(torch)
    model.load_state_dict(torch.load(HERE / "results" / "cnn_mnist_seed0.pt"))
    ann = from_torch(model.eval(), (1, 28, 28))
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    spec = convert(ann, data=x_train[:2000])
    synapses = sum(layer.weights.nnz if hasattr(layer.weights, "nnz") else layer.weights.size
                   for layer in spec.layers[1:])

    def accuracy(result):
        return float((result["output_spikes"].sum(axis=1).argmax(axis=1) == y).mean())

    start = time.perf_counter()
    reference = simulate_reference(spec, x, args.steps, np.float32)
    numpy_seconds = time.perf_counter() - start
    if args.batch_size is None:
        args.batch_size = choose_batch_size(spec, len(x))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BRAINCONV_CACHE"] = cache
        start = time.perf_counter()
        run_network(spec, x[:args.batch_size], args.steps, batch_size=args.batch_size)
        build_seconds = time.perf_counter() - start  # compile + one batch
        start = time.perf_counter()
        result = run_network(spec, x, args.steps, batch_size=args.batch_size)
        brian_seconds = time.perf_counter() - start
    print(f"\n{len(x)} MNIST test images x {args.steps} timesteps, CNN {spec.layer_sizes}, "
          f"{synapses} synapses per sample, {os.cpu_count()} CPU cores, brian2 "
          f"{brian2.__version__}")
    print(f"{'simulator':40s} {'run s':>8s} {'accuracy':>9s} {'ratio':>6s}")
    print(f"{'numpy reference (float32, scipy.sparse)':40s} {numpy_seconds:8.1f} "
          f"{100 * accuracy(reference):8.2f}% {1:6.2f}")
    print(f"{'brian2 cpp_standalone (batch %d)' % args.batch_size:40s} {brian_seconds:8.1f} "
          f"{100 * accuracy(result):8.2f}% {brian_seconds / numpy_seconds:6.2f}")
    print(f"build (compile + first batch): {build_seconds:.1f} s")
    print(f"ratio_to_numpy={brian_seconds / numpy_seconds:.2f} accuracy={accuracy(result):.4f}")


if __name__ == "__main__":
    main()
