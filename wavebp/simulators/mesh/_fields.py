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

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from wavebp._core import check_choice
from wavebp.simulators.mesh._engine import _check_field, column_coefficients, get_plan
from wavebp.simulators.mesh._layout import MeshLayout
from wavebp.simulators.mesh._params import MeshParams

__all__ = [
    "MeshFields",
    "backward_fields",
    "forward_fields",
    "scattering_matrix",
    "shifter_fields",
    "shifter_gradient",
    "shifter_power_sums",
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


def _port_slice(ports: np.ndarray) -> slice | None:
    """``ports`` as a slice if they form an arithmetic progression of step 2 (or one port)."""
    if len(ports) == 1:
        return slice(int(ports[0]), int(ports[0]) + 1)
    if len(ports) and np.all(np.diff(ports) == 2):
        return slice(int(ports[0]), int(ports[-1]) + 1, 2)
    return None


@functools.lru_cache(maxsize=64)
def _column_ports(layout: MeshLayout) -> tuple[tuple[int, ...], tuple[slice | None, ...]]:
    """MZIs per column and each column's top ports as a slice (``None``: irregular)."""
    start, tops = layout.column_start, layout.top_port
    k = layout.n_columns
    sizes = tuple(int(start[c + 1] - start[c]) for c in range(k))
    slices = tuple(_port_slice(tops[start[c] : start[c + 1]]) for c in range(k))
    return sizes, slices


def shifter_fields(
    x: torch.Tensor, params: MeshParams, *, direction: str = "forward"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The fields at every phase shifter and the exit field, without the column planes.

    The same recording as :func:`forward_fields` / :func:`backward_fields` (``after_phi``,
    ``after_theta`` and ``output``; equal to float rounding), computed in one sweep over
    the columns that updates a port-major field in place and writes each column's shifter
    fields straight into preallocated ``(M, B)`` buffers: no ``(K + 1, N)`` stack of column
    planes, no gathers of it and no per-column allocation, which is all an in-situ pass
    needs (:mod:`wavebp.photonic`). No autograd graph.

    Args:
        x: complex fields ``(B, N)`` in ``params.dtype`` (sqrt(W)): the inputs
            (``direction="forward"``) or the fields injected at the outputs (``"backward"``).
        params: effective per-MZI parameters.
        direction: ``"forward"`` or ``"backward"`` (as :func:`backward_fields`).

    Returns:
        ``(after_phi, after_theta, output)``: complex ``(B, M)``, ``(B, M)`` (transposed
        views of port-major ``(M, B)`` buffers) and ``(B, N)``; ``output`` is the forward
        output ``y`` (after the output phase screen) or the backward field leaving at the
        inputs.
    """
    check_choice("direction", direction, ("forward", "backward"))
    _check_field("x", x, params)
    if x.ndim != 2:
        raise ValueError(
            f"x must have shape (batch, {params.layout.n_ports}), got {tuple(x.shape)}"
        )
    with torch.no_grad():
        return _shifter_sweep(x, params, direction)


def _shifter_sweep(
    x: torch.Tensor, params: MeshParams, direction: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    layout = params.layout
    n, k, m = layout.n_ports, layout.n_columns, layout.n_mzis
    backward = direction == "backward"
    sizes, slices = _column_ports(layout)
    r = x.shape[0]
    # The column update is the engine's (and _sweep's) a * z + b * z[partner].
    plan = get_plan(layout, block_columns=1, reverse=backward, device=x.device)
    a, b = column_coefficients(params.entries(direction), plan)
    a_steps, b_steps = a[:k].unsqueeze(-1).unbind(0), b[:k].unsqueeze(-1).unbind(0)
    partner = plan.partner[:k].unbind(0)
    c1, s1, c2, s2 = (_col(v) for v in _couplers(params))
    e_theta = torch.polar(torch.ones_like(params.theta), params.theta).unsqueeze(-1)
    if backward:
        # after_theta = eta (c2 z_top + i s2 z_bot); after_phi = c1 e_theta after_theta
        #   + i s1 eta (i s2 z_top + c2 z_bot)  (z: backward wave at the MZI outputs)
        ones = torch.ones_like(e_theta)
        eta = 1.0 if params.loss is None else params.loss.unsqueeze(-1)
        coef = (
            ((eta * c2) * ones).split(sizes),
            (1j * (eta * s2) * ones).split(sizes),
            (c1 * e_theta).split(sizes),
            (-(s1 * s2 * eta) * ones).split(sizes),
            (1j * (s1 * c2 * eta) * ones).split(sizes),
        )
    else:
        # after_phi = exp(i (phi + psi)) z_top; after_theta = e_theta (c1 after_phi
        #   + i s1 z_bot)  (z: forward field at the MZI inputs)
        phase = params.phi
        if params.nonreciprocal_phase is not None:
            phase = phase + params.nonreciprocal_phase
        e_phi = torch.polar(torch.ones_like(phase), phase).unsqueeze(-1)
        coef = (e_phi.split(sizes), (e_theta * c1).split(sizes), (e_theta * (1j * s1)).split(sizes))
    after_phi = x.new_empty(m, r)
    after_theta = x.new_empty(m, r)
    phis, thetas = after_phi.split(sizes), after_theta.split(sizes)
    z = x.new_empty(n, r)  # port-major (N, R); ping-pong with nxt, never aliasing x
    z.copy_(x.mT)
    screen = params.output_factor()
    if backward and screen is not None:
        z.mul_(screen.unsqueeze(-1))
    nxt, scratch = torch.empty_like(z), torch.empty_like(z)
    rows: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
    tops, start = layout.top_port, layout.column_start
    for step in range(k):
        col = k - 1 - step if backward else step
        sl = slices[col]
        if sl is None:  # irregular column: gather its MZI ports
            idx = torch.as_tensor(tops[start[col] : start[col + 1]], device=x.device)
            z_top, z_bot = z.index_select(0, idx), z.index_select(0, idx + 1)
        else:
            key = (z.data_ptr(), sl.start, sl.stop, sl.step)  # slices unhashable before 3.12
            hit = rows.get(key)
            if hit is None:
                hit = rows[key] = (z[sl], z[sl.start + 1 : sl.stop + 1 : sl.step])
            z_top, z_bot = hit
        ph, th = phis[col], thetas[col]
        if backward:
            k_tt, k_tb, k_pt, k_pz, k_pb = (c[col] for c in coef)
            torch.mul(z_top, k_tt, out=th)
            th.addcmul_(k_tb, z_bot)
            torch.mul(th, k_pt, out=ph)
            ph.addcmul_(k_pz, z_top)
            ph.addcmul_(k_pb, z_bot)
        else:
            k_phi, k_ta, k_tb = (c[col] for c in coef)
            torch.mul(z_top, k_phi, out=ph)
            torch.mul(ph, k_ta, out=th)
            th.addcmul_(k_tb, z_bot)
        torch.index_select(z, 0, partner[step], out=scratch)
        torch.mul(a_steps[step], z, out=nxt)
        nxt.addcmul_(b_steps[step], scratch)
        z, nxt = nxt, z
    if not backward and screen is not None:
        z.mul_(screen.unsqueeze(-1))
    return after_phi.mT, after_theta.mT, z.mT.contiguous()


def shifter_power_sums(
    x: torch.Tensor,
    params: MeshParams,
    *,
    direction: str = "forward",
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Batch sums of ``|field|^2`` at every phase shifter, from a compressed batch.

    ``sum_b w_b |f_k(x_b)|^2`` for the fields ``f_k`` of :func:`shifter_fields` (equal to
    float rounding). The fields are linear in ``x``, so the sum depends only on the
    coherence matrix ``C = sum_b w_b x_b x_b^T conj(x_b)``: with the QR factorisation
    ``sqrt(w) X = Q R`` (``R`` is ``N x N``), ``C = R^T conj(R)`` and the rows of ``R``
    are ``N`` virtual samples with the same sums, recorded by :func:`shifter_fields`. A
    batch larger than ``N`` costs one small QR plus an ``N``-sample pass. This is what
    ideal (noise-free, linear) photodiodes integrating over the batch read; per-sample
    detector noise needs :func:`shifter_fields`.

    Args:
        x: complex fields ``(B, N)`` in ``params.dtype`` (sqrt(W)), as :func:`shifter_fields`.
        params: effective per-MZI parameters.
        direction: ``"forward"`` or ``"backward"``.
        weights: real non-negative ``(B,)`` per-sample weights (dimensionless), or ``None``
            for all ones.

    Returns:
        ``(phi, theta, output)``: real ``(M,)``, ``(M,)``, ``(N,)`` in W (for fields in
        sqrt(W)): the weighted sums at the ``phi`` and ``theta`` shifters and at the output
        ports (forward: the outputs ``y``; backward: the injected field).
    """
    check_choice("direction", direction, ("forward", "backward"))
    _check_field("x", x, params)
    if x.ndim != 2:
        raise ValueError(
            f"x must have shape (batch, {params.layout.n_ports}), got {tuple(x.shape)}"
        )
    if weights is not None:
        if tuple(weights.shape) != (x.shape[0],):
            raise ValueError(f"weights must have shape ({x.shape[0]},), got {tuple(weights.shape)}")
        if bool((weights < 0).any()):
            raise ValueError("weights must be >= 0")
    with torch.no_grad():
        v = x if weights is None else x * weights.to(x.real.dtype).sqrt().unsqueeze(-1)
        if v.shape[0] > v.shape[1]:
            v = torch.linalg.qr(v, mode="r")[1]  # (N, N): the same coherence matrix
        phi, theta, out = shifter_fields(v, params, direction=direction)
        if direction == "backward":
            out = v
        return tuple(_abs2(f).sum(0) for f in (phi, theta, out))  # type: ignore[return-value]


def _abs2(z: torch.Tensor) -> torch.Tensor:
    out = z.real.square()
    return out.addcmul_(z.imag, z.imag)
