"""Convolutional STDP with shared kernels over whole images, in one Brian2 run.

Srinivasan et al. 2020 train binary 3x3 kernels of a convolutional layer with stochastic STDP:
each kernel is applied at every position of the image, and the updates from the spikes at all
positions change the one shared kernel. Brian2 has no shared synaptic weight, so the network
keeps each kernel once, in a small ``kernels`` group (one neuron per map, one variable per
kernel entry), and builds the convolution around it from plain Brian2 objects:

* ``pixels``: a Poisson neuron per pixel (rate ``max_rate * pixel``), as in
  :func:`brainconv.learning.learn_kernels`;
* ``maps``: one adaptive-threshold LIF neuron per map and position (no padding, stride 1);
  its kernel entries are *linked variables* of the ``kernels`` group, read, never copied per
  position;
* ``offset<j>`` (one ``Synapses`` per kernel entry ``j``): the pixel at offset ``j`` of each
  position's window to that position's neuron in every map, one synapse per neuron, which
  counts the pixel's spikes (``in_j``) and keeps its last spike time; each step the neuron adds
  ``w_scale * sum_j kernel_j * in_j`` to ``v`` (the convolution, weights stored once);
* the stochastic binary STDP rule (:data:`brainconv.equations.plasticity.STOCHASTIC_BINARY_STDP`:
  potentiation and anti-Hebbian depression drawn at a post spike, Hebbian depression at the
  first pre spike after one) computed per (neuron, entry) pair from the weights at the step's
  start, each draw a vote ``w_high - w`` or ``w_low - w`` in the neuron's ``dw_j``;
* ``votes``: one synapse per neuron to its map's ``kernels`` neuron, whose summed variables add
  the votes of all positions; at the step's end ``w_j = clip(w_j + sum of votes, w_low,
  w_high)``. With binary weights every vote of one entry in one step has the sign that its
  current level allows, so this equals applying the positions' updates one after the other
  (tested), whatever their order.

Homeostasis and dropout act per map, among the output maps as the paper says: ``theta`` (the
adaptive threshold) lives in the ``kernels`` group and rises by ``theta_plus`` for every spike
of the map at any position; each sample redraws one dropout flag per map (the paper's "proxy
for lateral inhibition").

Lateral inhibition (``winner_take_all=True``, the default): a spike of one map at a position
resets the membrane of every other map at that position to 0 in the same step (``inhibition``
pathway, one synapse per ordered pair of maps at a position), so the maps compete for each
image location and learn different kernels, as in the convolutional STDP networks ReStoCNet
builds on (Masquelier & Thorpe 2007; Kheradpisheh et al. 2018: "local inter-map competition").
Maps that cross the threshold in the same step all fire. ReStoCNet's own text (its inhibition
and constants) was not reachable here; this form is a choice, stated.

Constants: the neuron and STDP defaults are those of :data:`~brainconv.equations.adaptive_lif.
ADAPTIVE_LIF` and :data:`~brainconv.equations.plasticity.STOCHASTIC_BINARY_STDP`, all of them
placeholders (their docstrings say why); pass ``neuron=`` and ``plasticity=`` to change them.
Every random draw comes from ``seed`` (initial kernels in numpy, Poisson spikes, dropout and
switching in Brian2's ``rand()``).
"""

import numpy as np

from ..errors import ParameterError, ShapeError
from .common import (LearnedKernels, Schedule, check_intensities, check_learning, learning_run,
                     poisson_pixels, project_directory, run_timed, square_images)

__all__ = ["learn_shared_kernels", "offset_connections"]


def _check_images(images, size):
    images = square_images(images, size)
    if len(images) < 1:
        raise ShapeError("images holds no image; give at least one (n_images, height, width)")
    return check_intensities(images, "pixel", "scale images to [0, 1] first")


def offset_connections(height, width, size, n_maps):
    """``(pre, post)`` of each kernel entry's ``Synapses``, one pair of arrays per entry.

    Entry ``j = dy * size + dx`` connects pixel ``(y + dy, x + dx)`` to the neuron of every map
    at position ``(y, x)``; neuron ``m * positions + y * (width - size + 1) + x``.
    """
    out_h, out_w = height - size + 1, width - size + 1
    y, x = np.divmod(np.arange(out_h * out_w), out_w)
    maps = np.repeat(np.arange(n_maps), out_h * out_w)
    post = maps * (out_h * out_w) + np.tile(np.arange(out_h * out_w), n_maps)
    pairs = []
    for j in range(size * size):
        dy, dx = divmod(j, size)
        pre = np.tile((y + dy) * width + (x + dx), n_maps)
        pairs.append((pre.astype(np.int64), post.astype(np.int64)))
    return pairs


