"""The ``cpp_standalone`` backend: a C++ project compiled once per layout, run many times.

The project depends only on the architecture, the number of steps, the batch size and the
number of batches, so it is compiled once into a cache folder named by a hash of those
(:meth:`StandaloneProject.layout_key`); later runs, in this process or another, pass the inputs
and weights as ``run_args`` and recompile nothing. Every run goes through the project's
manifest, so another process never imports Brian2 at all (:mod:`.warm`), and cuts the samples
into one binary per CPU (:meth:`CppStandaloneDevice.plan_processes`). Outside POSIX (the
manifest's run command is a POSIX one) the project runs through Brian2, one binary.
"""

import functools
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..cache import FileLock, cache_dir, digest
from ..errors import SimulationError, brian2_cause
from ..spec import TIMESTEP_MS
from .binary import InterruptFlag, TemporaryEnvironment, shape_mismatch
from . import (Device, available_cpus, brian2_device, brian2_failure, brian2_version,
               float_prefs, get_device, import_brian2, register_device, stage)

__all__ = ["CppStandaloneDevice", "StandaloneProject", "cache_root", "compile_interrupted"]


def cache_root():
    """Directory holding compiled standalone projects (``$BRAINCONV_CACHE`` or ~/.cache)."""
    return cache_dir("standalone")


#: brainconv's code-object templates (threshold, pathway), compiled into every project.
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@functools.cache
def templates_digest():
    """sha256 of the templates' names and text: part of every project's layout key."""
    return digest(*((path.name, path.read_text()) for path in sorted(TEMPLATES.iterdir())
                    if path.is_file()))


