"""Plastic synapses, Poisson input, spike-norm and AC/MAC energy.

Brian2 runs use the runtime device with numpy code generation and are seeded; many
independent synapses (one pre and one post generator neuron each) share one run.
"""

import brian2
import numpy as np
import pytest
from brian2 import Hz, ms
from scipy.stats import binom

from brainconv.ann import ANN
from brainconv.conversion import convert, spike_norm
from brainconv.energy import (ENERGY_PRESETS, TABLE1_RESNET4, efficiency, implied_ac_energy,
                              operation_energies, operations_energy, snn_operations, table1)
from brainconv.equations import PLASTIC_SYNAPSE_MODELS, get_model, get_plastic_synapse_model
from brainconv.equations.plasticity import (PAIR_STDP, STOCHASTIC_BINARY_STDP,
                                            pair_weight_change, switch_probability)
from brainconv.equations.poisson import draw_spikes
from brainconv.errors import ModelError, ParameterError
from brainconv.simulation import run_network

from conftest import small_ann

#: The notes' test set (§4.9): Hebbian depression, potentiation, dead zone (40 ms), anti-Hebbian.
DELTA_T_MS = np.array([-30, -10, -2, 0, 2, 10, 25, 40, 60, 90])
PAIRS = 400  # synapses per Δt and starting level


@pytest.fixture(autouse=True)
def _numpy(numpy_codegen):
    """Every test here on numpy code generation (conftest.numpy_codegen)."""


def _pair_run(model, delta_t_ms, w0, seed, parameters=None, first_ms=20):
    """One synapse per entry: a pre spike and a post spike ``delta_t_ms`` later; final ``w``."""
    brian2.start_scope()
    brian2.seed(seed)
    delta_t_ms = np.asarray(delta_t_ms, dtype=float)
    pre_ms = first_ms + np.maximum(0, -delta_t_ms)
    n = len(delta_t_ms)
    pre = brian2.SpikeGeneratorGroup(n, np.arange(n), pre_ms * ms, dt=1 * ms)
    post = brian2.SpikeGeneratorGroup(n, np.arange(n), (pre_ms + delta_t_ms) * ms, dt=1 * ms)
    synapses = model.synapses(pre, post, parameters, transmit="", dt=1 * ms)
    synapses.connect(j="i")
    model.initialise(synapses, w=w0)
    brian2.Network(pre, post, synapses).run((first_ms + 2 * np.abs(delta_t_ms).max() + 5) * ms)
    return np.asarray(synapses.w[:])


def _switching_run(seed):
    """Final weights (Δt, start level low/high, pair) of the stochastic rule."""
    delta = np.repeat(DELTA_T_MS, 2 * PAIRS)
    start = np.tile(np.repeat([0.0, 1.0], PAIRS), len(DELTA_T_MS))
    return _pair_run(STOCHASTIC_BINARY_STDP, delta, start, seed).reshape(len(DELTA_T_MS), 2,
                                                                         PAIRS)


def test_stochastic_stdp_switching_frequencies_lie_in_binomial_intervals():
    w = _switching_run(seed=11)
    p_pot, p_dep = switch_probability(DELTA_T_MS * ms)
    potentiated = (w[:, 0] == 1).sum(axis=1)  # started low, ended high
    depressed = (w[:, 1] == 0).sum(axis=1)  # started high, ended low
    assert set(np.unique(w)) <= {0.0, 1.0}  # binary weights stay binary
    for k, delta in enumerate(DELTA_T_MS):
        for count, p, what in ((potentiated[k], p_pot[k], "potentiation"),
                               (depressed[k], p_dep[k], "depression")):
            low, high = binom.interval(0.999, PAIRS, p)
            assert low <= count <= high, f"Δt = {delta} ms: {count}/{PAIRS} {what}, p = {p:.3f}"
    dead = DELTA_T_MS == 40
    assert potentiated[dead].sum() == 0 and depressed[dead].sum() == 0  # exactly none
    # Both kinds of depression and potentiation actually happen (the test is not vacuous).
    assert potentiated[DELTA_T_MS == 0] > 250 and depressed[DELTA_T_MS == 90] > 80
    assert depressed[DELTA_T_MS == -2] > 50


def test_stochastic_stdp_seeded_runs_reproduce():
    first, again, other = _switching_run(5), _switching_run(5), _switching_run(6)
    np.testing.assert_array_equal(first, again)
    assert np.any(first != other)


