"""Run a :class:`NetworkSpec` on a Brian2 device and return an ``xarray.Dataset``.

Devices
-------
``"runtime"``
    Brian2's runtime mode (cython code generation, numpy fallback); fine for small runs.
``"cpp_standalone"``
    Generates, compiles and runs a C++ project. The project depends only on the architecture,
    the number of steps, the batch size and the number of batches, so it is compiled once into a
    cache directory named by a hash of those; later runs, in this process or another, pass the
    inputs and weights as ``run_args`` and recompile nothing. Every run goes through the
    project's manifest, so another process never imports Brian2 at all (:func:`_run_warm`),
    and cuts the samples into one binary per CPU (:func:`plan_processes`).
``"cuda_standalone"``
    The same project generated for NVIDIA GPUs by brian2cuda (see :mod:`brainconv.gpu`); its
    spike monitors are not sorted, which :func:`brainconv.build.collect_results` does not need.
``"numpy"``
    The numpy reference simulator (:mod:`brainconv.reference`), same schedule, no Brian2.
"""

import dataclasses
import functools
import gc
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from . import __version__
from .build import (Recording, build_network, collect, collect_results, is_direct, layer_values,
                    merge_results, result_variables, run_layout)
from .cache import FileLock, cache_dir, digest
from .equations import resolve_model
from .errors import ParameterError, SimulationError, brian2_cause
from .reference import simulate_reference
from .spec import TIMESTEP_MS, check_dt, check_steps, pathway_synapse, pathway_unit, time_base
from .results import add_spike_trains, make_dataset

DEVICES = ("runtime", "cpp_standalone", "cuda_standalone", "numpy")
#: Seconds spent in each stage of the simulations of this process (``brainconv run --profile``).
PROFILE = {}


