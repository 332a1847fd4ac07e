"""Results of a spiking simulation as an :class:`xarray.Dataset`, saved as NetCDF.

Layout of a results dataset (:func:`make_dataset`):

==================== =================== =====================================================
variable             dims                meaning
==================== =================== =====================================================
``output_spikes``    sample, time, class spikes of each output neuron in each timestep (int16)
``label``            sample              true class
``prediction``       sample              class with most output spikes over the whole run
``layer_spikes``     layer, time         spikes of each spiking layer, summed over samples
``unit_spike_count`` neuron              spikes of each neuron, summed over samples and time
``layer_size``       layer               number of neurons of each spiking layer
==================== =================== =====================================================

A network with a non-spiking readout (Hunsberger & Eliasmith) adds ``readout`` (sample, time,
class), the output node's value ``y`` in each step; its ``prediction`` is the argmax of the
mean of ``y`` over the classification window, stored as the attributes ``window_start`` and
``window_end`` (in the units of ``time``), and ``output_spikes`` holds zeros.

Coordinates: ``sample`` (0..N-1), ``time`` (timestep number 1..T, or for continuous-time
networks the end of each step in ms, ``dt, 2 dt, ..., T dt``), ``class`` (0..C-1),
``layer`` (layer names), ``neuron_layer`` and ``neuron_unit`` (dim ``neuron``: the layer each
neuron belongs to and its index within that layer).

Recorded spike trains (``simulate(..., record=[samples], record_layers=[names])``,
:func:`add_spike_trains`) add one entry per spike along the dimension ``spike``, sorted by
sample, layer, step and neuron: ``spike_sample`` (sample index), ``spike_layer`` (index into
``layer``), ``spike_neuron`` (index within the layer), ``spike_step`` (index into ``time``:
the spike happened in the step that ends at ``time[spike_step]``) and ``spike_weight`` (what
the spike sends: 1, or an accumulator's or FS neuron's payload), plus ``recorded_sample`` (dim
``recorded_sample``) and ``recorded_layer`` (0/1 per ``layer``), so that a silent recorded
neuron is told apart from one that was not recorded. Flat integer arrays keep the layout
ragged-free and NetCDF3-safe; :mod:`brainconv.spiketrains` analyses them.

Global attributes say what produced a result (:mod:`brainconv.pipeline` writes them). The
simulation step is the number ``dt_ms`` (ms); where only the string ``dt`` of older files
holds it (``"1.0 ms"``), :func:`make_dataset` and :func:`load_results` add ``dt_ms`` from it
(:func:`step_ms`).

Files are NetCDF3 written with scipy (no netCDF4 dependency), so every integer is stored in at
most 32 bits and the summed spike totals are stored as float64 (exact up to 2**53).
"""

import numbers
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from brainconv import __version__
from brainconv.cache import atomic_write
from brainconv.errors import DataError, ParameterError, ShapeError

__all__ = ["BYTES_PER_OUTPUT_ENTRY", "RESERVED_ATTRS", "add_attrs", "add_spike_trains",
           "check_memory", "check_output_path", "concat_results", "load_cached", "load_results",
           "make_dataset", "save_results", "step_ms"]

#: Global attributes set by :func:`make_dataset`; they replace any passed value.
RESERVED_ATTRS = ("brainconv_version", "n_samples", "n_steps")

_VARIABLES = ("output_spikes", "label", "prediction", "layer_spikes", "unit_spike_count",
              "layer_size")


