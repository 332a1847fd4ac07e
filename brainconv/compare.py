"""Run several spiking paradigms on one ANN and rank them on accuracy, time and spikes.

Think Fast's point is that the paradigm is a user's choice between accuracy, inference time and
spikes ("time control"). :func:`compare` converts the same ANN into every paradigm in
:data:`PARADIGMS` (or a chosen subset), simulates each on the same test images, and returns one
row per paradigm; :func:`pareto_optimal` marks the paradigms no other paradigm beats on all
three counts, and :func:`plot_pareto` draws the trade-off.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from .analysis import (accuracy_over_time, check_target, spikes_per_timestep,
                       time_to_accuracy)
from .convert import convert
from .errors import BrainconvError, ParameterError
from .results import load_results, save_results
from .simulate import simulate


@dataclass(frozen=True)
class Paradigm:
    """How to convert an ANN into one spiking paradigm (arguments of :func:`convert`).

    ``model`` is a model name, or a tuple of names, one per layer.
    """

    model: object
    normalization: str = "percentile"
    parameters: dict = field(default_factory=dict)
    description: str = ""


#: The registered paradigms; each new model in ``equations/`` should add its entry here.
PARADIGMS = {
    "rate_soft": Paradigm("if_soft", description="non-leaky IF rate code, reset by subtraction"),
    "rate_hard": Paradigm("if_hard", description="non-leaky IF rate code, reset to zero"),
    # Raw weights: after normalization nearly every input lies below the LIF's rheobase
    # theta (1 - 1/R) = 0.9 and the network falls silent (experiments/think_fast/README.md).
    "lif": Paradigm("lif", "none", {"R": 10.0},
                    "leaky rate code (LIF), leak rate constant R = 10, raw weights"),
    "accumulator": Paradigm("accumulator", "none", {"k": 100},
                            "non-leaky accumulator, up to 100 spikes per step, raw weights"),
    "leaky_accumulator": Paradigm("leaky_accumulator", "none", {"k": 100, "R": 10.0},
                                  "leaky accumulator, R = 10, k = 100, raw weights"),
    "ion": Paradigm("ion", "none", {"size": 7},
                    "Interfering Offset Neurons, 7 ternary IF per unit, raw weights"),
    "len": Paradigm("len", parameters={"size": 9, "R": 10.0},
                    description="LIF Ensemble Neurons, 9 LIF per unit (intercepts 0.1..0.9)"),
}


def check_paradigms(paradigms):
    """The chosen paradigms as a dict ``name -> Paradigm``; raise for unknown names.

    Parameters
    ----------
    paradigms : sequence of str, dict or None
        Names from :data:`PARADIGMS` (None: all), or a dict of one's own variants.
    """
    if isinstance(paradigms, dict):
        return dict(paradigms)
    names = list(PARADIGMS) if paradigms is None else list(paradigms)
    unknown = [name for name in names if name not in PARADIGMS]
    if unknown or not names:
        raise ParameterError(
            f"unknown or no paradigms {unknown}; known: {', '.join(PARADIGMS)}")
    return {name: PARADIGMS[name] for name in names}


def compare(ann, calibration, x, labels, steps, target, paradigms=None,
            device="cpp_standalone", batch_size=None, progress=None, checkpoint_dir=None,
            notify=None):
    """Simulate ``ann`` in each paradigm and collect the trade-off numbers.

    Parameters
    ----------
    ann : ANN
    calibration : ndarray
        Training inputs for data-based normalization.
    x, labels : ndarray
        Test inputs and labels.
    steps : int
        Timesteps per sample.
    target : float
        Accuracy in (0, 1] for "timesteps to reach the target" (Think Fast used the leaky rate
        code's 0.8022).
    paradigms : sequence of str or dict, optional
        Names from :data:`PARADIGMS` (default: all), or a dict ``name -> Paradigm`` for
        variants of one's own.
    progress : callable, optional
        Called as ``progress(name, reused)`` before each paradigm (``reused``: its checkpoint
        is used).
    checkpoint_dir : str or Path, optional
        Each paradigm's simulation is saved there as ``<name>.nc`` (atomically) and reused
        on a later call only if everything it depends on is the same — the ANN's weights, the
        calibration and test data, steps, device, batch size, the paradigm's model, parameters
        and normalization, the brainconv and Brian2 versions (a hash of all of them, the
        ``cache_key`` attribute) — so an interrupted sweep resumes and a changed input is
        recomputed.
    notify : callable, optional
        Passed to :func:`brainconv.simulate.simulate` (compile and cache messages).

    Returns
    -------
    xarray.Dataset
        Dims ``paradigm`` and ``time``: ``accuracy`` (at the last step), ``time_to_target``
        (NaN where never reached), ``spikes_per_step`` (first hidden layer, per ANN unit: an
        ensemble's member spikes count, a payload event counts once; over the steps to the
        target, or all steps), ``spikes_per_step_all`` (the same over all steps),
        ``accuracy_over_time`` and ``pareto_optimal``. The ANN itself
        is the row ``ann`` (one "timestep", one value per unit per step).
    """
    check_target(target)
    chosen = check_paradigms(paradigms)
    if len(x) == 0:
        raise ParameterError("compare() got 0 test samples; pass at least one")
    inputs = _fingerprint(ann, calibration, x, labels, steps, device, batch_size)
    ann_accuracy = ann.accuracy(x, labels)
    rows = {"ann": (ann_accuracy, 1.0, 1.0, 1.0, np.full(steps, ann_accuracy))}
    for name, paradigm in chosen.items():
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name}.nc"
        key = _fingerprint(inputs, paradigm.model, paradigm.normalization,
                           sorted(paradigm.parameters.items()))
        ds = _cached(checkpoint, key)
        if progress:
            progress(name, ds is not None)
        if ds is None:
            ds = _simulate_paradigm(ann, paradigm, calibration, x, labels, steps, device,
                                    batch_size, checkpoint, key, notify)
        reached = time_to_accuracy(ds, target)
        rate = spikes_per_timestep(ds, upto=reached or steps).isel(layer=0)
        rate_all = spikes_per_timestep(ds).isel(layer=0)
        curve = accuracy_over_time(ds).values
        rows[name] = (float(curve[-1]), np.nan if reached is None else float(reached),
                      float(rate), float(rate_all), curve)
    accuracy, reached, spikes, spikes_all, curves = (
        np.array([row[i] for row in rows.values()]) for i in range(5))
    result = xr.Dataset(
        {
            "accuracy": ("paradigm", accuracy, {"long_name": f"accuracy after {steps} steps",
                                                "units": "1"}),
            "time_to_target": ("paradigm", reached, {
                "long_name": f"timesteps to reach accuracy {target}", "units": "timestep"}),
            "spikes_per_step": ("paradigm", spikes, {
                "long_name": "first hidden layer spikes per timestep per neuron, up to the "
                             "target", "units": "spikes / timestep / neuron"}),
            "spikes_per_step_all": ("paradigm", spikes_all, {
                "long_name": "first hidden layer spikes per timestep per neuron, all steps",
                "units": "spikes / timestep / neuron"}),
            "accuracy_over_time": (("paradigm", "time"), curves, {
                "long_name": "accuracy", "units": "1"}),
        },
        coords={"paradigm": list(rows), "time": np.arange(1, steps + 1)},
        attrs={"target": float(target), "steps": int(steps), "n_samples": int(len(x)),
               "device": device},
    )
    result["pareto_optimal"] = ("paradigm", pareto_optimal(accuracy, reached, spikes),
                                {"long_name": "no other paradigm is at least as good on all "
                                 "of accuracy, time to target and spikes, and better on one",
                                 "units": "1"})
    return result


def _fingerprint(*parts):
    """sha256 of everything a result depends on: arrays (by content), ANNs, numbers, names."""
    import hashlib

    import brian2
    import scipy.sparse

    from . import __version__
    from .ann import ANN

    digest = hashlib.sha256(f"brainconv {__version__} brian2 {brian2.__version__}".encode())

    def add(part):
        if isinstance(part, ANN):
            for item in (*part.weights, *part.biases, part.activation,
                         repr(part.activation_params)):
                add(item)
        elif scipy.sparse.issparse(part):
            csr = part.tocsr()
            for item in (csr.shape, csr.data, csr.indices, csr.indptr):
                add(item)
        elif isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")

    for part in parts:
        add(part)
    return digest.hexdigest()


def _cached(checkpoint, key):
    """The dataset saved at ``checkpoint`` if it was computed from the same inputs, else None."""
    if checkpoint is None or not checkpoint.exists():
        return None
    try:
        ds = load_results(checkpoint)
    except BrainconvError:  # unreadable or truncated: recompute it
        return None
    return ds if ds.attrs.get("cache_key") == key else None


def _simulate_paradigm(ann, paradigm, calibration, x, labels, steps, device, batch_size,
                       checkpoint, key, notify=None):
    """One paradigm's results dataset; saved at ``checkpoint`` with its ``cache_key``."""
    spec = convert(ann, model=paradigm.model, data=calibration,
                   normalization=paradigm.normalization, parameters=paradigm.parameters)
    ds = simulate(spec, x, labels, steps, device=device, batch_size=batch_size,
                  notify=notify, progress=notify is not None)
    if checkpoint is not None:
        ds.attrs["cache_key"] = key
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        save_results(ds, checkpoint)
    return ds


def pareto_optimal(accuracy, time_to_target, spikes):
    """Mask of the points no other point dominates (higher accuracy, fewer steps and spikes).

    A point that never reaches the target (NaN time) counts as infinitely slow.
    """
    scores = np.column_stack([-np.asarray(accuracy, float),
                              np.nan_to_num(np.asarray(time_to_target, float), nan=np.inf),
                              np.asarray(spikes, float)])
    better_or_equal = (scores[:, None, :] <= scores[None, :, :]).all(axis=2)
    strictly_better = (scores[:, None, :] < scores[None, :, :]).any(axis=2)
    dominated = (better_or_equal & strictly_better).any(axis=0)
    return (~dominated).astype(np.int8)


def row_cells(result, name):
    """Accuracy %, timesteps to the target ("never" if not reached) and spikes per step of one
    paradigm of :func:`compare`'s result, formatted for a markdown table."""
    row = result.sel(paradigm=name)
    reached = float(row["time_to_target"])
    return (f"{100 * float(row['accuracy']):.2f}",
            "never" if np.isnan(reached) else str(int(reached)),
            f"{float(row['spikes_per_step']):.3f}")


def ranking_table(result):
    """Markdown table of ``compare``'s result, Pareto-optimal paradigms first."""
    order = sorted(result["paradigm"].values, key=lambda name: (
        -int(result["pareto_optimal"].sel(paradigm=name)),
        -float(result["accuracy"].sel(paradigm=name))))
    target = 100 * result.attrs["target"]
    lines = [f"| paradigm | accuracy % | timesteps to {target:.2f} % | spikes/step/unit | Pareto |",
             "| --- | ---: | ---: | ---: | :---: |"]
    for name in order:
        optimal = "yes" if int(result["pareto_optimal"].sel(paradigm=name)) else ""
        lines.append(f"| {name} | " + " | ".join(row_cells(result, name)) + f" | {optimal} |")
    return "\n".join(lines)


def plot_pareto(result, ax=None):
    """Scatter: timesteps to target vs spikes per step, colour = accuracy; Pareto set ringed.

    Returns the axes; never calls ``plt.show()``.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4.5)).add_subplot()
    reached = result["time_to_target"].values
    steps = result.attrs["steps"]
    shown = np.where(np.isnan(reached), steps * 1.2, reached)  # never reached: past the end
    points = ax.scatter(shown, result["spikes_per_step"].values,
                        c=100 * result["accuracy"].values, cmap="viridis", s=60, zorder=3)
    optimal = result["pareto_optimal"].values.astype(bool)
    ax.scatter(shown[optimal], result["spikes_per_step"].values[optimal], s=180,
               facecolors="none", edgecolors="red", label="Pareto-optimal", zorder=2)
    for name, px, py in zip(result["paradigm"].values, shown, result["spikes_per_step"].values):
        ax.annotate(str(name), (px, py), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(f"timesteps to reach {100 * result.attrs['target']:.2f} % (log)")
    ax.set_ylabel("spikes per timestep per unit")
    ax.figure.colorbar(points, ax=ax, label="accuracy (%)")
    ax.legend(loc="best", fontsize=8)
    return ax
