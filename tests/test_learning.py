"""STDP learning inside one Brian2 run (brainconv.learning)."""

import numpy as np
import pytest
from brian2 import ms, second

from brainconv.errors import ParameterError, ShapeError
from brainconv.learning import (image_patches, learn_kernels, learn_shared_kernels,
                                 offset_connections)

#: A stroke the learning neurons see over and over (a diagonal).
PATTERN = np.array([1, 0, 0, 0, 1, 0, 0, 0, 1], dtype=float)


def _pattern_patches(repeats):
    """One all-on patch (every input spikes once), then ``PATTERN`` ``repeats`` times."""
    return np.vstack([np.ones(9), np.tile(PATTERN, (repeats, 1))])


def test_image_patches_are_seeded_inky_windows_of_the_images():
    rng = np.random.default_rng(0)
    images = np.zeros((20, 8, 8))
    rows, cols = rng.integers(0, 6, 20), rng.integers(0, 6, 20)
    images[np.arange(20), rows + 1, cols + 1] = 1.0  # one lit pixel per image
    patches = image_patches(images, 20, min_ink=1.0, seed=3)
    assert patches.shape == (20, 9)
    assert np.all(patches.sum(axis=1) == 1)  # every patch holds its image's pixel
    np.testing.assert_array_equal(patches, image_patches(images.reshape(20, 64), 20, seed=3))
    assert not np.array_equal(patches, image_patches(images, 20, seed=4))  # position varies


def test_learning_rejects_bad_input_before_running():
    with pytest.raises(ParameterError, match=r"lie in \[0, 1\]"):
        learn_kernels(np.full((3, 9), 2.0), device="runtime")
    with pytest.raises(ShapeError, match="2-d array"):
        learn_kernels(np.ones(9), device="runtime")
    with pytest.raises(ParameterError, match="whole number"):
        learn_kernels(np.ones((3, 9)), device="runtime", presentation=2.5 * ms)
    with pytest.raises(ParameterError, match="dropout"):
        learn_kernels(np.ones((3, 9)), device="runtime", neuron={"dropout": 1.0})
    with pytest.raises(ParameterError, match="without its unit|unit"):
        learn_kernels(np.ones((3, 9)), device="runtime", plasticity={"tau_pot": 10})
    with pytest.raises(ParameterError, match="device"):
        learn_kernels(np.ones((3, 9)), device="numpy")


def _small_run(seed, **kwargs):
    patches = image_patches(np.random.default_rng(1).random((30, 6, 6)), 30, seed=0)
    return learn_kernels(patches, n_maps=4, seed=seed, device="runtime", progress=False,
                         presentation=20 * ms, rest=5 * ms, **kwargs)


def test_runtime_learning_is_reproducible_and_seeded(numpy_codegen):
    first, again, other = _small_run(7), _small_run(7), _small_run(8)
    assert first.spikes.sum() > 0  # the neurons fired, so the weights could change
    assert not np.array_equal(first.weights, first.initial)
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_array_equal(first.spikes, again.spikes)
    assert not np.array_equal(first.weights, other.weights)


def test_adaptive_threshold_counts_the_spikes(numpy_codegen):
    """theta = theta_plus * sum of exp(-(T - t_k) / tau_theta) over each neuron's spikes."""
    tau_theta, theta_plus = 2 * second, 0.05
    run = _small_run(2, neuron={"tau_theta": tau_theta, "theta_plus": theta_plus})
    duration = 30 * 25e-3  # seconds
    upper = theta_plus * run.spikes
    lower = upper * np.exp(-duration / float(tau_theta / second))
    assert run.spikes.sum() > 10
    assert np.all(run.theta <= upper + 1e-12) and np.all(run.theta >= lower - 1e-12)


