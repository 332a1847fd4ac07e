"""The ``brainconv`` command line: train, run, report, compare, demo, sweep, models, and
train-bats / run-bats for spike-time networks (:mod:`brainconv.spiketime.commands`).

Every command checks its arguments, model files and output paths *before* loading data or
simulating, prints what it does as it goes, and writes results atomically. Errors are one line
on stderr with exit status 2; Ctrl-C prints "interrupted" with exit status 130 (``compare``
and ``sweep`` keep what finished and resume from it when run again).
Run ``brainconv COMMAND --help`` for the options of each command.
"""

import argparse
import gc
import json
import sys
import time
from pathlib import Path

from .errors import BrainconvError, ParameterError

__all__ = ["compare", "console", "demo", "main", "models", "report", "report_dataset", "run",
           "sweep", "train"]

_DATASETS = ("digits", "mnist", "fashion-mnist")


def _say(message):
    print(message, flush=True)


def _epoch_progress(epoch, epochs, loss, train_acc):
    _say(f"  epoch {epoch:3d}/{epochs}: loss {loss:.4f}, train accuracy {100 * train_acc:.2f} %")


def _load(args, split):
    from .data import load_dataset

    _say(f"loading {args.dataset} ({split})")
    return load_dataset(args.dataset, split, args.data_dir)


def _check_outputs(*pairs):
    """Check every (path, option) that will be written, before any work starts."""
    from .results import check_output_path

    for path, option in pairs:
        if path:
            check_output_path(path, option)


def _check_count(value, option, minimum):
    if value < minimum:
        raise ParameterError(f"{option} must be >= {minimum}, got {value}")


def _load_model_files(args):
    from .equations.user import load_model_file

    for path in getattr(args, "model_file", None) or []:
        models = load_model_file(path)
        _say(f"loaded model(s) {', '.join(sorted(models))} from {path}")


def _check_simulation_args(args, outputs=()):
    """Checks that need neither data nor an ANN: counts, then steps, device, processes,
    target, the model's name and the ``(path, option)`` pairs of ``outputs``."""
    from .pipeline import check_run

    _check_count(args.limit, "--limit", 0)
    _check_count(_calibration_images(args), "--calibration", 1)
    check_run(args.steps, args.device, args.processes, args.target,
              getattr(args, "model", None), getattr(args, "calibration_steps", None), outputs)


def _paradigm(args):
    """The paradigm that ``brainconv run`` / ``demo`` options describe."""
    from .pipeline import Paradigm

    if not 0 < args.percentile <= 100:
        raise ParameterError(f"--percentile must be in (0, 100], got {args.percentile}")
    encoding = getattr(args, "encoding", "current")
    return Paradigm(
        args.model, args.normalization, _model_parameters(args.param), synapse=args.synapse,
        synapse_parameters=_model_parameters(args.synapse_param, "--synapse-param"),
        readout=args.readout, dt=args.dt, threshold=args.threshold, percentile=args.percentile,
        encoding=encoding,
        poisson_parameters={"seed": args.seed} if encoding == "poisson" else None,
        calibration_steps=getattr(args, "calibration_steps", 1000))


def _calibration_images(args):
    """--calibration, or its default: 512 images for spike-norm (Rathi's code), else 10000."""
    if args.calibration is not None:
        return args.calibration
    return 512 if getattr(args, "normalization", None) == "spike_norm" else 10000


def _check_spike_norm(args):
    """Refuse spike-norm for an ANN about to be trained with biases."""
    if getattr(args, "normalization", None) == "spike_norm" and getattr(args, "biases", True):
        raise ParameterError("--normalization spike_norm needs a bias-free ANN (Sengupta et "
                             "al. 2019): add --no-biases, or use --normalization max / "
                             "percentile")


