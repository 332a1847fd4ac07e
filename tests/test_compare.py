"""Paradigm comparison: Pareto logic by hand, and an end-to-end run on tiny data."""

import json

import brian2
import matplotlib
import numpy as np
import pytest

from brainconv.ann import train_ann
from brainconv.comparison import (NOT_CONVERTIBLE, PARADIGMS, Paradigm, applicable, compare,
                               pareto_optimal, plot_pareto, ranking_table)
from brainconv.errors import ParameterError

from conftest import small_ann

matplotlib.use("Agg")


def test_pareto_optimal_by_hand():
    accuracy = [0.98, 0.97, 0.98, 0.90, 0.99]
    steps = [10, 5, 20, np.nan, 50]
    spikes = [0.5, 0.5, 0.4, 0.1, 2.0]
    # 0: best-so-far balance; 1: fastest; 2: fewer spikes than 0; 3: never reaches the target
    # but fewest spikes; 4: most accurate. None dominated except... nobody is worse everywhere.
    np.testing.assert_array_equal(pareto_optimal(accuracy, steps, spikes), [1, 1, 1, 1, 1])
    # a copy of 0 that is slower is dominated by 0
    np.testing.assert_array_equal(
        pareto_optimal([0.98, 0.98], [10, 12], [0.5, 0.5]), [1, 0])
    # equal points do not dominate each other
    np.testing.assert_array_equal(pareto_optimal([0.9, 0.9], [3, 3], [1, 1]), [1, 1])


def test_compare_runs_every_paradigm_and_ranks(small_inputs):
    ann = small_ann()
    labels = ann.predict(small_inputs)  # the ANN is right by construction
    result = compare(ann, small_inputs, small_inputs, labels, steps=20, target=0.5,
                     device="numpy")
    # lif_alpha needs a soft-LIF ANN: not run on a ReLU one, and said why; fs_relu's three
    # windows of K = 10 need 30 steps, more than the 20 simulated
    converted = [name for name in PARADIGMS if name not in ("lif_alpha", "fs_relu")]
    assert list(result["paradigm"].values) == ["ann"] + converted
    reasons = json.loads(result.attrs["not_applicable"])
    assert "lif_alpha" in reasons and "simulate at least 30 steps" in reasons["fs_relu"]
    assert float(result["accuracy"].sel(paradigm="ann")) == 1.0
    assert result["accuracy_over_time"].shape == (len(converted) + 1, 20)
    optimal = result["paradigm"].values[result["pareto_optimal"].values == 1]
    assert len(optimal) >= 1
    first_row = ranking_table(result).splitlines()[2]
    assert first_row.split("|")[1].strip() in optimal and first_row.endswith("| yes |")
    ax = plot_pareto(result)
    assert len(ax.collections) >= 2


def test_unknown_paradigm_is_rejected(small_inputs):
    with pytest.raises(ParameterError, match="unknown or no paradigms.*rate_soft"):
        compare(small_ann(), small_inputs, small_inputs, np.zeros(10, int), 5, 0.5,
                paradigms=["lstm"], device="numpy")


def test_lif_alpha_runs_a_soft_lif_ann_in_physical_time(digits):
    x_train, y_train, x_test, y_test = digits
    ann = train_ann(x_train, y_train, hidden=(20,), epochs=3, seed=0, activation="softlif")
    runnable, reasons = applicable(ann)
    assert list(runnable) == ["lif_alpha"]
    # every grid paradigm is refused with the model's reason, not the normalization's
    assert all("soft-LIF" in reasons[name] and "lif_rc" in reasons[name]
               for name in PARADIGMS if name != "lif_alpha")
    assert set(NOT_CONVERTIBLE) <= set(reasons)
    result = compare(ann, x_train[:50], x_test[:40], y_test[:40], 40, 0.5, device="numpy",
                     sparsity_samples=10)
    assert list(result["paradigm"].values) == ["ann", "lif_alpha"]
    row = result.sel(paradigm="lif_alpha")
    assert float(row["dt_ms"]) == 1.0
    assert float(row["time_to_target_ms"]) == float(row["time_to_target"])  # 1 ms steps
    assert float(row["latency_ms"]) == float(row["latency"])
    assert 0 <= float(row["sparsity"]) <= 1 and float(row["energy_pj"]) > 0
    assert "| lif_alpha |" in ranking_table(result)


def test_a_named_paradigm_that_does_not_apply_is_an_error(small_inputs):
    with pytest.raises(ParameterError, match="'lif_alpha' does not apply.*softlif"):
        compare(small_ann(), small_inputs, small_inputs, np.zeros(10, int), 5, 0.5,
                paradigms=["lif_alpha"], device="numpy")


def test_paradigm_variants_carry_synapses_and_dt():
    variant = Paradigm("lif_rc", "none", synapse="exponential",
                       synapse_parameters={"tau_s": 2 * brian2.ms}, readout="filtered", dt=0.5)
    assert PARADIGMS["lif_alpha"].synapse == "alpha" and PARADIGMS["lif_alpha"].dt == 1.0
    assert variant.dt == 0.5 and PARADIGMS["rate_soft"].dt is None
