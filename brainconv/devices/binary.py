"""What every run of a compiled binary needs: Ctrl-C told apart from a failure, environment
variables for the run, and run_args checked before the binary sees them.

Shared by the Brian2 path (:mod:`.cpp_standalone`) and the warm runs (:mod:`.warm`).
"""

import os
import signal
import threading

import numpy as np

__all__ = ["InterruptFlag", "TemporaryEnvironment", "shape_mismatch"]


class InterruptFlag:
    """Context manager noting a SIGINT while a standalone binary runs.

    Ctrl-C reaches the binary too; it exits, and Brian2 reports "Project run failed" (or the
    partial output fails to parse). The flag's ``seen`` lets the caller say that the user
    interrupted rather than that the project is broken.
    """

    seen = False

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)

            def handler(signum, frame):
                self.seen = True
                raise KeyboardInterrupt

            signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


class TemporaryEnvironment:
    """Set (or, for None, remove) environment variables for the duration of a block."""

    def __init__(self, **values):
        self.values = values

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in self.values}
        for name, value in self.values.items():
            os.environ.pop(name, None) if value is None else os.environ.update({name: value})

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            os.environ.pop(name, None) if value is None else os.environ.update({name: value})
        return False


def shape_mismatch(spec, values, shapes, directory):
    """A message for the first of ``values`` whose shape is not ``shapes[key]``, or None.

    The binary only prints an error for a wrong-sized run_args file and then runs on with the
    old values, so shapes are checked in Python.
    """
    for key, shape in shapes.items():
        if np.shape(values[key]) != tuple(shape):
            return (f"{key[0]} of layer {spec.layers[key[1]].name!r} have shape "
                    f"{np.shape(values[key])}, the compiled project {directory} expects "
                    f"{tuple(shape)}; build a project for this layout")
    return None