def train(args):
    """Train the ANN on the training split and save it as .npz."""
    from .ann import save_ann, train_ann

    _check_outputs((args.out, "--out"))
    _check_count(args.epochs, "--epochs", 1)
    x, y = _load(args, "train")
    _say(f"training {x.shape[1]}-{'-'.join(map(str, args.hidden))}-{y.max() + 1} ANN, "
         f"{args.epochs} epochs, seed {args.seed}")
    start = time.perf_counter()
    params = _model_parameters(args.activation_param, "--activation-param")
    if args.activation in ("rate", "accumulator"):
        params.setdefault("R", args.R)
    ann = train_ann(x, y, hidden=tuple(args.hidden), epochs=args.epochs, seed=args.seed,
                    activation=args.activation, activation_params=params,
                    progress=_epoch_progress, biases=getattr(args, "biases", True),
                    data_name=args.dataset)
    x_test, y_test = _load(args, "test")
    _say(f"ANN test accuracy {100 * ann.accuracy(x_test, y_test):.2f} % "
         f"({time.perf_counter() - start:.0f} s)")
    save_ann(ann, args.out)
    _say(f"saved {args.out}")
    return ann


def run(args, ann=None):
    """Convert the ANN and simulate it on the test split; save and report the results."""
    started = time.perf_counter()
    # Brian2 is imported only where a project is built or run through it (timed there): a
    # warm cpp_standalone run does without it.
    from .ann import load_ann
    from .pipeline import check_paradigm, load_inputs, run_paradigm
    from .results import save_results

    import_seconds = time.perf_counter() - started
    if ann is None and (args.ann is None) == (getattr(args, "nir", None) is None):
        raise ParameterError("brainconv run needs --ann FILE (an ANN to convert) or --nir FILE "
                             "(a NIR graph to simulate), one of the two")
    if ann is None and args.nir is not None:
        return run_nir(args)
    _load_model_files(args)
    paradigm, n_calibration = _paradigm(args), _calibration_images(args)
    raster = getattr(args, "raster", None)
    if raster and not args.record:
        raise ParameterError("--raster draws recorded spike trains: give --record SAMPLE ...")
    _check_simulation_args(args, [(args.out, "--out"), (args.plot, "--plot"),
                                  (raster, "--raster")])
    ann_file = None
    if ann is None:
        ann, ann_file = load_ann(args.ann), args.ann
        _check_ann_data(ann, args.ann, args.dataset)
    check_paradigm(ann, paradigm, args.device)  # model, parameters, device: before the data
    calibration, x, y = load_inputs(args.dataset, args.data_dir, args.limit, n_calibration,
                                    _say)
    start = time.perf_counter()
    ds = run_paradigm(ann, paradigm, x, y, args.steps, calibration=calibration,
                      device=args.device, batch_size=args.batch_size,
                      window=tuple(args.window) if args.window else None,
                      record=getattr(args, "record", None), processes=args.processes,
                      notify=_say, progress=True, ann_file=ann_file,
                      attrs={"dataset": args.dataset, "seed": args.seed},
                      precision=args.precision)
    _say(f"simulation done in {time.perf_counter() - start:.1f} s")
    saved = time.perf_counter()
    save_results(ds, args.out)
    _say(f"saved {args.out}")
    if getattr(args, "profile", False):
        _print_profile(import_seconds, start - started - import_seconds, saved - start,
                       time.perf_counter() - saved, time.perf_counter() - started)
    report_dataset(ds, args.target, args.plot)
    if raster:
        from .spiketrains import plot_raster

        plot_raster(ds).savefig(raster, dpi=110)
        _say(f"saved the raster plots to {raster}")
    return ds


