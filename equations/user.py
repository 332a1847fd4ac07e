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
import difflib
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

from brainconv.errors import ModelError, ParameterError, SimulationError, brian2_cause

from . import MODELS, get_model, register_model
from .model import NeuronModel

#: Names every NeuronGroup has besides the model's own variables.
GROUP_NAMES = ("t", "dt", "i", "N", "t_in_timesteps")
#: ... and those a refractory group adds.
REFRACTORY_NAMES = ("lastspike", "not_refractory")
#: Unit to suggest for a plain number given to a parameter of this dimension.
TYPICAL_UNITS = ("ms", "mV", "nA", "nS", "pF", "Mohm", "Hz")

__all__ = ["brian2_cause", "define_model", "load_model_file", "measure_rate", "validate_model"]


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
    equations = _parse_equations(model.name, concrete.equations)
    _check_converter_variables(concrete, equations)
    parameters, units = _check_parameters(concrete, concrete.brian2_values(
        dict(model.parameters)), equations)
    _check_constants_have_values(concrete, equations, parameters)
    variables = set(equations.names) | set(GROUP_NAMES)
    if model.refractory is not None and model.refractory is not False:
        variables |= set(REFRACTORY_NAMES)
    for part in ("reset", "integrate", "clear"):
        if getattr(concrete, part):
            _check_assignments(concrete, part, getattr(concrete, part), variables)
    _check_method(concrete)
    _check_threshold_is_a_condition(concrete)
    _probe(concrete, equations)
    _check_inputs_are_read(concrete, equations)
    quantities = any(hasattr(value, "dim") for value in model.parameters.values())
    if not quantities and units == dict(model.units):
        return model
    return dataclasses.replace(model, parameters=parameters, units=units)


def _check_parameters(model, values, equations):
    """Check parameter values against the units the model's equations declare.

    Parameters
    ----------
    model : NeuronModel
    values : dict
        Parameter name → value (plain number for a dimensionless parameter, a Brian2 quantity
        for one with a unit).
    equations : brian2.Equations
        The parsed ``model.equations``.

    Returns
    -------
    values : dict
        Floats in SI units (structural parameters unchanged).
    units : dict
        Brian2 unit name of each parameter that has one, as :attr:`NeuronModel.units`.

    Raises
    ------
    ModelError
        For a name the equations do not declare (with the closest declared name), a plain
        number for a parameter with a unit ("write 20*ms"), a wrong unit, or a value that is
        not a finite scalar.
    """
    import brian2
    from brian2.equations.equations import PARAMETER

    declared = sorted(name for name in equations.names if equations[name].type == PARAMETER)
    checked, units = {}, {}
    for parameter, value in values.items():
        if parameter in model.structural:
            checked[parameter] = value
            continue
        if parameter not in equations.names:
            raise ModelError(
                f"model {model.name!r}: parameter {parameter!r} is not declared in the "
                f"equations{_did_you_mean(parameter, declared)}; declare it (e.g. "
                f"`{parameter} : 1 (shared, constant)`) or leave it out. Declared parameters: "
                f"{', '.join(declared) or 'none'}"
            )
        if equations[parameter].type != PARAMETER:
            raise ModelError(
                f"model {model.name!r}: {parameter!r} is defined by an equation "
                f"(`{_equation_line(model.equations, parameter)}`), so it cannot be given a "
                "value as a parameter; declare parameters as `name : unit` lines"
            )
        if isinstance(value, (bool, str)) or not _is_number(value):
            raise ModelError(
                f"model {model.name!r}: parameter {parameter!r} must be a number (with a unit "
                f"where the equations declare one), got {value!r} of type "
                f"{type(value).__name__}"
            )
        if np.ndim(value) != 0 or not np.isfinite(float(np.asarray(value))):
            raise ModelError(
                f"model {model.name!r}: parameter {parameter!r} must be one finite value, got "
                f"{value!r}"
            )
        want, got = equations[parameter].dim, brian2.get_dimensions(value)
        if want != got:
            raise ModelError(_unit_message(model.name, parameter, value, want, got))
        if not want.is_dimensionless:
            units[parameter] = _unit_name(model.name, parameter, want)
        # Plain numbers stay as given (an integer k stays an integer).
        checked[parameter] = float(value) if isinstance(value, brian2.Quantity) else value
    return checked, units


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
        Name → NeuronModel of the models the file defined, in definition order.

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
    before = dict(MODELS)
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
    except BaseException as exc:
        MODELS.clear()
        MODELS.update(before)
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
            f"model file {str(path)!r} defines no neuron model; call "
            "brainconv.equations.user.define_model(name, equations, threshold, reset, ...) in it "
            "(or assign NeuronModel objects at module level)"
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
                                           refractory=_refractory(model),
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
            finally:
                _mark_used(objects)
    except Exception as exc:
        raise SimulationError(
            f"measuring the transfer curve of model {model.name!r} in Brian2 failed: "
            f"{brian2_cause(exc)}"
        ) from exc
    return counts / steps