def _defer_dask():
    """Keep xarray from importing dask while no dask array can exist.

    xarray asks each new variable whether it is a dask array or collection, and each
    ``to_netcdf`` which dask scheduler is active; the questions import ``dask``,
    ``dask.array`` and ``distributed`` (together ~1 s of a 5 s ``brainconv run``, more than
    the binary's share). A dask collection can only exist once ``dask`` is imported, a dask
    array, or a write through a dask scheduler, once ``dask.array`` is; until then the
    answers are "no" and "none" without the imports, afterwards (a user's own dask arrays)
    xarray's own. Touches xarray's private probe cache and two of its helpers: where those
    changed, nothing is done.
    """
    import sys

    try:
        from xarray.backends import locks, writers
        from xarray.namedarray import pycompat, utils

        cache, real_probe = pycompat._cached_duck_array_modules, pycompat.DuckArrayModule
        real_scheduler, real_collection = locks.get_dask_scheduler, utils.is_dask_collection
    except (ImportError, AttributeError):
        return

    class _DaskProbe:
        @property
        def type(self):
            module = sys.modules.get("dask.array")
            return (module.Array,) if module is not None else ()

        def __getattr__(self, name):  # version, module, available: xarray's own probe
            cache["dask"] = real_probe("dask")
            return getattr(cache["dask"], name)

    def scheduler(*args, **kwargs):
        return real_scheduler(*args, **kwargs) if "dask.array" in sys.modules else None

    def is_collection(x):
        return "dask" in sys.modules and real_collection(x)

    cache.setdefault("dask", _DaskProbe())
    utils.is_dask_collection = is_collection
    if getattr(writers, "get_dask_scheduler", None) is real_scheduler:
        locks.get_dask_scheduler = writers.get_dask_scheduler = scheduler


_defer_dask()
_INT16_MAX = np.iinfo(np.int16).max
_INT32 = np.iinfo(np.int32)


def _check_shape(name, array, expected, meaning):
    if array.shape != tuple(expected):
        raise ShapeError(
            f"{name} must have shape {meaning} = {tuple(expected)}, got {array.shape}."
        )


def _integral(name, array):
    """Return ``array`` as int64, refusing NaN, infinities and fractions."""
    array = np.asarray(array)
    if array.dtype.kind in "biu":
        return array.astype(np.int64)
    if array.dtype.kind != "f" or not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ParameterError(f"{name} must hold whole numbers, got dtype {array.dtype}.")
    return array.astype(np.int64)


def _counts(name, array):
    """Return summed spike counts as float64, refusing negative or non-finite values."""
    array = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ParameterError(f"{name} must be finite and non-negative spike counts.")
    return array


def _clean_attrs(attrs):
    """Check global attributes: only str, int and float survive NetCDF3 unchanged."""
    clean = {}
    for key, value in (attrs or {}).items():
        if not isinstance(key, str) or not key:
            raise ParameterError(f"attribute names must be non-empty strings, got {key!r}.")
        if value is None:
            value = "none"
        elif isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif isinstance(value, numbers.Integral):
            value = int(value)
            # NetCDF3 has no 64-bit integers; failing here beats a cryptic error at save time.
            if not _INT32.min <= value <= _INT32.max:
                raise ParameterError(
                    f"attribute {key!r} = {value} does not fit in 32 bits (NetCDF3); "
                    "pass it as a string."
                )
        elif isinstance(value, numbers.Real):
            value = float(value)
        elif not isinstance(value, str):
            raise ParameterError(
                f"attribute {key!r} has type {type(value).__name__}; only str, int, float, "
                "bool and None are allowed (e.g. join a list into a string)."
            )
        clean[key] = value
    return clean


