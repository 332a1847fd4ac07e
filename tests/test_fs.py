"""Few-spike (FS) neurons (Stöckl & Maass 2021): exactness, published error bands, networks.

The acceptance tests of ``../shared/papers/four-paradigms-notes.md`` §1.8: FS-ReLU is exact on
integers with ``>=`` (and not with the official code's ``>``), the published swish and sigmoid
coefficients reproduce their error bands, a 2-layer FS network equals the layer-wise quantized
ANN with every output spike in steps [K, 2K), Brian2 (runtime with numpy code generation, and
cpp_standalone) equals the numpy reference, and the fitter lowers its loss.
"""

import brian2
import numpy as np
import pytest

from brainconv.analysis import accuracy_over_time
from brainconv.ann import ACTIVATIONS, ANN, train_ann
from brainconv.build import window_namespace
from brainconv.conversion import convert
from brainconv.equations import get_model, register_model, unregister_model
from brainconv.equations.fs import (SIGMOID_D, SIGMOID_H, SIGMOID_T, SWISH_D, SWISH_H, SWISH_T,
                                    fs_transfer, make_fs, sigmoid, swish)
from brainconv.errors import ModelError, ParameterError
from brainconv.fs_fit import fit_fs
from brainconv.simulation import run_network, simulate

from conftest import dyadic

K = 10
INTEGERS = np.arange(2**K, dtype=float)
POWERS = 2.0 ** (K - np.arange(1, K + 1))  # T = h = d = 2^(K - t), t = 1..K


@pytest.fixture
def strict_relu():
    """The official code's strict ``v > T`` with the exact-ReLU coefficients, registered."""
    model = register_model(make_fs("fs_relu_strict", POWERS, POWERS, POWERS, strict=True))
    yield model
    unregister_model("fs_relu_strict")


def _identity_layer(model, parameters):
    """A 1-input, 1024-unit network whose input currents are the integers 0..1023."""
    ann = ANN((INTEGERS[None, :].copy(),), (np.zeros(2**K),))
    return convert(ann, model=model, normalization="none", parameters=parameters)


def _popcount(x):
    return np.array([bin(int(v)).count("1") for v in x])


@pytest.mark.parametrize("device", ["numpy", "runtime"])
def test_fs_relu_is_exact_on_integers_with_popcount_spikes(device, numpy_codegen, strict_relu):
    """K = 10, T = h = d = 2^(K-t): y = x for x = 0..1023, popcount(x) spikes, mean 5.0;
    the same network with the strict '>' gets 1023 of 1024 wrong (so '>=' is what runs)."""
    spec = _identity_layer("fs_relu", {"K": K, "alpha": 2.0**K})  # quantum 1
    out = run_network(spec, np.ones((1, 1)), K, device=device)
    y = out["output_spikes"].sum(axis=1)[0]  # payloads in quanta of alpha 2^-K = 1
    np.testing.assert_array_equal(y, INTEGERS)
    np.testing.assert_array_equal(out["unit_spike_count"], _popcount(INTEGERS))
    assert out["unit_spike_count"].mean() == 5.0
    strict = run_network(_identity_layer("fs_relu_strict", {}), np.ones((1, 1)), K,
                         device=device)
    wrong = strict["output_spikes"].sum(axis=1)[0] != INTEGERS
    assert wrong.sum() == 2**K - 1 and not wrong[0]
    np.testing.assert_array_equal(strict["output_spikes"].sum(axis=1)[0][1:], INTEGERS[1:] - 1)


def test_fs_transfer_relu_and_strict_convention():
    y, spikes = fs_transfer(INTEGERS, POWERS, POWERS, POWERS, return_spikes=True)
    np.testing.assert_array_equal(y, INTEGERS)
    np.testing.assert_array_equal(spikes, _popcount(INTEGERS))
    assert np.sum(fs_transfer(INTEGERS, POWERS, POWERS, POWERS, strict=True) != INTEGERS) == 1023
    relu = get_model("fs_relu")  # alpha = 1, K = 10: floor(x / q) q, saturating at 1 - q
    x = np.array([-1.0, 0.0, 0.3, 0.5, 1 - 2**-10, 1.0, 7.0])
    q = 2.0**-10
    expected = np.minimum(np.floor(np.maximum(x, 0) / q), 2**10 - 1)
    np.testing.assert_array_equal(relu.rate(x, **relu.parameters), expected)


