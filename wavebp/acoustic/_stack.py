"""A trainable stack of fluid layers (acoustic impedance-matching network)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wavebp._core import check_real, from_bounded, to_bounded
from wavebp.simulators.tmm import TMMResult, acoustic

__all__ = ["AcousticStack"]


class AcousticStack(nn.Module):
    r"""Fluid layers between two half-spaces, with trainable thicknesses and sound speeds.

    Smooth reparametrisation within physical bounds:
    ``thickness_j = t_min + (t_max - t_min) sigmoid(u_j)`` and
    ``speed_j = c_min + (c_max - c_min) sigmoid(v_j)``; the layer densities are fixed
    (so the impedance ``Z_j = rho_j c_j`` is trained through the speed).

    Args:
        thickness: initial thicknesses in m, ``(L,)``, strictly inside ``thickness_bounds``.
        speed: initial sound speeds in m/s, ``(L,)``, strictly inside ``speed_bounds``.
        density: layer densities in kg/m^3, ``(L,)``, ``> 0``.
        incident: ``(density kg/m^3, speed m/s)`` of the incident half-space.
        exit: ``(density kg/m^3, speed m/s)`` of the exit half-space.
        thickness_bounds: ``(t_min, t_max)`` in m.
        speed_bounds: ``(c_min, c_max)`` in m/s.

    Parameters and buffers are float64; move the module with ``.to``.
    """

    def __init__(
        self,
        *,
        thickness: Any,
        speed: Any,
        density: Any,
        incident: tuple[float, float] = (1000.0, 1480.0),
        exit: tuple[float, float] = (1800.0, 4000.0),
        thickness_bounds: tuple[float, float] = (1e-5, 2e-2),
        speed_bounds: tuple[float, float] = (300.0, 6000.0),
    ) -> None:
        super().__init__()
        thickness = torch.as_tensor(thickness, dtype=torch.float64)
        speed = torch.as_tensor(speed, dtype=torch.float64)
        density = torch.as_tensor(density, dtype=torch.float64)
        if (
            thickness.ndim != 1
            or speed.shape != thickness.shape
            or density.shape != thickness.shape
        ):
            raise ValueError(
                "thickness, speed and density must be 1-D with one entry per layer, got "
                f"{tuple(thickness.shape)}, {tuple(speed.shape)}, {tuple(density.shape)}"
            )
        if not bool((density > 0).all()):
            raise ValueError(f"density must be in (0, inf) kg/m^3, got {density.min().item()!r}")
        t_lo = check_real("thickness_bounds[0]", thickness_bounds[0], low=0.0, unit="m")
        t_hi = check_real(
            "thickness_bounds[1]", thickness_bounds[1], low=t_lo, low_inclusive=False, unit="m"
        )
        c_lo = check_real(
            "speed_bounds[0]", speed_bounds[0], low=0.0, low_inclusive=False, unit="m/s"
        )
        c_hi = check_real(
            "speed_bounds[1]", speed_bounds[1], low=c_lo, low_inclusive=False, unit="m/s"
        )
        self.thickness_bounds = (t_lo, t_hi)
        self.speed_bounds = (c_lo, c_hi)
        self.incident = (
            check_real(
                "incident[0] (density)", incident[0], low=0.0, low_inclusive=False, unit="kg/m^3"
            ),
            check_real(
                "incident[1] (speed)", incident[1], low=0.0, low_inclusive=False, unit="m/s"
            ),
        )
        self.exit = (
            check_real("exit[0] (density)", exit[0], low=0.0, low_inclusive=False, unit="kg/m^3"),
            check_real("exit[1] (speed)", exit[1], low=0.0, low_inclusive=False, unit="m/s"),
        )
        self.register_buffer("density", density.clone())
        self.raw_thickness = nn.Parameter(
            from_bounded("thickness", thickness, low=t_lo, high=t_hi, unit="m")
        )
        self.raw_speed = nn.Parameter(from_bounded("speed", speed, low=c_lo, high=c_hi, unit="m/s"))

    def thickness(self) -> torch.Tensor:
        """Layer thicknesses in m, ``(L,)``."""
        lo, hi = self.thickness_bounds
        return to_bounded(self.raw_thickness, lo, hi)

    def speed(self) -> torch.Tensor:
        """Layer sound speeds in m/s, ``(L,)``."""
        lo, hi = self.speed_bounds
        return to_bounded(self.raw_speed, lo, hi)

    def media(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(density, speed, thickness)`` incl. the half-spaces, shapes ``(L+2,)``."""
        c = self.speed()
        one = c.new_ones(1)
        density = torch.cat([one * self.incident[0], self.density, one * self.exit[0]])
        speed = torch.cat([one * self.incident[1], c, one * self.exit[1]])
        zero = c.new_zeros(1)
        return density, speed, torch.cat([zero, self.thickness(), zero])

    def forward(self, frequency: Any, *, angle: Any = 0.0, gradient: str = "adjoint") -> TMMResult:
        """Response at ``frequency`` (Hz, any shape) and ``angle`` (rad); see ``acoustic``."""
        density, speed, thickness = self.media()
        return acoustic(density, speed, thickness, frequency, angle=angle, gradient=gradient)
