"""The model descriptions that every file in ``equations/`` fills in.

:class:`ModelBase` holds what every kind of model has: a name, Brian2 equations, parameters
with defaults (SI floats) and Brian2 units, placeholders, a citation and a parameter check.
:class:`NeuronModel` (converted networks), :class:`~brainconv.equations.synapses.SynapseModel`,
:class:`~brainconv.equations.plasticity.PlasticSynapseModel` and
:class:`~brainconv.equations.adaptive_lif.LearningNeuronModel` build on it.

A neuron model's behaviour is described by three parts, derived from its fields
(:attr:`NeuronModel.parts`), on which the simulators dispatch:

``time_base``
    ``"step"`` (dimensionless map on a timestep grid) or ``"continuous"`` (Brian2 physics in
    seconds).
``input_mode``
    How synaptic input reaches the unit (:data:`INPUT_MODES`).
``output_kind``
    What the unit sends per step (:data:`OUTPUT_KINDS`).
"""

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Mapping, NamedTuple

import numpy as np

from brainconv.errors import ModelError, ParameterError

__all__ = ["INPUT_MODES", "OUTPUT_KINDS", "TIME_BASES", "MissingFunction", "ModelBase",
           "ModelParts", "NeuronModel"]

#: ``time_base`` values: a dimensionless timestep grid, or Brian2 physics in seconds.
TIME_BASES = ("step", "continuous")
#: ``input_mode`` values and what each means.
INPUT_MODES = {
    "add": "a spike's weight (times the payload) is added to input_variable in the step it is "
           "sent, before the layer integrates",
    "one_off": "few-spike input: the current arrives once per sample and the layer is active "
               "for `window` steps after the layers below",
    "filtered": "continuous time: a synapse model filters the spikes into the current I_syn",
    "after_reset": "the model's own synapse (own_synapse) takes the step's spikes after the "
                   "layer's threshold and reset, so they act from the next step on",
}
#: ``output_kind`` values and what each means.
OUTPUT_KINDS = {
    "spikes": "0/1 spikes",
    "payload": "events that carry a payload (the next layer receives w * payload)",
    "count": "ensemble events with a payload and a count of member spikes (spike_count)",
    "readout": "no spikes: a non-spiking node whose value is recorded each step",
}


class ModelParts(NamedTuple):
    """The parts that describe how a :class:`NeuronModel` behaves (module docstring)."""

    time_base: str
    input_mode: str
    output_kind: str


@dataclass(frozen=True, kw_only=True)
class ModelBase:
    """What every model kind has: name, Brian2 equations, parameters with units, citation.

    Subclasses declare ``parameters`` (default values, SI floats for those with a unit) at
    their own position, so that their positional constructors stay as they were, and set the
    class attribute :attr:`kind` (``"neuron model"``...) used in messages.

    Parameters
    ----------
    name : str
        Registry name.
    equations : str
        Brian2 model equations, verbatim.
    units : Mapping[str, str]
        Brian2 unit name of each parameter that has one (``{"tau_rc": "second"}``); a user
        must pass a quantity for it. Parameters not listed are dimensionless.
    placeholders : tuple of str
        Parameters whose defaults are not taken from the cited paper.
    citation : str
        Paper and section the model implements.
    description : str
        One line for listings.
    check : callable or None
        ``check(values, owner)`` on the checked SI values: raises ParameterError for values
        or combinations the model does not define.
    """

    name: str = field(kw_only=False)
    equations: str = field(kw_only=False)
    units: Mapping[str, str] = field(default_factory=dict)
    placeholders: tuple = ()
    citation: str = ""
    description: str = field(default="", compare=False)
    check: Callable = field(default=None, compare=False)
    kind: ClassVar[str] = "model"

    def owner(self, where=""):
        """``"neuron model 'lif_rc' (where)"``: the model as messages name it."""
        return f"{self.kind} {self.name!r}" + (f" ({where})" if where else "")

    def unit(self, name):
        """Brian2 unit name of parameter ``name`` (``"1"`` when dimensionless)."""
        return self.units.get(name, "1")

    def defaults(self):
        """Default parameters as Brian2 quantities, e.g. ``{"tau_s": 5. * msecond}``."""
        return self.brian2_values(self.parameters)

    def check_values(self, values, where=""):
        """``values`` as plain floats, each checked against its declared unit.

        A parameter listed in :attr:`units` must be a Brian2 quantity of that unit and is
        returned in SI units (``20*ms`` → ``0.02``); the others are returned unchanged.

        Raises
        ------
        ParameterError
            For ``tau_rc=20`` (no unit) or a wrong unit; the message names the parameter,
            the model, the expected unit and the fix (``write tau_rc=20*ms``).
        """
        from .units import check_parameter

        owner = self.owner(where)
        return {name: check_parameter(owner, name, value, self.units[name])
                if name in self.units else value for name, value in values.items()}

    def check_parameters(self, values=None, where=""):
        """The defaults updated by ``values`` (quantities where a unit is declared), in SI.

        Raises
        ------
        ParameterError
            For an unknown parameter, a value without its unit (``tau_s=5`` instead of
            ``5*ms``) or of the wrong unit, or values that :attr:`check` rejects.
        """
        from .units import check_parameter

        owner = self.owner(where)
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise ParameterError(
                f"{owner} has no parameter(s) {unknown}; its parameters are "
                f"{sorted(self.parameters) or 'none'}")
        checked = dict(self.parameters)
        for name, value in values.items():
            checked[name] = check_parameter(owner, name, value, self.unit(name))
        if self.check is not None:
            self.check(checked, owner)
        return checked

    def brian2_values(self, values):
        """``values`` (SI floats, as stored in a spec) with the units Brian2 needs."""
        from .units import to_brian2

        return {name: to_brian2(value, self.unit(name)) for name, value in dict(values).items()}

    def namespace(self, values=None):
        """Checked parameters as Brian2 quantities: the ``namespace`` of a Brian2 object."""
        return self.brian2_values(self.check_parameters(values))


