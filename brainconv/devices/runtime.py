"""The ``runtime`` backend: Brian2's runtime mode, in this process."""

from ..errors import SimulationError
from . import (Device, brian2_device, brian2_failure, float_prefs, import_brian2,
               register_device, stage)

__all__ = ["RuntimeDevice"]


class RuntimeDevice(Device):
    """Brian2's runtime device (cython code generation, numpy fallback); fine for small runs.

    The batched network of :mod:`brainconv.build` is built and run in this process; an
    additive pathway is served by weight rows (:mod:`brainconv.pathways`, the Cython or numpy
    ``pathway`` template), every other one by Brian2's propagation.
    """

    name = "runtime"
    plasticity = True
    direct_pathways = True  # brainconv/templates has pathway.pyx and pathway.py_

    def run(self, spec, inputs, steps, batch_size, *, dt_ms, recording=None, directory=None,
            notify=None, progress=False, processes=None, precision="float64"):
        """See :meth:`brainconv.devices.Device.run`."""
        from ..build import build_network, layer_values
        from .collect import collect

        import_brian2()
        with stage("inputs and weights for the run"):
            values = layer_values(spec, inputs, batch_size, self)
        n_batches = -(-len(inputs) // batch_size)
        try:
            with brian2_device("runtime", prefs=float_prefs(precision)):
                built = build_network(spec, steps, batch_size, n_batches, values, dt_ms,
                                      recording, device=self)
                if notify is not None and progress:
                    notify("the runtime device compiles each code object and runs batch "
                           "after batch: minutes for a test set; device='cpp_standalone' is "
                           "the fast path")
                # Brian2's own report: simulated time and ETA on stderr, every 10 s.
                import brian2

                built.network.run(built.duration, namespace={},
                                  report="stderr" if progress else None,
                                  report_period=10 * brian2.second)
                return collect(built, spec, len(inputs))
        except SimulationError:
            raise
        except Exception as exc:
            raise SimulationError(f"the runtime simulation failed: "
                                  f"{brian2_failure(exc, spec)}") from exc


register_device(RuntimeDevice())
