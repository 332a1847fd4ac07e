"""The compiled BATS engine (numba) against the numpy reference: the same spikes, gradients and
weights; checkpoints that resume to the same weights; bad input refused before training."""

import numpy as np
import pytest

from brainconv.errors import ParameterError
from brainconv.spiketime import (backward_events, count_loss, predict, simulate_events,
                                 train_bats, ttfs_encode)
from brainconv.spiketime.compiled import adam_step, run_batch

# One worker compiles the numba kernels (or loads them from numba's cache) for all these tests.
pytestmark = pytest.mark.xdist_group("bats_compiled")

TAU_S, T_MAX = 0.13, 0.2


def _digits_like(n, seed=0, n_in=784):
    """MNIST-sized TTFS input: ~20 % of the pixels spike, at distinct times."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 1.0, (n, n_in))
    p[rng.random((n, n_in)) < 0.8] = 0.0
    return ttfs_encode(p), rng.integers(0, 10, n)


def _weights(sizes, seed=1, scale=1.0, deep_scale=4.0):
    """U(-scale, scale) into the first layer, U(-deep_scale, deep_scale) after it: BATS' U(-1, 1)
    leaves the outputs of a small random two-hidden-layer network silent."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-s, s, (a, b)) for s, a, b in
            zip([scale] + [deep_scale] * len(sizes), sizes[:-1], sizes[1:])]


@pytest.mark.parametrize("dt", [0.0, 0.001, 0.005])
@pytest.mark.parametrize("sizes, thresholds, ks", [
    ((784, 300, 10), (0.2, 1.3), (30, 30)),
    ((784, 120, 80, 10), (0.13, 0.45, 0.7), (5, 5, 20)),
])
def test_forward_and_gradients_equal_the_numpy_reference(dt, sizes, thresholds, ks):
    x, y = _digits_like(6)
    weights = _weights(sizes)
    out = run_batch(weights, thresholds, ks, x, y, (15, 3), TAU_S, dt, T_MAX, keep_times=True)
    ref = simulate_events(weights, thresholds, x, tau_s=TAU_S, dt=dt, t_max=T_MAX,
                          max_spikes=ks)
    loss, err = count_loss(ref.counts, y)
    out_err = np.where(np.isfinite(ref.layers[-1].times), err[:, :, None], 0.0)
    grads = backward_events(ref, weights, out_err)
    assert ref.layers[0].counts.sum() > 100 and ref.counts.sum() > 0  # the test has spikes
    for layer, times, counts, grad, g_ref in zip(ref.layers, out["times"], out["counts"],
                                                 out["grads"], grads):
        np.testing.assert_array_equal(counts, layer.counts)
        np.testing.assert_array_equal(np.isfinite(times), np.isfinite(layer.times))
        spiked = np.isfinite(layer.times)
        np.testing.assert_allclose(times[spiked], layer.times[spiked], rtol=1e-13, atol=0)
        assert np.abs(grad - g_ref).max() <= 1e-12 * np.abs(g_ref).max()
    np.testing.assert_allclose(out["loss"], loss, rtol=1e-15)


def test_continuous_backward_times_equal_the_reference():
    x, y = _digits_like(4, seed=3)
    weights = _weights((784, 200, 10))
    out = run_batch(weights, (0.2, 1.3), (30, 30), x, y, (15, 3), TAU_S, 0.003, T_MAX,
                    continuous=True)
    ref = simulate_events(weights, (0.2, 1.3), x, tau_s=TAU_S, dt=0.003, t_max=T_MAX)
    _, err = count_loss(ref.counts, y)
    out_err = np.where(np.isfinite(ref.layers[-1].times), err[:, :, None], 0.0)
    for grad, g_ref in zip(out["grads"], backward_events(ref, weights, out_err, "continuous")):
        assert np.abs(grad - g_ref).max() <= 1e-12 * np.abs(g_ref).max()


@pytest.mark.parametrize("dt, hidden, thresholds", [
    (0.0, (300,), (0.2, 1.3)),
    (0.001, (300,), (0.2, 1.3)),
    (0.005, (120, 80), (0.13, 0.45, 0.7)),
])
def test_weights_after_adam_steps_equal_the_numpy_trainer(dt, hidden, thresholds):
    x, y = _digits_like(60, seed=2)
    kwargs = dict(hidden=hidden, thresholds=thresholds, dt=dt, epochs=1, batch_size=20,
                  lr=0.003, seed=0, n_classes=10)
    fast, fast_history = train_bats(x, y, engine="compiled", **kwargs)
    slow, slow_history = train_bats(x, y, engine="numpy", **kwargs)
    for a, b in zip(fast, slow):
        assert np.linalg.norm(a - b) <= 1e-9 * np.linalg.norm(b)
    np.testing.assert_array_equal(fast_history["accuracy"], slow_history["accuracy"])
    assert np.abs(fast[0] - _weights((784, *hidden, 10), seed=0)[0]).max() > 0  # it trained


