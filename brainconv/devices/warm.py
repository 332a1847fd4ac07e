"""Warm runs: a compiled ``cpp_standalone`` project run from any process without Brian2.

When :class:`~brainconv.devices.cpp_standalone.StandaloneProject` builds a ``cpp_standalone``
project it writes :data:`MANIFEST_NAME` into the project folder: the command-line names, dtypes
and shapes of the run_args, the result files :func:`.collect.collect_results` reads, the run
command and environment, and a fingerprint of the code it was generated from. A later
run writes its run_args files, runs the binary and reads the result files itself
(:func:`run_warm`): no import of Brian2 (and sympy), no rebuilt network, no md5 of every input,
no read-back of every array.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..cache import FileLock, atomic_write, digest
from ..equations import resolve_model
from ..errors import SimulationError
from ..spec import pathway_synapse, pathway_unit
from . import stage
from .binary import InterruptFlag, shape_mismatch

__all__ = ["MANIFEST_NAME", "MANIFEST_VERSION", "code_fingerprint", "read_manifest", "run_warm",
           "write_manifest"]

#: Version of the manifest format; a manifest of another version is ignored (the project is
#: then run the Brian2 way, which writes a new manifest).
MANIFEST_VERSION = 3  # 2: run_args entries have units, a checksum; 3: parameters
MANIFEST_NAME = "brainconv_manifest.json"


def write_manifest(project, spec):
    """Write the manifest of a just-built cpp_standalone ``project`` (atomically)."""
    import brian2

    from .collect import result_variables, run_layout

    device, built = brian2.get_device(), project.built
    owners = {("current", index): (current, "values")
              for index, current in enumerate(built.currents)}
    owners.update({("weights", index): (pathway, "w")
                   for index, pathway in enumerate(built.synapses, start=1)})
    owners.update({key: (built.groups[key[1]], key[2]) for key in project.value_shapes
                   if key[0] == "parameter"})  # SI values, on the command line
    run_args = []
    for key, shape in project.value_shapes.items():
        owner, variable = owners[key]
        unit = pathway_unit(spec, key[1]) if key[0] == "weights" else None
        dtype = owner.values.dtype if variable == "values" else owner.variables[variable].dtype
        run_args.append({"key": list(key), "name": f"{owner.name}.{variable}",
                         "dtype": np.dtype(dtype).str, "shape": list(shape), "unit": unit,
                         "scale": float(getattr(brian2, unit)) if unit else 1.0})
    results = {name: {"file": device.get_array_filename(variable),
                      "dtype": np.dtype(variable.dtype).str,
                      "size": None if variable.dynamic else int(variable.size)}
               for name, variable in result_variables(built, spec).items()}
    run_cmd = brian2.prefs.devices.cpp_standalone.run_cmd_unix
    manifest = {
        "version": MANIFEST_VERSION, "key": project.key, "code": code_fingerprint(spec),
        "run_cmd": [run_cmd] if isinstance(run_cmd, str) else list(run_cmd),
        "environment": {**brian2.prefs.devices.cpp_standalone.run_environment_variables,
                        **device.run_environment_variables},
        "layout": run_layout(built), "run_args": run_args, "results": results}
    manifest["checksum"] = _checksum(manifest)
    atomic_write(project.directory / MANIFEST_NAME,
                 lambda path: Path(path).write_text(json.dumps(manifest, indent=1)))


def code_fingerprint(spec):
    """Digest of what the project's code is generated from besides its layout key.

    brainconv's sources, subpackages included (an edited checkout), and the definitions of
    the layers' neuron and synapse models (a user's model file edited under the same model
    name): the Brian2 path regenerates the code and make recompiles what changed, but a warm
    run would run the old binary, so it trusts a manifest only with the same fingerprint.
    """
    from .. import equations

    hasher = hashlib.sha256()
    package = Path(__file__).parent.parent  # brainconv/
    for path in sorted([*package.rglob("*.py"), *package.glob("templates/*"),
                        *Path(equations.__file__).parent.glob("*.py")]):
        hasher.update("/".join(path.parts[-2:]).encode() + path.read_bytes())
    for index, layer in enumerate(spec.layers):
        for model in (resolve_model(layer.model, layer.parameters),
                      pathway_synapse(spec, index)[0]):
            hasher.update(repr({field.name: getattr(model, field.name)
                                for field in dataclasses.fields(model)
                                if not callable(getattr(model, field.name))}).encode())
    return hasher.hexdigest()


def _checksum(manifest):
    """Digest of a manifest's content without its ``checksum`` entry: a manifest edited or
    damaged after it was written is not trusted."""
    return digest(json.dumps({k: v for k, v in manifest.items() if k != "checksum"},
                             sort_keys=True))


def _fits_spec(manifest, spec):
    """True where every run_args entry of ``manifest`` is what ``spec`` needs: the weight unit
    of its pathway and a floating-point dtype (the values are written in that dtype)."""
    for entry in manifest["run_args"]:
        kind, index = entry["key"][:2]
        unit = pathway_unit(spec, index) if kind == "weights" else None
        numeric = "fiu" if kind == "parameter" else "f"  # an integer parameter (k) stays one
        if entry.get("unit") != unit or np.dtype(entry["dtype"]).kind not in numeric:
            return False
    return True


class _StaleManifest(Exception):
    """The manifest does not fit this run or the project's output: use the Brian2 path."""


