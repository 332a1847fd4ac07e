"""NetworkSpec → Brian2 objects. The only module that creates Brian2 objects.

Layout for speed: the network is replicated ``batch_size`` times inside each
``NeuronGroup`` (neuron ``k`` of sample ``s`` has index ``s * size + k``); every pathway is a
:class:`brainconv.pathways.Pathway` (a ``brian2.Synapses``) that serves all copies, and successive batches of samples are fed *in time* within one run: a 2-D
``TimedArray`` holds each batch's input currents, and a ``run_regularly`` at each batch boundary
loads them and resets the membrane potentials. One compiled binary thus runs a whole test set.
Inputs that change from step to step (frames) put one row per batch and step into the first
layer's ``TimedArray``, which a ``run_regularly`` on the step clock loads every step.

Schedule: one timestep is one pass through all layers (Think Fast eq. 4). Brian2's default
order (all groups, all thresholds, all synapses, all resets) would deliver a spike to the next
layer one ``dt`` late, so layer ``l``'s thresholder is moved into the ``synapses`` slot after the
pathway that feeds it: groups → threshold 1 → synapses 1→2 → threshold 2 → ... → resets.
Within the slot, layer ``l`` runs at orders ``4l - 2`` (pathway in), ``4l - 1`` (the model's
``integrate`` code, if any), ``4l`` (threshold), ``4l + 1`` (reset, which computes payloads)
and ``4l + 2`` (the ensemble spike meter).

Continuous-time models (``lif_rc``; ``time_base == "continuous"``) run on a clock of ``dt``
ms, and the pathway into such a layer has a synapse model (``LayerSpec.synapse``): its filter
state joins the layer's equations, its ``update`` code runs in the ``integrate`` slot before
the model's own code, and the weights are charges in seconds. A ``readout`` output layer does
not spike: its ``y`` is recorded every step by a StateMonitor. A CuBa-LIF layer
(``input_after_reset``) takes its pathway at order ``4l + 2``, after its own threshold and reset:
a spike found in step ``n`` acts on it from ``t_n + dt`` on (:mod:`brainconv.equations.cuba_lif`).

Ensembles count member spikes, not events: a one-neuron "meter" per layer sums the ``count``
of every event through a Synapses and is read by a StateMonitor each step; each unit's total is
its ``total_spikes`` variable. The monitors are read back by :mod:`brainconv.devices.collect`.

What depends on the backend comes from the :class:`brainconv.devices.Device` passed to
:func:`build_network` and :func:`layer_values`: pathways served by weight rows, one
``Synapses`` entry per ANN weight (``direct_pathways``), the branchless thresholder template and
each layer's threshold and reset fused into one code object (``branchless_thresholds``,
:mod:`brainconv.thresholds`) and the compiled progress report (``progress_report``).
"""

import functools
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from .equations import resolve_model
from .errors import SimulationError, brian2_cause
from .spec import (TIMESTEP_MS, additive_target, pathway_code, pathway_synapse, pathway_unit,
                   window_offsets)

__all__ = ["BATCH_CLOCK_SHRINK", "BuiltNetwork", "PAD_CURRENT", "Recording",
           "branchless_code_object", "build_network", "connections", "layer_values",
           "window_namespace"]


@dataclass
class BuiltNetwork:
    """Handles to the Brian2 objects of one built network."""

    network: object
    currents: list  # TimedArray per layer: (n_batches, batch_size * size) constant currents
    # (the first layer's (n_batches * steps, batch_size * size) for per-step inputs)
    groups: list
    synapses: list  # synapses[l - 1] feeds groups[l]
    output_monitor: object  # SpikeMonitor of the output layer (records i, t)
    count_monitors: list  # SpikeMonitor(record=False) per hidden layer, for counts
    rate_monitors: list  # per layer: PopulationRateMonitor, or StateMonitor of the meter
    batch_size: int
    n_batches: int
    steps: int
    dt_ms: float = TIMESTEP_MS
    readout_monitor: object = None  # StateMonitor of y of a non-spiking output layer
    train_monitors: dict = None  # layer index -> SpikeMonitor of the recorded batch copies
    recording: "Recording" = None
    checked_state: list = None  # per layer: the state variables the NaN watch reads

    @property
    def duration(self):
        """Total simulated time, as a Brian2 quantity."""
        import brian2

        return self.n_batches * self.steps * self.dt_ms * brian2.ms