def _strings(entries):
    """The Brian2 code of the maps, the offset pathways, the vote sums and the kernels."""
    js = range(entries)
    maps = "\n".join(
        ["dv/dt = -v / tau_m : 1 (unless refractory)", "tpost : second", "fired : 1",
         "theta_map : 1 (linked)", "active_map : 1 (linked)"]
        + [f"kernel_{j} : 1 (linked)\nw_start_{j} : 1\nin_{j} : 1\ntpre_{j} : second\n"
           f"dw_{j} : 1" for j in js])
    drive = "v += w_scale * (" + " + ".join(f"w_start_{j} * in_{j}" for j in js) + ")\n" + \
        "\n".join(f"in_{j} = 0" for j in js)
    post_rule = "\n".join(
        ["v = 0", "tpost = t", "fired += 1"]
        + [f"u_{j} = rand()\n"
           f"paired_{j} = int(tpre_{j} >= 0*second)\n"
           f"potentiate_{j} = paired_{j} * int(t - tpre_{j} <= t_pot + 0.001*dt and "
           f"u_{j} < gamma_pot * exp(-(t - tpre_{j}) / tau_pot))\n"
           f"anti_{j} = paired_{j} * int(t - tpre_{j} >= t_dz - 0.001*dt and u_{j} < gamma_adep)\n"
           f"dw_{j} += potentiate_{j} * (w_high - w_start_{j}) + anti_{j} * (w_low - w_start_{j})"
           for j in js])
    kernels = "\n".join(["dtheta/dt = -theta / tau_theta : 1", "active : 1", "spikes_now : 1"]
                        + [f"w_{j} : 1\nvotes_{j} : 1" for j in js])
    apply = "\n".join([f"w_{j} = clip(w_{j} + votes_{j}, w_low, w_high)" for j in js]
                      + ["theta += theta_plus * spikes_now"])
    votes = "\n".join([f"votes_{j}_post = dw_{j}_pre : 1 (summed)" for j in js]
                      + ["spikes_now_post = fired_pre : 1 (summed)"])
    clear = "\n".join([f"dw_{j} = 0" for j in js] + ["fired = 0"])
    return maps, drive, post_rule, kernels, apply, votes, clear


def _on_pre(j):
    """Offset ``j``'s pathway: count the spike, Hebbian depression at the first pre spike
    after a post spike (the rule of ``stochastic_binary_stdp``, per neuron and entry)."""
    return (f"in_{j}_post += 1\n"
            f"first_after_post = int(tpost_post > tpre_{j}_post)\n"
            f"tpre_{j}_post = t\n"
            f"delta_t = tpost_post - t\n"
            f"hebbian = first_after_post * int(tpost_post >= 0*second and delta_t < 0*second "
            f"and delta_t >= -t_dep - 0.001*dt)\n"
            f"depress = hebbian * int(rand() < gamma_dep * exp(delta_t / tau_dep))\n"
            f"dw_{j}_post += depress * (w_low - w_start_{j}_post)")


def _inhibition(maps, n_maps, positions, dt):
    """Each map neuron to the other maps' neurons at its position: a spike resets them."""
    import brian2

    pathway = brian2.Synapses(maps, maps, on_pre="v_post = 0", dt=dt, name="inhibition")
    pre_map, post_map = np.nonzero(~np.eye(n_maps, dtype=bool))
    position = np.arange(positions)
    pathway.connect(i=(pre_map[:, None] * positions + position).ravel(),
                    j=(post_map[:, None] * positions + position).ravel())
    return pathway


