"""Reading a finished run's monitors back into :class:`~brainconv.devices.results.RawResults`.

The variables of a network built by :func:`brainconv.build.build_network` are named by
:func:`result_variables`; :func:`collect_results` turns their stored values, read from the
Brian2 objects in this process (:func:`collect`) or from a standalone project's result files in
another (:mod:`brainconv.devices.warm`), into the results of the run, and
:func:`merge_results` joins the results of shares of one run that ran side by side.
"""

import numpy as np

from ..build import NAN_COUNTER
from ..equations import resolve_model
from ..errors import SimulationError
from .results import RawResults

__all__ = ["collect", "collect_results", "merge_results", "result_variables", "run_layout"]


def result_variables(built, spec):
    """The Brian2 variables :func:`collect_results` reads, by the names it reads them under.

    Names: ``output.i``, ``output.t`` and ``output.<payload>`` (output spikes; a spiking output
    layer), ``readout.y`` (a non-spiking output layer), and per spiking layer ``l``:
    ``layer<l>.spikes`` (an ensemble meter's member spikes per step) and
    ``layer<l>.total_spikes``, or ``layer<l>.rate`` and ``layer<l>.count``; per recorded layer
    ``train<l>.i``, ``train<l>.t`` and ``train<l>.<payload>``.

    Returns
    -------
    dict
        name -> Brian2 ``Variable`` (its values in SI units, as stored).
    """
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    last = len(spec.layers) - 1
    found = {}

    def add(prefix, owner, *names):
        for name in names:
            if name:  # None: a model without payload
                found[f"{prefix}.{name}"] = owner.variables[name]

    if built.readout_monitor is not None:
        add("readout", built.readout_monitor, "y")
    else:
        add("output", built.output_monitor, "i", "t", models[-1].payload)
    count_monitors = iter(built.count_monitors)
    for index, model in enumerate(models):
        if model.spike_count:  # meter: member spikes per step; totals in total_spikes
            add(f"layer{index}", built.rate_monitors[index], "spikes")
            add(f"layer{index}", built.groups[index], "total_spikes")
        elif model.spiking:
            counter = built.output_monitor if index == last else next(count_monitors)
            add(f"layer{index}", built.rate_monitors[index], "rate")
            add(f"layer{index}", counter, "count")
    for index, monitor in (built.train_monitors or {}).items():
        add(f"train{index}", monitor, "i", "t", models[index].payload)
    for index, group in enumerate(built.groups):  # the NaN watch (brainconv.build.nan_check)
        found[f"layer{index}.nan"] = group.variables[NAN_COUNTER]
        for name in (*built.checked_state[index], "I"):
            found[f"layer{index}.final.{name}"] = group.variables[name]
    return found


def run_layout(built):
    """The numbers besides the spec that :func:`collect_results` needs, as a JSON-able dict."""
    return {"steps": built.steps, "batch_size": built.batch_size, "n_batches": built.n_batches,
            "dt_ms": built.dt_ms, "recorded_layers": sorted(built.train_monitors or {}),
            "checked_state": [list(names) for names in built.checked_state]}


def collect(built, spec, n_samples):
    """Read the monitors of a finished run into plain numpy arrays.

    Returns
    -------
    RawResults
        Same fields and layout as :func:`brainconv.reference.simulate_reference`.
    """
    variables = result_variables(built, spec)
    return collect_results(lambda name: np.asarray(variables[name].get_value()).ravel(),
                           spec, n_samples, run_layout(built))


