"""Exchange with NIR, the Neuromorphic Intermediate Representation (``pip install nir``).

:func:`to_nir` writes a brainconv network as a ``nir.NIRGraph``, :func:`from_nir` reads a
feed-forward graph (a file or a graph) into a :class:`~brainconv.spec.NetworkSpec`.

**Time.** NIR's neurons are ODEs in continuous time; brainconv's grid paradigms are maps on a
grid of step ``dt``. The mapping is the forward-Euler step of the NIR ODE with input held over
the step — what Norse, snnTorch and Sinabs do — and edges carry one unit per spike and step:

* NIR ``IF`` (``dv/dt = r I``): ``v += r dt I`` per step. brainconv's ``if_hard`` / ``if_soft``
  (``v += I``) export as ``r = 1 / dt``; on import the weights and bias into the layer are
  multiplied by ``r dt``.
* NIR ``LIF`` (``tau dv/dt = (v_leak - v) + r I``): ``v = (1 - dt/tau) v + (dt/tau)(r I +
  v_leak)``. brainconv's ``lif`` (``v = v / R + I``) exports as ``tau = dt R / (R - 1)``, ``r =
  tau / dt``, ``v_leak = 0``; on import ``R = 1 / (1 - dt/tau)`` (needs ``dt < tau``), weights
  times ``r dt / tau``, and ``v_leak`` becomes the bias ``dt v_leak / tau``.
* CuBa-LIF (``cuba_lif``, BATS; continuous time): NIR ``CubaLIF`` with ``tau_syn = tau_s``,
  ``tau_mem = 2 tau_s``, ``r = tau_mem`` and ``w_in = tau_syn``, so that the ``Affine`` weights
  are brainconv's (a spike adds ``w`` Hz to the current ``g = r I / tau_mem``); the soft reset
  and the spike buffer are node metadata (``reset: subtract``, ``max_spikes``), the
  time-to-first-spike input layer is the ``Input`` node's metadata (``encoding: ttfs``,
  ``t_window``). Such a graph imports only with that metadata, ``tau_mem = 2 tau_syn`` and
  ``v_leak = 0``: brainconv runs CuBa-LIF behind TTFS input.
* ``lif_rc`` (Hunsberger & Eliasmith's LIF, continuous time: ``tau_rc dv/dt = J - v``, ``J =
  gain (I + I_syn) + theta``): NIR ``LIF`` with ``tau = tau_rc``, ``r = gain``, ``v_leak =
  theta`` behind delta synapses. Behind an exponential synapse it is a ``CubaLIF`` (``tau_syn
  = tau_s``, ``w_in = 1``: a spike of weight ``w`` adds the charge ``w``, as brainconv's
  unit-area kernels); an alpha synapse is two such filters in series, an ``LI`` (``tau = tau_s``,
  ``r = 1``, ``v_leak = 0``) before the ``CubaLIF``. The bias then moves from the ``Affine``
  into ``v_leak = theta + gain b`` (NIR would filter it from 0 at the start; brainconv adds it
  unfiltered). What NIR cannot state is node metadata: the refractory period ``tau_ref``,
  ``min_voltage`` 0 (Nengo's clamp) and the grid convention (``grid``: input held over a step
  at the filter's mean, spike time inside the step). The non-spiking ``readout`` is its
  weights, its filters as ``LI`` nodes and its bias as an identity ``Affine`` after them.
  Such nodes import as ``lif_rc`` by their metadata (``brainconv_model``); ``LI`` nodes between
  layers are read as synaptic filters (exponential; two equal ones an alpha).
* The input is the value of each step (brainconv's constant current), spikes of layer ``l`` in
  step ``t`` reach layer ``l + 1`` in step ``t`` (same-step propagation, as brainconv's
  schedule), thresholds are compared with ``v >= v_threshold`` (NIR writes ``v > v_threshold``;
  the two differ only where ``v`` lands on the threshold exactly).
* Reset: NIR resets to ``v_reset`` (``if_hard``, ``lif``: 0). ``if_soft`` subtracts the
  threshold, which NIR cannot state; it is written as ``IF`` with the node metadata
  ``{"reset": "subtract"}``, which :func:`from_nir` reads back (a reader that ignores it runs
  the network with a hard reset).

Every node brainconv writes carries ``metadata`` with ``brainconv_model``, ``dt`` (seconds),
``reset``, ``threshold_comparison`` and ``schedule``, and the graph's metadata names the writer.

**Import** supports ``Input``, ``Output``, ``Affine``, ``Linear``, ``Conv2d`` (dilation 1, one
group), ``SumPool2d``, ``AvgPool2d`` and ``Flatten`` between ``IF`` and ``LIF`` layers
(per-neuron thresholds, ``r`` and ``v_leak`` are folded into the weights and bias; one ``tau``
per layer), in a chain from the input to the output, and the ``lif_rc`` forms above. Recurrent
edges, ``CubaLIF`` nodes other than brainconv's, ``LI`` nodes that are no filter between layers,
``Integrator``-like and other nodes are refused before any build, naming the node and why.
Layers are named after their NIR nodes.
"""

import math
import re
from pathlib import Path

from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse

