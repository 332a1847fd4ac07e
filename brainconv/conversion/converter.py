""":func:`convert`: a trained ANN and the user's choices → a checked :class:`NetworkSpec`."""

import difflib

import numpy as np

from ..ann import ANN
from ..equations import get_model, get_synapse_model
from ..errors import ModelError, ParameterError, ShapeError
from ..spec import LayerSpec, NetworkSpec, check_steps, pathway_synapse, time_base
from .encoding import ENCODERS
from .families import family_of
from .normalization import NORMALIZERS, SPIKE_NORM
from .parameters import check_number, model_parameters, readonly

__all__ = ["READOUTS", "check_bias_free", "convert", "spike_norm"]


#: ``readout`` → the model of the output layer (``None``: the layer's own spiking model).
READOUTS = {"spikes": None, "filtered": "readout"}


def _choose(registry, value, what):
    """``registry[value]``; a ParameterError listing the known names otherwise."""
    try:
        return registry[value]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown {what} {value!r}; choose one of "
                             f"{', '.join(map(repr, registry))}") from None


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
    family = family_of(ann)
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
            w.shape[1], readonly(w * threshold), readonly(b * threshold), threshold,
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
    """The models convert from an ANN; the normalization and their time base suit its family."""
    spike_time = sorted({m.name for m in models if m.trained_by})
    if spike_time:
        trained_by = next(m.trained_by for m in models if m.trained_by)
        raise ModelError(
            f"model(s) {spike_time} are not converted from a trained ANN, whatever its "
            f"activation: their weights are trained on spike times. Train the network with "
            f"{trained_by}(...), which returns the NetworkSpec to simulate "
            "(brainconv.simulation.simulate), or choose a converted model (see `brainconv "
            "models`)")
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
    layer_parameters = [model_parameters(m, parameters, trained) for m in models]
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
    check_number("threshold", threshold)
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
