"""Shared fixtures: small converted networks with exactly representable weights.

Weights and inputs are multiples of 1/64 of modest size, so every sum of them is exact in
float64 and the order in which Brian2 and numpy add synaptic inputs cannot change a spike.
"""

import numpy as np
import pytest

from brainconv.ann import ANN
from brainconv.convert import convert


def dyadic(rng, shape, scale=0.5):
    """Random multiples of 1/64 in [-scale, scale]."""
    return np.round(rng.uniform(-scale, scale, shape) * 64) / 64


def small_ann(sizes=(12, 8, 6, 3), seed=0):
    rng = np.random.default_rng(seed)
    weights = tuple(dyadic(rng, (a, b)) for a, b in zip(sizes[:-1], sizes[1:]))
    biases = tuple(dyadic(rng, (b,), 0.125) for b in sizes[1:])
    return ANN(weights, biases)


@pytest.fixture
def small_spec():
    """A 12-8-6-3 network (two hidden layers), soft-reset IF, no normalization."""
    return convert(small_ann(), normalization="none")


@pytest.fixture
def small_inputs():
    rng = np.random.default_rng(1)
    return np.round(rng.uniform(0, 1, (10, 12)) * 64) / 64


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits in [0, 1], split 1347 / 450 with a fixed permutation."""
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    tr, te = order[:1347], order[1347:]
    return x[tr], y[tr], x[te], y[te]


@pytest.fixture
def standalone_dir(tmp_path, monkeypatch):
    """Standalone projects go into a temporary cache directory."""
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path / "cache"))
    return tmp_path
