"""The brainconv command line, end to end on the embedded digits dataset."""

import sys

import matplotlib
import numpy as np
import xarray as xr

from brainconv.cli import main
from brainconv.comparison import PARADIGMS
from brainconv.results import load_results

matplotlib.use("Agg")


def test_models_lists_registered_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "if_soft" in out and "if_hard" in out
    # Synapse and plastic synapse models are listed too, each under its heading.
    synapses, plastic = out.index("synapse models (--synapse):"), out.index("plastic synapse")
    assert out.index("  alpha ") > synapses and out.index("  pair_stdp ") > plastic
    assert out.index("  if_soft ") < synapses


def test_demo_then_report(tmp_path, capsys):
    results = tmp_path / "demo" / "results.nc"
    plot = tmp_path / "acc.png"
    code = main(["demo", "--epochs", "3", "--hidden", "40", "--device", "numpy", "--steps", "30",
                 "--out", str(results), "--plot", str(plot), "--target", "0.5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "epoch   3/3" in out and "timesteps to reach 50.00 %" in out
    ds = load_results(results)
    assert ds.sizes["time"] == 30 and ds.attrs["dataset"] == "digits"
    assert plot.stat().st_size > 0 and (tmp_path / "demo" / "ann.npz").exists()
    # a network that learned something beats chance at the end of the run
    assert float((ds.prediction == ds.label).mean()) > 0.5

    assert main(["report", str(results), "--target", "1.0"]) == 0
    assert "timesteps to reach 100.00 %: not reached within 30 steps" in capsys.readouterr().out

    compared = tmp_path / "compare.nc"
    assert main(["compare", "--ann", str(tmp_path / "demo" / "ann.npz"), "--dataset", "digits",
                 "--device", "numpy", "--steps", "20", "--target", "0.5", "--limit", "60",
                 "--out", str(compared), "--plot", str(tmp_path / "pareto.png")]) == 0
    out = capsys.readouterr().out
    assert "| paradigm | accuracy % | timesteps to 50.00 % |" in out and "| accumulator |" in out
    # every paradigm but lif_alpha (a soft-LIF ANN's), and the ANN
    assert xr.load_dataset(compared, engine="scipy")["accuracy"].sizes["paradigm"] == len(PARADIGMS)


def test_errors_are_reported_without_traceback(tmp_path, capsys):
    code = main(["run", "--ann", str(tmp_path / "missing.npz"), "--dataset", "digits"])
    assert code == 2
    err = capsys.readouterr().err
    assert "brainconv run: error:" in err and "missing.npz" in err


def test_processes_are_checked_before_anything_is_loaded(tmp_path, capsys):
    """--processes applies to cpp_standalone and must be a count; the ANN named is missing,
    so an error about it would mean the check came too late."""
    missing = str(tmp_path / "missing.npz")
    assert main(["run", "--ann", missing, "--dataset", "digits", "--device", "numpy",
                 "--processes", "2"]) == 2
    assert "processes=2 applies to device='cpp_standalone'" in capsys.readouterr().err
    assert main(["run", "--ann", missing, "--dataset", "digits", "--processes", "0"]) == 2
    assert "processes must be a positive integer" in capsys.readouterr().err


def test_run_takes_model_parameters(tmp_path, capsys):
    assert main(["demo", "--epochs", "2", "--hidden", "20", "--steps", "5", "--device", "numpy",
                 "--model", "ion", "--param", "size=5", "--normalization", "none",
                 "--out", str(tmp_path / "r.nc"), "--plot", str(tmp_path / "a.png")]) == 0
    assert main(["demo", "--epochs", "1", "--hidden", "10", "--steps", "3", "--device", "numpy",
                 "--model", "ion", "--param", "size=4",
                 "--out", str(tmp_path / "r.nc"), "--plot", str(tmp_path / "a.png")]) == 2
    assert "ION ensemble size must be an odd integer" in capsys.readouterr().err
    assert main(["demo", "--epochs", "1", "--hidden", "10", "--model", "lif", "--param", "R=ten",
                 "--out", str(tmp_path / "r.nc"), "--plot", str(tmp_path / "a.png")]) == 2
    assert "expected NAME=NUMBER" in capsys.readouterr().err


MODEL_FILE = '''
import brian2
from brainconv.equations.user import define_model

define_model("file_lif", """
dv/dt = -v / tau : 1
x : 1
I : 1
theta : 1 (shared, constant)
tau : second (shared, constant)
""", threshold="v >= theta", reset="v = 0", integrate="v += I + x\\nx = 0",
    input_variable="x", parameters={"tau": 20 * brian2.ms})
'''


def test_model_file_from_the_command_line(tmp_path, capsys):
    from brainconv.ann import save_ann
    from brainconv.equations import unregister_model

    from conftest import small_ann

    (tmp_path / "my_models.py").write_text(MODEL_FILE)
    try:
        assert main(["models", "--model-file", str(tmp_path / "my_models.py")]) == 0
        assert "file_lif" in capsys.readouterr().out
        save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
        run = ["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits", "--steps", "5",
               "--limit", "4", "--normalization", "none", "--out", str(tmp_path / "r.nc"),
               "--model-file", str(tmp_path / "my_models.py"), "--model", "file_lif"]
        assert main(run + ["--device", "numpy"]) == 2  # no numpy step: says so, suggests C++
        assert "device='cpp_standalone'" in capsys.readouterr().err
        assert main(run + ["--device", "runtime"]) == 0
        assert load_results(tmp_path / "r.nc").attrs["model"].startswith("file_lif")
    finally:
        unregister_model("file_lif")


def test_run_profile_prints_the_stages(tmp_path, capsys):
    assert main(["demo", "--epochs", "1", "--hidden", "12", "--steps", "5", "--device",
                 "runtime", "--limit", "10", "--profile", "--out", str(tmp_path / "r.nc"),
                 "--plot", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    for stage in ("import brainconv", "import brian2", "load the ANN and data, convert",
                  "simulate() in all", "writing the results file", "total"):
        assert stage in out


def test_bias_free_training_and_poisson_encoding_from_the_command_line(tmp_path, capsys):
    from brainconv.ann import load_ann

    assert main(["demo", "--epochs", "1", "--hidden", "12", "--steps", "20", "--device",
                 "numpy", "--limit", "20", "--no-biases", "--encoding", "poisson",
                 "--out", str(tmp_path / "r.nc"), "--plot", str(tmp_path / "a.png")]) == 0
    ann = load_ann(tmp_path / "ann.npz")
    assert all(not b.any() for b in ann.biases) and any(w.any() for w in ann.weights)
    ds = load_results(tmp_path / "r.nc")
    assert list(ds.layer.values)[0] == "input" and "poisson" in ds.attrs["model"]
    assert ds.layer_spikes.sel(layer="input").sum() > 0


def test_spike_norm_from_the_command_line(tmp_path, capsys):
    # Refused before training when the ANN would have biases ...
    assert main(["demo", "--epochs", "1", "--hidden", "12", "--device", "numpy",
                 "--normalization", "spike_norm", "--out", str(tmp_path / "r.nc")]) == 2
    assert "needs a bias-free ANN" in capsys.readouterr().err
    # ... and a bias-free ANN is balanced on Poisson spikes seeded by --seed.
    assert main(["demo", "--epochs", "1", "--hidden", "12", "--steps", "20", "--device",
                 "numpy", "--limit", "20", "--no-biases", "--encoding", "poisson",
                 "--normalization", "spike_norm", "--calibration", "30",
                 "--calibration-steps", "20", "--out", str(tmp_path / "r.nc"),
                 "--plot", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    assert "spike-norm: 30 training images x 20 steps of poisson input" in out
    assert "spike-norm thresholds per layer: hidden1 " in out and ", output " in out
    ds = load_results(tmp_path / "r.nc")
    assert ds.attrs["normalization"] == "spike_norm"
    # a trained ANN with biases is refused by `run` before any data is loaded
    import numpy as np

    from brainconv.ann import ANN, save_ann

    save_ann(ANN((np.ones((64, 3)), np.ones((3, 10))), (np.ones(3), np.zeros(10))),
             tmp_path / "biased.npz")
    assert main(["run", "--ann", str(tmp_path / "biased.npz"), "--dataset", "digits",
                 "--device", "numpy", "--normalization", "spike_norm",
                 "--out", str(tmp_path / "b.nc")]) == 2
    err = capsys.readouterr().err
    assert "needs a bias-free ANN" in err and "layer(s) [0]" in err


def test_ann_accuracy_is_cached_for_the_same_ann_and_data_only(tmp_path, monkeypatch):
    from brainconv.ann import ANN
    from brainconv.provenance import ann_accuracy as _ann_accuracy
    from conftest import small_ann

    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path))
    ann = small_ann()
    x = np.random.default_rng(0).uniform(0, 1, (50, 12))
    y = ann.predict(x)
    assert _ann_accuracy(ann, x, y) == 1.0
    passes = []
    forward = ANN.forward
    monkeypatch.setattr(ANN, "forward", lambda *a, **k: passes.append(1) or forward(*a, **k))
    assert _ann_accuracy(ann, x, y) == 1.0 and passes == []  # from the cache
    other = (y + 1) % 3  # other labels, same images: not the cached value
    assert _ann_accuracy(ann, x, other) == 0.0 and passes == [1]
    assert _ann_accuracy(small_ann(seed=4), x, y) < 1.0 and passes == [1, 1]


def test_console_script_returns_the_status_and_freezes_the_heap(monkeypatch, capsys):
    import gc

    from brainconv.cli import console

    monkeypatch.setattr(sys, "argv", ["brainconv", "models"])
    try:
        assert console() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process goes on collecting
    assert "if_soft" in capsys.readouterr().out


def test_run_warns_when_the_ann_was_trained_on_other_data(tmp_path, capsys):
    """An ANN whose training record names other data is run with a warning that says so, and
    its accuracy line says on how many test samples it was measured."""
    from brainconv.ann import ANN, save_ann
    from conftest import small_ann

    base = small_ann(sizes=(64, 8, 10))
    save_ann(ANN(base.weights, base.biases, training={"data": "mnist", "seed": 0}),
             tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--device", "numpy", "--steps", "5", "--limit", "12", "--normalization",
                 "none", "--out", str(tmp_path / "r.nc")]) == 0
    out = capsys.readouterr().out
    assert "trained on 'mnist' and runs here on 'digits'" in out
    assert "pass --dataset mnist" in out
    assert "ANN accuracy on the 12 test samples run:" in out
    assert load_results(tmp_path / "r.nc").attrs["ann_training"] == "data=mnist, seed=0"
