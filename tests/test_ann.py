"""Tests for brainconv.ann: validation, activations, forward pass, training, save/load."""

import os
import stat

import numpy as np
import pytest
import scipy.sparse

from brainconv.ann import (
    ACTIVATIONS,
    ANN,
    FORMAT_VERSION,
    load_ann,
    normalize_activation_params,
    save_ann,
    train_ann,
)
from brainconv.errors import BrainconvError, DataError, ParameterError, ShapeError


def tiny_ann(**activation):
    # 2 inputs -> 3 hidden -> 2 outputs, small enough to check by hand.
    w0 = np.array([[1.0, -1.0, 0.5], [2.0, 1.0, -1.0]])
    b0 = np.array([0.0, 0.5, -0.25])
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]])
    b1 = np.array([0.1, -0.1])
    return ANN(weights=(w0, w1), biases=(b0, b1), **activation)


# ---------------------------------------------------------------- validation


def test_layers_that_do_not_chain():
    with pytest.raises(ShapeError, match=r"layers 0 and 1 do not chain.*\(4, 3\).*\(5, 2\)"):
        ANN(weights=(np.ones((4, 3)), np.ones((5, 2))), biases=(np.zeros(3), np.zeros(2)))


def test_bias_length():
    with pytest.raises(ShapeError, match=r"layer 1: bias has length 3 .* 2 outputs"):
        ANN(weights=(np.ones((4, 3)), np.ones((3, 2))), biases=(np.zeros(3), np.zeros(3)))


def test_non_2d_weights_and_empty():
    with pytest.raises(ShapeError, match=r"layer 0: weights must be 2-D"):
        ANN(weights=(np.ones(3),), biases=(np.zeros(3),))
    with pytest.raises(ShapeError, match="at least one layer"):
        ANN(weights=(), biases=())


def test_nan_weights():
    w = np.ones((4, 3))
    w[0, 0] = w[2, 1] = np.nan
    with pytest.raises(ParameterError, match=r"layer 1: weights contain 2 non-finite.*2 NaN"):
        ANN(weights=(np.ones((2, 4)), w), biases=(np.zeros(4), np.zeros(3)))


def test_inf_bias():
    b = np.zeros(3)
    b[1] = -np.inf
    with pytest.raises(ParameterError, match=r"layer 0: bias contain 1 non-finite.*1 inf"):
        ANN(weights=(np.ones((2, 3)),), biases=(b,))


def test_errors_are_value_errors():
    # Callers may catch either the brainconv base class or the built-in.
    with pytest.raises(ValueError):
        ANN(weights=(np.ones((4, 3)),), biases=(np.zeros(2),))
    assert issubclass(ShapeError, BrainconvError)


def test_wrong_input_width():
    with pytest.raises(ShapeError, match=r"shape \(N, 2\), got \(5, 3\)"):
        tiny_ann().forward(np.zeros((5, 3)))
    with pytest.raises(ShapeError, match=r"shape \(N, 2\), got \(2,\)"):
        tiny_ann().forward(np.zeros(2))


def test_arrays_are_float64_readonly_copies():
    w = np.ones((2, 3), dtype=np.float32)
    ann = ANN(weights=(w,), biases=(np.zeros(3, dtype=np.int64),))
    assert ann.weights[0].dtype == np.float64 and ann.biases[0].dtype == np.float64
    assert ann.weights[0].flags.c_contiguous
    with pytest.raises(ValueError):
        ann.weights[0][0, 0] = 5.0
    w[0, 0] = 7.0  # the caller's array is not shared
    assert ann.weights[0][0, 0] == 1.0


# ---------------------------------------------------------------- activations (Think Fast §3.4)

#: (name, params) covering every activation, defaults and non-default R / threshold.
ACTIVATION_CASES = [
    ("relu", {}),
    ("rate", {}),
    ("rate", {"R": 2.0, "v_th": 0.3}),
    ("accumulator", {}),
    ("accumulator", {"R": 10, "v_th": 0.5}),
]


