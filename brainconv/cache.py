"""Where brainconv keeps what it can compute again (``$BRAINCONV_CACHE``, or
``~/.cache/brainconv``): content digests, atomic writes and file locks.

Everything in the cache is reused only when its inputs are the same (their :func:`digest` names
each entry) and written atomically, so deleting the folder is always safe. :class:`FileLock`
serialises processes that build or run the same entry (a compiled project, a trained ANN).
"""

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FileLock", "atomic_write", "cache_dir", "digest", "memo", "write_cached"]


def digest(*parts, salt=b""):
    """sha256 (64 hex digits) of ``parts`` by content.

    Arrays count by dtype, shape and bytes; ``scipy.sparse`` matrices by their CSR arrays;
    tuples and lists part by part; objects with a ``digest_parts()`` method (an ANN) by what it
    returns; anything else by ``repr``. Parts are separated, so ``("ab", "c")`` and
    ``("a", "bc")`` differ. This is the one content hash of the package: cache entries,
    project keys, ANN identities and sweep points all use it.
    """
    import scipy.sparse

    hasher = hashlib.sha256(salt)

    def add(part):
        if scipy.sparse.issparse(part):
            csr = part.tocsr()
            hasher.update(f"csr{csr.shape}".encode())
            for item in (csr.data, csr.indices, csr.indptr):
                add(item)
        elif isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            hasher.update(f"{array.dtype.str}{array.shape}".encode())
            hasher.update(array)  # its buffer: no copy
        elif isinstance(part, (tuple, list)):
            hasher.update(f"{type(part).__name__}{len(part)}".encode())
            for item in part:
                add(item)
        elif hasattr(part, "digest_parts"):
            add(tuple(part.digest_parts()))
        else:
            hasher.update(repr(part).encode())
        hasher.update(b"|")

    for part in parts:
        add(part)
    return hasher.hexdigest()


def cache_dir(kind):
    """The cache's folder for ``kind`` (``standalone``, ``data``, ``normalization``).

    Read from ``$BRAINCONV_CACHE`` at each call, so a sweep worker's own cache folder (set in
    the environment around its point) takes effect at once.
    """
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
    if not path.parent.is_dir():
        raise FileNotFoundError(
            2, f"cannot write {path.name}: the folder {path.parent} does not exist; create it "
               f"first (mkdir -p {path.parent}) or write elsewhere", str(path.parent))
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
    path = cache_dir(kind) / f"{digest(tuple(parts), *arrays)[:24]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass  # none yet, or damaged: compute again
    value = compute()
    write_cached(path, lambda tmp: Path(tmp).write_text(json.dumps(value)))
    return value


class FileLock:
    """Exclusive lock on ``path`` shared between processes (``flock`` on ``path.lock``).

    Two processes building the same compiled project at once failed with "[Errno 17] File
    exists", and two running it at once would overwrite each other's inputs and results; two
    sweep workers training the same ANN would both train it. The lock file is left in place
    (removing it would race with a waiting process).
    """

    def __init__(self, path):
        self.path = Path(f"{path}.lock")

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()
        return False