class _stage:
    """Adds the time spent inside the ``with`` block to :data:`PROFILE` under ``name``."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        PROFILE[self.name] = PROFILE.get(self.name, 0.0) + time.perf_counter() - self.start


def _import_brian2():
    """Import Brian2 (seconds on first import, sympy included), timed as a profile stage."""
    with _stage("import brian2 (and sympy)"):
        import brian2  # noqa: F401


#: Samples per batch. Small batches keep a batch's state and synapses in a CPU's L1/L2 cache;
#: 16 was fastest for 784-500-10 on 2 cores (8: same, 32: +20 %, 128: +60 %).
DEFAULT_BATCH_SIZE = 16


#: Memory of a standalone synapse (indices, weight, spike-queue and bookkeeping entries).
BYTES_PER_SYNAPSE = 65
#: Memory of a standalone neuron with its TimedArray current per batch (generous).
BYTES_PER_NEURON = 64
#: Synapses per batch on a CPU beyond which larger batches got slower (converted MNIST CNN,
#: 1.9e6 synapses per sample: batch 2 ran 2.5x numpy's time, batch 8 2.8x, batch 32 4.3x).
CPU_SYNAPSE_BUDGET = 4_000_000
#: Synapses per batch on a GPU: every batch copy's synapse indices are generated in Python and
#: written into the project, so far larger batches spend longer there than on the GPU.
GPU_SYNAPSE_BUDGET = 20_000_000


def choose_batch_size(spec, n_samples, device="cpp_standalone", memory_bytes=None):
    """Samples to replicate per group: cache-sized on a CPU, as many as fit on a GPU.

    Parameters
    ----------
    spec : NetworkSpec
    n_samples : int
    device : str
    memory_bytes : int, optional
        Memory to fill; default a quarter of the GPU's memory (``nvidia-smi``) for
        ``cuda_standalone`` and 2 GiB otherwise.

    Returns
    -------
    int
        On a CPU ``DEFAULT_BATCH_SIZE``, or fewer when a batch would exceed
        ``CPU_SYNAPSE_BUDGET`` replicated synapses (direct pathways, which store their
        weights once, do not count) or the memory; on a GPU the largest
        batch whose synapses and neurons fit into ``memory_bytes`` and within
        ``GPU_SYNAPSE_BUDGET`` synapses; never more than
        ``n_samples`` and never less than 1.
    """
    # Synapses stored per batch copy: a direct pathway (cpp_standalone) stores its weights once.
    synapses = sum(_stored_entries(layer.weights) for index, layer in enumerate(spec.layers)
                   if index > 0 and not is_direct(spec, index, device))
    per_sample = BYTES_PER_SYNAPSE * synapses + BYTES_PER_NEURON * sum(spec.layer_sizes)
    if memory_bytes is None:
        memory_bytes = _gpu_memory_bytes() // 4 if device == "cuda_standalone" else 2**31
    fits = max(1, int(memory_bytes // per_sample))
    if device == "cuda_standalone":
        wanted = min(fits, max(1, GPU_SYNAPSE_BUDGET // max(synapses, 1)))
    else:
        wanted = min(DEFAULT_BATCH_SIZE, fits, max(1, CPU_SYNAPSE_BUDGET // max(synapses, 1)))
    return max(1, min(wanted, int(n_samples)))


def _stored_entries(weights):
    return weights.nnz if hasattr(weights, "nnz") else weights.size


def _gpu_memory_bytes():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,"
                              "nounits"], capture_output=True, text=True, check=True).stdout
        return int(out.split()[0]) * 2**20
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return 8 * 2**30  # a modest GPU when the query fails


def cache_root():
    """Directory holding compiled standalone projects (``$BRAINCONV_CACHE`` or ~/.cache)."""
    return cache_dir("standalone")


class StandaloneProject:
    """A compiled ``cpp_standalone`` project for one architecture, steps and batch layout.

    Brian2's standalone device is a process-wide singleton, so only the most recently built
    project can be run through Brian2 (``cuda_standalone``; :func:`run_network` keeps it and
    rebuilds when the layout changes). A ``cpp_standalone`` project writes a manifest and runs
    from it, in this process as in any other (:func:`_run_warm`).
    """

    _current = None

    def __init__(self, spec, steps, batch_size, n_batches, directory=None,
                 device="cpp_standalone", dt_ms=TIMESTEP_MS, notify=None, recording=None):
        import brian2
        from brian2.devices.device import reset_device

        # Brian2 names code objects uniquely among the live ones ("..._codeobject_1" when an
        # older project is still alive). Freeing the old project keeps the generated code,
        # and so the compiled objects in the cache, identical from one build to the next.
        StandaloneProject._current = None

        if device == "cuda_standalone":
            from .gpu import configure_cuda

            configure_cuda()
        self.key = self.layout_key(spec, steps, batch_size, n_batches, device, dt_ms,
                                   recording)
        self.directory = Path(directory) if directory else cache_root() / self.key
        notify = notify or (lambda message: None)
        # Another process (a second `brainconv run`, a sweep worker) may be building or running
        # this very layout: wait for it, then reuse its binary.
        lock = FileLock(self.directory).__enter__()
        #: A binary from an earlier process is reused; make only recompiles what changed.
        self.from_cache = (self.directory / "main").exists()
        if not self.from_cache:
            notify(f"compiling the {device} project for this layout (once per layout, "
                   f"~20 s) in {self.directory}")
        zeros = np.zeros((n_batches * batch_size, spec.layers[0].size))
        brian2.set_device(device, build_on_run=False)
        try:
            brian2.device.reinit()
            gc.collect()
            brian2.device.activate(build_on_run=False)
            # Placeholders: the real values arrive as run_args, so the project (and its
            # compiled binary) depends on the layout only.
            placeholders = layer_values(spec, zeros, batch_size, device)
            self.value_shapes = {key: value.shape for key, value in placeholders.items()}
            self.built = build_network(spec, steps, batch_size, n_batches, placeholders, dt_ms,
                                       recording)
            self.built.network.run(self.built.duration, namespace={})
            start = time.perf_counter()
            self.directory.mkdir(parents=True, exist_ok=True)
            try:
                brian2.device.build(directory=str(self.directory), compile=True, run=False,
                                    with_output=False)
            except Exception as exc:
                if not any(self.directory.iterdir()) or "compil" not in str(exc).lower():
                    raise
                # A truncated object file or binary left by an interrupted build makes every
                # later make fail the same way: start again from an empty project folder.
                notify(f"the cached project in {self.directory} did not compile "
                       f"({brian2_cause(exc)}); deleting it and building it again")
                _clear_directory(self.directory)
                self.from_cache = False
                brian2.device.build(directory=str(self.directory), compile=True, run=False,
                                    with_output=False)
            if device == "cpp_standalone":
                _write_manifest(self, spec)
            self.build_seconds = time.perf_counter() - start
            self.device = brian2.get_device()
        except Exception as exc:
            if isinstance(exc, SimulationError):
                raise
            cause = _failure(exc, spec)
            hint = ("Check that a C++ compiler (g++; nvcc for CUDA) is installed and works, or "
                    "use device='runtime'." if "compil" in str(exc).lower() else
                    "Check the model's equations and parameters.")
            raise SimulationError(
                f"building the {device} project in {self.directory} failed: {cause}. {hint}"
            ) from exc
        finally:
            reset_device()
            lock.__exit__()
        StandaloneProject._current = self

    @staticmethod
    def layout_key(spec, steps, batch_size, n_batches, device="cpp_standalone",
                   dt_ms=TIMESTEP_MS, recording=None):
        """Hash of everything the generated code depends on."""
        from .build import BATCH_CLOCK_SHRINK

        return digest(spec.architecture, steps, batch_size, n_batches, float(dt_ms),
                      brian2_version(), __version__, BATCH_CLOCK_SHRINK, device, recording)[:16]

    def run(self, spec, values, n_samples, progress=False):
        """Run the compiled binary with new inputs and weights; return the raw results.

        ``progress=True`` lets the binary print samples done and an ETA to stderr.
        """
        built = self.built
        run_args = {}
        for index, current in enumerate(built.currents):
            run_args[current] = values[("current", index)]
        for index, pathway in enumerate(built.synapses, start=1):
            run_args[pathway.w] = values[("weights", index)]
        mismatch = _shape_mismatch(spec, values, self.value_shapes, self.directory)
        if mismatch:
            raise SimulationError(mismatch)
        interrupted = _InterruptFlag()
        try:
            with interrupted, FileLock(self.directory):
                with _environment(BRAINCONV_PROGRESS=str(n_samples) if progress else None), \
                        _stage("binary (run_args in, results out)"):
                    self.device.run(directory=str(self.directory), with_output=False,
                                    run_args=run_args)
                if progress:
                    print(file=sys.stderr, flush=True)  # end the binary's progress line
                with _stage("reading results back"):  # before another process runs the project
                    return collect(built, spec, n_samples)
        except Exception as exc:
            if interrupted.seen:  # Ctrl-C also stopped the binary: not a failure of the project
                raise KeyboardInterrupt from None
            raise SimulationError(f"running the standalone project {self.directory} failed: "
                                  f"{brian2_cause(exc)}") from exc
        finally:
            for name in self.device.run_args_arrays:  # run_args files are per-run copies
                Path(self.directory, "static_arrays", name).unlink(missing_ok=True)


class _InterruptFlag:
    """Context manager noting a SIGINT while the standalone binary runs.

    Ctrl-C reaches the binary too; it exits, and Brian2 reports "Project run failed" (or the
    partial output fails to parse). The flag lets :meth:`StandaloneProject.run` say that the
    user interrupted rather than that the project is broken.
    """

    seen = False

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                self.seen = True
                raise KeyboardInterrupt

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


class _environment:
    """Set (or, for None, remove) environment variables for the duration of a block."""

    def __init__(self, **values):
        self.values = values

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.values}
        for name, value in self.values.items():
            os.environ.pop(name, None) if value is None else os.environ.update({name: value})

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            os.environ.pop(name, None) if value is None else os.environ.update({name: value})
        return False


def _clear_directory(directory):
    """Delete everything inside ``directory`` (a damaged standalone project)."""
    for entry in Path(directory).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@functools.cache
def brian2_version():
    """Brian2's version, read from the installed package's metadata: no ``import brian2``."""
    return importlib.metadata.version("brian2")


def _shape_mismatch(spec, values, shapes, directory):
    """A message for the first of ``values`` whose shape is not ``shapes[key]``, or None.

    The binary only prints an error for a wrong-sized run_args file and then runs on with the
    old values, so shapes are checked in Python.
    """
    for key, shape in shapes.items():
        if np.shape(values[key]) != tuple(shape):
            return (f"{key[0]} of layer {spec.layers[key[1]].name!r} have shape "
                    f"{np.shape(values[key])}, the compiled project {directory} expects "
                    f"{tuple(shape)}; build a project for this layout")
    return None


# Warm runs: a compiled cpp_standalone project run from another process without Brian2.
#
# When StandaloneProject builds a cpp_standalone project it writes MANIFEST_NAME into the
# project folder: the command-line names, dtypes and shapes of the run_args, the result files
# collect_results reads, the run command and environment, and a fingerprint of the code it was
# generated from. A later process with no live project of that layout writes its run_args
# files, runs the binary and reads the result files itself (_run_warm): no import of Brian2
# (and sympy), no rebuilt network, no md5 of every input, no read-back of every array.

#: Version of the manifest format; a manifest of another version is ignored (the project is
#: then run the Brian2 way, which writes a new manifest).
MANIFEST_VERSION = 1
MANIFEST_NAME = "brainconv_manifest.json"


def _write_manifest(project, spec):
    """Write the manifest of a just-built cpp_standalone ``project`` (atomically)."""
    import brian2

    from .cache import atomic_write

    device, built = brian2.get_device(), project.built
    owners = {("current", index): (current, "values")
              for index, current in enumerate(built.currents)}
    owners.update({("weights", index): (pathway, "w")
                   for index, pathway in enumerate(built.synapses, start=1)})
    run_args = []
    for key, shape in project.value_shapes.items():
        owner, variable = owners[key]
        unit = pathway_unit(spec, key[1]) if key[0] == "weights" else None
        dtype = owner.values.dtype if variable == "values" else owner.variables["w"].dtype
        run_args.append({"key": list(key), "name": f"{owner.name}.{variable}",
                         "dtype": np.dtype(dtype).str, "shape": list(shape),
                         "scale": float(getattr(brian2, unit)) if unit else 1.0})
    results = {name: {"file": device.get_array_filename(variable),
                      "dtype": np.dtype(variable.dtype).str,
                      "size": None if variable.dynamic else int(variable.size)}
               for name, variable in result_variables(built, spec).items()}
    run_cmd = brian2.prefs.devices.cpp_standalone.run_cmd_unix
    manifest = {
        "version": MANIFEST_VERSION, "key": project.key, "code": _code_fingerprint(spec),
        "run_cmd": [run_cmd] if isinstance(run_cmd, str) else list(run_cmd),
        "environment": {**brian2.prefs.devices.cpp_standalone.run_environment_variables,
                        **device.run_environment_variables},
        "layout": run_layout(built), "run_args": run_args, "results": results}
    atomic_write(project.directory / MANIFEST_NAME,
                 lambda path: Path(path).write_text(json.dumps(manifest, indent=1)))


def _code_fingerprint(spec):
    """Digest of what the project's code is generated from besides its layout key.

    brainconv's sources (an edited checkout) and the definitions of the layers' neuron and
    synapse models (a user's model file edited under the same model name): the Brian2 path
    regenerates the code and make recompiles what changed, but a warm run would run the old
    binary, so it trusts a manifest only with the same fingerprint.
    """
    from . import equations

    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted([*package.rglob("*.py"), *package.glob("templates/*"),
                        *Path(equations.__file__).parent.glob("*.py")]):
        digest.update("/".join(path.parts[-2:]).encode() + path.read_bytes())
    for index, layer in enumerate(spec.layers):
        for model in (resolve_model(layer.model, layer.parameters),
                      pathway_synapse(spec, index)[0]):
            digest.update(repr({field.name: getattr(model, field.name)
                                for field in dataclasses.fields(model)
                                if not callable(getattr(model, field.name))}).encode())
    return digest.hexdigest()


class _StaleManifest(Exception):
    """The manifest does not fit this run or the project's output: use the Brian2 path."""


def _read_manifest(directory, key, spec):
    """The manifest of the project in ``directory`` built for layout ``key`` from the code
    ``spec`` would generate now, or None."""
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION
            or manifest.get("key") != key or not (directory / "main").is_file()
            or manifest.get("code") != _code_fingerprint(spec)):
        return None
    return manifest