def read_manifest(directory, key, spec):
    """The manifest of the project in ``directory`` built for layout ``key`` from the code
    ``spec`` would generate now, or None."""
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if (not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION
            or manifest.get("key") != key or not (directory / "main").is_file()
            or manifest.get("checksum") != _checksum(manifest)
            or manifest.get("code") != code_fingerprint(spec)):
        return None
    try:
        return manifest if _fits_spec(manifest, spec) else None
    except (KeyError, TypeError, ValueError):
        return None


def run_warm(device, spec, currents, batch_size, directory, key, notify, progress, repair=True):
    """Run the compiled project in ``directory`` from its manifest, without Brian2.

    The project simulates ``n_batches`` batches (its layout); longer inputs are cut into shares
    of that many batches, whose binaries run side by side, each with its own run_args and
    results folder. Samples are independent, so the merged results equal one long run's.

    Parameters
    ----------
    device : Device
        The backend whose project this is (its direct pathways shape the run_args).
    spec, currents, batch_size
        As :meth:`brainconv.devices.Device.run`.
    directory : Path
        The project folder.
    key : str
        The project's layout key (:meth:`StandaloneProject.layout_key`).
    notify : callable or None
        Told when a damaged binary is deleted (default ``print``).
    progress : bool
        The first binary prints samples done and an ETA to stderr.
    repair : bool
        A binary that fails to run is deleted (and None returned), not reported.

    Returns
    -------
    RawResults or None
        The results of :func:`.collect.collect_results`, or None where the project has no
        valid manifest for this run, or (``repair``) its binary fails: the caller then takes
        the Brian2 path, which rebuilds what is missing.
    """
    from ..build import layer_values
    from .collect import collect_results, merge_results

    interrupted = InterruptFlag()
    written = []
    with interrupted, FileLock(directory):
        manifest = read_manifest(directory, key, spec)
        if manifest is None:
            return None
        try:
            share = manifest["layout"]["n_batches"] * batch_size
            starts = range(0, len(currents), share)
            arguments = []
            for number, first in enumerate(starts):
                with stage("inputs and weights for the run"):
                    values = layer_values(spec, currents[first:first + share], batch_size,
                                          device, quantities=False,
                                          n_batches=manifest["layout"]["n_batches"])
                with stage("writing run_args"):
                    arguments.append(_write_run_args(spec, values, manifest, directory, key,
                                                     number, written))
            results = [directory / "results" / str(number) for number in range(len(starts))]
            failure = _run_binaries(manifest, directory, results, arguments, len(currents),
                                    progress)
            if failure:
                if interrupted.seen:  # Ctrl-C stopped the binary too
                    raise KeyboardInterrupt
                if not repair:
                    raise SimulationError(f"running the standalone project {directory} "
                                          f"failed: {failure}")
                # A damaged binary ("Exec format error"): the Brian2 path links it afresh.
                (notify or print)(f"the cached binary in {directory} failed to run "
                                  f"({failure}); deleting it and building it again")
                (directory / "main").unlink(missing_ok=True)
                return None
            with stage("reading results back"):
                try:
                    parts = [collect_results(_result_reader(manifest, folder), spec,
                                             len(currents[first:first + share]),
                                             manifest["layout"])
                             for folder, first in zip(results, starts)]
                except (KeyError, TypeError, ValueError) as exc:  # output not as manifested
                    raise _StaleManifest from exc
                return parts[0] if len(parts) == 1 else merge_results(parts, share)
        except _StaleManifest:
            return None  # the Brian2 path builds the project again and writes a new manifest
        except OSError as exc:
            raise SimulationError(f"running the standalone project {directory} failed: "
                                  f"{exc}") from exc
        finally:
            for path in written:
                path.unlink(missing_ok=True)


