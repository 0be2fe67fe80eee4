r"""Coherent optical thin-film stacks (s and p polarisation), Byrnes' ``tmm`` conventions."""

from __future__ import annotations

import math
from typing import Any

import torch

from wavebp._core import check_choice
from wavebp.simulators.tmm import _common as c
from wavebp.simulators.tmm._engine import amplitudes
from wavebp.simulators.tmm._result import LayerFields, TMMResult

__all__ = ["coherent", "field_profile", "layer_fields"]

POLARIZATIONS = ("s", "p")


def _prepare(n: Any, d: Any, wavelength: Any, angle: Any, polarization: str):
    check_choice("polarization", polarization, POLARIZATIONS)
    n = c.to_complex("n", n)
    if n.ndim < 1:
        raise ValueError(
            f"n must have shape (..., L) with L >= 2 media, got shape {tuple(n.shape)}"
        )
    c.check_media("n", n.shape[-1])
    ni = n.detach()
    if bool((ni.imag < 0).any()):
        raise ValueError(
            "n must have Im(n) >= 0 (passive media; exp(-i omega t) convention, Im(n) > 0 "
            f"absorbs), got Im(n) = {ni.imag.min().item()!r}"
        )
    if bool((ni.real < 0).any()):
        raise ValueError(f"n must have Re(n) >= 0, got Re(n) = {ni.real.min().item()!r}")
    d = c.check_thickness("d", c.to_real("d", d, n, allow_inf=True), n.shape[-1])
    wavelength = c.to_real("wavelength", wavelength, n)
    c.check_range("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    angle = c.to_real("angle", angle, n)
    if bool((angle.detach().abs() >= math.pi / 2).any()):
        bad = angle.detach()[angle.detach().abs() >= math.pi / 2].flatten()[0].item()
        raise ValueError(f"angle must be in (-pi/2, pi/2) rad, got {bad!r}")
    lateral = (ni[..., :1] * torch.sin(angle.detach()).unsqueeze(-1)).imag
    if bool((lateral.abs() > 100 * torch.finfo(lateral.dtype).eps).any()):
        raise ValueError(
            "n[..., 0] * sin(angle) must be real (an absorbing incident medium only at normal "
            f"incidence), got Im = {lateral.abs().max().item()!r}"
        )
    return n, d, wavelength, angle


def _admittance(n: torch.Tensor, angle: torch.Tensor, pol: str):
    """``(s, eta)`` on the batch shape of ``n`` and ``angle`` (not the wavelength).

    ``s = n cos(theta)`` on the forward branch; ``eta = s`` (s) or ``n^2/s`` (p).
    """
    beta = n[..., :1] * torch.sin(angle).unsqueeze(-1)
    s = c.forward_sqrt(n * n - beta * beta)
    eta = s if pol == "s" else n * n / s
    return s, eta


def coherent(
    n: Any,
    d: Any,
    wavelength: Any,
    *,
    angle: Any = 0.0,
    polarization: str = "s",
    gradient: str = "autograd",
    chunk_size: int | None = None,
) -> TMMResult:
    r"""Coherent reflection and transmission of a planar multilayer, batched.

    Conventions are those of Byrnes' ``tmm.coh_tmm``, so results can be compared entry by
    entry: time dependence ``exp(-i omega t)``, ``Im(n) > 0`` absorbs; ``r`` is referenced at
    the first interface and ``t`` maps the incident amplitude at the first interface to the
    transmitted amplitude at the last interface; for p-polarisation ``r`` and ``t`` are
    ratios of full electric-field amplitudes with Byrnes' sign convention
    (``r_p = (n_f cos th_i - n_i cos th_f)/(n_f cos th_i + n_i cos th_f)`` at one interface,
    ``r_p = -r_s`` at normal incidence). ``R = |r|^2``;
    ``T = |t|^2 Re(n_f cos th_f)/Re(n_i cos th_i)`` (s) and
    ``|t|^2 Re(n_f conj(cos th_f))/Re(n_i conj(cos th_i))`` (p); ``A = 1 - R - T``.

    Reciprocity (tested): with ``t_fw`` the transmission of the stack and ``t_bw`` that of the
    mirrored stack at the angle that phase-matches (same lateral wavenumber),
    ``n_f cos(th_f) t_fw = n_i cos(th_i) t_bw`` for both polarisations, lossy and asymmetric
    stacks included; equal media on both sides give ``t_fw = t_bw``.

    The computation is a Redheffer star product of interface/layer scattering matrices
    (stable for thick absorbing layers), vectorised over the whole batch, with one Python
    step per interface; the batch is processed in chunks of ``chunk_size`` points.

    Args:
        n: complex refractive indices of all media including the incident (first) and exit
            (last) ones, shape ``(..., L)``, ``L >= 2``, ``Im(n) >= 0``. Real input is
            promoted to complex of the same precision; non-tensors become complex128.
        d: thicknesses in m, shape ``(L,)`` or ``(..., L)``; the first and last entries
            (semi-infinite media) are ignored and may be ``inf``; the others finite ``>= 0``.
        wavelength: vacuum wavelength in m, ``> 0``, broadcasting with ``n.shape[:-1]``.
        angle: angle of incidence in rad in the incident medium, ``(-pi/2, pi/2)``,
            broadcasting with ``n.shape[:-1]`` and ``wavelength``.
        polarization: ``"s"`` (TE) or ``"p"`` (TM).
        gradient: ``"autograd"`` (torch records the sweep) or ``"adjoint"`` (a custom
            autograd Function whose backward pass builds the adjoint field from the forward
            field and the field for illumination from the exit side, and evaluates closed-form
            overlap integrals per layer; see ``wavebp.simulators.tmm._engine``). Both give the
            same gradients w.r.t. ``n``, ``d``, ``wavelength`` and ``angle``.
        chunk_size: number of batch points processed at once (memory bound); default 16384.

    Returns:
        :class:`TMMResult` with ``r``, ``t`` (complex) and ``R``, ``T``, ``A`` (real), each of
        the broadcast batch shape.

    Raises:
        ValueError: for fewer than 2 media, mismatched lengths, negative or non-finite
            thicknesses, non-finite or gain (``Im(n) < 0``) indices, non-positive
            wavelengths, angles outside ``(-pi/2, pi/2)``, an unknown polarization or
            gradient.
    """
    c.check_gradient(gradient)
    chunk = c.check_chunk(chunk_size)
    n, d, wavelength, angle = _prepare(n, d, wavelength, angle, polarization)
    s, eta = _admittance(n, angle, polarization)
    s_i, s_f = s[..., 0], s[..., -1]
    if polarization == "s":
        t_factor, flux = None, s_f.real / s_i.real
    else:
        cos_i, cos_f = s_i / n[..., 0], s_f / n[..., -1]
        t_factor = cos_i / cos_f
        flux = (n[..., -1] * cos_f.conj()).real / (n[..., 0] * cos_i.conj()).real
    r, t, R, T, A = c.solve(
        eta=eta,
        slowness=s,
        r_sign=1.0 if polarization == "s" else -1.0,
        t_factor=t_factor,
        flux=flux,
        scale=2 * math.pi / wavelength,
        thickness=d,
        chunk_size=chunk,
        gradient=gradient,
    )
    return TMMResult(r=r, t=t, R=R, T=T, A=A)


def layer_fields(
    n: Any, d: Any, wavelength: Any, *, angle: Any = 0.0, polarization: str = "s"
) -> LayerFields:
    """Forward and backward partial-wave amplitudes in every medium (see :class:`LayerFields`).

    Args:
        n: complex refractive indices ``(..., L)`` as in :func:`coherent`.
        d: thicknesses in m, ``(L,)`` or ``(..., L)``, as in :func:`coherent`.
        wavelength: vacuum wavelength in m, broadcasting with ``n.shape[:-1]``.
        angle: angle of incidence in rad in the incident medium.
        polarization: ``"s"`` or ``"p"``.

    Returns:
        :class:`LayerFields` with tensors of shape ``(..., L)`` (boundaries ``(..., L-1)``),
        for an incident wave of unit (full) electric-field amplitude.
    """
    n, d, wavelength, angle = _prepare(n, d, wavelength, angle, polarization)
    s, eta = _admittance(n, angle, polarization)
    scale = 2 * math.pi / wavelength
    amplitude = 1.0
    if polarization == "p":
        amplitude = s[..., 0] / n[..., 0]  # tangential amplitude of a unit full amplitude
    return _fields(eta, s, scale, d, amplitude)


@torch.no_grad()
def _fields(eta, s, scale, d, amplitude) -> LayerFields:
    """Shared by the optical and acoustic field functions (batch shapes broadcast).

    Not differentiable (the partial waves are for plotting and inspection; gradients go
    through :func:`coherent` / :func:`acoustic`)."""
    shape = tuple(torch.broadcast_shapes(eta.shape[:-1], scale.shape, d.shape[:-1]))
    n_media = eta.shape[-1]
    eta = eta.expand(*shape, n_media)
    kz = (scale.unsqueeze(-1) * s).expand(*shape, n_media)
    d_int = d[..., 1:-1].expand(*shape, n_media - 2)
    n_points = math.prod(shape)
    kd = (d_int * scale.unsqueeze(-1)).reshape(n_points, n_media - 2).t()
    slow = s[..., 1:-1].expand(*shape, n_media - 2).reshape(n_points, n_media - 2).t()
    eta_l = eta.reshape(n_points, n_media).t().contiguous()
    a, b = amplitudes(eta_l, c.propagator(kd, slow))
    a = a.t().reshape(*shape, n_media)
    b = b.t().reshape(*shape, n_media)
    if not isinstance(amplitude, float):
        amp = amplitude.expand(shape).unsqueeze(-1)
        a, b = a * amp, b * amp
    bounds = torch.cat([d_int.new_zeros(*shape, 1), torch.cumsum(d_int, dim=-1)], dim=-1)
    return LayerFields(forward=a, backward=b, kz=kz, admittance=eta, boundaries=bounds)


def profile(fields: LayerFields, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Tangential fields ``(E, H)`` at positions ``z`` (m), shape ``(..., Z)``."""
    bounds = fields.boundaries
    shape = bounds.shape[:-1]
    zz = z.to(bounds.dtype).expand(*shape, z.shape[-1]).contiguous()
    layer = torch.searchsorted(bounds.contiguous(), zz, right=True)  # 0 .. L-1
    n_media = fields.forward.shape[-1]
    starts = torch.cat([bounds[..., :1], bounds], dim=-1)  # z_j of layer j (0 for incident)
    thick = torch.cat(
        [bounds.new_zeros(*shape, 1), bounds.diff(dim=-1), bounds.new_zeros(*shape, 1)], -1
    )
    kz, eta = fields.kz, fields.admittance
    a = fields.forward.gather(-1, layer)
    b = fields.backward.gather(-1, layer)
    k = kz.gather(-1, layer)
    y = eta.gather(-1, layer)
    s = zz - starts.gather(-1, layer)
    dj = thick.gather(-1, layer)
    interior = (layer > 0) & (layer < n_media - 1)
    # interior: backward wave referenced at the right end; ends: both at the interface
    back_arg = torch.where(interior, dj - s, -s)
    fw = a * torch.exp(1j * k * s)
    bw = b * torch.exp(1j * k * back_arg)
    return fw + bw, y * (fw - bw)


def field_profile(
    n: Any,
    d: Any,
    wavelength: Any,
    z: Any,
    *,
    angle: Any = 0.0,
    polarization: str = "s",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Standing-wave field profile across the stack.

    Args:
        n: complex refractive indices ``(..., L)`` as in :func:`coherent`.
        d: thicknesses in m, ``(L,)`` or ``(..., L)``.
        wavelength: vacuum wavelength in m, broadcasting with ``n.shape[:-1]``.
        z: positions in m, shape ``(Z,)``; ``z = 0`` is the first interface, ``z < 0`` the
            incident medium, beyond the total thickness the exit medium.
        angle: angle of incidence in rad.
        polarization: ``"s"`` or ``"p"``.

    Returns:
        ``(E, H)``, complex, shape ``(..., Z)``: tangential electric field and tangential
        magnetic field times the vacuum impedance, for unit incident (full) amplitude; the
        normal power flux is ``Re(E conj(H))/2`` in units of ``|E_inc|^2/Z_0``.
    """
    fields = layer_fields(n, d, wavelength, angle=angle, polarization=polarization)
    z = c.to_real("z", z, fields.forward)
    return profile(fields, z)
