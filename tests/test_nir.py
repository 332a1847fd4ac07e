"""NIR exchange: export, import, round trips, and the graphs other frameworks wrote."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

nir = pytest.importorskip("nir")

from brainconv.errors import ModelError, ParameterError, ShapeError  # noqa: E402
from brainconv.nir import from_nir, to_nir  # noqa: E402
from brainconv.simulation import run_network  # noqa: E402
from brainconv.spec import LayerSpec, NetworkSpec  # noqa: E402

NIR_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "nir"


def _mlp(model, seed=0, parameters=()):
    """A 12-8-5 network whose weights are multiples of 1/16 (exact sums)."""
    rng = np.random.default_rng(seed)
    layers = []
    for index, (n_in, n_out) in enumerate(((12, 8), (8, 5))):
        w = rng.integers(-6, 12, (n_in, n_out)) / 16
        b = rng.integers(-2, 3, n_out) / 16
        layers.append(LayerSpec("output" if index else "hidden1", model, n_out, w, b,
                                0.75 if index else 1.0, parameters=parameters))
    return NetworkSpec(12, tuple(layers)), rng.integers(0, 17, (6, 12)) / 16


@pytest.mark.parametrize("model, parameters", [("if_soft", ()), ("if_hard", ()),
                                               ("lif", (("R", 1.25),))])
def test_round_trip_reads_back_the_parameters_and_the_spikes(model, parameters, tmp_path):
    spec, x = _mlp(model, parameters=parameters)
    path = tmp_path / "net.nir"
    nir.write(path, to_nir(spec, dt=1e-3))
    back = from_nir(path, dt=1e-3)
    for a, b in zip(spec.layers, back.layers):
        assert (b.name, b.model, b.threshold) == (a.name, a.model, a.threshold)
        np.testing.assert_allclose(b.weights, a.weights, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b.bias, a.bias, rtol=1e-12, atol=1e-15)
        for (name, value), (name_b, value_b) in zip(a.parameters, b.parameters):
            assert name == name_b and value_b == pytest.approx(value, rel=1e-12)
    ours = run_network(spec, x, 30, device="numpy")
    theirs = run_network(back, x, 30, device="numpy")
    assert ours["output_spikes"].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(theirs[key], ours[key], err_msg=key)


def test_exported_nodes_state_the_grid_semantics():
    spec, _ = _mlp("if_soft")
    graph = to_nir(spec, dt=1e-3)
    assert graph.edges == [("input", "hidden1.weights"), ("hidden1.weights", "hidden1.neurons"),
                           ("hidden1.neurons", "output.weights"),
                           ("output.weights", "output.neurons"), ("output.neurons", "output")]
    node = graph.nodes["hidden1.neurons"]
    assert isinstance(node, nir.IF)
    np.testing.assert_allclose(node.r, 1000.0)  # v += r dt I = I per 1 ms step
    assert node.metadata["reset"] == "subtract" and node.metadata["dt"] == 1e-3
    np.testing.assert_array_equal(graph.nodes["hidden1.weights"].weight, spec.layers[0].weights.T)
    lif = to_nir(_mlp("lif", parameters=(("R", 1.25),))[0], dt=1e-3).nodes["output.neurons"]
    # v = v / R + I is forward Euler of tau dv/dt = -v + r I with tau = dt R / (R - 1)
    np.testing.assert_allclose(lif.tau, 5e-3)
    np.testing.assert_allclose(1 - 1e-3 / lif.tau, 1 / 1.25)


def test_models_nir_cannot_state_are_refused_with_the_reason():
    spec, _ = _mlp("accumulator", parameters=(("k", 4),))
    with pytest.raises(ModelError, match=r"'hidden1' \(model 'accumulator'.*no exact NIR form"):
        to_nir(spec)


def _forward_nir_cnn(graph, frames, steps):
    """An independent forward pass of the Sinabs CNN graph from the NIR definitions in torch:
    IF neurons, v += r dt I with dt = 1, spike where v >= v_threshold, reset to v_reset;
    frame ``t`` of ``frames`` (samples, steps, inputs) in step ``t``; spikes reach the next
    layer in the same step."""
    import torch
    import torch.nn.functional as F

    nodes = graph.nodes
    order = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"]
    x = torch.tensor(frames.reshape(len(frames), steps, 2, 34, 34), dtype=torch.float64)
    v = {}
    counts = torch.zeros(len(x), steps, 10, dtype=torch.float64)
    for t in range(steps):
        h = x[:, t]
        for name in order:
            node = nodes[name]
            kind = type(node).__name__
            if kind == "Conv2d":
                h = F.conv2d(h, torch.tensor(node.weight, dtype=torch.float64),
                             torch.tensor(node.bias, dtype=torch.float64),
                             stride=tuple(node.stride), padding=tuple(node.padding))
            elif kind == "SumPool2d":
                h = F.avg_pool2d(h, tuple(node.kernel_size)) * 4
            elif kind == "Flatten":
                h = h.reshape(len(h), -1)
            elif kind == "Affine":
                h = h @ torch.tensor(node.weight, dtype=torch.float64).T + \
                    torch.tensor(node.bias, dtype=torch.float64)
            else:  # IF
                r = torch.tensor(node.r, dtype=torch.float64)
                v[name] = v.get(name, torch.zeros_like(h)) + r * h
                spikes = (v[name] >= torch.tensor(node.v_threshold, dtype=torch.float64))
                v[name] = torch.where(spikes, torch.tensor(node.v_reset, dtype=torch.float64),
                                      v[name])
                h = spikes.to(torch.float64)
        counts[:, t] = h
    return counts.numpy()


@pytest.mark.skipif(not (NIR_DATA / "cnn_sinabs.nir").exists(), reason="no shared NIR data")
def test_the_sinabs_cnn_runs_as_an_independent_torch_forward_pass():
    pytest.importorskip("torch")
    graph = nir.read(NIR_DATA / "cnn_sinabs.nir")
    spec = from_nir(graph, dt=1.0)
    assert [layer.size for layer in spec.layers] == [16 * 16 * 16, 16 * 16 * 16, 8 * 8 * 8,
                                                     256, 10]
    rng = np.random.default_rng(0)
    frames = (rng.random((3, 15, 2 * 34 * 34)) < 0.3).astype(float)  # a new frame each step
    ours = run_network(spec, frames, 15, device="numpy")
    expected = _forward_nir_cnn(graph, frames, 15)
    assert expected.sum() > 10
    np.testing.assert_array_equal(ours["output_spikes"], expected)


def _sinabs_on(device, samples, steps):
    """The Sinabs CNN on ``device`` equals the numpy reference on random event frames (a new
    frame each step)."""
    spec = from_nir(NIR_DATA / "cnn_sinabs.nir", dt=1.0)
    frames = (np.random.default_rng(1).random((samples, steps, 2 * 34 * 34)) < 0.3).astype(
        float)
    reference = run_network(spec, frames, steps, device="numpy")
    brian = run_network(spec, frames, steps, device=device, batch_size=2)
    assert reference["output_spikes"].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(brian[key], reference[key], err_msg=key)


@pytest.mark.skipif(not (NIR_DATA / "cnn_sinabs.nir").exists(), reason="no shared NIR data")
def test_the_sinabs_cnn_on_brian2_runtime_equals_numpy(numpy_codegen):
    _sinabs_on("runtime", 2, 10)


@pytest.mark.skipif(not (NIR_DATA / "braille_noDelay_bias_zero.nir").exists(),
                    reason="no shared NIR data")
def test_the_recurrent_braille_graph_is_refused_naming_the_loop():
    with pytest.raises(ModelError, match=r"NIR edge \('lif1.w_rec', 'lif1.lif'\) closes a loop"):
        from_nir(NIR_DATA / "braille_noDelay_bias_zero.nir", dt=1e-3)


#: The NIR paper's single-LIF input (its Norse notebook): a 1 in every tenth 0.1 ms step.
PAPER_BITS = """0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 1 0 0 0 1 1 0 0 1 0 1 0 0
1 1 0 1 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 0
0 0 0 0 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0"""


def _exact_lif(inputs, dt, tau, r, v_threshold):
    """The NIR LIF ODE ``tau dv/dt = -v + r I`` solved exactly, ``I`` held over each step,
    reset to 0 at the crossing: ``v`` at the end of every step, and the spike times."""
    v, trace, spikes = 0.0, [], []
    for k, current in enumerate(inputs):
        target, elapsed = r * current, 0.0
        while target > v_threshold > v:  # a crossing in what is left of the step?
            s = -tau * np.log((target - v_threshold) / (target - v))
            if elapsed + s > dt:
                break
            spikes.append(k * dt + elapsed + s)
            v, elapsed = 0.0, elapsed + s
        v = target + (v - target) * np.exp(-(dt - elapsed) / tau)
        trace.append(v)
    return np.array(trace), np.array(spikes)


@pytest.mark.skipif(not (NIR_DATA / "lif_norse.nir").exists(), reason="no shared NIR data")
def test_the_norse_lif_follows_the_exact_solution_of_its_ode():
    """The paper's single-neuron test: the imported layer's brainconv step (forward Euler of
    the NIR ODE at dt = 0.1 ms) against the exact solution on the paper's input."""
    from brainconv.equations import get_model

    dt = 1e-4
    spec = from_nir(NIR_DATA / "lif_norse.nir", dt=dt)
    layer, = spec.layers
    assert layer.model == "lif" and layer.threshold == pytest.approx(0.1)
    assert dict(layer.parameters)["R"] == pytest.approx(1 / (1 - 0.04))  # tau = 2.5 ms
    inputs = np.zeros(1000)
    inputs[::10] = np.array(PAPER_BITS.split(), float)
    model, v, sent = get_model("lif"), np.zeros((1, 1)), np.zeros((1, 1))
    trace, steps = [], []
    for t, current in enumerate(inputs):
        model.step(v, np.array([[current]]) @ layer.weights + layer.bias, sent,
                   theta=layer.threshold, **dict(layer.parameters))
        trace.append(v[0, 0])
        if sent[0, 0]:
            steps.append(t)
    exact_trace, exact_spikes = _exact_lif(inputs, dt, tau=0.0025, r=1.0, v_threshold=0.1)
    assert len(exact_spikes) == 4
    # every exact crossing lies in the step at whose end brainconv spikes
    np.testing.assert_array_equal(steps, np.floor(exact_spikes / dt + 1e-9))
    # forward Euler against the exact exponential: measured 0.0062 at most (6 % of threshold)
    assert np.abs(np.array(trace) - exact_trace).max() < 0.01
    # the same input as one frame per step through run_network
    out = run_network(spec, inputs[None, :, None], len(inputs), device="numpy")
    np.testing.assert_array_equal(np.flatnonzero(out["output_spikes"][0, :, 0]), steps)


