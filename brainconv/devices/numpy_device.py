"""The ``numpy`` backend: the numpy reference simulator, same schedule, no Brian2."""

from ..equations import resolve_model
from ..errors import ModelError
from ..reference import simulate_reference
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
        """Every layer's model needs a numpy ``step`` function (a user model defined from
        Brian2 strings alone has none)."""
        from ..spec import pathway_synapse

        for index, layer in enumerate(spec.layers):
            synapse, _ = pathway_synapse(spec, index)
            if not synapse.filter_step:
                raise ModelError(
                    f"layer {layer.name!r}: synapse model {synapse.name!r} has no numpy "
                    "filter_step, so the numpy device cannot simulate it; use "
                    "device='cpp_standalone', or define it with filter_step=...")
            model = resolve_model(layer.model, layer.parameters)
            if not model.step:
                raise ModelError(
                    f"layer {layer.name!r}: model {model.name!r} has no numpy step function, "
                    "so the numpy device cannot simulate it; use device='cpp_standalone' "
                    "(compiled once per layout) or device='runtime' (a few samples), or "
                    "define the model with step=...")

    def run(self, spec, inputs, steps, batch_size, *, dt_ms, recording=None, directory=None,
            notify=None, progress=False, processes=None):
        """Simulate ``spec`` on the inputs ``x`` (``inputs``); ``recording`` is ``(samples,
        layers)`` or None. See :meth:`brainconv.devices.Device.run`."""
        return RawResults.from_mapping(simulate_reference(spec, inputs, steps, dt_ms=dt_ms,
                                                          record=recording))


register_device(NumpyDevice())
