"""Datasets for conversion experiments: MNIST, Fashion-MNIST (IDX files) and scikit-learn digits.

All loaders return ``(images, labels)``: ``images`` is float32 of shape ``(N, n_pixels)`` scaled
to [0, 1], ``labels`` is int64 of shape ``(N,)``.

Where the IDX files are looked for, in order:

1. ``data_dir`` passed to :func:`load_dataset`: the folder that holds the four files of that
   dataset (``train-images-idx3-ubyte.gz`` ...).
2. The environment variable ``BRAINCONV_DATA``: a parent folder with one subfolder per dataset,
   ``$BRAINCONV_DATA/mnist/`` and ``$BRAINCONV_DATA/fashion-mnist/``.

Each file may be gzipped (``.gz``, preferred) or raw. Gzipped files are checked against the MD5 of
the published originals (:data:`MD5`); raw files have no reference sum, so their headers, sizes and
label values are checked instead.
"""

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

from brainconv.cache import cache_dir, write_cached
from brainconv.errors import DataError, ParameterError

__all__ = ["BASE_URLS", "DATASETS", "ENV_VAR", "SPLITS", "download_dataset", "load_dataset",
           "read_idx"]

DATASETS = ("mnist", "fashion-mnist", "digits")
SPLITS = ("train", "test")
ENV_VAR = "BRAINCONV_DATA"

# File stems (without ".gz") of the images and labels of each split.
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: MD5 of the published ``.gz`` originals. A module-level dict so tests can patch it.
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: Default download locations (the original yann.lecun.com site is no longer reliable).
BASE_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

