"""Poisson input layer: each input value becomes a Poisson spike train of rate value * max_rate.

Srinivasan et al. 2020 (and Sengupta et al. 2019 for spike-norm) feed pixels as Poisson spike
trains whose rate is proportional to the intensity. As a brainconv layer,
``poisson`` is the *first* layer of a network, like ``ttfs``: its constant current ``I`` is the
input value (the spec's first weights are the identity), and in every step each unit spikes
with probability ``I * max_rate * dt`` (Bernoulli per step, the discrete-time Poisson process
Brian2's ``PoissonGroup`` also uses). The ANN's first weight matrix then becomes a spiking
pathway into the next layer (:func:`brainconv.conversion.convert` with ``encoding="poisson"``).

* The probability saturates at 1 (one spike per step at most): ``max_rate * dt > 1`` clips the
  brighter inputs. Inputs ``<= 0`` never spike (Rathi's code spikes for ``|x|`` with the sign
  of ``x``; signed input is not supported here). Padding samples (NaN current) never spike.
* Two registered models, because a network's layers share one time base
  (:func:`brainconv.spec.time_base`): ``poisson`` on the timestep grid of the conversion
  paradigms (``if_soft``, ``if_hard``, ``lif``, accumulators, ensembles; ``dt`` is then the
  1 ms label, so ``max_rate = 1000 Hz`` is one spike per step at value 1) and
  ``poisson_continuous`` for continuous-time models (``lif_rc``, ``cuba_lif``; the real ``dt``).
  Not in front of few-spike (``fs_*``) layers, which take their input once per sample.
* Defaults: ``poisson`` 1000 Hz, i.e. spike probability = value per step, as in Sengupta's
  and Rathi's spike-norm code (``rand() <= |x|``); ``poisson_continuous`` 200 Hz,
  a **placeholder** (Srinivasan et al. give no rate; Diehl & Cook 2015 use 63.75 Hz).

Randomness. Brian2 draws with ``rand()`` (seed it with ``brian2.seed(seed)``; in standalone
also ``numpy.random.seed``; the numbers differ between code-generation targets). The numpy
``step`` draws from a Generator seeded by ``(seed, step index)``, so a seed fixes the numpy
spike trains, whatever the run length. Brian2 and numpy use different generators: they agree
in distribution (rates, tested within binomial bounds), **not spike for spike**, so networks
with Poisson input are not cross-checked exactly between devices.
"""

import numpy as np

from brainconv.errors import ParameterError

from .model import NeuronModel

__all__ = ["CONTINUOUS_MAX_RATE", "EQUATIONS", "GRID_DT", "GRID_MAX_RATE", "INPUT_MODELS",
           "POISSON", "POISSON_CONTINUOUS", "THRESHOLD", "check_seed", "draw_spikes",
           "spike_probability"]

EQUATIONS = """
I : 1                               # input value in [0, 1] (pixel intensity)
max_rate : Hz (shared, constant)    # rate of an input of 1
"""
THRESHOLD = "rand() < I * max_rate * dt"

#: The step of the timestep-grid models in seconds (brainconv.spec.TIMESTEP_MS; a label there).
GRID_DT = 1e-3
#: Default rates in Hz: the grid one gives probability = value per step (Sengupta, Rathi).
GRID_MAX_RATE = 1000.0
CONTINUOUS_MAX_RATE = 200.0  # placeholder, see the module docstring
#: Models that encode the network's input as spikes (identity weights into them).
INPUT_MODELS = ("poisson", "poisson_continuous", "ttfs")


def check_seed(seed, where="the Poisson input"):
    """``seed`` as an int, or ParameterError unless it is a whole number >= 0."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer, float)) \
            or not float(seed).is_integer() or seed < 0:
        raise ParameterError(f"seed of {where} must be a whole number >= 0, got {seed!r}; "
                             "pass e.g. seed=0")
    return int(seed)


def spike_probability(current, max_rate, dt):
    """Probability of a spike in one step: ``clip(current * max_rate * dt, 0, 1)``.

    Parameters
    ----------
    current : array_like
        Input values (pixel intensities).
    max_rate : float
        Rate of an input of 1, in Hz.
    dt : float
        Step in seconds (``GRID_DT`` on the timestep grid).
    """
    return np.clip(np.asarray(current, dtype=float) * max_rate * dt, 0.0, 1.0)


def draw_spikes(current, step, max_rate, dt, seed, out=None):
    """The Poisson spikes of step ``step``: ``u < current * max_rate * dt``, ``u`` uniform.

    ``u`` comes from ``numpy.random.default_rng((seed, step))``: reproducible from the seed
    and the step index alone (the samples and units are the array's entries, in C order).
    """
    seed = check_seed(seed)
    uniform = np.random.default_rng((seed, int(step))).random(np.shape(current))
    result = np.less(uniform, np.asarray(current) * (max_rate * dt))
    if out is None:
        return result.astype(float)
    out[...] = result
    return out


def _grid_step(v, current, spikes, theta=None, max_rate=GRID_MAX_RATE, seed=0):
    """One grid step in numpy; ``v`` counts the steps (every entry holds the step index)."""
    step = int(v.flat[0]) if v.size else 0
    draw_spikes(current, step, max_rate, GRID_DT, seed, out=spikes)
    v += 1
    return spikes


def _continuous_step(state, current, spikes, dt, theta=None, max_rate=CONTINUOUS_MAX_RATE,
                     seed=0):
    """One step of ``dt`` seconds in numpy; ``state["k"]`` counts the steps."""
    k = state["k"]
    step = int(k.flat[0]) if k.size else 0
    draw_spikes(current, step, max_rate, dt, seed, out=spikes)
    k += 1
    return spikes


_COMMON = dict(
    equations=EQUATIONS,
    threshold=THRESHOLD,
    reset="",
    input_variable="I",
    clear="",
    units={"max_rate": "Hz"},
    # The seed is no Brian2 variable (Brian2's rand() is seeded globally): structural keeps
    # it out of the NeuronGroup's variables, and in the compiled layout.
    structural=("seed",),
    citation="Srinivasan et al. 2020 (ICASSP) §2 Poisson input; Sengupta et al. 2019 spike-norm "
             "input (rand() <= x per step); Sengupta et al. 2019; Srinivasan & Roy 2019",
)

POISSON = NeuronModel(
    name="poisson",
    parameters={"max_rate": GRID_MAX_RATE, "seed": 0},
    step=_grid_step,
    description="Poisson input layer on the timestep grid: spike with probability "
                "I * max_rate * 1 ms per step (1000 Hz: probability = value)",
    **_COMMON,
)

POISSON_CONTINUOUS = NeuronModel(
    name="poisson_continuous",
    parameters={"max_rate": CONTINUOUS_MAX_RATE, "seed": 0},
    step=_continuous_step,
    time_base="continuous",
    state_variables=("k",),
    description="Poisson input layer for continuous-time models: spike with probability "
                "I * max_rate * dt per step",
    **_COMMON,
)