@dataclass(frozen=True)
class NeuronModel(ModelBase):
    """A spiking neuron model as Brian2 strings plus what conversion and tests need.

    One model instance stands for one converted ANN unit: a single neuron, or an ensemble whose
    member potentials are state variables ``v_0 ... v_{m-1}`` of one Brian2 neuron (they share
    the unit's input and output node, so the members need no synapses of their own).

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"if_soft"``.
    equations : str
        Brian2 model equations, verbatim (so ``brian2.Equations(model.equations)`` works).
    threshold, reset : str
        Brian2 threshold condition and reset code.
    parameters : Mapping[str, float]
        Default values of the model's parameters (dimensionless for converted networks).
    rate : callable or None
        Analytic transfer function ``rate(current, **parameters)``: per timestep in the long
        run, for a constant input ``current`` per timestep, the unit spikes sent (payloads
        summed) or, where ``rate_counts == "members"``, the member spikes. ``None`` (user
        models): ``brainconv.equations.user.measure_rate`` measures the curve in Brian2.
    step : callable or None
        One timestep in numpy for the reference simulator: ``step(v, current, spikes,
        **parameters)`` updates ``v`` in place (integrate, threshold, reset), writes the spikes
        emitted in that step into the preallocated ``spikes`` (0/1, or a payload count) and
        returns it; ensembles return ``(spikes, member_spikes)``. It must match the Brian2
        strings exactly. ``None``: the model runs in Brian2 only (not on the ``numpy``
        device). An absent ``rate`` or ``step`` is stored as a :class:`MissingFunction`: false
        in ``if model.step:``, and calling it raises a ModelError that says what to do.
    payload : str or None
        Variable holding how many unit spikes one event carries (accumulators, ensembles);
        ``None`` for single spikes. Power counts events, classification counts units.
    input_variable : str
        Variable that synaptic input is added to (``v`` unless the model integrates itself).
    integrate : str or None
        Code run once per timestep after all input has arrived and before the threshold, for
        models whose update is not a differential equation (leak, ensembles).
    clear : str
        Code that puts a unit back to rest before a new sample.
    spike_count : str or None
        Variable holding the member spikes of the last event (ensembles); ``None``: an event
        is one spike. ``total_spikes`` must then accumulate them.
    members : int
        Potentials per unit (the numpy reference allocates ``v`` as ``(..., members)``).
    output_scale : float
        ANN activation that one payload unit stands for; conversion multiplies the next
        layer's weights by it.
    rate_tolerance : callable or None
        ``rate_tolerance(current, **parameters)``: how far the long-run rate may lie from
        ``rate`` where the theory gives a band, not a value.
    rate_counts : {"output", "members"}
        What ``rate`` predicts.
    structural : tuple of str
        Parameters that are written into the equation strings (ensemble size, tuning);
        :meth:`resolve` builds the concrete model for given values.
    make : callable or None
        ``make(**structural_values)`` → NeuronModel; used by :meth:`resolve`.
    method : str
        Brian2 integration method.
    citation : str
        Paper and section the model implements.
    refractory : str, Quantity or None
        Brian2 ``refractory`` argument of the NeuronGroup (``None``: not refractory).
    time_base : {"step", "continuous"}
        ``"step"``: a dimensionless map on a timestep grid (``rate`` per step, ``step(v,
        current, spikes, **parameters)``, synapses add their weight to ``input_variable``).
        ``"continuous"``: Brian2 physics in seconds (``dt`` is a real simulation parameter,
        ``rate`` in Hz, ``step(state, current, spikes, dt, **parameters)`` on a dict of state
        arrays named by ``state_variables``; synapse models of
        :mod:`brainconv.equations.synapses` drive its ``I_syn``).
    units : Mapping[str, str]
        Brian2 unit name of each parameter that has one (``{"tau_rc": "second"}``); its value
        in ``parameters`` is then a float in SI units, and a user must pass a quantity
        (:meth:`check_parameters`). Parameters not listed are dimensionless.
    state_variables : tuple of str
        Names of the numpy state arrays of a continuous-time ``step``.
    window : int
        0: the unit runs every step on a constant current. ``> 0`` (few-spike neurons,
        :mod:`brainconv.equations.fs`): *one-off input*, the unit's ``clear`` code sets its
        potential from ``I`` once per sample and a layer of it is active for ``window`` steps,
        after the layers below (layer ``l`` starts at the sum of the windows below); ``step``
        then takes ``phase`` (the step's index within the window) and receives the current
        only in the sample's first step; ``rate`` is the payload sum over one window.
    tables : Mapping[str, (ndarray, float)]
        Per-step values over the window and their padding, by the name the Brian2 strings call
        them with ``name(t - t0 - window_start + dt)`` (the builder makes padded TimedArrays).
    integer_payload : bool
        False where payloads are real numbers (FS swish): such a model cannot be an output
        layer, whose payload sums are counted as integers.
    input_after_reset : bool
        True where a spike found in step ``n`` must act on this layer from ``t_n + dt`` on
        (CuBa-LIF, :mod:`brainconv.equations.cuba_lif`): the pathway into the layer then runs
        after the layer's threshold and reset, and the numpy ``step`` adds its ``current``
        last. False: same-step delivery before the layer integrates.
    own_synapse : str or None
        Synapse model (:data:`~brainconv.equations.SYNAPSE_MODELS`) that is part of the neuron
        model (CuBa-LIF's current ``g``): every pathway into the layer uses it.
    trained_by : str or None
        Where the weights of a network of this model come from when no ANN converts to it
        (CuBa-LIF: ``brainconv.spiketime.train_bats``, trained on spike times); ``convert``
        refuses the model and names this. None: converted from a trained ANN.
    placeholders, check
        As for :class:`ModelBase` (keyword-only, like ``units``, ``citation`` and
        ``description``); :func:`brainconv.conversion.convert` runs ``check`` on each layer's
        values.
    """

    threshold: str
    reset: str
    parameters: Mapping[str, float]
    rate: Callable[..., np.ndarray] = None
    step: Callable[..., np.ndarray] = None
    payload: str = None
    input_variable: str = "v"
    integrate: str = None
    clear: str = "v = 0"
    spike_count: str = None
    members: int = 1
    output_scale: float = 1.0
    rate_tolerance: Callable[..., np.ndarray] = None
    rate_counts: str = "output"
    structural: tuple = ()
    make: Callable[..., "NeuronModel"] = field(default=None, compare=False)
    method: str = "euler"
    refractory: object = None
    time_base: str = "step"
    state_variables: tuple = ()
    window: int = 0
    tables: Mapping[str, tuple] = field(default_factory=dict, compare=False)
    integer_payload: bool = True
    input_after_reset: bool = False
    own_synapse: str = None
    trained_by: str = None
    kind: ClassVar[str] = "neuron model"

    def __post_init__(self):
        if self.time_base not in TIME_BASES:
            raise ModelError(f"neuron model {self.name!r}: time_base must be one of "
                             f"{', '.join(map(repr, TIME_BASES))}, got {self.time_base!r}")
        # A clear ModelError, not "'NoneType' object is not callable", wherever rate or step
        # is called on a model that has none (user models may leave both out).
        for what in ("rate", "step"):
            function = getattr(self, what)
            if function is None or (isinstance(function, MissingFunction)
                                    and function.model != self.name):
                object.__setattr__(self, what, MissingFunction(self.name, what))

    def resolve(self, parameters):
        """The concrete model for ``parameters`` (a dict): rebuilt if a structural one is set."""
        structural = {name: parameters[name] for name in self.structural if name in parameters}
        if not structural or self.make is None:
            return self
        return self.make(**{**{n: self.parameters[n] for n in self.structural}, **structural})

    def runtime_parameters(self, parameters):
        """The (name, value) pairs Brian2 sets as variables: all but the structural ones."""
        return {name: value for name, value in parameters.items() if name not in self.structural}

    def on_pre(self, target):
        """Brian2 ``on_pre`` code of a pathway from this model into the ``target`` model."""
        payload = f" * {self.payload}_pre" if self.payload else ""
        return f"{target.input_variable}_post += w{payload}"

    @property
    def spiking(self):
        """False for a non-spiking node (a filtered readout): it has no threshold."""
        return bool(self.threshold)

    @property
    def input_mode(self):
        """How synaptic input reaches the unit: a key of :data:`INPUT_MODES`.

        ``"after_reset"`` where :attr:`input_after_reset` is set (CuBa-LIF), ``"one_off"``
        for a few-spike :attr:`window`, ``"filtered"`` for other continuous-time models and
        ``"add"`` for the timestep-grid models.
        """
        if self.input_after_reset:
            return "after_reset"
        if self.window:
            return "one_off"
        return "filtered" if self.time_base == "continuous" else "add"

    @property
    def output_kind(self):
        """What the unit sends per step: a key of :data:`OUTPUT_KINDS`.

        ``"readout"`` without a threshold, ``"count"`` where :attr:`spike_count` is set
        (ensembles: ``step`` returns ``(payload, member spikes)``), ``"payload"`` where
        :attr:`payload` is set (accumulators, few-spike neurons) and ``"spikes"`` otherwise.
        """
        if not self.spiking:
            return "readout"
        if self.spike_count:
            return "count"
        return "payload" if self.payload else "spikes"

    @property
    def parts(self):
        """:class:`ModelParts` ``(time_base, input_mode, output_kind)`` of this model."""
        return ModelParts(self.time_base, self.input_mode, self.output_kind)

    def events(self, sent):
        """``(sent, events)`` from what :attr:`step` returned: the unit output and the spikes.

        Power counts events: a payload event is one spike (Think Fast §4.3; a few-spike
        payload may be negative, so any nonzero payload is an event), an ensemble counts its
        members' spikes (``step`` returns both).
        """
        kind = self.output_kind
        if kind == "count":
            return sent
        return sent, (sent != 0 if kind == "payload" else sent)

    def check_parameters(self, values, where=""):
        """``values`` as plain floats, each checked against its declared unit.

        A neuron model checks the given values only (:meth:`ModelBase.check_values`): a layer
        combines defaults, trained constants and overrides itself
        (:func:`brainconv.conversion.convert`).

        Raises
        ------
        ParameterError
            For ``tau_rc=20`` (no unit) or a wrong unit; the message names the parameter,
            the model, the expected unit and the fix (``write tau_rc=20*ms``).
        """
        return self.check_values(values, where)

    def initial_state(self, shape, dtype=np.float64):
        """Zeroed numpy state for ``shape`` units: one array, or a dict for continuous time."""
        if self.time_base == "continuous":
            return {name: np.zeros(shape, dtype) for name in self.state_variables}
        return np.zeros(tuple(shape) + ((self.members,) if self.members > 1 else ()), dtype)


