"""ANN → :class:`NetworkSpec`: weight normalization and the immutable network description.

numpy only: nothing here creates a Brian2 object, so conversion is testable on its own and
every bad input is rejected before a simulation is built.

Conventions (Think Fast §3): pixels enter as constant currents, so the first layer receives
``x @ W0 + b0`` once per timestep and holds no ``Synapses``; every later layer receives the
spikes of the layer below through ``Synapses`` with the transferred weights, plus its bias as a
constant current per timestep. Each layer's weights and bias are multiplied by its threshold so
that the converted rates do not depend on the threshold chosen.

With ``encoding="poisson"`` a Poisson input layer (:mod:`brainconv.equations.poisson`,
identity weights, its current the pixel value) comes first, and the ANN's first weight matrix
becomes a spiking pathway. ``normalization="spike_norm"`` (Sengupta et al. 2019) sets each
layer's threshold from simulated spike input instead of ANN activations (:func:`spike_norm`).

The choices of :func:`convert` are registries, so a new one is one entry: :data:`ANN_FAMILIES`
(ANN activation → :class:`AnnFamily`: its ReLU or soft-LIF equivalent, time base, allowed
normalizations, trained constants), :data:`NORMALIZERS` (name → :class:`Normalizer`),
:data:`ENCODERS` (name → :class:`Encoder`), :data:`READOUTS` (name → output model) and
:data:`PARAMETER_RULES` (parameter name → check). Unknown names are errors that list the keys.

The package, one module per choice: :mod:`~brainconv.conversion.converter` (:func:`convert`,
:func:`spike_norm`), :mod:`~brainconv.conversion.families`,
:mod:`~brainconv.conversion.normalization`, :mod:`~brainconv.conversion.encoding` and
:mod:`~brainconv.conversion.parameters`. Everything public is imported from here.
"""

from .converter import READOUTS, check_bias_free, convert, spike_norm
from .encoding import ENCODERS, ENCODINGS, Encoder
from .families import ANN_FAMILIES, AnnFamily, relu_equivalent, softlif_equivalent
from .normalization import NORMALIZATIONS, NORMALIZERS, SPIKE_NORM, Normalizer, normalize
from .parameters import PARAMETER_RULES

__all__ = ["ANN_FAMILIES", "ENCODERS", "ENCODINGS", "NORMALIZATIONS", "NORMALIZERS",
           "PARAMETER_RULES", "READOUTS", "SPIKE_NORM", "AnnFamily", "Encoder", "Normalizer",
           "check_bias_free", "convert", "normalize", "relu_equivalent", "softlif_equivalent",
           "spike_norm"]
