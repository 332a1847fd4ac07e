"""How a trained ANN of each activation is converted: its ReLU or soft-LIF equivalent.

:data:`ANN_FAMILIES` maps the ANN's activation to an :class:`AnnFamily` (the equivalent
network whose weights the spiking layers take, the time base of the models it converts to,
the normalizations that apply, the trained constants the models inherit).
"""

from dataclasses import dataclass
from typing import Callable

from ..ann import ANN
from ..errors import ModelError, ParameterError

__all__ = ["ANN_FAMILIES", "AnnFamily", "family_of", "relu_equivalent", "softlif_equivalent"]


@dataclass(frozen=True)
class AnnFamily:
    """How a trained ANN of one activation is converted (an entry of :data:`ANN_FAMILIES`).

    Parameters
    ----------
    equivalent : callable
        ``equivalent(ann)`` → the ANN whose weights the spiking layers take (before
        normalization and the threshold).
    time_base : {"step", "continuous"}
        The time base of the neuron models it converts to.
    hint : str
        What to do when the models have the other time base (ends the ModelError).
    normalizations : tuple of str or None
        The normalizations that apply (``None``: all of :data:`NORMALIZERS`).
    why_not : str
        Why the other normalizations do not apply, and the fix (ends the ParameterError).
    trained : tuple of str
        Activation parameters that become the neuron models' defaults (soft-LIF ``tau_rc``).
    label : str or None
        The family in messages (``None``: the activation's name).
    """

    equivalent: Callable
    time_base: str = "step"
    hint: str = ("continuous-time models (lif_rc) take a network trained with the soft-LIF "
                 "activation (train_ann(..., activation='softlif'))")
    normalizations: tuple = None
    why_not: str = ""
    trained: tuple = ()
    label: str = None

    def fits(self, models):
        """Whether the layer ``models`` have this family's time base.

        A continuous-time family needs every layer continuous; a timestep family rejects only
        an all-continuous network here (a mix is reported layer by layer by
        :func:`brainconv.spec.time_base`).
        """
        bases = {model.time_base for model in models}
        return bases == {"continuous"} if self.time_base == "continuous" \
            else bases != {"continuous"}


def _as_relu(ann):
    """A ReLU network with ``ann``'s weights (ReLU, accumulator and swish networks)."""
    return ANN(ann.weights, ann.biases)


def _rate_as_relu(ann):
    """A ``"rate"`` network (``ReLU(z) / R`` for ``v_th = 0``) as a ReLU network."""
    params = dict(ann.activation_params)
    if params.get("v_th", 0.0) != 0:
        raise ParameterError(
            f"cannot convert a 'rate' network with v_th = {params['v_th']}: its activation "
            "jumps at v_th, which integrate-and-fire neurons do not; train with v_th = 0"
        )
    R = params.get("R", 1.0)
    weights = (ann.weights[0],) + tuple(w / R for w in ann.weights[1:])
    return ANN(weights, ann.biases)


#: ANN activation → how it is converted. Hunsberger & Eliasmith 2016 for soft-LIF; Think Fast
#: §3.4 for the custom-trained ``rate`` and ``accumulator`` networks (:func:`relu_equivalent`);
#: swish for few-spike swish (Stöckl & Maass 2021).
ANN_FAMILIES = {
    "relu": AnnFamily(_as_relu),
    "rate": AnnFamily(_rate_as_relu),
    "accumulator": AnnFamily(_as_relu),
    "swish": AnnFamily(
        _as_relu, normalizations=("none",),
        why_not="swish is not positively homogeneous, so rescaling layers changes what it "
                "computes; pass normalization='none' (the FS-swish coefficients expect raw "
                "pre-activations)"),
    "softlif": AnnFamily(
        lambda ann: softlif_equivalent(ann), time_base="continuous",
        hint="a soft-LIF ANN becomes continuous-time LIF neurons; use model='lif_rc'",
        normalizations=("none",),
        why_not="its weights are transferred unchanged (Hunsberger & Eliasmith 2016); pass "
                "normalization='none'",
        trained=("gain", "tau_rc", "tau_ref"), label="soft-LIF"),
}


def relu_equivalent(ann):
    """The ReLU network that computes what ``ann`` computes, for conversion.

    Custom-trained networks (Think Fast §3.4) carry their hidden activation: ``"rate"`` with
    ``v_th = 0`` is ``ReLU(z) / R``, so dividing every later layer's weights by ``R`` gives the
    same function with ReLUs. ``"accumulator"`` (``z**2 / 2R``) has no linear spiking
    counterpart: its weights are transferred as they are, as Think Fast does, so the spiking
    network approximates the ReLU network with those weights (Think Fast Table 1).

    Raises
    ------
    ParameterError
        For a ``"rate"`` activation with ``v_th != 0``: it jumps from 0 to ``v_th / R`` at
        ``v_th``, which no integrate-and-fire neuron reproduces.
    """
    family = family_of(ann)
    if family.time_base != "step":
        raise ParameterError(
            f"a {ann.activation!r} network has no ReLU equivalent; convert it to the "
            f"continuous-time neurons it was trained for ({family.hint}), with "
            "normalization='none'"
        )
    return family.equivalent(ann)


def family_of(ann):
    """The :data:`ANN_FAMILIES` entry of ``ann``'s activation."""
    try:
        return ANN_FAMILIES[ann.activation]
    except KeyError:
        raise ModelError(f"no conversion is registered for {ann.activation!r} networks; known "
                         f"activations: {', '.join(ANN_FAMILIES)}") from None


def softlif_equivalent(ann):
    """Hunsberger & Eliasmith's transfer of a soft-LIF ANN: weights into spiking LIF synapses.

    Weights and biases are kept; the rate-to-activation scale ``amp`` (seconds) multiplies the
    weights of every layer after the first, which turns them into the charge one spike delivers
    (a hidden unit's activation is ``amp`` times its rate). Each LIF neuron then receives
    ``J = gain * x + 1`` (``lif_rc``), ``x`` the filtered input plus bias.
    """
    amp = dict(ann.activation_params)["amp"]
    weights = (ann.weights[0],) + tuple(w * amp for w in ann.weights[1:])
    return ANN(weights, ann.biases)
