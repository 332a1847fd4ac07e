"""Do STDP kernels beat random ones? Learned against random binary 3x3 kernels over seeds.

    python experiments/srinivasan/stdp_vs_random.py [--seeds 0 1 2 3 4] [--labels 1000 60000]
    python experiments/srinivasan/stdp_vs_random.py --learner shared [--digits 1000] [--scale 0.01]

For each seed: 36 binary kernels learned by stochastic STDP on cpp_standalone — with
``--learner patches`` (``brainconv.learning.learn_kernels``) on one inky 3x3 patch from each of
10,000 training digits (the patches drawn with the seed), with ``--learner shared``
(``brainconv.learning.learn_shared_kernels``) on the whole first ``--digits`` training digits,
each kernel shared by all positions, lateral inhibition across maps (``--no-winner-take-all``
turns it off) and the switching probabilities and threshold step scaled by ``--scale`` (a map
fires at tens of positions per digit where a patch neuron fires at one; see
``SHARED_CONSTANTS``) — and 36 random binary kernels with **the same number of ones per
kernel** (positions drawn with the seed), so that a difference is not a difference in how much
ink a kernel sums.

Readout that exposes kernel quality: the kernels convolve the 28x28 image (weights kernel / 9,
no padding, 36 maps of 26x26), each map position a soft-reset IF neuron on a constant current
normalised by the 99.9th percentile of the maps on 10,000 training digits (the conversion's
rule); its spike count over ``--steps`` steps is ``floor(steps * clip(a / lambda, 0, 1))`` (the
closed form of a soft-reset IF neuron on a constant current; checked here against brainconv's
numpy simulator on the first 20 test digits, and printed). Counts summed over 2x2 windows (6,084
features, divided by the steps) feed a linear classifier: ridge regression onto one-hot labels,
``W = (X'X / n + l2 I)^-1 X'Y / n`` with a bias column, solved in closed form (one Gram matrix:
about a minute for 55,000 digits on one core, where an iterative softmax fit took over 15
minutes), trained on the first 1,000 and on the first 55,000 labelled training digits, the
penalty ``l2`` picked from ``L2_GRID`` on the last 5,000 training digits, scored on all 10,000
test digits.

With ``--head-epochs N`` (N > 0) a third readout is the published network itself: the
36C3-2P-128FC-10FC ANN of ``kernels.py`` (the kernels fixed, the 128-10 head trained N epochs
by backprop on all 60,000 training digits, seeded), scored on all 10,000 test digits. Its
soft-reset IF conversion scores within 0.1 point of it (``kernels.py``'s runs), so the ANN
stands for it here at a fraction of the time.

Reports mean ± sample standard deviation over seeds and the paired difference (STDP - random,
same seed) with its 95 % t confidence interval. Every learned kernel set and every score is
cached in ``results/cache/`` by its settings, so an interrupted run resumes. Writes
``results/stdp_vs_random_<learner>.md``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from common import mnist  # noqa: E402
from kernels import feature_layers, kernel_network  # noqa: E402

from brainconv.learning import image_patches, learn_kernels, learn_shared_kernels  # noqa: E402

RESULTS = HERE / "results"
N_MAPS, PATCHES = 36, 10000
#: Ridge penalties tried; the one with the best accuracy on the validation digits is used.
L2_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
#: The last training digits, held out to pick the penalty.
VALIDATION = 5000
#: The placeholder constants (``stochastic_binary_stdp``, ``adaptive_lif``) that ``--scale``
#: multiplies for the shared learner: each map sees every window of the digit, so the kernel
#: gets votes from tens of firing positions per digit and the threshold a step per spike.
SHARED_CONSTANTS = {"plasticity": {"gamma_pot": 0.8, "gamma_adep": 0.3, "gamma_dep": 0.3},
                    "neuron": {"theta_plus": 0.05}}


def learner_text(args):
    if args.learner == "patches":
        return "one 3x3 patch of each of the first 10,000 training digits, one kernel per neuron"
    return (f"the whole first {args.digits:,} training digits, each kernel shared by all "
            f"positions, lateral inhibition across maps {'on' if args.winner_take_all else 'off'}"
            f", switching probabilities and threshold step x {args.scale:g}")


def stdp_kernels(x_train, seed, args):
    """Kernels learned on the first ``args.digits`` digits (cached by learner, its settings,
    seed and count)."""
    if args.learner == "patches":
        name = "stdp_kernels"
    elif args.winner_take_all or args.scale != 1:  # the first runs' names stay valid
        name = f"stdp_shared_wta{int(args.winner_take_all)}_x{args.scale:g}_kernels"
    else:
        name = "stdp_shared_kernels"
    path = RESULTS / "cache" / f"{name}_seed{seed}_p{args.digits}.npy"
    if path.exists():
        return np.load(path)
    if args.learner == "patches":
        patches = image_patches(x_train, args.digits, seed=seed)
        learned = learn_kernels(patches, n_maps=N_MAPS, seed=seed, progress=False)
    else:
        scaled = {group: {k: v * args.scale for k, v in values.items()}
                  for group, values in SHARED_CONSTANTS.items()}
        learned = learn_shared_kernels(x_train[:args.digits], n_maps=N_MAPS, seed=seed,
                                       winner_take_all=args.winner_take_all, progress=True,
                                       **scaled)
    kernels = (learned.kernels() > 0.5).astype(np.float64)  # levels {0, 1}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), kernels)
    path.with_suffix(".tmp.npy").replace(path)
    return kernels


def random_kernels(like, seed):
    """Binary kernels with the same number of ones per kernel as ``like``, random positions."""
    rng = np.random.default_rng([seed, 1])
    out = np.zeros_like(like).reshape(len(like), -1)
    for k, ones in enumerate(like.reshape(len(like), -1).sum(axis=1).astype(int)):
        out[k, rng.permutation(out.shape[1])[:ones]] = 1.0
    return out.reshape(like.shape)


def spike_count_features(kernels, images, scale, steps):
    """2x2-summed spike counts of the soft-reset IF maps (closed form, module docstring)."""
    conv, pool = feature_layers(kernels)
    out = []
    for chunk in np.array_split(images, max(1, len(images) // 2000)):
        rates = np.clip((chunk @ conv) / scale, 0.0, 1.0)
        out.append((np.floor(steps * rates + 1e-9) @ pool * 4).astype(np.float32))
    return np.concatenate(out)


def map_scale(kernels, x_train):
    """The 99.9th percentile of the conv maps' positive values on 10,000 training digits."""
    conv, _ = feature_layers(kernels)
    values = np.asarray(x_train[:10000] @ conv)
    return float(np.percentile(values[values > 0], 99.9))