# --- checks -------------------------------------------------------------------------------


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


def _parse_equations(name, text):
    """``brian2.Equations(text)``; on failure, find and name the first line that fails."""
    import brian2

    try:
        return brian2.Equations(text)
    except Exception as exc:
        whole = exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.split("#")[0].strip():
            continue
        try:
            brian2.Equations(line)
        except Exception as exc:
            # pyparsing's "(at char 0), (line:1, col:1)" counts within this one line.
            cause = brian2_cause(exc)
            column = re.search(r"col:(\d+)", cause)
            cause = re.sub(r"\s*\(at char \d+\), \(line:\d+, col:\d+\)", "", cause)
            at = f" at column {int(column.group(1)) + len(line) - len(line.lstrip())}" \
                if column else ""
            raise ModelError(
                f"model {name!r}: equations line {number} does not parse{at}: `{line.strip()}` "
                f"(Brian2: {cause}). Write each line as `dx/dt = expression : unit`, "
                "`x = expression : unit` or `x : unit`, with flags in parentheses after the "
                "unit, e.g. `theta : 1 (shared, constant)`"
            ) from exc
    raise ModelError(
        f"model {name!r}: Brian2 rejected the equations: {brian2_cause(whole)}"
    ) from whole


def _check_converter_variables(model, equations):
    """The variables brainconv's converter writes to exist, are dimensionless, and are used."""
    import brian2

    roles = [
        (model.input_variable, "input variable: synapses add the (dimensionless) weights to it "
         f"with `{model.input_variable}_post += w`", f"`{model.input_variable} : 1` or "
         f"`d{model.input_variable}/dt = ... : 1`, or pass input_variable=<your variable>"),
        ("I", "constant input current: brainconv writes each layer's bias (first layer: "
         "x @ W0 + b0) into I at each sample, as a plain number per timestep", "`I : 1`"),
        ("theta", "threshold: brainconv sets it to the layer's threshold "
         "(convert(threshold=...)) and scales the weights with it",
         "`theta : 1 (shared, constant)` and use it in the threshold, e.g. `v >= theta`"),
    ]
    if model.payload:
        roles.append((model.payload, "payload: the next layer receives w * payload per event",
                      f"`{model.payload} : 1`"))
    for variable, role, fix in roles:
        if variable not in equations.names:
            raise ModelError(
                f"model {model.name!r} has no variable {variable!r}, which brainconv needs as "
                f"its {role}; declare {fix}. Declared: {', '.join(sorted(equations.names))}"
            )
        if not equations[variable].dim.is_dimensionless:
            raise ModelError(
                f"model {model.name!r}: {variable!r} has unit {equations[variable].unit!r}, but "
                f"as brainconv's {role} it must be dimensionless (`: 1`); scale it inside the "
                "equations instead (e.g. `dv/dt = (I*mV - v)/tau` becomes a dimensionless v)"
            )


def _check_inputs_are_read(model, equations):
    """``I`` and ``theta`` are read somewhere: otherwise input or threshold would be ignored."""
    read = set()
    for equation in equations.values():
        if equation.expr is not None:
            read |= equation.identifiers
    for part in (model.threshold, model.reset, model.integrate or ""):
        read |= _identifiers(part)
    for variable, what in (("I", "the layer's input current would be ignored"),
                           ("theta", "convert(threshold=...) would have no effect")):
        if variable not in read:
            raise ModelError(
                f"model {model.name!r} declares {variable!r} but never reads it in its "
                f"equations, threshold, reset or integrate code: {what}"
            )


def _check_method(model):
    import brian2

    methods = brian2.StateUpdateMethod.stateupdaters
    if isinstance(model.method, str) and model.method not in methods:
        raise ModelError(
            f"model {model.name!r}: unknown integration method {model.method!r}"
            f"{_did_you_mean(model.method, methods)}; Brian2 knows {', '.join(sorted(methods))}"
        )


def _check_threshold_is_a_condition(model):
    # Brian2 only says "invalid syntax (<unknown>, line 1)" for `v = theta`.
    try:
        compile(model.threshold.strip(), "<threshold>", "eval")
    except SyntaxError as exc:
        raise ModelError(
            f"model {model.name!r}: the threshold `{model.threshold.strip()}` is not a "
            f"condition ({exc.msg}); write one expression such as `v >= theta` (`==` "
            "compares, `=` assigns)"
        ) from exc


