"""Tests of the event-driven CuBa-LIF simulator and the BATS trainer (brainconv.spiketime)."""

import numpy as np
import pytest

from brainconv.errors import ParameterError
from brainconv.spiketime import (backward_events, discretise, predict, simulate_events,
                                 train_bats, ttfs_decode, ttfs_encode)

# One worker compiles the numba kernels of the trainer for this module and test_bats_compiled.
pytestmark = pytest.mark.xdist_group("bats_compiled")

TAU_S = 0.13
TAU = 2 * TAU_S


def test_single_input_closed_form():
    """Notes 3.8: w = 12 at t = 0, theta = 0.2, tau_s = 0.13 (Brian2-verified times)."""
    expected = [0.018545, 0.040336, 0.066804, 0.100651, 0.148123, 0.232489]
    W = [np.array([[12.0]])]
    res = simulate_events(W, [0.2], np.array([[0.0]]), tau_s=TAU_S, t_max=0.2)
    times = res.layers[0].times[0, 0]
    assert res.layers[0].counts[0, 0] == 5
    np.testing.assert_allclose(times[:5], expected[:5], atol=1e-6)
    assert np.all(np.isinf(times[5:]))
    res = simulate_events(W, [0.2], np.array([[0.0]]), tau_s=TAU_S, t_max=0.3)
    assert res.layers[0].counts[0, 0] == 6
    np.testing.assert_allclose(res.layers[0].times[0, 0, :6], expected, atol=1e-6)


def _integrate(weights, thresholds, input_times, t_max, h):
    """Reference: exact-exponential time stepping of the ODE with step h.

    Over a step the linear system is propagated exactly; a spike at t* inside the step (input
    or from the layer below) is added at the step's end as its exact effect, w e^{-D/tau_s} on
    g and w tau (e^{-D/tau} - e^{-D/tau_s}) on u, D = step end - t*. A crossing of u >= theta
    is located by linear interpolation of u over the step and its reset applied as
    theta e^{-D/tau}. The only approximation is that interpolation, error ~ h^2 u''/(8 u').
    """
    S = input_times.shape[0]
    dec_s, dec = np.exp(-h / TAU_S), np.exp(-h / TAU)
    state = [(np.zeros((S, W.shape[1])), np.zeros((S, W.shape[1]))) for W in weights]
    spikes = [[[[] for _ in range(W.shape[1])] for _ in range(S)] for W in weights]
    n_steps = int(round(t_max / h))
    for n in range(n_steps):
        t0, t1 = n * h, (n + 1) * h
        pre = np.where((input_times > t0) & (input_times <= t1), input_times, np.inf)
        for layer, (W, theta) in enumerate(zip(weights, thresholds)):
            u, g = state[layer]
            u_start = u.copy()
            u *= dec
            u += g * TAU * (dec - dec_s)
            g *= dec_s
            D = t1 - pre
            hit = np.isfinite(pre)
            es = np.where(hit, np.exp(-np.where(hit, D, 0) / TAU_S), 0.0)
            e1 = np.where(hit, np.exp(-np.where(hit, D, 0) / TAU), 0.0)
            g += es @ W
            u += TAU * ((e1 - es) @ W)
            post = np.full(u.shape, np.inf)
            fire = u >= theta
            if fire.any():
                frac = (theta - u_start[fire]) / (u[fire] - u_start[fire])
                post[fire] = t0 + h * frac
                u[fire] -= theta * np.exp(-(t1 - post[fire]) / TAU)
                for s, j in zip(*np.nonzero(fire)):
                    spikes[layer][s][j].append(post[s, j])
            pre = post
    return spikes


def test_event_times_match_ode_integration():
    """Random 6-8-4 networks: closed-form times equal the time-stepped ODE's within 2e-7 s.

    With h = 1e-5 s, |u''| < ~1e3 /s^2 and |u'| > ~5 /s at a crossing, the interpolation error
    is below h^2 |u''| / (8 |u'|) ~ 3e-9 s; 2e-7 s leaves room for shallower crossings while
    still being 50 times finer than the step.
    """
    rng = np.random.default_rng(3)
    weights = [rng.uniform(-2, 8, (6, 8)), rng.uniform(-3, 12, (8, 4))]
    thresholds = (0.2, 0.5)
    x = np.where(rng.random((4, 6)) < 0.85, rng.uniform(0, 0.1, (4, 6)), np.inf)
    t_max = 0.15
    res = simulate_events(weights, thresholds, x, tau_s=TAU_S, t_max=t_max, max_spikes=100)
    ref = _integrate(weights, thresholds, x, t_max, h=1e-5)
    n_compared = 0
    for layer, rec in enumerate(res.layers):
        for s in range(x.shape[0]):
            for j in range(rec.times.shape[1]):
                want = np.array(ref[layer][s][j])
                got = rec.times[s, j, :rec.counts[s, j]]
                assert got.shape == want.shape, (layer, s, j, got, want)
                np.testing.assert_allclose(got, want, atol=2e-7)
                n_compared += got.size
    assert n_compared > 40  # the networks do spike, in both layers


