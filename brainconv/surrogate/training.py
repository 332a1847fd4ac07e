"""``train_snn``: train a spiking network through its own forward pass (BPTT, surrogate
gradients), and get back a :class:`~brainconv.spec.NetworkSpec` that every device runs.

The loss is the cross-entropy of ``logit_scale * counts / steps`` (the output layer's spike
counts as rates) against the labels, minimised by Adam over the unrolled ``steps`` timesteps.
Training runs in torch (float32 by default; float64 for exact cross-checks); the result is the
same network as a spec, so that the numpy reference, runtime and cpp_standalone give the spike
counts of the torch forward pass (exactly, for exactly representable weights in float64).
"""

import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

from ..errors import ParameterError, ShapeError
from .convolution import DenseForm, layer_forms
from .dynamics import trainable_model
from .functions import SURROGATES, check_surrogate, spike
from .rules import GRADIENT_RULES, check_rule

__all__ = ["network_spec", "train_snn"]

#: Largest BPTT memory (bytes) accepted before training starts.
BPTT_BUDGET = 8 * 2**30
#: Version of the checkpoint files.
CHECKPOINT_FORMAT = 1


def _check_encoding(encoding, poisson_parameters, seed, start):
    """The Poisson input's ``{"max_rate", "seed"}`` (None for current input), checked. A
    ``start`` converted with ``encoding="poisson"`` brings its own input layer's."""
    start_input = None if start is None else _poisson_layer(start)
    if encoding == "current":
        if poisson_parameters:
            raise ParameterError("poisson_parameters need encoding='poisson'")
        if start_input is not None:
            raise ParameterError("start has a Poisson input layer; pass encoding='poisson'")
        return None
    if encoding != "poisson":
        raise ParameterError(f"encoding must be 'current' or 'poisson', got {encoding!r}")
    if start is not None:
        if start_input is None:
            raise ParameterError("encoding='poisson' with start: convert the network with "
                                 "encoding='poisson' (its input layer sets the rate and seed)")
        if poisson_parameters:
            raise ParameterError("start's Poisson input layer sets max_rate and seed; leave "
                                 "poisson_parameters out")
        values = dict(start_input.parameters)
        return {"max_rate": float(values["max_rate"]), "seed": int(values["seed"])}
    from brian2 import Hz, Quantity

    from ..equations.poisson import GRID_MAX_RATE, check_seed

    values = {"max_rate": GRID_MAX_RATE * Hz, "seed": seed, **(poisson_parameters or {})}
    unknown = sorted(set(values) - {"max_rate", "seed"})
    if unknown:
        raise ParameterError(f"poisson_parameters {unknown} are unknown; give max_rate (Hz) "
                             "and seed")
    rate = values["max_rate"]
    if not isinstance(rate, Quantity) or rate.dim != Hz.dim:
        raise ParameterError(f"poisson_parameters max_rate needs the unit Hz, got {rate!r}; "
                             "write max_rate=500*Hz (from brian2 import Hz)")
    if not (0 < float(rate / Hz) * 1e-3 <= 1):
        raise ParameterError(f"max_rate must lie in (0, 1000] Hz (at most one spike per 1 ms "
                             f"step), got {rate}")
    return {"max_rate": float(rate / Hz), "seed": check_seed(values["seed"])}


def _poisson_layer(spec):
    """``spec``'s Poisson input layer, or None."""
    first = spec.layers[0] if hasattr(spec, "layers") else None
    return first if first is not None and first.model == "poisson" else None


def _trained_layers(start):
    """``start``'s layers that train_snn trains: all but a Poisson input layer."""
    return start.layers[1:] if _poisson_layer(start) is not None else start.layers


def _model_parameters(start, parameters):
    """The neuron parameters to train with: ``start``'s layers' (all alike), which
    ``parameters`` may repeat but not contradict; without ``start``, ``parameters``."""
    if start is None or not hasattr(start, "layers"):
        return parameters
    values = [dict(layer.parameters) for layer in _trained_layers(start)]
    if any(v != values[0] for v in values[1:]):
        raise ParameterError(f"start's layers have different neuron parameters {values}; "
                             "train_snn trains one set for every layer")
    clash = {k: v for k, v in (parameters or {}).items() if values[0].get(k, v) != v}
    if clash:
        raise ParameterError(f"parameters {clash} contradict start's layers "
                             f"({values[0]}); leave parameters out to train start as it is")
    return {**values[0], **(parameters or {})} or None


