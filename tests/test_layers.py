"""Convolution and pooling as sparse connectivity: equal to dense reference convolutions."""

import numpy as np
import pytest

from brainconv.errors import ParameterError, ShapeError
from brainconv.layers import (
    find_conv2d,
    avgpool2d_connectivity,
    avgpool2d_forward,
    conv2d_connectivity,
    conv2d_forward,
    conv2d_output_shape,
    dense_matrix,
    fold_batchnorm,
)


def naive_conv(x, weight, bias, stride, padding):
    """Textbook convolution, one output value at a time (independent of conv2d_forward)."""
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    out = np.zeros((n, c_out, h_out, w_out))
    for b in range(n):
        for o in range(c_out):
            for y in range(h_out):
                for x_ in range(w_out):
                    total = bias[o]
                    for c in range(c_in):
                        for ky in range(k):
                            for kx in range(k):
                                iy, ix = y * stride - padding + ky, x_ * stride - padding + kx
                                if 0 <= iy < h and 0 <= ix < w:
                                    total += weight[o, c, ky, kx] * x[b, c, iy, ix]
                    out[b, o, y, x_] = total
    return out


def unrolled(x, connectivity, out_shape):
    """Apply a connection list as a dense matrix to a batch of (N, C, H, W) inputs."""
    n_pre, n_post = int(np.prod(x.shape[1:])), int(np.prod(out_shape))
    matrix = dense_matrix(*connectivity, n_pre, n_post)
    return (x.reshape(len(x), -1) @ matrix).reshape((len(x),) + tuple(out_shape))


@pytest.mark.parametrize("in_shape, c_out, k, stride, padding", [
    ((2, 7, 6), 3, 3, 1, 0),
    ((2, 7, 6), 3, 3, 1, 1),
    ((2, 7, 6), 3, 3, 2, 0),
    ((2, 7, 6), 3, 3, 2, 1),
    ((1, 5, 5), 4, 1, 1, 0),
    ((3, 8, 9), 2, 5, 3, 2),
    ((4, 4, 4), 1, 4, 1, 0),   # kernel as large as the input: one output pixel
    ((1, 3, 3), 2, 5, 1, 1),   # kernel only fits the padded input
])
def test_conv_connectivity_equals_dense_convolution(in_shape, c_out, k, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5,) + in_shape)
    weight = rng.normal(size=(c_out, in_shape[0], k, k))
    bias = rng.normal(size=c_out)
    out_shape = conv2d_output_shape(in_shape, c_out, k, stride, padding)

    connectivity = conv2d_connectivity(in_shape, weight, stride, padding)
    pre, post, w = connectivity
    assert (pre.dtype, post.dtype, w.dtype) == (np.int64, np.int64, np.float64)
    assert pre.shape == post.shape == w.shape
    assert len(set(zip(pre.tolist(), post.tolist()))) == pre.size  # no duplicate synapse

    expected = conv2d_forward(x, weight, bias, stride, padding)
    assert expected.shape[1:] == out_shape
    sparse = unrolled(x, connectivity, out_shape) + bias[:, None, None]
    np.testing.assert_allclose(sparse, expected, atol=1e-12)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 1), (2, 1)])
def test_conv_forward_equals_naive_loops(stride, padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 2, 5, 4))
    weight = rng.normal(size=(3, 2, 3, 3))
    bias = rng.normal(size=3)
    expected = naive_conv(x, weight, bias, stride, padding)
    np.testing.assert_allclose(conv2d_forward(x, weight, bias, stride, padding), expected,
                               atol=1e-12)
    sparse = unrolled(x, conv2d_connectivity((2, 5, 4), weight, stride, padding),
                      expected.shape[1:])
    np.testing.assert_allclose(sparse + bias[:, None, None], expected, atol=1e-12)


def test_padding_has_no_connections():
    # 1 channel, 3x3 input, 3x3 kernel, padding 1: the centre output sees all 9 inputs, a
    # corner output only 4; 4 corners * 4 + 4 edges * 6 + 9 = 49 connections.
    pre, post, _ = conv2d_connectivity((1, 3, 3), np.ones((1, 1, 3, 3)), padding=1)
    assert pre.size == 49
    np.testing.assert_array_equal(np.bincount(post), [4, 6, 4, 6, 9, 6, 4, 6, 4])
    assert pre.min() >= 0 and pre.max() < 9


