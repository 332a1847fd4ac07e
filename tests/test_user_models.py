"""User-defined models: define, validate (errors by content), register, convert, simulate.

Brian2 runs with the numpy code generation target here (no C++ compile); every test restores
the registry and the preference it changes.
"""

import gc

import brian2
import numpy as np
import pytest
from brian2.utils.logger import catch_logs

from brainconv.ann import ANN

from brainconv.conversion import convert
from brainconv.equations import BUILTIN_MODELS, MODELS, get_model, register_model, \
    unregister_model
from brainconv.equations.user import define_model, load_model_file, measure_rate, \
    validate_model
from brainconv.errors import ModelError, SimulationError, brian2_cause
from brainconv.simulation import simulate

from conftest import small_ann

# A leaky neuron with a membrane time constant in real units. Synaptic input gathers in `x`
# and joins the potential in `integrate`, so Brian2 and numpy add the same numbers in the same
# order (dyadic weights: every sum is exact) and their spikes agree exactly.
EQUATIONS = """
dv/dt = -v / tau : 1
x : 1
I : 1
theta : 1 (shared, constant)
tau : second (shared, constant)
"""
DEFINITION = dict(threshold="v >= theta", reset="v = 0", integrate="v += I + x\nx = 0",
                  input_variable="x", parameters={"tau": 16 * brian2.ms})


def user_step(v, current, spikes, theta=1.0, tau=0.016):
    """Brian2's generated euler update ``_v = -dt*v/tau + v``, operation for operation."""
    v[...] = -0.001 * v / tau + v  # dt = 1 ms and tau in seconds (parameters arrive in SI)
    v += current
    np.greater_equal(v, theta, out=spikes)
    v *= 1 - spikes
    return spikes


@pytest.fixture(autouse=True)
def numpy_target_and_clean_registry():
    previous_target, previous_models = brian2.prefs.codegen.target, dict(MODELS)
    brian2.prefs.codegen.target = "numpy"
    yield
    brian2.prefs.codegen.target = previous_target
    MODELS.clear()
    MODELS.update(previous_models)


def define(name="user_lif", equations=EQUATIONS, **changes):
    return define_model(name, equations, **{**DEFINITION, **changes})


def error_of(**changes):
    with pytest.raises(ModelError) as info:
        define(**changes)
    assert "user_lif" not in MODELS  # nothing half-defined is registered
    return str(info.value)


def test_user_model_converts_and_runtime_spikes_equal_its_numpy_step():
    model = define(step=user_step)
    assert get_model("user_lif") is model
    assert model.parameters == {"theta": 1.0, "tau": 0.016} and model.units == {"tau": "second"}
    assert model.clear == "v = 0\nx = 0"  # every non-constant state variable but I
    spec = convert(small_ann(), model="user_lif", normalization="none")
    rng = np.random.default_rng(1)
    x = np.round(rng.uniform(0, 1, (6, 12)) * 64) / 64
    labels = np.zeros(6, int)
    runtime = simulate(spec, x, labels, 20, device="runtime", batch_size=4)
    reference = simulate(spec, x, labels, 20, device="numpy")
    np.testing.assert_array_equal(runtime.output_spikes, reference.output_spikes)
    np.testing.assert_array_equal(runtime.layer_spikes, reference.layer_spikes)
    assert runtime.output_spikes.sum() > 0 and runtime.layer_spikes[0].sum() > 0
    # The leak acts: the same network of non-leaky hard-reset IF neurons spikes differently.
    non_leaky = simulate(convert(small_ann(), model="if_hard", normalization="none"), x, labels,
                         20, device="numpy")
    assert not np.array_equal(non_leaky.layer_spikes, reference.layer_spikes)


def test_numpy_device_without_step_says_so_and_runtime_runs():
    model = define()
    assert not model.step and not model.rate
    spec = convert(small_ann(), model="user_lif", normalization="none")
    x = np.full((2, 12), 0.5)
    with pytest.raises(ModelError, match=r"'user_lif' has no numpy step.*device='runtime'"):
        simulate(spec, x, np.zeros(2, int), 5, device="numpy")
    with pytest.raises(ModelError, match=r"no analytic transfer function.*measure_rate"):
        model.rate(np.array([0.5]))
    assert simulate(spec, x, np.zeros(2, int), 5, device="runtime").sizes["time"] == 5


def test_syntax_error_names_the_line():
    message = error_of(equations=EQUATIONS.replace("x : 1", "x : : 1"))
    assert "'user_lif'" in message and "line 3" in message and "`x : : 1`" in message


def test_unknown_identifier_is_named_where_it_is_with_the_closest_name():
    message = error_of(equations=EQUATIONS.replace("v / tau", "v / tua"))
    assert "unknown identifier 'tua'" in message
    assert "equations line 2 `dv/dt = -v / tua : 1`" in message
    assert "did you mean 'tau'?" in message
    message = error_of(threshold="v >= thetaa")
    assert "'thetaa' in threshold `v >= thetaa`" in message and "'theta'?" in message


