"""Unsupervised STDP learning of binary convolution kernels inside one compiled Brian2 run.

Srinivasan et al. 2020 learn 36 binary 3x3 kernels on 10,000 MNIST digits with stochastic
binary STDP, then convolve the images with them. Brian2 has no weight sharing, so the kernels
are learned on image patches (brainconv's simplification of the papers' convolutional
learning): each sample is one 3x3 patch of a digit, its 9 pixels Poisson neurons (rate ``max_rate * pixel``), all-to-all connected to ``n_maps``
adaptive-threshold LIF neurons (:data:`brainconv.equations.adaptive_lif.ADAPTIVE_LIF`) by
plastic synapses (:data:`~brainconv.equations.plasticity.STOCHASTIC_BINARY_STDP` by default).
The weights into neuron ``k`` are kernel ``k``: one kernel per neuron, the same as shared-
kernel STDP when a map's updates are pooled.

Samples follow each other in time in one network run, as batches do for inference: sample
``s`` is presented for ``presentation`` and followed by ``rest`` without input; at its start
every LIF neuron's membrane is reset and its dropout mask redrawn. The whole run is one
``cpp_standalone`` project (or Brian2's runtime device, for small checks); afterwards the
learned weights are read back. Every random draw (initial weights in numpy, Poisson spikes,
dropout and switching in Brian2's ``rand()``) comes from ``seed``: the same seed on the same
device gives the same kernels.
"""

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np

from .cache import FileLock
from .devices import brian2_device, device_names, get_device
from .errors import ParameterError, ShapeError, SimulationError, brian2_cause

__all__ = ["LearnedKernels", "image_patches", "learn_kernels", "learning_devices"]


def learning_devices():
    """Names of the backends that run plastic synapses (:attr:`Device.plasticity
    <brainconv.devices.Device.plasticity>`): ``learn_kernels``' choices of ``device``."""
    return tuple(name for name in device_names() if get_device(name).plasticity)


@dataclass(frozen=True)
class LearnedKernels:
    """Outcome of :func:`learn_kernels`.

    Attributes
    ----------
    weights : ndarray, shape (n_inputs, n_maps)
        Final synaptic weights, ``weights[i, k]`` from input ``i`` to map ``k``.
    initial : ndarray, shape (n_inputs, n_maps)
        The initial weights (seeded).
    spikes : ndarray, shape (n_maps,)
        Spikes of each learning neuron over the run.
    theta : ndarray, shape (n_maps,)
        Adaptive threshold increments at the end.
    seconds : float
        Wall time of the simulation (the binary's run for ``cpp_standalone``, without
        compilation).
    """

    weights: np.ndarray
    initial: np.ndarray
    spikes: np.ndarray
    theta: np.ndarray
    seconds: float

    def kernels(self, size=3):
        """The weights as ``(n_maps, size, size)`` kernels."""
        return self.weights.T.reshape(-1, size, size)


