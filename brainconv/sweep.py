"""Parameter sweeps on Dask: paradigms x parameters x seeds x datasets, resumable.

A sweep is described by a TOML file (YAML too where ``pyyaml`` is installed); the schema is
:data:`SCHEMA` and the README's "Parameter sweeps (Dask)" section has an example. Each *point*
(one paradigm variant, one dataset, one seed) runs on a Dask worker: load the data, train the
seeded ANN (or reuse it: trained ANNs are cached under ``OUT/anns`` by content, with a lock so
that two workers never train the same one), convert, simulate, and save the point's results
atomically as ``OUT/points/<key>.nc``. ``key`` is the sha256 of everything the point depends
on (its settings, the data's content, the brainconv and Brian2 versions), so a rerun — after an
interruption or a changed config — computes only the points whose file is missing. A failing
point writes ``OUT/points/<key>.failed.json`` with its message and the sweep goes on (a rerun
tries failed points again). :func:`combine` gathers the points into one Dataset with dims
``variant``, ``dataset``, ``seed`` (and ``time``), saved atomically as ``OUT/sweep.nc``.

Compiled standalone projects (``cache`` in the config): ``"per-worker"`` (the default) gives
each worker its own folder ``<cache root>/workers/<worker name>``, so workers run the same
layout at the same time (each compiles it once, then reuses it across points and reruns);
``"shared"`` (or a path) makes all workers use one folder — each layout is compiled once in
all, but the per-layout file lock (``brainconv.cache.FileLock``) makes runs of one layout take
turns. Either way no two workers compile the same layout folder at once. Brian2's devices are
process-wide, so a worker process runs one point at a time (``threads_per_worker=1`` and a
process lock).

The progress bar is ``tqdm``'s rather than ``distributed.progress``: it counts reused and
failed points along with computed ones, and it works the same for a ``LocalCluster`` and a
remote scheduler, in a terminal and in a log file.
"""

import difflib
import itertools
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import xarray as xr
from distributed.diagnostics.plugin import WorkerPlugin

from .errors import BrainconvError, ParameterError

__all__ = ["REQUIRED", "SCHEMA", "check_config", "combine", "load_config", "plan", "point_path",
           "run_point", "run_sweep", "variants"]

#: Keys of each table: name -> (type(s), default; ``REQUIRED`` where there is none).
REQUIRED = object()
SCHEMA = {
    "sweep": {"datasets": ((list, str), ["digits"]), "seeds": ((list, int), [0]),
              "steps": (int, 100), "samples": (int, 0), "calibration": (int, 1000),
              "device": (str, "cpp_standalone"), "batch_size": (int, None),
              "target": ((float, int), None), "out": (str, "sweep-results"),
              "data_dir": (str, None), "cache": (str, "per-worker")},
    "ann": {"hidden": (list, [100]), "epochs": (int, 10), "activation": (str, "relu"),
            "learning_rate": ((float, int), None)},
    "paradigm": {"name": (str, REQUIRED), "model": (str, None),
                 "normalization": ((str, list), None), "threshold": ((float, int, list), 1.0),
                 "parameters": (dict, None)},
}
_EXAMPLE = "see experiments/sweeps/example.toml and the README's 'Parameter sweeps (Dask)'"
_PROCESS_LOCK = threading.Lock()  # Brian2's device is a process-wide singleton


