"""Conformance of every model in equations/: parses, units check, rate matches theory."""

import brian2
import numpy as np
import pytest

from brainconv.equations import MODELS, get_model
from brainconv.errors import ModelError

CURRENTS = np.array([-0.2, 0.0, 0.013, 0.125, 0.25, 0.3, 0.49, 0.5, 0.77, 0.99, 1.0, 1.7])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_equations_parse_and_have_consistent_units(name):
    model = get_model(name)
    equations = brian2.Equations(model.equations)
    assert "v" in equations.names and "I" in equations.names
    group = brian2.NeuronGroup(1, model.equations, threshold=model.threshold,
                               reset=model.reset, method=model.method)
    for parameter, value in model.parameters.items():
        setattr(group, parameter, value)
    assert model.citation


@pytest.mark.parametrize("name", sorted(MODELS))
def test_simulated_rate_matches_analytic_transfer_function(name):
    """Brian2 (runtime) spike counts over T steps equal T * rate within one spike."""
    model = get_model(name)
    steps = 400
    brian2.start_scope()
    group = brian2.NeuronGroup(len(CURRENTS), model.equations, threshold=model.threshold,
                               reset=model.reset, method=model.method, dt=1 * brian2.ms)
    group.I = CURRENTS
    for parameter, value in model.parameters.items():
        setattr(group, parameter, value)
    monitor = brian2.SpikeMonitor(group, variables=[model.payload] if model.payload else [],
                                  when="end")  # after the reset has computed the payload
    net = brian2.Network(group, monitor)
    net.run(steps * brian2.ms, namespace={})
    expected = steps * model.rate(CURRENTS, **model.parameters)
    if model.payload:  # an event carries `payload` unit spikes
        counts = np.bincount(monitor.i[:], getattr(monitor, model.payload)[:], len(CURRENTS))
    else:
        counts = np.asarray(monitor.count[:])
    np.testing.assert_allclose(counts, expected, atol=1.0)
    # The non-trivial part of the curve is exercised: some neurons are silent, some fire at
    # fractional rates, some at one or more spikes per step.
    assert counts.min() == 0 and counts.max() >= steps
    assert np.any((counts > 0) & (counts < steps))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_numpy_step_matches_analytic_rate(name):
    model = get_model(name)
    v, spikes = np.zeros(len(CURRENTS)), np.zeros(len(CURRENTS))
    counts = sum(model.step(v, CURRENTS, spikes, **model.parameters).copy() for _ in range(400))
    np.testing.assert_allclose(counts, 400 * model.rate(CURRENTS, **model.parameters), atol=1.0)


def test_soft_and_hard_reset_differ_as_theory_says():
    soft, hard = get_model("if_soft"), get_model("if_hard")
    # I = 0.3: soft reset keeps the residue (rate 0.3); hard reset loses it (1/ceil(1/0.3)=0.25)
    assert soft.rate(0.3) == pytest.approx(0.3)
    assert hard.rate(0.3) == pytest.approx(0.25)


def test_unknown_model_lists_known_names():
    with pytest.raises(ModelError, match=r"unknown neuron model .lif_typo.*accumulator, if_hard, if_soft"):
        get_model("lif_typo")