class StandaloneProject:
    """A compiled standalone project for one architecture, steps and batch layout.

    Brian2's standalone device is a process-wide singleton, so only the most recently built
    project can be run through Brian2 (``cuda_standalone``; the backend keeps it and rebuilds
    when the layout changes). A ``cpp_standalone`` project writes a manifest and runs from it,
    in this process as in any other (:func:`brainconv.devices.warm.run_warm`).

    Parameters
    ----------
    spec : NetworkSpec
    steps, batch_size, n_batches : int
        The layout: timesteps per sample, samples per batch, batches per run.
    directory : path, optional
        Project folder (default: a cache folder per layout, :func:`cache_root`).
    device : str or Device
        A standalone backend (``"cpp_standalone"`` or ``"cuda_standalone"``).
    dt_ms : float
    notify : callable, optional
        ``notify(message)`` is told when the project is compiled or a damaged one rebuilt.
    recording : Recording, optional
    precision : {"float64", "float32"}
    per_step : bool
        The first layer's input current changes from step to step (frames).
    """

    _current = None

    def __init__(self, spec, steps, batch_size, n_batches, directory=None,
                 device="cpp_standalone", dt_ms=TIMESTEP_MS, notify=None, recording=None,
                 precision="float64", per_step=False):
        import brian2

        from ..build import build_network, layer_values, placeholder

        # Brian2 names code objects uniquely among the live ones ("..._codeobject_1" when an
        # older project is still alive). Freeing the old project keeps the generated code,
        # and so the compiled objects in the cache, identical from one build to the next.
        StandaloneProject._current = None
        backend = get_device(device)
        backend.configure()
        self.key = self.layout_key(spec, steps, batch_size, n_batches, backend, dt_ms,
                                   recording, precision, per_step)
        self.directory = Path(directory) if directory else cache_root() / self.key
        notify = notify or (lambda message: None)
        # Another process (a second `brainconv run`, a sweep worker) may be building or running
        # this very layout: wait for it, then reuse its binary.
        with FileLock(self.directory):
            #: A binary from an earlier process is reused; make only recompiles what changed.
            self.from_cache = (self.directory / "main").exists()
            if not self.from_cache:
                notify(f"compiling the {backend.name} project for this layout (once per "
                       f"layout, ~20 s) in {self.directory}")
            zeros = np.zeros((n_batches * batch_size,) + ((steps,) if per_step else ())
                             + (spec.layers[0].size,))
            try:
                with brian2_device(backend.name, prefs=float_prefs(precision)):
                    # Placeholders: the real values arrive as run_args, so the project (and
                    # its compiled binary) depends on the layout only.
                    placeholders = {
                        key: placeholder(value) if key[0] == "parameter" else value
                        for key, value in layer_values(spec, zeros, batch_size,
                                                       backend).items()}
                    self.value_shapes = {key: np.shape(value)
                                         for key, value in placeholders.items()}
                    self.built = build_network(spec, steps, batch_size, n_batches, placeholders,
                                               dt_ms, recording, device=backend)
                    self.built.network.run(self.built.duration, namespace={})
                    start = time.perf_counter()
                    self._build(brian2, notify)
                    if backend.writes_manifest:
                        from .warm import write_manifest

                        write_manifest(self, spec)
                    self.build_seconds = time.perf_counter() - start
                    self.device = brian2.get_device()
            except SimulationError:
                raise
            except Exception as exc:
                cause = brian2_failure(exc, spec)
                hint = ("Check that a C++ compiler (g++; nvcc for CUDA) is installed and works, "
                        "or use device='runtime'." if "compil" in str(exc).lower() else
                        "Check the model's equations and parameters.")
                raise SimulationError(f"building the {backend.name} project in "
                                      f"{self.directory} failed: {cause}. {hint}") from exc
        StandaloneProject._current = self

    def _build(self, brian2, notify):
        """Generate and compile the project; start again from an empty folder where a
        damaged cached project does not compile."""
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            brian2.device.build(directory=str(self.directory), compile=True, run=False,
                                with_output=False)
        except Exception as exc:
            if compile_interrupted(exc):
                # Ctrl-C reached make too: not a damaged project. What was compiled stays;
                # make finishes the rest next time.
                raise KeyboardInterrupt from None
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

    @staticmethod
    def layout_key(spec, steps, batch_size, n_batches, device="cpp_standalone",
                   dt_ms=TIMESTEP_MS, recording=None, precision="float64", per_step=False):
        """Hash of everything the generated code depends on."""
        from ..build import BATCH_CLOCK_SHRINK

        # float64 and constant inputs keep the key they had before precision and per-step
        # inputs existed. brainconv's templates are part of the generated code: an edited
        # template (a development tree at the same version) builds a new project.
        return digest(spec.architecture, steps, batch_size, n_batches, float(dt_ms),
                      brian2_version(), __version__, templates_digest(), BATCH_CLOCK_SHRINK,
                      get_device(device).name, recording,
                      *(() if precision == "float64" else (precision,)),
                      *(("per-step inputs",) if per_step else ()))[:16]

    def run(self, spec, values, n_samples, progress=False):
        """Run the compiled binary with new inputs and weights; return the raw results.

        ``values`` are :func:`brainconv.build.layer_values` of the run; ``progress=True`` lets
        the binary print samples done and an ETA to stderr.
        """
        from .collect import collect

        built = self.built
        run_args = {}
        for index, current in enumerate(built.currents):
            run_args[current] = values[("current", index)]
        for index, pathway in enumerate(built.synapses, start=1):
            run_args[pathway.w] = values[("weights", index)]
        for key, value in values.items():
            if key[0] == "parameter":
                run_args[getattr(built.groups[key[1]], key[2])] = value
        mismatch = shape_mismatch(spec, values, self.value_shapes, self.directory)
        if mismatch:
            raise SimulationError(mismatch)
        interrupted = InterruptFlag()
        try:
            with interrupted, FileLock(self.directory):
                progress_variable = str(n_samples) if progress else None
                with TemporaryEnvironment(BRAINCONV_PROGRESS=progress_variable), \
                        stage("binary (run_args in, results out)"):
                    self.device.run(directory=str(self.directory), with_output=False,
                                    run_args=run_args)
                if progress:
                    print(file=sys.stderr, flush=True)  # end the binary's progress line
                with stage("reading results back"):  # before another process runs the project
                    return collect(built, spec, n_samples)
        except Exception as exc:
            if interrupted.seen:  # Ctrl-C also stopped the binary: not a failure of the project
                raise KeyboardInterrupt from None
            raise SimulationError(f"running the standalone project {self.directory} failed: "
                                  f"{brian2_cause(exc)}") from exc
        finally:
            for name in self.device.run_args_arrays:  # run_args files are per-run copies
                Path(self.directory, "static_arrays", name).unlink(missing_ok=True)


