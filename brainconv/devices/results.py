"""The raw results of one simulation, as every backend returns them.

A :class:`RawResults` holds plain numpy arrays, before they become an ``xarray.Dataset``
(:func:`brainconv.results.make_dataset`). Its fields are also the items of a ``dict`` (it is
one), the form the numpy reference simulator (:func:`brainconv.reference.simulate_reference`)
returns: ``raw.output_spikes`` is ``raw["output_spikes"]``, and a field left at None is no
item (``"readout" in raw`` only for a network with a readout).
"""

import dataclasses

import numpy as np

__all__ = ["RawResults", "SPIKE_TRAIN_COLUMNS"]

#: Columns of recorded spike trains besides the sample (or, before the run order is undone,
#: the sample slot ``position`` of the run).
SPIKE_TRAIN_COLUMNS = ("layer", "neuron", "step", "weight")


@dataclasses.dataclass(eq=False)
class RawResults(dict):
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
        unknown = sorted(set(values) - set(_FIELDS))
        if unknown:
            raise KeyError(f"not fields of RawResults: {', '.join(unknown)}")
        return cls(**values)

    @property
    def n_samples(self):
        """Samples simulated."""
        return len(self.output_spikes)

    # The items mirror the fields: setting either sets both.
    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name in _FIELDS:
            if value is None:
                dict.pop(self, name, None)
            else:
                dict.__setitem__(self, name, value)

    def __setitem__(self, key, value):
        if key not in _FIELDS:
            raise KeyError(f"{key!r} is not a field of RawResults ({', '.join(_FIELDS)})")
        setattr(self, key, value)

    def update(self, *args, **kwargs):
        """Set fields from a mapping or keyword arguments, as ``dict.update``."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        setattr(self, key, None)


_FIELDS = tuple(field.name for field in dataclasses.fields(RawResults))
