"""CuBa-LIF and time-to-first-spike input: closed-form spike times, the two grid semantics,
Brian2 against the numpy reference.

Closed form: one input of weight 12 at t = 0 (tau_s = 0.13 s,
theta = 0.2) makes the continuous neuron spike at t_k below. Through brainconv the input spikes
in step 0 and acts at t = dt, so the crossing at t_k + dt is found in step ceil(t_k / dt).
"""

import brian2
import numpy as np
import pytest

from brainconv.errors import ModelError, ParameterError
from brainconv.simulation import run_network
from brainconv.spiketime.network import cuba_network

T_K = np.array([0.018545, 0.040336, 0.066804, 0.100651, 0.148123, 0.232489])
TAU_S, THETA = 0.13, 0.2


def spike_steps(result, sample=0, unit=0):
    return np.nonzero(result["output_spikes"][sample, :, unit])[0]


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_single_input_spikes_at_the_closed_form_times(dt):
    spec = cuba_network([np.array([[12.0]])], [THETA], tau_s=TAU_S)
    steps = int(round(200 / dt))
    result = run_network(spec, np.array([[1.0]]), steps, device="numpy", dt=dt)
    # T_K is rounded to 1 us; at these dt no t_k lies within 1 us of a grid point.
    expected = np.ceil(T_K / (dt * 1e-3))
    np.testing.assert_array_equal(spike_steps(result), expected[expected < steps])
    assert len(spike_steps(result)) == 5  # the sixth spike, 0.232 s, is past the 0.2 s window


def test_single_input_spikes_in_brian2_as_in_numpy(numpy_codegen):
    spec = cuba_network([np.array([[12.0]])], [THETA], tau_s=TAU_S)
    brian = run_network(spec, np.array([[1.0]]), 200, device="runtime", dt=1.0)
    np.testing.assert_array_equal(spike_steps(brian), np.ceil(T_K[:5] / 1e-3))


@pytest.mark.parametrize("factor, spikes", [(1.001, 1), (0.999, 0)])
def test_a_single_input_fires_only_above_four_theta_over_tau(factor, spikes):
    """Peak PSP of one input w at t = 0 is tau w / 4 (at t = tau ln 2): one spike needs
    w >= 4 theta / tau, and the soft reset leaves the peak below theta again."""
    w = factor * 4 * THETA / (2 * TAU_S)
    spec = cuba_network([np.array([[w]])], [THETA], tau_s=TAU_S)
    result = run_network(spec, np.array([[1.0]]), 2000, device="numpy", dt=0.1)
    assert result["output_spikes"].sum() == spikes


def test_ttfs_input_spikes_once_at_its_encoded_step():
    """p spikes in step floor(t_window (1 - p) / dt); a zero value never spikes."""
    p = np.array([[0.0, 1.0, 0.5, 0.25, 0.999, 0.0042]])
    spec = cuba_network([np.zeros((6, 1))], [THETA])
    result = run_network(spec, p, 120, device="numpy", dt=1.0)
    counts = result["unit_spike_count"][:6]
    np.testing.assert_array_equal(counts, [0, 1, 1, 1, 1, 1])
    assert result["layer_spikes"][0].sum() == 5
    first_steps = np.floor(100 * (1 - p[0, 1:]) + 1e-9)  # t_window = 100 ms
    per_step = result["layer_spikes"][0].astype(int)
    np.testing.assert_array_equal(np.repeat(np.arange(120), per_step), np.sort(first_steps))


def random_cuba(seed, exact=True, sizes=(30, 12, 4)):
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-1, 3, (sizes[i], sizes[i + 1])) * (6 if i == 0 else 2)
               for i in range(len(sizes) - 1)]
    spec = cuba_network(weights, [THETA, 0.5], tau_s=TAU_S, exact=exact)
    x = rng.uniform(0, 1, (5, sizes[0])) * (rng.random((5, sizes[0])) < 0.7)
    return spec, x