def test_switch_probability_regions_and_parameters():
    p_pot, p_dep = switch_probability(np.array([-31, -30, -1, 0, 30, 31, 49, 50]) * ms)
    np.testing.assert_allclose(p_pot, [0, 0, 0, 0.8, 0.8 * np.exp(-3), 0, 0, 0])
    np.testing.assert_allclose(p_dep, [0, 0.3 * np.exp(-3), 0.3 * np.exp(-0.1), 0, 0, 0, 0, 0.3])
    _, p_dep = switch_probability(60 * ms, gamma_adep=0.1, t_dz=55 * ms)
    assert p_dep == pytest.approx(0.1)


def test_pair_stdp_weight_change_equals_analytic_window():
    delta = np.array([-40, -10, -1, 0, 1, 10, 40])
    w = _pair_run(PAIR_STDP, delta, 0.5, seed=0)
    np.testing.assert_allclose(w - 0.5, pair_weight_change(delta * ms), rtol=1e-12, atol=1e-15)
    assert pair_weight_change(0 * ms) == pytest.approx(0.01)  # Δt = 0 potentiates


def test_pair_stdp_pairs_all_to_all_and_clips():
    """pre 20 ms, post 30 ms, pre 40 ms: both pairs count (+10 ms and -10 ms)."""
    brian2.start_scope()
    pre = brian2.SpikeGeneratorGroup(2, [0, 0, 1, 1], [20, 40, 20, 40] * ms, dt=1 * ms)
    post = brian2.SpikeGeneratorGroup(2, [0, 1], [30, 30] * ms, dt=1 * ms)
    synapses = PAIR_STDP.synapses(pre, post, {"A_plus": 0.3}, transmit="", dt=1 * ms)
    synapses.connect(j="i")
    PAIR_STDP.initialise(synapses, w=[0.5, 0.9])
    brian2.Network(pre, post, synapses).run(50 * ms)
    expected = 0.5 + pair_weight_change([10, -10] * ms, A_plus=0.3).sum()
    assert synapses.w[0] == pytest.approx(expected, abs=1e-12)
    # The second synapse hits w_max = 1 at the post spike, then is depressed from there.
    assert synapses.w[1] == pytest.approx(1 + pair_weight_change(-10 * ms), abs=1e-12)


def test_plastic_models_registry_and_errors():
    assert set(PLASTIC_SYNAPSE_MODELS) == {"pair_stdp", "stochastic_binary_stdp"}
    assert get_plastic_synapse_model("pair_stdp") is PAIR_STDP
    with pytest.raises(ModelError, match="known plastic synapse models: pair_stdp"):
        get_plastic_synapse_model("triplet")
    with pytest.raises(ParameterError, match="dead zone"):
        STOCHASTIC_BINARY_STDP.check_parameters({"t_dz": 20 * ms})
    with pytest.raises(ParameterError, match="write tau_pot=10\\*ms"):
        STOCHASTIC_BINARY_STDP.check_parameters({"tau_pot": 10})
    with pytest.raises(ParameterError, match="probability"):
        STOCHASTIC_BINARY_STDP.check_parameters({"gamma_pot": 1.5})
    with pytest.raises(ParameterError, match="no parameter"):
        PAIR_STDP.check_parameters({"gmax": 1})
    with pytest.raises(ParameterError, match="needs a unit of time"):
        switch_probability(np.array([1.0, 2.0]))
    assert set(STOCHASTIC_BINARY_STDP.placeholders) == set(STOCHASTIC_BINARY_STDP.parameters)


# --- Poisson input ----------------------------------------------------------------------

VALUES = np.array([0.0, 0.05, 0.2, 0.5, 0.8, 1.0])


def _poisson_spec(rate_hz=400, seed=0):
    rng = np.random.default_rng(0)
    ann = ANN((rng.uniform(-0.5, 0.5, (6, 4)), rng.uniform(-0.5, 0.5, (4, 3))),
              (np.zeros(4), np.zeros(3)))
    return convert(ann, normalization="none", encoding="poisson",
                   poisson_parameters={"max_rate": rate_hz * Hz, "seed": seed})


def _assert_binomial(counts, trials, p):
    low, high = binom.interval(0.999, trials, p)
    assert np.all((low <= counts) & (counts <= high)), (counts, trials * p)


