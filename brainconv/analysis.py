"""Accuracy, latency and spike-count measures of a results dataset (see :mod:`brainconv.results`).

All functions take a results :class:`xarray.Dataset` and return xarray objects or plain Python
numbers; none needs Brian2.
"""

import numbers

import numpy as np
import xarray as xr

from brainconv.errors import ParameterError

_PER = ("neuron", "layer")
# Absorbs float rounding of a target such as 80.22 / 100, far below the 1 / n_samples resolution.
_TOLERANCE = 1e-9

__all__ = ["accuracy_over_time", "check_target", "layer_spike_counts", "pareto_optimal",
           "plot_accuracy", "prediction_latency", "predictions_over_time", "silent_fraction", "spikes_per_timestep",
           "summary", "time_to_accuracy"]


def _evidence(ds):
    """What the prediction at each time is the argmax of, ``(sample, time, class)``: output
    spikes cumulated from the start, or a non-spiking readout summed from the window start."""
    if "readout" in ds:
        # Non-spiking readout: the mean of y from the window start up to t (the running sum
        # has the same argmax); before the window starts every sample is class 0.
        start = ds.attrs.get("window_start", -np.inf)
        values = np.where((ds["time"].values > start + 1e-9)[None, :, None],
                          ds["readout"].values, 0.0)
        return np.cumsum(values, axis=1)
    # int16 counts: cumulated in int32 (3x faster than int64) unless the run is long enough
    # to overflow it.
    counts = ds["output_spikes"].values
    wide = np.int32 if counts.shape[1] * 32767 < 2**31 else np.int64
    return np.cumsum(counts, axis=1, dtype=wide)


def predictions_over_time(ds):
    """Predicted class of each sample after each timestep.

    The prediction at timestep ``t`` is the argmax over classes of the output spikes cumulated
    over timesteps ``1..t`` (with a non-spiking readout: of the readout summed from the start of
    the classification window to ``t``). Ties go to the lowest class index, so a sample whose output layer
    has not spiked yet is predicted as class 0: with very few timesteps the accuracy is therefore
    at chance level (the share of class 0), not zero.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.

    Returns
    -------
    xarray.DataArray
        Class indices, dims ``(sample, time)``.
    """
    return xr.DataArray(
        np.argmax(_evidence(ds), axis=2),  # first maximum: ties go to the lowest class index
        dims=("sample", "time"),
        coords={"sample": ds["sample"], "time": ds["time"]},
        name="prediction",
        attrs={"long_name": "predicted class from spikes up to this timestep", "units": "1"},
    )


def accuracy_over_time(ds):
    """Fraction of samples predicted correctly after each timestep.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.

    Returns
    -------
    xarray.DataArray
        Accuracy in [0, 1], dim ``time``. See :func:`predictions_over_time` for the tie rule.
    """
    correct = predictions_over_time(ds) == ds["label"]
    accuracy = correct.mean("sample")
    accuracy.name = "accuracy"
    accuracy.attrs = {"long_name": "classification accuracy", "units": "1"}
    return accuracy


def check_target(target):
    """Raise ParameterError unless ``target`` is an accuracy fraction in (0, 1]."""
    if (isinstance(target, bool) or not isinstance(target, numbers.Real)
            or not 0 < target <= 1):
        raise ParameterError(
            f"target must be an accuracy fraction in (0, 1], got {target!r}; "
            "give percentages as fractions (80.22 % as 0.8022)."
        )


def time_to_accuracy(ds, target):
    """First timestep at which the accuracy reaches ``target``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.
    target : float
        Accuracy fraction in (0, 1] (80.22 % is 0.8022).

    Returns
    -------
    int or None
        The 1-based timestep (``time`` coordinate) of the first crossing, or None when the
        accuracy never reaches ``target`` within the simulated steps.

    Raises
    ------
    ParameterError
        If ``target`` is not in (0, 1].
    """
    check_target(target)
    accuracy = accuracy_over_time(ds)
    reached = np.flatnonzero(accuracy.values >= target - _TOLERANCE)
    return int(accuracy["time"].values[reached[0]]) if reached.size else None


