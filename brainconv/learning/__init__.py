"""Unsupervised STDP learning of binary convolution kernels inside one compiled Brian2 run.

Two learners, the same neuron and synapse models (:mod:`brainconv.equations.adaptive_lif`,
:mod:`brainconv.equations.plasticity`):

* :func:`learn_kernels` (:mod:`.patches`): one 3x3 patch per sample, one kernel per learning
  neuron; small and fast, a simplification of the paper's convolutional learning.
* :func:`learn_shared_kernels` (:mod:`.shared`): whole images, each kernel applied at every
  position and updated by the spikes at all of them (weights stored once), as Srinivasan et al.
  2020 describe.
"""

from .common import LearnedKernels, learning_devices
from .patches import image_patches, learn_kernels
from .shared import learn_shared_kernels, offset_connections

__all__ = ["LearnedKernels", "image_patches", "learn_kernels", "learn_shared_kernels",
           "learning_devices", "offset_connections"]