def test_the_two_grid_semantics_differ_and_the_exact_one_spikes_no_later():
    """The exact in-step crossing finds every crossing the grid check finds, in the same step
    or earlier, and more (crossings that fall back below theta within a step)."""
    spec_b, x = random_cuba(1, exact=True)
    spec_a, _ = random_cuba(1, exact=False)
    b = run_network(spec_b, x, 60, device="numpy", dt=5.0)
    a = run_network(spec_a, x, 60, device="numpy", dt=5.0)
    assert b["layer_spikes"][1].sum() > 0
    assert not np.array_equal(a["layer_spikes"], b["layer_spikes"])
    first = lambda r: np.argmax(r["layer_spikes"][1] > 0)  # noqa: E731
    assert first(b) <= first(a)


@pytest.mark.parametrize("exact", [True, False])
def test_brian2_runtime_equals_numpy_reference(exact, numpy_codegen):
    spec, x = random_cuba(2, exact=exact)
    reference = run_network(spec, x, 50, device="numpy", dt=3.0)
    brian = run_network(spec, x, 50, device="runtime", batch_size=2, dt=3.0)  # padded batch
    assert reference["layer_spikes"][1:].sum() > 0 and reference["output_spikes"].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(brian[key], reference[key], err_msg=key)


@pytest.mark.standalone
def test_cpp_standalone_equals_numpy_reference(standalone_dir):
    spec, x = random_cuba(3)
    reference = run_network(spec, x, 40, device="numpy", dt=5.0)
    brian = run_network(spec, x, 40, device="cpp_standalone", batch_size=2, dt=5.0)
    assert reference["output_spikes"].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(brian[key], reference[key], err_msg=key)


def test_errors_name_the_problem():
    with pytest.raises(ParameterError, match="one threshold per weight matrix"):
        cuba_network([np.ones((3, 2))], [0.2, 1.3])
    with pytest.raises(ParameterError, match=r"weights\[1\] has shape \(3, 2\)"):
        cuba_network([np.ones((3, 4)), np.ones((3, 2))], [0.2, 1.3])
    with pytest.raises(ParameterError, match="tau_s must be a positive"):
        cuba_network([np.ones((3, 2))], [0.2], tau_s=-1)
    import dataclasses

    spec = cuba_network([np.ones((3, 2))], [0.2])
    bad = dataclasses.replace(spec, layers=(spec.layers[0], dataclasses.replace(
        spec.layers[1], synapse="alpha")))
    with pytest.raises(ModelError, match="carries its own synapse 'cuba_current'"):
        run_network(bad, np.ones((1, 3)), 5, device="numpy")


@pytest.mark.parametrize("dt", [1.0, 3.0, 5.0])
def test_exact_grid_semantics_equal_the_snapped_event_driven_reference(dt):
    """Cojocaru's semantics (b): with grid-aligned inputs every spike of every layer lies in
    step ceil(t / dt) - 1 (it reaches the next layer at d(t)), t the spike time of the
    event-driven closed-form simulator run with the same dt."""
    from brainconv.spiketime import simulate_events

    rng = np.random.default_rng(int(dt))
    # Weights that keep every neuron below BATS' 30-spike buffer (the reference stops there).
    weights = [rng.uniform(-1, 3, (30, 12)) * 0.5, rng.uniform(-1, 3, (12, 4)) * 1.5]
    steps = int(round(200 / dt))
    k = rng.integers(0, int(round(100 / dt)), (6, 30))  # input spike steps in [0, 100 ms)
    x = np.where(rng.random((6, 30)) < 0.7, 1 - k * dt / 100, 0.0)
    spec = cuba_network(weights, [THETA, 0.5], tau_s=TAU_S)
    brian = run_network(spec, x, steps, device="numpy", dt=dt)
    times = np.where(x > 0, 0.1 * (1 - x), np.inf)
    events = simulate_events(weights, [THETA, 0.5], times, tau_s=TAU_S, dt=dt * 1e-3,
                             t_max=steps * dt * 1e-3)
    hidden, output = (np.ceil(np.round(layer.times / (dt * 1e-3), 6)) - 1
                      for layer in events.layers)
    assert np.isfinite(output).sum() > 0 and np.isfinite(hidden).sum() > 0
    assert max(layer.counts.max() for layer in events.layers) < 30  # no buffer full
    expected = np.zeros_like(brian["output_spikes"])
    for (sample, unit, slot) in np.argwhere(np.isfinite(output)):
        expected[sample, int(output[sample, unit, slot]), unit] += 1
    np.testing.assert_array_equal(brian["output_spikes"], expected)
    per_step = np.bincount(hidden[np.isfinite(hidden)].astype(int), minlength=steps)
    np.testing.assert_array_equal(brian["layer_spikes"][1], per_step)


