"""LIF and soft-LIF rate curves (Hunsberger & Eliasmith 2016, §2.1; Nengo ``SoftLIFRate``).

numpy only. A LIF neuron ``tau_rc dv/dt = J - v`` with threshold 1, reset to 0 and a
refractory period ``tau_ref`` fires, for a constant input current ``J``, at

    r(J) = 1 / (tau_ref + tau_rc * log1p(1 / (J - 1)))    for J > 1, else 0      (Hz)

Its derivative is unbounded at ``J = 1``. The soft-LIF rate replaces the excess current
``rho(y) = max(y, 0)``, ``y = J - 1``, by the smooth ``rho_gamma(y) = gamma * log1p(exp(y /
gamma))``, which tends to ``max(y, 0)`` as ``gamma -> 0`` and has a bounded derivative::

    j     = gamma * softplus(y / gamma)
    r     = amp / (tau_ref + tau_rc * log1p(1 / j))
    dr/dJ = tau_rc * r**2 / (amp * j * (j + 1)) * logistic(y / gamma)

(``nengo_extras.neurons.SoftLIFRate`` and ``SoftLifOperator`` / ``SoftLifGradientOperator`` in
Hunsberger's ``cuda-convnet2``, where Nengo's ``sigma`` is the paper's ``gamma``). ``amp``
scales the rate in Hz to a dimensionless ANN activation (0.063 s in the authors' MNIST
network); with ``amp = 1`` the functions return Hz. Times are in seconds.

The soft-LIF ANN activation takes the ANN pre-activation ``x`` with the threshold offset folded
into the bias: ``y = gain * x``, i.e. the spiking neuron that replaces it receives
``J = gain * x + 1`` (:func:`softlif_activation`). Far below threshold the soft rate decays
only like ``amp / (tau_rc * |y| / gamma)``, never to exactly 0.
"""

from __future__ import annotations

import math

import numpy as np

from brainconv.errors import ParameterError

__all__ = [
    "TAU_RC",
    "TAU_REF",
    "GAMMA",
    "AMP",
    "lif_rate",
    "lif_rate_derivative",
    "softlif_rate",
    "softlif_rate_derivative",
    "softlif_activation",
    "softlif_activation_derivative",
    "check_rate_parameters",
    "T_LOW",
]

#: Defaults of Hunsberger's MNIST network (``cuda-convnet2`` ``layers-mnist-lif.cfg``):
#: membrane time constant and refractory period (s), smoothing, rate-to-activation scale (s).
TAU_RC, TAU_REF, GAMMA, AMP = 0.022, 0.002, 0.02, 0.063

# Below t = y / gamma = -20, softplus(t) = exp(t) to float64 precision; there the formulas are
# rewritten in logs so that exp(t) never underflows (nengo_dl's SoftLIFRateBuilder does the same).
T_LOW = -20.0


def _as_float(a) -> np.ndarray:
    """``a`` as a float array; float32 stays float32 (training runs in float32)."""
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _log_terms(y: np.ndarray, gamma: float):
    """``(j, log1p(1/j), logistic(t) / softplus(t))`` for ``t = y / gamma``, underflow-free."""
    t = y / gamma
    low = t < T_LOW
    ts = np.where(low, np.asarray(T_LOW, t.dtype), t)  # the direct branch never sees tiny t
    softplus = np.maximum(ts, 0) + np.log1p(np.exp(-np.abs(ts)))
    j_direct = gamma * softplus
    # log1p(1/j) = log1p(j) - log(j); for t < -20, j = gamma * exp(t) so log(j) = log(gamma) + t.
    j = np.where(low, gamma * np.exp(np.minimum(t, T_LOW)), j_direct)
    log_term = np.where(low, np.log1p(j) - math.log(gamma) - t, np.log1p(1 / j_direct))
    logistic = 1 / (1 + np.exp(-ts))
    ratio = np.where(low, np.ones((), t.dtype), logistic / softplus)  # logistic/softplus -> 1
    return j, log_term, ratio


def check_rate_parameters(**values) -> list[float]:
    """Validate the parameters and return them as Python floats, in the order given.

    Python floats (not numpy scalars) keep float32 arrays float32 under NEP 50 promotion.
    ``tau_ref`` may be 0; every other parameter must be > 0.
    """
    out = []
    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        low_ok = number >= 0 if name == "tau_ref" else number > 0
        if isinstance(value, (bool, np.bool_)) or not (np.isfinite(number) and low_ok):
            bound = ">= 0" if name == "tau_ref" else "> 0"
            raise ParameterError(
                f"LIF rate parameter {name} must be a finite number {bound}, got {value!r}"
            )
        out.append(number)
    return out


def softlif_rate(J, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF, gamma: float = GAMMA,
                 amp: float = 1.0) -> np.ndarray:
    """Soft-LIF rate of a neuron with input current ``J`` (threshold 1), times ``amp``.

    Parameters
    ----------
    J : array_like
        Input current (dimensionless; the neuron fires for ``J > 1`` in the hard limit).
    tau_rc, tau_ref : float
        Membrane time constant and refractory period, in seconds.
    gamma : float
        Smoothing (> 0); ``gamma -> 0`` gives :func:`lif_rate`.
    amp : float
        Output scale; 1 gives Hz, 0.063 (s) Hunsberger's dimensionless activation.

    Returns
    -------
    ndarray
        ``amp / (tau_ref + tau_rc * log1p(1 / j))`` with ``j = gamma * softplus((J - 1) /
        gamma)``, in ``J``'s float dtype (float64 for integer input).
    """
    tau_rc, tau_ref, gamma, amp = check_rate_parameters(tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma, amp=amp)
    J = _as_float(J)
    return _softlif_y(J - 1, tau_rc, tau_ref, gamma, amp)