def image_patches(images, n_patches, size=3, min_ink=1.0, seed=0):
    """One random ``size`` x ``size`` patch with ink from each of ``n_patches`` images.

    Parameters
    ----------
    images : ndarray, shape (n_images, height, width) or (n_images, height * width)
        Pixel intensities in [0, 1]; square images if flat.
    n_patches : int
        Patches to draw, one from each of the first ``n_patches`` images.
    size : int
        Patch side.
    min_ink : float
        Smallest sum of a patch's pixels; blank patches make no input spikes and teach
        nothing. An image without such a patch gives a random one with any ink (a blank
        one only if the image is blank).
    seed : int
        Seed of the patch positions.

    Returns
    -------
    ndarray, shape (n_patches, size * size)
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ShapeError(f"flat images of {images.shape[1]} pixels are not square; pass "
                             "them as (n_images, height, width)")
        images = images.reshape(len(images), side, side)
    if images.ndim != 3 or min(images.shape[1:]) < size:
        raise ShapeError(f"images must be (n_images, height, width) of at least {size}x{size} "
                         f"pixels, got shape {images.shape}")
    if not 1 <= n_patches <= len(images):
        raise ParameterError(f"n_patches must lie in [1, {len(images)}] (one patch per image), "
                             f"got {n_patches}")
    rng = np.random.default_rng(seed)
    windows = np.lib.stride_tricks.sliding_window_view(images[:n_patches], (size, size),
                                                       axis=(1, 2))
    windows = windows.reshape(n_patches, -1, size * size)
    ink = windows.sum(axis=2)
    # A random position among the inky ones: random scores, blank positions pushed last.
    score = rng.random(ink.shape) + (ink >= min_ink)
    score[ink <= 0] = -1.0
    choice = score.argmax(axis=1)
    return windows[np.arange(n_patches), choice].copy()


def _check_patches(patches):
    patches = np.asarray(patches, dtype=np.float64)
    if patches.ndim != 2 or patches.shape[0] < 1 or patches.shape[1] < 1:
        raise ShapeError(f"patches must be a 2-d array (samples, inputs), got shape "
                         f"{patches.shape}; draw them with image_patches(images, n)")
    if not np.all(np.isfinite(patches)) or patches.min() < 0 or patches.max() > 1:
        raise ParameterError(
            f"patch intensities must be finite and lie in [0, 1] (Poisson rate max_rate * "
            f"pixel), got range [{np.nanmin(patches)}, {np.nanmax(patches)}]; scale images "
            "to [0, 1] first")
    return patches


def _steps(name, value, dt):
    steps = float(value / dt)
    if steps < 0 or abs(steps - round(steps)) > 1e-6:
        raise ParameterError(f"{name} = {value} must be a whole number >= 0 of dt = {dt}")
    return int(round(steps))


def learn_kernels(patches, n_maps=36, seed=0, device="cpp_standalone", presentation=None,
                  rest=None, max_rate=None, dt=None, initial_high=0.5, neuron=None,
                  plasticity=None, synapse="stochastic_binary_stdp", neuron_model=None,
                  directory=None, progress=True):
    """Learn ``n_maps`` kernels on ``patches`` with STDP in one Brian2 run.

    Parameters
    ----------
    patches : ndarray, shape (n_samples, n_inputs)
        Pixel intensities in [0, 1], one sample per row (:func:`image_patches`).
    n_maps : int
        Learning neurons, one kernel each.
    seed : int
        Seed of the initial weights and of every ``rand()`` in Brian2.
    device : {"cpp_standalone", "runtime"}
        Where the network runs: one compiled C++ project, or Brian2's runtime device with the
        current code-generation target (for small checks; much slower).
    presentation, rest, dt : brian2 Quantity, optional
        Time each sample is shown (50 ms), silent time after it (20 ms), time step (1 ms).
    max_rate : brian2 Quantity, optional
        Poisson rate of a pixel of intensity 1 (200 Hz).
    initial_high : float
        Probability that an initial weight is at the synapse's high level (``w_high``).
    neuron, plasticity : dict, optional
        Parameter overrides (Brian2 quantities) of the neuron and synapse models.
    synapse : str or PlasticSynapseModel
        Plastic synapse model (:data:`brainconv.equations.PLASTIC_SYNAPSE_MODELS`).
    neuron_model : LearningNeuronModel, optional
        The learning neurons (default ``ADAPTIVE_LIF``).
    directory : path, optional
        Where the ``cpp_standalone`` project is written (default: a folder of the cache per
        network shape and constants, kept, so that another call with new patches, weights or
        seed recompiles only what changed).
    progress : bool
        Print Brian2's progress report (simulated time, ETA) during the run. It costs time:
        Brian2's standalone loop then reads the clock before every object in every step
        (10,000 patches, two runs on a shared machine: 8.8 s with, 1.6 s without).

    Returns
    -------
    LearnedKernels
    """
    import brian2
    from brian2 import Hz, ms

    from .equations.adaptive_lif import ADAPTIVE_LIF
    from .equations.plasticity import get_plastic_synapse_model

    patches = _check_patches(patches)
    backend = get_device(device) if isinstance(device, str) else None
    if backend is None or not backend.plasticity:
        raise ParameterError(f"device must be one of {learning_devices()} for learning, got "
                             f"{device!r}")
    if isinstance(n_maps, bool) or not isinstance(n_maps, (int, np.integer)) or n_maps < 1:
        raise ParameterError(f"n_maps must be a positive integer, got {n_maps!r}")
    if not 0 <= initial_high <= 1:
        raise ParameterError(f"initial_high is a probability, got {initial_high}")
    neuron_model = neuron_model or ADAPTIVE_LIF
    synapse_model = get_plastic_synapse_model(synapse)
    neuron_namespace = neuron_model.namespace(neuron)  # checks before any work
    synapse_namespace = synapse_model.namespace(plasticity)
    dt = 1 * ms if dt is None else dt
    presentation = 50 * ms if presentation is None else presentation
    rest = 20 * ms if rest is None else rest
    max_rate = 200 * Hz if max_rate is None else max_rate
    present_steps, rest_steps = _steps("presentation", presentation, dt), _steps("rest", rest, dt)
    if present_steps < 1:
        raise ParameterError(f"presentation must last at least one dt ({dt}), got "
                             f"{presentation}")
    if not float(max_rate * dt) > 0:  # also NaN: no input spike would ever teach anything
        raise ParameterError(f"max_rate must be a positive rate (e.g. 200*Hz), got {max_rate}: "
                             "with no input spikes the kernels would come back as initialised")
    if float(max_rate * dt) > 1:
        raise ParameterError(f"max_rate * dt = {float(max_rate * dt)} > 1: a Poisson neuron "
                             "spikes at most once per step; lower max_rate or dt")
    n_samples, n_inputs = patches.shape
    rng = np.random.default_rng(seed)
    low, high = synapse_namespace.get("w_low", 0.0), synapse_namespace.get("w_high", 1.0)
    initial = np.where(rng.random((n_inputs, n_maps)) < initial_high, high, low)

    # The stimulus on a grid of `unit` steps: the patch for the presentation, then zeros.
    unit = math.gcd(present_steps, rest_steps) if rest_steps else present_steps
    rows_on, rows_off = present_steps // unit, rest_steps // unit
    grid = np.zeros((n_samples, rows_on + rows_off, n_inputs))
    grid[:, :rows_on] = patches[:, None, :]
    period = (present_steps + rest_steps) * dt

    if directory is None and backend.compiled:
        # One project folder per network shape and constants (the cache's "learning"
        # folder): another call with new patches, initial weights or seed regenerates the
        # same code, and make recompiles only what changed (the seed is in main.cpp).
        from . import __version__
        from .cache import cache_dir, digest
        from .devices import brian2_version

        directory = cache_dir("learning") / digest(
            n_inputs, n_maps, n_samples, present_steps, rest_steps, unit, float(dt / ms),
            neuron_model.name, synapse_model.name, repr(sorted(neuron_namespace.items())),
            repr(sorted(synapse_namespace.items())), float(max_rate / Hz), backend.name,
            brian2_version(), __version__)[:16]
    try:
        lock = FileLock(directory) if backend.compiled else contextlib.nullcontext()
        with lock, brian2_device(backend.name):
            if not backend.compiled:
                brian2.start_scope()
            brian2.seed(seed)
            stimulus = brian2.TimedArray(grid.reshape(-1, n_inputs), dt=unit * dt)
            source = brian2.PoissonGroup(n_inputs, rates="max_rate * stimulus(t, i)", dt=dt,
                                         namespace={"max_rate": max_rate, "stimulus": stimulus},
                                         name="pixels")
            target = neuron_model.group(n_maps, neuron, dt=dt, name="maps")
            target.run_regularly(neuron_model.new_sample, dt=period, when="start",
                                 name="new_sample")
            synapses = synapse_model.synapses(source, target, plasticity,
                                              transmit="v_post += w_scale * w", dt=dt,
                                              name="kernels")
            synapses.namespace.update(neuron_namespace)
            # Explicit indices: the synapse order is known without reading it back (standalone).
            pre, post = np.divmod(np.arange(n_inputs * n_maps), n_maps)
            synapses.connect(i=pre, j=post)
            synapse_model.initialise(synapses, w=initial[pre, post])
            counter = brian2.SpikeMonitor(target, record=False, name="map_spikes")
            network = brian2.Network(source, target, synapses, counter)
            report = "text" if progress else None
            start = time.perf_counter()
            network.run(n_samples * period, report=report, report_period=10 * brian2.second,
                        namespace={})
            if backend.compiled:
                brian2.device.build(directory=str(directory), compile=True, run=False,
                                    with_output=progress)
                start = time.perf_counter()
                brian2.device.run(directory=str(directory), with_output=progress)
            seconds = time.perf_counter() - start
            weights = np.asarray(synapses.w[:], dtype=np.float64).reshape(n_inputs, n_maps)
            return LearnedKernels(weights=weights, initial=initial,
                                  spikes=np.asarray(counter.count[:]).copy(),
                                  theta=np.asarray(target.theta[:]).copy(), seconds=seconds)
    except (ParameterError, ShapeError):
        raise
    except Exception as exc:
        raise SimulationError(f"the STDP learning run on {backend.name} failed: "
                              f"{brian2_cause(exc)}") from exc