def check_closed_form(kernels, x_train, x_test, steps):
    """Share of the first 20 test digits' map neurons whose closed-form count equals
    brainconv's numpy simulation of the converted conv layer."""
    import scipy.sparse

    from brainconv.ann import ANN
    from brainconv.conversion import convert
    from brainconv.simulation import run_network

    conv, _ = feature_layers(kernels)
    head = scipy.sparse.csr_matrix(np.zeros((conv.shape[1], 1)))  # a silent output layer
    ann = ANN((conv, head), (np.zeros(conv.shape[1]), np.zeros(1)))
    spec = convert(ann, "if_soft", data=x_train[:10000], percentile=99.9)
    n = conv.shape[1]
    simulated = np.array([run_network(spec, x_test[i:i + 1], steps, device="numpy")
                          ["unit_spike_count"][:n] for i in range(20)])
    rates = np.clip((x_test[:20] @ conv) / map_scale(kernels, x_train), 0.0, 1.0)
    return float(np.mean(np.floor(steps * rates + 1e-9) == simulated))


def fit_ridge(features, labels, validation, validation_labels):
    """Ridge regression onto one-hot labels (with a bias column), in closed form, the penalty
    from :data:`L2_GRID` chosen on the validation digits: ``(weights, bias, penalty)``."""
    x = np.hstack([features.astype(np.float64), np.ones((len(features), 1))])
    gram, moment = x.T @ x / len(x), x.T @ np.eye(10)[labels] / len(x)
    best = None
    for l2 in L2_GRID:
        w = np.linalg.solve(gram + l2 * np.eye(len(gram)), moment)
        right = float(np.mean(np.argmax(validation @ w[:-1] + w[-1], axis=1)
                              == validation_labels))
        if best is None or right > best[0]:
            best = (right, w[:-1], w[-1], l2)
    return best[1:]


def cached(path, kernels, compute):
    """``compute()``'s dict, kept in ``path`` for these kernels (written atomically)."""
    if path.exists():
        entry = json.loads(path.read_text())
        if entry["kernels"] == kernels.tolist():
            return entry
    entry = {"kernels": kernels.tolist(), **compute()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry))
    tmp.replace(path)
    return entry