def _check_constants_have_values(model, equations, parameters):
    """A ``constant`` parameter without a value would silently be 0 (tau = 0 divides by 0)."""
    for name in sorted(equations.names):
        equation = equations[name]
        if ("constant" in equation.flags and name not in parameters and name != "theta"
                and name not in model.structural):
            raise ModelError(
                f"model {model.name!r}: `{_equation_line(model.equations, name)}` is a constant "
                f"without a value; pass parameters={{{name!r}: ...}} (with unit "
                f"{equation.unit!r})"
            )


def _check_assignments(model, part, code, variables):
    """Each statement assigns a model variable, or a temporary that a later line reads."""
    from brian2.parsing.statements import parse_statement

    lines = [line.strip() for line in code.splitlines() if line.split("#")[0].strip()]
    statements = []
    for line in lines:
        try:
            statements.append((line, parse_statement(line)))
        except Exception as exc:
            # Brian2's parser says little here ("string index out of range" for `v -=`).
            raise ModelError(
                f"model {model.name!r}: the {part} line `{line}` does not parse; write "
                "statements such as `v = 0`, `v -= theta` or `n = floor(v / theta)`, one per line"
            ) from exc
    for index, (line, (variable, operator, _, _)) in enumerate(statements):
        if variable in GROUP_NAMES:
            raise ModelError(
                f"model {model.name!r}: the {part} `{line}` assigns {variable!r}, which Brian2 "
                "keeps read-only (time, timestep, neuron index); assign a model variable"
            )
        if variable in variables:
            continue
        later = [expr for _, (_, _, expr, _) in statements[index + 1:]]
        if operator == "=" and any(variable in _identifiers(expr) for expr in later):
            continue  # a temporary, e.g. `n = floor(v / theta)` then `v -= n * theta`
        known = sorted(v for v in variables if v not in GROUP_NAMES)
        raise ModelError(
            f"model {model.name!r}: the {part} `{line}` assigns {variable!r}, which is not a "
            f"variable of the model{_did_you_mean(variable, known)}; Brian2 would make it a "
            f"temporary and the {part} would silently do nothing. Assign one of "
            f"{', '.join(known)}, or declare `{variable} : 1` in the equations"
        )


def _probe(model, equations):
    """Let Brian2 resolve identifiers and check units, as a converted layer would be built.

    The objects mirror :func:`brainconv.build._build_layer` (threshold, reset, integrate and
    clear code, an input pathway) and are prepared with ``Network.run(0 ms)``: code is
    generated and checked, no step is simulated.
    """
    import brian2

    from brainconv.devices import brian2_device

    objects = []
    try:
        with brian2_device("runtime", prefs={"codegen.target": "numpy"}):
            group = brian2.NeuronGroup(1, model.equations, threshold=model.threshold,
                                       reset=model.reset, method=model.method, dt=brian2.ms,
                                       refractory=_refractory(model), name="brainconv_probe*")
            objects.append(group)
            values = model.brian2_values(model.runtime_parameters(dict(model.parameters)))
            for parameter, value in values.items():
                setattr(group, parameter, value)
            group.namespace["batch_current"] = brian2.TimedArray(np.zeros((1, 1)),
                                                                 dt=brian2.ms)
            objects.append(group.run_regularly("I = batch_current(t, i)\n" + model.clear,
                                               when="start", name=f"{group.name}_clear"))
            if model.integrate:
                objects.append(group.run_regularly(model.integrate, when="before_thresholds",
                                                   name=f"{group.name}_integrate"))
            pathway = brian2.Synapses(group, group, "w : 1 (constant)",
                                      on_pre=model.on_pre(model), dt=brian2.ms,
                                      name=f"{group.name}_input")
            pathway.connect(i=0, j=0)
            objects.append(pathway)
            brian2.Network(*objects).run(0 * brian2.ms, namespace={})
    except ModelError:
        raise
    except Exception as exc:
        raise _explain(model, equations, exc, objects) from exc
    finally:
        _mark_used(objects)


def _explain(model, equations, exc, objects):
    """A ModelError naming where Brian2's complaint ``exc`` comes from and how to fix it."""
    cause = brian2_cause(exc)
    part = _failed_part(exc, objects[0].name if objects else None)
    unknown = re.search(r'identifier "(\w+)" could not be resolved', cause)
    if unknown:
        identifier = unknown.group(1)
        places = _where(model, identifier) or [f"the {part}"]
        known = sorted(set(equations.names) | set(model.parameters))
        return ModelError(
            f"model {model.name!r}: unknown identifier {identifier!r} in "
            f"{'; '.join(places)}{_did_you_mean(identifier, known)}. Known variables and "
            f"parameters: {', '.join(known)}; declare it in the equations if it is new"
        )
    chain = " ".join(str(error) for error in _chain(exc))
    if "DimensionMismatchError" in {type(error).__name__ for error in _chain(exc)}:
        defining = re.search(r"defining variable '(\w+)'", chain)
        if defining:
            where = f"equations, `{_equation_line(model.equations, defining.group(1))}`"
        elif "efractory" in cause:
            where = f"the refractory period {model.refractory!r}"
        else:
            where = f"the {part}"
        return ModelError(
            f"model {model.name!r}: inconsistent units in {where}: {cause} Make both sides "
            "carry the same unit: multiply plain numbers by a unit (20*ms), divide by a time "
            "constant, or declare the variable with the unit it gets"
        )
    return ModelError(f"model {model.name!r}: Brian2 rejected the {part}: {cause}")


