"""A minimal hand-written C++ simulator of brainconv's soft-reset IF MLPs: the floor.

    python experiments/benchmarks/handwritten_cpp.py [--samples 10000] [--steps 100]
        [--workloads 784-500-10 ...] [--precision float32|float64]

The same work as a converted network on the timestep grid (``if_soft``, dense layers): the
first layer's constant current ``x @ W0 + b0`` from one matrix product per sample (rows of
``W0`` added for the non-zero pixels), then per step and layer ``v += input``, a spike where
``v >= theta`` and ``v -= theta``, and each spike adding its row of the next layer's weights
(same-step delivery, brainconv's schedule); the output layer's spikes are counted per class.
One thread, samples one after another, compiled once with ``g++ -O3 -march=native``. Written
for this benchmark only (event-driven rows as brainconv's pathway template, no Brian2).

:func:`run_handwritten` runs a :class:`~brainconv.spec.NetworkSpec` on it;
``scaling_speed.py`` puts its seconds beside brainconv's and numpy's. Run alone, this script
prints its seconds and its agreement with the float64 numpy reference per workload.
"""

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SOURCE = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

template <typename T>
static std::vector<T> load(const std::string &path, size_t n) {
    std::vector<T> data(n);
    std::ifstream file(path, std::ios::binary);
    file.read(reinterpret_cast<char *>(data.data()), n * sizeof(T));
    if (!file) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); std::exit(2); }
    return data;
}

