"""Ensemble neurons: several spiking neurons stand for one ANN unit (Think Fast §3.2).

Each ensemble is one Brian2 neuron per ANN unit whose members are state variables
``v_0 ... v_{size-1}``: the members receive the unit's input and report to the unit's output
node, so they need no synapses of their own. Power counts member spikes (``count``), which is
why an ensemble can exceed one spike per timestep per ANN unit (Think Fast Table 1).

Interfering Offset Neurons (``ion``, eq. 8–9)
    ``size = 2h + 1`` ternary IF neurons with threshold ``theta``; member ``j`` sees the input
    minus the offset ``b_j = 2 theta (j - h)``, so the offsets run from ``-2 theta h`` to
    ``2 theta h``. A member fires ``+1`` when ``v >= theta`` and ``-1`` when ``v <= -theta``
    and resets by subtracting ``±theta``. For an input ``x`` only the member with
    ``|x - b_j| < theta`` works as a rate code; those below it fire ``+1`` and those above ``-1``
    every step, so the members' sum is ``b_j / theta`` plus the working member's ±1: its mean
    is ``x / theta`` (eq. 9: the identity, not a ReLU). The rectification happens at the
    output node, which sends ``n = clip(sum, 0, size)`` each step: where ``b_j >= 2 theta`` the
    sum is never negative, where ``b_j = 0`` only the member's ``+1`` spikes pass (a ReLU), and
    below that nothing passes. Transfer function: ``clip(x / theta, 0, size)`` per step, with
    all but one member spiking every step (``size = 7`` gives Think Fast's 6.88 spikes).

LIF Ensemble Neurons (``len``, eq. 5–7)
    ``size`` LIF neurons with intercepts ``spacing, 2 spacing, ..., size spacing`` (0.1 … 0.9
    by default) on the unit's input ``x`` (in units of ``theta``, so ``x`` in [-1, 1] after
    normalization). Member ``j`` receives ``J = gain_j x + bias_j`` and follows the leaky
    reading of ``leaky.py`` with Nengo's zero-order hold, ``v = v / R + (1 - 1/R) J``,
    threshold 1, reset to 0, then ``tau_ref`` silent steps: its tuning curve is eq. 5 on a
    timestep grid, ``1 / (tau_ref + ceil(-ln(1 - 1/J) / ln R))`` with ``tau_RC = 1 / ln R``.
    Gain and bias solve eq. 6 (``J = 1`` at the intercept) and eq. 7 (``J = J_max`` at
    ``x = 1``), where ``J_max`` is the current at which eq. 5 gives ``max_rate`` spikes per
    timestep, as Nengo does. Each member connects to a max node with weight equal to its
    intercept; the node sends the largest intercept among the members that fired this step,
    as a payload ``n`` in units of ``spacing`` (conversion multiplies the next layer's weights
    by ``spacing``).
"""

import math

import numpy as np

from brainconv.errors import ParameterError

from .model import NeuronModel

__all__ = ["ION", "LEN", "ion_offsets", "ion_rate", "len_member_rates", "len_rate", "len_tuning",
           "make_ion", "make_len"]

_COMMON = "x : 1\nI : 1\nn : 1\ncount : 1\ntotal_spikes : 1\ntheta : 1 (shared, constant)\n"


def _check_size(size, name, odd=False):
    if isinstance(size, bool) or not float(size).is_integer() or size < 1 or (odd and size % 2 == 0):
        kind = "an odd integer >= 1 (2n + 1 neurons)" if odd else "an integer >= 1"
        raise ParameterError(f"{name} ensemble size must be {kind}, got {size!r}")
    return int(size)


# --- ION -------------------------------------------------------------------------------------

def ion_offsets(size):
    """Offsets of the members in units of ``theta``: ``-2h, ..., -2, 0, 2, ..., 2h``."""
    half = (size - 1) // 2
    return 2.0 * (np.arange(size) - half)


def ion_rate(current, theta=1.0, size=7):
    """Payload per timestep of an ION unit: ``clip(x / theta, 0, size)``."""
    return np.clip(np.asarray(current, dtype=float) / theta, 0.0, size)