@pytest.mark.long
def test_standalone_learns_a_repeated_pattern_reproducibly(tmp_path):
    """The kernel becomes the pattern: its inputs potentiated, all others depressed.

    With Hebbian depression off (``gamma_dep = 0``) and no homeostasis, a neuron firing while
    the pattern is shown potentiates the pattern's inputs (0 <= Δt <= 30 ms) and, anti-
    Hebbian, depresses every other input, whose last spike (in the first, all-on sample) lies
    >= 50 ms back. Same seed, same directory: the same weights, without recompiling.
    """
    patches = _pattern_patches(30)
    kwargs = dict(n_maps=12, seed=5, device="cpp_standalone", directory=tmp_path,
                  progress=False, initial_high=0.5, plasticity={"gamma_dep": 0.0},
                  neuron={"dropout": 0.0, "theta_plus": 0.0})
    first = learn_kernels(patches, **kwargs)
    again = learn_kernels(patches, **kwargs)
    np.testing.assert_array_equal(first.weights, again.weights)
    assert 0 < first.initial.mean() < 1  # started from mixed kernels
    learned = first.spikes > 0
    assert learned.sum() >= 8  # kernels with < 2 pattern inputs never fire and keep theirs
    np.testing.assert_array_equal(first.weights[:, learned],
                                  np.repeat(PATTERN[:, None], learned.sum(), axis=1))


@pytest.mark.long
def test_learning_keeps_its_compiled_project_for_new_patches_and_seeds(tmp_path, monkeypatch):
    """Without a directory, the project lives in the cache per network shape: a second call
    with other patches and another seed recompiles none of the code objects."""
    monkeypatch.setenv("BRAINCONV_CACHE", str(tmp_path))
    kwargs = dict(n_maps=4, device="cpp_standalone", progress=False)
    learn_kernels(_pattern_patches(20), seed=1, **kwargs)
    [project] = [path for path in (tmp_path / "learning").iterdir() if path.is_dir()]
    objects = {path: path.stat().st_mtime_ns for path in project.glob("code_objects/*.o")}
    assert objects
    again = learn_kernels(_pattern_patches(20)[::-1].copy(), seed=2, **kwargs)
    assert {path: path.stat().st_mtime_ns for path in project.glob("code_objects/*.o")} \
        == objects
    assert [path for path in (tmp_path / "learning").iterdir() if path.is_dir()] == [project]
    assert again.weights.shape == (9, 4)


# --- shared kernels over whole images ----------------------------------------------------------

#: Two strokes; with every pixel spiking each step (1000 Hz at 1 ms), a potentiation
#: probability of 1 and no depression, learning is deterministic.
STROKE_A = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]], float)
STROKE_B = np.array([[0, 0, 0], [0, 1, 0], [0, 1, 1]], float)
DETERMINISTIC = {"n_maps": 1, "seed": 0, "progress": False, "max_rate": 1000 / second,
                 "neuron": {"dropout": 0.0, "w_scale": 0.5},
                 "plasticity": {"gamma_pot": 1.0, "gamma_adep": 0.0, "gamma_dep": 0.0}}


def _canvas(*placements, side=9):
    """One image with each stroke at its (row, column)."""
    image = np.zeros((1, side, side))
    for stroke, (row, col) in placements:
        image[0, row:row + 3, col:col + 3] = stroke
    return image


def _centre_kernel():
    kernel = np.zeros((1, 3, 3))
    kernel[0, 1, 1] = 1.0  # enough to make a window over a stroke's centre fire
    return kernel


def _learn_shared(images, device="runtime", **kwargs):
    return learn_shared_kernels(images, device=device, initial=_centre_kernel(),
                                **{**DETERMINISTIC, **kwargs}).kernels()[0]


def test_offset_connections_place_each_kernel_entry_over_its_pixel():
    pairs = offset_connections(4, 5, 3, n_maps=2)  # 2 x 3 positions per map
    assert len(pairs) == 9
    pre, post = pairs[5]  # entry (1, 2)
    # neuron 6 + 1 * 3 + 1 = map 1, position (1, 1): its window's (1, 2) pixel is (2, 3)
    assert pre[list(post).index(6 + 1 * 3 + 1)] == 2 * 5 + 3
    assert sorted(post) == list(range(12))  # one synapse per neuron and entry


def test_shared_update_from_two_positions_is_the_sum_of_both(numpy_codegen):
    """One kernel for all positions: a stroke at one position and another far away teach it
    what each teaches alone, together (binary weights: the union)."""
    only_a = _learn_shared(_canvas((STROKE_A, (0, 0))))
    only_b = _learn_shared(_canvas((STROKE_B, (6, 6))))
    both = _learn_shared(_canvas((STROKE_A, (0, 0)), (STROKE_B, (6, 6))))
    assert not np.array_equal(only_a, only_b)
    assert only_a.sum() > 1 and only_b.sum() > 1  # each taught more than the centre
    np.testing.assert_array_equal(both, np.clip(only_a + only_b - _centre_kernel()[0], 0, 1))


