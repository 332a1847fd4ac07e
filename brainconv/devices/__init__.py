"""Simulation backends ("devices") and the registry that names them.

Modelled on Brian2's own devices (``brian2.devices.device``: a ``Device`` class and the
``all_devices`` registry), one :class:`Device` object per backend knows what differs between
them: whether it is available (:meth:`Device.check`), how many samples it runs side by side
(:meth:`Device.choose_batch_size`), how many processes share a run
(:meth:`Device.plan_processes`), what the network built for it looks like (its
:attr:`~Device.direct_pathways`, :attr:`~Device.branchless_thresholds` and
:attr:`~Device.progress_report`), and how it runs (:meth:`Device.run`, returning
:class:`RawResults`).

Built-in backends
-----------------
``"runtime"`` (:mod:`.runtime`)
    Brian2's runtime mode (cython code generation, numpy fallback); fine for small runs.
``"cpp_standalone"`` (:mod:`.cpp_standalone`, :mod:`.warm`)
    A C++ project compiled once per layout into a cache folder and run from its manifest,
    without Brian2, one binary per CPU.
``"cuda_standalone"`` (:mod:`.cuda_standalone`)
    The same project generated for NVIDIA GPUs by brian2cuda.
``"numpy"`` (:mod:`.numpy_device`)
    The numpy reference simulator (:mod:`brainconv.reference`), same schedule, no Brian2.

Other backends are added with :func:`register_device`. Every backend returns
:class:`RawResults` (:mod:`.results`); the Brian2 ones read their monitors back with
:mod:`.collect`.
"""

import contextlib
import functools
import gc
import importlib
import importlib.metadata
import os
import time
from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError, brian2_cause
from .results import RawResults

__all__ = ["BYTES_PER_NEURON", "BYTES_PER_SYNAPSE", "CPU_SYNAPSE_BUDGET", "DEFAULT_BATCH_SIZE",
           "DEVICES", "Device", "PRECISIONS", "PROFILE", "RawResults", "available_cpus",
           "brian2_device", "brian2_failure", "brian2_version", "device_names", "float_prefs",
           "get_device", "import_brian2", "plan_processes", "register_device", "stage"]

#: Seconds spent in each stage of the simulations of this process (``brainconv run --profile``).
PROFILE = {}