_MAGIC_IMAGES = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, cols)
_MAGIC_LABELS = 0x00000801  # unsigned bytes, 1 dimension (N,)
_CHUNK = 1 << 20


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_idx(path, expected_md5=None):
    """Read one IDX file of unsigned bytes (MNIST format), gzipped or raw.

    Parameters
    ----------
    path : str or os.PathLike
        File to read; a name ending in ``.gz`` is decompressed.
    expected_md5 : str, optional
        MD5 hex digest of the file as stored (the compressed bytes for ``.gz`` files). Not
        checked when None.

    Returns
    -------
    numpy.ndarray
        Read-only uint8 array of shape ``(N, rows, cols)`` for images (magic 0x00000803) or
        ``(N,)`` for labels (magic 0x00000801).

    Raises
    ------
    DataError
        If the file is missing, its MD5 differs, the gzip stream is corrupt, the magic number is
        not one of the two above, or the payload size differs from what the header announces.
    """
    path = Path(path)
    try:
        stored = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc

    if expected_md5 is not None:
        actual_md5 = hashlib.md5(stored).hexdigest()
        if actual_md5 != expected_md5.lower():
            raise DataError(
                f"{path}: md5 {actual_md5} does not match the expected md5 {expected_md5}; "
                "the file is damaged or not the published original. Re-download it "
                "(download_dataset) or check the file."
            )

    if path.suffix == ".gz":
        try:
            data = gzip.decompress(stored)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise DataError(
                f"{path}: corrupt or truncated gzip data ({exc}); re-download it "
                "(download_dataset) or check the file."
            ) from exc
    else:
        data = stored

    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes, too short for an IDX header (4+ bytes).")
    magic = int.from_bytes(data[:4], "big")
    if magic not in (_MAGIC_IMAGES, _MAGIC_LABELS):
        raise DataError(
            f"{path}: magic number 0x{magic:08x} is neither 0x{_MAGIC_IMAGES:08x} (images) nor "
            f"0x{_MAGIC_LABELS:08x} (labels); not an MNIST-style IDX file"
            + (" (gzipped file without a .gz name?)." if data[:2] == b"\x1f\x8b" else ".")
        )
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"{path}: truncated header, expected {header_len} bytes, got {len(data)}; "
            "re-download it (download_dataset) or check the file."
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(data) - header_len
    # Exact match: a short file means truncation, a long one a wrong header; both are corrupt.
    if actual != expected:
        raise DataError(
            f"{path}: header announces shape {dims}, i.e. {expected} payload bytes, but the file "
            f"holds {actual} ({'truncated' if actual < expected else 'trailing bytes'}); "
            "re-download it (download_dataset) or check the file."
        )
    # frombuffer avoids a copy; callers convert (astype) anyway.
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def _read_idx_cached(images_path, labels_path, md5_of):
    """``read_idx`` of both files, kept decoded in the cache folder for the next process.

    Decompressing and checking MNIST's training set takes ~0.5 s of every run; its decoded
    bytes load in milliseconds. The cached copy is reused only while both files keep their
    path, size and modification time; the checksum they were checked against is part of the
    key, so an unchecked copy never stands in for a checked load.
    """
    stats = [(str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns,
              md5_of(path)) for path in (images_path, labels_path)]
    key = hashlib.sha256(repr(stats).encode()).hexdigest()[:20]
    cached = cache_dir("data") / f"{images_path.name.split('.')[0]}-{key}.npz"
    try:
        with np.load(cached) as stored:
            return stored["images"], stored["labels"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        pass  # none yet, or damaged: decode again
    images = read_idx(images_path, md5_of(images_path))
    labels = read_idx(labels_path, md5_of(labels_path))

    def save(tmp):
        with open(tmp, "wb") as out:  # a file, or np.savez would add ".npz" to the name
            np.savez(out, images=images, labels=labels)

    write_cached(cached, save)
    return images, labels


def _find_file(directory, stem):
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _dataset_dir(name, data_dir):
    if data_dir is not None:
        return Path(data_dir)
    root = os.environ.get(ENV_VAR)
    if root:
        return Path(root) / name
    raise DataError(
        f"no location for dataset {name!r}: pass data_dir=<folder holding the four IDX files>, "
        f"or set the environment variable {ENV_VAR} to a folder with a {name}/ subfolder, "
        f"or fetch the files with brainconv.data.download_dataset({name!r}, dest_dir)."
    )


def _load_idx_dataset(name, split, directory, verify):
    stems = _FILES[split]
    paths = [_find_file(directory, stem) for stem in stems]
    if None in paths:
        looked_for = ", ".join(f"{s}.gz or {s}" for s, p in zip(stems, paths) if p is None)
        missing = "" if directory.is_dir() else " (the folder does not exist)"
        raise DataError(
            f"dataset {name!r} ({split}): looked for {looked_for} in {directory}{missing}, "
            "not found. "
            f"Fetch them with brainconv.data.download_dataset({name!r}, {str(directory)!r}), or "
            f"point data_dir / {ENV_VAR} at the right folder."
        )

    def md5_of(path):
        # Only the gzipped originals have a published checksum.
        return MD5[name].get(path.name) if verify and path.suffix == ".gz" else None

    images_path, labels_path = paths
    images, labels = _read_idx_cached(images_path, labels_path, md5_of)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(
            f"{images_path} / {labels_path}: expected 3-d images and 1-d labels, got shapes "
            f"{images.shape} and {labels.shape} (files swapped?)."
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; the files do not belong together."
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {int(labels.max())} outside 0..9.")
    x = images.reshape(len(images), -1).astype(np.float32)
    x /= 255.0
    return x, labels.astype(np.int64)


def _load_digits(split, seed=0, test_fraction=0.25):
    """scikit-learn's 8x8 digits, split by a seeded permutation (last ``test_fraction`` is test)."""
    from sklearn.datasets import load_digits  # lazy: keep sklearn optional for the IDX path

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    n_test = int(round(test_fraction * len(order)))
    index = order[-n_test:] if split == "test" else order[:-n_test]
    images = (digits.data[index] / 16.0).astype(np.float32)  # pixel values are 0..16
    return images, digits.target[index].astype(np.int64)


def load_dataset(name, split="test", data_dir=None, verify=True):
    """Load a dataset as flat images in [0, 1] and integer labels.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist", "digits"}
        ``"digits"`` is the embedded default: scikit-learn's ``load_digits`` (1797 images of 8x8,
        values 0..16 divided by 16), split deterministically by a permutation with seed 0; the
        last 25 % (449 images) is the test split, the other 1348 the train split. It needs no
        files. ``"mnist"`` and ``"fashion-mnist"`` read IDX files (see ``data_dir``).
    split : {"train", "test"}
        Which part to load.
    data_dir : str or os.PathLike, optional
        Folder holding the four IDX files of the dataset (``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``,
        ``t10k-labels-idx1-ubyte[.gz]``). When None, ``$BRAINCONV_DATA/<name>/`` is used.
        Ignored for ``"digits"``.
    verify : bool
        Check gzipped files against the MD5 of the published originals (:data:`MD5`). Raw files
        are never checksummed. Set False for your own re-compressed copies.

    Returns
    -------
    images : numpy.ndarray
        float32, shape ``(N, n_pixels)`` (784 for MNIST, 64 for digits), values in [0, 1].
    labels : numpy.ndarray
        int64, shape ``(N,)``, values 0..9.

    Raises
    ------
    ParameterError
        Unknown ``name`` or ``split``.
    DataError
        No location given, files missing, corrupt, truncated, or with a wrong checksum.
    """
    if name not in DATASETS:
        raise ParameterError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}.")
    if split not in SPLITS:
        raise ParameterError(f"unknown split {split!r}; use 'train' or 'test'.")
    if name == "digits":
        return _load_digits(split)
    return _load_idx_dataset(name, split, _dataset_dir(name, data_dir), verify)


def download_dataset(name, dest_dir, base_url=None, timeout=60):
    """Download the four gzipped IDX files of MNIST or Fashion-MNIST and verify their MD5.

    Each file is written to a temporary file inside ``dest_dir``, checked against :data:`MD5`,
    then renamed into place with :func:`os.replace`, so an interrupted or bad download never
    leaves a partial file under the real name. Files already present with the right MD5 are
    skipped.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
        Dataset to fetch.
    dest_dir : str or os.PathLike
        Folder to write to (created if needed); pass it as ``data_dir`` to :func:`load_dataset`,
        or use ``$BRAINCONV_DATA/<name>``.
    base_url : str, optional
        URL prefix the file names are appended to; defaults to :data:`BASE_URLS` ``[name]``.
    timeout : float
        Seconds to wait on the connection and on each read.

    Returns
    -------
    pathlib.Path
        ``dest_dir``.

    Raises
    ------
    ParameterError
        ``name`` is not a downloadable dataset.
    DataError
        A download failed or a downloaded file has the wrong MD5 (nothing is left behind).
    """
    if name not in MD5:
        raise ParameterError(
            f"cannot download dataset {name!r}; downloadable: {', '.join(MD5)} "
            "('digits' ships with scikit-learn)."
        )
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url is not None else BASE_URLS[name]
    if not base.endswith("/"):
        base += "/"

    for filename, expected in MD5[name].items():
        target = dest / filename
        if target.is_file() and _md5(target) == expected:
            continue
        url = base + filename
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=dest)
        try:
            digest = hashlib.md5()
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                raise DataError(
                    f"downloaded {url}: md5 {digest.hexdigest()} does not match the expected md5 "
                    f"{expected}; the mirror serves a different file. Try another base_url."
                )
            os.replace(tmp, target)
        except (urllib.error.URLError, OSError) as exc:
            raise DataError(f"downloading {url} to {dest} failed: {exc}") from exc
        finally:
            # After a successful os.replace the temp name is gone; otherwise clean it up.
            if os.path.exists(tmp):
                os.remove(tmp)
    return dest
