"""Pathways between layers: Brian2 ``Synapses`` holding one entry per ANN weight.

A converted layer is replicated ``batch_size`` times inside its ``NeuronGroup`` (one copy per
sample of a batch, :mod:`brainconv.build`). Brian2's own propagation would need the weights
once per copy and sends every spike through a spike queue. A zero-delay pathway whose ``on_pre``
only adds the weight (``v_post += w``, ``v_post += w * n_pre``) needs neither:
:class:`Pathway` keeps the weights of copy 0 only, sorted by presynaptic neuron, and a code
object made from the template ``pathway`` (``brainconv/templates``: C++ standalone, Cython and
numpy) adds row ``k`` of the weights to copy ``b`` of the target variable for each spike of
source neuron ``b * n_pre + k``, in the same order Brian2 would.

Every other pathway (a delay, code that is not a plain sum, a plastic or user synapse model, or
a device without the template, such as brian2cuda) keeps Brian2's propagation on the same
object, with the connections replicated per copy. Either way the pathway *is* a
``brian2.Synapses``: ``S.i``, ``S.j`` and ``S.w`` can be read (after the run on standalone
devices), monitored and set through ``run_args``; :attr:`Pathway.propagation` tells which code
it runs.
"""

import functools
from pathlib import Path

import brian2
import numpy as np
from brian2.core.variables import Variables
from brian2.groups.group import CodeRunner

from .errors import SimulationError
from .spec import additive_target

__all__ = ["Pathway", "brainconv_code_object", "replicate", "row_code_object"]

_TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def brainconv_code_object(base):
    """``base`` with ``brainconv/templates`` searched first (Brian2's ``Templater.derive``,
    the mechanism brian2cuda uses): the branchless ``threshold.cpp`` and the ``pathway``
    templates; every other template is Brian2's own."""
    return type(f"Brainconv{base.__name__}", (base,), {
        "templater": base.templater.derive("brainconv", templates_dir="templates")})


def row_code_object(base=None):
    """The code object class that runs the ``pathway`` template on the current device, or None.

    Parameters
    ----------
    base : type, optional
        A Brian2 ``CodeObject`` class; default: the one the current device and
        ``prefs.codegen.target`` choose. None is returned where brainconv has no ``pathway``
        template for its language (e.g. brian2cuda's ``.cu``), so the caller falls back to
        Brian2's propagation.
    """
    if base is None:
        base = brian2.get_device().code_object_class()
    if not (_TEMPLATES / f"pathway{base.templater.extension}").is_file():
        return None
    return brainconv_code_object(base)


def replicate(pre, post, n_pre, n_post, batch_size):
    """Indices of ``batch_size`` block-diagonal copies of a layer's connections.

    Copy-major order, matching ``np.tile(w, batch_size)``.
    """
    copy = np.repeat(np.arange(batch_size, dtype=np.int64), len(pre))
    return np.tile(pre, batch_size) + copy * n_pre, np.tile(post, batch_size) + copy * n_post


def _row_propagation(synapses, target, payload, n_pre, n_post, dense, code_object, when,
                     order):
    """The CodeRunner that adds weight rows per spike (template ``pathway``)."""
    runner = CodeRunner(
        synapses, "pathway", code="", clock=synapses.source.clock, when=when, order=order,
        name=f"{synapses.name}_rows", check_units=False, codeobj_class=code_object,
        needed_variables=["_payload"] if payload else None,
        template_kwds={"n_pre": n_pre, "n_post": n_post, "n_source": len(synapses.source),
                       "dense": dense, "payload": bool(payload)})
    runner.variables = Variables(runner)
    runner.variables.add_reference("_spikespace", synapses.source)
    runner.variables.add_reference("_target", synapses.target, target)
    if payload:
        runner.variables.add_reference("_payload", synapses.source, payload)
    return runner


class Pathway(brian2.Synapses):
    """The ``Synapses`` of one converted pathway, served by weight rows or replicated.

    Parameters
    ----------
    source, target : brian2.NeuronGroup
        The layers below and above, each ``batch_size`` copies of ``n_pre`` / ``n_post``
        neurons.
    pre, post : ndarray of int
        The ANN's connections (copy 0), sorted by ``pre`` then ``post``.
    n_pre, n_post, batch_size : int
    weight_unit : str
        Brian2 unit of ``w`` (``"1"`` for plain numbers).
    on_pre : str
        The pathway's code per spike.
    rows : bool
        True: one entry per ANN weight, and the ``pathway`` template adds rows per spike
        (``on_pre`` must be recognised by :func:`brainconv.spec.additive_target`, and the
        device must have the template: :func:`row_code_object`). False: Brian2 runs
        ``on_pre`` through its spike queue on connections replicated per batch copy. The
        backend decides
        (:attr:`brainconv.devices.Device.direct_pathways`).
    dense : bool
        ``pre, post`` hold every ``(k, j)`` pair in row-major order, so rows are contiguous.
    clock : brian2.Clock
    when : str
    order : int
        Where the propagation runs in the schedule.
    name : str

    Attributes
    ----------
    propagation : str
        ``"rows"`` (one entry per ANN weight, the ``pathway`` template) or ``"queue"``
        (Brian2's propagation, one entry per weight and batch copy).
    batch_copies : int
        How many times each ANN weight is stored: 1 for ``"rows"``, ``batch_size`` otherwise.
    """

    def __init__(self, source, target, pre, post, n_pre, n_post, batch_size, weight_unit,
                 on_pre, *, rows, dense, clock, when, order, name):
        additive = additive_target(on_pre) if rows else None
        if rows and additive is None:
            raise SimulationError(
                f"pathway {name!r}: weight rows serve only code that adds the weight "
                f"(v_post += w, v_post += w * n_pre), not {on_pre!r}; build it with rows=False")
        code_object = row_code_object() if rows else None
        if rows and code_object is None:
            raise SimulationError(
                f"pathway {name!r}: brainconv has no 'pathway' template for "
                f"{brian2.get_device().code_object_class().__name__}; give the backend "
                "direct_pathways = False so its pathways use Brian2's propagation")
        self.propagation = "rows" if rows else "queue"
        self.batch_copies = 1 if rows else batch_size
        if rows:
            brian2.Synapses.__init__(self, source, target, f"w : {weight_unit}", clock=clock,
                                     name=name)
            self.connect(i=pre, j=post)
            self.contained_objects.append(_row_propagation(
                self, *additive, n_pre, n_post, dense, code_object, when, order))
        else:
            brian2.Synapses.__init__(self, source, target, f"w : {weight_unit} (constant)",
                                     on_pre=on_pre, clock=clock, name=name)
            pre, post = replicate(pre, post, n_pre, n_post, batch_size)
            self.connect(i=pre, j=post)
            self.pre.when, self.pre.order = when, order
