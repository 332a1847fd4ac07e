"""What produced a result: the global attributes that let a results file be traced back.

:func:`provenance_attrs` turns a converted network (and optionally the ANN and the file it was
loaded from) into attributes, and :func:`run_attrs` adds the step and the ANN's accuracy: the
attributes :func:`brainconv.pipeline.run_paradigm` stores on every results dataset; :func:`ann_hash` identifies an ANN by its content, so two results can be checked to come
from the same trained network even when the file was renamed or copied.
"""

import re
from pathlib import Path

import numpy as np

__all__ = ["ann_accuracy", "ann_hash", "format_parameters", "paradigm_label",
           "provenance_attrs", "run_attrs"]


def ann_hash(ann):
    """sha256 of an ANN's content: weights, biases, activation and its parameters.

    Dense and sparse layers holding the same values hash differently only if their storage
    differs (a sparse layer is hashed by its CSR arrays). The hash does not depend on the file
    name, on when the ANN was saved or on the brainconv version.

    Parameters
    ----------
    ann : brainconv.ann.ANN

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    from .cache import digest

    return digest(*ann.digest_parts(), salt=b"brainconv ANN")


def _attr_name(layer):
    """A layer name as a safe NetCDF attribute name suffix (letters, digits, underscores)."""
    return re.sub(r"\W", "_", str(layer))


def format_parameters(pairs, units=None):
    """``(name, value)`` pairs as a compact string, e.g. ``"R=10, k=100"``; ``"none"`` if empty.

    Parameters
    ----------
    pairs : iterable of (str, object)
    units : mapping of str to str, optional
        The Brian2 unit name of a parameter whose value is in SI units (a model's
        ``units``): written after the value, ``"tau_rc=0.02 second"``.

    Returns
    -------
    str
    """
    units = dict(units or {})
    items = [(f"{name}={value:g}" if isinstance(value, (int, float, np.number))
              and not isinstance(value, bool) else f"{name}={value}")
             + (f" {units[name]}" if name in units else "") for name, value in pairs]
    return ", ".join(items) or "none"


def _model_definition(model):
    """A user model's Brian2 strings, so that a result names the model it ran, not a name."""
    parts = [("equations", model.equations), ("threshold", model.threshold),
             ("reset", model.reset), ("integrate", model.integrate), ("clear", model.clear),
             ("refractory", model.refractory)]
    return "\n".join(f"{part}: {' '.join(str(text).split())}"
                     for part, text in parts if text is not None)


def paradigm_label(attrs):
    """A readable name for the paradigm of a result, from its global attributes.

    Parameters
    ----------
    attrs : mapping
        ``ds.attrs`` of a results dataset.

    Returns
    -------
    str or None
        ``attrs["paradigm"]`` if present; else the ``model`` attribute with repeated layer
        models collapsed (``"if_soft,if_soft"`` -> ``"if_soft"``, ``"ion,ion,accumulator"`` ->
        ``"ion, accumulator output"``); None when neither is there.
    """
    if attrs.get("paradigm"):
        return str(attrs["paradigm"])
    model = attrs.get("model")
    if not model:
        return None
    models = [name.strip() for name in str(model).split(",") if name.strip()]
    if len(set(models)) == 1:
        return models[0]
    hidden, last = models[:-1], models[-1]
    if len(set(hidden)) == 1:
        return f"{hidden[0]}, {last} output"
    return ", ".join(models)


