r"""Post-fabrication correction of coupler errors (after Bandyopadhyay, Hamerly & Englund,
"Hardware error correction for programmable photonics", Optica 8, 1247 (2021)).

A fabricated MZI has couplers ``B(e1)``, ``B(e2)`` with measured splitting errors. Given the
phases ``(theta, phi)`` of the *target* MZI (ideal 50:50 couplers) and the residual phases
``r`` the light already carries on the MZI's two input waveguides (relative to the target
mesh), the MZI is re-programmed column by column:

1. ``theta'`` makes the imperfect MZI's power splitting equal the target's. With
   ``c_k = cos(pi/4 + e_k)``, ``s_k = sin(pi/4 + e_k)`` the cross power of
   ``B(e2) diag(exp(i theta'), 1) B(e1)`` is
   ``s2^2 c1^2 + c2^2 s1^2 + 2 s1 c1 s2 c2 cos(theta')`` and the target's is
   ``cos^2(theta / 2)``; so ``cos(theta') = (cos^2(theta/2) - s2^2 c1^2 - c2^2 s1^2) /
   (2 s1 c1 s2 c2)`` (closed form). The reachable cross power is
   ``[sin^2(e2 - e1), cos^2(e1 + e2)]``; outside it the cosine is clipped to ``[-1, 1]``,
   the nearest reachable splitting (the correction is then only partial, as in the paper).
   The sign of ``theta'`` follows ``sin(theta)``.
2. With the moduli matched, the imperfect MZI equals the wanted one,
   ``W' = MZI_ideal(theta, phi) diag(exp(-i r))`` (the incoming residuals removed), up to
   an input phase and two output phases:
   ``W' = diag(exp(i alpha), exp(i beta)) U(theta') diag(exp(i phi'), 1)``. ``phi'`` (the
   external shifter) absorbs the input part; the output phases ``-alpha, -beta`` become the
   residuals carried to the next column (the paper's propagation of phase errors through the
   mesh). Waveguides without an MZI in a column keep their residuals.
3. The output phase screen absorbs the final residuals: ``gamma' = gamma - r``.

For errors inside the reachable range the corrected mesh reproduces the target unitary
exactly (to rounding); measured static phase offsets, if given, are subtracted from the
programmed phases (a calibrated chip knows them).
"""

from __future__ import annotations

import math

import torch

from wavebp.devices import mzi
from wavebp.simulators.mesh import MeshLayout

__all__ = ["correct_phases", "matrix_fidelity"]

_TWO_PI = 2 * math.pi


def _wrap(x: torch.Tensor) -> torch.Tensor:
    return torch.remainder(x, _TWO_PI)


