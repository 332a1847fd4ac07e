"""Time-to-first-spike (TTFS) input: one spike per input value, earlier for larger values.

BATS (Bacho & Chu 2023, ``experiments/mnist/Dataset.py``) encodes a pixel ``p`` in [0, 1] as one
spike at ``t_in = t_window (1 - p)`` (``t_window`` = 0.1 s); a zero pixel does not spike. As a
brainconv layer, ``ttfs`` is the first layer of a network: its constant current ``I`` is the
input value (the spec's first weights are the identity), it spikes once, in the step ``n`` of the
sample with ``n = floor(t_in / dt)`` (times within 1e-9 steps below a grid point count as on
it, the tolerance of :func:`brainconv.spiketime.discretise`), and its spike reaches the next
layer at ``t_n + dt``: at ``d(t_in) = t_in + dt - mod(t_in, dt)``, Cojocaru's discretisation
(eq. 14), when the layer above takes its input after its own update (``cuba_lif``).

:func:`brainconv.spiketime.ttfs_encode` gives the spike times themselves, for the event-driven
reference.
"""

import numpy as np

from .model import NeuronModel

__all__ = ["EQUATIONS", "PARAMETERS", "THRESHOLD", "TTFS", "UNITS", "spike_step"]

EQUATIONS = """
I : 1                                   # input value p in [0, 1]
t0 : second                             # start of the current sample
t_window : second (shared, constant)    # spike time of p = 0+ (p = 1 spikes at 0)
"""
# Step of the sample (t - t0 is k dt up to rounding) against floor(t_in / dt), with the grid
# tolerance of brainconv.spiketime.discretise (1e-9 steps): Brian2's timestep() rounds up
# from 1e-3 dt below a grid point, which would move inputs there one step later than d(t).
THRESHOLD = ("I > 0 and I <= 1 and int((t - t0) / dt + 0.5) == "
             "int(t_window * (1 - I) / dt + 1e-9)")
PARAMETERS = {"t_window": 0.1}
UNITS = {"t_window": "second"}


def spike_step(value, dt, t_window=0.1):
    """Step of the sample in which an input of ``value`` spikes: ``floor(t_in / dt)``, with
    times within 1e-9 steps below a grid point counted on it (as ``discretise`` does)."""
    return np.floor(t_window * (1 - np.asarray(value, dtype=float)) / dt + 1e-9)


def _step(state, current, spikes, dt, t_window=0.1, theta=None):
    """One step in numpy: spike where this step is the input's spike step."""
    k = state["k"]
    spikes[...] = (current > 0) & (current <= 1) & (spike_step(current, dt, t_window) == k)
    k += 1
    return spikes


TTFS = NeuronModel(
    name="ttfs",
    equations=EQUATIONS,
    threshold=THRESHOLD,
    reset="",
    parameters=PARAMETERS,
    step=_step,
    input_variable="I",
    clear="t0 = t",
    time_base="continuous",
    units=UNITS,
    state_variables=("k",),
    citation="Bacho & Chu 2023 (BATS) input encoding; Cojocaru 2024 eq. 14",
    description="Time-to-first-spike input layer: one spike at t_window (1 - value) per input "
                "value > 0",
)
