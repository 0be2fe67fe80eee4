r"""Layered fluid media for plane acoustic waves (pressure / normal particle velocity)."""

from __future__ import annotations

import math
from typing import Any

import torch

from wavebp.simulators.tmm import _common as c
from wavebp.simulators.tmm._optics import _fields, profile
from wavebp.simulators.tmm._result import LayerFields, TMMResult

__all__ = ["acoustic", "acoustic_field_profile", "acoustic_layer_fields"]


def _prepare(density: Any, speed: Any, thickness: Any, frequency: Any, angle: Any):
    speed = c.to_complex("speed", speed)
    if speed.ndim < 1:
        raise ValueError(f"speed must have shape (..., L) with L >= 2, got {tuple(speed.shape)}")
    c.check_media("speed", speed.shape[-1])
    sp = speed.detach()
    if bool((sp.real <= 0).any()):
        raise ValueError(f"speed must have Re(c) > 0 m/s, got {sp.real.min().item()!r}")
    if bool(((1 / sp).imag < 0).any()):
        raise ValueError(
            "speed must be passive, Im(1/c) >= 0 (Im(k) > 0 absorbs; i.e. Im(c) <= 0), got "
            f"Im(c) = {sp.imag.max().item()!r}"
        )
    density = c.to_real("density", density, speed)
    if density.ndim < 1 or density.shape[-1] != speed.shape[-1]:
        raise ValueError(
            f"density must have {speed.shape[-1]} entries along its last axis (like speed), "
            f"got shape {tuple(density.shape)}"
        )
    c.check_range("density", density, low=0.0, low_inclusive=False, unit="kg/m^3")
    thickness = c.check_thickness(
        "thickness", c.to_real("thickness", thickness, speed, allow_inf=True), speed.shape[-1]
    )
    frequency = c.to_real("frequency", frequency, speed)
    c.check_range("frequency", frequency, low=0.0, low_inclusive=False, unit="Hz")
    angle = c.to_real("angle", angle, speed)
    if bool((angle.detach().abs() >= math.pi / 2).any()):
        bad = angle.detach()[angle.detach().abs() >= math.pi / 2].flatten()[0].item()
        raise ValueError(f"angle must be in (-pi/2, pi/2) rad, got {bad!r}")
    if bool((sp[..., 0].imag != 0).any() & (angle.detach() != 0).any()):
        raise ValueError(
            "speed[..., 0] must be real (a lossless incident medium) at oblique incidence, got "
            f"Im = {sp[..., 0].imag.abs().max().item()!r}"
        )
    return density, speed, thickness, frequency, angle


def _admittance(density, speed, angle):
    """``(q, q/rho)``: normal slowness ``q = kz/omega`` (s/m) and admittance per omega."""
    slow = 1.0 / speed
    lateral = slow[..., :1] * torch.sin(angle).unsqueeze(-1)
    q = c.forward_sqrt(slow * slow - lateral * lateral)
    return q, q / density


def acoustic(
    density: Any,
    speed: Any,
    thickness: Any,
    frequency: Any,
    *,
    angle: Any = 0.0,
    gradient: str = "autograd",
    chunk_size: int | None = None,
) -> TMMResult:
    r"""Plane-wave reflection and transmission of a stack of fluid layers, batched.

    The continuous fields are the pressure ``p`` and the normal particle velocity ``v_z``;
    each layer has impedance ``Z = rho c`` and tilted admittance ``Y = cos(theta)/(rho c)``.
    ``r`` and ``t`` are pressure amplitude ratios (referenced at the first and last
    interface), ``R = |r|^2``, ``T = |t|^2 Re(Y_exit)/Re(Y_incident)`` (intensity flux),
    ``A = 1 - R - T``. One interface at normal incidence: ``r = (Z2 - Z1)/(Z2 + Z1)``. Time
    dependence ``exp(-i omega t)``; absorption through a complex sound speed with
    ``Im(1/c) > 0``. Same engine and gradient options as :func:`coherent`.

    Args:
        density: mass densities in kg/m^3, ``> 0``, shape ``(..., L)`` (first and last:
            incident and exit half-spaces).
        speed: sound speeds in m/s, real or complex, ``Re(c) > 0``, shape ``(..., L)``.
        thickness: layer thicknesses in m, ``(L,)`` or ``(..., L)``; the ends are ignored
            (``inf`` allowed), the others finite ``>= 0``.
        frequency: frequency in Hz, ``> 0``, broadcasting with the leading dimensions.
        angle: angle of incidence in rad in the incident medium, ``(-pi/2, pi/2)``.
        gradient: ``"autograd"`` or ``"adjoint"`` (see :func:`coherent`).
        chunk_size: batch points processed at once; default 16384.

    Returns:
        :class:`TMMResult` of the broadcast batch shape.

    Raises:
        ValueError: for bad shapes or values, naming the parameter, range and value.
    """
    c.check_gradient(gradient)
    chunk = c.check_chunk(chunk_size)
    density, speed, thickness, frequency, angle = _prepare(
        density, speed, thickness, frequency, angle
    )
    q, y = _admittance(density, speed, angle)
    r, t, R, T, A = c.solve(
        eta=y,
        slowness=q,
        r_sign=1.0,
        t_factor=None,
        flux=y[..., -1].real / y[..., 0].real,
        scale=2 * math.pi * frequency,
        thickness=thickness,
        chunk_size=chunk,
        gradient=gradient,
    )
    return TMMResult(r=r, t=t, R=R, T=T, A=A)


def acoustic_layer_fields(
    density: Any, speed: Any, thickness: Any, frequency: Any, *, angle: Any = 0.0
) -> LayerFields:
    """Pressure partial-wave amplitudes per layer (see :class:`LayerFields`), unit incidence.

    Args: as :func:`acoustic`.

    Returns:
        :class:`LayerFields`; ``admittance`` is ``Y = kz/(omega rho)`` in m/(Pa s).
    """
    density, speed, thickness, frequency, angle = _prepare(
        density, speed, thickness, frequency, angle
    )
    q, y = _admittance(density, speed, angle)
    return _fields(y, q, 2 * math.pi * frequency, thickness, 1.0)


def acoustic_field_profile(
    density: Any,
    speed: Any,
    thickness: Any,
    frequency: Any,
    z: Any,
    *,
    angle: Any = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pressure and normal particle velocity across the stack for unit incident pressure.

    Args:
        density, speed, thickness, frequency, angle: as :func:`acoustic`.
        z: positions in m, shape ``(Z,)``, ``z = 0`` at the first interface.

    Returns:
        ``(p, v_z)``, complex, shape ``(..., Z)``, in Pa and m/s per Pa of incident pressure.
    """
    fields = acoustic_layer_fields(density, speed, thickness, frequency, angle=angle)
    z = c.to_real("z", z, fields.forward)
    return profile(fields, z)