def export_nir(args):
    """Convert the ANN with ``brainconv run``'s options and write it as NIR
    (:mod:`brainconv.nir`)."""
    from .ann import load_ann
    from .nir import to_nir, write_nir
    from .pipeline import check_paradigm, convert_paradigm, load_inputs

    _check_outputs((args.out, "--out"))
    _load_model_files(args)
    paradigm = _paradigm(args)
    ann = load_ann(args.ann)
    check_paradigm(ann, paradigm)
    calibration, _, _ = load_inputs(args.dataset, args.data_dir, 1, _calibration_images(args),
                                    _say)
    spec, _ = convert_paradigm(ann, paradigm, calibration)
    graph = to_nir(spec, dt=args.nir_dt, input_shape=args.input_shape)
    write_nir(args.out, graph)
    models = ", ".join(dict.fromkeys(layer.model for layer in spec.layers))
    _say(f"saved {args.out}: {len(spec.layers)} layers ({models}), dt {args.nir_dt:g} s per "
         f"step for grid models ({', '.join(graph.nodes)})")
    return graph


def run_nir(args):
    """``brainconv run --nir FILE``: import the graph and simulate it on the test split; the
    file's hash and writer go into the results' attributes."""
    from .nir import from_nir, nir_provenance
    from .pipeline import load_inputs
    from .results import save_results
    from .simulation import simulate

    _check_simulation_args(args, [(args.out, "--out"), (args.plot, "--plot")])
    spec = from_nir(args.nir, dt=args.nir_dt)
    _, x, y = load_inputs(args.dataset, args.data_dir, args.limit, 1, _say)
    if x.shape[1] != spec.input_size:
        raise ParameterError(f"{args.nir} takes {spec.input_size} input values, but "
                             f"{args.dataset} gives {x.shape[1]}; pick a dataset of that size")
    _say(f"imported {args.nir}: {len(spec.layers)} layers "
         f"({', '.join(f'{layer.name}: {layer.model} x {layer.size}' for layer in spec.layers)})")
    start = time.perf_counter()
    ds = simulate(spec, x, y, args.steps, device=args.device, batch_size=args.batch_size,
                  processes=args.processes, notify=_say, progress=True, dt=args.dt,
                  precision=args.precision,
                  attrs={"dataset": args.dataset, **nir_provenance(args.nir),
                         "nir_dt": float(args.nir_dt)})
    _say(f"simulation done in {time.perf_counter() - start:.1f} s")
    save_results(ds, args.out)
    _say(f"saved {args.out}")
    report_dataset(ds, args.target, args.plot)
    return ds


def _check_ann_data(ann, path, dataset):
    """Say so where the ANN was trained on other data than it is run on."""
    trained_on = dict(ann.training).get("data")
    if trained_on is not None and trained_on != dataset:
        _say(f"warning: the ANN {path} was trained on {trained_on!r} and runs here on "
             f"{dataset!r}: its accuracy measures it on other data, not the conversion; "
             f"pass --dataset {trained_on} to run it on its own data")


def _print_profile(import_seconds, prepare_seconds, simulate_seconds, save_seconds,
                   total_seconds):
    """Where the time of ``brainconv run`` went (``--profile``)."""
    from .simulation import PROFILE

    converting = PROFILE.pop("convert the ANN", 0.0)  # timed by brainconv.pipeline
    prepare_seconds, simulate_seconds = prepare_seconds + converting, simulate_seconds - converting
    rows = [("import brainconv, numpy, xarray", import_seconds),
            ("load the ANN and data, convert", prepare_seconds),
            *((f"  {name}", seconds) for name, seconds in PROFILE.items()),
            ("simulate() in all", simulate_seconds), ("writing the results file", save_seconds),
            ("total (without the report)", total_seconds)]
    print("profile (seconds):")
    for name, seconds in rows:
        print(f"  {name:38s} {seconds:7.2f}")