def spikes_per_timestep(ds, per="neuron", upto=None):
    """Average spikes per timestep and per sample of each spiking layer.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.
    per : {"neuron", "layer"}
        ``"neuron"`` divides by the layer size (firing rate of an average neuron);
        ``"layer"`` gives the whole layer's spikes.
    upto : int, optional
        Average over the first ``upto`` timesteps only (1 <= upto <= number of steps);
        default all steps.

    Returns
    -------
    xarray.DataArray
        Dim ``layer``.

    Raises
    ------
    ParameterError
        For an unknown ``per`` or an ``upto`` outside the simulated steps.
    """
    if per not in _PER:
        raise ParameterError(f"per must be one of {_PER}, got {per!r}.")
    n_steps = ds.sizes["time"]
    if upto is None:
        upto = n_steps
    elif (isinstance(upto, bool) or not isinstance(upto, numbers.Integral)
          or not 1 <= upto <= n_steps):
        raise ParameterError(f"upto must be an int in [1, {n_steps}], got {upto!r}.")
    spikes = ds["layer_spikes"].isel(time=slice(0, int(upto))).sum("time")
    rate = spikes / (int(upto) * ds.sizes["sample"])
    if per == "neuron":
        rate = rate / ds["layer_size"]
    rate.name = f"spikes_per_timestep_per_{per}"
    rate.attrs = {"long_name": f"spikes per timestep per {per}, averaged over samples",
                  "units": f"spikes / timestep / {per}"}
    return rate


def prediction_latency(ds):
    """When each sample's answer is settled: the first time from which its prediction is final.

    A sample is *decided* at time ``t`` once its output has sent anything (a spike; with a
    non-spiking readout, a non-zero value inside the window). Its latency is the first time
    ``t`` such that at ``t`` and at every later time it is decided and predicts the class it
    predicts at the end. A sample still undecided at the end gets the last time, so a silent
    network is slow, not fast.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.

    Returns
    -------
    xarray.DataArray
        Dim ``sample``, in the units of ``time`` (timesteps, or ms for continuous-time
        networks).
    """
    evidence = _evidence(ds)
    predictions = np.argmax(evidence, axis=2)
    settled = (evidence != 0).any(axis=2) & (predictions == predictions[:, -1:])
    n_steps = settled.shape[1]
    # the step after the last unsettled one; a sample unsettled at the end gets the last step
    last_unsettled = n_steps - 1 - np.argmax(~settled[:, ::-1], axis=1)
    first = np.where(settled.all(axis=1), 0, np.minimum(last_unsettled + 1, n_steps - 1))
    time = ds["time"]
    return xr.DataArray(time.values[first], dims=("sample",), coords={"sample": ds["sample"]},
                        name="prediction_latency",
                        attrs={"long_name": "first time from which the prediction is final",
                               "units": time.attrs.get("units", "timestep")})


def silent_fraction(ds, layers=None):
    """Sparsity: the fraction of neurons that send nothing during a sample.

    Needs recorded spike trains (``simulate(..., record=[samples])``); a neuron counts as
    active in a sample if it spiked at least once (an ensemble unit if any member event was
    recorded for it).

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset with spike trains.
    layers : sequence of str, optional
        Layers pooled together (default every recorded layer).

    Returns
    -------
    xarray.DataArray
        Dim ``recorded_sample``: silent neurons / neurons of ``layers``, in [0, 1].

    Raises
    ------
    ParameterError
        If the dataset holds no spike trains or a layer was not recorded.
    """
    if "spike_sample" not in ds:
        raise ParameterError("silent_fraction needs recorded spike trains; simulate with "
                             "record=[sample indices]")
    names = [str(name) for name in ds["layer"].values]
    recorded = [name for name, flag in zip(names, ds["recorded_layer"].values) if flag]
    layers = recorded if layers is None else [str(name) for name in layers]
    missing = [name for name in layers if name not in recorded]
    if missing or not layers:
        raise ParameterError(f"layers {missing or layers} were not recorded; recorded layers: "
                             f"{', '.join(recorded) or 'none'}")
    samples = ds["recorded_sample"].values
    indices = [names.index(name) for name in layers]
    mine = np.isin(ds["spike_layer"].values, indices)
    spiked = np.unique(np.column_stack([ds[f"spike_{key}"].values[mine] for key in
                                        ("sample", "layer", "neuron")]), axis=0)
    row = {int(sample): index for index, sample in enumerate(samples)}
    active = np.zeros(len(samples))
    np.add.at(active, np.array([row[int(s)] for s in spiked[:, 0]], dtype=np.int64), 1)
    total = int(ds["layer_size"].values[indices].sum())
    return xr.DataArray(1 - active / total, dims=("recorded_sample",),
                        coords={"recorded_sample": samples}, name="silent_fraction",
                        attrs={"long_name": f"fraction of neurons of {', '.join(layers)} "
                                            "silent during the sample", "units": "1"})


