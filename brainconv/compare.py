"""Run several spiking paradigms on one ANN and rank them on accuracy, time and spikes.

Think Fast's point is that the paradigm is a user's choice between accuracy, inference time and
spikes ("time control"). :func:`compare` converts the same ANN into every paradigm in
:data:`PARADIGMS` (or a chosen subset), simulates each on the same test images, and returns one
row per paradigm; :func:`pareto_optimal` marks the paradigms no other paradigm beats on all
three counts, and :func:`plot_pareto` draws the trade-off. :func:`applicable` says which
paradigms a given ANN can be converted into and why the others cannot; paradigms that are never
a conversion of an ANN (CuBa-LIF in spike time, STDP) are listed in :data:`NOT_CONVERTIBLE`.
:mod:`brainconv.report` turns a comparison into a document.
"""

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import brian2
import numpy as np
import xarray as xr

from .analysis import (accuracy_over_time, check_target, prediction_latency, silent_fraction,
                       spikes_per_timestep)
from .convert import convert
from .energy import ann_flops, ann_macs, operation_energies, snn_operations
from .errors import BrainconvError, ParameterError
from .provenance import ann_hash
from .results import load_results, save_results
from .simulate import simulate


@dataclass(frozen=True)
class Paradigm:
    """How to convert an ANN into one spiking paradigm (arguments of :func:`convert`).

    ``model`` is a model name, or a tuple of names, one per layer. ``synapse``,
    ``synapse_parameters`` and ``readout`` go to :func:`convert` as well; ``dt`` is the step in
    ms of a continuous-time paradigm (None: a dimensionless timestep grid).
    """

    model: object
    normalization: str = "percentile"
    parameters: dict = field(default_factory=dict)
    description: str = ""
    synapse: str = "delta"
    synapse_parameters: dict = field(default_factory=dict)
    readout: str = "spikes"
    dt: float = None


#: The registered paradigms; each new model in ``equations/`` should add its entry here.
PARADIGMS = {
    "rate_soft": Paradigm("if_soft", description="non-leaky IF rate code, reset by subtraction"),
    "rate_hard": Paradigm("if_hard", description="non-leaky IF rate code, reset to zero"),
    # Raw weights: after normalization nearly every input lies below the LIF's rheobase
    # theta (1 - 1/R) = 0.9 and the network falls silent (experiments/think_fast/README.md).
    "lif": Paradigm("lif", "none", {"R": 10.0},
                    "leaky rate code (LIF), leak rate constant R = 10, raw weights"),
    "accumulator": Paradigm("accumulator", "none", {"k": 100},
                            "non-leaky accumulator, up to 100 spikes per step, raw weights"),
    "leaky_accumulator": Paradigm("leaky_accumulator", "none", {"k": 100, "R": 10.0},
                                  "leaky accumulator, R = 10, k = 100, raw weights"),
    "ion": Paradigm("ion", "none", {"size": 7},
                    "Interfering Offset Neurons, 7 ternary IF per unit, raw weights"),
    "len": Paradigm("len", parameters={"size": 9, "R": 10.0},
                    description="LIF Ensemble Neurons, 9 LIF per unit (intercepts 0.1..0.9)"),
    # Few-spike neurons (Stöckl & Maass 2021): one-off input, layer l active in steps
    # [lK, (l+1)K), so the answer exists after L*K steps; about 1-5 spikes per neuron per sample.
    "fs_relu": Paradigm("fs_relu", parameters={"K": 10, "alpha": 1.0},
                        description="few-spike ReLU, K = 10 steps per layer (latency L*K)"),
    "fs_relu_k6": Paradigm("fs_relu", parameters={"K": 6, "alpha": 1.0},
                           description="few-spike ReLU, K = 6 steps per layer (latency L*K)"),
    # Hunsberger & Eliasmith: continuous-time LIF (tau_rc 22 ms, tau_ref 2 ms), alpha synapses
    # (tau_s 5 ms), non-spiking filtered readout, 1 ms steps. Only a soft-LIF-trained ANN
    # converts to it (train_ann(..., activation="softlif")); a ReLU ANN does not, and a soft-LIF
    # ANN converts to nothing else: applicable() says so.
    "lif_alpha": Paradigm("lif_rc", "none", description="continuous-time LIF, alpha synapses "
                          "(tau_s = 5 ms), filtered readout, dt = 1 ms; soft-LIF ANNs only",
                          synapse="alpha", synapse_parameters={"tau_s": 5 * brian2.ms},
                          readout="filtered", dt=1.0),
}

