"""Import a trained PyTorch model as a brainconv :class:`~brainconv.ann.ANN`.

PyTorch is optional: it is imported only inside the functions of this module, and no other
brainconv module imports this one, so ``import brainconv`` never needs it.

    >>> ann = from_torch(model, input_shape=(1, 28, 28))      # doctest: +SKIP
    >>> save_ann(ann, "net.npz")                              # doctest: +SKIP

What can be imported
--------------------
A model is read as the chain of its leaf modules, in the order of ``model.children()``, walking
nested containers (``nn.Sequential``, or any module with children) depth-first. That chain must
be what the model's ``forward`` computes: an ``nn.Sequential`` always qualifies, and so does a
custom module whose ``forward`` just applies its children one after the other. Anything else
(a skip connection, a child applied twice or not at all, ``F.relu`` called inside ``forward``)
cannot be seen from the module tree, which is why :func:`from_torch` runs the model and the
imported network on random inputs and raises :class:`~brainconv.errors.ModelError` if they
disagree (``check=True``, the default).

Supported leaves, with the model read in eval mode (running BatchNorm statistics, no
dropout) whatever its ``training`` flag:

==================  ==============================================================================
``Conv2d``          square kernel, equal stride and padding pairs (or ``padding="valid"``, or
                    ``"same"`` with an odd kernel), ``padding_mode="zeros"``, ``dilation=1``,
                    ``groups=1``, with or without bias. Becomes a sparse layer.
``Linear``          with or without bias. Becomes a dense layer.
``BatchNorm2d/1d``  directly after a ``Conv2d`` (2d) or ``Linear`` (1d), ``Identity`` and dropout
                    in between allowed; folded into that layer (:func:`layers.fold_batchnorm`).
                    Needs running statistics (``track_running_stats=True``).
``AvgPool2d``       ``padding=0``, ``ceil_mode=False``, no ``divisor_override``; folded into the
                    weight layer of its segment (see below).
``ReLU``            required after every weight layer except the last (or ``SoftLIF``).
``SoftLIF``         :class:`brainconv.torch_softlif.SoftLIF` in place of every ``ReLU``, all with
                    the same parameters: the ANN gets the ``"softlif"`` activation with them,
                    and converts to ``lif_rc`` neurons (Hunsberger & Eliasmith).
``Flatten``         ``start_dim=1, end_dim=-1`` (the defaults); C-order, like brainconv's layout.
``Dropout``         (and ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``) and
``Identity``        ignored: they are the identity at inference.
==================  ==============================================================================

``MaxPool2d`` is refused: max pooling has no rate-code equivalent in this converter (the
maximum of firing rates is not a weighted sum of them); train with ``nn.AvgPool2d`` instead.

Mapping
-------
The :class:`~brainconv.ann.ANN` applies ReLU after every layer except the last, whose output is
linear. The chain is therefore cut at its ``ReLU`` modules into segments, and each segment must
hold exactly one weight layer (``Conv2d`` or ``Linear``); everything else in it (BatchNorm,
average pooling, flatten) is linear and is composed with that weight layer into one ANN layer
``x -> x @ W + b``:

* a ``Conv2d`` gives ``scipy.sparse.csr_matrix`` weights of shape ``(C*H*W, C_out*H_out*W_out)``
  built by :func:`brainconv.layers.conv2d_connectivity`, and its bias repeated over each output
  channel's ``H_out * W_out`` positions;
* a ``Linear`` gives the dense ``weight.T``;
* an ``AvgPool2d`` is the sparse pooling matrix ``P`` of
  :func:`brainconv.layers.avgpool2d_connectivity`. Pooling after a ``ReLU`` (the usual
  ``conv, ReLU, pool, conv``) is folded into the next weight layer, ``W = P @ W_next``; pooling
  between a weight layer and its ``ReLU`` is folded into that layer, ``W = W_prev @ P`` and
  ``b = b_prev @ P``. A pool after the last weight layer (global average pooling of an
  all-convolutional net) is folded into it the same way.

A segment whose weight layer is a ``Conv2d`` stays a sparse CSR matrix (a pool folded into a
``k x k`` convolution gives a ``(k + pool - 1)``-wide receptive field at the conv's stride times
the pool's: more synapses than the conv alone, but no extra spiking layer); a segment with a
``Linear`` is dense (folding a pool into a ``Linear`` makes its matrix ``pool**2`` times taller).

Refused, with :class:`~brainconv.errors.ModelError`: two weight layers with no ``ReLU`` between
them (the ANN would rectify between them, which the model does not), a ``ReLU`` not preceded by
a weight layer, and a trailing ``ReLU`` after the last weight layer (the ANN's output layer is
linear; drop it, e.g. ``model[:-1]``: the argmax only changes where every score is negative).
Wrong shapes (``input_shape`` not matching a ``Conv2d``'s ``in_channels`` or a ``Linear``'s
``in_features``, a kernel larger than its input) raise :class:`~brainconv.errors.ShapeError`.
Everything is validated before any weight matrix is built.
"""

