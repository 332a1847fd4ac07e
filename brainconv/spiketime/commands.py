"""``brainconv train-bats`` and ``brainconv run-bats``: spike-time networks from the command line.

``train-bats`` trains a CuBa-LIF network with BATS (:func:`.training.train_bats`, compiled
engine, a checkpoint after every epoch that a repeated command resumes from) and saves it as a
*BATS network file* (``.npz``: the weights and every setting needed to run it again, plus what
it was trained on). ``run-bats`` runs such a file on the test set: the event-driven reference at
the network's ``dt`` and, with ``--device``, Brian2's ``cuba_lif`` on a grid of ``--dt`` ms,
whose predictions it compares with the reference run at that same ``dt``.
"""

import time
from pathlib import Path

import numpy as np

from ..errors import ParameterError

__all__ = ["add_commands", "load_network", "save_network"]

#: Version of the BATS network file.
NETWORK_FORMAT = 1


def save_network(path, weights, settings, t_in, training):
    """Write a trained network atomically (see :func:`load_network`)."""
    from .training import write_arrays

    arrays = {f"W{i}": np.asarray(w) for i, w in enumerate(weights)}
    arrays.update(format=NETWORK_FORMAT, thresholds=np.array(settings.thresholds),
                  tau_s=settings.tau_s, dt=settings.dt, t_max=settings.t_max,
                  max_spikes=np.array(settings.max_spikes), targets=np.array(settings.targets),
                  t_in=t_in, **{f"training_{k}": v for k, v in training.items()})
    write_arrays(path, arrays)


def load_network(path):
    """Read a file written by :func:`save_network` (``brainconv train-bats``).

    Returns
    -------
    weights : list of ndarray
    settings : BatsSettings
    t_in : float
        TTFS window in seconds.
    training : dict
        ``data``, ``seed``, ``epochs``, ``samples`` and the final ``test_accuracy``.
    """
    from .training import BatsSettings, read_arrays

    items = read_arrays(path, "a BATS network file (is it there? write one with "
                              "`brainconv train-bats --out FILE`)")
    if int(items.get("format", -1)) != NETWORK_FORMAT:
        raise ParameterError(f"{path} is not a BATS network file of format {NETWORK_FORMAT} "
                             "(an ANN file? run those with `brainconv run --ann`)")
    weights = [items[f"W{i}"] for i in range(len(items["thresholds"]))]
    settings = BatsSettings(tuple(items["thresholds"].tolist()), float(items["tau_s"]),
                            float(items["dt"]), float(items["t_max"]),
                            tuple(int(k) for k in items["max_spikes"]),
                            tuple(items["targets"].tolist()))
    training = {k[len("training_"):]: v.item() for k, v in items.items()
                if k.startswith("training_")}
    return weights, settings, float(items["t_in"]), training


def _ttfs_data(args, split, limit, t_in):
    """Input spike times, labels and the pixels they encode (the first ``limit``; 0: all)."""
    from ..data import load_dataset
    from .events import ttfs_encode

    print(f"loading {args.dataset} ({split})", flush=True)
    x, y = load_dataset(args.dataset, split, args.data_dir)
    if limit:
        x, y = x[:limit], y[:limit]
    return ttfs_encode(x, t_in), y, x


def train_command(args):
    """Train a BATS network on the training split, score it on the test split, save it."""
    from ..results import check_output_path
    from .training import train_bats

    check_output_path(args.out, "--out")
    checkpoint = args.checkpoint or f"{args.out}.checkpoint.npz"
    check_output_path(checkpoint, "--checkpoint")
    thresholds = args.thresholds or [0.2] * len(args.hidden) + [1.3]
    for option, value in (("--train-samples", args.train_samples),
                          ("--test-samples", args.test_samples)):
        if value < 0:
            raise ParameterError(f"{option} must be >= 0 (0: all), got {value}")
    x, y, _ = _ttfs_data(args, "train", args.train_samples, args.t_in * 1e-3)
    test = _ttfs_data(args, "test", args.test_samples, args.t_in * 1e-3)[:2]
    sizes = "-".join(str(n) for n in (x.shape[1], *args.hidden, 10))
    print(f"training {sizes} CuBa-LIF with BATS: {args.epochs} epochs x {len(y)} images, dt "
          f"{args.dt:g} ms, seed {args.seed} (checkpoint {checkpoint})", flush=True)
    args.interrupt_note = f"the finished epochs are in {checkpoint}; run again to resume"
    weights, history = train_bats(
        x, y, hidden=tuple(args.hidden), thresholds=tuple(thresholds), tau_s=args.tau_s * 1e-3,
        dt=args.dt * 1e-3, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed, max_spikes=args.max_spikes, t_max=args.t_max * 1e-3, n_classes=10,
        init_range=args.init_range,
        test=test, checkpoint=checkpoint, progress=True)
    settings = history["settings"]
    epochs = history["epochs"]
    final = float(epochs["test_accuracy"][-1]) if len(epochs["test_accuracy"]) else np.nan
    save_network(args.out, weights, settings, args.t_in * 1e-3,
                 {"data": args.dataset, "seed": args.seed, "epochs": args.epochs,
                  "samples": len(y), "test_accuracy": final})
    print(f"test accuracy {100 * final:.2f} % on {len(test[1])} images; saved {args.out}",
          flush=True)
    return weights, history


