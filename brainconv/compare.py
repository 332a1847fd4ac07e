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
from .provenance import ann_hash
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
    # Few-spike neurons (Stöckl & Maass 2021): one-off input, layer l active in steps
    # [lK, (l+1)K), so the answer exists after L*K steps; about 1-5 spikes per neuron per sample.
    "fs_relu": Paradigm("fs_relu", parameters={"K": 10, "alpha": 1.0},
                        description="few-spike ReLU, K = 10 steps per layer (latency L*K)"),
    "fs_relu_k6": Paradigm("fs_relu", parameters={"K": 6, "alpha": 1.0},
                           description="few-spike ReLU, K = 6 steps per layer (latency L*K)"),
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
            ds = _simulate_paradigm(name, ann, paradigm, calibration, x, labels, steps, device,
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
            "spikes_per_neuron": ("paradigm", np.where(  # the ANN: one value per unit
                np.array(list(rows)) == "ann", 1.0, spikes_all * steps), {
                "long_name": "first hidden layer spikes per neuron per sample, all steps "
                             "(few-spike neurons: Stöckl & Maass's figure of merit)",
                "units": "spikes / neuron"}),
        },
        coords={"paradigm": list(rows), "time": np.arange(1, steps + 1)},
        attrs={"kind": "comparison", "ann_sha256": ann_hash(ann),
               "target": float(target), "steps": int(steps), "n_samples": int(len(x)),
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


def _simulate_paradigm(name, ann, paradigm, calibration, x, labels, steps, device, batch_size,
                       checkpoint, key, notify=None):
    """One paradigm's results dataset; saved at ``checkpoint`` with its ``cache_key``."""
    spec = convert(ann, model=paradigm.model, data=calibration,
                   normalization=paradigm.normalization, parameters=paradigm.parameters)
    ds = simulate(spec, x, labels, steps, device=device, batch_size=batch_size,
                  notify=notify, progress=notify is not None,
                  attrs={"paradigm": name, "ann_sha256": ann_hash(ann)})
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


#: Variables every comparison result holds (see :func:`compare`).
COMPARISON_VARIABLES = ("accuracy", "time_to_target", "spikes_per_step", "accuracy_over_time",
                        "pareto_optimal")


def save_comparison(result, path):
    """Write :func:`compare`'s result to NetCDF atomically, marked as a comparison.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare`.
    path : str or os.PathLike
        Destination file; its folder must exist. An existing file is replaced.

    Returns
    -------
    pathlib.Path
        ``path``. The file holds the global attribute ``kind = "comparison"``, which
        :func:`load_comparison` checks.

    Raises
    ------
    ParameterError
        If ``result`` is not a comparison (a results dataset of one simulation, say).
    """
    missing = [name for name in COMPARISON_VARIABLES if name not in result]
    if missing or "paradigm" not in result.dims:
        raise ParameterError(
            f"save_comparison needs the result of brainconv.compare.compare(); this dataset "
            f"lacks {', '.join(missing) or 'the paradigm dimension'}; save a single "
            "simulation's results with brainconv.results.save_results instead")
    marked = result.copy()
    marked.attrs = {**result.attrs, "kind": "comparison"}
    return save_results(marked, path)


def load_comparison(path):
    """Read a comparison written by :func:`save_comparison` (or ``brainconv compare --out``).

    Parameters
    ----------
    path : str or os.PathLike
        NetCDF file.

    Returns
    -------
    xarray.Dataset
        Dims ``paradigm`` and ``time``, the variables described in :func:`compare`; global
        attributes as plain Python str/int/float, with ``kind = "comparison"``. The file is
        closed.

    Raises
    ------
    DataError
        If the file is missing, unreadable, or not a comparison (e.g. a results file of a
        single simulation, which :func:`brainconv.results.load_results` reads); the message
        names the file.
    """
    from .errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"comparison file {str(path)!r} not found; write one with "
                        "`brainconv compare --out FILE` or brainconv.compare.save_comparison")
    try:
        ds = xr.load_dataset(path, engine="scipy")
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DataError(f"cannot read comparison file {str(path)!r}: {exc}; the file is "
                        "damaged or not NetCDF3, rerun `brainconv compare`") from exc
    ds.attrs = {k: v.item() if isinstance(v, np.generic) else v for k, v in ds.attrs.items()}
    kind = ds.attrs.get("kind")
    missing = [name for name in COMPARISON_VARIABLES if name not in ds]
    if kind not in (None, "comparison") or missing or "paradigm" not in ds.dims:
        if "output_spikes" in ds and "layer_spikes" in ds:
            what = ("a results file of a single simulation; read it with "
                    "brainconv.results.load_results")
        else:
            what = (f"of kind {kind!r}" if kind not in (None, "comparison") else
                    f"missing {', '.join(missing) or 'the paradigm dimension'}")
        raise DataError(
            f"{str(path)!r} is not a brainconv comparison file (expected kind 'comparison' "
            f"with {', '.join(COMPARISON_VARIABLES)}): it is {what}; give the file written by "
            "`brainconv compare --out` or save_comparison")
    ds.attrs["kind"] = "comparison"
    return ds