def _available_memory():
    """Bytes of memory available now (Linux ``MemAvailable``), or None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


#: Bytes kept per (sample, step, class): int16 output spikes, the int64 cumulative counts of
#: the accuracy curve, and a float64 readout or monitor entry.
BYTES_PER_OUTPUT_ENTRY = 18


def check_memory(spec, n_samples, steps, available=None, input_bytes=0):
    """Refuse a run whose results alone cannot fit into memory, before any work starts.

    The results hold every output neuron's spikes in every step of every sample, so
    ``n_samples * steps * classes`` entries are allocated whatever the device.
    ``input_bytes``: memory the run's inputs still need on top (per-step input currents are
    copied into batch order before a run, :func:`brainconv.build.layer_values`).

    Raises
    ------
    ParameterError
        Naming the sizes, the bytes needed and available, and the fix.
    """
    if n_samples < 1:
        raise ParameterError("no samples to simulate (0 input rows); pass at least one")
    needed = BYTES_PER_OUTPUT_ENTRY * n_samples * steps * spec.layers[-1].size
    available = _available_memory() if available is None else available
    if available is not None and needed + input_bytes > available:
        inputs = (f" and {input_bytes / 2**30:.1f} GiB for copies of the per-step input "
                  "currents" if input_bytes else "")
        raise ParameterError(
            f"{n_samples} samples x {steps} steps x {spec.layers[-1].size} classes need about "
            f"{needed / 2**30:.1f} GiB for the results{inputs}, but "
            f"{available / 2**30:.1f} GiB of memory are available; simulate fewer steps, or "
            "fewer samples per call (e.g. --limit)")


def add_attrs(ds, attrs):
    """Add global attributes to a results dataset, checked as :func:`make_dataset` checks them.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, its ``attrs`` updated (``None`` stored as ``"none"``, booleans as 0/1;
        :data:`RESERVED_ATTRS` keep the values :func:`make_dataset` gave them).

    Raises
    ------
    ParameterError
        For an attribute that NetCDF3 cannot store (see :func:`make_dataset`).
    """
    ds.attrs.update({key: value for key, value in _clean_attrs(attrs).items()
                     if key not in RESERVED_ATTRS})
    return ds


def _prediction(output_spikes):
    # np.argmax returns the first maximum, so ties go to the lowest class index.
    return np.argmax(output_spikes.sum(axis=1), axis=-1).astype(np.int32)


def make_dataset(output_spikes, labels, layer_spikes, unit_spike_count, layer_names,
                 layer_sizes, attrs=None, dt_ms=None, readout=None, window=None):
    """Collect the recorded spikes of one simulation into a results dataset.

    Parameters
    ----------
    output_spikes : array_like of int, shape (n_sample, n_time, n_class)
        Spikes emitted by each output neuron in each timestep (may exceed 1 for payload
        paradigms). Stored as int16, so values must lie in [0, 32767].
    labels : array_like of int, shape (n_sample,)
        True class of each sample, in [0, n_class).
    layer_spikes : array_like, shape (n_layer, n_time)
        Total spikes of each spiking layer in each timestep, summed over all samples.
    unit_spike_count : array_like, shape (sum(layer_sizes),)
        Spike count of each neuron summed over samples and timesteps, the layers concatenated
        in the order of ``layer_names``.
    layer_names : sequence of str, length n_layer
        Unique names of the spiking layers.
    layer_sizes : sequence of int, length n_layer
        Number of neurons of each layer.
    attrs : dict, optional
        Global attributes (str, int, float; bool is stored as int, None as ``"none"``).
        ``brainconv_version``, ``n_samples`` and ``n_steps`` are always set here.
    dt_ms : float, optional
        Step of a continuous-time network in ms: ``time`` is then the end of each step in ms;
        None (grid models): ``time`` counts timesteps.
    readout : array_like of float, shape (n_sample, n_time, n_class), optional
        Values of a non-spiking output node each step; the prediction is then its argmax.
    window : (float, float), optional
        Classification window ``(c0, c1)`` for ``readout``, in the units of ``time``; a step
        counts if its end lies in ``(c0, c1]``. Default: the whole run.

    Returns
    -------
    xarray.Dataset
        Layout described in the module docstring. ``prediction`` is the argmax over classes of
        the total output spikes; ties go to the lowest class index.

    Raises
    ------
    ShapeError
        If the array shapes do not fit together.
    ParameterError
        For negative, fractional or out-of-range values, duplicate layer names or bad attributes.
    """
    out = _integral("output_spikes", output_spikes)
    if out.ndim != 3 or 0 in out.shape:
        raise ShapeError(
            "output_spikes must have shape (n_sample, n_time, n_class) with no zero-length "
            f"axis, got {out.shape}."
        )
    if out.min() < 0 or out.max() > _INT16_MAX:
        raise ParameterError(
            f"output_spikes must lie in [0, {_INT16_MAX}] to be stored as int16, got values in "
            f"[{out.min()}, {out.max()}]."
        )
    n_sample, n_time, n_class = out.shape

    labels = _integral("labels", labels)
    _check_shape("labels", labels, (n_sample,), "(n_sample,)")
    if labels.min() < 0 or labels.max() >= n_class:
        raise ParameterError(
            f"labels must lie in [0, {n_class - 1}] (n_class = {n_class}), got values in "
            f"[{labels.min()}, {labels.max()}]."
        )

    names = [str(name) for name in layer_names]
    if len(set(names)) != len(names):
        raise ParameterError(f"layer_names must be unique, got {names}.")
    sizes = _integral("layer_sizes", layer_sizes)
    _check_shape("layer_sizes", sizes, (len(names),), "(n_layer,)")
    if np.any(sizes <= 0):
        raise ParameterError(f"layer_sizes must be positive, got {sizes.tolist()}.")

    layer_spikes = _counts("layer_spikes", layer_spikes)
    _check_shape("layer_spikes", layer_spikes, (len(names), n_time), "(n_layer, n_time)")
    unit_spike_count = _counts("unit_spike_count", unit_spike_count)
    _check_shape("unit_spike_count", unit_spike_count, (int(sizes.sum()),), "(sum(layer_sizes),)")

    attrs = _with_step(_clean_attrs(attrs))
    attrs.update(brainconv_version=__version__, n_samples=n_sample, n_steps=n_time)
    if dt_ms is None:
        time = ("time", np.arange(1, n_time + 1, dtype=np.int32), {"long_name": "timestep",
                                                                   "units": "timestep"})
    else:
        time = ("time", np.arange(1, n_time + 1) * float(dt_ms),
                {"long_name": "time at the end of the step", "units": "ms"})
    prediction = _prediction(out)
    extra = {}
    if readout is not None:
        from brainconv.equations.readout import window_mean

        readout = np.asarray(readout, dtype=np.float64)
        _check_shape("readout", readout, out.shape, "(n_sample, n_time, n_class)")
        prediction = np.argmax(window_mean(readout, np.asarray(time[1], float), window),
                               axis=-1).astype(np.int32)
        extra["readout"] = (("sample", "time", "class"), readout,
                            {"long_name": "readout value each step (filtered spikes of the "
                                          "last hidden layer x output weights + bias)",
                             "units": "1"})
        if window is not None:
            attrs.update(window_start=float(window[0]), window_end=float(window[1]))

    coords = {
        "sample": ("sample", np.arange(n_sample, dtype=np.int32), {"long_name": "sample index",
                                                                  "units": "1"}),
        "time": time,
        "class": ("class", np.arange(n_class, dtype=np.int32), {"long_name": "class index",
                                                               "units": "1"}),
        "layer": ("layer", np.array(names, dtype=str), {"long_name": "spiking layer",
                                                        "units": "1"}),
        "neuron_layer": ("neuron", np.repeat(np.array(names, dtype=str), sizes),
                         {"long_name": "layer of the neuron", "units": "1"}),
        "neuron_unit": ("neuron",
                        np.concatenate([np.arange(n, dtype=np.int32) for n in sizes]
                                       or [np.zeros(0, np.int32)]),
                        {"long_name": "index of the neuron within its layer", "units": "1"}),
    }
    data_vars = {
        "output_spikes": (("sample", "time", "class"), out.astype(np.int16),
                          {"long_name": "output spikes per timestep", "units": "spikes"}),
        "label": ("sample", labels.astype(np.int32), {"long_name": "true class", "units": "1"}),
        "prediction": ("sample", prediction,
                       {"long_name": "predicted class (most output spikes, ties to lowest)"
                        if readout is None else "predicted class (highest mean readout over "
                        "the classification window)", "units": "1"}),
        "layer_spikes": (("layer", "time"), layer_spikes,
                         {"long_name": "layer spikes per timestep, summed over samples",
                          "units": "spikes"}),
        "unit_spike_count": ("neuron", unit_spike_count,
                             {"long_name": "spikes per neuron, summed over samples and time",
                              "units": "spikes"}),
        "layer_size": ("layer", sizes.astype(np.int32),
                       {"long_name": "neurons per layer", "units": "neurons"}),
        **extra,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def add_spike_trains(ds, trains, recorded_samples, recorded_layers):
    """``ds`` with recorded spike trains added (layout in the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`make_dataset`.
    trains : dict
        Flat arrays ``sample``, ``layer``, ``neuron``, ``step``, ``weight`` (one entry per spike).
    recorded_samples : sequence of int
    recorded_layers : sequence of int
        Indices into ``ds.layer`` of the recorded layers.
    """
    columns = {key: np.asarray(trains[key]) for key in ("sample", "layer", "neuron", "step")}
    order = np.lexsort((columns["neuron"], columns["step"], columns["layer"], columns["sample"]))
    meaning = {"sample": "sample index", "layer": "index into layer",
               "neuron": "neuron index within its layer",
               "step": "index into time of the step the spike happened in"}
    data_vars = {f"spike_{key}": ("spike", columns[key][order].astype(np.int32),
                                  {"long_name": meaning[key], "units": "1"})
                 for key in columns}
    data_vars["spike_weight"] = ("spike", np.asarray(trains["weight"], float)[order],
                                 {"long_name": "what the spike sends (payload; 1 for a spike)",
                                  "units": "spikes"})
    recorded = np.zeros(ds.sizes["layer"], np.int32)
    recorded[list(recorded_layers)] = 1
    data_vars["recorded_layer"] = ("layer", recorded,
                                   {"long_name": "1 where the layer's spike trains are recorded",
                                    "units": "1"})
    return ds.assign(data_vars).assign_coords(recorded_sample=(
        "recorded_sample", np.asarray(recorded_samples, np.int32),
        {"long_name": "samples whose spike trains are recorded", "units": "1"}))


def check_output_path(path, what="output file", needed_bytes=0):
    """Make sure ``path`` can be written *before* minutes of work are spent computing it.

    Probes the destination folder by creating and removing a temporary file there (so a
    read-only folder or file system fails now, not after the simulation) and checks that the
    disk has ``needed_bytes`` free.

    Parameters
    ----------
    path : str or os.PathLike
        File that will be written later.
    what : str
        What the file is, for the message (``"--out"``, ``"--plot"``...).
    needed_bytes : int
        Estimated size of the file.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        Naming the path, what is wrong and the fix.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ParameterError(f"{what} {str(path)!r} is a folder; give a file name inside it")
    if not folder.is_dir():
        raise ParameterError(
            f"{what} {str(path)!r}: the folder {str(folder)!r} does not exist; create it "
            f"(mkdir -p {folder}) or choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        raise ParameterError(
            f"{what} {str(path)!r} cannot be written: {exc.strerror or exc} in "
            f"{str(folder)!r}; choose a writable folder") from None
    free = shutil.disk_usage(folder).free
    if needed_bytes > free:
        raise ParameterError(
            f"{what} {str(path)!r} needs about {needed_bytes / 2**20:.0f} MiB but only "
            f"{free / 2**20:.0f} MiB are free on that disk; free some space or write elsewhere")
    return path


def save_results(ds, path):
    """Write a results dataset to NetCDF3 atomically.

    The file is written to a temporary name in the destination folder and renamed into place,
    so an interrupted save never leaves a truncated file at ``path``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset from :func:`make_dataset` or :func:`concat_results`.
    path : str or os.PathLike
        Destination file; its folder must exist. An existing file is replaced.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy",
                                                       format="NETCDF3_64BIT"))


def load_results(path):
    """Read a results dataset written by :func:`save_results` fully into memory.

    Parameters
    ----------
    path : str or os.PathLike
        NetCDF file.

    Returns
    -------
    xarray.Dataset
        The dataset; the file is closed. Global attributes are plain Python str/int/float.

    Raises
    ------
    DataError
        If the file is missing, is not readable NetCDF3 or lacks the results variables.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"results file {path} not found.")
    try:
        ds = xr.load_dataset(path, engine="scipy")
    except Exception as exc:  # scipy raises several types for corrupt files
        # Not the library's hint to install netCDF4: brainconv writes NetCDF3 only.
        raise DataError(
            f"cannot read results file {path}: it is not a NetCDF3 file "
            f"({str(exc).strip().splitlines()[0]}); give a file written by brainconv "
            "(save_results, brainconv run --out)") from exc
    if ds.attrs.get("kind") == "comparison":
        raise DataError(f"{path} holds a comparison of paradigms, not the results of one run; "
                        "read it with brainconv.comparison.load_comparison")
    missing = [name for name in _VARIABLES if name not in ds]
    if missing:
        raise DataError(f"{path} is not a brainconv results file: missing {', '.join(missing)}.")
    # scipy returns attributes as numpy scalars; give back the plain types that were saved.
    ds.attrs = _with_step({k: v.item() if isinstance(v, np.generic) else v
                           for k, v in ds.attrs.items()})
    return ds