def test_a_stroke_at_random_positions_is_learned_as_at_one(numpy_codegen):
    """Translation: the shared kernel learns the same from the stroke wherever it lies (a
    learner with one kernel per position would spread it over positions)."""
    rng = np.random.default_rng(1)
    images = np.concatenate([_canvas((STROKE_A, tuple(rng.integers(1, 6, 2))))
                             for _ in range(4)])
    at_one = _learn_shared(_canvas((STROKE_A, (3, 3))), rest=100 * ms)
    at_random = _learn_shared(images, rest=100 * ms)
    assert at_one.sum() > 1
    np.testing.assert_array_equal(at_random, at_one)


def test_lateral_inhibition_lets_the_first_map_at_a_position_silence_the_others(numpy_codegen):
    """Map 0's kernel holds map 1's, so at every position map 0 reaches the threshold first
    (frozen kernels, no refractoriness, every inky pixel spiking each step): with lateral
    inhibition map 0 fires as alone and map 1 only in ties; without it each fires as alone."""
    frozen = {**DETERMINISTIC, "plasticity": {"gamma_pot": 0.0, "gamma_adep": 0.0,
                                              "gamma_dep": 0.0},
              "neuron": {**DETERMINISTIC["neuron"], "t_ref": 0 * ms, "theta_plus": 0.0}}
    image = _canvas((STROKE_A, (0, 0)), (STROKE_B, (5, 4)))
    kernels = np.concatenate([np.ones((1, 3, 3)), _centre_kernel()])
    alone = [learn_shared_kernels(image, device="runtime", initial=k[None], **frozen).spikes[0]
             for k in kernels]
    both = {wta: learn_shared_kernels(image, device="runtime", initial=kernels,
                                      winner_take_all=wta, **{**frozen, "n_maps": 2}).spikes
            for wta in (False, True)}
    assert alone[1] > 0
    np.testing.assert_array_equal(both[False], alone)
    assert both[True][0] == alone[0]
    assert both[True][1] < alone[1] / 2


def test_shared_learning_rejects_bad_input_before_running():
    with pytest.raises(ParameterError, match=r"lie in \[0, 1\]"):
        learn_shared_kernels(np.full((2, 5, 5), 2.0), device="runtime")
    with pytest.raises(ShapeError, match="at least 3x3"):
        learn_shared_kernels(np.ones((2, 2, 2)), device="runtime")
    with pytest.raises(ParameterError, match=r"initial kernels must have shape \(2, 3, 3\)"):
        learn_shared_kernels(np.ones((2, 5, 5)), n_maps=2, device="runtime",
                             initial=np.full((2, 3, 3), 0.5))
    with pytest.raises(ParameterError, match=r"max_rate \* dt = 2.0 > 1"):
        learn_shared_kernels(np.ones((2, 5, 5)), device="runtime", max_rate=2000 / second)
    with pytest.raises(ParameterError, match="gamma_pot"):
        learn_shared_kernels(np.ones((2, 5, 5)), device="runtime",
                             plasticity={"gamma_pot": 1.5})


@pytest.mark.long
@pytest.mark.standalone
def test_shared_learning_in_cpp_standalone_equals_runtime(standalone_dir):
    """One map, and two maps competing through lateral inhibition (map 0 holds map 1's
    kernel): the same kernels and spike counts on both devices."""
    images = _canvas((STROKE_A, (0, 0)), (STROKE_B, (6, 6)))
    two_maps = {**DETERMINISTIC, "n_maps": 2,
                "initial": np.concatenate([np.ones((1, 3, 3)), _centre_kernel()])}
    import brian2

    previous = brian2.prefs.codegen.target
    brian2.prefs.codegen.target = "numpy"
    try:
        runtime = _learn_shared(images)
        runtime_two = learn_shared_kernels(images, device="runtime", **two_maps)
    finally:
        brian2.prefs.codegen.target = previous
    np.testing.assert_array_equal(_learn_shared(images, device="cpp_standalone"), runtime)
    standalone_two = learn_shared_kernels(images, device="cpp_standalone", **two_maps)
    np.testing.assert_array_equal(standalone_two.weights, runtime_two.weights)
    np.testing.assert_array_equal(standalone_two.spikes, runtime_two.spikes)
    assert runtime_two.spikes[1] < runtime_two.spikes[0]  # the inhibition acted
