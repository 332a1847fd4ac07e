"""The BATS forward and backward passes as one compiled event loop per sample (numba).

Same mathematics, same operation order as the numpy reference (:mod:`.events`, :mod:`.train`),
but each sample is simulated and differentiated on its own in machine code: no padding of the
batch to its longest event list, no ``(samples, events, n_post)`` temporaries, samples spread
over the CPU cores. Why numba rather than C++: the loops stay Python-readable next to the numpy
reference they are tested against, compile at first use without a build step or compiler
flags (cached on disk: ``cache=True``), and release the GIL for ``prange``.

Layout: the layers' weights are one flat array (layer ``l`` at ``w_offsets[l]``, row-major
``(n_pre, n_post)``), and so are the per-sample workspaces (spike slots of neuron ``j`` of layer
``l`` at ``spike_offsets[l] + j * K_l``). Samples are split into one contiguous chunk per thread,
each with its own gradient buffer; the buffers are summed at the end, so results are bitwise
reproducible for a given thread count and differ from the numpy reference (and across thread
counts) only by floating-point summation order and 1-ulp differences of ``exp``/``log``.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from .events import GRID_TOLERANCE

__all__ = ["adam_step", "run_batch"]

_OPTIONS = {"cache": True, "error_model": "numpy"}


@njit(**_OPTIONS)
def _discretise(t, dt):
    """Cojocaru's d(t), as :func:`brainconv.spiketime.events.discretise`, one value."""
    if dt == 0.0 or not np.isfinite(t):
        return t
    q = t / dt
    r = np.rint(q)
    k = r if abs(q - r) < GRID_TOLERANCE else np.floor(q)
    return (k + 1.0) * dt


@njit(**_OPTIONS)
def _collect_events(pre_times, n_pre, k_pre, dt, t_max, tau_s, ev_t, ev_src, ev_slot, ev_es,
                    ev_e1, scratch_t, scratch_slot):
    """Sort the passed-on times ``d(t) <= t_max`` of the previous layer into events.

    Ties keep the (neuron, spike) order, as the reference's stable argsort. Returns the count.
    """
    m = 0
    for slot in range(n_pre * k_pre):
        t = _discretise(pre_times[slot], dt)
        if np.isfinite(t) and t <= t_max:
            scratch_t[m] = t
            scratch_slot[m] = slot
            m += 1
    order = np.argsort(scratch_t[:m], kind="mergesort")
    tau = 2.0 * tau_s
    for e in range(m):
        t = scratch_t[order[e]]
        slot = scratch_slot[order[e]]
        ev_t[e] = t
        ev_slot[e] = slot
        ev_src[e] = slot // k_pre
        ev_es[e] = np.exp(t / tau_s)
        ev_e1[e] = np.exp(t / tau)
    return m


@njit(**_OPTIONS)
def _solve(j, A, B, c, tau, t_max, K, last, nxt, times, t0, counts, c0, a_k, x_k, p_k, e_k,
           b, e):
    """Emit neuron ``j``'s spikes before the next input: the reference's repeated solve."""
    while True:
        N = counts[c0 + j]
        disc = B * B - 4.0 * A * c
        x = np.sqrt(max(disc, 0.0))
        den = B + x
        inside = 2.0 * A / den
        t = tau * np.log(inside if inside > 0 else 1.0)
        if not (disc >= 0 and den != 0 and inside > 0 and t > last and t <= t_max
                and t <= nxt and N < K):
            return
        slot = t0 + j * K + N
        times[slot], a_k[slot], x_k[slot], p_k[slot], e_k[slot] = t, A, x, inside, e
        B -= c * inside
        b[j] = B
        counts[c0 + j] = N + 1
        last = t


