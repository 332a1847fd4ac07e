"""Neuron models as Brian2 equation strings, with defaults and analytic transfer functions.

Installed as ``brainconv.equations``. ``get_model(name)`` returns a :class:`NeuronModel`;
``MODELS`` lists every registered model. To add a paradigm, write a module beside this one that
defines a ``NeuronModel`` and register it in ``MODELS`` below.
"""

from brainconv.errors import ModelError

from .accumulator import ACCUMULATOR
from .integrate_and_fire import IF_HARD, IF_SOFT
from .model import NeuronModel

MODELS = {model.name: model for model in (IF_SOFT, IF_HARD, ACCUMULATOR)}


def get_model(name):
    """Return the registered model called ``name``.

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


__all__ = ["MODELS", "NeuronModel", "get_model"]
