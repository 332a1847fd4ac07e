"""LIF neuron with physical time constants (Hunsberger & Eliasmith 2016; Nengo ``LIF``).

The membrane obeys ``tau_rc dv/dt = J - v`` with threshold ``theta`` (1 in the paper); after a
spike ``v`` is held at 0 for ``tau_ref`` and it never drops below 0 (Nengo's ``min_voltage =
0``). For a constant ``J > theta`` the rate is eq. 2 of the paper, with ``theta = 1``:

    r(J) = 1 / (tau_ref + tau_rc log1p(theta / (J - theta))).

The input current is ``J = gain (I + I_syn) + theta``: ``I`` is the constant current of the
layer (``x @ W0 + b0`` for the first layer, the bias for the others) and ``I_syn`` the
synaptic current a synapse model (:mod:`brainconv.equations.synapses`) computes each step, so
``I + I_syn`` is the ANN pre-activation and the ``+ theta`` is Hunsberger's threshold offset
(``J = alpha x + 1`` in the authors' code).

**Why not Brian2's built-in refractory period.** On a 1 ms grid a spike is stamped at the start
of the step in which ``v`` crossed, and the refractory period counts from that stamp, so each
interspike interval loses part of a step: at ``J = 10`` (``tau_rc`` 22 ms, ``tau_ref`` 2 ms)
the built-in version fires at 250 Hz instead of 231.6 Hz. This model does what Nengo's
``LIF.step`` does instead, holding ``J`` constant over each step:

* ``ref`` is the refractory time still left; each step it drops by ``dt`` and the membrane
  integrates only over the part of the step after it ends, ``clip(dt - ref, 0, dt)``, with
  the exact solution ``v += (J - v) (1 - exp(-t / tau_rc))``;
* at a spike, the crossing time within the step follows from the same exact solution,
  ``t_spike = dt + tau_rc log1p(-(v - theta) / (J - theta))``, and the refractory period runs
  from there: ``ref = tau_ref + t_spike``.

Interspike intervals then alternate between whole numbers of steps so that their mean is
``1 / r(J)``: the simulated rate equals the analytic one at any ``dt`` (tested at ``dt = 1 ms``
within 0.5 %).

The update is ``integrate`` code (run after the step's synaptic input has arrived), not a
differential equation: it is the exact solution for a piecewise-constant ``J``, and the numpy
:func:`lif_rc_step` performs the same arithmetic.
"""

import numpy as np

from .model import NeuronModel

__all__ = ["EQUATIONS", "INTEGRATE", "LIF_RC", "PARAMETERS", "RESET", "UNITS", "lif_rc_rate",
           "lif_rc_step", "rate_of_j"]

EQUATIONS = """
v : 1                                 # membrane potential; spikes above theta
ref : second                          # refractory time left at the end of the last step
I : 1                                 # constant current (input x @ W0 + b0, or the bias)
I_syn : 1                             # synaptic current over this step (set by the synapse model)
J = gain * (I + I_syn) + theta : 1    # input current, held constant over a step
gain : 1 (shared, constant)
theta : 1 (shared, constant)
tau_rc : second (shared, constant)    # membrane time constant
tau_ref : second (shared, constant)   # absolute refractory period
"""
INTEGRATE = """
ref = ref - dt
v = clip(v - (J - v) * expm1(-clip(dt - ref, 0*second, dt) / tau_rc), 0, inf)
"""
RESET = """
ref = tau_ref + dt + tau_rc * log1p(-(v - theta) / (J - theta))
v = 0
"""
#: Defaults of the authors' MNIST network (hunse/cuda-convnet2 layers-mnist-lif.cfg), in SI.
PARAMETERS = {"gain": 1.0, "theta": 1.0, "tau_rc": 0.022, "tau_ref": 0.002}
UNITS = {"tau_rc": "second", "tau_ref": "second"}


def rate_of_j(J, tau_rc=0.022, tau_ref=0.002):
    """Hunsberger & Eliasmith eq. 2 (threshold 1): rate in Hz for a constant current ``J``.

    ``1 / (tau_ref + tau_rc log1p(1 / (J - 1)))`` for ``J > 1``, else 0. Times in seconds.
    """
    J = np.asarray(J, dtype=float)
    fires = J > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        period = tau_ref + tau_rc * np.log1p(1 / np.where(fires, J - 1, 1.0))
    return np.where(fires, 1 / period, 0.0)


def lif_rc_rate(current, gain=1.0, theta=1.0, tau_rc=0.022, tau_ref=0.002):
    """Rate in Hz for a constant input ``current`` (``J = gain current + theta``).

    Scaling ``v`` by ``theta`` shows that the rate is :func:`rate_of_j` of ``J / theta``.
    """
    current = np.asarray(current, dtype=float)
    return rate_of_j(gain * current / theta + 1, tau_rc, tau_ref)


def lif_rc_step(state, current, spikes, dt, gain=1.0, theta=1.0, tau_rc=0.022,
                tau_ref=0.002):
    """One step of ``lif_rc`` in numpy, the arithmetic of its Brian2 code in the same order.

    Parameters
    ----------
    state : dict
        ``"v"`` and ``"ref"`` arrays (``ref`` in seconds), updated in place.
    current : ndarray
        ``I + I_syn`` of this step.
    spikes : ndarray
        Preallocated output, set to 1 where a unit spiked and 0 elsewhere.
    dt : float
        Step in seconds.

    Returns
    -------
    ndarray
        ``spikes``.
    """
    v, ref = state["v"], state["ref"]
    ref -= dt
    J = gain * current + theta
    v -= (J - v) * np.expm1(-np.clip(dt - ref, 0.0, dt) / tau_rc)
    np.clip(v, 0, np.inf, out=v)
    np.greater(v, theta, out=spikes)
    fired = spikes.astype(bool)
    ref[fired] = tau_ref + dt + tau_rc * np.log1p(-(v[fired] - theta) / (J[fired] - theta))
    v[fired] = 0
    return spikes


LIF_RC = NeuronModel(
    name="lif_rc",
    equations=EQUATIONS,
    threshold="v > theta",
    reset=RESET,
    parameters=PARAMETERS,
    rate=lif_rc_rate,
    step=lif_rc_step,
    input_variable="I_syn",
    integrate=INTEGRATE,
    clear="v = 0\nref = 0*second\nI_syn = 0",
    method="exact",
    time_base="continuous",
    units=UNITS,
    state_variables=("v", "ref"),
    citation="Hunsberger & Eliasmith 2016 (arXiv 1611.05141) §2, eq. 1-2; Nengo LIF.step "
             "(sub-step spike time, partial refractory period, min_voltage = 0)",
    description="LIF, tau_rc dv/dt = J - v, J = gain (I + I_syn) + theta, held at 0 for "
                "tau_ref: r(J) = 1/(tau_ref + tau_rc log1p(theta/(J - theta))).",
)