@pytest.mark.standalone
@pytest.mark.skipif(not (NIR_DATA / "lif_norse.nir").exists(), reason="no shared NIR data")
def test_the_norse_lif_on_cpp_standalone_spikes_where_the_exact_solution_crosses(
        standalone_dir):
    """The paper's input as 1,000 frames of 0.1 ms into the imported layer, compiled: its spikes
    lie in the steps that hold the exact ODE's threshold crossings."""
    dt = 1e-4
    spec = from_nir(NIR_DATA / "lif_norse.nir", dt=dt)
    inputs = np.zeros(1000)
    inputs[::10] = np.array(PAPER_BITS.split(), float)
    out = run_network(spec, inputs[None, :, None], len(inputs), device="cpp_standalone")
    exact_spikes = _exact_lif(inputs, dt, tau=0.0025, r=1.0, v_threshold=0.1)[1]
    np.testing.assert_array_equal(np.flatnonzero(out["output_spikes"][0, :, 0]),
                                  np.floor(exact_spikes / dt + 1e-9))


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_malformed_graphs_are_refused_before_any_build():
    inp = nir.Input(input_type={"input": np.array([3])})
    out = nir.Output(output_type={"output": np.array([2])})
    affine = nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2))
    neuron = nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2))
    with pytest.raises(ShapeError, match=r"edge \('a', 'ghost'\) names node 'ghost'"):
        from_nir(_graph({"input": inp, "a": affine, "n": neuron, "output": out},
                        [("input", "a"), ("a", "ghost"), ("n", "output")]))
    bad = nir.Affine(weight=np.ones((2, 4)), bias=np.zeros(2))
    with pytest.raises(ShapeError, match=r"'a' \(Affine\): weight of shape \(2, 4\) cannot take "
                                         r"the 3 values"):
        from_nir(_graph({"input": inp, "a": bad, "n": neuron, "output": out},
                        [("input", "a"), ("a", "n"), ("n", "output")]))
    nan = nir.IF(r=np.ones(2), v_threshold=np.array([1.0, np.nan]), v_reset=np.zeros(2))
    with pytest.raises(ParameterError, match="'n': v_threshold holds NaN"):
        from_nir(_graph({"input": inp, "a": affine, "n": nan, "output": out},
                        [("input", "a"), ("a", "n"), ("n", "output")]))
    li = nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2))
    with pytest.raises(ModelError, match=r"'n' \(LI\) filters the input: brainconv's first "
                                         r"layer takes it unfiltered"):
        from_nir(_graph({"input": inp, "a": affine, "n": li, "output": out},
                        [("input", "a"), ("a", "n"), ("n", "output")]))
    lif = nir.LIF(tau=np.full(2, 1e-4), r=np.ones(2), v_leak=np.zeros(2),
                  v_threshold=np.ones(2), v_reset=np.zeros(2))
    with pytest.raises(ParameterError, match=r"dt = 0.001 s must be below tau = 0.0001 s"):
        from_nir(_graph({"input": inp, "a": affine, "n": lif, "output": out},
                        [("input", "a"), ("a", "n"), ("n", "output")]), dt=1e-3)
    uneven = nir.LIF(tau=np.array([0.01, 0.02]), r=np.ones(2), v_leak=np.zeros(2),
                     v_threshold=np.ones(2), v_reset=np.zeros(2))
    with pytest.raises(ParameterError, match=r"'n': tau differs between neurons \(0.01 to "
                                             r"0.02\); brainconv keeps one per layer"):
        from_nir(_graph({"input": inp, "a": affine, "n": uneven, "output": out},
                        [("input", "a"), ("a", "n"), ("n", "output")]), dt=1e-3)
    with pytest.raises(ParameterError, match="does not exist"):
        from_nir("missing.nir")


