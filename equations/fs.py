"""Few-spike (FS) neurons: one-off input, K steps, ~2 spikes (Stöckl & Maass 2021).

Stöckl & Maass, *Optimized spiking neurons can classify images with high accuracy through
temporal coding with two spikes*, Nat. Mach. Intell. 3, 230-238 (2021);
official code ``christophstoeckl/FS-neurons`` (``fs_coding.py`` @ ``899af4e``,
coefficients in ``fs_weights.py`` @ ``dcec71b``/``631e7f3``, unchanged at HEAD).

An FS neuron receives its input ``x`` once, as its potential ``v(0) = x``, and then runs K
steps with per-step threshold ``T(t)``, reset amount ``h(t)`` and output weight ``d(t)``::

    for t in 0 .. K-1:                 # threshold -> output -> reset, all with index t
        z   = v >= T[t]                # '>=' (Theta(0) = 1): ReLU exact on grid points
        out += z * d[t]
        v   -= z * h[t]

``T = h = d = alpha * 2**-t`` (t = 1..K) computes ``floor(x / q) * q`` for ``x`` in
``[0, alpha)``, ``q = alpha * 2**-K``: ReLU exactly on the grid, with ``popcount(x / q)``
spikes. The official code spikes on ``v > T`` (strict); with it the ReLU coefficients give the
grid value *strictly below* ``x`` and are wrong by one level on every grid point, so brainconv
uses ``>=`` for every FS model (``make_fs(..., strict=True)`` gives the official ``>``; for the
swish and sigmoid fits the two differ only on a set of measure zero). The fitted coefficient
sets need this update order; applied in the older order (reset with the next index before the
threshold) they give errors 100-400 times larger.

**In a network** (not pipelined): layer ``l`` (0-based) is active in steps ``[lK, (l+1)K)`` of
each sample, so an L-layer network answers after ``L * K`` steps (``sum`` of the layers'
windows where K differs). At the start of each sample the first layer's potential is set once
to its input current ``W0 x + b0`` and every later layer's to its bias; a later layer then
integrates the payloads ``w * d(t)`` of the layer below, which finishes before the layer's own
window opens, so the potential there equals the next ANN pre-activation. A new sample starts
only when the previous one has left the output layer (no pipelining: one sample per
``steps``); Stöckl & Maass argue for pipelining (a new image every K steps), which brainconv
does not do.

**Brian2**: each layer gets padded ``TimedArray`` objects ``fs_T``, ``fs_h``, ``fs_d`` holding
``[pad, values[0..K-1], pad]`` (pad ``1e30`` for ``T``, 0 for ``h`` and ``d``; Brian2 clamps
TimedArray indices at both ends) and the constant ``window_start``, the layer's first step as
a time (:func:`brainconv.build.window_namespace`); ``t0`` is the time the sample started (set
by ``clear``), so ``fs_T(t - t0 - window_start + dt)`` is ``T[t]`` inside the window and the
pad outside. Payloads are set by the reset, before the pathway to the next layer reads them
(brainconv's ``synapses``-slot schedule).

Payload units: ``fs_relu`` sends the integer ``2**(K-t)`` (``d / q``) with ``output_scale =
q``, so an FS-ReLU output layer's payload sums are integer counts of quanta (brainconv's
output spike counts are integers); swish and sigmoid send ``d(t)`` itself (real, may be
negative: ``integer_payload = False``) and can only be hidden layers; convert a swish network
with ``fs_relu`` as the output layer. A spike whose ``d(t)`` is 0 is still a spike in Brian2
but is not counted by the numpy reference (which sees payloads only); no shipped set has one.

``rate(x)`` is the *sum of payloads over the window* for an input ``x`` given once (the exact
K-step loop, so tests compare exactly), not a per-step rate; ``rate(x) * output_scale`` is the
neuron's output ``f^(x)``.
"""

from functools import partial

import numpy as np

from .model import NeuronModel

__all__ = ["BIG", "CLEAR", "EQUATIONS", "FS_RELU", "FS_SIGMOID", "FS_SWISH", "RELU_ALPHA",
           "RELU_K", "RESET", "SIGMOID_D", "SIGMOID_H", "SIGMOID_T", "SOURCE", "SWISH_D",
           "SWISH_H", "SWISH_T", "THRESHOLD", "THRESHOLD_STRICT", "fs_transfer", "make_fs",
           "make_fs_relu", "relu_coefficients", "sigmoid", "swish"]

#: Threshold padding outside a layer's window (finite: ``inf`` would be awkward in C++).
BIG = 1e30

#: Where the shipped coefficients come from.
SOURCE = ("christophstoeckl/FS-neurons fs_weights.py @ dcec71b/631e7f3 (unchanged at "
          "899af4e); Stöckl & Maass, Nat. Mach. Intell. 3, 230-238 (2021)")

