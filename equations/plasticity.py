"""Plastic synapse models: pair-based STDP and stochastic binary STDP, as Brian2 strings.

Unlike the filters of :mod:`brainconv.equations.synapses` (which turn spikes into a current),
these models change their weight ``w`` with the timing of pre- and postsynaptic spikes. Each is
a :class:`PlasticSynapseModel`: the Brian2 ``model``, ``on_pre`` and ``on_post`` strings of a
``Synapses`` object, its parameters with units, which defaults are placeholders, the initial
values (sentinels) of its state variables, and a numpy function giving the programmed rule.
Timing convention: ``Δt = t_post - t_pre``.

``pair_stdp`` — pair-based STDP with event-driven traces (Brian2's
``examples/synapses/STDP.py``; Song, Miller & Abbott 2000). Each pre spike adds ``A_plus`` to
the trace ``apre``, each post spike ``A_minus`` to ``apost``; both decay exponentially
(``tau_plus``, ``tau_minus``; Brian2 updates ``(event-driven)`` traces only at events, with the
exact exponential, so the rule is integration-free and exact on every device). A post spike
adds ``apre`` to ``w``, a pre spike subtracts ``apost``, and ``w`` is clipped to
``[w_min, w_max]``. Every pre/post pair contributes (all-to-all pairing), and between bounds
the weight change of one pair is :func:`pair_weight_change`::

    Δw = +A_plus  exp(-Δt / tau_plus)     for Δt >= 0
    Δw = -A_minus exp(+Δt / tau_minus)    for Δt < 0

The defaults (``A_plus = 0.01``, ``A_minus = 0.0105``, 20 ms windows, ``w`` in [0, 1]) are the
example's ``dApre = 0.01``, ``dApost = -dApre * taupre / taupost * 1.05`` for ``gmax = 1``:
illustrative values, not fitted to any paper.

``stochastic_binary_stdp`` — the stochastic binary STDP of Srinivasan et al. 2020 (ICASSP,
after ReStoCNet, Srinivasan & Roy 2019, and the MTJ synapse of Srinivasan et al. 2016).
The weight takes two levels, ``w_low`` and ``w_high``; spike timing sets
the probability that it *switches*:

=========================  ==========  =================================================
region                     at          probability
=========================  ==========  =================================================
0 <= Δt <= t_pot           post spike  potentiate (w → w_high): gamma_pot exp(-Δt/tau_pot)
t_pot < Δt < t_dz          –           0 (dead zone)
Δt >= t_dz                 post spike  anti-Hebbian depression (w → w_low): gamma_adep
-t_dep <= Δt < 0           pre spike   Hebbian depression (w → w_low):
                                       gamma_dep exp(Δt/tau_dep)
=========================  ==========  =================================================

:func:`switch_probability` gives ``(p_potentiate, p_depress)`` for any ``Δt``. Pairing is
nearest-spike: the synapse keeps its own last spike times ``tpre`` and ``tpost`` (Brian2's
``lastspike`` exists only for refractory groups), and each spike is paired with the
last spike of the other side only. A post spike pairs with the latest pre spike however many
post spikes follow it, but **only the first pre spike after a post spike draws Hebbian
depression** (restricted nearest-neighbour pairing, Morrison et al. 2008): an input firing at
200 Hz otherwise gets about six depression draws per post spike against one potentiation
draw, and kernels decay until their neuron no longer fires, after which nothing can potentiate
them again (measured before the change: 12 neurons shown a 3-pixel pattern 120 times, dropout
off, kept 5 of the pattern's 36 weights high, and 0 of 36 without homeostasis). ``-1 s`` is the "never spiked" sentinel (runs start at ``t = 0``; set by :meth:`~PlasticSynapseModel.
initialise`). The region boundaries are inclusive as in the table, within ``0.001 dt``:
spike times are multiples of ``dt``, and their differences carry rounding errors (``0.02 s -
0.05 s`` is not exactly ``-0.03 s``). **Δt = 0 counts as potentiation**: within one step
Brian2 runs the ``pre`` pathway before ``post``, so a pre and a post spike of the
same step give ``on_post`` the new ``tpre`` (Δt = 0, potentiation) and ``on_pre`` the older
``tpost``.

**Placeholders.** Every constant of ``stochastic_binary_stdp`` is a placeholder: ReStoCNet's
values, the exact placement of the dead zone and the binary levels ({0, 1} or {-1, +1}) could
not be retrieved from the published papers. The defaults are the values brainconv was tested
with: ``gamma_pot = 0.8``, ``tau_pot = 10 ms``, ``t_pot = 30 ms``, ``t_dz = 50 ms``,
``gamma_adep = gamma_dep = 0.3``, ``tau_dep = 10 ms``, ``t_dep = 30 ms``, levels {0, 1}.

Randomness: ``rand()`` of Brian2, seeded with ``brian2.seed(seed)`` (in standalone also
``numpy.random.seed``; numbers differ between code-generation targets).

Names: the strings use temporaries (``first_after_post``, ``delta_t``, ``hebbian``, ``paired``, ``u_switch``,
``potentiate``, ``depress``, ``anti_depress``) and the parameter names above; Brian2 lets
synaptic code read postsynaptic variables without the ``_post`` suffix, so the target group
must not have variables of these names. The transmission of the spike (e.g. ``v_post += w``) is not part of the model: pass it
to :meth:`PlasticSynapseModel.pre_code` or :meth:`PlasticSynapseModel.synapses`; it runs before
the weight changes, with the old weight.
"""

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

