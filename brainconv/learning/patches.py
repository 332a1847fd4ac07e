"""STDP learning of binary kernels on image patches, one kernel per neuron, in one Brian2 run.

Srinivasan et al. 2020 learn 36 binary 3x3 kernels on 10,000 MNIST digits with stochastic
binary STDP, then convolve the images with them. This learner is the simpler option (the
paper's convolutional learning with shared kernels is :mod:`.shared`): each sample is one 3x3
patch of a digit, its 9 pixels Poisson neurons (rate ``max_rate * pixel``), all-to-all
connected to ``n_maps`` adaptive-threshold LIF neurons
(:data:`brainconv.equations.adaptive_lif.ADAPTIVE_LIF`) by plastic synapses
(:data:`~brainconv.equations.plasticity.STOCHASTIC_BINARY_STDP` by default). The weights into
neuron ``k`` are kernel ``k``: one kernel per neuron.

Samples follow each other in time (:mod:`.common`); at a sample's start every LIF neuron's
membrane is reset and its dropout mask redrawn. The whole run is one
``cpp_standalone`` project (or Brian2's runtime device, for small checks); afterwards the
learned weights are read back. Every random draw (initial weights in numpy, Poisson spikes,
dropout and switching in Brian2's ``rand()``) comes from ``seed``: the same seed on the same
device gives the same kernels.
"""

import numpy as np

from ..errors import ParameterError, ShapeError
from .common import (LearnedKernels, Schedule, check_intensities, check_learning, learning_run,
                     poisson_pixels, project_directory, run_timed, square_images)

__all__ = ["image_patches", "learn_kernels"]


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
    images = square_images(images, size)
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
    return check_intensities(patches, "patch", "scale images to [0, 1] first")


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

    from ..equations.adaptive_lif import ADAPTIVE_LIF
    from ..equations.plasticity import get_plastic_synapse_model

    patches = _check_patches(patches)
    backend = check_learning(device, n_maps)
    if not 0 <= initial_high <= 1:
        raise ParameterError(f"initial_high is a probability, got {initial_high}")
    neuron_model = neuron_model or ADAPTIVE_LIF
    synapse_model = get_plastic_synapse_model(synapse)
    neuron_namespace = neuron_model.namespace(neuron)  # checks before any work
    synapse_namespace = synapse_model.namespace(plasticity)
    schedule = Schedule.make(presentation, rest, dt, max_rate)
    n_samples, n_inputs = patches.shape
    rng = np.random.default_rng(seed)
    low, high = synapse_namespace.get("w_low", 0.0), synapse_namespace.get("w_high", 1.0)
    initial = np.where(rng.random((n_inputs, n_maps)) < initial_high, high, low)
    if directory is None:
        directory = project_directory(
            backend, n_inputs, n_maps, n_samples, *schedule.key(), neuron_model.name,
            synapse_model.name, repr(sorted(neuron_namespace.items())),
            repr(sorted(synapse_namespace.items())))
    with learning_run(backend, directory, seed, "the STDP learning run"):
        source = poisson_pixels(patches, schedule)
        target = neuron_model.group(n_maps, neuron, dt=schedule.dt, name="maps")
        target.run_regularly(neuron_model.new_sample, dt=schedule.period, when="start",
                             name="new_sample")
        synapses = synapse_model.synapses(source, target, plasticity,
                                          transmit="v_post += w_scale * w", dt=schedule.dt,
                                          name="kernels")
        synapses.namespace.update(neuron_namespace)
        # Explicit indices: the synapse order is known without reading it back (standalone).
        pre, post = np.divmod(np.arange(n_inputs * n_maps), n_maps)
        synapses.connect(i=pre, j=post)
        synapse_model.initialise(synapses, w=initial[pre, post])
        counter = brian2.SpikeMonitor(target, record=False, name="map_spikes")
        network = brian2.Network(source, target, synapses, counter)
        seconds = run_timed(network, n_samples * schedule.period, backend, directory, progress)
        weights = np.asarray(synapses.w[:], dtype=np.float64).reshape(n_inputs, n_maps)
        return LearnedKernels(weights=weights, initial=initial,
                              spikes=np.asarray(counter.count[:]).copy(),
                              theta=np.asarray(target.theta[:]).copy(), seconds=seconds)