def _start(start, x_width, hidden, n_classes, seed, model, threshold, input_shape):
    """The layers' trainable forms (:mod:`brainconv.surrogate.convolution`), thresholds and
    the spec to fill in (None: convert at the end)."""
    import torch

    from ..spec import NetworkSpec

    if start is None:
        if input_shape is not None:
            raise ParameterError("input_shape is for a start with convolutional layers; "
                                 "without start, train_snn builds dense layers (hidden=...): "
                                 "leave input_shape out, or pass start=convert(cnn_ann, ...)")
        sizes = [x_width, *hidden, n_classes]
        generator = torch.Generator().manual_seed(int(seed))
        forms = []
        for a, b in zip(sizes[:-1], sizes[1:]):  # torch's nn.Linear initialisation
            bound = 1 / np.sqrt(a)
            weights = (torch.rand(a, b, generator=generator, dtype=torch.float64) * 2 - 1) * bound
            bias = (torch.rand(b, generator=generator, dtype=torch.float64) * 2 - 1) * bound
            forms.append(DenseForm(weights, bias))
        return forms, [float(threshold)] * len(forms), None
    if not isinstance(start, NetworkSpec):
        raise ParameterError(f"start must be a NetworkSpec (e.g. convert(ann, ...)) or None, "
                             f"got {type(start).__name__}")
    layers = _trained_layers(start)
    for layer in layers:
        if layer.model != model:
            raise ParameterError(f"start's layer {layer.name!r} has model {layer.model!r}, "
                                 f"not {model!r}; convert with model={model!r}")
    if start.input_size != x_width:
        raise ShapeError(f"start takes {start.input_size} inputs, the data has {x_width}")
    if input_shape is not None and int(np.prod(input_shape)) != x_width:
        raise ShapeError(f"input_shape {tuple(input_shape)} holds {int(np.prod(input_shape))} "
                         f"values, the data {x_width} per sample")
    if start.layers[-1].size != n_classes:
        raise ShapeError(f"start has {start.layers[-1].size} outputs for {n_classes} classes")
    return layer_forms(layers, input_shape), [float(layer.threshold) for layer in layers], start


def network_spec(weights, biases, model, thresholds, parameters=None, template=None,
                 poisson=None):
    """A spec of ``model`` layers with exactly these weights, biases and thresholds.

    ``weights``/``biases``: arrays or tensors per layer. With ``template`` (a spec of the same
    shapes) its layers are kept and only the weights and biases replaced; otherwise the network
    is converted from an ANN of these weights with ``normalization="none"`` and threshold 1
    (``convert`` scales weights by the threshold) and then given ``thresholds``. ``poisson``
    (``{"max_rate": float in Hz, "seed": int}``) puts brainconv's Poisson input layer in front;
    the weights then act on its spikes.
    """
    import dataclasses

    from ..ann import ANN
    from ..conversion import convert

    def array(value):
        if scipy.sparse.issparse(value):  # a convolution's matrix (ConvForm.export)
            return value.tocsr()
        return (value.detach().double().cpu().numpy() if hasattr(value, "detach")
                else np.asarray(value, dtype=float))

    w, b = [array(t) for t in weights], [array(t) for t in biases]
    if template is None:
        encoding = {}
        if poisson is not None:
            from brian2 import Hz

            encoding = {"encoding": "poisson", "poisson_parameters": {
                "max_rate": poisson["max_rate"] * Hz, "seed": poisson["seed"]}}
        template = convert(ANN(tuple(w), tuple(b)), model=model, normalization="none",
                           threshold=1.0, parameters=parameters or None, **encoding)
    inputs = template.layers[:len(template.layers) - len(w)]  # the Poisson layer, if any
    layers = tuple(dataclasses.replace(layer, weights=wl, bias=bl, threshold=float(theta))
                   for layer, wl, bl, theta in zip(template.layers[len(inputs):], w, b,
                                                   thresholds))
    return dataclasses.replace(template, layers=inputs + layers)


