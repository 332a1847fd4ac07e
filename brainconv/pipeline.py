"""One path from a trained ANN to a results dataset: convert, simulate, record.

``brainconv run``, :func:`brainconv.comparison.compare` (per paradigm) and
:func:`brainconv.sweep.run_point` all go through :func:`run_paradigm`, so every results
dataset carries the same attributes, written in one place:

1. :func:`convert_paradigm` converts the ANN with a :class:`Paradigm`'s settings;
2. :func:`brainconv.simulation.simulate` runs the network;
3. :func:`brainconv.provenance.run_attrs` records what produced the result (the network's
   model, parameters, normalization and threshold, the ANN's hash, file and accuracy, the
   step ``dt_ms`` as a number), and :func:`brainconv.energy.snn_operations` the operation
   counts;
4. :func:`brainconv.energy.add_energy_attrs` adds Hunsberger & Eliasmith's energy figures.

The step is called ``dt`` at the edge (a number of ms or a Brian2 time, as the user gives it)
and ``dt_ms`` (a float) from the moment it is checked on.
"""

import time
from dataclasses import dataclass, field, replace

from .errors import ParameterError

__all__ = ["Paradigm", "check_paradigm", "check_run", "convert_paradigm", "load_inputs",
           "run_paradigm"]


@dataclass(frozen=True)
class Paradigm:
    """How to convert an ANN into one spiking paradigm (the arguments of
    :func:`brainconv.conversion.convert`).

    ``model`` is a model name, or a tuple of names, one per layer. ``synapse``,
    ``synapse_parameters``, ``readout``, ``threshold``, ``percentile``, ``encoding``,
    ``poisson_parameters`` and ``calibration_steps`` go to :func:`brainconv.conversion.convert`
    as well (``normalization="spike_norm"``: to :func:`brainconv.conversion.spike_norm`);
    ``dt`` is the step in ms of a continuous-time paradigm (None: a dimensionless timestep
    grid).
    """

    model: object
    normalization: str = "percentile"
    parameters: dict = field(default_factory=dict)
    description: str = ""
    synapse: str = "delta"
    synapse_parameters: dict = field(default_factory=dict)
    readout: str = "spikes"
    dt: float = None
    threshold: float = 1.0
    percentile: float = 99.9
    encoding: str = "current"
    poisson_parameters: dict = None
    calibration_steps: int = 1000

    def key(self):
        """Everything the conversion depends on, for a content key (description aside)."""
        return (self.model, self.normalization, sorted(self.parameters.items()), self.synapse,
                sorted(self.synapse_parameters.items()), self.readout, self.dt,
                float(self.threshold), float(self.percentile), self.encoding,
                sorted((self.poisson_parameters or {}).items()), int(self.calibration_steps))


def check_run(steps, device="cpp_standalone", processes=None, target=None, model=None,
              calibration_steps=None, outputs=()):
    """Check a run's settings before any data is loaded or any ANN is read.

    Parameters
    ----------
    steps : int
        Timesteps per sample.
    device : str or brainconv.devices.Device
        A registered backend, by name or the object.
    processes : int, optional
        ``cpp_standalone`` binaries side by side (a count >= 1, cpp_standalone only).
    target : float, optional
        An accuracy in (0, 1].
    model : str, optional
        A registered neuron model's name.
    calibration_steps : int, optional
        Timesteps per calibration image of spike-norm.
    outputs : sequence of (path or None, str)
        Files that will be written, each with the option that names it (None: not written).

    Raises
    ------
    ParameterError, SimulationError, ModelError
        For the first setting that is wrong.
    """
    from .analysis import check_target
    from .devices import get_device, plan_processes
    from .results import check_output_path
    from .spec import check_steps

    backend = get_device(device)  # one check of the device, its availability and processes
    backend.check()
    if processes is not None:
        plan_processes(1, 1, backend, processes)
    if model is not None:
        from .equations import get_model

        get_model(model)
    if target is not None:
        check_target(target)
    check_steps(steps)
    if calibration_steps is not None:
        check_steps(calibration_steps)
    for path, option in outputs:
        if path:
            check_output_path(path, option)