@pytest.mark.parametrize("device", ["numpy", "runtime"])
def test_poisson_rates_within_binomial_bounds(device):
    spec = _poisson_spec(rate_hz=400)
    assert [layer.model for layer in spec.layers] == ["poisson", "if_soft", "if_soft"]
    samples, steps = 8, 250
    brian2.seed(3)
    result = run_network(spec, np.tile(VALUES, (samples, 1)), steps, device=device,
                         batch_size=4)
    counts = result["unit_spike_count"][:len(VALUES)]
    _assert_binomial(counts, samples * steps, np.clip(VALUES * 0.4, 0, 1))
    assert counts[0] == 0 and counts[-1] > 0


def test_poisson_brian2_seed_comes_from_the_layer():
    """The layer's seed seeds Brian2's rand(): the same seed repeats a run, another differs."""
    x = np.tile(VALUES, (3, 1))
    runs = [run_network(_poisson_spec(seed=seed), x, 60, device="runtime", batch_size=3)
            for seed in (5, 5, 6)]
    np.testing.assert_array_equal(runs[0]["unit_spike_count"], runs[1]["unit_spike_count"])
    assert np.any(runs[0]["unit_spike_count"] != runs[2]["unit_spike_count"])


def test_poisson_numpy_seed_fixes_the_spike_trains():
    x = np.tile(VALUES, (3, 1))
    first = run_network(_poisson_spec(seed=1), x, 100, device="numpy")
    again = run_network(_poisson_spec(seed=1), x, 100, device="numpy")
    other = run_network(_poisson_spec(seed=2), x, 100, device="numpy")
    np.testing.assert_array_equal(first["unit_spike_count"], again["unit_spike_count"])
    assert np.any(first["unit_spike_count"] != other["unit_spike_count"])
    # Step t's draws depend on (seed, t) only: a longer run starts with the same spikes.
    longer = run_network(_poisson_spec(seed=1), x, 150, device="numpy")
    np.testing.assert_array_equal(longer["layer_spikes"][:, :100], first["layer_spikes"])


def test_poisson_continuous_in_front_of_lif_rc():
    rng = np.random.default_rng(1)
    ann = ANN((rng.uniform(0, 1, (6, 5)), rng.uniform(-1, 1, (5, 3))),
              (np.zeros(5), np.zeros(3)), activation="softlif",
              activation_params=(("amp", 0.063), ("gain", 1.0), ("gamma", 0.02),
                                 ("sigma", 0.0), ("tau_rc", 0.022), ("tau_ref", 0.002)))
    spec = convert(ann, model="lif_rc", normalization="none", encoding="poisson",
                   synapse="exponential", poisson_parameters={"max_rate": 100 * Hz})
    assert spec.layers[0].model == "poisson_continuous"
    assert spec.layers[1].synapse == "exponential"  # the input pathway is filtered too
    # Mean charge per step = the constant current: W0 / max_rate (seconds) per spike.
    np.testing.assert_allclose(spec.layers[1].weights, ann.weights[0] / 100.0)
    samples, steps = 10, 400
    result = run_network(spec, np.tile(VALUES, (samples, 1)), steps, device="numpy", dt=0.5)
    _assert_binomial(result["unit_spike_count"][:len(VALUES)], samples * steps,
                     VALUES * 100 * 0.5e-3)


def test_poisson_encoding_keeps_the_mean_input_of_current_encoding():
    data = np.random.default_rng(3).uniform(0, 1, (50, 12))
    current = convert(small_ann(), data=data)
    poisson = convert(small_ann(), data=data, encoding="poisson",
                      poisson_parameters={"max_rate": 250 * Hz})
    assert poisson.layers[0].name == "input" and poisson.layers[0].size == 12
    np.testing.assert_allclose(poisson.layers[1].weights, current.layers[0].weights / 0.25)
    for mine, theirs in zip(poisson.layers[2:], current.layers[1:]):
        np.testing.assert_array_equal(mine.weights, theirs.weights)
    np.testing.assert_array_equal(poisson.input_currents(data), data)


