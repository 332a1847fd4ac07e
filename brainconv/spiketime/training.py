"""Train and run spike-time CuBa-LIF networks: BATS' loss, exact gradients and Adam, by epochs.

The forward and backward passes come from an *engine* (:data:`ENGINES`): ``"compiled"`` (the
default: :mod:`.compiled`, a numba event loop per sample on all cores) or ``"numpy"`` (the
reference: :func:`.events.simulate_events` and :func:`.gradients.backward_events`, which the
compiled engine is tested against). Per-sample gradients are averaged over the batch and fed to
Adam (0.9, 0.999, 1e-8).

Long runs: ``checkpoint=`` keeps the weights, Adam's moments and the history after every
epoch (written atomically), and a run started again with the same inputs resumes after the
last finished epoch, with the same result as an uninterrupted run (each epoch's shuffle is
drawn from ``(seed, epoch)``). Ctrl-C loses at most the epoch in progress.
"""

import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError, ShapeError
from .events import check_network_inputs, seconds, simulate_events
from .gradients import backward_events, count_loss

__all__ = ["ENGINES", "BatsSettings", "check_settings", "evaluate", "predict", "train_bats"]

#: Version of the checkpoint file; a file of another version is not resumed from.
CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class BatsSettings:
    """Everything but the weights that decides a batch's spikes, loss and gradients."""

    thresholds: tuple
    tau_s: float
    dt: float
    t_max: float
    max_spikes: tuple
    targets: tuple = (15.0, 3.0)
    backward_times: str = "received"


def _numpy_engine(weights, x, labels, settings, train):
    s = settings
    result = simulate_events(weights, s.thresholds, x, tau_s=s.tau_s, dt=s.dt, t_max=s.t_max,
                             max_spikes=s.max_spikes, record=train)
    loss, err = count_loss(result.counts, labels, s.targets)
    grads = None
    if train:
        out_err = np.where(np.isfinite(result.layers[-1].times), err[:, :, None], 0.0)
        grads = backward_events(result, weights, out_err, s.backward_times)
    return grads, [layer.counts for layer in result.layers], loss


def _compiled_engine(weights, x, labels, settings, train):
    from .compiled import run_batch  # numba compiles (or loads its cache) on first use

    s = settings
    out = run_batch(weights, s.thresholds, s.max_spikes, x, labels, s.targets, s.tau_s, s.dt,
                    s.t_max, continuous=s.backward_times == "continuous", train=train)
    return out["grads"], out["counts"], out["loss"]


#: Engines by name: ``engine(weights, x, labels, settings, train) -> (grads, counts, loss)``,
#: ``grads`` the per-layer gradients summed over the samples (None unless ``train``),
#: ``counts`` each layer's ``(samples, n)`` spike counts, ``loss`` per sample.
ENGINES = {"compiled": _compiled_engine, "numpy": _numpy_engine}


def _engine(name):
    try:
        return ENGINES[name]
    except KeyError:
        raise ParameterError(f"unknown engine {name!r}; choose one of {sorted(ENGINES)} "
                             "('compiled' is the fast one, 'numpy' the reference)") from None


def check_settings(thresholds, tau_s, dt, t_max, max_spikes, targets, backward_times, n_layers):
    """:class:`BatsSettings` from the arguments of :func:`train_bats`, checked (times in s)."""
    tau_s, dt, t_max = seconds("tau_s", tau_s), seconds("dt", dt), seconds("t_max", t_max)
    ks = np.atleast_1d(np.asarray(max_spikes))
    ks = tuple(int(k) for k in (np.repeat(ks, n_layers) if ks.size == 1 else ks))
    if dt >= t_max:
        raise ParameterError(f"dt={dt:g} s is not below t_max={t_max:g} s: every time passed "
                             "on, d(t) >= dt, would fall after the window; choose a smaller dt")
    if len(targets) != 2 or not (float(targets[0]) > float(targets[1]) >= 0):
        raise ParameterError(f"targets must be (true class, other classes) with true > other "
                             f">= 0 spikes, e.g. (15, 3); got {tuple(targets)}")
    if backward_times not in ("received", "continuous"):
        raise ParameterError(f"backward_times must be 'received' or 'continuous', got "
                             f"{backward_times!r}")
    return BatsSettings(tuple(float(v) for v in thresholds), tau_s, dt, t_max, ks,
                        (float(targets[0]), float(targets[1])), backward_times)


def _check_labels(x, labels, n_classes, name):
    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise ShapeError(f"{name} labels must be ({len(x)},) to match its input times, got "
                         f"{y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0
                   or y.max() >= n_classes):
        raise ParameterError(f"{name} labels must be ints in [0, {n_classes}), got dtype "
                             f"{y.dtype}, range [{y.min()}, {y.max()}]")
    return y.astype(np.int64)


