"""Srinivasan et al. 2020 Table 1 (CIFAR-10), every row that follows from its printed counts.

    python experiments/srinivasan/table1.py

The efficiency ``ANN MACs x E_MAC / (SNN ACs x E_AC)`` with the ``int32`` (MAC 3.1 pJ, AC 0.1
pJ) and ``float32`` (3.7 / 0.9 pJ) energies (``brainconv.energy.table1``) beside the printed
values; the ResNet-4 row read backwards (``brainconv.energy.implied_ac_energy``). CIFAR-10 is not
available here: the accuracies are the paper's, not recomputed. Writes ``results/table1.md``.
"""

from pathlib import Path

from brainconv.energy import TABLE1_ANN_MACS, TABLE1_RESNET4, implied_ac_energy, table1

RESULTS = Path(__file__).resolve().parent / "results"


def main():
    lines = [
        "# Srinivasan et al. 2020, Table 1: efficiency recomputed from the printed counts",
        "",
        "Command: `python experiments/srinivasan/table1.py` (energies per operation: int32 MAC "
        "3.1 pJ, AC 0.1 pJ; float32 MAC 3.7 pJ, AC 0.9 pJ; CIFAR-10 is not available here, so "
        "no accuracy is recomputed).",
        "",
        "| row | ANN MACs | SNN ACs | int: here | int: paper | float: here | float: paper |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in table1():
        relative = r["ann_macs"] == 1.0
        macs = "1 (its own ANN)" if relative else f"{r['ann_macs']:.3g}"
        acs = f"{r['snn_acs']:g} x ANN ops" if relative else f"{r['snn_acs']:.3g}"
        lines.append(f"| {r['row']} | {macs} | {acs} | {r['int32']:.2f}x | "
                     f"{r['paper_int32']}x | {r['float32']:.2f}x | {r['paper_float32']}x |")
    acs, printed_int, printed_float = TABLE1_RESNET4
    e_int = implied_ac_energy(TABLE1_ANN_MACS, acs, printed_int, "int32")
    e_float = implied_ac_energy(TABLE1_ANN_MACS, acs, printed_float, "float32")
    lines += [
        "",
        f"ResNet-4 SNN (stochastic STDP, {acs:.3g} 8-bit ACs, printed {printed_int}x / "
        f"{printed_float}x against the VGG9 ANN) cannot be recomputed: the paper gives no energy "
        f"for an 8-bit AC. Read backwards, the printed values need {e_int:.3f} pJ (int) and "
        f"{e_float:.3f} pJ (float) per AC, which match no entry of Horowitz's 45 nm figures "
        "that the other rows' energies come from (an 8-bit integer add is 0.03 pJ there).",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "table1.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
