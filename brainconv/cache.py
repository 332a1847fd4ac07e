"""Where brainconv keeps what it can compute again (``$BRAINCONV_CACHE``, or
``~/.cache/brainconv``), and atomic writes. Everything in the cache is reused only when its
inputs are the same (a hash of them names each entry) and written atomically, so deleting the
folder is always safe."""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_dir(kind):
    """The cache's folder for ``kind`` (``standalone``, ``data``, ``normalization``)."""
    return Path(os.environ.get("BRAINCONV_CACHE") or Path.home() / ".cache" / "brainconv") / kind


def atomic_write(path, write):
    """Call ``write(temporary_path)``, then rename the file into place at ``path``.

    The temporary file lies in ``path``'s folder, so the rename is atomic: an interrupted
    write never leaves a truncated file at ``path``, only an old one or none.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist. An existing file is replaced.
    write : callable
        Writes the whole file to the path it is given (a str).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp creates the file with mode 0600; give it the permissions of a normal file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        # After a successful os.replace the temp name is gone; otherwise clean it up.
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_cached(path, write):
    """:func:`atomic_write` into the cache, creating the folder; a cache that cannot be
    written costs time, not correctness, so OSError is ignored."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, write)
    except OSError:
        pass


def memo(kind, parts, arrays, compute):
    """``compute()`` once per distinct input: its JSON-able value is kept in the cache folder
    ``kind`` under a sha256 of ``repr(parts)`` and the arrays' dtypes, shapes and bytes.

    For numbers that take a second to compute and milliseconds to hash, e.g. normalization
    scales from a forward pass over 10,000 images.
    """
    digest = hashlib.sha256(repr(parts).encode())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(repr((array.dtype.str, array.shape)).encode())
        digest.update(array)  # its buffer: no copy
    path = cache_dir(kind) / f"{digest.hexdigest()[:24]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass  # none yet, or damaged: compute again
    value = compute()
    write_cached(path, lambda tmp: Path(tmp).write_text(json.dumps(value)))
    return value
