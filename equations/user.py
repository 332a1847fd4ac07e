"""User-defined neuron models: Brian2 strings in, a validated, registered NeuronModel out.

Installed as ``brainconv.equations.user``. A model is checked when it is defined, before any
simulation, and every message names the model, the offending line or identifier and the fix:

* the equations parse (the failing line is named);
* the parameters are declared in the equations, carry the declared unit (``tau=20`` for
  ``tau : second`` asks for ``20*ms``) and every ``constant`` one has a value;
* the model has what the converter writes to: the input variable (``v``, where synapses add
  their weights), the constant current ``I`` and the threshold ``theta``, all dimensionless;
* reset, integrate and clear code only assign variables the model has (Brian2 would silently
  make ``u = 0`` a temporary and the reset would do nothing);
* Brian2 itself resolves every identifier and checks every unit, in a probe network that is
  prepared for a run on the runtime device with numpy code generation but never simulated.
  Unknown identifiers come with the closest known name (``tua`` → ``tau``).

Example
-------
>>> from brainconv.equations.user import define_model
>>> import brian2
>>> model = define_model(
...     "my_lif",
...     '''
...     dv/dt = -v / tau : 1
...     x : 1
...     I : 1
...     theta : 1 (shared, constant)
...     tau : second (shared, constant)
...     ''',
...     threshold="v >= theta", reset="v = 0", integrate="v += I + x\\nx = 0",
...     input_variable="x", parameters={"tau": 16 * brian2.ms})  # doctest: +SKIP

brainconv's networks live on a grid of ``dt = 1 ms`` timesteps (:data:`brainconv.build.
TIMESTEP_MS`); one timestep runs: state update (the equations), synaptic input into the input
variable, ``integrate`` code, threshold, reset. ``I`` holds the layer's constant current per
timestep and is rewritten, with the ``clear`` code, at each new sample.
"""

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

from brainconv.errors import ModelError, ParameterError, SimulationError, brian2_cause

from . import MODELS, get_model, register_model
from .checks import (GROUP_NAMES, REFRACTORY_NAMES, check_assignments,
                     check_constants_have_values, check_converter_variables,
                     check_inputs_are_read, check_method, check_parameters,
                     check_threshold_is_a_condition, mark_used, parse_equations, probe,
                     refractory_argument)
from .model import NeuronModel

__all__ = ["brian2_cause", "define_model", "define_synapse_model", "load_model_file",
           "measure_rate", "validate_model"]