@contextlib.contextmanager
def stage(name):
    """Add the time spent inside the ``with`` block to :data:`PROFILE` under ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        PROFILE[name] = PROFILE.get(name, 0.0) + time.perf_counter() - start


def import_brian2():
    """Import Brian2 (seconds on first import, sympy included), timed as a profile stage."""
    with stage("import brian2 (and sympy)"):
        import brian2  # noqa: F401


@functools.cache
def brian2_version():
    """Brian2's version, read from the installed package's metadata: no ``import brian2``."""
    return importlib.metadata.version("brian2")


def available_cpus():
    """CPUs this process may run on (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def brian2_failure(exc, spec):
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


@contextlib.contextmanager
def brian2_device(name, prefs=None, **options):
    """Brian2's device ``name`` for the ``with`` block, freshly initialised.

    A standalone device is reinitialised (the objects of an earlier project are forgotten)
    and activated with ``build_on_run=False``, so the block builds the project itself; the
    runtime device is simply made current. Afterwards the previous device, with its build
    options, and the preferences in ``prefs`` are restored, whatever happened in the block.

    Parameters
    ----------
    name : str
        A Brian2 device name (``brian2.devices.device.all_devices``), e.g. ``"runtime"``.
    prefs : dict, optional
        Brian2 preferences set for the block, by full name (``{"codegen.target": "numpy"}``).
    **options
        Passed to ``Device.activate`` of a standalone device (e.g. ``directory``).

    Yields
    ------
    brian2.devices.device.Device
    """
    import brian2
    from brian2.devices.device import RuntimeDevice, all_devices, reset_device

    saved = {key: brian2.prefs[key] for key in (prefs or {})}
    standalone = not isinstance(all_devices[name], RuntimeDevice)
    if standalone:
        brian2.set_device(name, build_on_run=False)
    else:
        brian2.set_device(name)
    try:
        for key, value in (prefs or {}).items():
            brian2.prefs[key] = value
        if standalone:
            brian2.device.reinit()
            gc.collect()
            brian2.device.activate(build_on_run=False, **options)
        yield brian2.get_device()
    finally:
        for key, value in saved.items():
            brian2.prefs[key] = value
        reset_device()


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


class Device:
    """A simulation backend: what brainconv needs to know to run a network on it.

    Subclasses set :attr:`name` and implement :meth:`run`; the other methods have the
    defaults of a CPU backend that runs in this process.
    """

    #: The name users pass as ``device=``.
    name = None
    #: True: samples run in batches of ``batch_size`` copies of the network, the recorded
    #: samples on the first copies (:func:`brainconv.simulation.plan_recording`), and
    #: :meth:`run` takes the input currents in run order. False: :meth:`run` takes the inputs
    #: ``x`` in the caller's order and records the chosen samples itself.
    batched = True
    #: Pathways that only add the weight to a variable are served by weight rows: their
    #: ``Synapses`` hold one entry per ANN weight, not one per batch copy, and skip Brian2's
    #: spike queue (:class:`brainconv.pathways.Pathway`; the device's code objects need a
    #: ``pathway`` template in ``brainconv/templates``).
    direct_pathways = False
    #: Thresholders from brainconv's branchless C++ template
    #: (:func:`brainconv.build.branchless_code_object`), fused with the reset where the layer
    #: has no refractory period (:mod:`brainconv.thresholds`).
    branchless_thresholds = False
    #: The compiled binary reports samples done and an ETA (``BRAINCONV_PROGRESS``).
    progress_report = False
    #: The backend is a Brian2 standalone device: ``Network.run`` only generates code, and the
    #: project is built and run afterwards (``brian2.device.build``, ``brian2.device.run``).
    compiled = False
    #: Runs Brian2's plastic synapses (the STDP learning of :mod:`brainconv.learning`).
    plasticity = False
    #: Takes inputs that change from step to step (frames, ``x`` of shape ``(n_samples,
    #: steps, n_inputs)``; :func:`brainconv.simulation.run_network`).
    per_step_inputs = True

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}>"

    def check(self):
        """Raise :class:`~brainconv.errors.SimulationError` saying what is missing where the
        backend cannot run on this machine; return None otherwise."""

    def check_network(self, spec):
        """Raise a :class:`~brainconv.errors.BrainconvError` where this backend cannot
        simulate ``spec`` (checked before any data is loaded); return None otherwise."""

    def is_direct(self, spec, index):
        """True where the pathway into layer ``index`` is served by weight rows here."""
        if not self.direct_pathways:
            return False
        from ..spec import direct_pathway

        return direct_pathway(spec, index)

    def memory_bytes(self):
        """Memory that one batch's network may fill (default 2 GiB)."""
        return 2**31

    def synapses_per_sample(self, spec):
        """Synapses stored per batch copy: a direct pathway stores its weights once."""
        return sum(_stored_entries(layer.weights) for index, layer in enumerate(spec.layers)
                   if index > 0 and not self.is_direct(spec, index))

    def choose_batch_size(self, spec, n_samples, memory_bytes=None):
        """Samples to replicate per group (see :func:`brainconv.simulation.choose_batch_size`).

        On a CPU ``DEFAULT_BATCH_SIZE``, or fewer when a batch would exceed
        ``CPU_SYNAPSE_BUDGET`` replicated synapses or ``memory_bytes``; never more than
        ``n_samples`` and never less than 1.
        """
        synapses, fits = self._fits(spec, memory_bytes)
        wanted = min(DEFAULT_BATCH_SIZE, fits, max(1, CPU_SYNAPSE_BUDGET // max(synapses, 1)))
        return max(1, min(wanted, int(n_samples)))

    def _fits(self, spec, memory_bytes):
        """``(synapses per sample, samples fitting into memory_bytes)``."""
        synapses = self.synapses_per_sample(spec)
        per_sample = BYTES_PER_SYNAPSE * synapses + BYTES_PER_NEURON * sum(spec.layer_sizes)
        if memory_bytes is None:
            memory_bytes = self.memory_bytes()
        return synapses, max(1, int(memory_bytes // per_sample))

    def plan_processes(self, n_samples, batch_size, processes=None):
        """``(processes, batches per process)`` of a run; one process unless overridden.

        Raises
        ------
        ParameterError
            For a ``processes`` other than None or 1.
        """
        if processes not in (None, 1):
            raise ParameterError(f"processes={processes} applies to device='cpp_standalone' "
                                 f"(on Linux or macOS), not to {self.name!r}; leave it out")
        return 1, -(-n_samples // batch_size)

    def run(self, spec, inputs, steps, batch_size, *, dt_ms, recording=None, directory=None,
            notify=None, progress=False, processes=None, precision="float64"):
        """Simulate ``spec`` and return its :class:`RawResults`.

        Parameters
        ----------
        spec : NetworkSpec
        inputs : ndarray
            A :attr:`batched` backend: the input currents (``spec.input_currents(x)``) in run
            order. Otherwise the inputs ``x`` in the caller's order.
        steps, batch_size : int
            Timesteps per sample; samples per batch (at most the number of samples).
        dt_ms : float
            Simulation step in ms.
        recording : Recording or (ndarray, tuple), optional
            A :attr:`batched` backend: the :class:`brainconv.build.Recording` of the run.
            Otherwise the sample and layer indices to record.
        directory, notify, progress, processes
            As :func:`brainconv.simulation.run_network`; backends without a compiled project
            ignore them.
        precision : {"float64", "float32"}
            Floating-point type of the state, weights and inputs (:func:`float_prefs`).
        """
        raise NotImplementedError


#: The floating-point precisions a run can take (``precision=``, ``--precision``).
PRECISIONS = ("float64", "float32")


def float_prefs(precision):
    """Brian2 preferences for ``precision``: float64 (Brian2's default, the exact cross-checks)
    or float32 (half the memory traffic and twice the SIMD width; checked against the float32
    numpy reference)."""
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return {"core.default_float_dtype": np.float32} if precision == "float32" else {}


def _stored_entries(weights):
    return weights.nnz if hasattr(weights, "nnz") else weights.size


#: name -> Device; the built-in backends are imported on first use.
_REGISTRY = {}
_BUILT_IN = {"runtime": "runtime", "cpp_standalone": "cpp_standalone",
             "cuda_standalone": "cuda_standalone", "numpy": "numpy_device"}


def register_device(device):
    """Make ``device`` (a :class:`Device` instance) available by its :attr:`~Device.name`.

    Registering a name again replaces the earlier backend.
    """
    if not isinstance(device, Device) or not isinstance(device.name, str) or not device.name:
        raise ParameterError(f"register_device needs a Device instance with a name, got "
                             f"{device!r}")
    _REGISTRY[device.name] = device
    return device


def _load_built_in():
    for module in _BUILT_IN.values():
        importlib.import_module(f"{__name__}.{module}")


def device_names():
    """Names of every known backend: the built-in ones, then registered ones."""
    _load_built_in()
    return tuple(_BUILT_IN) + tuple(name for name in _REGISTRY if name not in _BUILT_IN)


class _DeviceNames(Sequence):
    """The live tuple of :func:`device_names` (``"numpy" in DEVICES``, ``", ".join(...)``)."""

    def __getitem__(self, index):
        return device_names()[index]

    def __iter__(self):
        return iter(device_names())

    def __contains__(self, name):
        return name in device_names()

    def __len__(self):
        return len(device_names())

    def __repr__(self):
        return repr(device_names())


#: Names of every known backend (live: includes backends registered later).
DEVICES = _DeviceNames()


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
    if processes is not None and (isinstance(processes, bool) or int(processes) != processes
                                  or processes < 1):
        raise ParameterError(f"processes must be a positive integer or None, got "
                             f"{processes!r}")
    return get_device(device).plan_processes(n_samples, batch_size, processes)


def get_device(name):
    """The backend called ``name``.

    Raises
    ------
    ParameterError
        For an unknown name, listing the known ones.
    """
    if isinstance(name, Device):
        return name
    if isinstance(name, str) and name not in _REGISTRY and name in _BUILT_IN:
        _load_built_in()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ParameterError(f"unknown device {name!r}; choose one of "
                             f"{', '.join(device_names())}")
    return _REGISTRY[name]
