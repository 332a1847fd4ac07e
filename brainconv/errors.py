"""Exceptions raised by brainconv.

Every error derives from :class:`BrainconvError` and from the built-in exception a caller would
expect (``ValueError`` for bad input, ``RuntimeError`` for a failed build or run), so both
``except BrainconvError`` and ``except ValueError`` work. Messages name the object (layer, model,
file), what was expected, what came, and the likely fix.
"""

__all__ = ["BrainconvError", "DataError", "ModelError", "ParameterError", "ShapeError",
           "SimulationError", "brian2_cause", "require_numbers"]


class BrainconvError(Exception):
    """Base class of all brainconv errors."""


class ModelError(BrainconvError, ValueError):
    """Unknown model name, malformed equations or bad model parameters."""


class ShapeError(BrainconvError, ValueError):
    """Arrays whose shapes do not fit together (weights, biases, inputs)."""


class ParameterError(BrainconvError, ValueError):
    """A number outside its allowed range (steps, thresholds, percentiles, NaN weights...)."""


class DataError(BrainconvError, ValueError):
    """A dataset file that is missing, truncated, corrupt or has the wrong checksum."""


class SimulationError(BrainconvError, RuntimeError):
    """Brian2 failed to build, compile or run a network."""


def require_numbers(values, what):
    """``values`` as an array, refused when it holds text: ``np.asarray(["1", "2"], float)``
    would parse it silently, so a file read as strings would pass for data.

    Raises
    ------
    ParameterError
        If ``values`` holds strings or bytes.
    """
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in "US" or (array.dtype.kind == "O" and any(
            isinstance(item, (str, bytes)) for item in array.ravel())):
        sample = str(next(iter(array.ravel()), ""))
        raise ParameterError(
            f"{what} must be numbers, got text such as {sample!r} (dtype {array.dtype}); "
            "convert numbers written as text first, e.g. np.asarray(values, dtype=float)")
    return array


def brian2_cause(exc):
    """The message of the root cause of a (Brian2) exception, for a one-line error message.

    Brian2 wraps the real problem: a typo'd identifier surfaces as "An error occurred when
    preparing an object. (See above for original error message and traceback.)", with
    ``The identifier "tua" could not be resolved.`` only in the exception chain. This follows
    ``__cause__`` (or ``__context__``) to the deepest exception and returns its message.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
        The deepest non-empty message of the chain, without the quotes ``KeyError`` adds;
        ``"TypeName"`` if no exception in the chain has a message.
    """
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    for error in reversed(chain):
        # str(KeyError("msg")) is "'msg'": read the argument itself.
        if isinstance(error, KeyError) and len(error.args) == 1 and isinstance(error.args[0], str):
            message = error.args[0]
        else:
            message = str(error)
        if message.strip():
            return message.strip()
    return type(chain[0]).__name__ if chain else ""