def network_score(kind, seed, kernels, data, args):
    """Test accuracy of the published network's ANN, its head trained ``args.head_epochs``."""
    x_train, y_train, x_test, y_test = data

    def compute():
        print(f"  {kind} seed {seed}: the 128-10 head, {args.head_epochs} epochs", flush=True)
        ann = kernel_network(kernels, x_train, y_train, args.head_epochs, seed)
        return {"accuracy": float(ann.accuracy(x_test, y_test))}

    key = f"{args.learner}_{kind}_seed{seed}_head{args.head_epochs}"  # + kernels
    return cached(RESULTS / "cache" / f"network_{key}.json", kernels, compute)["accuracy"]


def score(kind, seed, kernels, data, labels_n, args, features=None):
    """Test accuracy of the linear readout and its penalty (cached by the settings);
    ``features``: a dict that keeps each kernel set's features between calls."""
    key = f"{args.learner}_{kind}_seed{seed}_n{labels_n}_steps{args.steps}_ridge"  # + kernels
    entry = cached(RESULTS / "cache" / f"readout_{key}.json", kernels,
                   lambda: ridge_score(kind, seed, kernels, data, labels_n, args, features))
    return entry["accuracy"], entry["l2"]


def ridge_score(kind, seed, kernels, data, labels_n, args, features):
    """The linear readout's test accuracy and penalty."""
    x_train, y_train, x_test, y_test = data
    start = time.perf_counter()
    features = {} if features is None else features
    if (kind, seed) not in features:
        scale = map_scale(kernels, x_train)
        features[kind, seed] = [spike_count_features(kernels, x, scale, args.steps) / args.steps
                                for x in (x_train, x_test)]
    train, test = features[kind, seed]
    end = len(x_train) - VALIDATION
    w, b, l2 = fit_ridge(train[:min(labels_n, end)], y_train[:min(labels_n, end)],
                         train[end:], y_train[end:])
    accuracy = float(np.mean(np.argmax(test @ w + b, axis=1) == y_test))
    print(f"  {kind} seed {seed}, {min(labels_n, end)} labels: {100 * accuracy:.2f} % (penalty "
          f"{l2:g}, {time.perf_counter() - start:.0f} s)", flush=True)
    return {"accuracy": accuracy, "l2": l2}


def paired(stdp, rand):
    """Mean difference and its 95 % t interval (seeds paired)."""
    d = np.asarray(stdp) - np.asarray(rand)
    if len(d) < 2:
        return float(d.mean()), float("nan"), float("nan")
    half = scipy.stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", choices=("patches", "shared"), default="patches",
                        help="STDP on 3x3 patches, or shared kernels over whole digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--labels", type=int, nargs="+", default=[1000, 55000],
                        help="labelled training digits of the readout (at most 55,000: the "
                        "last 5,000 pick the ridge penalty)")
    parser.add_argument("--steps", type=int, default=100, help="IF timesteps of the counts")
    parser.add_argument("--digits", type=int, default=None,
                        help="training digits the STDP run sees (default: 10,000 patches; "
                        "1,000 whole digits for the shared learner)")
    parser.add_argument("--scale", type=float, default=None,
                        help="shared learner: factor on SHARED_CONSTANTS (default 0.01)")
    parser.add_argument("--no-winner-take-all", dest="winner_take_all", action="store_false",
                        help="shared learner: no lateral inhibition across maps")
    parser.add_argument("--head-epochs", type=int, default=0,
                        help="> 0: also score the published 36C3-2P-128FC-10FC network, its "
                        "head trained this many epochs")
    args = parser.parse_args(argv)
    if args.head_epochs < 0:
        parser.error(f"--head-epochs must be >= 0, got {args.head_epochs}")
    shared = args.learner == "shared"
    if not shared and (args.scale is not None or not args.winner_take_all):
        parser.error("--scale and --no-winner-take-all apply to --learner shared only")
    if args.digits is not None and args.digits < 1:
        parser.error(f"--digits must be >= 1, got {args.digits}")
    args.digits = args.digits or (1000 if shared else PATCHES)
    args.scale = (0.01 if shared else 1.0) if args.scale is None else args.scale
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must lie in (0, 1] (it multiplies probabilities), got {args.scale}")
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    data = (x_train, y_train, x_test, y_test)
    kernels = {}
    for seed in args.seeds:
        start = time.perf_counter()
        learned = stdp_kernels(x_train, seed, args)
        kernels[seed] = {"STDP": learned, "random": random_kernels(learned, seed)}
        print(f"seed {seed}: STDP kernels ({time.perf_counter() - start:.0f} s), "
              f"{int(learned.sum())} ones of {learned.size}", flush=True)
    agree = check_closed_form(kernels[args.seeds[0]]["STDP"], x_train, x_test, args.steps)
    print(f"closed-form counts equal to the simulated ones: {100 * agree:.3f} %", flush=True)
    table = {}
    penalties = {}
    for seed in args.seeds:
        for kind in ("STDP", "random"):
            features = {}  # one kernel set's features at a time (1.7 GB)
            for labels_n in args.labels:
                table[labels_n, seed, kind], penalties[labels_n, seed, kind] = score(
                    kind, seed, kernels[seed][kind], data, labels_n, args, features)
            if args.head_epochs:
                table["network", seed, kind] = network_score(kind, seed, kernels[seed][kind],
                                                             data, args)
    write(args, kernels, table, agree, penalties)