#: Paradigms of brainconv that are not conversions of a trained ANN, with the reason; the
#: trade-off report lists them under "not applicable".
NOT_CONVERTIBLE = {
    "cuba_lif": "current-based LIF in spike time (BATS, Cojocaru): its weights are trained on "
                "first-spike times with brainconv.spiketime.train_bats and its input is "
                "time-to-first-spike coded; the weights of a rate-trained ANN (ReLU, soft-LIF) "
                "mean nothing in spike time, so it cannot be converted. Train it with "
                "train_bats and build it with brainconv.spiketime.cuba_network.",
    "stdp": "STDP-learned layers (pair-based or stochastic binary STDP): their weights are "
            "learned inside the simulation from spike timing, not transferred from an ANN.",
}


def check_paradigms(paradigms):
    """The chosen paradigms as a dict ``name -> Paradigm``; raise for unknown names.

    Parameters
    ----------
    paradigms : sequence of str, dict or None
        Names from :data:`PARADIGMS` (None: all), or a dict of one's own variants.
    """
    if isinstance(paradigms, dict):
        return dict(paradigms)
    names = list(PARADIGMS) if paradigms is None else list(paradigms)
    unknown = [name for name in names if name not in PARADIGMS]
    if unknown or not names:
        raise ParameterError(
            f"unknown or no paradigms {unknown}; known: {', '.join(PARADIGMS)}")
    return {name: PARADIGMS[name] for name in names}


def _convert_paradigm(ann, paradigm, calibration):
    return convert(ann, model=paradigm.model, data=calibration,
                   normalization=paradigm.normalization, parameters=paradigm.parameters,
                   synapse=paradigm.synapse, synapse_parameters=paradigm.synapse_parameters,
                   readout=paradigm.readout)


def applicable(ann, paradigms=None, calibration=None):
    """Split paradigms into those ``ann`` converts to and those it does not, with the reason.

    A paradigm applies when :func:`convert` accepts the ANN with the paradigm's settings (trial
    conversions, first without normalization so that the reason names the model, then with it
    on at most 8 calibration rows): a ReLU ANN converts to every grid paradigm but not to
    ``lif_alpha``, which needs a soft-LIF-trained ANN, and vice versa.

    Parameters
    ----------
    ann : ANN
    paradigms : sequence of str or dict, optional
        As for :func:`compare` (default: all of :data:`PARADIGMS`).
    calibration : ndarray, optional
        Calibration inputs (only their first 8 rows are used).

    Returns
    -------
    (dict, dict)
        ``name -> Paradigm`` of those that apply, and ``name -> reason`` of those that do not,
        including :data:`NOT_CONVERTIBLE` when ``paradigms`` is None.
    """
    chosen = check_paradigms(paradigms)
    runnable, reasons = {}, {}
    rows = None if calibration is None else np.asarray(calibration)[:8]
    for name, paradigm in chosen.items():
        try:
            _convert_paradigm(ann, replace(paradigm, normalization="none"), None)
            if paradigm.normalization != "none" and rows is not None:
                _convert_paradigm(ann, paradigm, rows)
        except BrainconvError as exc:
            reasons[name] = str(exc)
        else:
            runnable[name] = paradigm
    if paradigms is None:
        reasons.update(NOT_CONVERTIBLE)
    return runnable, reasons


