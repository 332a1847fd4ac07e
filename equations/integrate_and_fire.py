"""Non-leaky integrate-and-fire (IF) neurons on a timestep grid, for rate-coded conversion.

Think Fast §3.1, eq. 4: at every timestep the input (constant current plus weighted spikes of
the layer below) is added to the membrane potential, ``V(t) = V(t-1) + sum_i w_i X_i(t) + b``.
A neuron whose potential reaches the threshold ``theta`` emits one spike in that timestep.

* ``if_soft`` resets by subtraction, ``v -= theta`` (Rueckauer et al. 2017): the residual charge
  is kept, so the count after T steps of a constant current ``I`` in ``[0, theta]`` is
  ``floor(T * I / theta)`` and the rate is ``clip(I / theta, 0, 1)``, a clipped ReLU.
* ``if_hard`` resets to zero, ``v = 0`` (Cao et al. 2015; Diehl et al. 2015): a neuron with
  ``I > 0`` fires every ``ceil(theta / I)`` steps, so its rate is ``1 / ceil(theta / I)``,
  a staircase below the ReLU.

Both rates hold in exact arithmetic. In floating point, ``k * I`` can land just below
``theta`` when ``theta / I`` is an integer (``10 * 0.1 < 1``), which costs one more step.

``dv/dt = I/dt`` is Brian2's way of writing "add ``I`` once per timestep": forward Euler gives
exactly ``v = v + I`` (the ``dt`` cancels symbolically), so the numpy reference is bit-exact.
``I`` is the constant input current per timestep; synapses add their weight to ``v`` directly.
"""

import numpy as np

from .model import NeuronModel

__all__ = ["EQUATIONS", "IF_HARD", "IF_SOFT", "hard_reset_rate", "hard_reset_step",
           "soft_reset_rate", "soft_reset_step"]

EQUATIONS = """
dv/dt = I / dt : 1
I : 1
theta : 1 (shared, constant)
"""


def soft_reset_rate(current, theta=1.0):
    """Spikes per timestep of the soft-reset IF neuron: ``clip(I / theta, 0, 1)``."""
    return np.clip(np.asarray(current, dtype=float) / theta, 0.0, 1.0)


def hard_reset_rate(current, theta=1.0):
    """Spikes per timestep of the hard-reset IF neuron: ``1 / ceil(theta / I)`` for ``I > 0``."""
    current = np.asarray(current, dtype=float)
    period = np.ceil(theta / np.where(current > 0, current, np.inf))
    return np.where(current > 0, 1.0 / np.maximum(period, 1.0), 0.0)


def soft_reset_step(v, current, spikes, theta=1.0):
    """One timestep of ``if_soft`` in numpy: integrate, threshold, subtract ``theta``.

    Writes the spikes into ``spikes`` (0/1 in ``v``'s dtype, ready for the next matmul).
    """
    v += current
    np.greater_equal(v, theta, out=spikes)
    v -= spikes * v.dtype.type(theta) if theta != 1 else spikes
    return spikes


def hard_reset_step(v, current, spikes, theta=1.0):
    """One timestep of ``if_hard`` in numpy: integrate, threshold, set to zero.

    Writes the spikes into ``spikes`` (0/1 in ``v``'s dtype, ready for the next matmul).
    """
    v += current
    np.greater_equal(v, theta, out=spikes)
    v *= 1 - spikes
    return spikes


IF_SOFT = NeuronModel(
    name="if_soft",
    equations=EQUATIONS,
    threshold="v >= theta",
    reset="v -= theta",
    parameters={"theta": 1.0},
    rate=soft_reset_rate,
    step=soft_reset_step,
    citation="Think Fast §3.1 eq. 4; Rueckauer et al. 2017 (reset by subtraction)",
    description="Non-leaky IF, soft reset (v -= theta): rate = clip(I/theta, 0, 1).",
)

IF_HARD = NeuronModel(
    name="if_hard",
    equations=EQUATIONS,
    threshold="v >= theta",
    reset="v = 0",
    parameters={"theta": 1.0},
    rate=hard_reset_rate,
    step=hard_reset_step,
    citation="Think Fast §3.1 eq. 4; Diehl et al. 2015 (reset to zero)",
    description="Non-leaky IF, hard reset (v = 0): rate = 1/ceil(theta/I).",
)
