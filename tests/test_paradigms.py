"""The Think Fast paradigms inside converted networks: Brian2 against the numpy reference,
ensemble power counting, LEN's output scaling, and resumable comparisons."""

import numpy as np
import pytest

import brainconv.comparison as compare_module
from brainconv.comparison import Paradigm, compare, ranking_table, row_cells
from brainconv.results import load_results
from brainconv.conversion import convert
from brainconv.errors import ParameterError, SimulationError
from brainconv.simulation import StandaloneProject, run_network

from conftest import small_ann

# R = 2 halves the potential each step: exact in binary, so Brian2 and numpy agree bit for bit.
CASES = {
    "lif": {"R": 2.0},
    "leaky_accumulator": {"R": 2.0, "k": 3},
    "ion": {"size": 5},
    "len": {"size": 4, "spacing": 0.2, "R": 4.0, "tau_ref": 1, "max_rate": 0.5},
}


def spec_for(model):
    """The dyadic 12-8-6-3 test network with weights x 2 (still exact), so leaky nets spike."""
    from brainconv.ann import ANN

    ann = small_ann()
    ann = ANN(tuple(2 * w for w in ann.weights), tuple(2 * b for b in ann.biases))
    return convert(ann, model=model, normalization="none", parameters=CASES[model])


def assert_same_results(a, b):
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("model", sorted(CASES))
def test_runtime_equals_numpy_reference(model, small_inputs):
    spec = spec_for(model)
    reference = run_network(spec, small_inputs, 25, device="numpy")
    # batch_size 4 over 10 samples: the last batch is padded, and padding must stay silent
    assert_same_results(run_network(spec, small_inputs, 25, device="runtime", batch_size=4),
                        reference)
    assert reference["output_spikes"].sum() > 0 and reference["layer_spikes"][0].sum() > 0


def paradigm_mix_spec():
    """ION (5 members), LEN (5 members, refractory) and an accumulator clipping at k = 3 in one
    12-8-6-3 network (weights x 4), its output pathway sparse (10 of its 18 synapses):
    member state, payloads, clipping, the spike meter and sparse synapses in one project."""
    import dataclasses

    import scipy.sparse

    from brainconv.ann import ANN

    ann = small_ann()
    ann = ANN(tuple(4 * w for w in ann.weights), tuple(4 * b for b in ann.biases))
    spec = convert(ann, model=["ion", "len", "accumulator"], normalization="none",
                   parameters={"size": 5, "spacing": 0.15, "R": 4.0, "tau_ref": 1,
                               "max_rate": 0.5, "k": 3})
    output = spec.layers[-1]
    keep = np.random.default_rng(2).random(output.weights.shape) < 0.6  # 10 of 18 synapses
    sparse = dataclasses.replace(output, weights=scipy.sparse.csr_matrix(output.weights * keep))
    return dataclasses.replace(spec, layers=spec.layers[:-1] + (sparse,))


@pytest.mark.standalone
@pytest.mark.long
def test_paradigm_mix_cpp_standalone_equals_numpy_reference(small_inputs, standalone_dir):
    """One compiled project checks what the slow per-model tests below check one by one."""
    spec = paradigm_mix_spec()
    reference = run_network(spec, small_inputs, 20, device="numpy")
    # batch_size 4 over 10 samples: the last batch is padded, and padding must stay silent
    assert_same_results(
        run_network(spec, small_inputs, 20, device="cpp_standalone", batch_size=4), reference)
    # every mechanism is exercised: ION and LEN members fire, the accumulator's payloads
    # exceed one spike per event and are clipped at k = 3
    assert reference["layer_spikes"][0].sum() > 0 and reference["layer_spikes"][1].sum() > 0
    assert reference["output_spikes"].max() == 3
    assert reference["output_spikes"].sum() > reference["layer_spikes"][-1].sum()


@pytest.mark.slow
@pytest.mark.standalone
def test_ensembles_cpp_standalone_equal_numpy_reference(small_inputs, standalone_dir):
    """Whole ION and LEN networks (two projects); by default the mix above covers both."""
    for model in ("ion", "len"):
        spec = spec_for(model)
        assert_same_results(
            run_network(spec, small_inputs, 20, device="cpp_standalone", batch_size=4),
            run_network(spec, small_inputs, 20, device="numpy"))


