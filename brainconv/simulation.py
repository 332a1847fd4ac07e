"""Run a :class:`NetworkSpec` on a backend and return an ``xarray.Dataset``.

The backends ("devices": Brian2's runtime mode, compiled C++, CUDA and the numpy reference)
live in :mod:`brainconv.devices`; this module checks a run once, picks the backend, runs it
(samples to record on the first batch copies, :func:`plan_recording`), restores the caller's
sample order and builds the results dataset (:func:`brainconv.results.make_dataset`).
"""

import dataclasses

import numpy as np

from .build import Recording
from .devices import (BYTES_PER_NEURON, BYTES_PER_SYNAPSE, CPU_SYNAPSE_BUDGET,
                      DEFAULT_BATCH_SIZE, DEVICES, PROFILE, available_cpus,
                      brian2_version, float_prefs, get_device, plan_processes)
from .devices.cpp_standalone import StandaloneProject, cache_root
from .devices.cuda_standalone import GPU_SYNAPSE_BUDGET
from .devices.warm import MANIFEST_NAME
from .errors import ParameterError
from .results import BYTES_PER_OUTPUT_ENTRY, add_spike_trains, check_memory, make_dataset
from .spec import (check_dt, check_frames, check_record, check_steps, check_steps_cover,
                   time_base)

__all__ = ["BYTES_PER_NEURON", "BYTES_PER_OUTPUT_ENTRY", "BYTES_PER_SYNAPSE",
           "CPU_SYNAPSE_BUDGET", "DEFAULT_BATCH_SIZE", "DEVICES", "GPU_SYNAPSE_BUDGET",
           "MANIFEST_NAME", "PROFILE", "StandaloneProject", "available_cpus", "brian2_version",
           "cache_root", "check_device", "check_memory", "check_record", "choose_batch_size",
           "plan_processes", "plan_recording", "run_network", "simulate"]


def check_device(device):
    """Raise unless ``device`` is a known backend that can run on this machine.

    Raises
    ------
    ParameterError
        For an unknown device name (the message lists the known ones).
    SimulationError
        Where the backend is unavailable, e.g. ``cuda_standalone`` without brian2cuda or
        without an NVIDIA GPU and driver.
    """
    get_device(device).check()


def choose_batch_size(spec, n_samples, device="cpp_standalone", memory_bytes=None):
    """Samples to replicate per group: cache-sized on a CPU, as many as fit on a GPU.

    Parameters
    ----------
    spec : NetworkSpec
    n_samples : int
    device : str
    memory_bytes : int, optional
        Memory to fill; default the backend's (:meth:`brainconv.devices.Device.memory_bytes`:
        a quarter of the GPU's memory for ``cuda_standalone``, 2 GiB otherwise).

    Returns
    -------
    int
        On a CPU ``DEFAULT_BATCH_SIZE``, or fewer when a batch would exceed
        ``CPU_SYNAPSE_BUDGET`` replicated synapses (direct pathways, which store their
        weights once, do not count) or the memory; on a GPU the largest batch whose synapses
        and neurons fit into ``memory_bytes`` and within ``GPU_SYNAPSE_BUDGET`` synapses;
        never more than ``n_samples`` and never less than 1.
    """
    return get_device(device).choose_batch_size(spec, n_samples, memory_bytes)


