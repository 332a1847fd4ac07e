"""Tests for brainconv.torch_import: PyTorch models imported as brainconv ANNs."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

torch = pytest.importorskip("torch")
nn = torch.nn

from brainconv.ann import ANN, load_ann, save_ann  # noqa: E402
from brainconv.errors import ModelError, ShapeError  # noqa: E402
from brainconv.torch_import import compare_with_torch, from_torch  # noqa: E402


def torch_output(model, x):
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x).float()).numpy().reshape(len(x), -1)


def randomize_batchnorm(bn, generator):
    with torch.no_grad():
        n = bn.num_features
        bn.running_mean.copy_(torch.rand(n, generator=generator) * 2 - 1)
        bn.running_var.copy_(torch.rand(n, generator=generator) * 1.5 + 0.5)
        bn.weight.copy_(torch.rand(n, generator=generator) + 0.5)
        bn.bias.copy_(torch.rand(n, generator=generator) - 0.5)


def small_cnn():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 10),
    )
    randomize_batchnorm(model[1], torch.Generator().manual_seed(1))
    return model.eval()


def inputs(shape, n=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape)).astype(np.float32)


# ---------------------------------------------------------------- imports that work


def test_mlp_matches_torch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 3))
    model.train()  # the import reads eval semantics whatever the mode
    ann = from_torch(model, (20,))
    assert model.training  # not changed by the import
    assert isinstance(ann, ANN) and ann.activation == "relu"
    assert ann.layer_sizes == (20, 16, 3)
    assert all(isinstance(w, np.ndarray) for w in ann.weights)
    np.testing.assert_array_equal(ann.weights[0], model[1].weight.detach().numpy().T)
    x = inputs((20,))
    np.testing.assert_allclose(ann.forward(x), torch_output(model, x), atol=1e-5)


def test_cnn_with_batchnorm_matches_torch():
    model = small_cnn()
    ann = from_torch(model, (1, 12, 12))
    assert ann.layer_sizes == (144, 4 * 12 * 12, 6 * 2 * 2, 10)
    # The convolutions are sparse (the pool folded into the second one); the Linear is dense.
    assert [scipy.sparse.issparse(w) for w in ann.weights] == [True, True, False]
    assert all(isinstance(w, scipy.sparse.csr_matrix) for w in ann.weights[:2])
    assert ann.weights[0].nnz < 0.1 * 144 * 576
    x = inputs((1, 12, 12))
    np.testing.assert_allclose(ann.forward(x.reshape(len(x), -1)), torch_output(model, x),
                               atol=1e-5)
    assert compare_with_torch(ann, model, (1, 12, 12)) < 1e-12  # float64 on both sides


def test_conv_bias_repeated_per_position_and_no_bias():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=(1, 1), bias=True), nn.ReLU(),
                          nn.Conv2d(3, 2, 2, stride=2, bias=False))
    ann = from_torch(model, (2, 6, 6))
    np.testing.assert_array_equal(ann.biases[0],
                                  np.repeat(model[0].bias.detach().numpy(), 36))
    np.testing.assert_array_equal(ann.biases[1], np.zeros(2 * 3 * 3))
    x = inputs((2, 6, 6))
    np.testing.assert_allclose(ann.forward(x.reshape(len(x), -1)), torch_output(model, x),
                               atol=1e-5)


def test_pool_before_relu_and_global_pool_after_last_layer():
    # conv -> pool -> ReLU folds the pool into the conv before it; an all-convolutional net
    # ending in global average pooling folds it into the last conv.
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 5, 3), nn.AvgPool2d(2), nn.ReLU(),
                          nn.Conv2d(5, 4, 3, padding="same"), nn.AvgPool2d(4), nn.Flatten())
    ann = from_torch(model, (3, 10, 10))
    assert ann.layer_sizes == (300, 5 * 4 * 4, 4)
    x = inputs((3, 10, 10))
    np.testing.assert_allclose(ann.forward(x.reshape(len(x), -1)), torch_output(model, x),
                               atol=1e-5)


def test_batchnorm1d_identity_nested_sequential_and_image_mlp():
    torch.manual_seed(4)
    model = nn.Sequential(
        nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 8), nn.Identity(), nn.BatchNorm1d(8)),
        nn.Sequential(nn.ReLU(), nn.Sequential(nn.Linear(8, 5))),
    )
    randomize_batchnorm(model[0][3], torch.Generator().manual_seed(5))
    ann = from_torch(model, (2, 4, 4))
    assert ann.n_layers == 2
    x = inputs((2, 4, 4))
    np.testing.assert_allclose(ann.forward(x.reshape(len(x), -1)), torch_output(model, x),
                               atol=1e-5)


class Chain(nn.Module):
    """A custom module whose forward applies its children in order."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.act = nn.ReLU()
        self.pool = nn.AvgPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 3 * 3, 4))

    def forward(self, x):
        return self.head(self.pool(self.act(self.conv(x))))