def test_threshold_rule_single_input():
    """One input fires the neuron iff w >= 4 theta / tau (peak PSP tau w / 4 at tau ln 2)."""
    theta = 0.2
    w_crit = 4 * theta / TAU
    for factor, n_expected in ((1 + 1e-6, 1), (1 + 1e-3, 1), (1 - 1e-6, 0), (1 - 1e-3, 0)):
        res = simulate_events([np.array([[w_crit * factor]])], [theta], np.array([[0.01]]),
                              tau_s=TAU_S, t_max=1.0)
        assert res.layers[0].counts[0, 0] == n_expected, factor
        if n_expected:
            assert abs(res.layers[0].times[0, 0, 0] - (0.01 + TAU * np.log(2))) < 0.01


def test_discretised_passed_on_times():
    rng = np.random.default_rng(1)
    dt = 0.003
    weights = [rng.uniform(-2, 8, (10, 12)), rng.uniform(-2, 10, (12, 3))]
    x = np.where(rng.random((5, 10)) < 0.8, rng.uniform(0, 0.1, (5, 10)), np.inf)
    res = simulate_events(weights, (0.2, 0.6), x, tau_s=TAU_S, dt=dt)
    pairs = [(x[:, :, None], res.input_out_times)]
    pairs += [(rec.times, rec.out_times) for rec in res.layers]
    n_checked = 0
    for t, d in pairs:
        finite = np.isfinite(t)
        np.testing.assert_array_equal(np.isfinite(d), finite)
        tf = t[finite]
        np.testing.assert_allclose(d[finite], tf + dt - np.mod(tf, dt), rtol=0, atol=1e-12)
        assert np.all(d[finite] > tf)
        n_checked += tf.size
    assert all(rec.counts.sum() > 0 for rec in res.layers) and n_checked > 50
    # The next layer integrates the snapped times.
    received = res.layers[1].in_times[np.isfinite(res.layers[1].in_times)]
    np.testing.assert_allclose(received / dt, np.round(received / dt), atol=1e-9)
    # A grid time moves a full step later.
    np.testing.assert_allclose(discretise(np.array([0.0, 3 * 0.001, 0.0025]), 0.001),
                               [0.001, 0.004, 0.003], atol=1e-15)


def test_grid_inputs_single_layer_snapped_times():
    """Grid-aligned inputs: snapped times = ceil(t_cont(inputs + dt) / dt) dt (notes 3.8)."""
    rng = np.random.default_rng(2)
    for dt in (0.001, 0.003, 0.005, 0.009):
        x = np.where(rng.random((4, 40)) < 0.7, rng.integers(0, 40, (4, 40)) * dt, np.inf)
        W = [rng.uniform(-1, 3, (40, 20))]
        res = simulate_events(W, [0.2], x, tau_s=TAU_S, dt=dt, t_max=0.2)
        cont = simulate_events(W, [0.2], x + dt, tau_s=TAU_S, t_max=0.2)
        np.testing.assert_array_equal(res.layers[0].counts, cont.layers[0].counts)
        t = cont.layers[0].times
        finite = np.isfinite(t)
        assert finite.sum() > 20
        np.testing.assert_allclose(res.layers[0].times[finite], t[finite], atol=1e-12)
        np.testing.assert_allclose(res.layers[0].out_times[finite],
                                   np.ceil(t[finite] / dt) * dt, atol=1e-12)


def test_ttfs_round_trip_and_errors():
    p = np.array([[0.0, 0.25, 0.5, 1.0], [1e-3, 0.99, 0.0, 0.7]])
    t = ttfs_encode(p, t_in=0.1)
    assert np.isinf(t[0, 0]) and np.isinf(t[1, 2])
    np.testing.assert_allclose(t[0, 1:], [0.075, 0.05, 0.0])
    np.testing.assert_allclose(ttfs_decode(t, t_in=0.1), p, atol=1e-15)
    for bad in (np.array([0.5, np.nan]), np.array([-0.1]), np.array([1.5]), np.array([255.0])):
        with pytest.raises(ParameterError):
            ttfs_encode(bad)
    with pytest.raises(ParameterError):
        ttfs_decode(np.array([0.2]), t_in=0.1)
    with pytest.raises(ParameterError):
        ttfs_decode(np.array([np.nan]))
    with pytest.raises(ParameterError):
        simulate_events([np.ones((2, 1))], [0.2], np.array([[np.nan, 0.0]]))


