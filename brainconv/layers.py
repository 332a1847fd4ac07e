"""Convolution and pooling layers as sparse connectivity, plus numpy reference forward passes.

A spiking network connects neuron to neuron, so a convolution becomes a list of synapses:
index arrays ``pre`` and ``post`` and the weight ``w`` of each connection, ready for Brian2's
``Synapses.connect(i=pre, j=post)``. Everything is built with broadcasting, one vectorized step
per kernel offset ``(ky, kx)``, so a layer of 10^7 connections builds in seconds.

Layout
------
Activations of one sample are flattened in C order from ``(channels, height, width)``::

    index = c * H * W + y * W + x

which is PyTorch's NCHW without the batch dimension. Weights use PyTorch layouts: a
convolution's weight is ``(C_out, C_in, k, k)``, a linear layer's ``(out, in)``. Only square
kernels and equal vertical/horizontal stride and padding are supported; pooling follows
``torch.nn.AvgPool2d`` with no padding and ``ceil_mode=False``.

With ``dense = dense_matrix(pre, post, w, n_pre, n_post)`` a convolution of a batch ``x`` of
shape ``(N, C, H, W)`` is ``x.reshape(N, -1) @ dense`` plus the bias repeated over each output
channel's ``H_out * W_out`` pixels.
"""

from __future__ import annotations

import operator

import numpy as np

from brainconv.errors import ParameterError, ShapeError

__all__ = [
    "avgpool2d_connectivity",
    "avgpool2d_forward",
    "conv2d_connectivity",
    "conv2d_forward",
    "conv2d_output_shape",
    "dense_matrix",
    "find_conv2d",
    "fold_batchnorm",
]


# --------------------------------------------------------------------------- validation


def _int(name, value, minimum):
    """``value`` as a Python int >= ``minimum``, or ParameterError."""
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        number = operator.index(value)  # ints and numpy integers, not floats
    except TypeError:
        raise ParameterError(
            f"{name} must be an integer >= {minimum}, got {value!r} "
            f"({type(value).__name__}); pass e.g. {name}={max(minimum, 1)}"
        ) from None
    if number < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {number}")
    return number