def define_model(name, equations, threshold, reset, parameters=None, *, refractory=None,
                 integrate=None, step=None, rate=None, method="euler", input_variable="v",
                 clear=None, payload=None, description="", citation="", register=True):
    """Define a neuron model from Brian2 strings, validate it and (by default) register it.

    Parameters
    ----------
    name : str
        Registry name (``get_model(name)``, ``convert(ann, model=name)``, ``--model name``).
    equations : str
        Brian2 model equations. They must declare the input variable (``v`` by default), the
        constant current ``I : 1`` and the threshold ``theta : 1 (shared, constant)``, all
        dimensionless: synapses add dimensionless weights to the input variable, brainconv
        writes each layer's bias (first layer: ``x @ W0 + b0``) into ``I`` and the layer's
        threshold into ``theta``.
    threshold : str
        Brian2 threshold condition, e.g. ``"v >= theta"``.
    reset : str
        Brian2 reset code, e.g. ``"v = 0"`` or ``"v -= theta"``.
    parameters : dict, optional
        Default values of the parameters declared in the equations, with the declared units
        (``{"tau": 20 * brian2.ms}`` for ``tau : second``). ``theta`` defaults to 1. The model
        stores them as floats in SI units with their unit names in ``model.units`` (brainconv's
        convention: a NetworkSpec holds plain numbers), and ``convert(parameters=...)`` takes
        quantities again.
    refractory : str or Quantity, optional
        Brian2 ``refractory`` argument (e.g. ``2 * brian2.ms``); mark the equations that pause
        with ``(unless refractory)``.
    integrate : str, optional
        Code run once per timestep after synaptic input has arrived, before the threshold (a
        leak on the timestep grid, or moving an input variable ``x`` into ``v``).
    step : callable, optional
        Numpy reference: ``step(v, current, spikes, theta=..., **parameters)`` runs one
        timestep in place and returns ``spikes`` (see :class:`NeuronModel`); parameters arrive
        as floats in SI units (``tau=20*ms`` as ``0.02``; brainconv's grid has ``dt = 1 ms``,
        0.001 s). Without it the model runs in Brian2 only and the ``numpy`` device says so.
    rate : callable, optional
        Analytic transfer function ``rate(current, **parameters)`` in spikes per timestep;
        without it use :func:`measure_rate`.
    method : str
        Brian2 integration method. ``"euler"`` keeps grid models exact (``dv/dt = I/dt``
        adds ``I`` once per step); Brian2's own default would pick ``"exact"`` for linear
        equations.
    input_variable : str
        Variable synapses add their weights to.
    clear : str, optional
        Code that puts a unit back to rest before each sample; default: every non-constant
        state variable except ``I`` set to 0 (and the refractory state cleared).
    payload : str, optional
        Variable holding how many unit spikes one event carries (accumulator-like models).
    description, citation : str
        Shown by ``brainconv models``.
    register : bool
        Add the model to the registry (:func:`brainconv.equations.register_model`). A name
        of a built-in model is refused; register it yourself with ``replace=True`` to hide
        the built-in.

    Returns
    -------
    NeuronModel

    Raises
    ------
    ModelError
        If anything in the definition is wrong; nothing is registered then.
    """
    _check_name(name)
    equations = _text(name, "equations", equations)
    parameters = dict(parameters or {})
    parameters.setdefault("theta", 1.0)
    if clear is None:
        clear = _default_clear(name, equations, input_variable, refractory)
    for what, function in (("step", step), ("rate", rate)):
        if function is not None and not callable(function):
            raise ModelError(f"model {name!r}: {what} must be a function or None, got "
                             f"{type(function).__name__}")
    model = NeuronModel(
        name=name, equations=equations, threshold=_text(name, "threshold", threshold),
        reset=_text(name, "reset", reset), parameters=parameters, rate=rate, step=step,
        payload=payload, input_variable=input_variable,
        integrate=None if integrate is None else _text(name, "integrate", integrate),
        clear=_text(name, "clear", clear), method=method, citation=citation,
        description=description, refractory=refractory,
    )
    model = validate_model(model)
    if register:
        register_model(model)
    return model


def validate_model(model):
    """Check a NeuronModel as :func:`define_model` does; return it with checked parameters.

    Works for models built directly as ``NeuronModel(...)`` too (a model file may do that):
    parameters given as Brian2 quantities come back as SI floats with their ``units``.
    Creates Brian2 objects on the runtime device with numpy code generation and prepares them
    for a run without simulating a step; the global device and code generation target are
    restored.

    Raises
    ------
    ModelError
        With the model's name, the offending line or identifier and the fix.
    """
    if not isinstance(model, NeuronModel):
        raise ModelError(f"validate_model() needs a NeuronModel, got {type(model).__name__}")
    # Ensembles write their size into the equations: check the model for its default size.
    concrete = model.resolve(dict(model.parameters))
    equations = parse_equations(model.name, concrete.equations)
    check_converter_variables(concrete, equations)
    parameters, units = check_parameters(concrete, concrete.brian2_values(
        dict(model.parameters)), equations)
    check_constants_have_values(concrete, equations, parameters)
    variables = set(equations.names) | set(GROUP_NAMES)
    if model.refractory is not None and model.refractory is not False:
        variables |= set(REFRACTORY_NAMES)
    for part in ("reset", "integrate", "clear"):
        if getattr(concrete, part):
            check_assignments(concrete, part, getattr(concrete, part), variables)
    check_method(concrete)
    check_threshold_is_a_condition(concrete)
    probe(concrete, equations)
    check_inputs_are_read(concrete, equations)
    quantities = any(hasattr(value, "dim") for value in model.parameters.values())
    if not quantities and units == dict(model.units):
        return model
    return dataclasses.replace(model, parameters=parameters, units=units)


