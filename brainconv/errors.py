"""Exceptions raised by brainconv.

Every error derives from :class:`BrainconvError` and from the built-in exception a caller would
expect (``ValueError`` for bad input, ``RuntimeError`` for a failed build or run), so both
``except BrainconvError`` and ``except ValueError`` work. Messages name the object (layer, model,
file), what was expected, what came, and the likely fix.
"""


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
