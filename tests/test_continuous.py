"""Continuous-time models: the Nengo-exact LIF (``lif_rc``), synapse filters, units, readout.

Brian2 runs here use the runtime device with numpy code generation (compiling Cython would
dominate these small runs); one small network is also built with cpp_standalone. Expected
values come from closed forms (the LIF rate, kernel integrals by quadrature), never from
earlier runs.
"""

import brian2
import numpy as np
import pytest
from scipy.integrate import quad

from brainconv.analysis import accuracy_over_time
from brainconv.ann import ANN
from brainconv.conversion import convert
from brainconv.equations import SYNAPSE_MODELS, get_model, get_synapse_model
from brainconv.equations.lif_rc import LIF_RC, rate_of_j
from brainconv.equations.readout import READOUT
from brainconv.errors import ModelError, ParameterError
from brainconv.results import load_results, save_results
from brainconv.simulation import run_network, simulate

from conftest import small_ann

J_VALUES = np.array([1.05, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0])
TAU_RC, TAU_REF = 22 * brian2.ms, 2 * brian2.ms
DT = 1 * brian2.ms


def lif_rc_group(currents, name):
    """A ``lif_rc`` group from the model's own strings, scheduled as brainconv schedules it."""
    group = brian2.NeuronGroup(len(currents), LIF_RC.equations, threshold=LIF_RC.threshold,
                               reset=LIF_RC.reset, method=LIF_RC.method, dt=DT, name=name)
    group.I = currents
    for parameter, value in LIF_RC.brian2_values(LIF_RC.parameters).items():
        setattr(group, parameter, value)
    group.tau_rc, group.tau_ref = TAU_RC, TAU_REF
    integrate = group.run_regularly(LIF_RC.integrate, when="before_thresholds")
    return group, integrate


def measured_rate(spike_times):
    """Rate from the first to the last spike, in Hz (stamps of equal offset cancel)."""
    t = np.asarray(spike_times / brian2.second)
    return (len(t) - 1) / (t[-1] - t[0])


def test_lif_rc_rate_is_analytic_at_1ms_where_builtin_refractory_is_not(numpy_codegen):
    """Nengo-exact LIF within 0.5 % of r(J) at dt = 1 ms; Brian2's built-in refractory on the
    same grid fires at 250 Hz instead of 231.6 Hz at J = 10 (the regression guard)."""
    group, integrate = lif_rc_group(J_VALUES - 1, "lif_rc")  # gain 1, theta 1: J = I + 1
    builtin = brian2.NeuronGroup(
        len(J_VALUES), "dv/dt = (J - v) / tau_rc : 1 (unless refractory)\nJ : 1",
        threshold="v > 1", reset="v = 0", refractory=TAU_REF, method="exact", dt=DT,
        namespace={"tau_rc": TAU_RC}, name="builtin")
    builtin.J = J_VALUES
    monitors = brian2.SpikeMonitor(group), brian2.SpikeMonitor(builtin)
    brian2.Network(group, integrate, builtin, *monitors).run(2 * brian2.second)

    expected = rate_of_j(J_VALUES, tau_rc=0.022, tau_ref=0.002)
    np.testing.assert_allclose(expected[[0, -1]], [14.497, 231.592], atol=1e-3)  # eq. 2
    exact = [measured_rate(t) for t in monitors[0].spike_trains().values()]
    np.testing.assert_allclose(exact, expected, rtol=0.005)
    grid = [measured_rate(t) for t in monitors[1].spike_trains().values()]
    assert grid[-1] == pytest.approx(250.0, abs=1.0)  # 4 whole steps per interval
    assert abs(grid[-1] - expected[-1]) / expected[-1] > 0.05


def test_lif_rc_numpy_step_matches_analytic_rate():
    state = LIF_RC.initial_state((len(J_VALUES),))
    spikes = np.zeros(len(J_VALUES))
    times = [[] for _ in J_VALUES]
    for step in range(2000):
        LIF_RC.step(state, J_VALUES - 1, spikes, 1e-3, gain=1.0, theta=1.0, tau_rc=0.022,
                    tau_ref=0.002)
        for unit in np.flatnonzero(spikes):
            times[unit].append(step * 1e-3)
    rates = [(len(t) - 1) / (t[-1] - t[0]) for t in times]
    np.testing.assert_allclose(rates, rate_of_j(J_VALUES, 0.022, 0.002), rtol=0.005)
    # Below threshold v settles at J < 1 (and never below 0): no spikes.
    state = LIF_RC.initial_state((2,))
    for _ in range(500):
        out = LIF_RC.step(state, np.array([-0.05, -3.0]), np.zeros(2), 1e-3)
        assert not out.any()
    assert state["v"][0] == pytest.approx(0.95) and state["v"][1] == 0.0