def test_plain_chain_module():
    torch.manual_seed(6)
    model = Chain()
    ann = from_torch(model, (1, 8, 8))
    assert ann.layer_sizes == (64, 3 * 6 * 6, 4)
    x = inputs((1, 8, 8))
    np.testing.assert_allclose(ann.forward(x.reshape(len(x), -1)), torch_output(model, x),
                               atol=1e-5)


def test_single_linear_layer():
    torch.manual_seed(7)
    model = nn.Linear(5, 2)
    ann = from_torch(model, (5,))
    assert ann.layer_sizes == (5, 2)
    np.testing.assert_array_equal(ann.biases[0], model.bias.detach().numpy())


def test_model_parameters_unchanged():
    model = small_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from_torch(model, (1, 12, 12))
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_save_load_round_trip_of_imported_cnn(tmp_path):
    ann = from_torch(small_cnn(), (1, 12, 12))
    path = tmp_path / "cnn.npz"
    save_ann(ann, path)
    loaded = load_ann(path)
    for w, v in zip(ann.weights, loaded.weights):
        assert type(w) is type(v)
        if scipy.sparse.issparse(w):
            assert w.shape == v.shape
            for attr in ("data", "indices", "indptr"):
                np.testing.assert_array_equal(getattr(w, attr), getattr(v, attr))
        else:
            np.testing.assert_array_equal(w, v)
    for b, c in zip(ann.biases, loaded.biases):
        np.testing.assert_array_equal(b, c)
    x = inputs((1, 12, 12)).reshape(16, -1)
    np.testing.assert_array_equal(loaded.forward(x), ann.forward(x))


def test_brainconv_does_not_import_torch():
    # Every module, torch_import included (it imports torch only inside its functions).
    code = (
        "import importlib, pkgutil, sys, brainconv\n"
        "for m in pkgutil.iter_modules(brainconv.__path__):\n"
        "    importlib.import_module('brainconv.' + m.name)\n"
        "assert 'torch' not in sys.modules, 'brainconv imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- errors


def test_maxpool_suggests_avgpool():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2 * 3 * 3, 2))
    with pytest.raises(ModelError, match=r"'2'.*MaxPool2d.*max pooling has no rate-code "
                                         r"equivalent.*nn\.AvgPool2d"):
        from_torch(model, (1, 8, 8))


@pytest.mark.parametrize("layer, hint", [
    (nn.Sigmoid(), "only ReLU hidden activations"),
    (nn.LSTM(4, 4), ""),
])
def test_unsupported_layer_lists_supported(layer, hint):
    model = nn.Sequential(nn.Linear(4, 4), layer, nn.Linear(4, 2))
    name = type(layer).__name__
    with pytest.raises(ModelError, match=rf"nn\.{name} is not supported.*{hint}.*Supported "
                                         r"layers: nn\.Conv2d, nn\.Linear.*nn\.AvgPool2d"):
        from_torch(model, (4,))


def test_trailing_softmax_hint():
    model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    with pytest.raises(ModelError, match="remove the final softmax"):
        from_torch(model, (4,))


@pytest.mark.parametrize("kwargs, match", [
    (dict(padding=1, padding_mode="reflect"), "padding_mode='reflect' is not supported"),
    (dict(dilation=2), "dilation=.*not supported"),
    (dict(groups=2), "groups=2 .*not supported"),
    (dict(padding="same", kernel_size=2), "even kernel"),
])
def test_conv_options_refused(kwargs, match):
    kwargs = dict(dict(kernel_size=3), **kwargs)
    model = nn.Sequential(nn.Conv2d(2, 2, **kwargs), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(ModelError, match=match):
        from_torch(model, (2, 6, 6))


def test_non_square_kernel_and_unequal_stride():
    model = nn.Sequential(nn.Conv2d(1, 2, (3, 5)))
    with pytest.raises(ShapeError, match=r"layer '0'.*non-square kernels are not supported"):
        from_torch(model, (1, 8, 8))
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=(1, 2)))
    with pytest.raises(ShapeError, match="unequal stride pairs"):
        from_torch(model, (1, 8, 8))


