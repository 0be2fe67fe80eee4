r"""Metrics, tolerances and the verdict rule shared by every engine.

All residuals are relative Frobenius norms, computed in float64/complex128:

* reciprocity ``||S - S^T||_F / ||S||_F`` (an S-matrix), or
  ``||y_ab - y_ba|| / ||y_ab||`` for time traces with source and receiver swapped;
* losslessness ``||S^H S - I||_F / ||I||_F`` (only where the example is lossless);
* time reversal ``||conj(S) S - I||_F / ||I||_F``: send ``a`` in, phase-conjugate what comes
  out, send it back through the *same* device and conjugate what returns. For a reciprocal
  device the return is ``conj(S) S a``, which is ``S^H S a = a`` exactly when the device is
  also lossless; loss shrinks it, non-reciprocity scrambles it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_real
from wavebp.photonic import cosine_error

__all__ = [
    "VERDICTS",
    "Tolerances",
    "cosine_error_flat",
    "reciprocity_residual",
    "swapped_residual",
    "time_reversal_error",
    "unitarity_residual",
    "verdict",
]

#: Verdicts of a row (see :func:`verdict`).
VERDICTS = ("pass", "degraded", "fail", "skipped")


@dataclass(frozen=True, kw_only=True)
class Tolerances:
    """Thresholds of the verdict rule for one engine.

    Attributes:
        reciprocity: largest reciprocity residual still called reciprocal, ``> 0``.
        gradient: largest gradient cosine error still called exact, ``> 0``.
        wrong_gradient: cosine error above which the physical gradient is called wrong
            (VALIDATION.md: 0.1), ``> gradient``.
        justification: why these numbers (dtype, scheme).
    """

    reciprocity: float
    gradient: float
    wrong_gradient: float = 0.1
    justification: str = ""

    def __post_init__(self) -> None:
        check_real("reciprocity", self.reciprocity, low=0.0, low_inclusive=False)
        check_real("gradient", self.gradient, low=0.0, low_inclusive=False)
        check_real("wrong_gradient", self.wrong_gradient, low=self.gradient)


#: complex128 S-matrices built from at most ~2N column products of 2x2 blocks (mesh) or
#: ~10 interface star products (TMM): rounding ~ (number of products) * sqrt(N) * 2.2e-16
#: <~ 1e-14; 1e-12 leaves a 100x margin and is still 10 orders below any physical breaking.
#: An exact gradient has a cosine error at the float64 floor of the dot product (~1e-16);
#: VALIDATION.md fixes 1e-12 for the mesh.
COMPLEX128 = Tolerances(
    reciprocity=1e-12,
    gradient=1e-12,
    justification=(
        "complex128: rounding of <= 2N column/interface products ~1e-14; tolerance 1e-12 "
        "(100x margin); exact gradients have cosine error at the float64 floor ~1e-16"
    ),
)
#: float64 leapfrog: each of the ~10^3 steps adds ~2.2e-16 relative rounding, accumulating
#: to <~ 1e-13 in the traces; VALIDATION.md fixes the swapped-source reciprocity at 1e-10.
FLOAT64_LEAPFROG = Tolerances(
    reciprocity=1e-10,
    gradient=1e-12,
    justification=(
        "float64 leapfrog: ~1e3 steps x 2.2e-16 rounding <~ 1e-13 in the traces; tolerance "
        "1e-10 (VALIDATION.md); the in-situ replay equals the adjoint to ~1e-15, so its "
        "cosine error sits at the float64 floor"
    ),
)
#: Meep: float64 time stepping, S-parameters from DFT fields of swapped-source runs. A
#: reciprocal discretisation gives swapped responses equal to rounding (1e-15 measured for
#: the reciprocal twin); 1e-9 leaves room for the DFT accumulation over ~1e4 steps and is
#: still 9 orders below the gyrotropic breaking (~1). The in-situ gradient comes from DFT
#: fields of runs stopped at a field-decay threshold (8e-10 measured against the exact
#: adjoint): 1e-6. VALIDATION.md's S21 = S12 to 1e-3 is the weaker bar.
MEEP = Tolerances(
    reciprocity=1e-9,
    gradient=1e-6,
    justification=(
        "Meep float64: swapped-source responses of a reciprocal discretisation agree to "
        "rounding (1e-15 measured), tolerance 1e-9 for DFT accumulation over ~1e4 steps; "
        "in-situ gradient from DFT fields of runs stopped at a decay threshold (8e-10 "
        "measured vs the exact adjoint), tolerance 1e-6"
    ),
)


def _c128(s: torch.Tensor) -> torch.Tensor:
    """A square S-matrix ``(n, n)`` as complex128 (ValueError otherwise)."""
    if not isinstance(s, torch.Tensor) or s.dim() != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(
            f"S must be a square matrix tensor of shape (n, n), got {getattr(s, 'shape', s)!r}"
        )
    return s.detach().to(torch.complex128)


def reciprocity_residual(s: torch.Tensor) -> float:
    """``||S - S^T||_F / ||S||_F`` of a square S-matrix ``(n, n)`` (0 = reciprocal)."""
    s = _c128(s)
    return float(torch.linalg.matrix_norm(s - s.mT) / torch.linalg.matrix_norm(s))


def unitarity_residual(s: torch.Tensor) -> float:
    """``||S^H S - I||_F / ||I||_F`` of a square S-matrix ``(n, n)`` (0 = lossless)."""
    s = _c128(s)
    eye = torch.eye(s.shape[-1], dtype=s.dtype)
    return float(torch.linalg.matrix_norm(s.mH @ s - eye) / math.sqrt(s.shape[-1]))


def time_reversal_error(s: torch.Tensor) -> float:
    """``||conj(S) S - I||_F / ||I||_F``: how far a phase-conjugated round trip through the
    same device is from returning every input state (0 = exact time reversal)."""
    s = _c128(s)
    eye = torch.eye(s.shape[-1], dtype=s.dtype)
    return float(torch.linalg.matrix_norm(s.conj() @ s - eye) / math.sqrt(s.shape[-1]))


def swapped_residual(y_ab: torch.Tensor, y_ba: torch.Tensor) -> float:
    """``||y_ab - y_ba|| / ||y_ab||`` of two time traces: the field at ``b`` for a source at
    ``a`` and the field at ``a`` for the same source at ``b`` (0 = reciprocal)."""
    if tuple(y_ab.shape) != tuple(y_ba.shape):
        raise ValueError(
            "y_ab and y_ba must have the same shape (the same steps), got "
            f"{tuple(y_ab.shape)} and {tuple(y_ba.shape)}"
        )
    a = y_ab.detach().to(torch.float64).reshape(-1)
    b = y_ba.detach().to(torch.float64).reshape(-1)
    return float((a - b).norm() / a.norm())


def cosine_error_flat(g_hat: torch.Tensor, g: torch.Tensor) -> float:
    """``1 - g_hat . g / (|g_hat| |g|)`` of two gradient tensors (flattened, float64):
    :func:`wavebp.photonic.cosine_error` of one tensor each (NaN if either is zero)."""
    return cosine_error({"g": g_hat}, {"g": g})


def verdict(reciprocity: float | None, gradient_error: float | None, tolerances: Tolerances) -> str:
    """The verdict of one example.

    Rule: ``"pass"`` if reciprocal (residual <= ``tolerances.reciprocity``) and the
    physical gradient equals autograd (cosine error <= ``tolerances.gradient``);
    ``"degraded"`` if reciprocal but the physical gradient departs (loss: the
    phase-conjugated path is no longer the adjoint); ``"fail"`` if not reciprocal (the
    backward wave does not see ``S^T``, so the physical gradient is not the gradient);
    ``"skipped"`` if a number is missing.
    """
    if reciprocity is None or gradient_error is None:
        return "skipped"
    if not math.isfinite(reciprocity) or not math.isfinite(gradient_error):
        return "fail"
    if reciprocity > tolerances.reciprocity:
        return "fail"
    return "pass" if gradient_error <= tolerances.gradient else "degraded"
