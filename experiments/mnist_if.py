"""Non-leaky paradigms on the full MNIST test set (Think Fast Table 1, transferred weights).

Trains (or loads) the 784-500-10 ReLU ANN, converts it with 99.9-percentile normalization to
soft-reset IF neurons, runs the 10,000 test images for 100 timesteps on cpp_standalone and
writes ``results/mnist_if.nc``, ``results/mnist_if_accuracy.png`` and ``results/mnist_if.md``.

    python experiments/mnist_if.py [--device cpp_standalone] [--steps 100]
    python experiments/mnist_if.py --model accumulator --normalization none --k 100
"""

import argparse
import time
from pathlib import Path

from brainconv.analysis import accuracy_over_time, plot_accuracy, spikes_per_timestep, time_to_accuracy
from brainconv.conversion import convert
from brainconv.results import save_results
from brainconv.simulation import simulate

from common import mnist, trained_ann

HERE = Path(__file__).resolve().parent
#: Think Fast Table 1 rows (transferred weights) for the models this script runs.
PAPER_ROWS = {
    "if_soft": {"accuracy_100": 97.03, "timesteps_to_80.22": 17, "spikes_per_timestep": 0.41},
    "accumulator": {"accuracy_100": 98.19, "timesteps_to_80.22": 2, "spikes_per_timestep": 0.50},
}
PAPER_ROWS["if_hard"] = PAPER_ROWS["if_soft"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpp_standalone")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--model", default="if_soft")
    parser.add_argument("--normalization", default="percentile",
                        help="'none' transfers the raw ANN weights (as Think Fast does for "
                        "accumulators)")
    parser.add_argument("--k", type=int, default=None,
                        help="maximum spikes per timestep (accumulator models)")
    parser.add_argument("--ann", default=str(HERE / "results" / "ann_mnist_seed0.npz"))
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    PAPER = PAPER_ROWS[args.model]
    ann = trained_ann(args.ann)
    x_train, _ = mnist("train")
    x, y = mnist("test")
    spec = convert(ann, model=args.model, data=x_train[:10000], percentile=99.9,
                   normalization=args.normalization,
                   parameters={"k": args.k} if args.k is not None else None)
    print(f"simulating {len(x)} images x {args.steps} steps on {args.device}", flush=True)
    start = time.perf_counter()
    ds = simulate(spec, x, y, args.steps, device=args.device,
                  attrs={"dataset": "mnist", "seed": 0})
    seconds = time.perf_counter() - start
    tag = args.model + ("" if args.normalization == "percentile" else f"_{args.normalization}")
    save_results(ds, out / f"mnist_{tag}.nc")

    accuracy = 100 * accuracy_over_time(ds)
    to_target = time_to_accuracy(ds, 0.8022)
    # Spikes per timestep per ANN unit over the steps needed to reach the target (Think Fast
    # §4.3), counting the hidden layer, whose units are the ANN's ReLUs.
    rates = spikes_per_timestep(ds, upto=to_target or args.steps)
    rows = [
        ("ANN accuracy (%)", f"{100 * ann.accuracy(x, y):.2f}", "98.09"),
        (f"SNN accuracy at {args.steps} timesteps (%)",
         f"{float(accuracy.sel(time=args.steps)):.2f}", f"{PAPER['accuracy_100']:.2f}"),
        ("timesteps to reach 80.22 %", str(to_target), str(PAPER["timesteps_to_80.22"])),
        ("spikes per timestep per hidden unit (until 80.22 %)",
         f"{float(rates.sel(layer='hidden1')):.3f}", f"{PAPER['spikes_per_timestep']:.2f}"),
        ("simulation wall time, 10,000 images (s; a first run adds the C++ build)",
         f"{seconds:.1f}", "-"),
    ]
    table = "\n".join(["| quantity | brainconv | Think Fast |", "| --- | ---: | ---: |"]
                      + [f"| {a} | {b} | {c} |" for a, b, c in rows])
    curve = " ".join(f"{t}:{float(accuracy.sel(time=t)):.2f}"
                     for t in (1, 2, 3, 5, 10, 17, 20, 50, 100) if t <= args.steps)
    text = (f"# {args.model} rate code on MNIST ({args.device})\n\n"
            f"Command: `python experiments/mnist_if.py --device {args.device} --model "
            f"{args.model} --normalization {args.normalization}"
            + (f" --k {args.k}" if args.k is not None else "") + f"`\n\n{table}\n\nAccuracy (%) by timestep: {curve}\n")
    (out / f"mnist_{tag}.md").write_text(text)
    ax = plot_accuracy(ds, label=f"{args.model} ({args.device})")
    ax.axhline(80.22, color="grey", lw=0.8, ls="--")
    ax.figure.savefig(out / f"mnist_{tag}_accuracy.png", dpi=120, bbox_inches="tight")
    print(text)


if __name__ == "__main__":
    main()
