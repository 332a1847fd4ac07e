"""The ``brainconv`` command line: train, run (convert + simulate), report, demo, models.

Every command prints what it does as it goes; results are NetCDF files written atomically.
Run ``brainconv COMMAND --help`` for the options of each command.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from .errors import BrainconvError, ParameterError


def _say(message):
    print(message, flush=True)


def _epoch_progress(epoch, epochs, loss, train_acc):
    _say(f"  epoch {epoch:3d}/{epochs}: loss {loss:.4f}, train accuracy {100 * train_acc:.2f} %")


def _load(args, split):
    from .data import load_dataset

    _say(f"loading {args.dataset} ({split})")
    return load_dataset(args.dataset, split, args.data_dir)


def train(args):
    """Train the ANN on the training split and save it as .npz."""
    from .ann import save_ann, train_ann

    x, y = _load(args, "train")
    _say(f"training {x.shape[1]}-{'-'.join(map(str, args.hidden))}-{y.max() + 1} ANN, "
         f"{args.epochs} epochs, seed {args.seed}")
    start = time.perf_counter()
    params = None if args.activation == "relu" else {"R": args.R}
    ann = train_ann(x, y, hidden=tuple(args.hidden), epochs=args.epochs, seed=args.seed,
                    activation=args.activation, activation_params=params,
                    progress=_epoch_progress)
    x_test, y_test = _load(args, "test")
    _say(f"ANN test accuracy {100 * ann.accuracy(x_test, y_test):.2f} % "
         f"({time.perf_counter() - start:.0f} s)")
    save_ann(ann, args.out)
    _say(f"saved {args.out}")
    return ann


def run(args, ann=None):
    """Convert the ANN and simulate it on the test split; save and report the results."""
    from .ann import load_ann
    from .convert import convert
    from .results import save_results
    from .simulate import simulate

    ann = ann if ann is not None else load_ann(args.ann)
    x_train, _ = _load(args, "train")
    x, y = _load(args, "test")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    calibration = x_train[:args.calibration]
    spec = convert(ann, model=args.model, data=calibration, normalization=args.normalization,
                   percentile=args.percentile, parameters=_model_parameters(args.param))
    _say(f"converted to {args.model}: layers {spec.layer_sizes}, normalization "
         f"{args.normalization} on {len(calibration)} training images")
    _say(f"simulating {len(x)} samples x {args.steps} timesteps on {args.device}; a first "
         "standalone build compiles C++ (~20 s)")
    start = time.perf_counter()
    ds = simulate(spec, x, y, args.steps, device=args.device, batch_size=args.batch_size,
                  attrs={"dataset": args.dataset, "seed": args.seed,
                         "ann_accuracy": float(ann.accuracy(x, y))})
    _say(f"simulation done in {time.perf_counter() - start:.1f} s")
    save_results(ds, args.out)
    _say(f"saved {args.out}")
    report_dataset(ds, args.target, args.plot)
    return ds


def report_dataset(ds, target=None, plot=None):
    """Print the summary table of a results dataset; optionally save the accuracy plot."""
    from .analysis import accuracy_over_time, summary

    info = summary(ds, target)
    accuracy = accuracy_over_time(ds)
    _say(f"ANN accuracy: {100 * ds.attrs['ann_accuracy']:.2f} %" if "ann_accuracy" in ds.attrs
         else "ANN accuracy: unknown")
    _say("timesteps  accuracy %")
    steps = ds.sizes["time"]
    for t in sorted({1, 2, 5, 10, 20, 50, 100, 200, 500, steps} & set(range(1, steps + 1))):
        _say(f"{t:9d}  {100 * float(accuracy.sel(time=t)):9.2f}")
    for layer, rate in info["spikes_per_step_per_neuron"].items():
        _say(f"spikes per timestep per neuron, {layer}: {rate:.4f}")
    if target is not None:
        reached = info["time_to_target"]
        _say(f"timesteps to reach {100 * target:.2f} %: "
             + (str(reached) if reached is not None else f"not reached within {steps} steps"))
    if plot:
        from .analysis import plot_accuracy

        ax = plot_accuracy(ds, label=ds.attrs.get("model"))
        ax.figure.savefig(plot, dpi=120, bbox_inches="tight")
        _say(f"saved {plot}")
    return info


def report(args):
    """Print the summary of a saved results file."""
    from .results import load_results

    info = report_dataset(load_results(args.results), args.target, args.plot)
    if args.json:
        print(json.dumps(info, indent=2))


def demo(args):
    """Train, convert and simulate in one go (the README's main command)."""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    ann = train(argparse.Namespace(**{**vars(args), "out": str(Path(args.out).with_name("ann.npz"))}))
    return run(args, ann=ann)


def compare(args):
    """Run every paradigm on the ANN; print the ranking; save NetCDF and the Pareto plot."""
    from .ann import load_ann
    from .compare import compare as run_compare, plot_pareto, ranking_table
    from .results import save_results

    ann = load_ann(args.ann)
    x_train, _ = _load(args, "train")
    x, y = _load(args, "test")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    result = run_compare(ann, x_train[:args.calibration], x, y, args.steps, args.target,
                         paradigms=args.paradigms, device=args.device,
                         batch_size=args.batch_size,
                         progress=lambda name: _say(f"simulating {name} ({len(x)} samples x "
                                                    f"{args.steps} steps on {args.device})"))
    _say(ranking_table(result))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_results(result, args.out)
    _say(f"saved {args.out}")
    if args.plot:
        ax = plot_pareto(result)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        _say(f"saved {args.plot}")
    return result


def _model_parameters(pairs):
    """``["R=10", "size=7"]`` → ``{"R": 10.0, "size": 7}``."""
    parameters = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise ParameterError(
                f"--param {pair!r}: expected NAME=NUMBER, e.g. --param R=10 or --param size=7"
            ) from None
        parameters[name.strip()] = int(number) if number.is_integer() else number
    return parameters


def models(args):
    """List the registered neuron models."""
    from .equations import MODELS

    for name, model in sorted(MODELS.items()):
        _say(f"{name:10s} {model.description}  [{model.citation}]")


def _parser():
    parser = argparse.ArgumentParser(prog="brainconv", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def data_options(p, dataset="digits"):
        p.add_argument("--dataset", default=dataset, choices=["digits", "mnist", "fashion-mnist"],
                       help="digits ships with scikit-learn; the others read IDX files")
        p.add_argument("--data-dir", default=None,
                       help="folder holding the dataset's IDX files (else $BRAINCONV_DATA/NAME)")
        p.add_argument("--seed", type=int, default=0)

    def train_options(p):
        p.add_argument("--hidden", type=int, nargs="+", default=[500])
        p.add_argument("--epochs", type=int, default=20)
        p.add_argument("--activation", default="relu", choices=["relu", "rate", "accumulator"],
                       help="hidden activation and gradient (Think Fast eq. 10-14)")
        p.add_argument("--R", type=float, default=1.0,
                       help="leak rate constant of the rate/accumulator activations (1: none)")

    def run_options(p):
        p.add_argument("--model", default="if_soft", help="neuron model (see `brainconv models`)")
        p.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="model parameter, repeatable: --param R=10 --param k=100")
        p.add_argument("--steps", type=int, default=100)
        p.add_argument("--device", default="cpp_standalone",
                       choices=["cpp_standalone", "runtime", "numpy"])
        p.add_argument("--batch-size", type=int, default=None,
                       help="samples simulated side by side (default: chosen from the synapse "
                       "count and memory)")
        p.add_argument("--normalization", default="percentile",
                       choices=["percentile", "max", "none"])
        p.add_argument("--percentile", type=float, default=99.9)
        p.add_argument("--calibration", type=int, default=10000,
                       help="training images used for normalization")
        p.add_argument("--limit", type=int, default=0, help="simulate only the first N test images")
        p.add_argument("--target", type=float, default=None,
                       help="report timesteps to reach this accuracy (fraction, e.g. 0.8022)")
        p.add_argument("--plot", default=None, help="save accuracy vs timesteps as this PNG")

    p = commands.add_parser("train", help="train the ANN and save it (.npz)")
    data_options(p, "mnist")
    train_options(p)
    p.add_argument("--out", default="ann.npz")
    p.set_defaults(func=train)

    p = commands.add_parser("run", help="convert an ANN and simulate it on the test set")
    data_options(p, "mnist")
    run_options(p)
    p.add_argument("--ann", required=True, help=".npz file written by `brainconv train`")
    p.add_argument("--out", default="results.nc")
    p.set_defaults(func=run)

    p = commands.add_parser("report", help="summarize a results file")
    p.add_argument("results")
    p.add_argument("--target", type=float, default=None)
    p.add_argument("--plot", default=None)
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    p.set_defaults(func=report)

    p = commands.add_parser("demo", help="train + convert + simulate (digits by default)")
    data_options(p, "digits")
    train_options(p)
    run_options(p)
    p.add_argument("--out", default="brainconv-demo/results.nc")
    p.set_defaults(func=demo, plot="brainconv-demo/accuracy.png", target=0.9)

    p = commands.add_parser("compare", help="rank every paradigm on accuracy, time, spikes")
    data_options(p, "mnist")
    run_options(p)
    p.add_argument("--ann", required=True, help=".npz file written by `brainconv train`")
    p.add_argument("--paradigms", nargs="+", default=None,
                   help="names from brainconv.compare.PARADIGMS (default: all)")
    p.add_argument("--out", default="compare.nc")
    p.set_defaults(func=compare, target=0.8022)

    p = commands.add_parser("models", help="list the neuron models")
    p.set_defaults(func=models)
    return parser


def main(argv=None):
    """Entry point of the ``brainconv`` command."""
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except BrainconvError as exc:
        print(f"brainconv {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
