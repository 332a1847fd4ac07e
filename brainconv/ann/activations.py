"""The hidden-layer activations an ANN is trained with, their gradients and parameters.

An :class:`ANN` is a stack of dense layers ``a_l = f(a_{l-1} @ W_l + b_l)``; the last layer
is linear (its pre-activations are the class scores). This is the network family that
rate-based ANN→SNN conversion maps onto integrate-and-fire neurons: hidden activations become
firing rates, biases become constant input currents.

The hidden activation ``f`` is ReLU by default. Think Fast §3.4 ("custom gradients") trains
each spiking paradigm's ANN with that paradigm's own transfer function and gradient; those are
the entries of :data:`ACTIVATIONS` (``V_in`` is the pre-activation ``z``, ``R`` the leak rate
constant, ``R = 1`` non-leaky, and ``V_th`` the threshold, ``v_th`` here)::

    "relu"         f = max(z, 0)                        f' = 1 if z > 0       eq. 10
                   if_soft / if_hard rate neurons, ION, LEN
    "rate"         f = z / R      (z >= v_th, else 0)   f' = 1 / R            eq. 11 / 12
                   (leaky) rate-coded LIF neurons
    "accumulator"  f = z**2 / (2R) (z >= v_th, else 0)  f' = z / R            eq. 14 / 13
                   (leaky) accumulator neurons

With the defaults ``R = 1, v_th = 0``, ``"rate"`` is exactly ReLU.

Hunsberger & Eliasmith (2016) train with the soft-LIF rate of a LIF neuron instead
(:mod:`brainconv.softlif`; times in seconds, ``y = gain * z`` the excess current, so the
spiking neuron that replaces a unit gets ``J = gain * z + 1``)::

    "softlif"      f = amp / (tau_ref + tau_rc log1p(1/j)),  j = gamma softplus(y / gamma)
                   f' = gain tau_rc f**2 / (amp j (j+1)) logistic(y / gamma)
                   LIF neurons with tau_rc / tau_ref (Nengo SoftLIFRate)

with parameters ``tau_rc`` (0.022 s), ``tau_ref`` (0.002 s), ``gamma`` (0.02), ``amp``
(0.063 s), ``gain`` (1) and ``sigma`` (training noise in Hz, 0): while training, and only
then, :func:`train_ann` adds ``amp * N(0, sigma)`` to the rates of units above threshold
(``y > 0``) and clips them at 0.

The activation and its parameters travel with the network (:attr:`ANN.activation`,
:attr:`ANN.activation_params`): :meth:`ANN.forward` applies them and :func:`save_ann` stores
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from brainconv.errors import ParameterError
from brainconv.softlif import softlif_activation, softlif_activation_derivative

__all__ = ["Activation", "ACTIVATIONS", "normalize_activation_params"]


def _where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where ``mask``, else 0, in ``values``' dtype (float32 stays float32)."""
    return np.where(mask, values, np.zeros((), values.dtype))


def _relu(z: np.ndarray) -> np.ndarray:
    """ReLU, ``max(z, 0)``: the transfer function whose gradient is Think Fast eq. 10."""
    return np.maximum(z, np.zeros((), z.dtype))


def _relu_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Think Fast eq. 10 with ``V_th = 0``: 1 where ``z > 0``, else 0 (0 at the kink itself)."""
    return (z > 0).astype(z.dtype)


def _rate(z: np.ndarray, R: float = 1.0, v_th: float = 0.0) -> np.ndarray:
    """Think Fast eq. 11 with ``t = 1``: firing rate ``z / R`` where ``z >= v_th``, else 0."""
    return _where(z >= v_th, z / R)


def _rate_grad(z: np.ndarray, a: np.ndarray, R: float = 1.0, v_th: float = 0.0) -> np.ndarray:
    """Think Fast eq. 12 with ``t = 1``: ``1 / R`` where ``z >= v_th``, else 0."""
    return (z >= v_th).astype(z.dtype) / R


def _accumulator(z: np.ndarray, R: float = 1.0, v_th: float = 0.0) -> np.ndarray:
    """Think Fast eq. 14: spikes per step ``z**2 / (2 R)`` where ``z >= v_th``, else 0."""
    return _where(z >= v_th, z * z / (2.0 * R))


def _accumulator_grad(
    z: np.ndarray, a: np.ndarray, R: float = 1.0, v_th: float = 0.0
) -> np.ndarray:
    """Think Fast eq. 13: ``z / R`` where ``z >= v_th``, else 0."""
    return _where(z >= v_th, z / R)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow (``exp`` of ``-|z|`` only), in ``z``'s dtype."""
    e = np.exp(-np.abs(z))
    one = np.ones((), z.dtype)
    return np.where(z >= 0, one / (one + e), e / (one + e))


def _swish(z: np.ndarray) -> np.ndarray:
    """Swish (SiLU), ``z * sigmoid(z)``: the activation of Stöckl & Maass's EfficientNet."""
    return z * _sigmoid(z)


