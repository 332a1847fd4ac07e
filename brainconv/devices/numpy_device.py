"""The ``numpy`` backend: the numpy reference simulator, same schedule, no Brian2."""

import numpy as np

from ..reference import check_numpy_functions, simulate_reference
from . import Device, RawResults, register_device

__all__ = ["NumpyDevice"]


class NumpyDevice(Device):
    """:func:`brainconv.reference.simulate_reference` as a backend.

    All samples run at once in the caller's order (not :attr:`~Device.batched`); the chosen
    samples' spike trains are recorded directly.
    """

    name = "numpy"
    batched = False

    def check_network(self, spec):
        """Every layer needs its numpy functions
        (:func:`brainconv.reference.check_numpy_functions`)."""
        check_numpy_functions(spec)

    def run(self, spec, inputs, steps, batch_size, *, dt_ms, recording=None, directory=None,
            notify=None, progress=False, processes=None, precision="float64"):
        """Simulate ``spec`` on the inputs ``x`` (``inputs``); ``recording`` is ``(samples,
        layers)`` or None. See :meth:`brainconv.devices.Device.run`."""
        return RawResults.from_mapping(simulate_reference(spec, inputs, steps, dt_ms=dt_ms,
                                                          record=recording,
                                                          dtype=np.dtype(precision)))


register_device(NumpyDevice())
