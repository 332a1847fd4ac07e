"""The network description and every rule about it: :class:`NetworkSpec`, :class:`LayerSpec`,
the time base, ``dt`` and ``steps`` checks, the synapse and unit of each pathway, and the
few-spike windows.

Conversion (:mod:`brainconv.conversion`), the numpy reference (:mod:`brainconv.reference`), energy
estimates and the Brian2 builder all read a spec through these functions; none of them creates
Brian2 objects, so a spec can be made, checked and simulated in numpy without Brian2.
"""

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from .equations import get_synapse_model, resolve_model
from .errors import ModelError, ParameterError, ShapeError, require_numbers

__all__ = ["TIMESTEP_MS", "LayerSpec", "NetworkSpec", "additive_target", "check_dt",
           "check_frames", "check_record", "check_steps", "check_steps_cover", "direct_pathway",
           "minimum_steps", "pathway_code", "pathway_synapse", "pathway_unit", "pattern_digest",
           "time_base", "window_offsets"]


#: Length of one timestep of the grid models (on their timestep grid 1 ms is a label) and the
#: default ``dt`` of continuous-time networks.
TIMESTEP_MS = 1.0


def time_base(spec):
    """``"step"`` or ``"continuous"``: the time base shared by all layers of ``spec``.

    Raises
    ------
    ModelError
        If the layers mix grid and continuous-time models: ``dt`` means a label for one and a
        physical step for the other.
    """
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    bases = {model.time_base for model in models}
    if len(bases) > 1:
        raise ModelError(
            "the network mixes timestep-grid and continuous-time neuron models ("
            + ", ".join(f"{layer.name}: {model.name} ({model.time_base})"
                        for layer, model in zip(spec.layers, models))
            + "); convert every layer to models of one kind"
        )
    return bases.pop()


def check_dt(spec, dt):
    """The simulation step of ``spec`` in ms: ``dt`` checked, or the default.

    Parameters
    ----------
    spec : NetworkSpec
    dt : float, brian2 quantity or None
        Step in ms (a number) or a Brian2 time (``0.5*ms``); None: :data:`TIMESTEP_MS`.

    Raises
    ------
    ParameterError
        For a non-positive or non-finite step, or any ``dt`` other than 1 ms for a network of
        timestep-grid models, whose dynamics do not depend on it.
    """
    if dt is None:
        return TIMESTEP_MS
    if hasattr(dt, "dim"):
        from .equations.units import check_parameter

        dt_ms = check_parameter("the simulation", "dt", dt, "second") * 1e3
    elif isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)):
        raise ParameterError(f"dt must be a number of ms (e.g. 1.0) or a Brian2 time, got {dt!r}")
    else:
        dt_ms = float(dt)
    if not (np.isfinite(dt_ms) and dt_ms > 0):
        raise ParameterError(f"dt must be a positive number of ms, got {dt!r}")
    if time_base(spec) == "step" and dt_ms != TIMESTEP_MS:
        raise ParameterError(
            f"dt = {dt_ms:g} ms was given, but the network's models live on a timestep grid "
            "where dt is only a label (their results are counted in timesteps); dt applies to "
            "continuous-time models such as 'lif_rc'. Leave dt out"
        )
    return dt_ms


def pathway_synapse(spec, index):
    """The synapse model of the pathway into layer ``index`` and its parameters (SI floats).

    Raises
    ------
    ModelError
        For a filtered synapse into a timestep-grid model (those add weights to ``v``), or a
        synapse model on the first layer, which has no pathway.
    """
    layer = spec.layers[index]
    model = resolve_model(layer.model, layer.parameters)
    name = getattr(layer, "synapse", "delta")
    if model.own_synapse and index > 0:
        if name not in ("delta", model.own_synapse):
            raise ModelError(
                f"layer {layer.name!r}: model {model.name!r} carries its own synapse "
                f"{model.own_synapse!r}, so it takes no {name!r} synapse; leave the layer's "
                "synapse at its default")
        name = model.own_synapse
    synapse = get_synapse_model(name)
    parameters = {**synapse.parameters, **dict(getattr(layer, "synapse_parameters", ()))}
    if synapse.name != "delta" and not model.own_synapse:
        if index == 0:
            raise ModelError(
                f"layer {layer.name!r} is the first layer: it receives the input as a constant "
                f"current, not through a pathway, so it takes no {synapse.name!r} synapse; "
                "give synapse models to the later layers only"
            )
        if model.time_base != "continuous":
            raise ModelError(
                f"layer {layer.name!r}: the {synapse.name!r} synapse filters a current, but "
                f"model {model.name!r} lives on a timestep grid and takes 'delta' synapses "
                "only; use a continuous-time model such as 'lif_rc'"
            )
    return synapse, parameters