def run_command(args):
    """Run a BATS network file on the test split (event-driven, and Brian2 with --device)."""
    from .training import evaluate

    weights, settings, t_in, training = load_network(args.network)
    if args.device and args.out:
        from ..results import check_output_path

        check_output_path(args.out, "--out")
    if training.get("data") not in (None, args.dataset):
        print(f"warning: {args.network} was trained on {training['data']!r} and runs here on "
              f"{args.dataset!r}; pass --dataset {training['data']}", flush=True)
    x, y, pixels = _ttfs_data(args, "test", args.limit, t_in)
    start = time.perf_counter()
    ref = evaluate(weights, x, y, settings)
    spikes = " / ".join(f"{s:.3f}" for s in ref["spikes_per_neuron"])
    print(f"event-driven reference at dt {1e3 * settings.dt:g} ms: accuracy "
          f"{100 * ref['accuracy']:.2f} % on {len(y)} images, spikes per neuron {spikes} "
          f"({time.perf_counter() - start:.1f} s)", flush=True)
    if not args.device:
        return ref
    from dataclasses import replace

    from ..results import save_results
    from ..simulation import simulate
    from .network import cuba_network

    dt_ms = args.dt if args.dt is not None else (1e3 * settings.dt or 1.0)
    steps = int(round(1e3 * settings.t_max / dt_ms))
    spec = cuba_network(weights, settings.thresholds, tau_s=settings.tau_s, t_window=t_in,
                        max_spikes=settings.max_spikes)
    start = time.perf_counter()
    ds = simulate(spec, pixels, y, steps, device=args.device, dt=dt_ms, progress=True,
                  notify=lambda message: print(message, flush=True),
                  attrs={"dataset": args.dataset, "bats_network": str(args.network)})
    counts = ds["output_spikes"].values.sum(axis=1)
    grid_ref = evaluate(weights, x, y, replace(settings, dt=dt_ms * 1e-3))
    same = float(np.mean(np.argmax(counts, axis=1) == np.argmax(grid_ref["counts"], axis=1)))
    print(f"brian2 {args.device} at dt {dt_ms:g} ms: accuracy "
          f"{100 * float(np.mean(np.argmax(counts, axis=1) == y)):.2f} % "
          f"({time.perf_counter() - start:.1f} s); event-driven reference at the same dt: "
          f"{100 * grid_ref['accuracy']:.2f} %; same predictions {100 * same:.2f} %, output "
          f"counts differing {int(np.sum(counts != grid_ref['counts']))} of {counts.size}",
          flush=True)
    if args.out:
        save_results(ds, args.out)
        print(f"saved {args.out}", flush=True)
    return ds


def add_commands(command, data_options):
    """Add ``train-bats`` and ``run-bats`` to the ``brainconv`` parser (``brainconv.cli``)."""
    p = command("train-bats", "train a spike-time CuBa-LIF network with BATS (.npz)")
    data_options(p, "mnist")
    p.add_argument("--hidden", type=int, nargs="+", default=[800], help="hidden layer sizes")
    p.add_argument("--thresholds", type=float, nargs="+", default=None,
                   help="one per layer, hidden then output (default 0.2 per hidden, 1.3)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs")
    p.add_argument("--batch-size", type=int, default=50, help="samples per Adam step")
    p.add_argument("--lr", type=float, default=0.003, help="Adam learning rate")
    p.add_argument("--dt", type=float, default=0.0,
                   help="Cojocaru's grid in ms for the times passed on (0: continuous)")
    p.add_argument("--tau-s", type=float, default=130.0, help="synaptic time constant, ms")
    p.add_argument("--t-max", type=float, default=200.0, help="time per image, ms")
    p.add_argument("--t-in", type=float, default=100.0, help="TTFS input window, ms")
    p.add_argument("--max-spikes", type=int, default=30, help="spike buffer per neuron")
    p.add_argument("--init-range", type=float, default=1.0,
                   help="initial weights U(-r, r) (BATS: 1 for 784 inputs; small inputs such "
                   "as digits' 64 need more for the outputs to spike at all)")
    p.add_argument("--train-samples", type=int, default=0, help="first N images (0: all)")
    p.add_argument("--test-samples", type=int, default=0, help="first N images (0: all)")
    p.add_argument("--checkpoint", default=None,
                   help="per-epoch checkpoint, resumed from (default: OUT.checkpoint.npz)")
    p.add_argument("--out", default="bats.npz", help="where to save the network")
    p.set_defaults(func=train_command)

    p = command("run-bats", "run a network of `brainconv train-bats` on the test set")
    data_options(p, "mnist")
    p.add_argument("network", help=".npz file written by `brainconv train-bats`")
    p.add_argument("--device", default=None, choices=["cpp_standalone", "runtime", "numpy"],
                   help="also simulate it in Brian2 (cuba_lif) on this device")
    p.add_argument("--dt", type=float, default=None,
                   help="Brian2's step in ms (default: the network's dt, or 1 ms)")
    p.add_argument("--limit", type=int, default=0, help="first N test images (0: all)")
    p.add_argument("--out", default=None, help="with --device: results file (NetCDF)")
    p.set_defaults(func=run_command)
