"""Non-leaky accumulator neurons: several spikes per timestep sent as one event with a payload.

Think Fast §2.3 and §3.3 (after Voelker et al.'s hybrid accumulators; Loihi 2 graded spikes).
Each timestep the neuron integrates its input like an IF neuron, ``v += I``; if ``v >= theta``
it emits *one* event carrying the integer payload ``n = min(floor(v / theta), k)`` and resets by
subtraction, ``v -= n * theta``. The next layer receives ``w * n``.

With a constant input the payload per step averages ``clip(I / theta, 0, k)``, so an
accumulator tracks a ReLU up to ``k`` times the threshold, and within a single timestep to a
precision of one threshold: the larger the activations are relative to ``theta`` (e.g. an ANN
transferred without normalization, as in Think Fast), the finer the sampling. Power counts an
event as one spike whatever its payload, as Think Fast does.
"""

import numpy as np

from .model import NeuronModel

__all__ = ["ACCUMULATOR", "EQUATIONS", "accumulator_rate", "accumulator_step"]

EQUATIONS = """
dv/dt = I / dt : 1
I : 1
n : 1
theta : 1 (shared, constant)
k : 1 (shared, constant)
"""


def accumulator_rate(current, theta=1.0, k=100):
    """Average payload per timestep for a constant input: ``clip(I / theta, 0, k)``."""
    return np.clip(np.asarray(current, dtype=float) / theta, 0.0, k)


def accumulator_step(v, current, spikes, theta=1.0, k=100):
    """One timestep in numpy: integrate, emit ``n = min(floor(v/theta), k)``, subtract."""
    v += current
    np.floor(v / theta, out=spikes)
    np.clip(spikes, 0, k, out=spikes)
    v -= spikes * v.dtype.type(theta)
    return spikes


ACCUMULATOR = NeuronModel(
    name="accumulator",
    equations=EQUATIONS,
    threshold="v >= theta",
    reset="n = clip(floor(v / theta), 1, k)\nv -= n * theta",
    parameters={"theta": 1.0, "k": 100},
    rate=accumulator_rate,
    step=accumulator_step,
    payload="n",
    citation="Think Fast §2.3, §3.3 (non-leaky accumulator, up to k spikes per timestep)",
    description="Non-leaky accumulator: one event per step with payload n = min(floor(v/theta), k).",
)
