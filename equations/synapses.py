"""Synapse models: how the spikes arriving at a neuron become its synaptic current ``I_syn``.

A pathway of a :class:`~brainconv.spec.NetworkSpec` names its synapse model just as a layer
names its neuron model. Each model is a linear filter with impulse response ``kernel(t)`` of
unit area, so a spike through a synapse of weight ``w`` delivers the charge ``∫ I_syn dt = w``
(``w`` in seconds: ``I_syn`` is a dimensionless current, like the ANN activations it stands
for; Hunsberger & Eliasmith's amplitude ``amp = 0.063 s`` times an ANN weight is such a charge).
The filter state lives in the *postsynaptic* group: all synapses into a layer share one filter
per neuron, which is exact because the filter is linear.

Time on a grid (the Nengo convention, and what the continuous-time neuron models need): a spike
emitted in step ``n`` reaches the next layer in the same step (brainconv's "one timestep is one
pass through all layers"), as a Dirac at the start ``t_n`` of the step; the neuron then holds
its input constant over the step at the **mean** of the filter output over ``[t_n, t_n + dt]``.
The mean is computed in closed form from the filter state and the state is advanced with exact
exponentials, so the charge of every spike is conserved exactly at any ``dt`` (sampling the
filter at the grid points instead would inflate an exponential filter's charge by ``dt/(2
tau_s)``, 10 % at ``dt = 1 ms``, ``tau_s = 5 ms``). The current of step ``k`` after a spike is
``w`` times the mean of ``kernel`` over ``[k dt, (k + 1) dt]``; ``delta`` gives ``w / dt`` for
one step (Nengo's ``synapse=None``).

Brian2 pieces of a model: ``equations`` (its state variables and parameters, with units),
``on_pre`` (code of the ``Synapses``, ``{w}`` standing for the weight expression) and
``update`` (code run once per step after the step's spikes have arrived and before the neuron
integrates: it sets ``I_syn`` and advances the state). The numpy reference runs
:meth:`SynapseModel.filter_step`, the same arithmetic in the same order.

The neuron models on a dimensionless timestep grid (``if_soft``, ``lif``...) take ``delta``
synapses only, as the weight added to the neuron's input variable (today's behaviour, bit for
bit); the filters need a continuous-time neuron model with an ``I_syn`` input (``lif_rc``).
"""

from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping

import numpy as np

from brainconv.errors import ModelError, ParameterError

from .model import MissingFunction, ModelBase

__all__ = ["ALPHA", "BUILTIN_SYNAPSE_MODELS", "CUBA_CURRENT", "DELTA", "EXPONENTIAL",
           "SYNAPSE_MODELS", "SynapseModel", "alpha_kernel", "alpha_step", "exponential_kernel",
           "exponential_step", "get_synapse_model", "register_synapse_model",
           "unregister_synapse_model"]


def _all_positive(values, owner):
    """The :attr:`SynapseModel.check` of the filters: every parameter is a positive time."""
    for name, value in values.items():
        if value <= 0:
            raise ParameterError(f"parameter {name!r} of {owner} must be positive, got "
                                 f"{value!r} (SI units)")


@dataclass(frozen=True)
class SynapseModel(ModelBase):
    """A linear synaptic filter as Brian2 strings plus its kernel and exact numpy update.

    Name, equations, units, citation, description and the parameter check are those of
    :class:`~brainconv.equations.model.ModelBase`; ``check`` defaults to "every parameter is
    positive".

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"alpha"``.
    equations : str
        Brian2 equations added to the postsynaptic group: the filter's state variables and
        parameters, with units. The neuron model declares ``I_syn : 1`` itself.
    on_pre : str
        Code of the ``Synapses`` for one spike; ``{w}`` is replaced by the weight expression
        (``w``, or ``w * n_pre`` for a payload). ``w`` has unit :attr:`weight_unit`.
    update : str
        Code run once per step, after the step's spikes and before the neuron's ``integrate``
        code: sets ``I_syn`` to the filter output's mean over the step and advances the state.
    parameters : Mapping[str, float]
        Default parameter values in SI base units (seconds).
    kernel : callable
        ``kernel(t, **parameters)``: impulse response (unit area) at times ``t`` in seconds.
    filter_step : callable
        ``filter_step(state, charge, dt, **parameters)``: one step of the numpy reference.
        ``state`` maps the state names to arrays (updated in place), ``charge`` is the summed
        ``w`` of the spikes arriving this step; returns the current ``I_syn`` of the step.
    state : tuple of str
        Names of the filter's state variables (Brian2 and numpy).
    clear : str
        Code that empties the filter before a new sample.
    weight_unit : str
        Brian2 unit of the synaptic weight ``w``.
    units, citation, description, check
        As for :class:`~brainconv.equations.model.ModelBase` (keyword-only).
    """

    on_pre: str
    update: str
    parameters: Mapping[str, float]
    kernel: Callable[..., np.ndarray]
    filter_step: Callable[..., np.ndarray]
    state: tuple
    clear: str
    weight_unit: str = "second"
    kind: ClassVar[str] = "synapse model"

    def __post_init__(self):
        if self.check is None:
            object.__setattr__(self, "check", _all_positive)
        for what in ("kernel", "filter_step"):  # a user model may leave them out
            if getattr(self, what) is None:
                object.__setattr__(self, what, MissingFunction(self.name, what))

    def initial_state(self, shape, dtype=np.float64):
        """Zeroed numpy state of the filter for ``shape`` neurons."""
        return {name: np.zeros(shape, dtype) for name in self.state}

    def code_on_pre(self, weight="w"):
        """The ``on_pre`` code for the weight expression ``weight``."""
        return self.on_pre.format(w=weight)