def report_dataset(ds, target=None, plot=None):
    """Print the summary table of a results dataset; optionally save the accuracy plot."""
    import numpy as np

    from .analysis import accuracy_over_time, spikes_per_timestep, summary

    info = summary(ds, target)
    accuracy = accuracy_over_time(ds)
    _say(f"ANN accuracy on the {ds.attrs['n_samples']} test samples run: "
         f"{100 * ds.attrs['ann_accuracy']:.2f} %" if "ann_accuracy" in ds.attrs
         else "ANN accuracy: unknown")
    in_ms = ds["time"].attrs.get("units") == "ms"
    _say("time (ms)  accuracy %" if in_ms else "timesteps  accuracy %")
    steps = ds.sizes["time"]
    for t in sorted({1, 2, 5, 10, 20, 50, 100, 200, 500, steps} & set(range(1, steps + 1))):
        _say(f"{float(ds['time'][t - 1]):9g}  {100 * float(accuracy.isel(time=t - 1)):9.2f}")
    _say(f"spikes per timestep per neuron, averaged over samples and all {steps} timesteps "
         "(a payload event counts once, an ensemble counts its member spikes):")
    for layer, rate in info["spikes_per_step_per_neuron"].items():
        _say(f"  {layer}: {rate:.4f}")
    if target is not None:
        reached = info["time_to_target"]
        unit = " ms" if in_ms else ""
        _say(f"{'time' if in_ms else 'timesteps'} to reach {100 * target:.2f} %: "
             + (f"{reached}{unit}" if reached is not None else
                f"not reached within {float(ds['time'][-1]):g}{unit or ' steps'}")
             + (f" (the readout answers only from its classification window, "
                f"{ds.attrs['window_start']:g}-{ds.attrs['window_end']:g} ms: this is the "
                "window's latency, not the network's; summed from the start, the readout "
                + (f"reaches it at {info['time_to_target_without_window']}{unit})"
                   if info["time_to_target_without_window"] is not None else
                   "does not reach it)") if "window_start" in ds.attrs else ""))
        if reached is not None:
            steps_until = int(np.searchsorted(ds["time"].values, reached) + 1)
            upto = spikes_per_timestep(ds, upto=steps_until)
            info["spikes_per_step_per_neuron_until_target"] = {
                str(layer): float(rate) for layer, rate in zip(upto["layer"].values, upto.values)}
            _say(f"spikes per timestep per neuron over the {steps_until} timesteps until the "
                 "target:")
            for layer, rate in info["spikes_per_step_per_neuron_until_target"].items():
                _say(f"  {layer}: {rate:.4f}")
    if "energy_snn_flops" in ds.attrs:
        _say(f"energy (Hunsberger eq. 4-5, flop-equivalents per image, c1 = "
             f"{1000 * ds.attrs['energy_c1_s']:g} ms, analog input not counted): SNN "
             f"{ds.attrs['energy_snn_flops']:.4g} ({ds.attrs['energy_synops_per_s']:.4g} "
             f"synops/s, {ds.attrs['energy_updates_per_s']:.4g} updates/s), ANN "
             f"{ds.attrs['energy_ann_flops']:.4g} flops, efficiency "
             f"{ds.attrs['energy_efficiency']:.3g}x")
        info["energy"] = {key[len("energy_"):]: ds.attrs[key] for key in ds.attrs
                          if key.startswith("energy_")}
    if plot:
        from .analysis import plot_accuracy

        ax = plot_accuracy(ds, target=target)
        ax.figure.savefig(plot, dpi=120, bbox_inches="tight")
        _say(f"saved {plot}")
    return info


def report(args):
    """Print the summary of a saved results file."""
    from .results import load_results

    _check_outputs((args.plot, "--plot"))
    info = report_dataset(load_results(args.results), args.target, args.plot)
    if args.json:
        print(json.dumps(info, indent=2))


def demo(args):
    """Train, convert and simulate in one go (the README's main command)."""
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    _load_model_files(args)
    _check_simulation_args(args)
    _check_spike_norm(args)
    _check_outputs((args.out, "--out"), (args.plot, "--plot"))
    ann = train(argparse.Namespace(**{**vars(args), "out": str(out.with_name("ann.npz"))}))
    return run(args, ann=ann)


