"""``wavebp codesign``: one chip from device models to network accuracy, with a report."""

from __future__ import annotations

import argparse
import sys
import time

from wavebp.cli._args import float_list

__all__ = ["EXAMPLES", "HELP", "NAME", "add_arguments", "run"]

NAME = "codesign"
HELP = (
    "One photonic chip: coupler table and heater model -> 64-port MZI mesh classifier "
    "(digits) -> accuracy vs coupler gap-error sigma (nominal vs hardware-aware training, "
    "with and without post-fabrication correction) and vs wavelength across the C-band; "
    "writes report.html, codesign.json, chips.csv, figures and lab exports (phase/heater "
    "CSV+JSON, Touchstone S-matrix)."
)
EXAMPLES = (
    "wavebp codesign --fast --out runs/codesign-fast     # ~15 s on one core",
    "wavebp codesign --out runs/codesign                 # full: 20 epochs, 24 chips/point",
    "wavebp codesign --sigmas 0,2,5,10 --chips 50 --phase-sigma 0.01 --out runs/cd2",
    "wavebp codesign --coupler-model coupled-mode --wavelength-gap-sigma 5 --out runs/cd3",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp codesign``."""
    parser.add_argument(
        "--fast",
        action="store_true",
        help="small sizes (4 epochs, 4 chips, 3 sigmas, 3 wavelengths)",
    )
    parser.add_argument(
        "--out", default="runs/codesign", metavar="DIR", help="run folder (default runs/codesign)"
    )
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument(
        "--coupler-model",
        choices=("table", "coupled-mode"),
        default="table",
        help="coupler model: the shipped Meep table (default) or the analytic coupled-mode model",
    )
    parser.add_argument("--epochs", type=int, default=None, help="training epochs per network")
    parser.add_argument("--chips", type=int, default=None, help="chips per Monte-Carlo point")
    parser.add_argument(
        "--sigmas",
        type=float_list("--sigmas"),
        default=None,
        metavar="NM[,NM...]",
        help="coupler gap-error stds in nm (default 0,2,5,10; fast 0,5,10)",
    )
    parser.add_argument(
        "--wavelengths",
        type=float_list("--wavelengths"),
        default=None,
        metavar="NM[,NM...]",
        help="operating wavelengths in nm (default 1530..1565 step 5; fast 1530,1550,1565)",
    )
    parser.add_argument(
        "--wavelength-gap-sigma",
        type=float,
        default=0.0,
        metavar="NM",
        help="gap-error std of the chips in the wavelength sweep (default 0: perfect fab)",
    )
    parser.add_argument(
        "--phase-sigma", type=float, default=0.0, help="static phase-offset std, rad"
    )
    parser.add_argument("--loss-db", type=float, default=0.0, help="insertion loss per MZI, dB")
    parser.add_argument(
        "--aware-sigma",
        type=float,
        default=5.0,
        metavar="NM",
        help="gap-error std seen by hardware-aware training (default 5 nm)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="torch intra-op threads (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp codesign``; print the headline numbers and where the report is."""
    import torch

    from wavebp._core import check_int
    from wavebp.experiments._codesign import CodesignConfig, fast_codesign_config, run_codesign

    try:
        torch.set_num_threads(check_int("--threads", args.threads, minimum=1))
        overrides = {
            "seed": args.seed,
            "coupler_model": args.coupler_model,
            "epochs": args.epochs,
            "n_chips": args.chips,
            "wavelength_gap_sigma_nm": args.wavelength_gap_sigma,
            "phase_sigma": args.phase_sigma,
            "loss_db": args.loss_db,
            "aware_gap_sigma_nm": args.aware_sigma,
        }
        if args.sigmas is not None:
            overrides["gap_sigmas_nm"] = args.sigmas
        if args.wavelengths is not None:
            overrides["wavelengths_nm"] = args.wavelengths
        config = fast_codesign_config(**overrides) if args.fast else CodesignConfig(**overrides)
    except ValueError as err:
        print(f"wavebp codesign: error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        record = run_codesign(
            config, args.out, overwrite=args.overwrite, progress=False if args.no_progress else None
        )
    except (ValueError, FileExistsError, ImportError) as err:
        print(f"wavebp codesign: error: {err}", file=sys.stderr)
        return 2
    print(f"coupler model: {record['coupler_model']}")
    for r in record["sigma_sweep"]:
        print(
            f"{r['training']:>7} {r['correction']:>9} gap sigma {r['gap_sigma_nm']:>5g} nm: "
            f"accuracy {r['accuracy_mean']:.3f} +- {r['accuracy_std']:.3f}, "
            f"fidelity {r['fidelity_mean']:.4f}"
        )
    print(f"wrote {args.out}/report.html ({time.perf_counter() - start:.0f} s)")
    return 0 if record["complete"] else 130
