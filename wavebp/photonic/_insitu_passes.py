r"""The three physical passes of in-situ backpropagation through one MZI mesh.

Fields are simulated column by column through the *physical* device described by a
:class:`wavebp.simulators.mesh.MeshParams` (effective phases after DAC quantisation and
thermal crosstalk, coupler splitting errors, per-MZI insertion loss ``eta`` lumped at each
MZI's output, optional non-reciprocal phase ``psi`` in series with ``phi``), and recorded at
every phase shifter:

* ``phi`` shifter of MZI ``m``: on its top input arm, just after ``exp(i(phi + psi))``;
* ``theta`` shifter of MZI ``m``: on its top internal arm, just after ``exp(i theta)``;
* output phase screen ``gamma_q``: at output port ``q`` (just after ``exp(i gamma_q)``).

Forward through one MZI (``c_k = cos(pi/4 + e_k)``, ``s_k = sin(pi/4 + e_k)``)::

    a_phi   = x_top * exp(i (phi + psi))                      <- recorded
    u       = B(e1) [a_phi, x_bot]
    a_theta = u_top * exp(i theta)                            <- recorded
    out     = eta * B(e2) [a_theta, u_bot]

Backward (light injected at the outputs; every reciprocal part transposes — ``B`` is
symmetric — and the non-reciprocal phase flips sign)::

    v       = eta * B(e2) [v_top, v_bot]
    b_theta = v_top                                           <- recorded
    w       = B(e1) [v_top * exp(i theta), v_bot]
    b_phi   = w_top                                           <- recorded
    in      = [w_top * exp(i (phi - psi)), w_bot]

For a reciprocal mesh the backward field at any point equals ``M^T c`` with ``M`` the
forward transfer matrix from that point to the outputs and ``c`` the injected field, which
is what makes ``dL/dphi_k = -2 Im(a_k b_k)`` (``c = conj(dL/dy*)``, DESIGN.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_choice
from wavebp.simulators.mesh import MeshParams

__all__ = ["PassFields", "propagate_recording"]


@dataclass(frozen=True)
class PassFields:
    """Complex fields recorded during one pass (batch-first).

    Attributes:
        phi: ``(..., M)`` field just after each ``phi`` shifter.
        theta: ``(..., M)`` field just after each ``theta`` shifter.
        output: ``(..., N)`` field at the output ports, just after the output phase screen.
        exit: ``(..., N)`` field leaving the mesh (outputs for a forward pass, inputs for a
            backward pass).
    """

    phi: torch.Tensor
    theta: torch.Tensor
    output: torch.Tensor
    exit: torch.Tensor

    def intensities(self) -> dict[str, torch.Tensor]:
        """``|field|^2`` at every phase shifter, keyed ``phi``, ``theta``, ``output_phase``."""
        return {
            "phi": _abs2(self.phi),
            "theta": _abs2(self.theta),
            "output_phase": _abs2(self.output),
        }


def _abs2(z: torch.Tensor) -> torch.Tensor:
    return z.real.square() + z.imag.square()


def _couplers(params: MeshParams) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    m = params.layout.n_mzis
    if params.coupler_error is None:
        h = params.theta.new_full((m,), math.sqrt(0.5))
        return h, h, h, h
    angle = params.coupler_error + math.pi / 4
    c, s = torch.cos(angle), torch.sin(angle)
    return c[:, 0], s[:, 0], c[:, 1], s[:, 1]


def propagate_recording(
    x: torch.Tensor, params: MeshParams, *, direction: str = "forward"
) -> PassFields:
    """Propagate fields through the physical mesh, recording them at every phase shifter.

    Args:
        x: complex fields in sqrt(W), shape ``(B, N)``, dtype ``params.dtype``: the inputs
            (``direction="forward"``) or the fields injected at the outputs (``"backward"``).
        params: the effective physical parameters of the mesh.
        direction: ``"forward"`` (inputs -> outputs) or ``"backward"`` (outputs -> inputs,
            the reciprocal device: ``U^T`` when no non-reciprocal phase is present).

    Returns:
        :class:`PassFields` (no autograd graph: these are measurements).
    """
    check_choice("direction", direction, ("forward", "backward"))
    n = params.layout.n_ports
    if x.ndim != 2 or x.shape[-1] != n or x.dtype != params.dtype:
        raise ValueError(
            f"x must be a {params.dtype} tensor of shape (batch, {n}), got "
            f"{x.dtype} {tuple(x.shape)}"
        )
    layout = params.layout
    with torch.no_grad():
        c1, s1, c2, s2 = (t.to(params.dtype) for t in _couplers(params))
        theta, phi = params.theta.detach(), params.phi.detach()
        psi = params.nonreciprocal_phase
        psi = torch.zeros_like(phi) if psi is None else psi.detach()
        e_theta = torch.polar(torch.ones_like(theta), theta)
        e_phi = torch.polar(
            torch.ones_like(phi), phi + psi if direction == "forward" else phi - psi
        )
        eta = None if params.loss is None else params.loss.detach().to(params.dtype)
        screen = params.output_factor()
        screen = None if screen is None else screen.detach()
        rec_phi = x.new_zeros(x.shape[0], layout.n_mzis)
        rec_theta = x.new_zeros(x.shape[0], layout.n_mzis)
        start = layout.column_start
        top_all = torch.as_tensor(layout.top_port, device=x.device)
        f = x.clone()
        if direction == "forward":
            for col in range(layout.n_columns):
                sl = slice(int(start[col]), int(start[col + 1]))
                if sl.start == sl.stop:
                    continue
                p = top_all[sl]
                xt, xb = f[:, p], f[:, p + 1]
                a_phi = xt * e_phi[sl]
                ut = c1[sl] * a_phi + 1j * s1[sl] * xb
                ub = 1j * s1[sl] * a_phi + c1[sl] * xb
                a_th = ut * e_theta[sl]
                ot = c2[sl] * a_th + 1j * s2[sl] * ub
                ob = 1j * s2[sl] * a_th + c2[sl] * ub
                if eta is not None:
                    ot, ob = ot * eta[sl], ob * eta[sl]
                rec_phi[:, sl] = a_phi
                rec_theta[:, sl] = a_th
                f[:, p] = ot
                f[:, p + 1] = ob
            out = f if screen is None else f * screen
            return PassFields(phi=rec_phi, theta=rec_theta, output=out, exit=out)
        # backward
        out = f
        if screen is not None:
            f = f * screen
        for col in range(layout.n_columns - 1, -1, -1):
            sl = slice(int(start[col]), int(start[col + 1]))
            if sl.start == sl.stop:
                continue
            p = top_all[sl]
            vt, vb = f[:, p], f[:, p + 1]
            if eta is not None:
                vt, vb = vt * eta[sl], vb * eta[sl]
            vt, vb = c2[sl] * vt + 1j * s2[sl] * vb, 1j * s2[sl] * vt + c2[sl] * vb
            rec_theta[:, sl] = vt
            vt = vt * e_theta[sl]
            wt = c1[sl] * vt + 1j * s1[sl] * vb
            wb = 1j * s1[sl] * vt + c1[sl] * vb
            rec_phi[:, sl] = wt
            f[:, p] = wt * e_phi[sl]
            f[:, p + 1] = wb
        return PassFields(phi=rec_phi, theta=rec_theta, output=out, exit=f)
