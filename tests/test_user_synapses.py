"""User-defined synapse models: Brian2 strings in, a validated, registered SynapseModel out.

A lowpass written by the user under other names must compute exactly what the built-in
``exponential`` filter computes: numpy against numpy, and Brian2 against its numpy reference.
"""

import brian2
import numpy as np
import pytest
from brian2 import ms

from brainconv.conversion import convert
from brainconv.equations import SYNAPSE_MODELS, define_synapse_model, unregister_synapse_model
from brainconv.errors import ModelError
from brainconv.simulation import run_network

from test_continuous import softlif_ann

EQUATIONS = """
h_syn : 1                            # filter output after the step's arrivals
tau_h : second (shared, constant)    # its time constant
"""
UPDATE = """
I_syn = -h_syn * expm1(-dt / tau_h) * tau_h / dt
h_syn = h_syn * exp(-dt / tau_h)
"""


def lowpass_step(state, charge, dt, tau_h):
    h = state["h_syn"]
    h += charge / tau_h
    current = -h * np.expm1(-dt / tau_h) * tau_h / dt
    h *= np.exp(-dt / tau_h)
    return current


def define(name="my_lowpass", **changes):
    arguments = dict(equations=EQUATIONS, on_pre="h_syn_post += {w} / tau_h", update=UPDATE,
                     clear="h_syn = 0", parameters={"tau_h": 8 * ms},
                     filter_step=lowpass_step)
    return define_synapse_model(name, **{**arguments, **changes})


@pytest.fixture(autouse=True)
def clean_registry():
    before = dict(SYNAPSE_MODELS)
    yield
    SYNAPSE_MODELS.clear()
    SYNAPSE_MODELS.update(before)


def test_a_user_lowpass_equals_the_builtin_exponential_filter():
    model = define()
    assert SYNAPSE_MODELS["my_lowpass"] is model and model.state == ("h_syn",)
    assert model.parameters == {"tau_h": 0.008} and model.units == {"tau_h": "second"}
    ann = softlif_ann()
    x = np.random.default_rng(5).uniform(0, 1, (4, 6))
    user = convert(ann, model="lif_rc", normalization="none", synapse="my_lowpass")
    builtin = convert(ann, model="lif_rc", normalization="none", synapse="exponential",
                      synapse_parameters={"tau_s": 8 * ms})
    reference = run_network(user, x, 60, device="numpy", dt=0.5)
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(reference[key],
                                      run_network(builtin, x, 60, device="numpy", dt=0.5)[key])
        np.testing.assert_array_equal(
            reference[key], run_network(user, x, 60, device="runtime", batch_size=3,
                                        dt=0.5)[key])
    assert reference["layer_spikes"][1].sum() > 0  # the filter carried spikes


@pytest.mark.parametrize("changes, message", [
    ({"update": "h_syn = h_syn * exp(-dt / tau_h)"}, r"never sets I_syn"),
    ({"on_pre": "h_syn_post += w / tau_h"}, r"on_pre must write the weight as \{w\}"),
    ({"update": "I_syn = h_syn / tau_x"}, r"Brian2 rejected it.*tau_x.*declare 'tau_x'"),
    ({"parameters": {"tau_h": 8}}, r"'tau_h' is declared with unit.*write 8\*ms"),
    ({"clear": "k_syn = 0"}, r"clear `k_syn = 0` assigns 'k_syn'"),
    ({"weight_unit": "parsec"}, r"weight_unit must name a Brian2 unit"),
])
def test_bad_definitions_name_the_part_and_the_fix(changes, message):
    with pytest.raises(ModelError, match=message):
        define(**changes)
    assert "my_lowpass" not in SYNAPSE_MODELS


def test_names_of_builtin_models_are_refused_and_numpy_needs_a_filter_step():
    with pytest.raises(ModelError, match=r"'alpha' is taken by a built-in synapse model"):
        define("alpha")
    define(filter_step=None)
    spec = convert(softlif_ann(), model="lif_rc", normalization="none", synapse="my_lowpass")
    with pytest.raises(ModelError, match=r"'my_lowpass' has no numpy filter_step.*"
                                         r"cpp_standalone"):
        run_network(spec, np.ones((1, 6)), 5, device="numpy", dt=1.0)
    unregister_synapse_model("my_lowpass")
    assert "my_lowpass" not in SYNAPSE_MODELS
    with pytest.raises(ModelError, match="no user synapse model"):
        unregister_synapse_model("my_lowpass")
    assert brian2.second  # brian2 stays importable for the module's quantities


def test_a_model_file_may_define_synapse_models(tmp_path):
    from brainconv.equations import load_model_file

    path = tmp_path / "filters.py"
    path.write_text(
        "import brian2\n"
        "from brainconv.equations import define_synapse_model\n"
        f"define_synapse_model('file_lowpass', {EQUATIONS!r}, 'h_syn_post += {{w}} / tau_h',\n"
        f"                     {UPDATE!r}, 'h_syn = 0', {{'tau_h': 8 * brian2.ms}})\n")
    found = load_model_file(path)
    assert list(found) == ["file_lowpass"] and SYNAPSE_MODELS["file_lowpass"] is found[
        "file_lowpass"]
