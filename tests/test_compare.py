"""Paradigm comparison: Pareto logic by hand, and an end-to-end run on tiny data."""

import matplotlib
import numpy as np
import pytest

from brainconv.compare import PARADIGMS, compare, pareto_optimal, plot_pareto, ranking_table
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
    assert list(result["paradigm"].values) == ["ann"] + list(PARADIGMS)
    assert float(result["accuracy"].sel(paradigm="ann")) == 1.0
    assert result["accuracy_over_time"].shape == (len(PARADIGMS) + 1, 20)
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