def compare(ann, calibration, x, labels, steps, target, paradigms=None,
            device="cpp_standalone", batch_size=None, progress=None, checkpoint_dir=None,
            notify=None, energy_preset="int32", sparsity_samples=100, attrs=None,
            processes=None):
    """Simulate ``ann`` in each paradigm and collect the trade-off numbers.

    Parameters
    ----------
    ann : ANN
    calibration : ndarray
        Training inputs for data-based normalization.
    x, labels : ndarray
        Test inputs and labels.
    steps : int
        Timesteps per sample.
    target : float
        Accuracy in (0, 1] for "timesteps to reach the target" (Think Fast used the leaky rate
        code's 0.8022).
    paradigms : sequence of str or dict, optional
        Names from :data:`PARADIGMS` (default: all that apply to ``ann``, see
        :func:`applicable`; the others are listed in the ``not_applicable`` attribute), or a
        dict ``name -> Paradigm`` for variants of one's own. A named paradigm that does not
        apply is an error.
    progress : callable, optional
        Called as ``progress(name, reused)`` before each paradigm (``reused``: its checkpoint
        is used).
    checkpoint_dir : str or Path, optional
        Each paradigm's simulation is saved there as ``<name>.nc`` (atomically) and reused
        on a later call only if everything it depends on is the same — the ANN's weights, the
        calibration and test data, steps, device, batch size, the paradigm's model, parameters
        and normalization, the brainconv and Brian2 versions (a hash of all of them, the
        ``cache_key`` attribute) — so an interrupted sweep resumes and a changed input is
        recomputed.
    notify : callable, optional
        Passed to :func:`brainconv.simulate.simulate` (compile and cache messages).
    energy_preset : str
        :data:`brainconv.energy.ENERGY_PRESETS` entry for the pJ energy (``int32``).
    sparsity_samples : int
        The first this many test samples are recorded for the sparsity column.
    attrs : dict, optional
        Extra global attributes (str or number), e.g. the dataset's name.
    processes : int, optional
        ``cpp_standalone`` binaries run side by side (default one per CPU); the results do
        not depend on it.

    Returns
    -------
    xarray.Dataset
        Dims ``paradigm`` and ``time`` (timesteps): ``accuracy`` (at the last step),
        ``accuracy_over_time``, ``time_to_target`` (timesteps, NaN where never reached),
        ``time_to_target_ms`` (where time is physical, else NaN), ``spikes_per_step`` (first
        hidden layer, per ANN unit: an ensemble's member spikes count, a payload event counts
        once; over the steps to the target, or all steps), ``spikes_per_step_all`` (the same
        over all steps), ``spikes_per_neuron`` (the same per sample), ``spikes_per_inference``
        (every layer, per sample), ``sparsity`` (hidden neurons silent during a sample,
        averaged over the recorded samples), ``latency`` and ``latency_ms`` (mean
        :func:`brainconv.analysis.prediction_latency`), ``energy_flops`` (Hunsberger &
        Eliasmith eq. 4-5 per inference, analog input free), ``energy_pj`` (MACs and ACs per
        inference with ``energy_preset``), ``dt_ms`` and ``pareto_optimal``. The ANN itself is
        the row ``ann`` (one "timestep", one value per unit per step, its ReLU zeros as
        sparsity). Attributes hold the preset's pJ values and ``not_applicable`` (JSON:
        paradigm -> reason).
    """
    check_target(target)
    if len(x) == 0:
        raise ParameterError("compare() got 0 test samples; pass at least one")
    if isinstance(sparsity_samples, bool) or not isinstance(sparsity_samples, int) \
            or sparsity_samples < 0:
        raise ParameterError(f"sparsity_samples must be an int >= 0 (test samples recorded "
                             f"for the sparsity column), got {sparsity_samples!r}")
    chosen, not_applicable = applicable(ann, paradigms, calibration)
    if paradigms is not None and not_applicable:
        raise ParameterError("; ".join(f"paradigm {name!r} does not apply to this ANN: {why}"
                                       for name, why in not_applicable.items()))
    e_mac, e_ac = operation_energies(energy_preset)
    inputs = fingerprint(ann, calibration, x, labels, steps, device, batch_size,
                          sparsity_samples)
    rows = {"ann": _ann_row(ann, x, labels, steps, target, e_mac)}
    for name, paradigm in chosen.items():
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name}.nc"
        key = fingerprint(inputs, paradigm.model, paradigm.normalization,
                           sorted(paradigm.parameters.items()), paradigm.synapse,
                           sorted(paradigm.synapse_parameters.items()), paradigm.readout,
                           paradigm.dt)
        ds = _cached(checkpoint, key)
        if progress:
            progress(name, ds is not None)
        if ds is None:
            ds = _simulate_paradigm(name, ann, paradigm, calibration, x, labels, steps, device,
                                    batch_size, checkpoint, key, notify, sparsity_samples,
                                    processes)
        rows[name] = _paradigm_row(ds, target, paradigm.dt, e_mac, e_ac)
    column = {key: np.array([row[key] for row in rows.values()]) for key in rows["ann"]}
    target_text = f"accuracy {100 * target:g} %"
    variables = {
        "accuracy": (f"accuracy after {steps} steps", "1"),
        "time_to_target": (f"timesteps to reach {target_text}", "timestep"),
        "time_to_target_ms": (f"time to reach {target_text} (physical time only)", "ms"),
        "spikes_per_step": ("first hidden layer spikes per timestep per neuron, up to the "
                            "target", "spikes / timestep / neuron"),
        "spikes_per_step_all": ("first hidden layer spikes per timestep per neuron, all steps",
                                "spikes / timestep / neuron"),
        "spikes_per_neuron": ("first hidden layer spikes per neuron per sample, all steps "
                              "(few-spike neurons: Stöckl & Maass's figure of merit)",
                              "spikes / neuron"),
        "spikes_per_inference": ("spikes of every layer per sample, all steps", "spikes"),
        "sparsity": ("fraction of hidden neurons silent during a sample", "1"),
        "latency": ("mean time from which the prediction is final", "timestep"),
        "latency_ms": ("mean time from which the prediction is final (physical time only)",
                       "ms"),
        "energy_flops": ("energy per inference, Hunsberger & Eliasmith eq. 4-5",
                         "flop equivalents"),
        "energy_pj": (f"energy per inference, MACs and ACs, preset {energy_preset}", "pJ"),
        "dt_ms": ("simulation step of a continuous-time paradigm (NaN: timestep grid)", "ms"),
    }
    data = {name: ("paradigm", column[name], {"long_name": text, "units": units})
            for name, (text, units) in variables.items()}
    data["accuracy_over_time"] = (("paradigm", "time"), np.stack(column["curve"]),
                                  {"long_name": "accuracy", "units": "1"})
    from . import __version__

    result = xr.Dataset(
        data, coords={"paradigm": list(rows), "time": np.arange(1, steps + 1)},
        attrs={**(attrs or {}), "kind": "comparison", "ann_sha256": ann_hash(ann),
               "target": float(target), "steps": int(steps), "n_samples": int(len(x)),
               "device": device, "brainconv_version": __version__,
               "brian2_version": brian2.__version__, "energy_preset": energy_preset,
               "e_mac_pj": e_mac, "e_ac_pj": e_ac, "sparsity_samples": int(sparsity_samples),
               "ann_layers": "-".join(map(str, ann.layer_sizes)),
               "ann_activation": ann.activation, "not_applicable": json.dumps(not_applicable)},
    )
    accuracy, reached, spikes = (column[k] for k in ("accuracy", "time_to_target",
                                                     "spikes_per_step"))
    result["pareto_optimal"] = ("paradigm", pareto_optimal(accuracy, reached, spikes),
                                {"long_name": "no other paradigm is at least as good on all "
                                 "of accuracy, time to target and spikes, and better on one",
                                 "units": "1"})
    return result


