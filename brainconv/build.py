"""NetworkSpec → Brian2 objects. The only module that creates Brian2 objects.

Layout for speed (see DESIGN.md): the network is replicated ``batch_size`` times inside each
``NeuronGroup`` (neuron ``k`` of sample ``s`` has index ``s * size + k``) with block-diagonal
``Synapses``, and successive batches of samples are fed *in time* within one run: a 2-D
``TimedArray`` holds each batch's input currents, and a ``run_regularly`` at each batch boundary
loads them and resets the membrane potentials. One compiled binary thus runs a whole test set.

Schedule: one timestep is one pass through all layers (Think Fast eq. 4). Brian2's default
order (all groups, all thresholds, all synapses, all resets) would deliver a spike to the next
layer one ``dt`` late, so layer ``l``'s thresholder is moved into the ``synapses`` slot after the
pathway that feeds it: groups → threshold 1 → synapses 1→2 → threshold 2 → ... → resets.
Within the slot, layer ``l`` runs at orders ``4l - 2`` (pathway in), ``4l - 1`` (the model's
``integrate`` code, if any), ``4l`` (threshold), ``4l + 1`` (reset, which computes payloads)
and ``4l + 2`` (the ensemble spike meter).

Ensembles count member spikes, not events: a one-neuron "meter" per layer sums the ``count``
of every event through a Synapses and is read by a StateMonitor each step; each unit's total is
its ``total_spikes`` variable.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from .equations import resolve_model
from .errors import SimulationError

#: Length of one timestep. The converted networks live on a timestep grid; 1 ms is a label.
TIMESTEP_MS = 1.0


@dataclass
class BuiltNetwork:
    """Handles to the Brian2 objects of one built network."""

    network: object
    currents: list  # TimedArray per layer: (n_batches, batch_size * size) constant currents
    groups: list
    synapses: list  # synapses[l - 1] feeds groups[l]
    output_monitor: object  # SpikeMonitor of the output layer (records i, t)
    count_monitors: list  # SpikeMonitor(record=False) per hidden layer, for counts
    rate_monitors: list  # per layer: PopulationRateMonitor, or StateMonitor of the meter
    batch_size: int
    n_batches: int
    steps: int

    @property
    def duration(self):
        """Total simulated time, as a Brian2 quantity."""
        import brian2

        return self.n_batches * self.steps * TIMESTEP_MS * brian2.ms


def connections(weights):
    """``(pre, post, w)`` of a layer's weight matrix ``(n_below, size)``, in row-major order.

    A dense array gives every entry (a fully connected layer); a ``scipy.sparse`` matrix gives
    its stored entries (a convolution, for instance).
    """
    if scipy.sparse.issparse(weights):
        coo = weights.tocoo()
        order = np.lexsort((coo.col, coo.row))
        return (coo.row[order].astype(np.int64), coo.col[order].astype(np.int64),
                coo.data[order].astype(float))
    n_pre, n_post = weights.shape
    return (np.repeat(np.arange(n_pre, dtype=np.int64), n_post),
            np.tile(np.arange(n_post, dtype=np.int64), n_pre), np.asarray(weights).ravel())


def replicate(pre, post, n_pre, n_post, batch_size):
    """Indices of ``batch_size`` block-diagonal copies of a layer's connections.

    Copy-major order, matching ``np.tile(w, batch_size)``.
    """
    copy = np.repeat(np.arange(batch_size, dtype=np.int64), len(pre))
    return np.tile(pre, batch_size) + copy * n_pre, np.tile(post, batch_size) + copy * n_post


#: Constant current of the padding samples of the last batch: NaN compares false with every
#: threshold, so padding never spikes, in any model (an ION member fires at any finite input).
PAD_CURRENT = np.nan


def layer_values(spec, currents, batch_size):
    """The numbers a built network needs, keyed by what they set.

    Parameters
    ----------
    spec : NetworkSpec
    currents : ndarray, shape (n_samples, size of layer 1)
        Input currents ``x @ W0 + b0``.
    batch_size : int

    Returns
    -------
    dict
        ``("current", l)``: (n_batches, batch_size * size) constant current of layer ``l`` for
        each batch (input currents for ``l = 0``, the bias otherwise; padding samples get
        :data:`PAD_CURRENT` so that they never spike); ``("weights", l)``: the replicated
        weights into layer ``l >= 1``.
    """
    n_samples = len(currents)
    n_batches = -(-n_samples // batch_size)
    values = {}
    for index, layer in enumerate(spec.layers):
        per_sample = np.full((n_batches * batch_size, layer.size), PAD_CURRENT)
        per_sample[:n_samples] = currents if index == 0 else layer.bias
        values[("current", index)] = per_sample.reshape(n_batches, batch_size * layer.size)
        if index > 0:
            values[("weights", index)] = np.tile(connections(layer.weights)[2], batch_size)
    return values


def _FixedHashClock(dt, name, rank):
    """A Brian2 ``Clock`` whose hash is ``rank``.

    Brian2 writes clock initialisations into ``main.cpp`` in the iteration order of a set of
    clocks; with the default (address-based) hash that order changes from process to process,
    and the cached standalone project would recompile. Two shared clocks with fixed hashes keep
    the generated code identical.
    """
    import brian2

    class FixedHashClock(brian2.Clock):
        dt = brian2.Clock.__dict__["dt"]  # Brian2 only lets a class's own properties be set

        def __hash__(self):
            return rank

    return FixedHashClock(dt, name=name)


def build_network(spec, steps, batch_size, n_batches, values):
    """Create the Brian2 network for ``spec`` under the current Brian2 device.

    Parameters
    ----------
    spec : NetworkSpec
    steps : int
        Timesteps per sample.
    batch_size : int
        Samples simulated side by side in each group.
    n_batches : int
        Batches run one after the other within one run.
    values : dict
        Output of :func:`layer_values` (initial values; standalone runs may replace them
        through ``run_args``).

    Returns
    -------
    BuiltNetwork
    """
    import brian2

    # Padding samples hold NaN on purpose (PAD_CURRENT); Brian2 would warn about them.
    brian2.BrianLogger.suppress_name("invalid_values")
    dt = TIMESTEP_MS * brian2.ms
    period = steps * dt
    # Named "defaultclock": brian2cuda's synapse template refers to that clock by name.
    step_clock = _FixedHashClock(dt, name="defaultclock", rank=1)
    batch_clock = _FixedHashClock(period, name="batch_clock", rank=2)
    groups, synapses, currents, count_monitors, rate_monitors = [], [], [], [], []
    meter_parts = []
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    for index, (layer, model) in enumerate(zip(spec.layers, models)):
        try:
            group, current, pathway = _build_layer(
                spec, models, index, groups[-1] if groups else None, values, batch_size,
                step_clock, batch_clock, period)
            if model.spike_count:
                monitor, *parts = _build_meter(group, model, index, step_clock)
                meter_parts.extend(parts)
        except Exception as exc:
            raise SimulationError(
                f"Brian2 could not build layer {layer.name!r} (model {layer.model!r}, "
                f"{layer.size} neurons x {batch_size} samples): {exc}"
            ) from exc
        groups.append(group)
        currents.append(current)
        if pathway is not None:
            synapses.append(pathway)
        if model.spike_count:
            rate_monitors.append(monitor)
        else:
            rate_monitors.append(brian2.PopulationRateMonitor(group, name=f"{layer.name}_rate"))
        if index < len(spec.layers) - 1 and not model.spike_count:
            count_monitors.append(
                brian2.SpikeMonitor(group, record=False, name=f"{layer.name}_counts")
            )
    payload = models[-1].payload
    output_monitor = brian2.SpikeMonitor(groups[-1], variables=[payload] if payload else [],
                                         name="output_spikes")
    # Monitors read spikes after the last thresholder has run.
    for monitor in rate_monitors + count_monitors + [output_monitor]:
        monitor.when = "resets"
    network = brian2.Network(*groups, *synapses, *count_monitors, *rate_monitors, output_monitor,
                             *meter_parts)
    return BuiltNetwork(network, currents, groups, synapses, output_monitor,
                        count_monitors, rate_monitors, batch_size, n_batches, steps)


def _build_layer(spec, models, index, below, values, batch_size, step_clock, batch_clock,
                 period):
    """One layer's NeuronGroup, its batch-current TimedArray and the Synapses feeding it."""
    import brian2

    layer, model = spec.layers[index], models[index]
    group = brian2.NeuronGroup(
        batch_size * layer.size, model.equations, threshold=model.threshold,
        reset=model.reset, method=model.method, clock=step_clock, name=layer.name,
    )
    group.theta = layer.threshold
    for name, value in model.runtime_parameters(dict(layer.parameters)).items():
        setattr(group, name, value)
    current = brian2.TimedArray(values[("current", index)], dt=period,
                                name=f"{layer.name}_current")
    group.namespace["batch_current"] = current
    group.run_regularly("I = batch_current(t, i)\n" + model.clear, clock=batch_clock,
                        when="start", name=f"{layer.name}_new_batch")
    # Same-timestep delivery, all in the "synapses" slot (orders: module docstring).
    if model.integrate:
        group.run_regularly(model.integrate, when="synapses", order=4 * index - 1,
                            name=f"{layer.name}_integrate")
    group.thresholder["spike"].when = "synapses"
    group.thresholder["spike"].order = 4 * index
    group.resetter["spike"].when = "synapses"
    group.resetter["spike"].order = 4 * index + 1
    if below is None:
        return group, current, None
    pre, post, _ = connections(layer.weights)
    pre, post = replicate(pre, post, spec.layers[index - 1].size, layer.size, batch_size)
    pathway = brian2.Synapses(below, group, "w : 1 (constant)",
                              on_pre=models[index - 1].on_pre(model),
                              clock=step_clock, name=f"{layer.name}_synapses")
    pathway.connect(i=pre, j=post)
    pathway.w = values[("weights", index)]
    pathway.pre.order = 4 * index - 2
    return group, current, pathway


