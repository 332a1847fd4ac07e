"""ANN → :class:`NetworkSpec`: weight normalization and the immutable network description.

numpy only: nothing here creates a Brian2 object, so conversion is testable on its own and
every bad input is rejected before a simulation is built.

Conventions (Think Fast §3): pixels enter as constant currents, so the first layer receives
``x @ W0 + b0`` once per timestep and holds no ``Synapses``; every later layer receives the
spikes of the layer below through ``Synapses`` with the transferred weights, plus its bias as a
constant current per timestep. Each layer's weights and bias are multiplied by its threshold so
that the converted rates do not depend on the threshold chosen.

With ``encoding="poisson"`` a Poisson input layer (:mod:`brainconv.equations.poisson`,
identity weights, its current the pixel value) comes first, and the ANN's first weight matrix
becomes a spiking pathway. ``normalization="spike_norm"`` (Sengupta et al. 2019) sets each
layer's threshold from simulated spike input instead of ANN activations (:func:`spike_norm`).

The choices of :func:`convert` are registries, so a new one is one entry: :data:`ANN_FAMILIES`
(ANN activation → :class:`AnnFamily`: its ReLU or soft-LIF equivalent, time base, allowed
normalizations, trained constants), :data:`NORMALIZERS` (name → :class:`Normalizer`),
:data:`ENCODERS` (name → :class:`Encoder`), :data:`READOUTS` (name → output model) and
:data:`PARAMETER_RULES` (parameter name → check). Unknown names are errors that list the keys.
"""

import difflib
import numbers
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import scipy.sparse

from .ann import ANN
from .spec import TIMESTEP_MS, LayerSpec, NetworkSpec, check_steps, pathway_synapse, time_base
from .equations import get_model, get_synapse_model, resolve_model
from .errors import ModelError, ParameterError, ShapeError

__all__ = ["ANN_FAMILIES", "ENCODERS", "ENCODINGS", "NORMALIZATIONS", "NORMALIZERS",
           "PARAMETER_RULES", "READOUTS", "SPIKE_NORM", "AnnFamily", "Encoder", "Normalizer",
           "check_bias_free", "convert", "normalize", "relu_equivalent", "softlif_equivalent",
           "spike_norm"]

#: The data-based normalizations of :func:`normalize`.
NORMALIZATIONS = ("percentile", "max", "none")
#: Threshold balancing on simulated spikes (Sengupta et al. 2019): convert() only, since it
#: needs the spiking models, not just the ANN (:func:`spike_norm`).
SPIKE_NORM = "spike_norm"
#: How the input enters the network: a constant current into the first ANN layer, or Poisson
#: spike trains through a pathway with the ANN's first weights (keys of :data:`ENCODERS`).
ENCODINGS = ("current", "poisson")


# --- the registries ------------------------------------------------------------------------

@dataclass(frozen=True)
class AnnFamily:
    """How a trained ANN of one activation is converted (an entry of :data:`ANN_FAMILIES`).

    Parameters
    ----------
    equivalent : callable
        ``equivalent(ann)`` → the ANN whose weights the spiking layers take (before
        normalization and the threshold).
    time_base : {"step", "continuous"}
        The time base of the neuron models it converts to.
    hint : str
        What to do when the models have the other time base (ends the ModelError).
    normalizations : tuple of str or None
        The normalizations that apply (``None``: all of :data:`NORMALIZERS`).
    why_not : str
        Why the other normalizations do not apply, and the fix (ends the ParameterError).
    trained : tuple of str
        Activation parameters that become the neuron models' defaults (soft-LIF ``tau_rc``).
    label : str or None
        The family in messages (``None``: the activation's name).
    """

    equivalent: Callable
    time_base: str = "step"
    hint: str = ("continuous-time models (lif_rc) take a network trained with the soft-LIF "
                 "activation (train_ann(..., activation='softlif'))")
    normalizations: tuple = None
    why_not: str = ""
    trained: tuple = ()
    label: str = None

    def fits(self, models):
        """Whether the layer ``models`` have this family's time base.

        A continuous-time family needs every layer continuous; a timestep family rejects only
        an all-continuous network here (a mix is reported layer by layer by
        :func:`brainconv.spec.time_base`).
        """
        bases = {model.time_base for model in models}
        return bases == {"continuous"} if self.time_base == "continuous" \
            else bases != {"continuous"}


