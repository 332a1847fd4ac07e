"""Analysis of recorded spike trains (``simulate(..., record=[samples])``): rates, latencies,
inter-spike intervals, population rates, and their plots.

The trains are the flat ``spike_*`` variables of a results Dataset (layout in
:mod:`brainconv.results`). Times are in the units of the Dataset's ``time``: timesteps for the
grid paradigms (a spike in the step ending at ``time = k`` happened at step ``k``), ms for
continuous-time networks (the end of the step). Rates are therefore spikes per step or per ms;
:func:`firing_rates` converts ms to Hz. Counted are spikes (events), not payloads: an
accumulator event that sends 3 is one spike here (its payload is ``spike_weight``).
"""

import warnings

import numpy as np
import xarray as xr

from .errors import ParameterError

__all__ = ["firing_rates", "first_spike_latency", "interspike_intervals", "plot_latency",
           "plot_rate_histogram", "plot_raster", "population_rate"]


def _trains(ds, layer):
    """(layer index, the layer's size, its spikes' sample/neuron/step arrays) of ``layer``."""
    if "spike_sample" not in ds:
        raise ParameterError(
            "this result holds no spike trains; simulate with record=[sample indices] (and "
            "record_layers=[names]) to record them")
    names = [str(name) for name in ds.layer.values]
    if layer not in names or not ds.recorded_layer.values[names.index(layer)]:
        recorded = [name for name, r in zip(names, ds.recorded_layer.values) if r]
        raise ParameterError(f"layer {layer!r} was not recorded; recorded layers: "
                             f"{', '.join(recorded)}")
    index = names.index(layer)
    mine = ds.spike_layer.values == index
    return (index, int(ds.layer_size.values[index]), ds.spike_sample.values[mine],
            ds.spike_neuron.values[mine], ds.spike_step.values[mine])


def _time_unit(ds):
    """(seconds per time unit or None for timesteps, the unit's name)."""
    return (1e-3, "ms") if ds.time.attrs.get("units") == "ms" else (None, "timestep")


def firing_rates(ds, layer):
    """Firing rate of every neuron of ``layer`` in every recorded sample.

    Returns
    -------
    xarray.DataArray
        (recorded_sample, unit): spikes per second for continuous-time networks, spikes per
        timestep otherwise, over the whole presentation.
    """
    _, size, sample, neuron, _ = _trains(ds, layer)
    samples = ds.recorded_sample.values
    by_value = np.argsort(samples)  # recorded samples keep the caller's order
    row = by_value[np.searchsorted(samples[by_value], sample)]
    counts = np.zeros((len(samples), size))
    np.add.at(counts, (row, neuron), 1)
    seconds, unit = _time_unit(ds)
    duration = float(ds.time.values[-1]) * (seconds or 1.0)
    return xr.DataArray(counts / duration, dims=("recorded_sample", "unit"),
                        coords={"recorded_sample": samples},
                        attrs={"units": "Hz" if seconds else "spikes per timestep",
                               "layer": layer})


def first_spike_latency(ds):
    """Time of the first spike of each recorded layer in each recorded sample.

    Returns
    -------
    xarray.DataArray
        (recorded_sample, layer) in the units of ``time``; NaN where a layer stayed silent or
        was not recorded.
    """
    samples = ds.recorded_sample.values
    names = [str(name) for name in ds.layer.values]
    latency = np.full((len(samples), len(names)), np.nan)
    for j, name in enumerate(names):
        if not ds.recorded_layer.values[j]:
            continue
        _, _, sample, _, step = _trains(ds, name)
        for i, s in enumerate(samples):
            steps = step[sample == s]
            if len(steps):
                latency[i, j] = float(ds.time.values[steps.min()])
    return xr.DataArray(latency, dims=("recorded_sample", "layer"),
                        coords={"recorded_sample": samples, "layer": names},
                        attrs={"units": _time_unit(ds)[1]})