def driven_cuba(dt, buffers=(10, 8)):
    """A network driven hard enough that neurons cross several times within one step of
    ``dt`` ms and fill their spike buffers, and the event-driven reference's spike steps."""
    from brainconv.spiketime import simulate_events

    rng = np.random.default_rng(int(dt))
    scale = {5.0: 3.0, 9.0: 2.0}[dt]  # some output neurons fill their buffer, some do not
    weights = [rng.uniform(-1, 3, (30, 12)) * scale, rng.uniform(-1, 3, (12, 4))]
    steps = int(round(200 / dt))
    k = rng.integers(0, int(round(100 / dt)), (6, 30))
    x = np.where(rng.random((6, 30)) < 0.7, 1 - k * dt / 100, 0.0)
    spec = cuba_network(weights, [THETA, 0.5], tau_s=TAU_S, max_spikes=list(buffers))
    events = simulate_events(weights, [THETA, 0.5], np.where(x > 0, 0.1 * (1 - x), np.inf),
                             tau_s=TAU_S, dt=dt * 1e-3, t_max=steps * dt * 1e-3,
                             max_spikes=list(buffers))
    return spec, x, steps, [np.ceil(np.round(layer.times / (dt * 1e-3), 6)) - 1
                            for layer in events.layers], events


@pytest.mark.parametrize("dt", [5.0, 9.0])
def test_several_crossings_in_one_step_and_the_spike_buffer_follow_the_reference(dt):
    """Every crossing inside a step is sent at the step's end (payload n), and a neuron stops
    after max_spikes spikes per sample, as in the event-driven engine (BATS' buffer)."""
    spec, x, steps, (hidden, output), events = driven_cuba(dt)
    with np.errstate(invalid="ignore"):  # inf - inf between empty slots
        shared = [int(np.sum(np.diff(s, axis=-1) == 0)) for s in (hidden, output)]
    assert min(shared) > 0  # both layers send several spikes in one step somewhere
    assert (events.layers[1].counts == 8).any() and (events.layers[1].counts < 8).any()
    brian = run_network(spec, x, steps, device="numpy", dt=dt)
    expected = np.zeros_like(brian["output_spikes"])
    for sample, unit, slot in np.argwhere(np.isfinite(output)):
        expected[sample, int(output[sample, unit, slot]), unit] += 1
    np.testing.assert_array_equal(brian["output_spikes"], expected)
    per_step = np.bincount(hidden[np.isfinite(hidden)].astype(int), minlength=steps)
    np.testing.assert_array_equal(brian["layer_spikes"][1], per_step)
    np.testing.assert_array_equal(brian["unit_spike_count"][30:42],
                                  events.layers[0].counts.sum(axis=0))  # each at most 10


def _several_spikes_on(device, dt):
    spec, x, steps, _, _ = driven_cuba(dt)
    reference = run_network(spec, x, steps, device="numpy", dt=dt)
    brian = run_network(spec, x, steps, device=device, batch_size=4, dt=dt)
    assert reference["output_spikes"].max() > 1
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(brian[key], reference[key], err_msg=key)


