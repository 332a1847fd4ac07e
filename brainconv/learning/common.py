"""What both STDP learners share: input checks, the presentation schedule, the Poisson pixels,
the compiled project's folder and the timed run.

Samples follow each other in time in one network run, as batches do for inference: sample
``s`` is presented for ``presentation`` and followed by ``rest`` without input. Every random
draw of Brian2 comes from the run's seed.
"""

import contextlib
import math
import time
from dataclasses import dataclass

import numpy as np

from ..cache import FileLock
from ..devices import brian2_device, device_names, get_device
from ..errors import ParameterError, ShapeError, SimulationError, brian2_cause

__all__ = ["LearnedKernels", "Schedule", "check_intensities", "check_learning", "learning_devices",
           "learning_run", "poisson_pixels", "project_directory", "run_timed", "square_images"]


def learning_devices():
    """Names of the backends that run plastic synapses (:attr:`Device.plasticity
    <brainconv.devices.Device.plasticity>`): the learners' choices of ``device``."""
    return tuple(name for name in device_names() if get_device(name).plasticity)


@dataclass(frozen=True)
class LearnedKernels:
    """Outcome of a learner.

    Attributes
    ----------
    weights : ndarray, shape (n_inputs, n_maps)
        Final synaptic weights, ``weights[i, k]`` from input ``i`` to map ``k``.
    initial : ndarray, shape (n_inputs, n_maps)
        The initial weights (seeded).
    spikes : ndarray, shape (n_maps,)
        Spikes of each map over the run.
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


def check_intensities(values, what, fix):
    """``values`` as float64, refused unless finite and within [0, 1]."""
    values = np.asarray(values, dtype=np.float64)
    if values.size and (not np.all(np.isfinite(values)) or values.min() < 0
                        or values.max() > 1):
        raise ParameterError(
            f"{what} intensities must be finite and lie in [0, 1] (Poisson rate max_rate * "
            f"pixel), got range [{np.nanmin(values)}, {np.nanmax(values)}]; {fix}")
    return values


def square_images(images, size):
    """``images`` as ``(n_images, height, width)`` float64 (flat square images reshaped),
    refused unless each is at least ``size`` x ``size``."""
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
    return images


def check_learning(device, n_maps):
    """The learning backend for ``device``, after checking it and ``n_maps``."""
    backend = get_device(device) if isinstance(device, str) else None
    if backend is None or not backend.plasticity:
        raise ParameterError(f"device must be one of {learning_devices()} for learning, got "
                             f"{device!r}")
    if isinstance(n_maps, bool) or not isinstance(n_maps, (int, np.integer)) or n_maps < 1:
        raise ParameterError(f"n_maps must be a positive integer, got {n_maps!r}")
    return backend


def _steps(name, value, dt):
    steps = float(value / dt)
    if steps < 0 or abs(steps - round(steps)) > 1e-6:
        raise ParameterError(f"{name} = {value} must be a whole number >= 0 of dt = {dt}")
    return int(round(steps))


@dataclass(frozen=True)
class Schedule:
    """The timing of a learning run: ``dt``, steps shown and at rest per sample, the stimulus
    grid's step (``unit`` steps) and the Poisson rate of intensity 1."""

    dt: object
    present_steps: int
    rest_steps: int
    max_rate: object

    @classmethod
    def make(cls, presentation=None, rest=None, dt=None, max_rate=None):
        """Defaults 50 ms shown, 20 ms rest, dt 1 ms, 200 Hz; checked."""
        from brian2 import Hz, ms

        dt = 1 * ms if dt is None else dt
        presentation = 50 * ms if presentation is None else presentation
        rest = 20 * ms if rest is None else rest
        max_rate = 200 * Hz if max_rate is None else max_rate
        present_steps = _steps("presentation", presentation, dt)
        rest_steps = _steps("rest", rest, dt)
        if present_steps < 1:
            raise ParameterError(f"presentation must last at least one dt ({dt}), got "
                                 f"{presentation}")
        if not float(max_rate * dt) > 0:  # also NaN: no input spike would teach anything
            raise ParameterError(f"max_rate must be a positive rate (e.g. 200*Hz), got "
                                 f"{max_rate}: with no input spikes the kernels would come "
                                 "back as initialised")
        if float(max_rate * dt) > 1:
            raise ParameterError(f"max_rate * dt = {float(max_rate * dt)} > 1: a Poisson neuron "
                                 "spikes at most once per step; lower max_rate or dt")
        return cls(dt, present_steps, rest_steps, max_rate)

    @property
    def unit(self):
        return math.gcd(self.present_steps, self.rest_steps) if self.rest_steps else \
            self.present_steps

    @property
    def period(self):
        return (self.present_steps + self.rest_steps) * self.dt

    def key(self):
        """The schedule's part of a compiled project's name."""
        from brian2 import Hz, ms

        return (self.present_steps, self.rest_steps, self.unit, float(self.dt / ms),
                float(self.max_rate / Hz))


def poisson_pixels(samples, schedule):
    """``PoissonGroup`` ``pixels``: sample ``s`` (a row of ``samples``) at rate ``max_rate *
    pixel`` for the presentation, silent at rest, samples one after the other."""
    import brian2

    n_samples, n_inputs = samples.shape
    rows_on = schedule.present_steps // schedule.unit
    rows_off = schedule.rest_steps // schedule.unit
    grid = np.zeros((n_samples, rows_on + rows_off, n_inputs))
    grid[:, :rows_on] = samples[:, None, :]
    stimulus = brian2.TimedArray(grid.reshape(-1, n_inputs), dt=schedule.unit * schedule.dt)
    return brian2.PoissonGroup(n_inputs, rates="max_rate * stimulus(t, i)", dt=schedule.dt,
                               namespace={"max_rate": schedule.max_rate, "stimulus": stimulus},
                               name="pixels")


def project_directory(backend, *key):
    """A ``cpp_standalone`` project folder in the cache's ``learning`` folder per network
    shape and constants (``key``), kept: another call with new samples, weights or seed
    regenerates the same code, and make recompiles only what changed (the seed is in
    main.cpp). None for a runtime backend."""
    if not backend.compiled:
        return None
    from .. import __version__
    from ..cache import cache_dir, digest
    from ..devices import brian2_version

    return cache_dir("learning") / digest(*key, backend.name, brian2_version(),
                                          __version__)[:16]


@contextlib.contextmanager
def learning_run(backend, directory, seed, what):
    """The block that builds and runs a learning network: the project's lock, the backend's
    Brian2 device, a fresh scope, ``brian2.seed(seed)``; Brian2's errors become a
    SimulationError naming ``what``."""
    import brian2

    try:
        lock = FileLock(directory) if backend.compiled else contextlib.nullcontext()
        with lock, brian2_device(backend.name):
            if not backend.compiled:
                brian2.start_scope()
            brian2.seed(seed)
            yield
    except (ParameterError, ShapeError):
        raise
    except Exception as exc:
        raise SimulationError(f"{what} on {backend.name} failed: {brian2_cause(exc)}") from exc


def run_timed(network, duration, backend, directory, progress):
    """Run ``network`` for ``duration`` (build and run the project when compiled); the
    seconds of the simulation alone."""
    import brian2

    start = time.perf_counter()
    network.run(duration, report="text" if progress else None,
                report_period=10 * brian2.second, namespace={})
    if backend.compiled:
        brian2.device.build(directory=str(directory), compile=True, run=False,
                            with_output=progress)
        start = time.perf_counter()
        brian2.device.run(directory=str(directory), with_output=progress)
    return time.perf_counter() - start
