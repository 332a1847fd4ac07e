"""Exchange with NIR, the Neuromorphic Intermediate Representation (the ``[nir]`` extra).

:func:`to_nir` writes a network whose dynamics NIR can state (grid IF/LIF, BATS CuBa-LIF,
Hunsberger's continuous-time LIF with its synapses), :func:`from_nir` reads a
feed-forward graph that other frameworks wrote (:mod:`.graph` for the semantics);
``brainconv export-nir`` and ``brainconv run --nir FILE`` on the command line
(:mod:`brainconv.cli`).
"""

from .graph import (EXPORTERS, IMPORTERS, MODEL_IMPORTERS, Exporter, from_nir, nir_provenance,
                    to_nir, write_nir)

__all__ = ["EXPORTERS", "Exporter", "IMPORTERS", "MODEL_IMPORTERS", "from_nir", "nir_provenance",
           "to_nir", "write_nir"]
