"""``wavebp sweep``: the chip co-design Monte-Carlo over a grid, on Dask (or serially)."""

from __future__ import annotations

import argparse
import sys
import time

from wavebp.cli._args import choice_list, float_list

__all__ = ["EXAMPLES", "HELP", "NAME", "add_arguments", "run"]

NAME = "sweep"
HELP = (
    "Fabrication Monte-Carlo of the photonic chip over a grid (gap-error sigma, phase sigma, "
    "loss, wavelength, correction, training) on a Dask cluster: a local one by default, "
    "--scheduler tcp://HOST:PORT for a real one. Every chip is seeded, so the table is the "
    "same on any cluster and an interrupted sweep resumes without redoing finished chips. "
    "Writes results.parquet/.csv (one row per chip), summary.csv, figures and report.html."
)
EXAMPLES = (
    "wavebp sweep --fast --out runs/sweep-fast       # small grid, 2 local workers",
    "wavebp sweep --gap-sigma-nm 0,2,5,10 --correction none,corrected "
    "--training nominal,aware --chips 20 --out runs/sweep",
    "wavebp sweep --scheduler tcp://10.0.0.5:8786 --chips 200 --out /shared/runs/sweep",
    "wavebp sweep --out runs/sweep --resume          # finish an interrupted sweep",
    "wavebp sweep --fast --workers 0 --out runs/s0   # serial, no Dask",
)

_FAST_CHIPS = 4
_FULL_CHIPS = 20
_FAST_GAPS = (0.0, 5.0, 10.0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp sweep``."""
    where = parser.add_argument_group("where it runs")
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDR",
        help="Dask scheduler address (tcp://host:port) of a running cluster whose workers "
        "have wavebp installed and see --out (a shared file system); 'serial' runs in this "
        "process; default: a local cluster of --workers processes",
    )
    where.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="local-cluster worker processes (default 2; 0 = serial, no Dask)",
    )
    where.add_argument(
        "--threads-per-worker",
        type=int,
        default=1,
        metavar="N",
        help="threads per worker, also the torch/OpenMP threads of each task (default 1)",
    )
    parser.add_argument(
        "--out", default="runs/sweep", metavar="DIR", help="run folder (default runs/sweep)"
    )
    parser.add_argument(
        "--chips",
        type=int,
        default=None,
        metavar="N",
        help=f"fabricated chips per grid point (default {_FULL_CHIPS}; fast {_FAST_CHIPS})",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"small training of the two networks, {_FAST_CHIPS} chips, gap sigmas "
        f"{','.join(f'{g:g}' for g in _FAST_GAPS)} (unless given)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of training and chips (0)")
    parser.add_argument(
        "--coupler-model",
        choices=("table", "coupled-mode"),
        default="table",
        help="coupler model: the shipped Meep table (default) or the analytic coupled-mode model",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the sweep in --out (skip finished chips)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    grid = parser.add_argument_group("grid (comma-separated values; every combination runs)")
    grid.add_argument(
        "--gap-sigma-nm",
        type=float_list("--gap-sigma-nm"),
        default=None,
        metavar="NM[,NM...]",
        help="coupler gap-error stds in nm (default 0,2,5,10; fast 0,5,10)",
    )
    grid.add_argument(
        "--phase-sigma",
        type=float_list("--phase-sigma"),
        default=(0.0,),
        metavar="RAD[,RAD...]",
        help="static phase-offset stds in rad (default 0)",
    )
    grid.add_argument(
        "--loss-db",
        type=float_list("--loss-db"),
        default=(0.0,),
        metavar="DB[,DB...]",
        help="insertion loss per MZI in dB (default 0)",
    )
    grid.add_argument(
        "--wavelength-nm",
        type=float_list("--wavelength-nm"),
        default=(1550.0,),
        metavar="NM[,NM...]",
        help="operating wavelengths in nm (default 1550)",
    )
    grid.add_argument(
        "--correction",
        type=choice_list("--correction", ("none", "rescaled", "corrected")),
        default=("none", "corrected"),
        metavar="MODE[,MODE...]",
        help="phase programming: none | rescaled (for the wavelength) | corrected "
        "(post-fabrication correction); default none,corrected",
    )
    grid.add_argument(
        "--training",
        type=choice_list("--training", ("nominal", "aware")),
        default=("nominal", "aware"),
        metavar="T[,T...]",
        help="networks: nominal | aware (hardware-aware training); default both",
    )


def _num(value: object) -> str:
    try:
        return f"{float(value):.3f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp sweep``; print the headline numbers and where the report is."""
    from wavebp.experiments._sweep import CodesignSweepConfig, run_codesign_sweep

    try:
        config = CodesignSweepConfig(
            gap_sigma_nm=args.gap_sigma_nm
            if args.gap_sigma_nm is not None
            else (_FAST_GAPS if args.fast else (0.0, 2.0, 5.0, 10.0)),
            phase_sigma=args.phase_sigma,
            loss_db=args.loss_db,
            wavelength_nm=args.wavelength_nm,
            correction=args.correction,
            training=args.training,
            chips=args.chips
            if args.chips is not None
            else (_FAST_CHIPS if args.fast else _FULL_CHIPS),
            fast=args.fast,
            seed=args.seed,
            coupler_model=args.coupler_model,
        )
    except ValueError as err:
        print(f"wavebp sweep: error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        metrics = run_codesign_sweep(
            config,
            args.out,
            scheduler=args.scheduler,
            n_workers=args.workers,
            threads_per_worker=args.threads_per_worker,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=False if args.no_progress else None,
        )
    except (ValueError, FileExistsError, FileNotFoundError) as err:
        print(f"wavebp sweep: error: {err}", file=sys.stderr)
        return 2
    for curve in metrics.get("curves", []):
        extra = ", ".join(f"{k}={curve[k]:g}" for k in ("wavelength_nm", "phase_sigma", "loss_db"))
        print(
            f"{curve['training']:>7} {curve['correction']:>9} ({extra}): accuracy "
            f"{_num(curve['accuracy_at_min_sigma'])} at gap sigma "
            f"{metrics['min_gap_sigma_nm']:g} nm -> {_num(curve['accuracy_at_max_sigma'])} "
            f"+- {_num(curve['std_at_max_sigma'])} at {metrics['max_gap_sigma_nm']:g} nm"
        )
    print(
        f"{metrics['n_resumed'] + metrics['n_computed']}/{metrics['n_tasks']} chips "
        f"({metrics['n_resumed']} resumed, {metrics['n_computed']} "
        f"computed) in {time.perf_counter() - start:.1f} s; wrote {args.out}/report.html and "
        f"{args.out}/results.parquet"
    )
    if not metrics["complete"]:
        print(f"interrupted: continue with  wavebp sweep --out {args.out} --resume ...")
        return 130
    return 0
