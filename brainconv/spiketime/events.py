"""Event-driven simulation of feed-forward CuBa-LIF networks with closed-form spike times.

The neuron is the one of BATS (Bacho & Chu 2023) as used by Cojocaru (2024)::

    du/dt = -u / tau + g,      dg/dt = -g / tau_s,      tau = 2 tau_s,

a presynaptic spike adds its weight ``w`` (in 1/s) to ``g``, a postsynaptic spike resets softly
(``u -= theta``), and ``u = g = 0`` at ``t = 0``. With ``tau = 2 tau_s`` and ``X = exp(-t/tau)``
the threshold condition ``u(t) = theta`` is the quadratic ``-a X^2 + b X - c = 0`` with
(notes eq. 8-9, summed over the inputs ``z`` received and the own spikes ``k`` emitted so far)::

    a = sum_z w_z exp(t_z / tau_s)
    b = sum_z w_z exp(t_z / tau) - (theta / tau) sum_k exp(t_k / tau)
    c = theta / tau
    t = tau ln(2 a / (b + x)),   x = sqrt(b^2 - 4 a c).

:func:`simulate_events` follows BATS' ``compute_spike_times.cu``: inputs are processed in time
order and, after each, spikes are solved for repeatedly until the discriminant is negative, the
denominator vanishes, the log's argument is not positive, or the time is at or before the last
input/own spike, after ``t_max`` or after the next input time. ``exp(t / tau_s)`` must be evaluated
with ``t`` the time since the sample's start: it overflows float32 (BATS) past ~11.5 s and
float64 past ~92 s, and ``b``'s cancellation loses precision long before, so never feed
absolute times of a long run (samples batched in time) into these closed forms.

Cojocaru's discretisation (``dt > 0``, eq. 14) replaces every time passed on to the next layer,
the input times included, by ``d(t) = t + dt - mod(t, dt)``; a time on the grid moves a full
``dt`` later. Each neuron's own dynamics and resets stay continuous.
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError, ShapeError

__all__ = ["EventResult", "LayerEvents", "discretise", "seconds", "simulate_events", "ttfs_decode",
           "ttfs_encode"]

# Times within this many grid units of a grid point count as on the grid (k * dt in floats).
GRID_TOLERANCE = 1e-9


def discretise(times, dt):
    """Cojocaru's ``d(t) = t + dt - mod(t, dt)`` (eq. 14); ``np.inf`` stays ``np.inf``.

    ``dt = 0`` returns the times unchanged. A time within ``1e-9 dt`` of a grid point is taken
    as on the grid (so that ``3 * 0.001`` maps to ``0.004``, not to ``0.003``) and moves a full
    ``dt`` later. Results are exact multiples ``(k + 1) * dt``.
    """
    times = np.asarray(times, dtype=float)
    if dt == 0:
        return times
    finite = np.isfinite(times)
    q = np.where(finite, times, 0.0) / dt
    r = np.round(q)
    k = np.where(np.abs(q - r) < GRID_TOLERANCE, r, np.floor(q))
    return np.where(finite, (k + 1.0) * dt, times)


@dataclass
class LayerEvents:
    """What one layer did for a batch of samples, and what its backward pass needs.

    Spike arrays are ``(samples, n_post, max_spikes)``, padded with ``np.inf`` (times) or 0.

    Attributes
    ----------
    times : ndarray
        Continuous spike times (s), in order per neuron.
    counts : ndarray of int
        Spikes per neuron with continuous time ``<= t_max``.
    out_times : ndarray
        The times passed on to the next layer: ``d(times)`` if ``dt > 0``, else ``times``.
    a, x : ndarray
        ``a_k`` and ``x_k = sqrt(b_k^2 - 4 a_k c)`` of each spike (0 where no spike).
    post_exp : ndarray
        ``exp(t_k / tau)`` of each spike, BATS' ``post_exp_tau`` (0 where no spike).
    in_times : ndarray, (samples, n_events)
        The received input times, sorted per sample (``np.inf`` pads). Inputs later than
        ``t_max`` are left out: they cannot cause a spike ``<= t_max``.
    in_src, in_slot : ndarray of int, (samples, n_events)
        The presynaptic neuron of each event and its flat index ``neuron * K_pre + spike`` in
        the previous layer's spike arrays.
    in_exp_s, in_exp : ndarray, (samples, n_events)
        ``exp(t_z / tau_s)`` and ``exp(t_z / tau)`` of each event (0 for padding).
    n_before : ndarray of small int, (samples, n_events, n_post) or None
        Spikes each neuron had emitted when the event arrived. Event ``z`` enters ``a_k`` and
        ``b_k`` of spike ``k`` iff ``n_before <= k``: the cumulated exponential sums of the
        backward pass are ``sum_z [n_before_z <= k] in_exp_s_z`` per presynaptic neuron. None
        when simulated with ``record=False``.
    """

    times: np.ndarray
    counts: np.ndarray
    out_times: np.ndarray
    a: np.ndarray
    x: np.ndarray
    post_exp: np.ndarray
    in_times: np.ndarray
    in_src: np.ndarray
    in_slot: np.ndarray
    in_exp_s: np.ndarray
    in_exp: np.ndarray
    n_before: np.ndarray = None


@dataclass
class EventResult:
    """Result of :func:`simulate_events`: one :class:`LayerEvents` per layer, and the settings.

    ``input_times`` (samples, n_inputs) are the inputs as given, ``input_out_times``
    (samples, n_inputs, 1) as passed on to layer 1 (``d(t)`` if ``dt > 0``).
    """

    layers: list
    input_times: np.ndarray
    input_out_times: np.ndarray
    thresholds: tuple
    tau_s: float
    dt: float
    t_max: float
    max_spikes: tuple = field(default=())

    @property
    def counts(self):
        """Output-layer spike counts, (samples, n_out)."""
        return self.layers[-1].counts


def _events(times, t_max):
    """Sort the spikes ``(S, n, K)`` of each sample into one event list (drop those > t_max)."""
    S, n, K = times.shape
    finite = np.isfinite(times) & (times <= t_max)
    # Spikes are stored in order per neuron, so only the first max-count slots can hold any.
    k_used = int(finite.sum(axis=2).max()) if finite.size else 0
    flat = np.where(finite[:, :, :k_used], times[:, :, :k_used], np.inf).reshape(S, n * k_used)
    order = np.argsort(flat, axis=1, kind="stable")
    n_events = int(finite.sum(axis=(1, 2)).max()) if finite.size else 0
    order = order[:, :n_events]
    ev_t = np.take_along_axis(flat, order, axis=1)
    src = order // max(k_used, 1)
    slot = src * K + order % max(k_used, 1)
    return ev_t, src, slot


def _layer_forward(W, theta, tau_s, ev_t, ev_src, t_max, K, record):
    """Closed-form spike times of one layer driven by sorted events (BATS forward loop)."""
    S, E = ev_t.shape
    n_post = W.shape[1]
    tau = 2.0 * tau_s
    c = theta / tau
    valid = np.isfinite(ev_t)
    safe_t = np.where(valid, ev_t, 0.0)
    exp_s = np.where(valid, np.exp(safe_t / tau_s), 0.0)
    exp_1 = np.where(valid, np.exp(safe_t / tau), 0.0)
    next_t = np.concatenate([ev_t[:, 1:], np.full((S, 1), np.inf)], axis=1)

    shape = (S, n_post, K)
    times = np.full(shape, np.inf)
    a_k, x_k, p_k = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    a = np.zeros((S, n_post))
    b = np.zeros((S, n_post))
    n = np.zeros((S, n_post), dtype=np.int64)
    nb_type = np.uint8 if K < 255 else np.int32
    n_before = np.zeros((S, E, n_post), dtype=nb_type) if record else None
    # Flat views: spike k of neuron (s, j) sits at (s * n_post + j) * K + k.
    a_f, b_f, n_f = a.reshape(-1), b.reshape(-1), n.reshape(-1)
    t_f, ak_f, xk_f, pk_f = (arr.reshape(-1) for arr in (times, a_k, x_k, p_k))
    base = np.arange(S * n_post) * K

    for e in range(E):
        if record:
            n_before[:, e] = n
        if not valid[:, e].any():
            break  # events are sorted: only padding is left
        w = W[ev_src[:, e]]
        a += w * exp_s[:, e, None]
        b += w * exp_1[:, e, None]
        # Solve repeatedly: first on the neurons with a root t = tau ln(2a / (b + x)), then
        # only on those that just spiked. That needs a > 0, b > 0 and b^2 >= 4ac: otherwise
        # b + x <= 0 or 2a / (b + x) <= 0, where the BATS loop stops as well.
        idx = np.flatnonzero((a > 0) & (b > 0) & (b * b >= 4.0 * c * a))
        last = ev_t[idx // n_post, e]
        nxt = next_t[idx // n_post, e]
        while idx.size:
            A, B, N = a_f[idx], b_f[idx], n_f[idx]
            x = np.sqrt(np.maximum(B * B - 4.0 * A * c, 0.0))
            den = B + x
            with np.errstate(divide="ignore", invalid="ignore"):
                inside = 2.0 * A / den
                t = tau * np.log(np.where(inside > 0, inside, 1.0))
            ok = ((B * B - 4.0 * A * c >= 0) & (den != 0) & (inside > 0) & (t > last)
                  & (t <= t_max) & (t <= nxt) & (N < K))
            hit = np.flatnonzero(ok)
            idx = idx[hit]
            pos = base[idx] + n_f[idx]
            t_f[pos], ak_f[pos], xk_f[pos], pk_f[pos] = t[hit], A[hit], x[hit], inside[hit]
            b_f[idx] -= c * inside[hit]
            n_f[idx] += 1
            last, nxt = t[hit], nxt[hit]
    return times, n, a_k, x_k, p_k, exp_s, exp_1, n_before


#: Plain numbers above these (in seconds) are taken for another unit and refused.
_PLAUSIBLE_SECONDS = {"tau_s": 10.0, "dt": 1.0, "t_max": 100.0, "t_in": 10.0,
                      "t_window": 10.0}


def seconds(name, value):
    """A time parameter in seconds: a Brian2 time (``130 * ms``) or a number of seconds.

    Raises
    ------
    ParameterError
        For a quantity that is not a time, a value that is no number, or a plain number too
        large to be seconds (``tau_s=130`` meant as ms: "write 0.13 or 130*ms").
    """
    if hasattr(value, "dim"):
        from ..equations.units import check_parameter

        return check_parameter("the spike-time network", name, value, "second")
    if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.number)):
        raise ParameterError(f"{name} must be a time, e.g. {name}=0.13 (seconds) or "
                             f"130*brian2.ms, got {value!r}")
    value = float(value)
    limit = _PLAUSIBLE_SECONDS.get(name)
    if limit is not None and value > limit:
        raise ParameterError(
            f"{name}={value:g} is in seconds here: over {limit:g} s; write {value / 1000:g} for "
            f"{value:g} ms, or pass a Brian2 time such as {value:g}*brian2.ms")
    return value


def check_network_inputs(weights, thresholds, input_times, tau_s, dt, t_max, max_spikes):
    if not isinstance(weights, (list, tuple)) or not weights:
        raise ParameterError("weights must be a non-empty list of (n_pre, n_post) arrays, got "
                             f"{type(weights).__name__}.")
    weights = [np.asarray(W, dtype=float) for W in weights]
    x = np.asarray(input_times, dtype=float)
    if x.ndim != 2:
        raise ShapeError(f"input_times must be (samples, n_inputs), got shape {x.shape}.")
    n_pre = x.shape[1]
    for i, W in enumerate(weights):
        if W.ndim != 2 or W.shape[0] != n_pre:
            raise ShapeError(f"weights[{i}] has shape {W.shape}; expected ({n_pre}, n_post) "
                             "to fit the previous layer.")
        if not np.all(np.isfinite(W)):
            raise ParameterError(f"weights[{i}] contains NaN or inf.")
        n_pre = W.shape[1]
    thresholds = tuple(float(v) for v in np.atleast_1d(thresholds))
    if len(thresholds) != len(weights) or not all(v > 0 for v in thresholds):
        raise ParameterError(f"thresholds must be one positive float per layer "
                             f"({len(weights)}), got {thresholds}.")
    if np.isnan(x).any() or (x < 0).any():
        raise ParameterError("input_times must be >= 0 (np.inf for no spike), got NaN or "
                             "negative values; times are measured from the sample's start.")
    for name, value in (("tau_s", tau_s), ("t_max", t_max)):
        if not (np.isfinite(value) and value > 0):
            raise ParameterError(f"{name} must be a positive finite time in s, got {value!r}.")
    if not (np.isfinite(dt) and dt >= 0):
        raise ParameterError(f"dt must be >= 0 (0: continuous), got {dt!r}.")
    ks = np.atleast_1d(np.asarray(max_spikes, dtype=float))
    if ks.size == 1:
        ks = np.repeat(ks, len(weights))
    if ks.shape != (len(weights),) or not all(k.is_integer() and k >= 1 for k in ks):
        raise ParameterError(f"max_spikes must be an int >= 1 or one per layer, got "
                             f"{max_spikes!r}.")
    return weights, thresholds, x, tuple(int(k) for k in ks)


def simulate_events(weights, thresholds, input_times, tau_s=0.13, dt=0.0, t_max=0.2,
                    max_spikes=30, record=True):
    """Simulate a feed-forward CuBa-LIF network event by event, spike times in closed form.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[l]`` is layer ``l``'s incoming weight matrix, (n_pre, n_post), in 1/s.
    thresholds : sequence of float
        ``theta`` of each layer (the soft reset subtracts the same amount).
    input_times : ndarray, (samples, n_inputs)
        One spike per input at most, in s since the sample's start; ``np.inf`` for none.
    tau_s : float or Brian2 time
        Synaptic time constant (a number of seconds, or e.g. ``130 * brian2.ms``); the
        membrane's is ``tau = 2 tau_s``. ``dt`` and ``t_max`` are times the same way.
    dt : float
        0: continuous. ``> 0``: every time passed on (inputs included) becomes ``d(t)``.
    t_max : float
        End of the simulation: spikes after it are neither emitted nor counted.
    max_spikes : int or sequence of int
        Spike buffer per neuron (per layer); a neuron stops once it is full, as in BATS.
    record : bool
        Keep ``n_before`` for the backward pass (memory ``samples * events * n_post`` bytes).

    Returns
    -------
    EventResult
    """
    tau_s, dt, t_max = seconds("tau_s", tau_s), seconds("dt", dt), seconds("t_max", t_max)
    weights, thresholds, x, ks = check_network_inputs(weights, thresholds, input_times, tau_s, dt,
                                               t_max, max_spikes)
    passed = discretise(x, dt)[:, :, None]
    result = EventResult([], x, passed, thresholds, float(tau_s), float(dt), float(t_max), ks)
    for W, theta, K in zip(weights, thresholds, ks):
        ev_t, src, slot = _events(passed, t_max)
        times, n, a_k, x_k, p_k, exp_s, exp_1, nb = _layer_forward(
            W, theta, tau_s, ev_t, src, t_max, K, record)
        passed = discretise(times, dt)
        result.layers.append(LayerEvents(times, n, passed, a_k, x_k, p_k, ev_t, src, slot,
                                         exp_s, exp_1, nb))
    return result


def _check_pixels(pixels, name):
    p = np.asarray(pixels, dtype=float)
    if np.isnan(p).any():
        raise ParameterError(f"{name} contains NaN; expected values in [0, 1].")
    if (p < 0).any() or (p > 1).any():
        raise ParameterError(f"{name} must lie in [0, 1] (scale 8-bit images by 1/255), got "
                             f"range [{p.min():g}, {p.max():g}].")
    return p


def ttfs_encode(pixels, t_in=0.1):
    """Time-to-first-spike code of BATS: one spike at ``t_in (1 - p)``, none for ``p == 0``.

    Parameters
    ----------
    pixels : array_like
        Intensities in [0, 1].
    t_in : float or Brian2 time
        Latest input time (a number of seconds, or e.g. ``100 * brian2.ms``): a pixel of
        intensity just above 0 spikes just before ``t_in``.

    Returns
    -------
    ndarray
        Spike times (s), same shape, ``np.inf`` where ``p == 0``.
    """
    t_in = seconds("t_in", t_in)
    if not (np.isfinite(t_in) and t_in > 0):
        raise ParameterError(f"t_in must be a positive time in s, got {t_in!r}.")
    p = _check_pixels(pixels, "pixels")
    return np.where(p > 0, t_in * (1.0 - p), np.inf)


def ttfs_decode(times, t_in=0.1):
    """Invert :func:`ttfs_encode`: ``p = 1 - t / t_in``, ``np.inf`` (no spike) gives 0."""
    if not (np.isfinite(t_in) and t_in > 0):
        raise ParameterError(f"t_in must be a positive time in s, got {t_in!r}.")
    t = np.asarray(times, dtype=float)
    if np.isnan(t).any():
        raise ParameterError("times contains NaN; expected times in [0, t_in] or np.inf.")
    finite = np.isfinite(t)
    if (t < 0).any() or (t[finite] > t_in).any():
        raise ParameterError(f"times must lie in [0, t_in={t_in}] or be np.inf; got values "
                             "outside. Was another t_in used to encode?")
    return np.where(finite, 1.0 - np.where(finite, t, 0.0) / t_in, 0.0)
