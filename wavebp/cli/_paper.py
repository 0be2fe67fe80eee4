"""``wavebp paper``: test the seed paper's claims and write a report with verdicts."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["EXAMPLES", "HELP", "NAME", "add_arguments", "run"]

NAME = "paper"
HELP = (
    "Test the seed paper's seven claims (eq. 1 dynamics, error-wave energy, ResNet bypass, "
    "BatchNorm matching, eigenmodes, frequency response, harmonics) as seeded experiments; "
    "write report.html (one figure and verdict per claim) and claims.json."
)
EXAMPLES = (
    "wavebp paper --fast --out runs/paper-fast      # all seven, small sizes (~40 s CPU)",
    "wavebp paper --only 2 --only 4 --out runs/p24  # claims 2 and 4 at full size",
    "wavebp paper --fast --only 1,7 --seed 3 --out runs/p17 --overwrite",
)


def _numbers(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--only takes claim numbers in 1..7 (e.g. 3 or 1,5), got {text!r}"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp paper``."""
    parser.add_argument(
        "--fast", action="store_true", help="small sizes: all seven claims in well under 3 minutes"
    )
    parser.add_argument(
        "--only",
        type=_numbers,
        action="append",
        metavar="N[,N...]",
        help="run only these claims (1..7); repeatable",
    )
    parser.add_argument(
        "--out",
        default="runs/paper",
        metavar="DIR",
        help="run folder to write (default: runs/paper)",
    )
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch intra-op threads (default 1: the networks are tiny, and "
        "more threads only add contention on a shared machine)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp paper``; print the verdicts and where the report is."""
    import torch

    from wavebp._core import check_int
    from wavebp.experiments._paper import PaperConfig, run_paper

    try:
        torch.set_num_threads(check_int("--threads", args.threads, minimum=1))
    except ValueError as err:
        print(f"wavebp paper: error: {err}", file=sys.stderr)
        return 2

    only = tuple(n for group in (args.only or []) for n in group)
    try:
        config = PaperConfig(fast=args.fast, seed=args.seed, **({"only": only} if only else {}))
    except ValueError as err:
        print(f"wavebp paper: error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        record = run_paper(
            config, args.out, overwrite=args.overwrite, progress=False if args.no_progress else None
        )
    except FileExistsError as err:
        print(f"wavebp paper: error: {err}", file=sys.stderr)
        return 2
    for number, claim in record["claims"].items():
        print(f"claim {number}: {claim['verdict']:<12} {claim['title']}")
    print(
        f"wrote {args.out}/report.html and {args.out}/claims.json "
        f"({time.perf_counter() - start:.0f} s)"
    )
    return 0 if record["complete"] else 130
