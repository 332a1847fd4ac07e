"""Surrogate gradients: a spike is ``H(v - theta)`` forward, a smooth derivative backward.

Each entry of :data:`SURROGATES` maps the distance to threshold ``x = v - theta`` (and
``theta``) to ``dS/dv``; :func:`spike` applies it through a ``torch.autograd.Function``. The
forward pass is exactly the numpy reference's test ``v >= theta`` (``v - theta >= 0`` has the
same truth value in floating point: rounding is monotone).

* ``fast_sigmoid``: ``1 / (1 + slope |x| / theta)^2 / theta`` (SuperSpike, Zenke & Ganguli
  2018; snnTorch's default);
* ``arctan``: ``(slope / 2) / (1 + (pi / 2 slope x / theta)^2) / theta`` (Fang et al. 2021,
  SpikingJelly's ATan);
* ``triangle``: ``max(0, 1 - |x| / theta) / theta`` (Esser et al. 2016; Bellec et al. 2018);
* ``srinivasan``: ``1 / (theta + alpha)`` everywhere (Lee et al. 2020, as used by Srinivasan et
  al., eq. 1: ``alpha`` corrects for the leak; 0: none);
* Think Fast §3.4's custom gradients, read per step with ``V_in`` the potential after the
  step's input (``v = x + theta``) and ``V_th = theta``, so they are gated to the steps at or
  above threshold: ``think_fast_relu`` (eq. 10, ION and LEN): ``1 / theta``;
  ``think_fast_rate`` (eq. 12 with ``t = 1``, rate codes): ``1 / (R theta)``; 0 below
  threshold. The paper states them for the transfer function of a whole run, not per step;
  these are one reading of them. (Eq. 13, the accumulators', is not a spike surrogate: an
  accumulator's payload has its own straight-through derivative, :func:`payload`.)

``x`` is measured in units of the threshold so that one setting serves any ``theta``.
"""

import math

from ..errors import ParameterError

__all__ = ["SURROGATES", "check_surrogate", "payload", "spike"]


def _fast_sigmoid(x, theta, slope=5.0, **_):
    return 1.0 / (1.0 + slope * (x / theta).abs()) ** 2 / theta


def _arctan(x, theta, slope=2.0, **_):
    return (slope / 2) / (1.0 + (math.pi / 2 * slope * x / theta) ** 2) / theta


def _triangle(x, theta, **_):
    return (1.0 - (x / theta).abs()).clamp(min=0) / theta


def _srinivasan(x, theta, alpha=0.0, **_):
    return x.new_full(x.shape, 1.0 / (theta + alpha))


def _think_fast_relu(x, theta, **_):
    return (x >= 0).to(x.dtype) / theta


def _think_fast_rate(x, theta, R=1.0, **_):
    return (x >= 0).to(x.dtype) / (R * theta)


#: name -> (derivative function, its parameters and defaults)
SURROGATES = {
    "fast_sigmoid": (_fast_sigmoid, {"slope": 5.0}),
    "arctan": (_arctan, {"slope": 2.0}),
    "triangle": (_triangle, {}),
    "srinivasan": (_srinivasan, {"alpha": 0.0}),
    "think_fast_relu": (_think_fast_relu, {}),
    "think_fast_rate": (_think_fast_rate, {"R": 1.0}),
}


def check_surrogate(name, parameters=None):
    """The surrogate's parameters with defaults filled in, or ParameterError naming the fix."""
    if name not in SURROGATES:
        raise ParameterError(f"unknown surrogate gradient {name!r}; choose one of "
                             f"{sorted(SURROGATES)}")
    defaults = SURROGATES[name][1]
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(defaults))
    if unknown:
        raise ParameterError(f"surrogate {name!r} has no parameter {unknown[0]!r}; its "
                             f"parameters are {sorted(defaults) or 'none'}")
    values = {**defaults, **parameters}
    for key, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ParameterError(f"surrogate parameter {key} must be a finite number >= 0, "
                                 f"got {value!r}")
    return {key: float(value) for key, value in values.items()}  # alpha=0 is alpha=0.0


_FUNCTION = None


def _function():
    """The autograd Function, built once (torch is optional)."""
    global _FUNCTION
    if _FUNCTION is None:
        import torch

        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x, theta, name, parameters):
                ctx.save_for_backward(x)
                ctx.theta, ctx.name, ctx.parameters = theta, name, parameters
                return (x >= 0).to(x.dtype)

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                derivative = SURROGATES[ctx.name][0](x, ctx.theta, **ctx.parameters)
                return grad * derivative, None, None, None

        _FUNCTION = Spike
    return _FUNCTION


_PAYLOAD = None


def payload(v, theta, k):
    """An accumulator's payload ``clip(floor(v / theta), 0, k)`` with the straight-through
    derivative ``1 / theta`` on ``[0, (k + 1) theta)`` (the rate curve's slope, Think Fast's
    ReLU-like accumulator gradient), 0 outside."""
    global _PAYLOAD
    if _PAYLOAD is None:
        import torch

        class Payload(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v, theta, k):
                ctx.save_for_backward(v)
                ctx.theta, ctx.k = theta, k
                return torch.clamp(torch.floor(v / theta), 0, k)

            @staticmethod
            def backward(ctx, grad):
                (v,) = ctx.saved_tensors
                inside = (v >= 0) & (v < (ctx.k + 1) * ctx.theta)
                return grad * inside.to(grad.dtype) / ctx.theta, None, None

        _PAYLOAD = Payload
    return _PAYLOAD.apply(v, float(theta), float(k))


def spike(v, theta, name="fast_sigmoid", parameters=None):
    """Spikes ``v >= theta`` (0/1 in ``v``'s dtype) with the named surrogate derivative."""
    return _function().apply(v - theta, float(theta), name, dict(parameters or {}))
