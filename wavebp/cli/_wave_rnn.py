"""``wavebp train --model wave-rnn``: the model-specific part of the ``train`` subcommand.

The ``train`` subcommand owns the common flags (``--dataset --gradient --optimizer --epochs
--lr --seed --out --resume --overwrite``); for ``--model wave-rnn`` it calls
:func:`add_wave_rnn_arguments` on an argument group and :func:`run_wave_rnn` with the
parsed arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

__all__ = ["WAVE_RNN_EXAMPLES", "add_wave_rnn_arguments", "run_wave_rnn"]

WAVE_RNN_EXAMPLES: tuple[str, ...] = (
    "wavebp train --model wave-rnn --fast --out runs/wave-rnn-smoke",
    "wavebp train --model wave-rnn --media linear,kerr --folds 5 --epochs 10 "
    "--out runs/wave-rnn-cv",
    "wavebp train --model wave-rnn --device cuda --speakers 40 --out runs/wave-rnn-gpu",
    "wavebp train --model wave-rnn --out runs/wave-rnn-cv --resume",
)


def _add(group: Any, flag: str, **kwargs: Any) -> None:
    """Add ``flag`` unless the parser already has it (e.g. a common ``--device``)."""
    if flag in getattr(group, "_option_string_actions", {}):
        return
    group.add_argument(flag, **kwargs)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def add_wave_rnn_arguments(group: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """Add the wave-RNN flags to ``group`` (an argparse parser or argument group)."""
    _add(group, "--fast", action="store_true",
         help="tiny grid, few steps and tokens (a smoke run of seconds)")  # fmt: skip
    _add(group, "--media", default="linear,kerr", type=_csv,
         help="media to train and compare: linear, kerr or linear,kerr (default)")  # fmt: skip
    _add(group, "--folds", type=int, default=None,
         help="speaker-grouped cross-validation folds (default 5; 3 with --fast)")  # fmt: skip
    _add(group, "--max-folds", type=int, default=None,
         help="run only the first N folds (a reduced run, reported as such)")  # fmt: skip
    _add(group, "--vowels", type=_csv, default=None,
         help="vowel codes, comma-separated (default ae,ei,iy as Hughes et al. 2019)")  # fmt: skip
    _add(group, "--groups", type=_csv, default=None,
         help="speaker groups (default men,women,children)")  # fmt: skip
    _add(group, "--speakers", type=int, default=None,
         help="synthetic speakers per group (default 20)")  # fmt: skip
    _add(group, "--duration", type=float, default=None,
         help="token length in s (default 0.15; one sample per time step)")  # fmt: skip
    _add(group, "--sample-rate", type=float, default=None,
         help="samples (= time steps) per second, Hz (default 16000)")  # fmt: skip
    _add(group, "--design-cells", type=int, default=None,
         help="design region side, cells (default 40)")  # fmt: skip
    _add(group, "--pml-cells", type=int, default=None, help="PML thickness, cells (default 10)")
    _add(group, "--kerr-speed-change", type=float, default=None,
         help="saturated Kerr speed change of the inclusion, m/s, in (-c_min, 0] "
              "(default -85.75)")  # fmt: skip
    _add(group, "--kerr-amplitude", type=float, default=None,
         help="Kerr saturation amplitude, field units (default 0.02)")  # fmt: skip
    _add(group, "--batch-size", type=int, default=None, help="tokens per step (default 16)")
    _add(group, "--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1")
    _add(group, "--dtype", default="float32", choices=("float32", "float64"),
         help="simulation dtype (default float32)")  # fmt: skip
    # If ``train`` already defines --dtype (complex64|complex128 for the ONN), the wave-RNN
    # uses the matching real dtype (complex64 -> float32, complex128 -> float64).


_REAL_OF = {"complex64": "float32", "complex128": "float64"}


def _config_from_args(args: argparse.Namespace) -> Any:
    from wavebp.acoustic import VowelConfig, WaveRNNConfig
    from wavebp.experiments import WaveRNNRunConfig, fast_wave_rnn_config

    dataset = getattr(args, "dataset", None)
    if dataset not in (None, "vowels"):
        raise ValueError(f"--dataset must be 'vowels' for --model wave-rnn, got {dataset!r}")
    base = fast_wave_rnn_config() if getattr(args, "fast", False) else WaveRNNRunConfig()
    data_changes: dict[str, Any] = {}
    model_changes: dict[str, Any] = {}
    if args.vowels is not None:
        data_changes["vowels"] = args.vowels
        model_changes["n_classes"] = len(args.vowels)
    if args.groups is not None:
        data_changes["groups"] = args.groups
    if args.speakers is not None:
        data_changes["n_speakers"] = args.speakers
    if args.duration is not None:
        data_changes["duration"] = args.duration
    if args.sample_rate is not None:
        data_changes["sample_rate"] = args.sample_rate
        model_changes["sample_rate"] = args.sample_rate
    if args.design_cells is not None:
        model_changes["design_shape"] = (args.design_cells, args.design_cells)
    if args.pml_cells is not None:
        model_changes["pml_cells"] = args.pml_cells
    if args.kerr_speed_change is not None:
        model_changes["kerr_speed_change"] = args.kerr_speed_change
    if args.kerr_amplitude is not None:
        model_changes["kerr_amplitude"] = args.kerr_amplitude
    data: VowelConfig = dataclasses.replace(base.data, **data_changes)
    model: WaveRNNConfig = dataclasses.replace(base.model, **model_changes)
    run_changes: dict[str, Any] = {"data": data, "model": model, "media": args.media}
    for flag, name in (
        ("gradient", "gradient"),
        ("optimizer", "optimizer"),
        ("epochs", "epochs"),
        ("lr", "lr"),
        ("seed", "seed"),
        ("folds", "n_folds"),
        ("max_folds", "max_folds"),
        ("batch_size", "batch_size"),
        ("device", "device"),
        ("dtype", "dtype"),
    ):
        value = getattr(args, flag, None)
        if flag == "dtype" and value in _REAL_OF:
            value = _REAL_OF[value]
        if flag == "gradient" and value == "both":
            raise ValueError(
                "--gradient must be adjoint | autograd | insitu for --model wave-rnn, got 'both'"
            )
        if flag == "gradient" and value == "insitu" and "kerr" in args.media:
            raise ValueError(
                "--gradient insitu is the physical replay, "
                "exact only in a linear medium: pass --media linear, or --gradient adjoint "
                "(or autograd) to train the Kerr medium too"
            )
        if value is not None:
            run_changes[name] = value
    return dataclasses.replace(base, **run_changes)


def run_wave_rnn(args: argparse.Namespace) -> int:
    """Run ``wavebp train --model wave-rnn`` with parsed ``args``; print where it wrote.

    Returns 0 on success, 2 on a bad argument (message on stderr), 130 if interrupted.
    """
    import sys

    from wavebp.experiments import run_wave_rnn_experiment

    out = args.out if getattr(args, "out", None) is not None else "runs/wave-rnn"
    try:
        if getattr(args, "resume", False) and getattr(args, "overwrite", False):
            raise ValueError("--resume and --overwrite exclude each other")
        config = _config_from_args(args)
        if str(config.device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError(f"--device {config.device} given but CUDA is not available")
        metrics = run_wave_rnn_experiment(
            config,
            out=out,
            resume=bool(getattr(args, "resume", False)),
            overwrite=bool(getattr(args, "overwrite", False)),
            progress=False if getattr(args, "no_progress", False) else None,
        )
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"wavebp train: error: {exc}", file=sys.stderr)
        return 2
    if metrics.get("interrupted"):
        print(f"interrupted; run folder: {out} (continue with --resume)")
        return 130
    for medium, m in metrics["media"].items():
        print(
            f"{medium}: test accuracy {m['test_accuracy_mean']:.3f} +- "
            f"{m['test_accuracy_std']:.3f} over {metrics['folds_run']} of "
            f"{metrics['n_folds']} folds"
        )
    print(f"wrote run folder: {out} (report: {out}/report.html)")
    return 0