from __future__ import annotations

import copy
import math
import operator

import numpy as np
import scipy.sparse

from brainconv import layers
from brainconv.ann import ANN
from brainconv.errors import ModelError, ParameterError, ShapeError

__all__ = ["SUPPORTED_LAYERS", "compare_with_torch", "from_torch"]

#: Leaf module types :func:`from_torch` understands (plus containers, which it walks).
SUPPORTED_LAYERS = (
    "Conv2d", "Linear", "BatchNorm2d", "BatchNorm1d", "AvgPool2d", "ReLU", "SoftLIF", "Flatten",
    "Dropout", "Identity",
)

#: Relative tolerance of :func:`from_torch`'s check: the largest difference between the model
#: and the imported ANN (both in float64) must be at most this times ``max(1, max |output|)``.
CHECK_RTOL = 1e-6

_ACTIVATION_NAMES = {
    "Sigmoid", "Tanh", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
    "Mish", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Softsign",
    "Tanhshrink", "Threshold", "LogSigmoid",
}
_SOFTMAX_NAMES = {"Softmax", "LogSoftmax", "Softmax2d", "Softmin"}


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - the tests skip without torch
        raise ImportError(
            "brainconv.torch_import needs PyTorch; install it (e.g. pip install torch) or "
            "write the network's .npz file yourself (see brainconv.ann)"
        ) from exc
    return torch


# --------------------------------------------------------------------------- public API


def from_torch(model, input_shape, *, check: bool = True) -> ANN:
    """Convert a trained PyTorch model into a ReLU or soft-LIF :class:`~brainconv.ann.ANN`.

    Parameters
    ----------
    model : torch.nn.Module
        An ``nn.Sequential`` (nested ones are fine), a custom module whose ``forward`` applies
        its children in order, or a single ``nn.Linear``/``nn.Conv2d``. See the module
        docstring for the supported layers and how they are mapped. The model is not modified.
    input_shape : tuple of int
        One sample's shape without the batch dimension: ``(C, H, W)`` for a CNN, ``(n,)`` for
        an MLP on flat inputs. The ANN's input is the sample flattened in C order,
        ``x.reshape(N, -1)`` of an NCHW batch.
    check : bool, optional
        Run the model (a float64 copy in eval mode) and the ANN on 8 random inputs and raise
        :class:`ModelError` unless they agree to :data:`CHECK_RTOL`. This catches a model whose
        ``forward`` is not the chain of its children. Costs one small forward pass.

    Returns
    -------
    ANN
        ReLU (or soft-LIF) hidden layers, linear output; ``Conv2d`` layers as ``scipy.sparse.csr_matrix``
        weights, ``Linear`` layers dense, all float64.

    Raises
    ------
    ModelError
        An unsupported layer or option (e.g. ``MaxPool2d``, ``nn.Sigmoid``,
        ``padding_mode="reflect"``, ``groups=2``), a missing or misplaced ``ReLU`` or
        BatchNorm, or (``check=True``) a model whose outputs differ from the imported ANN's.
    ShapeError
        ``input_shape`` is malformed or does not fit the model (``in_channels``,
        ``in_features``, a kernel larger than its input, a ``Linear`` on an unflattened image),
        or a non-square kernel / unequal stride or padding pair.
    ImportError
        PyTorch is not installed.
    """
    torch = _torch()
    if not isinstance(model, torch.nn.Module):
        raise ModelError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = _input_shape(input_shape)
    segments, activation = _plan(model, shape, torch.nn)
    weights, biases = [], []
    for segment in segments:
        w, b = _build_segment(segment, torch)
        weights.append(w)
        biases.append(b)
    ann = ANN(tuple(weights), tuple(biases), activation=activation[0],
              activation_params=activation[1])
    if check:
        diff, scale = _difference(ann, model, shape, n=8, seed=0)
        if not diff <= CHECK_RTOL * max(1.0, scale):
            raise ModelError(
                f"the imported network does not reproduce the model: outputs on random inputs "
                f"differ by up to {diff:.3g} (output scale {scale:.3g}). The model's forward is "
                "probably not the plain chain of its children (skip connections, a child used "
                "twice or not at all, functional calls such as F.relu or F.max_pool2d inside "
                "forward); rewrite it as an nn.Sequential of supported layers"
            )
    return ann


