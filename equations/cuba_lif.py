"""Current-based LIF (CuBa-LIF) of BATS (Bacho & Chu 2023) and Cojocaru's time grid (2024).

Continuous dynamics, with ``u`` dimensionless and the synaptic current ``g`` in 1/s::

    du/dt = -u / tau + g        dg/dt = -g / tau_s        tau = 2 tau_s

A presynaptic spike adds its weight ``w`` (in Hz) to ``g``; at ``u = theta`` the neuron
spikes and ``u -= theta`` (soft reset). With ``tau = 2 tau_s`` the solution over a step of
length ``s`` from ``(u0, g0)`` is, with ``x = exp(-s / tau)`` (so ``exp(-s / tau_s) = x**2``),

    u(s) = A x - B x**2,   A = u0 + tau g0,   B = tau g0,   g(s) = g0 x**2,

which the ``integrate`` code applies exactly (no integration error at any ``dt``). Two ways to
put this on a grid of step ``dt`` (the second is Cojocaru's, thesis eq. 14):

* ``cuba_lif_grid`` (a), Brian2's plain grid: the threshold ``u >= theta`` is checked at the
  grid points only. A crossing followed by a fall back below ``theta`` within one step is
  missed, and the reset is applied at the grid point.
* ``cuba_lif`` (b), Cojocaru's semantics: the dynamics stay continuous and only the *emitted*
  spike time is snapped to the next grid point, ``d(t) = t + dt - mod(t, dt)`` (Cojocaru eq.
  14). The step's threshold solves the quadratic ``B x**2 - A x + theta = 0`` for the earliest
  crossing ``x* = (A + sqrt(A**2 - 4 B theta)) / (2 B)`` inside the step (``x1 <= x* < 1``)
  and the reset subtracts ``theta`` decayed from the crossing to the step's end,
  ``theta x1 / x*``, exactly as the continuous neuron would.

Timing: a spike found in step ``n`` (crossing in ``(t_n, t_n + dt]``, stamped step ``n``)
reaches the next layer at ``t_n + dt = d(t*)``: the pathway into a CuBa layer runs after that
layer's threshold and reset (``input_after_reset``), so the step's jump in ``g`` acts from the
next step on. A TTFS input spike at ``t_in`` (:mod:`brainconv.equations.ttfs`) likewise acts at
``d(t_in)``. Not handled by (b): two crossings within one step (the second waits for the next
step), and BATS' spike buffer (the event-driven trainer stops a neuron after ``max_spikes``
spikes per sample; here it fires on). Networks trained at the thesis's budget hit both (their
hidden neurons reach the 30-spike cap; 1,341 same-step double crossings in 20 MNIST images at a
1 ms grid), so Brian2 and the event-driven engine differ on them
(``experiments/cojocaru/README.md``); lightly trained networks do not.

The layer's constant current ``I`` is unused (BATS networks have no biases): all input arrives
as spikes. Times in brainconv's batches are measured from the sample's start, so the
closed-form exponentials never overflow.
"""

import numpy as np

from .model import NeuronModel

__all__ = ["CLEAR", "CUBA_LIF", "CUBA_LIF_GRID", "EQUATIONS", "INTEGRATE", "PARAMETERS", "RESET",
           "THRESHOLD", "UNITS"]

EQUATIONS = """
u : 1                             # membrane potential
g : Hz                            # synaptic current (weights add to it)
A : 1                             # u + tau g at the start of the step
B : 1                             # tau g at the start of the step
I : 1                             # constant current: unused (no biases)
x1 = exp(-dt / (2 * tau_s)) : 1   # decay of u over one step, exp(-dt / tau)
xs = (A + sqrt(clip(A * A - 4 * B * theta, 0, inf))) / (2 * B + int(B <= 0)) : 1
tau_s : second (shared, constant) # synaptic time constant; tau = 2 tau_s
theta : 1 (shared, constant)
"""
INTEGRATE = """
A = u + 2 * tau_s * g
B = 2 * tau_s * g
u = (A - B * x1) * x1
g = g * (x1 * x1)
"""
#: Cojocaru's semantics: a crossing anywhere inside the step, reset decayed from the crossing.
THRESHOLD = "u >= theta or (B > 0 and A * A >= 4 * B * theta and xs >= x1 and xs < 1)"
RESET = "u -= theta * x1 / clip(xs, x1, 1)"
CLEAR = "u = 0\ng = 0*Hz\nA = 0\nB = 0"
#: BATS' MNIST setting: tau_s = 0.13 s; thresholds per layer come from the network.
PARAMETERS = {"tau_s": 0.13}
UNITS = {"tau_s": "second"}


def _step(state, current, spikes, dt, tau_s=0.13, theta=1.0, exact=True):
    """One step in numpy, the arithmetic of the Brian2 strings in the same order.

    ``current`` is the step's arriving weight sum (Hz): it is added to ``g`` after the
    threshold and reset, so it acts from the next step on.
    """
    u, g = state["u"], state["g"]
    x1 = np.exp(-dt / (2 * tau_s))
    A = u + 2 * tau_s * g
    B = 2 * tau_s * g
    u[...] = (A - B * x1) * x1
    g *= x1 * x1
    fired = u >= theta
    if exact:
        with np.errstate(invalid="ignore", divide="ignore"):
            xs = (A + np.sqrt(np.clip(A * A - 4 * B * theta, 0, np.inf))) / (2 * B + (B <= 0))
        fired |= (B > 0) & (A * A >= 4 * B * theta) & (xs >= x1) & (xs < 1)
        u[fired] -= theta * x1 / np.clip(xs[fired], x1, 1)
    else:
        u[fired] -= theta
    g += current
    spikes[...] = fired
    return spikes


def _make(name, exact, description):
    return NeuronModel(
        name=name,
        equations=EQUATIONS,
        threshold=THRESHOLD if exact else "u >= theta",
        reset=RESET if exact else "u -= theta",
        parameters=PARAMETERS,
        step=lambda state, current, spikes, dt, **p: _step(state, current, spikes, dt,
                                                            exact=exact, **p),
        input_variable="g",
        integrate=INTEGRATE,
        clear=CLEAR,
        method="exact",
        time_base="continuous",
        units=UNITS,
        state_variables=("u", "g"),
        input_after_reset=True,
        own_synapse="cuba_current",
        trained_by="brainconv.spiketime.train_bats",
        citation="Bacho & Chu 2023 (BATS) eq. 1-9; Cojocaru 2024 eq. 14",
        description=description,
    )


CUBA_LIF = _make("cuba_lif", True,
                 "Current-based LIF (tau = 2 tau_s, soft reset), exact in-step crossing; "
                 "spikes emitted at the next grid point (Cojocaru)")
CUBA_LIF_GRID = _make("cuba_lif_grid", False,
                      "Current-based LIF (tau = 2 tau_s, soft reset), threshold checked at grid "
                      "points only (Brian2's plain grid)")
