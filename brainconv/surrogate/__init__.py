"""Surrogate-gradient training of grid spiking networks through their own forward pass.

:func:`train_snn` unrolls a network of ``if_soft``, ``if_hard``, ``lif``, accumulator or ION
neurons over its timesteps in torch, on the numpy reference's schedule, and trains it by
backpropagation through time with a surrogate derivative of the spike
(:data:`~.functions.SURROGATES`), or through each layer's totals over the window (Lee et al.
2020's spike-based backprop; :data:`~.rules.GRADIENT_RULES`); the result is a
:class:`~brainconv.spec.NetworkSpec` that every device runs. torch is the optional ``[torch]``
extra: importing this package does not import it.
"""

from .dynamics import TRAINABLE_MODELS, forward
from .functions import SURROGATES, spike
from .rules import GRADIENT_RULES, bptt_bytes
from .training import network_spec, train_snn

__all__ = ["GRADIENT_RULES", "SURROGATES", "TRAINABLE_MODELS", "bptt_bytes", "forward",
           "network_spec", "spike", "train_snn"]