def test_ion_power_counts_member_spikes_not_events():
    """A 5-member ION unit fed x = 0.5: 4 members fire every step, the middle one every other."""
    from brainconv.ann import ANN

    ann = ANN((np.full((1, 1), 0.5),), (np.zeros(1),))
    spec = convert(ann, model="ion", normalization="none", parameters={"size": 5})
    for device in ("numpy", "runtime"):
        result = run_network(spec, np.ones((1, 1)), 10, device=device)
        np.testing.assert_array_equal(result["layer_spikes"][0], [4, 5] * 5)
        # the output sends max(0, sum) = 0 or 1 unit per step: the ReLU of 0.5
        assert result["output_spikes"].sum() == 5
        assert result["unit_spike_count"].tolist() == [45]


def test_ensemble_network_answers_in_first_timestep():
    from brainconv.ann import ANN

    ann = ANN(tuple(np.full((1, 1), 2.0) for _ in range(3)), tuple(np.zeros(1) for _ in range(3)))
    spec = convert(ann, model="ion", normalization="none", parameters={"size": 3})
    result = run_network(spec, np.ones((1, 1)), 2, device="runtime")
    assert result["output_spikes"][0, 0, 0] > 0


def test_len_payload_levels_are_scaled_into_the_next_layer():
    spec = convert(small_ann(), model="len", normalization="none", parameters={"spacing": 0.1})
    ann = small_ann()
    np.testing.assert_allclose(spec.layers[1].weights, ann.weights[1] * 0.1)
    np.testing.assert_allclose(spec.layers[0].weights, ann.weights[0])
    np.testing.assert_allclose(spec.layers[1].bias, ann.biases[1])


def test_threshold_is_a_run_time_value_not_part_of_the_compiled_layout():
    """The threshold arrives as a run_arg (tests/test_run_args.py runs both on one binary)."""
    a = convert(small_ann(), normalization="none", threshold=1.0)
    b = convert(small_ann(), normalization="none", threshold=2.0)
    assert (StandaloneProject.layout_key(a, 10, 4, 1)
            == StandaloneProject.layout_key(b, 10, 4, 1))


def test_compare_resumes_from_checkpoints(small_inputs, tmp_path, monkeypatch):
    ann = small_ann()
    labels = ann.predict(small_inputs)
    paradigms = {"ion5": Paradigm("ion", "none", {"size": 5}),
                 "leaky": Paradigm("leaky_accumulator", "none", {"R": 2.0})}
    first = compare(ann, small_inputs, small_inputs, labels, 15, 0.5, paradigms,
                    device="numpy", checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ion5.nc", "leaky.nc"]

    def fail(*args, **kwargs):
        raise AssertionError("simulated again instead of reading the checkpoint")

    monkeypatch.setattr(compare_module, "run_paradigm", fail)
    again = compare(ann, small_inputs, small_inputs, labels, 15, 0.5, paradigms,
                    device="numpy", checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(again["accuracy_over_time"], first["accuracy_over_time"])
    # spikes over all steps: the checkpointed layer counts / (samples x steps x units)
    ds = load_results(tmp_path / "ion5.nc")
    expected = ds["layer_spikes"].isel(layer=0).sum() / (10 * 15 * 8)
    assert float(again["spikes_per_step_all"].sel(paradigm="ion5")) == pytest.approx(
        float(expected))
    # a different run (other steps) must not reuse the checkpoint
    with pytest.raises(AssertionError, match="simulated again"):
        compare(ann, small_inputs, small_inputs, labels, 16, 0.5, paradigms,
                device="numpy", checkpoint_dir=tmp_path)


@pytest.mark.parametrize("target", [0.0, 1.5, 80.22])
def test_compare_rejects_a_target_outside_0_1_before_simulating(target, small_inputs):
    with pytest.raises(ParameterError, match=r"target must be an accuracy fraction in \(0, 1\]"):
        compare(small_ann(), small_inputs, small_inputs, np.zeros(10, int), 5, target,
                device="numpy")


def test_target_never_reached_is_reported_as_never(small_inputs):
    ann = small_ann()
    result = compare(ann, small_inputs, small_inputs, ann.predict(small_inputs), 3, 1.0,
                     {"lif": Paradigm("lif", "none", {"R": 20.0})}, device="numpy")
    assert np.isnan(float(result["time_to_target"].sel(paradigm="lif")))
    assert "| lif |" in ranking_table(result) and "| never |" in ranking_table(result)
    assert row_cells(result, "lif")[1] == "never"
