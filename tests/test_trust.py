"""Trust under bad input: no silent wrong results, no lost work, errors that name the
real cause. One test per behaviour; each fails on the code before the fix."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from brainconv.ann import ANN, save_ann, train_ann
from brainconv.cli import main
from brainconv.comparison import compare
from brainconv.conversion import convert
from brainconv.data import load_dataset
from brainconv.equations import MODELS, NeuronModel
from brainconv.equations.integrate_and_fire import soft_reset_rate, soft_reset_step
from brainconv.errors import ModelError, ParameterError, SimulationError
from brainconv.simulation import StandaloneProject, check_memory, simulate

from conftest import small_ann

REPO = Path(__file__).resolve().parents[1]


def _labels(x):
    return np.arange(len(x)) % 3


# 1. Stale checkpoints -------------------------------------------------------------------------

def test_checkpoint_of_another_ann_is_not_reused(tmp_path, small_inputs):
    first = small_ann(seed=0)
    other = ANN(first.weights[:-1] + (-first.weights[-1],), first.biases)  # other predictions
    labels = _labels(small_inputs)
    seen = []
    kwargs = dict(calibration=small_inputs, x=small_inputs, labels=labels, steps=15, target=0.3,
                  paradigms=["rate_soft"], device="numpy", checkpoint_dir=tmp_path,
                  progress=lambda name, reused: seen.append(reused))
    compare(first, **kwargs)
    fresh = compare(other, **{**kwargs, "checkpoint_dir": None})
    again = compare(other, **kwargs)
    assert seen == [False, False, False]  # `other` recomputed: `first`'s file is not reused
    np.testing.assert_array_equal(again["accuracy_over_time"], fresh["accuracy_over_time"])
    compare(other, **kwargs)
    assert seen == [False, False, False, True]  # the very same inputs are reused
    changed_data = compare(other, **{**kwargs, "x": small_inputs[:-1], "labels": labels[:-1]})
    assert seen[-1] is False and changed_data.attrs["n_samples"] == len(small_inputs) - 1


# 2. Parameter overrides -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"parameters": {"theta": -1}}, "threshold="),
    ({"parameters": {"theta": "abc"}}, "threshold="),
    ({"model": "accumulator", "parameters": {"k": "ten"}}, "'k' of model 'accumulator'.*'ten'"),
    ({"model": "lif", "parameters": {"R": "10"}}, "'R' of model 'lif'.*'10'"),
    ({"threshold": "abc"}, "threshold must be a finite number"),
    ({"threshold": -1}, "threshold must be a positive number"),
    ({"model": None}, "model must be a model name"),
])
def test_bad_overrides_are_parameter_errors(kwargs, message):
    error = ModelError if kwargs.get("model", "") is None else ParameterError
    with pytest.raises(error, match=message):
        convert(small_ann(), normalization="none", **kwargs)


def test_cli_param_theta_is_rejected_and_threshold_is_honoured(tmp_path, capsys):
    ann_file = tmp_path / "ann.npz"
    save_ann(small_ann(sizes=(64, 8, 10)), ann_file)
    base = ["run", "--ann", str(ann_file), "--dataset", "digits", "--device", "numpy",
            "--steps", "3", "--limit", "5", "--normalization", "none",
            "--out", str(tmp_path / "r.nc")]
    assert main(base + ["--param", "theta=-1"]) == 2
    captured = capsys.readouterr()
    assert "--threshold" in captured.err and "loading" not in captured.out
    assert main(base + ["--threshold", "-1"]) == 2
    assert "threshold must be a positive number" in capsys.readouterr().err


# 4. Calibration and sample counts -------------------------------------------------------------

def test_calibration_that_cannot_calibrate():
    ann = small_ann()
    with pytest.raises(ParameterError, match="NaN or inf in 4 of its 4 rows"):
        convert(ann, data=np.full((4, 12), np.nan))
    with pytest.raises(ParameterError, match="0 calibration samples"):
        convert(ann, data=np.zeros((0, 12)), normalization="max")


@pytest.mark.parametrize("device", ["numpy", "runtime"])
def test_zero_test_samples_are_refused(small_spec, device):
    with pytest.raises(ParameterError, match="0 input rows"):
        simulate(small_spec, np.zeros((0, 12)), np.zeros(0, int), 5, device=device)


def test_cli_calibration_zero(tmp_path, capsys):
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--calibration", "0", "--out", str(tmp_path / "r.nc")]) == 2
    assert "--calibration must be >= 1" in capsys.readouterr().err


# 5. Output paths are checked before the work ---------------------------------------------------

@pytest.mark.parametrize("option", ["--out", "--plot"])
def test_run_checks_output_paths_before_simulating(tmp_path, capsys, option):
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    paths = {"--out": str(tmp_path / "r.nc"), "--plot": str(tmp_path / "a.png")}
    paths[option] = str(tmp_path / "no_such_dir" / "file")
    code = main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--device", "numpy", "--out", paths["--out"], "--plot", paths["--plot"]])
    captured = capsys.readouterr()
    assert code == 2 and "loading" not in captured.out
    assert f"{option} " in captured.err and "does not exist" in captured.err
    assert "Traceback" not in captured.err


def test_train_checks_out_before_training(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--out", str(tmp_path / "x" / "a.npz")]) == 2
    captured = capsys.readouterr()
    assert "training" not in captured.out and "does not exist" in captured.err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a read-only /proc")
def test_unwritable_folder_is_refused_before_work(tmp_path, capsys):
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--out", "/proc/self/r.nc"]) == 2
    captured = capsys.readouterr()
    assert "cannot be written" in captured.err and "loading" not in captured.out


def test_full_disk_at_save_time_is_one_line(tmp_path, capsys, monkeypatch):
    import xarray as xr

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", no_space)
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--device", "numpy", "--steps", "2", "--limit", "3",
                 "--out", str(tmp_path / "r.nc")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "brainconv run: error: No space left on device"
    assert not list(tmp_path.glob("*.part"))  # no temporary file left behind


# 6. Ctrl-C keeps what finished, and the same command resumes ---------------------------------

@pytest.mark.long
def test_interrupted_compare_resumes(tmp_path):
    x, y = load_dataset("digits", "train")
    save_ann(train_ann(x, y, hidden=(20,), epochs=1, seed=0), tmp_path / "ann.npz")
    command = [sys.executable, "-m", "brainconv.cli", "compare", "--ann",
               str(tmp_path / "ann.npz"), "--dataset", "digits", "--device", "numpy",
               "--steps", "400", "--limit", "200", "--out", str(tmp_path / "c.nc"),
               "--paradigms", "rate_soft", "accumulator", "ion", "len"]
    checkpoints = tmp_path / "c.nc.checkpoints"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    deadline = time.time() + 120
    while not list(checkpoints.glob("*.nc")) and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    kept = sorted(path.name for path in checkpoints.glob("*.nc"))
    assert kept and not (tmp_path / "c.nc").exists()
    rerun = subprocess.run(command[:-4] + ["rate_soft", "accumulator"], capture_output=True,
                           text=True, cwd=tmp_path, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "rate_soft: reusing the checkpoint" in rerun.stdout


# 7. Impossible sizes are refused up front ----------------------------------------------------

@pytest.mark.parametrize("device", ["numpy", "runtime", "cpp_standalone"])
def test_impossible_step_count_is_refused_before_work(small_spec, small_inputs, device):
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=r"1000000000 steps x 3 classes need about .* GiB"):
        simulate(small_spec, small_inputs, _labels(small_inputs), 10**9, device=device)
    assert time.perf_counter() - start < 5


def test_memory_check_names_the_numbers(small_spec):
    with pytest.raises(ParameterError, match="10 samples x 100 steps x 3 classes.*available"):
        check_memory(small_spec, 10, 100, available=1000)
    check_memory(small_spec, 10, 100, available=10**6)  # fits: no error


@pytest.mark.parametrize("steps", [None, float("inf"), float("nan"), "ten"])
def test_step_counts_that_are_no_number(small_spec, small_inputs, steps):
    with pytest.raises(ParameterError, match="steps must be a positive whole number"):
        simulate(small_spec, small_inputs, _labels(small_inputs), steps, device="numpy")


# 8./13. Compile notice only when compiling, progress, and a damaged cache is rebuilt ----------

@pytest.mark.standalone
@pytest.mark.long
def test_compile_notice_progress_and_damaged_binary(standalone_dir, small_spec, small_inputs,
                                                    capfd):
    labels = _labels(small_inputs)
    expected = simulate(small_spec, small_inputs, labels, 8, device="numpy")
    messages = []
    first = simulate(small_spec, small_inputs, labels, 8, device="cpp_standalone",
                     batch_size=4, notify=messages.append, progress=True)
    assert any("compiling the cpp_standalone project" in m for m in messages)
    assert "simulating 10 samples" in capfd.readouterr().err  # the binary's progress line
    np.testing.assert_array_equal(first.output_spikes, expected.output_spikes)

    project = StandaloneProject._current
    StandaloneProject._current = None  # as a new process would find it
    messages.clear()
    simulate(small_spec, small_inputs, labels, 8, device="cpp_standalone", batch_size=4,
             notify=messages.append)
    assert not any("compiling" in m for m in messages)  # cached: no notice

    StandaloneProject._current = None
    (project.directory / "main").write_bytes(b"\0garbage")  # a truncated binary
    os.utime(project.directory / "main")  # newer than its objects: make keeps it
    repaired = simulate(small_spec, small_inputs, labels, 8, device="cpp_standalone",
                        batch_size=4, notify=messages.append)
    assert any("failed to run" in m and "building it again" in m for m in messages)
    np.testing.assert_array_equal(repaired.output_spikes, expected.output_spikes)


# 9. Brian2's root cause reaches the user ------------------------------------------------------

def test_typo_in_model_names_the_identifier_and_layer(small_inputs, monkeypatch):
    typo = NeuronModel("typo_if", "dv/dt = I / tua : 1\nI : 1\ntheta : 1 (shared, constant)",
                       "v >= theta", "v -= theta", {"theta": 1.0}, soft_reset_rate,
                       soft_reset_step)
    monkeypatch.setitem(MODELS, "typo_if", typo)  # made by hand: never validated
    spec = convert(small_ann(), model="typo_if", normalization="none")
    with pytest.raises(SimulationError) as info:
        simulate(spec, small_inputs, _labels(small_inputs), 3, device="runtime")
    message = str(info.value)
    assert 'identifier "tua" could not be resolved' in message
    assert "hidden1" in message and "typo_if" in message
    assert "compiler" not in message


# 10. cuda_standalone without a GPU -------------------------------------------------------------

def test_cuda_without_gpu_says_so(small_spec, small_inputs, tmp_path, capsys):
    from brainconv.devices.cuda_standalone import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SimulationError, match="no GPU was found.*cpp_standalone"):
        simulate(small_spec, small_inputs, _labels(small_inputs), 3, device="cuda_standalone")
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--device", "cuda_standalone", "--out", str(tmp_path / "r.nc")]) == 2
    captured = capsys.readouterr()
    assert "no GPU was found" in captured.err and "loading" not in captured.out


# 11./12. Arguments first; compare rejects options it would ignore; help shows defaults --------

@pytest.mark.parametrize("extra, message", [
    (["--model", "if_sofft"], "unknown neuron model 'if_sofft'"),
    (["--steps", "0"], "steps must be a positive whole number"),
    (["--target", "80"], "target must be an accuracy fraction"),
])
def test_run_validates_arguments_before_loading(tmp_path, capsys, extra, message):
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--out", str(tmp_path / "r.nc")] + extra) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "loading" not in captured.out and "compil" not in captured.out


@pytest.mark.parametrize("option", [["--model", "lif"], ["--param", "R=2"],
                                    ["--normalization", "none"], ["--percentile", "99"]])
def test_compare_rejects_options_it_would_ignore(option, capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "--ann", "a.npz"] + option)
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_help_shows_defaults_and_every_option_has_help(capsys):
    from brainconv.cli import _parser

    parser = _parser()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "(default: 100)" in out and "(default: cpp_standalone)" in out


def test_report_says_what_the_spike_rate_counts(tmp_path, capsys):
    save_ann(small_ann(sizes=(64, 8, 10)), tmp_path / "ann.npz")
    assert main(["run", "--ann", str(tmp_path / "ann.npz"), "--dataset", "digits",
                 "--device", "numpy", "--steps", "4", "--limit", "5", "--normalization",
                 "none", "--out", str(tmp_path / "r.nc")]) == 0
    capsys.readouterr()
    assert main(["report", str(tmp_path / "r.nc")]) == 0
    assert "averaged over samples and all 4 timesteps" in capsys.readouterr().out


# 17. The source tree imports as it stands ------------------------------------------------------

def test_source_tree_is_importable_without_the_installed_package(tmp_path):
    import shutil

    for folder in ("brainconv", "equations"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # Drop the editable-install finder, as after a plain (non-editable) `pip install .`.
    code = ("import sys; sys.meta_path = [f for f in sys.meta_path "
            "if 'Editable' not in getattr(f, '__name__', '')]; "
            "import brainconv.equations as e; print(e.__file__)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "equations" / "__init__.py")


# Two processes on one layout (the compile cache is shared) ------------------------------------

_SAME_LAYOUT = """
import sys
import numpy as np
sys.path.insert(0, {tests!r})
from conftest import small_ann
from brainconv.conversion import convert
from brainconv.simulation import simulate
x = np.round(np.random.default_rng(1).uniform(0, 1, (10, 12)) * 64) / 64
ds = simulate(convert(small_ann(), normalization="none"), x, np.zeros(10, int), 6,
              device="cpp_standalone", batch_size=4)