# Candidate label positions around a point, in order of preference: unit directions
# (right, up-right, down-right, up, down, left, up-left, down-left), tried at growing distances.
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (0, 1), (0, -1), (-1, 0), (-1, 1), (-1, -1))
_DISTANCES_PT = (6, 12, 20, 30, 42, 56)


def _overlap(a, b):
    """Overlap area of two boxes ``(x0, y0, x1, y1)``."""
    return (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))


def _place_labels(ax, xs, ys, names, marker_radius_pt, fontsize=8, avoid=()):
    """Annotate each point with its name where the label overlaps no other label or marker.

    A deterministic greedy search: points are labelled from left to right (ties: top first);
    each label takes the first candidate position (see ``_DIRECTIONS``, ``_DISTANCES_PT``)
    whose box, padded by 2 pixels, overlaps no label placed before, no marker and stays inside
    the axes, else the candidate with the least overlap. Labels far from their point get a
    thin leader line (so do diagonal ones). ``avoid`` holds more artists to keep clear of (the legend). The axes
    limits must be final.
    """
    figure = ax.figure
    px_per_pt = figure.dpi / 72
    centres = ax.transData.transform(np.column_stack([xs, ys]))
    radius = marker_radius_pt * px_per_pt
    markers = [(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    others = [tuple(artist.get_window_extent().extents) for artist in avoid]
    frame = ax.get_window_extent()
    probes = [ax.annotate(str(name), (x, y), fontsize=fontsize) for name, x, y in
              zip(names, xs, ys)]
    sizes = [(box.width, box.height) for box in (t.get_window_extent() for t in probes)]
    for probe in probes:
        probe.remove()
    texts, placed, pad = [None] * len(sizes), [], 2.0
    for index in sorted(range(len(sizes)), key=lambda i: (centres[i][0], -centres[i][1])):
        (cx, cy), (width, height) = centres[index], sizes[index]
        best = None
        for distance in _DISTANCES_PT:
            gap = radius + distance * px_per_pt
            for dx, dy in _DIRECTIONS:
                x = cx + dx * (gap + width / 2) if dx else cx
                y = cy + dy * (gap + height / 2) if dy else cy
                box = (x - width / 2 - pad, y - height / 2 - pad,
                       x + width / 2 + pad, y + height / 2 + pad)
                cost = sum(_overlap(box, other) for other in placed)
                cost += sum(_overlap(box, m) for j, m in enumerate(markers) if j != index)
                cost += sum(_overlap(box, other) for other in others)
                inside = _overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
                cost += 10 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)
                if best is None or cost < best[0]:
                    best = (cost, x, y, box, distance if dx == 0 or dy == 0 else 2 * distance)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, x, y, box, distance = best
        placed.append(box)
        leader = ({"arrowstyle": "-", "color": "0.5", "lw": 0.6, "shrinkA": 1,
                   "shrinkB": marker_radius_pt} if distance > _DISTANCES_PT[0] else None)
        texts[index] = ax.annotate(
            str(names[index]), (xs[index], ys[index]), textcoords="offset points",
            xytext=((x - cx) / px_per_pt, (y - cy) / px_per_pt), fontsize=fontsize,
            ha="center", va="center", zorder=4, arrowprops=leader)
    return texts


def _log_ticks(low, high):
    """1-2-5 ticks between ``low`` and ``high``."""
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(low))) - 1,
                                          int(np.ceil(np.log10(high))) + 1) for m in (1, 2, 5)]
    return [t for t in ticks if low <= t <= high]


