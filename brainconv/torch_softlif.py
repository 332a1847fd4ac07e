"""The soft-LIF activation as a PyTorch module, for training networks that convert to LIF.

:class:`SoftLIF` computes :func:`brainconv.softlif.softlif_activation` (Hunsberger & Eliasmith
2016, §2.1; Nengo's ``SoftLIFRate``): ``a = amp / (tau_ref + tau_rc log1p(1 / j))`` with
``j = gamma softplus(gain x / gamma)``, in the same underflow-free form. In ``train()`` mode with
``sigma > 0`` it adds the paper's training noise, ``amp N(0, sigma)`` Hz on units above
threshold, clipped at 0, while the gradient stays the noise-free rate's (as ``cuda-convnet2``'s
separate noise and gradient operators, and :func:`brainconv.ann.train_ann`). In ``eval()`` mode
it is deterministic. :func:`brainconv.torch_import.from_torch` reads a network whose hidden
activations are ``SoftLIF`` modules (all with the same parameters) as a ``"softlif"`` ANN, which
:func:`brainconv.convert` turns into ``lif_rc`` neurons.

PyTorch is optional: the class is built on first access (``from brainconv.torch_softlif
import SoftLIF``), and ``import brainconv`` never imports torch.

    >>> import torch                                                          # doctest: +SKIP
    >>> from brainconv.torch_softlif import SoftLIF                          # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5), SoftLIF(sigma=10),
    ...                           torch.nn.AvgPool2d(2), torch.nn.Flatten(),
    ...                           torch.nn.Linear(8 * 12 * 12, 10))            # doctest: +SKIP
"""

import functools
import math

from .softlif import AMP, GAMMA, TAU_RC, TAU_REF, T_LOW, check_rate_parameters

__all__ = ["SoftLIF"]


@functools.cache
def _softlif_class():
    import torch

    class SoftLIF(torch.nn.Module):
        """Soft-LIF rate activation (see the module docstring).

        Parameters
        ----------
        tau_rc, tau_ref : float
            Membrane time constant and refractory period in seconds.
        gamma : float
            Smoothing of the rate curve (> 0).
        amp : float
            Rate-to-activation scale in seconds (0.063 in Hunsberger's MNIST network).
        gain : float
            Input gain: the spiking neuron receives ``J = gain * x + 1``.
        sigma : float
            Training noise in Hz (0: none), added in ``train()`` mode only.
        """

        def __init__(self, tau_rc=TAU_RC, tau_ref=TAU_REF, gamma=GAMMA, amp=AMP, gain=1.0,
                     sigma=0.0):
            super().__init__()
            self.tau_rc, self.tau_ref, self.gamma, self.amp, self.gain = check_rate_parameters(
                tau_rc=tau_rc, tau_ref=tau_ref, gamma=gamma, amp=amp, gain=gain)
            if not (math.isfinite(float(sigma)) and float(sigma) >= 0):
                from .errors import ParameterError

                raise ParameterError(f"SoftLIF sigma (training noise, Hz) must be >= 0, got "
                                     f"{sigma!r}")
            self.sigma = float(sigma)

        @property
        def params(self):
            """The parameters as :func:`brainconv.ann.ANN`'s ``activation_params``."""
            return {"tau_rc": self.tau_rc, "tau_ref": self.tau_ref, "gamma": self.gamma,
                    "amp": self.amp, "gain": self.gain, "sigma": self.sigma}

        def forward(self, x):
            y = self.gain * x
            t = y / self.gamma
            low = t < T_LOW
            ts = torch.clamp(t, min=T_LOW)  # the direct branch never sees tiny t
            # softplus up to t = 50 (torch's default switches to t itself at 20: a 2e-9 error)
            softplus = torch.nn.functional.softplus(ts, threshold=50.0)
            j_direct = self.gamma * softplus
            # Far below threshold j = gamma exp(t): log1p(1/j) = log1p(j) - log(gamma) - t.
            j_low = self.gamma * torch.exp(torch.clamp(t, max=T_LOW))
            log_term = torch.where(low, torch.log1p(j_low) - math.log(self.gamma) - t,
                                   torch.log1p(1 / j_direct))
            rate = self.amp / (self.tau_ref + self.tau_rc * log_term)
            if not (self.training and self.sigma > 0):
                return rate
            noise = torch.randn_like(rate) * (self.amp * self.sigma)
            noisy = torch.clamp(torch.where(y > 0, rate + noise, rate), min=0)
            return rate + (noisy - rate).detach()  # noisy forward, noise-free gradient

        def extra_repr(self):
            return ", ".join(f"{k}={v:g}" for k, v in self.params.items())

    return SoftLIF


def __getattr__(name):
    if name == "SoftLIF":
        return _softlif_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
