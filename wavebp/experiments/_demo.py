"""``wavebp demo`` (= ``make run``): in-situ vs digital training of a photonic classifier.

1. Gradient checks on a small two-layer network (complex128): the simulated in-situ
   gradient against autograd on ideal hardware (must agree to rounding), with the phase
   conjugation switched off and with Faraday-type non-reciprocal elements (must disagree),
   and on lossy / noisy hardware (reported).
2. Training on scikit-learn's digits (8x8, 10 classes; a 64-port Clements mesh, amplitude
   encoding) with in-situ gradients on the ``"realistic"`` hardware preset and with digital
   backprop through the same simulated chip, side by side.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from wavebp.experiments._train import TrainConfig, train_comparison
from wavebp.photonic import (
    ONN,
    HardwareConfig,
    MeshImperfections,
    cosine_error,
    insitu_gradient,
)

__all__ = ["gradient_checks", "run_demo"]


def gradient_checks(*, seed: int = 0, batch: int = 16) -> list[dict[str, Any]]:
    """In-situ vs autograd on a 2-layer, 8-port network (complex128) under several hardware
    conditions. Returns rows ``{"case", "gradient error", "expected"}`` where the error is
    ``1 - cos(g_insitu, g_autograd)``."""
    cases: list[tuple[str, MeshImperfections | None, HardwareConfig, str]] = [
        ("ideal (lossless, noise-free)", None, HardwareConfig(), "< 1e-12"),
        ("phase conjugation off", None, HardwareConfig(conjugation=False), "> 0.1 (must fail)"),
        (
            "Faraday elements (+-pi/2) in column 0",
            MeshImperfections(nonreciprocal_phase=math.pi / 2, nonreciprocal_mzis=(0, 1, 2, 3)),
            HardwareConfig(),
            "> 0.1 (must fail)",
        ),
        (
            "insertion loss 0.1 dB/MZI, three-pass",
            MeshImperfections(loss_db=0.1),
            HardwareConfig(),
            "reported",
        ),
        (
            "insertion loss 0.1 dB/MZI, differential",
            MeshImperfections(loss_db=0.1),
            HardwareConfig(protocol="differential"),
            "reported",
        ),
        ("pai2023: tap shot noise 0.02", None, HardwareConfig.preset("pai2023"), "reported"),
        ("realistic preset (all effects)", None, HardwareConfig.preset("realistic"), "reported"),
    ]
    rows = []
    for name, imp, hw, expected in cases:
        gen = torch.Generator().manual_seed(seed)
        if name.startswith("realistic"):
            imp = MeshImperfections(
                coupler_error_sigma=hw.coupler_error_std,
                phase_error_sigma=hw.phase_error_std,
                loss_db=hw.loss_db,
                dac_bits=hw.dac_bits,
                crosstalk=hw.crosstalk,
            )
        model = ONN(
            6,
            2,
            n_ports=8,
            n_layers=2,
            dtype=torch.complex128,
            generator=gen,
            mesh_kwargs={"imperfections": imp},
        )
        x = torch.randn(batch, 6, dtype=torch.float64, generator=gen)
        y = torch.randint(0, 2, (batch,), generator=gen)

        def loss_fn(logits: torch.Tensor, y: torch.Tensor = y) -> torch.Tensor:
            return torch.nn.functional.cross_entropy(logits, y)

        model.zero_grad(set_to_none=True)
        loss_fn(model(x)).backward()
        ref = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
        meas = insitu_gradient(model, x, loss_fn, hardware=hw, generator=gen)
        rows.append({"case": name, "gradient error": cosine_error(meas, ref), "expected": expected})
    return rows


def run_demo(
    out: str | Path,
    *,
    epochs: int = 8,
    seed: int = 0,
    hardware: str = "realistic",
    show_progress: bool | None = None,
) -> dict[str, Any]:
    """Run the demo into ``out`` (replacing what a previous demo wrote there).

    Args:
        out: run folder.
        epochs: training epochs per gradient mode, ``>= 1``.
        seed: seed of everything random.
        hardware: hardware preset of both training runs.
        show_progress: progress bars (``None`` = on a terminal).

    Returns:
        The combined metrics (``metrics["insitu"]["test_accuracy"]``,
        ``metrics["autograd"]["test_accuracy"]``, ``metrics["gradient_checks"]``).
    """
    t0 = time.perf_counter()
    checks = gradient_checks(seed=seed)
    configs = [
        TrainConfig(
            dataset="digits",
            gradient=g,
            hardware=hardware,
            epochs=epochs,
            seed=seed,
            lr=0.01,
            batch_size=64,
        )
        for g in ("insitu", "autograd")
    ]
    metrics = train_comparison(
        configs,
        out,
        overwrite=True,
        show_progress=show_progress,
        title=f"wavebp demo: digits, in-situ vs digital training on {hardware} hardware",
        extra_tables=[("gradient checks: in situ vs autograd, 2-layer 8-port network", checks)],
        notes=[
            "Model: one 64-port Clements mesh (2016 MZIs), amplitude encoding of the 8x8 "
            "pixels (1 mW per sample), 6 photodetectors summed per class, digital read-out "
            "30 P_k / sum P. Digital backprop ('autograd') differentiates the same simulated "
            "chip, imperfections included: an oracle digital twin that a real lab would not "
            "have.",
            f"Hardware preset {hardware!r}: {HardwareConfig.preset(hardware)}",
        ],
    )
    metrics["gradient_checks"] = checks
    metrics["wall_s_total"] = time.perf_counter() - t0
    from wavebp.experiments._runfolder import RunFolder

    RunFolder(out, resume=True).write_metrics(metrics)
    return metrics