@pytest.mark.parametrize("name, coefficients, function, low, high, band, measured", [
    ("fs_swish", (SWISH_T, SWISH_H, SWISH_D), swish, -8, 12, (0.0030, 0.0040), 0.00345),
    ("fs_sigmoid", (SIGMOID_T, SIGMOID_H, SIGMOID_D), sigmoid, -10, 10, (1.2e-4, 1.7e-4),
     1.44e-4),
])
def test_published_coefficients_reproduce_their_error_bands(
        name, coefficients, function, low, high, band, measured, numpy_codegen):
    """MSE on linspace(low, high, 2001) within the band around the measured value; Brian2's
    runtime (numpy code generation) gives the numpy loop's outputs exactly."""
    x = np.linspace(low, high, 2001)
    y, spikes = fs_transfer(x, *coefficients, return_spikes=True)
    mse = np.mean((y - function(x)) ** 2)
    assert band[0] <= mse <= band[1] and mse == pytest.approx(measured, rel=0.01)
    # The model's rate is the same loop; its numpy step too (one-off input, phase 0..K-1).
    model = get_model(name)
    np.testing.assert_array_equal(model.rate(x, **model.parameters), y)
    v, out, total = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for phase in range(model.window + 2):
        total += model.step(v, x if phase == 0 else 0 * x, out, phase=phase)
    np.testing.assert_array_equal(total, y)
    # Brian2: the model's strings with the padded tables, one window.
    group = brian2.NeuronGroup(len(x), model.equations, threshold=model.threshold,
                               reset=model.reset, dt=1 * brian2.ms, name="fs_band")
    group.namespace.update(window_namespace(model, "fs_band", 0, 1 * brian2.ms))
    group.I = x
    group.theta = 1.0
    clear = group.run_regularly(model.clear, dt=1 * brian2.second, when="start")
    monitor = brian2.SpikeMonitor(group, variables=["n"], when="end")
    brian2.Network(group, clear, monitor).run((model.window + 3) * brian2.ms, namespace={})
    np.testing.assert_array_equal(np.bincount(monitor.i[:], monitor.n[:], len(x)), y)
    np.testing.assert_array_equal(np.bincount(monitor.i[:], minlength=len(x)), spikes)
    assert np.all(monitor.t[:] < model.window * brian2.ms)  # nothing after the window


def _two_layer(seed=0, alpha=8.0):
    """A random 20-30-5 network with dyadic weights (exact sums), converted to FS-ReLU."""
    rng = np.random.default_rng(seed)
    ann = ANN((dyadic(rng, (20, 30), 2.0), dyadic(rng, (30, 5), 1.0)),
              (dyadic(rng, (30,), 0.5), dyadic(rng, (5,), 0.5)))
    x = np.round(rng.uniform(0, 1, (12, 20)) * 64) / 64
    spec = convert(ann, model="fs_relu", normalization="none",
                   parameters={"K": K, "alpha": alpha})
    return ann, spec, x


def _quantized_ann(ann, x, alpha):
    """Layer by layer ``min(floor(relu(a) / q), 2^K - 1) q`` (also on the output layer)."""
    q = alpha * 2.0**-K
    a = x
    for w, b in zip(ann.weights, ann.biases):
        a = np.minimum(np.floor(np.maximum(a @ w + b, 0) / q), 2**K - 1) * q
    return a / q  # in quanta


@pytest.mark.parametrize("device", ["numpy", "runtime"])
def test_two_layer_fs_network_equals_the_quantized_ann(device, numpy_codegen):
    ann, spec, x = _two_layer()
    out = run_network(spec, x, 2 * K, device=device, batch_size=5)  # 3 batches, one padded
    expected = _quantized_ann(ann, x, 8.0)
    np.testing.assert_array_equal(out["output_spikes"].sum(axis=1), expected)
    assert expected.max() > 100 and np.sum(expected == 0) > 0  # graded and silent outputs
    # Layer l fires only in its window [lK, (l+1)K): hidden in [0, K), output in [K, 2K).
    per_step = out["layer_spikes"]
    assert per_step[0, :K].sum() > 0 and per_step[0, K:].sum() == 0
    assert per_step[1, :K].sum() == 0 and per_step[1, K:].sum() > 0
    assert np.all(out["output_spikes"][:, :K] == 0)