def test_per_neuron_thresholds_and_r_fold_into_the_weights():
    inp = nir.Input(input_type={"input": np.array([2])})
    out = nir.Output(output_type={"output": np.array([2])})
    affine = nir.Affine(weight=np.array([[1.0, 0.0], [0.0, 1.0]]), bias=np.zeros(2))
    neuron = nir.IF(r=np.array([1.0, 2.0]), v_threshold=np.array([0.5, 2.0]),
                    v_reset=np.zeros(2))
    spec = from_nir(_graph({"input": inp, "a": affine, "n": neuron, "output": out},
                           [("input", "a"), ("a", "n"), ("n", "output")]), dt=1.0)
    x = np.array([[0.25, 0.5]])  # unit 0: 0.25 / 0.5 per step; unit 1: 2 * 0.5 / 2
    counts = run_network(spec, x, 8, device="numpy")["output_spikes"].sum(axis=1)[0]
    np.testing.assert_array_equal(counts, [4, 4])  # hard reset every 2nd step for both


def test_cli_exports_a_converted_network_and_runs_the_file_to_the_same_results(tmp_path,
                                                                              capsys):
    """`brainconv export-nir` then `brainconv run --nir`: the same spikes as `brainconv run
    --ann`, and the file's hash in the results."""
    import xarray as xr

    from brainconv.ann import save_ann, train_ann
    from brainconv.cli import main
    from brainconv.data import load_dataset

    x, y = load_dataset("digits", "train")
    save_ann(train_ann(x, y, hidden=(16,), epochs=2, seed=0), tmp_path / "ann.npz")
    common = ["--dataset", "digits", "--device", "numpy", "--steps", "20", "--limit", "40"]
    assert main(["export-nir", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--out", str(tmp_path / "net.nir")]) == 0
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), *common,
                 "--out", str(tmp_path / "ann.nc")]) == 0
    assert main(["run", "--nir", str(tmp_path / "net.nir"), *common,
                 "--out", str(tmp_path / "nir.nc")]) == 0
    converted, imported = xr.open_dataset(tmp_path / "ann.nc"), xr.open_dataset(tmp_path / "nir.nc")
    assert int(converted["output_spikes"].sum()) > 0
    np.testing.assert_array_equal(imported["output_spikes"].values,
                                  converted["output_spikes"].values)
    assert len(imported.attrs["nir_sha256"]) == 64 and imported.attrs["nir_written_by"] == "brainconv"
    capsys.readouterr()
    assert main(["run", "--nir", str(tmp_path / "net.nir"), "--ann", str(tmp_path / "ann.npz"),
                 *common]) == 2
    assert "--ann FILE (an ANN to convert) or --nir FILE" in capsys.readouterr().err
    if (NIR_DATA / "cnn_sinabs.nir").exists():
        assert main(["run", "--nir", str(NIR_DATA / "cnn_sinabs.nir"), "--nir-dt", "1",
                     *common]) == 2
        assert "takes 2312 input values, but digits gives 64" in capsys.readouterr().err