def test_adam_step_is_the_numpy_formula_bit_for_bit():
    rng = np.random.default_rng(0)
    w, g = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    m, v = rng.normal(size=(7, 5)), rng.uniform(0, 1, (7, 5))
    expect_m = m * 0.9 + (1 - 0.9) * (g / 4)
    expect_v = v * 0.999 + (1 - 0.999) * (g / 4) * (g / 4)
    expect_w = w - 0.01 * (expect_m / (1 - 0.9 ** 3)) / (np.sqrt(expect_v / (1 - 0.999 ** 3))
                                                           + 1e-8)
    adam_step([w], [g], [m], [v], 3, 0.01, 4)
    np.testing.assert_array_equal(m, expect_m)
    np.testing.assert_array_equal(v, expect_v)
    np.testing.assert_array_equal(w, expect_w)


def test_predict_engines_agree():
    x, _ = _digits_like(30, seed=4)
    weights = _weights((784, 200, 10), scale=1.5)
    labels, counts = predict(weights, x)
    ref_labels, ref_counts = predict(weights, x, engine="numpy")
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(labels, ref_labels)
    assert counts.sum() > 0
    with pytest.raises(ParameterError, match=r"unknown engine 'cuda'.*'compiled', 'numpy'"):
        predict(weights, x, engine="cuda")


def test_checkpoint_resumes_to_the_uninterrupted_weights(tmp_path):
    x, y = _digits_like(40, seed=5)
    test = _digits_like(20, seed=6)
    kwargs = dict(hidden=(100,), epochs=3, batch_size=10, seed=0, n_classes=10, test=test)
    whole, whole_history = train_bats(x, y, **kwargs)
    path = tmp_path / "bats.npz"
    seen = []

    def interrupt(epoch, batch, loss, accuracy):
        seen.append(epoch)
        if epoch == 2:
            raise KeyboardInterrupt  # Ctrl-C in the third epoch

    with pytest.raises(KeyboardInterrupt):
        train_bats(x, y, checkpoint=path, progress=interrupt, **kwargs)
    assert path.exists() and seen[-1] == 2
    resumed, history = train_bats(x, y, checkpoint=path, **kwargs)
    for a, b in zip(resumed, whole):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(history["loss"], whole_history["loss"])
    np.testing.assert_array_equal(history["epochs"]["test_accuracy"],
                                  whole_history["epochs"]["test_accuracy"])
    assert history["epochs"]["spikes_per_neuron"].shape == (3, 2)
    # A finished checkpoint is reused as it is; one of other settings is refused.
    again, _ = train_bats(x, y, checkpoint=path, **kwargs)
    np.testing.assert_array_equal(again[0], whole[0])
    with pytest.raises(ParameterError, match="written by a run with other inputs"):
        train_bats(x, y, checkpoint=path, **{**kwargs, "seed": 1})
    with pytest.raises(ParameterError, match="holds 3 epochs, more than the 2"):
        train_bats(x, y, checkpoint=path, **{**kwargs, "epochs": 2})


@pytest.mark.parametrize("change, message", [
    (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), y),
     "input_times must be >= 0.*NaN"),
    (lambda x, y: (x[:0], y[:0]), "0 training samples"),
])
def test_bad_training_data_is_refused_before_training(change, message):
    x, y = change(*_digits_like(4))
    with pytest.raises(ParameterError, match=message):
        train_bats(x, y, hidden=(5,), n_classes=10)


@pytest.mark.parametrize("kwargs, message", [
    ({"dt": 0.25}, r"dt=0.25 s is not below t_max=0.2 s"),
    ({"targets": (3, 15)}, r"true > other"),
    ({"checkpoint": "/nonexistent/folder/bats.npz"}, r"folder /nonexistent/folder does not"),
    ({"test": (np.zeros((2, 784)), np.array([0, 11]))}, r"test labels must be ints in \[0, 10\)"),
])
def test_bad_settings_are_refused_before_training(kwargs, message):
    x, y = _digits_like(4)
    with pytest.raises(ParameterError, match=message):
        train_bats(x, y, hidden=(5,), n_classes=10, **kwargs)


def test_cli_trains_saves_resumes_and_runs_a_bats_network(tmp_path, capsys):
    """`brainconv train-bats` then `run-bats`: the file round-trips, a repeated command resumes
    from the checkpoint, and Brian2's cuba_lif equals the event-driven reference at its dt."""
    from brainconv.cli import main
    from brainconv.spiketime.commands import load_network

    out = tmp_path / "digits_bats.npz"
    train = ["train-bats", "--dataset", "digits", "--hidden", "30", "--epochs", "2",
             "--batch-size", "20", "--lr", "0.01", "--init-range", "3", "--train-samples",
             "200", "--test-samples", "100", "--out", str(out)]
    assert main(train) == 0
    first = capsys.readouterr().out
    weights, settings, t_in, training = load_network(out)
    assert [w.shape for w in weights] == [(64, 30), (30, 10)]
    assert settings.thresholds == (0.2, 1.3) and t_in == 0.1 and training["data"] == "digits"
    assert f"test accuracy {100 * training['test_accuracy']:.2f} %" in first
    assert main(train) == 0  # resumed from the finished checkpoint: the same network
    np.testing.assert_array_equal(load_network(out)[0][0], weights[0])
    assert main(["run-bats", str(out), "--dataset", "digits", "--limit", "60", "--device",
                 "numpy", "--dt", "1"]) == 0
    ran = capsys.readouterr().out
    assert "same predictions 100.00 %, output counts differing 0 of 600" in ran
    assert main(["run-bats", str(tmp_path / "missing.npz"), "--dataset", "digits"]) == 2
    assert "cannot be read as a BATS network file" in capsys.readouterr().err
