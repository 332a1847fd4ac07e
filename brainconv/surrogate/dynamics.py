"""The grid paradigms' forward pass in torch, step for step the numpy reference's.

:data:`TRAINABLE_MODELS` maps a neuron model name to its torch step
``step(v, drive, theta, spike_fn, **parameters) -> (v, spikes)``, the same arithmetic in the
same order as the model's numpy ``step`` (``equations/``), so that with float64 and exactly
representable weights the spike counts are the reference's. The reset uses the spikes with the
gradient cut (``spikes.detach()``): the surrogate shapes the threshold crossing, not the reset,
as in snnTorch and SpikingJelly by default.

:func:`forward` runs one timestep as one pass through all layers (the reference's schedule,
Think Fast eq. 4): the first layer integrates the constant current ``x @ W_0 + b_0`` (current
input encoding), each later layer ``spikes @ W_l + b_l`` of the same step.
"""

from ..errors import ModelError

__all__ = ["STEPPED_MODELS", "TRAINABLE_MODELS", "forward", "trainable_model"]


def _if_soft(v, drive, theta, spike_fn):
    v = v + drive
    s = spike_fn(v, theta)
    return v - s.detach() * theta, s


def _if_hard(v, drive, theta, spike_fn):
    v = v + drive
    s = spike_fn(v, theta)
    return v * (1 - s.detach()), s


def _lif(v, drive, theta, spike_fn, R=10.0):
    v = v / R + drive
    s = spike_fn(v, theta)
    return v * (1 - s.detach()), s


def _accumulator(v, drive, theta, spike_fn, k=100):
    from .functions import payload

    v = v + drive
    n = payload(v, theta, k)
    return v - n.detach() * theta, n


def _leaky_accumulator(v, drive, theta, spike_fn, k=100, R=10.0):
    return _accumulator(v / R, drive, theta, spike_fn, k)


def _ion(v, drive, theta, spike_fn, size=7):
    """Think Fast's ION ensemble (``equations/ensembles.py``): ``size`` members, each spiking
    up (``v >= theta``) or down (``v <= -theta``); the payload is their sum clipped to
    ``[0, size]`` (gradient through the clip inside it)."""
    import torch

    from brainconv.equations.ensembles import ion_offsets

    offsets = torch.as_tensor(ion_offsets(int(size)), dtype=v.dtype, device=v.device)
    v = v + drive[..., None]
    v = v - offsets * theta
    members = spike_fn(v, theta) - spike_fn(-v, theta)
    v = v - members.detach() * theta
    return v, torch.clamp(members.sum(dim=-1), 0, int(size))


def _len(v, drive, theta, spike_fn, size=9, spacing=0.1, max_rate=1.0, R=10.0, tau_ref=0):
    """Think Fast's LEN ensemble (``equations/ensembles.py``, without refractory steps):
    ``size`` leaky members with Nengo gains and biases, each firing at ``v >= 1``; the payload
    is the highest level that fired (the max node; its gradient reaches that member)."""
    import torch

    from brainconv.equations.ensembles import len_tuning

    _, gains, biases = len_tuning(int(size), spacing, max_rate, R, tau_ref)
    hold = 1 - 1 / R
    gains = torch.as_tensor(hold * gains, dtype=v.dtype, device=v.device)
    biases = torch.as_tensor(hold * biases, dtype=v.dtype, device=v.device)
    v = v / R + (gains * (drive[..., None] / theta) + biases)
    fired = spike_fn(v, 1.0)
    v = v * (1 - fired.detach())
    levels = fired * torch.arange(1, int(size) + 1, dtype=v.dtype, device=v.device)
    return v, levels.max(dim=-1).values


def _fs(v, drive, theta, spike_fn, phase, T, h, payload):
    """A few-spike neuron (``equations/fs.py``) in step ``phase`` of its window: threshold
    ``theta T[phase]``, payload ``payload[phase]`` per spike, reset by ``theta h[phase]``; no
    spike outside the window. The gradient goes through the threshold's surrogate."""
    v = v + drive
    if not 0 <= phase < len(T):
        return v, v * 0
    fired = spike_fn(v, theta * T[phase])
    return v - fired.detach() * (theta * h[phase]), fired * payload[phase]


def _fs_tables(model, parameters):
    """``(T, h, payload)`` of an FS model for these parameters (its numpy tables)."""
    from brainconv.equations import get_model

    tables = get_model(model).resolve(dict(parameters or {})).tables
    return tables["fs_T"][0], tables["fs_h"][0], tables["fs_d"][0]


def _check_fs(parameters):
    if parameters.get("strict"):
        raise ModelError("train_snn trains FS neurons that spike at v >= T (brainconv's "
                         "default), not the strict comparison")


def _check_len(parameters):
    if parameters.get("tau_ref", 0):
        raise ModelError("train_snn trains len without refractory steps (tau_ref = 0); the "
                         f"network asks for tau_ref = {parameters['tau_ref']}")


#: Neuron model name -> (torch step, the model's parameters it takes). An accumulator sends
#: its payload (the next layer receives ``w * n``); its gradient is the straight-through
#: :func:`brainconv.surrogate.functions.payload`, not the spike surrogate.
TRAINABLE_MODELS = {"if_soft": (_if_soft, ()), "if_hard": (_if_hard, ()), "lif": (_lif, ("R",)),
                    "accumulator": (_accumulator, ("k",)),
                    "leaky_accumulator": (_leaky_accumulator, ("k", "R")),
                    "ion": (_ion, ("size",)),
                    "len": (_len, ("size", "spacing", "max_rate", "R", "tau_ref")),
                    "fs_relu": (_fs, ())}

