"""The soft-LIF activation as a torch module, and soft-LIF CNNs from torch converted to LIF."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from brainconv.errors import ModelError  # noqa: E402
from brainconv.softlif import softlif_activation, softlif_activation_derivative  # noqa: E402
from brainconv.torch_import import from_torch  # noqa: E402
from brainconv.torch_softlif import SoftLIF  # noqa: E402

PARAMS = {"tau_rc": 0.02, "tau_ref": 0.002, "gamma": 0.03, "amp": 0.063, "gain": 1.5}


def test_forward_and_gradient_equal_the_numpy_soft_lif():
    """Across the whole range (far below threshold, where j underflows, to far above)."""
    x = np.concatenate([np.linspace(-40, 40, 2001), [-1e3, 1e3]])
    module = SoftLIF(**PARAMS).eval()
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = module(xt)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), softlif_activation(x, **PARAMS),
                               rtol=1e-12, atol=0)
    np.testing.assert_allclose(xt.grad.numpy(), softlif_activation_derivative(x, **PARAMS),
                               rtol=1e-9, atol=1e-300)
    assert np.all(np.isfinite(xt.grad.numpy()))


def test_training_noise_on_above_threshold_units_only_and_noise_free_gradient():
    torch.manual_seed(0)
    module = SoftLIF(sigma=10.0, **{k: v for k, v in PARAMS.items()})
    x = torch.linspace(-2, 2, 4001, dtype=torch.float64, requires_grad=True)
    clean = module.eval()(x).detach()
    module.train()
    noisy = module(x)
    noisy.sum().backward()
    above = (PARAMS["gain"] * x > 0).detach()
    difference = (noisy - clean).detach()
    assert torch.all(difference[~above] == 0)  # below threshold: no noise
    std = float(difference[above & (clean > 0.063 * 40)].std())  # away from the clip at 0
    assert abs(std / (0.063 * 10.0) - 1) < 0.1  # amp * N(0, sigma): measured ~1.0
    assert torch.all(noisy >= 0)
    np.testing.assert_allclose(x.grad.numpy(), softlif_activation_derivative(
        x.detach().numpy(), **PARAMS), rtol=1e-9)  # the noise-free rate's gradient


def soft_lif_cnn(sigma=0.0):
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), SoftLIF(sigma=sigma, **PARAMS), nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3), SoftLIF(sigma=sigma, **PARAMS), nn.Flatten(),
        nn.Linear(6 * 3 * 3, 5)).double().eval()


def test_from_torch_reads_a_soft_lif_cnn_with_its_parameters():
    model = soft_lif_cnn(sigma=5.0)
    ann = from_torch(model, (1, 12, 12))  # checks outputs on random inputs (eval: no noise)
    assert ann.activation == "softlif"
    params = dict(ann.activation_params)
    assert all(params[k] == v for k, v in PARAMS.items()) and params["sigma"] == 5.0
    x = np.random.default_rng(0).uniform(0, 1, (7, 1, 12, 12))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ann.forward(x.reshape(7, -1)), expected, rtol=1e-10, atol=1e-12)


def test_mixed_activations_are_refused_with_the_reason():
    model = nn.Sequential(nn.Linear(4, 3), SoftLIF(), nn.Linear(3, 3), nn.ReLU(),
                          nn.Linear(3, 2))
    with pytest.raises(ModelError, match="every hidden activation must be the same"):
        from_torch(model, (4,))
    model = nn.Sequential(nn.Linear(4, 3), SoftLIF(gamma=0.02), nn.Linear(3, 3),
                          SoftLIF(gamma=0.05), nn.Linear(3, 2))
    with pytest.raises(ModelError, match="same parameters"):
        from_torch(model, (4,))


def test_a_trained_soft_lif_cnn_converts_to_lif_and_keeps_its_accuracy():
    """A tiny soft-LIF CNN trained in torch on 8x8 digits, converted to lif_rc with alpha
    synapses and a filtered readout: the SNN's accuracy is within 5 points of the ANN's."""
    import brian2

    from brainconv import convert, load_dataset
    from brainconv.simulation import simulate

    x, y = load_dataset("digits", "train")
    x_test, y_test = load_dataset("digits", "test")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3), SoftLIF(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(6 * 3 * 3, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    images = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8)
    labels = torch.tensor(y)
    for epoch in range(30):
        for start in range(0, len(y), 64):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(images[start:start + 64]),
                                               labels[start:start + 64])
            loss.backward()
            optimiser.step()
    ann = from_torch(model.eval(), (1, 8, 8))
    ann_accuracy = ann.accuracy(x_test, y_test)
    assert ann_accuracy > 0.85  # measured 0.93
    spec = convert(ann, model="lif_rc", normalization="none", synapse="alpha",
                   synapse_parameters={"tau_s": 5 * brian2.ms}, readout="filtered")
    ds = simulate(spec, x_test[:200], y_test[:200], 150, device="numpy", dt=1.0,
                  window=(60.0, 150.0))
    snn_accuracy = float(np.mean(ds["prediction"].values == y_test[:200]))
    assert snn_accuracy >= ann.accuracy(x_test[:200], y_test[:200]) - 0.05, snn_accuracy
