"""The description of a neuron model that every file in ``equations/`` fills in."""

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from brainconv.errors import ModelError


@dataclass(frozen=True)
class NeuronModel:
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
    """

    name: str
    equations: str
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
    citation: str = ""
    description: str = field(default="", compare=False)
    refractory: object = None
    time_base: str = "step"
    units: Mapping[str, str] = field(default_factory=dict)
    state_variables: tuple = ()
    window: int = 0
    tables: Mapping[str, tuple] = field(default_factory=dict, compare=False)
    integer_payload: bool = True
    input_after_reset: bool = False
    own_synapse: str = None

    def __post_init__(self):
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

    def check_parameters(self, values, where=""):
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

        owner = f"neuron model {self.name!r}" + (f" ({where})" if where else "")
        return {name: check_parameter(owner, name, value, self.units[name])
                if name in self.units else value for name, value in values.items()}

    def brian2_values(self, values):
        """``values`` (as stored in a spec) with the units Brian2 needs to set them."""
        from .units import to_brian2

        return {name: to_brian2(value, self.units[name]) if name in self.units else value
                for name, value in values.items()}

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
    }

    def __init__(self, model, what):
        self.model = model
        self.what = what

    def __bool__(self):
        return False

    def __call__(self, *args, **kwargs):
        kind = "analytic transfer function (rate)" if self.what == "rate" else \
            "numpy step function (step), so the numpy reference simulator cannot run it"
        raise ModelError(f"neuron model {self.model!r} has no {kind}; {self._FIXES[self.what]}")

    def __eq__(self, other):
        return (isinstance(other, MissingFunction)
                and (other.model, other.what) == (self.model, self.what))

    def __hash__(self):
        return hash((MissingFunction, self.model, self.what))

    def __repr__(self):
        return f"<no {self.what} for {self.model!r}>"