@pytest.mark.parametrize("name, params", ACTIVATION_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_matches_finite_difference(name, params, dtype):
    act = ACTIVATIONS[name]
    kwargs = dict(normalize_activation_params(name, params))
    v_th = kwargs.get("v_th", 0.0)
    z = np.random.default_rng(0).uniform(-3.0, 3.0, 2000)
    z = z[np.abs(z - v_th) > 1e-3]  # away from the kink / jump at the threshold
    h = 1e-6
    numeric = (act.f(z + h, **kwargs) - act.f(z - h, **kwargs)) / (2 * h)
    zc = z.astype(dtype)
    a = act.f(zc, **kwargs)
    grad = act.df(zc, a, **kwargs)
    assert a.dtype == dtype and grad.dtype == dtype  # float32 training stays float32
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
    assert np.any(grad > 0) and np.any(grad == 0)  # both sides of the threshold were sampled


def test_activation_formulas():
    z = np.array([-1.0, 0.0, 0.25, 0.5, 2.0])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].f(z), [0, 0, 0.25, 0.5, 2.0])
    np.testing.assert_array_equal(ACTIVATIONS["relu"].df(z, None), [0, 0, 1, 1, 1])
    # eq. 11 / 12, threshold 0.5: rate z / R and gradient 1 / R from the threshold up.
    np.testing.assert_array_equal(ACTIVATIONS["rate"].f(z, R=2.0, v_th=0.5), [0, 0, 0, 0.25, 1])
    np.testing.assert_array_equal(ACTIVATIONS["rate"].df(z, None, R=2.0, v_th=0.5),
                                  [0, 0, 0, 0.5, 0.5])
    # eq. 14 / 13: z**2 / (2R) and z / R.
    np.testing.assert_array_equal(ACTIVATIONS["accumulator"].f(z, R=4.0),
                                  [0, 0, 0.0078125, 0.03125, 0.5])
    np.testing.assert_array_equal(ACTIVATIONS["accumulator"].df(z, None, R=4.0),
                                  [0, 0, 0.0625, 0.125, 0.5])
    # R = 1, v_th = 0 rate is ReLU.
    z = np.random.default_rng(1).standard_normal(100)
    np.testing.assert_array_equal(ACTIVATIONS["rate"].f(z), ACTIVATIONS["relu"].f(z))


def test_activation_docs_name_equations_and_models():
    assert "eq. 10" in ACTIVATIONS["relu"].equations and "ION" in ACTIVATIONS["relu"].models
    assert "eq. 11" in ACTIVATIONS["rate"].equations and "rate" in ACTIVATIONS["rate"].models
    assert "eq. 13" in ACTIVATIONS["accumulator"].equations
    assert "eq. 14" in ACTIVATIONS["accumulator"].equations
    assert "eq. 12" in ACTIVATIONS["rate"].equations
    assert "accumulator" in ACTIVATIONS["accumulator"].models


def test_activation_params_are_normalized():
    assert normalize_activation_params("relu") == ()
    assert normalize_activation_params("rate", {"R": 10}) == (("R", 10.0), ("v_th", 0.0))
    assert normalize_activation_params("accumulator", [("v_th", 1), ("R", 2)]) == (
        ("R", 2.0), ("v_th", 1.0))
    ann = tiny_ann(activation="rate", activation_params={"R": 10})
    assert ann.activation == "rate"
    assert ann.activation_params == (("R", 10.0), ("v_th", 0.0))
    assert ann.activation_kwargs == {"R": 10.0, "v_th": 0.0}
    assert all(type(v) is float for _, v in ann.activation_params)
    hash(ann.activation_params)
    assert tiny_ann().activation == "relu" and tiny_ann().activation_params == ()
    with pytest.raises(AttributeError):  # frozen
        ann.activation = "relu"


