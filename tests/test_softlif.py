"""Tests for the LIF / soft-LIF rate curves and the soft-LIF activation in the trainer.

Hunsberger & Eliasmith 2016 §2.1-2.2 and the acceptance tests of
``four-paradigms-notes.md`` §2.8.
"""

import numpy as np
import pytest

from brainconv.ann import ACTIVATIONS, ANN, load_ann, normalize_activation_params, save_ann, \
    train_ann
from brainconv.errors import ParameterError
from brainconv.softlif import (
    lif_rate,
    lif_rate_derivative,
    softlif_activation,
    softlif_activation_derivative,
    softlif_rate,
    softlif_rate_derivative,
)

TAU = dict(tau_rc=0.022, tau_ref=0.002)


# ---------------------------------------------------------------- rate curves


def test_lif_rate_matches_analytic_values():
    # r(J) = 1 / (tau_ref + tau_rc log1p(1/(J-1))).
    J = np.array([1.05, 1.2, 1.5, 2, 3, 5, 10])
    np.testing.assert_allclose(lif_rate(J, **TAU),
                               [14.5, 24.1, 38.2, 58.0, 91.6, 144.7, 231.6], atol=0.06)
    np.testing.assert_array_equal(lif_rate(np.array([-3.0, 0.0, 1.0]), **TAU), 0.0)
    assert lif_rate(J, amp=0.063, **TAU) == pytest.approx(0.063 * lif_rate(J, **TAU))


def test_softlif_tends_to_lif_away_from_threshold():
    J = np.linspace(1.2, 10, 2001)
    hard = lif_rate(J, **TAU)
    assert np.max(np.abs(softlif_rate(J, gamma=0.02, **TAU) - hard)) < 0.01
    assert np.max(np.abs(softlif_rate(J, gamma=0.1, **TAU) - hard)) > 0.5
    # Near threshold it converges slowly : 16.1, 10.4, 6.2 Hz at J = 1.
    np.testing.assert_allclose(
        [float(softlif_rate(1.0, gamma=g, **TAU)) for g in (0.1, 0.02, 0.001)],
        [16.1, 10.4, 6.2], atol=0.05)


@pytest.mark.parametrize("gamma", [0.02, 0.1, 1.0])
def test_softlif_derivative_matches_finite_difference(gamma):
    J = np.linspace(-4.0, 6.0, 1001)
    h = 1e-6
    numeric = (softlif_rate(J + h, gamma=gamma, **TAU)
               - softlif_rate(J - h, gamma=gamma, **TAU)) / (2 * h)
    analytic = softlif_rate_derivative(J, gamma=gamma, **TAU)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4)
    assert np.all(np.isfinite(analytic)) and np.max(analytic) < 1e4  # bounded


def test_lif_derivative_matches_finite_difference():
    J = np.linspace(1.1, 10.0, 500)
    h = 1e-7
    numeric = (lif_rate(J + h, **TAU) - lif_rate(J - h, **TAU)) / (2 * h)
    np.testing.assert_allclose(lif_rate_derivative(J, **TAU), numeric, rtol=1e-4)
    assert lif_rate_derivative(0.5, **TAU) == 0


def test_activation_is_rate_at_gain_x_plus_one():
    # y = gain * x is the excess current, so the spiking neuron gets J = gain * x + 1.
    x = np.linspace(-2, 3, 51)
    params = dict(gamma=0.05, amp=0.063, gain=1.7, **TAU)
    np.testing.assert_allclose(softlif_activation(x, **params),
                               softlif_rate(1.7 * x + 1, gamma=0.05, amp=0.063, **TAU),
                               rtol=1e-12)
    np.testing.assert_allclose(
        softlif_activation_derivative(x, **params),
        1.7 * softlif_rate_derivative(1.7 * x + 1, gamma=0.05, amp=0.063, **TAU),
        rtol=1e-10)


def test_far_below_threshold_no_overflow_and_float32_kept():
    x = np.array([-1e6, -1e3, -50.0, 0.0, 50.0, 1e6], dtype=np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is harmless
        a = softlif_activation(x)
        da = softlif_activation_derivative(x)
    assert a.dtype == np.float32 and da.dtype == np.float32
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(da))
    assert np.all(a >= 0) and np.all(np.diff(a) > 0)  # monotonic, tiny but positive far below
    assert a[-1] == pytest.approx(0.063 / 0.002, rel=1e-3)  # saturates at amp / tau_ref


def test_rate_parameter_errors():
    with pytest.raises(ParameterError, match="gamma must be a finite number > 0, got 0"):
        softlif_rate(2.0, gamma=0)
    with pytest.raises(ParameterError, match="tau_ref must be a finite number >= 0"):
        lif_rate(2.0, tau_ref=-0.001)


# ---------------------------------------------------------------- activation in the trainer


