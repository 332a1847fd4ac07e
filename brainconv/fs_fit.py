"""Fit few-spike (FS) neuron coefficients ``h, d, T`` to an activation function (numpy only).

Stöckl & Maass (2021) fit the K per-step thresholds ``T``, reset amounts ``h`` and output
weights ``d`` of an FS neuron (:mod:`brainconv.equations.fs`) by gradient descent through the
K-step loop, with a surrogate gradient for the spike: the official ``find_coeffs.py``
(``christophstoeckl/FS-neurons`` @ ``9d16b75``) scales the potential as ``v_s = (v - T) /
(|v| + 1)``, spikes where ``v_s > 0`` and uses ``dz/dv_s = max(0, 1 - |v_s|)``; the loss is the
mean squared error on a grid of inputs plus ``c * v_reg``, ``v_reg = sum_t mean(max(|v_s| -
1, 0))**2`` (``c`` about 0.1), optimised by Adam from many random restarts (init ``h ~ U(-1,
0)``, ``d ~ U(-0.5, 1)``, ``T ~ U(-1, 1)``). :func:`fit_fs` does the same with a hand-written
backward pass: seeded restarts, Adam with a learning rate decaying from ``lr`` to
``lr / 100``, optionally started from the exact FS-ReLU code, and the best restart (by plain MSE, measured with the forward loop that the
spiking neuron runs, ``v >= T``) returned.

The published searches ran 100 generations of at least 5000 iterations on 10^5 points; the
defaults here are far smaller (seconds). What they reach is reported in the README.
"""

from dataclasses import dataclass

import numpy as np

from .equations.fs import fs_transfer, relu_coefficients
from .errors import ParameterError

__all__ = ["FitResult", "fit_fs"]


@dataclass(frozen=True)
class FitResult:
    """Fitted coefficients and how the fit went.

    ``T, h, d`` (float64, length K) plug into :func:`brainconv.equations.fs.make_fs`;
    ``mse`` is the mean squared error of the spiking neuron (``v >= T``) on the fit grid;
    ``initial_loss`` and ``final_loss`` the training loss (MSE + ``c * v_reg``) of the best
    restart before its first and after its last step; ``history`` its loss every step.
    """

    T: np.ndarray
    h: np.ndarray
    d: np.ndarray
    mse: float
    initial_loss: float
    final_loss: float
    history: np.ndarray
    mean_spikes: float


def _forward_backward(x, y, T, h, d, c):
    """Loss and its gradients (surrogate) for coefficients ``T, h, d`` on inputs ``x``."""
    n, K = len(x), len(T)
    v = x.copy()
    out = np.zeros(n)
    vs_all, v_all, z_all, den_all = [], [], [], []
    reg = 0.0
    reg_terms = []
    for t in range(K):
        den = np.abs(v) + 1.0
        vs = (v - T[t]) / den
        z = (vs > 0).astype(float)
        excess = np.maximum(np.abs(vs) - 1.0, 0.0)
        m = excess.mean()
        reg += m * m
        reg_terms.append(m)
        v_all.append(v)
        vs_all.append(vs)
        z_all.append(z)
        den_all.append(den)
        out = out + z * d[t]
        v = v - z * h[t]
    error = out - y
    mse = float(np.mean(error * error))
    loss = mse + c * reg
    g_out = 2.0 * error / n
    gT, gh, gd = np.zeros(K), np.zeros(K), np.zeros(K)
    gv = np.zeros(n)  # dL/dv_{t+1}
    for t in range(K - 1, -1, -1):
        v, vs, z, den = v_all[t], vs_all[t], z_all[t], den_all[t]
        gd[t] = np.dot(g_out, z)
        gh[t] = -np.dot(gv, z)
        gz = g_out * d[t] - gv * h[t]
        gvs = gz * np.maximum(0.0, 1.0 - np.abs(vs))
        gvs = gvs + c * 2.0 * reg_terms[t] / n * np.sign(vs) * (np.abs(vs) > 1.0)
        gT[t] = -np.sum(gvs / den)
        gv = gv + gvs * (1.0 / den - (v - T[t]) * np.sign(v) / (den * den))
    return loss, mse, gT, gh, gd


