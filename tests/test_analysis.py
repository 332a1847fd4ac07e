"""Tests of brainconv.analysis on a hand-built results dataset with known answers."""

import json

import matplotlib
import numpy as np
import pytest

from brainconv.analysis import (
    accuracy_over_time,
    plot_accuracy,
    predictions_over_time,
    spikes_per_timestep,
    summary,
    time_to_accuracy,
)
from brainconv.errors import ParameterError
from brainconv.results import make_dataset

matplotlib.use("Agg")

# 4 samples, 5 timesteps, 3 classes. Output spikes (sample, timestep, class):
#   sample 0, label 0: none                   -> predicted 0 throughout (correct from t=1)
#   sample 1, label 1: (t2, c1)               -> correct from t=2
#   sample 2, label 2: (t1, c0) (t3, c2) (t4, c2)  -> tie [1,0,1] at t=3 -> 0; correct from t=4
#   sample 3, label 1: (t1, c2) (t5, c1)      -> tie [0,1,1] at t=5 -> 1; correct at t=5
LABELS = [0, 1, 2, 1]
ACCURACY = [0.25, 0.5, 0.5, 0.75, 1.0]
SPIKES = [(1, 2, 1), (2, 1, 0), (2, 3, 2), (2, 4, 2), (3, 1, 2), (3, 5, 1)]
# Layer "hidden" has 4 neurons; "out" is the output layer (3 neurons), its spikes per timestep
# summed over samples are 2, 1, 1, 1, 1.
HIDDEN = [8, 4, 4, 0, 4]
OUT = [2, 1, 1, 1, 1]


def build(labels=LABELS):
    out = np.zeros((4, 5, 3), dtype=int)
    for sample, t, c in SPIKES:
        out[sample, t - 1, c] += 1
    return make_dataset(out, labels, np.array([HIDDEN, OUT]), np.array([10, 5, 5, 0, 1, 2, 3]),
                        ["hidden", "out"], [4, 3])


@pytest.fixture
def ds():
    return build()


def test_predictions_over_time(ds):
    pred = predictions_over_time(ds)
    assert pred.dims == ("sample", "time")
    assert pred.values.tolist() == [[0, 0, 0, 0, 0],
                                    [0, 1, 1, 1, 1],
                                    [0, 0, 0, 2, 2],
                                    [2, 2, 2, 2, 1]]
    np.testing.assert_array_equal(pred.isel(time=-1), ds["prediction"])


def test_predictions_of_a_run_long_enough_to_overflow_int32():
    """Class 0 gets 32767 spikes every step, class 1 one fewer: over 70,000 steps the sums
    pass 2**31, where an int32 sum would wrap negative and hand the prediction to class 1."""
    steps = 70_000
    out = np.zeros((1, steps, 2), np.int16)
    out[0, :, 0], out[0, :, 1] = 32767, 32766
    long_run = make_dataset(out, [0], np.zeros((1, steps)), np.zeros(2), ["out"], [2])
    assert (predictions_over_time(long_run).values == 0).all()


def test_accuracy_over_time(ds):
    acc = accuracy_over_time(ds)
    assert acc.dims == ("time",)
    np.testing.assert_allclose(acc, ACCURACY)
    np.testing.assert_array_equal(acc["time"], [1, 2, 3, 4, 5])
    assert {"long_name", "units"} <= set(acc.attrs)


@pytest.mark.parametrize("target, step", [(0.25, 1), (0.5, 2), (0.6, 4), (0.75, 4), (1.0, 5)])
def test_time_to_accuracy(ds, target, step):
    result = time_to_accuracy(ds, target)
    assert result == step and type(result) is int


def test_time_to_accuracy_never_reached(ds):
    assert time_to_accuracy(ds.isel(time=slice(0, 3)), 0.75) is None
    assert time_to_accuracy(build(labels=[2, 1, 2, 1]), 1.0) is None


@pytest.mark.parametrize("target", [0, 1.5, 80.22, -0.1, float("nan"), True])
def test_time_to_accuracy_bad_target(ds, target):
    with pytest.raises(ParameterError, match=r"target must be .* in \(0, 1\], got .*0\.8022"):
        time_to_accuracy(ds, target)


def test_spikes_per_timestep(ds):
    # hidden: 20 spikes / (5 steps * 4 samples) = 1.0 per step, / 4 neurons = 0.25
    # out:     6 spikes / (5 steps * 4 samples) = 0.3 per step, / 3 neurons = 0.1
    np.testing.assert_allclose(spikes_per_timestep(ds, per="layer"), [1.0, 0.3])
    per_neuron = spikes_per_timestep(ds)
    np.testing.assert_allclose(per_neuron, [0.25, 0.1])
    assert per_neuron["layer"].values.tolist() == ["hidden", "out"]
    # first 2 steps: hidden 12 / (2 * 4) = 1.5, out 3 / (2 * 4) = 0.375
    np.testing.assert_allclose(spikes_per_timestep(ds, per="layer", upto=2), [1.5, 0.375])
    np.testing.assert_allclose(spikes_per_timestep(ds, upto=2), [0.375, 0.125])


@pytest.mark.parametrize("kwargs, message", [
    ({"per": "sample"}, "per must be one of"),
    ({"upto": 0}, r"upto must be an int in \[1, 5\], got 0"),
    ({"upto": 6}, r"upto must be an int in \[1, 5\], got 6"),
    ({"upto": 2.0}, "upto must be an int"),
])
def test_spikes_per_timestep_errors(ds, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        spikes_per_timestep(ds, **kwargs)


def test_summary(ds):
    result = summary(ds, target=0.6)
    assert result == {
        "accuracy": 1.0, "steps": 5, "n_samples": 4, "target": 0.6, "time_to_target": 4,
        "spikes_per_step_per_neuron": {"hidden": 0.25, "out": pytest.approx(0.1)},
    }
    json.dumps(result)  # plain Python numbers only
    assert summary(ds)["time_to_target"] is None
    with pytest.raises(ParameterError):
        summary(ds, target=80.22)


def test_plot_accuracy(ds):
    ax = plot_accuracy({"all steps": ds, "first 3": ds.isel(time=slice(0, 3))})
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), 100 * np.array(ACCURACY))
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["all steps", "first 3"]
    assert "%" in ax.get_ylabel() and "timestep" in ax.get_xlabel()

    from matplotlib.figure import Figure

    given = Figure().add_subplot()
    assert plot_accuracy(ds, ax=given, label="rate") is given
    assert len(given.get_lines()) == 1
    with pytest.raises(ParameterError, match="label is for a single dataset"):
        plot_accuracy({"a": ds}, label="b")


def test_layer_spike_counts(ds):
    from brainconv.analysis import layer_spike_counts

    hidden = layer_spike_counts(ds, "hidden")
    assert hidden.dims == ("unit",)
    assert hidden["unit"].values.tolist() == [0, 1, 2, 3]
    assert hidden.values.tolist() == [10, 5, 5, 0]  # the first 4 of unit_spike_count
    out = layer_spike_counts(ds, "out")
    assert out.values.tolist() == [1, 2, 3] and float(out.sel(unit=2)) == 3
    assert out.attrs["units"] == "spikes"


def test_layer_spike_counts_unknown_layer(ds):
    from brainconv.analysis import layer_spike_counts

    with pytest.raises(ParameterError, match=r"layer 'hidden1' is not in this results "
                                             r"dataset; its layers are hidden, out"):
        layer_spike_counts(ds, "hidden1")