@pytest.mark.long
@pytest.mark.standalone
@pytest.mark.skipif(not (NIR_DATA / "cnn_sinabs.nir").exists(), reason="no shared NIR data")
def test_the_sinabs_cnn_on_cpp_standalone_equals_numpy(standalone_dir):
    _sinabs_on("cpp_standalone", 4, 12)


def test_snntorch_loads_an_exported_lif_network_and_spikes_as_brainconv(digits):
    """Another framework reads brainconv's graph: snnTorch's import_from_nir (LIF as
    snn.Leaky, beta = 1 - dt/tau, reset to zero, fixed dt = 0.1 ms) gives the same output
    spikes as brainconv's float32 reference."""
    pytest.importorskip("snntorch")
    import torch
    from snntorch.import_nir import import_from_nir

    from brainconv.ann import train_ann
    from brainconv.conversion import convert
    from brainconv.reference import simulate_reference

    x_train, y_train, x_test, _ = digits
    ann = train_ann(x_train, y_train, hidden=(32,), epochs=3, seed=0)
    spec = convert(ann, "lif", data=x_train, parameters={"R": 1.25})
    net = import_from_nir(to_nir(spec, dt=1e-4))  # snnTorch's LIF import assumes 0.1 ms
    steps, inputs = 25, torch.tensor(x_test[:200], dtype=torch.float32)
    with torch.no_grad():
        theirs = np.stack([net(inputs)[0].numpy() for _ in range(steps)], axis=1)
    ours = simulate_reference(spec, x_test[:200], steps, dtype=np.float32)["output_spikes"]
    assert ours.sum() > 100
    np.testing.assert_array_equal(theirs, ours)


