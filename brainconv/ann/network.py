"""The :class:`ANN` (a stack of dense or sparse layers) and its ``.npz`` file.

File format
-----------
:func:`save_ann` writes, and :func:`load_ann` reads, a NumPy ``.npz`` archive (as produced by
``numpy.savez``; no pickled objects) with these arrays, for an ``L``-layer network::

    format_version   integer scalar, 2, 3 or 4 (version 1 files are still read)
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

How the network was trained (:attr:`ANN.training`) is stored in two string arrays of one
length (version 4 only)::

    training_keys     e.g. ["data", "epochs", "samples", "seed"]
    training_values   e.g. ["mnist", "20", "60000", "0"]

Layer ``l`` computes ``a_l = f(a_{l-1} @ W_l + b_l)`` and the last layer has no activation, so
``W{l}.shape[1] == W{l+1}.shape[0]``. ``save_ann`` writes version 4 when the network has a
training record, else version 3 when some layer is sparse and version 2 otherwise (so a file
stays readable by every older brainconv release that understands its content, and an older
release rejects a newer file by its version instead of misreading it); it always
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
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from brainconv.errors import DataError, ParameterError, ShapeError, require_numbers

from .activations import ACTIVATIONS, normalize_activation_params

__all__ = ["ANN", "FORMAT_VERSION", "load_ann", "save_ann"]

#: Newest ``.npz`` format version :func:`load_ann` reads; :func:`save_ann` writes it only when
#: a layer is sparse (see the module docstring).
FORMAT_VERSION = 4


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
    training : mapping or tuple of (str, object) pairs, optional
        How the network was trained, e.g. ``{"data": "mnist", "seed": 0, "epochs": 20}``
        (:func:`~brainconv.ann.train_ann` fills it in): stored as sorted ``(str, str)`` pairs,
        saved with the network and copied into every result's provenance. Not part of the
        network's content hash.

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
    training: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        params = normalize_activation_params(self.activation, self.activation_params)
        object.__setattr__(self, "activation_params", params)
        object.__setattr__(self, "training", _training_record(self.training))
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


def _training_record(training):
    """``training`` as sorted ``(str, str)`` pairs (a mapping or pairs)."""
    try:
        pairs = dict(training or ())
    except (TypeError, ValueError):
        raise ParameterError(f"ANN training record must be a mapping such as {{'data': "
                             f"'mnist', 'seed': 0}}, got {training!r}") from None
    return tuple(sorted((str(key), str(value)) for key, value in pairs.items()))


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
    # The oldest version that holds what the network has, so older releases still read it.
    version = 4 if ann.training else 3 if any_sparse else 2
    arrays = {
        "format_version": np.array(version),
        "activation": np.array(ann.activation, dtype=np.str_),
        # dtype given explicitly so that an empty list (relu) is still a string array.
        "activation_param_names": np.array(names, dtype="<U32" if not names else np.str_),
        "activation_param_values": np.array(
            [value for _, value in ann.activation_params], dtype=np.float64
        ),
    }
    if ann.training:
        arrays["training_keys"] = np.array([key for key, _ in ann.training], dtype=np.str_)
        arrays["training_values"] = np.array([value for _, value in ann.training],
                                             dtype=np.str_)
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

    Version 2 to 4 files carry the hidden activation and its parameters; version 1 files
    (written before activations were stored) are read as ReLU networks. Version 3 and 4 files
    may hold sparse (CSR) layers, which load as ``scipy.sparse.csr_matrix``; version 4 files
    a training record.

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
    training = _read_training(data, version, path)
    expected |= set(_TRAINING_KEYS if training else ())
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
        return ANN(weights=weights, biases=biases, activation=activation,
                   activation_params=params, training=training)
    except (ShapeError, ParameterError) as exc:
        raise type(exc)(f"ANN file {path!r}: {exc}") from exc


_ACTIVATION_KEYS = ("activation", "activation_param_names", "activation_param_values")
_TRAINING_KEYS = ("training_keys", "training_values")
_SPARSE_SUFFIXES = ("_data", "_indices", "_indptr", "_shape")


def _read_training(data: dict, version: int, path: str):
    """The training record of a version 4 file, as pairs (empty where it has none)."""
    present = [key for key in _TRAINING_KEYS if key in data]
    if not present:
        return ()
    if version < 4 or len(present) != 2:
        raise DataError(f"ANN file {path!r}: {present} need format_version 4 and both of "
                        f"{list(_TRAINING_KEYS)}; got version {version}")
    keys, values = data["training_keys"], data["training_values"]
    if (keys.ndim != 1 or keys.shape != values.shape or keys.dtype.kind != "U"
            or values.dtype.kind != "U"):
        raise DataError(f"ANN file {path!r}: training_keys and training_values must be string "
                        f"arrays of one length, got {keys!r} and {values!r}")
    return tuple(zip(keys.tolist(), values.tolist()))


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