def pathway_unit(spec, index):
    """Name of the Brian2 unit of the weights into layer ``index`` (a pathway into a
    continuous-time model, e.g. ``"second"``), or None for plain numbers."""
    layer = spec.layers[index]
    if resolve_model(layer.model, layer.parameters).time_base == "continuous":
        return pathway_synapse(spec, index)[0].weight_unit
    return None


def window_offsets(models):
    """First step of each layer's window: the sum of the windows of the layers below.

    Few-spike layers (``model.window > 0``, :mod:`brainconv.equations.fs`) run one after
    another within a sample; layers of other models have window 0.
    """
    return [int(sum(model.window for model in models[:index])) for index in range(len(models))]


def minimum_steps(spec):
    """Timesteps a sample needs to pass through every layer: the sum of the few-spike layers'
    windows (:func:`window_offsets`), or 1 for a network without windows."""
    models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
    return max(1, window_offsets(models)[-1] + models[-1].window)


def check_steps_cover(spec, steps):
    """Raise ParameterError where ``steps`` ends before a sample has passed through the
    few-spike layers' windows: the output would be read before it is computed."""
    needed = minimum_steps(spec)
    if steps < needed:
        models = [resolve_model(layer.model, layer.parameters) for layer in spec.layers]
        windows = ", ".join(f"{layer.name} {model.window}" for layer, model
                            in zip(spec.layers, models) if model.window)
        raise ParameterError(
            f"{steps} timesteps end before a sample has passed through the network: its "
            f"few-spike layers run one after another for {needed} steps (windows: {windows}); "
            f"simulate at least {needed} steps (--steps {needed})")


def check_steps(steps):
    """Return ``steps`` as an int, or raise ParameterError unless it is a positive integer."""
    message = f"steps must be a positive whole number of timesteps, got {steps!r}"
    if isinstance(steps, (bool, str)) or steps is None:
        raise ParameterError(message)
    try:
        whole = float(steps).is_integer() and int(steps) == steps
    except (TypeError, ValueError, OverflowError):  # inf, nan, objects that are no number
        whole = False
    if not whole or steps < 1:
        raise ParameterError(message)
    return int(steps)


