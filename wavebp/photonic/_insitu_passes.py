r"""The three physical passes of in-situ backpropagation through one MZI mesh.

Fields are simulated column by column (by the mesh engine's in-place shifter recorder
:func:`wavebp.simulators.mesh.shifter_fields`, which gives the fields of
:func:`wavebp.simulators.mesh.forward_fields` / ``backward_fields`` at the shifters to
float rounding, without their per-column planes) through the *physical* device described by a
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

from dataclasses import dataclass

import torch

from wavebp._core import check_choice
from wavebp.simulators.mesh import MeshParams, shifter_fields

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
    out = z.real.square()  # re^2 + im^2 with one allocation
    return out.addcmul_(z.imag, z.imag)


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
    # One in-place sweep recording only the shifter fields (shifter_fields: the same
    # numbers as forward_fields / backward_fields to float rounding, without the
    # (K + 1, N) stack of column planes those also return).
    phi, theta, exit_ = shifter_fields(x, params, direction=direction)
    if direction == "forward":
        return PassFields(phi=phi, theta=theta, output=exit_, exit=exit_)
    # the backward wave at the output ports, just after the screen, is the injected field
    return PassFields(phi=phi, theta=theta, output=x, exit=exit_)