@dataclass(frozen=True)
class Recording:
    """Which spike trains a compiled network records: ``layers`` (indices) of the first
    ``copies`` batch copies, over every batch (:func:`brainconv.simulation.plan_recording` puts
    the chosen samples there). Part of the compiled layout."""

    layers: tuple
    copies: int


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


#: Constant current of the padding samples of the last batch: NaN compares false with every
#: threshold, so padding never spikes, in any model (an ION member fires at any finite input).
PAD_CURRENT = np.nan


def layer_values(spec, currents, batch_size, device=None, quantities=True, n_batches=None):
    """The numbers a built network needs, keyed by what they set.

    Parameters
    ----------
    spec : NetworkSpec
    currents : ndarray, shape (n_samples, size of layer 1) or (n_samples, steps, size)
        Input currents ``x @ W0 + b0``, constant or one per step.
    batch_size : int
    device : Device, optional
        The backend the values go to: a pathway served by weight rows (:meth:`Device.is_direct
        <brainconv.devices.Device.is_direct>`) stores its weights once. Default: none does.
    quantities : bool
        False: weights and parameters with a unit are plain numbers (weights in their
        :func:`pathway_unit`, parameters in SI units), and Brian2 is not imported.
    n_batches : int, optional
        Batches to fill (default just enough for ``currents``); the rest is padding.

    Returns
    -------
    dict
        ``("current", l)``: (n_batches, batch_size * size) constant current of layer ``l`` for
        each batch (input currents for ``l = 0``, the bias otherwise; padding samples get
        :data:`PAD_CURRENT` so that they never spike); per-step input currents as
        (n_batches * steps, batch_size * size), the steps of batch ``b`` in rows ``b * steps``
        on; ``("weights", l)``: the weights into
        layer ``l >= 1``, replicated per batch copy for Brian2's ``Synapses`` (a Brian2
        quantity, e.g. charges in seconds, for a pathway into a continuous-time model; plain
        numbers otherwise); ``("parameter", l, name)``: a value Brian2 sets as a variable of
        layer ``l``'s group (:func:`group_parameters`), so that a compiled project runs any
        threshold and parameter values without being compiled again.
    """
    n_samples = len(currents)
    n_batches = n_batches or -(-n_samples // batch_size)
    values = {}
    for index, layer in enumerate(spec.layers):
        frames = currents.shape[1] if index == 0 and currents.ndim == 3 else 1
        per_sample = np.full((n_batches * batch_size, frames, layer.size), PAD_CURRENT)
        per_sample[:n_samples] = (currents.reshape(n_samples, frames, layer.size)
                                  if index == 0 else layer.bias)
        values[("current", index)] = per_sample.reshape(
            n_batches, batch_size, frames, layer.size).transpose(0, 2, 1, 3).reshape(
            n_batches * frames, batch_size * layer.size)
        if index > 0:
            weights = connections(layer.weights)[2]
            if device is None or not device.is_direct(spec, index):
                weights = np.tile(weights, batch_size)
            unit = pathway_unit(spec, index)
            if unit and quantities:
                import brian2

                weights = weights * getattr(brian2, unit)
            values[("weights", index)] = weights
        for name, value in group_parameters(spec, index, quantities).items():
            values[("parameter", index, name)] = value
    return values


def group_parameters(spec, index, quantities=True):
    """The values Brian2 sets as variables of layer ``index``'s group.

    The threshold ``theta`` (where the model declares it), the model's parameters other than
    the structural ones, and a filtered pathway's synapse parameters: SI floats, or Brian2
    quantities (``quantities=True``).
    """
    layer = spec.layers[index]
    model = resolve_model(layer.model, layer.parameters)
    values = {"theta": layer.threshold} if declares(model, "theta") else {}
    converters = {}
    for name, value in model.runtime_parameters(dict(layer.parameters)).items():
        values[name], converters[name] = value, model
    synapse, synapse_values = pathway_synapse(spec, index)
    if index > 0 and model.time_base == "continuous":  # the layer carries its filter
        for name, value in dict(synapse_values).items():
            values[name], converters[name] = value, synapse
    if quantities:
        for name, owner in converters.items():
            values[name] = owner.brian2_values({name: values[name]})[name]
    return values


#: Per-neuron count of samples that ended with a NaN (or infinite) state: a NaN potential never
#: spikes, so a layer would fall silent without a word (:func:`nan_check`).
NAN_COUNTER = "brainconv_nan"


def clear_code(spec, model, index):
    """The code that puts layer ``index`` back to rest before each sample (its model's
    ``clear``, and its synapse filter's where the layer carries one)."""
    synapse, _ = pathway_synapse(spec, index)
    filtered = index > 0 and model.time_base == "continuous"
    return model.clear + ("\n" + synapse.clear if filtered else "")


def checked_state(group, clear):
    """The floating-point variables the ``clear`` code resets: the state of one sample."""
    names = [line.split("=")[0].strip() for line in clear.splitlines() if "=" in line]
    return tuple(name for name in dict.fromkeys(names) if name != "I"
                 and name in group.variables
                 and np.dtype(group.variables[name].dtype).kind == "f")


def nan_check(group, clear):
    """Code run before each batch is cleared: count the neurons whose state ended the last
    batch NaN or infinite, except padding copies (whose current is NaN on purpose).

    ``abs(x) < largest`` (the largest finite value of the float type being built) is false
    for NaN and infinities only; sympy would simplify ``x == x``."""
    import brian2

    variables = checked_state(group, clear)
    if not variables:
        return ""
    largest = float(np.finfo(brian2.prefs.core.default_float_dtype).max)
    for name in variables:  # a bound in the variable's own unit
        group.namespace[f"{NAN_COUNTER}_{name}"] = brian2.Quantity(
            largest, dim=group.variables[name].dim)
    group.namespace[f"{NAN_COUNTER}_largest"] = largest
    bad = " + ".join(f"(1 - int(abs({name}) < {NAN_COUNTER}_{name}))" for name in variables)
    return f"{NAN_COUNTER} += int({bad} > 0) * int(abs(I) < {NAN_COUNTER}_largest)\n"


def placeholder(value):
    """1 in the unit and type of ``value``: what a compiled project is built with for a
    parameter whose real value arrives as a run_arg, so that its code does not depend on it."""
    if hasattr(value, "dim"):
        import brian2

        return brian2.Quantity(1.0, dim=value.dim)
    return type(value)(1)


def declares(model, variable):
    """Whether ``model``'s equations declare ``variable`` (``name : unit`` or ``dname/dt``)."""
    return re.search(rf"^\s*(d{variable}\s*/\s*dt\s*=.*|{variable}\s*(=.*)?):",
                     model.equations, re.MULTILINE) is not None


def window_namespace(model, prefix, offset, dt):
    """Brian2 namespace of a windowed layer: its padded per-step TimedArrays and window start.

    Each table ``name -> (values, pad)`` of ``model.tables`` becomes ``TimedArray([pad,
    *values, pad], dt)`` called ``{prefix}_{name}``; Brian2 clamps TimedArray indices to both
    ends, so ``name(t - t0 - window_start + dt)`` is ``values[k]`` in step ``k`` of the window
    and ``pad`` before and after it. ``window_start`` is ``offset * dt``.
    """
    import brian2

    namespace = {"window_start": offset * dt}
    for name, (values, pad) in model.tables.items():
        padded = np.concatenate([[pad], np.asarray(values, dtype=float), [pad]])
        namespace[name] = brian2.TimedArray(padded, dt=dt, name=f"{prefix}_{name}")
    return namespace


#: Relative amount by which the batch clock's dt is shorter than steps * dt (see build_network).
BATCH_CLOCK_SHRINK = 4e-15


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


def build_network(spec, steps, batch_size, n_batches, values, dt_ms=None, recording=None,
                  device=None):
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
    dt_ms : float, optional
        Simulation step in ms (default :data:`TIMESTEP_MS`); only continuous-time models
        depend on it.
    recording : Recording, optional
        Spike trains to record (default none).
    device : Device, optional
        The backend the network is built for (the current Brian2 device must be its own);
        its ``direct_pathways``, ``branchless_thresholds`` and ``progress_report`` shape the
        network. Default: none of them, as on Brian2's runtime device.

    Returns
    -------
    BuiltNetwork
    """
    import brian2

    # Padding samples hold NaN on purpose (PAD_CURRENT); Brian2 would warn about them.
    brian2.BrianLogger.suppress_name("invalid_values")
    dt_ms = TIMESTEP_MS if dt_ms is None else float(dt_ms)
    dt = dt_ms * brian2.ms
    period = steps * dt
    # Named "defaultclock": brian2cuda's synapse template refers to that clock by name.
    step_clock = _FixedHashClock(dt, name="defaultclock", rank=1)
    # The batch clock ticks a few ulps *before* the step clock's first step of each batch.
    # Both compute t = timestep * dt, so k * period and (k * steps) * dt may differ by an ulp;
    # Brian2's standalone scheduler treats clocks as simultaneous only within 1e-14 s, so from
    # t = 64 s on (ulp 1.4e-14 s) a batch tick one ulp late ran after the batch's first step:
    # that step used the previous sample's state and current (found with 10,000 samples x
    # 200 ms). Earlier (or simultaneous, 'start' slot) is always right; BATCH_CLOCK_SHRINK
    # stays within set_interval's relative 1e-14, so the run still ends after n_batches ticks.
    batch_clock = _FixedHashClock(period * (1 - BATCH_CLOCK_SHRINK), name="batch_clock", rank=2)
    groups, synapses, currents, count_monitors, rate_monitors = [], [], [], [], []
    meter_parts = []
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    seeds = {int({**model.parameters, **dict(layer.parameters)}["seed"])
             for layer, model in zip(spec.layers, models) if "seed" in model.structural}
    if seeds:
        # rand() (Poisson input) is seeded globally: the layer's seed, fixed for the compiled
        # project (it is in the layout). Draws still differ from numpy's.
        brian2.seed(min(seeds))
    # One row of input currents per batch and step (layer_values): per-step inputs.
    per_step = len(values[("current", 0)]) == n_batches * steps > n_batches
    for index, (layer, model) in enumerate(zip(spec.layers, models)):
        try:
            group, current, pathway, extras = _build_layer(
                spec, models, index, groups[-1] if groups else None, values, batch_size,
                step_clock, batch_clock, period, device, per_step=index == 0 and per_step)
            if model.spike_count:
                monitor, *parts = _build_meter(group, model, index, step_clock, device)
                meter_parts.extend(parts)
        except Exception as exc:
            raise SimulationError(
                f"Brian2 could not build layer {layer.name!r} (model {layer.model!r}, "
                f"{layer.size} neurons x {batch_size} samples): {brian2_cause(exc)}"
            ) from exc
        groups.append(group)
        currents.append(current)
        if pathway is not None:
            synapses.append(pathway)
        meter_parts.extend(extras)
        if model.spike_count:
            rate_monitors.append(monitor)
        elif model.spiking:
            rate_monitors.append(brian2.PopulationRateMonitor(group, name=f"{layer.name}_rate"))
        if index < len(spec.layers) - 1 and not model.spike_count:
            count_monitors.append(
                brian2.SpikeMonitor(group, record=False, name=f"{layer.name}_counts")
            )
    readout_monitor = None
    if models[-1].spiking:
        payload = models[-1].payload
        output_monitor = brian2.SpikeMonitor(groups[-1], variables=[payload] if payload else [],
                                             name="output_spikes")
    else:  # non-spiking readout: its value every step
        output_monitor = readout_monitor = brian2.StateMonitor(
            groups[-1], "y", record=True, clock=step_clock, name="output_readout")
    train_monitors = {}
    for index in (recording.layers if recording else ()):
        layer, payload = spec.layers[index], models[index].payload
        train_monitors[index] = brian2.SpikeMonitor(
            groups[index][:recording.copies * layer.size],
            variables=[payload] if payload else [], name=f"{layer.name}_train")
    # Monitors read spikes after the last thresholder has run.
    for monitor in rate_monitors + count_monitors + [output_monitor, *train_monitors.values()]:
        monitor.when = "resets"
    if device is not None and device.progress_report:
        meter_parts.append(_build_progress(batch_clock, n_batches, batch_size))
    network = brian2.Network(*groups, *synapses, *count_monitors, *rate_monitors, output_monitor,
                             *meter_parts, *train_monitors.values())
    checked = [checked_state(group, clear_code(spec, model, index))
               for index, (group, model) in enumerate(zip(groups, models))]
    return BuiltNetwork(network, currents, groups, synapses, output_monitor,
                        count_monitors, rate_monitors, batch_size, n_batches, steps, dt_ms,
                        readout_monitor, train_monitors, recording, checked)


def _build_layer(spec, models, index, below, values, batch_size, step_clock, batch_clock,
                 period, device, per_step=False):
    """One layer's NeuronGroup, its batch-current TimedArray (one row per step where
    ``per_step``) and the Synapses feeding it."""
    import brian2

    layer, model = spec.layers[index], models[index]
    # A continuous-time layer fed by a pathway carries its synapse model's filter.
    synapse, _ = pathway_synapse(spec, index)
    filtered = below is not None and model.time_base == "continuous"
    equations = (model.equations + (synapse.equations if filtered else "")
                 + f"\n{NAN_COUNTER} : integer")
    group = brian2.NeuronGroup(
        batch_size * layer.size, equations, threshold=model.threshold,
        reset=model.reset, method=model.method, clock=step_clock, name=layer.name,
        refractory=False if model.refractory is None else model.refractory,
        codeobj_class=(branchless_code_object() if device is not None
                       and device.branchless_thresholds else None),
    )
    for key, value in values.items():  # threshold and parameters (group_parameters)
        if key[:2] == ("parameter", index):
            setattr(group, key[2], value)
    current = brian2.TimedArray(values[("current", index)],
                                dt=step_clock.dt if per_step else period,
                                name=f"{layer.name}_current")
    group.namespace["batch_current"] = current
    if model.window:  # few-spike layers: per-step tables, active after the layers below
        group.namespace.update(window_namespace(model, layer.name,
                                                window_offsets(models)[index], step_clock.dt))
    clear = clear_code(spec, model, index)
    load = "I = batch_current(t, i)\n"
    group.run_regularly(nan_check(group, clear) + ("" if per_step else load) + clear,
                        clock=batch_clock, when="start", name=f"{layer.name}_new_batch")
    if per_step:  # after the batch's check and clear: the batch clock ticks first
        group.run_regularly(load, clock=step_clock, when="start", name=f"{layer.name}_frame")
    # Same-timestep delivery, all in the "synapses" slot (orders: module docstring). The
    # synapse filter turns the step's arrivals into I_syn before the neuron integrates.
    integrate = "\n".join(code for code in (synapse.update if filtered else None,
                                            model.integrate) if code)
    if integrate:
        group.run_regularly(integrate, when="synapses", order=4 * index - 1,
                            name=f"{layer.name}_integrate")
    if model.spiking:
        group.thresholder["spike"].when = "synapses"
        group.thresholder["spike"].order = 4 * index
        group.resetter["spike"].when = "synapses"
        group.resetter["spike"].order = 4 * index + 1
        if device is not None and device.branchless_thresholds and model.refractory is None:
            from .thresholds import fuse_threshold_reset

            # one code object, at the thresholder's place; a first layer's state update joins
            # it (nothing reaches that layer's state between the two: no pathway, no integrate)
            fuse_threshold_reset(group, with_update=below is None and not integrate
                                 and bool(group.equations.diff_eq_names))
    if below is None:
        return group, current, None, []
    weight_unit, on_pre = pathway_code(spec, models, index)
    # A CuBa layer takes the step's spikes after its own threshold and reset: they act from
    # the next grid point on (equations/cuba_lif.py).
    order = 4 * index + 2 if model.input_after_reset else 4 * index - 2
    from .pathways import Pathway

    pre, post, _ = connections(layer.weights)
    pathway = Pathway(
        below, group, pre, post, spec.layers[index - 1].size, layer.size, batch_size,
        weight_unit, on_pre,
        rows=bool(device is not None and device.direct_pathways and additive_target(on_pre)),
        dense=not scipy.sparse.issparse(layer.weights), clock=step_clock, when="synapses",
        order=order, name=f"{layer.name}_synapses")
    pathway.w = values[("weights", index)]
    return group, current, pathway, []


@functools.cache
def branchless_code_object():
    """``CPPStandaloneCodeObject`` whose threshold loop has no branch per neuron.

    Its templater is Brian2's, derived with ``brainconv/templates`` first, where
    ``threshold.cpp`` is replaced (see that file): a layer's thresholder writes every neuron's
    index into the next free spike slot and adds the condition to the count. Brian2's ``if``
    per neuron is mispredicted at the few-percent firing of converted networks. Layers without
    a refractory period use the same loop in ``threshold_reset.cpp``, their reset included
    (:mod:`brainconv.thresholds`). All other code objects of the group come from Brian2's own
    templates.
    """
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    from .pathways import brainconv_code_object

    return brainconv_code_object(CPPStandaloneCodeObject)


#: C++ of the progress report: the binary prints samples done and an ETA to stderr at most once
#: a second, when the environment variable BRAINCONV_PROGRESS holds the number of samples (so
#: the compiled project does not depend on whether progress is shown). Where several binaries
#: share the samples, the one that reports counts ``BRAINCONV_PROCESSES`` times its own batches.
_PROGRESS_CPP = r"""
double brainconv_progress(double batch, double n_batches, double batch_size)
{
    static const char* total = std::getenv("BRAINCONV_PROGRESS");
    if (total == NULL) return 0.0;
    static const double n_samples = std::atof(total);
    static const char* shares = std::getenv("BRAINCONV_PROCESSES");
    if (shares != NULL) batch_size *= std::atof(shares);
    static const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    static double last = -1.0;
    const double elapsed = std::chrono::duration<double>(
        std::chrono::steady_clock::now() - start).count();
    if (batch > 0 && elapsed - last < 1.0) return 0.0;
    last = elapsed;
    const double done = batch * batch_size < n_samples ? batch * batch_size : n_samples;
    const double to_go = batch > 0 ? elapsed / batch * (n_batches - batch) : 0.0;
    if (batch > 0)
        std::fprintf(stderr, "\r  %.0f/%.0f samples simulated, %.0f s, about %.0f s to go   ",
                     done, n_samples, elapsed, to_go);
    else
        std::fprintf(stderr, "  simulating %.0f samples", n_samples);
    std::fflush(stderr);
    return 0.0;
}
"""


def _build_progress(batch_clock, n_batches, batch_size):
    """A one-neuron group that calls the C++ progress report once per batch (standalone only)."""
    import brian2

    report = brian2.Function(lambda *args: 0.0, arg_units=[1, 1, 1], return_unit=1,
                             stateless=False)
    report.implementations.add_implementation(
        "cpp", code=_PROGRESS_CPP, name="brainconv_progress",
        compiler_kwds={"headers": ["<chrono>", "<cstdio>", "<cstdlib>"]})
    group = brian2.NeuronGroup(1, "reported : 1", clock=batch_clock, name="progress",
                               namespace={"brainconv_progress": report,
                                          "batch_period": batch_clock.dt})
    group.run_regularly(
        f"reported = brainconv_progress(t / batch_period, {n_batches}, {batch_size})",
        clock=batch_clock, when="start", order=-1, name="progress_report")
    return group


def _build_meter(group, model, index, step_clock, device=None):
    """A one-neuron meter summing the member spikes of ``group`` each step, and its monitor.

    The tally is a pathway of weight 1 from every neuron into the meter with the member count
    as payload: weight rows (no spike queue) where the backend has direct pathways.
    Returns ``(monitor, meter, tally)``; the monitor comes first (it is the layer's rate
    monitor).
    """
    import brian2

    from .pathways import Pathway

    meter = brian2.NeuronGroup(1, "spikes : 1", clock=step_clock, name=f"{group.name}_meter")
    meter.run_regularly("spikes = 0", when="start", name=f"{group.name}_meter_clear")
    n = len(group)
    tally = Pathway(group, meter, np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.int64), n,
                    1, 1, "1", f"spikes_post += w * {model.spike_count}_pre",
                    rows=bool(device is not None and device.direct_pathways), dense=True,
                    clock=step_clock, when="synapses", order=4 * index + 2,
                    name=f"{group.name}_tally")
    tally.w = 1.0
    monitor = brian2.StateMonitor(meter, "spikes", record=0, clock=step_clock,
                                  name=f"{group.name}_member_spikes")
    return [monitor, meter, tally]