def compile_interrupted(exc):
    """True where ``exc`` is Brian2's "Project compilation failed (error code: N)" for a make
    stopped by Ctrl-C.

    Brian2 runs make through ``os.system``, which ignores SIGINT in this process while make
    runs: the interrupt shows only in the wait status, as death by SIGINT (``N & 0x7f == 2``)
    or a shell's exit status 130 (``N >> 8 == 130``).
    """
    match = re.search(r"compilation failed \(error code: (\d+)\)", str(exc))
    if match is None:
        return False
    status = int(match.group(1))
    return (status & 0x7F) == signal.SIGINT or (status >> 8) == 128 + signal.SIGINT


def _clear_directory(directory):
    """Delete everything inside ``directory`` (a damaged standalone project)."""
    for entry in Path(directory).iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


class CppStandaloneDevice(Device):
    """Brian2's ``cpp_standalone`` device, compiled once per layout and run from its manifest.

    A binary runs one thread; samples are independent, so on POSIX the batches are cut into
    equal shares run side by side, one binary per CPU by default.
    """

    name = "cpp_standalone"
    direct_pathways = True
    branchless_thresholds = True
    progress_report = True
    compiled = True
    plasticity = True
    #: A manifest is written beside the project, so that any process runs it without Brian2.
    writes_manifest = True

    @property
    def warm_runs(self):
        """Runs go through the manifest (its run command is a POSIX one)."""
        return os.name == "posix"

    def configure(self):
        """Set the Brian2 preferences the device needs before a project is generated."""

    def plan_processes(self, n_samples, batch_size, processes=None):
        """``(processes, batches per process)``: one binary per CPU (or ``processes``), never
        more binaries than batches; the last share is padded with silent samples."""
        if not self.warm_runs:
            return super().plan_processes(n_samples, batch_size, processes)
        n_batches = -(-n_samples // batch_size)
        wanted = min(int(processes or available_cpus()), n_batches)
        per_process = -(-n_batches // wanted)
        return -(-n_batches // per_process), per_process

    def run(self, spec, inputs, steps, batch_size, *, dt_ms, recording=None, directory=None,
            notify=None, progress=False, processes=None, precision="float64"):
        """Run on the cached project of this layout, building (or relinking) it when needed.

        The binary runs from the project's manifest, without Brian2 (:mod:`.warm`), in
        ``processes`` shares side by side; Brian2 builds the project first where it is missing
        or out of date. See :meth:`brainconv.devices.Device.run`.
        """
        from .warm import run_warm

        processes, n_batches = self.plan_processes(len(inputs), batch_size, processes)
        per_step = np.ndim(inputs) == 3 and steps > 1  # frames (one step: a constant input)
        key = StandaloneProject.layout_key(spec, steps, batch_size, n_batches, self, dt_ms,
                                           recording, precision, per_step)
        options = dict(dt_ms=dt_ms, notify=notify, recording=recording, precision=precision,
                       per_step=per_step)
        if not self.warm_runs:
            return self._run_project(spec, inputs, steps, batch_size, n_batches, key,
                                     directory, progress, options)
        folder = Path(directory) if directory else cache_root() / key
        raw = run_warm(self, spec, inputs, batch_size, folder, key, notify, progress)
        if raw is None:
            import_brian2()
            with stage("Brian2 network and project (make)"):
                StandaloneProject(spec, steps, batch_size, n_batches, directory, self, **options)
            raw = run_warm(self, spec, inputs, batch_size, folder, key, notify, progress,
                           repair=False)
        if raw is None:  # cannot happen unless the folder is changed under our feet
            raise SimulationError(f"the standalone project in {folder} was built but its "
                                  f"manifest does not fit this run; delete the folder and "
                                  "run again")
        return raw

    def _run_project(self, spec, currents, steps, batch_size, n_batches, key, directory,
                     progress, options):
        """Run through Brian2's standalone device: the live project of this layout, or a new
        one."""
        from ..build import layer_values

        project = StandaloneProject._current
        if project is None or project.key != key or (directory and
                                                     Path(directory) != project.directory):
            import_brian2()
            project = None  # no live reference to the old project while the new one is built
            with stage("Brian2 network and project (make)"):
                project = StandaloneProject(spec, steps, batch_size, n_batches, directory,
                                            self, **options)
        with stage("inputs and weights for the run"):
            values = layer_values(spec, currents, batch_size, self)
        return project.run(spec, values, len(currents), progress)


register_device(CppStandaloneDevice())