def evaluate(weights, x_times, labels, settings, engine="compiled", batch_size=500):
    """Accuracy and spikes per neuron per sample of each layer.

    Returns
    -------
    dict
        ``accuracy`` (float), ``loss`` (mean), ``spikes_per_neuron`` (one float per layer),
        ``counts`` (the output layer's, (samples, n_out)).
    """
    run = _engine(engine)
    y = np.asarray(labels, dtype=np.int64)
    counts, spikes, loss = [], np.zeros(len(weights)), 0.0
    for b0 in range(0, len(y), batch_size):
        _, layer_counts, batch_loss = run(weights, x_times[b0:b0 + batch_size],
                                          y[b0:b0 + batch_size], settings, False)
        counts.append(layer_counts[-1])
        spikes += [c.sum() for c in layer_counts]
        loss += float(batch_loss.sum())
    counts = np.concatenate(counts) if counts else np.zeros((0, weights[-1].shape[1]), int)
    n = max(1, len(y))
    return {"accuracy": float(np.mean(np.argmax(counts, axis=1) == y)) if len(y) else np.nan,
            "loss": loss / n, "counts": counts,
            "spikes_per_neuron": [float(s) / (n * w.shape[1]) for s, w in zip(spikes, weights)]}


def predict(weights, x_times, thresholds=(0.2, 1.3), tau_s=0.13, dt=0.0, t_max=0.2,
            max_spikes=30, batch_size=500, engine="compiled"):
    """Class = argmax of the output spike counts (ties to the lowest index, as ``cp.argmax``).

    Returns
    -------
    labels : ndarray of int, (samples,)
    counts : ndarray of int, (samples, n_out)
    """
    weights = [np.asarray(w, dtype=float) for w in weights]
    settings = check_settings(thresholds, tau_s, dt, t_max, max_spikes, (15, 3), "received",
                         len(weights))
    weights, _, x, _ = check_network_inputs(weights, settings.thresholds, x_times,
                                            settings.tau_s, settings.dt, settings.t_max,
                                            settings.max_spikes)
    counts = evaluate(weights, x, np.zeros(len(x), np.int64), settings, engine,
                      batch_size)["counts"]
    return np.argmax(counts, axis=1), counts