def load_model_file(path):
    """Import a Python file of model definitions and register the models it defines.

    The file may call :func:`define_model` (which registers) and/or assign ``NeuronModel``
    objects at module level (validated here, then registered). The command line's
    ``--model-file`` calls this before it looks up ``--model``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        Name → model (NeuronModel or SynapseModel) of the models the file defined.

    Raises
    ------
    ModelError
        If the file does not exist, raises an error when run (its line is named), or defines
        no model. Nothing from a failing file stays registered.
    """
    path = Path(path)
    if not path.is_file():
        what = ("is a directory" if path.is_dir() else
                "is not a regular file (a device or a pipe)" if path.exists() else
                "does not exist")
        raise ModelError(
            f"model file {str(path)!r} {what}; give the path of a Python file that calls "
            "brainconv.equations.user.define_model(...)"
        )
    from .synapses import SYNAPSE_MODELS

    before, synapses_before = dict(MODELS), dict(SYNAPSE_MODELS)
    module_name = f"brainconv_user_models_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    # In sys.modules while it runs: dataclasses and pickling look the module up there.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        found = {model.name: model for model in MODELS.values()
                 if before.get(model.name) is not model}
        for value in vars(module).values():
            if (isinstance(value, NeuronModel) and value.name not in found
                    and before.get(value.name) is not value):
                found[value.name] = register_model(validate_model(value))
        found.update({name: model for name, model in SYNAPSE_MODELS.items()
                      if synapses_before.get(name) is not model})
    except BaseException as exc:
        MODELS.clear()
        MODELS.update(before)
        SYNAPSE_MODELS.clear()
        SYNAPSE_MODELS.update(synapses_before)
        sys.modules.pop(module_name, None)
        if not isinstance(exc, Exception):
            raise
        line = _line_in(exc, path)
        where = f" (line {line})" if line else ""
        raise ModelError(
            f"model file {str(path)!r}{where} failed: {type(exc).__name__}: "
            f"{brian2_cause(exc) if not isinstance(exc, ModelError) else exc}"
        ) from exc
    if not found:
        sys.modules.pop(module_name, None)
        raise ModelError(
            f"model file {str(path)!r} defines no neuron model (nor a synapse model); call "
            "brainconv.equations.user.define_model(name, equations, threshold, reset, ...) or "
            "define_synapse_model(...) in it (or assign NeuronModel objects at module level)"
        )
    return found


def measure_rate(model, currents, steps=400, dt=None, parameters=None, codegen_target="numpy"):
    """Measure a model's transfer curve in Brian2: spikes per step for each constant current.

    Each current drives one neuron of a NeuronGroup for ``steps`` steps on the runtime device,
    with the model's ``integrate`` code before the threshold, as in a converted network. What
    is counted is what :attr:`NeuronModel.rate` predicts: events (payloads summed), or member
    spikes for ensembles.

    Parameters
    ----------
    model : str or NeuronModel
    currents : array_like
        Constant current ``I`` of each neuron (per timestep).
    steps : int
    dt : Quantity, optional
        Timestep (default 1 ms, brainconv's grid).
    parameters : dict, optional
        Values replacing the model's defaults (checked against the declared units).
    codegen_target : str or None
        Brian2 code generation target for this run; ``"numpy"`` avoids a C++ compile for a
        small group, ``None`` keeps the current preference.

    Returns
    -------
    ndarray
        Spikes per step, one per current.
    """
    import brian2

    from brainconv.devices import brian2_device

    model = get_model(model)
    steps = _positive_int("steps", steps)
    dt = _timestep(dt)
    currents = np.asarray(currents, dtype=float).ravel()
    # Defaults are SI floats; overrides are checked and converted like convert()'s.
    values = {**dict(model.parameters), **model.check_parameters(dict(parameters or {}))}
    model = model.resolve(values)
    objects = []
    try:
        with brian2_device("runtime", prefs=None if codegen_target is None else
                           {"codegen.target": codegen_target}):
            try:
                group = brian2.NeuronGroup(len(currents), model.equations,
                                           threshold=model.threshold, reset=model.reset,
                                           method=model.method, dt=dt,
                                           refractory=refractory_argument(model),
                                           name="brainconv_rate*")
                objects.append(group)
                group.I = currents
                for parameter, value in model.brian2_values(
                        model.runtime_parameters(values)).items():
                    setattr(group, parameter, value)
                if model.integrate:
                    objects.append(group.run_regularly(model.integrate,
                                                       when="before_thresholds"))
                if model.rate_counts != "members":
                    objects.append(brian2.SpikeMonitor(
                        group, variables=[model.payload] if model.payload else [],
                        when="end"))
                brian2.Network(*objects).run(steps * dt, namespace={})
                if model.rate_counts == "members":
                    counts = np.asarray(group.total_spikes[:], dtype=float)
                elif model.payload:
                    monitor = objects[-1]
                    counts = np.bincount(monitor.i[:], getattr(monitor, model.payload)[:],
                                         len(currents))
                else:
                    counts = np.asarray(objects[-1].count[:], dtype=float)
                arrays = {name: variable for name, variable in group.variables.items()
                          if isinstance(variable, brian2.core.variables.ArrayVariable)
                          and np.dtype(variable.dtype).kind == "f"}
                nan = [name for name, variable in arrays.items()
                       if np.isnan(np.asarray(variable.get_value())).any()]
            finally:
                mark_used(objects)
    except Exception as exc:
        raise SimulationError(
            f"measuring the transfer curve of model {model.name!r} in Brian2 failed: "
            f"{brian2_cause(exc)}"
        ) from exc
    if nan:  # a NaN potential never spikes: zeros would pass for a silent neuron
        raise SimulationError(
            f"model {model.name!r}: {', '.join(sorted(nan))} became NaN while measuring its "
            "transfer curve (a square root of a negative number, 0/0 or an overflow in its "
            "equations, for some of the currents); check the model and its parameters")
    return counts / steps


