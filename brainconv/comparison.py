"""Run several spiking paradigms on one ANN and rank them on accuracy, time and energy.

Think Fast's point is that the paradigm is a user's choice between accuracy, inference time and
spikes ("time control"). :func:`compare` converts the same ANN into every paradigm in
:data:`PARADIGMS` (or a chosen subset), simulates each on the same test images, and returns one
row per paradigm; :func:`~brainconv.analysis.pareto_optimal` marks the paradigms no other
paradigm beats on accuracy, timesteps to the target and energy per inference (pJ), and
:func:`plot_pareto` draws the accuracy / timesteps / spikes trade-off. :func:`applicable` says which
paradigms a given ANN can be converted into and why the others cannot; paradigms that are never
a conversion of an ANN (CuBa-LIF in spike time, STDP) are listed in :data:`NOT_CONVERTIBLE`.
:mod:`brainconv.report` turns a comparison into a document.
"""

import json
from dataclasses import replace
from pathlib import Path

import brian2
import numpy as np
import xarray as xr

from .analysis import (accuracy_over_time, check_target, pareto_optimal, prediction_latency,
                       silent_fraction, spikes_per_timestep)
from .energy import ann_flops, ann_macs, operation_energies
from .errors import BrainconvError, ParameterError
from .pipeline import Paradigm, convert_paradigm, run_paradigm
from .plotting import plot_accuracy_curves, plot_pareto
from .provenance import ann_hash
from .results import load_cached, save_results
from .spec import check_steps_cover

# Paradigm (pipeline), the two plots (plotting) and pareto_optimal (analysis) are imported here
# too, for older code; they are documented where they are defined.
__all__ = ["COMPARISON_VARIABLES", "EXTRA_COLUMNS", "NOT_CONVERTIBLE", "PARADIGMS",
           "applicable", "check_paradigms", "compare", "fingerprint", "load_comparison",
           "pareto_optimal", "ranking_table", "row_cells", "save_comparison", "table_rows"]


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
        from .equations import MODELS

        reasons = [
            f"{name} is a neuron model trained on spike times ({MODELS[name].trained_by}), "
            "not converted from an ANN" if getattr(MODELS[name], "trained_by", None) else
            f"{name} is a neuron model, not a paradigm: `brainconv run --model {name}`"
            for name in unknown if name in MODELS]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        raise ParameterError(
            f"unknown or no paradigms {unknown}{why}; known: {', '.join(PARADIGMS)}")
    return {name: PARADIGMS[name] for name in names}


def applicable(ann, paradigms=None, calibration=None, steps=None):
    """Split paradigms into those ``ann`` converts to and those it does not, with the reason.

    A paradigm applies when :func:`convert` accepts the ANN with the paradigm's settings (trial
    conversions, first without normalization so that the reason names the model, then with it
    on at most 8 calibration rows): a ReLU ANN converts to every grid paradigm but not to
    ``lif_alpha``, which needs a soft-LIF-trained ANN, and vice versa. With ``steps``, a
    few-spike paradigm whose layers' windows need more steps does not apply either
    (:func:`brainconv.spec.check_steps_cover`).

    Parameters
    ----------
    ann : ANN
    paradigms : sequence of str or dict, optional
        As for :func:`compare` (default: all of :data:`PARADIGMS`).
    calibration : ndarray, optional
        Calibration inputs (only their first 8 rows are used).
    steps : int, optional
        The timesteps each sample will be simulated.

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
            spec, _ = convert_paradigm(ann, replace(paradigm, normalization="none"), None)
            if steps is not None:
                check_steps_cover(spec, steps)
            if paradigm.normalization != "none" and rows is not None:
                convert_paradigm(ann, paradigm, rows)
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
        Passed to :func:`brainconv.simulation.simulate` (compile and cache messages).
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
    chosen, not_applicable = applicable(ann, paradigms, calibration, steps)
    if paradigms is not None and not_applicable:
        raise ParameterError("; ".join(f"paradigm {name!r} does not apply to this ANN: {why}"
                                       for name, why in not_applicable.items()))
    e_mac, e_ac = operation_energies(energy_preset)
    inputs = fingerprint(ann, calibration, x, labels, steps, device, batch_size,
                          sparsity_samples)
    rows = {"ann": _ann_row(ann, x, labels, steps, target, e_mac)}
    for name, paradigm in chosen.items():
        checkpoint = None if checkpoint_dir is None else Path(checkpoint_dir) / f"{name}.nc"
        key = fingerprint(inputs, *paradigm.key())
        ds = load_cached(checkpoint, key)
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
    accuracy, reached, energy = (column[k] for k in ("accuracy", "time_to_target",
                                                     "energy_pj"))
    result["pareto_optimal"] = ("paradigm", pareto_optimal(accuracy, reached, energy),
                                {"long_name": "no other paradigm is at least as good on all "
                                 "of accuracy, time to target and energy (pJ), and better on "
                                 "one", "units": "1"})
    return result


def fingerprint(*parts):
    """Digest of everything a result depends on (arrays by content, ANNs, numbers, names),
    salted with the brainconv and Brian2 versions: a new version computes results again."""
    from . import __version__
    from .cache import digest
    from .simulation import brian2_version

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


def _simulate_paradigm(name, ann, paradigm, calibration, x, labels, steps, device, batch_size,
                       checkpoint, key, notify=None, sparsity_samples=100, processes=None):
    """One paradigm's results (:func:`brainconv.pipeline.run_paradigm`), with the spike
    trains of the first ``sparsity_samples`` samples in its hidden layers; saved at
    ``checkpoint`` with its ``cache_key``."""
    record = list(range(min(len(x), sparsity_samples)))
    ds = run_paradigm(ann, paradigm, x, labels, steps, calibration=calibration, device=device,
                      batch_size=batch_size, notify=notify, progress=notify is not None,
                      attrs={"paradigm": name}, record=record or None,
                      record_layers="hidden" if record else None, processes=processes)
    if checkpoint is not None:
        ds.attrs["cache_key"] = key
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        save_results(ds, checkpoint)
    return ds


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
            f"save_comparison needs the result of brainconv.comparison.compare(); this dataset "
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
                        "`brainconv compare --out FILE` or brainconv.comparison.save_comparison")
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