def test_runtime_equals_numpy_reference_for_fs_networks(numpy_codegen):
    ann, spec, x = _two_layer(seed=3, alpha=4.0)
    reference = run_network(spec, x, 2 * K + 3, device="numpy")
    runtime = run_network(spec, x, 2 * K + 3, device="runtime", batch_size=4)
    for key in reference:
        np.testing.assert_array_equal(runtime[key], reference[key], err_msg=key)


@pytest.mark.standalone
def test_cpp_standalone_equals_numpy_reference(standalone_dir):
    """One small C++ build: a 2-layer FS-ReLU network, spikes and payloads as numpy's."""
    ann, spec, x = _two_layer(seed=1)
    reference = run_network(spec, x, 2 * K, device="numpy")
    standalone = run_network(spec, x, 2 * K, device="cpp_standalone", batch_size=4)
    for key in reference:
        np.testing.assert_array_equal(standalone[key], reference[key], err_msg=key)
    np.testing.assert_array_equal(reference["output_spikes"].sum(axis=1),
                                  _quantized_ann(ann, x, 8.0))


def _swish_network(seed=0):
    rng = np.random.default_rng(seed)
    ann = ANN((rng.normal(0, 1.5, (20, 30)), rng.normal(0, 0.3, (30, 5))),
              (rng.normal(0, 0.5, 30), rng.normal(0, 0.5, 5)), activation="swish")
    x = rng.uniform(0, 1, (12, 20))
    spec = convert(ann, model=["fs_swish", "fs_relu"], normalization="none",
                   parameters={"K": 8, "alpha": 4.0})
    return ann, spec, x


def test_swish_network_runs_fs_swish_then_fs_relu(numpy_codegen):
    """Hidden FS-swish (16 steps), output FS-ReLU (8 steps): latency 24 steps; the output is
    the quantized ReLU of the logits computed from the FS-swish hidden layer."""
    ann, spec, x = _swish_network()
    reference = run_network(spec, x, 24, device="numpy")
    runtime = run_network(spec, x, 24, device="runtime", batch_size=6)
    hidden = fs_transfer(x @ ann.weights[0] + ann.biases[0], SWISH_T, SWISH_H, SWISH_D)
    q = 4.0 * 2.0**-8
    logits = hidden @ ann.weights[1] + ann.biases[1]
    expected = np.minimum(np.floor(np.maximum(logits, 0) / q), 2**8 - 1)
    got = reference["output_spikes"].sum(axis=1)
    assert np.abs(got - expected).max() <= 1 and np.mean(got == expected) > 0.95
    # Payload sums in different orders may differ in the last bit; spikes may not move far.
    assert np.abs(runtime["output_spikes"].sum(axis=1) - got).max() <= 1
    np.testing.assert_array_equal(runtime["layer_spikes"][:, :16].sum(axis=1)[0],
                                  reference["layer_spikes"][:, :16].sum(axis=1)[0])
    assert reference["layer_spikes"][1, :16].sum() == 0  # output window opens at step 16
    # The swish ANN's hidden activations are what FS-swish approximates.
    assert np.mean((hidden - ann.forward(x, all_layers=True)[0]) ** 2) < 0.01


def test_conversion_errors():
    ann, _, _ = _swish_network()
    with pytest.raises(ModelError, match="output layer.*'fs_relu'"):
        convert(ann, model="fs_swish", normalization="none")
    with pytest.raises(ParameterError, match="swish is not positively homogeneous"):
        convert(ann, model=["fs_swish", "fs_relu"], data=np.zeros((2, 20)))
    with pytest.raises(ParameterError, match=r"K of 'fs_relu'.*1\.\.15"):
        convert(ann, model=["fs_swish", "fs_relu"], normalization="none",
                parameters={"K": 16})
    with pytest.raises(ParameterError, match="same length K"):
        make_fs("bad", [1.0, 0.5], [1.0], [1.0, 0.5])