def _run_warm(spec, currents, batch_size, directory, key, notify, progress, repair=True):
    """Run the compiled project in ``directory`` from its manifest, without Brian2.

    The project simulates ``n_batches`` batches (its layout); longer inputs are cut into shares
    of that many batches, whose binaries run side by side, each with its own run_args and
    results folder (:func:`plan_processes`). Samples are independent, so the merged results
    equal one long run's.

    Returns
    -------
    dict or None
        The results of :func:`brainconv.build.collect_results`, or None where the project has no
        valid manifest for this run, or (``repair``) its binary fails: the caller then takes the
        Brian2 path, which rebuilds what is missing.
    """
    interrupted = _InterruptFlag()
    written = []
    with interrupted, FileLock(directory):
        manifest = _read_manifest(directory, key, spec)
        if manifest is None:
            return None
        try:
            share = manifest["layout"]["n_batches"] * batch_size
            starts = range(0, len(currents), share)
            arguments = []
            for number, first in enumerate(starts):
                with _stage("inputs and weights for the run"):
                    values = layer_values(spec, currents[first:first + share], batch_size,
                                          "cpp_standalone", quantities=False,
                                          n_batches=manifest["layout"]["n_batches"])
                with _stage("writing run_args"):
                    arguments.append(_write_run_args(spec, values, manifest, directory, key,
                                                     number, written))
            results = [directory / "results" / str(number) for number in range(len(starts))]
            failure = _run_binaries(manifest, directory, results, arguments, len(currents),
                                    progress)
            if failure:
                if interrupted.seen:  # Ctrl-C stopped the binary too
                    raise KeyboardInterrupt
                if not repair:
                    raise SimulationError(f"running the standalone project {directory} "
                                          f"failed: {failure}")
                # A damaged binary ("Exec format error"): the Brian2 path links it afresh.
                (notify or print)(f"the cached binary in {directory} failed to run "
                                  f"({failure}); deleting it and building it again")
                (directory / "main").unlink(missing_ok=True)
                return None
            with _stage("reading results back"):
                try:
                    parts = [collect_results(_result_reader(manifest, folder), spec,
                                             len(currents[first:first + share]),
                                             manifest["layout"])
                             for folder, first in zip(results, starts)]
                except (KeyError, TypeError, ValueError) as exc:  # output not as manifested
                    raise _StaleManifest from exc
                return parts[0] if len(parts) == 1 else merge_results(parts, share)
        except _StaleManifest:
            return None  # the Brian2 path builds the project again and writes a new manifest
        except OSError as exc:
            raise SimulationError(f"running the standalone project {directory} failed: "
                                  f"{exc}") from exc
        finally:
            for path in written:
                path.unlink(missing_ok=True)