def compare_with_torch(ann: ANN, model, input_shape, n: int = 8, seed: int = 0) -> float:
    """Largest absolute difference between ``ann`` and ``model`` on random inputs.

    The inputs are ``n`` standard-normal samples of ``input_shape`` from
    ``np.random.default_rng(seed)``; ``ann`` gets them flattened to ``(n, prod(input_shape))``.
    The model runs as a float64 copy in eval mode without gradients, so the result measures the
    conversion, not float32 rounding; the model itself is not touched.

    Raises
    ------
    ShapeError
        ``input_shape`` does not have ``ann``'s input width, or the outputs' sizes differ.
    ParameterError
        ``n`` is not a positive integer.
    ModelError
        The model cannot be copied or run on such inputs.
    """
    shape = _input_shape(input_shape)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n must be an integer >= 1, got {n!r}")
    return _difference(ann, model, shape, n, seed)[0]


# --------------------------------------------------------------------------- helpers


def _input_shape(input_shape):
    try:
        shape = tuple(operator.index(s) for s in input_shape)  # ints, not floats or strings
    except TypeError:
        shape = ()
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ShapeError(
            f"input_shape must be (C, H, W) for a CNN or (n,) for an MLP, positive integers "
            f"without the batch dimension; got {input_shape!r}"
        )
    return shape


def _difference(ann, model, shape, n, seed):
    """``(max |ann - model|, max |model|)`` on ``n`` random inputs of ``shape``."""
    torch = _torch()
    n_in = math.prod(shape)
    if ann.layer_sizes[0] != n_in:
        raise ShapeError(
            f"input_shape {shape} has {n_in} values but the ANN takes {ann.layer_sizes[0]} inputs"
        )
    x = np.random.default_rng(seed).standard_normal((n,) + shape)
    try:
        reference = copy.deepcopy(model).double().eval()
    except Exception as exc:
        raise ModelError(
            f"cannot copy the model to check the import ({type(exc).__name__}: {exc}); "
            "pass check=False and compare outputs yourself"
        ) from exc
    device = next((p.device for p in reference.parameters()), torch.device("cpu"))
    try:
        with torch.no_grad():
            out = reference(torch.from_numpy(x).to(device))
    except Exception as exc:
        raise ModelError(
            f"running the model on a batch of shape {(n,) + shape} failed "
            f"({type(exc).__name__}: {exc}); is input_shape right?"
        ) from exc
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"the model returned {type(out).__name__}, not a single tensor")
    expected = out.detach().cpu().numpy().reshape(n, -1)
    got = ann.forward(x.reshape(n, -1))
    if expected.shape != got.shape:
        raise ShapeError(
            f"the model gives {expected.shape[1]} outputs per sample but the ANN "
            f"{got.shape[1]}"
        )
    return float(np.max(np.abs(got - expected))), float(np.max(np.abs(expected)))


def _array(tensor, torch):
    """A parameter or buffer as a float64 numpy array (any device or dtype)."""
    return tensor.detach().to(device="cpu", dtype=torch.float64).numpy()


def _leaves(model, nn):
    """``(path, module)`` of the model's leaves in order; containers are walked."""
    if not any(True for _ in model.children()):
        return [("model", model)]
    found = []

    def walk(module, prefix):
        own = [name for name, _ in module.named_parameters(recurse=False)]
        own += [name for name, _ in module.named_buffers(recurse=False)]
        if own:
            raise ModelError(
                f"{prefix or 'the model'} ({type(module).__name__}) has children and also "
                f"parameters/buffers of its own {own}: its forward does more than chain its "
                "children, which from_torch cannot import"
            )
        for name, child in module.named_children():
            path = f"{prefix}.{name}" if prefix else name
            if any(True for _ in child.children()):
                walk(child, path)
            else:
                found.append((path, child))

    walk(model, "")
    return found