@dataclass(frozen=True)
class Normalizer:
    """A way to scale the ANN's layers to the spiking range (an entry of :data:`NORMALIZERS`).

    Parameters
    ----------
    scale : callable
        ``scale(ann, data, percentile)`` → the rescaled ANN (:func:`normalize`); spike-norm
        leaves it as it is.
    needs_data : bool
        Whether calibration ``data`` is required.
    balance : callable or None
        Spike-norm: ``balance(n_inputs, layers, weights, data, steps)`` → the threshold of
        the next layer, measured on the spiking ``layers`` built so far; its weights are
        divided by it. Needs timestep models with a numpy step function.
    """

    scale: Callable
    needs_data: bool = True
    balance: Callable = None


@dataclass(frozen=True)
class Encoder:
    """How the input enters the network (an entry of :data:`ENCODERS`).

    Parameters
    ----------
    input_layer : callable or None
        ``input_layer(n_inputs, continuous, parameters)`` → the :class:`LayerSpec` of a
        spiking input layer, whose ``parameters`` are convert's ``poisson_parameters``;
        ``None``: the first ANN layer receives ``x @ W0 + b0`` as a constant current.
    first_weights : callable or None
        ``first_weights(weights, input_layer, continuous)`` → the first ANN layer's weights
        behind the input layer (not with a balancing normalizer).
    """

    input_layer: Callable = None
    first_weights: Callable = None

    @property
    def spiking(self):
        """Whether the input is a spiking layer (a pathway into the first ANN layer)."""
        return self.input_layer is not None


def _choose(registry, value, what):
    """``registry[value]``; a ParameterError listing the known names otherwise."""
    try:
        return registry[value]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown {what} {value!r}; choose one of "
                             f"{', '.join(map(repr, registry))}") from None


def _as_relu(ann):
    """A ReLU network with ``ann``'s weights (ReLU, accumulator and swish networks)."""
    return ANN(ann.weights, ann.biases)


def _rate_as_relu(ann):
    """A ``"rate"`` network (``ReLU(z) / R`` for ``v_th = 0``) as a ReLU network."""
    params = dict(ann.activation_params)
    if params.get("v_th", 0.0) != 0:
        raise ParameterError(
            f"cannot convert a 'rate' network with v_th = {params['v_th']}: its activation "
            "jumps at v_th, which integrate-and-fire neurons do not; train with v_th = 0"
        )
    R = params.get("R", 1.0)
    weights = (ann.weights[0],) + tuple(w / R for w in ann.weights[1:])
    return ANN(weights, ann.biases)


def _unscaled(ann, data, percentile):
    return ann


def _normalized(method, ann, data, percentile):
    return normalize(ann, data, method, percentile)[0]


def _poisson_first_weights(weights, input_layer, continuous):
    """Mean Poisson input equals the constant current: divide by ``max_rate`` (times ``dt``)."""
    rate = dict(input_layer.parameters)["max_rate"]
    return weights / (rate if continuous else rate * TIMESTEP_MS * 1e-3)


#: ANN activation → how it is converted. Hunsberger & Eliasmith 2016 for soft-LIF; Think Fast
#: §3.4 for the custom-trained ``rate`` and ``accumulator`` networks (:func:`relu_equivalent`);
#: swish for few-spike swish (Stöckl & Maass 2021).
ANN_FAMILIES = {
    "relu": AnnFamily(_as_relu),
    "rate": AnnFamily(_rate_as_relu),
    "accumulator": AnnFamily(_as_relu),
    "swish": AnnFamily(
        _as_relu, normalizations=("none",),
        why_not="swish is not positively homogeneous, so rescaling layers changes what it "
                "computes; pass normalization='none' (the FS-swish coefficients expect raw "
                "pre-activations)"),
    "softlif": AnnFamily(
        lambda ann: softlif_equivalent(ann), time_base="continuous",
        hint="a soft-LIF ANN becomes continuous-time LIF neurons; use model='lif_rc'",
        normalizations=("none",),
        why_not="its weights are transferred unchanged (Hunsberger & Eliasmith 2016); pass "
                "normalization='none'",
        trained=("gain", "tau_rc", "tau_ref"), label="soft-LIF"),
}

#: Normalization name → :class:`Normalizer` (Diehl et al. 2015 ``max``, Rueckauer et al. 2017
#: ``percentile``, Sengupta et al. 2019 ``spike_norm``).
NORMALIZERS = {
    "percentile": Normalizer(partial(_normalized, "percentile")),
    "max": Normalizer(partial(_normalized, "max")),
    "none": Normalizer(partial(_normalized, "none"), needs_data=False),
    SPIKE_NORM: Normalizer(_unscaled, balance=lambda *args: _largest_step_input(*args)),
}

#: Encoding name → :class:`Encoder`.
ENCODERS = {
    "current": Encoder(),
    "poisson": Encoder(lambda *args: _poisson_layer(*args), _poisson_first_weights),
}