def provenance_attrs(spec, ann=None, ann_file=None):
    """Global attributes that record what produced a result.

    Parameters
    ----------
    spec : brainconv.spec.NetworkSpec
        The converted network that was simulated.
    ann : brainconv.ann.ANN, optional
        The ANN it was converted from; adds ``ann_sha256`` (:func:`ann_hash`).
    ann_file : str or os.PathLike, optional
        File the ANN was loaded from; adds ``ann_file`` (the file name, without its folder).

    Returns
    -------
    dict of str to str or float
        - ``model``: the model of each layer, comma-separated in layer order
          (``"if_soft,if_soft"``; :func:`paradigm_label` gives a readable form);
        - ``parameters_<layer>``: that layer's model parameters as ``"R=10, k=100"``
          (``"none"`` for a model without any; values with units in SI, followed by the unit:
          ``"tau_rc=0.02 second"``), and ``synapse_parameters_<layer>`` for a filtered
          (non-delta) pathway into the layer;
        - ``model_definition_<layer>``: a user model's Brian2 strings (equations, threshold,
          reset, ...), for a layer whose model is not built into brainconv;
        - ``normalization``; ``percentile`` only when ``normalization == "percentile"``;
        - ``threshold``: a float when every layer has the same threshold, else one value per
          layer, comma-separated;
        - ``ann_sha256`` and ``ann_training`` (how it was trained, :attr:`ANN.training
          <brainconv.ann.ANN>`: ``"data=mnist, epochs=20, ..."``, or ``"none"``) when ``ann``
          is given, ``ann_file`` when ``ann_file`` is.

        ``<layer>`` is the layer name with every character other than a letter, digit or
        underscore replaced by ``_``. All values are str or float, as NetCDF3 stores them.
    """
    from .equations import BUILTIN_MODELS, READOUT_MODELS, get_synapse_model, resolve_model

    models = [str(layer.model) for layer in spec.layers]
    attrs = {"model": ",".join(models)}
    for layer in spec.layers:
        model, name = resolve_model(layer.model, layer.parameters), _attr_name(layer.name)
        attrs[f"parameters_{name}"] = format_parameters(layer.parameters, model.units)
        if getattr(layer, "synapse", "delta") != "delta":
            synapse = get_synapse_model(layer.synapse)
            attrs[f"synapse_parameters_{name}"] = (
                f"{layer.synapse}: "
                f"{format_parameters(layer.synapse_parameters, synapse.units)}")
        if layer.model not in BUILTIN_MODELS and layer.model not in READOUT_MODELS:
            attrs[f"model_definition_{name}"] = _model_definition(model)
    attrs["normalization"] = str(spec.normalization)
    if spec.normalization == "percentile":
        attrs["percentile"] = float(spec.percentile)
    thresholds = [float(layer.threshold) for layer in spec.layers]
    attrs["threshold"] = (thresholds[0] if len(set(thresholds)) == 1
                          else ",".join(f"{value:g}" for value in thresholds))
    if ann is not None:
        attrs["ann_sha256"] = ann_hash(ann)
        attrs["ann_training"] = format_parameters(getattr(ann, "training", ()))
    if ann_file is not None:
        attrs["ann_file"] = Path(ann_file).name
    return attrs


def ann_accuracy(ann, x, labels):
    """``ann.accuracy(x, labels)``, cached for the same ANN and data (a forward pass over a
    test set costs a tenth of a warm run).

    Parameters
    ----------
    ann : brainconv.ann.ANN
    x, labels : ndarray
        Inputs and their labels.

    Returns
    -------
    float
    """
    from .cache import memo

    key = ("ann accuracy", ann_hash(ann))
    return memo("accuracy", key, [x, labels], lambda: float(ann.accuracy(x, labels)))


def run_attrs(spec, ann, x, labels, dt_ms, ann_file=None, attrs=None):
    """The attributes that say what produced a result (one provenance for every command).

    Parameters
    ----------
    spec : brainconv.spec.NetworkSpec
        The simulated network.
    ann : brainconv.ann.ANN
        The ANN it was converted from.
    x, labels : ndarray
        The test inputs and labels (for ``ann_accuracy``).
    dt_ms : float
        The simulation step in ms.
    ann_file : str or os.PathLike, optional
        The file the ANN was read from (its name is stored).
    attrs : dict, optional
        The caller's attributes (str or number): dataset, seed, paradigm, ...; they win.

    Returns
    -------
    dict
        :func:`provenance_attrs` (model, parameters, normalization, threshold,
        ``ann_sha256``, ``ann_file``), ``dt_ms`` (float) and ``ann_accuracy``
        (:func:`ann_accuracy`), then ``attrs``.
    """
    provenance = provenance_attrs(spec, ann, ann_file)
    return {**provenance, "dt_ms": float(dt_ms), "ann_accuracy": ann_accuracy(ann, x, labels),
            **(attrs or {})}
