"""brainconv: convert trained ANNs into Brian2 spiking networks and measure the trade-offs."""

__version__ = "0.1.0"


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