def test_activation_default_learning_rate():
    assert ACTIVATIONS["relu"].default_learning_rate() == 0.05
    assert ACTIVATIONS["rate"].default_learning_rate() == 0.05
    assert ACTIVATIONS["rate"].default_learning_rate({"R": 10}) == pytest.approx(0.5)
    assert ACTIVATIONS["accumulator"].default_learning_rate({"R": 10}) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("tanh", None, r"unknown activation 'tanh'; choose one of accumulator, rate, relu"),
        ("rate", {"R": 0.5}, r"R must be >= 1 .*got R=0\.5"),
        ("accumulator", {"R": 0}, r"R must be >= 1 .*got R=0\.0"),
        ("rate", {"v_th": -0.1}, r"v_th must be >= 0"),
        ("rate", {"tau": 2.0}, r"activation 'rate' has no parameter\(s\) \['tau'\]; "
                               r"its parameters are: R, v_th"),
        ("relu", {"R": 2.0}, r"activation 'relu' has no parameter.*are: none"),
        ("rate", {"R": np.nan}, r"R must be finite"),
        ("rate", {"R": "10"}, r"R must be a real number"),
        ("rate", {"R": np.complex128(2)}, r"R must be a real number"),
        ("rate", {"R": True}, r"R must be a real number"),
    ],
)
def test_bad_activation(name, params, message):
    with pytest.raises(ParameterError, match=message):
        tiny_ann(activation=name, activation_params=params or ())
    with pytest.raises(ParameterError, match=message):
        train_ann(np.zeros((4, 2)), np.array([0, 1, 0, 1]), activation=name,
                  activation_params=params)



# ---------------------------------------------------------------- forward


