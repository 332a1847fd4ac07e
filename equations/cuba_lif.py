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

Several crossings in one step (a strongly driven neuron at a coarse grid: up to 30 in a 9 ms
step for a trained MNIST network) are all emitted at the step's end: after a crossing at ``x*``
the reset makes ``A <- A - theta / x*`` and the next crossing is the larger root of the same
quadratic with the new ``A``, if it lies later in the step (``x1 <= x < x*``). The neuron then
sends ``n`` spikes at once (its payload ``n``: the next layer's ``g`` jumps by ``n w``). Brian2
code has no loops, so the reset repeats this solve ``max_spikes - 1`` times, each stage a no-op
once no crossing is left (``ok = 0``).

BATS' spike buffer: a neuron emits at most ``max_spikes`` spikes per sample (the event-driven
trainer stops it there; BATS' MNIST setting 30) and is silent after, though it keeps
integrating. ``max_spikes`` is structural (it sets how many stages the reset code has).

Timing: a spike found in step ``n`` (crossing in ``(t_n, t_n + dt]``, stamped step ``n``)
reaches the next layer at ``t_n + dt = d(t*)``: the pathway into a CuBa layer runs after that
layer's threshold and reset (``input_after_reset``), so the step's jump in ``g`` acts from the
next step on. A TTFS input spike at ``t_in`` (:mod:`brainconv.equations.ttfs`) likewise acts at
``d(t_in)``. With both, ``cuba_lif`` on a grid of ``dt`` equals the event-driven engine run with
the same ``dt`` spike for spike, up to ties of floating-point rounding (the engine solves in
``exp(t / tau)`` coordinates).

The layer's constant current ``I`` is unused (BATS networks have no biases): all input arrives
as spikes. Times in brainconv's batches are measured from the sample's start, so the
closed-form exponentials never overflow.
"""

import numpy as np

from brainconv.errors import ParameterError
from .model import NeuronModel

__all__ = ["CLEAR", "CUBA_LIF", "CUBA_LIF_GRID", "EQUATIONS", "INTEGRATE", "MAX_SPIKES_LIMIT",
           "PARAMETERS", "UNITS", "make_cuba_lif"]

EQUATIONS = """
u : 1                             # membrane potential
g : Hz                            # synaptic current (weights add to it)
A : 1                             # u + tau g at the start of the step
B : 1                             # tau g at the start of the step
I : 1                             # constant current: unused (no biases)
n : 1                             # spikes sent in the last step that had any (the payload)
emitted : 1                       # spikes sent in this sample (stops at max_spikes)
total_spikes : 1                  # spikes sent over the whole run
x1 = exp(-dt / (2 * tau_s)) : 1   # decay of u over one step, exp(-dt / tau)
xs = (A + sqrt(clip(A * A - 4 * B * theta, 0, inf))) / (2 * abs(B) + int(B <= 0)) : 1
tau_s : second (shared, constant) # synaptic time constant; tau = 2 tau_s
theta : 1 (shared, constant)
"""
INTEGRATE = """
A = u + 2 * tau_s * g
B = 2 * tau_s * g
u = (A - B * x1) * x1
g = g * (x1 * x1)
"""
#: Cojocaru's semantics: a crossing anywhere inside the step (the first one; the reset finds
#: the others).
_CROSSING = "u >= theta or (B > 0 and A * A >= 4 * B * theta and xs >= x1 and xs < 1)"
#: One more crossing after the one at ``xk`` (``Ak``: the drive after the resets so far).
_STAGE = """D = Ak * Ak - 4 * B * theta
xn = (Ak + sqrt(clip(D, 0, inf))) / (2 * abs(B) + int(B <= 0))
ok = ok * int(emitted + n < {max_spikes} and B > 0 and D >= 0 and xn >= x1 and xn < xk)
Ak = Ak - ok * theta / clip(xn, x1, 1)
xk = ok * xn + (1 - ok) * xk
n = n + ok"""
CLEAR = "u = 0\ng = 0*Hz\nA = 0\nB = 0\nemitted = 0"
#: BATS' MNIST setting: tau_s = 0.13 s, 30 spikes per neuron and sample; thresholds per layer
#: come from the network.
PARAMETERS = {"tau_s": 0.13, "max_spikes": 30}
UNITS = {"tau_s": "second"}
#: Largest ``max_spikes``: each spike beyond the first in one step is a stage of reset code.
MAX_SPIKES_LIMIT = 200


def _step(state, current, spikes, dt, tau_s=0.13, theta=1.0, max_spikes=30, exact=True):
    """One step in numpy, the arithmetic of the Brian2 strings in the same order.

    ``current`` is the step's arriving weight sum (Hz): it is added to ``g`` after the
    threshold and reset, so it acts from the next step on. ``spikes`` receives the spikes
    each neuron sends in this step.
    """
    u, g, emitted = state["u"], state["g"], state["emitted"]
    x1 = np.exp(-dt / (2 * tau_s))
    A = u + 2 * tau_s * g
    B = 2 * tau_s * g
    u[...] = (A - B * x1) * x1
    g *= x1 * x1
    fired = u >= theta
    with np.errstate(invalid="ignore", divide="ignore"):
        xs = (A + np.sqrt(np.clip(A * A - 4 * B * theta, 0, np.inf))) / (2 * np.abs(B) + (B <= 0))
    if exact:
        fired |= (B > 0) & (A * A >= 4 * B * theta) & (xs >= x1) & (xs < 1)
    fired &= emitted < max_spikes
    n = fired.astype(u.dtype)
    if exact:
        A, B, em = A[fired], B[fired], emitted[fired]
        xk = np.clip(xs[fired], x1, 1)
        Ak = A - theta / xk
        sent, ok = np.ones_like(Ak), np.ones_like(Ak)
        for _ in range(int(max_spikes) - 1):
            D = Ak * Ak - 4 * B * theta
            with np.errstate(invalid="ignore", divide="ignore"):
                xn = (Ak + np.sqrt(np.clip(D, 0, np.inf))) / (2 * np.abs(B) + (B <= 0))
            ok = ok * ((em + sent < max_spikes) & (B > 0) & (D >= 0) & (xn >= x1) & (xn < xk))
            if not ok.any():  # every later stage is a no-op too
                break
            Ak = Ak - ok * theta / np.clip(xn, x1, 1)
            xk = ok * xn + (1 - ok) * xk
            sent = sent + ok
        u[fired] = (Ak - B * x1) * x1
        n[fired] = sent
    else:
        u[fired] -= theta
    emitted += n
    g += current
    spikes[...] = n
    return spikes


def make_cuba_lif(exact=True, max_spikes=30):
    """The CuBa-LIF model with a spike buffer of ``max_spikes`` per neuron and sample.

    Parameters
    ----------
    exact : bool
        ``cuba_lif`` (every crossing inside a step, Cojocaru's semantics) or ``cuba_lif_grid``
        (the threshold checked at grid points only).
    max_spikes : int
        BATS' spike buffer: a neuron sends at most this many spikes per sample.

    Raises
    ------
    ParameterError
        For a ``max_spikes`` that is not an integer in ``[1, MAX_SPIKES_LIMIT]``.
    """
    if (isinstance(max_spikes, bool) or not float(max_spikes).is_integer()
            or not 1 <= max_spikes <= MAX_SPIKES_LIMIT):
        raise ParameterError(
            f"cuba_lif max_spikes must be an integer in [1, {MAX_SPIKES_LIMIT}] (spikes per "
            f"neuron and sample, BATS' spike buffer, e.g. 30), got {max_spikes!r}")
    max_spikes = int(max_spikes)
    name = "cuba_lif" if exact else "cuba_lif_grid"
    if exact:
        stages = "\n".join(_STAGE.format(max_spikes=max_spikes) for _ in range(max_spikes - 1))
        reset = "\n".join(filter(None, ["xk = clip(xs, x1, 1)", "Ak = A - theta / xk",
                                          "n = 1", "ok = n", stages,
                                          "u = (Ak - B * x1) * x1"]))
        threshold = f"emitted < {max_spikes} and ({_CROSSING})"
        description = ("Current-based LIF (tau = 2 tau_s, soft reset), exact in-step "
                       "crossings; spikes emitted at the next grid point (Cojocaru)")
    else:
        reset, threshold = "u -= theta\nn = 1", f"emitted < {max_spikes} and u >= theta"
        description = ("Current-based LIF (tau = 2 tau_s, soft reset), threshold checked at "
                       "grid points only (Brian2's plain grid)")
    return NeuronModel(
        name=name,
        equations=EQUATIONS,
        threshold=threshold,
        reset=reset + "\nemitted += n\ntotal_spikes += n",
        parameters={**PARAMETERS, "max_spikes": max_spikes},
        step=lambda state, current, spikes, dt, **p: _step(state, current, spikes, dt,
                                                            exact=exact, **p),
        payload="n",
        spike_count="n",
        input_variable="g",
        integrate=INTEGRATE,
        clear=CLEAR,
        method="exact",
        time_base="continuous",
        units=UNITS,
        state_variables=("u", "g", "emitted"),
        input_after_reset=True,
        own_synapse="cuba_current",
        structural=("max_spikes",),
        make=lambda max_spikes: make_cuba_lif(exact, max_spikes),
        trained_by="brainconv.spiketime.train_bats",
        citation="Bacho & Chu 2023 (BATS) eq. 1-9; Cojocaru 2024 eq. 14",
        description=description,
    )


CUBA_LIF = make_cuba_lif(True)
CUBA_LIF_GRID = make_cuba_lif(False)