def test_unit_mismatch_names_the_expression_and_both_units():
    message = error_of(equations=EQUATIONS.replace("-v / tau", "-v / tau + I"))
    assert "`dv/dt = -v / tau + I : 1`" in message
    assert "'(- v) / tau' has unit Hz" in message and "'I' has unit 1" in message
    message = error_of(reset="v = 0*mV")
    assert "reset" in message and "expected unit 1" in message and "unit is V" in message


def test_reset_of_a_variable_the_model_does_not_have_is_an_error():
    # Brian2 alone accepts this: `u` becomes a temporary and the reset does nothing.
    message = error_of(reset="u = 0")
    assert "reset `u = 0` assigns 'u', which is not a variable" in message
    assert "threshold `v = theta` is not a condition" in error_of(threshold="v = theta")
    assert "unknown identifier 'u' in threshold `u >= theta`" in error_of(threshold="u >= theta")
    # A temporary that a later line reads is fine.
    assert define(reset="n = v\nv -= n", register=False).reset == "n = v\nv -= n"


def test_parameters_need_the_declared_unit_and_a_declaration():
    message = error_of(parameters={"tau": 20})
    assert "'tau'" in message and "unit second" in message and "write 20*ms" in message
    message = error_of(parameters={"tau": 20 * brian2.mV})
    assert "unit second" in message and "unit volt" in message
    message = error_of(parameters={"tau": 16 * brian2.ms, "tua": 3})
    assert "'tua' is not declared" in message and "did you mean 'tau'?" in message
    message = error_of(parameters={})
    assert "`tau : second (shared, constant)` is a constant without a value" in message


def test_converter_variables_are_required():
    message = error_of(equations=EQUATIONS.replace("I : 1\n", ""), integrate="v += x\nx = 0")
    assert "no variable 'I'" in message and "declare `I : 1`" in message
    message = error_of(integrate="v += x\nx = 0")
    assert "declares 'I' but never reads it" in message


def test_builtin_names_are_protected_unless_replaced():
    with pytest.raises(ModelError, match="built-in.*replace=True"):
        define(name="if_soft")
    assert MODELS["if_soft"] is BUILTIN_MODELS["if_soft"]
    mine = register_model(define(name="if_soft", register=False), replace=True)
    assert get_model("if_soft") is mine
    unregister_model("if_soft")
    assert get_model("if_soft") is BUILTIN_MODELS["if_soft"]
    with pytest.raises(ModelError, match="built-in model and cannot be unregistered"):
        unregister_model("if_soft")


def test_builtin_models_pass_validation():
    # No false alarms: input variable + integrate code (lif); payload, structural size and
    # member variables (ion).
    for name in ("lif", "ion"):
        assert validate_model(BUILTIN_MODELS[name]) == BUILTIN_MODELS[name]