def read_arrays(path, unreadable):
    """The arrays of an ``.npz`` file; ``unreadable`` (the fix) completes the error message."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as error:
        raise ParameterError(f"{path} cannot be read as {unreadable}") from None


def write_arrays(path, arrays):
    """Write ``arrays`` as an ``.npz`` file atomically (a crash leaves the old file or none)."""
    from ..cache import atomic_write

    def write(tmp):
        with open(tmp, "wb") as handle:  # a handle: np.savez would add ".npz" to tmp's name
            np.savez(handle, **arrays)

    atomic_write(path, write)


def _load_checkpoint(path, key, epochs):
    """The state saved at ``path`` if it was written by a run with the same inputs."""
    if path is None or not Path(path).exists():
        return None
    state = read_arrays(path, "a checkpoint; delete it to train from the start")
    if int(state.get("format", -1)) != CHECKPOINT_FORMAT or str(state["key"]) != key:
        raise ParameterError(f"checkpoint {path} was written by a run with other inputs "
                             "(data, network, settings or engine); name another file, or "
                             "delete it to train from the start")
    if int(state["epochs_done"]) > epochs:
        raise ParameterError(f"checkpoint {path} holds {int(state['epochs_done'])} epochs, "
                             f"more than the {epochs} asked for; ask for at least as many or "
                             "name another file")
    return state


def _save_checkpoint(path, key, weights, m, v, step, epochs_done, history):
    arrays = {"format": CHECKPOINT_FORMAT, "key": key, "step": step, "epochs_done": epochs_done}
    for name, group in (("W", weights), ("m", m), ("v", v)):
        arrays.update({f"{name}{i}": a for i, a in enumerate(group)})
    arrays.update({f"history_{k}": np.asarray(val) for k, val in history.items()})
    write_arrays(path, arrays)


def _epoch_line(epoch, epochs, row):
    test = (f", test {100 * row['test_accuracy']:.2f} %"
            if np.isfinite(row["test_accuracy"]) else "")
    spikes = " / ".join(f"{s:.3f}" for s in row["spikes_per_neuron"])
    return (f"epoch {epoch + 1}/{epochs}: train {100 * row['train_accuracy']:.2f} % (loss "
            f"{row['train_loss']:.2f}){test}, spikes per neuron {spikes}, "
            f"{row['seconds']:.0f} s")


def train_bats(x_times, labels, hidden=(800,), thresholds=(0.2, 1.3), tau_s=0.13, dt=0.0,
               epochs=1, batch_size=50, lr=0.003, seed=0, max_spikes=30, t_max=0.2,
               targets=(15, 3), n_classes=None, init_range=1.0, weights=None,
               backward_times="received", progress=None, engine="compiled", test=None,
               checkpoint=None, lr_halving_epochs=None):
    """Train a CuBa-LIF network with BATS' spike-count loss, exact gradients and Adam.

    Parameters
    ----------
    x_times : ndarray, (samples, n_inputs)
        Input spike times (e.g. :func:`ttfs_encode`), ``np.inf`` for none.
    labels : ndarray of int, (samples,)
    hidden : tuple of int
        Hidden layer sizes.
    thresholds : tuple of float
        One per layer, hidden then output (BATS MNIST: 0.2, 1.3).
    tau_s, dt, t_max, max_spikes
        As in :func:`simulate_events`: times as numbers of seconds or Brian2 times; ``dt``
        below ``t_max`` (it need not divide it: Cojocaru's 3 and 9 ms grids do not divide
        200 ms; a time whose ``d(t)`` falls after ``t_max`` is not passed on).
    epochs, batch_size, lr : int, int, float
    seed : int
        Seeds the weight init (``default_rng(seed)``) and each epoch's shuffle
        (``default_rng((seed, epoch))``).
    targets : (float, float)
        Target counts, true class and others (true > others).
    n_classes : int, optional
        Output size; default ``max(labels) + 1``.
    init_range : float
        Initial weights ``U(-init_range, init_range)``; BATS uses 1 (784 inputs). Small
        toy inputs need larger weights to make the outputs spike at all: a silent output
        gets no gradient.
    weights : list of ndarray, optional
        Start from these (copied) instead of the random init.
    backward_times : "received" or "continuous"
        See :func:`backward_events`.
    progress : callable or bool, optional
        ``True``: a progress bar on stderr (samples/s, loss, accuracy) and one line per epoch;
        ``None`` or ``False``: silent.
        A callable is called as ``progress(epoch, batch, loss, accuracy)`` after each batch.
    engine : str
        A key of :data:`ENGINES`: ``"compiled"`` (default) or ``"numpy"`` (the reference).
    test : (ndarray, ndarray), optional
        Input times and labels scored after every epoch (``history["epochs"]``).
    checkpoint : str or path, optional
        ``.npz`` file: written after every epoch, resumed from when it exists and was
        written by a run with the same inputs (refused otherwise).
    lr_halving_epochs : int, optional
        Halve the learning rate every this many epochs (Cojocaru's Fashion-MNIST: 10).

    Returns
    -------
    weights : list of ndarray
    history : dict
        Per batch ``"epoch"``, ``"loss"`` (mean over the batch, before the update) and
        ``"accuracy"``; ``"epochs"``: per epoch ``train_loss``, ``train_accuracy``,
        ``test_accuracy`` (NaN without ``test``), ``spikes_per_neuron`` (train, per layer),
        ``test_spikes_per_neuron`` and ``seconds``; ``"seconds"`` and ``"samples_per_s"`` of
        the epochs trained in this call; ``"settings"``, the checked :class:`BatsSettings`.
    """
    from .compiled import adam_step  # one Adam for every engine (element-wise, in place)

    run = _engine(engine)
    labels_arr = np.asarray(labels)
    if labels_arr.size == 0:
        raise ParameterError("train_bats got 0 training samples: the random initial weights "
                             "would come back as trained; give x_times and labels of at least "
                             "one sample")
    n_classes = int(labels_arr.max()) + 1 if n_classes is None else int(n_classes)
    x = np.asarray(x_times, dtype=float)
    if x.ndim != 2:
        raise ShapeError(f"x_times must be (samples, n_inputs), got shape {x.shape}")
    y = _check_labels(x, labels_arr, n_classes, "training")
    sizes = [x.shape[1], *(int(h) for h in hidden), n_classes]
    if len(thresholds) != len(sizes) - 1:
        raise ParameterError(f"thresholds needs one value per layer ({len(sizes) - 1}: hidden "
                             f"{tuple(hidden)} then output), got {tuple(thresholds)}.")
    if not (int(batch_size) >= 1 and int(epochs) >= 0 and 0 < lr < np.inf):
        raise ParameterError(f"need batch_size >= 1, epochs >= 0, a finite lr > 0; got "
                             f"{batch_size}, {epochs}, {lr}.")
    if lr_halving_epochs is not None and int(lr_halving_epochs) < 1:
        raise ParameterError(f"lr_halving_epochs must be >= 1 or None, got {lr_halving_epochs}")
    settings = check_settings(thresholds, tau_s, dt, t_max, max_spikes, targets, backward_times,
                         len(sizes) - 1)
    rng = np.random.default_rng(seed)
    if weights is None:
        weights = [rng.uniform(-init_range, init_range, size=(a, b))
                   for a, b in zip(sizes[:-1], sizes[1:])]
    else:
        weights = [np.array(W, dtype=float) for W in weights]
    checked = (settings.thresholds, settings.tau_s, settings.dt, settings.t_max,
               settings.max_spikes)
    weights, _, x, _ = check_network_inputs(weights, checked[0], x, *checked[1:])
    if test is not None:
        _, _, test_x, _ = check_network_inputs(weights, checked[0], test[0], *checked[1:])
        test = (test_x, _check_labels(test_x, test[1], n_classes, "test"))
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ParameterError(f"checkpoint {checkpoint}: the folder "
                             f"{Path(checkpoint).parent} does not exist; create it first")
    from ..cache import digest

    key = digest("bats", x, y, weights, settings, int(batch_size), float(lr), int(seed),
                 lr_halving_epochs, engine, None if test is None else test)
    m = [np.zeros_like(W) for W in weights]
    v = [np.zeros_like(W) for W in weights]
    history = {"epoch": [], "loss": [], "accuracy": []}
    epoch_keys = ("train_loss", "train_accuracy", "test_accuracy", "spikes_per_neuron",
                  "test_spikes_per_neuron", "seconds")
    log = {k: [] for k in epoch_keys}
    step, first_epoch = 0, 0
    state = _load_checkpoint(checkpoint, key, int(epochs))
    if state is not None:
        L = len(weights)
        weights = [state[f"W{i}"].copy() for i in range(L)]
        m = [state[f"m{i}"].copy() for i in range(L)]
        v = [state[f"v{i}"].copy() for i in range(L)]
        step, first_epoch = int(state["step"]), int(state["epochs_done"])
        history = {k: list(state[f"history_{k}"]) for k in history}
        log = {k: list(state[f"history_epoch_{k}"]) for k in epoch_keys}

    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(x) * int(epochs), initial=len(x) * first_epoch, unit="sample",
                   desc="train_bats", file=sys.stderr, dynamic_ncols=True)
    trained, start = 0, time.perf_counter()
    try:
        for epoch in range(first_epoch, int(epochs)):
            epoch_start = time.perf_counter()
            rate = lr * 0.5 ** (epoch // int(lr_halving_epochs)) if lr_halving_epochs else lr
            order = np.random.default_rng((int(seed), epoch)).permutation(len(x))
            spikes, correct, loss_sum = np.zeros(len(weights)), 0, 0.0
            for b0 in range(0, len(x), int(batch_size)):
                idx = order[b0:b0 + int(batch_size)]
                grads, counts, loss = run(weights, x[idx], y[idx], settings, True)
                step += 1
                adam_step(weights, grads, m, v, step, rate, len(idx))
                hits = int(np.sum(np.argmax(counts[-1], axis=1) == y[idx]))
                correct, loss_sum = correct + hits, loss_sum + float(loss.sum())
                spikes += [c.sum() for c in counts]
                history["epoch"].append(epoch)
                history["loss"].append(float(loss.mean()))
                history["accuracy"].append(hits / len(idx))
                trained += len(idx)
                if bar is not None:
                    bar.update(len(idx))
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss.mean():.2f}",
                                    acc=f"{hits / len(idx):.2f}", refresh=False)
                elif callable(progress):
                    progress(epoch, b0 // int(batch_size), float(loss.mean()), hits / len(idx))
            scored = (evaluate(weights, test[0], test[1], settings, engine) if test is not None
                      else {"accuracy": np.nan, "spikes_per_neuron": [np.nan] * len(weights)})
            row = {"train_loss": loss_sum / len(x), "train_accuracy": correct / len(x),
                   "test_accuracy": scored["accuracy"],
                   "spikes_per_neuron": spikes / (len(x) * np.array(sizes[1:])),
                   "test_spikes_per_neuron": np.asarray(scored["spikes_per_neuron"]),
                   "seconds": time.perf_counter() - epoch_start}
            for k in epoch_keys:
                log[k].append(row[k])
            if spikes[-1] == 0:
                warnings.warn(f"the output layer emitted no spike in epoch {epoch + 1}: a "
                              "silent output gets no gradient, so training cannot move; raise "
                              "init_range or lower the thresholds", RuntimeWarning,
                              stacklevel=2)
            if bar is not None:
                bar.write(_epoch_line(epoch, int(epochs), row), file=sys.stderr)
            if checkpoint is not None:
                _save_checkpoint(checkpoint, key, weights, m, v, step, epoch + 1,
                                 {**history, **{f"epoch_{k}": log[k] for k in epoch_keys}})
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    history = {key_: np.asarray(val) for key_, val in history.items()}
    history["epochs"] = {k: np.asarray(val) for k, val in log.items()}
    history["seconds"] = elapsed
    history["samples_per_s"] = trained / elapsed if elapsed > 0 and trained else np.nan
    history["settings"] = settings
    return weights, history