#: ``readout`` → the model of the output layer (``None``: the layer's own spiking model).
READOUTS = {"spikes": None, "filtered": "readout"}


def relu_equivalent(ann):
    """The ReLU network that computes what ``ann`` computes, for conversion.

    Custom-trained networks (Think Fast §3.4) carry their hidden activation: ``"rate"`` with
    ``v_th = 0`` is ``ReLU(z) / R``, so dividing every later layer's weights by ``R`` gives the
    same function with ReLUs. ``"accumulator"`` (``z**2 / 2R``) has no linear spiking
    counterpart: its weights are transferred as they are, as Think Fast does, so the spiking
    network approximates the ReLU network with those weights (Think Fast Table 1).

    Raises
    ------
    ParameterError
        For a ``"rate"`` activation with ``v_th != 0``: it jumps from 0 to ``v_th / R`` at
        ``v_th``, which no integrate-and-fire neuron reproduces.
    """
    family = _family(ann)
    if family.time_base != "step":
        raise ParameterError(
            f"a {ann.activation!r} network has no ReLU equivalent; convert it to the "
            f"continuous-time neurons it was trained for ({family.hint}), with "
            "normalization='none'"
        )
    return family.equivalent(ann)


def _family(ann):
    """The :data:`ANN_FAMILIES` entry of ``ann``'s activation."""
    try:
        return ANN_FAMILIES[ann.activation]
    except KeyError:
        raise ModelError(f"no conversion is registered for {ann.activation!r} networks; known "
                         f"activations: {', '.join(ANN_FAMILIES)}") from None


def normalize(ann, data, method="percentile", percentile=99.9):
    """Rescale an ANN layer by layer so that its activations fit a spiking neuron's range.

    Data-based normalization (Diehl et al. 2015 for ``"max"``, Rueckauer et al. 2017 for
    ``"percentile"``): with ``lam[l]`` the maximum (or the ``percentile``-th percentile) of the
    positive activations of layer ``l`` over ``data``, ``W[l] *= lam[l-1] / lam[l]`` and
    ``b[l] /= lam[l]`` (``lam[-1] = 1`` because pixels lie in [0, 1]). A ReLU network is
    positively homogeneous, so predictions do not change; afterwards the chosen statistic of
    every layer's activations equals 1, the rate at which an IF neuron saturates.

    Parameters
    ----------
    ann : ANN
    data : ndarray, shape (n_samples, n_inputs)
        Calibration inputs, usually a slice of the training set.
    method : {"percentile", "max", "none"}
    percentile : float
        Percentile in (0, 100] used by ``method="percentile"``.

    Returns
    -------
    normalized : ANN
    scales : tuple of float
        ``lam`` of each layer.
    """
    if method not in NORMALIZATIONS:
        raise ParameterError(
            f"unknown normalization {method!r}; choose one of {', '.join(NORMALIZATIONS)}"
        )
    _check_number("percentile", percentile)
    if not 0 < percentile <= 100:
        raise ParameterError(
            f"percentile must be in (0, 100], got {percentile}; 99.9 is the usual choice"
        )
    if method == "none":
        return ann, tuple(1.0 for _ in ann.weights)
    scales = _activation_scales(ann, data, method, percentile)
    previous = (1.0,) + scales[:-1]
    weights = tuple(w * (p / scale) for w, p, scale in zip(ann.weights, previous, scales))
    biases = tuple(b / scale for b, scale in zip(ann.biases, scales))
    return ANN(weights, biases, ann.activation, ann.activation_params), scales


def _activation_scales(ann, data, method, percentile):
    """``lam`` of each layer (:func:`normalize`), kept in the cache for the next process.

    The forward pass over the calibration images is most of a warm ``brainconv run``'s
    conversion; the scales are reused only for the same ANN (:func:`provenance.ann_hash`),
    the same calibration data, method, percentile and brainconv version.
    """
    from . import __version__
    from .cache import memo
    from .provenance import ann_hash

    def compute():
        activations = ann.forward(np.asarray(data, dtype=float), all_layers=True)
        scales, previous = [], 1.0
        for a in activations:
            positive = a[a > 0]
            if positive.size == 0:
                # A layer that never fires on the calibration data: leave its scale alone.
                scale = previous
            elif method == "max":
                scale = float(positive.max())
            else:
                scale = float(np.percentile(positive, percentile))
            scales.append(scale)
            previous = scale
        return scales

    return tuple(memo("normalization", ("scales", ann_hash(ann), method, float(percentile),
                                        __version__), [np.asarray(data)], compute))


