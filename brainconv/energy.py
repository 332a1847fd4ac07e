"""Energy estimates: ANN flops against SNN synaptic operations (Hunsberger & Eliasmith 2016).

Hunsberger & Eliasmith, *Training spiking deep networks for neuromorphic hardware* (2016),
eq. 4–5, in units of one flop on standard hardware::

    flops_ANN = 1 * neurons + 2 * connections                            (eq. 4)
    E_SNN     = c1 * (E_synop * synops/s + E_update * updates/s)         (eq. 5)
    efficiency = flops_ANN / E_SNN

with ``E_synop = 0.08`` and ``E_update = 0.25``, ``c1`` the end of the classification window
(the time the SNN runs per image, in s), ``synops/s`` the synaptic events per second per image
(a spike times its fan-out) and ``updates/s`` the neuron state updates per second per image
(every neuron, every step: the paper's 49,536,000 updates/s read as 49,536 neurons updated
every 1 ms step).

Conventions of brainconv, stated because the paper leaves them open:

* **Neurons** in ``flops_ANN`` are the hidden units, the ones with a nonlinearity: the paper's
  "27K" neurons of its MNIST network match its 12,544 + 12,544 + 2,000 = 27,088 hidden units,
  without the 10 linear outputs (whose cost is in their connections).
  ``count_output=True`` adds the output units.
* **Connections** are the stored weights: every entry of a dense layer, the stored entries of
  a sparse one (a convolution unrolled to its locally connected form, an average pool folded
  into it), which are also the synapses brainconv builds.
* **The input** is not spiking: the first layer receives ``W0 x + b0`` as a constant current,
  so the input causes no synaptic events. :data:`FIRST_LAYER` names the two accountings: ``"none"`` (the paper's: the
  input costs nothing) and ``"once"`` (one dense product per image, 2 flops per connection of
  the first layer, added to ``E_SNN`` as plain flops, not scaled by ``c1``). For an MLP on
  MNIST the first layer holds most connections, so the choice matters; report it.
* A payload event (accumulator neurons) is one synaptic event per connection, as Think Fast
  counts power; results datasets already count such events, not the payload.

**Operations (Srinivasan et al. 2020).** A second model counts
operations per inference: an ANN does one multiply-accumulate (MAC) per connection, an SNN one
accumulate (AC) per synaptic event (a spike times its fan-out). Energy is ``#MAC E_MAC + #AC
E_AC`` with the per-operation energies of :data:`ENERGY_PRESETS` (pJ, 45 nm, Han et al. 2015
after Horowitz) or user values; :func:`table1` reproduces the paper's Table 1 arithmetic.

numpy / xarray only; nothing here needs Brian2.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse

from brainconv.ann import ANN
from brainconv.equations import resolve_model
from brainconv.spec import NetworkSpec, window_offsets
from brainconv.errors import ParameterError, ShapeError

__all__ = [
    "ENERGY_PRESETS",
    "E_SYNOP",
    "E_UPDATE",
    "FIRST_LAYER",
    "TABLE1",
    "TABLE1_RESNET4",
    "add_energy_attrs",
    "ann_flops",
    "ann_macs",
    "efficiency",
    "energy_summary",
    "implied_ac_energy",
    "operation_energies",
    "operations_energy",
    "snn_activity",
    "snn_energy",
    "snn_operations",
    "table1",
]

#: Energy of one synaptic event and one neuron update, in flops (Hunsberger & Eliasmith eq. 5).
E_SYNOP, E_UPDATE = 0.08, 0.25

#: How the first layer's analog input current is counted (see the module docstring).
FIRST_LAYER = ("none", "once")


def _layer_weights(net):
    """The weight matrices ``(n_in, n_out)`` of an ANN or of a NetworkSpec."""
    if isinstance(net, ANN):
        return list(net.weights)
    if isinstance(net, NetworkSpec):
        return [layer.weights for layer in net.layers]
    raise ParameterError(
        f"expected a brainconv ANN or NetworkSpec, got {type(net).__name__}; convert the "
        "network with brainconv.train_ann / brainconv.convert first"
    )


def _n_connections(w) -> int:
    """Stored weights of one layer: every dense entry, the stored entries of a sparse one."""
    if scipy.sparse.issparse(w):
        return int(w.nnz)
    return int(np.prod(np.shape(w)))


def _fan_out(w) -> np.ndarray:
    """Outgoing connections of each presynaptic neuron (row) of ``w``, ``(n_in, n_out)``."""
    if scipy.sparse.issparse(w):
        return np.diff(scipy.sparse.csr_matrix(w).indptr).astype(np.float64)
    n_in, n_out = np.shape(w)
    return np.full(n_in, float(n_out))


def _real(name, value, allow_zero=True):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name} must be a finite number {bound}, got {value}")
    return value


def ann_flops(net, flops_per_neuron=1.0, flops_per_connection=2.0, count_output=False):
    """Flops of one ANN forward pass, Hunsberger & Eliasmith eq. 4.

    Parameters
    ----------
    net : ANN or NetworkSpec
        The network; a NetworkSpec gives the same count as the ANN it was converted from.
    flops_per_neuron : float
        1 in the paper (one ReLU / rate evaluation per hidden unit).
    flops_per_connection : float
        2 in the paper (a multiply and an add).
    count_output : bool
        Also count the linear output units as neurons (the paper does not).

    Returns
    -------
    float
        ``flops_per_neuron * neurons + flops_per_connection * connections`` with neurons the
        hidden units (plus the output units with ``count_output``) and connections the stored
        weights (dense: every entry; sparse: the stored entries, i.e. a convolution unrolled).
    """
    weights = _layer_weights(net)
    per_neuron = _real("flops_per_neuron", flops_per_neuron)
    per_connection = _real("flops_per_connection", flops_per_connection)
    sizes = [int(np.shape(w)[1]) for w in weights]
    neurons = sum(sizes if count_output else sizes[:-1])
    connections = sum(_n_connections(w) for w in weights)
    return per_neuron * neurons + per_connection * connections


def snn_energy(synops_per_s, updates_per_s, c1, e_synop=E_SYNOP, e_update=E_UPDATE):
    """SNN energy per image in flop equivalents, Hunsberger & Eliasmith eq. 5.

    Parameters
    ----------
    synops_per_s : float
        Synaptic events per second (per image).
    updates_per_s : float
        Neuron updates per second (per image): neurons / dt when every neuron is updated
        every step.
    c1 : float
        Time the network runs per image (end of the classification window), in seconds.
    e_synop, e_update : float
        Energy of one synaptic event and one neuron update, in flops (0.08 and 0.25).

    Returns
    -------
    float
        ``c1 * (e_synop * synops_per_s + e_update * updates_per_s)``. The paper's CIFAR-10
        figures (2,693,315,174 synops/s, 49,536,000 updates/s, c1 = 0.2 s) give 45,569,842.8.
    """
    synops_per_s = _real("synops_per_s", synops_per_s)
    updates_per_s = _real("updates_per_s", updates_per_s)
    c1 = _real("c1 (classification end time in seconds)", c1, allow_zero=False)
    e_synop = _real("e_synop", e_synop)
    e_update = _real("e_update", e_update)
    return c1 * (e_synop * synops_per_s + e_update * updates_per_s)


_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _dt_seconds(ds, dt):
    """The simulation step in seconds: ``dt`` if given, else the results' ``dt_ms`` attribute
    (:mod:`brainconv.results` adds it to datasets whose older ``dt`` string holds the step)."""
    if dt is not None:
        return _real("dt (simulation step in seconds)", dt, allow_zero=False)
    dt_ms = ds.attrs.get("dt_ms")
    if isinstance(dt_ms, (bool, np.bool_)) or not isinstance(dt_ms, numbers.Real):
        text = ds.attrs.get("dt") if dt_ms is None else dt_ms
        raise ParameterError(
            f"the results dataset has dt attribute {text!r}, expected a step such as "
            "dt_ms = 1.0 (or an older file's dt = '1.0 ms'); pass dt in seconds, e.g. "
            "dt=0.001 for 1 ms steps"
        )
    return _real("dt_ms attribute of the results", dt_ms * _SECONDS["ms"], allow_zero=False)


def _duration_seconds(ds, dt_s):
    """Simulated time per sample: time bins times the bin width (one step, or the ms grid)."""
    time = ds["time"]
    units = time.attrs.get("units", "timestep")
    n_bins = ds.sizes["time"]
    if units == "timestep":
        return n_bins * dt_s
    if units in ("ms", "s"):
        values = np.asarray(time.values, dtype=float)
        steps = np.diff(values)
        if n_bins < 2 or not np.allclose(steps, steps[0], rtol=1e-9):
            raise ShapeError(
                f"the results' time coordinate (units {units!r}) must be a uniform grid of at "
                f"least 2 points to give the simulated duration, got {values[:5].tolist()}..."
            )
        return n_bins * float(steps[0]) * _SECONDS[units]
    raise ParameterError(
        f"the results' time coordinate has units {units!r}; expected 'timestep', 'ms' or 's'"
    )


def _check_layout(ds, spec):
    names = [str(name) for name in ds["layer"].values]
    expected = [layer.name for layer in spec.layers]
    if names != expected:
        raise ShapeError(
            f"the results have layers {names} but the NetworkSpec has {expected}; pass the "
            "spec the results were simulated with"
        )
    sizes = [int(size) for size in ds["layer_size"].values]
    if sizes != list(spec.layer_sizes):
        raise ShapeError(
            f"the results have layer sizes {sizes} but the NetworkSpec has "
            f"{list(spec.layer_sizes)}; pass the spec the results were simulated with"
        )


def snn_activity(ds, spec, dt=None, first_layer="none"):
    """Synaptic events and neuron updates per second (per image) of a simulation.

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset (:mod:`brainconv.results`): ``unit_spike_count`` per neuron (summed
        over samples and time, coordinate ``neuron_layer``), ``layer_size``, ``sample``, ``time``.
    spec : NetworkSpec
        The network the results come from; ``spec.layers[l + 1].weights`` (shape
        ``(size_l, size_{l+1})``) gives each neuron's fan-out.
    dt : float, optional
        Simulation step in seconds; default the results' ``dt_ms`` attribute (an older
        file's ``dt`` string, e.g. ``"1.0 ms"``, is read too).
    first_layer : {"none", "once"}
        How the analog input current into the first layer is counted (module docstring):
        ``"none"`` gives ``input_flops = 0``, ``"once"`` ``2 * connections`` of the first layer.

    Returns
    -------
    dict
        Plain Python numbers: ``synops_per_s`` (sum over layers of each neuron's spikes times its
        fan-out into the next layer; the last layer's spikes have no fan-out), ``updates_per_s``
        (every neuron of every layer in ``ds``, every step: ``sum(layer_size) / dt``; a
        few-spike layer only in its window, so idle steps cost nothing),
        ``synops_per_s_per_layer`` (dict layer name -> synops caused by that layer's spikes),
        ``input_flops`` (per image), ``first_layer``, ``dt_s`` and ``duration_s`` (simulated
        time per image: time bins times their width). Rates are per image: totals divided by
        the number of samples and the duration.

    Raises
    ------
    ShapeError
        If the dataset's layers do not match ``spec`` or its time grid is not uniform.
    ParameterError
        For an unknown ``first_layer``, a missing or malformed ``dt``.

    Notes
    -----
    For ensemble models (ION, LEN) ``unit_spike_count`` holds member spikes; each is counted
    with the fan-out of its unit in ``spec``, not the members' own synapses.
    """
    if first_layer not in FIRST_LAYER:
        raise ParameterError(
            f"unknown first_layer convention {first_layer!r}; choose one of "
            f"{', '.join(FIRST_LAYER)} ('none': the input current costs nothing, as in "
            "Hunsberger & Eliasmith; 'once': 2 flops per first-layer connection per image)"
        )
    _check_layout(ds, spec)
    dt_s = _dt_seconds(ds, dt)
    duration = _duration_seconds(ds, dt_s)
    n_samples = ds.sizes["sample"]
    counts = np.asarray(ds["unit_spike_count"].values, dtype=np.float64)
    neuron_layer = np.asarray(ds["neuron_layer"].values).astype(str)
    per_layer = {}
    for index, layer in enumerate(spec.layers):
        spikes = counts[neuron_layer == layer.name]
        if index + 1 < len(spec.layers):
            synops = float(spikes @ _fan_out(spec.layers[index + 1].weights))
        else:
            synops = 0.0  # the output layer's spikes only vote
        per_layer[layer.name] = synops / (n_samples * duration)
    input_flops = 0.0 if first_layer == "none" else 2.0 * _n_connections(spec.layers[0].weights)
    return {
        "synops_per_s": float(sum(per_layer.values())),
        "updates_per_s": (_active_updates(spec, ds.sizes["time"])
                          / (ds.sizes["time"] * dt_s)),
        "synops_per_s_per_layer": per_layer,
        "input_flops": input_flops,
        "first_layer": first_layer,
        "dt_s": dt_s,
        "duration_s": duration,
    }


def _active_updates(spec, n_steps):
    """Neuron updates per image over ``n_steps``: every neuron every step, except that a
    few-spike layer is updated in its window only (:func:`brainconv.spec.window_offsets`), so
    steps after a sample has passed through cost nothing."""
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    updates = 0
    for layer, model, start in zip(spec.layers, models, window_offsets(models)):
        active = min(model.window, max(0, n_steps - start)) if model.window else n_steps
        updates += layer.size * active
    return float(updates)


def energy_summary(ds, spec, ann=None, c1=None, dt=None, first_layer="none",
                   e_synop=E_SYNOP, e_update=E_UPDATE):
    """Energy of a simulation against its ANN, as plain numbers (JSON-ready).

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset.
    spec : NetworkSpec
        The simulated network.
    ann : ANN, optional
        The ANN whose flops are the baseline; default ``spec`` (same counts).
    c1 : float, optional
        Classification end time in seconds; default the simulated duration per image.
    dt : float, optional
        Simulation step in seconds; default the results' ``dt_ms`` attribute.
    first_layer : {"none", "once"}
        See :func:`snn_activity`.
    e_synop, e_update : float
        See :func:`snn_energy`.

    Returns
    -------
    dict
        :func:`snn_activity`'s keys plus ``c1_s``, ``e_synop``, ``e_update``, ``snn_energy``
        (``snn_energy(...) + input_flops``, flops per image), ``ann_flops`` and
        ``efficiency`` (``ann_flops / snn_energy``; inf when the SNN costs nothing).
    """
    activity = snn_activity(ds, spec, dt=dt, first_layer=first_layer)
    c1 = activity["duration_s"] if c1 is None else c1
    energy = snn_energy(activity["synops_per_s"], activity["updates_per_s"], c1,
                        e_synop, e_update) + activity["input_flops"]
    flops = ann_flops(spec if ann is None else ann)
    return {
        **activity,
        "c1_s": float(c1),
        "e_synop": float(e_synop),
        "e_update": float(e_update),
        "snn_energy": energy,
        "ann_flops": flops,
        "efficiency": flops / energy if energy > 0 else float("inf"),
    }


def add_energy_attrs(ds, spec, window=None):
    """Add Hunsberger & Eliasmith's energy figures of a run (eq. 4-5) as attributes.

    Synaptic events of the spiking layers and one update per neuron per step are counted; the
    analog input ``W0 x`` is not (the paper's convention, see the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        Results dataset of ``spec`` (its step from the ``dt_ms`` attribute).
    spec : NetworkSpec
        The simulated network.
    window : (float, float), optional
        Classification window in ms; ``c1`` is its end, else the whole presentation.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself, with ``energy_synops_per_s``, ``energy_updates_per_s``,
        ``energy_c1_s``, ``energy_snn_flops``, ``energy_ann_flops``, ``energy_efficiency``
        and ``energy_first_layer`` (:func:`energy_summary`'s figures).
    """
    figures = energy_summary(ds, spec, c1=None if window is None else window[1] / 1000)
    ds.attrs.update({"energy_synops_per_s": figures["synops_per_s"],
                     "energy_updates_per_s": figures["updates_per_s"],
                     "energy_c1_s": figures["c1_s"],
                     "energy_snn_flops": figures["snn_energy"],
                     "energy_ann_flops": figures["ann_flops"],
                     "energy_efficiency": figures["efficiency"],
                     "energy_first_layer": figures["first_layer"]})
    return ds


# --- operations: MACs against ACs (Srinivasan et al. 2020) ---------------------------------

#: Energy of one MAC and one AC in pJ, ``(E_MAC, E_AC)`` (Han et al. 2015 Table 1, Horowitz's
#: 45 nm figures). ``int32`` and ``float32`` count a MAC as the multiply
#: alone and reproduce Srinivasan et al.'s Table 1 exactly; ``common`` is the often-quoted
#: float multiply + add (4.6 pJ) against a float add, which does not reproduce it.
ENERGY_PRESETS = {
    "int32": (3.1, 0.1),
    "float32": (3.7, 0.9),
    "common": (4.6, 0.9),
}

#: Srinivasan et al. 2020 Table 1 (CIFAR-10), the rows whose efficiency follows from the printed
#: operation counts: (row, ANN MACs, SNN ACs, efficiency int as printed, efficiency float as
#: printed). VGG9 rows against the VGG9 ANN's 1.95e8 MACs; VGG16 prints its SNN's operations
#: only relative to its own ANN's (1.975 x), so its counts are relative. ResNet-4 (1.32e8 8-bit
#: ACs, 12.5x / 8.7x) is left out: the paper gives no energy for an 8-bit AC, and the printed
#: efficiencies imply 0.37 pJ (int) and 0.63 pJ (float) per AC, which match no entry of
#: Horowitz's 45 nm figures (8-bit add 0.03 pJ) that the presets come from
#: (:data:`TABLE1_RESNET4`).
TABLE1 = (
    ("VGG9 SNN, conversion (T = 800)", 1.95e8, 1.26e9, 4.8, 0.6),
    ("VGG9 SNN, SNN backprop (T = 100)", 1.95e8, 7.03e8, 8.6, 1.1),
    ("VGG16 SNN, conversion (T = 500)", 1.0, 1.975, 15.7, 2.1),
)
#: MACs of the VGG9 ANN in Table 1.
TABLE1_ANN_MACS = 1.95e8
#: Table 1's ResNet-4 row: (SNN 8-bit ACs, efficiency int, efficiency float as printed), all
#: against the VGG9 ANN.
TABLE1_RESNET4 = (1.32e8, 12.5, 8.7)


def operation_energies(preset="int32", e_mac=None, e_ac=None):
    """Energy of one MAC and one AC in pJ: a preset, with user values overriding it.

    Parameters
    ----------
    preset : {"int32", "float32", "common"} or None
        :data:`ENERGY_PRESETS`; None needs both ``e_mac`` and ``e_ac``.
    e_mac, e_ac : float, optional
        User values in pJ (>= 0), replacing the preset's.

    Returns
    -------
    (float, float)
        ``(E_MAC, E_AC)`` in pJ.

    Raises
    ------
    ParameterError
        For an unknown preset, a missing value without a preset, or a negative energy.
    """
    if preset is None:
        if e_mac is None or e_ac is None:
            raise ParameterError(
                "without a preset give both e_mac and e_ac (pJ per operation), or pick a "
                f"preset: {', '.join(ENERGY_PRESETS)}")
        base = (None, None)
    elif preset in ENERGY_PRESETS:
        base = ENERGY_PRESETS[preset]
    else:
        raise ParameterError(
            f"unknown energy preset {preset!r}; choose one of {', '.join(ENERGY_PRESETS)} "
            "(pJ per MAC / AC: int32 3.1 / 0.1, float32 3.7 / 0.9, common 4.6 / 0.9) or pass "
            "preset=None with e_mac and e_ac")
    mac = base[0] if e_mac is None else _real("e_mac (pJ per MAC)", e_mac)
    ac = base[1] if e_ac is None else _real("e_ac (pJ per AC)", e_ac)
    return float(mac), float(ac)


def _is_input_layer(layer):
    """Whether ``layer`` only encodes the input as spikes (Poisson, TTFS; identity weights)."""
    from brainconv.equations.poisson import INPUT_MODELS

    return layer.model in INPUT_MODELS


def ann_macs(net):
    """MACs of one ANN inference: one per connection (stored weight).

    Parameters
    ----------
    net : ANN or NetworkSpec
        A NetworkSpec counts the ANN it was converted from: a spike-encoding input layer
        (``poisson``, ``ttfs``: identity weights) is no part of the ANN and is skipped.

    Returns
    -------
    int
    """
    if isinstance(net, NetworkSpec):
        return sum(_n_connections(layer.weights) for layer in net.layers
                   if not _is_input_layer(layer))
    return sum(_n_connections(w) for w in _layer_weights(net))


def snn_operations(results, spec, n_samples=None):
    """ACs (and first-layer MACs) of one SNN inference, averaged over the simulated samples.

    Every spike of a layer costs one AC per outgoing connection (its fan-out into the next
    layer; the output layer's spikes only vote). With a spiking input layer (``poisson``,
    ``ttfs``) the input spikes are counted the same way, so the first ANN layer costs ACs.
    With current input the first layer computes ``x @ W0`` once per image: its connections
    are counted as MACs (adding that current every step is a neuron update, not counted). A
    payload event (accumulators) counts as one AC per connection, as Think Fast counts power;
    ensembles count member spikes with their unit's fan-out.

    Parameters
    ----------
    results : xarray.Dataset or dict
        A results dataset (:mod:`brainconv.results`), or the dict of
        :func:`brainconv.simulation.run_network` (``unit_spike_count`` summed over samples).
    spec : NetworkSpec
        The simulated network.
    n_samples : int, optional
        Samples the counts are summed over; default from ``results`` (its ``sample``
        dimension, or the length of ``output_spikes``).

    Returns
    -------
    dict
        ``acs`` (per inference), ``acs_per_layer`` (layer name -> ACs caused by its spikes),
        ``macs`` (per inference: the first layer's connections with current input, else 0),
        ``input`` (``"spikes"`` or ``"current"``) and ``n_samples``.

    Raises
    ------
    ShapeError
        If the counts do not match ``spec``'s layers.
    ParameterError
        If the number of samples is unknown or not positive.
    """
    if not isinstance(spec, NetworkSpec):
        raise ParameterError(f"snn_operations needs the NetworkSpec that was simulated, got "
                             f"{type(spec).__name__}")
    sizes = list(spec.layer_sizes)
    if isinstance(results, dict):
        counts = np.asarray(results["unit_spike_count"], dtype=np.float64)
        if counts.shape != (sum(sizes),):
            raise ShapeError(f"unit_spike_count has shape {counts.shape}, but the NetworkSpec "
                             f"has {sum(sizes)} neurons (layers {sizes}); pass the spec the "
                             "results were simulated with")
        per_layer_counts = np.split(counts, np.cumsum(sizes)[:-1])
        if n_samples is None and "output_spikes" in results:
            n_samples = len(results["output_spikes"])
    else:
        _check_layout(results, spec)
        counts = np.asarray(results["unit_spike_count"].values, dtype=np.float64)
        labels = np.asarray(results["neuron_layer"].values).astype(str)
        per_layer_counts = [counts[labels == layer.name] for layer in spec.layers]
        if n_samples is None:
            n_samples = results.sizes["sample"]
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ParameterError(f"n_samples must be a positive integer (the samples the spike "
                             f"counts are summed over), got {n_samples!r}")
    acs_per_layer = {}
    for index, (layer, spikes) in enumerate(zip(spec.layers, per_layer_counts)):
        fan_out = (_fan_out(spec.layers[index + 1].weights) if index + 1 < len(spec.layers)
                   else np.zeros(layer.size))
        acs_per_layer[layer.name] = float(spikes @ fan_out) / n_samples
    spiking_input = _is_input_layer(spec.layers[0])
    return {
        "acs": float(sum(acs_per_layer.values())),
        "acs_per_layer": acs_per_layer,
        "macs": 0.0 if spiking_input else float(_n_connections(spec.layers[0].weights)),
        "input": "spikes" if spiking_input else "current",
        "n_samples": int(n_samples),
    }


def operations_energy(macs, acs, preset="int32", e_mac=None, e_ac=None):
    """Energy in pJ of ``macs`` MACs and ``acs`` ACs: ``macs * E_MAC + acs * E_AC``.

    ``preset``, ``e_mac`` and ``e_ac`` as for :func:`operation_energies`.
    """
    mac, ac = operation_energies(preset, e_mac, e_ac)
    return _real("macs", macs) * mac + _real("acs", acs) * ac


def efficiency(ann_macs, snn_acs, snn_macs=0.0, preset="int32", e_mac=None, e_ac=None):
    """Energy of the ANN over the SNN's: ``ann_macs E_MAC / (snn_acs E_AC + snn_macs E_MAC)``.

    Srinivasan et al.'s efficiency (Table 1); ``snn_macs`` holds the first layer's MACs of a
    current-input SNN (:func:`snn_operations`). Returns inf when the SNN costs nothing.

    Examples
    --------
    >>> round(efficiency(1.95e8, 1.26e9, preset="int32"), 2)
    4.8
    """
    cost = operations_energy(snn_macs, snn_acs, preset, e_mac, e_ac)
    baseline = operations_energy(ann_macs, 0.0, preset, e_mac, e_ac)
    return baseline / cost if cost > 0 else float("inf")


def table1(presets=("int32", "float32")):
    """Srinivasan et al. 2020 Table 1's efficiencies, recomputed.

    Returns
    -------
    list of dict
        One per row of :data:`TABLE1`: ``row``, ``ann_macs``, ``snn_acs``, the paper's
        printed values (``paper_int32``, ``paper_float32``) and the recomputed efficiency for
        each preset (``int32``, ``float32``...): 4.80 / 0.64 for VGG9 conversion, 8.60 / 1.14
        for VGG9 SNN backprop and 15.70 / 2.08 for VGG16 conversion, which round to the printed
        4.8 / 0.6, 8.6 / 1.1 and 15.7 / 2.1.
    """
    rows = []
    for row, macs, acs, paper_int, paper_float in TABLE1:
        entry = {"row": row, "ann_macs": macs, "snn_acs": acs,
                 "paper_int32": paper_int, "paper_float32": paper_float}
        for preset in presets:
            entry[preset] = efficiency(macs, acs, preset=preset)
        rows.append(entry)
    return rows


def implied_ac_energy(ann_macs, snn_acs, printed, preset):
    """The energy per AC (pJ) that makes ``efficiency(ann_macs, snn_acs)`` equal ``printed``
    with the preset's MAC energy: how Table 1's ResNet-4 row can be read backwards."""
    e_mac, _ = ENERGY_PRESETS[preset]
    return ann_macs * e_mac / (snn_acs * printed)
