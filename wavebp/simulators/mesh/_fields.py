r"""Field recording: forward and physical-backward fields at every column and phase shifter.

These are the quantities an in-situ experiment measures. Notation for one MZI (ports ``p``,
``p + 1``; see :mod:`wavebp.simulators.mesh._elements`): light enters, passes the
non-reciprocal phase ``psi`` and the external shifter ``phi`` on the top arm, the first
coupler, the internal shifter ``theta`` on the top arm, the second coupler and the lumped
loss ``eta``.

* ``after_phi``: field on the top arm just after the ``phi`` shifter (between it and the
  first coupler).
* ``after_theta``: field on the top arm just after the ``theta`` shifter (between it and
  the second coupler).

For a *backward* recording (light injected at the mesh outputs, travelling to the inputs
through the physical device: every MZI transposed, ``-psi``), the fields are taken at the
same two points, i.e. the backward wave arriving there from downstream, before it crosses
the shifter. With ``a_k`` the forward field and ``b_k`` the backward field at shifter
``k`` for the injection ``conj(dL/dy*)`` at the outputs,
``dL/dphase_k = -2 Im(sum_batch a_k b_k)`` (DESIGN.md) — exact for a reciprocal mesh;
:func:`shifter_gradient` evaluates it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_choice
from wavebp.simulators.mesh._engine import _check_field, column_coefficients, get_plan
from wavebp.simulators.mesh._params import MeshParams

__all__ = [
    "MeshFields",
    "backward_fields",
    "forward_fields",
    "scattering_matrix",
    "shifter_gradient",
]


@dataclass(frozen=True, kw_only=True)
class MeshFields:
    r"""Fields recorded in one pass through a mesh (``K`` columns, ``M`` MZIs, ``N`` ports).

    Attributes:
        direction: ``"forward"`` (injected at the inputs) or ``"backward"`` (injected at
            the outputs).
        boundary: complex ``(..., K + 1, N)``; ``boundary[..., c, :]`` is the field between
            column ``c - 1`` and column ``c`` (``c = 0``: the mesh inputs; ``c = K``: after
            the last column, *inside* the output phase screen). For a backward pass it is
            the backward wave at the same planes (``boundary[..., K, :]`` is the injected
            field after crossing the phase screen, ``boundary[..., 0, :]`` what leaves at
            the inputs).
        after_phi: complex ``(..., M)``, field on the top arm just after each ``phi``
            shifter.
        after_theta: complex ``(..., M)``, field on the top arm just after each ``theta``
            shifter.
        output: complex ``(..., N)``: forward, the mesh outputs ``y = U x`` (after the output
            phase screen); backward, the field leaving at the mesh inputs (``U_back e``).
        source: complex ``(..., N)``, the injected field (``x`` forward, ``e`` backward).
    """

    direction: str
    boundary: torch.Tensor
    after_phi: torch.Tensor
    after_theta: torch.Tensor
    output: torch.Tensor
    source: torch.Tensor

    def power(self) -> torch.Tensor:
        """``|boundary|^2`` summed over leading batch dimensions: real ``(K + 1, N)`` in W
        for fields in sqrt(W) — the power-flow map of the mesh."""
        p = self.boundary.real.square() + self.boundary.imag.square()
        return p.reshape(-1, *p.shape[-2:]).sum(0)


def _couplers(params: MeshParams) -> tuple[torch.Tensor, ...]:
    """``(c1, s1, c2, s2)`` per MZI (real ``(M,)``, or Python floats for ideal couplers)."""
    if params.coupler_error is None:
        h = math.sqrt(0.5)
        return (h, h, h, h)
    angle = params.coupler_error + math.pi / 4
    c, s = torch.cos(angle), torch.sin(angle)
    return (c[:, 0], s[:, 0], c[:, 1], s[:, 1])


def _sweep(
    x: torch.Tensor, params: MeshParams, direction: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Column-by-column propagation; returns port-major boundary fields ``(K + 1, N, R)``
    (in layout column order) and the flattened batch ``R``."""
    layout = params.layout
    n, k = layout.n_ports, layout.n_columns
    plan = get_plan(layout, block_columns=1, reverse=direction == "backward", device=x.device)
    a, b = column_coefficients(params.entries(direction), plan)
    a = a[:k].unsqueeze(-1)
    b = b[:k].unsqueeze(-1)
    partner = plan.partner[:k]
    batch = x.shape[:-1]
    z = x.reshape(-1, n).mT  # (N, R)
    screen = params.output_factor()
    if direction == "backward" and screen is not None:
        z = screen.unsqueeze(-1) * z
    planes = [z]
    for step in range(k):
        z = torch.addcmul(a[step] * z, b[step], z[partner[step]])
        planes.append(z)
    if direction == "backward":
        planes.reverse()
    return torch.stack(planes, 0), batch


