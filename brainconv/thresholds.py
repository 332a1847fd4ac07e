"""A layer's threshold and reset as one compiled code object (cpp_standalone).

Brian2 runs a ``NeuronGroup``'s threshold and reset as two code objects, each with its own pass
over the group and its own call every step. brainconv schedules the reset right after the
threshold (``brainconv.build``: orders ``4 l`` and ``4 l + 1`` in the ``synapses`` slot), so
nothing reads the potential in between and the two can be one: :class:`ThresholdReset`
replaces the group's thresholder and resetter by one code object from the template
``threshold_reset`` (``brainconv/templates/threshold_reset.cpp``), which finds the spikes with
a vectorised pass and resets them in the same call. The spikes and the state are Brian2's,
in the same order. Groups with a refractory period keep Brian2's two objects (their
threshold also writes ``not_refractory`` and ``lastspike`` per spike).
"""

from brian2.groups.neurongroup import Thresholder

__all__ = ["ThresholdReset", "fuse_threshold_reset"]


class ThresholdReset(Thresholder):
    """The thresholder of ``group`` that also runs its reset (template ``threshold_reset``),
    and with ``update`` its state update first, in the same pass over the neurons.

    Its abstract code has three blocks: ``update`` (the ``StateUpdater``'s step, or nothing),
    ``condition`` (the thresholder's ``_cond = ...``) and ``reset`` (the group's reset
    statements).
    """

    def __init__(self, group, when, order, update=None):
        Thresholder.__init__(self, group, when=when, event="spike")
        self.template = "threshold_reset"
        self.order = order
        self.update = update
        self._name = f"{group.name}_spike_threshold_reset"

    def update_abstract_code(self, run_namespace):
        Thresholder.update_abstract_code(self, run_namespace)
        reset = self.group.event_codes["spike"]
        step = ""
        if self.update is not None:
            self.update.update_abstract_code(run_namespace)
            step = self.update.abstract_code
        self.abstract_code = {"update": step, "condition": self.abstract_code, "reset": reset}
        self.user_code = {"update": step, "condition": self.user_code, "reset": reset}


def fuse_threshold_reset(group, with_update=False):
    """Replace ``group``'s thresholder and resetter by one :class:`ThresholdReset` at the
    thresholder's place in the schedule; returns it. The group must have no refractory period
    and a reset (brainconv's spiking grid layers).

    With ``with_update`` the group's ``StateUpdater`` goes too: its step runs in the same pass,
    just before each neuron's condition. That is the same arithmetic only where nothing
    touches the state between the two (the caller's promise: a first layer, fed by its input
    current alone, without ``integrate`` code); a layer fed by a pathway adds the spikes
    between its update and its threshold."""
    threshold, reset = group.thresholder["spike"], group.resetter["spike"]
    if group._refractory is not False:
        raise ValueError(f"{group.name} has a refractory period: its threshold and reset "
                         "stay Brian2's")
    updater = group.state_updater if with_update else None
    fused = ThresholdReset(group, threshold.when, threshold.order, updater)
    group.contained_objects[:] = [fused if obj is threshold else obj
                                  for obj in group.contained_objects
                                  if obj is not reset and obj is not updater]
    group.thresholder["spike"] = fused
    del group.resetter["spike"]
    return fused