def softlif_equivalent(ann):
    """Hunsberger & Eliasmith's transfer of a soft-LIF ANN: weights into spiking LIF synapses.

    Weights and biases are kept; the rate-to-activation scale ``amp`` (seconds) multiplies the
    weights of every layer after the first, which turns them into the charge one spike delivers
    (a hidden unit's activation is ``amp`` times its rate). Each LIF neuron then receives
    ``J = gain * x + 1`` (``lif_rc``), ``x`` the filtered input plus bias.
    """
    amp = dict(ann.activation_params)["amp"]
    weights = (ann.weights[0],) + tuple(w * amp for w in ann.weights[1:])
    return ANN(weights, ann.biases)


def convert(ann, model="if_soft", data=None, normalization="percentile", percentile=99.9,
            threshold=1.0, parameters=None, synapse="delta", synapse_parameters=None,
            readout="spikes", encoding="current", poisson_parameters=None,
            calibration_steps=1000):
    """Convert a trained ReLU ANN into a :class:`NetworkSpec`.

    Parameters
    ----------
    ann : ANN
        Trained network; its output layer becomes a spiking layer whose spike counts vote.
        A custom-trained network is first made a ReLU network (:func:`relu_equivalent`).
    model : str or sequence of str
        Neuron model of every layer, or one name per layer (see ``brainconv.equations``).
    data : ndarray, optional
        Calibration inputs for data-based normalization (required unless
        ``normalization="none"``).
    normalization : {"percentile", "max", "none", "spike_norm"}
        ``"spike_norm"``: Sengupta et al.'s threshold balancing on simulated spikes
        (:func:`spike_norm`); needs a bias-free ANN and timestep-grid models.
    percentile : float
        Percentile for ``normalization="percentile"`` (99.9 by default, Rueckauer et al.).
    threshold : float
        Firing threshold of every layer (> 0).
    parameters : dict, optional
        Values for the models' other parameters, e.g. ``{"k": 10}`` for accumulators,
        ``{"R": 10}`` for leaky models, ``{"size": 7}`` for ensembles; each layer takes those
        its model has, and the model's defaults for the rest. Parameters with units take Brian2
        quantities (``{"tau_rc": 20 * brian2.ms}``).
    synapse : str or sequence of str
        Synapse model of every pathway (``"delta"``, ``"exponential"``, ``"alpha"``; see
        ``brainconv.equations.SYNAPSE_MODELS``), or one name per pathway (``n_layers - 1``).
        Filtered synapses need a continuous-time neuron model (``lif_rc``).
    synapse_parameters : dict, optional
        Synapse parameters with units, e.g. ``{"tau_s": 5 * brian2.ms}``.
    readout : {"spikes", "filtered"}
        ``"filtered"`` makes the output layer a non-spiking ``readout`` node (continuous-time
        networks): the filtered spikes of the last hidden layer times the output weights plus
        the bias, whose mean over a classification window is the prediction (Hunsberger).
    encoding : {"current", "poisson"}
        ``"current"``: the first layer receives ``x @ W0 + b0`` as a constant current.
        ``"poisson"``: a first layer ``"input"`` of Poisson neurons (model ``poisson`` on the
        timestep grid, ``poisson_continuous`` for continuous-time models; identity weights)
        spikes with probability ``x * max_rate * dt`` per step, and ``W0`` becomes the pathway
        into ``hidden1``. With ``"max"``, ``"percentile"`` or ``"none"`` normalization that
        pathway's weights are divided by ``max_rate * dt`` (grid; ``dt`` = 1 ms) or
        ``max_rate`` (continuous, charges in seconds), so that the mean input equals the
        constant current of ``"current"`` encoding (1 at the grid default of 1000 Hz).
        A list of ``synapse`` names then needs one more entry, first, for this pathway.
        Not for few-spike (``fs_*``) models, which take their input once per sample.
    poisson_parameters : dict, optional
        ``{"max_rate": 1000 * brian2.Hz, "seed": 0}`` (defaults of the Poisson model). The
        seed fixes the numpy device's spike trains and spike-norm's calibration; Brian2 draws
        with ``rand()``, which ``brian2.seed`` seeds.
    calibration_steps : int
        Timesteps per calibration image for ``normalization="spike_norm"`` (Sengupta et al.
        and Rathi's code: 1000).

    A soft-LIF ANN (``ann.activation == "softlif"``) is converted as Hunsberger & Eliasmith
    do (:func:`softlif_equivalent`), to ``lif_rc`` neurons with its ``tau_rc``, ``tau_ref``
    and ``gain`` unless ``parameters`` says otherwise, without normalization.

    Returns
    -------
    NetworkSpec
    """
    return _convert(ann, model, data, normalization, percentile, threshold, parameters, synapse,
                    synapse_parameters, readout, encoding, poisson_parameters,
                    calibration_steps)[0]