@pytest.mark.parametrize("in_shape, k, stride", [
    ((2, 6, 6), 2, None),
    ((3, 7, 5), 2, None),   # odd sizes: the last row/column is dropped, as in PyTorch
    ((2, 7, 7), 3, 2),      # overlapping windows
    ((1, 5, 6), 3, 1),
])
def test_avgpool_connectivity_equals_forward(in_shape, k, stride):
    x = np.random.default_rng(2).normal(size=(4,) + in_shape)
    expected = avgpool2d_forward(x, k, stride)
    out_shape = conv2d_output_shape(in_shape, in_shape[0], k, k if stride is None else stride)
    assert expected.shape[1:] == out_shape
    connectivity = avgpool2d_connectivity(in_shape, k, stride)
    np.testing.assert_allclose(connectivity[2], 1 / k**2)
    np.testing.assert_allclose(unrolled(x, connectivity, out_shape), expected, atol=1e-12)


def test_avgpool_forward_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_allclose(avgpool2d_forward(x, 2), [[[[2.5, 4.5], [10.5, 12.5]]]])


@pytest.mark.parametrize("in_shape, c_out, k, stride, padding, expected", [
    ((3, 32, 32), 16, 3, 1, 1, (16, 32, 32)),
    ((3, 32, 32), 16, 3, 2, 1, (16, 16, 16)),
    ((1, 28, 28), 8, 5, 1, 0, (8, 24, 24)),
    ((2, 7, 6), 3, (3, 3), 2, 0, (3, 3, 2)),
    ((2, 7, 6), 3, 6, 1, 0, (3, 2, 1)),
    ((2, 7, 6), 3, 8, 1, 1, (3, 2, 1)),
])
def test_output_shape(in_shape, c_out, k, stride, padding, expected):
    assert conv2d_output_shape(in_shape, c_out, k, stride, padding) == expected


def bn_params(rng, n):
    return (rng.normal(size=n), rng.normal(size=n), rng.normal(size=n),
            rng.uniform(0.1, 2.0, size=n))


def batchnorm(z, gamma, beta, mean, var, eps, axis):
    shape = [1] * z.ndim
    shape[axis] = -1
    r = lambda a: np.reshape(a, shape)  # noqa: E731
    return (z - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


@pytest.mark.parametrize("with_bias", [True, False])
def test_fold_batchnorm_conv(with_bias):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 2, 6, 5))
    weight = rng.normal(size=(4, 2, 3, 3))
    bias = rng.normal(size=4) if with_bias else None
    params = bn_params(rng, 4)
    expected = batchnorm(conv2d_forward(x, weight, bias, 1, 1), *params, 1e-3, axis=1)
    folded_w, folded_b = fold_batchnorm(weight, bias, *params, eps=1e-3)
    np.testing.assert_allclose(conv2d_forward(x, folded_w, folded_b, 1, 1), expected,
                               atol=1e-12)


def test_fold_batchnorm_linear():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(7, 5))
    weight, bias = rng.normal(size=(3, 5)), rng.normal(size=3)  # PyTorch (out, in)
    params = bn_params(rng, 3)
    expected = batchnorm(x @ weight.T + bias, *params, 1e-5, axis=1)
    folded_w, folded_b = fold_batchnorm(weight, bias, *params)
    np.testing.assert_allclose(x @ folded_w.T + folded_b, expected, atol=1e-12)


def test_dense_matrix_sums_duplicates():
    matrix = dense_matrix([0, 0, 1], [1, 1, 0], [0.5, 0.25, 2.0], 2, 3)
    np.testing.assert_array_equal(matrix, [[0, 0.75, 0], [2.0, 0, 0]])


# --------------------------------------------------------------------------- errors

W = np.zeros((3, 2, 3, 3))