def define_synapse_model(name, equations, on_pre, update, clear, parameters=None, *,
                         filter_step=None, kernel=None, state=None, weight_unit="second",
                         description="", citation="", register=True):
    """Define a synapse model (a filter of the spikes into a continuous-time layer) from Brian2
    strings, validate it and (by default) register it.

    The filter lives in the postsynaptic group, as the built-in ``exponential`` and ``alpha``
    do (:mod:`brainconv.equations.synapses`): a spike runs ``on_pre`` (``{w}`` stands for the
    weight), and once per step, after the step's spikes and before the neuron integrates,
    ``update`` sets the neuron's input current ``I_syn`` and advances the filter.

    Parameters
    ----------
    name : str
        Registry name (``convert(..., synapse=name)``).
    equations : str
        Brian2 equations of the filter's state and parameters, with units.
    on_pre : str
        Code of one spike, e.g. ``"h_syn_post += {w} / tau_h"``.
    update : str
        Code run once per step; must set ``I_syn`` (dimensionless).
    clear : str
        Code that empties the filter before each sample, e.g. ``"h_syn = 0"``.
    parameters : dict, optional
        Default values with their declared units (``{"tau_h": 8 * brian2.ms}``).
    filter_step : callable, optional
        Numpy reference ``filter_step(state, charge, dt, **parameters)`` returning the step's
        ``I_syn`` (parameters in SI units); without it the numpy device refuses the model.
    kernel : callable, optional
        Impulse response ``kernel(t, **parameters)`` of unit area, for plots and checks.
    state : tuple of str, optional
        The filter's state variables (default: those ``clear`` assigns).
    weight_unit : str
        Brian2 unit of the weight ``w`` (default ``"second"``: a spike delivers the charge
        ``w``, as the built-in filters do).
    description, citation : str
        Shown by ``brainconv models``.
    register : bool
        Add the model to :data:`brainconv.equations.SYNAPSE_MODELS`; a built-in name is
        refused.

    Returns
    -------
    SynapseModel

    Raises
    ------
    ModelError
        Naming the model, the part and the fix, before anything is registered.
    """
    import brian2

    from .synapses import BUILTIN_SYNAPSE_MODELS, SynapseModel, register_synapse_model

    _check_name(name)
    if register and name in BUILTIN_SYNAPSE_MODELS:
        raise ModelError(f"synapse model name {name!r} is taken by a built-in synapse model; "
                         "choose another name")
    equations, on_pre, update = (_text(name, part, value) for part, value in
                                 (("equations", equations), ("on_pre", on_pre),
                                  ("update", update)))
    clear = _text(name, "clear", clear)
    if "{w}" not in on_pre:
        raise ModelError(f"synapse model {name!r}: on_pre must write the weight as {{w}}, e.g. "
                         "`h_syn_post += {w} / tau_h`; got " + repr(on_pre))
    unit = getattr(brian2, str(weight_unit), None)
    if not isinstance(unit, brian2.Quantity):
        raise ModelError(f"synapse model {name!r}: weight_unit must name a Brian2 unit such as "
                         f"'second' or 'hertz', got {weight_unit!r}")
    parsed = parse_equations(name, equations)
    probe_model = SynapseModel(name=name, equations=equations, on_pre=on_pre, update=update,
                               parameters={}, kernel=kernel, filter_step=filter_step, state=(),
                               clear=clear, weight_unit=str(weight_unit))
    values, units = check_parameters(probe_model, dict(parameters or {}), parsed)
    variables = set(parsed.names) | {"I_syn"} | set(GROUP_NAMES)
    check_assignments(probe_model, "update", update, variables)
    check_assignments(probe_model, "clear", clear, variables)
    if not any(line.split("=")[0].strip() == "I_syn" for line in update.splitlines()):
        raise ModelError(f"synapse model {name!r}: the update code never sets I_syn, the "
                         "current the neuron integrates; add a line such as "
                         "`I_syn = h_syn` (dimensionless)")
    if state is None:
        state = tuple(dict.fromkeys(line.split("=")[0].strip() for line in clear.splitlines()
                                    if "=" in line))
    undeclared = sorted(set(state) - set(parsed.names))
    if undeclared:
        raise ModelError(f"synapse model {name!r}: state {undeclared} is not declared in the "
                         f"equations; declared: {', '.join(sorted(parsed.names))}")
    model = SynapseModel(name=name, equations=equations, on_pre=on_pre, update=update,
                         parameters=values, kernel=kernel, filter_step=filter_step,
                         state=tuple(state), clear=clear, weight_unit=str(weight_unit),
                         units=units, description=description, citation=citation)
    _probe_synapse(model)
    return register_synapse_model(model) if register else model