def spike_norm(ann, data, model="if_soft", encoding="poisson", calibration_steps=1000,
               threshold=1.0, parameters=None, poisson_parameters=None):
    """Spike-norm (Sengupta et al. 2019): the converted network and its layer thresholds.

    Layer by layer (Sengupta et al. 2019, Algorithm 1): the network is driven by ``calibration_steps``
    steps of each calibration image (Poisson spikes with ``encoding="poisson"``, seeded by
    ``poisson_parameters["seed"]``), the layers below already balanced, and the threshold
    ``v_th[l]`` of layer ``l`` is the largest weighted spike input ``s_(l-1)(t) @ W_l`` that
    any of its neurons receives in any one step, over all images and steps. The layer's
    weights are then divided by ``v_th[l]`` (brainconv's layers keep their threshold at
    ``threshold`` and scale the weights, which is the same network for IF neurons:
    ``v >= v_th`` with weights ``W`` is ``v' >= 1`` with weights ``W / v_th``).

    The layers below run their own numpy step functions (the numpy reference), so the reset
    follows the model: ``if_hard`` resets to zero as Sengupta's IF neurons, ``if_soft``
    subtracts as Rathi's code. Unlike Sengupta's network, whose output layer only integrates,
    brainconv's output layer spikes and is balanced too. Rathi's code balances on 512
    training images with T = 1000. With ``encoding="current"`` the first layer receives the
    constant ``x @ W0`` every step, so its threshold is ``max(x @ W0)``, max-norm's scale.

    Parameters
    ----------
    ann : ANN
        Bias-free ReLU network (biases all zero; Sengupta et al. require it).
    data : ndarray, shape (n_samples, n_inputs)
        Calibration images.
    model, encoding, calibration_steps, threshold, parameters, poisson_parameters
        As for :func:`convert` (timestep-grid models only).

    Returns
    -------
    spec : NetworkSpec
        ``convert(ann, ..., normalization="spike_norm")``.
    thresholds : tuple of float
        ``v_th`` of each ANN layer, first hidden layer to output, in the ANN's units (the
        layers below balanced); 1.0 for a layer that never receives positive input.
    """
    return _convert(ann, model, data, SPIKE_NORM, 99.9, threshold, parameters, "delta", None,
                    "spikes", encoding, poisson_parameters, calibration_steps)


def _convert(ann, model="if_soft", data=None, normalization="percentile", percentile=99.9,
             threshold=1.0, parameters=None, synapse="delta", synapse_parameters=None,
             readout="spikes", encoding="current", poisson_parameters=None,
             calibration_steps=1000):
    """:func:`convert`, returning ``(spec, spike-norm thresholds or None)``."""
    if not isinstance(ann, ANN):
        raise ParameterError(f"convert() needs a brainconv.ann.ANN, got {type(ann).__name__}")
    names = _model_names(ann, model, parameters)
    readout_model = _choose(READOUTS, readout, "readout")
    encoder = _choose(ENCODERS, encoding, "encoding")
    _check_encoder_parameters(encoder, encoding, poisson_parameters)
    normalizer = _choose(NORMALIZERS, normalization, "normalization")
    family = _family(ann)
    models = [get_model(name) for name in names[:-1] + [readout_model or names[-1]]]
    _check_family(ann, family, normalization, models)
    layer_parameters, resolved = _layer_parameters(ann, family, models, parameters or {})
    threshold = _check_threshold(threshold)
    data = _check_data(ann, data, normalization, normalizer)
    if encoder.spiking or normalizer.balance:
        _check_spiking_input(ann, resolved, encoding, normalization, calibration_steps)
    scaled = normalizer.scale(family.equivalent(ann), data, percentile)
    continuous = family.time_base == "continuous"
    # A spiking input layer adds a pathway: one more synapse, first.
    synapses, synapse_values = _synapses(synapse, synapse_parameters,
                                         ann.n_layers + encoder.spiking)
    layers, balanced = [], []
    if encoder.spiking:
        layers.append(encoder.input_layer(ann.layer_sizes[0], continuous, poisson_parameters))
    for index, (w, b) in enumerate(zip(scaled.weights, scaled.biases)):
        if index > 0 and resolved[index - 1].output_scale != 1:
            w = w * resolved[index - 1].output_scale  # payload units → activation (LEN levels)
        if normalizer.balance:
            balanced.append(normalizer.balance(ann.layer_sizes[0], layers, w, data,
                                               calibration_steps))
            w = w / balanced[-1]
        elif index == 0 and encoder.spiking:
            w = encoder.first_weights(w, layers[0], continuous)
        pathway = index + encoder.spiking
        layers.append(LayerSpec(
            "output" if index == ann.n_layers - 1 else f"hidden{index + 1}", models[index].name,
            w.shape[1], _readonly(w * threshold), _readonly(b * threshold), threshold,
            layer_parameters[index], synapses[pathway], synapse_values[pathway]))
    spec = NetworkSpec(ann.layer_sizes[0], tuple(layers), normalization, float(percentile))
    time_base(spec)  # one kind of model: a filtered readout needs continuous-time layers
    for index in range(1, len(layers)):  # filtered synapses only into continuous-time models
        pathway_synapse(spec, index)
    return spec, (tuple(balanced) if normalizer.balance else None)


