"""Numpy reference simulator on the same schedule as the Brian2 network.

One timestep is one pass through all layers (Think Fast eq. 4): layer 1 integrates its constant
current and fires; its spikes reach layer 2 in the same timestep; and so on up to the output.
An L-layer network can therefore answer in the first timestep. Used for exact cross-checks in
the tests and as the yardstick in the benchmarks.

Continuous-time networks (``lif_rc``) run the same schedule with a step of ``dt`` ms: each
layer's synapse filter turns the charge of the step's arriving spikes into ``I_syn``
(:meth:`~brainconv.equations.synapses.SynapseModel.filter_step`), then the neurons integrate
``I + I_syn``; a ``readout`` output layer records ``y`` each step instead of spiking.
"""

import numpy as np

from .spec import (TIMESTEP_MS, check_frames, check_steps, pathway_synapse, time_base,
                   window_offsets)
from .equations import resolve_model
from .errors import ModelError, SimulationError

__all__ = ["check_numpy_functions", "simulate_reference"]


def simulate_reference(spec, x, steps, dtype=np.float64, dt_ms=None, record=None):
    """Simulate ``spec`` on inputs ``x`` for ``steps`` timesteps with numpy.

    Parameters
    ----------
    spec : NetworkSpec
    x : ndarray, shape (n_samples, n_inputs) or (n_samples, steps, n_inputs)
        Inputs held over the sample, or one frame per step.
    steps : int
    dtype : numpy dtype
        float64 matches Brian2's default exactly; float32 is faster for benchmarks.
    dt_ms : float, optional
        Step of a continuous-time network in ms (default :data:`~brainconv.spec.TIMESTEP_MS`).
    record : (ndarray, tuple), optional
        Sample indices and layer indices whose full spike trains to record
        (:func:`brainconv.spec.check_record`).

    Returns
    -------
    dict
        ``output_spikes`` (sample, time, class) int16, ``layer_spikes`` (layer, time) and
        ``unit_spike_count`` (all neurons of all layers, layer after layer); with a
        ``readout`` output layer also ``readout`` (sample, time, class), its ``y`` each step.
    """
    steps = check_steps(steps)
    check_numpy_functions(spec)
    if np.ndim(x) == 3:
        check_frames(spec, np.shape(x), steps)
    currents = spec.input_currents(x).astype(dtype)
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    trains = _TrainRecorder(record)
    simulate = _SIMULATORS[time_base(spec)]
    return trains.finish(simulate(spec, currents, models, steps,
                                  TIMESTEP_MS if dt_ms is None else float(dt_ms), dtype, trains))


def check_numpy_functions(spec):
    """Raise ModelError where a layer's model has no numpy ``step`` or its synapse no numpy
    ``filter_step`` (user models defined from Brian2 strings alone): numpy cannot run them."""
    for index, layer in enumerate(spec.layers):
        synapse, _ = pathway_synapse(spec, index)
        if not synapse.filter_step:
            raise ModelError(
                f"layer {layer.name!r}: synapse model {synapse.name!r} has no numpy "
                "filter_step, so the numpy device cannot simulate it; use "
                "device='cpp_standalone', or define it with filter_step=...")
        model = resolve_model(layer.model, layer.parameters)
        if not model.step:
            raise ModelError(
                f"layer {layer.name!r}: model {model.name!r} has no numpy step function, "
                "so the numpy device cannot simulate it; use device='cpp_standalone' "
                "(compiled once per layout) or device='runtime' (a few samples), or "
                "define the model with step=...")


def _simulate_step(spec, currents, models, steps, dt_ms, dtype, trains):
    """:func:`simulate_reference` for timestep-grid networks (``dt_ms`` is only a label)."""
    n = len(currents)
    weights = [layer.weights.astype(dtype) for layer in spec.layers]
    biases = [layer.bias.astype(dtype) for layer in spec.layers]
    potentials = [np.zeros((n, layer.size) + ((model.members,) if model.members > 1 else ()),
                           dtype) for layer, model in zip(spec.layers, models)]
    # Preallocated: a fresh 20 MB array per step costs more in page faults than the arithmetic.
    spike_buffers = [np.zeros((n, layer.size), dtype) for layer in spec.layers]
    counts = [np.zeros(layer.size) for layer in spec.layers]
    layer_spikes = np.zeros((len(spec.layers), steps))
    output_spikes = np.zeros((n, steps, spec.layers[-1].size), np.int16)
    offsets = window_offsets(models)
    for t in range(steps):
        if t & (t - 1) == 0:  # steps 1, 2, 4, 8, ...: a NaN state stays NaN
            _check_finite(spec, models, potentials, t)
        spikes = None
        for index, (layer, model) in enumerate(zip(spec.layers, models)):
            drive, extra = _STEP_INPUT[model.input_mode](
                t, currents if index == 0 else None, spikes, weights[index], biases[index],
                offsets[index])
            sent = model.step(potentials[index], drive, spike_buffers[index],
                              theta=layer.threshold, **dict(layer.parameters), **extra)
            spikes, events = model.events(sent)  # by output_kind: payload, ensemble count
            trains.add(index, t, spikes)
            per_unit = events.sum(axis=0, dtype=dtype)  # exact: counts far below 2**24
            counts[index] += per_unit
            layer_spikes[index, t] = per_unit.sum()
        output_spikes[:, t] = spikes
    _check_finite(spec, models, potentials, steps)
    return {
        "output_spikes": output_spikes,
        "layer_spikes": layer_spikes,
        "unit_spike_count": np.concatenate(counts),
    }


def _add_input(t, currents, spikes, weights, bias, offset):
    """``input_mode == "add"``: the input current (this step's, for per-step inputs), or the
    spikes times weights plus bias."""
    if currents is not None:
        return _current_at(currents, t), {}
    return spikes @ weights + bias, {}


