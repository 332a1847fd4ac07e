"""The shared model base, the neuron model parts and convert's registries: numpy only."""

import dataclasses

import numpy as np
import pytest
from brian2 import ms

from brainconv.conversion import converter as convert_module
from brainconv.conversion import (ANN_FAMILIES, ENCODERS, NORMALIZERS, PARAMETER_RULES, Encoder,
                               Normalizer, convert)
from brainconv.equations import (INPUT_MODES, MODELS, OUTPUT_KINDS, ModelBase, ModelParts,
                                 NeuronModel, get_model, get_synapse_model)
from brainconv.equations.adaptive_lif import ADAPTIVE_LIF, LearningNeuronModel
from brainconv.equations.plasticity import PAIR_STDP, ParameterSet, PlasticSynapseModel
from brainconv.equations.synapses import SynapseModel
from brainconv.errors import ModelError, ParameterError
from brainconv.reference import _STEP_INPUT, simulate_reference

from conftest import small_ann


# --- the shared base -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [NeuronModel, SynapseModel, PlasticSynapseModel,
                                  LearningNeuronModel])
def test_every_model_kind_has_the_shared_base(kind):
    assert issubclass(kind, ModelBase)
    names = {f.name for f in dataclasses.fields(kind)}
    assert {"name", "equations", "parameters", "units", "placeholders", "citation",
            "description", "check"} <= names
    assert ParameterSet is ModelBase  # the earlier name


def test_owner_names_the_kind_in_messages():
    assert get_model("lif_rc").owner() == "neuron model 'lif_rc'"
    assert get_synapse_model("alpha").owner("hidden2") == "synapse model 'alpha' (hidden2)"
    assert PAIR_STDP.owner() == "plastic synapse model 'pair_stdp'"
    assert ADAPTIVE_LIF.owner() == "learning neuron model 'adaptive_lif'"


def test_shared_parameter_checks():
    alpha = get_synapse_model("alpha")
    assert alpha.check_parameters({"tau_s": 2 * ms}) == {"tau_s": pytest.approx(0.002)}
    with pytest.raises(ParameterError, match=r"synapse model 'alpha' has no parameter\(s\) "
                                             r"\['tau'\]; its parameters are \['tau_s'\]"):
        alpha.check_parameters({"tau": 2 * ms})
    with pytest.raises(ParameterError, match="'tau_s' of synapse model 'alpha' must be positive"):
        alpha.check_parameters({"tau_s": 0 * ms})
    with pytest.raises(ParameterError, match=r"needs a Brian2 unit of second.*tau_s=5\*ms"):
        alpha.check_parameters({"tau_s": 5})
    assert get_synapse_model("delta").check_parameters() == {}
    # A neuron model checks only the values given (convert merges defaults and trained ones).
    assert get_model("lif_rc").check_parameters({"tau_rc": 10 * ms}) == {
        "tau_rc": pytest.approx(0.01)}
    assert get_model("lif_rc").defaults()["tau_rc"] == get_model("lif_rc").brian2_values(
        {"tau_rc": get_model("lif_rc").parameters["tau_rc"]})["tau_rc"]
    assert ADAPTIVE_LIF.namespace()["t_ref"] == 5 * ms
    assert PAIR_STDP.model == PAIR_STDP.equations


def test_neuron_model_keeps_its_positional_constructor():
    model = NeuronModel("pos_if", "dv/dt = I/dt : 1\nI : 1\ntheta : 1", "v >= theta",
                        "v -= theta", {"theta": 1.0})
    assert (model.threshold, model.reset, model.parameters) == ("v >= theta", "v -= theta",
                                                                {"theta": 1.0})
    assert model.parts == ModelParts("step", "add", "spikes")
    with pytest.raises(ModelError, match="time_base must be one of 'step', 'continuous'"):
        NeuronModel("bad", "", "v >= theta", "v = 0", {}, time_base="seconds")


# --- the parts -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, parts", [
    ("if_soft", ("step", "add", "spikes")),
    ("accumulator", ("step", "add", "payload")),
    ("ion", ("step", "add", "count")),
    ("fs_relu", ("step", "one_off", "payload")),
    ("lif_rc", ("continuous", "filtered", "spikes")),
    ("cuba_lif", ("continuous", "after_reset", "count")),
    ("readout", ("continuous", "filtered", "readout")),
])
def test_parts_of_the_builtin_models(name, parts):
    assert tuple(get_model(name).parts) == parts