@pytest.mark.long
@pytest.mark.standalone
def test_round_trips_on_cpp_standalone_equal_the_original_on_numpy(standalone_dir):
    for model, parameters in (("if_soft", ()), ("if_hard", ()), ("lif", (("R", 1.25),))):
        spec, x = _mlp(model, seed=3, parameters=parameters)
        back = from_nir(to_nir(spec, dt=1e-3), dt=1e-3)
        reference = run_network(spec, x, 25, device="numpy")
        compiled = run_network(back, x, 25, device="cpp_standalone", batch_size=4)
        assert reference["output_spikes"].sum() > 0
        for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
            np.testing.assert_array_equal(compiled[key], reference[key], err_msg=f"{model} {key}")
    spec, x = _softlif_spec("alpha", "spikes")  # lif_rc: LIF, LI and CubaLIF nodes
    reference = run_network(spec, x, 80, device="numpy", dt=0.5)
    compiled = run_network(from_nir(to_nir(spec)), x, 80, device="cpp_standalone", dt=0.5,
                           batch_size=2)
    assert reference["output_spikes"].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(compiled[key], reference[key], err_msg=f"lif_rc {key}")


def test_cuba_lif_networks_round_trip_through_cubalif_nodes(tmp_path):
    """BATS networks: CubaLIF with tau_mem = 2 tau_syn, r = tau_mem, w_in = tau_syn (weights
    unchanged, in Hz), the soft reset and the spike buffer as metadata, TTFS input on the
    Input node; back as the same spec and the same spikes."""
    from brainconv.spiketime import cuba_network

    rng = np.random.default_rng(5)
    weights = [rng.uniform(-1, 3, (20, 12)), rng.uniform(-1, 3, (12, 4)) * 1.5]
    spec = cuba_network(weights, [0.2, 0.5], tau_s=0.13, t_window=0.1, max_spikes=[10, 8])
    graph = to_nir(spec)
    node = graph.nodes["hidden1.neurons"]
    assert isinstance(node, nir.CubaLIF) and node.metadata["max_spikes"] == 10
    np.testing.assert_allclose(node.tau_mem, 2 * node.tau_syn)
    np.testing.assert_array_equal(graph.nodes["hidden1.weights"].weight, weights[0].T)
    assert graph.nodes["input"].metadata["encoding"] == "ttfs"
    nir.write(tmp_path / "bats.nir", graph)
    back = from_nir(tmp_path / "bats.nir")
    assert [(layer.model, layer.threshold) for layer in back.layers] == \
        [(layer.model, layer.threshold) for layer in spec.layers]
    assert [dict(layer.parameters) for layer in back.layers] == \
        [dict(layer.parameters) for layer in spec.layers]
    for ours, theirs in zip(spec.layers[1:], back.layers[1:]):
        np.testing.assert_allclose(theirs.weights, ours.weights, rtol=1e-12)
    x = rng.uniform(0, 1, (4, 20))
    a = run_network(spec, x, 100, device="numpy", dt=2.0)
    b = run_network(back, x, 100, device="numpy", dt=2.0)
    assert a["output_spikes"].sum() > 0
    np.testing.assert_array_equal(b["output_spikes"], a["output_spikes"])


def test_a_cubalif_graph_without_ttfs_input_or_with_a_hard_reset_is_refused():
    inp = nir.Input(input_type={"input": np.array([3])})
    out = nir.Output(output_type={"output": np.array([2])})
    affine = nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2))
    cuba = dict(tau_syn=np.full(2, 0.1), tau_mem=np.full(2, 0.2), r=np.full(2, 0.2),
                v_leak=np.zeros(2), v_threshold=np.ones(2), v_reset=np.zeros(2),
                w_in=np.full(2, 0.1))
    edges = [("input", "a"), ("a", "n"), ("n", "output")]
    with pytest.raises(ModelError, match="CubaLIF that resets to v_reset has no brainconv model"):
        from_nir(_graph({"input": inp, "a": affine, "n": nir.CubaLIF(**cuba), "output": out},
                        edges))
    soft = nir.CubaLIF(**cuba, metadata={"reset": "subtract"})
    with pytest.raises(ModelError, match="need a time-to-first-spike input"):
        from_nir(_graph({"input": inp, "a": affine, "n": soft, "output": out}, edges))