def test_softlif_activation_registered_with_defaults():
    act = ACTIVATIONS["softlif"]
    assert dict(act.defaults) == {"tau_rc": 0.022, "tau_ref": 0.002, "gamma": 0.02,
                                  "amp": 0.063, "gain": 1.0, "sigma": 0.0}
    assert normalize_activation_params("softlif", {"sigma": 10}) == (
        ("amp", 0.063), ("gain", 1.0), ("gamma", 0.02), ("sigma", 10.0), ("tau_rc", 0.022),
        ("tau_ref", 0.002))
    assert "Hunsberger" in act.equations and "LIF" in act.models


@pytest.mark.parametrize(
    "params, message",
    [
        ({"tau_rc": 22}, r"tau_rc is in seconds, got tau_rc=22.0 .*write 0.022 for 22 ms"),
        ({"tau_ref": 2}, r"tau_ref is in seconds"),
        ({"gamma": 0}, r"'softlif': gamma must be > 0, got gamma=0.0"),
        ({"amp": -0.063}, r"amp must be > 0"),
        ({"sigma": -1}, r"sigma must be >= 0, got sigma=-1.0"),
        ({"R": 2}, r"activation 'softlif' has no parameter\(s\) \['R'\]"),
    ],
)
def test_softlif_bad_params(params, message):
    with pytest.raises(ParameterError, match=message):
        normalize_activation_params("softlif", params)


def test_noise_only_above_threshold_and_clipped():
    act = ACTIVATIONS["softlif"]
    params = dict(normalize_activation_params("softlif", {"sigma": 20, "gain": 2.0}))
    z = np.repeat(np.array([-1.0, -0.01, 0.0, 0.01, 0.05, 1.0]), 2000).reshape(6, 2000)
    a = act.f(z, **params)
    noisy = act.noise(z, a, np.random.default_rng(0), **params)
    below = z <= 0
    np.testing.assert_array_equal(noisy[below], a[below])  # y = gain z <= 0: untouched
    assert np.all(noisy >= 0)
    assert np.any(noisy[~below] == 0)  # clipped: 0.063 * 20 Hz noise exceeds small rates
    changed = noisy[~below] != a[~below]
    assert changed.mean() > 0.9
    # Well above threshold nothing is clipped: the noise has sd amp * sigma.
    diff = (noisy - a)[-1]
    assert diff.std() == pytest.approx(0.063 * 20, rel=0.1)
    # sigma = 0: no noise, no draw.
    params0 = dict(normalize_activation_params("softlif"))
    assert act.noise(z, a, None, **params0) is a


def test_training_noise_is_seeded(digits):
    x_tr, y_tr, _, _ = digits
    x_tr, y_tr = x_tr[:400], y_tr[:400]
    kwargs = dict(hidden=(16,), epochs=2, activation="softlif")
    a = train_ann(x_tr, y_tr, seed=5, activation_params={"sigma": 10}, **kwargs)
    b = train_ann(x_tr, y_tr, seed=5, activation_params={"sigma": 10}, **kwargs)
    c = train_ann(x_tr, y_tr, seed=6, activation_params={"sigma": 10}, **kwargs)
    quiet = train_ann(x_tr, y_tr, seed=5, activation_params={"sigma": 0}, **kwargs)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.weights[0], c.weights[0])
    assert not np.array_equal(a.weights[0], quiet.weights[0])  # the noise did act
    # Noise is a training-time thing only: the forward pass is deterministic and noise-free.
    np.testing.assert_array_equal(a.forward(x_tr[:20]), a.forward(x_tr[:20]))
    hidden = a.forward(x_tr[:20], all_layers=True)[0]
    np.testing.assert_allclose(hidden, softlif_activation(x_tr[:20] @ a.weights[0]
                                                          + a.biases[0]), rtol=1e-12)


@pytest.mark.parametrize("sigma", [0, 10])
def test_training_softlif_on_digits(digits, sigma):
    x_tr, y_tr, x_te, y_te = digits
    ann = train_ann(x_tr, y_tr, hidden=(64,), epochs=5, activation="softlif",
                    activation_params={"sigma": sigma}, seed=1)
    assert ann.activation == "softlif"
    assert ann.activation_kwargs["sigma"] == sigma
    assert ann.accuracy(x_te, y_te) > 0.9  # 97 % measured; ReLU gets about the same


def test_softlif_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    params = {"tau_rc": 0.05, "tau_ref": 0.001, "gamma": 0.03, "amp": 0.05, "gain": 0.825,
              "sigma": 20}
    ann = ANN((rng.standard_normal((5, 4)), rng.standard_normal((4, 3))),
              (rng.standard_normal(4), rng.standard_normal(3)), activation="softlif",
              activation_params=params)
    path = tmp_path / "softlif.npz"
    save_ann(ann, path)
    loaded = load_ann(path)
    assert loaded.activation == "softlif"
    assert loaded.activation_kwargs == {k: float(v) for k, v in params.items()}
    x = rng.standard_normal((7, 5))
    np.testing.assert_array_equal(loaded.forward(x), ann.forward(x))
