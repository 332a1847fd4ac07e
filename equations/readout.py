"""Non-spiking readout: the output layer as a linear node on filtered spikes (Hunsberger).

Hunsberger & Eliasmith (2016, §3) do not make the output layer spike: the class scores are
``y = W_out · (amp · filtered hidden spikes) + b_out``, and the prediction is the argmax of the
mean of ``y`` over a classification window ``[c0, c1]`` (their Table 4). As a layer of a
converted network, ``y = I + I_syn``: ``I`` is the output bias and ``I_syn`` the current of
the pathway from the last hidden layer through its synapse model (whose weights carry
``amp``). ``y`` is recorded every step; the window is applied when the results are made.
"""

import numpy as np

from brainconv.errors import ParameterError

from .model import NeuronModel

__all__ = ["EQUATIONS", "READOUT", "READOUT_MODELS", "check_window", "readout_step", "window_mean"]

EQUATIONS = """
y : 1          # class score over this step
I : 1          # constant current: the output bias
I_syn : 1      # synaptic current over this step (set by the synapse model)
"""


def readout_step(state, current, spikes, dt):
    """One step in numpy: ``y = I + I_syn`` (``current``); no spikes. Returns ``y``."""
    state["y"][...] = current
    return state["y"]


READOUT = NeuronModel(
    name="readout",
    equations=EQUATIONS,
    threshold=None,
    reset=None,
    parameters={},
    step=readout_step,
    input_variable="I_syn",
    integrate="y = I + I_syn",
    clear="y = 0\nI_syn = 0",
    time_base="continuous",
    state_variables=("y",),
    citation="Hunsberger & Eliasmith 2016 §3 and Table 4 (non-spiking output, mean over the "
             "classification window [c0, c1])",
    description="Non-spiking output node y = I + I_syn (filtered hidden spikes times the "
                "output weights, plus the bias), recorded every step.",
)

#: Non-spiking output models, name -> NeuronModel (not in MODELS: they have no rate to test).
READOUT_MODELS = {READOUT.name: READOUT}


def check_window(window, duration_ms):
    """``window`` as ``(c0, c1)`` floats, checked against a presentation of ``duration_ms``
    before anything is simulated.

    Raises
    ------
    ParameterError
        Unless ``window`` is two finite numbers with ``0 <= c0 < c1 <= duration_ms``.
    """
    try:
        c0, c1 = (float(c) for c in window)
    except (TypeError, ValueError):
        raise ParameterError(f"a classification window is two numbers (c0, c1) in ms, got "
                             f"{window!r}") from None
    if not (np.isfinite(c0) and np.isfinite(c1) and 0 <= c0 < c1 <= duration_ms + 1e-9):
        raise ParameterError(
            f"classification window ({c0:g}, {c1:g}) ms does not fit the run: give "
            f"0 <= c0 < c1 <= {duration_ms:g} ms, the presentation time (steps x dt); "
            "Hunsberger's MNIST rows are (120, 200), (40, 100), (50, 60) of 200 ms")
    return c0, c1


def window_mean(values, time_ms, window):
    """Mean of ``values`` (sample, time, class) over the steps whose end lies in ``window``.

    Parameters
    ----------
    values : ndarray, shape (n_sample, n_time, n_class)
    time_ms : ndarray, shape (n_time,)
        End time of each step in ms.
    window : (float, float) or None
        ``(c0, c1)`` in ms; a step counts if ``c0 < t_end <= c1``. None: the whole run.

    Returns
    -------
    ndarray, shape (n_sample, n_class)

    Raises
    ------
    ParameterError
        If the window is not ``c0 < c1`` or holds no step of the run.
    """
    values = np.asarray(values)
    if window is None:
        return values.mean(axis=1)
    c0, c1 = (float(c) for c in window)
    inside = (time_ms > c0 + 1e-9) & (time_ms <= c1 + 1e-9)
    if not c0 < c1 or not inside.any():
        raise ParameterError(
            f"classification window [{c0:g}, {c1:g}] ms holds no step of the run, whose steps "
            f"end at {time_ms[0]:g} ... {time_ms[-1]:g} ms; give 0 <= c0 < c1 <= the "
            "presentation time (Hunsberger's MNIST rows: (120, 200), (40, 100), (50, 60))"
        )
    return values[:, inside].mean(axis=1)
