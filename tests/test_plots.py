"""Plots of a results dataset and of a comparison, on synthetic data (no simulation)."""

import matplotlib
import numpy as np
import pytest
import xarray as xr

from brainconv.analysis import plot_accuracy
from brainconv.comparison import pareto_optimal, plot_accuracy_curves, plot_pareto
from brainconv.results import make_dataset
from conftest import assert_labels_apart

matplotlib.use("Agg")


def results(model="if_soft,if_soft", dt_ms=None, **attrs):
    """10 samples, 6 steps, 3 classes; sample s is right from step s % 6 + 1."""
    labels = np.arange(10) % 3
    out = np.zeros((10, 6, 3), dtype=int)
    for sample, label in enumerate(labels):
        out[sample, sample % 6:, label] = 1
    return make_dataset(out, labels, np.ones((2, 6)), np.ones(7), ["hidden1", "output"], [4, 3],
                        attrs={"model": model, **attrs}, dt_ms=dt_ms)


def comparison(names, accuracy, reached, spikes, steps=50, target=0.8):
    accuracy, reached, spikes = (np.asarray(v, float) for v in (accuracy, reached, spikes))
    time = np.arange(1, steps + 1)
    curves = np.minimum(accuracy[:, None], time[None, :] / steps)
    return xr.Dataset(
        {"accuracy": ("paradigm", accuracy), "time_to_target": ("paradigm", reached),
         "spikes_per_step": ("paradigm", spikes), "spikes_per_step_all": ("paradigm", spikes),
         "accuracy_over_time": (("paradigm", "time"), curves),
         "pareto_optimal": ("paradigm", pareto_optimal(accuracy, reached, spikes))},
        coords={"paradigm": list(names), "time": time},
        attrs={"target": target, "steps": steps, "n_samples": 100, "device": "numpy"})


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def hlines_at(ax, value):
    """Lines of ``ax`` that are horizontal at ``value``."""
    return [line for line in ax.get_lines()
            if np.allclose(np.asarray(line.get_ydata(), float), value)]


@pytest.mark.parametrize("model, attrs, expected", [
    ("if_soft,if_soft", {}, "if_soft"),
    ("ion,ion,accumulator", {}, "ion, accumulator output"),
    ("if_soft,if_soft", {"paradigm": "rate_soft"}, "rate_soft"),
])
def test_accuracy_legend_names_the_paradigm(model, attrs, expected):
    ax = plot_accuracy(results(model, **attrs))
    assert legend_texts(ax)[0] == expected


def test_accuracy_plot_has_ann_and_target_lines_and_title():
    ax = plot_accuracy(results(dataset="digits", ann_accuracy=0.9622), target=0.8022)
    ann, = hlines_at(ax, 96.22)
    target, = hlines_at(ax, 80.22)
    assert ann.get_linestyle() == "--" and target.get_linestyle() == ":"
    assert legend_texts(ax) == ["if_soft", "ANN 96.22 %", "target 80.22 %"]
    assert ax.get_title() == "Accuracy over time (digits, 10 test samples)"
    assert ax.get_xlabel() == "time (timesteps)"


def test_accuracy_plot_without_ann_or_target_has_one_line():
    ax = plot_accuracy(results())
    assert len(ax.get_lines()) == 1 and ax.get_title() == "Accuracy over time (10 test samples)"


def test_accuracy_plot_in_ms_for_continuous_time():
    ax = plot_accuracy(results("lif_rc,lif_rc", dt_ms=0.5))
    assert ax.get_xlabel() == "time (ms)"
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), 0.5 * np.arange(1, 7))


def test_accuracy_plot_refuses_a_bad_target():
    from brainconv.errors import ParameterError

    with pytest.raises(ParameterError, match="fraction"):
        plot_accuracy(results(), target=80.22)


THINK_FAST = comparison(
    ["ann", "rate_soft", "rate_hard", "lif", "accumulator", "leaky_accumulator", "ion", "len"],
    [0.983, 0.983, 0.982, 0.548, 0.983, 0.974, 0.955, 0.982],
    [1, 4, 4, np.nan, 1, 1, 1, 2],
    [1.0, 0.028, 0.027, 0.083, 0.076, 0.076, 6.0, 0.155])


def test_pareto_axes_are_log_with_a_title():
    ax = plot_pareto(THINK_FAST)
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"
    assert ax.get_title() and "80.00 %" in ax.get_xlabel()


def test_never_reached_is_at_the_right_edge_and_labelled():
    ax = plot_pareto(THINK_FAST)
    assert "never reached the target" in legend_texts(ax)
    never, = [c for c in ax.collections if c.get_label() == "never reached the target"]
    x_never = never.get_offsets()[:, 0]
    reached = np.nanmax(THINK_FAST["time_to_target"].values)
    assert len(x_never) == 1 and x_never[0] > max(reached, THINK_FAST.attrs["steps"])
    right = ax.get_xlim()[1]
    assert x_never[0] < right and np.log(right / x_never[0]) < np.log(right / 0.7) / 5
    ax.figure.canvas.draw()
    assert "never" in [tick.get_text() for tick in ax.get_xticklabels()]
    lif, = [t for t in ax.texts if t.get_text() == "lif"]
    assert lif.xy[0] == pytest.approx(x_never[0])


def test_pareto_labels_do_not_overlap_when_crowded():
    names = [f"paradigm_{i}" for i in range(12)]
    result = comparison(names, np.linspace(0.9, 0.99, 12),
                        [1, 1, 1, 1, 2, 2, 2, 3, 3, np.nan, np.nan, np.nan],
                        [0.1, 0.1, 0.11, 0.12, 0.1, 0.105, 0.11, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert_labels_apart(plot_pareto(result), names)


def test_pareto_plot_draws_on_given_axes():
    from matplotlib.figure import Figure

    given = Figure().add_subplot()
    assert plot_pareto(THINK_FAST, ax=given) is given


def test_accuracy_curves_of_a_comparison():
    ax = plot_accuracy_curves(THINK_FAST)
    spiking = [name for name in THINK_FAST["paradigm"].values if name != "ann"]
    assert legend_texts(ax) == spiking + ["ANN 98.30 %", "target 80.00 %"]
    assert len(hlines_at(ax, 98.3)) == 1 and len(hlines_at(ax, 80.0)) == 1
    curve = ax.get_lines()[spiking.index("ion")]
    np.testing.assert_allclose(curve.get_ydata(),
                               100 * THINK_FAST["accuracy_over_time"].sel(paradigm="ion"))
    assert ax.get_title() and ax.get_xlabel() == "time (timesteps)"