def _swish_grad(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``d(z sigmoid(z))/dz = s + z s (1 - s) = s (1 + z (1 - s))``, ``s = sigmoid(z)``."""
    one = np.ones((), z.dtype)
    s = _sigmoid(z)
    return s * (one + z * (one - s))


def _softlif_grad(z: np.ndarray, a: np.ndarray, **params) -> np.ndarray:
    """Soft-LIF gradient from the pre-activation ``z`` alone.

    ``a`` is ignored on purpose: during training it carries the noise, and the gradient is that
    of the noise-free rate (the noise is an input-independent perturbation, as in
    ``cuda-convnet2``'s separate noise and gradient operators).
    """
    return softlif_activation_derivative(z, **params)


def _softlif_noise(z: np.ndarray, a: np.ndarray, rng: np.random.Generator, *, amp: float,
                   gain: float, sigma: float, **_) -> np.ndarray:
    """Hunsberger & Eliasmith's training noise: ``amp * N(0, sigma)`` (Hz) above threshold.

    Units whose excess current ``y = gain * z`` is not positive stay noise-free; the noisy rate
    is clipped at 0 (``cuda-convnet2`` ``SoftLifOperator``). One normal draw per element,
    whether used or not, so the stream does not depend on which units are above threshold.
    """
    if sigma == 0:
        return a
    noise = rng.standard_normal(a.shape, dtype=a.dtype)
    noise *= amp * sigma
    noisy = np.where(gain * z > 0, a + noise, a)
    return np.maximum(noisy, np.zeros((), a.dtype), out=noisy)


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation: transfer function, its gradient and its parameters.

    Attributes
    ----------
    name : str
        Key in :data:`ACTIVATIONS`.
    f : callable
        ``f(z, **params) -> a``, elementwise; returns a new array of ``z``'s dtype.
    df : callable
        ``df(z, a, **params) -> da/dz`` with ``a = f(z, **params)``, elementwise, same dtype.
    defaults : tuple of (str, float)
        Every parameter the activation takes with its default value, sorted by name.
    learning_rate : float
        Base of :func:`train_ann`'s default initial learning rate, which is this times ``R``
        (see :meth:`default_learning_rate`).
    equations : str
        The Think Fast equations ``f`` and ``df`` implement.
    models : str
        The brainconv neuron models a network trained with it is meant to be converted to.
    noise : callable or None
        ``noise(z, a, rng, **params) -> a_noisy``, applied by :func:`train_ann` after ``f``
        during training only (never in :meth:`ANN.forward`); None for a noise-free activation.
    """

    name: str
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]
    defaults: tuple[tuple[str, float], ...]
    learning_rate: float
    equations: str
    models: str
    noise: Callable[..., np.ndarray] | None = None

    def default_learning_rate(self, params=None) -> float:
        """:func:`train_ann`'s default learning rate: ``learning_rate * R`` (``R`` = 1 if absent).

        ``R`` divides both the hidden output and its gradient, so with plain SGD a leaky network
        would learn about ``R`` times slower at the same step size (Think Fast's ``R = 10``
        rate code reaches only 89 % on sklearn digits at 0.05 instead of 98 % at 0.5).
        """
        return self.learning_rate * dict(normalize_activation_params(self.name, params)).get(
            "R", 1.0
        )


#: Hidden activations, name -> :class:`Activation`. ``R`` (the leak rate constant, ``>= 1``;
#: 1 is non-leaky, Think Fast's leaky neurons use 10) and ``v_th`` (the threshold, ``>= 0``)
#: follow Think Fast §3.4. Default learning rate of :func:`train_ann`: ``0.05 * R`` for these
#: three (``R = 1`` for ReLU). The accumulator's quadratic output ``z**2 / (2R)`` and growing
#: gradient ``z / R`` feed back on each other: it trains stably at ``0.05 * R`` on MNIST and
#: sklearn digits, but ten times higher its hidden units die (57 % on digits where ReLU still
#: gets 98 %), and far higher it overflows, which :func:`train_ann` reports as a
#: ParameterError at the first non-finite batch loss. ``"softlif"`` (Hunsberger & Eliasmith
#: 2016) takes times in seconds and ``sigma`` in Hz; its default learning rate 0.05 gives 98 %
#: on sklearn digits in 20 epochs (0.1 too; at 0.5 it falls to 86 %, 58 % with sigma = 10).
ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation(
        name="relu",
        f=_relu,
        df=_relu_grad,
        defaults=(),
        learning_rate=0.05,
        equations="a = max(z, 0); da/dz = 1 if z > 0 else 0 (eq. 10 with V_th = 0)",
        models="if_soft and if_hard rate neurons, ION (interfering offset neurons), LEN",
    ),
    "rate": Activation(
        name="rate",
        f=_rate,
        df=_rate_grad,
        defaults=(("R", 1.0), ("v_th", 0.0)),
        learning_rate=0.05,
        equations="a = z / R (eq. 11), da/dz = 1 / R (eq. 12), t = 1; both 0 below v_th",
        models="leaky (R > 1) or non-leaky (R = 1) rate-coded LIF/IF neurons",
    ),
    "accumulator": Activation(
        name="accumulator",
        f=_accumulator,
        df=_accumulator_grad,
        defaults=(("R", 1.0), ("v_th", 0.0)),
        learning_rate=0.05,
        equations="a = z**2 / (2 R) (eq. 14), da/dz = z / R (eq. 13); both 0 below v_th",
        models="accumulator neurons (several spikes per step), leaky (R > 1) or not (R = 1)",
    ),
    "swish": Activation(
        name="swish",
        f=_swish,
        df=_swish_grad,
        defaults=(),
        learning_rate=0.05,
        equations="a = z sigmoid(z); da/dz = s (1 + z (1 - s)), s = sigmoid(z)",
        models="few-spike swish neurons, fs_swish (Stöckl & Maass 2021), output layer fs_relu",
    ),
    "softlif": Activation(
        name="softlif",
        f=softlif_activation,
        df=_softlif_grad,
        defaults=(("amp", 0.063), ("gain", 1.0), ("gamma", 0.02), ("sigma", 0.0),
                  ("tau_rc", 0.022), ("tau_ref", 0.002)),
        learning_rate=0.05,
        equations=(
            "a = amp / (tau_ref + tau_rc log1p(1/j)), j = gamma softplus(gain z / gamma); "
            "da/dz = gain tau_rc a^2 / (amp j (j+1)) logistic(gain z / gamma) "
            "(Hunsberger & Eliasmith 2016 §2.1, Nengo SoftLIFRate); training noise "
            "amp N(0, sigma) Hz above threshold"
        ),
        models="LIF neurons with tau_rc, tau_ref and J = gain z + 1 (Hunsberger & Eliasmith)",
        noise=_softlif_noise,
    ),
}


