"""How ``train_snn`` holds a layer's trainable tensors: dense, or a convolution's kernel.

A :class:`~brainconv.spec.NetworkSpec` stores every layer as a connection matrix, a
convolution as a sparse one whose entries repeat the kernel at every position. Training those
entries one by one would untie the copies; a :class:`ConvForm` trains the kernel instead
(``C_out x C_in x k x k`` numbers and one bias per output channel). In the forward pass the
layer is a :class:`Convolution` operator: ``x @ layer`` is ``torch.nn.functional.conv2d`` on
``x`` reshaped to images (a torch sparse matrix product trained a small CNN over 40 times
slower), the same linear map as the matrix that :func:`brainconv.layers.conv2d_connectivity`
builds for the exported spec. A convolution is recognised with
:func:`brainconv.layers.find_conv2d` from the input shape; an average pooling folded into the
next convolution is found as its larger kernel with the pooling's stride, and trains as that
kernel. Every other layer is a :class:`DenseForm`.
"""

import numpy as np
import scipy.sparse

from ..errors import ParameterError
from ..layers import conv2d_connectivity, find_conv2d

__all__ = ["ConvForm", "Convolution", "DenseForm", "layer_forms"]


class Convolution:
    """``x @ Convolution(...)``: the convolution of the flat inputs ``x`` ``(batch, C*H*W)``,
    flat again, as the dense product with the layer's matrix would give it."""

    def __init__(self, kernel, in_shape, stride, padding, size):
        self.kernel, self.in_shape, self.stride, self.padding = kernel, in_shape, stride, padding
        self.shape = (int(np.prod(in_shape)), size)

    def __rmatmul__(self, x):
        import torch

        images = x.reshape(len(x), *self.in_shape)
        out = torch.nn.functional.conv2d(images, self.kernel, stride=self.stride,
                                         padding=self.padding)
        return out.reshape(len(x), -1)


class DenseForm:
    """A dense layer: the trainable tensors are the ``(n_in, n_out)`` weights and the bias."""

    def __init__(self, weights, bias):
        import torch

        # copies: training updates these in place, never the start spec's arrays
        self.tensors = (torch.tensor(np.asarray(weights), dtype=torch.float64),
                        torch.tensor(np.asarray(bias), dtype=torch.float64))
        self.size = self.tensors[0].shape[1]

    def build(self, weights, bias):
        """The layer's ``(matrix, bias)`` for the forward pass."""
        return weights, bias

    def export(self, weights, bias):
        """The layer's weights and bias as numpy arrays for the spec."""
        return _numpy(weights), _numpy(bias)


class ConvForm:
    """A convolution: the trainable tensors are the kernel and one bias per output channel.

    Parameters
    ----------
    geometry : dict
        :func:`brainconv.layers.find_conv2d`'s result.
    in_shape : tuple of int
        ``(C, H, W)`` of the layer's input.
    """

    def __init__(self, geometry, in_shape):
        import torch

        kernel = geometry["kernel"]
        self.in_shape, self.stride, self.padding = tuple(in_shape), geometry["stride"], \
            geometry["padding"]
        self.out_shape = geometry["out_shape"]
        self.positions = self.out_shape[1] * self.out_shape[2]
        self.size = int(np.prod(self.out_shape))
        self.shape = (int(np.prod(self.in_shape)), self.size)
        self.tensors = (torch.tensor(kernel, dtype=torch.float64),
                        torch.tensor(geometry["bias"], dtype=torch.float64))

    def build(self, kernel, bias):
        return (Convolution(kernel, self.in_shape, self.stride, self.padding, self.size),
                bias.repeat_interleave(self.positions))

    def export(self, kernel, bias):
        pre, post, w = conv2d_connectivity(self.in_shape, _numpy(kernel), self.stride,
                                           self.padding)
        matrix = scipy.sparse.csr_matrix((w, (pre, post)), shape=self.shape)
        return matrix, np.repeat(_numpy(bias), self.positions)


def _numpy(value):
    return value.detach().double().cpu().numpy() if hasattr(value, "detach") else \
        np.asarray(value, dtype=float)


def layer_forms(layers, input_shape):
    """One form per layer of a start spec: a :class:`ConvForm` for each sparse layer that is a
    convolution of the shape before it, a :class:`DenseForm` for each dense one.

    Raises
    ------
    ParameterError
        For a sparse layer without ``input_shape`` or one that is no convolution of its input
        shape, naming the layer.
    """
    forms, shape = [], None if input_shape is None else tuple(int(n) for n in input_shape)
    for layer in layers:
        if not scipy.sparse.issparse(layer.weights):
            forms.append(DenseForm(layer.weights, layer.bias))
            shape = (layer.size,)
            continue
        if shape is None:
            raise ParameterError(
                f"start's layer {layer.name!r} is sparse (convolutional): give "
                "input_shape=(C, H, W) of one input sample, so that train_snn can train its "
                "kernel")
        geometry = find_conv2d(layer.weights, layer.bias, shape) if len(shape) == 3 else None
        if geometry is None:
            raise ParameterError(
                f"start's layer {layer.name!r} is sparse but no convolution of its input "
                f"shape {shape} (square kernel, equal stride and padding, one bias per "
                "channel); train_snn trains dense layers and convolutions only; check "
                "input_shape")
        forms.append(ConvForm(geometry, shape))
        shape = geometry["out_shape"]
    return forms
