"""Tests of brainconv.results: dataset layout, validation, NetCDF round trip and chunk merging."""

import numpy as np
import pytest
import xarray as xr

from brainconv import __version__
from brainconv.errors import DataError, ParameterError, ShapeError
from brainconv.results import concat_results, load_results, make_dataset, save_results

N, T, C = 6, 5, 3
NAMES, SIZES = ["conv1", "dense"], [4, 3]


def arrays(seed=0):
    """Random but consistent inputs of make_dataset (payload counts up to 3)."""
    rng = np.random.default_rng(seed)
    return dict(
        output_spikes=rng.integers(0, 4, size=(N, T, C)),
        labels=rng.integers(0, C, size=N),
        layer_spikes=rng.integers(0, 50, size=(len(NAMES), T)).astype(float),
        unit_spike_count=rng.integers(0, 20, size=sum(SIZES)),
        layer_names=NAMES,
        layer_sizes=SIZES,
        attrs={"paradigm": "rate", "dt_ms": 0.1, "seed": 7},
    )


@pytest.fixture
def ds():
    return make_dataset(**arrays())


# --- layout --------------------------------------------------------------------------------------


def test_layout(ds):
    a = arrays()
    assert dict(ds.sizes) == {"sample": N, "time": T, "class": C, "layer": 2, "neuron": 7}
    assert ds["output_spikes"].dims == ("sample", "time", "class")
    assert ds["output_spikes"].dtype == np.int16
    np.testing.assert_array_equal(ds["output_spikes"], a["output_spikes"])
    np.testing.assert_array_equal(ds["sample"], np.arange(N))
    np.testing.assert_array_equal(ds["time"], np.arange(1, T + 1))
    assert ds["time"].attrs["units"] == "timestep"
    np.testing.assert_array_equal(ds["class"], np.arange(C))
    assert ds["layer"].values.tolist() == NAMES
    assert ds["neuron_layer"].values.tolist() == ["conv1"] * 4 + ["dense"] * 3
    assert ds["neuron_unit"].values.tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert ds["layer_size"].values.tolist() == SIZES
    np.testing.assert_array_equal(ds["unit_spike_count"], a["unit_spike_count"])
    for name in [*ds.data_vars, *ds.coords]:
        assert {"long_name", "units"} <= set(ds[name].attrs), name
    assert ds.attrs == {"paradigm": "rate", "dt_ms": 0.1, "seed": 7,
                        "brainconv_version": __version__, "n_samples": N, "n_steps": T}


def test_prediction_ties_go_to_lowest_class():
    out = np.zeros((3, 2, 3), dtype=int)
    out[1, 0, 2] = out[1, 1, 1] = 1  # totals [0, 1, 1]: tie between 1 and 2
    out[2, 0, 2] = 2  # payload count > 1
    ds = make_dataset(out, [0, 1, 2], np.zeros((1, 2)), np.zeros(2), ["l"], [2])
    assert ds["prediction"].values.tolist() == [0, 1, 2]  # no spikes at all -> class 0


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, value, message", [
    ("output_spikes", np.zeros((N, T)), r"output_spikes must have shape \(n_sample, n_time, "
                                        r"n_class\).*got \(6, 5\)"),
    ("labels", np.zeros(N - 1), r"labels must have shape \(n_sample,\) = \(6,\), got \(5,\)"),
    ("layer_spikes", np.zeros((2, T + 1)),
     r"layer_spikes must have shape \(n_layer, n_time\) = \(2, 5\), got \(2, 6\)"),
    ("unit_spike_count", np.zeros(6),
     r"unit_spike_count must have shape \(sum\(layer_sizes\),\) = \(7,\), got \(6,\)"),
    ("layer_sizes", [4, 3, 1], r"layer_sizes must have shape \(n_layer,\) = \(2,\), got \(3,\)"),
])
def test_shape_errors(name, value, message):
    with pytest.raises(ShapeError, match=message):
        make_dataset(**{**arrays(), name: value})


@pytest.mark.parametrize("name, value, message", [
    ("output_spikes", np.full((N, T, C), 40000), r"\[0, 32767\] to be stored as int16"),
    ("output_spikes", np.full((N, T, C), -1), r"\[0, 32767\]"),
    ("output_spikes", np.full((N, T, C), 0.5), "whole numbers"),
    ("labels", np.full(N, C), r"labels must lie in \[0, 2\]"),
    ("layer_names", ["a", "a"], "unique"),
    ("layer_spikes", np.full((2, T), np.nan), "layer_spikes must be finite and non-negative"),
])
def test_value_errors(name, value, message):
    with pytest.raises(ParameterError, match=message):
        make_dataset(**{**arrays(), name: value})


