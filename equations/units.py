"""Physical units of model parameters: checking what users pass, and giving Brian2 its units.

Continuous-time models (``lif_rc``, the synapse filters) have parameters with Brian2 units,
``tau_rc : second``. Users pass Brian2 quantities (``20*ms``); a bare number for a parameter
with a unit is an error, because ``tau_rc=20`` could mean 20 s, 20 ms or 20 steps.

Inside brainconv the values travel as plain floats in SI base units (seconds), so that a
:class:`~brainconv.spec.NetworkSpec` stays numpy-only and hashable and the numpy reference
can use them directly; :func:`to_brian2` puts the unit back when a Brian2 object is built.
Brian2 is imported lazily, only when a quantity is checked or built (``import brian2`` pulls
in sympy and costs about 2 s).

A model declares its units as a mapping ``parameter name -> Brian2 unit name`` (``"second"``,
``"Hz"``...); parameters it does not list are dimensionless (``"1"``).
"""

import numbers
import re

import numpy as np

from brainconv.errors import ParameterError

__all__ = ["check_parameter", "is_dimensionless", "is_real_number", "parse_quantity", "to_brian2"]

#: Unit names whose Brian2 symbol a user would import, with a usual example for messages.
_EXAMPLES = {"second": "20*ms", "Hz": "100*Hz", "volt": "10*mV", "amp": "1*nA",
             "siemens": "10*nS", "farad": "200*pF", "ohm": "100*Mohm"}


def is_dimensionless(unit):
    """Whether ``unit`` (a Brian2 unit name, ``"1"`` or None) is dimensionless."""
    return unit in (None, "", "1")


def _brian2_unit(unit):
    """The Brian2 unit object called ``unit`` (``"second"``, ``"Hz"``, ``"ms"``...)."""
    import brian2

    value = getattr(brian2, unit, None)
    if not isinstance(value, brian2.Quantity):
        raise ParameterError(f"{unit!r} is not a Brian2 unit name (e.g. 'second', 'Hz', 'volt')")
    return value


def check_parameter(owner, name, value, unit):
    """Return ``value`` as a float in SI base units, checking its physical dimension.

    Parameters
    ----------
    owner : str
        What the parameter belongs to, for the message, e.g. ``"neuron model 'lif_rc'"``.
    name : str
        Parameter name.
    value : float or brian2.Quantity
        What the user passed.
    unit : str
        Brian2 unit name the parameter must carry (``"1"`` for a dimensionless one).

    Returns
    -------
    float

    Raises
    ------
    ParameterError
        For a number without units where a unit is expected, a quantity of the wrong
        dimension, a non-numeric value, NaN or an infinity. The message names the parameter,
        the expected unit and how to write the value.
    """
    has_dim = hasattr(value, "dim") and hasattr(value, "has_same_dimensions")
    if is_dimensionless(unit):
        if has_dim and not getattr(value, "is_dimensionless", True):
            raise ParameterError(
                f"parameter {name!r} of {owner} is dimensionless, got {value!r}; pass a plain "
                "number"
            )
        number = _as_number(owner, name, value)
    else:
        example = _EXAMPLES.get(unit, f"1*{unit}")
        if not has_dim or getattr(value, "is_dimensionless", False):
            if unit == "second" and is_real_number(value):
                example = f"{value:g}*ms"  # the number the user meant, most likely in ms
            raise ParameterError(
                f"parameter {name!r} of {owner} needs a Brian2 unit of {unit}, got {value!r} "
                f"without units; write {name}={example} "
                f"(from brian2 import {example.split('*')[1]})"
            )
        expected = _brian2_unit(unit)
        if not value.has_same_dimensions(expected):
            raise ParameterError(
                f"parameter {name!r} of {owner} must be in {unit} (e.g. {example}), got "
                f"{value}; check the unit"
            )
        number = _as_number(owner, name, np.asarray(value / expected))
    if not np.isfinite(number):
        raise ParameterError(f"parameter {name!r} of {owner} must be finite, got {value!r}")
    return number


def _as_number(owner, name, value):
    array = np.asarray(value)
    if array.shape != () or array.dtype.kind not in "biuf" or isinstance(value, bool):
        raise ParameterError(
            f"parameter {name!r} of {owner} must be a single real number, got {value!r}"
        )
    return float(array)


def to_brian2(value, unit):
    """``value`` (SI float) as a Brian2 quantity of ``unit``; a dimensionless one unchanged."""
    if is_dimensionless(unit):
        return value
    return value * _brian2_unit(unit)


def is_real_number(value):
    """Whether ``value`` is a plain real number (not bool, not a quantity)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z]\w*)?\s*$")


def parse_quantity(text):
    """A number with an optional Brian2 unit from text (command lines): ``"20*ms"``, ``"20 ms"``.

    Returns
    -------
    float or brian2.Quantity
        A plain float when no unit is written (Brian2 is then not imported).

    Raises
    ------
    ParameterError
        If ``text`` is not a number optionally followed by a Brian2 unit name.
    """
    match = _QUANTITY.match(str(text))
    if not match:
        raise ParameterError(
            f"cannot read {text!r} as a number with an optional Brian2 unit; write e.g. 20*ms, "
            "0.5 ms or 10"
        )
    number, unit = float(match.group(1)), match.group(2)
    return number if unit is None else number * _brian2_unit(unit)