def fingerprint(*parts):
    """Digest of everything a result depends on (arrays by content, ANNs, numbers, names),
    salted with the brainconv and Brian2 versions: a new version computes results again."""
    from . import __version__
    from .cache import digest
    from .simulate import brian2_version

    return digest(*parts, salt=f"brainconv {__version__} brian2 {brian2_version()}".encode())


def _ann_row(ann, x, labels, steps, target, e_mac):
    """The ANN's row: one step, one value per unit, its zero activations as sparsity."""
    accuracy = ann.accuracy(x, labels)
    hidden = ann.forward(x, all_layers=True)[:-1]
    silent = (sum((a <= 0).sum(axis=1) for a in hidden) / sum(a.shape[1] for a in hidden)
              if hidden else np.full(len(x), np.nan))
    return {"accuracy": accuracy, "curve": np.full(steps, accuracy),
            "time_to_target": 1.0 if accuracy >= target - 1e-9 else np.nan,
            "time_to_target_ms": np.nan, "spikes_per_step": 1.0, "spikes_per_step_all": 1.0,
            "spikes_per_neuron": 1.0, "spikes_per_inference": np.nan,
            "sparsity": float(np.mean(silent)), "latency": 1.0, "latency_ms": np.nan,
            "energy_flops": ann_flops(ann), "energy_pj": ann_macs(ann) * e_mac, "dt_ms": np.nan}


def _paradigm_row(ds, target, dt_ms, e_mac, e_ac):
    """One simulated paradigm's row of :func:`compare` (``dt_ms`` None on the timestep grid)."""
    curve = accuracy_over_time(ds).values
    steps = len(curve)
    hits = np.flatnonzero(curve >= target - 1e-9)  # analysis.time_to_accuracy's tolerance
    reached = float(hits[0] + 1) if hits.size else np.nan
    rate_all = float(spikes_per_timestep(ds).isel(layer=0))
    latency = np.searchsorted(ds["time"].values, prediction_latency(ds).values) + 1.0
    physical = np.nan if dt_ms is None else float(dt_ms)
    hidden = [str(name) for name in ds["layer"].values[:-1]]
    return {
        "accuracy": float(curve[-1]), "curve": curve, "time_to_target": reached,
        "time_to_target_ms": reached * physical,
        "spikes_per_step": float(spikes_per_timestep(
            ds, upto=steps if np.isnan(reached) else int(reached)).isel(layer=0)),
        "spikes_per_step_all": rate_all, "spikes_per_neuron": rate_all * steps,
        "spikes_per_inference": float(ds["layer_spikes"].sum()) / ds.sizes["sample"],
        "sparsity": (float(silent_fraction(ds, hidden).mean())
                     if hidden and "spike_sample" in ds else np.nan),
        "latency": float(latency.mean()), "latency_ms": float(latency.mean()) * physical,
        "energy_flops": float(ds.attrs["energy_snn_flops"]),
        "energy_pj": ds.attrs["ops_macs"] * e_mac + ds.attrs["ops_acs"] * e_ac,
        "dt_ms": physical,
    }