def test_spike_time_gradient_matches_finite_differences():
    """d(sum of output spike times)/dW of every layer against central differences.

    The count loss is piecewise constant, so BATS' count gradient is a surrogate; what the
    backward pass computes exactly is the spike-time derivative, checked here. The weights are
    perturbed by 1e-6 and the check asserts that no spike appears or vanishes.
    """
    rng = np.random.default_rng(5)
    weights = [rng.uniform(0, 8, (5, 4)), rng.uniform(-2, 10, (4, 3))]
    thresholds = (0.2, 0.5)
    x = rng.uniform(0, 0.08, (3, 5))
    res = simulate_events(weights, thresholds, x, tau_s=TAU_S)
    out = res.layers[-1]
    assert out.counts.sum() >= 6 and res.layers[0].counts.min() >= 1
    grads = backward_events(res, weights, np.isfinite(out.times).astype(float))

    def total(ws):
        r = simulate_events(ws, thresholds, x, tau_s=TAU_S)
        return [rec.counts for rec in r.layers], np.sum(np.where(np.isfinite(r.layers[-1].times),
                                                                 r.layers[-1].times, 0.0))

    eps = 1e-6
    base_counts = [rec.counts for rec in res.layers]
    for layer, W in enumerate(weights):
        fd = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            vals = []
            for sign in (1, -1):
                ws = [w.copy() for w in weights]
                ws[layer][idx] += sign * eps
                counts, value = total(ws)
                assert all(np.array_equal(c, b) for c, b in zip(counts, base_counts))
                vals.append(value)
            fd[idx] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(grads[layer], fd, rtol=1e-4, atol=1e-7)


def test_discretised_output_gradient_and_backward_times():
    """dt > 0: the output layer integrates fixed snapped times, so its gradient stays exact.

    Hidden weights act through d(t) (piecewise constant): there only the straight-through
    estimate exists. "continuous" and "received" differ only in the presynaptic exps.
    """
    rng = np.random.default_rng(7)
    dt = 0.002
    weights = [rng.uniform(0, 8, (5, 4)), rng.uniform(-2, 10, (4, 3))]
    thresholds = (0.2, 0.5)
    x = rng.uniform(0, 0.08, (3, 5))
    res = simulate_events(weights, thresholds, x, tau_s=TAU_S, dt=dt)
    out_err = np.isfinite(res.layers[-1].times).astype(float)
    assert out_err.sum() >= 6
    received = backward_events(res, weights, out_err)
    continuous = backward_events(res, weights, out_err, backward_times="continuous")
    eps = 1e-6
    fd = np.zeros_like(weights[1])
    for idx in np.ndindex(fd.shape):
        vals = []
        for sign in (1, -1):
            ws = [w.copy() for w in weights]
            ws[1][idx] += sign * eps
            t = simulate_events(ws, thresholds, x, tau_s=TAU_S, dt=dt).layers[-1].times
            vals.append(np.sum(np.where(np.isfinite(t), t, 0.0)))
        fd[idx] = (vals[0] - vals[1]) / (2 * eps)
    np.testing.assert_allclose(received[1], fd, rtol=1e-4, atol=1e-7)
    assert not np.allclose(continuous[1], fd, rtol=1e-4, atol=1e-7)
    assert all(np.all(np.isfinite(g)) for g in received + continuous)
    # Continuous time: both options are the same computation.
    res0 = simulate_events(weights, thresholds, x, tau_s=TAU_S)
    err0 = np.isfinite(res0.layers[-1].times).astype(float)
    for a, b in zip(backward_events(res0, weights, err0),
                    backward_events(res0, weights, err0, backward_times="continuous")):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(ParameterError):
        backward_events(res0, weights, err0, backward_times="discrete")


