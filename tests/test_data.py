"""Tests of brainconv.data: IDX parsing, dataset loading, download and the digits split."""

import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from brainconv import data
from brainconv.errors import DataError, ParameterError

N = 5
IMAGES = "t10k-images-idx3-ubyte"
LABELS = "t10k-labels-idx1-ubyte"


def idx_bytes(array, magic=None):
    """Serialise a uint8 array as IDX (big-endian header, then the raw bytes)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(path, payload, gz):
    path = Path(f"{path}.gz" if gz else path)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


@pytest.fixture
def tiny():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(N, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # make sure both ends of the range occur
    labels = np.array([3, 0, 9, 1, 7], dtype=np.uint8)
    return images, labels


def make_dataset(directory, images, labels, gz, prefix="t10k"):
    directory.mkdir(parents=True, exist_ok=True)
    write(directory / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz)
    return directory


# --- loading -------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_load_tiny_idx(tmp_path, tiny, gz):
    images, labels = tiny
    make_dataset(tmp_path, images, labels, gz)
    x, y = data.load_dataset("mnist", "test", data_dir=tmp_path, verify=False)
    assert x.dtype == np.float32 and x.shape == (N, 784)
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x, images.reshape(N, -1) / 255.0, rtol=1e-6)


def test_decoded_files_are_cached_until_a_file_changes(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path / "cache"))
    images, labels = tiny
    make_dataset(tmp_path / "mnist", images, labels, gz=True)
    first = data.load_dataset("mnist", "test", data_dir=tmp_path / "mnist", verify=False)
    [cached] = (tmp_path / "cache" / "data").glob("t10k-images-idx3-ubyte-*.npz")
    calls = []
    monkeypatch.setattr(data, "read_idx", lambda *args: calls.append(args) or 1 / 0)
    again = data.load_dataset("mnist", "test", data_dir=tmp_path / "mnist", verify=False)
    assert calls == []  # read from the cache, nothing decoded
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path / "cache"))
    # New labels in the same file (another size and time): decoded again, not the old copy.
    make_dataset(tmp_path / "mnist", images, labels[::-1], gz=True)
    changed = data.load_dataset("mnist", "test", data_dir=tmp_path / "mnist", verify=False)
    assert changed[1].tolist() == labels[::-1].tolist()
    # A damaged cached copy is decoded again, not trusted.
    for path in (tmp_path / "cache" / "data").glob("*.npz"):
        path.write_bytes(b"PK\3\4 truncated")
    damaged = data.load_dataset("mnist", "test", data_dir=tmp_path / "mnist", verify=False)
    assert damaged[1].tolist() == labels[::-1].tolist()
    assert cached.exists()


def test_read_idx_shapes(tmp_path, tiny):
    images, labels = tiny
    assert data.read_idx(write(tmp_path / IMAGES, idx_bytes(images), True)).shape == (N, 28, 28)
    assert data.read_idx(write(tmp_path / LABELS, idx_bytes(labels), False)).shape == (N,)


def test_env_var_points_at_parent(tmp_path, tiny, monkeypatch):
    make_dataset(tmp_path / "fashion-mnist", *tiny, gz=False, prefix="train")
    monkeypatch.setenv("BRAINCONV_DATA", str(tmp_path))
    x, y = data.load_dataset("fashion-mnist", "train")
    assert x.shape == (N, 784) and y.shape == (N,)


def test_gz_md5_verified_with_patched_table(tmp_path, tiny, monkeypatch):
    make_dataset(tmp_path, *tiny, gz=True)
    sums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    monkeypatch.setitem(data.MD5, "mnist", sums)
    x, _ = data.load_dataset("mnist", data_dir=tmp_path)
    assert x.shape == (N, 784)


# --- broken files --------------------------------------------------------------------------------


def test_truncated_file(tmp_path, tiny):
    path = write(tmp_path / IMAGES, idx_bytes(tiny[0])[:-100], gz=False)
    with pytest.raises(DataError, match=rf"{IMAGES}.*3920 payload bytes.*holds 3820.*truncated"):
        data.read_idx(path)


def test_trailing_bytes(tmp_path, tiny):
    path = write(tmp_path / LABELS, idx_bytes(tiny[1]) + b"\0", gz=True)
    with pytest.raises(DataError, match="5 payload bytes.*holds 6"):
        data.read_idx(path)


def test_corrupt_gzip(tmp_path, tiny):
    blob = bytearray(gzip.compress(idx_bytes(tiny[0])))
    blob[20:40] = bytes(20)  # damage the deflate stream
    path = tmp_path / f"{IMAGES}.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=rf"{IMAGES}\.gz: corrupt or truncated gzip"):
        data.read_idx(path)


def test_truncated_gzip(tmp_path, tiny):
    path = tmp_path / f"{IMAGES}.gz"
    path.write_bytes(gzip.compress(idx_bytes(tiny[0]))[:-30])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        data.read_idx(path)


def test_not_gzip_at_all(tmp_path, tiny):
    path = write(tmp_path / IMAGES, idx_bytes(tiny[0]), gz=False).rename(tmp_path / f"{IMAGES}.gz")
    with pytest.raises(DataError, match="gzip"):
        data.read_idx(path)


def test_wrong_magic(tmp_path, tiny):
    path = write(tmp_path / IMAGES, idx_bytes(tiny[0], magic=0x0D03), gz=False)
    with pytest.raises(DataError, match="magic number 0x00000d03"):
        data.read_idx(path)


def test_md5_mismatch(tmp_path, tiny):
    # Real file names, fake content: verify=True must catch it.
    make_dataset(tmp_path, *tiny, gz=True)
    with pytest.raises(DataError, match=rf"{IMAGES}\.gz: md5 [0-9a-f]{{32}} .*9fb629c4189551a2d"):
        data.load_dataset("mnist", "test", data_dir=tmp_path)


def test_count_mismatch(tmp_path, tiny):
    images, labels = tiny
    make_dataset(tmp_path, images, labels[:3], gz=False)
    with pytest.raises(DataError, match="5 images but .* 3 labels"):
        data.load_dataset("mnist", data_dir=tmp_path)


def test_label_out_of_range(tmp_path, tiny):
    images, labels = tiny
    make_dataset(tmp_path, images, np.array([0, 1, 2, 3, 12]), gz=False)
    with pytest.raises(DataError, match="label 12 outside 0..9"):
        data.load_dataset("mnist", data_dir=tmp_path)


def test_missing_files(tmp_path, tiny):
    write(tmp_path / IMAGES, idx_bytes(tiny[0]), gz=False)  # labels absent
    with pytest.raises(DataError, match=rf"{LABELS}\.gz or {LABELS}.*download_dataset"):
        data.load_dataset("mnist", data_dir=tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist.*download_dataset"):
        data.load_dataset("mnist", "train", data_dir=tmp_path / "nowhere")


def test_no_location(monkeypatch):
    monkeypatch.delenv("BRAINCONV_DATA", raising=False)
    with pytest.raises(DataError, match="BRAINCONV_DATA"):
        data.load_dataset("mnist")


# --- bad arguments -------------------------------------------------------------------------------


def test_unknown_name():
    with pytest.raises(ParameterError, match="known datasets: mnist, fashion-mnist, digits"):
        data.load_dataset("cifar10")


def test_unknown_split():
    with pytest.raises(ParameterError, match="split 'valid'"):
        data.load_dataset("digits", "valid")


def test_download_unknown_name(tmp_path):
    with pytest.raises(ParameterError, match="mnist"):
        data.download_dataset("digits", tmp_path)


# --- download ------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/"served" on 127.0.0.1; yields (folder, base_url)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _serve_fake_mnist(served, tiny):
    images, labels = tiny
    for prefix in ("train", "t10k"):
        write(served / f"{prefix}-images-idx3-ubyte", idx_bytes(images), gz=True)
        write(served / f"{prefix}-labels-idx1-ubyte", idx_bytes(labels), gz=True)
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in served.iterdir()}


def test_download_success(tmp_path, tiny, server, monkeypatch):
    served, url = server
    monkeypatch.setitem(data.MD5, "mnist", _serve_fake_mnist(served, tiny))
    dest = tmp_path / "dest"
    assert data.download_dataset("mnist", dest, base_url=url, timeout=5) == dest
    assert sorted(os.listdir(dest)) == sorted(data.MD5["mnist"])  # no temp files left
    x, y = data.load_dataset("mnist", "train", data_dir=dest)
    assert x.shape == (N, 784) and y.tolist() == tiny[1].tolist()

    # Second call: everything present with the right md5, so nothing is fetched.
    for p in served.iterdir():
        p.unlink()
    data.download_dataset("mnist", dest, base_url=url, timeout=5)
    assert sorted(os.listdir(dest)) == sorted(data.MD5["mnist"])


def test_download_bad_checksum(tmp_path, tiny, server, monkeypatch):
    served, url = server
    sums = _serve_fake_mnist(served, tiny)
    monkeypatch.setitem(data.MD5, "mnist", {name: "0" * 32 for name in sums})
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match=r"md5 [0-9a-f]{32} does not match the expected md5 0{32}"):
        data.download_dataset("mnist", dest, base_url=url, timeout=5)
    assert os.listdir(dest) == []


def test_download_missing_on_server(tmp_path, server, monkeypatch):
    _, url = server
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="404"):
        data.download_dataset("mnist", dest, base_url=url, timeout=5)
    assert os.listdir(dest) == []


# --- digits --------------------------------------------------------------------------------------


def test_digits():
    x_train, y_train = data.load_dataset("digits", "train")
    x_test, y_test = data.load_dataset("digits", "test")
    assert x_train.shape == (1348, 64) and x_test.shape == (449, 64)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() == 1.0 and x_test.max() <= 1.0
    assert set(y_test.tolist()) == set(range(10))
    # Train and test partition the full set: together they are its rows, each exactly once.
    from sklearn.datasets import load_digits

    full = np.column_stack([load_digits().data / 16.0, load_digits().target]).astype(np.float32)
    parts = np.vstack([np.column_stack([x_train, y_train]), np.column_stack([x_test, y_test])])
    rows_parts, n_parts = np.unique(parts, axis=0, return_counts=True)
    rows_full, n_full = np.unique(full, axis=0, return_counts=True)
    np.testing.assert_array_equal(rows_parts, rows_full)
    np.testing.assert_array_equal(n_parts, n_full)
    x_again, y_again = data.load_dataset("digits", "test")
    np.testing.assert_array_equal(x_again, x_test)
    np.testing.assert_array_equal(y_again, y_test)


# --- real data (skipped when absent) -------------------------------------------------------------


def _shared_data():
    root = os.environ.get("BRAINCONV_DATA")
    return Path(root) if root else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.skipif(not (_shared_data() / "mnist").is_dir(), reason="real MNIST files not present")
def test_real_mnist_test_split():
    x, y = data.load_dataset("mnist", "test", data_dir=_shared_data() / "mnist")
    assert x.shape == (10000, 784) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 10000
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