def test_forward_by_hand():
    ann = tiny_ann()
    assert ann.layer_sizes == (2, 3, 2)
    assert ann.n_layers == 2
    x = np.array([[1.0, 1.0], [-1.0, 0.5]])
    # Row 0: z0 = [3, 0.5, -0.75] -> h = [3, 0.5, 0]; out = [3.1, 0.4]
    # Row 1: z0 = [0, 2, -1.25] -> h = [0, 2, 0];    out = [0.1, 1.9]
    hidden, out = ann.forward(x, all_layers=True)
    np.testing.assert_allclose(hidden, [[3.0, 0.5, 0.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(out, [[3.1, 0.4], [0.1, 1.9]])
    np.testing.assert_allclose(ann.forward(x), out)
    np.testing.assert_array_equal(ann.predict(x), [0, 1])
    assert ann.accuracy(x, [0, 0]) == 0.5


def test_last_layer_is_linear():
    ann = ANN(weights=(np.array([[-1.0]]),), biases=(np.array([-1.0]),))
    np.testing.assert_allclose(ann.forward(np.array([[2.0]])), [[-3.0]])


@pytest.mark.parametrize(
    "activation, hidden_expected, out_expected",
    [
        # z0 = [[3, 0.5, -0.75], [0, 2, -1.25]] as in test_forward_by_hand.
        # rate, R = 2: relu / 2 -> h = [[1.5, 0.25, 0], [0, 1, 0]]
        (dict(activation="rate", activation_params={"R": 2}),
         [[1.5, 0.25, 0.0], [0.0, 1.0, 0.0]], [[1.6, 0.15], [0.1, 0.9]]),
        # rate, threshold 1: 0.5 and 0 are below it -> h = [[3, 0, 0], [0, 2, 0]]
        (dict(activation="rate", activation_params={"v_th": 1.0}),
         [[3.0, 0.0, 0.0], [0.0, 2.0, 0.0]], [[3.1, -0.1], [0.1, 1.9]]),
        # accumulator, R = 1: z**2 / 2 -> h = [[4.5, 0.125, 0], [0, 2, 0]]
        (dict(activation="accumulator"),
         [[4.5, 0.125, 0.0], [0.0, 2.0, 0.0]], [[4.6, 0.025], [0.1, 1.9]]),
    ],
)
def test_forward_with_activation_by_hand(activation, hidden_expected, out_expected):
    ann = tiny_ann(**activation)
    x = np.array([[1.0, 1.0], [-1.0, 0.5]])
    hidden, out = ann.forward(x, all_layers=True)
    np.testing.assert_allclose(hidden, hidden_expected)
    np.testing.assert_allclose(out, out_expected)  # output layer stays linear


def test_rate_r2_is_half_relu():
    x = np.random.default_rng(2).standard_normal((20, 2))
    relu_hidden = tiny_ann().forward(x, all_layers=True)[0]
    rate_hidden = tiny_ann(activation="rate", activation_params={"R": 2}).forward(
        x, all_layers=True)[0]
    np.testing.assert_allclose(rate_hidden, relu_hidden / 2)


def test_accuracy_label_length():
    with pytest.raises(ShapeError, match="labels must have shape"):
        tiny_ann().accuracy(np.zeros((3, 2)), [0, 1])


# ---------------------------------------------------------------- training


def test_training_on_digits(digits):
    x_tr, y_tr, x_te, y_te = digits
    calls = []
    ann = train_ann(x_tr, y_tr, hidden=(64,), epochs=20, progress=lambda *a: calls.append(a))
    assert ann.layer_sizes == (64, 64, 10)
    assert ann.weights[0].dtype == np.float64
    assert ann.accuracy(x_te, y_te) >= 0.95
    assert [c[:2] for c in calls] == [(e, 20) for e in range(1, 21)]
    assert calls[-1][2] < calls[0][2]  # loss went down
    assert 0.0 <= calls[-1][3] <= 1.0


def test_training_is_deterministic(digits):
    x_tr, y_tr, _, _ = digits
    kwargs = dict(hidden=(16,), epochs=2)
    a = train_ann(x_tr, y_tr, seed=3, **kwargs)
    b = train_ann(x_tr, y_tr, seed=3, **kwargs)
    c = train_ann(x_tr, y_tr, seed=4, **kwargs)
    for wa, wb, wc in zip(a.weights + a.biases, b.weights + b.biases, c.weights + c.biases):
        np.testing.assert_array_equal(wa, wb)
    assert not np.array_equal(a.weights[0], c.weights[0])


def test_training_separable_two_hidden_layers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    ann = train_ann(x, y, hidden=(8, 8), epochs=30, batch_size=20)
    assert ann.layer_sizes == (2, 8, 8, 2)
    assert ann.accuracy(x, y) >= 0.97


@pytest.mark.parametrize("name, params", [("rate", {"R": 1}), ("rate", {"R": 10}),
                                          ("accumulator", {"R": 1}),
                                          ("accumulator", {"R": 10})])
def test_training_custom_gradient_on_digits(digits, name, params):
    # Think Fast §3.4: each paradigm's ANN trained with its own activation and gradient.
    x_tr, y_tr, x_te, y_te = digits
    kwargs = dict(hidden=(64,), epochs=20, activation=name, activation_params=params, seed=1)
    ann = train_ann(x_tr, y_tr, **kwargs)
    assert ann.activation == name
    assert ann.activation_kwargs == {"R": float(params["R"]), "v_th": 0.0}
    assert ann.accuracy(x_te, y_te) >= 0.9
    again = train_ann(x_tr, y_tr, **kwargs)
    for a, b in zip(ann.weights + ann.biases, again.weights + again.biases):
        np.testing.assert_array_equal(a, b)


def test_training_rate_r1_matches_relu(digits):
    x_tr, y_tr, _, _ = digits
    relu = train_ann(x_tr, y_tr, hidden=(32,), epochs=3)
    rate = train_ann(x_tr, y_tr, hidden=(32,), epochs=3, activation="rate")
    for a, b in zip(relu.weights + relu.biases, rate.weights + rate.biases):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_training_divergence_is_reported(digits):
    x_tr, y_tr, _, _ = digits
    with np.errstate(all="ignore"), pytest.raises(
        ParameterError, match=r"training diverged at epoch 1, batch at sample \d+ .*lower "
                              r"learning_rate \(now 10000"
    ):
        train_ann(x_tr, y_tr, hidden=(64,), epochs=2, activation="accumulator",
                  learning_rate=1e4)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(epochs=0), ParameterError, "epochs must be an integer >= 1"),
        (dict(learning_rate=0.0), ParameterError, "learning_rate must be > 0"),
        (dict(momentum=1.0), ParameterError, r"momentum must be in \[0, 1\)"),
        (dict(momentum=-0.1), ParameterError, r"momentum must be in \[0, 1\)"),
        (dict(batch_size=0), ParameterError, "batch_size must be an integer >= 1"),
        (dict(weight_decay=-1.0), ParameterError, "weight_decay must be >= 0"),
        (dict(hidden=(0,)), ParameterError, "hidden widths must be positive"),
        (dict(activation="tanh"), ParameterError, "unknown activation 'tanh'"),
    ],
)
def test_training_bad_arguments(kwargs, error, message):
    x = np.zeros((6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(error, match=message):
        train_ann(x, y, **kwargs)


def test_training_bad_labels():
    x = np.zeros((6, 3))
    with pytest.raises(ShapeError, match=r"labels must have shape \(6,\).*\(5,\)"):
        train_ann(x, np.zeros(5, dtype=int))
    with pytest.raises(ParameterError, match=r"1 labels are outside 0\.\.1"):
        train_ann(x, np.array([0, 1, 2, 0, 1, 0]), n_classes=2)
    with pytest.raises(ParameterError, match=r"outside 0\.\.2 \(min -1"):
        train_ann(x, np.array([0, 1, 2, 0, 1, -1]))
    with pytest.raises(ParameterError, match="integer class indices"):
        train_ann(x, np.array([0, 0.5, 1, 0, 1, 0]))
    with pytest.raises(ShapeError, match="images must be 2-D"):
        train_ann(np.zeros((6, 2, 2)), np.zeros(6, dtype=int))


# ---------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    ann = ANN(
        weights=(rng.standard_normal((5, 4)), rng.standard_normal((4, 3))),
        biases=(rng.standard_normal(4), rng.standard_normal(3)),
    )
    path = tmp_path / "net.npz"
    save_ann(ann, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]  # no temp file left
    loaded = load_ann(path)
    assert loaded.layer_sizes == ann.layer_sizes
    for a, b in zip(ann.weights + ann.biases, loaded.weights + loaded.biases):
        np.testing.assert_array_equal(a, b)
    assert loaded.activation == "relu" and loaded.activation_params == ()
    save_ann(ann, path)  # overwriting is fine


@pytest.mark.parametrize("name, params", [("rate", {"R": 10, "v_th": 0.25}),
                                          ("accumulator", {"R": 3}), ("relu", None),
                                          ("softlif", {"sigma": 10, "gain": 0.825})])
def test_save_load_round_trip_activation(tmp_path, name, params):
    ann = tiny_ann(activation=name, activation_params=params or ())
    path = tmp_path / "net.npz"
    save_ann(ann, path)
    with np.load(path, allow_pickle=False) as npz:  # the documented keys, no pickles
        # All-dense networks are written as version 2 (readable by older releases).
        assert int(npz["format_version"]) == 2
        assert FORMAT_VERSION == 4
        assert str(npz["activation"]) == name
        assert npz["activation_param_names"].dtype.kind == "U"
        assert list(npz["activation_param_names"]) == [k for k, _ in ann.activation_params]
        np.testing.assert_array_equal(npz["activation_param_values"],
                                      [v for _, v in ann.activation_params])
    loaded = load_ann(path)
    assert loaded.activation == name
    assert loaded.activation_params == ann.activation_params
    x = np.random.default_rng(0).standard_normal((10, 2))
    np.testing.assert_array_equal(loaded.forward(x), ann.forward(x))


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_save_ann_file_mode_follows_umask(tmp_path, umask, mode):
    # The temporary file of the atomic write is created 0600; the result must not stay so.
    old = os.umask(umask)
    try:
        save_ann(tiny_ann(), tmp_path / "net.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "net.npz").st_mode) == mode


def test_load_hand_written_file(tmp_path):
    # The documented format, as another framework would write it.
    path = tmp_path / "other.npz"
    np.savez(path, format_version=1, W0=np.ones((3, 2), np.float32), b0=np.zeros(2))
    assert load_ann(path).layer_sizes == (3, 2)
    assert load_ann(path).activation == "relu"  # version 1 files are ReLU networks
    # Version 2, parameters left out: the activation's defaults.
    np.savez(path, format_version=2, activation="accumulator", W0=np.ones((3, 2)),
             b0=np.zeros(2))
    assert load_ann(path).activation_params == (("R", 1.0), ("v_th", 0.0))
    np.savez(path, format_version=2, activation="rate", activation_param_names=["R"],
             activation_param_values=[10], W0=np.ones((3, 2)), b0=np.zeros(2))
    assert load_ann(path).activation_kwargs == {"R": 10.0, "v_th": 0.0}


def test_load_version_1_trained_file(tmp_path, digits):
    # A file saved before activations were stored (format_version 1) loads as a ReLU net.
    x_tr, y_tr, x_te, _ = digits
    ann = train_ann(x_tr, y_tr, hidden=(16,), epochs=1)
    path = tmp_path / "v1.npz"
    np.savez(path, format_version=1, W0=ann.weights[0], b0=ann.biases[0],
             W1=ann.weights[1], b1=ann.biases[1])
    loaded = load_ann(path)
    assert loaded.activation == "relu"
    np.testing.assert_array_equal(loaded.forward(x_te), ann.forward(x_te))


def test_load_bad_activation_keys(tmp_path):
    path = tmp_path / "act.npz"
    layer = dict(W0=np.ones((3, 2)), b0=np.zeros(2))
    np.savez(path, format_version=2, **layer)
    with pytest.raises(DataError, match=r"act\.npz.*format_version 2.*missing key 'activation'"):
        load_ann(path)
    np.savez(path, format_version=1, activation="rate", **layer)
    with pytest.raises(DataError, match=r"format_version 1 but activation keys \['activation'\]"):
        load_ann(path)
    np.savez(path, format_version=5, activation="relu", **layer)
    with pytest.raises(DataError, match=r"format_version.*reads versions 1 to 4"):
        load_ann(path)
    np.savez(path, format_version=0, activation="relu", **layer)
    with pytest.raises(DataError, match=r"format_version.*reads versions 1 to 4"):
        load_ann(path)
    np.savez(path, format_version=2, activation="relu", activation_param_names=["R"], **layer)
    with pytest.raises(DataError, match="'activation_param_names' and 'activation_param_values' "
                                        "or neither"):
        load_ann(path)
    np.savez(path, format_version=2, activation="rate", activation_param_names=["R", "v_th"],
             activation_param_values=[1.0], **layer)
    with pytest.raises(DataError, match="same length"):
        load_ann(path)
    np.savez(path, format_version=2, activation=np.array(["rate", "relu"]), **layer)
    with pytest.raises(DataError, match="'activation' must be a string scalar"):
        load_ann(path)
    np.savez(path, format_version=2, activation="gelu", **layer)  # swish exists since FS
    with pytest.raises(ParameterError, match=r"act\.npz.*unknown activation 'gelu'"):
        load_ann(path)
    np.savez(path, format_version=2, activation="rate", activation_param_names=["R"],
             activation_param_values=[0.1], **layer)
    with pytest.raises(ParameterError, match=r"act\.npz.*R must be >= 1"):
        load_ann(path)


def test_load_missing_key(tmp_path):
    path = tmp_path / "broken.npz"
    np.savez(path, format_version=1, W0=np.ones((3, 2)), b0=np.zeros(2), W1=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"broken\.npz.*missing key 'b1'"):
        load_ann(path)
    np.savez(path, W0=np.ones((3, 2)), b0=np.zeros(2))
    with pytest.raises(DataError, match="missing key 'format_version'"):
        load_ann(path)
    np.savez(path, format_version=1)
    with pytest.raises(DataError, match="missing key 'W0'"):
        load_ann(path)


def test_load_missing_or_corrupt_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.npz.*does not exist"):
        load_ann(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_ann(bad)


def test_load_invalid_network_names_file(tmp_path):
    path = tmp_path / "nan.npz"
    np.savez(path, format_version=1, W0=np.full((2, 2), np.nan), b0=np.zeros(2))
    with pytest.raises(ParameterError, match=r"nan\.npz.*layer 0: weights contain 4"):
        load_ann(path)


# ---------------------------------------------------------------- sparse weights


def sparse_ann():
    # 6 inputs -> 4 hidden (sparse, with an explicit zero kept) -> 2 outputs (dense).
    rows = np.array([0, 1, 2, 3, 4, 5, 5, 0])
    cols = np.array([0, 1, 2, 3, 0, 1, 3, 2])
    vals = np.array([1.0, -2.0, 0.5, 0.0, 1.5, 0.25, -1.0, 3.0])
    w0 = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(6, 4))
    w1 = np.arange(8.0).reshape(4, 2) - 3
    return ANN(weights=(w0, w1), biases=(np.full(4, 0.1), np.array([0.0, -0.5])))


def test_sparse_weights_stored_as_readonly_csr():
    ann = sparse_ann()
    w = ann.weights[0]
    assert isinstance(w, scipy.sparse.csr_matrix) and w.dtype == np.float64
    assert w.has_canonical_format and w.nnz == 8  # the explicit zero is kept
    assert ann.layer_sizes == (6, 4, 2)
    for arr in (w.data, w.indices, w.indptr):
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        w.data[0] = 5.0
    # Copied: changing the input afterwards does not change the network.
    source = scipy.sparse.csr_matrix(np.eye(3))
    net = ANN(weights=(source,), biases=(np.zeros(3),))
    source.data[:] = 7.0
    assert net.weights[0][0, 0] == 1.0


def test_sparse_forward_matches_dense():
    ann = sparse_ann()
    dense = ANN(weights=(ann.weights[0].toarray(), ann.weights[1]), biases=ann.biases)
    x = np.random.default_rng(0).standard_normal((7, 6))
    out = ann.forward(x)
    assert type(out) is np.ndarray and out.shape == (7, 2)
    np.testing.assert_allclose(out, dense.forward(x), rtol=1e-12, atol=1e-12)
    for a, b in zip(ann.forward(x, all_layers=True), dense.forward(x, all_layers=True)):
        assert type(a) is np.ndarray
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    # Other sparse formats and scipy's sparse arrays are accepted too.
    for fmt in (scipy.sparse.csc_matrix, scipy.sparse.lil_matrix, scipy.sparse.csr_array):
        net = ANN(weights=(fmt(ann.weights[0]), ann.weights[1]), biases=ann.biases)
        assert isinstance(net.weights[0], scipy.sparse.csr_matrix)
        np.testing.assert_allclose(net.forward(x), out, rtol=1e-12, atol=1e-12)


def test_sparse_nan_and_inf():
    w = scipy.sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, np.nan], [np.inf, 0.0]]))
    with pytest.raises(ParameterError,
                       match=r"layer 0: weights contain 2 non-finite.*1 NaN, 1 inf"):
        ANN(weights=(w,), biases=(np.zeros(2),))


