"""A trained CuBa-LIF network (BATS weights) as a brainconv :class:`~brainconv.spec.NetworkSpec`.

The spec's first layer is the ``ttfs`` input layer (identity weights: its current is the input
value), the later ones ``cuba_lif`` (or ``cuba_lif_grid``) with the trained weights in Hz, no
biases, one threshold and one spike buffer (``max_spikes``) per layer.
:func:`brainconv.simulation.run_network` then runs it on any device with ``dt`` in ms, and
``steps * dt`` is the sample's window (BATS: 200 steps of 1 ms).
"""

import numpy as np
import scipy.sparse

from ..equations.cuba_lif import make_cuba_lif
from ..spec import LayerSpec, NetworkSpec
from ..errors import ParameterError
from .events import seconds

__all__ = ["cuba_network"]


def cuba_network(weights, thresholds, tau_s=0.13, t_window=0.1, exact=True, max_spikes=30):
    """Build the spec of a feed-forward CuBa-LIF network with time-to-first-spike input.

    Parameters
    ----------
    weights : sequence of ndarray
        Incoming weights of each CuBa layer, ``(n_pre, n_post)``, in Hz (a spike adds ``w``
        to the current ``g``); the first has one row per input value.
    thresholds : sequence of float
        ``theta`` of each CuBa layer (BATS MNIST: 0.2 hidden, 1.3 output).
    tau_s : float
        Synaptic time constant in seconds (``tau = 2 tau_s``).
    t_window : float
        TTFS window in seconds: a value ``p`` spikes at ``t_window (1 - p)``.
    exact : bool
        ``cuba_lif`` (in-step crossing, Cojocaru's semantics) or ``cuba_lif_grid``.
    max_spikes : int or sequence of int
        Spikes a neuron sends per sample at most, one value or one per CuBa layer (BATS'
        spike buffer; the trainer's ``max_spikes``, so that Brian2 runs the trained network).

    Returns
    -------
    NetworkSpec
    """
    tau_s, t_window = seconds("tau_s", tau_s), seconds("t_window", t_window)
    weights = [np.asarray(w, dtype=float) for w in weights]
    if len(weights) == 0 or len(thresholds) != len(weights):
        raise ParameterError(f"give one threshold per weight matrix: {len(weights)} weight "
                             f"matrices, {len(thresholds)} thresholds")
    for index, w in enumerate(weights):
        if w.ndim != 2 or (index and w.shape[0] != weights[index - 1].shape[1]):
            raise ParameterError(f"weights[{index}] has shape {w.shape}; expected "
                                 f"(n_pre, n_post) matching the layer below")
        if not np.all(np.isfinite(w)):
            raise ParameterError(f"weights[{index}] holds NaN or inf")
    for name, value in (("tau_s", tau_s), ("t_window", t_window),
                        *((f"thresholds[{i}]", t) for i, t in enumerate(thresholds))):
        if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name} must be a positive number (seconds for times), got "
                                 f"{value!r}")
    buffers = [max_spikes] * len(weights) if np.ndim(max_spikes) == 0 else list(max_spikes)
    if len(buffers) != len(weights):
        raise ParameterError(f"give max_spikes once or once per weight matrix: "
                             f"{len(weights)} weight matrices, {len(buffers)} values")
    n_inputs = weights[0].shape[0]
    layers = [LayerSpec("input", "ttfs", n_inputs, scipy.sparse.identity(n_inputs, format="csr"),
                        np.zeros(n_inputs), 1.0, parameters=(("t_window", float(t_window)),))]
    model = "cuba_lif" if exact else "cuba_lif_grid"
    for index, (w, theta, buffer) in enumerate(zip(weights, thresholds, buffers)):
        name = "output" if index == len(weights) - 1 else f"hidden{index + 1}"
        make_cuba_lif(exact, buffer)  # a bad buffer is refused here, naming the value
        layers.append(LayerSpec(name, model, w.shape[1], w, np.zeros(w.shape[1]), float(theta),
                                parameters=(("tau_s", float(tau_s)),
                                            ("max_spikes", int(buffer)))))
    return NetworkSpec(n_inputs, tuple(layers))
