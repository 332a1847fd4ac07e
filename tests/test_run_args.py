"""Parameter values are run-time values of a compiled project: a sweep compiles once.

A model's threshold and parameters (``R`` of ``lif``, ``tau_rc`` of ``lif_rc``, a filtered
synapse's ``tau_s``) are variables of the layer's NeuronGroup, so a cpp_standalone project
takes them as run_args, as it takes the weights: the project depends on the layout only. Each
run must still equal the numpy reference spike for spike, on the Brian2 path (in process) and
on the warm path (a new process, from the manifest).
"""

import subprocess
import sys

import brian2
import numpy as np
import pytest

from brainconv.build import group_parameters, layer_values
from brainconv.conversion import convert
from brainconv.devices.cpp_standalone import StandaloneProject
from brainconv.simulation import run_network
from conftest import small_ann

pytestmark = pytest.mark.standalone


def assert_same_spikes(a, b):
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def compiles(messages):
    return sum("compiling the cpp_standalone project" in message for message in messages)


def test_layout_key_ignores_parameter_values_but_not_structural_ones():
    ann = small_ann()
    key = [StandaloneProject.layout_key(convert(ann, model="lif", normalization="none",
                                                parameters={"R": R}, threshold=threshold),
                                        20, 4, 3)
           for R, threshold in ((10, 1.0), (5, 1.0), (5, 0.5))]
    assert key[0] == key[1] == key[2]
    ensembles = [StandaloneProject.layout_key(convert(ann, model="ion", normalization="none",
                                                      parameters={"size": size}), 20, 4, 3)
                 for size in (3, 5)]  # the ensemble size is written into the equations
    assert ensembles[0] != ensembles[1]


def test_group_parameters_are_the_threshold_and_the_run_time_parameters():
    spec = convert(small_ann(), model="lif", normalization="none", parameters={"R": 7},
                   threshold=0.5)
    assert group_parameters(spec, 1) == {"theta": 0.5, "R": 7.0}
    values = layer_values(spec, np.zeros((2, 8)), 2)  # currents into hidden1
    assert values[("parameter", 2, "R")] == 7.0 and values[("parameter", 0, "theta")] == 0.5


def test_a_parameter_and_threshold_sweep_compiles_once_and_equals_numpy(standalone_dir,
                                                                         small_inputs):
    ann, messages = small_ann(), []
    for R, threshold in ((10, 1.0), (4, 1.0), (4, 0.6)):
        spec = convert(ann, model="lif", normalization="none", parameters={"R": R},
                       threshold=threshold)
        brian = run_network(spec, small_inputs, 20, device="cpp_standalone", batch_size=4,
                            notify=messages.append)
        reference = run_network(spec, small_inputs, 20, device="numpy")
        assert_same_spikes(brian, reference)
    assert compiles(messages) == 1, messages


@pytest.mark.long
def test_continuous_time_constants_run_on_one_project(standalone_dir):
    """lif_rc's tau_rc and the exponential synapse's tau_s change the dynamics, not the code."""
    from test_continuous import softlif_ann

    ann, messages = softlif_ann(), []
    x = np.random.default_rng(3).uniform(0, 1, (5, 6))
    seen = []
    for tau_rc, tau_s in ((20, 5), (35, 5), (35, 9)):
        spec = convert(ann, model="lif_rc", normalization="none", synapse="exponential",
                       parameters={"tau_rc": tau_rc * brian2.ms},
                       synapse_parameters={"tau_s": tau_s * brian2.ms})
        brian = run_network(spec, x, 60, device="cpp_standalone", batch_size=2, dt=0.5,
                            notify=messages.append)
        assert_same_spikes(brian, run_network(spec, x, 60, device="numpy", dt=0.5))
        seen.append(brian["layer_spikes"].tobytes())
    assert compiles(messages) == 1, messages
    assert len(set(seen)) == 3  # each value took effect: three different spike timings