def test_sparse_shape_checks():
    w = scipy.sparse.csr_matrix((4, 3))
    with pytest.raises(ShapeError, match=r"layers 0 and 1 do not chain.*\(4, 3\).*\(5, 2\)"):
        ANN(weights=(w, scipy.sparse.csr_matrix((5, 2))), biases=(np.zeros(3), np.zeros(2)))
    with pytest.raises(ShapeError, match=r"layer 0: bias has length 4 .* 3 outputs"):
        ANN(weights=(w,), biases=(np.zeros(4),))
    one_d = scipy.sparse.coo_array(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ShapeError, match="layer 0: weights must be 2-D"):
        ANN(weights=(one_d,), biases=(np.zeros(3),))
    with pytest.raises(ShapeError, match=r"input must have shape \(N, 4\)"):
        ANN(weights=(w,), biases=(np.zeros(3),)).forward(np.ones((2, 3)))


def test_sparse_save_load_round_trip(tmp_path):
    ann = ANN(weights=sparse_ann().weights, biases=sparse_ann().biases, activation="rate",
              activation_params={"R": 4})
    path = tmp_path / "sparse.npz"
    save_ann(ann, path)
    with np.load(path, allow_pickle=False) as npz:
        assert int(npz["format_version"]) == 3  # sparse, no training record
        assert {"W0_data", "W0_indices", "W0_indptr", "W0_shape", "W1"} <= set(npz.files)
        assert "W0" not in npz.files and "W1_data" not in npz.files
        np.testing.assert_array_equal(npz["W0_shape"], [6, 4])
    loaded = load_ann(path)
    w, v = ann.weights[0], loaded.weights[0]
    assert isinstance(v, scipy.sparse.csr_matrix) and v.shape == w.shape
    for attr in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(v, attr), getattr(w, attr))
    assert not v.data.flags.writeable
    np.testing.assert_array_equal(loaded.weights[1], ann.weights[1])
    assert loaded.activation == "rate" and loaded.activation_params == ann.activation_params
    x = np.random.default_rng(1).standard_normal((5, 6))
    np.testing.assert_array_equal(loaded.forward(x), ann.forward(x))


