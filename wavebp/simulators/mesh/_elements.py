r"""Closed-form transfer matrices of the mesh's MZIs, with the hardware terms the engine models.

An MZI of the mesh, seen by light going forward (from the mesh inputs to its outputs), is

.. math::

    T = \eta\, B(e_2)\,\mathrm{diag}(e^{i\theta}, 1)\,B(e_1)\,\mathrm{diag}(e^{i(\phi+\psi)}, 1),

the DESIGN.md convention (:func:`wavebp.devices.mzi`) with two additions:

* ``eta`` in ``(0, 1]``: amplitude transmission of the MZI's insertion loss, lumped at its
  output and equal on both arms (so ``T / eta`` stays unitary);
* ``psi``: a non-reciprocal (Faraday-type) phase on the top input arm, in series with the
  ``phi`` shifter; it adds ``+psi`` for light going forward and ``-psi`` going backward.

Light going *backward* (from the outputs to the inputs) through the same physical MZI sees
the transpose of the forward matrix with ``psi -> -psi`` (Lorentz reciprocity for every
reciprocal part), so for ``psi = 0`` the backward matrix is exactly ``T^T``.

Written out (``c_k = cos(pi/4 + e_k)``, ``s_k = sin(pi/4 + e_k)``, ``phi' = phi + psi``)::

    T00 = eta e^{i phi'} (c1 c2 e^{i theta} - s1 s2)
    T01 = eta i (s1 c2 e^{i theta} + c1 s2)
    T10 = eta i e^{i phi'} (c1 s2 e^{i theta} + s1 c2)
    T11 = eta (c1 c2 - s1 s2 e^{i theta})

The simulators layer does not import :mod:`wavebp.devices`; the tests check this closed form
against :func:`wavebp.devices.mzi`.
"""

from __future__ import annotations

import math

import torch

from wavebp._core import check_choice, complex_dtype

__all__ = ["DIRECTIONS", "mzi_entries", "mzi_transfer"]

DIRECTIONS = ("forward", "backward")
_SQRT_HALF = math.sqrt(0.5)


def mzi_entries(
    theta: torch.Tensor,
    phi: torch.Tensor,
    *,
    coupler_error: torch.Tensor | None = None,
    loss: torch.Tensor | None = None,
    nonreciprocal_phase: torch.Tensor | None = None,
    direction: str = "forward",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The four entries ``(T00, T01, T10, T11)`` of each MZI's transfer matrix.

    Same arguments as :func:`mzi_transfer`; returns four complex tensors of shape ``(...)``.
    Cheaper than building ``(..., 2, 2)`` when the caller scatters the entries anyway.
    """
    check_choice("direction", direction, DIRECTIONS)
    cdt = complex_dtype(theta.dtype)
    if nonreciprocal_phase is not None:
        phi = phi + nonreciprocal_phase if direction == "forward" else phi - nonreciprocal_phase
    e_theta = torch.polar(torch.ones_like(theta), theta)
    e_phi = torch.polar(torch.ones_like(phi), phi)
    if coupler_error is None:
        # Ideal 50:50 couplers: c = s = 1/sqrt(2), so c1 c2 = s1 s2 = c1 s2 = 1/2.
        t00 = e_phi * (e_theta - 1.0) * 0.5
        t01 = (e_theta + 1.0) * 0.5j
        t10 = e_phi * t01
        t11 = (1.0 - e_theta) * 0.5
    else:
        angle = coupler_error + math.pi / 4
        c = torch.cos(angle)
        s = torch.sin(angle)
        c1, c2 = c[..., 0], c[..., 1]
        s1, s2 = s[..., 0], s[..., 1]
        t00 = e_phi * (e_theta * (c1 * c2) - (s1 * s2))
        t01 = (e_theta * (s1 * c2) + (c1 * s2)) * 1j
        t10 = e_phi * (e_theta * (c1 * s2) + (s1 * c2)) * 1j
        t11 = (c1 * c2) - e_theta * (s1 * s2)
    if loss is not None:
        eta = loss.to(cdt)
        t00, t01, t10, t11 = t00 * eta, t01 * eta, t10 * eta, t11 * eta
    if direction == "backward":
        t01, t10 = t10, t01
    return t00, t01, t10, t11


def mzi_transfer(
    theta: torch.Tensor,
    phi: torch.Tensor,
    *,
    coupler_error: torch.Tensor | None = None,
    loss: torch.Tensor | None = None,
    nonreciprocal_phase: torch.Tensor | None = None,
    direction: str = "forward",
) -> torch.Tensor:
    r"""Transfer matrices of MZIs with coupler errors, insertion loss and a non-reciprocal phase.

    Args:
        theta: internal phases in rad, real ``(...)`` (float32 or float64).
        phi: external phases in rad, real, same shape and dtype as ``theta``.
        coupler_error: splitting errors ``(e1, e2)`` of the first and second coupler in rad,
            real ``(..., 2)``, each in ``(-pi/4, pi/4)`` (not checked here: this is the
            engine's inner loop; the device and module layers validate); ``None`` = ideal.
        loss: amplitude transmission ``eta`` of each MZI, real ``(...)`` in ``(0, 1]``;
            ``None`` = lossless.
        nonreciprocal_phase: Faraday-type phase ``psi`` in rad, real ``(...)``, on the top
            input arm; ``None`` = reciprocal.
        direction: ``"forward"`` (inputs to outputs) or ``"backward"`` (outputs to inputs:
            the transposed matrix, with ``-psi``).

    Returns:
        Complex ``(..., 2, 2)`` transfer matrices (complex128 for float64 phases, complex64
        for float32), differentiable in every argument.
    """
    t00, t01, t10, t11 = mzi_entries(
        theta,
        phi,
        coupler_error=coupler_error,
        loss=loss,
        nonreciprocal_phase=nonreciprocal_phase,
        direction=direction,
    )
    return torch.stack([torch.stack([t00, t01], -1), torch.stack([t10, t11], -1)], -2)