def test_parts_are_consistent_with_the_fields():
    for model in list(MODELS.values()) + [get_model("readout")]:
        time_base, input_mode, output_kind = model.parts
        assert input_mode in INPUT_MODES and output_kind in OUTPUT_KINDS
        assert (input_mode == "one_off") == bool(model.window)
        assert (input_mode == "after_reset") == model.input_after_reset
        assert (output_kind == "count") == bool(model.spike_count)
        assert (output_kind == "readout") == (not model.spiking)
        if time_base == "step":  # the numpy reference has a step input for each mode
            assert input_mode in _STEP_INPUT


def test_events_follow_the_output_kind():
    sent = np.array([[0.0, 2.0, -1.0]])
    assert get_model("if_soft").events(sent)[1] is sent
    np.testing.assert_array_equal(get_model("fs_relu").events(sent)[1], [[False, True, True]])
    counts = np.array([[0.0, 3.0, 1.0]])
    assert get_model("ion").events((sent, counts)) == (sent, counts)


# --- convert's registries --------------------------------------------------------------------

def test_unknown_names_list_the_registry():
    ann = small_ann()
    with pytest.raises(ParameterError, match="unknown normalization 'median'.*'spike_norm'"):
        convert(ann, normalization="median")
    with pytest.raises(ParameterError, match="unknown encoding 'rate'.*'current', 'poisson'"):
        convert(ann, encoding="rate", normalization="none")
    with pytest.raises(ParameterError, match="unknown readout 'mean'.*'filtered'"):
        convert(ann, readout="mean", normalization="none")
    assert set(ANN_FAMILIES) >= {"relu", "rate", "accumulator", "swish", "softlif"}
    assert ANN_FAMILIES["softlif"].time_base == "continuous"


def test_a_new_normalizer_is_one_entry(monkeypatch):
    ann, x = small_ann(), np.random.default_rng(0).uniform(0, 1, (5, 12))

    def halve(ann, data, percentile):
        return type(ann)(tuple(w / 2 for w in ann.weights), tuple(b / 2 for b in ann.biases))

    monkeypatch.setitem(NORMALIZERS, "halve", Normalizer(halve, needs_data=False))
    spec = convert(ann, normalization="halve")
    reference = convert(ann, normalization="none")
    for layer, plain in zip(spec.layers, reference.layers):
        np.testing.assert_allclose(layer.weights, plain.weights / 2)
    assert simulate_reference(spec, x, 3)["output_spikes"].shape == (5, 3, 3)


def test_a_new_encoder_is_one_entry(monkeypatch):
    monkeypatch.setitem(ENCODERS, "constant", Encoder())
    ann = small_ann()
    a = convert(ann, normalization="none", encoding="constant")
    b = convert(ann, normalization="none")
    assert [layer.name for layer in a.layers] == [layer.name for layer in b.layers]
    np.testing.assert_array_equal(a.layers[0].weights, b.layers[0].weights)
    with pytest.raises(ParameterError, match="poisson_parameters were given"):
        convert(ann, normalization="none", encoding="constant", poisson_parameters={})


def test_parameter_rules_apply_to_every_model():
    assert set(PARAMETER_RULES) >= {"k", "R", "tau_rc", "tau_ref"}
    with pytest.raises(ParameterError, match="k .* must be an integer >= 1"):
        convert(small_ann(), model="accumulator", normalization="none", parameters={"k": 1.5})
    spec = convert(small_ann(), model="accumulator", normalization="none", parameters={"k": 3.0})
    assert dict(spec.layers[0].parameters)["k"] == 3 and isinstance(
        dict(spec.layers[0].parameters)["k"], int)


def test_convert_body_is_short():
    import inspect

    assert len(inspect.getsource(convert_module._convert).splitlines()) < 60


def test_convert_runs_a_neuron_models_own_check(monkeypatch):
    def no_leak(values, owner):
        if values["R"] != 1:
            raise ParameterError(f"{owner} takes no leak here")

    model = dataclasses.replace(get_model("lif"), name="no_leak_lif", check=no_leak)
    monkeypatch.setitem(MODELS, "no_leak_lif", model)
    with pytest.raises(ParameterError, match="neuron model 'no_leak_lif' takes no leak"):
        convert(small_ann(), model="no_leak_lif", normalization="none", parameters={"R": 10})
    assert convert(small_ann(), model="no_leak_lif", normalization="none",
                   parameters={"R": 1}).layers[0].model == "no_leak_lif"
