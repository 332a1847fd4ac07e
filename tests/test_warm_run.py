"""Warm cpp_standalone runs: a project compiled by an earlier process, run without Brian2.

The tests use the shared 12-8-6-3 layout of tests/test_simulate.py (one compile per session).
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from brainconv.ann import save_ann
from brainconv.devices.warm import _checksum
from brainconv.errors import SimulationError
from brainconv.simulation import MANIFEST_NAME, StandaloneProject, run_network
from conftest import small_ann
from test_simulate import SHARED_PROJECT, SHARED_RUN, SHARED_STEPS, assert_same_results

#: Run in a fresh interpreter on the warm project: run_network and simulate, Brian2's absence
#: from sys.modules, and the --profile breakdown.
SECOND_PROCESS = """
import sys
import numpy as np
from brainconv.ann import load_ann
from brainconv.cli import _print_profile
from brainconv.conversion import convert
from brainconv.simulation import PROFILE, run_network, simulate

folder = sys.argv[1]
spec = convert(load_ann(folder + "/ann.npz"), normalization="none")
x = np.load(folder + "/x.npy")
raw = run_network(spec, x, {steps}, device="cpp_standalone", batch_size=4, processes=2)
ds = simulate(spec, x, np.zeros(len(x), int), {steps}, device="cpp_standalone", batch_size=4,
              processes=2)
np.savez(folder + "/warm.npz", ds_output_spikes=ds.output_spikes.values,
         brian2_version=ds.attrs["brian2_version"], **raw)
_print_profile(0, 0, 0, 0, 0)
print("brian2 imported:", "brian2" in sys.modules)
"""


def run_second_process(folder, ann, inputs):
    save_ann(ann, folder / "ann.npz")
    np.save(folder / "x.npy", inputs)
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS.format(steps=SHARED_STEPS),
                           str(folder)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout, dict(np.load(folder / "warm.npz"))


@SHARED_PROJECT
@pytest.mark.standalone
def test_second_process_runs_warm_project_without_brian2(small_spec, small_inputs,
                                                         shared_standalone_dir, tmp_path):
    import brian2

    project = StandaloneProject(small_spec, SHARED_STEPS, 4, 2)  # and its manifest
    in_process = run_network(small_spec, small_inputs, SHARED_STEPS, **SHARED_RUN)
    assert StandaloneProject._current is project  # nothing rebuilt
    reference = run_network(small_spec, small_inputs, SHARED_STEPS, device="numpy")
    assert_same_results(in_process, reference)
    out, warm = run_second_process(tmp_path, small_ann(), small_inputs)
    assert_same_results(warm, reference)
    assert_same_results(warm, in_process)
    np.testing.assert_array_equal(warm["ds_output_spikes"], reference["output_spikes"])
    assert str(warm["brian2_version"]) == brian2.__version__
    assert "brian2 imported: False" in out
    for stage in ("writing run_args", "binary", "reading results back"):
        assert stage in out
    assert "Brian2 network" not in out and "import brian2" not in out


def corrupt_shape(manifest):
    manifest["run_args"][0]["shape"][1] += 1


def forget_a_result(manifest):
    del manifest["results"]["output.i"]


def other_version(manifest):
    manifest["version"] = -1


def other_code(manifest):
    """As after an edit of brainconv or of a user's model: the binary is out of date."""
    manifest["code"] = "0" * 64


def integer_weights(manifest):
    """Weights written as integers would be truncated: the dtype must be a float."""
    [entry] = [e for e in manifest["run_args"] if e["key"] == ["weights", 2]]
    entry["dtype"] = "<i8"


def other_unit(manifest):
    """A pathway of plain numbers manifested as charges in seconds (scaled on writing)."""
    [entry] = [e for e in manifest["run_args"] if e["key"] == ["weights", 1]]
    entry["unit"], entry["scale"] = "second", 1e3


def edited_scale(manifest):
    """Edited after it was written (not re-signed): the checksum no longer fits."""
    manifest["run_args"][-1]["scale"] = 2.0


edited_scale.resign = False


@SHARED_PROJECT
@pytest.mark.standalone
@pytest.mark.parametrize("damage", [corrupt_shape, forget_a_result, other_version, other_code,
                                    integer_weights, other_unit, edited_scale])