def _type_names(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join({list: "a list", str: "a string", int: "an integer", float: "a number",
                        dict: "a table"}[t] for t in types)


def load_config(path):
    """Read and validate a sweep config (TOML, or YAML if pyyaml is installed).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    dict
        ``{"sweep": {...}, "ann": {...}, "paradigm": [...]}`` with defaults filled in, lists
        where the schema allows a single value, and ``sweep.out`` resolved against the config
        file's folder.

    Raises
    ------
    ParameterError
        For a missing or unreadable file, an unknown key, a wrong type, an unknown dataset,
        device, model or paradigm; the message names the key, the value, what was expected and
        the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"sweep config {str(path)!r} not found; give a TOML file, {_EXAMPLE}")
    try:
        if path.suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ParameterError(f"{path}: YAML configs need pyyaml (pip install pyyaml); "
                                     "or write the config as TOML") from None
            raw = yaml.safe_load(path.read_text()) or {}
        else:
            import tomllib

            raw = tomllib.loads(path.read_text())
    except (ValueError, OSError) as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError are ValueErrors
        raise ParameterError(f"cannot read sweep config {str(path)!r}: {exc}") from exc
    config = check_config(raw, where=str(path))
    out = Path(config["sweep"]["out"]).expanduser()
    config["sweep"]["out"] = str(out if out.is_absolute() else path.parent / out)
    return config


def check_config(raw, where="config"):
    """Validate a config given as a dict (see :func:`load_config`); return it completed."""
    from .comparison import PARADIGMS
    from .data import DATASETS
    from .equations import MODELS
    from .simulation import DEVICES

    def fail(key, value, expected, fix=""):
        raise ParameterError(f"{where}: {key} = {value!r}: expected {expected}"
                             + (f"; {fix}" if fix else ""))

    if not isinstance(raw, dict):
        fail("the file", raw, "tables [sweep], [ann] and [[paradigm]]", _EXAMPLE)
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        fail(unknown[0], raw[unknown[0]], f"one of the tables {', '.join(SCHEMA)}",
             "fix the table name or remove it")
    if not raw.get("paradigm"):
        fail("[[paradigm]]", raw.get("paradigm"), "at least one [[paradigm]] table",
             f"e.g. [[paradigm]] name = \"rate_soft\" (known: {', '.join(PARADIGMS)})")

    def table(name, values):
        if not isinstance(values, dict):
            fail(f"[{name}]", values, "a table")
        schema = SCHEMA[name]
        for key, value in values.items():
            if key not in schema:
                close = difflib.get_close_matches(key, schema, n=1)
                fail(f"[{name}] {key}", value, f"one of the keys {', '.join(schema)}",
                     f"did you mean {close[0]!r}?" if close else "fix its spelling or remove it")
            types = schema[key][0]
            types = types if isinstance(types, tuple) else (types,)
            if not isinstance(value, types) or isinstance(value, bool):
                fail(f"[{name}] {key}", value, _type_names(types))
        filled = {key: values.get(key, default) for key, (_, default) in schema.items()}
        missing = [key for key, value in filled.items() if value is REQUIRED]
        if missing:
            fail(f"[{name}] {missing[0]}", None, "a value", "this key is required")
        return filled

    sweep, ann = table("sweep", raw.get("sweep", {})), table("ann", raw.get("ann", {}))
    for key, allowed in (("datasets", DATASETS), ("seeds", None)):
        values = sweep[key] if isinstance(sweep[key], list) else [sweep[key]]
        for value in values:
            if allowed is not None and value not in allowed:
                fail(f"[sweep] {key}", value, f"one of {', '.join(allowed)}")
            if allowed is None and (not isinstance(value, int) or isinstance(value, bool)):
                fail(f"[sweep] {key}", value, "integers", "e.g. seeds = [0, 1, 2]")
        if not values or len(set(values)) != len(values):
            fail(f"[sweep] {key}", values, "a non-empty list without repeats")
        sweep[key] = values
    if sweep["device"] not in DEVICES:
        fail("[sweep] device", sweep["device"], f"one of {', '.join(DEVICES)}",
             "numpy and runtime compile nothing; cpp_standalone compiles once per layout")
    for key, minimum in (("steps", 1), ("samples", 0), ("calibration", 1), ("epochs", 1)):
        value = (ann if key == "epochs" else sweep)[key]
        if value < minimum:
            table_name = "ann" if key == "epochs" else "sweep"
            fail(f"[{table_name}] {key}", value, f"an integer >= {minimum}")
    if sweep["batch_size"] is not None and sweep["batch_size"] < 1:
        fail("[sweep] batch_size", sweep["batch_size"], "an integer >= 1 (or leave it out)")
    if sweep["target"] is not None and not 0 < sweep["target"] <= 1:
        fail("[sweep] target", sweep["target"], "an accuracy in (0, 1], e.g. 0.9")
    if not all(isinstance(size, int) and size > 0 for size in ann["hidden"]):
        fail("[ann] hidden", ann["hidden"], "a list of positive layer sizes, e.g. [100]")
    paradigms, names = [], set()
    for entry in raw["paradigm"] if isinstance(raw["paradigm"], list) else [raw["paradigm"]]:
        item = table("paradigm", entry)
        name, known = item["name"], PARADIGMS.get(item["name"])
        if name in names:
            fail("[[paradigm]] name", name, "a name used once", "give each variant its own name")
        names.add(name)
        if known is None and item["model"] is None:
            fail("[[paradigm]] name", name, f"a known paradigm ({', '.join(PARADIGMS)})",
                 "or give a model too, e.g. model = \"if_soft\" (see `brainconv models`)")
        if item["model"] is not None and item["model"] not in MODELS:
            fail(f"[[paradigm]] {name}: model", item["model"],
                 f"a known model ({', '.join(sorted(MODELS))})")
        item["model"] = item["model"] or known.model
        if item["normalization"] is None:
            item["normalization"] = known.normalization if known and not entry.get("model") \
                else "percentile"
        defaults = dict(known.parameters) if known and not entry.get("model") else {}
        item["parameters"] = {**defaults, **(item["parameters"] or {})}
        for key, value in (("normalization", item["normalization"]),
                           ("threshold", item["threshold"]), *(
                               (f"parameters.{k}", v) for k, v in item["parameters"].items())):
            if isinstance(value, list) and not value:  # would sweep nothing: drop the paradigm
                fail(f"[[paradigm]] {name}: {key}", value,
                     "a value or a non-empty list (an empty list would drop the paradigm)")
        for key in ("normalization", "threshold"):
            for value in item[key] if isinstance(item[key], list) else [item[key]]:
                if key == "normalization" and value not in ("percentile", "max", "none"):
                    fail(f"[[paradigm]] {name}: normalization", value,
                         "percentile, max or none (or a list of them)")
                if key == "threshold" and not (isinstance(value, (int, float)) and value > 0):
                    fail(f"[[paradigm]] {name}: threshold", value, "a number > 0 or a list")
        for key, value in item["parameters"].items():
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, bool) or not isinstance(one, (int, float, str)) or (
                        isinstance(one, str) and not _reads_as_quantity(one)):
                    fail(f"[[paradigm]] {name}: parameters.{key}", one,
                         "a number, a quantity string like \"20*ms\", or a list of them")
        paradigms.append(item)
    return {"sweep": sweep, "ann": ann, "paradigm": paradigms}


def _reads_as_quantity(text):
    """True where ``text`` is a number with an optional Brian2 unit ("20*ms", "0.5 ms")."""
    from .equations.units import parse_quantity
    from .errors import ParameterError

    try:
        parse_quantity(text)
    except ParameterError:
        return False
    return True


def variants(config):
    """Expand each paradigm's lists (parameters, normalization, threshold) into variants.

    Returns
    -------
    list of dict
        ``label`` (the name, plus the swept values in brackets), ``name``, ``model``,
        ``normalization``, ``threshold`` and ``parameters`` (single values).
    """
    result = []
    for item in config["paradigm"]:
        grid = {"normalization": item["normalization"], "threshold": item["threshold"],
                **{f"parameters.{k}": v for k, v in item["parameters"].items()}}
        swept = [key for key, value in grid.items() if isinstance(value, list)]
        for combo in itertools.product(*[v if isinstance(v, list) else [v] for v in grid.values()]):
            values = dict(zip(grid, combo))
            shown = ", ".join(f"{key.split('.')[-1]}={values[key]}" for key in swept)
            label = item["name"] + (f"[{shown}]" if swept else "")
            result.append({"label": label, "name": item["name"], "model": item["model"],
                           "normalization": values.pop("normalization"),
                           "threshold": float(values.pop("threshold")),
                           "parameters": {k.split(".", 1)[1]: v for k, v in values.items()}})
    return result


def _data_identity(name, data_dir):
    """sha256 of a dataset's train and test arrays (loads them; raises DataError if missing)."""
    from .comparison import fingerprint
    from .data import load_dataset

    return fingerprint(*load_dataset(name, "train", data_dir), *load_dataset(name, "test",
                                                                                data_dir))


def plan(config):
    """The sweep's points, each a JSON-able dict with its content key ``key``."""
    from .comparison import fingerprint

    sweep = config["sweep"]
    identity = {name: _data_identity(name, sweep["data_dir"]) for name in sweep["datasets"]}
    settings = {key: sweep[key] for key in ("steps", "samples", "calibration", "device",
                                            "batch_size", "data_dir")}
    points = []
    for variant, dataset, seed in itertools.product(variants(config), sweep["datasets"],
                                                    sweep["seeds"]):
        point = {"variant": variant, "dataset": dataset, "seed": seed, "ann": config["ann"],
                 "data_sha256": identity[dataset], **settings}
        point["ann_key"] = fingerprint(json.dumps([config["ann"], seed, identity[dataset]],
                                                   sort_keys=True))
        point["key"] = fingerprint(json.dumps(point, sort_keys=True))
        points.append(point)
    return points


def _atomic_json(record, path):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(fd, "w") as file:
        json.dump(record, file, indent=1)
    os.replace(tmp, path)


def _worker_cache(cache):
    """The ``BRAINCONV_CACHE`` a worker uses under a cache policy (see the module docstring)."""
    from .simulation import cache_root

    if cache == "shared":
        return str(cache_root().parent)
    if cache != "per-worker":
        return str(Path(cache).expanduser())
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):  # not on a Dask worker
        name = f"pid{os.getpid()}"
    return str(cache_root().parent / "workers" / name.replace(os.sep, "_"))