def collect_results(read, spec, n_samples, layout):
    """The results of a finished run, from the monitored arrays.

    Parameters
    ----------
    read : callable
        ``read(name)`` returns the values of the variable called ``name`` in
        :func:`result_variables` as stored: a flat array in SI units, a 2-D monitor's values
        time-major (from the Brian2 objects in this process, or from a standalone project's
        result files in another).
    spec : NetworkSpec
    n_samples : int
    layout : dict
        ``steps``, ``batch_size``, ``n_batches``, ``dt_ms`` and ``recorded_layers`` of the run
        (:func:`run_layout`).

    Returns
    -------
    RawResults
        Same fields and layout as :func:`brainconv.reference.simulate_reference`, plus
        ``readout`` and ``spike_trains`` (with sample slots ``position``) where the network
        has them.
    """
    steps, batch, n_batches = layout["steps"], layout["batch_size"], layout["n_batches"]
    dt_ms = layout["dt_ms"]
    _check_finite(read, spec, layout)
    n_out = spec.layers[-1].size
    shape = (n_batches * batch, steps, n_out)
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    raw = {}
    if not models[-1].spiking:
        # y[step of the run, k], k = sample in batch * n_out + class -> (sample, step, class)
        y = read("readout.y").reshape(n_batches, steps, batch, n_out)
        raw["readout"] = y.transpose(0, 2, 1, 3).reshape(shape)[:n_samples]
        output = np.zeros(shape, np.int16)
    else:
        index = read("output.i").astype(np.int64)
        step = np.rint(read("output.t") / 1e-3 / dt_ms).astype(np.int64)
        # bincount over flat indices: order-free (brian2cuda does not sort monitor output) and
        # much faster than np.add.at for millions of spikes.
        flat = np.ravel_multi_index(((step // steps) * batch + index // n_out, step % steps,
                                     index % n_out), shape)
        payload = models[-1].payload
        weights = read(f"output.{payload}") if payload else None
        output = np.bincount(flat, weights, minlength=np.prod(shape)).reshape(shape)
        if payload:  # float sums of payloads; plain spike counts are integers already
            output = np.rint(output)
        output = output.astype(np.int16)

    # Padding samples never spike (PAD_CURRENT), so whole-group counts are exact.
    layer_spikes = np.zeros((len(spec.layers), steps))
    counts = []
    for index, (layer, model) in enumerate(zip(spec.layers, models)):
        if not model.spiking:  # a readout: no spikes
            counts.append(np.zeros(layer.size))
            continue
        if model.spike_count:  # meter: member spikes per step; totals in total_spikes
            per_step = np.rint(read(f"layer{index}.spikes"))
            per_unit = read(f"layer{index}.total_spikes")
        else:
            rate_hz = read(f"layer{index}.rate")
            per_step = np.rint(rate_hz * (batch * layer.size) * dt_ms / 1000)
            per_unit = read(f"layer{index}.count")
        layer_spikes[index] = per_step.reshape(n_batches, steps).sum(axis=0)
        counts.append(per_unit.reshape(batch, -1).sum(axis=0))
    if layout["recorded_layers"]:
        raw["spike_trains"] = _collect_trains(read, spec, models, layout)
    return RawResults(output_spikes=output[:n_samples], layer_spikes=layer_spikes,
                      unit_spike_count=np.concatenate(counts).astype(float), **raw)


def _check_finite(read, spec, layout):
    """Raise SimulationError where some sample's state ended NaN or infinite in a layer.

    The NaN watch (:func:`brainconv.build.nan_check`) counted the samples of every batch but
    the last when the next one started; the last batch's final state is read here. Padding
    copies (NaN current) do not count.
    """
    for index, names in enumerate(layout.get("checked_state", [])):
        count = int(read(f"layer{index}.nan").sum())
        real = np.isfinite(read(f"layer{index}.final.I"))
        bad = np.zeros_like(real)
        for name in names:
            bad |= ~np.isfinite(read(f"layer{index}.final.{name}"))
        count += int((bad & real).sum())
        if count:
            layer = spec.layers[index]
            raise SimulationError(
                f"layer {layer.name!r} (model {layer.model!r}): its state ({', '.join(names)}) "
                f"ended NaN or infinite for {count} neuron-sample(s) (a square root of a "
                "negative number, 0/0 or an overflow in the model's equations); a NaN "
                "potential never spikes, so the results would be silently wrong. Check the "
                "model and its parameters")


def merge_results(parts, share_size):
    """One run's results from the results of its shares, run side by side.

    Parameters
    ----------
    parts : list of RawResults
        :func:`collect_results` of each share, in sample order.
    share_size : int
        Sample slots per share (batches per process times the batch size): share ``p`` ran
        the samples from ``p * share_size`` on.

    Returns
    -------
    RawResults
        As :func:`collect_results` for all samples: per-sample arrays concatenated, spike
        counts summed, recorded spikes' positions shifted to the whole run's.
    """
    merged = RawResults(
        output_spikes=np.concatenate([part.output_spikes for part in parts]),
        layer_spikes=sum(part.layer_spikes for part in parts),
        unit_spike_count=sum(part.unit_spike_count for part in parts))
    if parts[0].readout is not None:
        merged.readout = np.concatenate([part.readout for part in parts])
    if parts[0].spike_trains is not None:
        trains = [dict(part.spike_trains, position=part.spike_trains["position"]
                       + share * share_size) for share, part in enumerate(parts)]
        merged.spike_trains = {key: np.concatenate([train[key] for train in trains])
                               for key in trains[0]}
    return merged


def _collect_trains(read, spec, models, layout):
    """Recorded spikes as flat arrays: position (sample slot of the run), layer, neuron,
    step of the sample, and weight (the payload sent; 1 for a plain spike)."""
    steps = layout["steps"]
    columns = {key: [] for key in ("position", "layer", "neuron", "step", "weight")}
    for index in layout["recorded_layers"]:
        size = spec.layers[index].size
        neuron = read(f"train{index}.i").astype(np.int64)
        step = np.rint(read(f"train{index}.t") / 1e-3 / layout["dt_ms"]).astype(np.int64)
        payload = models[index].payload
        weight = (read(f"train{index}.{payload}").astype(float) if payload
                  else np.ones(len(neuron)))
        keep = weight != 0  # a payload model's zero-payload event sends nothing
        columns["position"].append(((step // steps) * layout["batch_size"]
                                    + neuron // size)[keep])
        columns["layer"].append(np.full(int(keep.sum()), index))
        columns["neuron"].append((neuron % size)[keep])
        columns["step"].append((step % steps)[keep])
        columns["weight"].append(weight[keep])
    return {key: np.concatenate(value) for key, value in columns.items()}
