"""Sphinx configuration for the brainconv documentation.

Build (warnings are errors, as CI does through ``tests/test_docs.py``)::

    python -m sphinx -W -b html docs /tmp/docs-out

Choices:

- The guide pages are Markdown read by MyST-parser (``myst_parser``): they moved out of the
  README, which is Markdown, and keeping them Markdown keeps every table, command and figure
  byte for byte instead of hand-converting 1,000 lines to reStructuredText. ``index.rst``,
  ``api.rst`` and ``changelog.rst`` are reStructuredText because autodoc's directives are
  native there.
- Docstrings are read by ``sphinx.ext.napoleon`` (it ships with Sphinx, so the ``test`` extra
  needs no numpydoc). brainconv's docstrings mix numpy-style sections with free prose;
  napoleon renders both without warnings, numpydoc warns on the free-form ones.
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
    "sphinx.ext.viewcode",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: $...$ is left alone (the guides write prices and shell variables), tables and
# definition lists as in GitHub Markdown; headings get anchors for links between pages.
myst_enable_extensions = ["deflist"]
myst_heading_anchors = 3

# autodoc: members in source order; optional dependencies that a docs build may lack are
# mocked (torch is the optional [torch] extra; dask_jobqueue is never a dependency).
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports = ["torch", "dask_jobqueue"]
autodoc_typehints = "signature"

napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

# Cross-references that cannot resolve (numpy, xarray and Brian2 types named in signatures)
# are not warnings unless nitpicky is on.
nitpicky = False

html_theme = "alabaster"
html_title = "brainconv"
html_static_path = []
numpydoc_show_class_members = False
