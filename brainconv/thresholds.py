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
    """The thresholder of ``group`` that also runs its reset (template ``threshold_reset``).

    Its abstract code has two blocks: ``condition`` (the thresholder's ``_cond = ...``) and
    ``reset`` (the group's reset statements).
    """

    def __init__(self, group, when, order):
        Thresholder.__init__(self, group, when=when, event="spike")
        self.template = "threshold_reset"
        self.order = order
        self._name = f"{group.name}_spike_threshold_reset"

    def update_abstract_code(self, run_namespace):
        Thresholder.update_abstract_code(self, run_namespace)
        reset = self.group.event_codes["spike"]
        self.abstract_code = {"condition": self.abstract_code, "reset": reset}
        self.user_code = {"condition": self.user_code, "reset": reset}


def fuse_threshold_reset(group):
    """Replace ``group``'s thresholder and resetter by one :class:`ThresholdReset` at the
    thresholder's place in the schedule; returns it. The group must have no refractory period
    and a reset (brainconv's spiking grid layers)."""
    threshold, reset = group.thresholder["spike"], group.resetter["spike"]
    if group._refractory is not False:
        raise ValueError(f"{group.name} has a refractory period: its threshold and reset "
                         "stay Brian2's")
    fused = ThresholdReset(group, threshold.when, threshold.order)
    group.contained_objects[:] = [fused if obj is threshold else obj
                                  for obj in group.contained_objects if obj is not reset]
    group.thresholder["spike"] = fused
    del group.resetter["spike"]
    return fused