def plan_recording(samples, n_samples, batch_size):
    """Where the recorded samples run: the first batch copies of successive batches.

    Only the first ``copies`` copies of each layer are monitored, so a run of 10,000 samples
    records the chosen few, not every spike. Returns ``order`` (the sample at each position of
    the run), the positions of ``samples`` and ``copies``.
    """
    n_batches = -(-n_samples // batch_size)
    candidates = [batch * batch_size + copy for copy in range(batch_size)
                  for batch in range(n_batches) if batch * batch_size + copy < n_samples]
    positions = np.array(candidates[:len(samples)], dtype=np.int64)
    copies = int(positions.max() % batch_size) + 1
    order = np.full(n_samples, -1, dtype=np.int64)
    order[positions] = samples
    order[order < 0] = np.setdiff1d(np.arange(n_samples), samples)
    return order, positions, copies


def _restore_order(raw, order, positions, samples, layers):
    """Results in the caller's sample order; spike trains by sample index."""
    restored = dataclasses.replace(raw, recorded_samples=samples, recorded_layers=layers)
    for key in ("output_spikes", "readout"):
        value = getattr(raw, key)
        if value is not None:
            reordered = np.empty_like(value)
            reordered[order] = value
            setattr(restored, key, reordered)
    trains = raw.spike_trains
    sample_at = np.full(len(order), -1, dtype=np.int64)  # position -> recorded sample, or -1
    sample_at[positions] = samples
    sample = sample_at[trains["position"]]
    keep = sample >= 0  # the monitored copies also run samples nobody asked for
    restored.spike_trains = {
        "sample": sample[keep],
        **{key: trains[key][keep] for key in ("layer", "neuron", "step", "weight")}}
    return restored


@dataclasses.dataclass(frozen=True)
class _Plan:
    """A checked run: the backend and everything :func:`_execute` needs, decided once."""

    backend: object
    currents: np.ndarray
    steps: int
    dt_ms: float
    batch_size: int
    samples: np.ndarray
    layers: tuple
    precision: str = "float64"


def _plan(spec, x, steps, device, batch_size, dt, record, record_layers, processes,
          precision="float64"):
    """Every check of a run, once, before anything is built: the backend and its processes,
    steps and dt, the inputs, the memory for the results, the batch and the recording."""
    float_prefs(precision)  # checks the name
    backend = get_device(device)
    backend.check()
    backend.check_network(spec)
    steps, dt_ms = check_steps(steps), check_dt(spec, dt)
    check_steps_cover(spec, steps)
    if np.ndim(x) == 3:
        check_frames(spec, np.shape(x), steps, backend)
    currents = spec.input_currents(x)  # validates the input before anything is built
    samples, layers = check_record(spec, record, record_layers, len(currents))
    # per-step currents: a padded copy and a copy in batch order (layer_values)
    check_memory(spec, len(currents), steps,
                 input_bytes=2 * currents.nbytes if currents.ndim == 3 else 0)
    if batch_size is None:
        batch_size = backend.choose_batch_size(spec, len(currents))
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    plan_processes(len(currents), int(batch_size), backend, processes)  # checks ``processes``
    return _Plan(backend, currents, steps, dt_ms, int(batch_size), samples, layers, precision)


def _execute(spec, x, plan, directory, notify, progress, processes):
    """Run a checked plan on its backend; results in the caller's sample order."""
    options = dict(dt_ms=plan.dt_ms, directory=directory, notify=notify, progress=progress,
                   processes=processes, precision=plan.precision)
    samples, layers = plan.samples, plan.layers
    if not plan.backend.batched:  # the inputs in the caller's order; records the samples itself
        return plan.backend.run(spec, x, plan.steps, plan.batch_size, **options,
                                recording=(samples, layers) if samples is not None else None)
    currents, batch_size = plan.currents, min(plan.batch_size, len(plan.currents))
    order, recording = None, None
    if samples is not None:
        order, positions, copies = plan_recording(samples, len(currents), batch_size)
        recording = Recording(layers, copies)
        currents = currents[order]
    raw = plan.backend.run(spec, currents, plan.steps, batch_size, recording=recording, **options)
    return raw if order is None else _restore_order(raw, order, positions, samples, layers)


def run_network(spec, x, steps, device="cpp_standalone", batch_size=None,
                directory=None, dt=None, notify=None, progress=False, record=None,
                record_layers=None, processes=None, precision="float64"):
    """Simulate ``spec`` on inputs ``x``; return plain numpy results.

    ``dt`` is the step in ms of a continuous-time network (default 1 ms; see
    :func:`brainconv.spec.check_dt`); the presentation time per sample is ``steps * dt``.
    ``notify(message)`` is told about compiling and cache repairs; ``progress=True`` makes a
    standalone binary print samples done and an ETA to stderr as it runs. ``record`` (sample
    indices) and ``record_layers`` (layer names, default every spiking layer) choose full spike
    trains to record (:func:`plan_recording`). ``processes`` caps the ``cpp_standalone``
    binaries run side by side (:func:`plan_processes`; default one per CPU). ``precision``
    (``"float64"`` or ``"float32"``) is the floating-point type of the state, weights and
    inputs on every device (:func:`brainconv.devices.float_prefs`).

    Returns
    -------
    RawResults
        ``output_spikes`` (sample, time, class), ``layer_spikes`` (layer, time),
        ``unit_spike_count`` (neuron), as :func:`brainconv.reference.simulate_reference`;
        ``readout`` (sample, time, class) for a network with a non-spiking readout;
        ``spike_trains`` (flat arrays ``sample``, ``layer``, ``neuron``, ``step``, ``weight``)
        and ``recorded_samples``, ``recorded_layers`` when recording. Also a dict of the
        present ones (``raw["output_spikes"]``).
    """
    plan = _plan(spec, x, steps, device, batch_size, dt, record, record_layers, processes,
                 precision)
    return _execute(spec, x, plan, directory, notify, progress, processes)


def simulate(spec, x, labels, steps, device="cpp_standalone", batch_size=None,
             directory=None, attrs=None, dt=None, window=None, notify=None, progress=False,
             record=None, record_layers=None, processes=None, precision="float64"):
    """Simulate ``spec`` on ``x`` and return the results as an ``xarray.Dataset``.

    Parameters
    ----------
    spec : NetworkSpec
    x : ndarray, shape (n_samples, n_inputs)
    labels : ndarray, shape (n_samples,)
    steps : int
        Timesteps per sample.
    device : str or brainconv.devices.Device
        A backend of :data:`DEVICES` (:mod:`brainconv.devices`), by name or the object.
    batch_size : int or None
        Samples simulated side by side (see :mod:`brainconv.build`); None chooses it from the
        synapse count and the device's memory (:func:`choose_batch_size`).
    directory : str, optional
        Standalone project directory (default: a cache directory per layout).
    attrs : dict, optional
        Extra global attributes (str or number), e.g. dataset name and seed.
    dt : float or brian2 quantity, optional
        Step of a continuous-time network in ms (default 1 ms); ``time`` is then in ms.
    window : (float, float), optional
        Classification window ``(c0, c1)`` in ms of a network with a non-spiking readout
        (Hunsberger & Eliasmith's Table 4); default the whole presentation.
    notify : callable, optional
        ``notify(message)`` is told when a standalone project is compiled or a damaged cached
        one is rebuilt.
    progress : bool
        Let a standalone binary print samples done and an ETA to stderr while it runs
        (checked once per batch of samples, so it costs nothing measurable).
    record : sequence of int, optional
        Samples whose full spike trains are recorded (default none: large runs stay cheap;
        only these samples' spikes are stored, whatever the run's size).
    record_layers : sequence of str, optional
        Layers to record (default every spiking layer).
    processes : int, optional
        ``cpp_standalone`` binaries run side by side, each on its share of the samples
        (:func:`plan_processes`; default one per CPU).
    precision : {"float64", "float32"}
        Floating-point type of the simulation (float64: Brian2's default and the exact
        cross-checks; float32: faster, checked against the float32 numpy reference).
    """
    labels = np.asarray(labels)
    if labels.shape != (len(np.asarray(x)),):
        raise ParameterError(
            f"labels have shape {labels.shape}, expected ({len(np.asarray(x))},): one label per "
            "input row"
        )
    plan = _plan(spec, x, steps, device, batch_size, dt, record, record_layers, processes,
                 precision)
    continuous = time_base(spec) == "continuous"
    if window is not None:
        if "readout" not in [layer.model for layer in spec.layers[-1:]]:
            raise ParameterError("a classification window applies to a network with a "
                                 "non-spiking readout (convert(..., readout='filtered'))")
        from .equations.readout import check_window

        window = check_window(window, plan.steps * plan.dt_ms)  # before the simulation
    raw = _execute(spec, x, plan, directory, notify, progress, processes)
    from .provenance import provenance_attrs

    all_attrs = {
        "brian2_version": brian2_version(),
        "device": plan.backend.name,
        **provenance_attrs(spec),  # model, parameters per layer, normalization, threshold
        **({"synapse": ",".join(layer.synapse for layer in spec.layers[1:]) or "none"}
           if continuous else {}),
        "dt": f"{plan.dt_ms} ms",
        "dt_ms": plan.dt_ms,
        "batch_size": plan.batch_size,
        "precision": plan.precision,
        **(attrs or {}),
    }
    ds = make_dataset(raw.output_spikes, labels, raw.layer_spikes, raw.unit_spike_count,
                      [layer.name for layer in spec.layers], list(spec.layer_sizes), all_attrs,
                      dt_ms=plan.dt_ms if continuous else None, readout=raw.readout,
                      window=window)
    if raw.spike_trains is not None:
        ds = add_spike_trains(ds, raw.spike_trains, raw.recorded_samples, raw.recorded_layers)
    return ds
