"""The hand-written C++ floor of the speed benchmarks computes what brainconv computes.

With dyadic weights and inputs (multiples of 1/64) every sum is exact in float64, whatever the
order of the additions, so its output spike counts must equal the numpy reference's exactly.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from brainconv.conversion import convert
from brainconv.reference import simulate_reference
from conftest import small_ann

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments" / "benchmarks"))

pytestmark = pytest.mark.standalone  # needs a C++ compiler


def test_handwritten_simulator_equals_the_numpy_reference(small_inputs):
    from handwritten_cpp import run_handwritten

    spec = convert(small_ann(), normalization="none", threshold=0.75)
    reference = simulate_reference(spec, small_inputs, 30)["output_spikes"].sum(axis=1)
    seconds, counts = run_handwritten(spec, small_inputs, 30, precision="float64")
    np.testing.assert_array_equal(counts, reference)
    assert counts.sum() > 0 and seconds >= 0
    with pytest.raises(ValueError, match="dense if_soft MLPs only"):
        run_handwritten(convert(small_ann(), model="lif", normalization="none"),
                        small_inputs, 5)
