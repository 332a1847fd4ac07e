"""Pathways are brian2.Synapses on every device, one entry per ANN weight where the device
serves them by weight rows (brainconv.pathways)."""

import dataclasses

import brian2
import numpy as np
import pytest

from brainconv.build import build_network, connections, layer_values
from brainconv.devices import brian2_device, get_device
from brainconv.pathways import Pathway
from brainconv.simulation import StandaloneProject, run_network
from test_simulate import assert_same_results, sparse_conv_spec


def _build_runtime(spec, inputs, steps, batch_size, target="numpy"):
    """The runtime network of ``spec`` (numpy or Cython code generation), not yet run."""
    device = get_device("runtime")
    values = layer_values(spec, spec.input_currents(inputs), batch_size, device)
    n_batches = -(-len(inputs) // batch_size)
    return build_network(spec, steps, batch_size, n_batches, values, device=device)


@pytest.mark.parametrize("make_spec", ["small", "sparse"])
def test_runtime_pathways_are_synapses_with_one_entry_per_weight(make_spec, small_spec,
                                                                  small_inputs):
    spec = small_spec if make_spec == "small" else sparse_conv_spec()
    inputs = small_inputs if make_spec == "small" else np.round(
        np.random.default_rng(2).uniform(0, 1, (5, 36)) * 64) / 64
    with brian2_device("runtime", prefs={"codegen.target": "numpy"}):
        built = _build_runtime(spec, inputs, 10, batch_size=3)
        assert len(built.synapses) == len(spec.layers) - 1
        for index, pathway in enumerate(built.synapses, start=1):
            assert isinstance(pathway, brian2.Synapses) and isinstance(pathway, Pathway)
            assert pathway.propagation == "rows" and pathway.batch_copies == 1
            pre, post, weights = connections(spec.layers[index].weights)
            # One entry per ANN weight (not per batch copy), indexed as the ANN's matrix.
            assert len(pathway) == len(weights)
            np.testing.assert_array_equal(pathway.i[:], pre)
            np.testing.assert_array_equal(pathway.j[:], post)
            np.testing.assert_array_equal(pathway.w[:], weights)


@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_runtime_rows_equal_numpy_reference(target, small_spec, small_inputs):
    """The numpy and Cython 'pathway' templates give the reference's spikes exactly."""
    with brian2_device("runtime", prefs={"codegen.target": target}):
        device = get_device("runtime")
        result = device.run(small_spec, small_spec.input_currents(small_inputs), 20, 4,
                            dt_ms=1.0)
    assert_same_results(result, run_network(small_spec, small_inputs, 20, device="numpy"))


def test_queue_pathway_is_replicated_and_its_synaptic_variable_can_be_monitored(
        numpy_codegen):
    """A pathway whose code is not a plain sum keeps Brian2's propagation on the same object:
    one entry per weight and batch copy, and a StateMonitor records its variables."""
    batch, n_pre, n_post = 2, 3, 2
    weights = np.array([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]])
    pre_ids, post_ids, values = connections(weights)
    source = brian2.NeuronGroup(batch * n_pre, "v : 1", threshold="v > 0.5", reset="v = 0")
    target = brian2.NeuronGroup(batch * n_post, "v : 1")
    source.v = [1, 0, 1, 0, 1, 0]  # copy 0: neurons 0, 2 spike; copy 1: neuron 1 (k = 1)
    pathway = Pathway(source, target, pre_ids, post_ids, n_pre, n_post, batch, "1",
                      "v_post = v_post + 2 * w", rows=False, dense=True,
                      clock=source.clock, when="synapses", order=0, name="queue_pathway")
    assert isinstance(pathway, brian2.Synapses) and pathway.propagation == "queue"
    pathway.w = np.tile(values, batch)
    monitor = brian2.StateMonitor(pathway, "w", record=True)
    brian2.Network(source, target, pathway, monitor).run(2 * brian2.defaultclock.dt)
    assert len(pathway) == batch * len(values) and pathway.batch_copies == batch
    assert monitor.w.shape == (batch * len(values), 2)
    np.testing.assert_array_equal(monitor.w[:, 0], np.tile(values, batch))
    expected = np.concatenate([2 * (weights[0] + weights[2]), 2 * weights[1]])
    np.testing.assert_array_equal(target.v[:], expected)


def test_rows_refuse_code_that_is_not_a_sum(numpy_codegen):
    source = brian2.NeuronGroup(2, "v : 1", threshold="v > 1")
    target = brian2.NeuronGroup(2, "v : 1")
    with pytest.raises(Exception, match="adds the weight"):
        Pathway(source, target, np.array([0]), np.array([0]), 2, 2, 1, "1",
                "v_post = v_post * w", rows=True, dense=False, clock=source.clock,
                when="synapses", order=0, name="product")