def _conv_spec(stride, padding, pool_after=False):
    """(2, 9, 9) input -> a 3-channel convolution (kernel 3) -> a dense output of 4."""
    from brainconv.layers import avgpool2d_connectivity, conv2d_connectivity, \
        conv2d_output_shape

    rng = np.random.default_rng(3)
    kernel = rng.integers(-4, 9, (3, 2, 3, 3)) / 16
    pre, post, w = conv2d_connectivity((2, 9, 9), kernel, stride, padding)
    out = conv2d_output_shape((2, 9, 9), 3, 3, stride, padding)
    conv = scipy.sparse.csr_matrix((w, (pre, post)), shape=(162, int(np.prod(out))))
    bias = np.repeat(np.array([1, -1, 2]) / 16, out[1] * out[2])
    if pool_after:  # a 2x2 average pooling folded in: no plain convolution any more
        pre, post, w = avgpool2d_connectivity(out, 2)
        pool = scipy.sparse.csr_matrix((w, (pre, post)), shape=(int(np.prod(out)), len(w) // 4))
        conv, bias, out = (conv @ pool).tocsr(), bias @ pool, (3, out[1] // 2, out[2] // 2)
    size = int(np.prod(out))
    dense = rng.integers(-6, 12, (size, 4)) / 16
    layers = (LayerSpec("conv1", "if_soft", size, conv, bias, 1.0),
              LayerSpec("output", "if_soft", 4, dense, np.zeros(4), 0.75))
    return NetworkSpec(162, layers), kernel, out, rng.integers(0, 17, (4, 162)) / 16


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, 2)])
def test_convolutions_export_as_conv2d_and_round_trip(stride, padding, tmp_path):
    spec, kernel, out, x = _conv_spec(stride, padding)
    graph = to_nir(spec, input_shape=(2, 9, 9))
    node = graph.nodes["conv1.weights"]
    assert type(node).__name__ == "Conv2d"
    np.testing.assert_array_equal(node.weight, kernel)
    assert (int(np.ravel(node.stride)[0]), int(np.ravel(node.padding)[0])) == (stride, padding)
    np.testing.assert_array_equal(node.bias, np.array([1, -1, 2]) / 16)
    assert graph.nodes["conv1.neurons"].v_threshold.shape == out
    assert type(graph.nodes["output.flatten"]).__name__ == "Flatten"
    path = tmp_path / "cnn.nir"
    nir.write(path, graph)
    back = from_nir(path)
    ours, theirs = (run_network(s, x, 20, device="numpy") for s in (spec, back))
    assert ours["layer_spikes"][0].sum() > 0 and ours["output_spikes"].sum() > 0
    np.testing.assert_array_equal(theirs["output_spikes"], ours["output_spikes"])
    np.testing.assert_array_equal(theirs["unit_spike_count"], ours["unit_spike_count"])


def test_a_pooling_folded_into_a_convolution_exports_as_the_larger_convolution():
    """Average pooling (2x2) after a 3x3 convolution is one 4x4 convolution of stride 2."""
    spec, _, _, x = _conv_spec(1, 0, pool_after=True)
    node = to_nir(spec, input_shape=(2, 9, 9)).nodes["conv1.weights"]
    assert type(node).__name__ == "Conv2d" and node.weight.shape == (3, 2, 4, 4)
    assert int(np.ravel(node.stride)[0]) == 2
    back = from_nir(to_nir(spec, input_shape=(2, 9, 9)))
    np.testing.assert_array_equal(run_network(back, x, 20, device="numpy")["output_spikes"],
                                  run_network(spec, x, 20, device="numpy")["output_spikes"])


def test_a_layer_that_is_no_convolution_exports_as_affine():
    import dataclasses

    spec, _, _, x = _conv_spec(1, 0)
    weights = spec.layers[0].weights.tolil()
    weights[0, 0] += 1 / 16  # one position's kernel differs from the others'
    broken = dataclasses.replace(spec, layers=(
        dataclasses.replace(spec.layers[0], weights=weights.tocsr()), spec.layers[1]))
    graph = to_nir(broken, input_shape=(2, 9, 9))
    assert type(graph.nodes["conv1.weights"]).__name__ == "Affine"
    assert type(graph.nodes["conv1.flatten"]).__name__ == "Flatten"
    assert type(to_nir(spec).nodes["conv1.weights"]).__name__ == "Affine"  # no input_shape
    back = from_nir(graph)
    np.testing.assert_array_equal(run_network(back, x, 20, device="numpy")["output_spikes"],
                                  run_network(broken, x, 20, device="numpy")["output_spikes"])
    for shape, message in (((2, 9), "three positive ints"), ((2, 9, 10), "holds 180 values")):
        with pytest.raises(ShapeError, match=message):
            to_nir(spec, input_shape=shape)