def _failed_part(exc, group_name):
    """Which part of the model the Brian2 object named in ``exc``'s chain comes from."""
    names = [getattr(error, "_brian_objname", "") for error in _chain(exc)]
    name = next((n for n in names if n), "")
    for suffix, part in (("_thresholder", "threshold"), ("_resetter", "reset"),
                         ("_integrate", "integrate code"), ("_clear", "clear code"),
                         ("_input", "input pathway (input_variable / payload)")):
        if suffix in name:
            return part
    return "equations" if name.startswith(group_name or "brainconv_probe") else "model"


def _where(model, identifier):
    """Where ``identifier`` appears: equations lines and code parts, quoted."""
    places = []
    for number, line in enumerate(model.equations.splitlines(), 1):
        if identifier in _identifiers(line.split("#")[0]):
            places.append(f"equations line {number} `{line.strip()}`")
    for part in ("threshold", "reset", "integrate", "clear", "refractory"):
        code = getattr(model, part)
        if isinstance(code, str):
            for line in code.splitlines():
                if identifier in _identifiers(line.split("#")[0]):
                    places.append(f"{part} `{line.strip()}`")
    return places


# --- helpers ------------------------------------------------------------------------------


def _chain(exc):
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _identifiers(code):
    from brian2.utils.stringtools import get_identifiers

    return get_identifiers(code or "")


def _did_you_mean(word, candidates):
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _equation_line(text, variable):
    """The line of ``text`` that declares or defines ``variable``."""
    pattern = re.compile(rf"^\s*(d{variable}\s*/\s*dt|{variable})\s*[:=]")
    for line in text.splitlines():
        if pattern.match(line):
            return line.strip()
    return variable


def _is_number(value):
    try:
        float(np.asarray(value).ravel()[0]) if np.ndim(value) else float(value)
    except (TypeError, ValueError, IndexError):
        return False
    return True


def _unit_message(model_name, parameter, value, want, got):
    import brian2

    declared = repr(brian2.get_unit(want)) if not want.is_dimensionless else "1"
    if got.is_dimensionless:
        unit = next((u for u in TYPICAL_UNITS if getattr(brian2, u).dim == want), declared)
        return (f"model {model_name!r}: parameter {parameter!r} is declared with unit "
                f"{declared} but got the plain number {value!r}; give it a unit: write "
                f"{value!r}*{unit} (brian2.{unit})")
    if want.is_dimensionless:
        return (f"model {model_name!r}: parameter {parameter!r} is declared dimensionless "
                f"(`{parameter} : 1`) but got {value!r} (unit {brian2.get_unit(got)!r}); give "
                f"a plain number or declare `{parameter} : {brian2.get_unit(got)!r}`")
    return (f"model {model_name!r}: parameter {parameter!r} is declared with unit {declared} "
            f"but got {value!r} (unit {brian2.get_unit(got)!r}); give a value in {declared} or "
            "fix the declaration")


def _unit_name(model_name, parameter, dim):
    """The name of the Brian2 unit of dimension ``dim`` (``"second"``), for ``model.units``."""
    import brian2

    name = repr(brian2.get_unit(dim))
    unit = getattr(brian2, name, None)
    if not isinstance(unit, brian2.Quantity) or unit.dim != dim:
        raise ModelError(
            f"model {model_name!r}: parameter {parameter!r} has the compound unit {name}; "
            "brainconv stores parameters with a named Brian2 unit (second, volt, amp, siemens, "
            "farad, ohm, hertz...): rescale it inside the equations"
        )
    return name


def _default_clear(name, equations, input_variable, refractory):
    """Every non-constant state variable except ``I`` back to 0 (with its unit)."""
    import brian2

    from brian2.equations.equations import SUBEXPRESSION

    parsed = _parse_equations(name, _text(name, "equations", equations))
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


def _refractory(model):
    return False if model.refractory is None else model.refractory


def _mark_used(objects):
    # Brian2 warns when an object that never joined a run is deleted; a probe that failed on
    # purpose is not the user's mistake. (Brian2 2.9: the flag is the private `_network`.)
    for obj in objects:
        if getattr(obj, "_network", "") is None:
            obj._network = "brainconv-validation"


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