import numpy as np

from brainconv.errors import ModelError, ParameterError

from .model import ModelBase

__all__ = ["NEVER", "PAIR_STDP", "ParameterSet", "PLASTIC_SYNAPSE_MODELS", "PlasticSynapseModel",
           "STOCHASTIC_BINARY_STDP", "get_plastic_synapse_model", "pair_weight_change",
           "switch_probability"]

#: "Never spiked" value of ``tpre`` / ``tpost`` in seconds (any negative time works).
NEVER = -1.0

#: The parameter base of every model kind, under its earlier name.
ParameterSet = ModelBase


@dataclass(frozen=True)
class PlasticSynapseModel(ModelBase):
    """A plastic synapse as Brian2 strings, with parameters, units and sentinels.

    Parameters
    ----------
    name : str
        Registry name (:data:`PLASTIC_SYNAPSE_MODELS`).
    equations : str
        Brian2 ``Synapses`` model equations (the weight ``w`` and the plasticity state); also
        readable as :attr:`model`.
    on_pre, on_post : str
        Learning code run at a pre- and a postsynaptic spike (without the transmission).
    parameters : Mapping[str, float]
        Default values, in SI base units for those with a unit.
    initial : Mapping[str, float]
        Initial value (SI) of state variables other than ``w`` (sentinels, empty traces).
    units, placeholders, citation, description, check
        As for :class:`~brainconv.equations.model.ModelBase` (keyword-only); ``check`` rejects
        combinations the rule does not define (e.g. a dead zone that ends before it starts).
    """

    on_pre: str
    on_post: str
    parameters: Mapping[str, float]
    initial: Mapping[str, float] = field(default_factory=dict)
    kind: ClassVar[str] = "plastic synapse model"

    @property
    def model(self):
        """The Brian2 ``Synapses`` model equations (:attr:`equations`)."""
        return self.equations

    def pre_code(self, transmit="v_post += w"):
        """``on_pre`` code: the transmission ``transmit`` (old weight), then the learning code."""
        return "\n".join(code for code in (transmit, self.on_pre) if code)

    def synapses(self, source, target, parameters=None, transmit="v_post += w", **kwargs):
        """An unconnected ``brian2.Synapses`` of this model from ``source`` to ``target``.

        Connect it (``S.connect(...)``), then call :meth:`initialise`. ``parameters`` (Brian2
        quantities) override the defaults and become the namespace; ``kwargs`` go to
        ``brian2.Synapses`` (``name``, ``clock``...).
        """
        import brian2

        return brian2.Synapses(source, target, self.equations, on_pre=self.pre_code(transmit),
                               on_post=self.on_post, namespace=self.namespace(parameters),
                               **kwargs)

    def initialise(self, synapses, w=None):
        """Set the sentinels / empty traces of connected ``synapses``, and ``w`` if given."""
        import brian2

        for name, value in self.initial.items():
            setattr(synapses, name, brian2.Quantity(value, dim=synapses.variables[name].dim))
        if w is not None:
            synapses.w = w
        return synapses


def _times(owner, name, value):
    """``value`` (a Brian2 time, scalar or array) as seconds; bare numbers are an error."""
    import brian2

    if not hasattr(value, "dim") or getattr(value, "is_dimensionless", False):
        raise ParameterError(
            f"{name} of {owner} needs a unit of time, got {value!r} without units; write e.g. "
            f"{name}=np.array([-10, 0, 10]) * ms (from brian2 import ms)")
    if not value.has_same_dimensions(brian2.second):
        raise ParameterError(f"{name} of {owner} must be a time (e.g. 10*ms), got {value}")
    seconds = np.asarray(value / brian2.second, dtype=float)
    if not np.all(np.isfinite(seconds)):
        raise ParameterError(f"{name} of {owner} holds NaN or inf")
    return seconds


