"""The raw results of one simulation, as every backend returns them.

A :class:`RawResults` holds plain numpy arrays, before they become an ``xarray.Dataset``
(:func:`brainconv.results.make_dataset`). It is also a read-only mapping of its present fields
(``raw["output_spikes"]``, ``"readout" in raw``, ``dict(raw)``), the form the numpy reference
simulator (:func:`brainconv.reference.simulate_reference`) returns.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np

__all__ = ["RawResults", "SPIKE_TRAIN_COLUMNS"]

#: Columns of recorded spike trains besides the sample (or, before the run order is undone,
#: the sample slot ``position`` of the run).
SPIKE_TRAIN_COLUMNS = ("layer", "neuron", "step", "weight")


@dataclasses.dataclass(eq=False)
class RawResults(Mapping):
    """Spike counts (and optionally readout values and spike trains) of one simulation.

    Attributes
    ----------
    output_spikes : ndarray, shape (n_samples, steps, classes)
        Output events per step (payloads summed), int16.
    layer_spikes : ndarray, shape (layers, steps)
        Spikes of each layer per step, summed over samples.
    unit_spike_count : ndarray, shape (neurons,)
        Spikes of each neuron of every layer (layer after layer), summed over samples.
    readout : ndarray, shape (n_samples, steps, classes), optional
        ``y`` of a non-spiking output layer each step.
    spike_trains : dict of ndarray, optional
        Recorded spikes as flat arrays ``layer``, ``neuron``, ``step``, ``weight`` and
        ``sample`` (the caller's sample index) or, straight from a batched run,
        ``position`` (the sample's slot in the run).
    recorded_samples : ndarray, optional
        The samples whose spike trains were recorded.
    recorded_layers : tuple of int, optional
        The layers recorded.
    """

    output_spikes: np.ndarray
    layer_spikes: np.ndarray
    unit_spike_count: np.ndarray
    readout: np.ndarray = None
    spike_trains: dict = None
    recorded_samples: np.ndarray = None
    recorded_layers: tuple = None

    @classmethod
    def from_mapping(cls, values):
        """A :class:`RawResults` from a mapping with (some of) its field names as keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise KeyError(f"not fields of RawResults: {', '.join(unknown)}")
        return cls(**values)

    @property
    def n_samples(self):
        """Samples simulated."""
        return len(self.output_spikes)

    # The read-only mapping of the present (not None) fields.
    def __getitem__(self, key):
        value = getattr(self, key, None) if isinstance(key, str) else None
        if value is None or key not in self._names():
            raise KeyError(key)
        return value

    def __iter__(self):
        return (name for name in self._names() if getattr(self, name) is not None)

    def __len__(self):
        return sum(1 for _ in self)

    def _names(self):
        return [field.name for field in dataclasses.fields(self)]
