"""Parameter sweeps on Dask (brainconv.sweep, `brainconv sweep`).

One real LocalCluster (2 worker processes, numpy device: no C++ compile) serves the module;
the resume test runs a sweep in a subprocess, kills it with SIGKILL and reruns it.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brainconv.errors import ParameterError
from brainconv.sweep import check_config, load_config, plan, point_path, run_sweep

distributed = pytest.importorskip("distributed")

CONFIG = """
[sweep]
datasets = ["digits"]
seeds = [0, 1]
steps = {steps}
samples = {samples}
calibration = 200
device = "numpy"
target = 0.5
out = "out"

[ann]
hidden = [16]
epochs = 2

[[paradigm]]
name = "acc"
model = "accumulator"
normalization = "none"
parameters = {{ k = {k} }}
"""


def write_config(folder, steps=10, samples=30, k="[1, 10]", seeds=None):
    path = Path(folder) / "sweep.toml"
    text = CONFIG.format(steps=steps, samples=samples, k=k)
    if seeds is not None:
        text = text.replace("seeds = [0, 1]", f"seeds = {seeds}")
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def client():
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    with cluster, distributed.Client(cluster) as dask:
        yield dask


def direct(point):
    """The same point computed in this process with the public API, no Dask."""
    from brainconv.ann import train_ann
    from brainconv.analysis import accuracy_over_time
    from brainconv.conversion import convert
    from brainconv.data import load_dataset
    from brainconv.simulation import simulate

    x_train, y_train = load_dataset("digits", "train")
    x, y = load_dataset("digits", "test")
    x, y = x[:point["samples"]], y[:point["samples"]]
    ann = train_ann(x_train, y_train, hidden=(16,), epochs=2, seed=point["seed"])
    variant = point["variant"]
    spec = convert(ann, model=variant["model"], data=x_train[:200], normalization="none",
                   parameters=variant["parameters"])
    return accuracy_over_time(simulate(spec, x, y, point["steps"], device="numpy")).values


def test_sweep_on_local_cluster_combines_points(tmp_path, client):
    config = load_config(write_config(tmp_path))
    result = run_sweep(config, client=client, progress=False, notify=lambda message: None)
    assert list(result["variant"].values) == ["acc[k=1]", "acc[k=10]"]
    assert list(result["dataset"].values) == ["digits"]
    assert list(result["seed"].values) == [0, 1]
    assert list(result["param_k"].values) == [1, 10]
    assert list(result["paradigm"].values) == ["acc", "acc"]
    assert result["accuracy_over_time"].dims == ("variant", "dataset", "seed", "time")
    assert result.sizes["time"] == 10
    assert result.attrs["n_computed"] == 4 and int(result["failed"].sum()) == 0
    assert (tmp_path / "out" / "sweep.nc").is_file()
    points = plan(config)
    assert all(point_path(config["sweep"]["out"], point).is_file() for point in points)
    for point in points:
        curve = result["accuracy_over_time"].sel(
            variant=point["variant"]["label"], dataset="digits", seed=point["seed"]).values
        np.testing.assert_array_equal(curve, direct(point))
        assert float(result["accuracy"].sel(variant=point["variant"]["label"], dataset="digits",
                                            seed=point["seed"])) == curve[-1]
    # A second run reuses every point; a changed setting (steps) is a new set of points.
    again = run_sweep(config, client=client, progress=False, notify=lambda message: None)
    assert (again.attrs["n_reused"], again.attrs["n_computed"]) == (4, 0)
    assert {p["key"] for p in plan(load_config(write_config(tmp_path, steps=11)))}.isdisjoint(
        p["key"] for p in points)


def test_failing_point_is_recorded_and_the_others_finish(tmp_path, client, capsys, recwarn):
    path = write_config(tmp_path, k="[0, 5]", seeds="[0]")
    config = load_config(path)
    result = run_sweep(config, client=client, progress=False, notify=lambda message: None)
    assert result["failed"].values.ravel().tolist() == [1, 0]
    error = str(result["error"].sel(variant="acc[k=0]", dataset="digits", seed=0).values)
    assert "k (maximum spikes per timestep of 'accumulator') must be an integer >= 1" in error
    assert np.isnan(float(result["accuracy"].sel(variant="acc[k=0]").squeeze()))
    assert 0 < float(result["accuracy"].sel(variant="acc[k=5]").squeeze()) <= 1
    failed = point_path(config["sweep"]["out"], plan(config)[0]).with_suffix(".failed.json")
    assert "must be an integer >= 1" in json.loads(failed.read_text())["error"]
    # The command saves what it computed but does not end as a success.
    from brainconv.cli import main

    capsys.readouterr()
    with socket.socket() as busy:  # Dask's default dashboard port, taken
        try:
            busy.bind(("127.0.0.1", 8787))
            busy.listen()
        except OSError:
            pass  # taken already: the case under test as well
        assert main(["sweep", str(path), "--workers", "1"]) == 2
    output = capsys.readouterr()
    assert "1 point(s) failed" in output.err
    # The sweep's own cluster takes a free port: no "Port 8787 is already in use" warning.
    assert "8787" not in output.out + output.err
    assert not [w for w in recwarn if "already in use" in str(w.message)]
    assert (Path(config["sweep"]["out"]) / "sweep.nc").is_file()


@pytest.mark.long
def test_killed_sweep_resumes_without_recomputing(tmp_path, client):
    config_path = write_config(tmp_path, steps=60, samples=300)
    config = load_config(config_path)
    points = plan(config)
    files = [point_path(config["sweep"]["out"], point) for point in points]
    process = subprocess.Popen(
        [sys.executable, "-m", "brainconv.cli", "sweep", str(config_path), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(f.exists() for f in files) and process.poll() is None:
            assert time.monotonic() < deadline, "no point finished within 120 s"
            time.sleep(0.05)
    finally:  # SIGKILL the sweep with its LocalCluster (its own process group)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished = {f: f.stat().st_mtime_ns for f in files if f.exists()}
    assert 1 <= len(finished) < len(files), "the sweep was not killed midway"
    result = run_sweep(config, client=client, progress=False, notify=lambda message: None)
    assert all(f.exists() for f in files)
    assert {f: f.stat().st_mtime_ns for f in finished} == finished  # reused, not rewritten
    assert result.attrs["n_reused"] == len(finished)
    assert result.attrs["n_computed"] == len(files) - len(finished)
    assert int(result["failed"].sum()) == 0


@pytest.mark.parametrize("change, fragments", [
    ({"sweep": {"step": 3}}, ["[sweep] step = 3: expected one of the keys datasets, seeds, steps",
                             "did you mean 'steps'?"]),
    ({"sweep": {"steps": "10"}}, ["[sweep] steps = '10': expected an integer"]),
    ({"sweep": {"datasets": ["cifar"]}}, ["[sweep] datasets = 'cifar': expected one of mnist, "
                                          "fashion-mnist, digits"]),
    ({"sweep": {"device": "gpu"}}, ["[sweep] device = 'gpu': expected one of runtime"]),
    ({"paradigm": [{"name": "nope"}]}, ["[[paradigm]] name = 'nope': expected a known paradigm "
                                        "(rate_soft", "or give a model too"]),
    ({"paradigm": [{"name": "x", "model": "lfi"}]}, ["[[paradigm]] x: model = 'lfi': expected "
                                                     "a known model (", "if_soft"]),
    ({"paradigm": []}, ["[[paradigm]] = []: expected at least one [[paradigm]] table"]),
    ({"paradigm": [{"name": "rate_soft", "normalization": "l2"}]},
     ["rate_soft: normalization = 'l2': expected percentile, max or none"]),
    ({"anns": {}}, ["anns = {}: expected one of the tables sweep, ann, paradigm"]),
    ({"paradigm": [{"name": "lif", "parameters": {"R": []}}, {"name": "rate_soft"}]},
     ["lif: parameters.R = []: expected a value or a non-empty list (an empty list would drop "
      "the paradigm)"]),
    ({"paradigm": [{"name": "lif", "parameters": {"R": "ten"}}]},
     ["lif: parameters.R = 'ten': expected a number, a quantity string like \"20*ms\""]),
    ({"paradigm": [{"name": "rate_soft", "threshold": []}]},
     ["rate_soft: threshold = []: expected a value or a non-empty list"]),
])
def test_config_errors_name_key_value_and_fix(change, fragments):
    raw = {"sweep": {"datasets": ["digits"]}, "paradigm": [{"name": "rate_soft"}]}
    for table, value in change.items():
        raw[table] = {**raw.get(table, {}), **value} if isinstance(value, dict) else value
    with pytest.raises(ParameterError) as error:
        check_config(raw, where="cfg.toml")
    assert str(error.value).startswith("cfg.toml: ")
    for fragment in fragments:
        assert fragment in str(error.value)


def test_config_defaults_and_grid_expansion():
    config = check_config({"sweep": {"seeds": 3}, "paradigm": [
        {"name": "lif", "parameters": {"R": [2.0, 10.0]}, "threshold": [0.5, 1.0]},
        {"name": "rate_hard"}]})
    from brainconv.sweep import variants

    labels = [v["label"] for v in variants(config)]
    assert labels == ["lif[threshold=0.5, R=2.0]", "lif[threshold=0.5, R=10.0]",
                      "lif[threshold=1.0, R=2.0]", "lif[threshold=1.0, R=10.0]", "rate_hard"]
    assert config["sweep"]["seeds"] == [3] and config["sweep"]["datasets"] == ["digits"]
    assert variants(config)[0]["normalization"] == "none"  # the registered lif paradigm's


def test_cli_sweep_bad_input_exits_2(tmp_path, capsys):
    from brainconv.cli import main

    assert main(["sweep", str(tmp_path / "missing.toml")]) == 2
    assert "sweep config" in capsys.readouterr().err
    config = write_config(tmp_path)
    assert main(["sweep", str(config), "--workers", "2", "--scheduler", "tcp://x:1"]) == 2
    assert "not both" in capsys.readouterr().err
