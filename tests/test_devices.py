"""The backend registry, the Brian2 device context manager and the raw-results type."""

import dataclasses

import numpy as np
import pytest

from brainconv.devices import (DEVICES, Device, RawResults, brian2_device, device_names,
                               get_device, register_device)
from brainconv.errors import ParameterError
from brainconv.simulation import run_network


def test_built_in_devices_and_unknown_names():
    assert tuple(DEVICES) == ("runtime", "cpp_standalone", "cuda_standalone", "numpy")
    for name in DEVICES:
        assert get_device(name).name == name and isinstance(get_device(name), Device)
    with pytest.raises(ParameterError, match="unknown device 'gpu'; choose one of runtime, "
                                             "cpp_standalone, cuda_standalone, numpy"):
        get_device("gpu")
    assert get_device("cpp_standalone").direct_pathways
    assert not get_device("cuda_standalone").direct_pathways
    assert get_device("runtime").direct_pathways  # the Cython and numpy pathway templates


def test_registered_backend_runs_through_run_network(small_spec, small_inputs):
    numpy_device = type(get_device("numpy"))
    calls = []

    class Counting(numpy_device):
        name = "counting_numpy"

        def run(self, *args, **kwargs):
            calls.append(kwargs["dt_ms"])
            return super().run(*args, **kwargs)

    register_device(Counting())
    try:
        assert "counting_numpy" in DEVICES and device_names()[-1] == "counting_numpy"
        raw = run_network(small_spec, small_inputs, 10, device="counting_numpy")
        reference = run_network(small_spec, small_inputs, 10, device="numpy")
        np.testing.assert_array_equal(raw.output_spikes, reference["output_spikes"])
        assert calls == [1.0]
    finally:
        from brainconv import devices

        del devices._REGISTRY["counting_numpy"]
    with pytest.raises(ParameterError, match="register_device needs a Device"):
        register_device("numpy")


def test_brian2_device_restores_device_and_preferences():
    import brian2

    before, target = brian2.get_device(), brian2.prefs.codegen.target
    with brian2_device("cpp_standalone", prefs={"codegen.target": "numpy"}) as device:
        assert brian2.get_device() is device
        assert type(device).__name__ == "CPPStandaloneDevice"
        assert brian2.prefs.codegen.target == "numpy"
    assert brian2.get_device() is before and brian2.prefs.codegen.target == target
    with pytest.raises(RuntimeError, match="inside"):
        with brian2_device("runtime", prefs={"codegen.target": "numpy"}):
            raise RuntimeError("inside")
    assert brian2.get_device() is before and brian2.prefs.codegen.target == target


def test_raw_results_are_a_typed_dict_of_present_fields():
    raw = RawResults(np.zeros((2, 3, 1)), np.ones((1, 3)), np.zeros(4))
    assert isinstance(raw, dict) and list(raw) == ["output_spikes", "layer_spikes",
                                                   "unit_spike_count"]
    assert raw.readout is None and "readout" not in raw and raw.n_samples == 2
    raw.readout = np.ones((2, 3, 1))
    assert raw["readout"] is raw.readout
    assert "readout" not in dataclasses.replace(raw, readout=None)
    with pytest.raises(KeyError, match="not a field"):
        raw["other"] = 1
    assert RawResults.from_mapping(dict(raw)).keys() == raw.keys()
