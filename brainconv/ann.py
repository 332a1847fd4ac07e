"""A small fully connected ReLU network (the ANN side of the conversion) and its trainer.

An :class:`ANN` is a stack of dense layers ``a_l = relu(a_{l-1} @ W_l + b_l)``; the last layer
is linear (its pre-activations are the class scores). This is the network family that
rate-based ANN→SNN conversion maps onto integrate-and-fire neurons: ReLU activations become
firing rates, biases become constant input currents.

File format
-----------
:func:`save_ann` writes, and :func:`load_ann` reads, a NumPy ``.npz`` archive (as produced by
``numpy.savez``; no pickled objects) with these arrays, for an ``L``-layer network::

    format_version   integer scalar, currently 1
    W0, W1, ..., W{L-1}   weights, float, shape (n_in, n_out)   -- input @ W, NOT (n_out, n_in)
    b0, b1, ..., b{L-1}   biases, float, shape (n_out,)

Layer ``l`` computes ``a_l = relu(a_{l-1} @ W_l + b_l)`` and the last layer has no ReLU, so
``W{l}.shape[1] == W{l+1}.shape[0]``. A network trained elsewhere can be brought in by writing
this file; for example, from a PyTorch ``nn.Linear`` (whose ``weight`` is ``(n_out, n_in)``)::

    np.savez("net.npz", format_version=1,
             W0=lin0.weight.detach().numpy().T, b0=lin0.bias.detach().numpy(),
             W1=lin1.weight.detach().numpy().T, b1=lin1.bias.detach().numpy())
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from brainconv.errors import DataError, ParameterError, ShapeError

__all__ = ["ANN", "train_ann", "save_ann", "load_ann", "FORMAT_VERSION", "ACTIVATIONS"]

FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)  # eq=False: tuple-of-arrays equality would be ambiguous
class ANN:
    """A trained dense ReLU network.

    Parameters
    ----------
    weights : tuple of ndarray
        One ``(n_in, n_out)`` matrix per layer; layer ``l`` computes ``a_prev @ weights[l]``.
    biases : tuple of ndarray
        One ``(n_out,)`` vector per layer.

    Raises
    ------
    ShapeError
        If there is no layer, a weight is not 2-D, a bias is not 1-D, consecutive layers do not
        chain, or a bias length differs from its layer's output width.
    ParameterError
        If any weight or bias is NaN or infinite.

    Notes
    -----
    The arrays are copied to read-only, C-contiguous float64 so that a converted spiking network
    can never silently disagree with the ANN it came from.
    """

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        weights = tuple(_frozen_float64(w) for w in self.weights)
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
            for name, arr in (("weights", w), ("bias", b)):
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
            ``all_layers=True``, a list of ``n_layers`` arrays: the ReLU outputs of each hidden
            layer followed by the class scores.

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
        outs = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            a = a @ w + b
            if l < self.n_layers - 1:
                a = np.maximum(a, 0.0)
            outs.append(a)
        return outs if all_layers else outs[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted class (argmax of the scores) for each row of ``x``."""
        return np.argmax(self.forward(x), axis=1)

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
    arr = np.array(a, dtype=np.float64, order="C", copy=True)
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)  # in place: z is a scratch pre-activation


def _relu_grad(a: np.ndarray) -> np.ndarray:
    return (a > 0).astype(a.dtype)


_ArrayFn = Callable[[np.ndarray], np.ndarray]

#: Hidden-layer activations for training: name -> (f(z), f'(z) computed from a = f(z)).
#: ``f`` may overwrite ``z``. The gradient receives the activation output so z need not be kept.
#: Only ReLU is needed for rate conversion (and :meth:`ANN.forward` always applies ReLU); other
#: conversion paradigms can add their own pair here, e.g. a clipped ReLU for TTFS coding.
ACTIVATIONS: dict[str, tuple[_ArrayFn, _ArrayFn]] = {
    "relu": (_relu, _relu_grad),
}


