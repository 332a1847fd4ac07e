"""Sphinx configuration for the brainconv documentation.

Build (warnings are errors, as CI does through ``tests/test_docs.py``)::

    python -m sphinx -W -b html docs /tmp/docs-out

Choices:

- The guide pages are Markdown read by MyST-parser (``myst_parser``): they moved out of the
  README, which is Markdown, and keeping them Markdown keeps every table, command and figure
  byte for byte instead of hand-converting 1,000 lines to reStructuredText. ``index.rst``,
  ``api.rst`` and ``changelog.rst`` are reStructuredText because autodoc's directives are
  native there.
- Docstrings are numpy style and are read by numpydoc (the Brian2 and Nengo convention). Both
  numpydoc and ``sphinx.ext.napoleon`` were tried: napoleon turns every parameter type into a
  cross-reference, and the names that brainconv re-exports (``brainconv.equations.NeuronModel``
  beside ``brainconv.equations.model.NeuronModel``, ``ANN.layer_sizes`` beside
  ``NetworkSpec.layer_sizes``) then warn as ambiguous, and a free paragraph inside a Parameters
  section (``brainconv.conversion.convert``) is a docutils error; numpydoc builds without a
  warning. ``numpydoc_show_class_members = False``: autodoc's ``members`` already lists them;
  numpydoc's own member tables would list every class member twice.
- The theme is alabaster, which ships with Sphinx.
"""

import os
import sys

# Document the checkout this file sits in, not whatever brainconv is installed: the
# repository root first on sys.path (brainconv/__init__.py maps brainconv.equations to the
# checkout's equations/ folder).
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

project = "brainconv"
author = "brainconv contributors"
copyright = "2026, brainconv contributors"
release = "0.1.0"
version = "0.1"

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx.ext.viewcode",  # [source] links to the highlighted module code
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: no dollar math (the guides write shell variables such as $BRAINCONV_CACHE); definition
# lists; headings down to level 3 get anchors, so pages link to sections (page.md#section).
myst_enable_extensions = ["deflist"]
myst_heading_anchors = 3

# autodoc: members in source order; optional dependencies that a docs build may lack are
# mocked (torch is the optional [torch] extra; dask_jobqueue is never a dependency).
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports = ["torch", "dask_jobqueue"]
autodoc_typehints = "signature"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Cross-references that cannot resolve (numpy, xarray and Brian2 types named in signatures)
# are not warnings unless nitpicky is on.
nitpicky = False

html_theme = "alabaster"
html_title = "brainconv"
html_static_path = []
