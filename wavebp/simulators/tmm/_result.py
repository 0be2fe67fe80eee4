"""Result types of the layered-media engine."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LayerFields", "TMMResult"]


@dataclass(frozen=True, kw_only=True)
class TMMResult:
    """Amplitude and power response of a layered stack; all tensors have the batch shape.

    Attributes:
        r: complex amplitude reflection coefficient, referenced at the first interface.
        t: complex amplitude transmission coefficient, incident amplitude at the first
            interface to transmitted amplitude at the last interface (optics: Byrnes' ``tmm``
            convention, which for p-polarisation uses the full electric-field amplitude;
            acoustics: pressure).
        R: reflected power fraction, ``|r|^2``.
        T: transmitted power fraction (normal Poynting/intensity flux ratio).
        A: absorbed power fraction, ``1 - R - T``.
    """

    r: torch.Tensor
    t: torch.Tensor
    R: torch.Tensor
    T: torch.Tensor
    A: torch.Tensor


@dataclass(frozen=True, kw_only=True)
class LayerFields:
    r"""Partial-wave amplitudes in every medium, for unit incidence from the incident side.

    Inside interior layer ``j`` (``z_j <= z <= z_{j+1}``, ``s = z - z_j``) the tangential
    field is ``E = forward_j exp(i kz_j s) + backward_j exp(i kz_j (d_j - s))``: the forward
    amplitude is referenced at the layer's left boundary, the backward one at its right
    boundary (so neither overflows in thick absorbing layers). In the incident medium both
    are referenced at ``z = 0``, in the exit medium at the last interface. ``E`` is the
    tangential electric field (optics; for p-polarisation the x component, with the incident
    wave normalised to unit full amplitude as in Byrnes' ``tmm``) or the pressure
    (acoustics). ``H = admittance * (forward wave - backward wave)`` is the tangential
    magnetic field times the vacuum impedance (optics) or the normal particle velocity in
    m/s per Pa of incident pressure (acoustics).

    Attributes:
        forward: forward (+z) amplitudes, complex, shape ``(..., L)``.
        backward: backward (-z) amplitudes, complex, shape ``(..., L)``.
        kz: normal wavenumbers, rad/m, complex, shape ``(..., L)``.
        admittance: tilted admittance ``eta`` of each medium (module docs), ``(..., L)``.
        boundaries: interface positions ``z_1 .. z_{L-1}``, m, shape ``(..., L-1)``
            (the first is 0).
    """

    forward: torch.Tensor
    backward: torch.Tensor
    kz: torch.Tensor
    admittance: torch.Tensor
    boundaries: torch.Tensor