def compare(args):
    """Run every paradigm on the ANN; print the ranking; save NetCDF, the Pareto plot and the
    trade-off report (``--report``)."""
    from .ann import load_ann
    from .comparison import (check_paradigms, compare as run_compare, plot_accuracy_curves,
                          plot_pareto, ranking_table, save_comparison)
    from .energy import operation_energies
    from .pipeline import load_inputs

    _check_simulation_args(args)
    check_paradigms(args.paradigms)
    operation_energies(args.energy_preset)
    _check_count(args.sparsity_samples, "--sparsity-samples", 0)
    _check_outputs((args.out, "--out"), (args.plot, "--plot"), (args.report, "--report"))
    checkpoints = Path(args.checkpoint_dir or f"{args.out}.checkpoints")
    checkpoints.mkdir(parents=True, exist_ok=True)
    _check_outputs((checkpoints / "probe.nc", "--checkpoint-dir"))
    args.interrupt_note = (f"finished paradigms are kept in {checkpoints}; run the same command "
                           "again to resume")
    ann = load_ann(args.ann)
    _check_ann_data(ann, args.ann, args.dataset)
    calibration, x, y = load_inputs(args.dataset, args.data_dir, args.limit,
                                    _calibration_images(args), _say)

    def progress(name, reused=False):
        _say(f"{name}: reusing the checkpoint in {checkpoints}" if reused else f"{name}:")

    result = run_compare(ann, calibration, x, y, args.steps, args.target,
                         paradigms=args.paradigms, device=args.device,
                         batch_size=args.batch_size, progress=progress,
                         checkpoint_dir=checkpoints, notify=_say,
                         energy_preset=args.energy_preset,
                         sparsity_samples=args.sparsity_samples,
                         attrs={"dataset": args.dataset, "ann_file": Path(args.ann).name},
                         processes=args.processes)
    _say(ranking_table(result))
    for name, reason in json.loads(result.attrs["not_applicable"]).items():
        _say(f"not applicable: {name}: {reason}")
    save_comparison(result, args.out)
    _say(f"saved {args.out} (load it with brainconv.comparison.load_comparison)")
    if args.plot:
        ax = plot_pareto(result)
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        curves = Path(args.plot).with_name(Path(args.plot).stem + "_accuracy.png")
        plot_accuracy_curves(result).figure.savefig(curves, dpi=120, bbox_inches="tight")
        _say(f"saved {args.plot} and {curves}")
    if args.report:
        from .report import recommendations, write_report

        write_report(result, args.report)
        picks = recommendations(result)
        _say("best for " + ", ".join(f"{priority}: {picks[priority][0] or 'none'}"
                                     for priority in ("accuracy", "latency", "energy")))
        _say(f"saved the trade-off report {args.report}")
    return result


def sweep(args):
    """Run a parameter sweep on Dask; finished points are reused when it is run again."""
    from .sweep import load_config, run_sweep

    config = load_config(args.config)
    if args.out:
        config["sweep"]["out"] = args.out
    if args.workers is not None:
        _check_count(args.workers, "--workers", 1)
    if args.workers is not None and args.scheduler:
        raise ParameterError("give --workers (a LocalCluster here) or --scheduler (an existing "
                             "cluster), not both")
    out = Path(config["sweep"]["out"])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"cannot create the sweep folder {str(out)!r} ([sweep] out or "
                             f"--out): {exc.strerror or exc}; choose a writable folder") from None
    _check_outputs((out / "sweep.nc", "[sweep] out / --out"))
    args.interrupt_note = (f"finished points are kept in {out / 'points'}; run the same command "
                           "again to resume")
    result = run_sweep(config, workers=args.workers, scheduler=args.scheduler, notify=_say)
    failed = int(result.attrs["n_failed"])
    if failed:  # saved with the others, but the command did not do all it was asked: exit 2
        from .errors import SimulationError

        raise SimulationError(
            f"{failed} point(s) failed; their messages are in the 'error' variable of "
            f"{out / 'sweep.nc'} and in {out / 'points'}/*.failed.json; the computed points "
            "are saved, and running the same command again retries the failed ones")
    return result


