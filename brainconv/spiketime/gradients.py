"""BATS' exact spike-time gradients (Bacho & Chu 2023) in numpy: the reference.

The backward pass is BATS' exact spike-time gradient (``CuFiles/Backpropagation/*.cu``), with
``tau = 2 tau_s`` and ``c = theta / tau``. For spike ``k`` of a neuron, with ``a_k`` and
``x_k = sqrt(b_k^2 - 4 a_k c)`` from the forward pass:

* ``f1_k = dt_k/da_k = tau / a_k (1 + c exp(t_k/tau) / x_k)``, ``f2_k = -dt_k/db_k = tau / x_k``;
* reset (recurrent) errors, from the last spike back: ``err_k += cum exp(t_k/tau)``, then
  ``cum += err_k c / x_k``;
* ``dL/dw_ij = sum_k err_k (f1_k sum_{z<k} exp(t_z/tau_s) - f2_k sum_{z<k} exp(t_z/tau))``
  over the presynaptic spikes ``z`` of ``i`` that entered ``a_k``;
* error of presynaptic spike ``z``: ``sum_j w_ij sum_{k>z} err_k (f1_k exp(t_z/tau_s)/tau_s
  - f2_k exp(t_z/tau)/tau)``.

Loss (``SpikeCountClassLoss``): ``L = 1/2 sum_j (y_j - n_j)^2`` with targets ``y`` 15 (true
class) and 3 (others). As in BATS' ``SpikeCountLoss.compute_errors``, ``y_j - n_j`` is used as
``dL/dt_k`` for *every* spike ``k`` of output ``j``: a surrogate (the count is piecewise
constant in the weights) whose descent moves the spikes of a neuron that spikes too little
earlier, which lets more spikes fit before ``t_max``. Silent outputs get no gradient (as BATS).
The compiled engine (:mod:`.compiled`) computes the same in one event loop per sample and is
tested against these functions.

With ``dt > 0`` (Cojocaru 2024) the forward pass passes on ``d(t)``; the backward pass treats
``d`` as the identity (straight-through estimator, eq. 15-16): the error of a received time is
the error of the presynaptic neuron's continuous spike time, whose own factors (``a_k, x_k,
t_k``) are continuous. ``backward_times`` picks which presynaptic times enter the sums above:
``"received"`` (default: the ``d(t)`` the neuron integrated, so the gradient is exact up to the
STE) or ``"continuous"`` (the presynaptic continuous times, the other reading of "the
non-discretized spike times are utilized to compute the gradients").
"""

import numpy as np
import scipy.sparse

from ..errors import ParameterError, ShapeError

__all__ = ["backward_events", "count_loss"]

# Elements of the (samples, events, n_post) temporaries per chunk of samples (~32 MB each).
_CHUNK_ELEMENTS = 4_000_000


def count_loss(counts, labels, targets=(15, 3)):
    """BATS' spike-count loss and its per-neuron error.

    Parameters
    ----------
    counts : ndarray, (samples, n_out)
    labels : ndarray of int, (samples,)
    targets : (float, float)
        Target count of the true class and of the others.

    Returns
    -------
    loss : ndarray, (samples,)
        ``1/2 sum_j (y_j - n_j)^2``.
    errors : ndarray, (samples, n_out)
        ``y_j - n_j``, used as ``dL/dt_k`` of every spike of output ``j``.
    """
    counts = np.asarray(counts, dtype=float)
    y = np.full(counts.shape, float(targets[1]))
    y[np.arange(len(counts)), np.asarray(labels)] = float(targets[0])
    errors = y - counts
    return 0.5 * np.sum(errors ** 2, axis=1), errors


def _recurrent_errors(err, rec, c):
    """Add the errors that reach each spike through the resets of the later spikes."""
    err = err.copy()
    cum = np.zeros(err.shape[:2])
    spiked = np.isfinite(rec.times)
    for k in range(err.shape[2] - 1, -1, -1):
        if not spiked[:, :, k].any():
            continue
        err[:, :, k] += cum * rec.post_exp[:, :, k]
        x = rec.x[:, :, k]
        cum += np.divide(err[:, :, k] * c, x, out=np.zeros_like(x), where=spiked[:, :, k] & (x > 0))
    return err