class MissingFunction:
    """Stands in for a model's absent ``rate`` or ``step`` function.

    False in a boolean test (``if model.step:``); calling it raises :class:`ModelError` naming
    the model, what is missing and the way around it.
    """

    _FIXES = {
        "rate": "measure the transfer curve in Brian2 with "
                "brainconv.equations.user.measure_rate(model, currents), or define the model "
                "with rate=<function rate(current, **parameters)>",
        "step": "run it through Brian2 with device='runtime' (or 'cpp_standalone'), or define "
                "the model with step=<numpy function step(v, current, spikes, **parameters)>",
        "filter_step": "run it through Brian2 with device='cpp_standalone' (or 'runtime'), or "
                       "define the synapse model with filter_step=<numpy function "
                       "filter_step(state, charge, dt, **parameters)>",
        "kernel": "define the synapse model with kernel=<function kernel(t, **parameters)>",
    }
    _KINDS = {"rate": "analytic transfer function (rate)",
              "step": "numpy step function (step), so the numpy reference simulator cannot "
                      "run it",
              "filter_step": "numpy filter step (filter_step), so the numpy reference "
                             "simulator cannot run it",
              "kernel": "impulse response (kernel)"}

    def __init__(self, model, what):
        self.model = model
        self.what = what

    def __bool__(self):
        return False

    def __call__(self, *args, **kwargs):
        owner = "synapse model" if self.what in ("filter_step", "kernel") else "neuron model"
        raise ModelError(f"{owner} {self.model!r} has no {self._KINDS[self.what]}; "
                         f"{self._FIXES[self.what]}")

    def __eq__(self, other):
        return (isinstance(other, MissingFunction)
                and (other.model, other.what) == (self.model, self.what))

    def __hash__(self):
        return hash((MissingFunction, self.model, self.what))

    def __repr__(self):
        return f"<no {self.what} for {self.model!r}>"
