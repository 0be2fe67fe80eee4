"""A trainable optical thin-film stack: the layered-media network of the paper taken literally."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from wavebp._core import check_choice, check_real, from_bounded, to_bounded
from wavebp.simulators.tmm import TMMResult, coherent

__all__ = ["ThinFilmStack"]


class ThinFilmStack(nn.Module):
    r"""Multilayer between an incident medium and a substrate, with trainable layers.

    Each layer's thickness and (optionally) real refractive index are kept within physical
    bounds by a smooth sigmoid reparametrisation of unconstrained parameters ``u``, ``v``:

    .. math::

        d_j = d_{min} + (d_{max} - d_{min})\,\sigma(u_j), \qquad
        n_j = n_{min} + (n_{max} - n_{min})\,\sigma(v_j),

    so any optimiser step gives a realisable stack (no clipping, gradients stay smooth; near
    a bound the gradient shrinks by ``sigma'``). The forward pass is
    :func:`wavebp.simulators.tmm.coherent` with the adjoint-field gradient by default: the
    gradient w.r.t. each layer comes from the overlap of the forward field and the field
    injected back from the output ports (the layer-wise "incident x reflected wave"
    correlation of the seed paper).

    Args:
        thickness: initial layer thicknesses in m, shape ``(L,)``, strictly inside
            ``thickness_bounds``.
        index: initial (real) refractive indices of the layers, shape ``(L,)``; strictly
            inside ``index_bounds`` if ``trainable_index``.
        incident_index: refractive index of the incident half-space (real, >= 1).
        substrate_index: complex refractive index of the exit half-space (``Im >= 0``).
        thickness_bounds: ``(d_min, d_max)`` in m, ``0 <= d_min < d_max``.
        index_bounds: ``(n_min, n_max)``, ``1 <= n_min < n_max``.
        trainable_index: whether the indices are parameters (else fixed buffers).
        extinction: extinction coefficient ``k`` added as ``n + i k`` to every layer
            (fixed), ``>= 0``.

    Parameters and buffers are float64 (complex128 fields); move the module with ``.to``.
    """

    def __init__(
        self,
        *,
        thickness: Any,
        index: Any,
        incident_index: float = 1.0,
        substrate_index: complex = 1.52,
        thickness_bounds: tuple[float, float] = (1e-9, 500e-9),
        index_bounds: tuple[float, float] = (1.3, 2.6),
        trainable_index: bool = False,
        extinction: float = 0.0,
    ) -> None:
        super().__init__()
        thickness = torch.as_tensor(thickness, dtype=torch.float64)
        index = torch.as_tensor(index, dtype=thickness.dtype)
        if thickness.ndim != 1 or index.shape != thickness.shape:
            raise ValueError(
                "thickness and index must be 1-D with one entry per layer, got shapes "
                f"{tuple(thickness.shape)} and {tuple(index.shape)}"
            )
        d_lo = check_real("thickness_bounds[0]", thickness_bounds[0], low=0.0, unit="m")
        d_hi = check_real(
            "thickness_bounds[1]", thickness_bounds[1], low=d_lo, low_inclusive=False, unit="m"
        )
        n_lo = check_real("index_bounds[0]", index_bounds[0], low=1.0)
        n_hi = check_real("index_bounds[1]", index_bounds[1], low=n_lo, low_inclusive=False)
        self.incident_index = check_real("incident_index", incident_index, low=1.0)
        sub = complex(substrate_index)
        if not (sub.real >= 1.0 and sub.imag >= 0.0):
            raise ValueError(f"substrate_index must have Re >= 1 and Im >= 0, got {sub!r}")
        self.substrate_index = sub
        self.extinction = check_real("extinction", extinction, low=0.0)
        self.thickness_bounds = (d_lo, d_hi)
        self.index_bounds = (n_lo, n_hi)
        self.raw_thickness = nn.Parameter(
            from_bounded("thickness", thickness, low=d_lo, high=d_hi, unit="m")
        )
        if trainable_index:
            self.raw_index = nn.Parameter(
                from_bounded("index", index, low=n_lo, high=n_hi, unit="")
            )
        else:
            self.register_buffer("fixed_index", index.clone())
            self.raw_index = None

    @property
    def n_layers(self) -> int:
        return self.raw_thickness.shape[0]

    def thickness(self) -> torch.Tensor:
        """Layer thicknesses in m, shape ``(L,)``, within ``thickness_bounds``."""
        lo, hi = self.thickness_bounds
        return to_bounded(self.raw_thickness, lo, hi)

    def index(self) -> torch.Tensor:
        """Real layer indices, shape ``(L,)``."""
        if self.raw_index is None:
            return self.fixed_index
        lo, hi = self.index_bounds
        return to_bounded(self.raw_index, lo, hi)

    def media(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(n, d)`` of the whole stack incl. the half-spaces: shapes ``(L+2,)``."""
        layers = torch.complex(self.index(), torch.full_like(self.index(), self.extinction))
        n = torch.cat(
            [
                layers.new_full((1,), self.incident_index),
                layers,
                layers.new_full((1,), self.substrate_index),
            ]
        )
        d = self.thickness()
        zero = d.new_zeros(1)
        return n, torch.cat([zero, d, zero])

    def forward(
        self,
        wavelength: Any,
        *,
        angle: Any = 0.0,
        polarization: str = "s",
        gradient: str = "adjoint",
    ) -> TMMResult:
        """Response of the stack.

        Args:
            wavelength: vacuum wavelengths in m, any shape.
            angle: angle of incidence in rad, broadcasting with ``wavelength``.
            polarization: ``"s"`` or ``"p"``.
            gradient: ``"adjoint"`` (default) or ``"autograd"``.

        Returns:
            :class:`wavebp.simulators.tmm.TMMResult` of the broadcast shape.
        """
        check_choice("polarization", polarization, ("s", "p"))
        n, d = self.media()
        return coherent(n, d, wavelength, angle=angle, polarization=polarization, gradient=gradient)
