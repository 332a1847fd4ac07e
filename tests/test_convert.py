"""Normalization and the NetworkSpec: numbers and errors, no Brian2."""

import numpy as np
import pytest

from brainconv.ann import ANN
from brainconv.conversion import convert, normalize
from brainconv.errors import ModelError, ParameterError, ShapeError

from conftest import small_ann


@pytest.fixture
def data():
    return np.random.default_rng(3).uniform(0, 1, (200, 12))


@pytest.mark.parametrize("method, statistic", [
    ("max", np.max),
    ("percentile", lambda a: np.percentile(a, 99.9)),
])
def test_normalization_sets_each_layer_statistic_to_one(data, method, statistic):
    ann = small_ann()
    normalized, scales = normalize(ann, data, method)
    for original, scaled, scale in zip(ann.forward(data, all_layers=True),
                                       normalized.forward(data, all_layers=True), scales):
        assert statistic(scaled[scaled > 0]) == pytest.approx(1.0)
        np.testing.assert_allclose(scaled, original / scale, atol=1e-12)
    np.testing.assert_array_equal(normalized.predict(data), ann.predict(data))


def test_normalization_scales_are_cached_for_the_same_inputs_only(data, tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path))
    first, scales = normalize(small_ann(), data)
    passes = []
    forward = ANN.forward
    monkeypatch.setattr(ANN, "forward", lambda *a, **k: passes.append(1) or forward(*a, **k))
    again, cached = normalize(small_ann(), data)
    assert passes == [] and cached == scales  # exact: no forward pass
    for a, b in zip(first.weights + first.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)
    changed = data.copy()
    changed[0, 0] += 1.0  # one pixel of the calibration data
    for ann, inputs, method in ((small_ann(), changed, "percentile"), (small_ann(seed=4), data,
                                "percentile"), (small_ann(), data, "max")):
        passes.clear()
        normalize(ann, inputs, method)
        assert passes == [1], method
    assert normalize(small_ann(), data, "max")[1] != scales


def test_percentile_scales_are_below_max(data):
    _, max_scales = normalize(small_ann(), data, "max")
    _, pct_scales = normalize(small_ann(), data, "percentile", 90)
    assert all(p < m for p, m in zip(pct_scales, max_scales))


def test_threshold_scales_weights_and_biases(data):
    base = convert(small_ann(), data=data)
    doubled = convert(small_ann(), data=data, threshold=2.0)
    for a, b in zip(base.layers, doubled.layers):
        np.testing.assert_allclose(b.weights, 2 * a.weights)
        np.testing.assert_allclose(b.bias, 2 * a.bias)
        assert b.threshold == 2.0


def test_spec_is_immutable(data):
    spec = convert(small_ann(), data=data)
    with pytest.raises(ValueError):
        spec.layers[0].weights[0, 0] = 1.0
    assert spec.layer_sizes == (8, 6, 3)
    assert [layer.name for layer in spec.layers] == ["hidden1", "hidden2", "output"]


def test_input_of_wrong_width_is_rejected(data):
    spec = convert(small_ann(), data=data)
    with pytest.raises(ShapeError, match=r"shape \(4, 11\).*\(n_samples, 12\)"):
        spec.input_currents(np.zeros((4, 11)))


@pytest.mark.parametrize("threshold", [0, -1.0, np.nan])
def test_non_positive_threshold_is_rejected(data, threshold):
    with pytest.raises(ParameterError, match="threshold must be a (positive|finite) number"):
        convert(small_ann(), data=data, threshold=threshold)


def test_unknown_model_is_rejected_with_known_names(data):
    with pytest.raises(ModelError, match="known models: accumulator, cuba_lif, cuba_lif_grid, fs_relu, fs_sigmoid, fs_swish, if_hard, if_soft"):
        convert(small_ann(), model="izhikevich", data=data)


def test_normalization_needs_data():
    with pytest.raises(ParameterError, match="needs calibration data"):
        convert(small_ann())


def test_bad_normalization_arguments(data):
    with pytest.raises(ParameterError, match="unknown normalization 'median'"):
        normalize(small_ann(), data, "median")
    with pytest.raises(ParameterError, match=r"percentile must be in \(0, 100\]"):
        normalize(small_ann(), data, "percentile", 120)


def test_weight_bias_mismatch_and_nan_are_caught_before_conversion():
    rng = np.random.default_rng(0)
    with pytest.raises(ShapeError, match="layer"):
        ANN((rng.normal(size=(4, 3)), rng.normal(size=(5, 2))), (np.zeros(3), np.zeros(2)))
    bad = rng.normal(size=(4, 3))
    bad[1, 1] = np.nan
    with pytest.raises(ParameterError, match="NaN or inf|nan|NaN"):
        ANN((bad,), (np.zeros(3),))


def test_rate_trained_network_converts_to_the_same_function():
    """A network trained with the 'rate' activation (z / R) is a ReLU net with weights / R."""
    from brainconv.conversion import relu_equivalent

    base = small_ann()
    rate = ANN(base.weights, base.biases, activation="rate", activation_params={"R": 4.0})
    x = np.random.default_rng(2).uniform(0, 1, (20, 12))
    np.testing.assert_allclose(relu_equivalent(rate).forward(x), rate.forward(x), atol=1e-12)
    spec = convert(rate, normalization="none")
    np.testing.assert_allclose(spec.layers[1].weights, base.weights[1] / 4)
    np.testing.assert_allclose(spec.layers[0].weights, base.weights[0])
    # An accumulator-trained (quadratic) network is transferred weight for weight.
    quadratic = ANN(base.weights, base.biases, activation="accumulator",
                    activation_params={"R": 4.0})
    assert relu_equivalent(quadratic).activation == "relu"
    spec = convert(quadratic, normalization="none")
    np.testing.assert_allclose(spec.layers[1].weights, base.weights[1])


def test_rate_network_with_a_jump_is_rejected():
    base = small_ann()
    jumpy = ANN(base.weights, base.biases, activation="rate",
                activation_params={"R": 2.0, "v_th": 0.5})
    with pytest.raises(ParameterError, match=r"v_th = 0.5.*jumps at v_th"):
        convert(jumpy, normalization="none")
