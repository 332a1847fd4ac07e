"""LIF neurons with a homeostatic adaptive threshold and dropout, for STDP learning layers.

Srinivasan et al. 2020 learn convolution kernels with stochastic STDP in LIF neurons whose
"firing threshold adapts" (homeostasis) and among which "dropout" stands in for lateral
inhibition. The model, as Brian2 strings::

    dv/dt = -v / tau_m : 1 (unless refractory)
    dtheta/dt = -theta / tau_theta : 1
    active : 1

    threshold:  v > v_th + theta and active > 0.5
    reset:      v = 0; theta += theta_plus
    refractory: t_ref

Every spike raises the threshold by ``theta_plus``, which decays back with ``tau_theta`` (Diehl
& Cook 2015's homeostasis): a neuron that fires often needs a closer match to fire again, so
the other neurons get to learn. ``active`` is the dropout mask: at the start of every sample
the learning network (:func:`brainconv.learning.learn_kernels`) sets ``v = 0`` and ``active =
int(rand() >= dropout)``, so a dropped neuron neither fires nor learns on that sample. Each
input spike adds ``w_scale * w`` to ``v`` (the synapse's transmission, ``v_post += w_scale *
w``). ``theta`` is dimensionless and integrated exactly (``method="exact"``).

**Placeholders.** The paper gives no values, and ReStoCNet's could not be retrieved (notes
§4.1). The defaults are chosen for 3x3 MNIST patches at up to 200 Hz over 50 ms: ``tau_m = 20
ms``, ``v_th = 1``, ``w_scale = 0.25`` (an input rate of 200 Hz through weight 1 holds
``v`` at 1: about two matching active pixels make a fresh neuron fire),
``t_ref = 5 ms``, ``theta_plus = 0.05``, ``tau_theta = 100 s`` (of the order of the whole
learning run, as Diehl & Cook's 10^7 ms is of theirs), ``dropout = 0.5``.
"""

from dataclasses import dataclass
from typing import ClassVar, Mapping

from brainconv.errors import ParameterError

from .model import ModelBase

__all__ = ["ADAPTIVE_LIF", "LearningNeuronModel"]

EQUATIONS = """
dv/dt = -v / tau_m : 1 (unless refractory)
dtheta/dt = -theta / tau_theta : 1
active : 1
"""
THRESHOLD = "v > v_th + theta and active > 0.5"
RESET = """
v = 0
theta += theta_plus
"""
#: Run at the start of every sample (``run_regularly``): fresh membrane, new dropout mask.
NEW_SAMPLE = """
v = 0
active = int(rand() >= dropout)
"""


def _check(values, owner):
    for name in ("tau_m", "tau_theta", "v_th", "w_scale"):
        if not values[name] > 0:
            raise ParameterError(f"{name} of {owner} must be positive, got {values[name]}")
    for name in ("t_ref", "theta_plus"):
        if values[name] < 0:
            raise ParameterError(f"{name} of {owner} must be >= 0, got {values[name]}")
    if not 0 <= values["dropout"] < 1:
        raise ParameterError(f"dropout of {owner} is the fraction of neurons silenced per "
                             f"sample and must lie in [0, 1), got {values['dropout']}")


@dataclass(frozen=True)
class LearningNeuronModel(ModelBase):
    """A neuron model of an STDP learning layer, as Brian2 strings with parameters and units.

    Parameters
    ----------
    name : str
    equations, threshold, reset, new_sample : str
        Brian2 ``NeuronGroup`` strings; ``new_sample`` runs at the start of each sample.
    parameters : Mapping[str, float]
        Defaults in SI (the refractory period ``t_ref`` among them).
    units, placeholders, citation, description, check
        As for :class:`~brainconv.equations.model.ModelBase` (keyword-only).
    """

    threshold: str
    reset: str
    new_sample: str
    parameters: Mapping[str, float]
    kind: ClassVar[str] = "learning neuron model"

    def group(self, n, parameters=None, **kwargs):
        """A ``brian2.NeuronGroup`` of ``n`` such neurons (``kwargs``: ``name``, ``dt``...)."""
        import brian2

        namespace = self.namespace(parameters)
        return brian2.NeuronGroup(n, self.equations, threshold=self.threshold,
                                  reset=self.reset, refractory=namespace["t_ref"],
                                  method="exact", namespace=namespace, **kwargs)


ADAPTIVE_LIF = LearningNeuronModel(
    name="adaptive_lif",
    equations=EQUATIONS,
    threshold=THRESHOLD,
    reset=RESET,
    new_sample=NEW_SAMPLE,
    parameters={"tau_m": 0.02, "v_th": 1.0, "w_scale": 0.25, "t_ref": 0.005,
                "theta_plus": 0.05, "tau_theta": 100.0, "dropout": 0.5},
    units={"tau_m": "second", "t_ref": "second", "tau_theta": "second"},
    placeholders=("tau_m", "v_th", "w_scale", "t_ref", "theta_plus", "tau_theta", "dropout"),
    citation="Srinivasan et al. 2020 §2.1 (homeostasis, dropout); Diehl & Cook 2015 "
             "(adaptive threshold); all values placeholders",
    check=_check,
)