def test_swish_activation_gradient_and_training(digits):
    act = ACTIVATIONS["swish"]
    z = np.linspace(-30, 30, 2001)
    numeric = (act.f(z + 1e-6) - act.f(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(act.df(z, act.f(z)), numeric, rtol=1e-5, atol=1e-7)
    assert act.f(np.array([-1e4, 1e4])).tolist() == [-0.0, 1e4]  # no overflow
    x_train, y_train, x_test, y_test = digits
    ann = train_ann(x_train, y_train, hidden=(32,), epochs=3, seed=0, activation="swish")
    assert ann.activation == "swish" and ann.accuracy(x_test, y_test) > 0.85


def test_fs_simulate_gives_results_with_latency_of_all_windows(numpy_codegen):
    ann, spec, x = _two_layer()
    labels = ann.predict(x)
    ds = simulate(spec, x, labels, 2 * K, device="numpy")
    accuracy = accuracy_over_time(ds)
    # At the end: the argmax of the quantized ANN's outputs (ties: lowest class, as brainconv)
    quantized = np.argmax(_quantized_ann(ann, x, 8.0), axis=1)
    assert float(accuracy.isel(time=-1)) == np.mean(quantized == labels) >= 0.75
    # Before the output window opens no output spikes: every sample is "class 0"
    assert float(accuracy.isel(time=K - 1)) == np.mean(labels == 0)
    assert ds.attrs["model"] == "fs_relu,fs_relu"


def test_fitter_lowers_the_loss_on_a_small_problem():
    """Sigmoid, K = 6, on [-4, 4], 400 points, 300 Adam steps: loss at least 20x lower than at
    the random start, and the spiking neuron's MSE below 0.02 (measured: 0.455 -> 0.0105)."""
    result = fit_fs(sigmoid, 6, (-4, 4), n_points=400, iterations=300, restarts=1, seed=0)
    assert result.final_loss < result.initial_loss / 20
    assert result.mse < 0.02 and result.mse == result.final_loss  # v_reg = 0: loss is MSE
    again = fit_fs(sigmoid, 6, (-4, 4), n_points=400, iterations=300, restarts=1, seed=0)
    np.testing.assert_array_equal(again.T, result.T)  # seeded


def test_steps_must_cover_the_windows_and_idle_steps_cost_no_energy():
    """A 3-layer FS network needs 3 K steps: fewer are refused (no silent truncation), and
    more give the same spikes and the same energy figure (idle neurons are not updated)."""
    from brainconv.energy import energy_summary
    from brainconv.spec import minimum_steps
    from conftest import small_ann

    spec = convert(small_ann(), model="fs_relu", normalization="none",
                   parameters={"K": K, "alpha": 1.0})
    assert minimum_steps(spec) == 3 * K
    x = np.random.default_rng(0).uniform(0, 1, (4, 12))
    with pytest.raises(ParameterError, match=rf"run one after another for {3 * K} steps.*"
                                             rf"--steps {3 * K}"):
        run_network(spec, x, 3 * K - 1, device="numpy")
    exact = simulate(spec, x, np.zeros(4, int), 3 * K, device="numpy")
    longer = simulate(spec, x, np.zeros(4, int), 5 * K, device="numpy")
    np.testing.assert_array_equal(exact["unit_spike_count"], longer["unit_spike_count"])
    first, second = energy_summary(exact, spec), energy_summary(longer, spec)
    assert first["snn_energy"] == pytest.approx(second["snn_energy"], rel=1e-12)
    assert first["efficiency"] == pytest.approx(second["efficiency"], rel=1e-12)


def test_compare_lists_a_few_spike_paradigm_without_enough_steps_as_not_applicable():
    from brainconv.comparison import applicable
    from conftest import small_ann

    runnable, reasons = applicable(small_ann(), ["fs_relu", "rate_soft"], steps=20)
    assert list(runnable) == ["rate_soft"]
    assert "simulate at least 30 steps" in reasons["fs_relu"]
    assert "fs_relu" in applicable(small_ann(), ["fs_relu"], steps=30)[0]
