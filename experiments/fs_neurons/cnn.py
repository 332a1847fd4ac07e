"""Few-spike ReLU neurons in the small MNIST CNN: accuracy and spikes per neuron for several K.

    python experiments/fs_neurons/cnn.py [--limit 10000] [--epochs 3] [--device numpy]

The CNN of ``experiments/mnist_cnn.py`` (conv 12@5x5, avgpool, conv 24@5x5, avgpool, linear;
needs the torch extra) is trained once (seed 0, cached in ``results/``), imported, converted to
FS-ReLU neurons (99.9th-percentile normalization, alpha = 1) for K in {4, 6, 8, 10} and to the
soft-reset IF rate code, and run on the MNIST test images. Writes ``results/cnn.md``.
"""

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import mnist  # noqa: E402
from mnist_cnn import make_model, train  # noqa: E402
from run import KS, RESULTS, summarize  # noqa: E402

from brainconv.conversion import convert  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402
from brainconv.torch_import import from_torch  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10000, help="test samples")
    parser.add_argument("--epochs", type=int, default=3, help="CNN training epochs")
    parser.add_argument("--device", default="numpy")
    parser.add_argument("--rate-steps", type=int, default=60)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    x_test, y_test = x_test[:args.limit], y_test[:args.limit]
    path = RESULTS / f"cnn_seed0_e{args.epochs}.pt"
    if path.exists():
        model = make_model(torch)
        model.load_state_dict(torch.load(path))
        model.eval()
    else:
        print(f"training the CNN (seed 0, {args.epochs} epochs)", flush=True)
        model = train(torch, x_train, y_train, args.epochs, 0)
        torch.save(model.state_dict(), path)
    ann = from_torch(model, (1, 28, 28))
    ann_accuracy = ann.accuracy(x_test, y_test)
    calibration = x_train[:2000]
    lines = [f"Command: `python experiments/fs_neurons/cnn.py --limit {args.limit} --epochs "
             f"{args.epochs} --device {args.device} --rate-steps {args.rate_steps}`", "",
             f"## FS-ReLU, MNIST CNN {ann.layer_sizes} (percentile 99.9 normalization, "
             "alpha = 1)", "", f"ANN accuracy: {100 * ann_accuracy:.2f} %", "",
             "| K | latency (steps) | accuracy % | ANN - SNN (points) | spikes/neuron (all) "
             "| spikes/neuron (first layer) | wall s |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    depth = len(ann.layer_sizes)
    for K in KS:
        spec = convert(ann, model="fs_relu", data=calibration, percentile=99.9,
                       parameters={"K": K, "alpha": 1.0})
        start = time.perf_counter()
        raw = run_network(spec, x_test, depth * K, device=args.device)
        wall = time.perf_counter() - start
        accuracy, total, first, _ = summarize(raw, y_test, spec)
        lines.append(f"| {K} | {depth * K} | {100 * accuracy[-1]:.2f} | "
                     f"{100 * (ann_accuracy - accuracy[-1]):.2f} | {total:.3f} | {first:.3f} "
                     f"| {wall:.0f} |")
        print(lines[-1], flush=True)
    spec = convert(ann, model="if_soft", data=calibration, percentile=99.9)
    raw = run_network(spec, x_test, args.rate_steps, device=args.device)
    accuracy, _, _, spikes = summarize(raw, y_test, spec)
    lines += ["", f"Rate code (if_soft, same CNN): "
              + ", ".join(f"{100 * accuracy[t - 1]:.2f} % at {t} steps ({spikes[t - 1]:.2f} "
                          f"spikes/neuron)" for t in (12, 24, 32, 40, args.rate_steps)
                          if t <= args.rate_steps), ""]
    (RESULTS / "cnn.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