def _trained_ann(point, x, y, folder):
    """Train the point's ANN or load it from ``folder`` (cached by content, one trainer)."""
    from .ann import load_ann, save_ann, train_ann
    from .cache import FileLock

    path = folder / f"{point['ann_key']}.npz"
    with FileLock(path):  # other workers wait for the one training it, then load it
        if path.exists():
            try:
                return load_ann(path)
            except BrainconvError:
                pass  # damaged: train it again
        spec = point["ann"]
        ann = train_ann(x, y, hidden=tuple(spec["hidden"]), epochs=spec["epochs"],
                        seed=point["seed"], activation=spec["activation"],
                        learning_rate=spec["learning_rate"], data_name=point["dataset"])
        save_ann(ann, path)
        return ann


def point_path(out, point):
    """The result file of ``point`` under the sweep folder ``out``."""
    return Path(out) / "points" / f"{point['key']}.nc"


def _reusable(path, key):
    from .results import load_cached

    return load_cached(path, key) is not None


def run_point(point, out, cache="per-worker"):
    """Compute one point and save it (runs on a Dask worker; safe to call directly).

    Returns
    -------
    dict
        ``key``, ``status`` (``"reused"``, ``"done"`` or ``"failed"``), ``seconds`` and, for
        a failure, ``error``.
    """
    from .devices.binary import TemporaryEnvironment
    from .data import load_dataset
    from .equations.units import parse_quantity
    from .pipeline import Paradigm, run_paradigm
    from .results import save_results

    path, start = point_path(out, point), time.perf_counter()
    failure = path.with_suffix(".failed.json")
    with _PROCESS_LOCK:
        if _reusable(path, point["key"]):
            return {"key": point["key"], "status": "reused", "seconds": 0.0}
        try:
            with TemporaryEnvironment(BRAINCONV_CACHE=_worker_cache(cache)):
                x_train, y_train = load_dataset(point["dataset"], "train", point["data_dir"])
                x, y = load_dataset(point["dataset"], "test", point["data_dir"])
                if point["samples"]:
                    x, y = x[:point["samples"]], y[:point["samples"]]
                ann = _trained_ann(point, x_train, y_train, Path(out) / "anns")
                variant = point["variant"]
                paradigm = Paradigm(variant["model"], variant["normalization"], {
                    k: parse_quantity(v) if isinstance(v, str) else v
                    for k, v in variant["parameters"].items()}, threshold=variant["threshold"])
                # One binary per point: the sweep's parallelism is its points.
                ds = run_paradigm(ann, paradigm, x, y, point["steps"],
                                  calibration=x_train[:point["calibration"]],
                                  device=point["device"], batch_size=point["batch_size"],
                                  processes=1,
                                  attrs={"paradigm": variant["label"],
                                         "dataset": point["dataset"], "seed": point["seed"],
                                         "cache_key": point["key"]})
            save_results(ds, path)
            failure.unlink(missing_ok=True)
            return {"key": point["key"], "status": "done",
                    "seconds": time.perf_counter() - start}
        except Exception as exc:  # any failure of one point is recorded; the sweep goes on
            import traceback

            message = f"{type(exc).__name__}: {exc}"
            _atomic_json({"key": point["key"], "error": message, "point": point,
                          "traceback": traceback.format_exc()}, failure)
            return {"key": point["key"], "status": "failed", "error": message,
                    "seconds": time.perf_counter() - start}