def train_ann(
    images: np.ndarray,
    labels: np.ndarray,
    hidden: Sequence[int] = (500,),
    epochs: int = 20,
    learning_rate: float = 0.05,
    momentum: float = 0.9,
    batch_size: int = 64,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: Callable[[int, int, float, float], None] | None = None,
    activation: str = "relu",
    n_classes: int | None = None,
) -> ANN:
    """Train a dense network with softmax cross-entropy and SGD with momentum.

    Weights are He-initialised and the data are shuffled each epoch, both from
    ``np.random.default_rng(seed)``, so a seed fully determines the result. The learning rate
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
        Initial learning rate.
    momentum : float, optional
        Momentum coefficient in ``[0, 1)``.
    batch_size : int, optional
        Mini-batch size.
    weight_decay : float, optional
        L2 penalty coefficient on the weights (not the biases).
    seed : int, optional
        Seed for initialisation and shuffling.
    progress : callable, optional
        Called after every epoch as ``progress(epoch, epochs, loss, train_acc)`` with the 1-based
        epoch, the mean training loss and the training accuracy seen during that epoch.
    activation : str, optional
        Hidden activation, a key of :data:`ACTIVATIONS`.
    n_classes : int, optional
        Number of classes; default ``labels.max() + 1``.

    Returns
    -------
    ANN
        The trained network.

    Raises
    ------
    ShapeError
        If ``images`` is not 2-D or ``labels`` does not have one entry per image.
    ParameterError
        If a hyper-parameter is out of range, the inputs are not finite, the labels are not
        integers in ``0 .. n_classes - 1``, or training diverges.
    """
    x_all, y_all, n_classes = _check_training_data(images, labels, n_classes)
    hidden = tuple(hidden)
    _check_hyperparameters(hidden, epochs, learning_rate, momentum, batch_size, weight_decay)
    if activation not in ACTIVATIONS:
        raise ParameterError(
            f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
        )
    act, act_grad = ACTIVATIONS[activation]
    hidden, epochs, batch_size = tuple(int(h) for h in hidden), int(epochs), int(batch_size)

    rng = np.random.default_rng(seed)
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
            acts = [xb]
            for l in range(n_layers):
                z = acts[-1] @ ws[l]
                z += bs[l]
                acts.append(act(z) if l < n_layers - 1 else z)
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
            loss_sum += -float(np.sum(np.log(probs[rows, yb] + 1e-30)))
            delta = probs
            delta[rows, yb] -= 1.0
            delta /= len(idx)
            for l in range(n_layers - 1, -1, -1):
                grad_w = acts[l].T @ delta
                grad_b = delta.sum(axis=0)
                if l > 0:
                    delta = (delta @ ws[l].T) * act_grad(acts[l])
                grad_w += weight_decay * ws[l]
                # PyTorch-style momentum: v = m v + g; w -= lr v.
                vw[l] *= momentum
                vw[l] += grad_w
                vb[l] *= momentum
                vb[l] += grad_b
                ws[l] -= lr * vw[l]
                bs[l] -= lr * vb[l]
        loss = loss_sum / n
        if not np.isfinite(loss):
            raise ParameterError(
                f"training diverged at epoch {epoch + 1} (loss {loss}); lower learning_rate "
                f"(now {learning_rate})"
            )
        if progress is not None:
            progress(epoch + 1, epochs, loss, n_correct / n)

    return ANN(weights=tuple(ws), biases=tuple(bs))


def _check_training_data(images, labels, n_classes):
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

    The file is written to a temporary file in the same directory and then renamed over
    ``path``, so a crash never leaves a half-written network behind. ``path`` is used exactly
    as given (no ``.npz`` suffix is appended).
    """
    path = os.fspath(path)
    arrays = {"format_version": np.array(FORMAT_VERSION)}
    for l, (w, b) in enumerate(zip(ann.weights, ann.biases)):
        arrays[f"W{l}"] = w
        arrays[f"b{l}"] = b
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_ann(path: str | os.PathLike) -> ANN:
    """Read a network written by :func:`save_ann` (or by hand, see the module docstring).

    Raises
    ------
    DataError
        If the file is missing or unreadable, lacks ``format_version``/``W0``/a bias, has a gap
        in the layer numbering, or has an unsupported ``format_version``.
    ShapeError, ParameterError
        If the stored arrays do not form a valid :class:`ANN`.
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
        raise DataError(f"ANN file {path!r} is missing key 'format_version' (expected 1)")
    version = data["format_version"]
    if version.shape != () or int(version) != FORMAT_VERSION:
        raise DataError(
            f"ANN file {path!r} has format_version {version!r}; this brainconv reads "
            f"version {FORMAT_VERSION}"
        )
    n_layers = 0
    while f"W{n_layers}" in data:
        n_layers += 1
    if n_layers == 0:
        raise DataError(f"ANN file {path!r} is missing key 'W0' (no layers found)")
    for l in range(n_layers):
        if f"b{l}" not in data:
            raise DataError(f"ANN file {path!r} is missing key 'b{l}' (bias of layer {l})")
    expected = {"format_version"} | {f"{k}{l}" for l in range(n_layers) for k in "Wb"}
    extra = sorted(set(data) - expected)
    if extra:
        raise DataError(
            f"ANN file {path!r} has unexpected keys {extra} after {n_layers} layers; "
            f"layers must be numbered W0..W{{L-1}}, b0..b{{L-1}} without gaps"
        )
    weights = tuple(data[f"W{l}"] for l in range(n_layers))
    biases = tuple(data[f"b{l}"] for l in range(n_layers))
    try:
        return ANN(weights=weights, biases=biases)
    except (ShapeError, ParameterError) as exc:
        raise type(exc)(f"ANN file {path!r}: {exc}") from exc