def load_inputs(dataset, data_dir=None, limit=0, calibration=10000, notify=None):
    """The calibration rows, test inputs and test labels of a dataset.

    Parameters
    ----------
    dataset : str
        A name of :data:`brainconv.data.DATASETS`.
    data_dir : str, optional
        Folder of the dataset's files.
    limit : int
        Keep only the first this many test samples (0: all).
    calibration : int
        Training rows kept for normalization.
    notify : callable, optional
        Told which split is being loaded.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        ``calibration`` training inputs, test inputs, test labels.
    """
    from .data import load_dataset

    splits = {}
    for split in ("train", "test"):
        if notify is not None:
            notify(f"loading {dataset} ({split})")
        splits[split] = load_dataset(dataset, split, data_dir)
    x, labels = splits["test"]
    if limit:
        x, labels = x[:limit], labels[:limit]
    return splits["train"][0][:calibration], x, labels


def convert_paradigm(ann, paradigm, calibration=None):
    """Convert ``ann`` with ``paradigm``'s settings.

    Parameters
    ----------
    ann : brainconv.ann.ANN
    paradigm : Paradigm
    calibration : ndarray, optional
        Training inputs for data-based normalization (and spike-norm).

    Returns
    -------
    (NetworkSpec, tuple of float or None)
        The network, and spike-norm's threshold of each ANN layer (None for the other
        normalizations).
    """
    from .conversion import convert, spike_norm

    options = {"model": paradigm.model, "threshold": paradigm.threshold,
               "parameters": dict(paradigm.parameters), "encoding": paradigm.encoding,
               "poisson_parameters": paradigm.poisson_parameters,
               "calibration_steps": paradigm.calibration_steps}
    if paradigm.normalization == "spike_norm":
        return spike_norm(ann, calibration, **options)
    return convert(ann, data=calibration, normalization=paradigm.normalization,
                   percentile=paradigm.percentile, synapse=paradigm.synapse,
                   synapse_parameters=dict(paradigm.synapse_parameters),
                   readout=paradigm.readout, **options), None


def check_paradigm(ann, paradigm, device=None):
    """Check that ``ann`` converts into ``paradigm``, before any data is loaded.

    A trial conversion without normalization checks the model, its parameters, the threshold,
    synapse and readout on the ANN; spike-norm also needs a bias-free ANN; with ``device``, the
    backend checks that it can simulate the network
    (:meth:`brainconv.devices.Device.check_network`: the numpy device needs numpy steps).

    Raises
    ------
    BrainconvError
        What :func:`brainconv.conversion.convert`,
        :func:`brainconv.conversion.check_bias_free` or the backend raises.
    """
    from .conversion import check_bias_free
    from .devices import get_device

    spec, _ = convert_paradigm(ann, replace(paradigm, normalization="none"), None)
    if paradigm.normalization == "spike_norm":
        check_bias_free(ann)
    if device is not None:
        get_device(device).check_network(spec)


