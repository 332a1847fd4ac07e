"""Neuron models as Brian2 equation strings, with defaults and analytic transfer functions.

Installed as ``brainconv.equations``. ``get_model(name)`` returns a :class:`NeuronModel`;
``MODELS`` lists every registered model; ``resolve_model(name, parameters)`` gives the concrete
model for a layer's parameters (ensembles write their size into the equations). To add a
paradigm, write a module beside this one that defines a ``NeuronModel`` and register it in
``MODELS`` below.

User models live outside the package: ``define_model`` (:mod:`brainconv.equations.user`)
builds one from Brian2 strings, validates it and registers it; ``load_model_file(path)``
registers the models of a Python file; ``register_model`` / ``unregister_model`` manage the
registry directly.

Continuous-time models (``time_base == "continuous"``, e.g. ``lif_rc``) have parameters with
Brian2 units and take synapse models (``SYNAPSE_MODELS``: ``delta``, ``exponential``,
``alpha``; ``get_synapse_model(name)``); ``readout`` is a non-spiking output node (not in
``MODELS``, which holds the spiking models, but found by ``get_model``).
"""

from brainconv.errors import ModelError

from .accumulator import ACCUMULATOR
from .cuba_lif import CUBA_LIF, CUBA_LIF_GRID
from .ensembles import ION, LEN
from .fs import FS_RELU, FS_SIGMOID, FS_SWISH
from .integrate_and_fire import IF_HARD, IF_SOFT
from .leaky import LEAKY_ACCUMULATOR, LIF
from .lif_rc import LIF_RC
from .model import INPUT_MODES, OUTPUT_KINDS, TIME_BASES, ModelBase, ModelParts, NeuronModel
from .poisson import POISSON, POISSON_CONTINUOUS
from .readout import READOUT_MODELS
from .synapses import (SYNAPSE_MODELS, SynapseModel, get_synapse_model, register_synapse_model,
                       unregister_synapse_model)
from .ttfs import TTFS

MODELS = {model.name: model for model in (IF_SOFT, IF_HARD, LIF, ACCUMULATOR, LEAKY_ACCUMULATOR,
                                          ION, LEN, LIF_RC, FS_RELU, FS_SWISH, FS_SIGMOID,
                                          CUBA_LIF, CUBA_LIF_GRID, TTFS,
                                          POISSON, POISSON_CONTINUOUS)}
#: The models shipped with brainconv: a user model may not take one of these names by accident.
BUILTIN_MODELS = dict(MODELS)


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
        return MODELS[name] if name in MODELS else READOUT_MODELS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted({**MODELS, **READOUT_MODELS}))
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


def register_model(model, replace=False):
    """Add ``model`` to :data:`MODELS` so that ``get_model(model.name)`` finds it.

    Parameters
    ----------
    model : NeuronModel
        Usually from :func:`brainconv.equations.user.define_model`, which validates it.
    replace : bool
        Allow the name of a built-in model (the user model hides it until
        :func:`unregister_model`). Another user model of the same name is always replaced, as
        when a notebook cell or a model file is run again.

    Returns
    -------
    NeuronModel
        ``model``.

    Raises
    ------
    ModelError
        If ``model`` is not a NeuronModel, or its name is a built-in model's and ``replace`` is
        false.
    """
    if not isinstance(model, NeuronModel):
        raise ModelError(
            f"register_model() needs a NeuronModel, got {type(model).__name__}; build one with "
            "brainconv.equations.user.define_model(...)"
        )
    name = model.name
    builtin = name in BUILTIN_MODELS or name in READOUT_MODELS
    if builtin and MODELS.get(name) is not model and not replace:
        raise ModelError(
            f"model name {name!r} is taken by a built-in brainconv model; give the user model "
            "another name, or pass replace=True to hide the built-in one"
        )
    MODELS[name] = model
    return model


def unregister_model(name):
    """Remove the user model ``name`` from :data:`MODELS` (a hidden built-in comes back).

    Raises
    ------
    ModelError
        If ``name`` is a built-in model that no user model replaces, or is not registered.
    """
    if name in BUILTIN_MODELS:
        if MODELS.get(name) is BUILTIN_MODELS[name]:
            raise ModelError(f"{name!r} is a built-in model and cannot be unregistered")
        MODELS[name] = BUILTIN_MODELS[name]
        return
    if name not in MODELS:
        users = sorted(set(MODELS) - set(BUILTIN_MODELS)) or ["none"]
        raise ModelError(
            f"no user model called {name!r} is registered; user models: {', '.join(users)}"
        )
    del MODELS[name]


# Last: user.py imports the registry functions above.
from .user import (define_model, define_synapse_model, load_model_file,  # noqa: E402
                   measure_rate, validate_model)

__all__ = ["BUILTIN_MODELS", "MODELS", "NeuronModel", "READOUT_MODELS", "SYNAPSE_MODELS",
           "SynapseModel", "define_model", "define_synapse_model", "get_model",
           "get_synapse_model", "load_model_file", "measure_rate", "register_model",
           "register_synapse_model", "resolve_model", "unregister_model",
           "unregister_synapse_model", "validate_model"]

from .plasticity import (PLASTIC_SYNAPSE_MODELS, PlasticSynapseModel,  # noqa: E402
                         get_plastic_synapse_model)
from .adaptive_lif import LearningNeuronModel  # noqa: E402
__all__ += ["PLASTIC_SYNAPSE_MODELS", "PlasticSynapseModel", "get_plastic_synapse_model",
            "INPUT_MODES", "OUTPUT_KINDS", "TIME_BASES", "LearningNeuronModel", "ModelBase",
            "ModelParts"]