def summary(ds, target=None):
    """Headline numbers of a run as plain Python values (JSON-ready).

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.
    target : float, optional
        Accuracy fraction in (0, 1] for ``time_to_target``.

    Returns
    -------
    dict
        ``accuracy`` (at the last step), ``steps``, ``n_samples``, ``target``,
        ``time_to_target`` (None when no target is given or it is never reached) and
        ``spikes_per_step_per_neuron`` (dict layer name -> float). With a classification
        window also ``time_to_target_without_window``: the same readout summed from the
        start, the network's latency rather than the window's.
    """
    if target is not None:
        check_target(target)
    rates = spikes_per_timestep(ds, per="neuron")
    extra = {}
    if target is not None and "window_start" in ds.attrs:
        whole = ds.copy()
        whole.attrs = {k: v for k, v in ds.attrs.items() if k not in ("window_start",
                                                                     "window_end")}
        extra["time_to_target_without_window"] = time_to_accuracy(whole, target)
    return {**extra,
        "accuracy": float(accuracy_over_time(ds).values[-1]),
        "steps": int(ds.sizes["time"]),
        "n_samples": int(ds.sizes["sample"]),
        "target": None if target is None else float(target),
        "time_to_target": None if target is None else time_to_accuracy(ds, target),
        "spikes_per_step_per_neuron": {str(layer): float(rate) for layer, rate
                                       in zip(rates["layer"].values, rates.values)},
    }


def layer_spike_counts(ds, layer):
    """Spike count of each neuron of one layer, summed over samples and time.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset (its ``unit_spike_count`` over dim ``neuron``, with the coordinates
        ``neuron_layer`` and ``neuron_unit``).
    layer : str
        Layer name, one of ``ds["layer"]`` (e.g. ``"hidden1"``).

    Returns
    -------
    xarray.DataArray
        Dim ``unit`` (the neuron's index within the layer, 0..size-1), in spikes.

    Raises
    ------
    ParameterError
        If ``layer`` is not a layer of ``ds``; the message lists its layers.
    """
    names = [str(name) for name in ds["layer"].values]
    if str(layer) not in names:
        raise ParameterError(
            f"layer {layer!r} is not in this results dataset; its layers are "
            f"{', '.join(names)}; pass one of these names")
    mask = ds["neuron_layer"].values == str(layer)
    counts = xr.DataArray(
        ds["unit_spike_count"].values[mask],
        dims=("unit",),
        coords={"unit": ("unit", ds["neuron_unit"].values[mask],
                         {"long_name": f"neuron index within layer {layer}", "units": "1"})},
        name="spike_count",
        attrs={"long_name": f"spikes per neuron of layer {layer}, summed over samples and "
                            "time", "units": "spikes", "layer": str(layer)},
    )
    return counts


def _common_attr(datasets, key):
    """``ds.attrs[key]`` if every dataset has the same value, else None."""
    values = [ds.attrs.get(key) for ds in datasets]
    return values[0] if values[0] is not None and all(v == values[0] for v in values) else None


def _accuracy_title(datasets):
    dataset = _common_attr(datasets, "dataset")
    n_samples = _common_attr(datasets, "n_samples")
    details = [str(dataset)] if dataset not in (None, "none", "") else []
    if n_samples is not None:
        details.append(f"{n_samples} test samples")
    return "Accuracy over time" + (f" ({', '.join(details)})" if details else "")