@njit(**_OPTIONS)
def _forward_layer(W, w0, n_post, theta, tau_s, t_max, K, ev_t, ev_src, ev_es, ev_e1, n_ev,
                   times, t0, counts, c0, a_k, x_k, p_k, e_k, a, b, flag):
    """Closed-form spike times of one layer (the reference's ``_layer_forward``, per sample).

    After each event the currents are updated in one vectorisable pass; a neuron is solved for
    (with ``log``) only if its root can lie before the next event and ``t_max``:
    ``t = tau ln(inside) <= t_end`` iff ``inside <= exp(t_end / tau)``, tested with a margin of
    1e-12 that no rounding of the exact test reaches, so the spikes are the reference's.
    """
    tau = 2.0 * tau_s
    c = theta / tau
    for j in range(n_post):
        a[j] = 0.0
        b[j] = 0.0
        counts[c0 + j] = 0
    for i in range(n_post * K):
        times[t0 + i] = np.inf
    for e in range(n_ev):
        es, e1 = ev_es[e], ev_e1[e]
        nxt = ev_t[e + 1] if e + 1 < n_ev else np.inf
        bound = np.exp(min(nxt, t_max) / tau) * (1.0 + 1e-12)
        row = w0 + ev_src[e] * n_post
        for j in range(n_post):
            a[j] += W[row + j] * es
            b[j] += W[row + j] * e1
        for j in range(n_post):  # branch-free, so that it vectorises
            A, B = a[j], b[j]
            root = 2.0 * A / (B + np.sqrt(max(B * B - 4.0 * A * c, 0.0)))
            flag[j] = (A > 0) & (B > 0) & (B * B >= 4.0 * c * A) & (root <= bound)
        for j in range(n_post):
            if flag[j]:
                _solve(j, a[j], b[j], c, tau, t_max, K, ev_t[e], nxt, times, t0, counts, c0,
                       a_k, x_k, p_k, e_k, b, e)


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _event_error(W, row, cur_a, cur_b, scale_a, scale_b, n_post):
    """``sum_j w_ij (A_j exp_s / tau_s - B_j exp / tau)``: a sum whose order may change (SIMD)."""
    h = 0.0
    for j in range(n_post):
        h += W[row + j] * (cur_a[j] * scale_a - cur_b[j] * scale_b)
    return h


@njit(**_OPTIONS)
def _backward_layer(W, w0, grad, n_post, theta, tau_s, K, counts, c0, t0, a_k, x_k, p_k, e_k,
                    err, ev_src, bw_es, bw_e1, n_ev, pre_err, need_pre, rev, cur_a, cur_b,
                    n_before, at_start, at_neuron):
    """Weight gradient (added to ``grad``) and errors of the received events of one layer.

    ``err`` holds ``dL/dt_k`` of the layer's spikes on entry; the resets' errors are added in
    place. As the reference's ``_layer_backward``: ``rev[j, m]`` is ``sum_{k >= m} err_k f_k``
    and an event that arrived when neuron ``j`` had emitted ``m`` spikes reaches ``rev[j, m]``.
    Events are walked in order with ``cur = rev[j, n_before_j]`` per neuron, advanced for the
    neurons that spiked after the previous event, so the loop over neurons is dense.
    """
    tau = 2.0 * tau_s
    c = theta / tau
    for z in range(n_ev + 1):
        at_start[z] = 0
    for j in range(n_post):
        cnt = counts[c0 + j]
        n_before[j] = 0
        cur_a[j], cur_b[j] = 0.0, 0.0
        if cnt == 0:
            continue
        base = t0 + j * K
        cum = 0.0
        for k in range(cnt - 1, -1, -1):  # errors through the soft resets of later spikes
            err[base + k] += cum * p_k[base + k]
            if x_k[base + k] > 0:
                cum += err[base + k] * c / x_k[base + k]
        acc_a, acc_b = 0.0, 0.0
        r = j * (K + 1) * 2
        for k in range(K, cnt - 1, -1):
            rev[r + 2 * k] = 0.0
            rev[r + 2 * k + 1] = 0.0
        for k in range(cnt - 1, -1, -1):
            f1 = tau / a_k[base + k] * (1.0 + c * p_k[base + k] / x_k[base + k])
            f2 = tau / x_k[base + k]
            acc_a += err[base + k] * f1
            acc_b += err[base + k] * f2
            rev[r + 2 * k] = acc_a
            rev[r + 2 * k + 1] = acc_b
            at_start[e_k[base + k] + 1] += 1
        cur_a[j], cur_b[j] = rev[r], rev[r + 1]
    for z in range(n_ev):  # at_start: spikes emitted after each event, neuron by neuron
        at_start[z + 1] += at_start[z]
    for j in range(n_post):
        for k in range(counts[c0 + j]):
            e = e_k[t0 + j * K + k]
            at_neuron[at_start[e]] = j
            at_start[e] += 1
    for z in range(n_ev):
        if z > 0:  # the spikes emitted after event z - 1 no longer see event z
            for q in range(at_start[z - 2] if z > 1 else 0, at_start[z - 1]):
                j = at_neuron[q]
                n_before[j] += 1
                r = j * (K + 1) * 2 + 2 * n_before[j]
                cur_a[j], cur_b[j] = rev[r], rev[r + 1]
        es, e1 = bw_es[z], bw_e1[z]
        row = w0 + ev_src[z] * n_post
        for j in range(n_post):
            grad[row + j] += cur_a[j] * es - cur_b[j] * e1
        if need_pre:
            pre_err[z] = _event_error(W, row, cur_a, cur_b, es / tau_s, e1 / tau, n_post)