def _model_names(ann, model, parameters):
    """One model name per ANN layer, checked, with the model ``parameters`` argument."""
    if not isinstance(model, str) and not (isinstance(model, (list, tuple)) and all(
            isinstance(name, str) for name in model)):
        raise ModelError(
            f"model must be a model name or a list of names, one per layer, got {model!r}; "
            "see `brainconv models` (brainconv.equations.MODELS) for the names")
    if parameters is not None and not isinstance(parameters, dict):
        raise ParameterError(f"parameters must be a dict such as {{'R': 10}}, got {parameters!r}")
    if "theta" in (parameters or {}):
        raise ParameterError(
            "the firing threshold is not a model parameter here: pass convert(..., threshold="
            f"{parameters['theta']!r}) (CLI: --threshold) instead of parameters={{'theta': ...}}")
    names = [model] * ann.n_layers if isinstance(model, str) else list(model)
    if len(names) != ann.n_layers:
        raise ShapeError(
            f"got {len(names)} model names for an ANN with {ann.n_layers} layers; "
            "give one name, or one per layer"
        )
    return names


def _check_encoder_parameters(encoder, encoding, poisson_parameters):
    """``poisson_parameters`` only for a spiking input layer, and as a dict."""
    if poisson_parameters is not None and not encoder.spiking:
        raise ParameterError("poisson_parameters were given, but encoding is "
                             f"{encoding!r}; pass encoding='poisson' or leave them out")
    if poisson_parameters is not None and not isinstance(poisson_parameters, dict):
        raise ParameterError("poisson_parameters must be a dict such as {'max_rate': "
                             f"1000 * brian2.Hz, 'seed': 0}}, got {poisson_parameters!r}")


def _check_family(ann, family, normalization, models):
    """The normalization and the models' time base must suit the ANN's family."""
    if family.normalizations is not None and normalization not in family.normalizations:
        raise ParameterError(f"normalization={normalization!r} does not apply to a "
                             f"{family.label or ann.activation} "
                             f"network: {family.why_not}")
    if not family.fits(models):
        raise ModelError(
            f"a {ann.activation!r} network cannot be converted to the models "
            f"{sorted({m.name for m in models})}: {family.hint}")


def _layer_parameters(ann, family, models, parameters):
    """Each layer's parameters (sorted pairs) and its resolved model, checked before Brian2."""
    # The trained neuron constants (SI floats) are the defaults; explicit parameters win.
    trained = {name: value for name, value in ann.activation_params if name in family.trained}
    layer_parameters = [_model_parameters(m, parameters, trained) for m in models]
    # Builds ensembles for their size now, so that bad sizes or tunings fail before Brian2.
    resolved = [m.resolve(dict(p)) for m, p in zip(models, layer_parameters)]
    unused = set(parameters) - {n for m in models for n in m.parameters}
    if unused:
        known = sorted({n for m in models for n in m.parameters if n != "theta"})
        guesses = [f"{name!r} -> {close[0]!r}" for name in sorted(unused)
                   for close in [difflib.get_close_matches(name, known, n=1)] if close]
        raise ModelError(
            f"parameter(s) {sorted(unused)} belong to none of the models "
            f"{sorted({m.name for m in models})}; their parameters are {known}"
            + (f"; did you mean {', '.join(guesses)}?" if guesses else "")
        )
    if not resolved[-1].integer_payload:
        raise ModelError(
            f"model {resolved[-1].name!r} sends real-valued payloads, but the output layer's "
            "payload sums are counted as integers; give the output layer an integer-payload "
            f"model, e.g. model=[{', '.join([repr(resolved[0].name)] * (len(models) - 1))}, "
            "'fs_relu'] (few-spike ReLU)")
    return layer_parameters, resolved


def _check_threshold(threshold):
    _check_number("threshold", threshold)
    threshold = float(threshold)
    if not threshold > 0:
        raise ParameterError(f"threshold must be a positive number, got {threshold}; "
                             "1.0 is the usual choice after normalization")
    return threshold


