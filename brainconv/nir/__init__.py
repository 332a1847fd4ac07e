"""Exchange with NIR, the Neuromorphic Intermediate Representation (the ``[nir]`` extra).

:func:`to_nir` writes a network of the grid paradigms NIR can state, :func:`from_nir` reads a
feed-forward graph that other frameworks wrote (:mod:`.graph` for the semantics);
``brainconv export-nir`` and ``brainconv run --nir FILE`` on the command line
(:mod:`brainconv.cli`).
"""

from .graph import EXPORTERS, IMPORTERS, from_nir, nir_provenance, to_nir, write_nir

__all__ = ["EXPORTERS", "IMPORTERS", "from_nir", "nir_provenance", "to_nir", "write_nir"]
