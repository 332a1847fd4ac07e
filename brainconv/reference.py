"""Numpy reference simulator on the same schedule as the Brian2 network.

One timestep is one pass through all layers (Think Fast eq. 4): layer 1 integrates its constant
current and fires; its spikes reach layer 2 in the same timestep; and so on up to the output.
An L-layer network can therefore answer in the first timestep. Used for exact cross-checks in
the tests and as the yardstick in the benchmarks.
"""

import numpy as np

from .equations import resolve_model
from .errors import ParameterError


def check_steps(steps):
    """Return ``steps`` as an int, or raise ParameterError unless it is a positive integer."""
    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ParameterError(f"steps must be a positive integer number of timesteps, got {steps!r}")
    return int(steps)


def simulate_reference(spec, x, steps, dtype=np.float64):
    """Simulate ``spec`` on inputs ``x`` for ``steps`` timesteps with numpy.

    Parameters
    ----------
    spec : NetworkSpec
    x : ndarray, shape (n_samples, n_inputs)
    steps : int
    dtype : numpy dtype
        float64 matches Brian2's default exactly; float32 is faster for benchmarks.

    Returns
    -------
    dict
        ``output_spikes`` (sample, time, class) int16, ``layer_spikes`` (layer, time) and
        ``unit_spike_count`` (all neurons of all layers, layer after layer).
    """
    steps = check_steps(steps)
    currents = spec.input_currents(x).astype(dtype)
    n = len(currents)
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    weights = [layer.weights.astype(dtype) for layer in spec.layers]
    biases = [layer.bias.astype(dtype) for layer in spec.layers]
    potentials = [np.zeros((n, layer.size) + ((model.members,) if model.members > 1 else ()),
                           dtype) for layer, model in zip(spec.layers, models)]
    # Preallocated: a fresh 20 MB array per step costs more in page faults than the arithmetic.
    spike_buffers = [np.zeros((n, layer.size), dtype) for layer in spec.layers]
    counts = [np.zeros(layer.size) for layer in spec.layers]
    layer_spikes = np.zeros((len(spec.layers), steps))
    output_spikes = np.zeros((n, steps, spec.layers[-1].size), np.int16)
    for t in range(steps):
        spikes = None
        for index, (layer, model) in enumerate(zip(spec.layers, models)):
            if index == 0:
                drive = currents
            else:
                drive = spikes @ weights[index] + biases[index]
            spikes = model.step(potentials[index], drive, spike_buffers[index],
                                theta=layer.threshold, **dict(layer.parameters))
            # Power counts events: a payload event is one spike (Think Fast §4.3); an
            # ensemble counts its members' spikes.
            if model.spike_count:
                spikes, events = spikes
            else:
                events = spikes if model.payload is None else spikes > 0
            per_unit = events.sum(axis=0, dtype=dtype)  # exact: counts far below 2**24
            counts[index] += per_unit
            layer_spikes[index, t] = per_unit.sum()
        output_spikes[:, t] = spikes
    return {
        "output_spikes": output_spikes,
        "layer_spikes": layer_spikes,
        "unit_spike_count": np.concatenate(counts),
    }