print(int(ds.output_spikes.sum()))
"""


@pytest.mark.slow  # a compile of its own; `pytest -m slow`
@pytest.mark.standalone
def test_two_processes_build_and_run_one_layout(tmp_path, small_spec, small_inputs):
    env = {**os.environ, "BRAINCONV_CACHE": str(tmp_path / "cache")}
    code = _SAME_LAYOUT.format(tests=str(REPO / "tests"))
    processes = [subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    expected = simulate(small_spec, small_inputs, np.zeros(10, int), 6, device="numpy")
    assert [int(out.split()[-1]) for out, _ in outputs] == [int(expected.output_spikes.sum())] * 2


def test_curand_is_found_in_a_cuda_toolkit_without_the_wheel(tmp_path, monkeypatch):
    """The device image has cuRAND in its CUDA toolkit (lib64), not as nvidia-curand."""
    import shutil
    import sys

    from brainconv.devices import cuda_standalone as gpu

    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "curand.h").write_text("")
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64" / "libcurand.so.10").write_text("")
    monkeypatch.setitem(sys.modules, "nvidia", None)  # import nvidia fails: no wheel
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CUDA_PATH", raising=False)
    assert gpu.curand_dir() is None
    monkeypatch.setenv("CUDA_PATH", str(tmp_path))
    assert gpu.curand_dir() == tmp_path


def test_results_into_a_missing_folder_name_the_folder(tmp_path, small_spec, small_inputs):
    """Not a bare FileNotFoundError on a hidden temporary name: the folder and the fix."""
    from brainconv.results import save_results

    ds = simulate(small_spec, small_inputs, np.zeros(len(small_inputs), int), 5, device="numpy")
    missing = tmp_path / "not_there"
    with pytest.raises(FileNotFoundError, match=r"cannot write r\.nc: the folder .*not_there "
                                                r"does not exist; create it first") as caught:
        save_results(ds, missing / "r.nc")
    assert caught.value.filename == str(missing) and not missing.exists()


@pytest.mark.standalone
@pytest.mark.long
def test_ctrl_c_while_compiling_stops_the_run_and_keeps_the_project(tmp_path):
    """A real SIGINT to the process group while make compiles: exit 130 and 'interrupted', no
    'damaged cache' rebuild and no compiler hint, and the half-built project stays for make to
    finish next time."""
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-c", "from brainconv.cli import console; raise SystemExit(console())",
         "demo", "--epochs", "1", "--hidden", "16", "--out", str(tmp_path / "demo")],
        cwd=tmp_path, env={**os.environ, "BRAINCONV_CACHE": str(cache)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(cache.glob("standalone/*/code_objects/*.o")):  # make is compiling
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert "interrupted" in err
    assert "deleting it" not in out + err and "C++ compiler" not in out + err
    [project] = [p for p in cache.glob("standalone/*") if p.is_dir()]
    assert any(project.glob("code_objects/*.cpp")) and not (project / "main").exists()


def test_text_is_not_taken_for_numbers(small_spec):
    """Weights or pixels read as strings are refused by name, not parsed silently."""
    with pytest.raises(ParameterError, match=r"ANN weights and biases must be numbers, got text "
                                             r"such as '1'"):
        ANN((np.array([["1", "2"]]),), (np.array(["0", "1"]),))
    pixels = np.full((2, small_spec.input_size), "0.5")
    with pytest.raises(ParameterError, match="the input must be numbers"):
        small_spec.input_currents(pixels)
    assert small_spec.input_currents(pixels.astype(float)).shape == (2, small_spec.layers[0].size)


def test_a_model_file_that_is_a_device_is_named_as_such():
    from brainconv.equations import load_model_file

    with pytest.raises(ModelError, match="'/dev/zero' is not a regular file"):
        load_model_file("/dev/zero")


def test_a_misspelt_model_parameter_gets_a_suggestion():
    from brainconv.conversion import convert

    with pytest.raises(ModelError, match=r"belong to none of the models \['ion'\].*did you "
                                         r"mean 'siez' -> 'size'\?"):
        convert(small_ann(), model="ion", normalization="none", parameters={"siez": 3})


def test_learning_and_spike_time_training_refuse_inputs_that_teach_nothing():
    """A negative input rate, no training sample or an infinite learning rate would hand back
    the initial weights as learned."""
    from brian2 import Hz

    from brainconv.learning import learn_kernels
    from brainconv.spiketime import train_bats

    patches = np.full((4, 9), 0.5)
    with pytest.raises(ParameterError, match=r"max_rate must be a positive rate .* got -200"):
        learn_kernels(patches, n_maps=2, device="runtime", max_rate=-200 * Hz)
    with pytest.raises(ParameterError, match="train_bats got 0 training samples"):
        train_bats(np.zeros((0, 4)), np.zeros(0, int), hidden=(3,), n_classes=2)
    with pytest.raises(ParameterError, match="a finite lr > 0; got 1, 0, inf"):
        train_bats(np.zeros((2, 4)), np.array([0, 1]), hidden=(3,), batch_size=1, epochs=0,
                   lr=np.inf)


def test_load_results_says_what_the_file_is_instead(tmp_path, small_spec, small_inputs):
    from brainconv.results import load_results

    not_netcdf = tmp_path / "ann.npz"
    np.savez(not_netcdf, a=1)
    with pytest.raises(Exception, match=r"ann\.npz: it is not a NetCDF3 file") as caught:
        load_results(not_netcdf)
    assert "netcdf4" not in str(caught.value).lower().replace("netcdf3", "")
    ann = small_ann()
    x = small_inputs
    result = compare(ann, x, x[:4], np.zeros(4, int), steps=5, target=0.5, device="numpy",
                     paradigms=["rate_soft"])
    from brainconv.comparison import save_comparison

    save_comparison(result, tmp_path / "cmp.nc")
    with pytest.raises(Exception, match="holds a comparison of paradigms.*load_comparison"):
        load_results(tmp_path / "cmp.nc")


def test_runtime_device_reports_progress_and_points_to_the_fast_path(small_spec, small_inputs,
                                                                      capsys):
    """With progress on, the runtime device says what it costs and Brian2 reports the
    simulated time on stderr, so a long runtime run is not silent."""
    messages = []
    simulate(small_spec, small_inputs, np.zeros(10, int), 5, device="runtime", batch_size=4,
             notify=messages.append, progress=True)
    assert any("device='cpp_standalone' is the fast path" in m for m in messages)
    assert "simulated" in capsys.readouterr().err  # Brian2's text report