def _write_run_args(spec, values, manifest, directory, key, share, written):
    """Write each run_args value of share number ``share`` to ``static_arrays``; return the
    binary's arguments.

    Weights are the same for every share and written once. Paths written are appended to
    ``written`` as they are created (for the caller to delete).
    """
    try:
        entries = {tuple(entry["key"]): entry for entry in manifest["run_args"]}
        shapes = {key: entry["shape"] for key, entry in entries.items()}
        if set(entries) != set(values) or _shape_mismatch(spec, values, shapes, directory):
            raise _StaleManifest
        arguments = []
        for value_key, entry in entries.items():
            kind, index = value_key
            name = f"brainconv_{key}_{kind}_{index}" + (f"_{share}" if kind == "current" else "")
            path = directory / "static_arrays" / f"{name}.dat"
            arguments.append(f"{entry['name']}=static_arrays/{name}.dat")
            if path in written:  # weights, written for an earlier share
                continue
            written.append(path)
            array = np.asarray(values[value_key], dtype=np.dtype(entry["dtype"]))
            if entry["scale"] != 1.0:  # plain numbers in a Brian2 unit -> SI
                array = array * entry["scale"]
            np.ascontiguousarray(array).tofile(path)
    except (KeyError, TypeError, ValueError) as exc:
        raise _StaleManifest from exc
    return arguments