@pytest.mark.parametrize("name", ["exponential", "alpha"])
@pytest.mark.parametrize("tau_s", [0.002, 0.005])
def test_kernel_has_unit_area(name, tau_s):
    kernel = SYNAPSE_MODELS[name].kernel
    area, _ = quad(lambda t: float(kernel(t, tau_s=tau_s)), 0, 60 * tau_s, points=[tau_s])
    assert area == pytest.approx(1.0, abs=1e-8)
    assert float(kernel(-1e-4, tau_s=tau_s)) == 0.0  # causal


def filter_trace_brian2(synapse, charge, tau_s, steps):
    """I_syn after one spike of weight ``charge`` (seconds) at t = 0, with the model's strings:
    spike generator → Synapses(on_pre) → readout group running the filter's update code."""
    group = brian2.NeuronGroup(1, READOUT.equations + synapse.equations, dt=DT, name="target")
    for parameter, value in synapse.brian2_values({"tau_s": tau_s} if synapse.parameters
                                                  else {}).items():
        setattr(group, parameter, value)
    update = group.run_regularly(synapse.update + "\n" + READOUT.integrate, when="synapses",
                                 order=1)
    source = brian2.SpikeGeneratorGroup(1, [0], [0] * brian2.ms, dt=DT)
    pathway = brian2.Synapses(source, group, f"w : {synapse.weight_unit}",
                              on_pre=synapse.code_on_pre(), dt=DT)
    pathway.connect(i=0, j=0)
    pathway.w = charge * brian2.second
    monitor = brian2.StateMonitor(group, "I_syn", record=0, when="end")
    brian2.Network(group, update, source, pathway, monitor).run(steps * DT)
    return np.asarray(monitor.I_syn[0])


# cuba_current is no filter of its own: it adds to the CuBa-LIF neuron's g (tests/test_cuba.py).
@pytest.mark.parametrize("name", sorted(set(SYNAPSE_MODELS) - {"cuba_current"}))
def test_filter_step_brian2_and_kernel_agree(name, numpy_codegen):
    """One spike: the numpy filter_step, the Brian2 strings and the kernel's mean over each
    step (by quadrature) give the same current, and its integral is the weight (charge)."""
    synapse, tau_s, charge, dt, steps = get_synapse_model(name), 0.003, 0.063 * 0.7, 1e-3, 80
    parameters = {"tau_s": tau_s} if synapse.parameters else {}
    state = synapse.initial_state((1,))
    numpy_trace = np.array([synapse.filter_step(state, np.array([charge if k == 0 else 0.0]),
                                                dt, **parameters)[0] for k in range(steps)])
    brian2_trace = filter_trace_brian2(synapse, charge, tau_s, steps)
    np.testing.assert_allclose(brian2_trace, numpy_trace, rtol=1e-12, atol=1e-12)
    if name == "delta":
        expected = np.r_[charge / dt, np.zeros(steps - 1)]
    else:
        expected = np.array([quad(lambda t: float(synapse.kernel(t, tau_s=tau_s)), k * dt,
                                  (k + 1) * dt)[0] * charge / dt for k in range(steps)])
    np.testing.assert_allclose(numpy_trace, expected, rtol=1e-9, atol=1e-12)
    # A single spike delivers exactly its charge (the tail beyond 80 steps is < 1e-9).
    assert numpy_trace.sum() * dt == pytest.approx(charge, rel=1e-8)


def test_alpha_filtered_train_mean_is_amplitude_times_rate(numpy_codegen):
    """Steady state: the time average over [1 s, 5 s] of the alpha-filtered spike train of a
    lif_rc neuron, weighted by amp, equals amp * r(J) within 1 % (Hunsberger §2.8)."""
    J, amp = np.array([1.5, 3.0, 10.0]), 0.063
    group, integrate = lif_rc_group(J - 1, "driver")
    alpha = get_synapse_model("alpha")
    filtered = brian2.NeuronGroup(len(J), READOUT.equations + alpha.equations, dt=DT,
                                  name="filtered")
    filtered.tau_s = 5 * brian2.ms
    update = filtered.run_regularly(alpha.update + "\n" + READOUT.integrate, when="end")
    pathway = brian2.Synapses(group, filtered, "w : second", on_pre=alpha.code_on_pre(), dt=DT)
    pathway.connect(j="i")
    pathway.w = amp * brian2.second
    monitor = brian2.StateMonitor(filtered, "I_syn", record=True, when="end", order=1)
    brian2.Network(group, integrate, filtered, update, pathway, monitor).run(5 * brian2.second)
    late = monitor.t >= 1 * brian2.second
    mean = monitor.I_syn[:, late].mean(axis=1)
    np.testing.assert_allclose(mean, amp * rate_of_j(J), rtol=0.01)