def load_cached(path, key):
    """The results saved at ``path`` if they were computed for ``key``, else None.

    Parameters
    ----------
    path : str or os.PathLike or None
        A results file (a checkpoint, a sweep point); None or a missing file gives None.
    key : str
        The content key the results must carry as their ``cache_key`` attribute.

    Returns
    -------
    xarray.Dataset or None
        None also for an unreadable or truncated file: it is computed again.
    """
    if path is None or not Path(path).exists():
        return None
    try:
        ds = load_results(path)
    except DataError:
        return None
    return ds if ds.attrs.get("cache_key") == key else None


_MS_PER_UNIT = {"ms": 1.0, "s": 1e3, "us": 1e-3}


def step_ms(attrs):
    """The simulation step in ms recorded in a results dataset's attributes.

    Parameters
    ----------
    attrs : mapping
        ``ds.attrs``: the number ``dt_ms``, or (files from before it) the string ``dt`` as
        ``"<number> <unit>"`` with unit ms, s or us.

    Returns
    -------
    float or None
        None where neither attribute holds a step.
    """
    if isinstance(attrs.get("dt_ms"), numbers.Real) and not isinstance(attrs["dt_ms"], bool):
        return float(attrs["dt_ms"])
    text = attrs.get("dt")
    if not isinstance(text, str):
        return None
    number, _, unit = text.strip().partition(" ")
    try:
        return float(number) * _MS_PER_UNIT[unit.strip()]
    except (KeyError, ValueError):
        return None