def run_paradigm(ann, paradigm, x, labels, steps, calibration=None, device="cpp_standalone",
                 batch_size=None, window=None, record=None, record_layers=None,
                 processes=None, notify=None, progress=False, attrs=None, ann_file=None,
                 precision="float64"):
    """Convert ``ann`` into ``paradigm``, simulate it on ``x`` and return the results.

    Parameters
    ----------
    ann : brainconv.ann.ANN
        The trained network.
    paradigm : Paradigm
        Model, normalization, parameters, synapse, readout and step ``dt``.
    x, labels : ndarray
        Test inputs ``(n_samples, n_inputs)`` and their labels.
    steps : int
        Timesteps per sample.
    calibration : ndarray, optional
        Training inputs for normalization (needed unless ``paradigm.normalization`` is
        ``"none"``).
    device, batch_size, window, record, processes, progress, precision
        As for :func:`brainconv.simulation.simulate`.
    record_layers : sequence of str or "hidden", optional
        As for :func:`brainconv.simulation.simulate`; ``"hidden"``: every layer but the output
        (nothing is recorded for a network without one).
    notify : callable, optional
        ``notify(message)`` is told what the conversion gave and when a standalone project is
        compiled.
    attrs : dict, optional
        More global attributes (str or number): dataset, seed, paradigm name, ...
    ann_file : str or os.PathLike, optional
        The file the ANN was read from.

    Returns
    -------
    xarray.Dataset
        :func:`brainconv.simulation.simulate`'s dataset with the attributes of
        :func:`brainconv.provenance.run_attrs`, the operation counts ``ops_acs`` and ``ops_macs`` (per inference,
        :func:`brainconv.energy.snn_operations`) and the energy figures of
        :func:`brainconv.energy.add_energy_attrs`.
    """
    from .energy import add_energy_attrs, snn_operations
    from .provenance import run_attrs
    from .results import add_attrs, check_memory
    from .simulation import PROFILE, simulate
    from .spec import check_record, check_steps

    if not isinstance(paradigm, Paradigm):
        raise ParameterError(f"run_paradigm needs a brainconv.pipeline.Paradigm, got "
                             f"{type(paradigm).__name__}")
    # The samples to record and the memory for the results, before the normalization's
    # forward pass and the spike-norm simulation: a trial conversion has the same layers.
    trial, _ = convert_paradigm(ann, replace(paradigm, normalization="none"), None)
    check_record(trial, record, None if isinstance(record_layers, str) else record_layers,
                 len(x))
    check_memory(trial, len(x), check_steps(steps))
    if notify is not None and paradigm.normalization == "spike_norm":
        notify(f"spike-norm: {len(calibration)} training images x "
               f"{paradigm.calibration_steps} steps of {paradigm.encoding} input")
    start = time.perf_counter()
    spec, thresholds = convert_paradigm(ann, paradigm, calibration)
    PROFILE["convert the ANN"] = PROFILE.get("convert the ANN", 0.0) + (
        time.perf_counter() - start)
    if notify is not None:
        _tell_conversion(notify, spec, paradigm, calibration, thresholds)
        notify(f"simulating {len(x)} samples x {steps} timesteps on {device}")
    if isinstance(record_layers, str) and record_layers == "hidden":
        record_layers = [layer.name for layer in spec.layers[:-1]] or None
        record = record if record_layers else None
    ds = simulate(spec, x, labels, steps, device=device, batch_size=batch_size, dt=paradigm.dt,
                  window=window, notify=notify, progress=progress, record=record,
                  record_layers=record_layers, processes=processes, attrs=attrs,
                  precision=precision)
    operations = snn_operations(ds, spec)
    ds.attrs.update(ops_acs=operations["acs"], ops_macs=operations["macs"])
    ds = add_energy_attrs(ds, spec, window)
    return add_attrs(ds, run_attrs(spec, ann, x, labels, ds.attrs["dt_ms"], ann_file, attrs))


def _tell_conversion(notify, spec, paradigm, calibration, thresholds):
    """What the conversion gave: the layers, the normalization, spike-norm's thresholds."""
    model = paradigm.model if isinstance(paradigm.model, str) else ",".join(paradigm.model)
    normalized = paradigm.normalization != "none" and calibration is not None
    notify(f"converted to {model}: layers {spec.layer_sizes}, normalization "
           f"{paradigm.normalization}"
           + (f" on {len(calibration)} training images" if normalized else ""))
    if thresholds is not None:
        names = [layer.name for layer in spec.layers[-len(thresholds):]]
        notify("spike-norm thresholds per layer: " + ", ".join(
            f"{name} {value:.4g}" for name, value in zip(names, thresholds)))