def test_load_model_file(tmp_path):
    with pytest.raises(ModelError, match=r"model file '.*missing\.py' does not exist"):
        load_model_file(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("import brian2\n")
    with pytest.raises(ModelError, match=r"'.*empty\.py' defines no neuron model"):
        load_model_file(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("from brian2 import second\n"
                      "from brainconv.equations.user import define_model\n"
                      f"define_model('file_lif', {EQUATIONS!r}, 'v >= theta', 'v = 0',\n"
                      "             {'tau': 0.016 * second}, integrate='v += I + x',\n"
                      "             input_variable='x')\n"
                      "1 / 0\n")
    with pytest.raises(ModelError, match=r"broken\.py' \(line 6\) failed: ZeroDivisionError"):
        load_model_file(broken)
    assert "file_lif" not in MODELS  # a failing file leaves nothing registered
    good = tmp_path / "good.py"
    good.write_text(broken.read_text().replace("1 / 0\n", ""))
    assert list(load_model_file(good)) == ["file_lif"]
    assert get_model("file_lif").parameters["tau"] == 0.016
    # A model that is only assigned (not registered by define_model) is validated too.
    assigned = tmp_path / "assigned.py"
    assigned.write_text("from brainconv.equations import NeuronModel\n"
                        "BAD = NeuronModel('bad_if', 'dv/dt = I/dt : 1\\nI : 1\\ntheta : 1',\n"
                        "                  'v >= theta', 'u = 0', {'theta': 1.0})\n")
    with pytest.raises(ModelError, match=r"assigned\.py'.*'bad_if'.*assigns 'u'"):
        load_model_file(assigned)


def test_measured_rate_matches_the_analytic_if_soft_rate():
    currents = np.array([-0.2, 0.0, 0.25, 0.3, 0.77, 1.0, 1.7])
    measured = measure_rate("if_soft", currents, steps=200)
    np.testing.assert_allclose(measured, np.clip(currents, 0, 1), atol=1 / 200)
    assert measured[2] == 50 / 200 and measured[-1] == 1.0  # exact where I is dyadic


def test_refractory_period_limits_the_rate_and_is_cleared_between_samples():
    definition = dict(threshold="v >= theta", reset="v = 0", parameters={})
    equations = "dv/dt = I / dt : 1{}\nI : 1\ntheta : 1 (shared, constant)\n"
    plain = define_model("user_if", equations.format(""), **definition)
    refractory = define_model("user_if_ref", equations.format(" (unless refractory)"),
                              refractory=2 * brian2.ms, **definition)
    assert "lastspike = -1e4 * second" in refractory.clear
    np.testing.assert_allclose(measure_rate(plain, [1.0, 2.0], steps=100), [1.0, 1.0])
    np.testing.assert_allclose(measure_rate(refractory, [1.0, 2.0], steps=100), [0.5, 0.5])
    # One layer, current 3 per step: fires every step, or every other step when refractory.
    ann = ANN((np.full((12, 3), 0.25),), (np.zeros(3),))
    x = np.ones((2, 12))
    counts = {}
    for name in ("user_if", "user_if_ref"):
        spec = convert(ann, model=name, normalization="none")
        # batch_size=1: sample 2 runs right after sample 1, whose last spike (step 11 of 11)
        # would keep step 1 of sample 2 refractory unless `clear` resets it.
        out = simulate(spec, x, np.zeros(2, int), 11, device="runtime", batch_size=1)
        counts[name] = out.output_spikes.values.sum(axis=1)
    np.testing.assert_array_equal(counts["user_if"], np.full((2, 3), 11))
    np.testing.assert_array_equal(counts["user_if_ref"], np.full((2, 3), 6))


def test_brian2_cause_finds_the_root_message():
    with catch_logs():  # the group that failed to prepare warns when it is deleted
        group = brian2.NeuronGroup(1, "dv/dt = -v / tua : 1", dt=brian2.ms)
        with pytest.raises(Exception) as info:
            brian2.Network(group).run(0 * brian2.ms, namespace={})
        assert "An error occurred when preparing an object" in str(info.value)
        assert brian2_cause(info.value) == 'The identifier "tua" could not be resolved.'
        del group, info
        gc.collect()
    assert brian2_cause(KeyError("plain")) == "plain" and brian2_cause(ValueError()) == "ValueError"


SQRT_EQUATIONS = """
dv/dt = sqrt(I - 0.5) / ms : 1
I : 1
theta : 1 (shared, constant)
"""


def test_a_state_that_becomes_nan_stops_the_run_with_the_layer_and_steps():
    """sqrt of a negative current: a NaN potential never spikes, so without the check the
    run would end silent at chance accuracy; numpy names the layer, model and step range,
    measure_rate the variable."""
    def sqrt_step(v, current, spikes, theta=1.0):
        with np.errstate(invalid="ignore"):
            v += np.sqrt(current - 0.5)
        np.greater_equal(v, theta, out=spikes)
        v -= theta * spikes
        return spikes

    model = define_model("sqrt_lif", SQRT_EQUATIONS, "v >= theta", "v -= theta",
                         step=sqrt_step)
    spec = convert(small_ann(), model="sqrt_lif", normalization="none")
    x = np.zeros((3, 12))  # first-layer currents are the biases, some below 0.5
    with pytest.raises(SimulationError, match=r"layer 'hidden1' \(model 'sqrt_lif'\): its "
                                              r"state became NaN by step 1"):
        simulate(spec, x, np.zeros(3, int), 20, device="numpy")
    with pytest.raises(SimulationError, match=r"'sqrt_lif': v became NaN while measuring"):
        measure_rate(model, [0.2, 1.0], steps=20)
    assert measure_rate(model, [0.75, 1.0], steps=20).min() > 0  # real currents: no error


@pytest.mark.parametrize("device", ["runtime", pytest.param(
    "cpp_standalone", marks=[pytest.mark.standalone, pytest.mark.long])])
def test_brian2_runs_stop_on_a_nan_state_and_keep_running_clean_ones(device, standalone_dir):
    """The compiled and runtime networks watch their state too: a layer whose state ends a
    sample NaN stops the run with its name, whichever batch it happens in (padding copies,
    NaN on purpose, do not count); a network without NaN runs through."""
    define_model("sqrt_lif", SQRT_EQUATIONS, "v >= theta", "v -= theta")
    spec = convert(small_ann(), model="sqrt_lif", normalization="none")
    x = np.zeros((5, 12))  # hidden1's currents are its biases, some below 0.5: sqrt(< 0)
    with pytest.raises(SimulationError, match=r"layer 'hidden1' \(model 'sqrt_lif'\): its "
                                              r"state \(v\) ended NaN or infinite"):
        simulate(spec, x, np.zeros(5, int), 10, device=device, batch_size=2)
    clean = convert(small_ann(), model="if_soft", normalization="none")
    ds = simulate(clean, x, np.zeros(5, int), 10, device=device, batch_size=2)  # 1 padded
    assert ds.sizes["sample"] == 5
