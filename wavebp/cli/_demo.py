"""``wavebp demo`` (= ``make run``): in-situ vs digital training on the digits, with the
gradient checks, into a run folder with an HTML report."""

from __future__ import annotations

import argparse

NAME = "demo"
HELP = (
    "the main job: train a 64-port photonic network on the digits with simulated in-situ "
    "gradients on realistic hardware and with digital backprop, side by side"
)
EXAMPLES = ["wavebp demo --out runs/demo", "wavebp demo --out runs/demo --epochs 4"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp demo``."""
    parser.add_argument(
        "--out", default="runs/demo", help="run folder (replaced on every run; default runs/demo)"
    )
    parser.add_argument("--epochs", type=int, default=8, help="epochs per mode (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random")
    parser.add_argument(
        "--hardware",
        choices=("ideal", "pai2023", "realistic"),
        default="realistic",
        help="hardware preset (default realistic)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the per-column operations are small, and extra "
        "threads only contend on a shared machine)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo; prints a table and the report's path."""
    import torch

    from wavebp.experiments import run_demo

    torch.set_num_threads(max(1, args.threads))

    if args.epochs < 1:
        print(f"wavebp demo: error: --epochs must be an integer >= 1, got {args.epochs}")
        return 2
    print(
        f"wavebp demo: gradient checks, then digits on {args.hardware} hardware "
        f"({args.epochs} epochs per mode) -> {args.out}"
    )
    m = run_demo(
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        hardware=args.hardware,
        show_progress=False if args.no_progress else None,
    )
    print("\ngradient checks (1 - cos(g_insitu, g_autograd), 2-layer 8-port network):")
    for row in m["gradient_checks"]:
        print(f"  {row['case']:40s} {row['gradient error']:10.3e}   expected {row['expected']}")
    print(f"\ndigits, {args.hardware} hardware:")
    print(f"  {'gradient':10s} {'test accuracy':>14s} {'grad. error (median)':>22s} {'time s':>8s}")
    for mode in ("insitu", "autograd"):
        r = m[mode]
        err = r.get("gradient_error_median")
        err_s = f"{err:.3g}" if err is not None else "-"
        print(f"  {mode:10s} {r['test_accuracy']:14.4f} {err_s:>22s} {r['wall_s']:8.1f}")
    print(f"\ntotal {m['wall_s_total']:.0f} s; report: {args.out}/report.html")
    return 0 if m.get("status") == "finished" else 1