def test_load_bad_sparse_keys(tmp_path):
    path = tmp_path / "sp.npz"
    csr = scipy.sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
    layer = dict(W0_data=csr.data, W0_indices=csr.indices, W0_indptr=csr.indptr,
                 W0_shape=np.array([3, 2]), b0=np.zeros(2))
    np.savez(path, format_version=3, activation="relu", **layer)
    assert load_ann(path).layer_sizes == (3, 2)
    np.savez(path, format_version=2, activation="relu", **layer)
    with pytest.raises(DataError, match=r"format_version 2 but sparse layer keys.*version=3"):
        load_ann(path)
    partial = {k: v for k, v in layer.items() if k != "W0_indptr"}
    np.savez(path, format_version=3, activation="relu", **partial)
    with pytest.raises(DataError, match=r"missing key\(s\) \['W0_indptr'\] of sparse layer 0"):
        load_ann(path)
    np.savez(path, format_version=3, activation="relu", W0=np.ones((3, 2)), **layer)
    with pytest.raises(DataError, match=r"unexpected keys.*\['W0'\] are stored both dense"):
        load_ann(path)
    np.savez(path, format_version=3, activation="relu", **dict(layer, W0_shape=np.array([3])))
    with pytest.raises(DataError, match="W0_shape must be two non-negative integers"):
        load_ann(path)
    bad = dict(layer, W0_indices=np.array([0, 5, 0], dtype=np.int32))
    np.savez(path, format_version=3, activation="relu", **bad)
    with pytest.raises(DataError, match="sparse layer 0 is not a valid CSR matrix"):
        load_ann(path)
    np.savez(path, format_version=3, activation="relu",
             **dict(layer, W0_data=np.array([1.0, np.nan, 3.0])))
    with pytest.raises(ParameterError, match=r"sp\.npz.*layer 0: weights contain 1 non-finite"):
        load_ann(path)
    np.savez(path, format_version=3, activation="relu", W1_data=csr.data, **layer)
    with pytest.raises(DataError, match="missing key 'b1'"):
        load_ann(path)


