"""The ANN side of the conversion: a feed-forward network, its activations and its trainer.

- :mod:`brainconv.ann.activations`: the hidden-layer activations (ReLU, Think Fast's rate and
  accumulator, Hunsberger's soft-LIF), their gradients and parameters;
- :mod:`brainconv.ann.network`: :class:`ANN` and its ``.npz`` file (:func:`save_ann`,
  :func:`load_ann`);
- :mod:`brainconv.ann.training`: :func:`train_ann`, seeded minibatch SGD.

Everything is imported from here: ``from brainconv.ann import ANN, train_ann``.
"""

from .activations import ACTIVATIONS, Activation, normalize_activation_params
from .network import ANN, FORMAT_VERSION, load_ann, save_ann
from .training import train_ann

__all__ = ["ANN", "Activation", "ACTIVATIONS", "FORMAT_VERSION", "normalize_activation_params",
           "load_ann", "save_ann", "train_ann"]