def train_snn(x, labels, steps, hidden=(500,), model="if_soft", surrogate="fast_sigmoid",
              surrogate_parameters=None, parameters=None, threshold=1.0, start=None, epochs=1,
              batch_size=64, lr=1e-3, seed=0, logit_scale=10.0, n_classes=None, test=None,
              checkpoint=None, progress=None, dtype="float32", encoding="current",
              poisson_parameters=None, rule="bptt", input_shape=None, lr_halving_epochs=None,
              weight_decay=0.0):
    """Train a spiking network through its forward pass with surrogate gradients.

    Parameters
    ----------
    x : ndarray, (samples, n_inputs)
        Inputs (pixels); the first layer receives ``x @ W_0 + b_0`` every step.
    labels : ndarray of int
    steps : int
        Timesteps unrolled per sample (the simulation's ``steps``).
    hidden : tuple of int
        Hidden layer sizes (ignored with ``start``).
    model : str
        Neuron model of every layer: a key of
        :data:`brainconv.surrogate.dynamics.TRAINABLE_MODELS` (``if_soft``, ``if_hard``,
        ``lif``, ``accumulator``, ``leaky_accumulator``, ``ion``, ``len`` without refractory
        steps, ``fs_relu``: one-off input, a window of K steps per layer, so ``steps`` must
        be at least layers x K).
    surrogate : str
        A key of :data:`brainconv.surrogate.functions.SURROGATES`.
    surrogate_parameters, parameters : dict, optional
        The surrogate's (``slope``, ``alpha``) and the model's (``R`` of ``lif``) parameters.
    threshold : float
        Threshold of every layer (with ``start``: the spec's thresholds).
    start : NetworkSpec, optional
        Fine-tune this network (e.g. ``convert(ann, model=model)``) instead of a random init.
        Its convolutions (sparse layers) train through their kernels, with ``input_shape``
        (:mod:`brainconv.surrogate.convolution`).
    epochs, batch_size, lr : int, int, float
        Adam's learning rate ``lr``.
    lr_halving_epochs : int, optional
        Halve the learning rate every this many epochs (as :func:`~brainconv.spiketime.train_bats`
        does); default constant.
    weight_decay : float
        Decoupled weight decay (AdamW: every weight and bias shrinks by ``lr * weight_decay``
        per batch), a regulariser against over-fitting; default 0 (plain Adam).
    seed : int
        Seeds the initialisation and each epoch's shuffle (``default_rng((seed, epoch))``).
    logit_scale : float
        The loss's logits are ``logit_scale * counts / steps``.
    n_classes : int, optional
        Default ``max(labels) + 1``.
    test : (ndarray, ndarray), optional
        Scored after every epoch.
    checkpoint : str or path, optional
        Written after every epoch; a run with the same inputs resumes from it.
    progress : bool or callable, optional
        ``True``: a progress bar on stderr and one line per epoch; a callable gets
        ``(epoch, batch, loss, accuracy)``.
    dtype : "float32" or "float64"
    encoding : {"current", "poisson"}
        The input: ``x @ W_0 + b_0`` every step, or the spikes of brainconv's Poisson input
        layer (probability ``x * max_rate * 1 ms`` per step, drawn as the numpy reference
        draws them: ``default_rng((seed, step))``), ``W_0`` acting on the spikes. Training
        batches draw from ``(seed, epoch, batch, step)``; the test set and the exported spec
        from the Poisson seed, so that simulating the spec gives the same spikes. A ``start``
        converted with ``encoding="poisson"`` is fine-tuned on its own input layer's spikes.
    poisson_parameters : dict, optional
        ``max_rate`` (a Brian2 rate, default ``1000 * Hz``) and ``seed`` (default ``seed``) of
        the Poisson input (from ``start``'s input layer when it has one).
    rule : str
        How the gradient comes out of the forward pass, a key of
        :data:`brainconv.surrogate.rules.GRADIENT_RULES`: ``"bptt"`` (through the unrolled
        timesteps), ``"bptt_checkpoint"`` (the same gradient in about sqrt(steps) of its
        memory, each segment of steps recomputed in the backward pass) or ``"aggregate"`` (Lee
        et al. 2020, Srinivasan et al.'s spike-based
        backprop: through each layer's spike count against its total input; ``if_soft``,
        ``if_hard`` and ``lif``).
    input_shape : tuple of int, optional
        ``(C, H, W)`` of one sample, for a ``start`` with convolutional layers: each trains its
        kernel and one bias per channel, so the exported layers are convolutions again.

    Returns
    -------
    spec : NetworkSpec
        The trained network, ready for :func:`brainconv.simulation.simulate` on any device.
    history : dict
        Per epoch ``loss``, ``train_accuracy``, ``test_accuracy`` (NaN without ``test``),
        ``spikes_per_neuron`` (per layer, training samples), ``seconds``; ``surrogate`` and
        its parameters; ``rule``; ``bptt_bytes`` (the memory the rule's graph keeps).
    """
    import torch

    x = np.asarray(x, dtype=float)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) == 0 or y.shape != (len(x),):
        raise ShapeError(f"x must be (samples, n_inputs) with samples >= 1 and labels one per "
                         f"sample; got x {x.shape}, labels {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ParameterError("x holds NaN or inf; clean or rescale the data")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ParameterError(f"labels must be non-negative ints, got dtype {y.dtype}")
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps must be an int >= 1 (timesteps unrolled), got {steps!r}")
    if not (int(epochs) >= 0 and int(batch_size) >= 1 and 0 < lr < np.inf):
        raise ParameterError(f"need epochs >= 0, batch_size >= 1 and a finite lr > 0; got "
                             f"{epochs}, {batch_size}, {lr}")
    if lr_halving_epochs is not None and (not isinstance(lr_halving_epochs, (int, np.integer))
                                          or isinstance(lr_halving_epochs, bool)
                                          or lr_halving_epochs < 1):
        raise ParameterError(f"lr_halving_epochs must be an int >= 1 or None, got "
                             f"{lr_halving_epochs!r}")
    if not 0 <= weight_decay < np.inf:
        raise ParameterError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if test is not None:
        test_x, test_y = np.asarray(test[0], dtype=float), np.asarray(test[1])
        if test_x.ndim != 2 or test_x.shape[1] != x.shape[1] or test_y.shape != (len(test_x),):
            raise ShapeError(f"test must be (inputs (n, {x.shape[1]}), labels (n,)), got "
                             f"{test_x.shape} and {test_y.shape}")
        if not np.all(np.isfinite(test_x)):
            raise ParameterError("the test inputs hold NaN or inf; clean or rescale them")
        test = (test_x, test_y)
    given_parameters, parameters = parameters, _model_parameters(start, parameters)
    trainable_model(model, parameters)
    count_fn, memory_fn, _ = check_rule(rule, model)
    poisson = _check_encoding(encoding, poisson_parameters, seed, start)
    surrogate_values = check_surrogate(surrogate, surrogate_parameters)
    forms, thresholds, template = _start(start, x.shape[1], hidden, n_classes, seed, model,
                                         threshold, input_shape)
    from ..spec import check_steps_cover

    def exported(params):
        """The spec's weights and biases of the trained tensors."""
        pairs = [form.export(w, b) for form, w, b in zip(forms, params[:L], params[L:])]
        return [w for w, _ in pairs], [b for _, b in pairs]

    L = len(forms)
    initial = [form.tensors[0] for form in forms] + [form.tensors[1] for form in forms]
    # few-spike layers: the unrolled steps must cover every layer's window
    check_steps_cover(network_spec(*exported(initial), model, thresholds, parameters, template,
                                   poisson), steps)
    sizes = [x.shape[1]] + [form.size for form in forms]
    torch_dtype = getattr(torch, dtype)
    shape = (steps, batch_size, sizes, torch.finfo(torch_dtype).bits // 8)
    memory = memory_fn(*shape)
    if memory > BPTT_BUDGET:
        raise ParameterError(f"the {rule} graph would keep {memory / 2**30:.1f} GiB for the "
                             f"backward pass (steps {steps} x batch {batch_size} x "
                             f"{sum(sizes[1:])} neurons); lower batch_size or steps"
                             + ("" if rule != "bptt" or model not in GRADIENT_RULES[
                                 "bptt_checkpoint"][2] else ", or use rule='bptt_checkpoint' "
                                 "(the same gradient, recomputed in segments: "
                                 f"{GRADIENT_RULES['bptt_checkpoint'][1](*shape) / 2**30:.1f} "
                                 "GiB)"))
    if checkpoint is not None and not Path(checkpoint).parent.is_dir():
        raise ParameterError(f"checkpoint {checkpoint}: the folder {Path(checkpoint).parent} "
                             "does not exist; create it first")
    from ..cache import atomic_write, digest

    key = digest("train_snn", x, y, int(steps), [t.numpy() for t in initial[:L]], thresholds,
                 model,
                 surrogate, sorted(surrogate_values.items()),
                 sorted((given_parameters or {}).items()),
                 int(batch_size), float(lr), int(seed), float(logit_scale), dtype,
                 None if test is None else test,
                 # joined later: current input and "bptt" keep the keys of older checkpoints
                 *(() if poisson is None else (sorted(poisson.items()),)),
                 *(() if rule == "bptt" else (rule,)),
                 *(() if input_shape is None else (tuple(int(n) for n in input_shape),)),
                 *(() if lr_halving_epochs is None else (("lr_halving_epochs",
                                                          int(lr_halving_epochs)),)),
                 *(() if not weight_decay else (("weight_decay", float(weight_decay)),)))
    params = [t.to(torch_dtype).requires_grad_() for t in initial]
    optimiser = torch.optim.AdamW(params, lr=lr, weight_decay=float(weight_decay))
    log = {k: [] for k in ("loss", "train_accuracy", "test_accuracy", "spikes_per_neuron",
                           "seconds")}
    first = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = torch.load(checkpoint, weights_only=False)
        if state.get("format") != CHECKPOINT_FORMAT or state.get("key") != key:
            raise ParameterError(f"checkpoint {checkpoint} was written by a run with other "
                                 "inputs; name another file, or delete it to start over")
        with torch.no_grad():
            for p, saved in zip(params, state["params"]):
                p.copy_(saved)
        optimiser.load_state_dict(state["optimiser"])
        log, first = state["log"], state["epochs_done"]
        if first > int(epochs):
            raise ParameterError(f"checkpoint {checkpoint} holds {first} epochs, more than the "
                                 f"{epochs} asked for")

    def spike_fn(v, theta):
        return spike(v, theta, surrogate, surrogate_values)

    def derivative(distance, theta):
        return SURROGATES[surrogate][0](distance, theta, **surrogate_values)

    def run(inputs, draws=None):
        """The forward pass; ``draws``: the Poisson seed tuple of these inputs."""
        input_spikes = None
        if poisson is not None:
            rate, values = poisson["max_rate"] * 1e-3, inputs.cpu().numpy()

            def input_spikes(t):
                u = np.random.default_rng((*draws, t)).random(values.shape)
                return torch.as_tensor(np.less(u, values * rate), dtype=inputs.dtype)
        built = [form.build(w, b) for form, w, b in zip(forms, params[:L], params[L:])]
        return count_fn([w for w, _ in built], [b for _, b in built], inputs, int(steps), model,
                        thresholds, spike_fn, parameters, input_spikes, derivative)

    x_t = torch.tensor(x, dtype=torch_dtype)
    y_t = torch.tensor(y, dtype=torch.int64)
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(x) * int(epochs), initial=len(x) * first, unit="sample",
                   desc="train_snn", file=sys.stderr, dynamic_ncols=True)
    try:
        for epoch in range(first, int(epochs)):
            began = time.perf_counter()
            order = np.random.default_rng((int(seed), epoch)).permutation(len(x))
            halvings = epoch // int(lr_halving_epochs) if lr_halving_epochs else 0
            for group in optimiser.param_groups:  # set each epoch: a resumed run agrees
                group["lr"] = lr * 0.5 ** halvings
            loss_sum, correct, spikes = 0.0, 0, np.zeros(L)
            for b0 in range(0, len(x), int(batch_size)):
                idx = torch.from_numpy(order[b0:b0 + int(batch_size)])
                counts = run(x_t[idx], (int(seed), epoch, b0))
                logits = counts[-1] * (float(logit_scale) / int(steps))
                loss = torch.nn.functional.cross_entropy(logits, y_t[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                hits = int((logits.argmax(dim=1) == y_t[idx]).sum())
                loss_sum += loss.item() * len(idx)
                correct += hits
                spikes += [c.sum().item() for c in counts]
                if bar is not None:
                    bar.update(len(idx))
                    bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}",
                                    acc=f"{hits / len(idx):.2f}", refresh=False)
                elif callable(progress):
                    progress(epoch, b0 // int(batch_size), loss.item(), hits / len(idx))
            test_accuracy = np.nan
            if test is not None:
                with torch.no_grad():
                    counts = run(torch.tensor(test[0], dtype=torch_dtype),
                                 None if poisson is None else (poisson["seed"],))
                test_accuracy = float(np.mean(counts[-1].argmax(dim=1).numpy() == test[1]))
            row = {"loss": loss_sum / len(x), "train_accuracy": correct / len(x),
                   "test_accuracy": test_accuracy,
                   "spikes_per_neuron": list(spikes / (len(x) * np.array(sizes[1:]))),
                   "seconds": time.perf_counter() - began}
            for k, value in row.items():
                log[k].append(value)
            if bar is not None:
                bar.write(f"epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f}, train "
                          f"{100 * row['train_accuracy']:.2f} %, test "
                          f"{100 * test_accuracy:.2f} %, {row['seconds']:.0f} s",
                          file=sys.stderr)
            if checkpoint is not None:
                state = {"format": CHECKPOINT_FORMAT, "key": key, "epochs_done": epoch + 1,
                         "params": [p.detach().clone() for p in params],
                         "optimiser": optimiser.state_dict(), "log": log}
                atomic_write(checkpoint, lambda tmp: torch.save(state, tmp))
    finally:
        if bar is not None:
            bar.close()
    spec = network_spec(*exported(params), model, thresholds, parameters, template, poisson)
    history = {k: np.asarray(v) for k, v in log.items()}
    history.update(surrogate=surrogate, surrogate_parameters=surrogate_values, rule=rule,
                   bptt_bytes=memory)
    return spec, history