def test_train_ann_refuses_sparse_images():
    x = scipy.sparse.csr_matrix(np.eye(4))
    with pytest.raises(ShapeError, match=r"dense images.*toarray\(\)"):
        train_ann(x, np.array([0, 1, 0, 1]), hidden=(2,), epochs=1)


def test_training_record_is_kept_saved_and_versioned(tmp_path):
    """train_ann records how it trained (data, samples, epochs, seed, ...); save_ann writes
    it as version 4, load_ann reads it back, and it is not part of the content hash."""
    from brainconv.provenance import ann_hash

    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (40, 4)), rng.integers(0, 3, 40)
    ann = train_ann(x, y, hidden=(5,), epochs=2, seed=7, batch_size=8, data_name="toy")
    record = dict(ann.training)
    assert record["data"] == "toy" and record["seed"] == "7" and record["samples"] == "40"
    assert record["epochs"] == "2" and record["batch_size"] == "8"
    path = tmp_path / "net.npz"
    save_ann(ann, path)
    with np.load(path, allow_pickle=False) as npz:
        assert int(npz["format_version"]) == 4 and npz["training_keys"].dtype.kind == "U"
    back = load_ann(path)
    assert back.training == ann.training
    bare = ANN(ann.weights, ann.biases)
    assert bare.training == () and ann_hash(bare) == ann_hash(ann)
    save_ann(bare, path)
    with np.load(path, allow_pickle=False) as npz:  # without a record: still version 2
        assert int(npz["format_version"]) == 2 and "training_keys" not in npz


def test_training_keys_need_version_4_and_both_arrays(tmp_path):
    path = tmp_path / "bad.npz"
    layer = {"W0": np.ones((3, 2)), "b0": np.zeros(2), "activation": "relu"}
    np.savez(path, format_version=2, training_keys=["data"], training_values=["mnist"], **layer)
    with pytest.raises(DataError, match=r"need format_version 4.*got version 2"):
        load_ann(path)
    np.savez(path, format_version=4, training_keys=["data"], **layer)
    with pytest.raises(DataError, match=r"need format_version 4 and both"):
        load_ann(path)
    np.savez(path, format_version=4, training_keys=["data", "seed"], training_values=["x"],
             **layer)
    with pytest.raises(DataError, match=r"string arrays of one length"):
        load_ann(path)
