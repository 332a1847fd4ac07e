"""Shared fixtures: small converted networks with exactly representable weights.

Weights and inputs are multiples of 1/64 of modest size, so every sum of them is exact in
float64 and the order in which Brian2 and numpy add synaptic inputs cannot change a spike.

Speed (the default suite must run in a few minutes from a cold cache, see :func:`fast_brian2`):
Brian2's runtime device generates numpy code instead of compiling every code object with
Cython (``cython_codegen`` brings Cython back for the one test that checks it), and the
cpp_standalone projects the tests compile pre-include a precompiled header of the C++ standard
library, so that each of a project's ~35 files no longer parses ``<iostream>`` & co. again.
"""

import os
import shutil
import subprocess

import brian2
import numpy as np
import pytest

from brainconv.ann import ANN
from brainconv.conversion import convert


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
    """Standalone projects go into a temporary cache directory of this test alone."""
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def shared_standalone_dir(monkeypatch):
    """A cache directory shared by all tests of this session (of this xdist worker): tests
    that build the same layout compile it once. Returns the cache root."""
    monkeypatch.setenv("BRAINCONV_CACHE", os.environ["BRAINCONV_TEST_SHARED_CACHE"])
    return os.environ["BRAINCONV_TEST_SHARED_CACHE"]


#: The C++ standard headers Brian2 2.9's cpp_standalone files include, precompiled once per
#: session. Each generated file includes them again behind their include guards, at no cost.
PCH_HEADERS = ("iostream", "ctime", "fstream", "cmath", "climits", "vector", "cstdlib",
               "random", "utility", "string", "map", "algorithm", "tuple", "set", "limits",
               "iterator", "cstdio", "csignal", "chrono", "stdint.h", "assert.h")


def precompiled_header(directory, flags):
    """``["-include<header>"]`` of a precompiled header built with ``flags``, or ``[]`` where
    the C++ compiler make uses is not GCC or the header does not precompile and load."""
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler) is None:
        return []
    header = directory / "brainconv_test_pch.h"
    header.write_text("".join(f"#include <{name}>\n" for name in PCH_HEADERS))
    probe = directory / "probe.cpp"
    probe.write_text("int main() { std::vector<int> v; return (int) v.size(); }\n")
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                 timeout=60).stdout
        if "Free Software Foundation" not in version:  # clang reads no .gch
            return []
        subprocess.run([compiler, "-x", "c++-header", *flags, str(header), "-o",
                        f"{header}.gch"], check=True, capture_output=True, timeout=300)
        # -Winvalid-pch -Werror: fails unless the compiler really loads the .gch
        subprocess.run([compiler, "-c", *[f for f in flags if f != "-w"], "-Winvalid-pch",
                        "-Werror", "-include", str(header), str(probe), "-o",
                        str(directory / "probe.o")], check=True, capture_output=True,
                       timeout=300)
    except (OSError, subprocess.SubprocessError):
        return []
    return [f"-include{header}"]  # one token: Brian2 checks its flags one by one


@pytest.fixture(scope="session", autouse=True)
def fast_brian2(tmp_path_factory):
    """Session-wide Brian2 settings that keep the suite fast from a cold cache.

    * The runtime device generates numpy code: Cython would compile each new code object
      (seconds each, hundreds of them in this suite); the numpy target runs the same
      equations and schedule. ``cython_codegen`` restores Cython for one test.
    * cpp_standalone builds keep Brian2's compiler flags (-O3 -ffast-math ...) and add a
      precompiled header of the standard library (see :func:`precompiled_header`).
    * Compiled projects go into a cache directory of this session unless a test picks its own
      (``standalone_dir``, ``shared_standalone_dir``), never into the user's ~/.cache.
    """
    prefs = brian2.prefs
    saved_target = prefs.codegen.target
    saved_flags = list(prefs.codegen.cpp.extra_compile_args_gcc)
    saved_env = {name: os.environ.get(name)
                 for name in ("BRAINCONV_CACHE", "BRAINCONV_TEST_SHARED_CACHE")}
    prefs.codegen.target = "numpy"
    pch = precompiled_header(tmp_path_factory.mktemp("pch"), saved_flags)
    prefs.codegen.cpp.extra_compile_args_gcc = saved_flags + pch
    os.environ["BRAINCONV_CACHE"] = str(tmp_path_factory.mktemp("brainconv_cache"))
    os.environ["BRAINCONV_TEST_SHARED_CACHE"] = str(tmp_path_factory.mktemp("shared_cache"))
    yield {"default_flags": saved_flags, "pch": pch}
    prefs.codegen.target = saved_target
    prefs.codegen.cpp.extra_compile_args_gcc = saved_flags
    for name, value in saved_env.items():
        os.environ.pop(name, None) if value is None else os.environ.update({name: value})


@pytest.fixture(autouse=True)
def _brian2_defaults_for_cuda(request, fast_brian2):
    """CUDA builds (nvcc) get Brian2's own compiler flags, without the precompiled header."""
    if request.node.get_closest_marker("gpu") or request.node.get_closest_marker(
            "cuda_compile"):
        flags = brian2.prefs.codegen.cpp.extra_compile_args_gcc
        brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(fast_brian2["default_flags"])
        yield
        brian2.prefs.codegen.cpp.extra_compile_args_gcc = flags
    else:
        yield


@pytest.fixture
def numpy_codegen():
    """Brian2's numpy code generation and a fresh scope for one test; the previous target comes
    back after."""
    previous = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    brian2.start_scope()
    yield
    brian2.prefs.codegen.target = previous


@pytest.fixture
def cython_codegen():
    """Brian2's default runtime code generation (Cython) for one test."""
    previous = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "cython"
    yield
    brian2.prefs.codegen.target = previous


def assert_labels_apart(ax, names):
    """Every name is drawn as a label, and no two labels (nor a label and the legend) overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text() in names]
    assert sorted(t.get_text() for t in labels) == sorted(names)
    boxes = []
    for label in labels:  # the text itself: an Annotation's own extent includes its leader
        label.update_positions(renderer)
        boxes.append(Text.get_window_extent(label, renderer))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    legend = ax.get_legend().get_window_extent()
    assert not any(box.overlaps(legend) for box in boxes)