def _describe(path, module):
    return f"layer {path!r} ({module!r})"


def _supported_list():
    return ", ".join(f"nn.{name}" for name in SUPPORTED_LAYERS)


def _check_lazy(path, module, nn):
    for name, param in module.named_parameters(recurse=False):
        if nn.parameter.is_lazy(param):
            raise ModelError(
                f"{_describe(path, module)}: parameter {name!r} is not initialised (a lazy "
                "module); run one forward pass before importing"
            )


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _with_context(path, module, call, *args):
    """``call(*args)``, with the layer named in a ShapeError / ParameterError from layers.py."""
    try:
        return call(*args)
    except (ShapeError, ParameterError) as exc:
        raise type(exc)(f"{_describe(path, module)}: {exc}") from exc


def _conv_padding(path, module):
    padding = module.padding
    if padding == "valid":
        return 0
    if padding == "same":
        k = _pair(module.kernel_size)
        if any(size % 2 == 0 for size in k):
            raise ModelError(
                f"{_describe(path, module)}: padding='same' with an even kernel pads unequally "
                "on the two sides, which is not supported; use an odd kernel or explicit padding"
            )
        return (k[0] - 1) // 2
    return padding


def _plan(model, shape, nn):
    """Validate the model and cut it into segments, one per ANN layer; nothing heavy built.

    Each segment is a list of ops (dicts with ``kind`` in "conv", "linear", "pool") holding
    the module and the shapes it sees.
    """
    dropout = tuple(getattr(nn, name) for name in (
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
        "FeatureAlphaDropout") if hasattr(nn, name))
    max_pools = tuple(getattr(nn, name) for name in (
        "MaxPool1d", "MaxPool2d", "MaxPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d", "FractionalMaxPool2d", "LPPool2d"))
    from .torch_softlif import SoftLIF

    segments, segment = [], []
    weight_op = None  # the weight op of the current segment
    bn_target = None  # the op a BatchNorm here would fold into
    last_relu = None
    activation = None  # ("relu", None) or ("softlif", params): one kind for every hidden layer
    for path, module in _leaves(model, nn):
        where = _describe(path, module)
        _check_lazy(path, module, nn)
        if isinstance(module, (nn.Identity,) + dropout):
            continue  # identity at inference; a BatchNorm may still follow
        if isinstance(module, max_pools):
            raise ModelError(
                f"{where}: max pooling has no rate-code equivalent in this converter (the "
                "maximum of firing rates is not a weighted sum of them, so no layer of "
                "integrate-and-fire neurons computes it); use nn.AvgPool2d instead and retrain"
            )
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            if weight_op is not None:
                raise ModelError(
                    f"{where} follows {_describe(weight_op['path'], weight_op['module'])} with "
                    "no nn.ReLU between them. The imported network applies ReLU after every "
                    "layer but the last (its hidden units are rectifying rate neurons), so it "
                    "would compute something else than the model; put an nn.ReLU between them"
                )
            if isinstance(module, nn.Conv2d):
                op = _plan_conv(path, module, shape)
            else:
                op = _plan_linear(path, module, shape)
            shape = op["out_shape"]
            segment.append(op)
            weight_op = bn_target = op
            continue
        if isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
            _plan_batchnorm(path, module, bn_target, nn)
            bn_target["bn"] = module
            bn_target = None
            continue
        bn_target = None
        if isinstance(module, nn.AvgPool2d):
            op = _plan_pool(path, module, shape)
            shape = op["out_shape"]
            segment.append(op)
        elif isinstance(module, nn.Flatten):
            if (module.start_dim, module.end_dim) != (1, -1):
                raise ModelError(
                    f"{where}: only nn.Flatten() with the default start_dim=1, end_dim=-1 is "
                    "supported (flattening one whole sample)"
                )
            shape = (math.prod(shape),)
        elif isinstance(module, (nn.ReLU, SoftLIF)):
            kind = (("softlif", module.params) if isinstance(module, SoftLIF)
                    else ("relu", None))
            if activation is not None and kind != activation:
                raise ModelError(
                    f"{where}: every hidden activation must be the same (the imported network "
                    f"has one activation for all its hidden layers), but an earlier one is "
                    f"{activation[0]}{'' if activation[1] is None else activation[1]}; use "
                    "one kind (nn.ReLU, or SoftLIF with the same parameters) throughout")
            activation = kind
            if weight_op is None:
                raise ModelError(
                    f"{where} does not follow a Conv2d or Linear layer (it is the first layer "
                    "or comes right after another ReLU); the imported network can only "
                    "rectify the output of a weight layer"
                )
            segments.append(segment)
            segment, weight_op, last_relu = [], None, (path, module)
        else:
            raise ModelError(_unsupported_message(where, type(module).__name__))
    if weight_op is None:
        if not segments:
            raise ModelError(
                "the model has no Conv2d or Linear layer; there is nothing to import"
            )
        if not segment:
            raise ModelError(
                f"the model ends with a ReLU ({_describe(*last_relu)}), but the imported "
                "network's output layer is linear (its scores are the last layer's input "
                "currents); remove the trailing ReLU, e.g. model[:-1] (the argmax changes only "
                "where every score is negative)"
            )
        raise ModelError(
            f"after the last ReLU ({_describe(*last_relu)}) the model has no Conv2d or Linear "
            "layer; the output layer of the imported network must be a weight layer"
        )
    segments.append(segment)
    return segments, activation or ("relu", None)


