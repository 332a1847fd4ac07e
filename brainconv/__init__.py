"""brainconv: convert trained ANNs into Brian2 spiking networks and measure the trade-offs."""

__version__ = "0.1.0"


def _source_tree_equations():
    """Make ``brainconv.equations`` importable from a source checkout.

    ``equations/`` sits beside ``brainconv/`` in the repository and is installed as
    ``brainconv.equations`` (setup.py's ``package_dir``). When the repository root comes first
    on ``sys.path`` (tests or scripts run from it after a plain ``pip install .``), this
    ``brainconv/`` shadows the installed one and has no ``equations`` inside: point the
    subpackage at the checkout's folder instead.
    """
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    if os.path.isdir(os.path.join(here, "equations")):
        return  # an installed package: equations/ is inside it
    checkout = os.path.join(os.path.dirname(here), "equations")
    if os.path.isfile(os.path.join(checkout, "__init__.py")):
        __path__.append(os.path.dirname(here))  # noqa: F821 (the package's own __path__)


_source_tree_equations()