from ..equations import get_model
from ..errors import ModelError, ParameterError, ShapeError
from ..spec import LayerSpec, NetworkSpec, pathway_synapse

__all__ = ["EXPORTERS", "Exporter", "IMPORTERS", "MODEL_IMPORTERS", "from_nir", "nir_provenance",
           "to_nir", "write_nir"]

SCHEDULE = ("same step: a spike of layer l in step t reaches layer l + 1 in step t; the input "
            "is the value of each step")


def _nir():
    try:
        import nir
    except ImportError as exc:  # the optional extra
        raise ModelError("NIR exchange needs the nir package: pip install 'brainconv[nir]' "
                         "(or pip install nir h5py)") from exc
    return nir


# --- export -------------------------------------------------------------------------------

def _metadata(layer, dt, reset):
    return {"brainconv_model": layer.model, "brainconv_layer": layer.name, "dt": float(dt),
            "reset": reset,
            "threshold_comparison": ">=", "schedule": SCHEDULE}


def _export_if(layer, dt, reset, n):
    nir = _nir()
    return layer.bias, [("neurons", nir.IF(
        r=np.full(n, 1.0 / dt), v_threshold=np.full(n, float(layer.threshold)),
        v_reset=np.zeros(n), metadata=_metadata(layer, dt, reset)))]


def _export_lif(layer, dt, reset, n):
    nir = _nir()
    R = float(dict(layer.parameters).get("R", 1.0))
    if not R > 1:
        raise ParameterError(f"layer {layer.name!r}: lif with R = {R} has no leak; export it "
                             "as if_hard (R = 1)")
    tau = dt * R / (R - 1)
    return layer.bias, [("neurons", nir.LIF(
        tau=np.full(n, tau), r=np.full(n, tau / dt), v_leak=np.zeros(n),
        v_threshold=np.full(n, float(layer.threshold)), v_reset=np.zeros(n),
        metadata=_metadata(layer, dt, reset)))]


def _export_cuba(layer, dt, reset, n):
    nir = _nir()
    parameters = dict(layer.parameters)
    tau_s = float(parameters.get("tau_s", 0.13))
    metadata = {**_metadata(layer, dt, reset), "max_spikes": int(parameters.get("max_spikes", 30)),
                "threshold_comparison": ">= (the crossing inside a step, emitted at its end)"}
    return layer.bias, [("neurons", nir.CubaLIF(
        tau_syn=np.full(n, tau_s), tau_mem=np.full(n, 2 * tau_s), r=np.full(n, 2 * tau_s),
        v_leak=np.zeros(n), v_threshold=np.full(n, float(layer.threshold)), v_reset=np.zeros(n),
        w_in=np.full(n, tau_s), metadata=metadata))]


#: What a reader needs to reproduce brainconv's grid of a continuous-time layer.
CONTINUOUS_GRID = ("on a grid of step dt (chosen at run time): a spike arrives at the start of "
                   "its step as a Dirac of area w; the neuron holds J = gain (I + I_syn) + "
                   "theta over each step at the mean of the filtered input over the step and "
                   "integrates it exactly; at a spike, v resets to 0 and stays there for "
                   "tau_ref from the crossing inside the step; v never drops below "
                   "min_voltage (Nengo's LIF)")


def _filters(layer):
    """The synaptic filters' time constants of the pathway into ``layer``: none for delta, one
    exponential, two equal ones for alpha (an alpha kernel is two exponentials in series)."""
    tau_s = float(dict(layer.synapse_parameters).get("tau_s", 0.005))
    return {"delta": [], "exponential": [tau_s], "alpha": [tau_s, tau_s]}[layer.synapse]


def _li(layer, tau_s, n, dt):
    """An LI node that filters spikes with a unit-area exponential of ``tau_s``."""
    return _nir().LI(tau=np.full(n, tau_s), r=np.ones(n), v_leak=np.zeros(n),
                     metadata={"brainconv_layer": layer.name, "dt": float(dt),
                               "role": "synapse filter (exponential kernel of unit area)"})


def _export_lif_rc(layer, dt, reset, n):
    """``lif_rc`` (``tau_rc dv/dt = gain (I + I_syn) + theta - v``): NIR ``LIF`` with ``tau =
    tau_rc``, ``r = gain``, ``v_leak = theta`` behind delta synapses, and behind a filter the
    ``CubaLIF`` whose synapse is the (last) exponential, an ``LI`` before it for alpha; the
    bias then moves into ``v_leak = theta + gain b`` (NIR would filter it from 0 at the start).
    The refractory period and the clamp at 0, which NIR cannot state, are metadata."""
    nir = _nir()
    p = {**get_model("lif_rc").parameters, **dict(layer.parameters)}
    theta, gain = float(p["theta"]), float(p["gain"])
    metadata = {**_metadata(layer, dt, reset), "threshold_comparison": ">",
                "time": "continuous", "tau_ref": float(p["tau_ref"]), "min_voltage": 0.0,
                "synapse": layer.synapse, "grid": CONTINUOUS_GRID}
    shared = dict(tau_mem=np.full(n, float(p["tau_rc"])), r=np.full(n, gain),
                  v_threshold=np.full(n, theta), v_reset=np.zeros(n), metadata=metadata)
    filters = _filters(layer)
    if not filters:
        shared["tau"] = shared.pop("tau_mem")
        return layer.bias, [("neurons", nir.LIF(v_leak=np.full(n, theta), **shared))]
    bias = np.reshape(np.asarray(layer.bias, dtype=float), n)
    nodes = [(f"synapse{i + 1}", _li(layer, tau, n, dt)) for i, tau in enumerate(filters[:-1])]
    return np.zeros(n), nodes + [("neurons", nir.CubaLIF(
        tau_syn=np.full(n, filters[-1]), w_in=np.ones(n), v_leak=theta + gain * bias,
        **shared))]


