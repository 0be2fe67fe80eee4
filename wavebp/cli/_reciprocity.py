"""``wavebp reciprocity``: reciprocity, losslessness, time reversal and the physical
gradient's error for every engine, as a table, JSON, a figure and an HTML report."""

from __future__ import annotations

import argparse
import sys
import time
import traceback

from wavebp.cli._args import choice_list

__all__ = ["EXAMPLES", "HELP", "NAME", "add_arguments", "run"]

NAME = "reciprocity"
HELP = (
    "Check reciprocity (||S - S^T||), losslessness, time reversal and the in-situ gradient "
    "against autograd for every engine (mesh, TMM, FDTD, Meep) on reciprocal and "
    "non-reciprocal examples; print the table, write reciprocity.json, a figure and "
    "report.html."
)
EXAMPLES = (
    "wavebp reciprocity --fast --out runs/reciprocity-fast   # mesh, tmm, fdtd (~15 s CPU)",
    "wavebp reciprocity --engines mesh,tmm --out runs/recip-mt",
    "wavebp reciprocity --engines meep --out runs/recip-meep   # Meep in a child process",
)

_ENGINES = ("mesh", "tmm", "fdtd", "meep")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp reciprocity``."""
    parser.add_argument(
        "--engines",
        type=choice_list("--engines", _ENGINES),
        default=None,
        metavar="E[,E...]",
        help="engines to run, from mesh,tmm,fdtd,meep (default: all; with --fast: all but meep)",
    )
    parser.add_argument(
        "--fast", action="store_true", help="small FDTD runs and sweeps (well under 30 s)"
    )
    parser.add_argument(
        "--out",
        default="runs/reciprocity",
        metavar="DIR",
        help="run folder (default: runs/reciprocity)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument(
        "--threads", type=int, default=1, metavar="N", help="torch intra-op threads (default 1)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp reciprocity``: 0 on success (whatever the verdicts), 2 on bad options or
    an existing run folder, 1 on an internal error."""
    import torch

    from wavebp._core import check_int
    from wavebp.analysis.reciprocity import ReciprocityConfig
    from wavebp.experiments._reciprocity import run_reciprocity

    try:
        torch.set_num_threads(check_int("--threads", args.threads, minimum=1))
        engines = args.engines
        if engines is None:
            engines = _ENGINES[:-1] if args.fast else _ENGINES
        config = ReciprocityConfig(engines=engines, fast=args.fast)
    except ValueError as err:
        print(f"wavebp reciprocity: error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        record = run_reciprocity(config, args.out, overwrite=args.overwrite)
    except FileExistsError as err:
        print(f"wavebp reciprocity: error: {err}", file=sys.stderr)
        return 2
    except Exception:  # an internal error: say so, with the traceback, and exit 1
        traceback.print_exc()
        print("wavebp reciprocity: internal error (traceback above)", file=sys.stderr)
        return 1
    print(record["table"])
    unexpected = [r for r in record["rows"] if not r["as_expected"]]
    if unexpected:
        print(f"{len(unexpected)} verdict(s) differ from the physics' prediction (marked *)")
    print(
        f"wrote {args.out}/reciprocity.json, {args.out}/figures/reciprocity.png and "
        f"{args.out}/report.html ({time.perf_counter() - start:.0f} s)"
    )
    return 0
