"""The checked parameters of a layer's model, and the rules shared by every model.

:data:`PARAMETER_RULES` checks a parameter by its name for every model that has it (user models
included), so a rule for a new parameter is one entry.
"""

import numbers

import numpy as np
import scipy.sparse

from ..errors import ParameterError

__all__ = ["PARAMETER_RULES", "check_number", "model_parameters", "readonly"]


def model_parameters(model, overrides, trained=None):
    """The model's parameters other than ``theta``, defaults updated by ``overrides``.

    ``trained`` (SI floats, e.g. a soft-LIF network's ``tau_rc``) replaces the defaults first.
    Each value whose name is in :data:`PARAMETER_RULES` is then checked (and normalized) by
    its rule, and all of them by the model's own ``check``.
    """
    values = {name: value for name, value in model.parameters.items() if name != "theta"}
    values.update({name: float(v) for name, v in (trained or {}).items() if name in values})
    for name in set(overrides) & set(values) - set(model.units):
        check_number(f"parameter {name!r} of model {model.name!r}", overrides[name])
    # Parameters with units arrive as Brian2 quantities and are stored in SI units.
    values.update(model.check_parameters({name: overrides[name] for name in values
                                          if name in overrides}))
    for name in sorted(set(values) & set(PARAMETER_RULES)):
        values[name] = PARAMETER_RULES[name](model, values[name])
    if model.check is not None:  # the model's own rule (ModelBase.check)
        model.check(values, model.owner())
    return tuple(sorted(values.items()))


def _time_constant(name, lowest, text):
    """Rule for a time parameter with a unit: ``value >= lowest`` (SI seconds)."""
    def check(model, value):
        if name in model.units and not value >= lowest:
            raise ParameterError(f"{name} of {model.name!r} must be {text}, got {value} s")
        return value
    return check


def _check_k(model, k):
    if isinstance(k, bool) or not float(k).is_integer() or k < 1:
        raise ParameterError(
            f"k (maximum spikes per timestep of {model.name!r}) must be an integer >= 1, "
            f"got {k!r}"
        )
    return int(k)


def _check_R(model, R):
    if isinstance(R, bool) or not (np.isfinite(float(R)) and R >= 1):
        raise ParameterError(
            f"R (leak rate constant of {model.name!r}) must be a finite number >= 1 "
            f"(1 = no leak, Think Fast uses 10), got {R!r}"
        )
    return float(R)


#: Parameter name → ``rule(model, value)`` returning the checked value, for every model that
#: has a parameter of that name (user models included).
PARAMETER_RULES = {
    "tau_rc": _time_constant("tau_rc", 1e-12, "> 0"),
    "tau_ref": _time_constant("tau_ref", 0, ">= 0"),
    "k": _check_k,
    "R": _check_R,
}


def check_number(what, value):
    """Raise ParameterError unless ``value`` is a finite real number (not a bool or string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value):
        raise ParameterError(
            f"{what} must be a finite number, got {value!r} ({type(value).__name__}); "
            "pass a number, e.g. 10 rather than '10'")
    return value


def readonly(array):
    if scipy.sparse.issparse(array):  # a convolution's unrolled weights
        return scipy.sparse.csr_matrix(array, dtype=float)
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array