@pytest.mark.skipif(not (NIR_DATA / "cnn_sinabs.nir").exists(), reason="no shared NIR data")
def test_the_sinabs_cnn_exports_with_its_convolutions_and_runs_the_same():
    graph = nir.read(NIR_DATA / "cnn_sinabs.nir")
    spec = from_nir(graph, dt=1.0)
    exported = to_nir(spec, dt=1.0, input_shape=(2, 34, 34))
    theirs = [np.asarray(n.weight) for n in graph.nodes.values() if type(n).__name__ == "Conv2d"]
    ours = [np.asarray(n.weight) for n in exported.nodes.values()
            if type(n).__name__ == "Conv2d"]
    assert len(ours) == len(spec.layers) - 2  # every layer but the two dense ones
    # the convolutions without a pooling folded into them are the graph's own kernels
    assert sum(any(k.shape == kernel.shape and np.allclose(k, kernel) for k in theirs)
               for kernel in ours) >= 2
    frames = (np.random.default_rng(2).random((3, 2 * 34 * 34)) < 0.3).astype(float)
    back = from_nir(exported, dt=1.0)
    a, b = (run_network(s, frames, 12, device="numpy") for s in (spec, back))
    assert a["output_spikes"].sum() > 0
    np.testing.assert_array_equal(b["output_spikes"], a["output_spikes"])


# --- lif_rc (Hunsberger & Eliasmith's networks): LIF, CubaLIF and LI nodes ------------------