@pytest.mark.parametrize("call, error, message", [
    (lambda: conv2d_output_shape((2, 7, 6), 3, (3, 2)), ShapeError,
     "non-square kernels are not supported"),
    (lambda: conv2d_connectivity((2, 7, 6), np.zeros((3, 2, 3, 2))), ShapeError,
     "non-square kernels.*not supported"),
    (lambda: conv2d_connectivity((4, 7, 6), W), ShapeError,
     r"2 input channels.*in_shape \(4, 7, 6\) has 4"),
    (lambda: conv2d_connectivity((2, 2, 6), W), ShapeError,
     "kernel_size 3 is larger than the padded input 2x6"),
    (lambda: conv2d_output_shape((2, 7, 6), 3, 7), ShapeError,  # fits the height only
     "kernel_size 7 is larger than the padded input 7x6"),
    (lambda: conv2d_connectivity((2, 7, 6), np.zeros((3, 2, 3))), ShapeError,
     r"4 dimensions \(C_out, C_in, k, k\)"),
    (lambda: conv2d_connectivity((2, 7, 6), np.where(np.eye(3), np.nan, W)), ParameterError,
     "conv weight contains 18 NaN or infinite"),
    (lambda: conv2d_connectivity((2, 7, 6), W, stride=0), ParameterError,
     "stride must be an integer >= 1, got 0"),
    (lambda: conv2d_connectivity((2, 7, 6), W, stride=1.5), ParameterError,
     r"stride must be an integer >= 1, got 1\.5"),
    (lambda: conv2d_connectivity((2, 7, 6), W, stride=(1, 2)), ShapeError,
     "unequal stride pairs are not supported"),
    (lambda: conv2d_connectivity((2, 7, 6), W, padding=-1), ParameterError,
     "padding must be an integer >= 0, got -1"),
    (lambda: conv2d_connectivity((2, 7), W), ShapeError,
     r"in_shape must be \(channels, height, width\)"),
    (lambda: avgpool2d_connectivity((2, 3, 3), 4), ShapeError,
     "kernel_size 4 is larger than the padded input 3x3"),
    (lambda: avgpool2d_forward(np.zeros((2, 6, 6)), 2), ShapeError,
     r"\(N, C, H, W\), got \(2, 6, 6\)"),
    (lambda: conv2d_forward(np.zeros((1, 3, 7, 6)), W), ShapeError,
     "x has 3 channels"),
    (lambda: fold_batchnorm(np.zeros((3, 5)), None, np.ones(4), np.ones(3), np.ones(3),
                            np.ones(3)), ShapeError, r"gamma must have shape \(3,\)"),
    (lambda: fold_batchnorm(np.zeros((3, 5)), None, np.ones(3), np.ones(3), np.ones(3),
                            -np.ones(3)), ParameterError, "running_var \\+ eps must be > 0"),
    (lambda: dense_matrix([0, 5], [0, 0], [1.0, 1.0], 3, 1), ShapeError,
     r"pre indices must lie in \[0, 3\)"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, 2)])
def test_find_conv2d_reads_back_kernel_geometry_and_bias(stride, padding):
    import scipy.sparse

    rng = np.random.default_rng(stride + padding)
    kernel = rng.normal(size=(3, 2, 3, 3))
    pre, post, w = conv2d_connectivity((2, 7, 7), kernel, stride, padding)
    c_out, h, w_out = conv2d_output_shape((2, 7, 7), 3, 3, stride, padding)
    matrix = scipy.sparse.csr_matrix((w, (pre, post)), shape=(98, c_out * h * w_out))
    found = find_conv2d(matrix, np.repeat([0.5, -1.0, 2.0], h * w_out), (2, 7, 7))
    np.testing.assert_array_equal(found["kernel"], kernel)
    assert (found["stride"], found["padding"], found["out_shape"]) == (stride, padding,
                                                                       (c_out, h, w_out))
    np.testing.assert_array_equal(found["bias"], [0.5, -1.0, 2.0])
    untied = matrix.copy()
    untied.data[0] += 1.0  # one copy of a kernel entry no longer equal to the others
    assert find_conv2d(untied, np.zeros(matrix.shape[1]), (2, 7, 7)) is None
    assert find_conv2d(matrix, rng.normal(size=matrix.shape[1]), (2, 7, 7)) is None
