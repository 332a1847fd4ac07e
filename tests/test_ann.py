"""Tests for brainconv.ann: validation, forward pass, training, save/load."""

import numpy as np
import pytest

from brainconv.ann import ANN, load_ann, save_ann, train_ann
from brainconv.errors import BrainconvError, DataError, ParameterError, ShapeError


def tiny_ann():
    # 2 inputs -> 3 hidden -> 2 outputs, small enough to check by hand.
    w0 = np.array([[1.0, -1.0, 0.5], [2.0, 1.0, -1.0]])
    b0 = np.array([0.0, 0.5, -0.25])
    w1 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 2.0]])
    b1 = np.array([0.1, -0.1])
    return ANN(weights=(w0, w1), biases=(b0, b1))


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    tr, te = order[:1347], order[1347:]
    return x[tr], y[tr], x[te], y[te]


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
    save_ann(ann, path)  # overwriting is fine


def test_load_hand_written_file(tmp_path):
    # The documented format, as another framework would write it.
    path = tmp_path / "other.npz"
    np.savez(path, format_version=1, W0=np.ones((3, 2), np.float32), b0=np.zeros(2))
    assert load_ann(path).layer_sizes == (3, 2)


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
