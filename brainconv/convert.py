"""ANN → :class:`NetworkSpec`: weight normalization and the immutable network description.

numpy only: nothing here creates a Brian2 object, so conversion is testable on its own and
every bad input is rejected before a simulation is built.

Conventions (Think Fast §3): pixels enter as constant currents, so the first layer receives
``x @ W0 + b0`` once per timestep and holds no ``Synapses``; every later layer receives the
spikes of the layer below through ``Synapses`` with the transferred weights, plus its bias as a
constant current per timestep. Each layer's weights and bias are multiplied by its threshold so
that the converted rates do not depend on the threshold chosen.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from .ann import ANN
from .equations import get_model
from .errors import ModelError, ParameterError, ShapeError

NORMALIZATIONS = ("percentile", "max", "none")


def relu_equivalent(ann):
    """The ReLU network that computes what ``ann`` computes, for conversion.

    Custom-trained networks (Think Fast §3.4) carry their hidden activation: ``"rate"`` with
    ``v_th = 0`` is ``ReLU(z) / R``, so dividing every later layer's weights by ``R`` gives the
    same function with ReLUs. ``"accumulator"`` (``z**2 / 2R``) has no linear spiking
    counterpart: its weights are transferred as they are, as Think Fast does, so the spiking
    network approximates the ReLU network with those weights (see the Table 1 notes).

    Raises
    ------
    ParameterError
        For a ``"rate"`` activation with ``v_th != 0``: it jumps from 0 to ``v_th / R`` at
        ``v_th``, which no integrate-and-fire neuron reproduces.
    """
    params = dict(ann.activation_params)
    if ann.activation == "relu" or ann.activation == "accumulator":
        return ANN(ann.weights, ann.biases)
    if params.get("v_th", 0.0) != 0:
        raise ParameterError(
            f"cannot convert a 'rate' network with v_th = {params['v_th']}: its activation "
            "jumps at v_th, which integrate-and-fire neurons do not; train with v_th = 0"
        )
    R = params.get("R", 1.0)
    weights = (ann.weights[0],) + tuple(w / R for w in ann.weights[1:])
    return ANN(weights, ann.biases)


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
    if not 0 < percentile <= 100:
        raise ParameterError(
            f"percentile must be in (0, 100], got {percentile}; 99.9 is the usual choice"
        )
    if method == "none":
        return ann, tuple(1.0 for _ in ann.weights)
    activations = ann.forward(np.asarray(data, dtype=float), all_layers=True)
    weights, biases, scales = [], [], []
    previous = 1.0
    for index, (w, b, a) in enumerate(zip(ann.weights, ann.biases, activations)):
        positive = a[a > 0]
        if positive.size == 0:
            # A layer that never fires on the calibration data: leave its scale alone.
            scale = previous
        elif method == "max":
            scale = float(positive.max())
        else:
            scale = float(np.percentile(positive, percentile))
        weights.append(w * (previous / scale))
        biases.append(b / scale)
        scales.append(scale)
        previous = scale
    return (ANN(tuple(weights), tuple(biases), ann.activation, ann.activation_params),
            tuple(scales))


@dataclass(frozen=True)
class LayerSpec:
    """One spiking layer: its model, size, incoming weights, bias and threshold.

    ``weights`` has shape ``(n_below, size)``: a dense array for a fully connected layer or a
    ``scipy.sparse`` matrix (a convolution); for the first layer ``n_below`` is the number of
    input values. Weights and bias are already multiplied by ``threshold``.
    """

    name: str
    model: str
    size: int
    weights: np.ndarray
    bias: np.ndarray
    threshold: float
    parameters: tuple = ()  # (name, value) pairs of the model's other parameters


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
        """What a compiled simulation depends on (not the weight values)."""
        return (self.input_size,) + tuple((l.name, l.model, l.size, l.threshold, l.parameters)
                                          for l in self.layers)

    def input_currents(self, x):
        """Constant current per timestep into the first layer, ``x @ W0 + b0``.

        Raises
        ------
        ShapeError
            If ``x`` is not ``(n_samples, input_size)``.
        ParameterError
            If ``x`` holds NaN or inf.
        """
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(
                f"input has shape {x.shape}, but the network expects (n_samples, "
                f"{self.input_size}); flatten images to rows of {self.input_size} values"
            )
        if not np.all(np.isfinite(x)):
            raise ParameterError("input holds NaN or inf values; clean or rescale the data")
        first = self.layers[0]
        return np.asarray(x @ first.weights) + first.bias


def convert(ann, model="if_soft", data=None, normalization="percentile", percentile=99.9,
            threshold=1.0, parameters=None):
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
    normalization : {"percentile", "max", "none"}
    percentile : float
        Percentile for ``normalization="percentile"`` (99.9 by default, Rueckauer et al.).
    threshold : float
        Firing threshold of every layer (> 0).
    parameters : dict, optional
        Values for the models' other parameters, e.g. ``{"k": 10}`` for accumulators,
        ``{"R": 10}`` for leaky models, ``{"size": 7}`` for ensembles; each layer takes those
        its model has, and the model's defaults for the rest.

    Returns
    -------
    NetworkSpec
    """
    if not isinstance(ann, ANN):
        raise ParameterError(f"convert() needs a brainconv.ann.ANN, got {type(ann).__name__}")
    names = [model] * ann.n_layers if isinstance(model, str) else list(model)
    if len(names) != ann.n_layers:
        raise ShapeError(
            f"got {len(names)} model names for an ANN with {ann.n_layers} layers; "
            "give one name, or one per layer"
        )
    models = [get_model(name) for name in names]
    layer_parameters = [_model_parameters(m, parameters or {}) for m in models]
    # Builds ensembles for their size now, so that bad sizes or tunings fail before Brian2.
    resolved = [m.resolve(dict(p)) for m, p in zip(models, layer_parameters)]
    unused = set(parameters or {}) - {n for m in models for n in m.parameters}
    if unused:
        raise ModelError(
            f"parameter(s) {sorted(unused)} belong to none of the models "
            f"{sorted({m.name for m in models})}; their parameters are "
            f"{sorted({n for m in models for n in m.parameters if n != 'theta'})}"
        )
    threshold = float(threshold)
    if not (np.isfinite(threshold) and threshold > 0):
        raise ParameterError(f"threshold must be a positive number, got {threshold}")
    if normalization != "none" and data is None:
        raise ParameterError(
            f"normalization={normalization!r} needs calibration data (data=training images); "
            "pass data or use normalization='none'"
        )
    if data is not None:
        data = np.asarray(data, dtype=float)
        if data.ndim != 2 or data.shape[1] != ann.layer_sizes[0]:
            raise ShapeError(
                f"calibration data has shape {data.shape}, expected (n_samples, "
                f"{ann.layer_sizes[0]})"
            )
    scaled, _ = normalize(relu_equivalent(ann), data, normalization, percentile)
    layers = []
    for index, (w, b) in enumerate(zip(scaled.weights, scaled.biases)):
        name = "output" if index == ann.n_layers - 1 else f"hidden{index + 1}"
        if index > 0 and resolved[index - 1].output_scale != 1:
            w = w * resolved[index - 1].output_scale  # payload units → activation (LEN levels)
        layers.append(
            LayerSpec(name, models[index].name, w.shape[1], _readonly(w * threshold),
                      _readonly(b * threshold), threshold, layer_parameters[index])
        )
    return NetworkSpec(ann.layer_sizes[0], tuple(layers), normalization, float(percentile))


def _model_parameters(model, overrides):
    """The model's parameters other than ``theta``, defaults updated by ``overrides``."""
    values = {name: value for name, value in model.parameters.items() if name != "theta"}
    values.update({name: overrides[name] for name in values if name in overrides})
    if "k" in values:
        k = values["k"]
        if isinstance(k, bool) or not float(k).is_integer() or k < 1:
            raise ParameterError(
                f"k (maximum spikes per timestep of {model.name!r}) must be an integer >= 1, "
                f"got {k!r}"
            )
        values["k"] = int(k)
    if "R" in values:
        R = values["R"]
        if isinstance(R, bool) or not (np.isfinite(float(R)) and R >= 1):
            raise ParameterError(
                f"R (leak rate constant of {model.name!r}) must be a finite number >= 1 "
                f"(1 = no leak, Think Fast uses 10), got {R!r}"
            )
        values["R"] = float(R)
    return tuple(sorted(values.items()))


def _readonly(array):
    if scipy.sparse.issparse(array):  # a convolution's unrolled weights
        return scipy.sparse.csr_matrix(array, dtype=float)
    array = np.array(array, dtype=float)
    array.flags.writeable = False
    return array