def _unsupported_message(where, name):
    message = f"{where}: nn.{name} is not supported by from_torch"
    if name in _ACTIVATION_NAMES:
        message += (" (only ReLU hidden activations can be converted to rate-coded spiking "
                    "neurons; retrain with nn.ReLU)")
    elif name in _SOFTMAX_NAMES:
        message += (" (the output layer must be linear; remove the final softmax, the "
                    "classification is the argmax of the scores either way)")
    return (f"{message}. Supported layers: {_supported_list()}; nn.Sequential and other "
            "modules whose forward chains their children are walked")


def _plan_conv(path, module, shape):
    where = _describe(path, module)
    if len(shape) != 3:
        raise ShapeError(
            f"{where} needs a (C, H, W) input but gets a flat one of {shape[0]} values; "
            "give input_shape as (C, H, W) and do not flatten before a convolution"
        )
    if module.padding_mode != "zeros":
        raise ModelError(
            f"{where}: padding_mode={module.padding_mode!r} is not supported; only "
            "padding_mode='zeros' (padding neurons that never fire) can be converted"
        )
    if tuple(_pair(module.dilation)) != (1, 1):
        raise ModelError(f"{where}: dilation={module.dilation} is not supported; use dilation=1")
    if module.groups != 1:
        raise ModelError(
            f"{where}: groups={module.groups} (grouped or depthwise convolution) is not "
            "supported; use groups=1"
        )
    if module.in_channels != shape[0]:
        raise ShapeError(
            f"{where} has in_channels={module.in_channels} but its input has shape {shape} "
            f"({shape[0]} channels); check input_shape (C, H, W)"
        )
    padding = _conv_padding(path, module)
    out_shape = _with_context(
        path, module, layers.conv2d_output_shape, shape, module.out_channels,
        module.kernel_size, module.stride, padding,
    )
    # The stride and padding as single ints (pairs were checked to be equal just above).
    stride, padding = _pair(module.stride)[0], _pair(padding)[0]
    return dict(kind="conv", path=path, module=module, in_shape=shape, out_shape=out_shape,
                stride=stride, padding=padding, bn=None)


def _plan_linear(path, module, shape):
    where = _describe(path, module)
    if len(shape) != 1:
        raise ShapeError(
            f"{where} gets an unflattened {shape} input; put an nn.Flatten() before it"
        )
    if module.in_features != shape[0]:
        raise ShapeError(
            f"{where} has in_features={module.in_features} but its input has {shape[0]} "
            "values (input_shape and the layers before it); check input_shape and the "
            "Linear's size"
        )
    return dict(kind="linear", path=path, module=module, in_shape=shape,
                out_shape=(module.out_features,), bn=None)