def pattern_digest(weights):
    """sha256 of a sparse matrix's shape and stored (row, column) positions, not its values."""
    csr = scipy.sparse.csr_matrix(weights)
    csr.sort_indices()
    digest = hashlib.sha256(repr(csr.shape).encode())
    digest.update(np.ascontiguousarray(csr.indptr, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(csr.indices, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class LayerSpec:
    """One spiking layer: its model, size, incoming weights, bias and threshold.

    ``weights`` has shape ``(n_below, size)``: a dense array for a fully connected layer or a
    ``scipy.sparse`` matrix (a convolution); for the first layer ``n_below`` is the number of
    input values. Weights and bias are already multiplied by ``threshold``.

    ``synapse`` names the synapse model of the pathway *into* this layer
    (``brainconv.equations.SYNAPSE_MODELS``; the first layer receives a constant current and
    has no pathway, so its synapse is ``"delta"``). Parameters with units (``tau_rc``,
    ``tau_s``) are stored as floats in SI units (seconds); so are the weights of a pathway into
    a continuous-time model: charges in seconds (see :mod:`brainconv.equations.synapses`).
    """

    name: str
    model: str
    size: int
    weights: np.ndarray
    bias: np.ndarray
    threshold: float
    parameters: tuple = ()  # (name, value) pairs of the model's other parameters
    synapse: str = "delta"
    synapse_parameters: tuple = ()  # (name, value) pairs, SI units


@dataclass(frozen=True)
class NetworkSpec:
    """Immutable description of a converted network (numpy arrays, read-only)."""

    input_size: int
    layers: tuple
    normalization: str = "none"
    percentile: float = 100.0

    @property
    def layer_sizes(self):
        """Sizes of the spiking layers, first hidden layer to output."""
        return tuple(layer.size for layer in self.layers)

    @property
    def architecture(self):
        """What a compiled simulation depends on: not the weights, the thresholds or the
        values of the parameters Brian2 sets as variables, which arrive as run_args
        (:func:`brainconv.build.layer_values`); their names, and the values of the structural
        parameters written into the equations, are part of it."""
        # A filtered pathway adds its synapse; delta pathways add nothing. A sparse layer's
        # connection pattern is compiled into the project, so its digest belongs to it.
        entries = []
        for layer in self.layers:
            structural = resolve_model(layer.model, layer.parameters).structural
            entries.append(
                (layer.name, layer.model, layer.size,
                 tuple((name, value) for name, value in layer.parameters if name in structural),
                 tuple(name for name, _ in layer.parameters if name not in structural))
                + ((layer.synapse, tuple(name for name, _ in layer.synapse_parameters))
                   if layer.synapse != "delta" else ())
                + ((pattern_digest(layer.weights),) if scipy.sparse.issparse(layer.weights)
                   else ()))
        return (self.input_size,) + tuple(entries)

    def input_currents(self, x):
        """Current into the first layer, ``x @ W0 + b0``: constant over a sample for ``x`` of
        shape ``(n_samples, input_size)``, one per step for frames ``(n_samples, steps,
        input_size)`` (event streams; the result is then ``(n_samples, steps, size)``).

        Raises
        ------
        ShapeError
            If ``x`` is neither shape.
        ParameterError
            If ``x`` holds NaN or inf.
        """
        x = np.asarray(require_numbers(x, "the input"), dtype=float)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"input has shape {x.shape}, but the network expects (n_samples, "
                f"{self.input_size}) or, one frame per step, (n_samples, steps, "
                f"{self.input_size}); flatten images to rows of {self.input_size} values"
            )
        if not np.all(np.isfinite(x)):
            raise ParameterError("input holds NaN or inf values; clean or rescale the data")
        first = self.layers[0]
        rows = x.reshape(-1, self.input_size)  # a sparse W0 multiplies 2-D arrays only
        return (np.asarray(rows @ first.weights) + first.bias).reshape(
            *x.shape[:-1], first.size)


def check_frames(spec, shape, steps, backend=None):
    """Refuse per-step inputs (``x`` of ``shape`` ``(n_samples, frames, n_inputs)``) that do
    not fit the run, before the first layer's product: one frame per step, a first layer that
    integrates its input every step, a backend (:class:`~brainconv.devices.Device`, None: the
    numpy reference) that takes them.

    Raises
    ------
    ShapeError, ParameterError
    """
    if shape[1] != steps:
        raise ShapeError(
            f"the input has {shape[1]} frames per sample (axis 1 of shape {tuple(shape)}) but "
            f"the run has {steps} steps; pass one frame per step (steps={shape[1]}), or a 2-D "
            "input held constant")
    first = spec.layers[0]
    model = resolve_model(first.model, first.parameters)
    if model.window:
        raise ParameterError(
            f"layer {first.name!r} (model {model.name!r}) takes its input once per sample, "
            "in its first step, so inputs that change from step to step would be ignored; "
            "pass a 2-D input (n_samples, n_inputs), or use a model that integrates every "
            "step (if_soft, lif, ...)")
    if backend is not None and not backend.per_step_inputs:
        raise ParameterError(
            f"device {backend.name!r} does not take inputs that change from step to step "
            "(frames); run them on 'cpp_standalone', 'runtime' or 'numpy'")


def pathway_code(spec, models, index):
    """``(weight unit, on_pre code)`` of the pathway into layer ``index``.

    ``models`` are the layers' resolved neuron models (indexable by layer).
    """
    model, source = models[index], models[index - 1]
    if model.time_base == "continuous":
        synapse = pathway_synapse(spec, index)[0]
        weight = f"w * {source.payload}_pre" if source.payload else "w"
        return synapse.weight_unit, synapse.code_on_pre(weight)
    return "1", source.on_pre(model)  # grid models: the weight is added to the input variable


_ADDITIVE = re.compile(r"^(\w+)_post \+= w(?: \* (\w+)_pre)?$")


def additive_target(on_pre):
    """``(post variable, pre payload or None)`` of an ``on_pre`` that only adds the weight
    (``v_post += w``, ``v_post += w * n_pre``), or None for any other code."""
    match = _ADDITIVE.match(on_pre.strip())
    return match.groups() if match else None


def direct_pathway(spec, index):
    """True where the pathway into layer ``index`` only adds the weight
    (:func:`additive_target`), so that a backend with ``direct_pathways``
    serves it by weight rows, one entry per ANN weight."""
    models = {i: resolve_model(spec.layers[i].model, spec.layers[i].parameters)
              for i in (index - 1, index)}
    return bool(additive_target(pathway_code(spec, models, index)[1]))


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
