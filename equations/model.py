"""The description of a neuron model that every file in ``equations/`` fills in."""

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class NeuronModel:
    """A spiking neuron model as Brian2 strings plus what conversion and tests need.

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
        Analytic transfer function ``rate(current, **parameters)``: spikes per timestep in the
        long run for a constant input ``current`` per timestep.
    step : callable
        One timestep in numpy for the reference simulator: ``step(v, current, spikes,
        **parameters)`` updates ``v`` in place (integrate, threshold, reset), writes the spikes
        emitted in that step into the preallocated ``spikes`` (same dtype and shape as ``v``:
        0/1, or a payload count) and returns it.
        It must match the Brian2 strings exactly.
    on_pre : str
        Brian2 code a spike of this model runs on the next layer's neuron (``v_post``).
    payload : str or None
        Name of the variable holding how many unit spikes one event carries (accumulator
        neurons); ``None`` for single spikes. Power counts events, classification counts units.
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
    on_pre: str = "v_post += w"
    payload: str = None
    method: str = "euler"
    citation: str = ""
    description: str = field(default="", compare=False)