def _cached(checkpoint, key):
    """The dataset saved at ``checkpoint`` if it was computed from the same inputs, else None."""
    if checkpoint is None or not checkpoint.exists():
        return None
    try:
        ds = load_results(checkpoint)
    except BrainconvError:  # unreadable or truncated: recompute it
        return None
    return ds if ds.attrs.get("cache_key") == key else None


def _simulate_paradigm(name, ann, paradigm, calibration, x, labels, steps, device, batch_size,
                       checkpoint, key, notify=None, sparsity_samples=100, processes=None):
    """One paradigm's results dataset, with the spike trains of the first
    ``sparsity_samples`` samples in its hidden layers and its operation counts (attributes
    ``ops_acs``, ``ops_macs``); saved at ``checkpoint`` with its ``cache_key``."""
    spec = _convert_paradigm(ann, paradigm, calibration)
    hidden = [layer.name for layer in spec.layers[:-1]]
    record = list(range(min(len(x), sparsity_samples))) if hidden else None
    ds = simulate(spec, x, labels, steps, device=device, batch_size=batch_size,
                  notify=notify, progress=notify is not None, dt=paradigm.dt,
                  attrs={"paradigm": name, "ann_sha256": ann_hash(ann)},
                  record=record or None, record_layers=hidden if record else None,
                  processes=processes)
    operations = snn_operations(ds, spec)
    ds.attrs.update(ops_acs=operations["acs"], ops_macs=operations["macs"])
    if checkpoint is not None:
        ds.attrs["cache_key"] = key
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        save_results(ds, checkpoint)
    return ds


def pareto_optimal(accuracy, time_to_target, spikes):
    """Mask of the points no other point dominates (higher accuracy, fewer steps and spikes).

    A point that never reaches the target (NaN time) counts as infinitely slow.
    """
    scores = np.column_stack([-np.asarray(accuracy, float),
                              np.nan_to_num(np.asarray(time_to_target, float), nan=np.inf),
                              np.asarray(spikes, float)])
    better_or_equal = (scores[:, None, :] <= scores[None, :, :]).all(axis=2)
    strictly_better = (scores[:, None, :] < scores[None, :, :]).any(axis=2)
    dominated = (better_or_equal & strictly_better).any(axis=0)
    return (~dominated).astype(np.int8)


def row_cells(result, name):
    """Accuracy %, timesteps to the target ("never" if not reached) and spikes per step of one
    paradigm of :func:`compare`'s result, formatted for a markdown table."""
    row = result.sel(paradigm=name)
    reached = float(row["time_to_target"])
    return (f"{100 * float(row['accuracy']):.2f}",
            "never" if np.isnan(reached) else str(int(reached)),
            f"{float(row['spikes_per_step']):.3f}")


#: The columns of the ranking table after :func:`row_cells`' three: (variable, header with
#: ``{target}`` and ``{preset}`` placeholders, format, factor). Missing variables (a comparison
#: saved by an older brainconv) and NaN show as "-".
EXTRA_COLUMNS = (
    ("time_to_target_ms", "ms to {target}", "{:g}", 1),
    ("spikes_per_neuron", "spikes/neuron", "{:.3g}", 1),
    ("spikes_per_inference", "spikes/inference", "{:,.0f}", 1),
    ("sparsity", "silent %", "{:.1f}", 100),
    ("latency", "latency (steps)", "{:.2f}", 1),
    ("latency_ms", "latency (ms)", "{:.2f}", 1),
    ("energy_flops", "energy (flop-eq.)", "{:,.0f}", 1),
    ("energy_pj", "energy (pJ, {preset})", "{:,.0f}", 1),
)


def table_rows(result):
    """Header and rows (lists of str) of the ranking table, Pareto-optimal paradigms first,
    then by accuracy; the last column says "yes" for a Pareto-optimal paradigm."""
    order = sorted(result["paradigm"].values, key=lambda name: (
        -int(result["pareto_optimal"].sel(paradigm=name)),
        -float(result["accuracy"].sel(paradigm=name))))
    target = f"{100 * result.attrs['target']:.2f} %"
    preset = result.attrs.get("energy_preset", "?")
    header = (["paradigm", "accuracy %", f"timesteps to {target}", "spikes/step/unit"]
              + [title.format(target=target, preset=preset) for _, title, _, _ in EXTRA_COLUMNS]
              + ["Pareto"])
    rows = []
    for name in order:
        cells = [str(name), *row_cells(result, name)]
        for variable, _, form, factor in EXTRA_COLUMNS:
            value = (float(result[variable].sel(paradigm=name)) if variable in result
                     else np.nan)
            cells.append("-" if np.isnan(value) else form.format(factor * value))
        cells.append("yes" if int(result["pareto_optimal"].sel(paradigm=name)) else "")
        rows.append(cells)
    return header, rows


