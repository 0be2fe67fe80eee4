r"""MZI mesh: reciprocal, lossy and Faraday (non-reciprocal) examples; time reversal vs loss.

The physical ``2N``-port S-matrix of a mesh is ``[[0, U_back], [U, 0]]`` (inputs then
outputs), with ``U_back`` measured by sending light backwards through the device. Lorentz
reciprocity makes ``U_back = U^T`` for any mesh of reciprocal parts, lossy or not; a
Faraday-type element (``+psi`` forward, ``-psi`` backward) breaks it.

Time reversal vs loss (analytic rate). With insertion loss ``L`` dB per MZI, a phase-
conjugated round trip returns the power fraction ``P(L) = ||conj(S) S||_F^2 / 2N``. To first
order in the loss every MZI the light crosses costs ``ln(10) L / 10`` of the power it
carries on the way out and the same on the way back (the conjugated wave retraces the
forward one), and averaged over all ``2N`` input ports every MZI carries total power 2 in
each direction, so ``P(L) = 10^(-2 L D / 10)`` with the mean depth ``D = 2M / N = N - 1``
(Clements, ``M = N(N-1)/2`` MZIs) -- exact for ``N = 2`` (one MZI, ``D = 1``) and the
initial slope for larger meshes, whose ports cross different numbers of MZIs.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from wavebp._core import check_int, check_real
from wavebp.analysis.reciprocity._common import make_row, timed
from wavebp.analysis.reciprocity._metrics import (
    COMPLEX128,
    reciprocity_residual,
    time_reversal_error,
    unitarity_residual,
)
from wavebp.analysis.reciprocity._rows import ReciprocityRow
from wavebp.photonic import ONN, MeshImperfections, cosine_error, insitu_gradient

__all__ = ["mesh_loss_sweep", "mesh_return_power", "mesh_rows"]


def _problem(
    imperfections: MeshImperfections | None, *, n_ports: int, seed: int
) -> tuple[ONN, torch.Tensor, Any]:
    """A one-mesh ONN classifier (complex128) with a fixed batch and cross-entropy loss."""
    gen = torch.Generator().manual_seed(seed)
    model = ONN(
        4,
        3,
        n_ports=n_ports,
        n_layers=1,
        dtype=torch.complex128,
        generator=gen,
        mesh_kwargs={"imperfections": imperfections},
    )
    x = torch.randn(8, 4, dtype=torch.float64, generator=gen)
    y = torch.randint(0, 3, (8,), generator=gen)

    def loss_fn(logits: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits, y)

    return model, x, loss_fn


def _autograd(model: torch.nn.Module, x: torch.Tensor, loss_fn: Any) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss_fn(model(x)).backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    return grads


def _measure(imperfections: MeshImperfections | None, *, n_ports: int, seed: int) -> dict:
    model, x, loss_fn = _problem(imperfections, n_ports=n_ports, seed=seed)
    mesh = model.meshes[0]
    with torch.no_grad():
        s = mesh.scattering_matrix()
    g_auto = _autograd(model, x, loss_fn)
    g_insitu = insitu_gradient(model, x, loss_fn)
    return {
        "s": s,
        "reciprocity": reciprocity_residual(s),
        "unitarity": unitarity_residual(s),
        "time_reversal": time_reversal_error(s),
        "gradient": cosine_error(g_insitu, g_auto),
        "return_power": mesh_return_power(s),
    }


def mesh_return_power(s: torch.Tensor) -> float:
    """Mean power fraction returned by a phase-conjugated round trip, ``||conj(S) S||_F^2 / n``
    for an S-matrix ``(n, n)``."""
    s = s.detach().to(torch.complex128)
    return float(torch.linalg.matrix_norm(s.conj() @ s) ** 2 / s.shape[-1])


def mesh_rows(
    *, n_ports: int = 6, loss_db: float = 0.1, faraday_phase: float = math.pi / 2, seed: int = 11
) -> list[ReciprocityRow]:
    """Three mesh examples: lossless, lossy (``loss_db`` per MZI) and Faraday (non-reciprocal
    phase ``faraday_phase`` on the first column's MZIs).

    Args:
        n_ports: ports of the Clements mesh, ``>= 4`` (the classifier has 4 features).
        loss_db: insertion loss per MZI of the lossy example in dB, ``> 0``.
        faraday_phase: Faraday phase ``psi`` in rad (``+psi`` forward, ``-psi`` backward).
        seed: seed of the mesh phases and the data batch.

    Returns:
        Three :class:`ReciprocityRow` (complex128; gradient: :func:`insitu_gradient`, the
        three simulated intensity passes, vs autograd on a cross-entropy loss).
    """
    n_ports = check_int("n_ports", n_ports, minimum=4)
    loss_db = check_real("loss_db", loss_db, low=0.0, low_inclusive=False, unit="dB")
    faraday_phase = check_real("faraday_phase", faraday_phase, unit="rad")
    if faraday_phase == 0.0:  # the row would be reciprocal yet expected to fail
        raise ValueError("faraday_phase must be non-zero rad (a non-reciprocal element), got 0.0")
    first_column = tuple(range(n_ports // 2))
    cases = [
        (f"lossless Clements {n_ports}x{n_ports}", None, True, "pass"),
        (
            f"lossy ({loss_db:g} dB/MZI)",
            MeshImperfections(loss_db=loss_db),
            True,
            "degraded",
        ),
        (
            f"Faraday psi={faraday_phase:.2f} rad",
            MeshImperfections(nonreciprocal_phase=faraday_phase, nonreciprocal_mzis=first_column),
            False,
            "fail",
        ),
    ]
    rows = []
    for name, imp, recip, expected in cases:
        m, seconds = timed(lambda imp=imp: _measure(imp, n_ports=n_ports, seed=seed))
        lossless = imp is None or imp.loss_db == 0.0
        rows.append(
            make_row(
                engine="mesh",
                example=name,
                reciprocal_medium=recip,
                expected=expected,
                tol=COMPLEX128,
                reciprocity=m["reciprocity"],
                unitarity=m["unitarity"] if lossless else None,
                time_reversal=m["time_reversal"],
                gradient=m["gradient"],
                note=(
                    "S = [[0, U_back], [U, 0]] from a forward and a backward propagation "
                    "(Mesh.scattering_matrix); time reversal ||conj(S) S - I|| / ||I||; gradient: "
                    "insitu_gradient (forward, adjoint, interference intensity passes, "
                    "three-pass protocol) vs autograd, one-mesh ONN, cross-entropy, batch 8"
                ),
                details={
                    "n_ports": n_ports,
                    "return_power": m["return_power"],
                    # first-order rate 10^(-2 L (N - 1) / 10) (module docstring)
                    "return_power_analytic": 10
                    ** (-2 * (0.0 if imp is None else imp.loss_db) * (n_ports - 1) / 10),
                    "unitarity_residual_measured": m["unitarity"],
                },
                runtime_s=seconds,
            )
        )
    return rows


def mesh_loss_sweep(
    losses_db: tuple[float, ...], *, n_ports: int = 6, seed: int = 11
) -> dict[str, list[float]]:
    """Time reversal and in-situ gradient error vs insertion loss per MZI.

    Args:
        losses_db: insertion losses per MZI in dB, each ``>= 0``.
        n_ports: ports of the Clements mesh, ``>= 4``.
        seed: seed of the mesh and data.

    Returns:
        ``{"loss_db", "time_reversal_error", "return_power", "return_power_analytic",
        "gradient_cosine_error", "mean_depth"}``: lists over ``losses_db`` (the analytic
        power is ``10^(-2 L D / 10)``, ``D = n_ports - 1``, module docstring).
    """
    out: dict[str, list[float]] = {
        "loss_db": [],
        "time_reversal_error": [],
        "return_power": [],
        "return_power_analytic": [],
        "gradient_cosine_error": [],
    }
    n_ports = check_int("n_ports", n_ports, minimum=4)
    losses_db = [check_real("losses_db entries", v, low=0.0, unit="dB") for v in losses_db]
    depth = n_ports - 1
    for loss in losses_db:
        imp = MeshImperfections(loss_db=float(loss)) if loss > 0 else None
        m = _measure(imp, n_ports=n_ports, seed=seed)
        out["loss_db"].append(float(loss))
        out["time_reversal_error"].append(m["time_reversal"])
        out["return_power"].append(m["return_power"])
        out["return_power_analytic"].append(10 ** (-2 * float(loss) * depth / 10))
        out["gradient_cosine_error"].append(m["gradient"])
    out["mean_depth"] = [float(depth)]
    return out