def _two_class_problem(n=200, n_in=20, seed=0):
    """Class 0 drives inputs 0-9 early, class 1 inputs 10-19; the rest late or silent."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    p = rng.uniform(0.0, 0.3, (n, n_in))
    strong = np.zeros((n, n_in), bool)
    strong[labels == 0, :n_in // 2] = True
    strong[labels == 1, n_in // 2:] = True
    p[strong] = rng.uniform(0.6, 1.0, strong.sum())
    p[rng.random((n, n_in)) < 0.2] = 0.0
    return ttfs_encode(p), labels


def test_trainer_lowers_loss_and_learns():
    """BATS' init U(-1, 1) keeps 20-input nets silent (no gradient): init_range=4 here."""
    x, y = _two_class_problem()
    kwargs = dict(thresholds=(0.2, 1.3), tau_s=TAU_S)
    epochs = 8
    weights, hist = train_bats(x, y, hidden=(30,), epochs=epochs, batch_size=20, lr=0.02,
                               seed=0, init_range=4.0, **kwargs)
    n_batches = len(hist["loss"]) // epochs
    first, last = hist["loss"][:n_batches].mean(), hist["loss"][-n_batches:].mean()
    assert last < 0.3 * first, (first, last)  # measured 100.2 -> 15.0
    labels, counts = predict(weights, x, **kwargs)
    assert np.mean(labels == y) >= 0.95  # measured 0.975
    assert hist["samples_per_s"] > 0
    # Seeded: the same run again gives the same weights.
    again, _ = train_bats(x[:40], y[:40], hidden=(30,), epochs=1, batch_size=20, seed=0,
                          init_range=4.0, **kwargs)
    again2, _ = train_bats(x[:40], y[:40], hidden=(30,), epochs=1, batch_size=20, seed=0,
                           init_range=4.0, **kwargs)
    for a, b in zip(again, again2):
        np.testing.assert_array_equal(a, b)


def test_trainer_with_discretisation_learns():
    """dt = 3 ms, straight-through estimator: learns as well on this easy problem."""
    x, y = _two_class_problem(seed=1)
    kwargs = dict(thresholds=(0.2, 1.3), tau_s=TAU_S, dt=0.003)
    weights, hist = train_bats(x, y, hidden=(30,), epochs=8, batch_size=20, lr=0.02, seed=0,
                               init_range=4.0, **kwargs)
    assert hist["loss"][-10:].mean() < 0.3 * hist["loss"][:10].mean()
    assert np.mean(predict(weights, x, **kwargs)[0] == y) >= 0.95  # measured 0.985


def test_predict_ties_to_lowest_index_and_bad_arguments():
    weights = [np.zeros((3, 4))]
    labels, counts = predict(weights, np.zeros((2, 3)), thresholds=(0.2,))
    np.testing.assert_array_equal(labels, [0, 0])
    assert counts.sum() == 0
    with pytest.raises(ParameterError):
        train_bats(np.zeros((4, 3)), np.array([0, 1, 2, 5]), hidden=(), thresholds=(0.2,),
                   n_classes=3)
    with pytest.raises(ParameterError):
        simulate_events([np.ones((3, 2))], [0.2, 0.3], np.zeros((1, 3)))


def test_times_take_brian2_units_and_refuse_milliseconds_as_plain_numbers():
    """tau_s, dt, t_max and the TTFS window accept Brian2 times like the rest of brainconv;
    a plain number is seconds, and one too large to be seconds is refused with the fix."""
    import brian2

    from brainconv.spiketime import cuba_network, simulate_events, train_bats, ttfs_encode

    times = ttfs_encode(np.array([[0.2, 0.9]]), t_in=100 * brian2.ms)
    np.testing.assert_allclose(times, ttfs_encode(np.array([[0.2, 0.9]]), t_in=0.1))
    weights = [np.array([[30.0, 5.0], [25.0, 40.0]]), np.array([[20.0], [30.0]])]
    a = simulate_events(weights, [0.2, 0.5], times, tau_s=130 * brian2.ms, dt=1 * brian2.ms)
    b = simulate_events(weights, [0.2, 0.5], times, tau_s=0.13, dt=0.001)
    np.testing.assert_array_equal(a.counts, b.counts)
    with pytest.raises(ParameterError, match=r"tau_s=130 is in seconds.*write 0.13 for 130 ms"):
        simulate_events(weights, [0.2, 0.5], times, tau_s=130)
    with pytest.raises(ParameterError, match=r"tau_s.*unit"):
        cuba_network(weights, [0.2, 0.5], tau_s=5 * brian2.mV)
    with pytest.raises(ParameterError, match=r"t_max=200 is in seconds"):
        train_bats(times, [0], hidden=(2,), thresholds=(0.2, 0.5), t_max=200)
