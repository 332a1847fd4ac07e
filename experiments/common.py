"""Shared set-up of the experiments and benchmarks: data location and the trained MNIST ANN."""

import os
import time
from pathlib import Path

from brainconv.ann import load_ann, save_ann, train_ann
from brainconv.data import load_dataset

REPO = Path(__file__).resolve().parent.parent
#: $BRAINCONV_DATA, else the shared data folder beside the repository.
DATA_ROOT = Path(os.environ.get("BRAINCONV_DATA") or REPO.parent / "shared" / "data")


def mnist(split, dataset="mnist"):
    """Load a split of MNIST (or Fashion-MNIST) from :data:`DATA_ROOT`."""
    return load_dataset(dataset, split, DATA_ROOT / dataset)


def trained_ann(path, dataset="mnist", seed=0, hidden=(500,), epochs=20):
    """Load the ANN saved at ``path``, or train a ReLU MLP (default 784-500-10) and save it."""
    path = Path(path)
    if path.exists():
        print(f"using the trained ANN in {path}", flush=True)
        return load_ann(path)
    x, y = mnist("train", dataset)
    sizes = "-".join(str(n) for n in (784, *hidden, 10))
    print(f"training {sizes} on {dataset} for {epochs} epochs (seed {seed})", flush=True)
    start = time.perf_counter()
    ann = train_ann(x, y, hidden=hidden, epochs=epochs, seed=seed, data_name=dataset,
                    progress=lambda e, n, loss, acc: print(f"  epoch {e}/{n}: loss {loss:.4f}",
                                                           flush=True))
    print(f"trained in {time.perf_counter() - start:.0f} s", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_ann(ann, path)
    return ann


#: MNIST MLP workloads of the speed benchmarks: name -> (ANN file, hidden layers, training
#: epochs when the file is missing).
WORKLOADS = {
    "784-500-10": ("ann_mnist_seed0.npz", (500,), 20),
    "784-4000-10": ("ann_mnist_4000.npz", (4000,), 4),
    "784-500-500-500-10": ("ann_mnist_deep.npz", (500, 500, 500), 6),
}


def workload_ann(name, ann_dir=REPO / "experiments" / "results"):
    """The trained ANN of workload ``name`` (:data:`WORKLOADS`), trained and saved if missing."""
    filename, hidden, epochs = WORKLOADS[name]
    return trained_ann(Path(ann_dir) / filename, hidden=hidden, epochs=epochs)