def test_shape_mismatches():
    model = nn.Sequential(nn.Flatten(), nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ShapeError, match=r"in_features=10 but its input has 12 values"):
        from_torch(model, (12,))
    model = nn.Sequential(nn.Conv2d(3, 2, 3))
    with pytest.raises(ShapeError, match=r"in_channels=3 but its input has shape \(1, 8, 8\)"):
        from_torch(model, (1, 8, 8))
    with pytest.raises(ShapeError, match="kernel_size 3 is larger than the padded input"):
        from_torch(model, (3, 2, 2))
    with pytest.raises(ShapeError, match=r"unflattened \(2, 4, 4\) input.*nn\.Flatten"):
        from_torch(nn.Sequential(nn.Linear(32, 2)), (2, 4, 4))
    with pytest.raises(ShapeError, match=r"needs a \(C, H, W\) input"):
        from_torch(model, (27,))
    for bad in [(1, 8), (0,), (1.5,), "123", 5]:
        with pytest.raises(ShapeError, match="input_shape must be"):
            from_torch(model, bad)


def test_missing_relu_between_weight_layers():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(), nn.Linear(4, 2))
    with pytest.raises(ModelError, match=r"layer '2'.*follows layer '0'.*no nn\.ReLU between"):
        from_torch(model, (4,))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2))
    with pytest.raises(ModelError, match=r"no nn\.ReLU between"):
        from_torch(model, (1, 8, 8))


def test_misplaced_relu():
    with pytest.raises(ModelError, match="ends with a ReLU.*remove the trailing ReLU"):
        from_torch(nn.Sequential(nn.Linear(4, 3), nn.ReLU()), (4,))
    with pytest.raises(ModelError, match="does not follow a Conv2d or Linear"):
        from_torch(nn.Sequential(nn.ReLU(), nn.Linear(4, 3)), (4,))
    with pytest.raises(ModelError, match="does not follow a Conv2d or Linear"):
        from_torch(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 2)), (4,))
    with pytest.raises(ModelError, match="after the last ReLU.*no Conv2d or Linear layer"):
        from_torch(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AvgPool2d(2)), (1, 6, 6))
    with pytest.raises(ModelError, match="no Conv2d or Linear layer"):
        from_torch(nn.Sequential(nn.Flatten()), (4,))


def test_misplaced_batchnorm():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.Linear(4, 2))
    with pytest.raises(ModelError, match=r"BatchNorm1d.*does not directly follow an nn\.Linear"):
        from_torch(model, (4,))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm1d(2))
    with pytest.raises(ModelError, match=r"does not directly follow an nn\.Linear"):
        from_torch(model, (1, 5, 5))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(ModelError, match="no running statistics"):
        from_torch(model, (1, 5, 5))


def test_pool_options_refused():
    for pool, match in [(nn.AvgPool2d(2, padding=1), "padding=1"),
                        (nn.AvgPool2d(2, ceil_mode=True), "ceil_mode=True"),
                        (nn.AvgPool2d(2, divisor_override=3), "divisor_override=3")]:
        model = nn.Sequential(pool, nn.Conv2d(1, 1, 1))
        with pytest.raises(ModelError, match=match):
            from_torch(model, (1, 4, 4))


class Residual(nn.Module):
    """Children that look like a chain, but forward adds a skip connection."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) + x


def test_forward_that_is_not_a_chain_is_caught():
    torch.manual_seed(8)
    with pytest.raises(ModelError, match="does not reproduce the model.*not the plain chain"):
        from_torch(Residual(), (4,))
    # Without the check the (wrong) chain is imported as it stands.
    assert from_torch(Residual(), (4,), check=False).layer_sizes == (4, 4, 4)


def test_compare_with_torch_shape_check():
    model = nn.Sequential(nn.Linear(4, 2))
    ann = from_torch(model, (4,))
    with pytest.raises(ShapeError, match="has 5 values but the ANN takes 4"):
        compare_with_torch(ann, model, (5,))


def test_imported_cnn_simulates_like_numpy_reference():
    """torch CNN -> ANN (sparse conv, folded pooling) -> spiking network: Brian2 == numpy."""
    torch = pytest.importorskip("torch")
    from brainconv.conversion import convert
    from brainconv.simulation import run_network

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(),
                                torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(2 * 3 * 3, 3))
    with torch.no_grad():  # dyadic parameters: every sum is exact in float64
        for parameter in model.parameters():
            parameter.copy_(torch.round(parameter * 64) / 64 * 4)
    ann = from_torch(model, (1, 8, 8))
    spec = convert(ann, normalization="none")
    x = np.round(np.random.default_rng(0).uniform(0, 1, (6, 64)) * 64) / 64
    reference = run_network(spec, x, 12, device="numpy")
    assert reference["output_spikes"].sum() > 0
    brian = run_network(spec, x, 12, device="runtime", batch_size=4)
    for key in reference:
        np.testing.assert_array_equal(brian[key], reference[key], err_msg=key)