def _build_meter(group, model, index, step_clock):
    """A one-neuron meter summing the member spikes of ``group`` each step, and its monitor.

    Returns ``(monitor, meter, tally)``; the monitor comes first (it is the layer's rate monitor).
    """
    import brian2

    meter = brian2.NeuronGroup(1, "spikes : 1", clock=step_clock, name=f"{group.name}_meter")
    meter.run_regularly("spikes = 0", when="start", name=f"{group.name}_meter_clear")
    tally = brian2.Synapses(group, meter, on_pre=f"spikes_post += {model.spike_count}_pre",
                            clock=step_clock, name=f"{group.name}_tally")
    tally.connect(i=np.arange(len(group)), j=np.zeros(len(group), dtype=np.int64))
    tally.pre.order = 4 * index + 2
    monitor = brian2.StateMonitor(meter, "spikes", record=0, clock=step_clock,
                                  name=f"{group.name}_member_spikes")
    return [monitor, meter, tally]


def collect(built, spec, n_samples):
    """Read the monitors of a finished run into plain numpy arrays.

    Returns
    -------
    dict
        Same keys and layout as :func:`brainconv.reference.simulate_reference`.
    """
    import brian2

    steps, batch = built.steps, built.batch_size
    n_out = spec.layers[-1].size
    index = np.asarray(built.output_monitor.i[:], dtype=np.int64)
    step = np.rint(np.asarray(built.output_monitor.t[:] / brian2.ms) / TIMESTEP_MS).astype(np.int64)
    # bincount over flat indices: order-free (brian2cuda does not sort monitor output) and
    # much faster than np.add.at for millions of spikes.
    shape = (built.n_batches * batch, steps, n_out)
    flat = np.ravel_multi_index(((step // steps) * batch + index // n_out, step % steps,
                                 index % n_out), shape)
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    payload = models[-1].payload
    weights = np.asarray(getattr(built.output_monitor, payload)[:]) if payload else None
    output = np.bincount(flat, weights, minlength=np.prod(shape)).reshape(shape)
    output = np.rint(output).astype(np.int16)

    # Padding samples never spike (PAD_CURRENT), so whole-group counts are exact.
    layer_spikes = np.zeros((len(spec.layers), steps))
    counts = []
    event_counts = iter(built.count_monitors + [built.output_monitor])
    for index, (layer, model) in enumerate(zip(spec.layers, models)):
        monitor = built.rate_monitors[index]
        if model.spike_count:  # meter: member spikes per step; totals in total_spikes
            per_step = np.rint(np.asarray(monitor.spikes[0]))
            per_unit = np.asarray(built.groups[index].total_spikes[:])
            if index == len(spec.layers) - 1:
                next(event_counts)
        else:
            rate_hz = np.asarray(monitor.rate[:] / brian2.Hz)
            per_step = np.rint(rate_hz * (batch * layer.size) * TIMESTEP_MS / 1000)
            per_unit = np.asarray(next(event_counts).count[:])
        layer_spikes[index] = per_step.reshape(built.n_batches, steps).sum(axis=0)
        counts.append(per_unit.reshape(batch, -1).sum(axis=0))
    return {
        "output_spikes": output[:n_samples],
        "layer_spikes": layer_spikes,
        "unit_spike_count": np.concatenate(counts).astype(float),
    }