def _run_binaries(manifest, directory, results, arguments, n_samples, progress):
    """Run the project's binary once per share, side by side (stdout of each into its results
    folder's ``stdout.txt``, as Brian2 does); the first share reports progress for all.

    Returns
    -------
    str or None
        Why a binary failed (exit status and the end of its output), or None.
    """
    environment = {**os.environ, **manifest["environment"]}
    for name in ("BRAINCONV_PROGRESS", "BRAINCONV_PROCESSES"):
        environment.pop(name, None)
    running = []
    try:
        with _stage("binary"):
            for number, (folder, share_arguments) in enumerate(zip(results, arguments)):
                folder.mkdir(parents=True, exist_ok=True)
                reports = progress and number == 0
                with open(folder / "stdout.txt", "w") as stdout:
                    running.append(subprocess.Popen(
                        manifest["run_cmd"] + ["--results_dir", f"{folder}{os.sep}"]
                        + share_arguments, cwd=directory, stdout=stdout,
                        env=environment | ({"BRAINCONV_PROGRESS": str(n_samples),
                                            "BRAINCONV_PROCESSES": str(len(results))}
                                           if reports else {})))
            statuses = [binary.wait() for binary in running]
    except OSError as exc:  # e.g. "Exec format error" of a damaged binary
        return str(exc)
    finally:
        for binary in running:  # Ctrl-C or a failed start: stop the others too
            if binary.poll() is None:
                binary.kill()
                binary.wait()
        if progress:
            print(file=sys.stderr, flush=True)  # end the binary's progress line
    for folder, status in zip(results, statuses):
        if status != 0:
            output = (folder / "stdout.txt").read_text(errors="replace").strip()
            return f"exit status {status}" + (f": {output[-500:]}" if output else "")
    return None


def _result_reader(manifest, results):
    """``read(name)`` of :func:`brainconv.build.collect_results` from the result files."""

    def read(name):
        try:
            entry = manifest["results"][name]
            array = np.fromfile(results / entry["file"], dtype=np.dtype(entry["dtype"]))
        except (KeyError, OSError, TypeError, ValueError) as exc:
            raise _StaleManifest(name) from exc
        if entry["size"] is not None and array.size != entry["size"]:
            raise _StaleManifest(name)
        return array

    return read