def _current_at(currents, t):
    """The first layer's current in step ``t``: ``currents`` itself where it is constant
    ``(n, size)``, its step ``t`` for per-step inputs ``(n, steps, size)``."""
    return currents[:, t] if currents.ndim == 3 else currents


def _one_off_input(t, currents, spikes, weights, bias, offset):
    """``input_mode == "one_off"`` (few-spike): current or bias in step 0 only, and the phase."""
    extra = {"phase": t - offset}
    if currents is not None:
        return (currents if t == 0 else np.zeros_like(currents)), extra
    return spikes @ weights + (bias if t == 0 else 0), extra


#: What a timestep-grid layer receives in step ``t``, by its model's ``input_mode``:
#: ``function(t, currents or None, spikes below, weights, bias, window offset)`` →
#: ``(drive, extra keyword arguments of step)``.
_STEP_INPUT = {"add": _add_input, "one_off": _one_off_input}


def _simulate_continuous(spec, currents, models, steps, dt_ms, dtype, trains):
    """:func:`simulate_reference` for continuous-time networks (module docstring)."""
    dt = dt_ms * 1e-3
    n = len(currents)
    layers = spec.layers
    synapses = [pathway_synapse(spec, index) for index in range(len(layers))]
    weights = [layer.weights.astype(dtype) for layer in layers]
    biases = [layer.bias.astype(dtype) for layer in layers]
    states = [model.initial_state((n, layer.size), dtype) for layer, model in zip(layers, models)]
    filters = [synapse.initial_state((n, layer.size), dtype)
               for layer, (synapse, _) in zip(layers, synapses)]
    spike_buffers = [np.zeros((n, layer.size), dtype) for layer in layers]
    counts = [np.zeros(layer.size) for layer in layers]
    layer_spikes = np.zeros((len(layers), steps))
    output_spikes = np.zeros((n, steps, layers[-1].size), np.int16)
    readout = (np.zeros((n, steps, layers[-1].size), dtype)
               if models[-1].output_kind == "readout" else None)
    for t in range(steps):
        if t & (t - 1) == 0:
            _check_finite(spec, models, states, t)
        spikes = None
        for index, (layer, model) in enumerate(zip(layers, models)):
            if index == 0:
                current = _current_at(currents, t)
            else:
                synapse, synapse_values = synapses[index]
                charge = spikes @ weights[index]  # the step's arrivals, in seconds
                current = biases[index] + synapse.filter_step(filters[index], charge, dt,
                                                              **synapse_values)
            parameters = dict(layer.parameters)
            if model.output_kind != "readout":
                parameters["theta"] = layer.threshold
            spikes = model.step(states[index], current, spike_buffers[index], dt, **parameters)
            trains.add(index, t, spikes)
            if model.output_kind == "readout":
                readout[:, t] = spikes
                continue
            per_unit = spikes.sum(axis=0, dtype=dtype)
            counts[index] += per_unit
            layer_spikes[index, t] = per_unit.sum()
        if readout is None:
            output_spikes[:, t] = spikes
    _check_finite(spec, models, states, steps)
    result = {
        "output_spikes": output_spikes,
        "layer_spikes": layer_spikes,
        "unit_spike_count": np.concatenate(counts),
    }
    if readout is not None:
        result["readout"] = readout
    return result


def _check_finite(spec, models, states, t):
    """Raise SimulationError where a layer's state has become NaN by step ``t``.

    A NaN potential never crosses the threshold, so the layer would fall silent and the run
    would end with chance accuracy and no word. Checked at steps 1, 2, 4, 8, ... and at the
    end, so the message gives the step range at the cost of a few checks per run.
    """
    for layer, model, state in zip(spec.layers, models, states):
        arrays = state.values() if isinstance(state, dict) else [state]
        if any(np.isnan(array).any() for array in arrays):
            since = f"between steps {t // 2} and {t}" if t > 1 else f"by step {t}"
            raise SimulationError(
                f"layer {layer.name!r} (model {model.name!r}): its state became NaN {since} "
                "(a square root of a negative number, 0/0 or an overflow in the model's "
                "equations or step function); a NaN potential never spikes, so the results "
                "would be silently wrong. Check the model and its parameters")


#: The simulation loop of each ``time_base``.
_SIMULATORS = {"step": _simulate_step, "continuous": _simulate_continuous}


class _TrainRecorder:
    """Collects the spikes of chosen samples and layers, step by step (``record=``)."""

    def __init__(self, record):
        self.samples, self.layers = record if record is not None else (None, ())
        self.parts = []

    def add(self, layer, step, sent):
        """``sent``: what the layer sends this step, (samples, neurons); nonzero is a spike."""
        if layer not in self.layers:
            return
        chosen = np.asarray(sent)[self.samples]
        rows, neurons = np.nonzero(chosen)
        self.parts.append((self.samples[rows], np.full(len(rows), layer), neurons,
                           np.full(len(rows), step), chosen[rows, neurons].astype(float)))

    def finish(self, result):
        """``result`` with ``spike_trains`` (sorted by sample, layer, step, neuron) added."""
        if self.samples is None:
            return result
        keys = ("sample", "layer", "neuron", "step", "weight")
        columns = [np.concatenate([part[k] for part in self.parts]) if self.parts
                   else np.zeros(0) for k in range(5)]
        order = np.lexsort((columns[2], columns[3], columns[1], columns[0]))
        trains = {key: column[order].astype(float if key == "weight" else np.int64)
                  for key, column in zip(keys, columns)}
        return {**result, "spike_trains": trains, "recorded_samples": self.samples,
                "recorded_layers": self.layers}