def softlif_rate_derivative(J, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF,
                            gamma: float = GAMMA, amp: float = 1.0) -> np.ndarray:
    """``d softlif_rate / dJ`` (same parameters as :func:`softlif_rate`).

    Returns
    -------
    ndarray
        ``tau_rc * r**2 / (amp * j * (j + 1)) * logistic((J - 1) / gamma)``; bounded for every
        ``gamma > 0`` (its maximum grows as ``gamma`` shrinks).
    """
    tau_rc, tau_ref, gamma, amp = check_rate_parameters(tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma, amp=amp)
    J = _as_float(J)
    return _softlif_y_derivative(J - 1, tau_rc, tau_ref, gamma, amp)


def _softlif_y(y, tau_rc, tau_ref, gamma, amp):
    """Soft-LIF rate as a function of the excess current ``y = J - 1``."""
    _, log_term, _ = _log_terms(y, gamma)
    return amp / (tau_ref + tau_rc * log_term)


def _softlif_y_derivative(y, tau_rc, tau_ref, gamma, amp):
    """``dr/dy`` (= ``dr/dJ``) of :func:`_softlif_y`, written so no factor overflows."""
    j, log_term, ratio = _log_terms(y, gamma)
    r = amp / (tau_ref + tau_rc * log_term)
    # logistic(t) / j = ratio / gamma: stays finite where j underflows far below threshold.
    return tau_rc * r * r / (amp * (j + 1)) * (ratio / gamma)


def softlif_activation(x, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF,
                       gamma: float = GAMMA, amp: float = AMP, gain: float = 1.0,
                       sigma: float = 0.0) -> np.ndarray:
    """The soft-LIF ANN activation of pre-activation ``x``: :func:`softlif_rate` at ``gain*x + 1``.

    The threshold offset is folded into the ANN bias, so ``y = gain * x`` is the excess current
    (``cuda-convnet2``'s ``SoftLifOperator``) and the spiking neuron gets ``J = gain * x + 1``.

    Parameters
    ----------
    x : array_like
        Pre-activation ``a_prev @ W + b``.
    tau_rc, tau_ref, gamma, amp : float
        As in :func:`softlif_rate`; ``amp`` defaults to Hunsberger's 0.063 s here.
    gain : float
        Input gain (> 0).
    sigma : float
        Training noise in Hz; ignored here (the noise-free rate), accepted so that an
        activation's full parameter set can be passed. :func:`brainconv.ann.train_ann` adds it.

    Returns
    -------
    ndarray
        ``amp * r`` in ``x``'s float dtype.
    """
    tau_rc, tau_ref, gamma, amp, gain = check_rate_parameters(
        tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma, amp=amp, gain=gain)
    x = _as_float(x)
    return _softlif_y(gain * x, tau_rc, tau_ref, gamma, amp)


def softlif_activation_derivative(x, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF,
                                  gamma: float = GAMMA, amp: float = AMP, gain: float = 1.0,
                                  sigma: float = 0.0) -> np.ndarray:
    """``d softlif_activation / dx = gain * dr/dJ`` at ``J = gain * x + 1`` (noise-free)."""
    tau_rc, tau_ref, gamma, amp, gain = check_rate_parameters(
        tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma, amp=amp, gain=gain)
    x = _as_float(x)
    return gain * _softlif_y_derivative(gain * x, tau_rc, tau_ref, gamma, amp)


def lif_rate(J, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF,
             amp: float = 1.0) -> np.ndarray:
    """Steady firing rate of a LIF neuron (threshold 1, reset 0) for constant current ``J``.

    Parameters
    ----------
    J : array_like
        Input current.
    tau_rc, tau_ref : float
        Membrane time constant and refractory period, in seconds.
    amp : float
        Output scale; 1 gives Hz.

    Returns
    -------
    ndarray
        ``amp / (tau_ref + tau_rc * log1p(1 / (J - 1)))`` for ``J > 1``, 0 for ``J <= 1``
        (Hunsberger & Eliasmith eq. 2). E.g. 231.6 Hz at ``J = 10`` with the defaults.
    """
    tau_rc, tau_ref, amp = check_rate_parameters(tau_rc=tau_rc, tau_ref=tau_ref, amp=amp)
    J = _as_float(J)
    above = J > 1
    excess = np.where(above, J - 1, np.ones((), J.dtype))  # dummy 1 below: no 1/0 warning
    rate = amp / (tau_ref + tau_rc * np.log1p(1 / excess))
    return np.where(above, rate, np.zeros((), J.dtype))


def lif_rate_derivative(J, tau_rc: float = TAU_RC, tau_ref: float = TAU_REF,
                        amp: float = 1.0) -> np.ndarray:
    """``d lif_rate / dJ = tau_rc * r**2 / (amp * (J - 1) * J)`` for ``J > 1``, else 0.

    Unbounded as ``J -> 1+`` (the reason for the soft-LIF).
    """
    tau_rc, tau_ref, amp = check_rate_parameters(tau_rc=tau_rc, tau_ref=tau_ref, amp=amp)
    J = _as_float(J)
    above = J > 1
    excess = np.where(above, J - 1, np.ones((), J.dtype))
    r = amp / (tau_ref + tau_rc * np.log1p(1 / excess))
    return np.where(above, tau_rc * r * r / (amp * excess * (excess + 1)),
                    np.zeros((), J.dtype))