#: Published ReLU set: K = 10, alpha = 25 (range [0, 25), quantum 25/1024).
RELU_K = 10
RELU_ALPHA = 25.0

#: Published swish set, K = 16, fitted on x in [-8, 12] (header: loss 0.01215, v_reg 0.0156).
SWISH_H = (0.7844085, 1.7550646, 1.4212719, 1.9244663, 1.4400164, 1.9249276, 1.6100428,
           1.29061, 0.83985287, 3.0827985, 0.43503317, 0.5155389, 0.3269445, 7.618048,
           -14.419675, 0.0)
SWISH_D = (0.40088242, 1.8856316, 1.4915457, 1.947229, 1.4717816, 1.9147849, 1.6389303,
           1.2934641, 0.8703124, 0.68460804, 0.44262582, 0.32832766, 0.13907616, -0.26217145,
           0.23736191, -0.14830568)
SWISH_T = (0.05946945, 1.6541206, 1.3066754, 1.3267198, 1.1000695, 1.2308974, 1.1188028,
           0.9472501, 0.5447531, 1.0236325, 0.11921431, -0.12855051, -0.44731247, -2.1383545,
           1.0, -4.109145)

#: Published sigmoid set, K = 12, fitted on x in [-10, 10] (header: loss 1.1578e-4).
SIGMOID_H = (1.6558512, 1.0989026, 10.7739, 1.3579437, 1.0146959, 0.8972655, 2.1207616,
             1.6949341, 3.6397197, -2.1483946, 5.1177883, 0.0)
SIGMOID_D = (0.37689912, 0.21977554, 0.40271342, 0.17005783, 0.09584032, 0.06293014,
             0.04360681, -0.0443096, 0.01999909, 0.07107325, 0.01502249, 0.01021793)
SIGMOID_T = (-0.00824843, -0.9319625, 1.0080122, -1.2074932, -1.7885877, -2.7065408,
             -3.2715735, 0.07132628, -3.719372, -0.543918, -3.7693157, -5.5447803)

EQUATIONS = """
v : 1
I : 1
n : 1
theta : 1 (shared, constant)
t0 : second  # start of the current sample (per neuron: clear code writes vectors)
"""

_NOW = "(t - t0 - window_start + dt)"
THRESHOLD = f"v >= theta * fs_T{_NOW}"
THRESHOLD_STRICT = f"v > theta * fs_T{_NOW}"
RESET = f"n = fs_d{_NOW}\nv -= theta * fs_h{_NOW}"
#: One-off input: the layer's current (input or bias) becomes the potential once per sample.
CLEAR = "t0 = t\nv = I\nn = 0"


def relu_coefficients(K=RELU_K, alpha=1.0):
    """``T = h = d = alpha * 2**-t``, t = 1..K (exact ReLU on ``[0, alpha)``, slide [001:118])."""
    values = alpha * 2.0 ** -np.arange(1, K + 1)
    return values.copy(), values.copy(), values.copy()


def fs_transfer(x, T, h, d, strict=False, return_spikes=False):
    """The FS neuron's output for inputs ``x`` given once: the K-step loop of the module doc.

    Parameters
    ----------
    x : array_like
    T, h, d : sequence of float, length K
    strict : bool
        ``v > T`` (the official code) instead of ``v >= T``.
    return_spikes : bool
        Also return the number of spikes of each input.

    Returns
    -------
    y : ndarray (float64)
    spikes : ndarray of int, if ``return_spikes``
    """
    v = np.array(x, dtype=np.float64, copy=True)
    out = np.zeros_like(v)
    count = np.zeros(v.shape, np.int64)
    for T_t, h_t, d_t in zip(T, h, d):
        z = v > T_t if strict else v >= T_t
        out += np.where(z, d_t, 0.0)
        v -= np.where(z, h_t, 0.0)
        count += z
    return (out, count) if return_spikes else out


def _check_tables(name, T, h, d):
    from brainconv.errors import ParameterError

    arrays = [np.asarray(a, dtype=np.float64) for a in (T, h, d)]
    if any(a.ndim != 1 for a in arrays) or len({a.size for a in arrays}) != 1 \
            or arrays[0].size < 1:
        raise ParameterError(
            f"FS model {name!r}: T, h and d must be 1-D sequences of the same length K >= 1, "
            f"got lengths {[a.size for a in arrays]}")
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ParameterError(f"FS model {name!r}: T, h and d must be finite numbers")
    return arrays


def _step(v, current, spikes, phase=-1, theta=1.0, *, T, h, payload, strict, **_):
    """One timestep of an FS layer in numpy (matches the Brian2 strings exactly).

    ``phase`` is the step's index within the layer's window (outside ``[0, K)``: no spike);
    ``current`` is added to ``v`` (the reference passes the input or bias only in step 0 of a
    sample, and the payloads of the layer below every step).
    """
    v += current
    if 0 <= phase < len(T):
        theta = v.dtype.type(theta)
        fire = v > theta * T[phase] if strict else v >= theta * T[phase]
        np.multiply(fire, payload[phase], out=spikes)
        v -= np.where(fire, theta * h[phase], 0.0).astype(v.dtype)
    else:
        spikes[...] = 0
    return spikes