def make_ion(size=7):
    """The ION model with ``size`` (odd) members."""
    size = _check_size(size, "ION", odd=True)
    offsets = ion_offsets(size)
    members = range(size)

    def step(v, current, spikes, theta=1.0, size=size):
        v += current[..., None]
        v -= offsets * v.dtype.type(theta)
        member_spikes = (v >= theta).astype(v.dtype) - (v <= -theta)
        v -= member_spikes * v.dtype.type(theta)
        np.clip(member_spikes.sum(axis=-1), 0, size, out=spikes)
        return spikes, np.abs(member_spikes).sum(axis=-1)

    return NeuronModel(
        name="ion",
        equations="".join(f"v_{j} : 1\n" for j in members) + _COMMON,
        threshold=" or ".join(f"abs(v_{j}) >= theta" for j in members),
        reset="\n".join(
            [f"s_{j} = int(v_{j} >= theta) - int(v_{j} <= -theta)" for j in members]
            + [f"v_{j} -= s_{j} * theta" for j in members]
            + ["n = clip(" + " + ".join(f"s_{j}" for j in members) + f", 0, {size})",
               "count = " + " + ".join(f"abs(s_{j})" for j in members),
               "total_spikes += count"]),
        parameters={"theta": 1.0, "size": size},
        rate=ion_rate,
        step=step,
        payload="n",
        input_variable="x",
        integrate="\n".join(f"v_{j} = v_{j} + (I + x) - ({offsets[j]:g}) * theta"
                            for j in members) + "\nx = 0",
        clear="\n".join(f"v_{j} = 0" for j in members) + "\nx = 0",
        spike_count="count",
        members=size,
        structural=("size",),
        make=make_ion,
        citation="Think Fast §3.2 eq. 8-9 (Interfering Offset Neurons, rectified at the sum)",
        description=f"ION: {size} ternary IF neurons offset by 2 theta, summed and rectified.",
    )


# --- LEN -------------------------------------------------------------------------------------

def len_tuning(size=9, spacing=0.1, max_rate=1.0, R=10.0, tau_ref=0):
    """Intercepts, gains and biases of the members (eq. 6–7), checked.

    Raises
    ------
    ParameterError
        For intercepts outside (-1, 1), a leak ``R <= 1``, a refractory period that is not a
        whole number of steps, or a ``max_rate`` that no member can reach or that makes the
        gain non-positive.
    """
    size = _check_size(size, "LEN")
    intercepts = spacing * np.arange(1, size + 1)
    if not (spacing > 0 and intercepts[-1] < 1):
        raise ParameterError(
            f"LEN intercepts {spacing:g} ... {intercepts[-1]:g} (spacing x 1..size) lie outside "
            "(-1, 1); choose spacing > 0 with spacing * size < 1, e.g. 1 / (size + 1)"
        )
    if not (np.isfinite(R) and R > 1):
        raise ParameterError(
            f"LEN needs a leaky membrane, R > 1 (tau_RC = 1/ln R); got R = {R!r}"
        )
    if isinstance(tau_ref, bool) or not float(tau_ref).is_integer() or tau_ref < 0:
        raise ParameterError(f"tau_ref must be a whole number of timesteps >= 0, got {tau_ref!r}")
    ceiling = 1.0 / (tau_ref + 1)
    if not max_rate > 0:
        raise ParameterError(
            f"LEN max_rate {max_rate!r} gives a gain <= 0 (eq. 7 needs J(1) > 1); use a rate in "
            f"(0, {ceiling:g}] spikes per timestep"
        )
    if max_rate > ceiling:
        raise ParameterError(
            f"LEN max_rate {max_rate:g} is above {ceiling:g}, the most a member with tau_ref = "
            f"{tau_ref:g} can fire on a timestep grid; lower max_rate or tau_ref"
        )
    # eq. 5 solved for the current: 1/r - tau_ref = -tau_RC ln(1 - 1/J), tau_RC = 1 / ln R.
    # The 1e-9 keeps x = 1 on the right side of the threshold despite rounding.
    j_max = (1 + 1e-9) / -math.expm1(-(1 / max_rate - tau_ref) * math.log(R))
    gains = (j_max - 1) / (1 - intercepts)
    biases = 1 - gains * intercepts
    return intercepts, gains, biases