# --- delta: the charge of a step's spikes as a current over that step ----------------------

def _delta_kernel(t):
    """Dirac delta: not a function; 0 away from ``t = 0`` and ``inf`` at 0."""
    t = np.asarray(t, dtype=float)
    return np.where(t == 0, np.inf, 0.0)


def _delta_step(state, charge, dt):
    """The step's charge as a constant current over the step: ``I_syn = charge / dt``."""
    return charge / dt


DELTA = SynapseModel(
    name="delta",
    equations="q_syn : second  # charge (weight sum) arrived in this step\n",
    on_pre="q_syn_post += {w}",
    update="I_syn = q_syn / dt\nq_syn = 0*second",
    parameters={},
    units={},
    kernel=_delta_kernel,
    filter_step=_delta_step,
    state=(),
    clear="q_syn = 0*second",
    citation="Nengo synapse=None; Hunsberger & Eliasmith 2016, Table 4 rows with tau_s = 0",
    description="Instantaneous: a spike's weight arrives within one step (grid models: added "
                "to the input variable; continuous models: current w/dt for one step).",
)


# --- exponential: one first-order lowpass ------------------------------------------------

EXPONENTIAL_EQUATIONS = """
q_syn : second                       # charge arrived since the last update (sum of weights)
f_syn : 1                            # filter output at the start of the step
tau_s : second (shared, constant)    # synaptic time constant
"""
# d f_syn/dt = -f_syn / tau_s between spikes; a spike adds w / tau_s. Spikes add their weight
# to q_syn (a plain sum, so a pathway serves it by weight rows) and the update divides the
# step's charge by tau_s once, as the numpy reference's filter_step does.
EXPONENTIAL_UPDATE = """
f_syn = f_syn + q_syn / tau_s
q_syn = 0*second
I_syn = -f_syn * expm1(-dt / tau_s) * tau_s / dt
f_syn = f_syn * exp(-dt / tau_s)
"""


def exponential_kernel(t, tau_s=0.005):
    """``exp(-t / tau_s) / tau_s`` for ``t >= 0`` (unit area), 0 before."""
    t = np.asarray(t, dtype=float)
    return np.where(t >= 0, np.exp(-np.maximum(t, 0) / tau_s) / tau_s, 0.0)


def exponential_step(state, charge, dt, tau_s=0.005):
    """One step of the exponential filter in numpy; the same arithmetic as the Brian2 code."""
    f = state["f_syn"]
    f += charge / tau_s
    current = -f * np.expm1(-dt / tau_s) * tau_s / dt
    f *= np.exp(-dt / tau_s)
    return current


EXPONENTIAL = SynapseModel(
    name="exponential",
    equations=EXPONENTIAL_EQUATIONS,
    on_pre="q_syn_post += {w}",
    update=EXPONENTIAL_UPDATE,
    parameters={"tau_s": 0.005},
    units={"tau_s": "second"},
    kernel=exponential_kernel,
    filter_step=exponential_step,
    state=("f_syn",),
    clear="f_syn = 0\nq_syn = 0*second",
    citation="Nengo Lowpass(tau); Hunsberger & Eliasmith 2016 §2 (lowpass synapse)",
    description="First-order lowpass: kernel exp(-t/tau_s)/tau_s.",
)


# --- alpha: two cascaded lowpasses ---------------------------------------------------------

ALPHA_EQUATIONS = """
q_syn : second                       # charge arrived since the last update (sum of weights)
s_syn : 1                            # first lowpass (input stage)
f_syn : 1                            # second lowpass: the alpha-filtered current
tau_s : second (shared, constant)    # synaptic time constant
"""
# ds_syn/dt = -s_syn / tau_s, df_syn/dt = (s_syn - f_syn) / tau_s; a spike adds w / tau_s to
# s_syn. From (f0, s0): f(u) = (f0 + s0 u / tau_s) exp(-u / tau_s); its mean over the step is
# f0 (1 - e) tau_s/dt + s0 (1 - e - (dt/tau_s) e) tau_s/dt with e = exp(-dt / tau_s).
ALPHA_UPDATE = """
s_syn = s_syn + q_syn / tau_s
q_syn = 0*second
I_syn = (-f_syn * expm1(-dt / tau_s) - s_syn * (expm1(-dt / tau_s) + dt / tau_s * exp(-dt / tau_s))) * tau_s / dt
f_syn = (f_syn + s_syn * dt / tau_s) * exp(-dt / tau_s)
s_syn = s_syn * exp(-dt / tau_s)
"""