def run_network(spec, x, steps, device="cpp_standalone", batch_size=None,
                directory=None, dt=None, notify=None, progress=False, record=None,
                record_layers=None, processes=None):
    """Simulate ``spec`` on inputs ``x``; return plain numpy results.

    ``dt`` is the step in ms of a continuous-time network (default 1 ms; see
    :func:`brainconv.spec.check_dt`); the presentation time per sample is ``steps * dt``.
    ``notify(message)`` is told about compiling and cache repairs; ``progress=True`` makes a
    standalone binary print samples done and an ETA to stderr as it runs. ``record`` (sample
    indices) and ``record_layers`` (layer names, default every spiking layer) choose full spike
    trains to record (:func:`plan_recording`). ``processes`` caps the ``cpp_standalone``
    binaries run side by side (:func:`plan_processes`; default one per CPU).

    Returns
    -------
    dict
        ``output_spikes`` (sample, time, class), ``layer_spikes`` (layer, time),
        ``unit_spike_count`` (neuron), as :func:`brainconv.reference.simulate_reference`;
        ``readout`` (sample, time, class) for a network with a non-spiking readout;
        ``spike_trains`` (flat arrays ``sample``, ``layer``, ``neuron``, ``step``, ``weight``)
        and ``recorded_samples``, ``recorded_layers`` when recording.
    """
    steps = check_steps(steps)
    dt_ms = check_dt(spec, dt)
    check_device(device)
    currents = spec.input_currents(x)  # validates the input before anything is built
    check_memory(spec, len(currents), steps)
    if batch_size is None:
        batch_size = choose_batch_size(spec, len(currents), device)
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ParameterError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    samples, layers = check_record(spec, record, record_layers, len(currents))
    plan_processes(len(currents), int(batch_size), device, processes)  # checks ``processes``
    if device == "numpy":
        return simulate_reference(spec, x, steps, dt_ms=dt_ms,
                                  record=(samples, layers) if samples is not None else None)
    batch_size = min(int(batch_size), len(currents))
    n_batches = -(-len(currents) // batch_size)
    order, recording = None, None
    if samples is not None:
        order, positions, copies = plan_recording(samples, len(currents), batch_size)
        recording = Recording(layers, copies)
        currents = currents[order]
    if device == "runtime":
        _import_brian2()
        with _stage("inputs and weights for the run"):
            values = layer_values(spec, currents, batch_size, device)
        raw = _run_runtime(spec, steps, batch_size, n_batches, values, len(currents), dt_ms,
                           recording)
    else:
        raw = _run_standalone(spec, steps, batch_size, currents, directory, device, dt_ms,
                              notify, progress, recording, processes)
    return raw if order is None else _restore_order(raw, order, positions, samples, layers)


def _run_standalone(spec, steps, batch_size, currents, directory, device, dt_ms, notify,
                    progress, recording, processes):
    """Run on the cached project of this layout, building (or relinking) it when needed.

    ``cpp_standalone`` runs the binary from the project's manifest, without Brian2
    (:func:`_run_warm`), in ``processes`` shares side by side; Brian2 builds the project
    first where it is missing or out of date. ``cuda_standalone`` (and ``cpp_standalone``
    outside POSIX) runs through Brian2, one binary.
    """
    processes, n_batches = plan_processes(len(currents), batch_size, device, processes)
    key = StandaloneProject.layout_key(spec, steps, batch_size, n_batches, device, dt_ms,
                                       recording)
    options = dict(dt_ms=dt_ms, notify=notify, recording=recording)
    if device == "cpp_standalone" and os.name == "posix":  # the manifest's command is POSIX
        folder = Path(directory) if directory else cache_root() / key
        raw = _run_warm(spec, currents, batch_size, folder, key, notify, progress)
        if raw is None:
            _import_brian2()
            with _stage("Brian2 network and project (make)"):
                StandaloneProject(spec, steps, batch_size, n_batches, directory, device,
                                  **options)
            raw = _run_warm(spec, currents, batch_size, folder, key, notify, progress,
                            repair=False)
        if raw is None:  # cannot happen unless the folder is changed under our feet
            raise SimulationError(f"the standalone project in {folder} was built but its "
                                  f"manifest does not fit this run; delete the folder and "
                                  "run again")
        return raw
    project = StandaloneProject._current
    if project is None or project.key != key or (directory and
                                                 Path(directory) != project.directory):
        _import_brian2()
        project = None  # no live reference to the old project while the new one is generated
        with _stage("Brian2 network and project (make)"):
            project = StandaloneProject(spec, steps, batch_size, n_batches, directory, device,
                                        **options)
    with _stage("inputs and weights for the run"):
        values = layer_values(spec, currents, batch_size, device)
    return project.run(spec, values, len(currents), progress)


def available_cpus():
    """CPUs this process may run on (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def plan_processes(n_samples, batch_size, device="cpp_standalone", processes=None):
    """How many binaries share a run, and the batches each simulates.

    A ``cpp_standalone`` binary runs one thread; samples are independent, so the batches are
    cut into equal shares that run side by side, one process per CPU by default. The project
    is compiled for one share's batches (the last share is padded with silent samples).

    Parameters
    ----------
    n_samples, batch_size : int
    device : str
        Other devices run one process.
    processes : int, optional
        Binaries at most (default :func:`available_cpus`).

    Returns
    -------
    (int, int)
        Processes, and batches per process.
    """
    n_batches = -(-n_samples // batch_size)
    if processes is not None and (isinstance(processes, bool) or int(processes) != processes
                                  or processes < 1):
        raise ParameterError(f"processes must be a positive integer or None, got "
                             f"{processes!r}")
    if device != "cpp_standalone" or os.name != "posix":
        if processes not in (None, 1):
            raise ParameterError(f"processes={processes} applies to device='cpp_standalone' "
                                 f"(on Linux or macOS), not to {device!r}; leave it out")
        return 1, n_batches
    wanted = min(int(processes or available_cpus()), n_batches)
    per_process = -(-n_batches // wanted)
    return -(-n_batches // per_process), per_process


def check_record(spec, record, record_layers, n_samples):
    """Validated ``(samples, layer indices)`` to record, or ``(None, None)``.

    Raises
    ------
    ParameterError
        For sample indices that are not distinct integers in ``[0, n_samples)``, an unknown
        layer name, or a non-spiking layer (a readout has no spikes).
    """
    if record is None:
        if record_layers is not None:
            raise ParameterError("record_layers needs record=<sample indices> as well")
        return None, None
    samples = np.asarray(record)
    if (samples.ndim != 1 or len(samples) == 0 or not np.issubdtype(samples.dtype, np.integer)
            or len(np.unique(samples)) != len(samples) or samples.min() < 0
            or samples.max() >= n_samples):
        raise ParameterError(
            f"record must list distinct sample indices in [0, {n_samples}), got {record!r}; "
            "e.g. record=[0, 1, 2]")
    names = [layer.name for layer in spec.layers]
    spiking = [name for name, layer in zip(names, spec.layers)
               if resolve_model(layer.model, layer.parameters).spiking]
    chosen = spiking if record_layers is None else list(record_layers)
    for name in chosen:
        if name not in spiking:
            raise ParameterError(
                f"record_layers: {name!r} is not a spiking layer of this network; choose from "
                f"{', '.join(spiking)}")
    return samples.astype(np.int64), tuple(sorted(names.index(name) for name in chosen))


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
    restored = dict(raw)
    for key in ("output_spikes", "readout"):
        if key in raw:
            restored[key] = np.empty_like(raw[key])
            restored[key][order] = raw[key]
    trains = raw["spike_trains"]
    sample_at = np.full(len(order), -1, dtype=np.int64)  # position -> recorded sample, or -1
    sample_at[positions] = samples
    sample = sample_at[trains["position"]]
    keep = sample >= 0  # the monitored copies also run samples nobody asked for
    restored["spike_trains"] = {
        "sample": sample[keep],
        **{key: trains[key][keep] for key in ("layer", "neuron", "step", "weight")}}
    restored["recorded_samples"], restored["recorded_layers"] = samples, layers
    return restored


def _failure(exc, spec):
    """Brian2's root cause of ``exc``, prefixed by the layer and model of the failing object."""
    error, name = exc, None
    while error is not None and name is None:  # BrianObjectException knows the object
        name = getattr(error, "_brian_objname", None)
        error = error.__cause__ or error.__context__
    layer = next((layer for layer in spec.layers if name and
                  (name == layer.name or name.startswith(layer.name + "_"))), None)
    where = f"layer {layer.name!r} (model {layer.model!r}): " if layer else (
        f"object {name!r}: " if name else "")
    return where + brian2_cause(exc)


def check_device(device):
    """Raise unless ``device`` is known and, for ``cuda_standalone``, a GPU is there.

    Raises
    ------
    ParameterError
        For an unknown device name.
    SimulationError
        For ``cuda_standalone`` without brian2cuda or without an NVIDIA GPU and driver.
    """
    if device not in DEVICES:
        raise ParameterError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if device == "cuda_standalone":
        from .gpu import gpu_available

        if not gpu_available():
            raise SimulationError(
                "device 'cuda_standalone' needs brian2cuda and an NVIDIA GPU with its driver, "
                "but no GPU was found (nvidia-smi missing or listing none, or brian2cuda not "
                "installed); on this machine use device='cpp_standalone' (compiled C++ on the "
                "CPU), or install brian2cuda as the README's GPU section says")


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


def check_memory(spec, n_samples, steps, available=None):
    """Refuse a run whose results alone cannot fit into memory, before any work starts.

    The results hold every output neuron's spikes in every step of every sample, so
    ``n_samples * steps * classes`` entries are allocated whatever the device.

    Raises
    ------
    ParameterError
        Naming the sizes, the bytes needed and available, and the fix.
    """
    if n_samples < 1:
        raise ParameterError("no samples to simulate (0 input rows); pass at least one")
    needed = BYTES_PER_OUTPUT_ENTRY * n_samples * steps * spec.layers[-1].size
    available = _available_memory() if available is None else available
    if available is not None and needed > available:
        raise ParameterError(
            f"{n_samples} samples x {steps} steps x {spec.layers[-1].size} classes need about "
            f"{needed / 2**30:.1f} GiB for the results, but {available / 2**30:.1f} GiB of "
            "memory are available; simulate fewer steps, or fewer samples per call (e.g. "
            "--limit)")


def _run_runtime(spec, steps, batch_size, n_batches, values, n_samples, dt_ms=TIMESTEP_MS,
                 recording=None):
    import brian2
    from brian2.devices.device import reset_device

    brian2.set_device("runtime")
    try:
        built = build_network(spec, steps, batch_size, n_batches, values, dt_ms, recording)
        built.network.run(built.duration, namespace={})
        return collect(built, spec, n_samples)
    except Exception as exc:
        if isinstance(exc, SimulationError):
            raise
        raise SimulationError(f"the runtime simulation failed: {_failure(exc, spec)}") from exc
    finally:
        reset_device()


def simulate(spec, x, labels, steps, device="cpp_standalone", batch_size=None,
             directory=None, attrs=None, dt=None, window=None, notify=None, progress=False,
             record=None, record_layers=None, processes=None):
    """Simulate ``spec`` on ``x`` and return the results as an ``xarray.Dataset``.

    Parameters
    ----------
    spec : NetworkSpec
    x : ndarray, shape (n_samples, n_inputs)
    labels : ndarray, shape (n_samples,)
    steps : int
        Timesteps per sample.
    device : {"cpp_standalone", "runtime", "numpy"}
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
    """
    labels = np.asarray(labels)
    if labels.shape != (len(np.asarray(x)),):
        raise ParameterError(
            f"labels have shape {labels.shape}, expected ({len(np.asarray(x))},): one label per "
            "input row"
        )
    if batch_size is None:
        batch_size = choose_batch_size(spec, len(labels), device)
    dt_ms = check_dt(spec, dt)
    continuous = time_base(spec) == "continuous"
    if window is not None and "readout" not in [layer.model for layer in spec.layers[-1:]]:
        raise ParameterError("a classification window applies to a network with a "
                             "non-spiking readout (convert(..., readout='filtered'))")
    raw = run_network(spec, x, steps, device, batch_size, directory, dt_ms, notify, progress,
                      record, record_layers, processes)
    from .provenance import provenance_attrs

    all_attrs = {
        "brian2_version": brian2_version(),
        "device": device,
        **provenance_attrs(spec),  # model, parameters per layer, normalization, threshold
        **({"synapse": ",".join(layer.synapse for layer in spec.layers[1:]) or "none"}
           if continuous else {}),
        "dt": f"{dt_ms} ms",
        "batch_size": int(batch_size),
        **(attrs or {}),
    }
    ds = make_dataset(raw["output_spikes"], labels, raw["layer_spikes"],
                      raw["unit_spike_count"], [layer.name for layer in spec.layers],
                      list(spec.layer_sizes), all_attrs, dt_ms=dt_ms if continuous else None,
                      readout=raw.get("readout"), window=window)
    if "spike_trains" in raw:
        ds = add_spike_trains(ds, raw["spike_trains"], raw["recorded_samples"],
                              raw["recorded_layers"])
    ds.attrs.update(_energy_attrs(ds, spec, window))
    return ds


def _energy_attrs(ds, spec, window):
    """Hunsberger & Eliasmith's energy figures of a run (eq. 4-5), as result attributes.

    Synaptic events of the spiking layers and one update per neuron per step are counted; the
    analog input ``W0 x`` is not (the paper's convention, :mod:`brainconv.energy`). ``c1`` is
    the end of the classification window, or the whole presentation.
    """
    from .energy import energy_summary

    figures = energy_summary(ds, spec, c1=None if window is None else window[1] / 1000)
    return {"energy_synops_per_s": figures["synops_per_s"],
            "energy_updates_per_s": figures["updates_per_s"],
            "energy_c1_s": figures["c1_s"],
            "energy_snn_flops": figures["snn_energy"],
            "energy_ann_flops": figures["ann_flops"],
            "energy_efficiency": figures["efficiency"],
            "energy_first_layer": figures["first_layer"]}
