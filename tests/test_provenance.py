"""Results record what produced them; comparison files load through their own loader."""

import numpy as np
import pytest
import scipy.sparse
import xarray as xr

from brainconv.ann import ANN
from brainconv.comparison import load_comparison, pareto_optimal, save_comparison
from brainconv.conversion import convert
from brainconv.errors import DataError, ParameterError
from brainconv.provenance import ann_hash, format_parameters, paradigm_label, provenance_attrs
from brainconv.results import load_results, make_dataset, save_results

from conftest import small_ann


def dataset(attrs):
    out = np.zeros((2, 3, 3), dtype=int)
    return make_dataset(out, [0, 1], np.zeros((3, 3)), np.zeros(17),
                        ["hidden1", "hidden2", "output"], [8, 6, 3], attrs=attrs)


def test_parameters_per_layer_and_hash():
    ann = small_ann()
    spec = convert(ann, model="leaky_accumulator", normalization="none",
                   parameters={"R": 10, "k": 100})
    attrs = provenance_attrs(spec, ann=ann, ann_file="/some/where/ann.npz")
    assert attrs["model"] == "leaky_accumulator,leaky_accumulator,leaky_accumulator"
    for layer in ("hidden1", "hidden2", "output"):
        assert attrs[f"parameters_{layer}"] == "R=10, k=100"
    assert attrs["normalization"] == "none" and "percentile" not in attrs
    assert attrs["threshold"] == 1.0
    assert attrs["ann_sha256"] == ann_hash(ann) and len(attrs["ann_sha256"]) == 64
    assert attrs["ann_file"] == "ann.npz"


def test_percentile_only_under_percentile_normalization():
    ann = small_ann()
    data = np.random.default_rng(0).uniform(0, 1, (20, 12))
    spec = convert(ann, data=data, normalization="percentile", percentile=99.0)
    attrs = provenance_attrs(spec)
    assert attrs["percentile"] == 99.0 and attrs["parameters_hidden1"] == "none"
    assert "ann_sha256" not in attrs and "ann_file" not in attrs
    assert "percentile" not in provenance_attrs(convert(ann, data=data, normalization="max"))


def test_ann_hash_follows_the_content():
    ann = small_ann()
    assert ann_hash(ann) == ann_hash(small_ann())
    changed = [w.copy() for w in ann.weights]
    changed[1][0, 0] += 1 / 64
    assert ann_hash(ANN(tuple(changed), ann.biases)) != ann_hash(ann)
    assert ann_hash(ANN(ann.weights, ann.biases, "rate", {"R": 10})) != ann_hash(ann)
    assert (ann_hash(ANN(ann.weights, ann.biases, "rate", {"R": 10}))
            != ann_hash(ANN(ann.weights, ann.biases, "rate", {"R": 2})))
    sparse = ANN((scipy.sparse.csr_matrix(ann.weights[0]),) + ann.weights[1:], ann.biases)
    assert ann_hash(sparse) == ann_hash(sparse) != ann_hash(ann)


def test_provenance_survives_the_netcdf_round_trip(tmp_path):
    ann = small_ann()
    spec = convert(ann, model="ion", normalization="none", parameters={"size": 7})
    ds = dataset(provenance_attrs(spec, ann, "ann.npz"))
    back = load_results(save_results(ds, tmp_path / "r.nc"))
    for key, value in provenance_attrs(spec, ann, "ann.npz").items():
        assert back.attrs[key] == value
    assert back.attrs["parameters_hidden2"] == "size=7" and "percentile" not in back.attrs


def test_simulate_records_provenance(small_spec, small_inputs):
    from brainconv.simulation import simulate

    ds = simulate(small_spec, small_inputs, np.zeros(len(small_inputs), int), 3,
                  device="numpy", attrs={"ann_sha256": ann_hash(small_ann())})
    assert ds.attrs["model"] == "if_soft,if_soft,if_soft"
    assert ds.attrs["parameters_output"] == "none" and ds.attrs["threshold"] == 1.0
    assert ds.attrs["normalization"] == "none" and "percentile" not in ds.attrs
    assert ds.attrs["ann_sha256"] == ann_hash(small_ann())


@pytest.mark.parametrize("pairs, text", [
    ((), "none"), ((("R", 10.0), ("k", 100)), "R=10, k=100"),
    ((("tau_rc", 0.02), ("mode", "x")), "tau_rc=0.02, mode=x"),
])
def test_format_parameters(pairs, text):
    assert format_parameters(pairs) == text