def test_attrs_are_checked_and_converted():
    ds = make_dataset(**{**arrays(), "attrs": {"flag": True, "v_reset": None,
                                               "n": np.int64(3), "n_samples": 99}})
    assert ds.attrs["flag"] == 1 and type(ds.attrs["flag"]) is int
    assert ds.attrs["v_reset"] == "none"
    assert type(ds.attrs["n"]) is int
    assert ds.attrs["n_samples"] == N  # reserved: always set by make_dataset
    with pytest.raises(ParameterError, match="attribute 'layers' has type list"):
        make_dataset(**{**arrays(), "attrs": {"layers": [1, 2]}})
    with pytest.raises(ParameterError, match="'seed' .* does not fit in 32 bits"):
        make_dataset(**{**arrays(), "attrs": {"seed": 2**40}})


# --- NetCDF ------------------------------------------------------------------------------------


def test_round_trip(ds, tmp_path):
    path = tmp_path / "run.nc"
    assert save_results(ds, path) == path
    save_results(ds, str(path))  # replacing an existing file works
    loaded = load_results(path)
    assert loaded.identical(ds)
    assert loaded["layer"].values.tolist() == NAMES
    assert loaded["neuron_layer"].values.tolist() == ["conv1"] * 4 + ["dense"] * 3
    types = {k: type(v) for k, v in ds.attrs.items()}
    assert {k: type(v) for k, v in loaded.attrs.items()} == types
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    path.unlink()  # the data were loaded into memory and the file closed
    assert int(loaded["output_spikes"].sum()) == int(ds["output_spikes"].sum())


def test_load_errors(tmp_path):
    missing = tmp_path / "missing.nc"
    with pytest.raises(DataError, match="missing.nc not found"):
        load_results(missing)
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"not a netcdf file" * 10)
    with pytest.raises(DataError, match="cannot read results file .*garbage.nc"):
        load_results(garbage)
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(other, engine="scipy")
    with pytest.raises(DataError, match="not a brainconv results file: missing output_spikes"):
        load_results(other)


# --- merging chunks ------------------------------------------------------------------------------


def split(a, stop, part):
    """Inputs of make_dataset for samples [0, stop) (part 0) or [stop, N) (part 1)."""
    rows = slice(0, stop) if part == 0 else slice(stop, N)
    # Any split of the summed totals works as long as the parts add up to the whole.
    share = 0.25 if part == 0 else 0.75
    return {**a, "output_spikes": a["output_spikes"][rows], "labels": a["labels"][rows],
            "layer_spikes": a["layer_spikes"] * share,
            "unit_spike_count": a["unit_spike_count"] * share}


def test_concat_equals_whole(ds):
    a = arrays()
    chunks = [make_dataset(**split(a, 2, 0)), make_dataset(**split(a, 2, 1))]
    merged = concat_results(chunks)
    assert merged.identical(ds)
    assert list(merged.data_vars) == list(ds.data_vars)


def test_concat_keeps_common_attrs_and_checks_layout(ds):
    a = arrays()
    first = make_dataset(**{**split(a, 3, 0), "attrs": {**a["attrs"], "chunk": 0}})
    second = make_dataset(**{**split(a, 3, 1), "attrs": {**a["attrs"], "chunk": 1}})
    merged = concat_results([first, second])
    assert "chunk" not in merged.attrs and merged.attrs["n_samples"] == N
    other = make_dataset(**{**a, "layer_names": ["conv1", "fc"]})
    with pytest.raises(ShapeError, match="dataset 1 differs from dataset 0 in 'layer'"):
        concat_results([ds, other])
    with pytest.raises(ParameterError, match="at least one"):
        concat_results([])


def test_datasets_do_not_import_dask_until_a_dask_array_exists(tmp_path):
    """make_dataset and save_results leave dask unimported (~1 s of every run); once it is
    imported, xarray still recognises dask arrays (a second interpreter: this one may have
    dask)."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from brainconv.results import make_dataset
from brainconv.results import save_results
ds = make_dataset(np.zeros((2, 3, 4), np.int16), np.array([0, 1]), np.zeros((1, 3)),
                  np.zeros(4), ["out"], [4])
save_results(ds, sys.argv[1])
print("dask imported:", [name for name in sys.modules
                         if name.split(".")[0] in ("dask", "distributed")])
import dask.array
import xarray as xr
array = xr.DataArray(dask.array.zeros((4,), chunks=2))
print("chunks:", array.chunks)
"""
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.nc")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "dask imported: []" in done.stdout
    assert "chunks: ((2, 2),)" in done.stdout
