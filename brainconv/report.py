"""The trade-off report: one self-contained HTML document of a paradigm comparison.

:func:`write_report` turns the result of :func:`brainconv.comparison.compare` (or a file read with
:func:`brainconv.comparison.load_comparison`) into a single HTML file a researcher can send to a
colleague: what was run, the best paradigm for three priorities with the rule that picked it
(:func:`recommendations`), the ranking table with every column, the Pareto fronts (accuracy
against time to the target and against energy, :func:`plot_front`; the three-way trade-off of
:func:`brainconv.comparison.plot_pareto`), the accuracy-over-time curves of all paradigms on one
plot, the paradigms that do not apply to the ANN with the reason, and the definitions of the
columns. Plots are PNGs embedded as base64 ``data:`` URIs and the CSS is inline, so the file
needs nothing else to open. Command line: ``brainconv compare ... --report report.html``.
"""

import base64
import datetime
import html
import io
import json
from pathlib import Path

import numpy as np

from .comparison import pareto_optimal, table_rows
from .errors import DataError
from .cache import atomic_write
from .plotting import log_ticks, place_labels, plot_accuracy_curves, plot_pareto

__all__ = ["DEFINITIONS", "REPORT_VARIABLES", "check_report_input", "plot_front",
           "recommendations", "report_html", "write_report"]