def interspike_intervals(ds, layer):
    """All inter-spike intervals of ``layer``'s neurons within each recorded sample.

    Returns
    -------
    xarray.DataArray
        (interval,): intervals in the units of ``time`` (consecutive spikes of one neuron in
        one sample; two spikes in one step give 0), with the coordinates ``recorded_sample``
        and ``unit`` (the neuron) of each interval, sorted by sample, neuron and time.
    """
    _, size, sample, neuron, step = _trains(ds, layer)
    times = ds.time.values[step].astype(float)
    train = sample.astype(np.int64) * size + neuron  # one id per (sample, neuron)
    order = np.lexsort((times, train))
    train, times = train[order], times[order]
    same = train[1:] == train[:-1]
    ids = train[1:][same]
    return xr.DataArray(np.diff(times)[same], dims=("interval",),
                        coords={"recorded_sample": ("interval", ids // size),
                                "unit": ("interval", ids % size)},
                        attrs={"units": _time_unit(ds)[1], "layer": layer})


def population_rate(ds, layer):
    """Spikes per neuron of ``layer`` in each step of each recorded sample.

    Returns
    -------
    xarray.DataArray
        (recorded_sample, time): spikes in the step divided by the layer's size.
    """
    _, size, sample, _, step = _trains(ds, layer)
    samples = ds.recorded_sample.values
    rate = np.zeros((len(samples), ds.sizes["time"]))
    for i, s in enumerate(samples):
        rate[i] = np.bincount(step[sample == s], minlength=ds.sizes["time"]) / size
    return xr.DataArray(rate, dims=("recorded_sample", "time"),
                        coords={"recorded_sample": samples, "time": ds.time.values},
                        attrs={"units": "spikes per neuron per step", "layer": layer})


def _recorded_layers(ds, layers):
    names = [str(name) for name, r in zip(ds.layer.values, ds.recorded_layer.values) if r]
    return names if layers is None else list(layers)


def plot_raster(ds, samples=None, layers=None, figsize=None):
    """Raster plots, one panel per (recorded sample, recorded layer): neuron against time.

    Returns the matplotlib Figure.
    """
    from matplotlib.figure import Figure

    samples = list(ds.recorded_sample.values if samples is None else samples)
    layers = _recorded_layers(ds, layers)
    fig = Figure(figsize=figsize or (3.2 * len(layers), 2.2 * len(samples)))
    axes = np.atleast_2d(fig.subplots(len(samples), len(layers), squeeze=False))
    unit = _time_unit(ds)[1]
    for i, s in enumerate(samples):
        for j, name in enumerate(layers):
            _, size, sample, neuron, step = _trains(ds, name)
            chosen = sample == s
            ax = axes[i, j]
            ax.scatter(ds.time.values[step[chosen]], neuron[chosen], s=2, marker="|", c="k")
            ax.set_ylim(-0.5, size - 0.5)
            ax.set_xlim(0, float(ds.time.values[-1]))
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"sample {s}\nneuron", fontsize=8)
            if i == len(samples) - 1:
                ax.set_xlabel(unit, fontsize=8)
    fig.tight_layout()
    return fig


def plot_rate_histogram(ds, layers=None, bins=30):
    """Histogram of the firing rates (neuron × recorded sample) of each recorded layer."""
    from matplotlib.figure import Figure

    layers = _recorded_layers(ds, layers)
    fig = Figure(figsize=(5, 3.4))
    ax = fig.subplots()
    for name in layers:
        rates = firing_rates(ds, name)
        ax.hist(rates.values.ravel(), bins=bins, histtype="step", label=name)
    ax.set(xlabel=f"firing rate ({firing_rates(ds, layers[0]).attrs['units']})",
           ylabel="neurons x samples", yscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_latency(ds):
    """Mean (and min-max over recorded samples) first-spike latency per recorded layer."""
    from matplotlib.figure import Figure

    latency = first_spike_latency(ds)
    layers = _recorded_layers(ds, None)
    values = latency.sel(layer=layers).values
    fig = Figure(figsize=(5, 3.4))
    ax = fig.subplots()
    with warnings.catch_warnings():  # a layer silent in every sample: NaN, no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    ax.errorbar(range(len(layers)), mean, yerr=[mean - low, high - mean], fmt="o-", capsize=3)
    ax.set_xticks(range(len(layers)), layers)
    ax.set(ylabel=f"first spike ({latency.attrs['units']})", xlabel="layer",
           title="first-spike latency (mean, min-max over samples)")
    fig.tight_layout()
    return fig