def softlif_ann(sizes=(6, 10, 3), seed=0):
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0, 1.0, (a, b)) for a, b in zip(sizes[:-1], sizes[1:]))
    biases = tuple(rng.normal(0.2, 0.3, b) for b in sizes[1:])
    return ANN(weights, biases, activation="softlif",
               activation_params={"tau_rc": 0.022, "tau_ref": 0.002, "amp": 0.063})


def test_softlif_conversion_and_filtered_readout_compute_the_lif_network():
    """J = gain x + 1 and amp in the next weights: with one hidden layer (constant currents),
    the readout's mean over a late window equals W_out (amp r(J)) + b_out of the hard-LIF ANN."""
    ann = softlif_ann()
    spec = convert(ann, model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": 5 * brian2.ms}, readout="filtered")
    assert [layer.model for layer in spec.layers] == ["lif_rc", "readout"]
    assert [layer.synapse for layer in spec.layers] == ["delta", "alpha"]
    np.testing.assert_allclose(spec.layers[1].weights, 0.063 * ann.weights[1])
    assert dict(spec.layers[0].parameters)["tau_rc"] == 0.022
    assert dict(spec.layers[1].synapse_parameters) == {"tau_s": pytest.approx(0.005)}

    x = np.random.default_rng(3).uniform(0, 1, (8, 6))
    raw = run_network(spec, x, 1000, device="numpy", dt=1.0)
    hidden = 0.063 * rate_of_j(x @ ann.weights[0] + ann.biases[0] + 1)
    expected = hidden @ ann.weights[1] + ann.biases[1]
    # Hidden units: r(J) T spikes in T = 1 s, within one spike per sample.
    rates = hidden / 0.063
    np.testing.assert_array_less(np.abs(raw["unit_spike_count"][:10] - rates.sum(axis=0)),
                                 len(x) + 1e-9)
    # Readout: each hidden unit's charge in the 0.8 s window is amp r T within one spike.
    measured = raw["readout"][:, 200:].mean(axis=1)  # window (200, 1000] ms
    slack = 0.063 * np.abs(ann.weights[1]).sum(axis=0) / 0.8
    assert np.all(np.abs(measured - expected) < slack)
    assert np.abs(expected).max() > 5 * slack.max()  # the comparison is not vacuous
    assert raw["output_spikes"].sum() == 0 and raw["layer_spikes"][0].sum() > 0


def test_continuous_results_have_time_in_ms_and_windowed_predictions(tmp_path):
    ann = softlif_ann()
    spec = convert(ann, model="lif_rc", normalization="none", synapse="exponential",
                   readout="filtered")
    x = np.random.default_rng(4).uniform(0, 1, (6, 6))
    labels = np.arange(6) % 3
    ds = simulate(spec, x, labels, 80, device="numpy", dt=0.5, window=(20.0, 40.0))
    np.testing.assert_allclose(ds["time"].values[[0, -1]], [0.5, 40.0])
    assert ds["time"].attrs["units"] == "ms" and ds.attrs["dt"] == "0.5 ms"
    inside = (ds["time"] > 20) & (ds["time"] <= 40)
    np.testing.assert_array_equal(
        ds["prediction"], ds["readout"].where(inside).mean("time").argmax("class"))
    # accuracy over time counts from the window start; before it every answer is class 0
    accuracy = accuracy_over_time(ds)
    assert float(accuracy.sel(time=20.0)) == pytest.approx(np.mean(labels == 0))
    assert float(accuracy.sel(time=40.0)) == pytest.approx(np.mean(ds["prediction"] == labels))
    save_results(ds, tmp_path / "r.nc")
    back = load_results(tmp_path / "r.nc")
    np.testing.assert_array_equal(back["readout"], ds["readout"])
    assert back.attrs["window_start"] == 20.0 and back.attrs["synapse"] == "exponential"
    # A window beyond the 40 ms presentation is refused before anything runs.
    with pytest.raises(ParameterError, match=r"window \(50, 60\) ms does not fit the run: "
                                             r"give 0 <= c0 < c1 <= 40 ms"):
        simulate(spec, x, labels, 80, device="numpy", dt=0.5, window=(50, 60))


@pytest.mark.parametrize("window", [(30, 80), (-10, 30), (40, 20), (float("nan"), 30), (5,),
                                    "early"])
def test_a_window_that_does_not_fit_is_refused_before_the_simulation(window, monkeypatch):
    """(30, 80) on a 50 ms run, a negative start, a reversed or NaN window, or no pair at all:
    refused with the presentation time in the message, and nothing is simulated."""
    from brainconv.devices.numpy_device import NumpyDevice

    spec = convert(softlif_ann(), model="lif_rc", normalization="none", synapse="exponential",
                   readout="filtered")
    x = np.random.default_rng(4).uniform(0, 1, (3, 6))

    def no_run(*args, **kwargs):
        raise AssertionError("simulated before the window was checked")

    monkeypatch.setattr(NumpyDevice, "run", no_run)
    with pytest.raises(ParameterError, match="classification window"):
        simulate(spec, x, np.zeros(3, int), 100, device="numpy", dt=0.5, window=window)


@pytest.mark.parametrize("readout", ["spikes", "filtered"])
def test_lif_alpha_network_runtime_equals_numpy_reference(readout, numpy_codegen):
    spec = convert(softlif_ann((6, 8, 5, 3)), model="lif_rc", normalization="none",
                   synapse="alpha", synapse_parameters={"tau_s": 2 * brian2.ms},
                   readout=readout)
    x = np.random.default_rng(5).uniform(0, 1, (5, 6))
    reference = run_network(spec, x, 60, device="numpy")
    brian = run_network(spec, x, 60, device="runtime", batch_size=2)  # padded last batch
    assert_same_spikes(brian, reference)
    assert reference["layer_spikes"][1].sum() > 0  # spikes crossed the alpha pathway


def assert_same_spikes(a, b):
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert ("readout" in a) == ("readout" in b)
    if "readout" in a:
        np.testing.assert_allclose(a["readout"], b["readout"], rtol=1e-9, atol=1e-12)


@pytest.mark.standalone
def test_lif_alpha_network_cpp_standalone_equals_numpy_reference(standalone_dir):
    """Two spiking LIF layers, alpha synapses, a filtered readout, dt = 0.5 ms, padded batches:
    the compiled project (weights in seconds arrive as run_args) equals the numpy reference."""
    spec = convert(softlif_ann((6, 8, 5, 3)), model="lif_rc", normalization="none",
                   synapse="alpha", synapse_parameters={"tau_s": 2 * brian2.ms},
                   readout="filtered")
    x = np.random.default_rng(5).uniform(0, 1, (5, 6))
    reference = run_network(spec, x, 60, device="numpy", dt=0.5)
    assert_same_spikes(run_network(spec, x, 60, device="cpp_standalone", batch_size=2, dt=0.5),
                       reference)
    assert reference["layer_spikes"][1].sum() > 0 and np.ptp(reference["readout"]) > 0


@pytest.mark.standalone
@pytest.mark.slow
def test_cpp_standalone_batches_start_cleanly_after_64_s_of_simulated_time(standalone_dir):
    """From t = 64 s on, one ulp of t exceeds Brian2's 1e-14 s clock tolerance: a batch clock
    tick one ulp after the step clock's ran after the batch's first step (that step saw the
    previous sample's state). 340 samples x 200 ms, batch 1, cross 64 s; all must match numpy."""
    spec = convert(softlif_ann(), model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": 5 * brian2.ms}, readout="filtered")
    x = np.random.default_rng(7).uniform(0, 1, (340, 6))
    reference = run_network(spec, x, 200, device="numpy", dt=1.0)
    assert_same_spikes(run_network(spec, x, 200, device="cpp_standalone", batch_size=1, dt=1.0),
                       reference)


@pytest.mark.parametrize("where, values, message", [
    ("parameters", {"tau_rc": 20},
     r"parameter 'tau_rc' of neuron model 'lif_rc' needs a Brian2 unit of second, got 20 "
     r"without units.*write tau_rc=20\*ms"),
    ("parameters", {"tau_ref": 2 * brian2.mV}, r"'tau_ref' of neuron model 'lif_rc' must be in "
                                               r"second.*got 2\. mV"),
    ("synapse_parameters", {"tau_s": 5},
     r"parameter 'tau_s' of synapse model 'alpha' needs a Brian2 unit of second.*tau_s=5\*ms"),
    ("synapse_parameters", {"tau_s": -1 * brian2.ms}, r"'tau_s' of synapse model 'alpha' must "
                                                      r"be positive"),
])
def test_parameters_without_units_are_clear_errors(where, values, message):
    with pytest.raises(ParameterError, match=message):
        convert(softlif_ann(), model="lif_rc", normalization="none", synapse="alpha",
                **{where: values})


def test_time_base_and_synapse_mismatches_are_rejected_before_brian2(small_inputs):
    with pytest.raises(ModelError, match=r"'alpha' synapse filters a current, but model "
                                         r"'if_soft' lives on a timestep grid"):
        convert(small_ann(), normalization="none", synapse="alpha")
    with pytest.raises(ModelError, match=r"take a network trained with the soft-LIF"):
        convert(small_ann(), model="lif_rc", normalization="none")
    with pytest.raises(ModelError, match=r"mixes timestep-grid and continuous-time.*output: "
                                         r"readout \(continuous\)"):
        convert(small_ann(), normalization="none", readout="filtered")
    with pytest.raises(ParameterError, match=r"normalization='percentile' does not apply"):
        convert(softlif_ann(), model="lif_rc", data=np.zeros((2, 6)))
    with pytest.raises(ModelError, match=r"unknown synapse model 'alfa'.*alpha, cuba_current, "
                                         r"delta, exponential"):
        get_synapse_model("alfa")
    spec = convert(small_ann(), normalization="none")
    with pytest.raises(ParameterError, match=r"dt = 0.5 ms was given, but the network's models "
                                             r"live on a timestep grid"):
        run_network(spec, small_inputs, 5, device="numpy", dt=0.5)
    with pytest.raises(ParameterError, match=r"dt must be a positive number of ms"):
        run_network(convert(softlif_ann(), model="lif_rc", normalization="none"),
                    np.zeros((1, 6)), 5, device="numpy", dt=-1.0)


def test_grid_specs_keep_their_layout_and_delta_synapses():
    """Default delta pathways leave a grid network's compiled layout key unchanged."""
    spec = convert(small_ann(), normalization="none")
    assert all(layer.synapse == "delta" for layer in spec.layers)
    assert all(len(entry) == 5 for entry in spec.architecture[1:])
    assert get_model("readout").spiking is False and get_model("lif_rc").spiking


def test_parse_quantity_reads_command_line_values():
    from brainconv.equations.units import parse_quantity

    assert parse_quantity("20*ms") == 20 * brian2.ms and parse_quantity("0.5 ms") == 0.5 * brian2.ms
    assert parse_quantity("10") == 10.0 and not hasattr(parse_quantity("10"), "dim")
    with pytest.raises(ParameterError, match=r"'parsec' is not a Brian2 unit name"):
        parse_quantity("3 parsec")
    with pytest.raises(ParameterError, match=r"cannot read 'ms20'"):
        parse_quantity("ms20")


def test_a_windowed_run_marks_its_window_in_the_plot_and_the_report(capsys):
    """The time to target of a filtered readout is the window's, and both outputs say so."""
    from brainconv.analysis import plot_accuracy
    from brainconv.cli import report_dataset

    spec = convert(softlif_ann(), model="lif_rc", normalization="none", synapse="exponential",
                   readout="filtered")
    x = np.random.default_rng(4).uniform(0, 1, (6, 6))
    ds = simulate(spec, x, np.arange(6) % 3, 80, device="numpy", dt=0.5, window=(20.0, 40.0))
    ax = plot_accuracy(ds)
    [span] = [p for p in ax.patches if p.get_label().startswith("classification window")]
    assert (span.get_x(), span.get_x() + span.get_width()) == (20.0, 40.0)  # a Rectangle
    report_dataset(ds, target=0.5)  # class 0 alone (chance) is 1/3
    out = capsys.readouterr().out
    assert "classification window, 20-40 ms: this is the window's latency" in out
    # Beside it, the network's own latency: the readout summed from the start reaches the
    # target before the window opens (the window's time is at least its start).
    from brainconv.analysis import summary, time_to_accuracy

    info = summary(ds, 0.5)
    assert info["time_to_target"] > 20.0
    assert info["time_to_target_without_window"] < 20.0
    unwindowed = ds.copy()
    unwindowed.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("window_")}
    assert info["time_to_target_without_window"] == time_to_accuracy(unwindowed, 0.5)
    assert (f"summed from the start, the readout reaches it at "
            f"{info['time_to_target_without_window']} ms") in out