template <typename T>
static int simulate(const std::string &dir, long n, long steps, const std::vector<long> &sizes,
                    const std::vector<T> &thresholds) {
    const size_t layers = sizes.size() - 1;
    std::vector<std::vector<T>> W(layers), b(layers), v(layers);
    for (size_t l = 0; l < layers; ++l) {
        W[l] = load<T>(dir + "/W" + std::to_string(l) + ".bin", sizes[l] * sizes[l + 1]);
        b[l] = load<T>(dir + "/b" + std::to_string(l) + ".bin", sizes[l + 1]);
        v[l].resize(sizes[l + 1]);
    }
    std::vector<T> x = load<T>(dir + "/x.bin", n * sizes[0]);
    const long classes = sizes[layers];
    std::vector<int> counts(n * classes, 0);
    std::vector<T> current(sizes[1]);
    std::vector<std::vector<int>> spikes(layers);
    for (size_t l = 0; l < layers; ++l) spikes[l].reserve(sizes[l + 1]);
    auto start = std::chrono::steady_clock::now();
    for (long s = 0; s < n; ++s) {
        // One matrix-vector product: the first layer's constant current x @ W0 + b0.
        T *c = current.data();
        for (long j = 0; j < sizes[1]; ++j) c[j] = 0;
        const T *xs = &x[s * sizes[0]];
        for (long i = 0; i < sizes[0]; ++i) {
            if (xs[i] == 0) continue;
            const T xi = xs[i];
            const T *row = &W[0][i * sizes[1]];
            for (long j = 0; j < sizes[1]; ++j) c[j] += xi * row[j];
        }
        for (long j = 0; j < sizes[1]; ++j) c[j] += b[0][j];
        for (size_t l = 0; l < layers; ++l)
            for (auto &value : v[l]) value = 0;
        int *out = &counts[s * classes];
        for (long t = 0; t < steps; ++t) {
            for (size_t l = 0; l < layers; ++l) {
                T *vl = v[l].data();
                const long size = sizes[l + 1];
                if (l == 0) {
                    for (long j = 0; j < size; ++j) vl[j] += c[j];
                } else {
                    const T *bias = b[l].data();
                    for (long j = 0; j < size; ++j) vl[j] += bias[j];
                    for (int i : spikes[l - 1]) {  // each spike adds its row of weights
                        const T *row = &W[l][static_cast<long>(i) * size];
                        for (long j = 0; j < size; ++j) vl[j] += row[j];
                    }
                }
                // A branch per neuron and a spike list: at a few percent firing the branch
                // is predicted well (a branchless list was not faster here).
                std::vector<int> &fired = spikes[l];
                fired.clear();
                const T theta = thresholds[l];
                for (long j = 0; j < size; ++j)
                    if (vl[j] >= theta) { vl[j] -= theta; fired.push_back(static_cast<int>(j)); }
            }
            for (int j : spikes[layers - 1]) out[j] += 1;
        }
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                         .count();
    std::ofstream(dir + "/counts.bin", std::ios::binary)
        .write(reinterpret_cast<const char *>(counts.data()), counts.size() * sizeof(int));
    std::printf("%.6f\n", seconds);
    return 0;
}

int main(int argc, char **argv) {
    // handwritten DIR PRECISION(32|64) N STEPS n_layers+1 sizes... thresholds...
    if (argc < 6) { std::fprintf(stderr, "usage: see handwritten_cpp.py\n"); return 2; }
    const std::string dir = argv[1];
    const int precision = std::atoi(argv[2]);
    const long n = std::atol(argv[3]), steps = std::atol(argv[4]);
    const int count = std::atoi(argv[5]);
    std::vector<long> sizes;
    for (int k = 0; k < count; ++k) sizes.push_back(std::atol(argv[6 + k]));
    std::vector<double> thresholds;
    for (int k = 0; k < count - 1; ++k) thresholds.push_back(std::atof(argv[6 + count + k]));
    if (precision == 32)
        return simulate<float>(dir, n, steps, sizes,
                               std::vector<float>(thresholds.begin(), thresholds.end()));
    return simulate<double>(dir, n, steps, sizes, thresholds);
}
"""


def binary(cache=None):
    """The compiled simulator (built once per source, in ``cache`` or a temporary folder)."""
    digest = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    folder = Path(cache or tempfile.gettempdir()) / f"brainconv-handwritten-{digest}"
    executable = folder / "handwritten"
    if not executable.exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "handwritten.cpp").write_text(SOURCE)
        partial = folder / "handwritten.partial"
        subprocess.run(["g++", "-O3", "-march=native", "-std=c++17", "-o", str(partial),
                        str(folder / "handwritten.cpp")], check=True)
        partial.replace(executable)  # atomic: a half-built binary is never run
    return executable


def run_handwritten(spec, x, steps, precision="float32"):
    """Simulate ``spec`` (dense ``if_soft`` layers) on ``x``; return (seconds, counts).

    ``seconds`` is the simulation loop alone, timed inside the binary; ``counts`` are the
    output spikes per sample and class over all steps.
    """
    if any(layer.model != "if_soft" or not isinstance(layer.weights, np.ndarray)
           for layer in spec.layers):
        raise ValueError("the hand-written simulator runs dense if_soft MLPs only, got "
                         f"{[layer.model for layer in spec.layers]}")
    dtype = {"float32": np.float32, "float64": np.float64}[precision]
    sizes = [spec.input_size, *spec.layer_sizes]
    with tempfile.TemporaryDirectory() as folder:
        np.ascontiguousarray(x, dtype).tofile(f"{folder}/x.bin")
        for index, layer in enumerate(spec.layers):
            np.ascontiguousarray(layer.weights, dtype).tofile(f"{folder}/W{index}.bin")
            np.ascontiguousarray(layer.bias, dtype).tofile(f"{folder}/b{index}.bin")
        done = subprocess.run(
            [str(binary()), folder, "32" if precision == "float32" else "64", str(len(x)),
             str(steps), str(len(sizes)), *map(str, sizes),
             *(repr(float(layer.threshold)) for layer in spec.layers)],
            capture_output=True, text=True, check=True)
        counts = np.fromfile(f"{folder}/counts.bin", dtype=np.int32).reshape(len(x), -1)
    return float(done.stdout.strip()), counts


def main():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brainconv.conversion import convert
    from brainconv.reference import simulate_reference
    from common import WORKLOADS, mnist, workload_ann

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--precision", choices=("float32", "float64"), default="float32")
    args = parser.parse_args()
    x_train, _ = mnist("train")
    x, y = mnist("test")
    x, y = x[:args.samples], y[:args.samples]
    print(f"{'workload':20s} {'seconds':>8s} {'accuracy':>9s} {'= numpy f64 (500)':>18s}")
    for name in args.workloads:
        spec = convert(workload_ann(name), data=x_train[:10000], percentile=99.9)
        seconds, counts = run_handwritten(spec, x, args.steps, args.precision)
        reference = simulate_reference(spec, x[:500], args.steps)["output_spikes"].sum(axis=1)
        same = np.mean(np.all(counts[:500] == reference, axis=1))
        accuracy = np.mean(np.argmax(counts, axis=1) == y)
        print(f"{name:20s} {seconds:8.2f} {100 * accuracy:8.2f}% {100 * same:17.1f}%")
    print(f"{len(x)} MNIST test images x {args.steps} steps, {args.precision}, one thread; "
          "= numpy: share of the first 500 images whose output spike counts equal the float64 "
          "numpy reference's")


if __name__ == "__main__":
    main()