def ranking_table(result):
    """Markdown table of ``compare``'s result (every column of :func:`table_rows`)."""
    header, rows = table_rows(result)
    lines = ["| " + " | ".join(header) + " |",
             "| --- | " + "---: | " * (len(header) - 2) + ":---: |"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


#: Variables every comparison result holds (see :func:`compare`).
COMPARISON_VARIABLES = ("accuracy", "time_to_target", "spikes_per_step", "accuracy_over_time",
                        "pareto_optimal")


def save_comparison(result, path):
    """Write :func:`compare`'s result to NetCDF atomically, marked as a comparison.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare`.
    path : str or os.PathLike
        Destination file; its folder must exist. An existing file is replaced.

    Returns
    -------
    pathlib.Path
        ``path``. The file holds the global attribute ``kind = "comparison"``, which
        :func:`load_comparison` checks.

    Raises
    ------
    ParameterError
        If ``result`` is not a comparison (a results dataset of one simulation, say).
    """
    missing = [name for name in COMPARISON_VARIABLES if name not in result]
    if missing or "paradigm" not in result.dims:
        raise ParameterError(
            f"save_comparison needs the result of brainconv.compare.compare(); this dataset "
            f"lacks {', '.join(missing) or 'the paradigm dimension'}; save a single "
            "simulation's results with brainconv.results.save_results instead")
    marked = result.copy()
    marked.attrs = {**result.attrs, "kind": "comparison"}
    return save_results(marked, path)


def load_comparison(path):
    """Read a comparison written by :func:`save_comparison` (or ``brainconv compare --out``).

    Parameters
    ----------
    path : str or os.PathLike
        NetCDF file.

    Returns
    -------
    xarray.Dataset
        Dims ``paradigm`` and ``time``, the variables described in :func:`compare`; global
        attributes as plain Python str/int/float, with ``kind = "comparison"``. The file is
        closed.

    Raises
    ------
    DataError
        If the file is missing, unreadable, or not a comparison (e.g. a results file of a
        single simulation, which :func:`brainconv.results.load_results` reads); the message
        names the file.
    """
    from .errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"comparison file {str(path)!r} not found; write one with "
                        "`brainconv compare --out FILE` or brainconv.compare.save_comparison")
    try:
        ds = xr.load_dataset(path, engine="scipy")
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DataError(f"cannot read comparison file {str(path)!r}: {exc}; the file is "
                        "damaged or not NetCDF3, rerun `brainconv compare`") from exc
    ds.attrs = {k: v.item() if isinstance(v, np.generic) else v for k, v in ds.attrs.items()}
    kind = ds.attrs.get("kind")
    missing = [name for name in COMPARISON_VARIABLES if name not in ds]
    if kind not in (None, "comparison") or missing or "paradigm" not in ds.dims:
        if "output_spikes" in ds and "layer_spikes" in ds:
            what = ("a results file of a single simulation; read it with "
                    "brainconv.results.load_results")
        else:
            what = (f"of kind {kind!r}" if kind not in (None, "comparison") else
                    f"missing {', '.join(missing) or 'the paradigm dimension'}")
        raise DataError(
            f"{str(path)!r} is not a brainconv comparison file (expected kind 'comparison' "
            f"with {', '.join(COMPARISON_VARIABLES)}): it is {what}; give the file written by "
            "`brainconv compare --out` or save_comparison")
    ds.attrs["kind"] = "comparison"
    return ds


# Candidate label positions around a point, in order of preference: unit directions
# (right, up-right, down-right, up, down, left, up-left, down-left), tried at growing distances.
_DIRECTIONS = ((1, 0), (1, 1), (1, -1), (0, 1), (0, -1), (-1, 0), (-1, 1), (-1, -1))
_DISTANCES_PT = (6, 12, 20, 30, 42, 56)


def _overlap(a, b):
    """Overlap area of two boxes ``(x0, y0, x1, y1)``."""
    return (max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            * max(0.0, min(a[3], b[3]) - max(a[1], b[1])))


