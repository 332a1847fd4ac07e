"""Recorded spike trains: Brian2 against numpy, chosen samples inside large batches, the
analysis functions against hand-computed values, NetCDF round trip, errors."""

import numpy as np
import pytest

from brainconv.spec import LayerSpec, NetworkSpec
from brainconv.errors import ParameterError
from brainconv.results import load_results, save_results
from brainconv.simulation import run_network, simulate
from brainconv import spiketrains


def tiny_spec():
    """1 input -> 3 soft-reset IF units with currents 0.5, 0.25, 0 per step (threshold 1)
    -> 1 output unit driven by unit 0 alone (weight 1, same-step delivery)."""
    hidden = LayerSpec("hidden", "if_soft", 3, np.array([[0.5, 0.25, 0.0]]), np.zeros(3), 1.0)
    output = LayerSpec("output", "if_soft", 1, np.array([[1.0], [0.0], [0.0]]), np.zeros(1),
                       1.0)
    return NetworkSpec(1, (hidden, output))


@pytest.mark.parametrize("device", ["numpy", "runtime"])
def test_tiny_network_trains_and_analysis_equal_hand_computation(device):
    ds = simulate(tiny_spec(), np.ones((2, 1)), np.zeros(2, int), 10, device=device,
                  batch_size=2, record=[1])
    # Unit 0 spikes at t = 2, 4, ..., 10; unit 1 at 4 and 8; unit 2 never; the output
    # spikes with unit 0.
    rates = spiketrains.firing_rates(ds, "hidden")
    np.testing.assert_allclose(rates.values, [[0.5, 0.2, 0.0]])
    np.testing.assert_allclose(spiketrains.firing_rates(ds, "output").values, [[0.5]])
    np.testing.assert_array_equal(spiketrains.first_spike_latency(ds).values, [[2.0, 2.0]])
    intervals = spiketrains.interspike_intervals(ds, "hidden")
    # Sorted by neuron, then time: unit 0's four intervals of 2 steps, then unit 1's one of 4.
    np.testing.assert_array_equal(intervals.values, [2, 2, 2, 2, 4])
    np.testing.assert_array_equal(intervals.unit.values, [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(intervals.recorded_sample.values, [1] * 5)
    assert intervals.attrs["units"] == "timestep" and intervals.attrs["layer"] == "hidden"
    population = spiketrains.population_rate(ds, "hidden").values[0]
    np.testing.assert_allclose(population, [0, 1 / 3, 0, 2 / 3, 0, 1 / 3, 0, 2 / 3, 0, 1 / 3])
    assert set(ds.spike_sample.values) == {1} and ds.recorded_layer.values.tolist() == [1, 1]


def test_chosen_samples_inside_batches_equal_the_numpy_trains(small_spec, small_inputs):
    """Samples 7, 0 and 4 of 10, batch 3: they run in batch copies 0 and 1 of successive
    batches; the results come back in the caller's order."""
    plain = run_network(small_spec, small_inputs, 25, device="runtime", batch_size=3)
    reference = run_network(small_spec, small_inputs, 25, device="numpy", record=[7, 0, 4],
                            record_layers=["hidden1", "output"])
    recorded = run_network(small_spec, small_inputs, 25, device="runtime", batch_size=3,
                           record=[7, 0, 4], record_layers=["hidden1", "output"])
    np.testing.assert_array_equal(recorded["output_spikes"], plain["output_spikes"])
    for key in ("sample", "layer", "neuron", "step", "weight"):
        np.testing.assert_array_equal(_sorted(recorded)[key], _sorted(reference)[key], key)
    assert len(reference["spike_trains"]["sample"]) > 0
    assert set(reference["spike_trains"]["sample"]) <= {0, 4, 7}
    # The output layer's recorded trains are the output spikes of those samples.
    for sample in (0, 4, 7):
        trains = reference["spike_trains"]
        mine = (trains["sample"] == sample) & (trains["layer"] == 2)
        assert mine.sum() == reference["output_spikes"][sample].sum()


def _sorted(raw):
    trains = raw["spike_trains"]
    order = np.lexsort((trains["neuron"], trains["step"], trains["layer"], trains["sample"]))
    return {key: value[order] for key, value in trains.items()}


@pytest.mark.standalone
def test_cpp_standalone_trains_equal_numpy(small_spec, small_inputs, standalone_dir):
    reference = run_network(small_spec, small_inputs, 20, device="numpy", record=[9, 3])
    brian = run_network(small_spec, small_inputs, 20, device="cpp_standalone", batch_size=4,
                        record=[9, 3])
    for key in ("sample", "layer", "neuron", "step", "weight"):
        np.testing.assert_array_equal(_sorted(brian)[key], _sorted(reference)[key], key)


def test_trains_survive_netcdf_and_plots_draw(tmp_path):
    ds = simulate(tiny_spec(), np.ones((3, 1)), np.zeros(3, int), 10, device="numpy",
                  record=[0, 2])
    save_results(ds, tmp_path / "r.nc")
    back = load_results(tmp_path / "r.nc")
    for name in ("spike_sample", "spike_layer", "spike_neuron", "spike_step", "spike_weight",
                 "recorded_layer", "recorded_sample"):
        np.testing.assert_array_equal(back[name].values, ds[name].values, name)
    assert len(spiketrains.plot_raster(back).axes) == 4  # 2 samples x 2 layers
    assert spiketrains.plot_rate_histogram(back).axes and spiketrains.plot_latency(back).axes


def test_errors_name_the_fix(small_spec, small_inputs):
    with pytest.raises(ParameterError, match=r"distinct sample indices in \[0, 10\)"):
        run_network(small_spec, small_inputs, 5, device="numpy", record=[3, 10])
    with pytest.raises(ParameterError, match="'nope' is not a spiking layer.*hidden1"):
        run_network(small_spec, small_inputs, 5, device="numpy", record=[1],
                    record_layers=["nope"])
    ds = simulate(small_spec, small_inputs, np.zeros(10, int), 5, device="numpy")
    with pytest.raises(ParameterError, match="simulate with record="):
        spiketrains.firing_rates(ds, "hidden1")


def test_command_line_records_and_draws_rasters(tmp_path, capsys):
    from brainconv.cli import main
    from brainconv.results import load_results

    out, raster = tmp_path / "r.nc", tmp_path / "raster.png"
    assert main(["demo", "--epochs", "1", "--hidden", "12", "--steps", "8", "--device", "numpy",
                 "--limit", "20", "--record", "3", "0", "--raster", str(raster),
                 "--out", str(out), "--plot", str(tmp_path / "a.png")]) == 0
    ds = load_results(out)
    assert ds.recorded_sample.values.tolist() == [3, 0] and raster.stat().st_size > 0
    assert set(np.unique(ds.spike_sample.values)) <= {0, 3}
    assert main(["demo", "--epochs", "1", "--hidden", "12", "--raster", str(raster),
                 "--out", str(out), "--plot", str(tmp_path / "a.png")]) == 2
    assert "give --record SAMPLE" in capsys.readouterr().err

