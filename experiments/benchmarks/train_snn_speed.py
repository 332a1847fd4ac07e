"""Benchmark: surrogate-gradient training throughput (brainconv.train_snn), torch on the CPU.

    python experiments/benchmarks/train_snn_speed.py [--samples 2000]

Trains 784-500-10 ``if_soft`` networks on the first MNIST training images for one epoch
(batch 64, float32) at T = 20 and T = 100 steps with each gradient rule (``bptt``: the
fast-sigmoid surrogate through the unrolled steps; ``bptt_checkpoint``: the same with segments of
about sqrt(T) steps recomputed in the backward pass; ``aggregate``: Srinivasan's 1/theta through
the window's totals, no unrolled graph), and prints samples per second of forward + backward +
Adam and the memory the rule's graph keeps, with torch's thread count. Last line:
``samples_per_s=<784-500-10, T=20, bptt, CPU>``.
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import mnist  # noqa: E402

from brainconv.surrogate import train_snn  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args(argv)
    x, y = mnist("train")
    x, y = x[:args.samples], y[:args.samples]
    rows = []
    for rule, surrogate in (("bptt", "fast_sigmoid"), ("bptt_checkpoint", "fast_sigmoid"),
                            ("aggregate", "srinivasan")):
        for steps in (20, 100):
            _, history = train_snn(x, y, steps=steps, hidden=(500,), epochs=1, batch_size=64,
                                   lr=1e-3, seed=0, rule=rule, surrogate=surrogate)
            rows.append((rule, steps, args.samples / float(history["seconds"][0]),
                         history["bptt_bytes"] / 2**20))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print("| network | rule | T | samples/s | graph memory per batch (MiB) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for rule, steps, rate, mib in rows:
        print(f"| 784-500-10 if_soft | {rule} | {steps} | {rate:.0f} | {mib:.2f} |")
    print(f"samples_per_s={rows[0][2]:.0f}")


if __name__ == "__main__":
    main()