def write(args, kernels, table, agree, penalties):
    seeds = args.seeds
    command = (f"python experiments/srinivasan/stdp_vs_random.py --learner {args.learner} --seeds "
               + " ".join(map(str, seeds)) + " --labels " + " ".join(map(str, args.labels))
               + f" --steps {args.steps}")
    if args.learner == "shared":
        command += f" --digits {args.digits} --scale {args.scale:g}" + (
            "" if args.winner_take_all else " --no-winner-take-all")
    readouts = list(args.labels) + (["network"] if args.head_epochs else [])
    if args.head_epochs:
        command += f" --head-epochs {args.head_epochs}"
    ones = [int(kernels[s]["STDP"].sum()) for s in seeds]
    saturated = [int(np.sum(kernels[s]["STDP"].reshape(N_MAPS, -1).sum(axis=1) == 9))
                 for s in seeds]
    lines = [
        "# STDP kernels against random binary kernels (Srinivasan et al. 2020, MNIST)",
        "",
        f"Command: `{command}`",
        "",
        f"Per seed: 36 kernels learned by stochastic STDP ({learner_text(args)}, "
        f"cpp_standalone), and 36 random binary kernels with the same number "
        f"of ones per kernel. Readout: 2x2-summed spike counts of soft-reset IF maps over "
        f"{args.steps} steps (closed form; equal to brainconv's simulation for "
        f"{100 * agree:.3f} % of the map neurons of 20 test digits), a linear classifier "
        f"(ridge regression onto one-hot labels, closed form, the penalty picked on the last "
        f"{VALIDATION:,} training digits), all 10,000 test digits.",
        "",
        f"STDP kernels: ones per seed {ones} (of 324); all-ones kernels per seed {saturated}.",
        "",
        "| readout | STDP % (mean ± sd) | random % (mean ± sd) | STDP - random "
        "(points) | 95 % CI | per seed (STDP / random) |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for readout in readouts:
        stdp = [100 * table[readout, s, "STDP"] for s in seeds]
        rand = [100 * table[readout, s, "random"] for s in seeds]
        mean, low, high = paired(stdp, rand)
        if len(seeds) > 1:
            spread = [f"{np.mean(v):.2f} ± {np.std(v, ddof=1):.2f}" for v in (stdp, rand)]
            interval = f"[{low:+.2f}, {high:+.2f}]"
        else:  # one seed: no spread, no interval
            spread, interval = [f"{v[0]:.2f}" for v in (stdp, rand)], "– (one seed)"
        name = (f"ridge, {readout:,} labelled digits" if readout != "network" else
                f"36C3-2P-128FC-10FC ANN, head {args.head_epochs} epochs on 60,000")
        lines.append(
            f"| {name} | {spread[0]} | {spread[1]} | {mean:+.2f} | {interval} | "
            + ", ".join(f"{a:.2f} / {b:.2f}" for a, b in zip(stdp, rand)) + " |")
    lines += ["", "Ridge penalties picked on the validation digits (labelled digits: STDP / "
              "random per seed): " + "; ".join(
                  f"{n:,}: " + ", ".join(f"{penalties[n, s, 'STDP']:g} / "
                                         f"{penalties[n, s, 'random']:g}" for s in seeds)
                  for n in args.labels)]
    (RESULTS / f"stdp_vs_random_{args.learner}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
