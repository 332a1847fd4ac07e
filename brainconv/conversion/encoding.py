"""How the input enters the network: a constant current, or Poisson spikes through a pathway.

:data:`ENCODERS` maps a name to an :class:`Encoder`.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse

from ..equations import get_model
from ..errors import ParameterError
from ..spec import TIMESTEP_MS, LayerSpec
from .parameters import model_parameters, readonly

__all__ = ["ENCODERS", "ENCODINGS", "Encoder", "poisson_first_weights", "poisson_layer"]


#: How the input enters the network: a constant current into the first ANN layer, or Poisson
#: spike trains through a pathway with the ANN's first weights (keys of :data:`ENCODERS`).
ENCODINGS = ("current", "poisson")


@dataclass(frozen=True)
class Encoder:
    """How the input enters the network (an entry of :data:`ENCODERS`).

    Parameters
    ----------
    input_layer : callable or None
        ``input_layer(n_inputs, continuous, parameters)`` → the :class:`LayerSpec` of a
        spiking input layer, whose ``parameters`` are convert's ``poisson_parameters``;
        ``None``: the first ANN layer receives ``x @ W0 + b0`` as a constant current.
    first_weights : callable or None
        ``first_weights(weights, input_layer, continuous)`` → the first ANN layer's weights
        behind the input layer (not with a balancing normalizer).
    """

    input_layer: Callable = None
    first_weights: Callable = None

    @property
    def spiking(self):
        """Whether the input is a spiking layer (a pathway into the first ANN layer)."""
        return self.input_layer is not None


def poisson_first_weights(weights, input_layer, continuous):
    """Mean Poisson input equals the constant current: divide by ``max_rate`` (times ``dt``)."""
    rate = dict(input_layer.parameters)["max_rate"]
    return weights / (rate if continuous else rate * TIMESTEP_MS * 1e-3)


#: Encoding name → :class:`Encoder`.
ENCODERS = {
    "current": Encoder(),
    "poisson": Encoder(lambda *args: poisson_layer(*args), poisson_first_weights),
}


def poisson_layer(n_inputs, continuous, values):
    """The Poisson input layer ``"input"``: identity weights, checked max_rate and seed."""
    from ..equations.poisson import check_seed

    model = get_model("poisson_continuous" if continuous else "poisson")
    unknown = sorted(set(values or {}) - set(model.parameters))
    if unknown:
        raise ParameterError(
            f"poisson_parameters {unknown} are not parameters of the Poisson input model "
            f"{model.name!r}; its parameters are {sorted(model.parameters)} (max_rate in Hz)")
    parameters = dict(model_parameters(model, values or {}))
    if not parameters["max_rate"] > 0:
        raise ParameterError(f"max_rate of the Poisson input must be positive, got "
                             f"{parameters['max_rate']} Hz")
    parameters["seed"] = check_seed(parameters["seed"])
    return LayerSpec("input", model.name, n_inputs,
                     readonly(scipy.sparse.identity(n_inputs, format="csr")),
                     readonly(np.zeros(n_inputs)), 1.0, tuple(sorted(parameters.items())))