def test_stale_manifest_falls_back_to_brian2(small_spec, small_inputs, shared_standalone_dir,
                                             damage):
    """A manifest that does not fit the project is not trusted: the run goes through Brian2,
    which writes a correct manifest again."""
    directory = StandaloneProject(small_spec, SHARED_STEPS, 4, 2).directory  # compiled once
    path = directory / MANIFEST_NAME
    good = json.loads(path.read_text())
    manifest = json.loads(path.read_text())
    damage(manifest)
    if getattr(damage, "resign", True):  # a consistent manifest, so the damage itself is caught
        manifest["checksum"] = _checksum(manifest)
    path.write_text(json.dumps(manifest))
    # As in a new process. No reference to the old project may stay alive: Brian2 would name
    # the new project's code objects "..._1", and the project would recompile.
    StandaloneProject._current = None
    result = run_network(small_spec, small_inputs, SHARED_STEPS, **SHARED_RUN)
    assert_same_results(result, run_network(small_spec, small_inputs, SHARED_STEPS,
                                            device="numpy"))
    assert StandaloneProject._current is not None  # built through Brian2
    assert json.loads(path.read_text()) == good
    assert not list((directory / "static_arrays").glob("brainconv_*"))


@SHARED_PROJECT
@pytest.mark.standalone
def test_a_binary_that_writes_nothing_is_never_read_as_this_run(small_spec, small_inputs,
                                                               shared_standalone_dir, tmp_path):
    """A copy of the shared project whose binary exits 0 without writing results: the files
    of the run before it must not come back as this run's results."""
    import shutil

    source = StandaloneProject(small_spec, SHARED_STEPS, 4, 2).directory  # compiled once
    run_network(small_spec, small_inputs, SHARED_STEPS, **SHARED_RUN)  # leaves results/
    copy = tmp_path / "project"
    shutil.copytree(source, copy, symlinks=True)
    assert any((copy / "results").rglob("*"))  # the earlier run's files are there
    (copy / "main").unlink()
    (copy / "main").write_text("#!/bin/sh\nexit 0\n")
    (copy / "main").chmod(0o755)
    StandaloneProject._current = None
    with pytest.raises(SimulationError):
        run_network(small_spec, small_inputs, SHARED_STEPS, directory=copy, **SHARED_RUN)


@pytest.mark.standalone
def test_warm_run_reads_recorded_spike_trains(small_spec, small_inputs, standalone_dir):
    """A recording layout's manifest names its train monitors' files; with no live project
    (as in a new process) the trains come back as in the run that built it, and the run_args
    files are deleted. Two binaries share the run: sample 5 is recorded by the second one (the
    first copy of the third batch), so its spikes' positions are shifted when merging."""
    from test_spiketrains import _sorted

    options = dict(device="cpp_standalone", batch_size=4, record=[9, 3, 5], processes=2)
    in_process = run_network(small_spec, small_inputs, 20, **options)
    directory = StandaloneProject._current.directory
    StandaloneProject._current = None  # as in a new process
    warm = run_network(small_spec, small_inputs, 20, **options)
    assert StandaloneProject._current is None  # run from the manifest, nothing built
    reference = run_network(small_spec, small_inputs, 20, device="numpy", record=[9, 3, 5])
    assert_same_results(warm, reference)
    assert set(warm["spike_trains"]["sample"]) == {9, 3, 5}
    for key in ("sample", "layer", "neuron", "step", "weight"):
        np.testing.assert_array_equal(_sorted(warm)[key], _sorted(reference)[key], key)
        np.testing.assert_array_equal(warm["spike_trains"][key],
                                      in_process["spike_trains"][key], key)
    assert not list((directory / "static_arrays").glob("brainconv_*"))


@pytest.mark.slow
@pytest.mark.standalone
def test_warm_run_of_a_continuous_network_with_readout(standalone_dir):
    """Weights in seconds (the manifest's scale) and a 2-D readout monitor, warm as through
    Brian2: LIF layers, alpha synapses, filtered readout, dt = 0.5 ms, padded batches."""
    import brian2

    from brainconv.conversion import convert
    from test_continuous import softlif_ann

    spec = convert(softlif_ann((6, 8, 5, 3)), model="lif_rc", normalization="none",
                   synapse="alpha", synapse_parameters={"tau_s": 2 * brian2.ms},
                   readout="filtered")
    x = np.random.default_rng(5).uniform(0, 1, (5, 6))
    options = dict(device="cpp_standalone", batch_size=2, dt=0.5)
    in_process = run_network(spec, x, 60, **options)
    StandaloneProject._current = None  # as in a new process
    warm = run_network(spec, x, 60, **options)
    assert StandaloneProject._current is None
    assert warm.keys() == in_process.keys()
    for key in warm:
        np.testing.assert_array_equal(warm[key], in_process[key], key)
    assert np.ptp(warm["readout"]) > 0
