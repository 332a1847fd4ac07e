"""A small fully connected network (the ANN side of the conversion) and its trainer.

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

File format
-----------
:func:`save_ann` writes, and :func:`load_ann` reads, a NumPy ``.npz`` archive (as produced by
``numpy.savez``; no pickled objects) with these arrays, for an ``L``-layer network::

    format_version   integer scalar, 2 or 3 (version 1 files are still read)
    W0, W1, ..., W{L-1}   weights, float, shape (n_in, n_out)   -- input @ W, NOT (n_out, n_in)
    b0, b1, ..., b{L-1}   biases, float, shape (n_out,)
    activation               string scalar, a key of ACTIVATIONS, e.g. "rate"   (version >= 2)
    activation_param_names   1-D string array, e.g. ["R", "v_th"]               (version >= 2,
    activation_param_values  1-D float array of the same length, e.g. [10., 0.]  optional)

(a soft-LIF network stores ``activation="softlif"`` and the names ``amp, gain, gamma, sigma,
tau_rc, tau_ref``; ``sigma`` is kept although the trained network's forward pass is noise-free.)

A layer whose weights are sparse (a convolution, see :mod:`brainconv.torch_import`) is stored,
instead of ``W{l}``, as the four arrays of its CSR matrix (version 3 only)::

    W{l}_data      float, the stored entries, shape (nnz,)
    W{l}_indices   integer, the column (output unit) of each entry, shape (nnz,)
    W{l}_indptr    integer, row (input unit) ``i`` holds entries indptr[i]:indptr[i+1],
                   shape (n_in + 1,)
    W{l}_shape     integer, (n_in, n_out)

i.e. ``scipy.sparse.csr_matrix((data, indices, indptr), shape=shape)``, the same ``(n_in,
n_out)`` orientation as a dense ``W{l}``. Dense and sparse layers may be mixed.

Layer ``l`` computes ``a_l = f(a_{l-1} @ W_l + b_l)`` and the last layer has no activation, so
``W{l}.shape[1] == W{l+1}.shape[0]``. ``save_ann`` writes version 3 when some layer is sparse
and version 2 otherwise (so an all-dense file stays readable by older brainconv releases, and
an older release rejects a sparse file by its version instead of misreading it); it always
writes all three activation keys (every parameter of the activation, defaults included). In a
hand-written version 2 or 3 file the two ``activation_param_*`` keys may be left out together,
which gives the activation's default parameters. A version 1 file has no ``activation*`` keys
and is read as a ReLU network. A network trained elsewhere can be brought in by writing this
file; for example, from a PyTorch ``nn.Linear`` (whose ``weight`` is ``(n_out, n_in)``)::

    np.savez("net.npz", format_version=2, activation="relu",
             W0=lin0.weight.detach().numpy().T, b0=lin0.bias.detach().numpy(),
             W1=lin1.weight.detach().numpy().T, b1=lin1.bias.detach().numpy())

or, for a PyTorch ``nn.Sequential`` of ``Conv2d``/``Linear``/``ReLU``/``AvgPool2d``/... layers,
with :func:`brainconv.torch_import.from_torch` (needs PyTorch installed).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from brainconv.errors import DataError, ParameterError, ShapeError, require_numbers
from brainconv.softlif import softlif_activation, softlif_activation_derivative

__all__ = [
    "ANN",
    "Activation",
    "ACTIVATIONS",
    "FORMAT_VERSION",
    "normalize_activation_params",
    "load_ann",
    "save_ann",
    "train_ann",
]

#: Newest ``.npz`` format version :func:`load_ann` reads; :func:`save_ann` writes it only when
#: a layer is sparse (see the module docstring).
FORMAT_VERSION = 3

# --------------------------------------------------------------------------------------------
# Activations (Think Fast §3.4, custom gradients)
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, eq=False)  # eq=False: tuple-of-arrays equality would be ambiguous
class ANN:
    """A trained feed-forward network (ReLU hidden layers unless ``activation`` says otherwise).

    Parameters
    ----------
    weights : tuple of ndarray or scipy.sparse matrix
        One ``(n_in, n_out)`` matrix per layer; layer ``l`` computes ``a_prev @ weights[l]``.
        A layer may be dense (an ndarray, a fully connected layer) or any ``scipy.sparse``
        matrix or array (e.g. a convolution, see :mod:`brainconv.torch_import`); sparse layers
        are stored as ``scipy.sparse.csr_matrix``.
    biases : tuple of ndarray
        One ``(n_out,)`` vector per layer.
    activation : str, optional
        Hidden-layer activation, a key of :data:`ACTIVATIONS`: ``"relu"`` (default),
        ``"rate"``, ``"accumulator"`` or ``"softlif"``. The output layer is always linear.
    activation_params : mapping or tuple of (str, number) pairs, optional
        The activation's parameters, e.g. ``{"R": 10}``. Stored as the full, sorted tuple of
        ``(name, float)`` pairs with defaults filled in (see
        :func:`normalize_activation_params`), so
        ``ANN(..., activation="rate").activation_params == (("R", 1.0), ("v_th", 0.0))``.

    Raises
    ------
    ShapeError
        If there is no layer, a weight is not 2-D, a bias is not 1-D, consecutive layers do not
        chain, or a bias length differs from its layer's output width.
    ParameterError
        If any weight or bias is NaN or infinite, the activation is unknown or its parameters
        are invalid (e.g. ``R < 1``).

    Notes
    -----
    The arrays are copied to read-only, C-contiguous float64 so that a converted spiking network
    can never silently disagree with the ANN it came from. A sparse layer is copied to a
    float64 ``csr_matrix`` in canonical form (sorted indices, duplicates summed) whose ``data``,
    ``indices`` and ``indptr`` are read-only; entries stored as explicit zeros are kept (they
    are part of a convolution's structure). Only stored entries are checked for NaN and inf.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activation: str = "relu"
    activation_params: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        params = normalize_activation_params(self.activation, self.activation_params)
        object.__setattr__(self, "activation_params", params)
        weights = tuple(_frozen_weight(w) for w in self.weights)
        biases = tuple(_frozen_float64(b) for b in self.biases)
        if len(weights) == 0:
            raise ShapeError("ANN needs at least one layer; got an empty weights tuple")
        if len(weights) != len(biases):
            raise ShapeError(
                f"ANN has {len(weights)} weight matrices but {len(biases)} bias vectors; "
                "give exactly one bias vector per layer"
            )
        for l, (w, b) in enumerate(zip(weights, biases)):
            if w.ndim != 2:
                raise ShapeError(
                    f"layer {l}: weights must be 2-D (n_in, n_out), got shape {w.shape}"
                )
            if b.ndim != 1:
                raise ShapeError(f"layer {l}: bias must be 1-D (n_out,), got shape {b.shape}")
            if b.shape[0] != w.shape[1]:
                raise ShapeError(
                    f"layer {l}: bias has length {b.shape[0]} but weights {w.shape} have "
                    f"{w.shape[1]} outputs; the bias length must equal W.shape[1]"
                )
            for name, arr in (("weights", w.data if scipy.sparse.issparse(w) else w),
                              ("bias", b)):
                n_nan = int(np.count_nonzero(np.isnan(arr)))
                n_inf = int(np.count_nonzero(np.isinf(arr)))
                if n_nan or n_inf:
                    raise ParameterError(
                        f"layer {l}: {name} contain {n_nan + n_inf} non-finite entries "
                        f"({n_nan} NaN, {n_inf} inf); the network must be retrained or repaired"
                    )
        for l in range(len(weights) - 1):
            w, w_next = weights[l], weights[l + 1]
            if w.shape[1] != w_next.shape[0]:
                raise ShapeError(
                    f"layers {l} and {l + 1} do not chain: weights {l} have shape {w.shape} "
                    f"({w.shape[1]} outputs) but weights {l + 1} have shape {w_next.shape} "
                    f"({w_next.shape[0]} inputs); weights are (n_in, n_out) - transpose "
                    "matrices stored as (n_out, n_in)"
                )
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "biases", biases)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Widths ``(input, hidden..., output)``."""
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @property
    def n_layers(self) -> int:
        """Number of weight layers (input layer not counted)."""
        return len(self.weights)

    @property
    def activation_kwargs(self) -> dict[str, float]:
        """:attr:`activation_params` as a dict, e.g. ``{"R": 10.0, "v_th": 0.0}``."""
        return dict(self.activation_params)

    def forward(self, x: np.ndarray, all_layers: bool = False):
        """Run the network on a batch.

        Parameters
        ----------
        x : ndarray, shape (N, n_in)
            Input batch.
        all_layers : bool, optional
            If True return every layer's output, not just the last.

        Returns
        -------
        ndarray or list of ndarray
            The ``(N, n_out)`` class scores (pre-activation of the last layer), or, with
            ``all_layers=True``, a list of ``n_layers`` arrays: the activation outputs of each
            hidden layer (ReLU, rate, accumulator or noise-free soft-LIF, see
            :attr:`activation`) followed by the class scores.

        Raises
        ------
        ShapeError
            If ``x`` is not 2-D with ``n_in`` columns.
        """
        a = np.asarray(x, dtype=np.float64)
        n_in = self.layer_sizes[0]
        if a.ndim != 2 or a.shape[1] != n_in:
            raise ShapeError(
                f"input must have shape (N, {n_in}), got {a.shape}; "
                "flatten images to rows, e.g. x.reshape(len(x), -1)"
            )
        f, params = ACTIVATIONS[self.activation].f, self.activation_kwargs
        outs = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            a = np.asarray(a @ w) + b  # asarray: ``@`` with a sparse matrix may not give ndarray
            if l < self.n_layers - 1:
                a = f(a, **params)
            outs.append(a)
        return outs if all_layers else outs[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted class (argmax of the scores) for each row of ``x``."""
        return np.argmax(self.forward(x), axis=1)

    def digest_parts(self) -> tuple:
        """What identifies this network by content (for :func:`brainconv.cache.digest`):
        layer count, each layer's weights and bias, the activation and its parameters."""
        layers = tuple(part for weights, bias in zip(self.weights, self.biases)
                       for part in (weights, np.asarray(bias)))
        return (len(self.weights), *layers, str(self.activation), tuple(self.activation_params))

    def accuracy(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Return the fraction of rows of ``x`` whose predicted class equals ``labels``.

        Raises
        ------
        ShapeError
            If ``labels`` is not 1-D with one entry per row of ``x``.
        """
        labels = np.asarray(labels)
        pred = self.predict(x)
        if labels.shape != pred.shape:
            raise ShapeError(
                f"labels must have shape {pred.shape} (one per input row), got {labels.shape}"
            )
        return float(np.mean(pred == labels))


def _frozen_float64(a) -> np.ndarray:
    arr = np.array(require_numbers(a, "ANN weights and biases"), dtype=np.float64, order="C",
                   copy=True)
    arr.setflags(write=False)
    return arr


def _frozen_weight(w):
    """A dense weight as :func:`_frozen_float64`; a sparse one as a read-only float64 CSR copy.

    A sparse input that is not 2-D (scipy's 1-D sparse arrays) is returned unchanged so that
    the shape check in :class:`ANN` rejects it with the usual message.
    """
    if not scipy.sparse.issparse(w):
        return _frozen_float64(w)
    if w.ndim != 2:
        return w
    csr = scipy.sparse.csr_matrix(w, dtype=np.float64, copy=True)
    csr.sum_duplicates()  # canonical form: nothing below ever needs to sort it in place
    for arr in (csr.data, csr.indices, csr.indptr):
        arr.setflags(write=False)
    return csr


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def train_ann(
    images: np.ndarray,
    labels: np.ndarray,
    hidden: Sequence[int] = (500,),
    epochs: int = 20,
    learning_rate: float | None = None,
    momentum: float = 0.9,
    batch_size: int = 64,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: Callable[[int, int, float, float], None] | None = None,
    activation: str = "relu",
    n_classes: int | None = None,
    activation_params=None,
    biases: bool = True,
) -> ANN:
    """Train a dense network with softmax cross-entropy and SGD with momentum.

    The hidden layers use ``activation`` and back-propagate through its own gradient (Think
    Fast §3.4, custom gradients): ``"relu"`` (eq. 10), ``"rate"`` (eq. 11 / 12),
    ``"accumulator"`` (eq. 14 / 13) or ``"softlif"`` (Hunsberger & Eliasmith 2016); see
    :data:`ACTIVATIONS`. The returned network carries the activation and its parameters, so its
    :meth:`ANN.forward` is the function that was trained (without the training noise).

    With ``activation="softlif"`` and ``sigma > 0`` each hidden rate above threshold gets
    Gaussian noise ``amp * N(0, sigma)`` (sigma in Hz) in every training forward pass, then is
    clipped at 0; the gradient is that of the noise-free rate.

    Weights are He-initialised and the data are shuffled each epoch, both from
    ``np.random.default_rng(seed)``, and the training noise comes from a child stream of the
    same generator (``Generator.spawn``), so a seed fully determines the result. The learning rate
    follows a cosine decay from ``learning_rate`` to 0 over the epochs. Computation is in float32
    (BLAS matrix products); the returned network is float64.

    Parameters
    ----------
    images : ndarray, shape (N, n_in)
        Training inputs, e.g. pixels scaled to [0, 1].
    labels : ndarray of int, shape (N,)
        Class indices in ``0 .. n_classes - 1``.
    hidden : sequence of int, optional
        Hidden layer widths; ``()`` gives a linear (softmax-regression) model.
    epochs : int, optional
        Passes over the training data.
    learning_rate : float, optional
        Initial learning rate; default ``0.05 * R`` (0.05 for ``"relu"`` and for ``R = 1``,
        0.5 for Think Fast's leaky ``R = 10``; 0.05 for ``"softlif"``, 98 % on sklearn
        digits in 20 epochs), see :meth:`Activation.default_learning_rate`.
    momentum : float, optional
        Momentum coefficient in ``[0, 1)``.
    batch_size : int, optional
        Mini-batch size.
    weight_decay : float, optional
        L2 penalty coefficient on the weights (not the biases).
    biases : bool, optional
        False trains a bias-free network (all biases stay 0), as spike-norm conversion
        (Sengupta et al. 2019, ``normalization="spike_norm"``) requires.
    seed : int, optional
        Seed for initialisation and shuffling.
    progress : callable, optional
        Called after every epoch as ``progress(epoch, epochs, loss, train_acc)`` with the 1-based
        epoch, the mean training loss and the training accuracy seen during that epoch.
    activation : str, optional
        Hidden activation, a key of :data:`ACTIVATIONS`.
    n_classes : int, optional
        Number of classes; default ``labels.max() + 1``.
    activation_params : mapping or iterable of (str, number) pairs, optional
        Parameters of ``activation``, e.g. ``{"R": 10}`` for a leaky rate code or
        ``{"sigma": 10}`` for soft-LIF with training noise; unset ones take their defaults
        (``R = 1``, ``v_th = 0``; soft-LIF: see :data:`ACTIVATIONS`). See
        :func:`normalize_activation_params`.

    Returns
    -------
    ANN
        The trained network.

    Raises
    ------
    ShapeError
        If ``images`` is not a dense 2-D array (a ``scipy.sparse`` matrix is refused: this
        trains dense layers) or ``labels`` does not have one entry per image.
    ParameterError
        If a hyper-parameter is out of range, the activation is unknown or its parameters are
        invalid (e.g. ``R < 1``), the inputs are not finite, the labels are not integers in
        ``0 .. n_classes - 1``, or training diverges.
    """
    params = normalize_activation_params(activation, activation_params)
    spec = ACTIVATIONS[activation]
    act, act_grad, noise, kwargs = spec.f, spec.df, spec.noise, dict(params)
    if learning_rate is None:
        learning_rate = spec.default_learning_rate(params)
    x_all, y_all, n_classes = _check_training_data(images, labels, n_classes)
    hidden = tuple(hidden)
    _check_hyperparameters(hidden, epochs, learning_rate, momentum, batch_size, weight_decay)
    hidden, epochs, batch_size = tuple(int(h) for h in hidden), int(epochs), int(batch_size)

    rng = np.random.default_rng(seed)
    # A child stream for the training noise: drawing it leaves initialisation and shuffling
    # (from ``rng``) unchanged, so sigma = 0 and sigma > 0 start from the same weights.
    noise_rng = rng.spawn(1)[0]
    sizes = (x_all.shape[1],) + hidden + (n_classes,)
    # He initialisation keeps ReLU activations at a stable scale through depth.
    ws = [
        (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    bs = [np.zeros(n_out, np.float32) for n_out in sizes[1:]]
    vw = [np.zeros_like(w) for w in ws]
    vb = [np.zeros_like(b) for b in bs]
    n = len(x_all)
    n_layers = len(ws)

    for epoch in range(epochs):
        # Cosine decay: large steps early, fine convergence at the end, no extra knobs.
        lr = np.float32(learning_rate * 0.5 * (1.0 + np.cos(np.pi * epoch / epochs)))
        order = rng.permutation(n)
        loss_sum, n_correct = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = x_all[idx], y_all[idx]
            rows = np.arange(len(idx))
            acts, zs = [xb], []  # layer inputs/outputs, hidden pre-activations
            for l in range(n_layers):
                z = acts[-1] @ ws[l]
                z += bs[l]
                if l < n_layers - 1:
                    zs.append(z)
                    z = act(z, **kwargs)
                    if noise is not None:
                        z = noise(zs[-1], z, noise_rng, **kwargs)
                acts.append(z)
            scores = acts[-1]
            n_correct += int(np.count_nonzero(scores.argmax(axis=1) == yb))
            # Softmax cross-entropy, shifted by the row max for numerical stability.
            scores -= scores.max(axis=1, keepdims=True)
            # Clip at -30 (softmax changes < 1e-12): guards against exp() giving float32
            # subnormals if the net becomes very confident (e.g. weight_decay=0); subnormals
            # make the BLAS products many times slower.
            np.maximum(scores, -30.0, out=scores)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            batch_loss = -float(np.sum(np.log(probs[rows, yb] + 1e-30)))
            if not np.isfinite(batch_loss):
                # Checked per batch: once a score overflows, every later step is NaN anyway.
                raise ParameterError(
                    f"training diverged at epoch {epoch + 1}, batch at sample {start} (loss "
                    f"{batch_loss}); lower learning_rate (now {learning_rate})"
                )
            loss_sum += batch_loss
            delta = probs
            delta[rows, yb] -= 1.0
            delta /= len(idx)
            for l in range(n_layers - 1, -1, -1):
                grad_w = acts[l].T @ delta
                grad_b = delta.sum(axis=0)
                if l > 0:
                    delta = (delta @ ws[l].T) * act_grad(zs[l - 1], acts[l], **kwargs)
                grad_w += weight_decay * ws[l]
                # PyTorch-style momentum: v = m v + g; w -= lr v.
                vw[l] *= momentum
                vw[l] += grad_w
                vb[l] *= momentum
                vb[l] += grad_b
                ws[l] -= lr * vw[l]
                if biases:
                    bs[l] -= lr * vb[l]
        loss = loss_sum / n
        if not np.isfinite(loss):
            raise ParameterError(
                f"training diverged at epoch {epoch + 1} (loss {loss}); lower learning_rate "
                f"(now {learning_rate})"
            )
        if progress is not None:
            progress(epoch + 1, epochs, loss, n_correct / n)

    return ANN(
        weights=tuple(ws), biases=tuple(bs), activation=activation, activation_params=params
    )


def _check_training_data(images, labels, n_classes):
    if scipy.sparse.issparse(images):
        raise ShapeError(
            "train_ann needs dense images (it trains dense layers); convert a sparse matrix "
            "with images.toarray()"
        )
    x = np.asarray(images)
    if x.ndim != 2:
        raise ShapeError(
            f"images must be 2-D (N, n_in), got shape {x.shape}; flatten with "
            "images.reshape(len(images), -1)"
        )
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ParameterError(
            f"images contain {int(np.count_nonzero(~np.isfinite(x)))} NaN or inf values"
        )
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ShapeError(
            f"labels must have shape ({len(x)},) (one per image), got {y.shape}"
        )
    if len(y) == 0:
        raise ShapeError("cannot train on an empty dataset (0 images)")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y))):
            raise ParameterError(f"labels must be integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n_classes is None:
        n_classes = int(y.max()) + 1
    if int(n_classes) < 2:
        raise ParameterError(f"need at least 2 classes, got n_classes={n_classes}")
    bad = (y < 0) | (y >= n_classes)
    if np.any(bad):
        raise ParameterError(
            f"{int(np.count_nonzero(bad))} labels are outside 0..{n_classes - 1} "
            f"(min {int(y.min())}, max {int(y.max())})"
        )
    return x, y, int(n_classes)


def _check_hyperparameters(hidden, epochs, learning_rate, momentum, batch_size, weight_decay):
    if any(int(h) != h or h < 1 for h in hidden):
        raise ParameterError(f"hidden widths must be positive integers, got {hidden}")
    if int(epochs) != epochs or epochs < 1:
        raise ParameterError(f"epochs must be an integer >= 1, got {epochs}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ParameterError(f"learning_rate must be > 0, got {learning_rate}")
    if not 0 <= momentum < 1:
        raise ParameterError(f"momentum must be in [0, 1), got {momentum}")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size}")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ParameterError(f"weight_decay must be >= 0, got {weight_decay}")


# --------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------


def save_ann(ann: ANN, path: str | os.PathLike) -> None:
    """Write ``ann`` to ``path`` in the ``.npz`` format described in the module docstring.

    Dense layers are stored as ``W{l}``, sparse ones as ``W{l}_data``, ``W{l}_indices``,
    ``W{l}_indptr`` and ``W{l}_shape`` (CSR). The file is format version 3 if some layer is
    sparse and version 2 otherwise. It is written to a temporary file in the same directory and
    then renamed over ``path``, so a crash never leaves a half-written network behind; the file
    gets the mode of a newly created file (``0666`` less the umask, e.g. ``0644``). ``path``
    is used exactly as given (no ``.npz`` suffix is appended).
    """
    path = os.fspath(path)
    names = [name for name, _ in ann.activation_params]
    any_sparse = any(scipy.sparse.issparse(w) for w in ann.weights)
    arrays = {
        "format_version": np.array(FORMAT_VERSION if any_sparse else 2),
        "activation": np.array(ann.activation, dtype=np.str_),
        # dtype given explicitly so that an empty list (relu) is still a string array.
        "activation_param_names": np.array(names, dtype="<U32" if not names else np.str_),
        "activation_param_values": np.array(
            [value for _, value in ann.activation_params], dtype=np.float64
        ),
    }
    for l, (w, b) in enumerate(zip(ann.weights, ann.biases)):
        if scipy.sparse.issparse(w):
            arrays[f"W{l}_data"] = w.data
            arrays[f"W{l}_indices"] = w.indices
            arrays[f"W{l}_indptr"] = w.indptr
            arrays[f"W{l}_shape"] = np.array(w.shape, dtype=np.int64)
        else:
            arrays[f"W{l}"] = w
        arrays[f"b{l}"] = b
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        # mkstemp creates the file with mode 0600; give it a normal file's mode (umask applies).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_ann(path: str | os.PathLike) -> ANN:
    """Read a network written by :func:`save_ann` (or by hand, see the module docstring).

    Version 2 and 3 files carry the hidden activation and its parameters; version 1 files
    (written before activations were stored) are read as ReLU networks. Version 3 files may
    hold sparse (CSR) layers, which load as ``scipy.sparse.csr_matrix``.

    Raises
    ------
    DataError
        If the file is missing or unreadable, lacks ``format_version``/``W0``/a bias/(version
        2 and 3) ``activation``, has a gap in the layer numbering, malformed activation keys,
        sparse-layer keys that are incomplete, given together with ``W{l}``, found in a file
        older than version 3, or do not form a valid CSR matrix, or an unsupported
        ``format_version``.
    ShapeError, ParameterError
        If the stored arrays do not form a valid :class:`ANN` (including an unknown activation
        or invalid activation parameters).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"ANN file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile/pickle/OS errors all mean "not a readable npz"
        raise DataError(f"ANN file {path!r} is not a readable .npz archive: {exc}") from exc

    if "format_version" not in data:
        raise DataError(
            f"ANN file {path!r} is missing key 'format_version' (expected {FORMAT_VERSION})"
        )
    version = data["format_version"]
    if (
        version.shape != ()
        or not np.issubdtype(version.dtype, np.integer)
        or not 1 <= int(version) <= FORMAT_VERSION
    ):
        raise DataError(
            f"ANN file {path!r} has format_version {version!r}; this brainconv reads "
            f"versions 1 to {FORMAT_VERSION}"
        )
    version = int(version)
    activation, params = _read_activation(data, version, path)
    n_layers = 0
    while f"W{n_layers}" in data or f"W{n_layers}_data" in data:
        n_layers += 1
    if n_layers == 0:
        raise DataError(f"ANN file {path!r} is missing key 'W0' (no layers found)")
    expected = {"format_version"} | set(_ACTIVATION_KEYS if version >= 2 else ())
    weights = []
    for l in range(n_layers):
        if f"b{l}" not in data:
            raise DataError(f"ANN file {path!r} is missing key 'b{l}' (bias of layer {l})")
        expected.add(f"b{l}")
        if f"W{l}" in data:
            expected.add(f"W{l}")
            weights.append(data[f"W{l}"])
        else:
            keys = [f"W{l}{suffix}" for suffix in _SPARSE_SUFFIXES]
            expected.update(keys)
            weights.append(_read_sparse(data, l, version, path))
    extra = sorted(set(data) - expected)
    if extra:
        both = [f"W{l}" for l in range(n_layers)
                if f"W{l}" in data and any(f"W{l}{x}" in data for x in _SPARSE_SUFFIXES)]
        hint = (f"; layer(s) {both} are stored both dense (W{{l}}) and sparse "
                "(W{l}_data, ...): keep one") if both else ""
        raise DataError(
            f"ANN file {path!r} has unexpected keys {extra} after {n_layers} layers; "
            f"layers must be numbered W0..W{{L-1}}, b0..b{{L-1}} without gaps{hint}"
        )
    weights = tuple(weights)
    biases = tuple(data[f"b{l}"] for l in range(n_layers))
    try:
        return ANN(
            weights=weights, biases=biases, activation=activation, activation_params=params
        )
    except (ShapeError, ParameterError) as exc:
        raise type(exc)(f"ANN file {path!r}: {exc}") from exc


_ACTIVATION_KEYS = ("activation", "activation_param_names", "activation_param_values")
_SPARSE_SUFFIXES = ("_data", "_indices", "_indptr", "_shape")


def _read_sparse(data: dict, l: int, version: int, path: str):
    """The CSR weight matrix of layer ``l`` from its four ``W{l}_*`` arrays."""
    keys = [f"W{l}{suffix}" for suffix in _SPARSE_SUFFIXES]
    if version < 3:
        raise DataError(
            f"ANN file {path!r} has format_version {version} but sparse layer keys "
            f"({keys[0]}, ...); sparse layers need format_version=3"
        )
    missing = [key for key in keys if key not in data]
    if missing:
        raise DataError(
            f"ANN file {path!r} is missing key(s) {missing} of sparse layer {l}; a sparse "
            f"layer needs all of {keys} (a CSR matrix)"
        )
    values, indices, indptr, shape = (data[key] for key in keys)
    problem = None
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or np.any(shape < 0):
        problem = f"{keys[3]} must be two non-negative integers (n_in, n_out), got {shape!r}"
    elif values.ndim != 1 or values.dtype.kind not in "iuf":
        problem = f"{keys[0]} must be a 1-D number array, got {values.dtype} {values.shape}"
    elif any(a.ndim != 1 or a.dtype.kind not in "iu" for a in (indices, indptr)):
        problem = f"{keys[1]} and {keys[2]} must be 1-D integer arrays"
    if problem is None:
        try:
            matrix = scipy.sparse.csr_matrix(
                (values, indices, indptr), shape=tuple(int(n) for n in shape)
            )
            matrix.check_format(full_check=True)
            return matrix
        except (ValueError, TypeError) as exc:
            problem = str(exc)
    raise DataError(f"ANN file {path!r}: sparse layer {l} is not a valid CSR matrix: {problem}")


def _read_activation(data: dict, version: int, path: str):
    """Return ``(activation, params)`` from a loaded archive; version 1 means ReLU."""
    if version == 1:
        present = [key for key in _ACTIVATION_KEYS if key in data]
        if present:
            raise DataError(
                f"ANN file {path!r} has format_version 1 but activation keys {present}; "
                f"write format_version={FORMAT_VERSION} to store an activation"
            )
        return "relu", ()
    if "activation" not in data:
        raise DataError(
            f"ANN file {path!r} (format_version {version}) is missing key 'activation', "
            f"e.g. activation='relu'; one of {', '.join(sorted(ACTIVATIONS))}"
        )
    name = data["activation"]
    if name.shape != () or name.dtype.kind != "U":
        raise DataError(
            f"ANN file {path!r}: 'activation' must be a string scalar, got {name!r}"
        )
    has_names = "activation_param_names" in data
    if has_names != ("activation_param_values" in data):
        raise DataError(
            f"ANN file {path!r}: give both 'activation_param_names' and "
            "'activation_param_values' or neither"
        )
    if not has_names:
        return str(name), ()
    names, values = data["activation_param_names"], data["activation_param_values"]
    if (
        names.ndim != 1
        or values.shape != names.shape
        or (names.size and names.dtype.kind != "U")
        or (values.size and values.dtype.kind not in "iuf")
    ):
        raise DataError(
            f"ANN file {path!r}: 'activation_param_names' must be a 1-D string array and "
            f"'activation_param_values' a number array of the same length; got "
            f"{names!r} and {values!r}"
        )
    if len(set(names.tolist())) != len(names):
        raise DataError(f"ANN file {path!r}: duplicate activation parameter names {names!r}")
    return str(name), tuple(zip((str(k) for k in names), (float(v) for v in values)))