def alpha_kernel(t, tau_s=0.005):
    """``t / tau_s**2 * exp(-t / tau_s)`` for ``t >= 0`` (unit area), 0 before."""
    t = np.asarray(t, dtype=float)
    positive = np.maximum(t, 0)
    return np.where(t >= 0, positive / tau_s**2 * np.exp(-positive / tau_s), 0.0)


def alpha_step(state, charge, dt, tau_s=0.005):
    """One step of the alpha filter in numpy; the same arithmetic as the Brian2 code."""
    f, s = state["f_syn"], state["s_syn"]
    s += charge / tau_s
    current = (-f * np.expm1(-dt / tau_s)
               - s * (np.expm1(-dt / tau_s) + dt / tau_s * np.exp(-dt / tau_s))) * tau_s / dt
    f += s * dt / tau_s
    f *= np.exp(-dt / tau_s)
    s *= np.exp(-dt / tau_s)
    return current


ALPHA = SynapseModel(
    name="alpha",
    equations=ALPHA_EQUATIONS,
    on_pre="q_syn_post += {w}",
    update=ALPHA_UPDATE,
    parameters={"tau_s": 0.005},
    units={"tau_s": "second"},
    kernel=alpha_kernel,
    filter_step=alpha_step,
    state=("f_syn", "s_syn"),
    clear="f_syn = 0\ns_syn = 0\nq_syn = 0*second",
    citation="Hunsberger & Eliasmith 2016 §2 (alpha filter, unit integral; the OCR'd kernel "
             "lacks 1/tau_s); Nengo Alpha(tau)",
    description="Alpha filter, two cascaded lowpasses: kernel t/tau_s**2 exp(-t/tau_s).",
)

# --- cuba_current: a jump of the CuBa-LIF neuron's own exponential current g ----------------

CUBA_CURRENT = SynapseModel(
    name="cuba_current",
    equations="",  # g and tau_s belong to the neuron model (equations/cuba_lif.py)
    on_pre="g_post += {w}",
    update="",
    parameters={},
    units={},
    kernel=exponential_kernel,  # g's impulse response over its area tau_s: w in Hz = charge/tau_s
    filter_step=lambda state, charge, dt: charge,  # the neuron's step adds it to g
    state=(),
    clear="",
    weight_unit="hertz",
    citation="Bacho & Chu 2023 (BATS) eq. 1: a spike adds w to the synaptic current g",
    description="Jump of the CuBa-LIF current g by w (Hz); only for cuba_lif/cuba_lif_grid, "
                "which carry g themselves.",
)

#: Registered synapse models, name -> :class:`SynapseModel`.
SYNAPSE_MODELS = {model.name: model for model in (DELTA, EXPONENTIAL, ALPHA, CUBA_CURRENT)}
#: The synapse models brainconv ships (a user model may not take their names).
BUILTIN_SYNAPSE_MODELS = dict(SYNAPSE_MODELS)


def register_synapse_model(model, replace=False):
    """Add ``model`` to :data:`SYNAPSE_MODELS` so that ``synapse=model.name`` finds it.

    Raises
    ------
    ModelError
        For a name of a built-in synapse model (unless ``replace``), or a name another user
        model holds (unless ``replace``).
    """
    if not isinstance(model, SynapseModel):
        raise ModelError(f"register_synapse_model() needs a SynapseModel, got "
                         f"{type(model).__name__}")
    taken = SYNAPSE_MODELS.get(model.name)
    if taken is not None and taken is not model and not replace:
        owner = "a built-in" if model.name in BUILTIN_SYNAPSE_MODELS else "another"
        raise ModelError(f"synapse model name {model.name!r} is taken by {owner} synapse "
                         "model; choose another name, or pass replace=True")
    SYNAPSE_MODELS[model.name] = model
    return model


def unregister_synapse_model(name):
    """Remove the user synapse model ``name`` (a built-in one is restored, never removed)."""
    if name in BUILTIN_SYNAPSE_MODELS:
        SYNAPSE_MODELS[name] = BUILTIN_SYNAPSE_MODELS[name]
    elif SYNAPSE_MODELS.pop(name, None) is None:
        raise ModelError(f"no user synapse model called {name!r} is registered")


def get_synapse_model(name):
    """Return the registered synapse model called ``name``.

    Raises
    ------
    ModelError
        If no synapse model has that name; the message lists the known ones.
    """
    if isinstance(name, SynapseModel):
        return name
    try:
        return SYNAPSE_MODELS[name]
    except (KeyError, TypeError):
        raise ModelError(
            f"unknown synapse model {name!r}; known synapse models: "
            f"{', '.join(sorted(SYNAPSE_MODELS))}. Pick one of these names (see "
            "brainconv.equations.SYNAPSE_MODELS)."
        ) from None