def _rate(current, *, T, h, d, strict, scale, **_):
    """Payload sum over the window for ``current`` given once (``f^(x) / output_scale``)."""
    return fs_transfer(current, T, h, d, strict) / scale


def make_fs(name, T, h, d, strict=False, citation=None, description=None, output_scale=1.0,
            parameters=None, structural=(), make=None):
    """An FS neuron model with per-step coefficients ``T``, ``h``, ``d`` (user-given arrays).

    Parameters
    ----------
    name : str
        Registry name (register it with :func:`brainconv.equations.register_model`).
    T, h, d : sequence of float, length K
        Threshold, reset amount and output weight of steps 0..K-1 (update order: threshold,
        output, reset, same index).
    strict : bool
        Spike on ``v > T`` (the official code) instead of ``v >= T`` (exact ReLU).
    output_scale : float
        Activation one payload unit stands for; the payload sent is ``d / output_scale``.
    parameters, structural, make
        For families such as :func:`make_fs_relu` (``K``, ``alpha``).

    Returns
    -------
    NeuronModel
        ``window = K``; ``rate(x)`` is the exact payload sum for input ``x`` (given once).
    """
    T, h, d = _check_tables(name, T, h, d)
    payload = d / output_scale
    K = len(T)
    integer = bool(np.all(payload == np.round(payload)) and np.all(np.abs(payload) < 2**15))
    tables = {"fs_T": (T, BIG), "fs_h": (h, 0.0), "fs_d": (payload, 0.0)}
    return NeuronModel(
        name=name,
        equations=EQUATIONS,
        threshold=THRESHOLD_STRICT if strict else THRESHOLD,
        reset=RESET,
        parameters={"theta": 1.0, **(parameters or {})},
        rate=partial(_rate, T=T, h=h, d=d, strict=strict, scale=output_scale),
        step=partial(_step, T=T, h=h, payload=payload, strict=strict),
        payload="n",
        clear=CLEAR,
        output_scale=output_scale,
        structural=tuple(structural),
        make=make,
        citation=citation or f"Stöckl & Maass 2021; {SOURCE}",
        description=description or f"FS neuron with user-given coefficients, K = {K}",
        window=K,
        tables=tables,
        integer_payload=integer,
    )


def make_fs_relu(K=RELU_K, alpha=1.0):
    """FS-ReLU: ``T = h = alpha * 2**-t``, payload ``2**(K-t)`` quanta of ``alpha * 2**-K``.

    Exact ``floor(x / q) * q`` on ``[0, alpha)`` (saturating at ``alpha - q``), ``q = alpha *
    2**-K``, with ``popcount(x / q)`` spikes. ``alpha = 1`` suits a normalized network (the
    99.9th percentile of each layer's activations is 1); the published set is ``K = 10,
    alpha = 25``.
    """
    from brainconv.errors import ParameterError

    if isinstance(K, bool) or not float(K).is_integer() or not 1 <= K <= 15:
        raise ParameterError(
            f"K of 'fs_relu' (steps per layer) must be an integer in 1..15 (payloads of up to "
            f"2**(K-1) quanta are counted in int16), got {K!r}")
    if isinstance(alpha, bool) or not (np.isfinite(float(alpha)) and alpha > 0):
        raise ParameterError(f"alpha of 'fs_relu' (the range [0, alpha)) must be a positive "
                             f"number, got {alpha!r}")
    K, alpha = int(K), float(alpha)
    T, h, d = relu_coefficients(K, alpha)
    return make_fs(
        "fs_relu", T, h, d, output_scale=alpha * 2.0 ** -K,
        parameters={"K": K, "alpha": alpha}, structural=("K", "alpha"), make=make_fs_relu,
        citation="Stöckl & Maass 2021, FS-ReLU T = h = d = alpha 2^-t [001:118-120]",
        description=f"Few-spike ReLU: exact on the grid alpha 2^-K, K = {K} steps per layer")


FS_RELU = make_fs_relu()
FS_SWISH = make_fs("fs_swish", SWISH_T, SWISH_H, SWISH_D,
                   citation=f"Stöckl & Maass 2021, swish K = 16; {SOURCE}",
                   description="Few-spike swish, published K = 16 coefficients ([-8, 12])")
FS_SIGMOID = make_fs("fs_sigmoid", SIGMOID_T, SIGMOID_H, SIGMOID_D,
                     citation=f"Stöckl & Maass 2021, sigmoid K = 12; {SOURCE}",
                     description="Few-spike sigmoid, published K = 12 coefficients ([-10, 10])")


def swish(x):
    """``x * sigmoid(x)``."""
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))
