from setuptools import setup

setup(
    name="brainconv",
    version="0.1.0",
    description="Convert trained ANNs into Brian2 spiking networks: paradigms, compiled "
    "batch simulation, accuracy/latency/spike trade-offs",
    python_requires=">=3.10",
    # equations/ sits at the top level of the repository but ships as brainconv.equations.
    packages=["brainconv", "brainconv.ann", "brainconv.conversion", "brainconv.devices", "brainconv.equations", "brainconv.learning", "brainconv.nir", "brainconv.spiketime", "brainconv.surrogate"],
    package_dir={"brainconv": "brainconv", "brainconv.equations": "equations"},
    # Code-object templates: the branchless threshold and the weight-row pathway.
    package_data={"brainconv": ["templates/*.cpp", "templates/*.pyx", "templates/*.py_"]},
    install_requires=[
        "brian2==2.9.0",
        "numpy>=1.26,<2.4",  # brian2 2.9.0 uses ndarray.ptp, removed in numpy 2.4
        "scipy>=1.11",
        "xarray>=2024.1",
        "matplotlib>=3.8",
        "scikit-learn>=1.3",  # embedded default dataset (8x8 digits)
        "numba>=0.60",  # the compiled BATS trainer (brainconv.spiketime.compiled)
        "cython>=3.0",  # brian2's runtime code generation target
        "dask[distributed]>=2024.1",  # `brainconv sweep`: points on a LocalCluster or a cluster
        "tqdm>=4.60",  # the sweep's progress bar over points (counts reused and failed ones)
    ],
    extras_require={
        # sphinx, numpydoc and myst-parser: tests/test_docs.py builds docs/ with warnings as
        # errors; pytest-xdist runs the suite on every CPU (pyproject.toml's addopts)
        "test": ["pytest>=7", "pytest-xdist>=3.5", "sphinx>=7", "numpydoc>=1.6",
                 "myst-parser>=3"],
        "torch": ["torch==2.13.0"],
        # NIR exchange (brainconv.nir): the nir package reads and writes HDF5 through h5py
        "nir": ["nir>=1.0.8", "h5py>=3"],
        # another framework that reads brainconv's NIR graphs (tests/test_nir.py,
        # experiments/nir/snntorch_mnist.py); needs the torch extra
        "interop": ["snntorch==1.0.0", "nirtorch==2.6"],
        # brian2cuda itself must be installed with --no-deps (it pins an older brian2):
        # pip install --no-deps brian2cuda==1.0a7
        "gpu": ["nvidia-curand>=10.4,<10.5"],
    },
    entry_points={"console_scripts": ["brainconv=brainconv.cli:console"]},
)