def _write_run_args(spec, values, manifest, directory, key, share, written):
    """Write each run_args value of share number ``share`` to ``static_arrays``; return the
    binary's arguments.

    Weights are the same for every share and written once. Paths written are appended to
    ``written`` as they are created (for the caller to delete).
    """
    try:
        entries = {tuple(entry["key"]): entry for entry in manifest["run_args"]}
        shapes = {key: entry["shape"] for key, entry in entries.items()}
        if set(entries) != set(values) or shape_mismatch(spec, values, shapes, directory):
            raise _StaleManifest
        arguments = []
        for value_key, entry in entries.items():
            kind, index = value_key[:2]
            if kind == "parameter":  # one value: on the command line, as Brian2 passes it
                value = np.asarray(values[value_key], dtype=np.dtype(entry["dtype"])).item()
                arguments.append(f"{entry['name']}={value!r}")
                continue
            name = f"brainconv_{key}_{kind}_{index}" + (f"_{share}" if kind == "current" else "")
            path = directory / "static_arrays" / f"{name}.dat"
            arguments.append(f"{entry['name']}=static_arrays/{name}.dat")
            if path in written:  # weights, written for an earlier share
                continue
            written.append(path)
            array = np.asarray(values[value_key], dtype=np.dtype(entry["dtype"]))
            if entry["scale"] != 1.0:  # plain numbers in a Brian2 unit -> SI
                array = array * entry["scale"]
            np.ascontiguousarray(array).tofile(path)
    except (KeyError, TypeError, ValueError) as exc:
        raise _StaleManifest from exc
    return arguments


def _run_binaries(manifest, directory, results, arguments, n_samples, progress):
    """Run the project's binary once per share, side by side (stdout of each into its results
    folder's ``stdout.txt``, as Brian2 does); the first share reports progress for all.

    Returns
    -------
    str or None
        Why a binary failed (exit status and the end of its output), or None.
    """
    environment = {**os.environ, **manifest["environment"]}
    for name in ("BRAINCONV_PROGRESS", "BRAINCONV_PROCESSES"):
        environment.pop(name, None)
    running = []
    try:
        with stage("binary"):
            for number, (folder, share_arguments) in enumerate(zip(results, arguments)):
                # An earlier run's files must never be read as this run's, should the binary
                # exit 0 without writing them.
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True, exist_ok=True)
                reports = progress and number == 0
                with open(folder / "stdout.txt", "w") as stdout:
                    running.append(subprocess.Popen(
                        manifest["run_cmd"] + ["--results_dir", f"{folder}{os.sep}"]
                        + share_arguments, cwd=directory, stdout=stdout,
                        env=environment | ({"BRAINCONV_PROGRESS": str(n_samples),
                                            "BRAINCONV_PROCESSES": str(len(results))}
                                           if reports else {})))
            statuses = [binary.wait() for binary in running]
    except OSError as exc:  # e.g. "Exec format error" of a damaged binary
        return str(exc)
    finally:
        for binary in running:  # Ctrl-C or a failed start: stop the others too
            if binary.poll() is None:
                binary.kill()
                binary.wait()
        if progress:
            print(file=sys.stderr, flush=True)  # end the binary's progress line
    for folder, status in zip(results, statuses):
        if status != 0:
            output = (folder / "stdout.txt").read_text(errors="replace").strip()
            return f"exit status {status}" + (f": {output[-500:]}" if output else "")
    return None


def _result_reader(manifest, results):
    """``read(name)`` of :func:`brainconv.devices.collect.collect_results` from the result files."""

    def read(name):
        try:
            entry = manifest["results"][name]
            array = np.fromfile(results / entry["file"], dtype=np.dtype(entry["dtype"]))
        except (KeyError, OSError, TypeError, ValueError) as exc:
            raise _StaleManifest(name) from exc
        if entry["size"] is not None and array.size != entry["size"]:
            raise _StaleManifest(name)
        return array

    return read