def test_a_result_carries_units_user_model_strings_and_the_anns_training(tmp_path):
    """Enough to check a result: SI values with their units, a user model's Brian2 strings
    (not only its name) and how the ANN was trained, through the NetCDF round trip."""
    import brian2

    from brainconv.equations import unregister_model
    from brainconv.equations.user import define_model

    ann = ANN(small_ann().weights, small_ann().biases,
              training={"data": "digits", "seed": 3, "epochs": 5})
    softlif = ANN(ann.weights, ann.biases, activation="softlif", training=ann.training)
    spec = convert(softlif, model="lif_rc", normalization="none", synapse="exponential",
                   parameters={"tau_rc": 20 * brian2.ms},
                   synapse_parameters={"tau_s": 5 * brian2.ms})
    attrs = provenance_attrs(spec, softlif)
    assert "tau_rc=0.02 second" in attrs["parameters_hidden1"]
    assert attrs["synapse_parameters_hidden2"] == "exponential: tau_s=0.005 second"
    assert attrs["ann_training"] == "data=digits, epochs=5, seed=3"
    assert not any(key.startswith("model_definition") for key in attrs)  # built-in models
    model = define_model("prov_leaky", "dv/dt = -v / tau : 1\nI : 1\n"
                         "theta : 1 (shared, constant)\ntau : second (shared, constant)",
                         "v >= theta", "v -= theta", {"tau": 10 * brian2.ms},
                         integrate="v += I")
    try:
        user = convert(ann, model="prov_leaky", normalization="none")
        back = load_results(save_results(dataset(provenance_attrs(user, ann)),
                                         tmp_path / "r.nc"))
    finally:
        unregister_model(model.name)
    assert back.attrs["parameters_hidden1"] == "tau=0.01 second"
    definition = back.attrs["model_definition_hidden1"]
    assert "equations: dv/dt = -v / tau : 1 I : 1" in definition
    assert "threshold: v >= theta" in definition and "reset: v -= theta" in definition
    assert back.attrs["ann_training"] == "data=digits, epochs=5, seed=3"


@pytest.mark.parametrize("attrs, label", [
    ({"model": "if_soft,if_soft"}, "if_soft"),
    ({"model": "ion,ion,accumulator"}, "ion, accumulator output"),
    ({"model": "a,b,c"}, "a, b, c"),
    ({"model": "lif", "paradigm": "lif_R10"}, "lif_R10"),
    ({}, None),
])
def test_paradigm_label(attrs, label):
    assert paradigm_label(attrs) == label


def comparison():
    accuracy, reached, spikes = [0.98, 0.97, 0.5], [1.0, 4.0, np.nan], [1.0, 0.03, 0.08]
    return xr.Dataset(
        {"accuracy": ("paradigm", accuracy), "time_to_target": ("paradigm", reached),
         "spikes_per_step": ("paradigm", spikes), "spikes_per_step_all": ("paradigm", spikes),
         "accuracy_over_time": (("paradigm", "time"), np.full((3, 5), 0.5)),
         "pareto_optimal": ("paradigm", pareto_optimal(accuracy, reached, spikes))},
        coords={"paradigm": ["ann", "rate_soft", "lif"], "time": np.arange(1, 6)},
        attrs={"target": 0.8, "steps": 5, "n_samples": 10, "device": "numpy"})


def test_comparison_round_trip(tmp_path):
    result = comparison()
    path = save_comparison(result, tmp_path / "c.nc")
    assert "kind" not in result.attrs  # the caller's dataset is left alone
    back = load_comparison(path)
    assert back.attrs["kind"] == "comparison" and back.attrs["steps"] == 5
    assert list(back["paradigm"].values) == ["ann", "rate_soft", "lif"]
    xr.testing.assert_identical(back.drop_attrs(), result.drop_attrs())


def test_load_comparison_rejects_a_results_file(tmp_path):
    path = save_results(dataset({"model": "if_soft"}), tmp_path / "plain.nc")
    with pytest.raises(DataError, match=r"plain\.nc.*not a brainconv comparison.*single "
                                        r"simulation.*load_results"):
        load_comparison(path)
    with pytest.raises(DataError, match=r"missing\.nc.*not found"):
        load_comparison(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_bytes(b"not netcdf")
    with pytest.raises(DataError, match=r"junk\.nc"):
        load_comparison(tmp_path / "junk.nc")


def test_load_comparison_rejects_another_kind(tmp_path):
    result = comparison()
    result.attrs["kind"] = "sweep"
    save_results(result, tmp_path / "sweep.nc")
    with pytest.raises(DataError, match=r"sweep\.nc.*kind 'sweep'"):
        load_comparison(tmp_path / "sweep.nc")


def test_save_comparison_refuses_a_results_dataset(tmp_path):
    with pytest.raises(ParameterError, match="save_results"):
        save_comparison(dataset({}), tmp_path / "x.nc")