def _probe_synapse(model):
    """Let Brian2 resolve the synapse model's identifiers and units in a pathway into a group
    that carries it, prepared for a run but not simulated."""
    import brian2

    from brainconv.devices import brian2_device

    objects = []
    try:
        with brian2_device("runtime", prefs={"codegen.target": "numpy"}):
            group = brian2.NeuronGroup(1, "I_syn : 1\n" + model.equations, threshold="False",
                                       reset="", dt=brian2.ms, name="brainconv_synapse_probe*")
            objects.append(group)
            for parameter, value in model.brian2_values(dict(model.parameters)).items():
                setattr(group, parameter, value)
            objects.append(group.run_regularly(model.update, name=f"{group.name}_update"))
            objects.append(group.run_regularly(model.clear, name=f"{group.name}_clear"))
            pathway = brian2.Synapses(group, group, f"w : {model.weight_unit} (constant)",
                                      on_pre=model.code_on_pre("w"), dt=brian2.ms,
                                      name=f"{group.name}_on_pre")
            pathway.connect(i=0, j=0)
            objects.append(pathway)
            brian2.Network(*objects).run(0 * brian2.ms, namespace={})
    except Exception as exc:
        cause = brian2_cause(exc)
        unknown = re.search(r'identifier "(\w+)" could not be resolved', cause)
        hint = (f"; declare {unknown.group(1)!r} in the equations or fix its name"
                if unknown else "")
        raise ModelError(f"synapse model {model.name!r}: Brian2 rejected it: {cause}{hint}") \
            from exc
    finally:
        mark_used(objects)


def _check_name(name):
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w.\-]*", name):
        raise ModelError(
            f"a model name must be a non-empty string of letters, digits, '_', '-' or '.', "
            f"starting with a letter, got {name!r}"
        )


def _text(name, part, value):
    import brian2

    if isinstance(value, brian2.Equations):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ModelError(
            f"model {name!r}: {part} must be a non-empty Brian2 string, got {value!r}"
        )
    return value


def _default_clear(name, equations, input_variable, refractory):
    """Every non-constant state variable except ``I`` back to 0 (with its unit)."""
    import brian2

    from brian2.equations.equations import SUBEXPRESSION

    parsed = parse_equations(name, _text(name, "equations", equations))
    lines = []
    for variable in sorted(parsed.names):
        equation = parsed[variable]
        if variable == "I" or equation.type == SUBEXPRESSION or "constant" in equation.flags \
                or "shared" in equation.flags:
            continue
        unit = "" if equation.dim.is_dimensionless else f" * {brian2.get_unit(equation.dim)!r}"
        lines.append(f"{variable} = 0{unit}")
    if refractory is not None and refractory is not False:
        # A new sample starts outside any refractory period left from the previous one.
        lines += ["lastspike = -1e4 * second", "not_refractory = True"]
    return "\n".join(lines) or f"{input_variable} = 0"


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _timestep(dt):
    import brian2

    if dt is None:
        return 1 * brian2.ms
    if brian2.get_dimensions(dt) != brian2.second.dim or not float(dt) > 0:
        raise ParameterError(f"dt must be a positive time, e.g. 0.1*ms (brian2.ms), got {dt!r}")
    return dt


def _line_in(exc, path):
    """Line number of the innermost traceback frame in ``path`` (or a SyntaxError's line)."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    line, traceback = None, exc.__traceback__
    resolved = str(Path(path).resolve())
    while traceback is not None:
        if str(Path(traceback.tb_frame.f_code.co_filename).resolve()) == resolved:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