def test_brian2_runtime_sends_several_spikes_in_one_step_as_numpy(numpy_codegen):
    _several_spikes_on("runtime", 9.0)


@pytest.mark.standalone
def test_cpp_standalone_sends_several_spikes_in_one_step_as_numpy(standalone_dir):
    _several_spikes_on("cpp_standalone", 5.0)


@pytest.mark.parametrize("bad", [0, 2.5, 1000, True])
def test_a_bad_spike_buffer_is_refused_with_its_range(bad):
    with pytest.raises(ParameterError, match=rf"max_spikes must be an integer in \[1, 200\].*"
                                             rf"got {bad!r}"):
        cuba_network([np.ones((3, 2))], [0.2], max_spikes=bad)
    with pytest.raises(ParameterError, match="max_spikes once or once per weight matrix"):
        cuba_network([np.ones((3, 2))], [0.2], max_spikes=[30, 30])


def test_pixel_inputs_near_grid_points_act_where_the_reference_puts_them():
    """float32 pixels k/255: t_in = 0.1 (1 - p) falls a few 1e-9 s off the 20, 40, 60, 80 ms
    grid points (p = 0.8, 0.6, ...). Brian2's timestep() would move such an input one step
    later than d(t); the ttfs layer uses the reference's 1e-9-step tolerance instead."""
    from brainconv.spiketime import simulate_events, ttfs_encode

    rng = np.random.default_rng(4)
    weights = [rng.uniform(-1, 3, (40, 12)) * 0.5, rng.uniform(-1, 3, (12, 4)) * 1.5]
    x = (rng.integers(0, 256, (8, 40)) / 255).astype(np.float32)
    x[:, :4] = np.float32(np.array([51, 102, 153, 204]) / 255)  # the near-grid times
    spec = cuba_network(weights, [THETA, 0.5], tau_s=TAU_S)
    brian = run_network(spec, x, 200, device="numpy", dt=1.0)
    events = simulate_events(weights, [THETA, 0.5], ttfs_encode(x), tau_s=TAU_S, dt=1e-3)
    np.testing.assert_array_equal(brian["output_spikes"].sum(axis=1), events.counts)
    hidden = np.ceil(np.round(events.layers[0].times / 1e-3, 6)) - 1
    np.testing.assert_array_equal(
        brian["layer_spikes"][1],
        np.bincount(hidden[np.isfinite(hidden)].astype(int), minlength=200)[:200])


@pytest.mark.parametrize("activation", [{}, {"activation": "softlif"}, {"activation": "rate",
                                                                       "activation_params": {"R": 10}}])
def test_convert_refuses_cuba_lif_for_any_ann_and_names_the_spike_time_trainer(activation):
    """CuBa-LIF weights come from BATS training: converting any ANN to it (a ReLU, rate or
    soft-LIF network) is refused with the trainer's name, not run to chance accuracy."""
    from brainconv.ann import ANN
    from brainconv.conversion import convert

    rng = np.random.default_rng(0)
    ann = ANN((rng.normal(size=(4, 5)), rng.normal(size=(5, 3))), (np.zeros(5), np.zeros(3)),
              **activation)
    for model in ("cuba_lif", "cuba_lif_grid"):
        with pytest.raises(ModelError, match=r"trained on spike times.*"
                                             r"brainconv\.spiketime\.train_bats"):
            convert(ann, model=model, normalization="none")


def test_compare_says_why_cuba_lif_is_no_paradigm():
    from brainconv.comparison import check_paradigms

    with pytest.raises(ParameterError, match=r"cuba_lif is a neuron model trained on spike "
                                             r"times \(brainconv\.spiketime\.train_bats\)"):
        check_paradigms(["cuba_lif", "if_soft"])
