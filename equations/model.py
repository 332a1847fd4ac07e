"""The description of a neuron model that every file in ``equations/`` fills in."""

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np


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
    rate : callable
        Analytic transfer function ``rate(current, **parameters)``: per timestep in the long
        run, for a constant input ``current`` per timestep, the unit spikes sent (payloads
        summed) or, where ``rate_counts == "members"``, the member spikes.
    step : callable
        One timestep in numpy for the reference simulator: ``step(v, current, spikes,
        **parameters)`` updates ``v`` in place (integrate, threshold, reset), writes the spikes
        emitted in that step into the preallocated ``spikes`` (0/1, or a payload count) and
        returns it; ensembles return ``(spikes, member_spikes)``. It must match the Brian2
        strings exactly.
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
    """

    name: str
    equations: str
    threshold: str
    reset: str
    parameters: Mapping[str, float]
    rate: Callable[..., np.ndarray]
    step: Callable[..., np.ndarray]
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
