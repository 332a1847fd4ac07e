"""Exchange with NIR, the Neuromorphic Intermediate Representation (the ``[nir]`` extra).

:func:`to_nir` writes a network of the grid paradigms NIR can state, :func:`from_nir` reads a
feed-forward graph that other frameworks wrote (:mod:`.graph` for the semantics);
``brainconv export-nir`` and ``brainconv run --nir FILE`` on the command line
(:mod:`.commands`).
"""

from .graph import EXPORTERS, IMPORTERS, from_nir, to_nir

__all__ = ["EXPORTERS", "IMPORTERS", "from_nir", "to_nir"]
