"""Seeded minibatch SGD for an :class:`~brainconv.ann.ANN`, with each activation's own gradient."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse

from brainconv.errors import ParameterError, ShapeError

from .activations import ACTIVATIONS, normalize_activation_params
from .network import ANN

__all__ = ["train_ann"]


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
    data_name: str | None = None,
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
    data_name : str, optional
        Name of the training data (e.g. ``"mnist"``), kept in the network's training record.

    Returns
    -------
    ANN
        The trained network; its :attr:`~ANN.training` records ``data`` (when named),
        ``samples``, ``epochs``, ``seed``, ``learning_rate`` and ``batch_size``.

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

    training = {"samples": n, "epochs": epochs, "seed": seed,
                "learning_rate": f"{learning_rate:g}", "batch_size": batch_size}
    if data_name is not None:
        training["data"] = data_name
    return ANN(weights=tuple(ws), biases=tuple(bs), activation=activation,
               activation_params=params, training=training)


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