# --- pair-based STDP ------------------------------------------------------------------------

PAIR_MODEL = """
w : 1
dapre/dt = -apre / tau_plus : 1 (event-driven)
dapost/dt = -apost / tau_minus : 1 (event-driven)
"""
PAIR_ON_PRE = """
apre += A_plus
w = clip(w - apost, w_min, w_max)
"""
PAIR_ON_POST = """
apost += A_minus
w = clip(w + apre, w_min, w_max)
"""


def _check_pair(values, owner):
    for name in ("A_plus", "A_minus"):
        if values[name] < 0:
            raise ParameterError(f"{name} of {owner} must be >= 0 (the sign is in the rule), "
                                 f"got {values[name]}")
    for name in ("tau_plus", "tau_minus"):
        if not values[name] > 0:
            raise ParameterError(f"{name} of {owner} must be a positive time, got "
                                 f"{values[name]} s")
    if not values["w_min"] < values["w_max"]:
        raise ParameterError(f"{owner}: w_min must be below w_max, got {values['w_min']} and "
                             f"{values['w_max']}")


PAIR_STDP = PlasticSynapseModel(
    name="pair_stdp",
    equations=PAIR_MODEL,
    on_pre=PAIR_ON_PRE,
    on_post=PAIR_ON_POST,
    parameters={"A_plus": 0.01, "A_minus": 0.0105, "tau_plus": 0.02, "tau_minus": 0.02,
                "w_min": 0.0, "w_max": 1.0},
    units={"tau_plus": "second", "tau_minus": "second"},
    placeholders=("A_plus", "A_minus", "tau_plus", "tau_minus", "w_min", "w_max"),
    initial={"apre": 0.0, "apost": 0.0},
    citation="Song, Miller & Abbott 2000; Brian2 examples/synapses/STDP.py (event-driven traces)",
    description="Pair-based STDP, all-to-all pairing through exponential traces, w clipped to "
                "[w_min, w_max]",
    check=_check_pair,
)


def pair_weight_change(delta_t, **parameters):
    """Weight change of ``pair_stdp`` for one pre/post pair at ``delta_t = t_post - t_pre``.

    Between the bounds; Δt = 0 counts as pre before post (potentiation: Brian2 runs ``pre``
    before ``post``). With several spikes, all-to-all pairing makes the change the sum over all
    pairs (as long as no bound is hit).

    Parameters
    ----------
    delta_t : brian2 Quantity
        Time difference(s), e.g. ``np.array([-10, 0, 10]) * ms``.
    **parameters
        Overrides of the defaults (Brian2 quantities for times).

    Returns
    -------
    ndarray
        ``A_plus exp(-Δt/tau_plus)`` for Δt >= 0, ``-A_minus exp(Δt/tau_minus)`` for Δt < 0.
    """
    values = PAIR_STDP.check_parameters(parameters)
    dt = _times("pair_stdp", "delta_t", delta_t)
    return np.where(dt >= 0, values["A_plus"] * np.exp(-np.abs(dt) / values["tau_plus"]),
                    -values["A_minus"] * np.exp(-np.abs(dt) / values["tau_minus"]))


# --- stochastic binary STDP -----------------------------------------------------------------

STOCHASTIC_MODEL = """
w : 1
tpre : second
tpost : second
"""
STOCHASTIC_ON_PRE = """
first_after_post = int(tpost > tpre)
tpre = t
delta_t = tpost - tpre
hebbian = first_after_post * int(tpost >= 0*second and delta_t < 0*second and delta_t >= -t_dep - 0.001*dt)
depress = hebbian * int(rand() < gamma_dep * exp(delta_t / tau_dep))
w = w + depress * (w_low - w)
"""
STOCHASTIC_ON_POST = """
tpost = t
delta_t = tpost - tpre
paired = int(tpre >= 0*second)
u_switch = rand()
potentiate = paired * int(delta_t <= t_pot + 0.001*dt and u_switch < gamma_pot * exp(-delta_t / tau_pot))
anti_depress = paired * int(delta_t >= t_dz - 0.001*dt and u_switch < gamma_adep)
w = w + potentiate * (w_high - w) + anti_depress * (w_low - w)
"""