def _export_readout(layer, dt, reset, n):
    """The non-spiking readout ``y = I + I_syn``: its filters as ``LI`` nodes and the bias, unfiltered,
    as an ``Affine`` of the identity after them (delta synapses: the weights node alone)."""
    filters = _filters(layer)
    if not filters:
        return layer.bias, []
    nodes = [(f"synapse{i + 1}", _li(layer, tau, n, dt)) for i, tau in enumerate(filters)]
    return np.zeros(n), nodes + [("bias", _nir().Affine(
        weight=np.eye(n), bias=np.asarray(layer.bias, dtype=float).copy(),
        metadata={"brainconv_layer": layer.name, "brainconv_model": "readout",
                  "role": "the readout's bias, added after the filters"}))]


class Exporter(NamedTuple):
    """How a brainconv model is written: ``write(layer, dt, reset, shape)`` returns the bias
    the weights node carries and the nodes after it, ``(suffix, node)`` in order (the neuron
    node's suffix is ``"neurons"``), with parameters of ``shape``; ``synapses`` are the pathway
    synapse models NIR can state for it; ``reset`` is written into the neuron's metadata;
    ``convolution``: whether a convolution into it may be written as ``Conv2d`` (the readout's
    nodes are flat)."""

    write: Callable
    synapses: tuple
    reset: str = "zero"
    convolution: bool = True


#: brainconv model -> :class:`Exporter`.
EXPORTERS = {
    "if_hard": Exporter(_export_if, ("delta",)),
    "if_soft": Exporter(_export_if, ("delta",), "subtract"),
    "lif": Exporter(_export_lif, ("delta",)),
    "cuba_lif": Exporter(_export_cuba, ("cuba_current",), "subtract"),
    "lif_rc": Exporter(_export_lif_rc, ("delta", "exponential", "alpha")),
    "readout": Exporter(_export_readout, ("delta", "exponential", "alpha"), "none", False),
}


def _conv_node(layer, shape):
    """The ``nir.Conv2d`` whose connections are exactly ``layer.weights`` on an input of
    ``shape`` ``(C, H, W)`` and whose bias is ``layer.bias``, with its output shape; None when
    the layer is no convolution (:func:`brainconv.layers.find_conv2d`)."""
    from ..layers import find_conv2d

    conv = find_conv2d(layer.weights, layer.bias, shape)
    if conv is None:
        return None
    node = _nir().Conv2d(input_shape=tuple(shape[1:]), weight=conv["kernel"],
                         stride=conv["stride"], padding=conv["padding"], dilation=1, groups=1,
                         bias=conv["bias"])
    return node, conv["out_shape"]