def _softlif_spec(synapse, readout, seed=0):
    """A 6-8-5-3 soft-LIF network converted to lif_rc with ``synapse`` pathways."""
    import brian2

    from brainconv.ann import ANN
    from brainconv.conversion import convert

    rng = np.random.default_rng(seed)
    sizes = (6, 8, 5, 3)
    ann = ANN([rng.normal(0, 1.2, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
              [rng.normal(0.3, 0.2, b) for b in sizes[1:]], activation="softlif")
    options = {} if synapse == "delta" else {"synapse_parameters": {"tau_s": 2 * brian2.ms}}
    spec = convert(ann, model="lif_rc", normalization="none", synapse=synapse,
                   readout=readout, **options)
    return spec, rng.uniform(0, 1, (5, 6))


@pytest.mark.parametrize("synapse", ["delta", "exponential", "alpha"])
@pytest.mark.parametrize("readout", ["spikes", "filtered"])
def test_lif_rc_networks_round_trip_through_lif_cubalif_and_li_nodes(synapse, readout,
                                                                      tmp_path):
    spec, x = _softlif_spec(synapse, readout)
    graph = to_nir(spec)
    kinds = [type(node).__name__ for node in graph.nodes.values()]
    filters = {"delta": 0, "exponential": 1, "alpha": 2}[synapse]
    # the spiking pathways' last filter is the CubaLIF's synapse, the readout's are all LI
    assert kinds.count("CubaLIF") == (0 if synapse == "delta" else 1 + (readout == "spikes"))
    assert kinds.count("LI") == (filters - 1) * (1 + (readout == "spikes")) + \
        (filters if readout == "filtered" else 0) if filters else kinds.count("LI") == 0
    assert graph.nodes["hidden1.neurons"].metadata["tau_ref"] == 0.002
    nir.write(tmp_path / "lif_rc.nir", graph)
    back = from_nir(tmp_path / "lif_rc.nir")
    for a, b in zip(spec.layers, back.layers, strict=True):
        assert (b.name, b.model, b.synapse) == (a.name, a.model, a.synapse)
        assert dict(b.synapse_parameters) == pytest.approx(dict(a.synapse_parameters))
        assert {k: v for k, v in dict(b.parameters).items() if k in dict(a.parameters)} == \
            pytest.approx(dict(a.parameters), rel=1e-12)
        np.testing.assert_allclose(b.weights, a.weights, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b.bias, a.bias, rtol=1e-12, atol=1e-15)
    ours = run_network(spec, x, 80, device="numpy", dt=0.5)
    theirs = run_network(back, x, 80, device="numpy", dt=0.5)
    assert ours["layer_spikes"][0].sum() > 0
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(theirs[key], ours[key], err_msg=key)
    if readout == "filtered":
        np.testing.assert_allclose(theirs["readout"], ours["readout"], rtol=1e-9, atol=1e-12)


def _euler_nir(graph, x, duration, h):
    """An independent reading of a NIR graph: forward Euler of its nodes' ODEs with step ``h``
    (s), spikes as Diracs (area ``w``: ``w / h`` for one step), the refractory period and the
    clamp at 0 from the neurons' metadata. Returns spike counts per neuron node and the output
    averaged over the run."""
    order = [graph.edges[0][0]] + [b for _, b in graph.edges]
    state, counts, out_sum, steps = {}, {}, 0.0, int(round(duration / h))
    for _ in range(steps):
        value = x
        for name in order[1:]:
            node, kind = graph.nodes[name], type(graph.nodes[name]).__name__
            if kind == "Affine":
                value = node.weight @ value + node.bias
            elif kind == "LI":
                v = state.setdefault(name, np.zeros(len(node.tau)))
                v += h / node.tau * (node.v_leak - v + node.r * value)
                value = v.copy()
            elif kind in ("LIF", "CubaLIF"):
                meta = node.metadata
                v = state.setdefault(name, np.zeros(len(node.r)))
                ref = state.setdefault(name + ".ref", np.zeros(len(node.r)))
                if kind == "CubaLIF":
                    i = state.setdefault(name + ".i", np.zeros(len(node.r)))
                    i += h / node.tau_syn * (-i + node.w_in * value)
                    current, tau = i, node.tau_mem
                else:
                    current, tau = value, node.tau
                v += np.where(ref > 0, 0.0, h / tau * (node.v_leak - v + node.r * current))
                np.maximum(v, meta["min_voltage"], out=v)
                ref -= h
                fired = v > node.v_threshold
                v[fired], ref[fired] = 0.0, meta["tau_ref"]
                counts[name] = counts.get(name, 0) + fired
                value = fired / h
        out_sum = out_sum + value
    return counts, out_sum / steps


@pytest.mark.parametrize("synapse, readout", [("exponential", "spikes"), ("alpha", "filtered")])
def test_exported_lif_rc_graphs_state_brainconvs_dynamics(synapse, readout):
    """The exported nodes' ODEs, integrated by forward Euler at 2 us without brainconv, give
    the spike counts brainconv simulates at 0.1 ms (within 1 spike of ~5-40 per neuron in
    100 ms) and the readout's mean within 2 %: the parameters mean what brainconv runs."""
    spec, x = _softlif_spec(synapse, readout, seed=2)
    graph = to_nir(spec)
    spiking = [layer for layer in spec.layers if layer.model == "lif_rc"]
    for sample in range(2):
        ours = run_network(spec, x[sample:sample + 1], 1000, device="numpy", dt=0.1)
        counts, mean_out = _euler_nir(graph, x[sample], 0.1, 2e-6)
        theirs = np.concatenate([counts[f"{layer.name}.neurons"] for layer in spiking])
        assert theirs.sum() > 50
        np.testing.assert_allclose(ours["unit_spike_count"][:len(theirs)], theirs, atol=1,
                                   err_msg=f"{synapse}, sample {sample}")
        if readout == "filtered":
            np.testing.assert_allclose(ours["readout"][0].mean(axis=0), mean_out, rtol=0.02)


def test_filters_brainconv_cannot_read_are_refused_naming_the_node():
    inp = nir.Input(input_type={"input": np.array([3])})
    out = nir.Output(output_type={"output": np.array([2])})
    spec, _ = _softlif_spec("alpha", "spikes")
    graph = to_nir(spec)
    biased = dict(graph.nodes)
    biased["output.weights"] = nir.Affine(weight=graph.nodes["output.weights"].weight,
                                          bias=np.full(3, 0.1))
    with pytest.raises(ParameterError, match=r"'output.synapse1': the bias before an LI filter"):
        from_nir(_graph(biased, graph.edges))
    uneven = dict(graph.nodes)
    uneven["output.synapse1"] = nir.LI(tau=np.full(3, 0.009), r=np.ones(3), v_leak=np.zeros(3))
    with pytest.raises(ModelError, match=r"'output.neurons': the synaptic filters before it "
                                         r"\(time constants 0.009, 0.002 s\)"):
        from_nir(_graph(uneven, graph.edges))
    li = nir.LI(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2))
    neuron = nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2))
    nodes = {"input": inp, "a": nir.Affine(weight=np.ones((2, 3)), bias=np.zeros(2)),
             "n": neuron, "b": nir.Affine(weight=np.ones((2, 2)), bias=np.zeros(2)), "f": li,
             "m": neuron, "output": out}
    edges = [("input", "a"), ("a", "n"), ("n", "b"), ("b", "f"), ("f", "m"), ("m", "output")]
    with pytest.raises(ModelError, match=r"'m' \(IF\) follows LI filters"):
        from_nir(_graph(nodes, edges))


def test_models_nir_cannot_state_are_refused_naming_the_synapse():
    spec, _ = _mlp("if_soft")
    layers = (spec.layers[0], LayerSpec(**{**spec.layers[1].__dict__, "synapse": "alpha"}))
    with pytest.raises(ModelError, match=r"'output'.*'alpha' synapse filters a current"):
        to_nir(NetworkSpec(12, layers))
