"""Spike-time (event-driven) CuBa-LIF networks of BATS / Cojocaru: simulation and training.

:func:`simulate_events` computes every spike time in closed form (tau = 2 tau_s), optionally
passing on Cojocaru's discretised times ``d(t)``; :func:`train_bats` trains such a network with
BATS' exact spike-time gradients (straight-through estimator for ``d``) and :func:`predict`
classifies by output spike count; :func:`ttfs_encode` turns pixels into BATS' one spike per
input. Training and prediction run on a compiled engine (numba, :mod:`.compiled`) by default;
the numpy functions are the reference it is tested against. Importing this package imports
neither Brian2 nor numba. The trained weights run in
Brian2 through :func:`brainconv.spiketime.network.cuba_network` (loaded on first use).
"""

from .events import (EventResult, LayerEvents, discretise, simulate_events, ttfs_decode,
                     ttfs_encode)
from .gradients import backward_events, count_loss
from .training import ENGINES, BatsSettings, evaluate, predict, train_bats

__all__ = ["ENGINES", "BatsSettings", "EventResult", "LayerEvents", "backward_events",
           "count_loss", "cuba_network",
           "discretise", "evaluate", "predict", "simulate_events", "train_bats", "ttfs_decode",
           "ttfs_encode"]


def __getattr__(name):
    # Lazy: network.py imports brainconv.conversion (and so Brian2's world) at import time.
    if name == "cuba_network":
        from .network import cuba_network
        return cuba_network
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
