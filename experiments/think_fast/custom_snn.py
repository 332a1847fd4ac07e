"""Think Fast Table 1, trained through each paradigm's own forward pass (surrogate gradients).

    python experiments/think_fast/custom_snn.py [--epochs 1] [--steps 100]

For the rows whose neurons ``brainconv.train_snn`` can unroll (non-leaky and leaky rate code,
non-leaky and leaky accumulator, ION, LEN), the transferred network of ``table1.py`` (the 784-500-10
ReLU ANN converted with the row's paradigm: ``brainconv.comparison.PARADIGMS``) is fine-tuned
through its T-step spiking forward pass (fast-sigmoid surrogate for spikes, straight-through for
payloads; Adam 1e-4, batch 64, float32, ``--epochs`` epochs; logits = counts / T, times 10 for
the normalized rate code whose rates lie in [0, 1]), then simulated by the numpy reference for T
steps on the 10,000 test images. Networks are checkpointed in ``results/custom_snn_cache``.
Writes ``results/table1_custom_snn.md``. The paper's gradient (eq. 10-14) is not used as the
per-step surrogate: the table says so.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainconv.comparison import PARADIGMS  # noqa: E402
from brainconv.pipeline import convert_paradigm  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv.surrogate import train_snn  # noqa: E402

from common import REPO, mnist, trained_ann  # noqa: E402

HERE = Path(__file__).resolve().parent
#: label -> (paradigm, paper's custom-training SNN %, logit scale)
ROWS = {
    "Non-leaky rate code": ("rate_soft", 98.12, 10.0),
    "Leaky rate code (R = 10)": ("lif", 98.03, 1.0),
    "Non-leaky accumulator": ("accumulator", 98.15, 1.0),
    "Leaky accumulator (R = 10)": ("leaky_accumulator", 98.07, 1.0),
    "ION (7 neurons)": ("ion", 98.16, 1.0),
    "LEN (9 neurons, R = 10)": ("len", 98.25, 1.0),
}


def accuracy(spec, x, y, steps):
    out = simulate_reference(spec, x, steps, dtype=np.float32)["output_spikes"]
    return float(np.mean(np.argmax(out.sum(axis=1), axis=1) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    cache = HERE / "results" / "custom_snn_cache"
    cache.mkdir(parents=True, exist_ok=True)
    ann = trained_ann(REPO / "experiments" / "results" / "ann_mnist_seed0.npz")
    x, y = mnist("train")
    x_test, y_test = mnist("test")
    lines = [f"# Think Fast Table 1: fine-tuned through each paradigm's spikes ({args.steps} "
             "steps)", "",
             f"Command: `python experiments/think_fast/custom_snn.py --epochs {args.epochs} "
             f"--steps {args.steps}`", "",
             "784-500-10; the transferred network (the ReLU ANN converted with the row's "
             f"paradigm) and the same network after {args.epochs} epoch(s) of surrogate-"
             "gradient training through its own forward pass, both simulated by the numpy "
             f"reference for {args.steps} steps on the 10,000 test images. The surrogate is a "
             "fast sigmoid (payloads: straight-through; LEN: through its max node), not the "
             "paper's eq. 10-14.", "",
             "| model | paradigm | transferred % | fine-tuned through the spikes % | paper "
             "(custom training, SNN) % |", "| --- | --- | ---: | ---: | ---: |"]
    for label, (name, paper, scale) in ROWS.items():
        paradigm = PARADIGMS[name]
        start, _ = convert_paradigm(ann, paradigm, x[:10000])
        before = accuracy(start, x_test, y_test, args.steps)
        print(f"{label}: transferred {100 * before:.2f} %", flush=True)
        tuned, _ = train_snn(x, y, steps=args.steps, start=start, model=start.layers[0].model,
                             parameters=dict(start.layers[0].parameters) or None,
                             epochs=args.epochs, batch_size=64, lr=1e-4, seed=0,
                             logit_scale=scale, progress=True,
                             checkpoint=cache / f"{name}_T{args.steps}_e{args.epochs}.pt")
        after = accuracy(tuned, x_test, y_test, args.steps)
        print(f"  fine-tuned {100 * after:.2f} %", flush=True)
        lines.append(f"| {label} | `{name}` | {100 * before:.2f} | {100 * after:.2f} | "
                     f"{paper} |")
    (HERE / "results" / "table1_custom_snn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
