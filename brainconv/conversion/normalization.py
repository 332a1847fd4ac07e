"""Scaling the ANN's layers to the spiking range: data-based normalization and spike-norm.

:data:`NORMALIZERS` maps a name to a :class:`Normalizer`: ``max`` (Diehl et al. 2015),
``percentile`` (Rueckauer et al. 2017), ``none``, and ``spike_norm`` (Sengupta et al. 2019),
which balances each layer's threshold on simulated spikes while the network is built.
"""

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from ..ann import ANN
from ..equations import resolve_model
from ..errors import ParameterError
from ..spec import NetworkSpec
from .parameters import check_number

__all__ = ["NORMALIZATIONS", "NORMALIZERS", "SPIKE_NORM", "Normalizer", "largest_step_input",
           "normalize"]


#: The data-based normalizations of :func:`normalize`.
NORMALIZATIONS = ("percentile", "max", "none")


#: Threshold balancing on simulated spikes (Sengupta et al. 2019): convert() only, since it
#: needs the spiking models, not just the ANN (:func:`spike_norm`).
SPIKE_NORM = "spike_norm"


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


def _unscaled(ann, data, percentile):
    return ann


def _normalized(method, ann, data, percentile):
    return normalize(ann, data, method, percentile)[0]


#: Normalization name → :class:`Normalizer` (Diehl et al. 2015 ``max``, Rueckauer et al. 2017
#: ``percentile``, Sengupta et al. 2019 ``spike_norm``).
NORMALIZERS = {
    "percentile": Normalizer(partial(_normalized, "percentile")),
    "max": Normalizer(partial(_normalized, "max")),
    "none": Normalizer(partial(_normalized, "none"), needs_data=False),
    SPIKE_NORM: Normalizer(_unscaled, balance=lambda *args: largest_step_input(*args)),
}


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
    check_number("percentile", percentile)
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
    from .. import __version__
    from ..cache import memo
    from ..provenance import ann_hash

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


def largest_step_input(n_inputs, layers, weights, data, steps):
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