def _place_labels(ax, xs, ys, names, marker_radius_pt, fontsize=8, avoid=()):
    """Annotate each point with its name where the label overlaps no other label or marker.

    A deterministic greedy search: points are labelled from left to right (ties: top first);
    each label takes the first candidate position (see ``_DIRECTIONS``, ``_DISTANCES_PT``)
    whose box, padded by 2 pixels, overlaps no label placed before, no marker and stays inside
    the axes, else the candidate with the least overlap. Labels far from their point get a
    thin leader line (so do diagonal ones). ``avoid`` holds more artists to keep clear of (the legend). The axes
    limits must be final.
    """
    figure = ax.figure
    px_per_pt = figure.dpi / 72
    centres = ax.transData.transform(np.column_stack([xs, ys]))
    radius = marker_radius_pt * px_per_pt
    markers = [(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    others = [tuple(artist.get_window_extent().extents) for artist in avoid]
    frame = ax.get_window_extent()
    probes = [ax.annotate(str(name), (x, y), fontsize=fontsize) for name, x, y in
              zip(names, xs, ys)]
    sizes = [(box.width, box.height) for box in (t.get_window_extent() for t in probes)]
    for probe in probes:
        probe.remove()
    texts, placed, pad = [None] * len(sizes), [], 2.0
    for index in sorted(range(len(sizes)), key=lambda i: (centres[i][0], -centres[i][1])):
        (cx, cy), (width, height) = centres[index], sizes[index]
        best = None
        for distance in _DISTANCES_PT:
            gap = radius + distance * px_per_pt
            for dx, dy in _DIRECTIONS:
                x = cx + dx * (gap + width / 2) if dx else cx
                y = cy + dy * (gap + height / 2) if dy else cy
                box = (x - width / 2 - pad, y - height / 2 - pad,
                       x + width / 2 + pad, y + height / 2 + pad)
                cost = sum(_overlap(box, other) for other in placed)
                cost += sum(_overlap(box, m) for j, m in enumerate(markers) if j != index)
                cost += sum(_overlap(box, other) for other in others)
                inside = _overlap(box, (frame.x0, frame.y0, frame.x1, frame.y1))
                cost += 10 * ((box[2] - box[0]) * (box[3] - box[1]) - inside)
                if best is None or cost < best[0]:
                    best = (cost, x, y, box, distance if dx == 0 or dy == 0 else 2 * distance)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, x, y, box, distance = best
        placed.append(box)
        leader = ({"arrowstyle": "-", "color": "0.5", "lw": 0.6, "shrinkA": 1,
                   "shrinkB": marker_radius_pt} if distance > _DISTANCES_PT[0] else None)
        texts[index] = ax.annotate(
            str(names[index]), (xs[index], ys[index]), textcoords="offset points",
            xytext=((x - cx) / px_per_pt, (y - cy) / px_per_pt), fontsize=fontsize,
            ha="center", va="center", zorder=4, arrowprops=leader)
    return texts


def _log_ticks(low, high):
    """1-2-5 ticks between ``low`` and ``high``."""
    ticks = [m * 10.0 ** e for e in range(int(np.floor(np.log10(low))) - 1,
                                          int(np.ceil(np.log10(high))) + 1) for m in (1, 2, 5)]
    return [t for t in ticks if low <= t <= high]


def plot_pareto(result, ax=None):
    """Trade-off of :func:`compare`'s result: timesteps to the target vs spikes per step.

    Each paradigm is a point coloured by its accuracy, labelled with its name (labels placed
    so that they overlap neither each other nor the points); the Pareto-optimal ones are
    ringed. Both axes are logarithmic. Paradigms that never reached the target are drawn with
    an ``X`` at the right edge, in a grey band past the last simulated step whose tick reads
    "never" (legend entry "never reached the target"). A paradigm without spikes is drawn at
    the bottom edge (its label says "0 spikes").

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare` (or :func:`load_comparison`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 7 x 5 inch :class:`matplotlib.figure.Figure`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes; ``plt.show()`` is never called.
    """
    from matplotlib.colors import Normalize
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(7, 5)).add_subplot()
    names = [str(name) for name in result["paradigm"].values]
    reached = result["time_to_target"].values.astype(float)
    spikes = result["spikes_per_step"].values.astype(float)
    accuracy = 100 * result["accuracy"].values.astype(float)
    steps = int(result.attrs.get("steps", result.sizes.get("time", 1)))
    target = result.attrs.get("target")
    never = np.isnan(reached)
    x_last = float(max(steps, np.nanmax(reached) if (~never).any() else 1))
    x_never = x_last * 1.7  # past the last step, in the grey band
    shown_x = np.where(never, x_never, reached)
    positive = spikes[spikes > 0]
    floor = positive.min() / 3 if positive.size else 0.01
    silent = ~(spikes > 0)
    shown_y = np.where(silent, floor, spikes)

    norm = Normalize(vmin=np.nanmin(accuracy), vmax=max(np.nanmax(accuracy),
                                                        np.nanmin(accuracy) + 1e-9))
    points = ax.scatter(shown_x[~never], shown_y[~never], c=accuracy[~never], cmap="viridis",
                        norm=norm, s=60, zorder=3, edgecolors="0.2", linewidths=0.5)
    if never.any():
        ax.scatter(shown_x[never], shown_y[never], c=accuracy[never], cmap="viridis",
                   norm=norm, s=80, marker="X", zorder=3, edgecolors="black", linewidths=0.7,
                   label="never reached the target")
    optimal = result["pareto_optimal"].values.astype(bool)
    if optimal.any():
        ax.scatter(shown_x[optimal], shown_y[optimal], s=200, facecolors="none",
                   edgecolors="red", linewidths=1.2, label="Pareto-optimal", zorder=2)

    ax.set_xscale("log")
    ax.set_yscale("log")
    low, high = shown_y.min(), shown_y.max()
    ax.set_ylim(low / 2.5, high * 2.5)
    if never.any():  # a grey band past the last step holds the paradigms that never got there
        ax.set_xlim(0.7, x_never * 1.5)
        ax.axvspan(x_last * 1.3, x_never * 1.5, color="0.92", zorder=0)
    else:
        ax.set_xlim(0.7, x_last * 1.3)
    xticks = _log_ticks(1, x_last)
    ax.xaxis.set_major_locator(FixedLocator(xticks + ([x_never] if never.any() else [])))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda value, _: "never" if np.isclose(value, x_never) else f"{value:g}"))
    ax.yaxis.set_major_locator(FixedLocator(_log_ticks(low / 2.5, high * 2.5)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.grid(True, which="major", alpha=0.3)
    goal = f"{100 * target:.2f} %" if target is not None else "the target"
    ax.set_xlabel(f"timesteps to reach {goal} (log scale)")
    ax.set_ylabel("first hidden layer spikes per timestep per unit (log scale)")
    samples = result.attrs.get("n_samples")
    ax.set_title("Paradigms: time to target vs spikes"
                 + (f" ({samples} test samples, {steps} steps)" if samples else ""))
    ax.figure.colorbar(points, ax=ax, label="accuracy (%)")
    legend = (ax.legend(loc="best", fontsize=8, framealpha=0.9)
              if never.any() or optimal.any() else None)
    labels = [f"{name} (0 spikes)" if off else name for name, off in zip(names, silent)]
    _place_labels(ax, shown_x, shown_y, labels, marker_radius_pt=np.sqrt(200) / 2,
                  avoid=[legend] if legend is not None else [])
    return ax


def plot_accuracy_curves(result, ax=None):
    """Accuracy over time of every paradigm of :func:`compare`'s result, on one plot.

    Parameters
    ----------
    result : xarray.Dataset
        The result of :func:`compare` (or :func:`load_comparison`), with
        ``accuracy_over_time``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new 8 x 4.5 inch :class:`matplotlib.figure.Figure`.

    Returns
    -------
    matplotlib.axes.Axes
        One line per paradigm (the ``ann`` row is drawn as a dashed horizontal line at the
        ANN's accuracy, not as a curve), the target as a dotted line, a title and the legend
        outside the axes on the right. ``plt.show()`` is never called.
    """
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(8, 4.5)).add_subplot()
    curves = result["accuracy_over_time"]
    time = result["time"].values
    styles = ("-", "--", "-.", ":")
    spiking = [str(name) for name in result["paradigm"].values if str(name) != "ann"]
    for index, name in enumerate(spiking):
        ax.plot(time, 100 * curves.sel(paradigm=name).values, label=name,
                color=f"C{index % 10}", linestyle=styles[index // 10 % len(styles)],
                linewidth=1.4)
    if "ann" in result["paradigm"].values:
        ann_accuracy = float(result["accuracy"].sel(paradigm="ann"))
        ax.axhline(100 * ann_accuracy, color="0.3", linestyle="--", linewidth=1,
                   label=f"ANN {100 * ann_accuracy:.2f} %")
    target = result.attrs.get("target")
    if target is not None:
        ax.axhline(100 * float(target), color="tab:red", linestyle=":", linewidth=1.5,
                   label=f"target {100 * float(target):.2f} %")
    in_ms = result["time"].attrs.get("units") == "ms"
    ax.set_xlabel("time (ms)" if in_ms else "time (timesteps)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 101)  # a curve at 100 % stays visible
    ax.set_xlim(0, float(time[-1]) if len(time) else 1)
    ax.grid(True, alpha=0.3)
    samples = result.attrs.get("n_samples")
    ax.set_title("Accuracy over time of each paradigm"
                 + (f" ({samples} test samples)" if samples else ""))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, borderaxespad=0)
    return ax