def _record(x: torch.Tensor, params: MeshParams, direction: str) -> MeshFields:
    layout = params.layout
    n, k, m = layout.n_ports, layout.n_columns, layout.n_mzis
    planes, batch = _sweep(x, params, direction)  # (K + 1, N, R)
    flat = planes.reshape((k + 1) * n, -1)
    col = torch.as_tensor(layout.mzi_column, device=x.device)
    top = torch.as_tensor(layout.top_port, device=x.device)
    c1, s1, c2, s2 = _couplers(params)
    one = torch.ones_like(params.theta)
    e_theta = torch.polar(one, params.theta).unsqueeze(-1)
    if direction == "forward":
        idx = col * n + top
        x_top, x_bot = flat[idx], flat[idx + 1]  # (M, R) MZI inputs
        phase = params.phi
        if params.nonreciprocal_phase is not None:
            phase = phase + params.nonreciprocal_phase
        after_phi = torch.polar(one, phase).unsqueeze(-1) * x_top
        after_theta = e_theta * (_col(c1) * after_phi + 1j * _col(s1) * x_bot)
    else:
        idx = (col + 1) * n + top
        z_top, z_bot = flat[idx], flat[idx + 1]  # (M, R) backward wave at MZI outputs
        if params.loss is not None:
            eta = params.loss.unsqueeze(-1)
            z_top, z_bot = eta * z_top, eta * z_bot
        after_theta = _col(c2) * z_top + 1j * _col(s2) * z_bot
        lower = 1j * _col(s2) * z_top + _col(c2) * z_bot
        after_phi = _col(c1) * (e_theta * after_theta) + 1j * _col(s1) * lower
    boundary = planes.permute(2, 0, 1).reshape(*batch, k + 1, n)
    if direction == "forward":
        last = boundary[..., k, :]
        screen = params.output_factor()
        output = last if screen is None else last * screen
    else:
        output = boundary[..., 0, :]
    return MeshFields(
        direction=direction,
        boundary=boundary,
        after_phi=after_phi.mT.reshape(*batch, m),
        after_theta=after_theta.mT.reshape(*batch, m),
        output=output,
        source=x,
    )


def _col(v: torch.Tensor | float) -> torch.Tensor | float:
    return v.unsqueeze(-1) if isinstance(v, torch.Tensor) else v


def forward_fields(x: torch.Tensor, params: MeshParams) -> MeshFields:
    """Propagate ``x`` forward and record the fields at every column and phase shifter.

    Args:
        x: complex input fields ``(..., N)`` in ``params.dtype`` (sqrt(W)).
        params: effective per-MZI parameters.

    Returns:
        :class:`MeshFields` with ``direction="forward"``; ``output`` equals
        ``propagate(x, params)``. Differentiable (plain autograd).
    """
    _check_field("x", x, params)
    return _record(x, params, "forward")


def backward_fields(e: torch.Tensor, params: MeshParams) -> MeshFields:
    """Inject ``e`` at the mesh outputs and propagate it back through the physical device.

    The backward wave crosses the output phase screen, then the columns in reverse order,
    every MZI acting with its backward matrix (the transpose of its forward matrix with the
    non-reciprocal phase reversed). For a reciprocal mesh ``output = e @ U`` (i.e.
    ``U^T e``); with a non-reciprocal element it is not.

    Args:
        e: complex fields injected at the outputs ``(..., N)`` in ``params.dtype``.
        params: effective per-MZI parameters.

    Returns:
        :class:`MeshFields` with ``direction="backward"``. Differentiable (plain autograd).
    """
    _check_field("e", e, params)
    return _record(e, params, "backward")


def shifter_gradient(
    forward: MeshFields, backward: MeshFields
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The in-situ phase gradients from a forward and an adjoint recording.

    ``dL/dtheta_k = -2 Im(sum_batch a_k b_k)`` at the ``theta`` shifters and likewise at the
    ``phi`` shifters and at the output phase screen (``a = y_q``, ``b = e_q``), where
    ``forward`` was driven by the inputs ``x`` and ``backward`` by ``e = conj(dL/dy*)``
    injected at the outputs (for ``L = sum w |y|^2`` that is ``conj(w * y)``). Exact for a
    reciprocal mesh (all leading dimensions are summed); this is the formula evaluated on
    simulated fields, not the three-intensity measurement.

    Args:
        forward: a forward recording.
        backward: a backward recording with the same leading shape.

    Returns:
        ``(grad_theta, grad_phi, grad_output_phase)``, real ``(M,)``, ``(M,)``, ``(N,)``, in
        1/rad times the loss unit.
    """
    check_choice("forward.direction", forward.direction, ("forward",))
    check_choice("backward.direction", backward.direction, ("backward",))
    m = forward.after_phi.shape[-1]
    g_theta = -2 * (forward.after_theta * backward.after_theta).imag.reshape(-1, m).sum(0)
    g_phi = -2 * (forward.after_phi * backward.after_phi).imag.reshape(-1, m).sum(0)
    n = forward.output.shape[-1]
    g_gamma = -2 * (forward.output * backward.source).imag.reshape(-1, n).sum(0)
    return g_theta, g_phi, g_gamma


def scattering_matrix(params: MeshParams) -> torch.Tensor:
    r"""The physical ``2N``-port scattering matrix of the mesh.

    Ports ``0..N-1`` are the mesh inputs, ``N..2N-1`` its outputs; ``S[i, j]`` is the field
    leaving port ``i`` for a unit field entering port ``j`` (no reflections):

    .. math:: S = \begin{pmatrix} 0 & U_\mathrm{back} \\ U & 0 \end{pmatrix},

    ``U`` from propagating the identity forward and ``U_back`` from propagating it backward
    (:func:`forward_fields`, :func:`backward_fields`). Lorentz reciprocity makes ``S``
    symmetric (``U_back = U^T``); a non-reciprocal phase breaks it.

    Args:
        params: effective per-MZI parameters.

    Returns:
        Complex ``(2N, 2N)`` matrix in ``params.dtype``.
    """
    n = params.layout.n_ports
    eye = torch.eye(n, dtype=params.dtype, device=params.device)
    u = forward_fields(eye, params).output.mT  # row j = output for input j
    u_back = backward_fields(eye, params).output.mT
    s = eye.new_zeros(2 * n, 2 * n)
    s[n:, :n] = u
    s[:n, n:] = u_back
    return s
