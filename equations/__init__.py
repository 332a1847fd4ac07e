"""Neuron models as Brian2 equation strings, with defaults and analytic transfer functions.

Installed as ``brainconv.equations``. ``get_model(name)`` returns a :class:`NeuronModel`;
``MODELS`` lists every registered model; ``resolve_model(name, parameters)`` gives the concrete
model for a layer's parameters (ensembles write their size into the equations). To add a
paradigm, write a module beside this one that defines a ``NeuronModel`` and register it in
``MODELS`` below.
"""

from brainconv.errors import ModelError

from .accumulator import ACCUMULATOR
from .ensembles import ION, LEN
from .integrate_and_fire import IF_HARD, IF_SOFT
from .leaky import LEAKY_ACCUMULATOR, LIF
from .model import NeuronModel

MODELS = {model.name: model for model in (IF_SOFT, IF_HARD, LIF, ACCUMULATOR, LEAKY_ACCUMULATOR,
                                          ION, LEN)}


def get_model(name):
    """Return the registered model called ``name`` (with its default parameters).

    Raises
    ------
    ModelError
        If no model has that name; the message lists the known ones.
    """
    if isinstance(name, NeuronModel):
        return name
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(MODELS))
        raise ModelError(
            f"unknown neuron model {name!r}; known models: {known}. "
            "Pick one of these names (see brainconv.equations.MODELS)."
        ) from None


def resolve_model(name, parameters=()):
    """The concrete model of a layer: ``get_model(name)`` rebuilt for its structural parameters.

    Parameters
    ----------
    name : str
    parameters : dict or iterable of (name, value)
    """
    return get_model(name).resolve(dict(parameters))


__all__ = ["MODELS", "NeuronModel", "get_model", "resolve_model"]
