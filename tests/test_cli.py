"""The brainconv command line, end to end on the embedded digits dataset."""

import matplotlib
import xarray as xr

from brainconv.cli import main
from brainconv.compare import PARADIGMS
from brainconv.results import load_results

matplotlib.use("Agg")


def test_models_lists_registered_models(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "if_soft" in out and "if_hard" in out


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
    assert xr.load_dataset(compared, engine="scipy")["accuracy"].sizes["paradigm"] == len(PARADIGMS) + 1


def test_errors_are_reported_without_traceback(tmp_path, capsys):
    code = main(["run", "--ann", str(tmp_path / "missing.npz"), "--dataset", "digits"])
    assert code == 2
    err = capsys.readouterr().err
    assert "brainconv run: error:" in err and "missing.npz" in err


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