def combine(config, points, out):
    """Gather the saved points into one Dataset with the sweep dimensions as coordinates.

    Returns
    -------
    xarray.Dataset
        Dims ``variant``, ``dataset``, ``seed``, ``time`` (1..steps); variables ``accuracy``
        (after the last step), ``accuracy_over_time``, ``ann_accuracy``, ``spikes_per_step``
        (first hidden layer, per neuron per step, all steps), ``spikes_per_sample`` (all
        layers), ``time_to_target`` (with ``[sweep] target``), ``failed`` (1 where the point
        failed) and ``error`` (its message, else ""). Coordinates along ``variant``:
        ``paradigm``, ``model``, ``normalization``, ``threshold`` and ``param_<name>`` for
        each model parameter (NaN, or "" for quantity strings, where a variant lacks it).
    """
    from .analysis import accuracy_over_time, spikes_per_timestep, time_to_accuracy
    from .results import load_results

    sweep, labels = config["sweep"], [v["label"] for v in variants(config)]
    shape = (len(labels), len(sweep["datasets"]), len(sweep["seeds"]))
    steps = sweep["steps"]
    fields = {name: np.full(shape, np.nan) for name in
              ("accuracy", "ann_accuracy", "spikes_per_step", "spikes_per_sample",
               "time_to_target")}
    curves, error = np.full(shape + (steps,), np.nan), np.full(shape, "", dtype=object)
    for point in points:
        index = (labels.index(point["variant"]["label"]), sweep["datasets"].index(point["dataset"]),
                 sweep["seeds"].index(point["seed"]))
        path = point_path(out, point)
        failure = path.with_suffix(".failed.json")
        if not _reusable(path, point["key"]):
            error[index] = (json.loads(failure.read_text())["error"] if failure.exists()
                            else "not computed (the sweep was interrupted)")
            continue
        ds = load_results(path)
        curves[index] = accuracy_over_time(ds).values
        fields["accuracy"][index] = curves[index][-1]
        fields["ann_accuracy"][index] = ds.attrs["ann_accuracy"]
        fields["spikes_per_step"][index] = float(spikes_per_timestep(ds).isel(layer=0))
        fields["spikes_per_sample"][index] = float(ds["layer_spikes"].sum()) / ds.sizes["sample"]
        if sweep["target"] is not None:
            reached = time_to_accuracy(ds, sweep["target"])
            fields["time_to_target"][index] = np.nan if reached is None else float(reached)
    if sweep["target"] is None:
        del fields["time_to_target"]
    dims = ("variant", "dataset", "seed")
    data = {name: (dims, values) for name, values in fields.items()}
    data["accuracy_over_time"] = (dims + ("time",), curves)
    data["failed"] = (dims, (error != "").astype(np.int8))
    data["error"] = (dims, error)
    all_variants = variants(config)
    names = sorted({key for v in all_variants for key in v["parameters"]})
    coords = {"variant": labels, "dataset": sweep["datasets"], "seed": sweep["seeds"],
              "time": np.arange(1, steps + 1),
              **{key: ("variant", [v[key] for v in all_variants])
                 for key in ("model", "normalization", "threshold")},
              "paradigm": ("variant", [v["name"] for v in all_variants])}
    for name in names:
        values = [v["parameters"].get(name) for v in all_variants]
        if all(isinstance(value, (int, float, type(None))) for value in values):
            values = np.array([np.nan if value is None else value for value in values], float)
        else:
            values = np.array(["" if value is None else str(value) for value in values], object)
        coords[f"param_{name}"] = ("variant", values)
    return xr.Dataset(data, coords, attrs={
        "kind": "sweep", "device": sweep["device"], "steps": steps,
        "samples": sweep["samples"], "n_points": len(points),
        "n_failed": int((error != "").sum()),
        **({"target": float(sweep["target"])} if sweep["target"] is not None else {})})


