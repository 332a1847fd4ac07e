"""How ``train_snn`` gets a gradient out of a spiking forward pass: :data:`GRADIENT_RULES`.

A rule maps the network, a batch and the spike function to the spike counts of every layer
as tensors whose values are the forward pass's counts and whose graph carries the rule's
gradient. ``train_snn`` takes the rule by name; a new rule is one more entry here.

* ``"bptt"``: backpropagation through time. The ``steps`` timesteps are unrolled
  (:func:`~.dynamics.forward`) and the surrogate stands in for the spike's derivative at every
  step; the graph keeps ``steps x batch x neurons`` values (:func:`bptt_bytes`).
* ``"bptt_checkpoint"``: the same gradient (the same numbers) with gradient checkpointing: the
  steps run in segments of about sqrt(steps) (:func:`checkpoint_segment`), only the state at
  segment boundaries is kept and each segment is recomputed in the backward pass; memory
  ``(2 sqrt(steps) + 3 sqrt(steps)) x batch x neurons`` values, about one more forward pass of
  time. The choice when ``"bptt"`` does not fit (``train_snn`` says so).
* ``"aggregate"``: Lee et al. (2020, Front. Neurosci. 14:119), the spike-based backprop of
  Srinivasan et al. (2020, eq. 1): the forward pass runs without a graph, and the gradient goes
  through each layer's totals over the window, the spike count ``n_l`` against the total input
  ``net_l = n_{l-1} W_l + steps b_l`` (``n_{-1}``: the input's total, ``steps x`` or the
  Poisson input's spike counts), with ``dn_l / dnet_l`` the surrogate at the mean drive,
  ``surrogate(net_l / steps - theta)``; with ``surrogate="srinivasan"``,
  ``1 / (theta + alpha)``. In a hidden layer it is 0 where ``net_l <= 0`` or the neuron fired
  in every step (the rate ``clip(net / (theta steps), 0, 1)`` linearised: a negative total
  input keeps a neuron silent, one spike per step is the most). The output layer is not gated:
  Lee et al. read it as an integrator that does not fire, whose value is linear in its total
  input, and gating it leaves a silent true class without a gradient (measured: 72 % against
  94 % train accuracy after 2 epochs on 10,000 MNIST digits, 784-500-10 ``if_soft``, 20
  steps). No unrolled graph: memory
  is ``batch x neurons``, whatever ``steps``. For the models whose rate grows with the total
  input by one spike per ``theta`` (:data:`AGGREGATE_MODELS`).
"""

import math

from ..errors import ModelError, ParameterError
from .dynamics import STEPPED_MODELS, forward

__all__ = ["AGGREGATE_MODELS", "GRADIENT_RULES", "bptt_bytes", "check_rule",
           "checkpoint_segment"]

#: Models the aggregate rule linearises (a spike per ``theta`` of total input, less the leak).
AGGREGATE_MODELS = ("if_soft", "if_hard", "lif")


def bptt_bytes(steps, batch_size, sizes, itemsize=4):
    """Memory the unrolled graph keeps for the backward pass: per step and neuron the potential,
    the spikes and the surrogate's input (``steps x batch x neurons x 3`` values)."""
    return int(steps) * int(batch_size) * int(sum(sizes[1:])) * 3 * itemsize


def checkpoint_segment(steps):
    """Steps per segment of ``"bptt_checkpoint"``: about sqrt(steps), which balances the kept
    boundary states against one segment's graph."""
    return max(1, math.isqrt(int(steps)))


def _checkpoint_bytes(steps, batch_size, sizes, itemsize=4):
    """``"bptt_checkpoint"``'s graph: the potential and count of every neuron at each segment
    boundary, plus one segment's unrolled graph while it is recomputed."""
    segment = checkpoint_segment(steps)
    boundaries = -(-int(steps) // segment)
    return (2 * boundaries + 3 * segment) * int(batch_size) * int(sum(sizes[1:])) * itemsize


def _bptt_checkpoint(weights, biases, x, steps, model, thresholds, spike_fn, parameters,
                     input_spikes, derivative):
    return forward(weights, biases, x, steps, model, thresholds, spike_fn, parameters,
                   input_spikes, segment=checkpoint_segment(steps))


def _aggregate_bytes(steps, batch_size, sizes, itemsize=4):
    """The aggregate rule's graph: per neuron the count, the total input and the slope."""
    return int(batch_size) * int(sum(sizes[1:])) * 3 * itemsize


def _bptt(weights, biases, x, steps, model, thresholds, spike_fn, parameters, input_spikes,
          derivative):
    return forward(weights, biases, x, steps, model, thresholds, spike_fn, parameters,
                   input_spikes)


def _aggregate(weights, biases, x, steps, model, thresholds, spike_fn, parameters,
               input_spikes, derivative):
    import torch

    drawn = [x * steps]  # the input's total: the current's, or the Poisson spikes' count

    def counting(t):
        spikes = input_spikes(t)
        drawn[0] = spikes if t == 0 else drawn[0] + spikes
        return spikes

    with torch.no_grad():
        counts = forward(weights, biases, x, steps, model, thresholds, spike_fn, parameters,
                         None if input_spikes is None else counting)
    below = drawn[0]
    totals = []
    for layer, (w, b, count, theta) in enumerate(zip(weights, biases, counts, thresholds)):
        net = below @ w + steps * b
        fixed = net.detach()
        slope = derivative(fixed / steps - theta, theta)
        if layer < len(weights) - 1:  # hidden: neither silent by its input nor saturated
            slope = slope * ((fixed > 0) & (count < steps)).to(fixed.dtype)
        below = count + slope * (net - fixed)  # the count forward, the slope backward
        totals.append(below)
    return totals


#: Rule name -> (counts function, memory function (steps, batch, sizes, itemsize) -> bytes,
#: the models it trains or None for every trainable model).
GRADIENT_RULES = {"bptt": (_bptt, bptt_bytes, None),
                  "bptt_checkpoint": (_bptt_checkpoint, _checkpoint_bytes, STEPPED_MODELS),
                  "aggregate": (_aggregate, _aggregate_bytes, AGGREGATE_MODELS)}


def check_rule(rule, model):
    """The rule's entry, or ParameterError / ModelError naming the choices."""
    if rule not in GRADIENT_RULES:
        raise ParameterError(f"unknown gradient rule {rule!r}; choose one of "
                             f"{sorted(GRADIENT_RULES)}")
    models = GRADIENT_RULES[rule][2]
    if models is not None and model not in models:
        raise ModelError(f"gradient rule {rule!r} trains {list(models)}, not {model!r}; use "
                         "rule='bptt'")
    return GRADIENT_RULES[rule]