def _layer_backward(W, rec, err, tau_s, theta, pre_times, need_pre):
    """Weight gradient (summed over samples) and errors of the presynaptic spikes of a layer."""
    tau = 2.0 * tau_s
    c = theta / tau
    spiked = np.isfinite(rec.times)
    err = np.where(spiked, err, 0.0)
    err = _recurrent_errors(err, rec, c)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(spiked, tau / rec.a * (1.0 + c * rec.post_exp / rec.x), 0.0)
        f2 = np.where(spiked, tau / rec.x, 0.0)
    S, n_post, K = err.shape
    # R[s, m, j] = sum_{k >= m} err_k f_k: the post spikes an event entering at m contributes to.
    rev = np.zeros((S, K + 1, n_post, 2))
    g = np.stack([err * f1, err * f2], axis=-1).transpose(0, 2, 1, 3)
    rev[:, :K] = np.cumsum(g[:, ::-1], axis=1)[:, ::-1]

    exp_s, exp_1 = rec.in_exp_s, rec.in_exp
    if pre_times is not None:  # "continuous" backward times: exps of the unsnapped pre times
        valid = np.isfinite(rec.in_times)
        t = np.take_along_axis(pre_times.reshape(S, -1), rec.in_slot, axis=1)
        t = np.where(valid, t, 0.0)
        exp_s = np.where(valid, np.exp(t / tau_s), 0.0)
        exp_1 = np.where(valid, np.exp(t / tau), 0.0)

    E = exp_s.shape[1]
    grad = np.zeros(W.shape)
    pre_err = np.zeros((S, E))
    step = max(1, _CHUNK_ELEMENTS // max(1, E * n_post))
    for s0 in range(0, S, step):
        sl = slice(s0, s0 + step)
        nb = rec.n_before[sl].astype(np.intp)
        A = np.take_along_axis(rev[sl, :, :, 0], nb, axis=1)  # (s, E, n_post)
        B = np.take_along_axis(rev[sl, :, :, 1], nb, axis=1)
        es, e1 = exp_s[sl, :, None], exp_1[sl, :, None]
        G = (A * es - B * e1).reshape(-1, n_post)
        src = rec.in_src[sl].reshape(-1)
        onehot = scipy.sparse.csr_matrix(
            (np.ones(src.size), (src, np.arange(src.size))), shape=(W.shape[0], src.size))
        grad += onehot @ G
        if need_pre:
            H = A * (es / tau_s) - B * (e1 / tau)
            pre_err[sl] = np.einsum("sen,sen->se", W[rec.in_src[sl]], H)
    return grad, pre_err


def backward_events(result, weights, output_errors, backward_times="received"):
    """Exact spike-time gradients of a loss given its derivative by the output spike times.

    Parameters
    ----------
    result : EventResult
        From :func:`simulate_events` with ``record=True`` and the same ``weights``.
    weights : list of ndarray
    output_errors : ndarray, (samples, n_out, max_spikes)
        ``dL/dt_k`` of each output spike (entries without a spike are ignored).
    backward_times : "received" or "continuous"
        With ``dt > 0``: which presynaptic times the gradient formulas use (module docstring).

    Returns
    -------
    list of ndarray
        ``dL/dW`` per layer, summed over the samples.
    """
    if backward_times not in ("received", "continuous"):
        raise ParameterError(f"backward_times must be 'received' or 'continuous', got "
                             f"{backward_times!r}.")
    if any(rec.n_before is None for rec in result.layers):
        raise ParameterError("backward_events needs simulate_events(..., record=True).")
    err = np.asarray(output_errors, dtype=float)
    if err.shape != result.layers[-1].times.shape:
        raise ShapeError(f"output_errors has shape {err.shape}; expected "
                         f"{result.layers[-1].times.shape} (samples, n_out, max_spikes).")
    grads = [None] * len(weights)
    continuous = backward_times == "continuous" and result.dt > 0
    for l in range(len(weights) - 1, -1, -1):
        rec = result.layers[l]
        pre_times = None
        if continuous:
            pre_times = result.layers[l - 1].times if l > 0 else result.input_times[:, :, None]
        grad, pre_err = _layer_backward(np.asarray(weights[l], float), rec, err, result.tau_s,
                                        result.thresholds[l], pre_times, need_pre=l > 0)
        grads[l] = grad
        if l > 0:
            prev = result.layers[l - 1]
            S, n_pre, K_pre = prev.times.shape
            flat = np.zeros((S, n_pre * K_pre))
            valid = np.isfinite(rec.in_times)
            rows = np.broadcast_to(np.arange(S)[:, None], valid.shape)
            flat[rows[valid], rec.in_slot[valid]] = pre_err[valid]
            err = flat.reshape(S, n_pre, K_pre)  # STE: d d(t)/dt = 1
    return grads
