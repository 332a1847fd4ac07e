"""How ``train_snn`` holds a layer's trainable tensors: dense, or a convolution's kernel.

A :class:`~brainconv.spec.NetworkSpec` stores every layer as a connection matrix, a
convolution as a sparse one whose entries repeat the kernel at every position. Training those
entries one by one would untie the copies; a :class:`ConvForm` trains the kernel instead
(``C_out x C_in x k x k`` numbers and one bias per output channel) and builds the layer's
matrix from it for each forward pass (a ``torch.sparse_coo_tensor`` whose values index the
kernel, so the gradient of every copy adds up in its kernel entry), exactly the matrix that
:func:`brainconv.layers.conv2d_connectivity` gives for the exported spec. A convolution is
recognised with :func:`brainconv.layers.find_conv2d` from the input shape; an average pooling
folded into the next convolution is found as its larger kernel with the pooling's stride, and
trains as that kernel. Every other layer is a :class:`DenseForm`.
"""

import numpy as np
import scipy.sparse

from ..errors import ParameterError
from ..layers import conv2d_connectivity, find_conv2d

__all__ = ["ConvForm", "DenseForm", "layer_forms"]


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
        # conv2d_connectivity of the entry numbers: which kernel entry each connection copies
        pre, post, entry = conv2d_connectivity(self.in_shape,
                                               np.arange(kernel.size).reshape(kernel.shape),
                                               self.stride, self.padding)
        self.indices = torch.as_tensor(np.stack([pre, post]))
        self.entry = torch.as_tensor(entry.astype(np.int64))
        self.tensors = (torch.tensor(kernel, dtype=torch.float64),
                        torch.tensor(geometry["bias"], dtype=torch.float64))

    def build(self, kernel, bias):
        import torch

        matrix = torch.sparse_coo_tensor(self.indices, kernel.reshape(-1)[self.entry],
                                         self.shape, check_invariants=False)
        return matrix, bias.repeat_interleave(self.positions)

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
