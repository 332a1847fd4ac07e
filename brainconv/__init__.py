"""brainconv: convert trained ANNs into Brian2 spiking networks and measure the trade-offs.

The names below are the public API; each is imported from its module on first use, so
``import brainconv`` (and ``brainconv --help``) stays fast and does not import Brian2::

    import brainconv as bc

    ann = bc.train_ann(x_train, y_train, hidden=(500,), seed=0)
    spec = bc.convert(ann, model="if_soft", data=x_train)
    ds = bc.simulate(spec, x_test, y_test, steps=100, device="cpp_standalone")
    print(bc.summary(ds, target=0.9))

Everything else is reachable through its module (``brainconv.build``, ``brainconv.devices``,
...), whose ``__all__`` says what it offers. The modules behind the main verbs are named for
what they hold (``conversion``, ``simulation``, ``comparison``), so that ``brainconv.convert``
is always the function, never a module.
"""

__version__ = "0.1.0"

#: Public name -> module that defines it (relative to this package).
_API = {
    # ANNs and data
    "ANN": "ann", "train_ann": "ann", "load_ann": "ann", "save_ann": "ann",
    "from_torch": "torch_import", "load_dataset": "data",
    # models
    "get_model": "equations", "define_model": "equations", "define_synapse_model": "equations", "load_model_file": "equations",
    "register_model": "equations", "get_synapse_model": "equations",
    "get_plastic_synapse_model": "equations",
    # conversion and the network description
    "convert": "conversion", "normalize": "conversion", "spike_norm": "conversion",
    "NetworkSpec": "spec", "LayerSpec": "spec",
    # simulation
    "simulate": "simulation", "simulate_reference": "reference", "get_device": "devices",
    "register_device": "devices",
    # spike-time training
    "train_bats": "spiketime", "train_snn": "surrogate",
    # results and analysis
    "save_results": "results", "load_results": "results", "accuracy_over_time": "analysis",
    "time_to_accuracy": "analysis", "spikes_per_timestep": "analysis", "summary": "analysis",
    "plot_accuracy": "analysis", "plot_raster": "spiketrains",
    # comparisons, reports, sweeps
    "compare": "comparison", "ranking_table": "comparison", "Paradigm": "pipeline",
    "run_paradigm": "pipeline", "write_report": "report", "run_sweep": "sweep",
    # errors
    "BrainconvError": "errors", "ModelError": "errors", "ShapeError": "errors",
    "ParameterError": "errors", "DataError": "errors", "SimulationError": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name):
    """Import a public name from its module on first use (PEP 562)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'brainconv' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_API))


def _source_tree_equations():
    """Make ``brainconv.equations`` importable from a source checkout.

    ``equations/`` sits beside ``brainconv/`` in the repository and is installed as
    ``brainconv.equations`` (setup.py's ``package_dir``). When the repository root comes first
    on ``sys.path`` (tests or scripts run from it after a plain ``pip install .``), this
    ``brainconv/`` shadows the installed one and has no ``equations`` inside. A last-resort
    import finder then maps ``brainconv.equations`` to the checkout's folder; it is consulted
    only when no other finder (an installed or editable package) knows the name.
    """
    import importlib.abc
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.join(os.path.dirname(here), "equations")
    if os.path.isdir(os.path.join(here, "equations")) or not os.path.isfile(
            os.path.join(checkout, "__init__.py")):
        return  # an installed package (equations/ inside it), or no checkout beside it

    class CheckoutEquations(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "brainconv.equations":
                return None
            return importlib.util.spec_from_file_location(
                name, os.path.join(checkout, "__init__.py"),
                submodule_search_locations=[checkout])

    # First, not last: an editable install of another checkout must not pair this checkout's
    # brainconv/ with that one's equations/.
    if not any(type(finder).__name__ == "CheckoutEquations" for finder in sys.meta_path):
        sys.meta_path.insert(0, CheckoutEquations())


_source_tree_equations()