def _plan_pool(path, module, shape):
    where = _describe(path, module)
    if len(shape) != 3:
        raise ShapeError(f"{where} needs a (C, H, W) input but gets a flat one of {shape[0]}")
    if tuple(_pair(module.padding)) != (0, 0):
        raise ModelError(f"{where}: padding={module.padding} is not supported; use padding=0")
    if module.ceil_mode:
        raise ModelError(f"{where}: ceil_mode=True is not supported; use ceil_mode=False")
    if module.divisor_override is not None:
        raise ModelError(
            f"{where}: divisor_override={module.divisor_override} is not supported"
        )
    stride = module.kernel_size if module.stride is None else module.stride
    out_shape = _with_context(
        path, module, layers.conv2d_output_shape, shape, shape[0], module.kernel_size, stride, 0
    )
    return dict(kind="pool", path=path, module=module, in_shape=shape, out_shape=out_shape,
                kernel_size=_pair(module.kernel_size)[0], stride=_pair(stride)[0])


def _plan_batchnorm(path, module, target, nn):
    where = _describe(path, module)
    wanted = "conv" if isinstance(module, nn.BatchNorm2d) else "linear"
    layer = "Conv2d" if wanted == "conv" else "Linear"
    if target is None or target["kind"] != wanted:
        raise ModelError(
            f"{where} does not directly follow an nn.{layer}; a BatchNorm can only be "
            f"imported by folding it into the nn.{layer} right before it (nn.Identity and "
            "dropout may sit between them)"
        )
    if module.running_mean is None or module.running_var is None:
        raise ModelError(
            f"{where} has no running statistics (track_running_stats=False), so it normalises "
            "with each batch's own statistics and cannot be folded into fixed weights"
        )
    n_out = target["out_shape"][0]
    if module.num_features != n_out:
        raise ShapeError(
            f"{where} has num_features={module.num_features} but follows a layer with "
            f"{n_out} output channels"
        )


def _weight_and_bias(op, torch):
    """The op's PyTorch-layout weight and bias (float64), with its BatchNorm folded in."""
    module = op["module"]
    weight = _array(module.weight, torch)
    bias = None if module.bias is None else _array(module.bias, torch)
    bn = op["bn"]
    if bn is not None:
        n = bn.num_features
        gamma = np.ones(n) if bn.weight is None else _array(bn.weight, torch)
        beta = np.zeros(n) if bn.bias is None else _array(bn.bias, torch)
        weight, bias = _with_context(
            op["path"], module, layers.fold_batchnorm, weight, bias, gamma, beta,
            _array(bn.running_mean, torch), _array(bn.running_var, torch), bn.eps,
        )
    if bias is None:
        bias = np.zeros(weight.shape[0])
    return weight, bias


def _op_matrix(op, torch):
    """``(M, c)`` of one op: ``x -> x @ M + c`` (``c`` None for pooling)."""
    n_in, n_out = math.prod(op["in_shape"]), math.prod(op["out_shape"])
    if op["kind"] == "pool":
        pre, post, w = layers.avgpool2d_connectivity(
            op["in_shape"], op["kernel_size"], op["stride"]
        )
        return scipy.sparse.csr_matrix((w, (pre, post)), shape=(n_in, n_out)), None
    weight, bias = _weight_and_bias(op, torch)
    if op["kind"] == "linear":
        return np.ascontiguousarray(weight.T), bias
    pre, post, w = _with_context(
        op["path"], op["module"], layers.conv2d_connectivity, op["in_shape"], weight,
        op["stride"], op["padding"],
    )
    matrix = scipy.sparse.csr_matrix((w, (pre, post)), shape=(n_in, n_out))
    _, h_out, w_out = op["out_shape"]
    return matrix, np.repeat(bias, h_out * w_out)


def _build_segment(segment, torch):
    """Compose a segment's ops into one ``(W, b)``: sparse for a conv, dense for a linear.

    ``(x @ M1 + c1) @ M2 + c2 = x @ (M1 @ M2) + (c1 @ M2 + c2)``, op by op.
    """
    matrix = bias = None
    for op in segment:
        m, c = _op_matrix(op, torch)
        if matrix is None:
            matrix = m
        else:
            if bias is not None:
                bias = np.asarray(m.T @ bias).ravel()
            matrix = matrix @ m
        if c is not None:
            bias = c if bias is None else bias + c
    if scipy.sparse.issparse(matrix):
        matrix = scipy.sparse.csr_matrix(matrix)
    else:
        matrix = np.asarray(matrix)
    return matrix, bias
