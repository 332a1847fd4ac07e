"""Surrogate-gradient training on MNIST against conversion, at few timesteps.

    python experiments/surrogate/mnist.py [--steps 3 5 10] [--epochs 3]
    python experiments/surrogate/mnist.py --model lif --R 1.05 --surrogate srinivasan

For each T in ``--steps``: a 784-500-10 network of ``--model`` neurons (default ``if_soft``;
threshold 1, current input) is trained through its own T-step forward pass
(``brainconv.train_snn``, ``--surrogate``, Adam 1e-3, batch 64, float32) from scratch for ``--epochs`` epochs, and the converted ReLU ANN
(``experiments/results/ann_mnist_seed0.npz``, percentile normalization on 10,000 training
images) is fine-tuned the same way for ``--finetune-epochs`` epochs (Adam 1e-4). All three
networks (converted, trained, fine-tuned) are then simulated by the numpy reference for T steps on
the 10,000 test images. Trained networks are checkpointed in ``results/cache`` by their settings.
Writes ``results/mnist.md`` (``results/mnist_<model>_<surrogate>.md`` for other settings).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import REPO, mnist, trained_ann  # noqa: E402

from brainconv.conversion import convert  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv.surrogate import train_snn  # noqa: E402

RESULTS = HERE / "results"


def accuracy(spec, x, y, steps):
    out = simulate_reference(spec, x, steps, dtype=np.float32)["output_spikes"]
    return float(np.mean(np.argmax(out.sum(axis=1), axis=1) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[3, 5, 10])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--finetune-epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="if_soft", choices=["if_soft", "if_hard", "lif"])
    parser.add_argument("--R", type=float, default=10.0, help="leak of lif (v = v/R + I)")
    parser.add_argument("--surrogate", default="fast_sigmoid")
    args = parser.parse_args(argv)
    default = args.model == "if_soft" and args.surrogate == "fast_sigmoid"
    tag = "" if default else f"_{args.model}{f'_R{args.R:g}' if args.model == 'lif' else ''}" \
        f"_{args.surrogate}"
    parameters = {"R": args.R} if args.model == "lif" else None
    (RESULTS / "cache").mkdir(parents=True, exist_ok=True)
    ann = trained_ann(REPO / "experiments" / "results" / "ann_mnist_seed0.npz")
    x, y = mnist("train")
    x_test, y_test = mnist("test")
    converted = convert(ann, model=args.model, data=x[:10000], normalization="percentile",
                        parameters=parameters)
    rows = []
    for steps in args.steps:
        start = time.perf_counter()
        common = dict(steps=steps, batch_size=64, seed=args.seed, progress=True,
                      model=args.model, surrogate=args.surrogate, parameters=parameters)
        scratch, h1 = train_snn(x, y, hidden=(500,), epochs=args.epochs, lr=1e-3,
                                checkpoint=RESULTS / "cache" / f"scratch{tag}_T{steps}_e"
                                f"{args.epochs}_s{args.seed}.pt", **common)
        tuned, h2 = train_snn(x, y, start=converted, epochs=args.finetune_epochs, lr=1e-4,
                              checkpoint=RESULTS / "cache" / f"finetune{tag}_T{steps}_e"
                              f"{args.finetune_epochs}_s{args.seed}.pt", **common)
        rows.append((steps, accuracy(converted, x_test, y_test, steps),
                     accuracy(scratch, x_test, y_test, steps),
                     accuracy(tuned, x_test, y_test, steps), time.perf_counter() - start))
        print(f"T={steps}: converted {100 * rows[-1][1]:.2f} %, trained {100 * rows[-1][2]:.2f}"
              f" %, fine-tuned {100 * rows[-1][3]:.2f} %", flush=True)
    ann_accuracy = ann.accuracy(x_test, y_test)
    command = (f"python experiments/surrogate/mnist.py --steps {' '.join(map(str, args.steps))}"
               f" --epochs {args.epochs} --finetune-epochs {args.finetune_epochs} --seed "
               f"{args.seed}" + ("" if default else f" --model {args.model} --R {args.R:g} "
                                 f"--surrogate {args.surrogate}"))
    neurons = args.model + (f" R = {args.R:g}" if args.model == "lif" else "")
    lines = [f"# Surrogate-gradient training vs conversion on MNIST (784-500-10, {neurons}, "
             f"{args.surrogate} surrogate)", "",
             f"Command: `{command}`", "",
             f"ANN (ReLU, the converted network's source): {100 * ann_accuracy:.2f} % on the "
             "10,000 test images. Each SNN is simulated by the numpy reference for T steps "
             "(the steps it was trained with) on the 10,000 test images; seed "
             f"{args.seed}, one run each.", "",
             "| T (steps) | converted (percentile) % | trained from scratch % "
             f"({args.epochs} epochs) | converted + fine-tuned % ({args.finetune_epochs} "
             "epoch(s)) |", "| ---: | ---: | ---: | ---: |"]
    for steps, conv, scratch, tuned, _ in rows:
        lines.append(f"| {steps} | {100 * conv:.2f} | {100 * scratch:.2f} | {100 * tuned:.2f} |")
    (RESULTS / f"mnist{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
