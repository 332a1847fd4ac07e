"""One path from an ANN to results: brainconv.pipeline, its attributes, and the package's
module boundaries."""

import ast
from pathlib import Path

import numpy as np
import pytest

import brainconv
from brainconv.energy import add_energy_attrs, energy_summary
from brainconv.errors import ParameterError
from brainconv.pipeline import Paradigm, check_paradigm, check_run, convert_paradigm, run_paradigm
from brainconv.provenance import ann_hash
from brainconv.results import load_cached, load_results, make_dataset, save_results, step_ms

from conftest import small_ann

ENERGY_KEYS = ("energy_synops_per_s", "energy_updates_per_s", "energy_c1_s",
               "energy_snn_flops", "energy_ann_flops", "energy_efficiency",
               "energy_first_layer")


def test_run_paradigm_writes_one_provenance(small_inputs):
    ann = small_ann()
    labels = ann.predict(small_inputs)
    paradigm = Paradigm("ion", "none", {"size": 5})
    ds = run_paradigm(ann, paradigm, small_inputs, labels, 12, device="numpy",
                      attrs={"paradigm": "ion5", "seed": 3}, ann_file="/some/dir/ann.npz",
                      record=[0, 1], record_layers="hidden")
    attrs = ds.attrs
    assert attrs["model"] == "ion,ion,ion" and attrs["parameters_hidden1"] == "size=5"
    assert attrs["ann_sha256"] == ann_hash(ann) and attrs["ann_file"] == "ann.npz"
    assert attrs["ann_accuracy"] == 1.0  # the labels are the ANN's own predictions
    assert isinstance(attrs["dt_ms"], float) and attrs["dt_ms"] == 1.0
    assert (attrs["paradigm"], attrs["seed"], attrs["device"]) == ("ion5", 3, "numpy")
    assert attrs["ops_acs"] > 0 and attrs["ops_macs"] == 12 * 8
    for key in ENERGY_KEYS:
        assert key in attrs
    # "hidden": every layer but the output is recorded
    assert list(ds["recorded_layer"].values) == [1, 1, 0]
    figures = energy_summary(ds, convert_paradigm(ann, paradigm)[0])
    assert attrs["energy_snn_flops"] == pytest.approx(figures["snn_energy"])


def test_run_paradigm_results_survive_the_file(small_inputs, tmp_path):
    ann = small_ann()
    labels = ann.predict(small_inputs)
    ds = run_paradigm(ann, Paradigm("if_soft", "none"), small_inputs, labels, 8,
                      device="numpy", attrs={"cache_key": "abc"})
    path = save_results(ds, tmp_path / "r.nc")
    back = load_results(path)
    assert back.attrs["dt_ms"] == 1.0 and back.attrs["energy_first_layer"] == "none"
    assert load_cached(path, "abc") is not None
    assert load_cached(path, "other") is None and load_cached(tmp_path / "no.nc", "abc") is None
    assert load_cached(None, "abc") is None


def test_add_energy_attrs_matches_energy_summary(small_spec, small_inputs):
    from brainconv.simulation import simulate

    ds = simulate(small_spec, small_inputs, np.zeros(len(small_inputs), int), 10,
                  device="numpy")
    for key in ENERGY_KEYS:
        ds.attrs.pop(key, None)
    assert add_energy_attrs(ds, small_spec) is ds
    figures = energy_summary(ds, small_spec)
    assert ds.attrs["energy_synops_per_s"] == figures["synops_per_s"]
    assert ds.attrs["energy_updates_per_s"] == figures["updates_per_s"]
    assert ds.attrs["energy_c1_s"] == figures["c1_s"]
    assert ds.attrs["energy_ann_flops"] == figures["ann_flops"]
    assert ds.attrs["energy_efficiency"] == figures["efficiency"]
    windowed = add_energy_attrs(ds.copy(), small_spec, window=(0.0, 5.0))
    assert windowed.attrs["energy_c1_s"] == pytest.approx(0.005)


def test_step_is_a_number_and_older_strings_are_read():
    assert step_ms({"dt_ms": 0.5}) == 0.5
    assert step_ms({"dt": "1.0 ms"}) == 1.0
    assert step_ms({"dt": "0.0005 s"}) == pytest.approx(0.5)
    assert step_ms({"dt": "1 step"}) is None and step_ms({}) is None
    ds = make_dataset(np.zeros((1, 2, 2), int), [0], np.zeros((1, 2)), np.zeros(2), ["out"],
                      [2], {"dt": "0.5 ms"})
    assert ds.attrs["dt_ms"] == 0.5  # an older file's string gives the number


def test_checks_come_before_any_work():
    with pytest.raises(ParameterError, match="processes=2 applies to device='cpp_standalone'"):
        check_run(10, "numpy", processes=2)
    with pytest.raises(ParameterError):
        check_run(0, "numpy")
    check_run(10, "numpy", target=0.5, outputs=[(None, "--plot")])
    with pytest.raises(ParameterError, match="bias-free"):
        check_paradigm(small_ann(), Paradigm("if_soft", "spike_norm"))


def test_spike_norm_gives_its_thresholds(small_inputs):
    ann = small_ann()
    ann = type(ann)(ann.weights, tuple(np.zeros_like(b) for b in ann.biases))
    spec, thresholds = convert_paradigm(ann, Paradigm("if_soft", "spike_norm",
                                                      calibration_steps=20), small_inputs)
    assert spec.normalization == "spike_norm" and len(thresholds) == 3
    assert convert_paradigm(ann, Paradigm("if_soft", "none"))[1] is None


def test_no_module_imports_another_modules_private_name():
    root = Path(brainconv.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                    node.level > 0 or (node.module or "").startswith("brainconv")):
                offenders += [f"{path.relative_to(root)}: {node.module}.{alias.name}"
                              for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert offenders == []


def test_run_paradigm_checks_recording_and_memory_before_normalizing(small_inputs):
    """A record index out of range is refused before the conversion's normalization (which
    would need calibration data here) and before any simulation."""
    from brainconv.pipeline import Paradigm, run_paradigm
    from conftest import small_ann

    paradigm = Paradigm("if_soft", normalization="percentile")
    with pytest.raises(ParameterError, match=r"record must list distinct sample indices in "
                                             r"\[0, 10\)"):
        run_paradigm(small_ann(), paradigm, small_inputs, np.zeros(10, int), 5, record=[10],
                     device="numpy")
    with pytest.raises(ParameterError, match="GiB for the results"):
        run_paradigm(small_ann(), paradigm, small_inputs, np.zeros(10, int), 10**12,
                     device="numpy")


def test_numpy_device_without_a_numpy_step_is_refused_before_the_data(tmp_path):
    import brian2

    from brainconv.equations import unregister_model
    from brainconv.equations.user import define_model
    from brainconv.errors import ModelError
    from brainconv.pipeline import check_paradigm
    from conftest import small_ann

    define_model("strings_only", "dv/dt = -v / tau : 1\nI : 1\ntheta : 1 (shared, constant)\n"
                 "tau : second (shared, constant)", "v >= theta", "v -= theta",
                 {"tau": 10 * brian2.ms}, integrate="v += I")
    try:
        paradigm = Paradigm("strings_only", normalization="none")
        with pytest.raises(ModelError, match="no numpy step function.*cpp_standalone"):
            check_paradigm(small_ann(), paradigm, "numpy")
        check_paradigm(small_ann(), paradigm, "runtime")  # Brian2 runs it
    finally:
        unregister_model("strings_only")