def _model_parameters(pairs, option="--param"):
    """``["R=10", "size=7", "tau_rc=20*ms"]`` → ``{"R": 10, "size": 7, "tau_rc": 20*ms}``."""
    from .equations.units import parse_quantity

    parameters = {}
    for pair in pairs or []:
        name, _, value = pair.partition("=")
        try:
            number = parse_quantity(value)
        except ParameterError:
            raise ParameterError(
                f"{option} {pair!r}: expected NAME=NUMBER or NAME=NUMBER*UNIT, e.g. "
                f"{option} R=10 or {option} tau_rc=20*ms") from None
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        parameters[name.strip()] = number
    return parameters


def models(args):
    """List the registered neuron, synapse and plastic synapse models (and --model-file's)."""
    from .equations import MODELS, PLASTIC_SYNAPSE_MODELS, SYNAPSE_MODELS

    _load_model_files(args)
    for title, registry in (("neuron models (--model)", MODELS),
                            ("synapse models (--synapse)", SYNAPSE_MODELS),
                            ("plastic synapse models (brainconv.learning)",
                             PLASTIC_SYNAPSE_MODELS)):
        _say(f"{title}:")
        for name, model in sorted(registry.items()):
            _say(f"  {name:22s} {model.description}  [{model.citation}]")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where it is None or a flag."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _parser():
    parser = argparse.ArgumentParser(prog="brainconv", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, help):
        return commands.add_parser(name, help=help, description=help, formatter_class=_Formatter)

    def data_options(p, dataset="digits"):
        p.add_argument("--dataset", default=dataset, choices=_DATASETS,
                       help="digits ships with scikit-learn; the others read IDX files")
        p.add_argument("--data-dir", default=None,
                       help="folder holding the dataset's IDX files (else $BRAINCONV_DATA/NAME)")
        p.add_argument("--seed", type=int, default=0, help="seed of every random choice")

    def train_options(p):
        p.add_argument("--hidden", type=int, nargs="+", default=[500],
                       help="hidden layer sizes")
        p.add_argument("--epochs", type=int, default=20, help="training epochs")
        p.add_argument("--no-biases", dest="biases", action="store_false",
                       help="train without biases (spike-norm conversion needs a bias-free ANN)")
        p.add_argument("--activation", default="relu",
                       choices=["relu", "rate", "accumulator", "softlif"],
                       help="hidden activation and gradient (Think Fast eq. 10-14; softlif: "
                       "Hunsberger & Eliasmith, converts to lif_rc)")
        p.add_argument("--R", type=float, default=1.0,
                       help="leak rate constant of the rate/accumulator activations (1: none)")
        p.add_argument("--activation-param", action="append", metavar="NAME=VALUE",
                       help="activation parameter, repeatable, e.g. --activation-param sigma=10 "
                       "(softlif noise in Hz; tau_rc/tau_ref in seconds)")

    def simulation_options(p):
        p.add_argument("--steps", type=int, default=100, help="timesteps per sample")
        from .devices import DEVICES

        p.add_argument("--device", default="cpp_standalone", choices=list(DEVICES),
                       help="compiled C++, Brian2 runtime, numpy reference, or brian2cuda (GPU)")
        p.add_argument("--batch-size", type=int, default=None,
                       help="samples simulated side by side (default: chosen from the synapse "
                       "count and memory)")
        p.add_argument("--processes", type=int, default=None,
                       help="cpp_standalone binaries run side by side, each on its share of "
                       "the samples (default: one per CPU)")
        p.add_argument("--calibration", type=int, default=None,
                       help="training images used for normalization (default 10000; 512 "
                       "with spike_norm, as Rathi's code)")
        p.add_argument("--limit", type=int, default=0,
                       help="simulate only the first N test images (0: all)")
        p.add_argument("--plot", default=None, help="save a plot as this PNG")

    def run_options(p):
        simulation_options(p)
        p.add_argument("--precision", default="float64", choices=["float64", "float32"],
                       help="floating-point type of the simulation (float64: the exact "
                       "cross-checks; float32: faster)")
        p.add_argument("--model", default="if_soft", help="neuron model (see `brainconv models`)")
        p.add_argument("--model-file", action="append", default=[], metavar="PATH",
                       help="Python file defining neuron models with "
                       "brainconv.equations.user.define_model; repeatable")
        p.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="model parameter, repeatable: --param R=10 --param k=100")
        p.add_argument("--threshold", type=float, default=1.0,
                       help="firing threshold of every layer")
        p.add_argument("--normalization", default="percentile",
                       choices=["percentile", "max", "none", "spike_norm"],
                       help="data-based weight normalization, or spike-norm (Sengupta et al. "
                       "2019: thresholds from simulated spikes; bias-free ANN, grid models)")
        p.add_argument("--calibration-steps", type=int, default=1000,
                       help="timesteps per calibration image of spike_norm (Poisson input "
                       "seeded by --seed)")
        p.add_argument("--encoding", default="current", choices=["current", "poisson"],
                       help="input as a constant current, or Poisson spikes (probability = "
                       "value per 1 ms step; seeded by --seed)")
        p.add_argument("--percentile", type=float, default=99.9,
                       help="percentile of --normalization percentile")
        p.add_argument("--target", type=float, default=None,
                       help="report timesteps to reach this accuracy (fraction, e.g. 0.8022)")
        p.add_argument("--dt", type=float, default=None,
                       help="step in ms of a continuous-time network (lif_rc; default 1 ms)")
        p.add_argument("--synapse", default="delta", choices=["delta", "exponential", "alpha"],
                       help="synapse model of every pathway (filtered ones need lif_rc)")
        p.add_argument("--synapse-param", action="append", metavar="NAME=VALUE",
                       help="synapse parameter with its unit, e.g. --synapse-param tau_s=5*ms")
        p.add_argument("--readout", default="spikes", choices=["spikes", "filtered"],
                       help="output layer: spike counts, or a non-spiking filtered readout "
                       "(Hunsberger; continuous-time networks)")
        p.add_argument("--window", type=float, nargs=2, metavar=("C0", "C1"), default=None,
                       help="classification window in ms of a filtered readout (default: the "
                       "whole presentation)")
        p.add_argument("--record", type=int, nargs="+", default=None, metavar="SAMPLE",
                       help="record the full spike trains of these test samples (indices "
                       "after --limit) in the results file")
        p.add_argument("--raster", default=None, metavar="PNG",
                       help="with --record: save raster plots (sample x layer) as this PNG")
        p.add_argument("--profile", action="store_true",
                       help="print where the run's time went (import, build, binary, ...)")

    p = command("train", "train the ANN and save it (.npz)")
    data_options(p, "mnist")
    train_options(p)
    p.add_argument("--out", default="ann.npz", help="where to save the network")
    p.set_defaults(func=train)

    p = command("run", "convert an ANN (or import a NIR graph) and simulate it on the test set")
    data_options(p, "mnist")
    run_options(p)
    p.add_argument("--ann", default=None, help=".npz file written by `brainconv train`")
    p.add_argument("--nir", default=None, metavar="FILE",
                   help="simulate this NIR graph instead of converting an ANN (brainconv.nir; "
                   "conversion options do not apply)")
    p.add_argument("--nir-dt", type=float, default=1e-3,
                   help="with --nir: the simulation step in the graph's time unit (seconds; 1 "
                   "for a graph written in steps)")
    p.add_argument("--out", default="results.nc", help="results file (NetCDF)")
    p.set_defaults(func=run)

    p = command("report", "summarize a results file")
    p.add_argument("results", help="results file written by `brainconv run`")
    p.add_argument("--target", type=float, default=None,
                   help="report timesteps to reach this accuracy (fraction)")
    p.add_argument("--plot", default=None, help="save accuracy vs time as this PNG")
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    p.set_defaults(func=report)

    p = command("demo", "train + convert + simulate (digits by default)")
    data_options(p, "digits")
    train_options(p)
    run_options(p)
    p.add_argument("--out", default="brainconv-demo/results.nc", help="results file (NetCDF)")
    p.set_defaults(func=demo, plot="brainconv-demo/accuracy.png", target=0.9)

    p = command("compare", "rank every paradigm on accuracy, time, spikes")
    data_options(p, "mnist")
    simulation_options(p)
    p.add_argument("--target", type=float, default=0.8022,
                   help="accuracy (fraction) for the timesteps-to-target column")
    p.add_argument("--ann", required=True, help=".npz file written by `brainconv train`")
    p.add_argument("--paradigms", nargs="+", default=None,
                   help="names from brainconv.comparison.PARADIGMS (default: all)")
    p.add_argument("--out", default="compare.nc", help="comparison file (NetCDF)")
    p.add_argument("--checkpoint-dir", default=None,
                   help="each finished paradigm is saved here and reused when the same run is "
                   "repeated (default: OUT.checkpoints)")
    p.add_argument("--report", default=None, metavar="HTML",
                   help="write the trade-off report (one self-contained HTML file: ranking, "
                   "Pareto fronts, accuracy curves, recommendations) here")
    p.add_argument("--energy-preset", default="int32",
                   help="pJ per MAC / AC of the energy column (brainconv.energy.ENERGY_PRESETS: "
                   "int32, float32, common)")
    p.add_argument("--sparsity-samples", type=int, default=100,
                   help="test samples whose spike trains are recorded for the sparsity column")
    p.set_defaults(func=compare)

    p = command("sweep", "run paradigms x parameters x seeds x datasets on Dask, resumably")
    p.add_argument("config", help="sweep config, TOML (or YAML with pyyaml); see the README's "
                   "'Parameter sweeps (Dask)' section and experiments/sweeps/example.toml")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the LocalCluster started here (default: one per "
                   "CPU core)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (e.g. tcp://host:8786; a SLURM "
                   "cluster from dask-jobqueue) instead of a LocalCluster")
    p.add_argument("--out", default=None,
                   help="sweep folder (default: [sweep] out of the config, relative to the "
                   "config file)")
    p.set_defaults(func=sweep)

    p = command("models", "list the neuron models")
    p.add_argument("--model-file", action="append", default=[], metavar="PATH",
                   help="also list the models defined in this Python file; repeatable")
    p.set_defaults(func=models)

    from .spiketime.commands import add_commands

    add_commands(command, data_options)  # train-bats, run-bats
    p = command("export-nir", "convert an ANN as `brainconv run` does and write it as NIR")
    data_options(p, "mnist")
    run_options(p)
    p.add_argument("--ann", required=True, help=".npz file written by `brainconv train`")
    p.add_argument("--nir-dt", type=float, default=1e-3,
                   help="seconds that one timestep stands for in the NIR graph")
    p.add_argument("--input-shape", type=int, nargs=3, metavar=("C", "H", "W"),
                   help="an image input's shape: convolutions are then written as Conv2d "
                        "(default: every layer as a dense Affine)")
    p.add_argument("--out", default="network.nir", help="NIR file to write")
    p.set_defaults(func=export_nir)
    return parser


def main(argv=None):
    """Entry point of the ``brainconv`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except BrainconvError as exc:
        print(f"brainconv {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder that vanished: one line, no traceback
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"brainconv {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        note = getattr(args, "interrupt_note", "nothing was saved")
        print(f"\nbrainconv {args.command}: interrupted; {note}", file=sys.stderr)
        return 130
    return 0


def console():
    """The ``brainconv`` console script: :func:`main`, then a quick exit."""
    status = main()
    # The command is done and its files are closed. Python's last garbage collection at exit
    # walks every object of pandas, xarray and scipy: ~0.3 s of a 3 s warm run, to free
    # memory the operating system takes back anyway. Frozen objects are skipped.
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(console())