def _get_activation(name) -> Activation:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ParameterError(
            f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}"
        )
    return ACTIVATIONS[name]


def normalize_activation_params(name: str, params=None) -> tuple[tuple[str, float], ...]:
    """Validate the parameters of activation ``name`` and fill in the defaults.

    Parameters
    ----------
    name : str
        A key of :data:`ACTIVATIONS`.
    params : mapping or iterable of (str, number) pairs, optional
        Parameters to set, e.g. ``{"R": 10}``; the others keep their defaults.

    Returns
    -------
    tuple of (str, float)
        Every parameter of the activation, sorted by name, e.g.
        ``(("R", 10.0), ("v_th", 0.0))``; ``()`` for ``"relu"``.

    Raises
    ------
    ParameterError
        For an unknown activation or parameter name, a value that is not a finite real number,
        ``R < 1`` or ``v_th < 0``.
    """
    act = _get_activation(name)
    if params is None:
        params = ()
    try:
        given = dict(params.items() if hasattr(params, "items") else params)
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"activation_params must be a mapping or (name, value) pairs, got {params!r}"
        ) from exc
    values = dict(act.defaults)
    unknown = sorted(str(k) for k in given if k not in values)
    if unknown:
        allowed = ", ".join(values) if values else "none"
        raise ParameterError(
            f"activation {name!r} has no parameter(s) {unknown}; its parameters are: {allowed}"
        )
    for key, value in given.items():
        real = (int, float, np.integer, np.floating)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, real):
            raise ParameterError(
                f"activation parameter {key} must be a real number, got {value!r}"
            )
        value = float(value)
        if not np.isfinite(value):
            raise ParameterError(f"activation parameter {key} must be finite, got {value}")
        values[key] = value
    if "R" in values and values["R"] < 1:
        raise ParameterError(
            f"R must be >= 1 (the leak rate constant: 1 is non-leaky, Think Fast's leaky "
            f"neurons use 10), got R={values['R']}"
        )
    if "v_th" in values and values["v_th"] < 0:
        raise ParameterError(
            f"v_th must be >= 0 (below the threshold the neuron is silent; a negative one "
            f"would give negative rates), got v_th={values['v_th']}"
        )
    _check_softlif_params(name, values)
    return tuple(sorted(values.items()))


#: Soft-LIF parameters that must be > 0, and those that may also be 0.
_SOFTLIF_POSITIVE = ("amp", "gain", "gamma", "tau_rc")
_SOFTLIF_NONNEGATIVE = ("sigma", "tau_ref")


def _check_softlif_params(name: str, values: dict) -> None:
    for key in _SOFTLIF_POSITIVE + _SOFTLIF_NONNEGATIVE:
        if key not in values:
            continue
        value = values[key]
        if key in _SOFTLIF_POSITIVE and value <= 0:
            raise ParameterError(
                f"activation {name!r}: {key} must be > 0, got {key}={value}; the defaults are "
                f"{dict(ACTIVATIONS[name].defaults)}"
            )
        if value < 0:
            raise ParameterError(
                f"activation {name!r}: {key} must be >= 0, got {key}={value}"
            )
    for key in ("tau_rc", "tau_ref"):
        # Seconds, as in Hunsberger's code; 22 means 22 ms written in the wrong unit.
        if key in values and values[key] > 1:
            raise ParameterError(
                f"activation {name!r}: {key} is in seconds, got {key}={values[key]} (over 1 s); "
                f"write {values[key] / 1000:g} for {values[key]:g} ms"
            )