def plot_accuracy(ds_or_dict, ax=None, label=None, target=None):
    """Plot accuracy (percent) against time, with the ANN's accuracy and the target.

    Parameters
    ----------
    ds_or_dict : xarray.Dataset or dict of str to xarray.Dataset
        One results dataset, or several keyed by their legend label.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. By default a new :class:`matplotlib.figure.Figure` (not managed by
        pyplot) is created; pass ``plt.subplots()[1]`` to show the plot interactively.
    label : str, optional
        Legend label of a single dataset (use the dict keys for several). Default: the
        paradigm, ``ds.attrs["paradigm"]`` or the layers' model (``"if_soft"``; see
        :func:`brainconv.provenance.paradigm_label`).
    target : float, optional
        Accuracy fraction in (0, 1], drawn as a dotted horizontal line.

    Returns
    -------
    matplotlib.axes.Axes
        The axes: one line per dataset; a dashed line at the ANN's accuracy
        (``ds.attrs["ann_accuracy"]``, one per distinct value) and a dotted one at the target;
        a title with the dataset name and number of samples when the attributes hold them;
        the classification window of a filtered readout (``window_start``, ``window_end``)
        shaded.
        The x axis is in ms for continuous-time results (``time`` in ms), else in timesteps.
        ``plt.show()`` is never called.

    Raises
    ------
    ParameterError
        For no dataset, a label with a dict of datasets, or a target outside (0, 1].
    """
    from .provenance import paradigm_label

    single = isinstance(ds_or_dict, xr.Dataset)
    if single:
        curves = {label: ds_or_dict}
    elif label is not None:
        raise ParameterError("label is for a single dataset; a dict is labelled by its keys.")
    else:
        curves = dict(ds_or_dict)
    if not curves:
        raise ParameterError("plot_accuracy needs at least one dataset.")
    if target is not None:
        check_target(target)
    if ax is None:
        from matplotlib.figure import Figure  # lazy: matplotlib is only needed for plots

        ax = Figure(figsize=(6.4, 4.2)).add_subplot()
    datasets = list(curves.values())
    for name, ds in curves.items():
        accuracy = accuracy_over_time(ds)
        if single and name is None:
            name = paradigm_label(ds.attrs)
        ax.plot(accuracy["time"].values, 100 * accuracy.values,
                label=None if name is None else str(name))
    ann_values = sorted({float(ds.attrs["ann_accuracy"]) for ds in datasets
                         if "ann_accuracy" in ds.attrs})
    for value in ann_values:
        ax.axhline(100 * value, color="0.3", linestyle="--", linewidth=1,
                   label=f"ANN {100 * value:.2f} %")
    if target is not None:
        ax.axhline(100 * target, color="tab:red", linestyle=":", linewidth=1.5,
                   label=f"target {100 * target:.2f} %")
    windows = sorted({(float(ds.attrs["window_start"]), float(ds.attrs["window_end"]))
                      for ds in datasets if "window_start" in ds.attrs})
    for start, end in windows:  # a filtered readout answers only from its window's start
        ax.axvspan(start, end, color="tab:blue", alpha=0.08,
                   label=f"classification window {start:g}-{end:g} ms")
    in_ms = all(ds["time"].attrs.get("units") == "ms" for ds in datasets)
    ax.set_xlabel("time (ms)" if in_ms else "time (timesteps)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 101)  # a curve at 100 % stays visible
    ax.set_xlim(0, max(float(ds["time"].values[-1]) for ds in datasets))
    ax.grid(True, alpha=0.3)
    ax.set_title(_accuracy_title(datasets))
    if any(text and not text.startswith("_") for text in ax.get_legend_handles_labels()[1]):
        ax.legend(loc="lower right", fontsize=9)
    return ax


def pareto_optimal(accuracy, time_to_target, cost):
    """Mask of the points no other point dominates (higher accuracy, fewer steps, lower cost).

    :func:`brainconv.comparison.compare` stores it with the energy per inference (pJ) as the cost, the cost its
    recommendations use; :func:`brainconv.plotting.plot_pareto` draws it with spikes. A point
    that never reaches the target (NaN time) counts as infinitely slow, an unknown cost (NaN)
    as infinitely dear.
    """
    scores = np.column_stack([-np.asarray(accuracy, float),
                              np.nan_to_num(np.asarray(time_to_target, float), nan=np.inf),
                              np.nan_to_num(np.asarray(cost, float), nan=np.inf)])
    better_or_equal = (scores[:, None, :] <= scores[None, :, :]).all(axis=2)
    strictly_better = (scores[:, None, :] < scores[None, :, :]).any(axis=2)
    dominated = (better_or_equal & strictly_better).any(axis=0)
    return (~dominated).astype(np.int8)
