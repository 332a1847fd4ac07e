"""Inputs that change from step to step (frames, ``x`` of shape (samples, steps, inputs))."""

import brian2
import numpy as np
import pytest

from brainconv.ann import ANN
from brainconv.conversion import convert
from brainconv.devices import get_device
from brainconv.errors import ParameterError, ShapeError
from brainconv.reference import simulate_reference
from brainconv.simulation import run_network
from brainconv.spec import check_frames
from conftest import dyadic, small_ann

KEYS = ("output_spikes", "layer_spikes", "unit_spike_count")


def assert_same(a, b):
    for key in KEYS:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def event_frames(rng, shape, density=0.5):
    """Sparse dyadic frames: a different input in every step."""
    return np.round(rng.uniform(0, 1, shape) * 64) / 64 * (rng.uniform(size=shape) < density)


def test_numpy_reference_takes_one_frame_per_step():
    """The first layer integrates frame t in step t: a one-neuron IF layer with weight 1 spikes
    when the running sum of its frames crosses the threshold, and frames after the last
    spike leave no trace; a constant input repeated as frames gives the 2-D input's run."""
    ann = ANN((np.ones((1, 1)),), (np.zeros(1),))
    spec = convert(ann, normalization="none")  # if_soft, threshold 1
    frames = np.array([0.5, 0.25, 0.5, 0.0, 0.0, 0.75, 0.0, 0.0])[None, :, None]
    out = simulate_reference(spec, frames, 8)
    # sums 0.5, 0.75, 1.25 (spike, 0.25 left), 0.25, 0.25, 1.0 (spike), 0, 0
    np.testing.assert_array_equal(out["output_spikes"][0, :, 0], [0, 0, 1, 0, 0, 1, 0, 0])
    spec = convert(small_ann(), normalization="none")
    x = np.round(np.random.default_rng(3).uniform(0, 1, (4, 12)) * 64) / 64
    assert_same(simulate_reference(spec, np.repeat(x[:, None], 9, axis=1), 9),
                simulate_reference(spec, x, 9))


@pytest.mark.standalone
def test_frames_on_runtime_and_cpp_standalone_equal_numpy(standalone_dir):
    """A two-hidden-layer IF network on random event frames: runtime (padded batches) and
    cpp_standalone (two binaries, each on its share) equal the numpy reference spike for
    spike, and the frames matter (holding the first frame gives other spikes)."""
    spec = convert(small_ann(), normalization="none")
    frames = event_frames(np.random.default_rng(0), (7, 12, 12))
    reference = run_network(spec, frames, 12, device="numpy")
    held = run_network(spec, np.repeat(frames[:, :1], 12, axis=1), 12, device="numpy")
    assert not np.array_equal(held["unit_spike_count"], reference["unit_spike_count"])
    assert reference["output_spikes"].sum() > 0
    assert_same(run_network(spec, frames, 12, device="runtime", batch_size=3), reference)
    assert_same(run_network(spec, frames, 12, device="cpp_standalone", batch_size=3,
                            processes=2), reference)


def test_frames_into_a_continuous_time_network_runtime_equals_numpy(numpy_codegen):
    """lif_rc with alpha synapses at dt = 0.5 ms: the frame of each step is the current held
    over that step, the same in Brian2's runtime as in the numpy reference."""
    rng = np.random.default_rng(4)
    weights = (rng.normal(0, 1.0, (6, 8)), rng.normal(0, 1.0, (8, 3)))
    biases = (rng.normal(0.2, 0.3, 8), rng.normal(0.2, 0.3, 3))
    ann = ANN(weights, biases, activation="softlif",
              activation_params={"tau_rc": 0.022, "tau_ref": 0.002, "amp": 0.063})
    spec = convert(ann, model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": 2 * brian2.ms})
    frames = rng.uniform(0, 2, (3, 60, 6)) * (np.arange(60) < 30)[None, :, None]
    reference = run_network(spec, frames, 60, device="numpy", dt=0.5)
    assert reference["layer_spikes"][0, :30].sum() > 0
    assert_same(run_network(spec, frames, 60, device="runtime", batch_size=2, dt=0.5),
                reference)


def test_frames_that_do_not_fit_the_run_are_refused_before_any_work():
    spec = convert(small_ann(), normalization="none")
    frames = np.zeros((2, 9, 12))
    with pytest.raises(ShapeError, match=r"9 frames per sample .* the run has 10 steps; pass "
                                         r"one frame per step \(steps=9\)"):
        run_network(spec, frames, 10, device="numpy")
    with pytest.raises(ShapeError, match=r"\(n_samples, steps, 12\)"):
        run_network(spec, np.zeros((2, 9, 11)), 9, device="numpy")
    with pytest.raises(ParameterError, match="'cuda_standalone' does not take inputs that "
                                             "change from step to step"):
        check_frames(spec, frames.shape, 9, get_device("cuda_standalone"))
    rng = np.random.default_rng(1)
    ann = ANN((dyadic(rng, (4, 5)), dyadic(rng, (5, 2))), (np.zeros(5), np.zeros(2)))
    fs = convert(ann, model="fs_relu", normalization="none")
    with pytest.raises(ParameterError, match=r"takes its input once per sample.*would be "
                                             "ignored"):
        run_network(fs, np.zeros((1, 40, 4)), 40, device="numpy")


def test_the_memory_check_counts_the_copies_of_per_step_inputs():
    """Results that fit alone, with per-step currents that do not: refused, naming both."""
    from brainconv.results import check_memory

    spec = convert(small_ann(), normalization="none")
    check_memory(spec, 10, 100, available=10**6)  # the results alone fit
    with pytest.raises(ParameterError, match=r"for the results and .* GiB for copies of the "
                                             "per-step input currents"):
        check_memory(spec, 10, 100, available=10**6, input_bytes=2 * 10**6)
