"""``wavebp train``: train a photonic network with in-situ or digital gradients.

``--model onn`` (default) trains the optical neural network of :mod:`wavebp.photonic`;
``--model wave-rnn`` dispatches to the acoustic wave-RNN (``wavebp.cli._wave_rnn``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

NAME = "train"
HELP = "train a photonic neural network with simulated in-situ (or digital) gradients"
EXAMPLES = [
    "wavebp train --dataset digits --gradient insitu --hardware ideal --epochs 20 "
    "--out runs/digits",
    "wavebp train --dataset moons --gradient both --hardware pai2023 --out runs/moons",
    "wavebp train --out runs/digits --resume   # continue an interrupted run",
]

_WAVE_RNN_MODULE = "wavebp.cli._wave_rnn"
_DATASETS = ("digits", "moons", "circles", "iris")
_GRADIENTS = ("insitu", "autograd", "both")
_HARDWARE = ("ideal", "pai2023", "realistic")


def _wave_rnn_module():
    try:
        return importlib.import_module(_WAVE_RNN_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == _WAVE_RNN_MODULE:
            return None
        raise


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp train``."""
    parser.add_argument(
        "--model",
        choices=("onn", "wave-rnn"),
        default="onn",
        help="onn: optical neural network of MZI meshes (default); wave-rnn: acoustic wave RNN",
    )
    parser.add_argument("--out", required=True, help="run folder to write")
    parser.add_argument(
        "--dataset",
        default=None,
        help=f"data set (onn: {' | '.join(_DATASETS)}; default digits)",
    )
    parser.add_argument(
        "--gradient",
        default=None,
        help=f"onn: {' | '.join(_GRADIENTS)}: measured in-situ gradients, digital backprop, "
        "or both side by side (default insitu); wave-rnn: adjoint | autograd | insitu "
        "(default adjoint)",
    )
    parser.add_argument(
        "--hardware",
        default="ideal",
        help=f"hardware preset: {' | '.join(_HARDWARE)} (default ideal)",
    )
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default per model)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default per model)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per step")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the per-column operations are small, and extra "
        "threads only contend on a shared machine)",
    )
    onn = parser.add_argument_group("onn options")
    onn.add_argument("--layers", type=int, default=1, help="mesh layers (default 1)")
    onn.add_argument("--svd", action="store_true", help="SVD-style layers: mesh, attenuators, mesh")
    onn.add_argument(
        "--activation",
        choices=("electro-optic", "modulus", "none"),
        default="electro-optic",
        help="optical activation between layers (default electro-optic)",
    )
    onn.add_argument("--dtype", choices=("complex64", "complex128"), default="complex64")
    onn.add_argument(
        "--no-gradient-error",
        action="store_true",
        help="do not compute the autograd reference each in-situ step",
    )
    module = _wave_rnn_module()
    if module is not None:
        module.add_wave_rnn_arguments(parser.add_argument_group("wave-rnn options"))


def _fail(message: str) -> int:
    print(f"wavebp train: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp train``; returns the exit status."""
    if args.model == "wave-rnn":
        module = _wave_rnn_module()
        if module is None:
            return _fail(
                "--model wave-rnn needs wavebp.cli._wave_rnn (the acoustic wave-RNN), "
                "which is not installed in this version"
            )
        return int(module.run_wave_rnn(args) or 0)
    import torch

    from wavebp.experiments import TrainConfig, train_comparison, train_onn

    torch.set_num_threads(max(1, args.threads))

    dataset = args.dataset or "digits"
    if dataset not in _DATASETS:
        return _fail(
            f"--dataset must be one of {' | '.join(_DATASETS)} for --model onn, got {dataset!r}"
        )
    if args.gradient is None:
        args.gradient = "insitu"
    if args.gradient not in _GRADIENTS:
        return _fail(f"--gradient must be one of {' | '.join(_GRADIENTS)}, got {args.gradient!r}")
    if args.hardware not in _HARDWARE:
        return _fail(f"--hardware must be one of {' | '.join(_HARDWARE)}, got {args.hardware!r}")
    modes = ["insitu", "autograd"] if args.gradient == "both" else [args.gradient]
    try:
        configs = [
            TrainConfig(
                dataset=dataset,
                gradient=mode,
                hardware=args.hardware,
                optimizer=args.optimizer,
                epochs=args.epochs if args.epochs is not None else _default_epochs(dataset),
                lr=args.lr if args.lr is not None else _default_lr(dataset, args.optimizer),
                batch_size=args.batch_size,
                seed=args.seed,
                n_layers=args.layers,
                svd=args.svd,
                activation=args.activation,
                dtype=args.dtype,
                track_gradient_error=not args.no_gradient_error,
            )
            for mode in modes
        ]
    except ValueError as exc:
        return _fail(str(exc))
    show = False if args.no_progress else None
    try:
        if len(configs) == 1:
            if args.resume and args.overwrite:
                return _fail("--resume and --overwrite exclude each other")
            metrics = train_onn(
                None if args.resume else configs[0],
                args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                show_progress=show,
            )
            modes = [metrics["gradient"]]
            dataset = metrics["dataset"]
            args.hardware = metrics["hardware"]
        else:
            if args.resume:
                return _fail("--resume works with a single --gradient mode")
            metrics = train_comparison(
                configs, args.out, overwrite=args.overwrite, show_progress=show
            )
    except (FileExistsError, FileNotFoundError, ValueError) as exc:
        return _fail(str(exc))
    for mode in modes:
        if mode in metrics:
            m = metrics[mode]
            err = m.get("gradient_error_median")
            extra = f", gradient error (median) {err:.3g}" if err is not None else ""
            print(
                f"{dataset} {mode:8s} {args.hardware:9s}: test accuracy "
                f"{m['test_accuracy']:.4f}{extra}"
            )
    if metrics.get("status") == "interrupted":
        print(f"interrupted: checkpoint saved; continue with --resume --out {args.out}")
    print(f"run folder: {args.out}  (report: {args.out}/report.html)")
    return 0 if metrics.get("status") in ("finished", "interrupted") else 1


def _default_epochs(dataset: str) -> int:
    return {"digits": 20, "moons": 20, "circles": 20, "iris": 40}[dataset]


def _default_lr(dataset: str, optimizer: str) -> float:
    base = 0.01 if dataset == "digits" else 0.02
    return base if optimizer == "adam" else 10 * base
