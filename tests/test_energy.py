"""Tests for brainconv.energy: Hunsberger & Eliasmith eq. 4-5 on hand-computed networks."""

import numpy as np
import pytest
import scipy.sparse

from brainconv.ann import ANN
from brainconv.spec import LayerSpec, NetworkSpec
from brainconv.energy import (
    E_SYNOP,
    E_UPDATE,
    ann_flops,
    energy_summary,
    snn_activity,
    snn_energy,
)
from brainconv.errors import ParameterError, ShapeError
from brainconv.results import load_results, make_dataset, save_results


def test_paper_cifar10_figure():
    # Hunsberger & Eliasmith eq. 5, their CIFAR-10 figure:
    # 0.2 * (0.08 * 2,693,315,174 + 0.25 * 49,536,000) = 45,569,842.8.
    assert (E_SYNOP, E_UPDATE) == (0.08, 0.25)
    energy = snn_energy(synops_per_s=2_693_315_174, updates_per_s=49_536_000, c1=0.2)
    assert energy == pytest.approx(45_569_842.8, abs=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(synops_per_s=-1, updates_per_s=0, c1=0.1), r"synops_per_s must be a finite number >= 0"),
    (dict(synops_per_s=1, updates_per_s=0, c1=0), r"c1 .* must be a finite number > 0, got 0"),
    (dict(synops_per_s=1, updates_per_s=np.nan, c1=1), r"updates_per_s must be a finite"),
    (dict(synops_per_s="1", updates_per_s=0, c1=1), r"synops_per_s must be a real number"),
])
def test_snn_energy_bad_arguments(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        snn_energy(**kwargs)


def test_ann_flops_by_hand():
    # 2 -> 3 -> 2, dense: 3 hidden neurons, 2*3 + 3*2 = 12 connections -> 3 + 24 = 27 flops.
    ann = ANN((np.ones((2, 3)), np.ones((3, 2))), (np.zeros(3), np.zeros(2)))
    assert ann_flops(ann) == 27
    assert ann_flops(ann, count_output=True) == 29  # + the 2 linear output units
    assert ann_flops(ann, flops_per_neuron=0, flops_per_connection=1) == 12
    # A sparse (e.g. convolution) layer counts its stored entries, explicit zeros included:
    # 4 -> 3 with 5 stored entries (one an explicit 0), then 3 -> 2 dense (6).
    w0 = scipy.sparse.csr_matrix((np.array([1.0, 0.0, 2.0, 3.0, 4.0]),
                                  np.array([0, 1, 1, 2, 0]), np.array([0, 2, 3, 4, 5])),
                                 shape=(4, 3))
    sparse = ANN((w0, np.ones((3, 2))), (np.zeros(3), np.zeros(2)))
    assert ann_flops(sparse) == 3 + 2 * (5 + 6)
    with pytest.raises(ParameterError, match="expected a brainconv ANN or NetworkSpec"):
        ann_flops([np.ones((2, 2))])


def tiny_spec():
    """4 inputs -> hidden1 (3) -> hidden2 (2, sparse) -> output (2)."""
    w1 = scipy.sparse.csr_matrix((np.ones(3), np.array([0, 1, 1]), np.array([0, 2, 3, 3])),
                                 shape=(3, 2))  # fan-out of hidden1: [2, 1, 0]
    layers = (
        LayerSpec("hidden1", "if_soft", 3, np.ones((4, 3)), np.zeros(3), 1.0),  # 12 conns
        LayerSpec("hidden2", "if_soft", 2, w1, np.zeros(2), 1.0),               # 3 conns
        LayerSpec("output", "if_soft", 2, np.ones((2, 2)), np.zeros(2), 1.0),   # 4 conns
    )
    return NetworkSpec(4, layers)


def tiny_results(attrs=None):
    """2 samples x 10 steps; unit spikes hidden1 [5, 7, 11], hidden2 [3, 4], output [6, 1]."""
    counts = np.array([5, 7, 11, 3, 4, 6, 1], dtype=float)
    output = np.zeros((2, 10, 2), dtype=int)
    output[0, :6, 0] = 1
    output[1, 0, 1] = 1
    layer_spikes = np.zeros((3, 10))
    layer_spikes[:, 0] = [23, 7, 7]
    return make_dataset(output, [0, 1], layer_spikes, counts, ["hidden1", "hidden2", "output"],
                        [3, 2, 2], {"dt": "1.0 ms"} if attrs is None else attrs)


def test_snn_activity_by_hand():
    activity = snn_activity(tiny_results(), tiny_spec())
    # synops: hidden1 5*2 + 7*1 + 11*0 = 17, hidden2 (3 + 4) * 2 = 14, output 0 -> 31 in
    # 2 samples x 10 steps x 1 ms = 0.01 s per sample -> 31 / (2 * 0.01) = 1550 / s.
    assert activity["dt_s"] == pytest.approx(1e-3)
    assert activity["duration_s"] == pytest.approx(0.01)
    assert activity["synops_per_s_per_layer"] == pytest.approx(
        {"hidden1": 850.0, "hidden2": 700.0, "output": 0.0})
    assert activity["synops_per_s"] == pytest.approx(1550.0)
    assert activity["updates_per_s"] == pytest.approx(7 / 1e-3)  # 7 neurons every 1 ms step
    assert activity["input_flops"] == 0 and activity["first_layer"] == "none"
    once = snn_activity(tiny_results(), tiny_spec(), first_layer="once")
    assert once["input_flops"] == 2 * 12  # one W0 x per image: 2 flops per connection
    # An explicit dt (s) overrides the attribute: 0.5 ms steps double both rates.
    half = snn_activity(tiny_results(), tiny_spec(), dt=5e-4)
    assert half["synops_per_s"] == pytest.approx(3100.0)
    assert half["updates_per_s"] == pytest.approx(14000.0)


def test_energy_summary_by_hand(tmp_path):
    path = save_results(tiny_results(), tmp_path / "r.nc")  # attrs survive the NetCDF trip
    summary = energy_summary(load_results(path), tiny_spec())
    # c1 defaults to the simulated 0.01 s: 0.01 * (0.08 * 1550 + 0.25 * 7000) = 18.74.
    assert summary["c1_s"] == pytest.approx(0.01)
    assert summary["snn_energy"] == pytest.approx(18.74)
    assert summary["ann_flops"] == 5 + 2 * (12 + 3 + 4)  # 5 hidden neurons, 19 connections
    assert summary["efficiency"] == pytest.approx(43 / 18.74)
    once = energy_summary(tiny_results(), tiny_spec(), c1=0.02, first_layer="once")
    assert once["snn_energy"] == pytest.approx(0.02 * (0.08 * 1550 + 0.25 * 7000) + 24)


def test_time_coordinate_in_ms():
    # Continuous-time results: a time grid in ms gives the duration; dt the update rate.
    ds = tiny_results()
    ds = ds.assign_coords(time=np.arange(1, 11) * 0.5)
    ds["time"].attrs = {"long_name": "time", "units": "ms"}
    activity = snn_activity(ds, tiny_spec(), dt=1e-4)
    assert activity["duration_s"] == pytest.approx(0.005)
    assert activity["synops_per_s"] == pytest.approx(31 / (2 * 0.005))
    assert activity["updates_per_s"] == pytest.approx(7 / 1e-4)


def test_snn_activity_errors():
    spec = tiny_spec()
    with pytest.raises(ParameterError, match=r"unknown first_layer convention 'each'"):
        snn_activity(tiny_results(), spec, first_layer="each")
    with pytest.raises(ParameterError, match=r"dt attribute None.*pass dt in seconds"):
        snn_activity(tiny_results(attrs={}), spec)
    with pytest.raises(ParameterError, match=r"dt attribute '1 step'"):
        snn_activity(tiny_results(attrs={"dt": "1 step"}), spec)
    other = NetworkSpec(4, spec.layers[:2] + (spec.layers[2].__class__(
        "out", "if_soft", 2, np.ones((2, 2)), np.zeros(2), 1.0),))
    with pytest.raises(ShapeError, match=r"layers \['hidden1', 'hidden2', 'output'\] but the "
                                         r"NetworkSpec has \['hidden1', 'hidden2', 'out'\]"):
        snn_activity(tiny_results(), other)


def test_energy_of_a_numpy_simulation(small_spec, small_inputs):
    # End to end on the numpy reference: synops = each layer's spikes x next layer's width.
    from brainconv.simulation import simulate

    ds = simulate(small_spec, small_inputs, np.zeros(len(small_inputs), int), steps=20,
                  device="numpy")
    activity = snn_activity(ds, small_spec)
    counts = ds["unit_spike_count"].groupby("neuron_layer").sum()
    expected = (float(counts.sel(neuron_layer="hidden1")) * 6
                + float(counts.sel(neuron_layer="hidden2")) * 3) / (10 * 20 * 1e-3)
    assert expected > 0
    assert activity["synops_per_s"] == pytest.approx(expected)
    assert activity["updates_per_s"] == pytest.approx((8 + 6 + 3) / 1e-3)