def run_sweep(config, workers=None, scheduler=None, client=None, progress=True, notify=print):
    """Run every point of ``config`` on Dask, skip the ones already saved, combine them.

    Parameters
    ----------
    config : dict
        From :func:`load_config` (or :func:`check_config`).
    workers : int, optional
        Worker processes of the ``LocalCluster`` started here (default: one per CPU, at most
        one per point to compute). Ignored with ``scheduler`` or ``client``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) instead of a LocalCluster.
    client : distributed.Client, optional
        A client to use as is (it is not closed).
    progress : bool
        Show a tqdm progress bar over the points (on stderr).
    notify : callable
        Told what happens (``notify(message)``).

    Returns
    -------
    xarray.Dataset
        :func:`combine`'s Dataset, also saved as ``OUT/sweep.nc``; its attributes
        ``n_computed`` and ``n_reused`` count this run's points.
    """
    from .results import check_output_path, save_results

    out = Path(config["sweep"]["out"])
    (out / "points").mkdir(parents=True, exist_ok=True)
    (out / "anns").mkdir(exist_ok=True)
    check_output_path(out / "sweep.nc", "[sweep] out")
    points = plan(config)
    todo = [p for p in points if not _reusable(point_path(out, p), p["key"])]
    counts = {"reused": len(points) - len(todo), "done": 0, "failed": 0}
    notify(f"sweep: {len(points)} points, {counts['reused']} already saved in {out}, "
           f"{len(todo)} to compute")
    if todo:
        from tqdm import tqdm

        bar = tqdm(total=len(points), initial=counts["reused"], unit="point", desc="sweep",
                   disable=not progress, dynamic_ncols=True)
        with _client(client, scheduler, workers or min(os.cpu_count() or 1, len(todo))) as dask:
            from distributed import as_completed

            futures = {dask.submit(run_point, p, str(out.resolve()), config["sweep"]["cache"],
                                   key=f"brainconv-point-{p['key']}", pure=False): p
                       for p in todo}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # the worker died (KilledWorker) or could not run it
                    point = futures[future]
                    result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
                    _atomic_json({"key": point["key"], "error": result["error"], "point": point},
                                 point_path(out, point).with_suffix(".failed.json"))
                counts[result["status"]] += 1
                bar.update(1)
                bar.set_postfix(done=counts["done"], reused=counts["reused"],
                                failed=counts["failed"])
        bar.close()
    result = combine(config, points, out)
    result.attrs.update(n_computed=counts["done"], n_reused=counts["reused"])
    save_results(result, out / "sweep.nc")
    notify(f"sweep: {counts['done']} computed, {counts['reused']} reused, {counts['failed']} "
           f"failed; saved {out / 'sweep.nc'}")
    return result


class _Brian2Import(WorkerPlugin):
    """Dask worker plugin: import Brian2 in the worker's main thread when the worker starts
    (also on workers that join later). Brian2's import installs a SIGINT handler, which Python
    allows only in the main thread, and tasks run in other threads."""

    name = "brainconv-import-brian2"

    def setup(self, worker):
        import brian2  # noqa: F401


class _client:
    """A Dask client: the given one, one connected to ``scheduler``, or a new LocalCluster's."""

    def __init__(self, client, scheduler, workers):
        self.client, self.scheduler, self.workers, self.owned = client, scheduler, workers, []

    def __enter__(self):
        if self.client is not None:
            self.client.register_plugin(_Brian2Import())
            return self.client
        import logging

        from distributed import Client, LocalCluster

        if self.scheduler:
            self.owned = [Client(self.scheduler)]
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            self.owned = [Client(cluster), cluster]
        self.owned[0].register_plugin(_Brian2Import())
        return self.owned[0]

    def __exit__(self, *exc):
        for item in self.owned:
            item.close()
        return False