def to_nir(spec, dt=1e-3, input_shape=None):
    """The network as a ``nir.NIRGraph``: ``input`` → (``<layer>.weights`` →
    ``<layer>.neurons``) per layer → ``output`` (module docstring for the semantics).

    Parameters
    ----------
    spec : NetworkSpec
        A network NIR can state: ``if_soft``, ``if_hard``, ``lif`` layers; ``cuba_lif``
        layers behind a ``ttfs`` input layer (:func:`brainconv.spiketime.cuba_network`); or
        ``lif_rc`` layers with delta, exponential or alpha synapses, ending in ``lif_rc`` or a
        ``readout`` (Hunsberger & Eliasmith's networks).
    dt : float
        The step in seconds that one brainconv timestep stands for (1 ms by default).
    input_shape : tuple of int, optional
        ``(C, H, W)`` of an image input. A sparse layer that is a plain convolution of the shape
        before it is then written as ``Conv2d`` (its neurons shaped ``(C, H, W)``, a ``Flatten``
        before the next dense layer; a pooling folded into a convolution makes a larger
        kernel with the pooling's stride); without it, or for a layer that is no convolution,
        the weights are written as a dense ``Affine``.

    Raises
    ------
    ModelError
        For a layer whose model has no NIR form (ensembles, accumulators and other payload
        models, few-spike neurons, filtered synapses into grid models), naming it.
    ShapeError
        For an ``input_shape`` that is not three positive ints holding the input's values.
    """
    nir = _nir()
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ParameterError(f"dt must be a positive number of seconds, got {dt!r}")
    for index, layer in enumerate(spec.layers):
        if index == 0 and layer.model == "ttfs" and len(spec.layers) > 1:
            continue
        exporter = EXPORTERS.get(layer.model)
        synapse = pathway_synapse(spec, index)[0].name
        if exporter is None or synapse not in exporter.synapses:
            raise ModelError(
                f"layer {layer.name!r} (model {layer.model!r}, synapse {synapse!r}) has no "
                f"exact NIR form: NIR states neurons that send one spike at a time with an "
                f"ODE ({', '.join(sorted(EXPORTERS))}; the grid ones with delta synapses, "
                "cuba_lif behind ttfs input, lif_rc and the readout with delta, exponential "
                "or alpha synapses); payload, ensemble and few-spike models do not fit it")
        if layer.model == "readout" and index != len(spec.layers) - 1:
            raise ModelError(f"layer {layer.name!r}: a readout is the last layer")
    shape = _check_input_shape(input_shape, spec.input_size)
    layers, input_metadata = list(spec.layers), {}
    if layers[0].model == "ttfs":  # CuBa-LIF networks: the encoding, not a layer, in NIR
        input_metadata = {"encoding": "ttfs", "t_window": float(dict(layers[0].parameters).get(
            "t_window", 0.1)), "encoding_rule": "one spike at t_window (1 - p); none for 0"}
        layers = layers[1:]
    nodes = {"input": nir.Input(input_type={"input": np.array(shape)},
                                metadata=input_metadata)}
    edges, previous = [], "input"
    for layer in layers:
        exporter = EXPORTERS[layer.model]
        conv = _conv_node(layer, shape) if len(shape) == 3 and exporter.convolution and \
            scipy.sparse.issparse(layer.weights) else None
        bias, after = exporter.write(layer, float(dt), exporter.reset,
                                     conv[1] if conv else layer.size)
        if conv is None:
            if len(shape) > 1:
                nodes[f"{layer.name}.flatten"] = nir.Flatten(
                    input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
                edges.append((previous, f"{layer.name}.flatten"))
                previous = f"{layer.name}.flatten"
            weights = layer.weights.toarray() if scipy.sparse.issparse(layer.weights) else \
                np.asarray(layer.weights)
            nodes[f"{layer.name}.weights"] = nir.Affine(
                weight=weights.T.copy(), bias=np.asarray(bias, dtype=float),
                metadata={"brainconv_layer": layer.name})
            shape = (layer.size,)
        else:
            nodes[f"{layer.name}.weights"], shape = conv
            # the exporter's bias (the layer's, or zeros where it moved into the neurons)
            nodes[f"{layer.name}.weights"].bias = np.reshape(bias, shape)[:, 0, 0].copy()
        edges.append((previous, f"{layer.name}.weights"))
        previous = f"{layer.name}.weights"
        for suffix, node in after:
            nodes[f"{layer.name}.{suffix}"] = node
            edges.append((previous, f"{layer.name}.{suffix}"))
            previous = f"{layer.name}.{suffix}"
    if len(shape) > 1:
        nodes["output.flatten"] = nir.Flatten(input_type={"input": np.array(shape)},
                                              start_dim=0, end_dim=-1)
        edges.append((previous, "output.flatten"))
        previous = "output.flatten"
    nodes["output"] = nir.Output(output_type={"output": np.array([spec.layers[-1].size])})
    edges.append((previous, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={"written_by": "brainconv", "dt": float(dt)})


def _check_input_shape(input_shape, input_size):
    """``(input_size,)`` or the checked ``(C, H, W)``."""
    if input_shape is None:
        return (int(input_size),)
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1 or tuple(input_shape) != shape:
        raise ShapeError(f"input_shape must be (C, H, W), three positive ints, got "
                         f"{input_shape!r}")
    if int(np.prod(shape)) != input_size:
        raise ShapeError(f"input_shape {shape} holds {int(np.prod(shape))} values, but the "
                         f"network takes {input_size} inputs")
    return shape


# --- import -------------------------------------------------------------------------------

def _array(node_name, name, value, size):
    """A node parameter as a float64 vector of ``size``, refused if NaN or of another size."""
    value = np.asarray(value, dtype=np.float64).ravel()
    if value.size == 1:
        value = np.full(size, value[0])
    if value.size != size:
        raise ShapeError(f"NIR node {node_name!r}: {name} has {value.size} values for "
                         f"{size} neurons")
    if not np.all(np.isfinite(value)):
        raise ParameterError(f"NIR node {node_name!r}: {name} holds NaN or inf")
    return value


def _hard_reset(node_name, node, size):
    reset = node.v_reset if node.v_reset is not None else np.zeros(size)
    if np.any(_array(node_name, "v_reset", reset, size) != 0):
        raise ParameterError(f"NIR node {node_name!r}: v_reset must be 0 (brainconv's reset), "
                             "got other values; shift v_threshold and v_leak by -v_reset")


def _uniform(name, what, value, size):
    """A parameter brainconv keeps once per layer: its value, refused if the neurons differ."""
    values = _array(name, what, value, size)
    if np.ptp(values) > 1e-12 * np.abs(values).max():
        raise ParameterError(f"NIR node {name!r}: {what} differs between neurons "
                             f"({values.min():g} to {values.max():g}); brainconv keeps one per "
                             "layer")
    return float(values[0])


def _import_if(name, node, size, dt):
    """``(model, parameters, weight scale per neuron, bias per neuron, threshold per neuron)``."""
    _hard_reset(name, node, size)
    subtract = (node.metadata or {}).get("reset") == "subtract"
    r = _array(name, "r", node.r, size)
    return ("if_soft" if subtract else "if_hard", (), r * dt, np.zeros(size),
            _array(name, "v_threshold", node.v_threshold, size))


def _import_lif(name, node, size, dt):
    _hard_reset(name, node, size)
    tau = _uniform(name, "tau", node.tau, size)  # brainconv's lif: one leak per layer
    if not dt < tau:
        raise ParameterError(f"NIR node {name!r}: dt = {dt:g} s must be below tau = "
                             f"{tau:g} s (the forward-Euler step of the LIF ODE); choose a "
                             "smaller dt")
    R = 1.0 / (1.0 - dt / tau)
    r = _array(name, "r", node.r, size)
    v_leak = _array(name, "v_leak", node.v_leak, size)
    return ("lif", (("R", R),), r * dt / tau, dt * v_leak / tau,
            _array(name, "v_threshold", node.v_threshold, size))


def _import_cuba(name, node, size, dt):
    if (node.metadata or {}).get("reset") != "subtract":
        raise ModelError(f"NIR node {name!r}: a CubaLIF that resets to v_reset has no brainconv "
                         "model (cuba_lif subtracts the threshold); brainconv imports the "
                         "CubaLIF graphs it writes (node metadata reset: subtract)")
    tau_syn = _uniform(name, "tau_syn", node.tau_syn, size)
    tau_mem = _array(name, "tau_mem", node.tau_mem, size)
    if np.any(np.abs(tau_mem - 2 * tau_syn) > 1e-12 * tau_mem):
        raise ParameterError(f"NIR node {name!r}: brainconv's cuba_lif needs tau_mem = 2 "
                             "tau_syn (BATS)")
    if np.any(_array(name, "v_leak", node.v_leak, size) != 0):
        raise ParameterError(f"NIR node {name!r}: v_leak must be 0 for cuba_lif")
    scale = (_array(name, "r", node.r, size) * _array(name, "w_in", node.w_in, size)
             / (tau_mem * tau_syn))  # Hz added to g per unit of weight
    max_spikes = int((node.metadata or {}).get("max_spikes", 30))
    return ("cuba_lif", (("tau_s", tau_syn), ("max_spikes", max_spikes)), scale,
            np.zeros(size), _array(name, "v_threshold", node.v_threshold, size))


def _synapse_of(name, filters):
    """``(synapse, synapse_parameters)`` of a chain of exponential filters (``tau`` each)."""
    if not filters:
        return "delta", ()
    if len(filters) > 2 or np.ptp(filters) > 1e-12 * max(filters):
        raise ModelError(f"NIR node {name!r}: the synaptic filters before it (time constants "
                         f"{', '.join(f'{tau:g}' for tau in filters)} s) are neither one "
                         "exponential nor two equal ones (an alpha kernel)")
    return ("exponential", "alpha")[len(filters) - 1], (("tau_s", float(filters[0])),)


def _import_lif_rc(name, node, size, dt, filters=()):
    """A ``LIF`` or ``CubaLIF`` node brainconv wrote for ``lif_rc`` (its metadata has the
    refractory period): ``J = r w_in (I + I_syn) + v_leak``, read as ``gain (I + I_syn + b) +
    theta``; the CubaLIF's synapse is the last of the exponential filters before it."""
    metadata = node.metadata or {}
    _hard_reset(name, node, size)
    if float(metadata.get("min_voltage", 0.0)) != 0:
        raise ParameterError(f"NIR node {name!r}: lif_rc clamps v at 0; min_voltage "
                             f"{metadata['min_voltage']} is not supported")
    cuba = type(node).__name__ == "CubaLIF"
    tau_rc = _uniform(name, "tau_mem" if cuba else "tau", node.tau_mem if cuba else node.tau,
                      size)
    scale = _array(name, "r", node.r, size)
    if cuba:
        scale = scale * _array(name, "w_in", node.w_in, size)
        filters = list(filters) + [_uniform(name, "tau_syn", node.tau_syn, size)]
    theta = _array(name, "v_threshold", node.v_threshold, size)
    leak = _array(name, "v_leak", node.v_leak, size) - theta
    if np.ptp(scale) == 0 and np.ptp(theta) == 0:  # gain and theta as written
        gain, theta, scale, leak = float(scale[0]), float(theta[0]), np.ones(size), leak / scale
    else:  # J / theta: per-neuron gains and thresholds fold into weights and bias
        gain, scale, leak, theta = 1.0, scale / theta, leak / theta, 1.0
    tau_ref = float(metadata.get("tau_ref", 0.0))
    synapse, synapse_parameters = _synapse_of(name, filters)
    return {"model": "lif_rc", "parameters": (("gain", gain), ("theta", theta),
                                              ("tau_rc", tau_rc), ("tau_ref", tau_ref)),
            "scale": scale, "leak": leak, "thresholds": np.ones(size), "synapse": synapse,
            "synapse_parameters": synapse_parameters}


#: NIR neuron node type name -> ``importer(name, node, size, dt)`` returning ``(model,
#: parameters, weight scale per neuron, bias per neuron, threshold per neuron)``.
IMPORTERS = {"IF": _import_if, "LIF": _import_lif, "CubaLIF": _import_cuba}
#: brainconv model named in a node's metadata -> importer ``(name, node, size, dt, filters)``
#: returning a dict (:func:`_import_lif_rc`); for nodes whose NIR type alone is ambiguous
#: (``lif_rc``'s ``LIF`` is also the grid ``lif``'s), taken before :data:`IMPORTERS`.
MODEL_IMPORTERS = {"lif_rc": _import_lif_rc}
#: NIR node types that map inputs to currents linearly (composed between neuron layers).
LINEAR_NODES = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten")


def _chain(graph):
    """The node names from the input to the output, refused unless a simple chain."""
    nir = _nir()
    names = set(graph.nodes)
    for a, b in graph.edges:
        for end in (a, b):
            if end not in names:
                raise ShapeError(f"NIR edge ({a!r}, {b!r}) names node {end!r}, which the graph "
                                 f"does not have (nodes: {', '.join(sorted(names))})")
    inputs = [n for n, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise ShapeError(f"a NIR graph for brainconv needs one Input node, found {len(inputs)}")
    successors = {}
    for a, b in graph.edges:
        successors.setdefault(a, []).append(b)
    for a, b in graph.edges:  # an edge back to a node that reaches it closes a loop
        reached, todo = set(), [b]
        while todo:
            node = todo.pop()
            if node == a:
                raise ModelError(f"NIR edge ({a!r}, {b!r}) closes a loop: recurrent graphs "
                                 "are not supported yet (brainconv's networks are "
                                 "feed-forward)")
            if node not in reached:
                reached.add(node)
                todo.extend(successors.get(node, []))
    chain, seen = [inputs[0]], {inputs[0]}
    while not isinstance(graph.nodes[chain[-1]], nir.Output):
        following = successors.get(chain[-1], [])
        if len(following) != 1:
            raise ShapeError(f"NIR node {chain[-1]!r} feeds {len(following)} nodes "
                             f"({', '.join(following) or 'none'}); brainconv imports "
                             "feed-forward chains from Input to Output")
        chain.append(following[0])
        seen.add(following[0])
    for a, b in graph.edges:
        if b in seen and a not in seen:
            raise ShapeError(f"NIR edge ({a!r}, {b!r}) comes from outside the input-output "
                             "chain; brainconv imports feed-forward chains")
    return chain


def _linear_map(name, node, shape):
    """``(sparse matrix (n_in, n_out), bias, output shape)`` of a linear node."""
    from ..layers import avgpool2d_connectivity, conv2d_connectivity, conv2d_output_shape

    kind, n_in = type(node).__name__, int(np.prod(shape))
    if kind in ("Affine", "Linear"):
        weight = np.asarray(node.weight, dtype=np.float64)
        if weight.ndim != 2 or weight.shape[1] != n_in:
            raise ShapeError(f"NIR node {name!r} ({kind}): weight of shape {weight.shape} "
                             f"cannot take the {n_in} values of the node before it")
        bias = np.zeros(weight.shape[0]) if kind == "Linear" else \
            _array(name, "bias", node.bias, weight.shape[0])
        if not np.all(np.isfinite(weight)):
            raise ParameterError(f"NIR node {name!r}: weight holds NaN or inf")
        return scipy.sparse.csr_matrix(weight.T), bias, (weight.shape[0],)
    if kind == "Flatten":
        return scipy.sparse.identity(n_in, format="csr"), np.zeros(n_in), (n_in,)
    if len(shape) != 3:
        raise ShapeError(f"NIR node {name!r} ({kind}) needs a (channels, height, width) input, "
                         f"got shape {shape}")
    if kind == "Conv2d":
        for what, value in (("dilation", node.dilation), ("groups", node.groups)):
            if np.any(np.asarray(value) != 1):
                raise ModelError(f"NIR node {name!r}: Conv2d {what} {value} is not supported "
                                 "(dilation 1, one group)")
        stride, padding = (tuple(int(v) for v in np.broadcast_to(node.stride, 2)),
                           tuple(int(v) for v in np.broadcast_to(node.padding, 2)))
        if stride[0] != stride[1] or padding[0] != padding[1]:
            raise ModelError(f"NIR node {name!r}: non-square stride {stride} or padding "
                             f"{padding} is not supported")
        weight = np.asarray(node.weight, dtype=np.float64)
        pre, post, w = conv2d_connectivity(shape, weight, stride[0], padding[0])
        out = conv2d_output_shape(shape, weight.shape[0], weight.shape[2], stride[0], padding[0])
        bias = np.repeat(_array(name, "bias", node.bias, weight.shape[0]), out[1] * out[2])
    else:  # SumPool2d, AvgPool2d
        k = tuple(int(v) for v in np.broadcast_to(node.kernel_size, 2))
        s = tuple(int(v) for v in np.broadcast_to(node.stride, 2))
        if k[0] != k[1] or s != k or np.any(np.asarray(node.padding) != 0):
            raise ModelError(f"NIR node {name!r}: {kind} with kernel {k}, stride {s}, padding "
                             f"{node.padding} is not supported (square, stride = kernel, no "
                             "padding)")
        pre, post, w = avgpool2d_connectivity(shape, k[0])
        if kind == "SumPool2d":
            w = w * k[0] * k[0]
        out = (shape[0], shape[1] // k[0], shape[2] // k[0])
        bias = np.zeros(int(np.prod(out)))
    n_out = int(np.prod(out))
    return scipy.sparse.csr_matrix((w, (pre, post)), shape=(n_in, n_out)), bias, tuple(out)


def _layer_name(node_name):
    """A Brian2-safe layer name for a NIR node name (``"1"`` -> ``"nir_1"``, ``"lif1.lif"``
    -> ``"lif1_lif"``)."""
    name = re.sub(r"\W", "_", node_name)
    return name if name.isidentifier() and not name.startswith("_") else f"nir_{name}"


def _input_shape(name, graph, chain):
    """The input's shape: the Input node's type, else what the first linear node takes."""
    node = graph.nodes[name]
    shape = getattr(node, "input_type", {}) or {}
    shape = next(iter(shape.values()), None) if isinstance(shape, dict) else None
    if shape is not None and np.size(shape) and np.all(np.asarray(shape) > 0):
        return tuple(int(v) for v in np.asarray(shape).ravel())
    first = graph.nodes[chain[1]]
    if type(first).__name__ == "Conv2d" and first.input_shape is not None:
        return (int(np.asarray(first.weight).shape[1]),
                *(int(v) for v in np.broadcast_to(first.input_shape, 2)))
    if type(first).__name__ in ("Affine", "Linear"):
        return (int(np.asarray(first.weight).shape[1]),)
    raise ShapeError(f"the input shape of NIR node {name!r} is not stated, and the first node "
                     f"({type(first).__name__}) does not imply it")


def from_nir(graph, dt=1e-3):
    """A :class:`~brainconv.spec.NetworkSpec` of a feed-forward NIR graph.

    Parameters
    ----------
    graph : nir.NIRGraph or path
        The graph, or a ``.nir`` file (read with ``nir.read``).
    dt : float
        The simulation step in the graph's time unit (seconds for SI graphs; a graph written
        in steps, e.g. Sinabs' with ``r = 1``, takes ``dt = 1``).

    Returns
    -------
    NetworkSpec
        One layer per NIR neuron node, named after it (``nir_<name>`` where the name is no
        identifier; the layer's own name for a graph brainconv wrote); its weights compose the linear nodes
        before it (with ``r``, ``tau`` and per-neuron thresholds folded in, module
        docstring). Run it with ``run_network(spec, x, steps)``; ``x`` holds one value per
        input (channels first for images), applied every step.

    Raises
    ------
    ModelError, ShapeError, ParameterError
        Before any build: a graph that is not a feed-forward chain, a node brainconv cannot
        run, or bad shapes or parameters, each naming the node.
    """
    nir = _nir()
    if isinstance(graph, (str, Path)):
        if not Path(graph).is_file():
            raise ParameterError(f"NIR file {str(graph)!r} does not exist")
        graph = nir.read(str(graph))
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ParameterError(f"dt must be a positive number (the graph's time unit), got "
                             f"{dt!r}")
    chain = _chain(graph)
    shape = _input_shape(chain[0], graph, chain)
    input_size = int(np.prod(shape))
    matrix, bias = scipy.sparse.identity(input_size, format="csr"), np.zeros(input_size)
    layers, pending, filters, owner = [], False, [], None
    for name in chain[1:-1]:
        node, kind = graph.nodes[name], type(graph.nodes[name]).__name__
        owner = (node.metadata or {}).get("brainconv_layer", owner)
        if kind in LINEAR_NODES:
            step, step_bias, shape = _linear_map(name, node, shape)
            matrix, bias = matrix @ step, bias @ step + step_bias
            pending = pending or kind != "Flatten"
            continue
        if kind == "LI":  # a synaptic filter: linear, so it commutes with the weights
            matrix, tau = _filter(name, node, shape, matrix, bias, pending, layers)
            filters.append(tau)
            continue
        importer = MODEL_IMPORTERS.get((getattr(node, "metadata", None) or {}).get(
            "brainconv_model"))
        if importer is None and kind not in IMPORTERS:
            raise ModelError(f"NIR node {name!r} is a {kind}, which brainconv cannot import "
                             f"(neurons: {', '.join(IMPORTERS)}, and the LIF and CubaLIF "
                             f"brainconv writes for lif_rc; filters: LI; linear: "
                             f"{', '.join(LINEAR_NODES)})")
        if not pending:
            raise ShapeError(f"NIR neuron node {name!r} follows another neuron node without "
                             "weights between them")
        size = int(np.prod(shape))
        if importer is not None:
            read = importer(name, node, size, dt, filters)
        else:
            if filters:
                raise ModelError(f"NIR node {name!r} ({kind}) follows LI filters: brainconv's "
                                 f"{kind} models take spikes unfiltered (delta synapses)")
            read = dict(zip(("model", "parameters", "scale", "leak", "thresholds"),
                            IMPORTERS[kind](name, node, size, dt)))
        if read.get("synapse", "delta") != "delta" and not layers:
            raise ModelError(f"NIR node {name!r}: the first layer takes the input unfiltered "
                             "in brainconv (a constant current); the graph filters it")
        layers.append(_layer(read, (node.metadata or {}).get("brainconv_layer") or
                             _layer_name(name), size, matrix, bias))
        matrix, bias = scipy.sparse.identity(size, format="csr"), np.zeros(size)
        pending, filters, owner = False, [], None
    if not layers:
        raise ShapeError("the NIR graph has no neuron node between its Input and Output")
    if pending and layers[-1].model in MODEL_IMPORTERS:  # lif_rc: Hunsberger's readout
        synapse, synapse_parameters = _synapse_of("output", filters)
        size = int(np.prod(shape))
        layers.append(_layer({"model": "readout", "parameters": (), "scale": np.ones(size),
                              "leak": np.zeros(size), "thresholds": np.ones(size),
                              "synapse": synapse, "synapse_parameters": synapse_parameters},
                             owner or "output", size, matrix, bias))
    elif pending or filters:
        raise ShapeError(f"the NIR graph ends with linear nodes after its last neuron node "
                         f"{layers[-1].name!r}; brainconv's output is a spiking layer (or, "
                         "after lif_rc layers, a readout)")
    if any(layer.model == "cuba_lif" for layer in layers):
        layers = _behind_ttfs(graph.nodes[chain[0]], chain[0], layers, input_size)
    return NetworkSpec(input_size, tuple(layers))


def _layer(read, name, size, matrix, bias):
    """The :class:`LayerSpec` of an importer's reading on the composed ``matrix`` and
    ``bias`` before it (per-neuron thresholds folded into the input)."""
    scale, leak, thresholds = read["scale"], read["leak"], read["thresholds"]
    threshold = float(thresholds[0])
    if np.any(thresholds != threshold):
        scale, leak, threshold = scale / thresholds, leak / thresholds, 1.0
    weights = (matrix @ scipy.sparse.diags(scale)).tocsr()
    dense = weights.nnz > 0.25 * weights.shape[0] * weights.shape[1]
    return LayerSpec(name, read["model"], size, weights.toarray() if dense else weights,
                     bias * scale + leak, threshold, parameters=read["parameters"],
                     synapse=read.get("synapse", "delta"),
                     synapse_parameters=read.get("synapse_parameters", ()))


def _filter(name, node, shape, matrix, bias, pending, layers):
    """An ``LI`` node as a synaptic filter (``tau dv/dt = -v + r I``, ``v_leak = 0``): the
    composed matrix with ``r`` folded in, and ``tau``. The bias before it must be 0: NIR would
    filter it from 0 where brainconv adds it unfiltered."""
    size = int(np.prod(shape))
    if not pending or not layers:
        raise ModelError(f"NIR node {name!r} (LI) filters "
                         + ("the input: brainconv's first layer takes it unfiltered"
                            if not layers else "without weights before it")
                         + "; brainconv reads LI nodes as synaptic filters between layers")
    if np.any(_array(name, "v_leak", node.v_leak, size) != 0):
        raise ParameterError(f"NIR node {name!r}: an LI filter needs v_leak = 0")
    if np.any(bias != 0):
        raise ParameterError(f"NIR node {name!r}: the bias before an LI filter would be "
                             "filtered from 0 at the start; brainconv adds biases unfiltered "
                             "(move it after the filter or into the neurons' v_leak)")
    tau = _uniform(name, "tau", node.tau, size)
    return matrix @ scipy.sparse.diags(_array(name, "r", node.r, size)), tau


def _behind_ttfs(input_node, input_name, layers, input_size):
    """CuBa-LIF layers with the time-to-first-spike input layer that the Input node's
    metadata names (brainconv's own graphs); refused for any other CubaLIF graph."""
    metadata = input_node.metadata or {}
    if any(layer.model != "cuba_lif" for layer in layers) or metadata.get("encoding") != "ttfs":
        raise ModelError(
            f"the NIR graph's CubaLIF layers need a time-to-first-spike input (Input node "
            f"{input_name!r} with metadata encoding: ttfs, as brainconv writes) and no other "
            "neuron type: brainconv's cuba_lif takes its input as spikes (BATS)")
    if any(np.any(layer.bias != 0) for layer in layers):
        raise ParameterError("brainconv's cuba_lif has no bias: the NIR graph's Affine biases "
                             "into its CubaLIF layers must be 0")
    t_window = float(metadata.get("t_window", 0.1))
    first = LayerSpec("input", "ttfs", input_size,
                      scipy.sparse.identity(input_size, format="csr"), np.zeros(input_size),
                      1.0, parameters=(("t_window", t_window),))
    return [first] + layers


def write_nir(path, graph):
    """Write ``graph`` to ``path`` atomically (``nir.write`` into a temporary file, then a
    rename): an interrupted write leaves no half file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    _nir().write(str(tmp), graph)
    tmp.replace(path)


def nir_provenance(path):
    """``nir_file``, ``nir_sha256`` and ``nir_written_by`` (the graph's ``written_by`` metadata,
    or "not recorded") of a NIR file, for a results file's attributes."""
    import hashlib

    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    graph = _nir().read(str(path))
    writer = str((graph.metadata or {}).get("written_by", "not recorded"))
    return {"nir_file": str(path), "nir_sha256": digest, "nir_written_by": writer}