#: What the report needs of a comparison (brainconv >= the trade-off report).
REPORT_VARIABLES = ("accuracy", "time_to_target", "energy_pj", "energy_flops", "latency",
                    "sparsity", "spikes_per_inference", "accuracy_over_time", "pareto_optimal")

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
div.wide { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 5px; } th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.ann td { color: #666; font-style: italic; } tr.pareto td:first-child { font-weight: bold; }
.pick { font-weight: bold; color: #0b5394; } figure { margin: 1em 0; }
img { max-width: 100%; height: auto; } figcaption, .note { font-size: 0.85em; color: #555; }
dt { font-weight: bold; } footer { margin-top: 2em; font-size: 0.8em; color: #777; }
"""

#: Column definitions printed under the table (variable -> text).
DEFINITIONS = {
    "accuracy": "fraction of test samples classified correctly after the last step; the "
                "prediction is the output neuron with most spikes so far (a filtered readout: "
                "the largest mean readout).",
    "time to target": "first timestep at which the accuracy reaches the target, and the same "
                      "in ms where the paradigm runs in physical time (a timestep of a grid "
                      "paradigm is dimensionless; '-' there).",
    "spikes/step/unit": "first hidden layer spikes per timestep per ANN unit, averaged over "
                        "samples and the steps up to the target (payload events count once, "
                        "ensembles count member spikes); spikes/neuron is the same over all "
                        "steps, per sample.",
    "spikes/inference": "spikes of every layer in one sample, all steps.",
    "silent %": "sparsity: the share of hidden neurons that send nothing during a sample, "
                "averaged over the recorded samples (the ANN: its zero activations).",
    "latency": "prediction latency: per sample, the first time from which its prediction is "
               "final (a sample the output never answers counts as the last step), averaged.",
    "energy (flop-eq.)": "Hunsberger & Eliasmith eq. 4-5 per inference: 0.08 per synaptic event "
                         "+ 0.25 per neuron update (every neuron, every step); the analog input "
                         "W0 x costs nothing. The ANN: 2 flops per connection + 1 per hidden "
                         "unit.",
    "energy (pJ)": "operations per inference times energies per operation (Horowitz / Han et al. "
                   "45 nm preset): one AC per synaptic event, and the first layer's x W0 as "
                   "MACs (current input, once per image). The ANN: one MAC per connection.",
    "Pareto": "no other paradigm has at least the accuracy, at most the timesteps to the target "
              "and at most the spikes/step/unit, and is better on one of them.",
}


def check_report_input(result):
    """Raise DataError unless ``result`` holds the columns the report needs."""
    missing = [name for name in REPORT_VARIABLES if name not in result]
    if missing:
        raise DataError(f"this comparison lacks {', '.join(missing)}, which the report needs; "
                        "it was saved by an older brainconv: run `brainconv compare` again")


#: Differences the recommendations treat as ties, which go to the cheaper paradigm: accuracy
#: within 0.1 percentage points (10 of 10,000 test samples), time to the target within 10 %
#: (at least one step), energy within 5 %.
ACCURACY_TIE = 0.001
STEPS_TIE = 0.1
ENERGY_TIE = 0.05


def _key(result, variable, sign, name):
    """``sign * result[variable]`` of paradigm ``name``; NaN (not measured) sorts last."""
    value = float(result[variable].sel(paradigm=name))
    return np.inf if np.isnan(value) else sign * value


def _best(result, names, keys):
    """The name in ``names`` that sorts first by ``keys`` ((variable, +1 ascending / -1
    descending), ...); None for no names. Ties beyond the keys: the first in ``names``."""
    if not names:
        return None
    return min(names, key=lambda name: tuple(_key(result, variable, sign, name)
                                             for variable, sign in keys))


def _tied(result, names, variable, sign, within):
    """The names whose ``variable`` is within ``within(best)`` of the best one (the smallest
    ``sign * value``): the candidates a tie-break then chooses from."""
    if not names:
        return []
    best = min(_key(result, variable, sign, name) for name in names)
    return [name for name in names if _key(result, variable, sign, name) <= within(best)]


def recommendations(result):
    """The best spiking paradigm for each of three priorities, and the rule that chose it.

    Differences within :data:`ACCURACY_TIE`, :data:`STEPS_TIE` and :data:`ENERGY_TIE` are
    ties, and a tie goes to the cheaper paradigm: a fraction of a step or a tenth of a point
    does not justify many times the spikes and the energy.

    * ``accuracy``: highest accuracy after the last step; ties: lower energy (pJ).
    * ``latency``: fewest timesteps to the target, among paradigms that reach it; ties: lower
      energy (pJ), then higher accuracy.
    * ``energy``: lowest energy per inference in pJ, among paradigms that reach the target (a
      silent network costs nothing and answers nothing); ties: higher accuracy.

    The ANN row is a reference and is never picked.

    Returns
    -------
    dict
        ``priority -> (name or None, rule)``; None when no paradigm reaches the target. The
        ``energy`` entry adds ``energy_flops`` (the pick by Hunsberger's flop-equivalents
        under the same rule).
    """
    names = [str(name) for name in result["paradigm"].values if str(name) != "ann"]
    reached = [name for name in names
               if not np.isnan(float(result["time_to_target"].sel(paradigm=name)))]
    target = f"{100 * result.attrs['target']:.2f} %"
    preset = result.attrs.get("energy_preset", "")
    most_accurate = _tied(result, names, "accuracy", -1, lambda best: best + ACCURACY_TIE)
    fastest = _tied(result, reached, "time_to_target", 1,
                    lambda best: best + max(1.0, STEPS_TIE * best))

    def cheapest(variable):
        return _best(result, _tied(result, reached, variable, 1,
                                   lambda best: best * (1 + ENERGY_TIE)),
                     [("accuracy", -1), (variable, 1)])

    return {
        "accuracy": (_best(result, most_accurate, [("energy_pj", 1), ("accuracy", -1)]),
                     f"highest accuracy after {result.attrs['steps']} steps; within "
                     f"{100 * ACCURACY_TIE:g} points of it, the lower energy (pJ)"),
        "latency": (_best(result, fastest, [("energy_pj", 1), ("accuracy", -1)]),
                    f"fewest timesteps to reach {target}, among paradigms that reach it; "
                    f"within {100 * STEPS_TIE:g} % (at least one step) of it, the lower "
                    "energy (pJ), then the higher accuracy"),
        "energy": (cheapest("energy_pj"),
                   f"lowest energy per inference in pJ ({preset} preset), among paradigms that "
                   f"reach {target}; within {100 * ENERGY_TIE:g} % of it, the higher "
                   "accuracy"),
        "energy_flops": (cheapest("energy_flops"),
                         "the same rule with Hunsberger & Eliasmith's flop-equivalents"),
    }


#: Axis label and title of each cost of :func:`plot_front`.
_AXIS = {"time_to_target": ("timesteps to reach {target} (log scale)", "time to target"),
         "energy_pj": ("energy per inference, pJ ({preset} preset, log scale)", "energy (pJ)"),
         "energy_flops": ("energy per inference, flop-equivalents (Hunsberger, log scale)",
                          "energy (flop-equivalents)")}


def plot_front(result, cost="time_to_target", ax=None):
    """Accuracy against one cost, with the Pareto front of the spiking paradigms.

    Each spiking paradigm is a labelled point; the front (no other paradigm has at least its
    accuracy at no more cost, better in one) is joined by a red step line. The ANN is drawn
    as a grey square for reference, outside the front; the target is a dotted line. The y
    axis starts 3 points below the target (or below the lowest point above it): points lower
    down sit on the bottom edge as triangles with their accuracy in the label. Paradigms with
    no cost (time to the target never reached) are named in a note below the axes.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`brainconv.comparison.compare`.
    cost : {"time_to_target", "energy_pj", "energy_flops"}
        The x axis, logarithmic.
    ax : matplotlib.axes.Axes, optional
        Default a new 7 x 4.5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 4.5)).add_subplot()
    names = np.array([str(name) for name in result["paradigm"].values])
    x = result[cost].values.astype(float)
    y = 100 * result["accuracy"].values.astype(float)
    spiking = (names != "ann") & ~np.isnan(x)
    if np.isnan(x).all():
        ax.text(0.5, 0.5, "no paradigm reached the target", ha="center", transform=ax.transAxes)
        return ax
    front = np.zeros(len(names), bool)
    front[spiking] = pareto_optimal(y[spiking], x[spiking], np.zeros(spiking.sum())) == 1
    ax.scatter(x[spiking], y[spiking], s=45, color="C0", zorder=3, label="paradigm")
    order = np.flatnonzero(front)[np.argsort(x[front])]
    ax.step(x[order], y[order], where="post", color="tab:red", lw=1.2, zorder=2,
            label="Pareto front")
    ax.scatter(x[front], y[front], s=140, facecolors="none", edgecolors="tab:red", zorder=2)
    ann = (names == "ann") & ~np.isnan(x)
    if ann.any():
        ax.scatter(x[ann], y[ann], marker="s", s=45, color="0.5", zorder=3, label="ANN")
    shown = spiking | ann
    # The y axis starts a little below the target (or the lowest point above it); points
    # further down sit on the bottom edge as triangles, their accuracy in the label.
    target = 100 * result.attrs["target"]
    bottom = min([target] + [v for v in y[shown] if v >= target]) - 3
    top = min(101.0, np.nanmax(y[shown]) + 2)
    below = shown & (y < bottom)
    ax.scatter(x[below], np.full(below.sum(), bottom + 0.4), marker="v", s=45, color="C0",
               zorder=3)
    shown_y = np.where(below, bottom + 0.4, y)
    labels = [f"{n} ({v:.1f} %)" if low_point else n for n, v, low_point in
              zip(names, y, below)]
    ax.axhline(target, color="tab:red", linestyle=":", linewidth=1.2, label="target")
    ax.set_xscale("log")
    low, high = np.nanmin(x[shown]), np.nanmax(x[shown])
    ax.set_xlim(low / 1.8, high * 1.8)
    ax.set_ylim(bottom, top)
    ax.xaxis.set_major_locator(FixedLocator(log_ticks(low / 1.8, high * 1.8)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
    ax.grid(True, which="major", alpha=0.3)
    axis, title = _AXIS[cost]
    ax.set_xlabel(axis.format(target=f"{target:.2f} %",
                              preset=result.attrs.get("energy_preset", "")))
    ax.set_ylabel(f"accuracy after {result.attrs['steps']} steps (%)")
    ax.set_title(f"Accuracy vs {title}: Pareto front")
    legend = ax.legend(loc="lower right", fontsize=8)
    place_labels(ax, x[shown], shown_y[shown], np.array(labels)[shown], marker_radius_pt=6,
                  avoid=[legend])
    never = names[(names != "ann") & np.isnan(x)]
    if never.size:
        ax.annotate("never reached the target: " + ", ".join(never), (0, -0.2),
                    xycoords="axes fraction", fontsize=8, color="0.3")
    return ax


def _png(ax):
    """The figure of ``ax`` as a base64 PNG ``data:`` URI."""
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(ax, caption):
    return (f'<figure><img src="{_png(ax)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(header, rows, css=None, numeric=True):
    """An HTML table of str cells (escaped), cells after the first right-aligned if
    ``numeric``; no header row for ``header=None``."""
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in header or ())
    lines = [f"<table><thead><tr>{cells}</tr></thead><tbody>" if header else "<table><tbody>"]
    for row, kind in zip(rows, css or [""] * len(rows)):
        tds = "".join(f'<td class="num">{html.escape(c)}</td>' if i and numeric else
                      f"<td>{html.escape(c)}</td>" for i, c in enumerate(row))
        lines.append(f'<tr class="{kind}">{tds}</tr>')
    return "\n".join(lines + ["</tbody></table>"])


def report_html(result, title=None):
    """The report of ``result`` as one HTML string (see the module docstring)."""
    check_report_input(result)
    attrs = result.attrs
    esc = html.escape
    title = title or (f"brainconv trade-off report: {attrs.get('ann_layers', 'ANN')} on "
                      f"{attrs.get('dataset', 'the test set')}")
    run = [("ANN", f"{attrs.get('ann_layers', '?')} ({attrs.get('ann_activation', '?')}), "
                   f"file {attrs.get('ann_file', '-')}, "
                   f"sha256 {str(attrs.get('ann_sha256'))[:16]}"),
           ("dataset", f"{attrs.get('dataset', '-')}, {attrs['n_samples']} test samples"),
           ("steps", f"{attrs['steps']} per sample; target accuracy "
                     f"{100 * attrs['target']:.2f} %"),
           ("device", str(attrs.get("device"))),
           ("energy preset", f"{attrs.get('energy_preset')}: MAC {attrs.get('e_mac_pj')} pJ, "
                             f"AC {attrs.get('e_ac_pj')} pJ"),
           ("sparsity", f"from the spike trains of the first "
                        f"{min(attrs.get('sparsity_samples', 0), attrs['n_samples'])} samples"),
           ("versions", f"brainconv {attrs.get('brainconv_version')}, "
                        f"Brian2 {attrs.get('brian2_version')}")]
    picks = recommendations(result)
    items = []
    for priority in ("accuracy", "latency", "energy"):
        name, rule = picks[priority]
        chosen = (f'<span class="pick" data-priority="{priority}">{esc(name)}</span>' if name
                  else f'<span class="pick" data-priority="{priority}">none</span> (no paradigm '
                       "reaches the target; lower it)")
        extra = ""
        if priority == "energy" and picks["energy_flops"][0] not in (None, name):
            extra = (f" By Hunsberger's flop-equivalents, which also count every neuron "
                     f"update, it would be <b>{esc(picks['energy_flops'][0])}</b>.")
        items.append(f"<li><b>{priority.capitalize()}</b>: {chosen}. <i>Rule:</i> "
                     f"{esc(rule)}.{extra}</li>")
    header, rows = table_rows(result)
    css = ["ann" if row[0] == "ann" else "pareto" if row[-1] == "yes" else "" for row in rows]
    not_applicable = json.loads(attrs.get("not_applicable", "{}"))
    figures = [
        _figure(plot_front(result, "time_to_target"), "Accuracy against timesteps to the "
                "target; red: the Pareto front of the spiking paradigms."),
        _figure(plot_front(result, "energy_pj"), "Accuracy against energy per inference "
                f"(AC/MAC, {attrs.get('energy_preset')} preset)."),
        _figure(plot_front(result, "energy_flops"), "Accuracy against energy per inference "
                "(Hunsberger & Eliasmith flop-equivalents)."),
        _figure(plot_pareto(result), "The table's three-way trade-off: timesteps to the target "
                "against spikes per step, coloured by accuracy; ringed: Pareto-optimal.")]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>", "<h2>What was run</h2>",
        _table(None, [list(pair) for pair in run], numeric=False),
        "<h2>Recommendations</h2>", f"<ul>{''.join(items)}</ul>",
        '<p class="note">Spiking paradigms only; the ANN row is the reference.</p>',
        "<h2>Ranking</h2>", f'<div class="wide">{_table(header, rows, css)}</div>',
        '<p class="note">Pareto-optimal paradigms first (bold), then by accuracy; '
        "'-': does not apply (no physical time, or no spikes for the ANN), 'never': the target "
        "was not reached.</p>",
        "<h2>Pareto fronts</h2>", *figures, "<h2>Accuracy over time</h2>",
        _figure(plot_accuracy_curves(result), "Accuracy over time of every paradigm; dashed: "
                "the ANN, dotted: the target."),
        "<h2>Not applicable to this ANN</h2>",
        "<ul>" + "".join(f"<li><b>{esc(name)}</b>: {esc(why)}</li>"
                         for name, why in not_applicable.items()) + "</ul>"
        if not_applicable else "<p>Every registered paradigm was run.</p>",
        "<h2>Definitions</h2><dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>"
                                             for k, v in DEFINITIONS.items()) + "</dl>",
        f"<footer>Written by brainconv {esc(str(attrs.get('brainconv_version')))} on "
        f"{datetime.date.today().isoformat()}.</footer>", "</body></html>"]
    return "\n".join(parts)


def write_report(result, path, title=None):
    """Write the trade-off report of ``result`` to ``path`` (HTML) atomically.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`brainconv.comparison.compare` or
        :func:`brainconv.comparison.load_comparison`.
    path : str or os.PathLike
        Destination; its folder must exist. An existing file is replaced.
    title : str, optional
        Default: "brainconv trade-off report: <ANN layers> on <dataset>".

    Returns
    -------
    pathlib.Path
    """
    text = report_html(result, title)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