def plot_pareto(result, ax=None):
    """Trade-off of :func:`compare`'s result: timesteps to the target vs spikes per step.

    Each paradigm is a point coloured by its accuracy, labelled with its name (labels placed
    so that they overlap neither each other nor the points); the Pareto-optimal ones are
    ringed. Both axes are logarithmic. Paradigms that never reached the target are drawn with
    an ``X`` at the right edge, in a grey band past the last simulated step whose tick reads
    "never" (legend entry "never reached the target"). A paradigm without spikes is drawn at
    the bottom edge (its label says "0 spikes").

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare` (or :func:`load_comparison`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 7 x 5 inch :class:`matplotlib.figure.Figure`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; ``plt.show()`` is never called.
    """
    from matplotlib.colors import Normalize
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 5)).add_subplot()
    names = [str(name) for name in result["paradigm"].values]
    reached = result["time_to_target"].values.astype(float)
    spikes = result["spikes_per_step"].values.astype(float)
    accuracy = 100 * result["accuracy"].values.astype(float)
    steps = int(result.attrs.get("steps", result.sizes.get("time", 1)))
    target = result.attrs.get("target")
    never = np.isnan(reached)
    x_last = float(max(steps, np.nanmax(reached) if (~never).any() else 1))
    x_never = x_last * 1.7  # past the last step, in the grey band
    shown_x = np.where(never, x_never, reached)
    positive = spikes[spikes > 0]
    floor = positive.min() / 3 if positive.size else 0.01
    silent = ~(spikes > 0)
    shown_y = np.where(silent, floor, spikes)

    norm = Normalize(vmin=np.nanmin(accuracy), vmax=max(np.nanmax(accuracy),
                                                        np.nanmin(accuracy) + 1e-9))
    points = ax.scatter(shown_x[~never], shown_y[~never], c=accuracy[~never], cmap="viridis",
                        norm=norm, s=60, zorder=3, edgecolors="0.2", linewidths=0.5)
    if never.any():
        ax.scatter(shown_x[never], shown_y[never], c=accuracy[never], cmap="viridis",
                   norm=norm, s=80, marker="X", zorder=3, edgecolors="black", linewidths=0.7,
                   label="never reached the target")
    optimal = result["pareto_optimal"].values.astype(bool)
    if optimal.any():
        ax.scatter(shown_x[optimal], shown_y[optimal], s=200, facecolors="none",
                   edgecolors="red", linewidths=1.2, label="Pareto-optimal", zorder=2)

    ax.set_xscale("log")
    ax.set_yscale("log")
    low, high = shown_y.min(), shown_y.max()
    ax.set_ylim(low / 2.5, high * 2.5)
    if never.any():  # a grey band past the last step holds the paradigms that never got there
        ax.set_xlim(0.7, x_never * 1.5)
        ax.axvspan(x_last * 1.3, x_never * 1.5, color="0.92", zorder=0)
    else:
        ax.set_xlim(0.7, x_last * 1.3)
    xticks = _log_ticks(1, x_last)
    ax.xaxis.set_major_locator(FixedLocator(xticks + ([x_never] if never.any() else [])))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda value, _: "never" if np.isclose(value, x_never) else f"{value:g}"))
    ax.yaxis.set_major_locator(FixedLocator(_log_ticks(low / 2.5, high * 2.5)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.grid(True, which="major", alpha=0.3)
    goal = f"{100 * target:.2f} %" if target is not None else "the target"
    ax.set_xlabel(f"timesteps to reach {goal} (log scale)")
    ax.set_ylabel("first hidden layer spikes per timestep per unit (log scale)")
    samples = result.attrs.get("n_samples")
    ax.set_title("Paradigms: time to target vs spikes"
                 + (f" ({samples} test samples, {steps} steps)" if samples else ""))
    ax.figure.colorbar(points, ax=ax, label="accuracy (%)")
    legend = (ax.legend(loc="best", fontsize=8, framealpha=0.9)
              if never.any() or optimal.any() else None)
    labels = [f"{name} (0 spikes)" if off else name for name, off in zip(names, silent)]
    _place_labels(ax, shown_x, shown_y, labels, marker_radius_pt=np.sqrt(200) / 2,
                  avoid=[legend] if legend is not None else [])
    return ax


def plot_accuracy_curves(result, ax=None):
    """Accuracy over time of every paradigm of :func:`compare`'s result, on one plot.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare` (or :func:`load_comparison`), with
        ``accuracy_over_time``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 8 x 4.5 inch :class:`matplotlib.figure.Figure`.

    Returns
    -------
    matplotlib.axes.Axes
        One line per paradigm (the ``ann`` row is drawn as a dashed horizontal line at the
        ANN's accuracy, not as a curve), the target as a dotted line, a title and the legend
        outside the axes on the right. ``plt.show()`` is never called.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(8, 4.5)).add_subplot()
    curves = result["accuracy_over_time"]
    time = result["time"].values
    styles = ("-", "--", "-.", ":")
    spiking = [str(name) for name in result["paradigm"].values if str(name) != "ann"]
    for index, name in enumerate(spiking):
        ax.plot(time, 100 * curves.sel(paradigm=name).values, label=name,
                color=f"C{index % 10}", linestyle=styles[index // 10 % len(styles)],
                linewidth=1.4)
    if "ann" in result["paradigm"].values:
        ann_accuracy = float(result["accuracy"].sel(paradigm="ann"))
        ax.axhline(100 * ann_accuracy, color="0.3", linestyle="--", linewidth=1,
                   label=f"ANN {100 * ann_accuracy:.2f} %")
    target = result.attrs.get("target")
    if target is not None:
        ax.axhline(100 * float(target), color="tab:red", linestyle=":", linewidth=1.5,
                   label=f"target {100 * float(target):.2f} %")
    in_ms = result["time"].attrs.get("units") == "ms"
    ax.set_xlabel("time (ms)" if in_ms else "time (timesteps)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 101)  # a curve at 100 % stays visible
    ax.set_xlim(0, float(time[-1]) if len(time) else 1)
    ax.grid(True, alpha=0.3)
    samples = result.attrs.get("n_samples")
    ax.set_title("Accuracy over time of each paradigm"
                 + (f" ({samples} test samples)" if samples else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, borderaxespad=0)
    return ax