def test_poisson_model_registered_and_errors():
    model = get_model("poisson")
    assert model.time_base == "step" and model.parameters["max_rate"] == 1000.0
    assert get_model("poisson_continuous").time_base == "continuous"
    ann = small_ann()
    with pytest.raises(ParameterError, match="unknown encoding 'rate'"):
        convert(ann, normalization="none", encoding="rate")
    with pytest.raises(ParameterError, match="pass encoding='poisson'"):
        convert(ann, normalization="none", poisson_parameters={"seed": 1})
    with pytest.raises(ParameterError, match="needs a Brian2 unit of Hz"):
        convert(ann, normalization="none", encoding="poisson",
                poisson_parameters={"max_rate": 200})
    with pytest.raises(ParameterError, match="seed of the Poisson input"):
        convert(ann, normalization="none", encoding="poisson", poisson_parameters={"seed": -1})
    with pytest.raises(ParameterError, match="not parameters of the Poisson input"):
        convert(ann, normalization="none", encoding="poisson", poisson_parameters={"rate": 1})
    with pytest.raises(ParameterError, match="must be positive"):
        convert(ann, normalization="none", encoding="poisson",
                poisson_parameters={"max_rate": 0 * Hz})
    with pytest.raises(ModelError, match="few-spike"):
        convert(ann, model="fs_relu", normalization="none", encoding="poisson")


# --- spike-norm -------------------------------------------------------------------------

def _bias_free(ann):
    return ANN(ann.weights, tuple(np.zeros_like(b) for b in ann.biases))


def test_spike_norm_current_input_equals_hand_computation():
    """x @ W0 = [1.25, 0.75] and [0.75, 0.625]: v_th1 = 1.25, the currents become [1, 0.6]
    and [0.6, 0.5]; in step 2 both hidden neurons of image 0 fire (0.6 + 0.6 >= 1), so the
    output's largest one-step input is 2 + 3 = 5."""
    ann = ANN((np.array([[1.0, 0.5], [0.5, 0.5]]), np.array([[2.0, -1.0], [3.0, 1.0]])),
              (np.zeros(2), np.zeros(2)))
    x = np.array([[1.0, 0.5], [0.25, 1.0]])
    spec, thresholds = spike_norm(ann, x, encoding="current", calibration_steps=3)
    assert thresholds == pytest.approx((1.25, 5.0), rel=1e-12)
    np.testing.assert_allclose(spec.layers[0].weights, ann.weights[0] / 1.25)
    np.testing.assert_allclose(spec.layers[1].weights, ann.weights[1] / 5.0)
    assert spec.normalization == "spike_norm"
    # Same as convert(); the threshold argument scales the weights, not the balance.
    doubled = convert(ann, data=x, normalization="spike_norm", encoding="current",
                      calibration_steps=3, threshold=2.0)
    np.testing.assert_allclose(doubled.layers[1].weights, 2 * spec.layers[1].weights)


@pytest.mark.parametrize("model", ["if_soft", "if_hard"])
def test_spike_norm_poisson_equals_independent_computation(model):
    """3 images x 20 steps: thresholds recomputed with plain loops."""
    ann = _bias_free(small_ann())
    data = np.random.default_rng(4).uniform(0, 1, (3, 12))
    steps, seed = 20, 7
    spec, thresholds = spike_norm(ann, data, model=model, calibration_steps=steps,
                                  poisson_parameters={"seed": seed})
    expected = []
    for layer, w in enumerate(ann.weights):
        largest = -np.inf
        potentials = [np.zeros((3, wk.shape[1])) for wk in ann.weights[:layer]]
        for t in range(steps):
            spikes = draw_spikes(data, t, 1000.0, 1e-3, seed)
            for k in range(layer):  # the layers below, balanced
                potentials[k] += spikes @ (ann.weights[k] / expected[k])
                spikes = (potentials[k] >= 1).astype(float)
                potentials[k] = (potentials[k] - spikes if model == "if_soft"
                                 else potentials[k] * (1 - spikes))
            largest = max(largest, (spikes @ w).max())
        expected.append(largest if largest > 0 else 1.0)
    assert thresholds == pytest.approx(tuple(expected), rel=1e-12)
    assert [layer.model for layer in spec.layers] == ["poisson"] + [model] * 3
    for layer, w, v_th in zip(spec.layers[1:], ann.weights, expected):
        np.testing.assert_allclose(layer.weights, w / v_th, rtol=1e-12)


