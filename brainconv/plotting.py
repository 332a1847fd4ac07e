"""Plots of a paradigm comparison, and the label placement they share with the report.

:func:`plot_pareto` draws :func:`brainconv.comparison.compare`'s three-way trade-off (timesteps to
the target against spikes, coloured by accuracy), :func:`plot_accuracy_curves` every
paradigm's accuracy over time. :func:`place_labels` names scattered points without overlaps
and :func:`log_ticks` gives 1-2-5 ticks; :mod:`brainconv.report` uses both. Every function
draws on a given or a new :class:`matplotlib.figure.Figure` and never calls ``plt.show()``.
"""

import numpy as np

__all__ = ["log_ticks", "place_labels", "plot_accuracy_curves", "plot_pareto"]


# Candidate label positions around a point, in order of preference: unit directions
# (right, up-right, down-right, up, down, left, up-left, down-left), tried at growing distances.
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (0, 1), (0, -1), (-1, 0), (-1, 1), (-1, -1))
_DISTANCES_PT = (6, 12, 20, 30, 42, 56)


def _overlap(a, b):
    """Overlap area of two boxes ``(x0, y0, x1, y1)``."""
    return (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))


def place_labels(ax, xs, ys, names, marker_radius_pt, fontsize=8, avoid=()):
    """Annotate each point with its name where the label overlaps no other label or marker.

    A deterministic greedy search: points are labelled from left to right (ties: top first);
    each label takes the first candidate position (see ``_DIRECTIONS``, ``_DISTANCES_PT``)
    whose box, padded by 2 pixels, overlaps no label placed before, no marker and stays inside
    the axes, else the candidate with the least overlap. Labels far from their point get a
    thin leader line (so do diagonal ones).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes whose limits are final.
    xs, ys : array_like
        The points, in data coordinates.
    names : sequence
        One label per point.
    marker_radius_pt : float
        Radius of the markers in points (labels keep clear of them).
    fontsize : float
        Label size in points.
    avoid : sequence of matplotlib artists
        More artists to keep clear of (the legend).

    Returns
    -------
    list of matplotlib.text.Annotation
        One per point, in the order of ``names``.
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


def log_ticks(low, high):
    """1-2-5 ticks between ``low`` and ``high`` (for a logarithmic axis).

    Parameters
    ----------
    low, high : float
        Positive bounds.

    Returns
    -------
    list of float
        ``m * 10**e`` for m in 1, 2, 5 within ``[low, high]``, ascending.
    """
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(low))) - 1,
                                          int(np.ceil(np.log10(high))) + 1) for m in (1, 2, 5)]
    return [t for t in ticks if low <= t <= high]


def plot_pareto(result, ax=None):
    """Trade-off of a comparison: timesteps to the target against spikes per step.

    Each paradigm is a point coloured by its accuracy, labelled with its name (labels placed
    so that they overlap neither each other nor the points); the Pareto-optimal ones are
    ringed. Both axes are logarithmic. Paradigms that never reached the target are drawn with
    an ``X`` at the right edge, in a grey band past the last simulated step whose tick reads
    "never" (legend entry "never reached the target"). A paradigm without spikes is drawn at
    the bottom edge (its label says "0 spikes").

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`brainconv.comparison.compare` (or :func:`brainconv.comparison.load_comparison`).
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
    from .analysis import pareto_optimal

    optimal = pareto_optimal(accuracy, reached, spikes).astype(bool)  # on this plot's axes
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
    xticks = log_ticks(1, x_last)
    ax.xaxis.set_major_locator(FixedLocator(xticks + ([x_never] if never.any() else [])))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda value, _: "never" if np.isclose(value, x_never) else f"{value:g}"))
    ax.yaxis.set_major_locator(FixedLocator(log_ticks(low / 2.5, high * 2.5)))
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
    place_labels(ax, shown_x, shown_y, labels, marker_radius_pt=np.sqrt(200) / 2,
                  avoid=[legend] if legend is not None else [])
    return ax


def plot_accuracy_curves(result, ax=None):
    """Accuracy over time of every paradigm of :func:`brainconv.comparison.compare`'s result, on one plot.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`brainconv.comparison.compare` (or :func:`brainconv.comparison.load_comparison`), with
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
