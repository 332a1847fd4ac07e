"""The checks behind :func:`brainconv.equations.user.validate_model`.

Each takes the model (and its parsed equations) and raises a :class:`ModelError` that names
the model, the offending line or identifier and the fix; :func:`probe` lets Brian2 itself
resolve every identifier and check every unit, in objects prepared for a run but never
simulated.
"""

import difflib
import re

import numpy as np

from brainconv.errors import ModelError, brian2_cause

__all__ = ["GROUP_NAMES", "REFRACTORY_NAMES", "TYPICAL_UNITS", "check_assignments",
           "check_constants_have_values", "check_converter_variables", "check_inputs_are_read",
           "check_method", "check_parameters", "check_threshold_is_a_condition", "mark_used",
           "parse_equations", "probe", "refractory_argument"]

#: Names every NeuronGroup has besides the model's own variables.
GROUP_NAMES = ("t", "dt", "i", "N", "t_in_timesteps")
#: ... and those a refractory group adds.
REFRACTORY_NAMES = ("lastspike", "not_refractory")
#: Unit to suggest for a plain number given to a parameter of this dimension.
TYPICAL_UNITS = ("ms", "mV", "nA", "nS", "pF", "Mohm", "Hz")


def check_parameters(model, values, equations):
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
        if parameter in getattr(model, "structural", ()):
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


def parse_equations(name, text):
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


def check_converter_variables(model, equations):
    """The variables brainconv's converter writes to exist, are dimensionless, and are used."""
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


def check_inputs_are_read(model, equations):
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


def check_method(model):
    import brian2

    methods = brian2.StateUpdateMethod.stateupdaters
    if isinstance(model.method, str) and model.method not in methods:
        raise ModelError(
            f"model {model.name!r}: unknown integration method {model.method!r}"
            f"{_did_you_mean(model.method, methods)}; Brian2 knows {', '.join(sorted(methods))}"
        )


def check_threshold_is_a_condition(model):
    # Brian2 only says "invalid syntax (<unknown>, line 1)" for `v = theta`.
    try:
        compile(model.threshold.strip(), "<threshold>", "eval")
    except SyntaxError as exc:
        raise ModelError(
            f"model {model.name!r}: the threshold `{model.threshold.strip()}` is not a "
            f"condition ({exc.msg}); write one expression such as `v >= theta` (`==` "
            "compares, `=` assigns)"
        ) from exc


def check_constants_have_values(model, equations, parameters):
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


def check_assignments(model, part, code, variables):
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


def probe(model, equations):
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
                                       refractory=refractory_argument(model), name="brainconv_probe*")
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
        mark_used(objects)


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


def refractory_argument(model):
    return False if model.refractory is None else model.refractory


def mark_used(objects):
    # Brian2 warns when an object that never joined a run is deleted; a probe that failed on
    # purpose is not the user's mistake. (Brian2 2.9: the flag is the private `_network`.)
    for obj in objects:
        if getattr(obj, "_network", "") is None:
            obj._network = "brainconv-validation"