@njit(**_OPTIONS)
def _run_chunk(s0, s1, W, w_offsets, sizes, thresholds, max_spikes, x, labels, targets, tau_s,
               dt, t_max, continuous, train, keep_times, spike_offsets, neuron_offsets,
               event_offsets, grad, counts_out, times_out, loss):
    """Samples ``s0 .. s1 - 1``, one after the other, with one set of workspaces."""
    L = thresholds.shape[0]
    n_spk, n_evt = spike_offsets[L], event_offsets[L]
    times = np.empty(n_spk)
    a_k, x_k, p_k = np.zeros(n_spk), np.zeros(n_spk), np.zeros(n_spk)
    err = np.zeros(n_spk)
    e_k = np.zeros(n_spk, np.int64)
    counts = np.zeros(neuron_offsets[L], np.int64)
    ev_t, ev_es, ev_e1 = np.zeros(n_evt), np.zeros(n_evt), np.zeros(n_evt)
    bw_es, bw_e1, pre_err = np.zeros(n_evt), np.zeros(n_evt), np.zeros(n_evt)
    ev_src, ev_slot = np.zeros(n_evt, np.int64), np.zeros(n_evt, np.int64)
    n_ev = np.zeros(L, np.int64)
    widest, widest_events, deepest = 1, 1, 1
    for l in range(L):
        widest = max(widest, sizes[l + 1])
        widest_events = max(widest_events, event_offsets[l + 1] - event_offsets[l])
        deepest = max(deepest, sizes[l + 1] * (max_spikes[l] + 1) * 2)
    scratch_t = np.zeros(widest_events)
    scratch_slot = np.zeros(widest_events, np.int64)
    a, b = np.zeros(widest), np.zeros(widest)
    flag = np.zeros(widest, np.bool_)
    rev = np.zeros(deepest)
    cur_a, cur_b = np.zeros(widest), np.zeros(widest)
    n_before = np.zeros(widest, np.int64)
    at_start = np.zeros(widest_events + 1, np.int64)
    at_neuron = np.zeros(deepest // 2, np.int64)
    n_out = sizes[L]
    for s in range(s0, s1):
        for l in range(L):
            e0, t0, c0 = event_offsets[l], spike_offsets[l], neuron_offsets[l]
            if l == 0:
                pre, k_pre = x[s], 1
            else:
                pre, k_pre = times[spike_offsets[l - 1]:t0], max_spikes[l - 1]
            n_ev[l] = _collect_events(pre, sizes[l], k_pre, dt, t_max, tau_s, ev_t[e0:],
                                      ev_src[e0:], ev_slot[e0:], ev_es[e0:], ev_e1[e0:],
                                      scratch_t, scratch_slot)
            _forward_layer(W, w_offsets[l], sizes[l + 1], thresholds[l], tau_s, t_max,
                           max_spikes[l], ev_t[e0:], ev_src[e0:], ev_es[e0:], ev_e1[e0:],
                           n_ev[l], times, t0, counts, c0, a_k, x_k, p_k, e_k, a, b, flag)
        for i in range(neuron_offsets[L]):
            counts_out[s, i] = counts[i]
        if keep_times:
            for i in range(n_spk):
                times_out[s, i] = times[i]
        c0, t0, K = neuron_offsets[L - 1], spike_offsets[L - 1], max_spikes[L - 1]
        for j in range(n_out):  # BATS' count loss; y_j - n_j is dL/dt of every spike of j
            y = targets[0] if j == labels[s] else targets[1]
            diff = y - counts[c0 + j]
            loss[s] += 0.5 * diff * diff
            for k in range(K):
                err[t0 + j * K + k] = diff if k < counts[c0 + j] else 0.0
        if not train:
            continue
        for l in range(L - 1, -1, -1):
            e0, t0, c0 = event_offsets[l], spike_offsets[l], neuron_offsets[l]
            for z in range(n_ev[l]):
                if continuous and dt > 0:  # the presynaptic continuous times
                    slot = ev_slot[e0 + z]
                    t = x[s, slot] if l == 0 else times[spike_offsets[l - 1] + slot]
                    bw_es[e0 + z] = np.exp(t / tau_s)
                    bw_e1[e0 + z] = np.exp(t / (2.0 * tau_s))
                else:
                    bw_es[e0 + z] = ev_es[e0 + z]
                    bw_e1[e0 + z] = ev_e1[e0 + z]
            _backward_layer(W, w_offsets[l], grad, sizes[l + 1], thresholds[l], tau_s,
                            max_spikes[l], counts, c0, t0, a_k, x_k, p_k, e_k, err,
                            ev_src[e0:], bw_es[e0:], bw_e1[e0:], n_ev[l], pre_err[e0:],
                            l > 0, rev, cur_a, cur_b, n_before, at_start, at_neuron)
            if l > 0:  # straight-through: the error of d(t) is the error of t
                p0, k_pre = spike_offsets[l - 1], max_spikes[l - 1]
                for i in range(sizes[l] * k_pre):
                    err[p0 + i] = 0.0
                for z in range(n_ev[l]):
                    err[p0 + ev_slot[e0 + z]] = pre_err[e0 + z]


@njit(parallel=True, **_OPTIONS)
def _run_batch(W, w_offsets, sizes, thresholds, max_spikes, x, labels, targets, tau_s, dt,
               t_max, continuous, train, keep_times, n_chunks):
    S = x.shape[0]
    L = thresholds.shape[0]
    spike_offsets = np.zeros(L + 1, np.int64)
    neuron_offsets = np.zeros(L + 1, np.int64)
    event_offsets = np.zeros(L + 1, np.int64)
    for l in range(L):
        spike_offsets[l + 1] = spike_offsets[l] + sizes[l + 1] * max_spikes[l]
        neuron_offsets[l + 1] = neuron_offsets[l] + sizes[l + 1]
        k_pre = 1 if l == 0 else max_spikes[l - 1]
        event_offsets[l + 1] = event_offsets[l] + sizes[l] * k_pre
    grads = np.zeros((n_chunks, W.shape[0] if train else 1))
    counts_out = np.zeros((S, neuron_offsets[L]), np.int64)
    times_out = np.full((S if keep_times else 1, spike_offsets[L]), np.inf)
    loss = np.zeros(S)
    for chunk in prange(n_chunks):
        _run_chunk(chunk * S // n_chunks, (chunk + 1) * S // n_chunks, W, w_offsets, sizes,
                   thresholds, max_spikes, x, labels, targets, tau_s, dt, t_max, continuous,
                   train, keep_times, spike_offsets, neuron_offsets, event_offsets,
                   grads[chunk], counts_out, times_out, loss)
    return grads, counts_out, times_out, loss, spike_offsets, neuron_offsets


def run_batch(weights, thresholds, max_spikes, x, labels, targets, tau_s, dt, t_max,
              continuous=False, train=True, keep_times=False):
    """Forward (and backward) pass of a batch on all cores.

    Parameters
    ----------
    weights : list of ndarray
        ``(n_pre, n_post)`` per layer, float64.
    thresholds, max_spikes : sequence
        One per layer.
    x : ndarray, (samples, n_inputs)
        Input spike times in s (``np.inf`` for none).
    labels : ndarray of int
        Classes for the loss (any ints when only predicting).
    targets : (float, float)
    tau_s, dt, t_max : float
        Seconds.
    continuous : bool
        ``backward_times="continuous"`` of the reference.
    train : bool
        Run the backward pass.
    keep_times : bool
        Return every layer's spike times (for tests).

    Returns
    -------
    dict
        ``grads`` (list per layer, summed over samples; None without ``train``), ``counts``
        (list per layer of ``(samples, n)`` ints), ``loss`` (samples,), ``times`` (list per
        layer of ``(samples, n, K)``; only with ``keep_times``).
    """
    W = np.concatenate([np.ascontiguousarray(w, dtype=np.float64).ravel() for w in weights])
    sizes = np.array([weights[0].shape[0]] + [w.shape[1] for w in weights], np.int64)
    w_offsets = np.concatenate([[0], np.cumsum([w.size for w in weights])]).astype(np.int64)
    ks = np.array(max_spikes, np.int64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    n_chunks = max(1, min(len(x), get_num_threads()))
    grads, counts, times, loss, spike_offsets, neuron_offsets = _run_batch(
        W, w_offsets, sizes, np.array(thresholds, np.float64), ks, x,
        np.ascontiguousarray(labels, dtype=np.int64), np.array(targets, np.float64),
        float(tau_s), float(dt), float(t_max), bool(continuous), bool(train),
        bool(keep_times), n_chunks)
    out = {"loss": loss, "grads": None,
           "counts": [counts[:, neuron_offsets[l]:neuron_offsets[l + 1]]
                      for l in range(len(weights))]}
    if train:
        total = grads.sum(axis=0)
        out["grads"] = [total[w_offsets[l]:w_offsets[l + 1]].reshape(w.shape)
                        for l, w in enumerate(weights)]
    if keep_times:
        out["times"] = [times[:, spike_offsets[l]:spike_offsets[l + 1]].reshape(
            len(x), sizes[l + 1], ks[l]) for l in range(len(weights))]
    return out


@njit(**_OPTIONS)
def _adam_layer(W, g, m, v, n, lr, beta1, beta2, eps, bias1, bias2):
    flat_w, flat_g, flat_m, flat_v = W.ravel(), g.ravel(), m.ravel(), v.ravel()
    for i in range(flat_w.shape[0]):
        gi = flat_g[i] / n
        flat_m[i] = flat_m[i] * beta1 + (1 - beta1) * gi
        flat_v[i] = flat_v[i] * beta2 + (1 - beta2) * gi * gi
        m_hat = flat_m[i] / bias1
        v_hat = flat_v[i] / bias2
        flat_w[i] -= lr * m_hat / (np.sqrt(v_hat) + eps)


def adam_step(weights, grads, m, v, step, lr, n, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam in place, element by element as the numpy expressions (one pass, no temporaries)."""
    for W, g, m_l, v_l in zip(weights, grads, m, v):
        _adam_layer(W, g, m_l, v_l, float(n), float(lr), beta1, beta2, eps,
                    1 - beta1 ** step, 1 - beta2 ** step)