@pytest.mark.standalone
def test_cpp_pathways_read_back_and_new_weights_through_run_args(standalone_dir, small_spec,
                                                                  small_inputs):
    """On cpp_standalone: every pathway is a Synapses whose w reads back as the spec's weights
    after a Brian2 run; new weights reach the same binary as run_args and change the spikes
    exactly as the numpy reference predicts; the generated code is brainconv's row template."""
    device = get_device("cpp_standalone")
    currents = small_spec.input_currents(small_inputs)
    project = StandaloneProject(small_spec, 12, 4, 3, device=device)

    def run(spec):
        return project.run(spec, layer_values(spec, currents, 4, device), len(currents))

    first = run(small_spec)
    for index, pathway in enumerate(project.built.synapses, start=1):
        assert isinstance(pathway, brian2.Synapses) and pathway.propagation == "rows"
        np.testing.assert_array_equal(pathway.w[:],
                                      connections(small_spec.layers[index].weights)[2])
    assert_same_results(first, run_network(small_spec, small_inputs, 12, device="numpy"))
    # The pathway code objects come from brainconv's template, and no spike queue is pushed.
    code = project.directory / "code_objects"
    rows = sorted(code.glob("*_synapses_rows_codeobject*.cpp"))
    assert len(rows) == len(small_spec.layers) - 1
    assert all("brainconv pathway: weight rows" in path.read_text() for path in rows)
    assert not list(code.glob("*push_spikes*"))

    output = small_spec.layers[-1]
    changed = dataclasses.replace(small_spec, layers=(
        *small_spec.layers[:-1], dataclasses.replace(output, weights=-output.weights)))
    assert StandaloneProject.layout_key(changed, 12, 4, 3, device) == project.key
    second = run(changed)  # the same binary, new run_args
    assert_same_results(second, run_network(changed, small_inputs, 12, device="numpy"))
    assert not np.array_equal(second["output_spikes"], first["output_spikes"])
    np.testing.assert_array_equal(project.built.synapses[-1].w[:],
                                  connections(changed.layers[-1].weights)[2])


def filtered_conv_spec(synapse):
    """sparse_conv_spec's conv -> dense network as lif_rc layers whose second pathway is a
    filtered synapse (tau_s = 2 ms, SI units in the spec); weights scaled so that both layers
    spike (lif_rc needs a current above 1)."""
    spec = sparse_conv_spec()
    conv, output = spec.layers
    lif = (("gain", 1.0), ("tau_rc", 0.02), ("tau_ref", 0.002))
    layers = (dataclasses.replace(conv, model="lif_rc", weights=conv.weights * 4,
                                  parameters=lif),
              dataclasses.replace(output, model="lif_rc", weights=output.weights * 0.25,
                                  parameters=lif,
                                  synapse=synapse, synapse_parameters=(("tau_s", 0.002),)))
    return dataclasses.replace(spec, layers=layers)


@pytest.mark.parametrize("synapse", ["exponential", "alpha"])
@pytest.mark.parametrize("target", ["numpy", "cython"])
def test_filtered_pathways_are_rows_and_equal_the_numpy_reference(synapse, target):
    """A filtered synapse's `f_syn_post += w / tau_s` is served by weight rows (one entry per
    ANN weight, no spike queue) and gives the reference's spikes, conv and dense, at two dt."""
    spec = filtered_conv_spec(synapse)
    x = np.round(np.random.default_rng(2).uniform(0, 1, (5, 36)) * 64) / 64
    with brian2_device("runtime", prefs={"codegen.target": target}):
        device = get_device("runtime")
        values = layer_values(spec, spec.input_currents(x), 2, device)
        built = build_network(spec, 30, 2, 3, values, dt_ms=0.5, device=device)
        assert [p.propagation for p in built.synapses] == ["rows"]
    for dt in (0.5, 1.0):
        reference = run_network(spec, x, 30, device="numpy", dt=dt)
        assert reference["output_spikes"].sum() > 0  # spikes crossed the filtered pathway
        with brian2_device("runtime", prefs={"codegen.target": target}):
            brian = get_device("runtime").run(spec, spec.input_currents(x), 30, 2, dt_ms=dt)
        assert_same_results(brian, reference)


@pytest.mark.standalone
def test_filtered_rows_on_cpp_standalone_equal_the_numpy_reference(standalone_dir):
    spec = filtered_conv_spec("alpha")
    x = np.round(np.random.default_rng(3).uniform(0, 1, (7, 36)) * 64) / 64
    reference = run_network(spec, x, 40, device="numpy", dt=0.5)
    assert reference["output_spikes"].sum() > 0
    assert_same_results(run_network(spec, x, 40, device="cpp_standalone", batch_size=3,
                                    dt=0.5), reference)
