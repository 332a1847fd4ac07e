"""Leaky neurons on a timestep grid: the leaky rate code (LIF) and the leaky accumulator.

Think Fast eq. 2 gives the leaky membrane ``C dV/dt = I - V/R`` and calls ``R`` a leak *rate
constant*: ``R = 1`` is non-leaky and a larger ``R`` is leakier (§4.5). The paper gives no update
rule. The discrete-time reading used here keeps both statements true: between timesteps the
potential decays by the factor ``1/R``, then the timestep's input is added,

    v(t) = v(t-1) / R + I(t),

which is the exact solution of a leaky membrane with time constant ``tau = dt / ln R`` driven
by one input pulse per timestep (``R = 1``: ``tau`` infinite, the IF neuron of eq. 4). Think
Fast's other readings of ``R`` were tried on the converted MNIST network
(``experiments/think_fast/leak_readings.py``): this one reproduces the leaky accumulator row of
Table 1 and is the one used. A consequence: a neuron fed a constant input ``I`` settles at
``v = I R / (R - 1)``, so it only ever fires if ``I >= theta (1 - 1/R)``.

* ``lif`` — leaky rate code, one spike per step at most, reset to zero (the classical LIF).
  After a reset, ``v_k = I (1 - R^-k) / (1 - 1/R)``; the neuron fires every
  ``k = ceil(ln(1 - theta (1 - 1/R) / I) / ln(1/R))`` steps, which is Think Fast eq. 5 (the
  Nengo LIF tuning curve, ``tau_ref = 0``, ``tau_RC = 1/ln R``) on a timestep grid. ``R = 1``
  gives ``if_hard``.
* ``leaky_accumulator`` — the accumulator (payload ``n = min(floor(v/theta), k)``, ``v -= n
  theta``) with the same leak. Summing ``n theta = v(t-1)/R + I - v(t)`` over ``T`` steps gives
  the mean payload ``(I - (1 - 1/R) r) / theta``, ``r`` the mean potential left after a step,
  in ``[0, theta)``: the transfer function lies in a band of width ``1 - 1/R`` below ``I /
  theta``. ``R = 1`` gives ``accumulator``.

The leak is applied in ``integrate`` (after the timestep's input has arrived), so synapses add
to ``x`` and the numpy reference computes the very same ``v / R + (I + x)``.
"""

import numpy as np

from .accumulator import ACCUMULATOR
from .model import NeuronModel

__all__ = ["EQUATIONS", "INTEGRATE", "LEAKY_ACCUMULATOR", "LIF", "leaky_accumulator_rate",
           "leaky_accumulator_step", "leaky_accumulator_tolerance", "lif_rate", "lif_step"]

EQUATIONS = """
v : 1
x : 1
I : 1
theta : 1 (shared, constant)
R : 1 (shared, constant)
"""
INTEGRATE = "v = v / R + (I + x)\nx = 0"


def lif_rate(current, theta=1.0, R=10.0):
    """Spikes per timestep of ``lif``: ``1 / ceil(ln(1 - theta (1 - 1/R) / I) / ln(1/R))``."""
    current = np.asarray(current, dtype=float)
    if R == 1:
        period = np.ceil(theta / np.where(current > 0, current, np.inf))
        return np.where(current > 0, 1.0 / np.maximum(period, 1.0), 0.0)
    rheobase = theta * (1 - 1 / R)
    fires = current > rheobase
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1e-9: an exact whole number of steps must not round up to the next one
        period = np.ceil(np.log1p(-rheobase / np.where(fires, current, np.inf)) / np.log(1 / R)
                         - 1e-9)
    return np.where(fires, 1.0 / np.maximum(period, 1.0), 0.0)


def lif_step(v, current, spikes, theta=1.0, R=10.0):
    """One timestep of ``lif`` in numpy: decay, integrate, threshold, reset to zero."""
    v /= R
    v += current
    np.greater_equal(v, theta, out=spikes)
    v *= 1 - spikes
    return spikes


def leaky_accumulator_rate(current, theta=1.0, k=100, R=10.0):
    """Middle of the band ``[(I - theta (1 - 1/R)) / theta, I / theta]``, clipped to [0, k]."""
    current = np.asarray(current, dtype=float)
    return np.clip((current - theta * (1 - 1 / R) / 2) / theta, 0.0, k)


def leaky_accumulator_tolerance(current, theta=1.0, k=100, R=10.0):
    """Half the band's width, ``(1 - 1/R) / 2`` payload units per step."""
    return np.full(np.shape(current), (1 - 1 / R) / 2)


def leaky_accumulator_step(v, current, spikes, theta=1.0, k=100, R=10.0):
    """One timestep of ``leaky_accumulator``: decay, integrate, emit ``n``, subtract."""
    v /= R
    return ACCUMULATOR.step(v, current, spikes, theta=theta, k=k)


LIF = NeuronModel(
    name="lif",
    equations=EQUATIONS,
    threshold="v >= theta",
    reset="v = 0",
    parameters={"theta": 1.0, "R": 10.0},
    rate=lif_rate,
    step=lif_step,
    input_variable="x",
    integrate=INTEGRATE,
    clear="v = 0\nx = 0",
    citation="Think Fast eq. 2, 5, 11 (leaky rate code, leak rate constant R)",
    description="Leaky rate code: v = v/R + I, reset to zero; R = 1 is if_hard.",
)

LEAKY_ACCUMULATOR = NeuronModel(
    name="leaky_accumulator",
    equations=EQUATIONS + "n : 1\nk : 1 (shared, constant)\n",
    threshold="v >= theta",
    reset=ACCUMULATOR.reset,
    parameters={"theta": 1.0, "k": 100, "R": 10.0},
    rate=leaky_accumulator_rate,
    rate_tolerance=leaky_accumulator_tolerance,
    step=leaky_accumulator_step,
    payload="n",
    input_variable="x",
    integrate=INTEGRATE,
    clear="v = 0\nx = 0",
    citation="Think Fast §3.3, eq. 2, 13 (leaky accumulator, rate constant R)",
    description="Leaky accumulator: v = v/R + I, payload n = min(floor(v/theta), k), v -= n theta.",
)
