"""Brian2 simulations against the numpy reference, the schedule, and input errors."""

import numpy as np
import pytest

from brainconv.ann import ANN
from brainconv.conversion import convert
from brainconv.errors import ParameterError, ShapeError
from brainconv.simulation import run_network, simulate


def assert_same_results(a, b):
    for key in ("output_spikes", "layer_spikes", "unit_spike_count"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_runtime_equals_numpy_reference(small_spec, small_inputs):
    reference = run_network(small_spec, small_inputs, 30, device="numpy")
    # batch_size 4 over 10 samples: three batches in time, the last one padded
    brian = run_network(small_spec, small_inputs, 30, device="runtime", batch_size=4)
    assert_same_results(brian, reference)
    assert reference["layer_spikes"].sum() > 0 and reference["output_spikes"].sum() > 0


def test_hard_reset_runtime_equals_numpy_reference(small_inputs):
    from conftest import small_ann

    spec = convert(small_ann(), model="if_hard", normalization="none")
    assert_same_results(run_network(spec, small_inputs, 20, device="runtime", batch_size=3),
                        run_network(spec, small_inputs, 20, device="numpy"))


def chain(n_layers):
    """A chain of single neurons with weight 1: a spike crosses every layer at once."""
    weights = tuple(np.ones((1, 1)) for _ in range(n_layers))
    return convert(ANN(weights, tuple(np.zeros(1) for _ in range(n_layers))),
                   normalization="none")


@pytest.mark.parametrize("device", ["numpy", "runtime"])
@pytest.mark.parametrize("n_layers", [2, 4])
def test_output_can_spike_in_first_timestep(device, n_layers):
    result = run_network(chain(n_layers), np.ones((1, 1)), 3, device=device)
    np.testing.assert_array_equal(result["output_spikes"][0, :, 0], [1, 1, 1])


#: The layout of every cpp_standalone test of the 12-8-6-3 network: 10 samples in 3 batches of
#: 4 (the last one padded), SHARED_STEPS steps. The tests share one cache directory
#: (``shared_standalone_dir``) and one xdist worker, so the project compiles once per session.
SHARED_STEPS = 25
SHARED_PROJECT = pytest.mark.xdist_group("small_spec_cpp_standalone")
#: The shared layout: 10 samples in batches of 4, cut into two binaries of two batches each
#: (the second padded), whatever the number of CPUs.
SHARED_RUN = dict(device="cpp_standalone", batch_size=4, processes=2)


@SHARED_PROJECT
@pytest.mark.standalone
def test_cpp_standalone_equals_numpy_and_reruns_without_rebuilding(
        small_spec, small_inputs, shared_standalone_dir):
    from brainconv.simulation import StandaloneProject, cache_root

    reference = run_network(small_spec, small_inputs, SHARED_STEPS, device="numpy")
    assert_same_results(
        run_network(small_spec, small_inputs, SHARED_STEPS, **SHARED_RUN), reference)
    directory = cache_root() / StandaloneProject.layout_key(small_spec, SHARED_STEPS, 4, 2)
    assert directory.is_relative_to(shared_standalone_dir)
    built = {path: path.stat().st_mtime_ns for path in directory.glob("**/*.o")}
    built[directory / "main"] = (directory / "main").stat().st_mtime_ns
    # New inputs and new weights of the same architecture reuse the compiled binary.
    from conftest import small_ann

    other_spec = convert(small_ann(seed=5), normalization="none")
    other_inputs = small_inputs[::-1].copy()
    assert_same_results(
        run_network(other_spec, other_inputs, SHARED_STEPS, **SHARED_RUN),
        run_network(other_spec, other_inputs, SHARED_STEPS, device="numpy"))
    assert {path: path.stat().st_mtime_ns for path in built} == built


@SHARED_PROJECT
@pytest.mark.standalone
def test_cpp_standalone_first_timestep(shared_standalone_dir):
    """Weights 1/4 in the shared 12-8-6-3 layout: input 12 x 1/4 = 3, then 8 spikes x 1/4 = 2,
    then 6 x 1/4 = 1.5, so every layer (the output too) fires in the first timestep."""
    from conftest import small_ann

    shape = small_ann()
    spec = convert(ANN(tuple(np.full(w.shape, 0.25) for w in shape.weights),
                       tuple(np.zeros(b.shape) for b in shape.biases)), normalization="none")
    result = run_network(spec, np.ones((10, 12)), SHARED_STEPS, **SHARED_RUN)
    np.testing.assert_array_equal(result["output_spikes"][:, 0, :], np.ones((10, 3)))
    np.testing.assert_array_equal(result["layer_spikes"][:, 0], [10 * 8, 10 * 6, 10 * 3])


def test_simulate_returns_dataset_with_predictions(small_spec, small_inputs):
    labels = np.arange(10) % 3
    ds = simulate(small_spec, small_inputs, labels, 15, device="numpy", attrs={"seed": 0})
    assert ds.sizes == {"sample": 10, "time": 15, "class": 3, "layer": 3, "neuron": 17}
    assert ds.attrs["seed"] == 0 and ds.attrs["device"] == "numpy"
    totals = ds.output_spikes.sum("time").values
    np.testing.assert_array_equal(ds.prediction.values, totals.argmax(axis=1))


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_bad_number_of_steps_is_rejected(small_spec, small_inputs, steps):
    with pytest.raises(ParameterError, match="steps must be a positive whole number"):
        run_network(small_spec, small_inputs, steps, device="numpy")


def test_wrong_input_width_is_rejected_before_building(small_spec):
    with pytest.raises(ShapeError, match=r"expects \(n_samples, 12\)"):
        run_network(small_spec, np.zeros((3, 784)), 10, device="runtime")


def test_unknown_device_and_bad_batch_size(small_spec, small_inputs):
    with pytest.raises(ParameterError, match="unknown device 'gpu'.*cpp_standalone"):
        run_network(small_spec, small_inputs, 10, device="gpu")
    with pytest.raises(ParameterError, match="batch_size must be a positive integer"):
        run_network(small_spec, small_inputs, 10, device="runtime", batch_size=0)


def test_labels_must_match_inputs(small_spec, small_inputs):
    with pytest.raises(ParameterError, match="one label per input row"):
        simulate(small_spec, small_inputs, np.zeros(3, int), 10, device="numpy")


@SHARED_PROJECT
@pytest.mark.standalone
def test_second_build_of_same_layout_compiles_nothing(small_spec, small_inputs,
                                                      shared_standalone_dir):
    from brainconv.simulation import StandaloneProject

    first = StandaloneProject(small_spec, SHARED_STEPS, 4, 2)  # compiled here or earlier
    objects = sorted(first.directory.rglob("*.o")) + [first.directory / "main"]
    stamps = {path: path.stat().st_mtime_ns for path in objects}
    directory = first.directory
    del first  # as in a new process, where no older project is alive
    second = StandaloneProject(small_spec, SHARED_STEPS, 4, 2)
    assert second.directory == directory
    assert {path: path.stat().st_mtime_ns for path in objects} == stamps
    result = run_network(small_spec, small_inputs, SHARED_STEPS, **SHARED_RUN)
    assert StandaloneProject._current is second
    assert_same_results(result,
                        run_network(small_spec, small_inputs, SHARED_STEPS, device="numpy"))


@SHARED_PROJECT
@pytest.mark.standalone
def test_wrong_sized_run_args_are_caught_in_python(small_spec, small_inputs,
                                                   shared_standalone_dir):
    from brainconv.build import layer_values
    from brainconv.errors import SimulationError
    from brainconv.simulation import StandaloneProject

    project = StandaloneProject(small_spec, SHARED_STEPS, 4, 2)
    values = layer_values(small_spec, small_spec.input_currents(small_inputs[:3]), 4)
    with pytest.raises(SimulationError, match=r"current of layer 'hidden1' have shape \(1, 32\)"):
        project.run(small_spec, values, 3)


def test_brian2_errors_name_the_layer(small_inputs):
    from brainconv.errors import SimulationError

    bad = convert(ANN((np.ones((12, 3)),), (np.zeros(3),)), normalization="none")
    object.__setattr__(bad.layers[0], "name", "not a valid name!")
    with pytest.raises(SimulationError, match="layer 'not a valid name!'"):
        run_network(bad, small_inputs, 3, device="runtime")


def accumulator_spec(k=3):
    from conftest import small_ann

    # Inputs up to 4 and weights up to 2 give membrane potentials of several thresholds, so
    # payloads above 1 and clipping at k both occur.
    ann = small_ann()
    ann = ANN(tuple(4 * w for w in ann.weights), ann.biases)
    return convert(ann, model="accumulator", normalization="none", parameters={"k": k})


def test_accumulator_payloads_runtime_equal_numpy(small_inputs):
    spec = accumulator_spec()
    reference = run_network(spec, 4 * small_inputs, 12, device="numpy")
    assert reference["output_spikes"].max() == 3  # clipped at k = 3
    assert reference["output_spikes"].sum() > reference["layer_spikes"][-1].sum()  # payloads
    assert_same_results(
        run_network(spec, 4 * small_inputs, 12, device="runtime", batch_size=4), reference)


@pytest.mark.slow
@pytest.mark.standalone
def test_accumulator_payloads_cpp_standalone_equal_numpy(small_inputs, standalone_dir):
    """By default test_paradigms.test_paradigm_mix_cpp_standalone_equals_numpy_reference
    checks payloads clipped at k on cpp_standalone (its output layer is an accumulator)."""
    spec = accumulator_spec()
    assert_same_results(
        run_network(spec, 4 * small_inputs, 12, device="cpp_standalone", batch_size=4),
        run_network(spec, 4 * small_inputs, 12, device="numpy"))


def test_accumulator_answers_in_first_timestep():
    weights = (np.ones((1, 1)), np.ones((1, 1)))
    spec = convert(ANN(weights, (np.zeros(1), np.zeros(1))), model="accumulator",
                   normalization="none", parameters={"k": 100})
    result = run_network(spec, np.full((1, 1), 7.0), 2, device="runtime")
    np.testing.assert_array_equal(result["output_spikes"][0, :, 0], [7, 7])
    np.testing.assert_array_equal(result["layer_spikes"], [[1, 1], [1, 1]])  # one event each


@pytest.mark.parametrize("k", [0, 2.5, -1])
def test_bad_k_is_rejected(k):
    from conftest import small_ann

    with pytest.raises(ParameterError, match="k .maximum spikes per timestep.*integer >= 1"):
        convert(small_ann(), model="accumulator", normalization="none", parameters={"k": k})


def test_parameter_of_no_model_is_rejected():
    from conftest import small_ann
    from brainconv.errors import ModelError

    with pytest.raises(ModelError, match=r"parameter\(s\) \['k'\] belong to none of the models"):
        convert(small_ann(), model="if_soft", normalization="none", parameters={"k": 5})


def sparse_conv_spec():
    """Conv (1x6x6 -> 2x4x4, k=3) then dense to 3 outputs, with dyadic weights."""
    import scipy.sparse

    from brainconv.spec import LayerSpec, NetworkSpec
    from brainconv.layers import conv2d_connectivity
    from conftest import dyadic

    rng = np.random.default_rng(7)
    pre, post, w = conv2d_connectivity((1, 6, 6), dyadic(rng, (2, 1, 3, 3), 1.0))
    conv = scipy.sparse.csr_matrix((w, (pre, post)), shape=(36, 32))
    # A sparse second layer too: a random half of a 32 x 3 dense layer.
    dense = dyadic(rng, (32, 3), 1.0) * (rng.random((32, 3)) < 0.5)
    return NetworkSpec(36, (
        LayerSpec("conv", "if_soft", 32, conv, dyadic(rng, (32,), 0.125), 1.0),
        LayerSpec("output", "if_soft", 3, scipy.sparse.csr_matrix(dense),
                  0.125 + dyadic(rng, (3,), 0.125), 1.0)))


def test_sparse_connectivity_runtime_equals_numpy():
    spec = sparse_conv_spec()
    x = np.round(np.random.default_rng(2).uniform(0, 1, (5, 36)) * 64) / 64
    reference = run_network(spec, x, 15, device="numpy")
    assert reference["output_spikes"].sum() > 0 and reference["layer_spikes"][0].sum() > 0
    assert_same_results(run_network(spec, x, 15, device="runtime", batch_size=2), reference)


def test_sparse_connection_pattern_is_part_of_the_compiled_layout():
    """The pattern is compiled into the project; a cached binary of another pattern would
    run the old connections with the new weights, silently."""
    import dataclasses

    import scipy.sparse

    from brainconv.simulation import StandaloneProject

    spec = sparse_conv_spec()
    output = spec.layers[1]
    dense = output.weights.toarray()
    rescaled = dataclasses.replace(output, weights=scipy.sparse.csr_matrix(2 * dense))
    moved = dataclasses.replace(output, weights=scipy.sparse.csr_matrix(np.roll(dense, 1, 0)))
    key = lambda layer: StandaloneProject.layout_key(  # noqa: E731
        dataclasses.replace(spec, layers=(spec.layers[0], layer)), 10, 2, 3)
    assert key(rescaled) == key(output)  # new values: same binary, weights as run_args
    assert key(moved) != key(output)


def test_an_edited_template_builds_a_new_project(tmp_path, monkeypatch):
    """brainconv's templates are compiled into every project: the same spec with one edited
    template (a development tree at the same version) must not reuse the old binary."""
    import shutil

    from brainconv.devices import cpp_standalone
    from brainconv.simulation import StandaloneProject

    spec = sparse_conv_spec()
    before = StandaloneProject.layout_key(spec, 10, 2, 3)
    copy = tmp_path / "templates"
    shutil.copytree(cpp_standalone.TEMPLATES, copy)
    try:
        monkeypatch.setattr(cpp_standalone, "TEMPLATES", copy)
        cpp_standalone.templates_digest.cache_clear()
        assert StandaloneProject.layout_key(spec, 10, 2, 3) == before  # the same text
        (copy / "pathway.cpp").write_text((copy / "pathway.cpp").read_text() + "// edited\n")
        cpp_standalone.templates_digest.cache_clear()
        assert StandaloneProject.layout_key(spec, 10, 2, 3) != before
    finally:
        monkeypatch.undo()
        cpp_standalone.templates_digest.cache_clear()


def test_batch_size_follows_synapse_count_and_memory(small_spec):
    from brainconv.simulation import BYTES_PER_NEURON, BYTES_PER_SYNAPSE, choose_batch_size

    # 12-8-6-3: synapses per sample 8*6 + 6*3 = 66 (the first layer is input currents)
    per_sample = BYTES_PER_SYNAPSE * 66 + BYTES_PER_NEURON * 17
    assert choose_batch_size(small_spec, 10**6, "cuda_standalone", 1000 * per_sample) == 1000
    assert choose_batch_size(small_spec, 50, "cuda_standalone", 1000 * per_sample) == 50
    assert choose_batch_size(small_spec, 10**6, "runtime", 1000 * per_sample) == 16
    # cuda_standalone replicates the synapses per copy (Brian2's propagation): 3 copies fit.
    assert choose_batch_size(small_spec, 10**6, "cuda_standalone", 3 * per_sample) == 3
    # runtime and cpp_standalone serve these pathways by weight rows, one entry per ANN weight
    # for all copies: only the neurons count per copy, 14 copies fit, not 3.
    for device in ("runtime", "cpp_standalone"):
        fits = 3 * per_sample // (BYTES_PER_NEURON * 17)
        assert fits == 14 and choose_batch_size(small_spec, 10**6, device, 3 * per_sample) == 14
    assert choose_batch_size(small_spec, 10**6, "cuda_standalone", 10) == 1
    from brainconv.simulation import GPU_SYNAPSE_BUDGET
    assert (choose_batch_size(small_spec, 10**9, "cuda_standalone", 2**50)
            == GPU_SYNAPSE_BUDGET // 66)


def test_cpu_batch_size_shrinks_for_large_layers():
    import scipy.sparse

    from brainconv.spec import LayerSpec, NetworkSpec
    from brainconv.simulation import CPU_SYNAPSE_BUDGET, choose_batch_size

    n = int(np.sqrt(CPU_SYNAPSE_BUDGET / 2)) + 1  # a dense n x n layer: just over budget / 2
    layer = LayerSpec("hidden1", "if_soft", n, np.zeros((4, n)), np.zeros(n), 1.0)
    big = LayerSpec("output", "if_soft", n, scipy.sparse.random(n, n, density=1.0), np.zeros(n),
                    1.0)
    spec = NetworkSpec(4, (layer, big))
    assert choose_batch_size(spec, 1000, "cuda_standalone", 2**40) > 1  # a GPU budget
    from brainconv.devices import CPU_SYNAPSE_BUDGET as budget, Device

    queue = Device()  # a CPU backend whose pathways use Brian2's propagation (replicated)
    assert queue.choose_batch_size(spec, 1000, 2**40) == 1 == budget // (n * n)
    for device in ("runtime", "cpp_standalone"):  # weights stored once, for all copies
        assert choose_batch_size(spec, 1000, device, 2**40) == 16


@pytest.mark.slow
@pytest.mark.standalone
def test_sparse_connectivity_cpp_standalone_equals_numpy(standalone_dir):
    """By default test_paradigms.test_paradigm_mix_cpp_standalone_equals_numpy_reference
    checks sparse synapses on cpp_standalone (its output pathway is a sparse matrix)."""
    spec = sparse_conv_spec()
    x = np.round(np.random.default_rng(2).uniform(0, 1, (5, 36)) * 64) / 64
    assert_same_results(run_network(spec, x, 15, device="cpp_standalone", batch_size=2),
                        run_network(spec, x, 15, device="numpy"))


@pytest.mark.standalone
def test_direct_pathways_store_weights_once_and_equal_numpy(standalone_dir):
    """cpp_standalone serves zero-delay pathways by weight rows: a deep dense network (4 hidden
    layers) and a sparse conv network equal numpy exactly, every pathway is a Synapses with
    one entry per ANN weight, and each weight matrix is one run_args array whatever the batch
    size."""
    import brian2

    from brainconv.simulation import StandaloneProject
    from conftest import dyadic

    rng = np.random.default_rng(11)
    sizes = (10, 9, 8, 7, 6, 3)
    ann = ANN(tuple(dyadic(rng, (a, b), 0.5) for a, b in zip(sizes[:-1], sizes[1:])),
              tuple(dyadic(rng, (b,), 0.125) for b in sizes[1:]))
    deep = convert(ann, normalization="none")
    x = np.round(rng.uniform(0, 1, (7, 10)) * 64) / 64
    for spec, inputs in ((deep, x), (sparse_conv_spec(), np.round(
            rng.uniform(0, 1, (5, 36)) * 64) / 64)):
        reference = run_network(spec, inputs, 15, device="numpy")
        assert reference["layer_spikes"][-2].sum() > 0
        assert_same_results(run_network(spec, inputs, 15, device="cpp_standalone",
                                        batch_size=3), reference)
        project = StandaloneProject._current
        for index, pathway in enumerate(project.built.synapses, start=1):
            assert isinstance(pathway, brian2.Synapses) and pathway.propagation == "rows"
            assert pathway.batch_copies == 1
        # Each layer's threshold and reset are one code object from brainconv's template
        # threshold_reset (thresholds.py); Brian2's separate resetter is gone.
        objects = project.directory / "code_objects"
        for layer in spec.layers:
            [path] = objects.glob(f"{layer.name}_spike_threshold_reset_codeobject*.cpp")
            code = path.read_text()
            assert "_mm256_movemask_epi8" in code and "if(_cond)" not in code
            assert "v -= theta" in code  # the reset, in the same code object
            assert not list(objects.glob(f"{layer.name}_spike_resetter_codeobject*.cpp"))
            # the first layer's state update runs in the same pass (it has no pathway in);
            # the others keep their own, before their pathway adds the spikes
            updater = list(objects.glob(f"{layer.name}_stateupdater_codeobject*.cpp"))
            fused = " _v = I + v;" in code  # the IF step, as Brian2 generates it
            assert (fused, bool(updater)) == ((True, False) if layer is spec.layers[0]
                                              else (False, True))
        for index, layer in enumerate(spec.layers[1:], start=1):
            stored = layer.weights.nnz if hasattr(layer.weights, "nnz") else layer.weights.size
            assert project.value_shapes[("weights", index)] == (stored,)


@pytest.mark.standalone
def test_conv_pathways_between_spiking_layers_equal_numpy(standalone_dir):
    """Convolutions between spiking layers (stride 2 with padding, then stride 1): their rows
    repeat shifted, and pathway.cpp stores each repeated row once (a pattern per kernel slice
    and boundary case) — the spikes equal the numpy reference's exactly. A random sparse
    layer after them (no repeats) takes the plain rows."""
    import scipy.sparse

    from brainconv.layers import conv2d_connectivity
    from brainconv.spec import LayerSpec, NetworkSpec
    from conftest import dyadic

    rng = np.random.default_rng(3)

    def conv(shape, kernel, stride, padding):
        pre, post, w = conv2d_connectivity(shape, kernel, stride, padding)
        return scipy.sparse.csr_matrix((w, (pre, post)))

    first = conv((1, 16, 16), dyadic(rng, (3, 1, 3, 3), 1.0), 2, 1)  # 256 -> 3 x 8 x 8
    second = conv((3, 8, 8), dyadic(rng, (2, 3, 3, 3), 0.5), 1, 1)  # 192 -> 2 x 8 x 8
    last = dyadic(rng, (128, 3), 0.25) * (rng.random((128, 3)) < 0.6)
    spec = NetworkSpec(16, (
        LayerSpec("hidden1", "if_soft", 256, dyadic(rng, (16, 256), 0.25),
                  dyadic(rng, (256,), 0.125), 1.0),
        LayerSpec("conv1", "if_soft", 192, first, np.repeat(dyadic(rng, (3,), 0.125), 64), 1.0),
        LayerSpec("conv2", "if_soft", 128, second, np.repeat(dyadic(rng, (2,), 0.125), 64),
                  1.0),
        LayerSpec("output", "if_soft", 3, scipy.sparse.csr_matrix(last), 0.125 + dyadic(
            rng, (3,), 0.125), 1.0)))
    x = np.round(rng.uniform(0, 1, (6, 16)) * 64) / 64
    reference = run_network(spec, x, 20, device="numpy")
    assert min(count.sum() for count in reference["layer_spikes"][:3]) > 0
    assert reference["output_spikes"].sum() > 0
    assert_same_results(run_network(spec, x, 20, device="cpp_standalone", batch_size=4),
                        reference)


def compiler_has_avx2():
    """Whether ``g++ -march=native`` (Brian2's default flags here) defines ``__AVX2__``."""
    import subprocess

    try:
        macros = subprocess.run(["g++", "-march=native", "-dM", "-E", "-x", "c++", "/dev/null"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return "#define __AVX2__ 1" in macros


@pytest.mark.standalone
def test_vectorised_threshold_equals_numpy_on_wide_layers(standalone_dir):
    """The AVX2 threshold of threshold_reset.cpp (chunks of 256 neurons, 8 spike indices per
    permuted store, a scalar tail) finds the same spikes as the numpy reference: layers of
    3 x 300 and 3 x 70 neurons per batch take full chunks, spike-free and partly spiking
    blocks of 32, and tails of 132 and 210 neurons (where AVX2 is there, checked)."""
    from conftest import dyadic

    rng = np.random.default_rng(5)
    sizes = (20, 300, 70, 3)
    ann = ANN(tuple(dyadic(rng, (a, b), 0.25) for a, b in zip(sizes[:-1], sizes[1:])),
              tuple(dyadic(rng, (b,), 0.125) for b in sizes[1:]))
    spec = convert(ann, normalization="none")
    x = np.round(rng.uniform(0, 1, (6, 20)) * 64) / 64
    reference = run_network(spec, x, 20, device="numpy")
    rates = reference["unit_spike_count"][:300] / (len(x) * 20)  # first hidden layer
    assert 0.05 < rates.mean() < 0.6 and (rates == 0).sum() > 32  # mixed blocks
    assert_same_results(run_network(spec, x, 20, device="cpp_standalone", batch_size=3),
                        reference)
    if compiler_has_avx2():
        from brainconv.simulation import StandaloneProject

        objects = StandaloneProject._current.directory / "code_objects"
        [compiled] = objects.glob(f"{spec.layers[0].name}_spike_threshold_reset_codeobject.o")
        import subprocess

        disassembly = subprocess.run(["objdump", "-d", str(compiled)], capture_output=True,
                                     text=True).stdout
        assert "vpermd" in disassembly or "vpmovmskb" in disassembly


def test_plan_processes_cuts_the_batches_into_equal_shares(small_spec, small_inputs):
    from brainconv.errors import ParameterError
    from brainconv.simulation import plan_processes

    assert plan_processes(10, 4, processes=2) == (2, 2)  # 3 batches: 2 + 1 (padded)
    assert plan_processes(10000, 16, processes=2) == (2, 313)
    assert plan_processes(17, 4, processes=4) == (3, 2)  # 5 batches: shares of 2, 2, 1
    assert plan_processes(10, 4, processes=8) == (3, 1)  # never more binaries than batches
    assert plan_processes(10, 4, "runtime") == (1, 3)
    with pytest.raises(ParameterError, match="processes=2 applies to device='cpp_standalone'"):
        run_network(small_spec, small_inputs, 5, device="numpy", processes=2)
    with pytest.raises(ParameterError, match="processes must be a positive integer"):
        run_network(small_spec, small_inputs, 5, device="cpp_standalone", processes=0)
