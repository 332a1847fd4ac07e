"""Surrogate-gradient training (brainconv.surrogate): the torch forward pass is the numpy
reference's, spike for spike; the trained network runs on every device; it learns; it resumes."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainconv.ann import ANN  # noqa: E402
from brainconv.conversion import convert  # noqa: E402
from brainconv.errors import ModelError, ParameterError, ShapeError  # noqa: E402
from brainconv.reference import simulate_reference  # noqa: E402
from brainconv.surrogate import (SURROGATES, forward, network_spec, spike,  # noqa: E402
                                 train_snn)
from conftest import dyadic  # noqa: E402


@pytest.mark.parametrize("model, parameters", [
    ("if_soft", {}), ("if_hard", {}), ("lif", {"R": 2.0}), ("accumulator", {"k": 3}),
    ("leaky_accumulator", {"k": 5, "R": 2.0}), ("ion", {"size": 5}),
    ("len", {"size": 5, "spacing": 0.15, "R": 4.0}), ("fs_relu", {"K": 5, "alpha": 2.0})])
def test_torch_forward_equals_the_numpy_reference_spike_for_spike(model, parameters):
    rng = np.random.default_rng(0)
    sizes = (12, 16, 9, 4)
    weights = [dyadic(rng, (a, b), 1.0) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [dyadic(rng, (b,), 0.25) for b in sizes[1:]]
    x = np.round(rng.uniform(0, 1, (10, 12)) * 64) / 64
    spec = network_spec(weights, biases, model, [0.75] * 3, parameters)
    steps = 25 if model != "fs_relu" else 15  # few-spike: 3 windows of K = 5 steps
    reference = simulate_reference(spec, x, steps)
    counts = forward([torch.tensor(w) for w in weights], [torch.tensor(b) for b in biases],
                     torch.tensor(x), steps, model, [0.75] * 3,
                     lambda v, theta: spike(v, theta), parameters)
    if model in ("if_soft", "if_hard", "lif"):  # the reference counts events, not payloads
        per_layer = np.split(reference["unit_spike_count"], np.cumsum(sizes[1:-1]))
        for ours, theirs in zip(counts, per_layer):
            np.testing.assert_array_equal(ours.sum(dim=0).numpy(), theirs)
    np.testing.assert_array_equal(counts[-1].numpy(), reference["output_spikes"].sum(axis=1))
    assert reference["output_spikes"].sum() > 0


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_surrogate_derivative_is_its_functions_and_forward_is_the_threshold(name):
    v = torch.linspace(-2, 3, 101, dtype=torch.float64, requires_grad=True)
    out = spike(v, 0.5, name)
    assert torch.equal(out, (v >= 0.5).double())
    out.sum().backward()
    function, defaults = SURROGATES[name]
    np.testing.assert_allclose(v.grad.numpy(), function(v.detach() - 0.5, 0.5,
                                                        **defaults).numpy())
    assert float(v.grad[51]) > 0  # just above the threshold
    if not name.startswith(("srinivasan", "think_fast")):  # these peak at the threshold
        at = int(torch.argmin((v.detach() - 0.5).abs()))
        assert v.grad[at] == v.grad.max() and v.grad[0] < v.grad[at]


def test_think_fast_gradients_are_the_papers_per_step_and_zero_below_threshold():
    """Eq. 10: 1; eq. 12 (t = 1): 1 / R; at and above V_th only (theta 1)."""
    v = torch.tensor([0.5, 0.999, 1.0, 1.5, 3.0], dtype=torch.float64)
    x = v - 1.0
    np.testing.assert_array_equal(SURROGATES["think_fast_relu"][0](x, 1.0).numpy(),
                                  [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(SURROGATES["think_fast_rate"][0](x, 1.0, R=10.0).numpy(),
                                  [0, 0, 0.1, 0.1, 0.1])


def test_fast_sigmoid_is_the_derivative_of_its_smooth_step():
    """Finite differences of the smooth step x / (theta + slope |x|) (the SuperSpike form)."""
    theta, slope = 0.5, 5.0
    x = torch.linspace(-1, 1, 40, dtype=torch.float64)  # not 0: |x| has a kink there
    h = 1e-6

    def smooth(u):
        return u / theta / (1 + slope * (u / theta).abs())

    numeric = (smooth(x + h) - smooth(x - h)) / (2 * h)
    analytic = SURROGATES["fast_sigmoid"][0](x, theta, slope=slope)
    np.testing.assert_allclose(analytic.numpy(), numeric.numpy(), rtol=1e-6, atol=1e-9)


def _two_class(n=160, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.uniform(0, 0.3, (n, 10))
    x[y == 0, :5] += 0.6
    x[y == 1, 5:] += 0.6
    return x, y


@pytest.mark.parametrize("model, surrogate", [("if_soft", "fast_sigmoid"),
                                              ("lif", "srinivasan"), ("if_hard", "arctan"),
                                              ("accumulator", "fast_sigmoid"),
                                              ("len", "fast_sigmoid"),
                                              ("fs_relu", "fast_sigmoid")])
def test_a_small_task_is_learned_and_the_spec_runs_with_the_same_counts(model, surrogate):
    x, y = _two_class()
    spec, history = train_snn(x, y, steps=10, hidden=(16,), model=model, surrogate=surrogate,
                              parameters={"lif": {"R": 4.0}, "accumulator": {"k": 4},
                                          "fs_relu": {"K": 5, "alpha": 4.0}}.get(model),
                              epochs=8,
                              batch_size=16, lr=0.02, seed=0, dtype="float64")
    assert history["train_accuracy"][-1] > 0.9, history["train_accuracy"]
    assert history["surrogate"] == surrogate
    reference = simulate_reference(spec, x, 10)
    predicted = np.argmax(reference["output_spikes"].sum(axis=1), axis=1)
    assert np.mean(predicted == y) > 0.9


@pytest.mark.standalone
def test_trained_network_on_cpp_standalone_equals_torch(standalone_dir):
    from brainconv.simulation import run_network

    x, y = _two_class(seed=1)
    spec, _ = train_snn(x, y, steps=12, hidden=(8,), epochs=2, batch_size=32, lr=0.02,
                        dtype="float64")
    reference = run_network(spec, x, 12, device="numpy")
    compiled = run_network(spec, x, 12, device="cpp_standalone")
    np.testing.assert_array_equal(compiled["output_spikes"], reference["output_spikes"])


def _interrupt_in_epoch_3(x, y, path, **kwargs):
    """A training run with a checkpoint, stopped by Ctrl-C in its third epoch."""
    def interrupt(epoch, batch, loss, accuracy):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_snn(x, y, checkpoint=path, progress=interrupt, **kwargs)


def test_fine_tuning_a_converted_network_and_resuming(tmp_path):
    x, y = _two_class(seed=2)
    rng = np.random.default_rng(1)
    ann = ANN((rng.normal(0, 0.3, (10, 12)), rng.normal(0, 0.3, (12, 2))),
              (np.zeros(12), np.zeros(2)))
    start = convert(ann, normalization="none")
    kwargs = dict(steps=8, start=start, epochs=3, batch_size=32, lr=0.01, seed=0)
    whole, whole_history = train_snn(x, y, **kwargs)
    assert whole.layers[0].threshold == start.layers[0].threshold
    assert not np.array_equal(whole.layers[0].weights, start.layers[0].weights)

    path = tmp_path / "snn.pt"
    _interrupt_in_epoch_3(x, y, path, **kwargs)
    resumed, history = train_snn(x, y, checkpoint=path, **kwargs)
    for a, b in zip(resumed.layers, whole.layers):
        np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(history["loss"], whole_history["loss"])
    with pytest.raises(ParameterError, match="other inputs"):
        train_snn(x, y, checkpoint=path, **{**kwargs, "lr": 0.02})


def test_halving_the_learning_rate_changes_later_epochs_and_survives_a_resume(tmp_path):
    x, y = _two_class(seed=3)
    kwargs = dict(steps=8, hidden=(12,), epochs=3, batch_size=32, lr=0.02, seed=0)
    constant, constant_history = train_snn(x, y, **kwargs)
    halved, history = train_snn(x, y, lr_halving_epochs=1, **kwargs)
    assert history["loss"][0] == constant_history["loss"][0]  # epoch 1 runs at lr
    assert not np.array_equal(halved.layers[0].weights, constant.layers[0].weights)

    path = tmp_path / "snn.pt"
    _interrupt_in_epoch_3(x, y, path, lr_halving_epochs=1, **kwargs)
    # an int parameter equal to the default (slope 5.0) is the same input: the run resumes
    resumed, _ = train_snn(x, y, checkpoint=path, lr_halving_epochs=1,
                           surrogate_parameters={"slope": 5}, **kwargs)
    np.testing.assert_array_equal(resumed.layers[0].weights, halved.layers[0].weights)
    with pytest.raises(ParameterError, match="other inputs"):
        train_snn(x, y, checkpoint=path, **kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"steps": 0}, ParameterError, "steps must be an int >= 1"),
    ({"surrogate": "sigmoid"}, ParameterError, "unknown surrogate gradient 'sigmoid'"),
    ({"surrogate_parameters": {"beta": 1}}, ParameterError, "has no parameter 'beta'"),
    ({"model": "fs_swish"}, ModelError, "'fs_swish' has no surrogate-gradient training rule"),
    ({"model": "len", "parameters": {"tau_ref": 2}}, ModelError, "without refractory steps"),
    ({"model": "fs_relu", "parameters": {"K": 4}, "hidden": (6,)}, ParameterError,
     "5 timesteps end before a sample has passed through the network.*at least 8 steps"),
    ({"batch_size": 10**6, "steps": 10**4}, ParameterError, "GiB for the backward pass"),
    ({"lr_halving_epochs": 0}, ParameterError, "lr_halving_epochs must be an int >= 1"),
    ({"rule": "eprop"}, ParameterError, "unknown gradient rule 'eprop'; choose one of"),
    ({"rule": "aggregate", "model": "accumulator"}, ModelError,
     r"'aggregate' trains \['if_soft', 'if_hard', 'lif'\].*not 'accumulator'; use rule='bptt'"),
])
def test_bad_settings_are_refused_before_training(kwargs, error, message):
    x, y = _two_class(n=8)
    with pytest.raises(error, match=message):
        train_snn(x, y, **{"steps": 5, **kwargs})


def test_a_test_set_of_the_wrong_width_is_refused_before_training():
    x, y = _two_class(n=8)
    with pytest.raises(Exception, match=r"test must be \(inputs \(n, 10\)"):
        train_snn(x, y, steps=5, test=(np.zeros((3, 9)), np.zeros(3, int)))


@pytest.mark.parametrize("model", ["if_soft", "lif"])
def test_poisson_input_in_torch_draws_the_reference_spikes(model):
    """encoding='poisson': the first layer takes the Poisson layer's spikes, drawn from
    default_rng((seed, step)) as the numpy reference draws them."""
    from brainconv.equations.poisson import draw_spikes

    rng = np.random.default_rng(2)
    sizes = (12, 10, 4)
    weights = [dyadic(rng, (a, b), 1.0) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [dyadic(rng, (b,), 0.125) for b in sizes[1:]]
    x = np.round(rng.uniform(0, 1, (8, 12)) * 64) / 64
    parameters = {"R": 2.0} if model == "lif" else None
    spec = network_spec(weights, biases, model, [0.75, 0.75], parameters,
                        poisson={"max_rate": 500.0, "seed": 7})
    assert spec.layers[0].model == "poisson" and len(spec.layers) == 3
    reference = simulate_reference(spec, x, 30)
    counts = forward([torch.tensor(w) for w in weights], [torch.tensor(b) for b in biases],
                     torch.tensor(x), 30, model, [0.75, 0.75], lambda v, t: spike(v, t),
                     parameters, lambda t: torch.tensor(draw_spikes(x, t, 500.0, 1e-3, 7)))
    assert reference["output_spikes"].sum() > 0
    np.testing.assert_array_equal(counts[-1].numpy(), reference["output_spikes"].sum(axis=1))


def test_training_with_poisson_input_learns_and_exports_the_input_layer():
    from brian2 import Hz

    x, y = _two_class()
    spec, history = train_snn(x, y, steps=12, hidden=(16,), model="if_soft", epochs=6,
                              batch_size=16, lr=0.02, seed=0, dtype="float64",
                              encoding="poisson", poisson_parameters={"seed": 3},
                              test=(x, y))
    assert history["train_accuracy"][-1] > 0.85, history["train_accuracy"]
    assert spec.layers[0].model == "poisson" and dict(spec.layers[0].parameters)["seed"] == 3
    reference = simulate_reference(spec, x, 12)  # the test set's draws: seed 3
    predicted = np.argmax(reference["output_spikes"].sum(axis=1), axis=1)
    assert np.mean(predicted == y) == pytest.approx(history["test_accuracy"][-1])
    with pytest.raises(ParameterError, match="encoding must be 'current' or 'poisson'"):
        train_snn(x, y, steps=5, encoding="ttfs")
    with pytest.raises(ParameterError, match=r"max_rate must lie in \(0, 1000\] Hz"):
        train_snn(x, y, steps=5, encoding="poisson", poisson_parameters={"max_rate": 2000 * Hz})
    with pytest.raises(ParameterError, match="max_rate needs the unit Hz"):
        train_snn(x, y, steps=5, encoding="poisson", poisson_parameters={"max_rate": 500})


def test_aggregate_rule_is_the_gradient_of_the_counts_against_the_total_inputs():
    """rule='aggregate' (Lee et al. 2020): dL/dW from the layer totals, written out in numpy:
    dn/dnet = surrogate(net / T - theta) where net > 0, net_l = n_(l-1) W_l + T b_l."""
    from brainconv.surrogate import GRADIENT_RULES

    rng = np.random.default_rng(4)
    T, scale, thetas, alpha = 12, 10.0, [1.0, 0.75], 0.5
    x = rng.uniform(0, 1, (6, 5))
    y = np.array([0, 1, 2, 0, 1, 2])
    w = [rng.normal(0, 0.6, (5, 7)), rng.normal(0, 0.6, (7, 3))]
    b = [rng.normal(0, 0.1, 7), rng.normal(0, 0.1, 3)]
    params = [torch.tensor(a, requires_grad=True) for a in w + b]
    slope = SURROGATES["srinivasan"][0]
    counts = GRADIENT_RULES["aggregate"][0](
        params[:2], params[2:], torch.tensor(x), T, "lif", thetas,
        lambda v, t: spike(v, t, "srinivasan", {"alpha": alpha}), {"R": 4.0}, None,
        lambda d, t: slope(d, t, alpha=alpha))
    loss = torch.nn.functional.cross_entropy(counts[-1] * (scale / T), torch.tensor(y))
    loss.backward()
    plain = forward([torch.tensor(a) for a in w], [torch.tensor(a) for a in b],
                    torch.tensor(x), T, "lif", thetas, lambda v, t: spike(v, t), {"R": 4.0})
    n0, n1 = (c.numpy() for c in plain)
    np.testing.assert_array_equal(counts[-1].detach().numpy(), n1)  # forward: the counts
    assert (n0 == T).any() and (n0 == 0).any() and 0 < n1.sum()  # both gates matter
    net0, net1 = T * x @ w[0] + T * b[0], n0 @ w[1] + T * b[1]
    s0 = (net0 > 0) * (n0 < T) / (1.0 + alpha)  # hidden: gated
    s1 = np.full(net1.shape, 1 / (0.75 + alpha))  # output: not gated
    logits = n1 * scale / T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d_net1 = (p - np.eye(3)[y]) * scale / T / len(y) * s1
    d_net0 = d_net1 @ w[1].T * s0
    for param, expected in zip(params, [T * x.T @ d_net0, n0.T @ d_net1,
                                        T * d_net0.sum(axis=0), T * d_net1.sum(axis=0)]):
        np.testing.assert_allclose(param.grad.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_aggregate_rule_learns_with_poisson_input_and_keeps_no_unrolled_graph():
    x, y = _two_class()
    spec, history = train_snn(x, y, steps=16, hidden=(16,), model="lif", parameters={"R": 4.0},
                              surrogate="srinivasan", rule="aggregate", epochs=6,
                              batch_size=16, lr=0.02, seed=0, dtype="float64",
                              encoding="poisson", poisson_parameters={"seed": 3}, test=(x, y))
    assert history["rule"] == "aggregate"
    assert history["train_accuracy"][-1] > 0.9, history["train_accuracy"]
    assert history["bptt_bytes"] == 16 * (16 + 2) * 3 * 8  # batch x neurons, not x steps
    reference = simulate_reference(spec, x, 16)
    predicted = np.argmax(reference["output_spikes"].sum(axis=1), axis=1)
    assert np.mean(predicted == y) == pytest.approx(history["test_accuracy"][-1])


def test_fine_tuning_a_poisson_converted_network_keeps_its_input_layer():
    x, y = _two_class(seed=3)
    rng = np.random.default_rng(5)
    ann = ANN((rng.normal(0, 0.4, (10, 12)), rng.normal(0, 0.4, (12, 2))),
              (np.zeros(12), np.zeros(2)))
    start = convert(ann, model="lif", parameters={"R": 4.0}, normalization="none",
                    encoding="poisson", poisson_parameters={"seed": 9})
    # start's R = 4 is trained (not lif's default R = 10): the torch forward equals the spec's
    spec, history = train_snn(x, y, steps=10, start=start, model="lif", encoding="poisson",
                              rule="aggregate", surrogate="srinivasan", epochs=1,
                              batch_size=32, lr=0.01, dtype="float64", test=(x, y))
    assert [layer.model for layer in spec.layers] == ["poisson", "lif", "lif"]
    assert spec.layers[0].parameters == start.layers[0].parameters
    assert not np.array_equal(spec.layers[1].weights, start.layers[1].weights)
    reference = simulate_reference(spec, x, 10)  # the input layer's seed 9, as in training
    predicted = np.argmax(reference["output_spikes"].sum(axis=1), axis=1)
    assert np.mean(predicted == y) == pytest.approx(history["test_accuracy"][-1])
    with pytest.raises(ParameterError, match="start has a Poisson input layer; pass encoding"):
        train_snn(x, y, steps=10, start=start, model="lif")
    with pytest.raises(ParameterError, match="leave poisson_parameters out"):
        train_snn(x, y, steps=10, start=start, model="lif", encoding="poisson",
                  poisson_parameters={"seed": 1})
    with pytest.raises(ParameterError, match=r"parameters \{'R': 10.0\} contradict start's"):
        train_snn(x, y, steps=10, start=start, model="lif", encoding="poisson",
                  parameters={"R": 10.0})
    current = convert(ann, model="lif", parameters={"R": 4.0}, normalization="none")
    with pytest.raises(ParameterError, match="convert the network with encoding='poisson'"):
        train_snn(x, y, steps=10, start=current, model="lif", encoding="poisson")


def _tiny_cnn(seed=0):
    """6x6 images whose class is the side (left or right) holding a vertical stroke; a CNN
    conv 2x3x3 -> 2x2 average pooling -> dense 2 (the pooling folded into the dense layer)."""
    import scipy.sparse

    from brainconv.layers import avgpool2d_connectivity, conv2d_connectivity

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 96)
    x = rng.uniform(0, 0.2, (96, 1, 6, 6))
    columns = np.where(y == 0, rng.integers(0, 3, 96), rng.integers(3, 6, 96))
    x[np.arange(96), 0, :, columns] += 0.8
    kernel = rng.normal(0, 0.5, (2, 1, 3, 3))
    pre, post, w = conv2d_connectivity((1, 6, 6), kernel)
    conv = scipy.sparse.csr_matrix((w, (pre, post)), shape=(36, 32))
    pre, post, w = avgpool2d_connectivity((2, 4, 4), 2)
    pool = scipy.sparse.csr_matrix((w, (pre, post)), shape=(32, 8))
    dense = pool @ rng.normal(0, 0.5, (8, 2))
    ann = ANN((conv, np.asarray(dense)), (np.repeat([0.1, -0.1], 16), np.zeros(2)))
    return x.reshape(96, -1), y, ann, kernel


def test_a_convolution_trains_through_its_kernel_and_exports_as_one():
    """The conv layer's copies stay tied (the exported matrix is a convolution of the trained
    kernel, one bias per channel), and the torch forward pass equals the numpy reference."""
    from brainconv.layers import find_conv2d

    x, y, ann, kernel = _tiny_cnn()
    start = convert(ann, model="if_soft", normalization="none")
    spec, history = train_snn(x, y, steps=8, start=start, model="if_soft", input_shape=(1, 6, 6),
                              epochs=2, batch_size=16, lr=0.05, dtype="float64", test=(x, y))
    trained = find_conv2d(spec.layers[0].weights, spec.layers[0].bias, (1, 6, 6))
    assert trained is not None and trained["out_shape"] == (2, 4, 4)
    assert not np.allclose(trained["kernel"], kernel)
    assert not np.array_equal(spec.layers[1].weights, start.layers[1].weights)
    np.testing.assert_array_equal(start.layers[0].weights.toarray(),
                                  convert(ann, model="if_soft", normalization="none")
                                  .layers[0].weights.toarray())  # start left as it was
    reference = simulate_reference(spec, x, 8)
    predicted = np.argmax(reference["output_spikes"].sum(axis=1), axis=1)
    assert np.mean(predicted == y) == pytest.approx(history["test_accuracy"][-1])


def test_a_sparse_start_layer_needs_its_input_shape_and_a_convolution():
    import scipy.sparse

    x, y, ann, _ = _tiny_cnn()
    start = convert(ann, model="if_soft", normalization="none")
    with pytest.raises(ParameterError, match=r"layer 'hidden1' is sparse .* give "
                                             r"input_shape=\(C, H, W\)"):
        train_snn(x, y, steps=4, start=start, model="if_soft", epochs=0)
    with pytest.raises(ParameterError, match="input_shape is for a start with convolutional"):
        train_snn(x, y, steps=4, model="if_soft", input_shape=(1, 6, 6), epochs=0)
    with pytest.raises(ShapeError, match=r"input_shape \(1, 5, 5\) holds 25 values, the "
                                         r"data 36"):
        train_snn(x, y, steps=4, start=start, model="if_soft", input_shape=(1, 5, 5), epochs=0)
    untied = ANN((scipy.sparse.csr_matrix(ann.weights[0].toarray() * np.random.default_rng(1)
                                          .uniform(0.5, 1.5, (36, 32))), ann.weights[1]),
                 ann.biases)
    with pytest.raises(ParameterError, match=r"'hidden1' is sparse but no convolution of its "
                                             r"input shape \(1, 6, 6\)"):
        train_snn(x, y, steps=4, start=convert(untied, model="if_soft", normalization="none"),
                  model="if_soft", input_shape=(1, 6, 6), epochs=0)


def test_checkpointed_bptt_gives_the_same_training_in_less_memory():
    """``rule="bptt_checkpoint"`` recomputes segments of steps in the backward pass: the same
    weights after training as ``"bptt"`` (float64), a smaller graph, and the memory refusal of
    ``"bptt"`` names it with its size."""
    x, y = _two_class(seed=4)
    runs = {rule: train_snn(x, y, steps=16, hidden=(6,), model="lif", epochs=2, batch_size=32,
                            lr=0.02, dtype="float64", rule=rule, seed=3)
            for rule in ("bptt", "bptt_checkpoint")}
    (spec, history), (spec_c, history_c) = runs["bptt"], runs["bptt_checkpoint"]
    for layer, layer_c in zip(spec.layers, spec_c.layers):
        np.testing.assert_array_equal(layer.weights, layer_c.weights)
    assert not np.array_equal(spec.layers[0].weights,
                              train_snn(x, y, steps=16, hidden=(6,), model="lif", epochs=0,
                                        dtype="float64", seed=3)[0].layers[0].weights)
    assert history_c["bptt_bytes"] < history["bptt_bytes"] / 2
    with pytest.raises(ParameterError, match=r"or use rule='bptt_checkpoint' \(the same "
                                             r"gradient, recomputed in segments: [\d.]+ GiB\)"):
        train_snn(x, y, steps=200000, hidden=(500,), model="lif", batch_size=64, epochs=0)
    with pytest.raises(ModelError, match="'bptt_checkpoint' trains"):
        train_snn(x, y, steps=4, model="fs_relu", rule="bptt_checkpoint", epochs=0)
