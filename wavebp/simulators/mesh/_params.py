"""The per-MZI physical parameters the mesh engine consumes (one immutable bundle)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wavebp._core import complex_dtype
from wavebp.simulators.mesh._elements import mzi_entries
from wavebp.simulators.mesh._layout import MeshLayout

__all__ = ["MeshParams"]


@dataclass(frozen=True, kw_only=True)
class MeshParams:
    """Effective physical parameters of every MZI of a mesh (what the light actually sees).

    Hardware models (DAC quantisation, thermal crosstalk, fabrication phase offsets) act
    *before* the engine: they turn programmed phases into the effective ``theta``/``phi``
    stored here. Tensors may require grad; the engine differentiates through all of them.

    Attributes:
        layout: the mesh layout (``M = layout.n_mzis`` MZIs, ``N = layout.n_ports`` ports).
        theta: internal phases in rad, real ``(M,)``, float32 or float64.
        phi: external phases in rad, real ``(M,)``, same dtype as ``theta``.
        output_phase: output phase screen ``gamma`` in rad, real ``(N,)``, or ``None`` (zero).
        coupler_error: splitting errors ``(e1, e2)`` in rad, real ``(M, 2)``, or ``None``.
        loss: amplitude transmission of each MZI in ``(0, 1]``, real ``(M,)``, or ``None``.
        nonreciprocal_phase: Faraday-type phase ``psi`` in rad, real ``(M,)``, ``+psi``
            forward and ``-psi`` backward, or ``None`` (reciprocal mesh).
    """

    layout: MeshLayout
    theta: torch.Tensor
    phi: torch.Tensor
    output_phase: torch.Tensor | None = None
    coupler_error: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    nonreciprocal_phase: torch.Tensor | None = None

    def __post_init__(self) -> None:
        m, n = self.layout.n_mzis, self.layout.n_ports
        if not isinstance(self.theta, torch.Tensor) or self.theta.dtype not in (
            torch.float32,
            torch.float64,
        ):
            raise ValueError(
                "theta must be a float32 or float64 tensor of shape (n_mzis,) in rad, got "
                f"{type(self.theta).__name__} {getattr(self.theta, 'dtype', '')}"
            )
        expected = {
            "theta": (m,),
            "phi": (m,),
            "output_phase": (n,),
            "coupler_error": (m, 2),
            "loss": (m,),
            "nonreciprocal_phase": (m,),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"{name} must be a torch.Tensor or None, got {type(value)}")
            if tuple(value.shape) != shape:
                raise ValueError(
                    f"{name} must have shape {shape} for a mesh with {n} ports and {m} MZIs, "
                    f"got {tuple(value.shape)}"
                )
            if value.dtype != self.theta.dtype:
                raise ValueError(
                    f"{name} must have the dtype of theta ({self.theta.dtype}), got {value.dtype}"
                )

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the fields and matrices (complex64 for float32 phases)."""
        return complex_dtype(self.theta.dtype)

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.theta.device

    @property
    def is_reciprocal(self) -> bool:
        """False when a non-reciprocal phase is present (even if it is zero)."""
        return self.nonreciprocal_phase is None

    def entries(
        self, direction: str = "forward"
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(T00, T01, T10, T11)``, each complex ``(M,)``, of every MZI for ``direction``."""
        return mzi_entries(
            self.theta,
            self.phi,
            coupler_error=self.coupler_error,
            loss=self.loss,
            nonreciprocal_phase=self.nonreciprocal_phase,
            direction=direction,
        )

    def output_factor(self) -> torch.Tensor | None:
        """``exp(i gamma)``, complex ``(N,)``, or ``None`` without an output phase screen."""
        if self.output_phase is None:
            return None
        return torch.polar(torch.ones_like(self.output_phase), self.output_phase)