def _square(name, value, minimum):
    """An int, or an ``(a, a)`` pair, as one int; unequal pairs raise ShapeError."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ShapeError(f"{name} must be an int or a pair (a, a), got {value!r}")
        first, second = (_int(name, v, minimum) for v in value)
        if first != second:
            what = "non-square kernels" if name == "kernel_size" else f"unequal {name} pairs"
            raise ShapeError(
                f"{name}={tuple(value)!r}: {what} are not supported; "
                f"use the same value for height and width, e.g. {name}={first}"
            )
        return first
    return _int(name, value, minimum)


def _in_shape(in_shape):
    """``(C, H, W)`` as a tuple of positive ints, or ShapeError."""
    try:
        shape = tuple(operator.index(n) for n in in_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ShapeError(
            f"in_shape must be (channels, height, width) of positive ints, got {in_shape!r}"
        )
    return shape


def _finite(name, array):
    """``array`` as float64, or ParameterError if it holds NaN or inf."""
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ParameterError(
            f"{name} contains {bad} NaN or infinite value(s); the trained model is broken "
            "(diverged training or a bad checkpoint): retrain or reload it"
        )
    return array


def _conv_weight(weight):
    """A finite ``(C_out, C_in, k, k)`` float64 weight, or ShapeError / ParameterError."""
    weight = np.asarray(weight)
    if weight.ndim != 4:
        raise ShapeError(
            f"conv weight must have 4 dimensions (C_out, C_in, k, k) as in PyTorch's "
            f"Conv2d.weight, got shape {weight.shape}"
        )
    if weight.shape[2] != weight.shape[3]:
        raise ShapeError(
            f"conv weight has shape {weight.shape}: non-square kernels "
            f"({weight.shape[2]}x{weight.shape[3]}) are not supported; use a k x k kernel"
        )
    return _finite("conv weight", weight)


def _pool_geometry(in_shape, kernel_size, stride):
    """Validated ``(C, H, W), k, s, (H_out, W_out)`` of an average pooling layer."""
    k = _square("kernel_size", kernel_size, 1)
    s = k if stride is None else _square("stride", stride, 1)
    _, h_out, w_out = conv2d_output_shape(in_shape, 1, k, s, 0)
    return _in_shape(in_shape), k, s, (h_out, w_out)


# --------------------------------------------------------------------------- shapes


def conv2d_output_shape(in_shape, out_channels, kernel_size, stride=1, padding=0):
    """Shape of a 2-D convolution's (or pooling's) output, as in PyTorch.

    ``H_out = (H + 2 * padding - k) // stride + 1``, and likewise for the width.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C_in, H, W)``.
    out_channels : int
    kernel_size : int or (int, int)
        ``k`` or ``(k, k)``; non-square kernels are not supported.
    stride : int or (int, int)
    padding : int or (int, int)
        Zero padding on each side, >= 0.

    Returns
    -------
    tuple of int
        ``(C_out, H_out, W_out)``.

    Raises
    ------
    ShapeError
        Bad ``in_shape``, a non-square kernel, or a kernel larger than the padded input.
    ParameterError
        A non-integer or non-positive size, stride or padding.
    """
    _, h, w = _in_shape(in_shape)
    out_channels = _int("out_channels", out_channels, 1)
    k = _square("kernel_size", kernel_size, 1)
    s = _square("stride", stride, 1)
    p = _square("padding", padding, 0)
    if k > min(h, w) + 2 * p:
        raise ShapeError(
            f"kernel_size {k} is larger than the padded input {h + 2 * p}x{w + 2 * p} "
            f"(in_shape {tuple(in_shape)}, padding {p}); use a smaller kernel or more padding"
        )
    return out_channels, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1


# --------------------------------------------------------------------------- connectivity


def _offset_positions(size_in, size_out, stride, padding, offset):
    """Output positions whose input ``o * stride - padding + offset`` lies inside the input.

    Returns the valid output positions and the input position each one reads.
    """
    inputs = np.arange(size_out) * stride - padding + offset
    valid = (inputs >= 0) & (inputs < size_in)
    return np.flatnonzero(valid), inputs[valid]


def conv2d_connectivity(in_shape, weight, stride=1, padding=0):
    """Synapses of a 2-D convolution: one per (output unit, input unit in its receptive field).

    Zero padding has no neuron, so a receptive field that overlaps the padding simply has
    fewer connections. Weights that happen to be zero are kept (the structure depends only on
    the shapes). Each ``(pre, post)`` pair occurs once. Connections come grouped by kernel
    offset ``(ky, kx)``, then in C order of ``(C_out, C_in, y_out, x_out)``; callers should not
    rely on any other order.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C_in, H, W)`` of the input activations.
    weight : array_like, shape (C_out, C_in, k, k)
        PyTorch's ``Conv2d.weight`` layout.
    stride : int or (int, int)
    padding : int or (int, int)

    Returns
    -------
    pre : ndarray of int64
        Flat input index ``c * H * W + y * W + x`` of each connection.
    post : ndarray of int64
        Flat output index ``c * H_out * W_out + y * W_out + x``.
    w : ndarray of float64
        Weight of each connection.

    Raises
    ------
    ShapeError
        Weight not 4-D, non-square kernel, ``C_in`` not equal to ``in_shape[0]``, or a
        kernel larger than the padded input.
    ParameterError
        NaN or infinite weights, or a bad stride or padding.

    Notes
    -----
    Memory is 24 bytes per connection (two int64 arrays and one float64 array), filled in
    place, so ~4e7 connections need ~1 GB.
    """
    weight = _conv_weight(weight)
    c_in, h, w_in = _in_shape(in_shape)
    c_out, weight_c_in, k, _ = weight.shape
    if weight_c_in != c_in:
        raise ShapeError(
            f"conv weight has shape {weight.shape}, i.e. {weight_c_in} input channels, but "
            f"in_shape {tuple(in_shape)} has {c_in}; pass the in_shape of the layer below "
            "(channels first, NCHW without the batch dimension)"
        )
    _, h_out, w_out = conv2d_output_shape(in_shape, c_out, k, stride, padding)
    s, p = _square("stride", stride, 1), _square("padding", padding, 0)

    offsets = [
        (ky, kx, _offset_positions(h, h_out, s, p, ky), _offset_positions(w_in, w_out, s, p, kx))
        for ky in range(k) for kx in range(k)
    ]
    total = sum(c_out * c_in * ys[0].size * xs[0].size for _, _, ys, xs in offsets)
    pre = np.empty(total, dtype=np.int64)
    post = np.empty(total, dtype=np.int64)
    w = np.empty(total, dtype=np.float64)

    # Every block is an outer sum over (C_out, C_in, y_out, x_out), broadcast straight into
    # its slice of the output so no full-size temporary is ever made.
    in_channel = (np.arange(c_in, dtype=np.int64) * (h * w_in))[None, :, None, None]
    out_channel = (np.arange(c_out, dtype=np.int64) * (h_out * w_out))[:, None, None, None]
    start = 0
    for ky, kx, (oy, iy), (ox, ix) in offsets:
        block = (c_out, c_in, oy.size, ox.size)
        stop = start + int(np.prod(block))
        if stop == start:
            continue
        pre_rows = iy[None, None, :, None] * w_in + ix[None, None, None, :]
        post_rows = oy[None, None, :, None] * w_out + ox[None, None, None, :]
        np.add(in_channel, pre_rows, out=pre[start:stop].reshape(block))
        np.add(out_channel, post_rows, out=post[start:stop].reshape(block))
        w[start:stop].reshape(block)[...] = weight[:, :, ky, kx][:, :, None, None]
        start = stop
    return pre, post, w


def avgpool2d_connectivity(in_shape, kernel_size, stride=None):
    """Synapses of a 2-D average pooling layer (``torch.nn.AvgPool2d``, no padding).

    Each channel is pooled separately: output ``(c, y, x)`` receives weight ``1 / k**2`` from
    every input of channel ``c`` in its ``k x k`` window. Connections come grouped by window
    offset, then in C order of ``(C, y_out, x_out)``.

    Parameters
    ----------
    in_shape : tuple of int
        ``(C, H, W)``.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``, as in PyTorch.

    Returns
    -------
    pre, post : ndarray of int64
    w : ndarray of float64
        See :func:`conv2d_connectivity`; the output has shape ``(C, H_out, W_out)``.

    Raises
    ------
    ShapeError
        Bad ``in_shape``, a non-square kernel, or a kernel larger than the input.
    ParameterError
        A non-integer or non-positive kernel size or stride.
    """
    (c, h, w_in), k, s, (h_out, w_out) = _pool_geometry(in_shape, kernel_size, stride)
    block = (c, h_out, w_out)
    size = c * h_out * w_out
    pre = np.empty(k * k * size, dtype=np.int64)
    # No padding, so every window is complete and every offset gives the same post block.
    post = np.tile(np.arange(size, dtype=np.int64), k * k)
    channel = (np.arange(c, dtype=np.int64) * (h * w_in))[:, None, None]
    y0 = np.arange(h_out, dtype=np.int64) * s
    x0 = np.arange(w_out, dtype=np.int64) * s
    for index, (ky, kx) in enumerate((ky, kx) for ky in range(k) for kx in range(k)):
        rows = (y0 + ky)[:, None] * w_in + (x0 + kx)[None, :]
        np.add(channel, rows[None], out=pre[index * size:(index + 1) * size].reshape(block))
    return pre, post, np.full(pre.size, 1.0 / (k * k))


def dense_matrix(pre, post, w, n_pre, n_post):
    """The dense ``(n_pre, n_post)`` weight matrix of a connection list; duplicates are summed.

    Meant for tests and small layers: the result has ``n_pre * n_post`` entries.

    Parameters
    ----------
    pre, post : array_like of int
        Indices of equal length, ``0 <= pre < n_pre`` and ``0 <= post < n_post``.
    w : array_like of float
        Weight of each connection.
    n_pre, n_post : int

    Returns
    -------
    ndarray, shape (n_pre, n_post)
        ``matrix[i, j]`` is the summed weight from ``i`` to ``j``, so ``x @ matrix`` is the
        layer's input current.

    Raises
    ------
    ShapeError
        Arrays of different lengths or indices out of range.
    """
    pre, post, w = (np.asarray(a).ravel() for a in (pre, post, w))
    n_pre, n_post = _int("n_pre", n_pre, 0), _int("n_post", n_post, 0)
    if not pre.size == post.size == w.size:
        raise ShapeError(
            f"pre, post and w must have the same length, got {pre.size}, {post.size} and "
            f"{w.size}; pass the three arrays returned by one *_connectivity call"
        )
    for name, index, n in (("pre", pre, n_pre), ("post", post, n_post)):
        if index.size and (index.min() < 0 or index.max() >= n):
            raise ShapeError(
                f"{name} indices must lie in [0, {n}), got [{index.min()}, {index.max()}]; "
                f"check n_{name}"
            )
    flat = pre.astype(np.int64) * n_post + post
    return np.bincount(flat, weights=w, minlength=n_pre * n_post).reshape(n_pre, n_post)


def find_conv2d(weights, bias, in_shape):
    """The convolution whose connections are exactly ``weights`` on an input of ``in_shape``
    ``(C, H, W)`` and whose bias is one value per output channel, or None when there is none.

    The geometry is searched (square kernel ``k``, stride ``s <= k``, padding ``p < k``, the
    output channels from the size), the kernel read from one output position whose field lies
    inside the input, and a candidate kept only if :func:`conv2d_connectivity` builds the same
    matrix from it, entry for entry. An average pooling folded into a convolution is found as
    one: a larger kernel with the pooling's stride. A layer with one output position is any
    dense layer and is not reported as a convolution.

    Parameters
    ----------
    weights : scipy.sparse matrix or ndarray, shape (C * H * W, n_out)
    bias : array_like, shape (n_out,)
    in_shape : tuple of int

    Returns
    -------
    dict or None
        ``kernel`` ``(C_out, C, k, k)``, ``stride``, ``padding``, ``bias`` ``(C_out,)`` and
        ``out_shape`` ``(C_out, H_out, W_out)``.
    """
    import scipy.sparse

    weights = scipy.sparse.csr_matrix(weights)
    channels, height, width = _in_shape(in_shape)
    size = weights.shape[1]
    if weights.shape[0] != channels * height * width:
        return None
    for k in range(1, min(height, width) + 1):
        for s in range(1, k + 1):
            for p in range(k):
                rows_out, cols_out = (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1
                positions = rows_out * cols_out
                if min(rows_out, cols_out) < 1 or positions == 1 or size % positions:
                    continue
                out_channels = size // positions
                y0 = x0 = -(-p // s)  # the first output whose field starts inside the input
                if y0 >= rows_out or x0 >= cols_out or y0 * s - p + k > height \
                        or x0 * s - p + k > width:
                    continue
                c, a, b = np.meshgrid(np.arange(channels), np.arange(k), np.arange(k),
                                      indexing="ij")
                rows = (c * height * width + (y0 * s - p + a) * width + (x0 * s - p + b)).ravel()
                cols = np.arange(out_channels) * positions + y0 * cols_out + x0
                kernel = weights[rows][:, cols].toarray().T.reshape(out_channels, channels, k, k)
                pre, post, w = conv2d_connectivity((channels, height, width), kernel, s, p)
                candidate = scipy.sparse.csr_matrix((w, (pre, post)), shape=weights.shape)
                if (candidate - weights).count_nonzero():
                    continue
                per_channel = np.asarray(bias, dtype=float).reshape(out_channels, positions)
                if np.any(per_channel != per_channel[:, :1]):
                    return None
                return {"kernel": kernel, "stride": s, "padding": p,
                        "bias": per_channel[:, 0].copy(),
                        "out_shape": (out_channels, rows_out, cols_out)}
    return None


# --------------------------------------------------------------------------- batch norm


def fold_batchnorm(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
    """Fold an eval-mode BatchNorm into the conv or linear layer in front of it.

    With ``scale = gamma / sqrt(running_var + eps)`` per output channel::

        weight' = weight * scale        bias' = (bias - running_mean) * scale + beta

    so that ``BN(layer(x)) == layer'(x)`` with the running statistics frozen.

    Parameters
    ----------
    weight : array_like
        ``(C_out, C_in, k, k)`` (Conv2d) or ``(out, in)`` (Linear), PyTorch layouts, so the
        first axis is the output channel. Note that :class:`brainconv.ann.ANN` stores dense
        weights transposed, ``(in, out)``: transpose before and after folding.
    bias : array_like of shape (C_out,) or None
        None (a layer with ``bias=False``) counts as zeros.
    gamma, beta, running_mean, running_var : array_like of shape (C_out,)
        BatchNorm's ``weight``, ``bias``, ``running_mean`` and ``running_var``.
    eps : float
        BatchNorm's ``eps``.

    Returns
    -------
    weight, bias : ndarray of float64

    Raises
    ------
    ShapeError
        Weight not 2-D or 4-D, or a parameter not of shape ``(C_out,)``.
    ParameterError
        NaN or infinite values, ``eps < 0`` or ``running_var + eps <= 0``.
    """
    weight = np.asarray(weight)
    if weight.ndim not in (2, 4):
        raise ShapeError(
            f"fold_batchnorm: weight must be (out, in) (Linear) or (C_out, C_in, k, k) "
            f"(Conv2d), got shape {weight.shape}"
        )
    weight = _finite("fold_batchnorm weight", weight)
    n_out = weight.shape[0]
    params = {"bias": np.zeros(n_out) if bias is None else bias, "gamma": gamma,
              "beta": beta, "running_mean": running_mean, "running_var": running_var}
    for name, value in params.items():
        params[name] = _finite(f"fold_batchnorm {name}", value)
        if params[name].shape != (n_out,):
            raise ShapeError(
                f"fold_batchnorm: {name} must have shape ({n_out},) to match weight "
                f"{weight.shape}, got {params[name].shape}; the BatchNorm must follow this "
                "layer directly"
            )
    eps = float(eps)
    if not (np.isfinite(eps) and eps >= 0):
        raise ParameterError(f"fold_batchnorm: eps must be >= 0, got {eps}; PyTorch uses 1e-5")
    var = params["running_var"] + eps
    if np.any(var <= 0):
        raise ParameterError(
            f"fold_batchnorm: running_var + eps must be > 0, got min {var.min()}; "
            "running_var should be a variance (>= 0) from a model in eval mode"
        )
    scale = params["gamma"] / np.sqrt(var)
    new_weight = weight * scale.reshape((n_out,) + (1,) * (weight.ndim - 1))
    new_bias = (params["bias"] - params["running_mean"]) * scale + params["beta"]
    return new_weight, new_bias


# --------------------------------------------------------------------------- forward passes


def _batch(x, name):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise ShapeError(
            f"{name}: x must have shape (N, C, H, W), got {x.shape}; add a batch axis with "
            "x[None] for one sample, or reshape flat inputs to (N, C, H, W)"
        )
    return x


def _windows(x, k, s, out_h, out_w):
    """For each kernel offset, the strided view ``x[..., ky + s*i, kx + s*j]``."""
    for ky in range(k):
        for kx in range(k):
            yield ky, kx, x[:, :, ky:ky + s * (out_h - 1) + 1:s, kx:kx + s * (out_w - 1) + 1:s]


def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """Reference 2-D convolution (cross-correlation, as PyTorch's ``Conv2d``) in numpy.

    Parameters
    ----------
    x : array_like, shape (N, C_in, H, W)
    weight : array_like, shape (C_out, C_in, k, k)
    bias : array_like of shape (C_out,), optional
    stride : int or (int, int)
    padding : int or (int, int)
        Zero padding on each side.

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out)

    Raises
    ------
    ShapeError, ParameterError
        As :func:`conv2d_connectivity`, plus a bad ``x`` or ``bias`` shape.
    """
    x = _batch(x, "conv2d_forward")
    weight = _conv_weight(weight)
    c_out, c_in, k, _ = weight.shape
    if x.shape[1] != c_in:
        raise ShapeError(
            f"conv2d_forward: x has {x.shape[1]} channels (shape {x.shape}) but weight "
            f"{weight.shape} expects {c_in}; x must be (N, C, H, W), channels first"
        )
    _, h_out, w_out = conv2d_output_shape(x.shape[1:], c_out, k, stride, padding)
    s, p = _square("stride", stride, 1), _square("padding", padding, 0)
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((x.shape[0], c_out, h_out, w_out))
    for ky, kx, window in _windows(padded, k, s, h_out, w_out):
        out += np.einsum("nchw,oc->nohw", window, weight[:, :, ky, kx], optimize=True)
    if bias is not None:
        bias = _finite("conv2d_forward bias", bias)
        if bias.shape != (c_out,):
            raise ShapeError(
                f"conv2d_forward: bias must have shape ({c_out},), got {bias.shape}"
            )
        out += bias[:, None, None]
    return out


def avgpool2d_forward(x, kernel_size, stride=None):
    """Reference 2-D average pooling (``torch.nn.AvgPool2d``, no padding) in numpy.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out)
    """
    x = _batch(x, "avgpool2d_forward")
    _, k, s, (h_out, w_out) = _pool_geometry(x.shape[1:], kernel_size, stride)
    out = np.zeros(x.shape[:2] + (h_out, w_out))
    for _, _, window in _windows(x, k, s, h_out, w_out):
        out += window
    return out / (k * k)
