"""``brainconv export-nir`` and ``brainconv run --nir FILE`` (:mod:`brainconv.cli`).

``export-nir`` converts an ANN exactly as ``brainconv run`` does (the same conversion options)
and writes the network as a NIR file; ``run --nir FILE`` imports a NIR graph and simulates it
on the test set instead of converting an ANN, with the file's hash and writer in the results'
attributes.
"""

import hashlib
import time

from ..errors import ParameterError


def _say(message):
    print(message, flush=True)


def export_nir(args):
    """Convert the ANN with ``brainconv run``'s options and write it as NIR."""
    from ..ann import load_ann
    from ..cli import _calibration_images, _check_outputs, _load_model_files, _paradigm
    from ..pipeline import check_paradigm, convert_paradigm, load_inputs
    from .graph import _nir, to_nir

    nir = _nir()
    _check_outputs((args.out, "--out"))
    _load_model_files(args)
    paradigm = _paradigm(args)
    ann = load_ann(args.ann)
    check_paradigm(ann, paradigm)
    calibration, _, _ = load_inputs(args.dataset, args.data_dir, 1, _calibration_images(args),
                                    _say)
    spec, _ = convert_paradigm(ann, paradigm, calibration)
    graph = to_nir(spec, dt=args.nir_dt)
    nir.write(args.out, graph)
    _say(f"saved {args.out}: {len(spec.layers)} layers of {paradigm.model}, dt {args.nir_dt:g} s "
         f"per step ({', '.join(graph.nodes)})")
    return graph


def run_nir(args):
    """Import ``args.nir`` and simulate it on the test split; save and report."""
    from ..cli import _check_simulation_args, report_dataset
    from ..pipeline import load_inputs
    from ..results import save_results
    from ..simulation import simulate
    from .graph import _nir, from_nir

    _check_simulation_args(args, [(args.out, "--out"), (args.plot, "--plot")])
    spec = from_nir(args.nir, dt=args.nir_dt)
    _, x, y = load_inputs(args.dataset, args.data_dir, args.limit, 1, _say)
    if x.shape[1] != spec.input_size:
        raise ParameterError(f"{args.nir} takes {spec.input_size} input values, but "
                             f"{args.dataset} gives {x.shape[1]}; pick a dataset of that size")
    with open(args.nir, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    graph = _nir().read(args.nir)
    writer = str((graph.metadata or {}).get("written_by", "not recorded"))
    _say(f"imported {args.nir}: {len(spec.layers)} layers "
         f"({', '.join(f'{layer.name}: {layer.model} x {layer.size}' for layer in spec.layers)})")
    start = time.perf_counter()
    ds = simulate(spec, x, y, args.steps, device=args.device, batch_size=args.batch_size,
                  processes=args.processes, notify=_say, progress=True,
                  precision=args.precision,
                  attrs={"dataset": args.dataset, "nir_file": str(args.nir),
                         "nir_sha256": digest, "nir_written_by": writer,
                         "nir_dt": float(args.nir_dt)})
    _say(f"simulation done in {time.perf_counter() - start:.1f} s")
    save_results(ds, args.out)
    _say(f"saved {args.out}")
    report_dataset(ds, args.target, args.plot)
    return ds


def add_commands(command, data_options, run_options):
    """Add ``export-nir`` to the ``brainconv`` parser (``run --nir`` is an option of ``run``)."""
    p = command("export-nir", "convert an ANN as `brainconv run` does and write it as NIR")
    data_options(p, "mnist")
    run_options(p)
    p.add_argument("--ann", required=True, help=".npz file written by `brainconv train`")
    p.add_argument("--nir-dt", type=float, default=1e-3,
                   help="seconds that one timestep stands for in the NIR graph")
    p.add_argument("--out", default="network.nir", help="NIR file to write")
    p.set_defaults(func=export_nir)
