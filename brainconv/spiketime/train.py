"""BATS training (Bacho & Chu 2023) of event-driven CuBa-LIF networks in numpy.

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
Per-sample gradients are averaged over the batch and fed to Adam (0.9, 0.999, 1e-8).

With ``dt > 0`` (Cojocaru 2024) the forward pass passes on ``d(t)``; the backward pass treats
``d`` as the identity (straight-through estimator, eq. 15-16): the error of a received time is
the error of the presynaptic neuron's continuous spike time, whose own factors (``a_k, x_k,
t_k``) are continuous. ``backward_times`` picks which presynaptic times enter the sums above:
``"received"`` (default: the ``d(t)`` the neuron integrated, so the gradient is exact up to the
STE) or ``"continuous"`` (the presynaptic continuous times, the other reading of "the
non-discretized spike times are utilized to compute the gradients").
"""

import time

import numpy as np
import scipy.sparse

from ..errors import ParameterError, ShapeError
from .events import seconds, simulate_events

__all__ = ["backward_events", "count_loss", "predict", "train_bats"]

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


def _check_training_inputs(x_times, labels, n_classes):
    x = np.asarray(x_times, dtype=float)
    y = np.asarray(labels)
    if x.ndim != 2:
        raise ShapeError(f"x_times must be (samples, n_inputs), got shape {x.shape}.")
    if y.shape != (len(x),):
        raise ShapeError(f"labels must be ({len(x)},) to match x_times, got {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer) or (y < 0).any() or (y >= n_classes).any():
        raise ParameterError(f"labels must be ints in [0, {n_classes}), got dtype {y.dtype}, "
                             f"range [{y.min()}, {y.max()}].")
    return x, y


def train_bats(x_times, labels, hidden=(800,), thresholds=(0.2, 1.3), tau_s=0.13, dt=0.0,
               epochs=1, batch_size=50, lr=0.003, seed=0, max_spikes=30, t_max=0.2,
               targets=(15, 3), n_classes=None, init_range=1.0, weights=None,
               backward_times="received", progress=None):
    """Train a CuBa-LIF network with BATS' spike-count loss, exact gradients and Adam.

    Parameters
    ----------
    x_times : ndarray, (samples, n_inputs)
        Input spike times (e.g. :func:`ttfs_encode`), ``np.inf`` for none.
    labels : ndarray of int, (samples,)
    hidden : tuple of int
        Hidden layer sizes.
    thresholds : tuple of float
        One per layer, hidden then output (BATS MNIST: 0.2, 1.3).
    tau_s, dt, t_max, max_spikes
        As in :func:`simulate_events`: times as numbers of seconds or Brian2 times.
    epochs, batch_size, lr : int, int, float
    seed : int
        Seeds the weight init and the shuffling.
    targets : (float, float)
        Target counts, true class and others.
    n_classes : int, optional
        Output size; default ``max(labels) + 1``.
    init_range : float
        Initial weights ``U(-init_range, init_range)``; BATS uses 1 (784 inputs). Small
        toy inputs need larger weights to make the outputs spike at all: a silent output
        gets no gradient.
    weights : list of ndarray, optional
        Start from these (copied) instead of the random init.
    backward_times : "received" or "continuous"
        See :func:`backward_events`.
    progress : callable, optional
        Called as ``progress(epoch, batch, loss, accuracy)`` after each batch.

    Returns
    -------
    weights : list of ndarray
    history : dict
        Per batch ``"epoch"``, ``"loss"`` (mean over the batch, before the update) and
        ``"accuracy"``; ``"seconds"`` and ``"samples_per_s"`` of the whole run.
    """
    tau_s, dt, t_max = seconds("tau_s", tau_s), seconds("dt", dt), seconds("t_max", t_max)
    labels_arr = np.asarray(labels)
    if labels_arr.size == 0:
        raise ParameterError("train_bats got 0 training samples: the random initial weights "
                             "would come back as trained; give x_times and labels of at least "
                             "one sample")
    n_classes = int(labels_arr.max()) + 1 if n_classes is None else int(n_classes)
    x, y = _check_training_inputs(x_times, labels_arr, n_classes)
    sizes = [x.shape[1], *(int(h) for h in hidden), n_classes]
    if len(thresholds) != len(sizes) - 1:
        raise ParameterError(f"thresholds needs one value per layer ({len(sizes) - 1}: hidden "
                             f"{tuple(hidden)} then output), got {tuple(thresholds)}.")
    if not (int(batch_size) >= 1 and int(epochs) >= 0 and 0 < lr < np.inf):
        raise ParameterError(f"need batch_size >= 1, epochs >= 0, a finite lr > 0; got "
                             f"{batch_size}, {epochs}, {lr}.")
    rng = np.random.default_rng(seed)
    if weights is None:
        weights = [rng.uniform(-init_range, init_range, size=(a, b))
                   for a, b in zip(sizes[:-1], sizes[1:])]
    else:
        weights = [np.array(W, dtype=float) for W in weights]
    m = [np.zeros_like(W) for W in weights]
    v = [np.zeros_like(W) for W in weights]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    history = {"epoch": [], "loss": [], "accuracy": []}
    step, start = 0, time.perf_counter()
    for epoch in range(int(epochs)):
        order = rng.permutation(len(x))
        for b0 in range(0, len(x), int(batch_size)):
            idx = order[b0:b0 + int(batch_size)]
            res = simulate_events(weights, thresholds, x[idx], tau_s=tau_s, dt=dt, t_max=t_max,
                                  max_spikes=max_spikes)
            out = res.layers[-1]
            loss, err = count_loss(out.counts, y[idx], targets)
            out_err = np.where(np.isfinite(out.times), err[:, :, None], 0.0)
            grads = backward_events(res, weights, out_err, backward_times)
            step += 1
            for W, g, m_l, v_l in zip(weights, grads, m, v):
                g = g / len(idx)
                m_l *= beta1
                m_l += (1 - beta1) * g
                v_l *= beta2
                v_l += (1 - beta2) * g * g
                m_hat = m_l / (1 - beta1 ** step)
                v_hat = v_l / (1 - beta2 ** step)
                W -= lr * m_hat / (np.sqrt(v_hat) + eps)
            acc = float(np.mean(np.argmax(out.counts, axis=1) == y[idx]))
            history["epoch"].append(epoch)
            history["loss"].append(float(loss.mean()))
            history["accuracy"].append(acc)
            if progress is not None:
                progress(epoch, b0 // int(batch_size), float(loss.mean()), acc)
    elapsed = time.perf_counter() - start
    history = {key: np.asarray(val) for key, val in history.items()}
    history["seconds"] = elapsed
    history["samples_per_s"] = len(x) * int(epochs) / elapsed if elapsed > 0 else np.nan
    return weights, history


def predict(weights, x_times, thresholds=(0.2, 1.3), tau_s=0.13, dt=0.0, t_max=0.2,
            max_spikes=30, batch_size=100):
    """Class = argmax of the output spike counts (ties to the lowest index, as ``cp.argmax``).

    Returns
    -------
    labels : ndarray of int, (samples,)
    counts : ndarray of int, (samples, n_out)
    """
    x = np.asarray(x_times, dtype=float)
    counts = []
    for b0 in range(0, len(x), int(batch_size)):
        res = simulate_events(weights, thresholds, x[b0:b0 + int(batch_size)], tau_s=tau_s,
                              dt=dt, t_max=t_max, max_spikes=max_spikes, record=False)
        counts.append(res.counts)
    counts = np.concatenate(counts) if counts else np.zeros((0, weights[-1].shape[1]), int)
    return np.argmax(counts, axis=1), counts
