"""The cuda_standalone path: a compile-only check without a GPU, a real run with one."""

import numpy as np
import pytest

from brainconv.devices.cuda_standalone import gpu_available

brian2cuda = pytest.importorskip("brian2cuda", reason="brian2cuda is not installed")


def small_cnn_spec():
    from test_simulate import sparse_conv_spec

    return sparse_conv_spec()


def test_configure_cuda_bounds_make_jobs_and_avoids_the_redeclared_theta():
    from brian2 import prefs

    from brainconv.devices.cuda_standalone import configure_cuda

    saved = (prefs.codegen.loop_invariant_optimisations,
             list(prefs.devices.cpp_standalone.extra_make_args_unix))
    try:
        configure_cuda(compute_capability=9.0)
        assert prefs.codegen.loop_invariant_optimisations is False
        (jobs,) = prefs.devices.cpp_standalone.extra_make_args_unix
        assert jobs.startswith("-j") and int(jobs[2:]) >= 1  # "-j" alone is unbounded
    finally:
        prefs.codegen.loop_invariant_optimisations = saved[0]
        prefs.devices.cpp_standalone.extra_make_args_unix = saved[1]


@pytest.mark.cuda_compile
def test_cuda_project_of_small_cnn_compiles_without_gpu(standalone_dir):
    """Generates and compiles (nvcc) the CUDA project; several minutes on 2 cores."""
    from brainconv.devices.cuda_standalone import configure_cuda
    from brainconv.simulation import StandaloneProject

    configure_cuda(compute_capability=9.0)
    project = StandaloneProject(small_cnn_spec(), 5, 4, 2, device="cuda_standalone")
    assert (project.directory / "main").exists()
    assert any(project.directory.rglob("*.cu"))


def paradigm_mix_spec():
    """12-8-6-3 network with an ION, a LEN and a leaky accumulator layer: every mechanism the
    Think Fast models add (integrate code, member state, payloads, the spike meter)."""
    from brainconv.ann import ANN
    from brainconv.conversion import convert
    from conftest import small_ann

    ann = small_ann()
    ann = ANN(tuple(4 * w for w in ann.weights), tuple(4 * b for b in ann.biases))
    return convert(ann, model=["ion", "len", "leaky_accumulator"],
                   normalization="none", parameters={"size": 3, "R": 2.0})


@pytest.mark.cuda_compile
def test_cuda_project_of_ensembles_compiles_without_gpu(standalone_dir):
    from brainconv.devices.cuda_standalone import configure_cuda
    from brainconv.simulation import StandaloneProject

    configure_cuda(compute_capability=9.0)
    project = StandaloneProject(paradigm_mix_spec(), 5, 4, 2, device="cuda_standalone")
    assert (project.directory / "main").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs an NVIDIA GPU")
def test_cuda_ensembles_equal_numpy_reference(standalone_dir):
    from brainconv.simulation import run_network

    x = np.round(np.random.default_rng(3).uniform(0, 1, (7, 12)) * 64) / 64
    reference = run_network(paradigm_mix_spec(), x, 15, device="numpy")
    result = run_network(paradigm_mix_spec(), x, 15, device="cuda_standalone", batch_size=3)
    for key in reference:
        np.testing.assert_array_equal(result[key], reference[key], err_msg=key)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs an NVIDIA GPU")
def test_cuda_standalone_equals_numpy_reference(standalone_dir):
    from brainconv.simulation import run_network

    spec = small_cnn_spec()
    x = np.round(np.random.default_rng(2).uniform(0, 1, (5, 36)) * 64) / 64
    reference = run_network(spec, x, 15, device="numpy")
    result = run_network(spec, x, 15, device="cuda_standalone", batch_size=2)
    for key in reference:
        np.testing.assert_array_equal(result[key], reference[key], err_msg=key)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs an NVIDIA GPU")
def test_cuda_fs_network_equals_numpy_reference(standalone_dir):
    """Few-spike neurons: per-step threshold, reset and payload tables on the GPU."""
    from test_fs import K, _two_layer

    from brainconv.simulation import run_network

    _, spec, x = _two_layer(seed=1)
    reference = run_network(spec, x, 2 * K, device="numpy")
    result = run_network(spec, x, 2 * K, device="cuda_standalone", batch_size=4)
    for key in reference:
        np.testing.assert_array_equal(result[key], reference[key], err_msg=key)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs an NVIDIA GPU")
def test_cuda_lif_alpha_network_equals_numpy_reference(standalone_dir):
    """Continuous time: LIF layers, alpha synapses and a filtered readout at dt = 0.5 ms."""
    import brian2
    from test_continuous import assert_same_spikes, softlif_ann

    from brainconv.conversion import convert
    from brainconv.simulation import run_network

    spec = convert(softlif_ann((6, 8, 5, 3)), model="lif_rc", normalization="none",
                   synapse="alpha", synapse_parameters={"tau_s": 2 * brian2.ms},
                   readout="filtered")
    x = np.random.default_rng(5).uniform(0, 1, (5, 6))
    reference = run_network(spec, x, 60, device="numpy", dt=0.5)
    result = run_network(spec, x, 60, device="cuda_standalone", batch_size=2, dt=0.5)
    assert_same_spikes(result, reference)