def learn_shared_kernels(images, n_maps=36, size=3, seed=0, device="cpp_standalone",
                         presentation=None, rest=None, max_rate=None, dt=None, initial_high=0.5,
                         initial=None, neuron=None, plasticity=None, winner_take_all=True,
                         directory=None, progress=True):
    """Learn ``n_maps`` binary ``size`` x ``size`` kernels, shared over all positions of
    whole images, with stochastic binary STDP in one Brian2 run (module docstring).

    Parameters
    ----------
    images : ndarray, shape (n_images, height, width) or (n_images, height * width)
        Pixel intensities in [0, 1], one sample each, shown in order.
    n_maps, size : int
        Kernels and their side.
    seed : int
        Seed of the initial kernels and of every ``rand()`` in Brian2.
    device : {"cpp_standalone", "runtime"}
        One compiled C++ project, or Brian2's runtime device (small checks).
    presentation, rest, dt, max_rate : brian2 Quantity, optional
        Per image: shown for ``presentation`` (50 ms), then ``rest`` (20 ms) without input;
        time step 1 ms; Poisson rate of intensity 1 (200 Hz).
    initial_high : float
        Probability that an initial kernel entry is ``w_high`` (ignored with ``initial``).
    initial : ndarray, shape (n_maps, size, size), optional
        The initial kernels (levels ``w_low`` / ``w_high``) instead of random ones.
    neuron, plasticity : dict, optional
        Overrides (Brian2 quantities) of ``adaptive_lif``'s and ``stochastic_binary_stdp``'s
        parameters.
    winner_take_all : bool
        Lateral inhibition across maps at a position (module docstring).
    directory : path, optional
        The ``cpp_standalone`` project folder (default: one in the cache per network shape and
        constants, kept, so that new images, kernels or seed recompile little).
    progress : bool
        Brian2's progress report during the run.

    Returns
    -------
    LearnedKernels
        ``weights`` ``(size * size, n_maps)`` (``kernels()`` gives ``(n_maps, size, size)``),
        ``initial``, ``spikes`` per map, ``theta`` per map, ``seconds`` of the simulation.
    """
    import brian2

    from ..equations.adaptive_lif import ADAPTIVE_LIF
    from ..equations.plasticity import STOCHASTIC_BINARY_STDP

    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ParameterError(f"size must be a positive integer (kernel side), got {size!r}")
    images = _check_images(images, size)
    backend = check_learning(device, n_maps)
    neuron_namespace = ADAPTIVE_LIF.namespace(neuron)  # checks before any work
    synapse_namespace = STOCHASTIC_BINARY_STDP.namespace(plasticity)
    low, high = synapse_namespace["w_low"], synapse_namespace["w_high"]
    entries = size * size
    rng = np.random.default_rng(seed)
    if initial is None:
        if not 0 <= initial_high <= 1:
            raise ParameterError(f"initial_high is a probability, got {initial_high}")
        initial = np.where(rng.random((n_maps, size, size)) < initial_high, high, low)
    initial = np.asarray(initial, dtype=np.float64)
    if initial.shape != (n_maps, size, size) or not np.all((initial == low) | (initial == high)):
        raise ParameterError(f"initial kernels must have shape {(n_maps, size, size)} and "
                             f"hold only w_low = {low} and w_high = {high}, got shape "
                             f"{initial.shape}")
    schedule = Schedule.make(presentation, rest, dt, max_rate)
    n_images, height, width = images.shape
    positions = (height - size + 1) * (width - size + 1)
    if directory is None:
        directory = project_directory(
            backend, "shared", height, width, size, n_maps, n_images, *schedule.key(),
            repr(sorted(neuron_namespace.items())), repr(sorted(synapse_namespace.items())),
            *(("wta",) if winner_take_all else ()))
    maps_eqs, drive, post_rule, kernel_eqs, apply, votes_eqs, clear = _strings(entries)
    namespace = {**neuron_namespace, **synapse_namespace}
    with learning_run(backend, directory, seed, "the shared-kernel STDP run"):
        step = {"dt": schedule.dt, "namespace": namespace}
        pixels = poisson_pixels(images.reshape(n_images, -1), schedule)
        kernels = brian2.NeuronGroup(n_maps, kernel_eqs, method="exact", name="kernels",
                                     **step)
        for j in range(entries):
            setattr(kernels, f"w_{j}", initial.reshape(n_maps, -1)[:, j])
        kernels.run_regularly("active = int(rand() >= dropout)", dt=schedule.period,
                              when="start", name="kernels_new_sample")
        kernels.run_regularly(apply, when="end", order=1, name="kernels_apply")
        maps = brian2.NeuronGroup(
            n_maps * positions, maps_eqs, threshold="v > v_th + theta_map and active_map > 0.5",
            reset=post_rule, refractory=neuron_namespace["t_ref"], method="exact", name="maps",
            **step)
        owner = np.repeat(np.arange(n_maps), positions)
        maps.theta_map = brian2.linked_var(kernels, "theta", index=owner)
        maps.active_map = brian2.linked_var(kernels, "active", index=owner)
        for j in range(entries):
            setattr(maps, f"kernel_{j}", brian2.linked_var(kernels, f"w_{j}", index=owner))
            setattr(maps, f"tpre_{j}", -1 * brian2.second)
        maps.tpost = -1 * brian2.second
        maps.run_regularly("v = 0", dt=schedule.period, when="start", name="maps_new_sample")
        maps.run_regularly("\n".join(f"w_start_{j} = kernel_{j}" for j in range(entries)),
                           when="start", order=1, name="maps_weights")
        maps.run_regularly(drive, when="synapses", order=1, name="maps_drive")
        maps.run_regularly(clear, when="end", order=2, name="maps_clear")
        pathways = []
        for j, (pre, post) in enumerate(offset_connections(height, width, size, n_maps)):
            pathway = brian2.Synapses(pixels, maps, on_pre=_on_pre(j), name=f"offset{j}",
                                      **step)
            pathway.connect(i=pre, j=post)
            pathways.append(pathway)
        if winner_take_all and n_maps > 1:  # before the drive (order 1): losers start from 0
            pathways.append(_inhibition(maps, n_maps, positions, schedule.dt))
        votes = brian2.Synapses(maps, kernels, votes_eqs, dt=schedule.dt, name="votes")
        votes.connect(i=np.arange(n_maps * positions), j=owner)
        for updater in votes.summed_updaters.values():  # after the step's resets
            updater.when, updater.order = "end", 0
        counter = brian2.SpikeMonitor(maps, record=False, name="map_spikes")
        network = brian2.Network(pixels, kernels, maps, *pathways, votes, counter)
        seconds = run_timed(network, n_images * schedule.period, backend, directory, progress)
        weights = np.stack([np.asarray(getattr(kernels, f"w_{j}")[:], dtype=np.float64)
                            for j in range(entries)])
        spikes = np.asarray(counter.count[:]).reshape(n_maps, positions).sum(axis=1)
        return LearnedKernels(weights=weights, initial=initial.reshape(n_maps, -1).T,
                              spikes=spikes, theta=np.asarray(kernels.theta[:]).copy(),
                              seconds=seconds)