def len_member_rates(current, theta=1.0, size=9, spacing=0.1, max_rate=1.0, R=10.0,
                     tau_ref=0):
    """Tuning curves: spikes per timestep of each member, shape ``(..., size)``."""
    _, gains, biases = len_tuning(size, spacing, max_rate, R, tau_ref)
    drive = gains * (np.asarray(current, dtype=float)[..., None] / theta) + biases
    fires = drive > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        steps = np.ceil(-np.log1p(-1 / np.where(fires, drive, np.inf)) / math.log(R) - 1e-9)
    return np.where(fires, 1.0 / (tau_ref + np.maximum(steps, 1.0)), 0.0)


def len_rate(current, **parameters):
    """Member spikes per timestep of a LEN unit: the sum of the tuning curves."""
    return len_member_rates(current, **parameters).sum(axis=-1)


def make_len(size=9, spacing=0.1, max_rate=1.0, R=10.0, tau_ref=0):
    """The LEN model with the given ensemble (all its parameters but theta are structural)."""
    intercepts, gains, biases = len_tuning(size, spacing, max_rate, R, tau_ref)
    size, tau_ref, hold = len(intercepts), int(tau_ref), 1 - 1 / R
    members = range(size)
    state = size * (2 if tau_ref else 1)

    def step(v, current, spikes, theta=1.0, **_):
        potential = v[..., :size]
        drive = current[..., None] / v.dtype.type(theta)
        potential /= R
        potential += (hold * gains).astype(v.dtype) * drive + (hold * biases).astype(v.dtype)
        if tau_ref:
            refractory = v[..., size:]
            potential *= refractory <= 0
            refractory -= 1
        fired = potential >= 1
        potential *= ~fired
        if tau_ref:
            refractory[fired] = tau_ref
        levels = np.where(fired, np.arange(1, size + 1), 0)
        spikes[...] = levels.max(axis=-1)
        return spikes, fired.sum(axis=-1).astype(v.dtype)

    refractory = [f"ref_{j} : 1\n" for j in members] if tau_ref else []
    integrate = []
    for j in members:
        update = (f"v_{j} / {float(R)!r} + {float(hold * gains[j])!r} * (I + x) / theta"
                  f" + {float(hold * biases[j])!r}")
        integrate.append(f"v_{j} = int(ref_{j} <= 0) * ({update})\nref_{j} = ref_{j} - 1"
                         if tau_ref else f"v_{j} = {update}")
    reset = [f"s_{j} = int(v_{j} >= 1)" for j in members]
    reset += [f"v_{j} = v_{j} * (1 - s_{j})" for j in members]
    if tau_ref:
        reset += [f"ref_{j} = ref_{j} + s_{j} * ({tau_ref} - ref_{j})" for j in members]
    # 1.0 *: on numpy code generation "n = s_0" would bind n to the integer array s_0.
    reset += ["n = 1.0 * s_0"] + [f"n = n + ({j + 1} - n) * s_{j}" for j in members if j]
    reset += ["count = " + " + ".join(f"s_{j}" for j in members), "total_spikes += count"]
    return NeuronModel(
        name="len",
        equations="".join(f"v_{j} : 1\n" for j in members) + "".join(refractory) + _COMMON,
        threshold=" or ".join(f"v_{j} >= 1" for j in members),
        reset="\n".join(reset),
        parameters={"theta": 1.0, "size": size, "spacing": spacing, "max_rate": max_rate,
                    "R": R, "tau_ref": tau_ref},
        rate=len_rate,
        rate_counts="members",
        step=step,
        payload="n",
        input_variable="x",
        integrate="\n".join(integrate) + "\nx = 0",
        clear="\n".join([f"v_{j} = 0" for j in members]
                        + ([f"ref_{j} = 0" for j in members] if tau_ref else []) + ["x = 0"]),
        spike_count="count",
        members=state,
        output_scale=spacing,
        structural=("size", "spacing", "max_rate", "R", "tau_ref"),
        make=make_len,
        citation="Think Fast §3.2 eq. 5-7 (LIF Ensemble Neurons with a max node; Nengo tuning)",
        description=f"LEN: {size} LIF neurons, intercepts {spacing:g}..{size * spacing:g}, "
                    "max node.",
    )


ION = make_ion()
LEN = make_len()