#: Models whose unit holds several members: the state's extra dimension from the parameters.
_MEMBERS = {"ion": lambda parameters: int(parameters.get("size", 7)),
            "len": lambda parameters: int(parameters.get("size", 9))}
#: Checks of a model's parameters that its torch step needs, run before training.
_CHECKS = {"len": _check_len, "fs_relu": _check_fs}
#: Few-spike models: one-off input (the current or bias in a sample's first step only), one
#: window of K steps per layer, layer after layer (``brainconv.spec.window_offsets``).
_ONE_OFF = {"fs_relu"}
#: The models simulated step by step (all but the few-spike ones): gradient checkpointing.
STEPPED_MODELS = tuple(name for name in TRAINABLE_MODELS if name not in _ONE_OFF)


def trainable_model(name, parameters=None):
    """The torch step of model ``name``, or ModelError naming the models that have one (or
    saying which of ``parameters`` its step cannot follow)."""
    if name in _CHECKS:
        _CHECKS[name](parameters or {})
    if name not in TRAINABLE_MODELS:
        raise ModelError(f"model {name!r} has no surrogate-gradient training rule yet; "
                         f"train_snn trains {sorted(TRAINABLE_MODELS)} (the swish and sigmoid "
                         "few-spike models, whose real payloads need an fs_relu output layer, "
                         "and continuous-time models are not trainable through their spikes "
                         "here: convert a trained ANN instead)")
    return TRAINABLE_MODELS[name]


def forward(weights, biases, x, steps, model, thresholds, spike_fn, parameters=None,
            input_spikes=None, segment=None):
    """Simulate ``steps`` timesteps; spike counts per layer, each ``(samples, n)``.

    Parameters
    ----------
    weights, biases : list of torch.Tensor
        ``(n_pre, n_post)`` and ``(n_post,)`` per layer.
    x : torch.Tensor, (samples, n_inputs)
    steps : int
    model : str
        A key of :data:`TRAINABLE_MODELS`.
    thresholds : sequence of float
        One per layer.
    spike_fn : callable
        ``spike_fn(v, theta) -> spikes`` (:func:`brainconv.surrogate.functions.spike`).
    parameters : dict, optional
        The model's parameters (``R`` of ``lif``).
    input_spikes : callable, optional
        ``input_spikes(step) -> (samples, n_inputs)`` tensor: Poisson input (the first layer
        then receives ``input_spikes(step) @ W_0 + b_0``) instead of the constant current.
    segment : int, optional
        Gradient checkpointing: run the steps in segments of this many, keep only the state at
        segment boundaries for the backward pass and recompute each segment's graph when its
        gradient is needed (``torch.utils.checkpoint``; the same numbers, less memory). Not for
        the one-off models (:data:`STEPPED_MODELS` only).
    """
    import torch

    step, names = trainable_model(model)
    kwargs = {k: v for k, v in (parameters or {}).items() if k in names}
    if model in _ONE_OFF:
        if input_spikes is not None:
            raise ModelError(f"few-spike layers ({model}) take their input once, not as "
                             "Poisson spikes")
        return _forward_one_off(weights, biases, x, steps, model, thresholds, spike_fn,
                                parameters)
    current = x @ weights[0] + biases[0]
    members = (_MEMBERS[model](parameters or {}),) if model in _MEMBERS else ()
    layers = len(weights)

    def run(first, last, *state):
        """Steps ``[first, last)`` from the state ``(v..., counts...)``; the new state."""
        v, counts = list(state[:layers]), list(state[layers:])
        for t in range(first, last):
            drive = current if input_spikes is None else input_spikes(t) @ weights[0] + biases[0]
            for index, (w, b) in enumerate(zip(weights, biases)):
                if index:
                    drive = spikes @ w + b
                v[index], spikes = step(v[index], drive, thresholds[index], spike_fn, **kwargs)
                counts[index] = counts[index] + spikes
        return (*v, *counts)

    state = tuple(torch.zeros((len(x), w.shape[1]) + members, dtype=x.dtype, device=x.device)
                  for w in weights) + tuple(
        torch.zeros(len(x), w.shape[1], dtype=x.dtype, device=x.device) for w in weights)
    if segment is None:
        return list(run(0, steps, *state)[layers:])
    from torch.utils.checkpoint import checkpoint

    for first in range(0, steps, int(segment)):
        state = checkpoint(run, first, min(first + int(segment), steps), *state,
                           use_reentrant=False)
    return list(state[layers:])


def _forward_one_off(weights, biases, x, steps, model, thresholds, spike_fn, parameters):
    """:func:`forward` for few-spike layers: layer ``l`` receives its input (the current, or
    its bias) in step 0 and the payloads of the layer below every step, and spikes in steps
    ``[l K, (l + 1) K)`` (the numpy reference's schedule)."""
    import torch

    T, h, payload = _fs_tables(model, parameters)
    K = len(T)
    current = x @ weights[0] + biases[0]
    v = [torch.zeros((len(x), w.shape[1]), dtype=x.dtype, device=x.device) for w in weights]
    counts = [torch.zeros(len(x), w.shape[1], dtype=x.dtype, device=x.device) for w in weights]
    for t in range(steps):
        for index, (w, b) in enumerate(zip(weights, biases)):
            if index == 0:
                drive = current if t == 0 else current * 0
            else:
                drive = spikes @ w + b if t == 0 else spikes @ w
            v[index], spikes = _fs(v[index], drive, thresholds[index], spike_fn,
                                   t - index * K, T, h, payload)
            counts[index] = counts[index] + spikes
    return counts