def _check_data(ann, data, normalization, normalizer):
    """Calibration ``data`` as floats, checked where the normalizer needs it."""
    if normalizer.needs_data and data is None:
        raise ParameterError(
            f"normalization={normalization!r} needs calibration data (data=training images); "
            "pass data or use normalization='none'"
        )
    if data is None:
        return None
    data = np.asarray(data, dtype=float)
    if data.ndim != 2 or data.shape[1] != ann.layer_sizes[0]:
        raise ShapeError(
            f"calibration data has shape {data.shape}, expected (n_samples, "
            f"{ann.layer_sizes[0]})"
        )
    if normalizer.needs_data and len(data) == 0:
        raise ParameterError(
            f"normalization={normalization!r} got 0 calibration samples; pass some "
            "training images (CLI: --calibration N with N >= 1)")
    if normalizer.needs_data and not np.all(np.isfinite(data)):
        bad = int(np.sum(~np.all(np.isfinite(data), axis=1)))
        raise ParameterError(
            f"calibration data holds NaN or inf in {bad} of its {len(data)} rows; the "
            "normalization scales would be meaningless: clean the data or drop those rows")
    return data


def _check_spiking_input(ann, models, encoding, normalization, calibration_steps):
    """Reject what Poisson input or spike-norm cannot do, before anything is simulated."""
    windowed = sorted({m.name for m in models if m.input_mode == "one_off"})
    balancing = NORMALIZERS[normalization].balance is not None
    if windowed:
        what = " and ".join(name for name, used in (
            ("Poisson input", ENCODERS[encoding].spiking), ("spike-norm", balancing)) if used)
        raise ModelError(
            f"{what} does not apply to the few-spike model(s) {windowed}: they take their input "
            "once per sample and their thresholds are fitted coefficients; use "
            "encoding='current' and normalization 'max', 'percentile' or 'none'")
    if not balancing:
        return

    check_steps(calibration_steps)
    check_bias_free(ann)
    missing = sorted({m.name for m in models if not m.step})
    if missing:
        raise ModelError(
            f"spike-norm simulates the layers below in numpy, but model(s) {missing} have no "
            "numpy step function; define them with step=..., or use 'max' / 'percentile'")


def check_bias_free(ann):
    """Raise ParameterError unless every bias of ``ann`` is zero, as spike-norm needs."""
    biased = [index for index, b in enumerate(ann.biases) if np.any(b != 0)]
    if biased:
        raise ParameterError(
            f"normalization='spike_norm' needs a bias-free ANN (Sengupta et al. 2019), but "
            f"layer(s) {biased} have nonzero biases; train the ANN without biases "
            "(train_ann(..., biases=False), or `brainconv train --no-biases`), or use "
            "normalization='max' / 'percentile'")


def _poisson_layer(n_inputs, continuous, values):
    """The Poisson input layer ``"input"``: identity weights, checked max_rate and seed."""
    from .equations.poisson import check_seed

    model = get_model("poisson_continuous" if continuous else "poisson")
    unknown = sorted(set(values or {}) - set(model.parameters))
    if unknown:
        raise ParameterError(
            f"poisson_parameters {unknown} are not parameters of the Poisson input model "
            f"{model.name!r}; its parameters are {sorted(model.parameters)} (max_rate in Hz)")
    parameters = dict(_model_parameters(model, values or {}))
    if not parameters["max_rate"] > 0:
        raise ParameterError(f"max_rate of the Poisson input must be positive, got "
                             f"{parameters['max_rate']} Hz")
    parameters["seed"] = check_seed(parameters["seed"])
    return LayerSpec("input", model.name, n_inputs,
                     _readonly(scipy.sparse.identity(n_inputs, format="csr")),
                     _readonly(np.zeros(n_inputs)), 1.0, tuple(sorted(parameters.items())))


def _largest_step_input(n_inputs, layers, weights, data, steps):
    """Spike-norm's threshold: the largest ``s(t) @ weights`` over neurons, images and steps.

    ``s(t)`` is what the last of ``layers`` (already balanced) sends in step ``t`` when the
    network of ``layers`` is driven by ``data``; without layers (current encoding, first ANN
    layer) it is the input itself, constant in time. The layers run their numpy step functions
    on the schedule of :func:`brainconv.reference.simulate_reference`, all images at once, so
    that the Poisson draws are those of the numpy device for the same images. Returns 1.0 if
    no neuron ever receives positive input.
    """
    if not layers:
        largest = float(np.max(np.asarray(data @ weights)))
    else:
        spec = NetworkSpec(n_inputs, tuple(layers))
        models = [resolve_model(layer.model, layer.parameters) for layer in layers]
        currents = spec.input_currents(data)
        states = [model.initial_state((len(data), layer.size))
                  for layer, model in zip(layers, models)]
        buffers = [np.zeros((len(data), layer.size)) for layer in layers]
        largest = -np.inf
        spikes = None
        for _ in range(steps):
            for index, (layer, model) in enumerate(zip(layers, models)):
                drive = (currents if index == 0
                         else np.asarray(spikes @ layer.weights) + layer.bias)
                sent = model.step(states[index], drive, buffers[index], theta=layer.threshold,
                                  **dict(layer.parameters))
                spikes = model.events(sent)[0]  # an ensemble's payload, not its count
            largest = max(largest, float(np.max(np.asarray(spikes @ weights))))
    return largest if largest > 0 else 1.0