def fit_fs(function, K, x_range, n_points=1000, iterations=3000, restarts=1, lr=0.02,
           v_reg=0.0, seed=0, init="random"):
    """Fit FS coefficients to ``function`` on ``x_range`` by surrogate-gradient descent.

    Parameters
    ----------
    function : callable
        The activation, numpy in and out (e.g. :func:`brainconv.equations.fs.swish`).
    K : int
        Steps (spikes at most) per neuron.
    x_range : (float, float)
        Inputs to fit on: ``n_points`` evenly spaced.
    n_points, iterations, restarts : int
    lr : float
        Adam's initial learning rate (cosine decay to ``lr / 100``).
    v_reg : float
        Weight ``c`` of the potential regulariser of the official code (0, the default: none;
        with 0.1 the swish fit below stalled at MSE 0.010).
    seed : int
        Seeds every random draw (initial values of each restart).
    init : "random", "relu" or (T, h, d)
        First restart's start: random (the official ranges), the exact FS-ReLU code
        ``alpha 2^-t`` with ``alpha`` the power of two above ``max(|x|)`` (good for ReLU-like
        functions such as swish), or given coefficients; later restarts are random.

    Returns
    -------
    FitResult
    """
    if isinstance(K, bool) or not float(K).is_integer() or K < 1:
        raise ParameterError(f"K must be an integer >= 1, got {K!r}")
    lo, hi = (float(v) for v in x_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ParameterError(f"x_range must be (low, high) with low < high, got {x_range!r}")
    for name, value in (("n_points", n_points), ("iterations", iterations),
                        ("restarts", restarts)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    K = int(K)
    x = np.linspace(lo, hi, int(n_points))
    y = np.asarray(function(x), dtype=np.float64)
    rng = np.random.default_rng(seed)
    best = None
    for restart in range(int(restarts)):
        if restart == 0 and isinstance(init, str) and init == "relu":
            alpha = 2.0 ** np.ceil(np.log2(max(abs(lo), abs(hi), 1.0)))
            params = list(relu_coefficients(K, alpha))
        elif restart == 0 and not isinstance(init, str):
            params = [np.array(a, dtype=np.float64) for a in init]
        elif isinstance(init, str) and init not in ("random", "relu"):
            raise ParameterError(f"init must be 'random', 'relu' or (T, h, d), got {init!r}")
        else:
            params = [rng.uniform(-1, 1, K), rng.uniform(-1, 0, K), rng.uniform(-0.5, 1, K)]
        m = [np.zeros(K) for _ in range(3)]
        s = [np.zeros(K) for _ in range(3)]
        history = np.zeros(int(iterations) + 1)
        b1, b2, eps = 0.9, 0.999, 1e-8
        for it in range(int(iterations) + 1):
            loss, _, *grads = _forward_backward(x, y, *params, v_reg)
            history[it] = loss
            if it == iterations:
                break
            rate = lr * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * it / iterations)))
            for p, g, mi, si in zip(params, grads, m, s):
                mi *= b1
                mi += (1 - b1) * g
                si *= b2
                si += (1 - b2) * g * g
                p -= rate * (mi / (1 - b1 ** (it + 1))) / (
                    np.sqrt(si / (1 - b2 ** (it + 1))) + eps)
        T, h, d = params
        out, spikes = fs_transfer(x, T, h, d, return_spikes=True)
        mse = float(np.mean((out - y) ** 2))
        if best is None or mse < best.mse:
            best = FitResult(T.copy(), h.copy(), d.copy(), mse, float(history[0]),
                             float(history[-1]), history, float(spikes.mean()))
    return best