def test_spike_norm_errors():
    data = np.random.default_rng(3).uniform(0, 1, (5, 12))
    with pytest.raises(ParameterError, match="bias-free"):
        convert(small_ann(), data=data, normalization="spike_norm", encoding="poisson")
    ann = _bias_free(small_ann())
    with pytest.raises(ParameterError, match="calibration data"):
        convert(ann, normalization="spike_norm", encoding="poisson")
    with pytest.raises(ParameterError, match="steps must be a positive whole number"):
        convert(ann, data=data, normalization="spike_norm", calibration_steps=0)
    with pytest.raises(ModelError, match="few-spike"):
        convert(ann, model="fs_relu", data=data, normalization="spike_norm")
    with pytest.raises(ParameterError, match="unknown normalization 'spike'"):
        convert(ann, data=data, normalization="spike")


# --- AC / MAC energy --------------------------------------------------------------------

def test_table1_arithmetic():
    rows = table1()
    conversion, backprop, vgg16 = rows
    assert conversion["int32"] == pytest.approx(4.80, abs=0.005)
    assert conversion["float32"] == pytest.approx(0.64, abs=0.005)
    assert backprop["int32"] == pytest.approx(8.60, abs=0.005)
    assert backprop["float32"] == pytest.approx(1.14, abs=0.005)
    assert vgg16["int32"] == pytest.approx(3.1 / (1.975 * 0.1))  # 15.70
    assert vgg16["float32"] == pytest.approx(3.7 / (1.975 * 0.9))  # 2.08
    for row in rows:  # the printed values, to the paper's one decimal
        assert round(row["int32"], 1) == row["paper_int32"]
        assert round(row["float32"], 1) == row["paper_float32"]
    assert efficiency(1.95e8, 1.26e9, preset="int32") == pytest.approx(1.95e8 * 31 / 1.26e9)
    assert efficiency(1.95e8, 1.26e9, preset="common") == pytest.approx(0.79, abs=0.005)
    # ResNet-4 read backwards: its printed 12.5x would need 0.37 pJ per 8-bit AC, no preset's
    acs, printed_int, printed_float = TABLE1_RESNET4
    assert implied_ac_energy(1.95e8, acs, printed_int, "int32") == pytest.approx(0.366, abs=1e-3)
    assert implied_ac_energy(1.95e8, acs, printed_float, "float32") == pytest.approx(0.628,
                                                                                      abs=1e-3)
    assert efficiency(1.95e8, acs, e_mac=3.1, e_ac=0.366) == pytest.approx(12.5, abs=0.02)


def test_energy_presets_and_user_values():
    assert ENERGY_PRESETS == {"int32": (3.1, 0.1), "float32": (3.7, 0.9), "common": (4.6, 0.9)}
    assert operation_energies("float32", e_ac=0.5) == (3.7, 0.5)
    assert operation_energies(None, e_mac=1.0, e_ac=0.25) == (1.0, 0.25)
    assert operations_energy(10, 100, "int32") == pytest.approx(41.0)
    with pytest.raises(ParameterError, match="unknown energy preset 'int8'"):
        operation_energies("int8")
    with pytest.raises(ParameterError, match="give both e_mac and e_ac"):
        operation_energies(None, e_mac=1.0)
    with pytest.raises(ParameterError, match="e_ac"):
        operation_energies("int32", e_ac=-1)


def test_snn_operations_count_acs_from_spikes_and_first_layer_macs():
    data = np.random.default_rng(3).uniform(0, 1, (6, 12))
    poisson = convert(small_ann(), data=data, encoding="poisson")
    result = run_network(poisson, data, 30, device="numpy")
    ops = snn_operations(result, poisson)
    counts = np.split(result["unit_spike_count"], np.cumsum(poisson.layer_sizes)[:-1])
    fan_outs = (8, 6, 3, 0)  # input -> 8 -> 6 -> 3 (dense)
    expected = sum(c.sum() * f for c, f in zip(counts, fan_outs)) / 6
    assert ops["acs"] == pytest.approx(expected) and ops["acs_per_layer"]["input"] > 0
    assert ops["macs"] == 0 and ops["input"] == "spikes"
    current = convert(small_ann(), data=data)
    ops = snn_operations(run_network(current, data, 30, device="numpy"), current)
    assert ops["macs"] == 12 * 8 and ops["input"] == "current"
    with pytest.raises(ParameterError, match="n_samples"):
        snn_operations({"unit_spike_count": result["unit_spike_count"]}, poisson)