def _synapses(synapse, synapse_parameters, n_layers):
    """Synapse name and checked parameters (SI) of each layer's incoming pathway."""
    names = [synapse] * (n_layers - 1) if isinstance(synapse, str) else list(synapse)
    if len(names) != n_layers - 1:
        raise ShapeError(
            f"got {len(names)} synapse model names for {n_layers - 1} pathways; give one name, "
            "or one per pathway (layer 2 onwards)"
        )
    models = [get_synapse_model(name) for name in names]
    overrides = dict(synapse_parameters or {})
    unused = set(overrides) - {n for m in models for n in m.parameters}
    if unused:
        raise ModelError(
            f"synapse parameter(s) {sorted(unused)} belong to none of the synapse models "
            f"{sorted({m.name for m in models})}; their parameters are "
            f"{sorted({n for m in models for n in m.parameters}) or 'none'}"
        )
    values = [tuple(sorted(m.check_parameters(
        {k: v for k, v in overrides.items() if k in m.parameters}).items())) for m in models]
    return ["delta"] + [m.name for m in models], [()] + values


def _model_parameters(model, overrides, trained=None):
    """The model's parameters other than ``theta``, defaults updated by ``overrides``.

    ``trained`` (SI floats, e.g. a soft-LIF network's ``tau_rc``) replaces the defaults first.
    Each value whose name is in :data:`PARAMETER_RULES` is then checked (and normalized) by
    its rule, and all of them by the model's own ``check``.
    """
    values = {name: value for name, value in model.parameters.items() if name != "theta"}
    values.update({name: float(v) for name, v in (trained or {}).items() if name in values})
    for name in set(overrides) & set(values) - set(model.units):
        _check_number(f"parameter {name!r} of model {model.name!r}", overrides[name])
    # Parameters with units arrive as Brian2 quantities and are stored in SI units.
    values.update(model.check_parameters({name: overrides[name] for name in values
                                          if name in overrides}))
    for name in sorted(set(values) & set(PARAMETER_RULES)):
        values[name] = PARAMETER_RULES[name](model, values[name])
    if model.check is not None:  # the model's own rule (ModelBase.check)
        model.check(values, model.owner())
    return tuple(sorted(values.items()))


def _time_constant(name, lowest, text):
    """Rule for a time parameter with a unit: ``value >= lowest`` (SI seconds)."""
    def check(model, value):
        if name in model.units and not value >= lowest:
            raise ParameterError(f"{name} of {model.name!r} must be {text}, got {value} s")
        return value
    return check


def _check_k(model, k):
    if isinstance(k, bool) or not float(k).is_integer() or k < 1:
        raise ParameterError(
            f"k (maximum spikes per timestep of {model.name!r}) must be an integer >= 1, "
            f"got {k!r}"
        )
    return int(k)


def _check_R(model, R):
    if isinstance(R, bool) or not (np.isfinite(float(R)) and R >= 1):
        raise ParameterError(
            f"R (leak rate constant of {model.name!r}) must be a finite number >= 1 "
            f"(1 = no leak, Think Fast uses 10), got {R!r}"
        )
    return float(R)


#: Parameter name → ``rule(model, value)`` returning the checked value, for every model that
#: has a parameter of that name (user models included).
PARAMETER_RULES = {
    "tau_rc": _time_constant("tau_rc", 1e-12, "> 0"),
    "tau_ref": _time_constant("tau_ref", 0, ">= 0"),
    "k": _check_k,
    "R": _check_R,
}


def _check_number(what, value):
    """Raise ParameterError unless ``value`` is a finite real number (not a bool or string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value):
        raise ParameterError(
            f"{what} must be a finite number, got {value!r} ({type(value).__name__}); "
            "pass a number, e.g. 10 rather than '10'")
    return value


def _readonly(array):
    if scipy.sparse.issparse(array):  # a convolution's unrolled weights
        return scipy.sparse.csr_matrix(array, dtype=float)
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array