WARM = """
import sys
import numpy as np
from brainconv.ann import load_ann
from brainconv.conversion import convert
from brainconv.simulation import run_network
x = np.random.default_rng(1).uniform(0, 1, (10, 12))
spec = convert(load_ann(sys.argv[2]), model="lif", normalization="none", parameters={{"R": {R}}})
raw = run_network(spec, x, 20, device="cpp_standalone", batch_size=4, processes=1)
np.save(sys.argv[1], raw["unit_spike_count"])
print("brian2" in sys.modules)
"""


@pytest.mark.long
def test_a_warm_run_takes_new_parameter_values_from_the_command_line(shared_standalone_dir,
                                                                     tmp_path):
    """A new process runs the compiled project from its manifest without Brian2; the
    parameter value arrives on the binary's command line and the spikes follow it."""
    from brainconv.ann import save_ann

    save_ann(small_ann(), tmp_path / "ann.npz")
    x = np.random.default_rng(1).uniform(0, 1, (10, 12))
    counts = {}
    for R in (10, 3):
        out = tmp_path / f"counts_{R}.npy"
        done = subprocess.run([sys.executable, "-c", WARM.format(R=R), str(out),
                               str(tmp_path / "ann.npz")],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        counts[R] = np.load(out)
        spec = convert(small_ann(), model="lif", normalization="none", parameters={"R": R})
        np.testing.assert_array_equal(
            counts[R], run_network(spec, x, 20, device="numpy")["unit_spike_count"])
    assert done.stdout.strip() == "False"  # the second run was warm: no Brian2 imported
    assert not np.array_equal(counts[10], counts[3])


def test_recording_other_samples_reuses_the_project(standalone_dir, small_inputs):
    """Which samples are recorded is a run-time choice (they run in the monitored first batch
    copies); only recording on or off, and the layers recorded, are part of the layout."""
    spec = convert(small_ann(), model="if_soft", normalization="none")
    messages = []
    for samples in ([0, 3], [5, 7], [9]):
        brian = run_network(spec, small_inputs, 20, device="cpp_standalone", batch_size=4,
                            record=samples, notify=messages.append)
        reference = run_network(spec, small_inputs, 20, device="numpy", batch_size=4,
                                record=samples)
        assert sorted(set(brian["spike_trains"]["sample"])) == samples

        def spikes(raw):  # (sample, layer, neuron, step) rows in one order
            rows = np.stack([raw["spike_trains"][k] for k in ("sample", "layer", "neuron",
                                                               "step")], axis=1)
            return rows[np.lexsort(rows.T[::-1])]

        np.testing.assert_array_equal(spikes(brian), spikes(reference))
    assert compiles(messages) == 1, messages


@pytest.mark.parametrize("model", ["if_soft", pytest.param("lif", marks=pytest.mark.long)])
def test_float32_runs_equal_the_float32_numpy_reference(standalone_dir, small_inputs, model):
    """precision="float32" on runtime and cpp_standalone: the float32 reference's spikes (the
    small network's weights are dyadic, so every sum is exact in float32 as well), on a
    project of its own (float64 projects keep their layout key)."""
    spec = convert(small_ann(), model=model, normalization="none",
                   parameters={"R": 4} if model == "lif" else None)
    messages = []
    reference = run_network(spec, small_inputs, 20, device="numpy", precision="float32")
    assert reference["layer_spikes"].sum() > 0
    for device in ("runtime", "cpp_standalone"):
        got = run_network(spec, small_inputs, 20, device=device, batch_size=4,
                          precision="float32", notify=messages.append)
        assert_same_spikes(got, reference)
    key = StandaloneProject.layout_key
    assert key(spec, 20, 4, 3) != key(spec, 20, 4, 3, precision="float32")
    with pytest.raises(Exception, match=r"precision must be one of \('float64', 'float32'\)"):
        run_network(spec, small_inputs, 20, device="numpy", precision="half")