def correct_phases(
    layout: MeshLayout,
    *,
    theta: torch.Tensor,
    phi: torch.Tensor,
    output_phase: torch.Tensor,
    coupler_error: torch.Tensor,
    theta_offset: torch.Tensor | None = None,
    phi_offset: torch.Tensor | None = None,
    common_phase: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Re-programmed phases that make an imperfect mesh implement the ideal target mesh.

    Args:
        layout: the mesh layout (``M`` MZIs, ``N`` ports).
        theta: target internal phases in rad (ideal couplers), real ``(M,)``.
        phi: target external phases in rad, real ``(M,)``.
        output_phase: target output phase screen in rad, real ``(N,)``.
        coupler_error: measured splitting errors ``(e1, e2)`` of the chip in rad, real
            ``(M, 2)``, each in ``(-pi/4, pi/4)``.
        theta_offset: measured static offsets of the internal shifters in rad, ``(M,)``
            (``None``: not corrected).
        phi_offset: measured static offsets of the external shifters in rad, ``(M,)``.
        common_phase: measured common-mode phase of each MZI in rad, ``(M,)`` (both of its
            outputs carry ``exp(i common_phase)``, e.g. the couplers' excess through-phase);
            it joins the residuals passed on to the next column. ``None``: 0.

    Returns:
        ``(theta', phi', output_phase')`` in rad, wrapped to ``[0, 2 pi)``, dtype of
        ``theta`` (computed in float64): the phases to program so that the imperfect mesh
        (with ``coupler_error`` and the offsets) implements the target.
    """
    m, n = layout.n_mzis, layout.n_ports
    for name, value, shape in (
        ("theta", theta, (m,)),
        ("phi", phi, (m,)),
        ("output_phase", output_phase, (n,)),
        ("coupler_error", coupler_error, (m, 2)),
        *(
            (name, value, (m,))
            for name, value in (
                ("theta_offset", theta_offset),
                ("phi_offset", phi_offset),
                ("common_phase", common_phase),
            )
            if value is not None
        ),
    ):
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            raise ValueError(
                f"{name} must be a real tensor of shape {shape} in rad, got "
                f"{getattr(value, 'shape', type(value).__name__)}"
            )
    out_dtype = theta.dtype
    t = theta.detach().double()
    p = phi.detach().double()
    e = coupler_error.detach().double()
    if bool((e.abs() >= math.pi / 4).any()):
        raise ValueError(
            f"coupler_error must be in (-pi/4, pi/4) rad, got |e| = {float(e.abs().max())!r}"
        )
    new_theta = torch.empty_like(t)
    new_phi = torch.empty_like(p)
    residual = t.new_zeros(n)
    start = layout.column_start
    tops = torch.as_tensor(layout.top_port)
    for c in range(layout.n_columns):
        sl = slice(int(start[c]), int(start[c + 1]))
        if sl.start == sl.stop:
            continue
        top = tops[sl]
        th, ph, ec = t[sl], p[sl], e[sl]
        c1, s1 = torch.cos(math.pi / 4 + ec[:, 0]), torch.sin(math.pi / 4 + ec[:, 0])
        c2, s2 = torch.cos(math.pi / 4 + ec[:, 1]), torch.sin(math.pi / 4 + ec[:, 1])
        cross = torch.cos(th / 2).square()
        cos_t = (cross - (s2 * c1).square() - (c2 * s1).square()) / (2 * s1 * c1 * s2 * c2)
        sign = torch.where(torch.sin(th) < 0, -1.0, 1.0).to(t.dtype)
        th_new = sign * torch.arccos(cos_t.clamp(-1.0, 1.0))
        # wanted 2x2: the ideal MZI with the incoming residuals removed
        r_in = torch.stack([residual[top], residual[top + 1]], -1)  # (P, 2)
        w = mzi(th, ph) * torch.polar(torch.ones_like(r_in), -r_in).unsqueeze(-2)
        u = mzi(th_new, torch.zeros_like(th_new), coupler_error=ec)
        # W' = diag(e^{i alpha}, e^{i beta}) U diag(e^{i phi'}, 1): weighted phase fits
        z = w[:, 0, 0] * u[:, 0, 0].conj() * (w[:, 0, 1] * u[:, 0, 1].conj()).conj()
        z = z + w[:, 1, 0] * u[:, 1, 0].conj() * (w[:, 1, 1] * u[:, 1, 1].conj()).conj()
        ph_new = torch.where(z.abs() > 1e-24, torch.angle(z), ph)
        ep = torch.polar(torch.ones_like(ph_new), ph_new)
        alpha = torch.angle(w[:, 0, 1] * u[:, 0, 1].conj() + w[:, 0, 0] * (u[:, 0, 0] * ep).conj())
        beta = torch.angle(w[:, 1, 1] * u[:, 1, 1].conj() + w[:, 1, 0] * (u[:, 1, 0] * ep).conj())
        common = 0.0 if common_phase is None else common_phase.detach().double()[sl]
        residual = residual.clone()
        residual[top] = common - alpha
        residual[top + 1] = common - beta
        new_theta[sl] = th_new
        new_phi[sl] = ph_new
    new_gamma = output_phase.detach().double() - residual
    if theta_offset is not None:
        new_theta = new_theta - theta_offset.detach().double()
    if phi_offset is not None:
        new_phi = new_phi - phi_offset.detach().double()
    return (
        _wrap(new_theta).to(out_dtype),
        _wrap(new_phi).to(out_dtype),
        _wrap(new_gamma).to(out_dtype),
    )


def matrix_fidelity(target: torch.Tensor, actual: torch.Tensor) -> torch.Tensor:
    r"""Fidelity ``|tr(U^H V)|^2 / (N tr(V^H V))`` of ``actual`` ``V`` to a unitary ``U``.

    1 iff ``V = c U`` for a scalar ``c`` (global phase and uniform loss ignored); in
    ``[0, 1]`` by Cauchy–Schwarz.

    Args:
        target: unitary ``U``, complex ``(..., N, N)``.
        actual: implemented matrix ``V``, complex ``(..., N, N)``.

    Returns:
        Real tensor ``(...)``.
    """
    if target.shape != actual.shape or target.shape[-1] != target.shape[-2]:
        raise ValueError(
            "target and actual must be square matrices of the same shape, got "
            f"{tuple(target.shape)} and {tuple(actual.shape)}"
        )
    n = target.shape[-1]
    overlap = (target.conj() * actual).sum((-2, -1))
    norm = (actual.conj() * actual).real.sum((-2, -1))
    return overlap.abs().square() / (n * norm)