def _with_step(attrs):
    """``attrs`` with the number ``dt_ms`` added where only an older ``dt`` string holds it."""
    if "dt_ms" not in attrs:
        dt_ms = step_ms(attrs)
        if dt_ms is not None:
            attrs["dt_ms"] = dt_ms
    return attrs


def concat_results(datasets):
    """Merge results of chunks of one test set, run with the same network and steps.

    Parameters
    ----------
    datasets : sequence of xarray.Dataset
        Chunks in sample order, with the same ``time``, ``class``, ``layer`` and neuron layout.

    Returns
    -------
    xarray.Dataset
        Per-sample variables concatenated along ``sample`` (renumbered from 0);
        ``layer_spikes`` and ``unit_spike_count`` summed. Global attributes are those on
        which all chunks agree, with ``n_samples`` set to the total.

    Raises
    ------
    ParameterError
        If ``datasets`` is empty.
    ShapeError
        If the chunks differ in time steps, classes, layers or neurons.
    """
    datasets = list(datasets)
    if not datasets:
        raise ParameterError("concat_results needs at least one dataset.")
    first = datasets[0]
    for i, ds in enumerate(datasets[1:], start=1):
        for name in ("time", "class", "layer", "neuron_layer", "neuron_unit", "layer_size"):
            if not first[name].equals(ds[name]):
                raise ShapeError(
                    f"dataset {i} differs from dataset 0 in {name!r}: "
                    f"{ds[name].values.tolist()} vs {first[name].values.tolist()}."
                )
    per_sample = ["output_spikes", "label", "prediction"] + (["readout"] if "readout" in first
                                                              else [])
    merged = xr.concat([ds[per_sample] for ds in datasets], dim="sample")
    merged = merged.assign_coords(sample=np.arange(merged.sizes["sample"], dtype=np.int32))
    merged["sample"].attrs = dict(first["sample"].attrs)
    for name in ("layer_spikes", "unit_spike_count"):
        merged[name] = first[name].copy(data=sum(ds[name].values for ds in datasets))
    merged["layer_size"] = first["layer_size"]
    merged = merged[list(_VARIABLES) + (["readout"] if "readout" in first else [])]
    merged.attrs = {k: v for k, v in first.attrs.items()
                    if all(k in ds.attrs and ds.attrs[k] == v for ds in datasets)}
    merged.attrs["n_samples"] = merged.sizes["sample"]
    return merged
