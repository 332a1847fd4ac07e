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
per layer), in a chain from the input to the output. Recurrent edges, ``CubaLIF``, ``LI``,
``Integrator``-like and other nodes are refused before any build, naming the node and why.
Layers are named after their NIR nodes.
"""

import math
import re
from pathlib import Path

import numpy as np
import scipy.sparse

from ..errors import ModelError, ParameterError, ShapeError
from ..spec import LayerSpec, NetworkSpec

__all__ = ["EXPORTERS", "IMPORTERS", "from_nir", "nir_provenance", "to_nir", "write_nir"]

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
    return nir.IF(r=np.full(n, 1.0 / dt), v_threshold=np.full(n, float(layer.threshold)),
                  v_reset=np.zeros(n), metadata=_metadata(layer, dt, reset))


def _export_lif(layer, dt, reset, n):
    nir = _nir()
    R = float(dict(layer.parameters).get("R", 1.0))
    if not R > 1:
        raise ParameterError(f"layer {layer.name!r}: lif with R = {R} has no leak; export it "
                             "as if_hard (R = 1)")
    tau = dt * R / (R - 1)
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / dt), v_leak=np.zeros(n),
                   v_threshold=np.full(n, float(layer.threshold)), v_reset=np.zeros(n),
                   metadata=_metadata(layer, dt, reset))


def _export_cuba(layer, dt, reset, n):
    nir = _nir()
    parameters = dict(layer.parameters)
    tau_s = float(parameters.get("tau_s", 0.13))
    metadata = {**_metadata(layer, dt, reset), "max_spikes": int(parameters.get("max_spikes", 30)),
                "threshold_comparison": ">= (the crossing inside a step, emitted at its end)"}
    return nir.CubaLIF(tau_syn=np.full(n, tau_s), tau_mem=np.full(n, 2 * tau_s),
                       r=np.full(n, 2 * tau_s), v_leak=np.zeros(n),
                       v_threshold=np.full(n, float(layer.threshold)), v_reset=np.zeros(n),
                       w_in=np.full(n, tau_s), metadata=metadata)


#: brainconv model -> ``exporter(layer, dt, shape)`` returning a NIR neuron node whose
#: parameters have ``shape`` (``(size,)``, or ``(C, H, W)`` behind a convolution).
EXPORTERS = {
    "if_hard": lambda layer, dt, shape: _export_if(layer, dt, "zero", shape),
    "if_soft": lambda layer, dt, shape: _export_if(layer, dt, "subtract", shape),
    "lif": lambda layer, dt, shape: _export_lif(layer, dt, "zero", shape),
    "cuba_lif": lambda layer, dt, shape: _export_cuba(layer, dt, "subtract", shape),
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
        A network NIR can state: ``if_soft``, ``if_hard``, ``lif`` layers, or ``cuba_lif``
        layers behind a ``ttfs`` input layer (:func:`brainconv.spiketime.cuba_network`).
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
        models, few-spike neurons, continuous-time models, filtered synapses), naming it.
    ShapeError
        For an ``input_shape`` that is not three positive ints holding the input's values.
    """
    nir = _nir()
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise ParameterError(f"dt must be a positive number of seconds, got {dt!r}")
    for index, layer in enumerate(spec.layers):
        if index == 0 and layer.model == "ttfs" and len(spec.layers) > 1:
            continue
        own = layer.synapse == "delta" or layer.model == "cuba_lif"
        if layer.model not in EXPORTERS or not own:
            raise ModelError(
                f"layer {layer.name!r} (model {layer.model!r}, synapse {layer.synapse!r}) has "
                f"no exact NIR form: NIR states neurons that send one spike at a time with an "
                f"ODE ({', '.join(sorted(EXPORTERS))}; the grid ones with delta synapses, "
                "cuba_lif behind ttfs input); payload, ensemble, few-spike and filtered models "
                "do not fit it")
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
        conv = _conv_node(layer, shape) if len(shape) == 3 and \
            scipy.sparse.issparse(layer.weights) else None
        if conv is None:
            if len(shape) > 1:
                nodes[f"{layer.name}.flatten"] = nir.Flatten(
                    input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
                edges.append((previous, f"{layer.name}.flatten"))
                previous = f"{layer.name}.flatten"
            weights = layer.weights.toarray() if scipy.sparse.issparse(layer.weights) else \
                np.asarray(layer.weights)
            nodes[f"{layer.name}.weights"] = nir.Affine(weight=weights.T.copy(),
                                                       bias=np.asarray(layer.bias, dtype=float))
            shape = (layer.size,)
        else:
            nodes[f"{layer.name}.weights"], shape = conv
        nodes[f"{layer.name}.neurons"] = EXPORTERS[layer.model](layer, float(dt), shape)
        edges += [(previous, f"{layer.name}.weights"),
                  (f"{layer.name}.weights", f"{layer.name}.neurons")]
        previous = f"{layer.name}.neurons"
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


def _import_if(name, node, size, dt):
    """``(model, parameters, weight scale per neuron, bias per neuron, threshold per neuron)``."""
    _hard_reset(name, node, size)
    subtract = (node.metadata or {}).get("reset") == "subtract"
    r = _array(name, "r", node.r, size)
    return ("if_soft" if subtract else "if_hard", (), r * dt, np.zeros(size),
            _array(name, "v_threshold", node.v_threshold, size))


def _import_lif(name, node, size, dt):
    _hard_reset(name, node, size)
    tau = _array(name, "tau", node.tau, size)
    if np.ptp(tau) > 1e-12 * tau.max():
        raise ParameterError(f"NIR node {name!r}: tau differs between neurons "
                             f"({tau.min():g} to {tau.max():g} s); brainconv's lif has one leak "
                             "per layer")
    if not dt < tau[0]:
        raise ParameterError(f"NIR node {name!r}: dt = {dt:g} s must be below tau = "
                             f"{tau[0]:g} s (the forward-Euler step of the LIF ODE); choose a "
                             "smaller dt")
    R = 1.0 / (1.0 - dt / tau[0])
    r = _array(name, "r", node.r, size)
    v_leak = _array(name, "v_leak", node.v_leak, size)
    return ("lif", (("R", R),), r * dt / tau, dt * v_leak / tau,
            _array(name, "v_threshold", node.v_threshold, size))


def _import_cuba(name, node, size, dt):
    if (node.metadata or {}).get("reset") != "subtract":
        raise ModelError(f"NIR node {name!r}: a CubaLIF that resets to v_reset has no brainconv "
                         "model (cuba_lif subtracts the threshold); brainconv imports the "
                         "CubaLIF graphs it writes (node metadata reset: subtract)")
    tau_syn, tau_mem = (_array(name, what, value, size) for what, value in
                        (("tau_syn", node.tau_syn), ("tau_mem", node.tau_mem)))
    if np.ptp(tau_syn) > 1e-12 * tau_syn.max() or np.any(np.abs(tau_mem - 2 * tau_syn)
                                                         > 1e-12 * tau_mem):
        raise ParameterError(f"NIR node {name!r}: brainconv's cuba_lif needs one tau_syn per "
                             "layer and tau_mem = 2 tau_syn (BATS)")
    if np.any(_array(name, "v_leak", node.v_leak, size) != 0):
        raise ParameterError(f"NIR node {name!r}: v_leak must be 0 for cuba_lif")
    scale = (_array(name, "r", node.r, size) * _array(name, "w_in", node.w_in, size)
             / (tau_mem * tau_syn))  # Hz added to g per unit of weight
    max_spikes = int((node.metadata or {}).get("max_spikes", 30))
    return ("cuba_lif", (("tau_s", float(tau_syn[0])), ("max_spikes", max_spikes)), scale,
            np.zeros(size), _array(name, "v_threshold", node.v_threshold, size))


#: NIR neuron node type name -> ``importer(name, node, size, dt)``.
IMPORTERS = {"IF": _import_if, "LIF": _import_lif, "CubaLIF": _import_cuba}
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
    layers, pending = [], False
    for name in chain[1:-1]:
        node, kind = graph.nodes[name], type(graph.nodes[name]).__name__
        if kind in LINEAR_NODES:
            step, step_bias, shape = _linear_map(name, node, shape)
            matrix, bias = matrix @ step, bias @ step + step_bias
            pending = pending or kind != "Flatten"
            continue
        if kind not in IMPORTERS:
            raise ModelError(f"NIR node {name!r} is a {kind}, which brainconv cannot import "
                             f"(neurons: {', '.join(IMPORTERS)}; linear: "
                             f"{', '.join(LINEAR_NODES)})")
        if not pending:
            raise ShapeError(f"NIR neuron node {name!r} follows another neuron node without "
                             "weights between them")
        size = int(np.prod(shape))
        model, parameters, scale, leak, thresholds = IMPORTERS[kind](name, node, size, dt)
        threshold = float(thresholds[0])
        if np.any(thresholds != threshold):  # fold per-neuron thresholds into the input
            scale, leak, threshold = scale / thresholds, leak / thresholds, 1.0
        weights = (matrix @ scipy.sparse.diags(scale)).tocsr()
        dense = weights.nnz > 0.25 * weights.shape[0] * weights.shape[1]
        layer_name = (node.metadata or {}).get("brainconv_layer") or _layer_name(name)
        layers.append(LayerSpec(layer_name, model, size, weights.toarray() if dense else weights,
                                bias * scale + leak, threshold, parameters=parameters))
        matrix, bias, pending = scipy.sparse.identity(size, format="csr"), np.zeros(size), False
    if not layers:
        raise ShapeError("the NIR graph has no neuron node between its Input and Output")
    if pending:
        raise ShapeError(f"the NIR graph ends with linear nodes after its last neuron node "
                         f"{layers[-1].name!r}; brainconv's output is a spiking layer")
    if any(layer.model == "cuba_lif" for layer in layers):
        layers = _behind_ttfs(graph.nodes[chain[0]], chain[0], layers, input_size)
    return NetworkSpec(input_size, tuple(layers))


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