def _check_stochastic(values, owner):
    for name in ("gamma_pot", "gamma_dep", "gamma_adep"):
        if not 0 <= values[name] <= 1:
            raise ParameterError(f"{name} of {owner} is a probability and must lie in [0, 1], "
                                 f"got {values[name]}")
    for name in ("tau_pot", "tau_dep"):
        if not values[name] > 0:
            raise ParameterError(f"{name} of {owner} must be a positive time, got "
                                 f"{values[name]} s")
    for name in ("t_pot", "t_dep"):
        if values[name] < 0:
            raise ParameterError(f"{name} of {owner} must be a time >= 0, got {values[name]} s")
    if not values["t_pot"] < values["t_dz"]:
        raise ParameterError(
            f"{owner}: the dead zone (t_pot, t_dz) must not be empty or reversed, got t_pot = "
            f"{values['t_pot']} s and t_dz = {values['t_dz']} s; choose t_dz > t_pot")
    if not values["w_low"] < values["w_high"]:
        raise ParameterError(f"{owner}: w_low must be below w_high, got {values['w_low']} and "
                             f"{values['w_high']}")


STOCHASTIC_BINARY_STDP = PlasticSynapseModel(
    name="stochastic_binary_stdp",
    equations=STOCHASTIC_MODEL,
    on_pre=STOCHASTIC_ON_PRE,
    on_post=STOCHASTIC_ON_POST,
    parameters={"gamma_pot": 0.8, "tau_pot": 0.01, "t_pot": 0.03, "t_dz": 0.05,
                "gamma_adep": 0.3, "gamma_dep": 0.3, "tau_dep": 0.01, "t_dep": 0.03,
                "w_low": 0.0, "w_high": 1.0},
    units={"tau_pot": "second", "t_pot": "second", "t_dz": "second", "tau_dep": "second",
           "t_dep": "second"},
    placeholders=("gamma_pot", "tau_pot", "t_pot", "t_dz", "gamma_adep", "gamma_dep",
                  "tau_dep", "t_dep", "w_low", "w_high"),
    initial={"tpre": NEVER, "tpost": NEVER},
    citation="Srinivasan et al. 2020 (ICASSP) §2.1; ReStoCNet (Srinivasan & Roy 2019); "
             "all constants placeholders",
    description="Stochastic binary STDP: switching probabilities by Δt with a dead zone, "
                "nearest-spike pairing, Δt = 0 potentiates",
    check=_check_stochastic,
)


def switch_probability(delta_t, **parameters):
    """Programmed switching probabilities of ``stochastic_binary_stdp`` at ``delta_t``.

    Parameters
    ----------
    delta_t : brian2 Quantity
        ``t_post - t_pre``, scalar or array, e.g. ``np.array([-10, 0, 40]) * ms``.
    **parameters
        Overrides of the defaults (Brian2 quantities for times).

    Returns
    -------
    p_potentiate, p_depress : ndarray
        Probability that a low weight switches up (at the post spike, ``0 <= Δt <= t_pot``)
        and that a high weight switches down (Hebbian at the pre spike for ``-t_dep <= Δt <
        0``, anti-Hebbian at the post spike for ``Δt >= t_dz``); both 0 in the dead zone
        ``t_pot < Δt < t_dz`` and for ``Δt < -t_dep``.
    """
    values = STOCHASTIC_BINARY_STDP.check_parameters(parameters)
    return _switch_probability(_times("stochastic_binary_stdp", "delta_t", delta_t), values)


def _switch_probability(dt, values):
    """:func:`switch_probability` on times in seconds and checked SI parameters."""
    dt = np.asarray(dt, dtype=float)
    potentiate = np.where((dt >= 0) & (dt <= values["t_pot"]),
                          values["gamma_pot"] * np.exp(-np.abs(dt) / values["tau_pot"]), 0.0)
    hebbian = np.where((dt < 0) & (dt >= -values["t_dep"]),
                       values["gamma_dep"] * np.exp(-np.abs(dt) / values["tau_dep"]), 0.0)
    depress = np.where(dt >= values["t_dz"], values["gamma_adep"], hebbian)
    return potentiate, depress


PLASTIC_SYNAPSE_MODELS = {model.name: model for model in (PAIR_STDP, STOCHASTIC_BINARY_STDP)}


def get_plastic_synapse_model(name):
    """Return the plastic synapse model called ``name``.

    Raises
    ------
    ModelError
        If no plastic synapse model has that name; the message lists the known ones.
    """
    if isinstance(name, PlasticSynapseModel):
        return name
    try:
        return PLASTIC_SYNAPSE_MODELS[name]
    except (KeyError, TypeError):
        raise ModelError(
            f"unknown plastic synapse model {name!r}; known plastic synapse models: "
            f"{', '.join(sorted(PLASTIC_SYNAPSE_MODELS))}. Pick one of these names (see "
            "brainconv.equations.PLASTIC_SYNAPSE_MODELS)."
        ) from None
