r"""Fast mesh transfer matrices and propagation, with an analytic (adjoint) backward pass.

Algorithm (what makes it fast in eager torch, where each operation costs microseconds):

* Every MZI is folded into one 2x2 matrix (vectorised over all MZIs), and a column of MZIs
  acts on a field ``x`` (ports along one axis) as ``y = a * x + b * x[partner]`` — ``a``,
  ``b`` are per-port coefficient vectors (one scatter for all columns), ``partner`` the pair
  permutation (``partner[q] = q`` and ``b[q] = 0`` for a port without an MZI).
* The ``K`` columns are cut into ``B`` blocks of ``m`` columns. The identity is pushed
  through all blocks *at once* (``m`` sequential steps on a ``(B, N, W)`` tensor). A block of
  ``m`` columns couples ports at most ``m`` apart, so its matrix is a band matrix and is
  stored as its ``W = 2m + 3`` central diagonals (``W << N`` for large meshes).
* The ``B`` block matrices are multiplied by a balanced tree of batched matmuls
  (``log2 B`` calls).
* Backward (``gradient="adjoint"``): with ``G = dL/dU*``, reverse-mode through the tree
  (two batched matmuls per level) gives the gradient reaching block ``j``,
  ``H_j = R_{j+1}^H G S_j^H`` (``R``, ``S``: products of the later / earlier blocks).
  Inside a block, the adjoint field ``V_s^H H_j`` is propagated backwards through the
  columns (again all blocks at once, in band storage: only the band of ``H_j`` within ``m``
  of the diagonal can reach the gradient), and the gradient of every column coefficient
  is the overlap of that adjoint field with the forward field of the same column —
  ``dL/da_q* = <adjoint_q, forward_q>`` — the digital form of the in-situ rule
  ``dL/dphi = -2 Im(a b)``. The chain rule from the coefficients to phases, coupler errors
  and losses is plain autograd on the cheap ``(M,)`` construction, except for an ideal mesh
  (50:50 couplers, no loss, reciprocal), where it is written out in the same Function.

Memory: the adjoint backward keeps the band fields of every column, ``~K N (2m + 3)``
complex numbers (about 36 MB at N = 256, complex64), plus ``~2B`` dense ``N x N`` blocks.

The definition the engine must match is :func:`wavebp.simulators.mesh.mesh_matrix_reference`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from wavebp._core import check_choice, check_int
from wavebp.simulators.mesh._layout import MeshLayout
from wavebp.simulators.mesh._params import MeshParams

__all__ = [
    "GRADIENTS",
    "column_product",
    "default_block_columns",
    "propagate",
    "transfer_matrix",
]

GRADIENTS = ("adjoint", "autograd")


def default_block_columns(n_ports: int, n_columns: int) -> int:
    """Columns per block used when ``block_columns`` is not given (tuned on 2 CPU threads).

    Per step the band work is ``~2 K N`` elements whatever the block size; the block
    products cost ``~3 B N^3`` flops (forward and backward). Small meshes are dominated by
    per-operation overhead, large ones by the block matmuls (fewer blocks are better).
    """
    if n_ports <= 96:
        target = 4
    elif n_ports <= 192:
        target = 16
    else:
        target = 32
    return max(1, min(target, n_columns))


@dataclass(frozen=True, eq=False)
class _Plan:
    """Index tensors for one layout, block size, column order and device (cached)."""

    n_ports: int
    n_mzis: int
    n_columns: int
    block: int  # m, columns per block
    n_blocks: int  # B
    width: int  # W, band storage width incl. one zero margin on each side
    idx_ab: torch.Tensor  # (2 * Kp * N,) a then b, into cat([t00, t01, t10, t11, one, zero])
    entry_pos: torch.Tensor  # (4 * M,) where each MZI entry sits in cat([a, b]).flatten()
    partner: torch.Tensor  # (Kp, N)
    gather: torch.Tensor  # (m, B * N * W) band gather of the partner rows, per step
    gather_all: torch.Tensor  # (m * B * N * W,) the same for all steps of an (m, B, N, W) stack
    partner_flat: torch.Tensor  # (Kp * N,) partner gather into a flattened (Kp, N)


@functools.lru_cache(maxsize=64)
def _plan(layout: MeshLayout, block: int, reverse: bool, device: str) -> _Plan:
    n, n_mzi, k = layout.n_ports, layout.n_mzis, layout.n_columns
    n_blocks = max(1, math.ceil(k / block))
    kp = n_blocks * block
    width = 2 * block + 3
    partner = np.tile(np.arange(n), (kp, 1))
    idx_a = np.full((kp, n), 4 * n_mzi, dtype=np.int64)
    idx_b = np.full((kp, n), 4 * n_mzi + 1, dtype=np.int64)
    start = layout.column_start
    for step in range(k):
        col = k - 1 - step if reverse else step
        for i in range(start[col], start[col + 1]):
            p = int(layout.top_port[i])
            partner[step, p], partner[step, p + 1] = p + 1, p
            idx_a[step, p], idx_a[step, p + 1] = i, 3 * n_mzi + i
            idx_b[step, p], idx_b[step, p + 1] = n_mzi + i, 2 * n_mzi + i
    # Band gather: T[j, q, d] = F[j, partner(q), d + q - partner(q)] (clipped into the margins,
    # which hold zeros in the forward pass).
    q = np.arange(n)[None, :, None]
    d = np.arange(width)[None, None, :]
    j = np.arange(n_blocks)[:, None, None]
    gather = np.empty((block, n_blocks * n * width), dtype=np.int64)
    for s in range(block):
        p = partner[np.arange(n_blocks) * block + s][:, :, None]  # (B, N, 1)
        shifted = np.clip(d + q - p, 0, width - 1)
        gather[s] = ((j * n + p) * width + shifted).reshape(-1)
    idx_ab = np.concatenate([idx_a.reshape(-1), idx_b.reshape(-1)])
    entry_pos = np.empty(4 * n_mzi, dtype=np.int64)
    real = idx_ab < 4 * n_mzi
    entry_pos[idx_ab[real]] = np.nonzero(real)[0]
    dev = torch.device(device)
    return _Plan(
        n_ports=n,
        n_mzis=n_mzi,
        n_columns=k,
        block=block,
        n_blocks=n_blocks,
        width=width,
        idx_ab=torch.as_tensor(idx_ab, device=dev),
        entry_pos=torch.as_tensor(entry_pos, device=dev),
        partner=torch.as_tensor(partner, device=dev),
        gather=torch.as_tensor(gather, device=dev),
        gather_all=torch.as_tensor(
            (gather + np.arange(block)[:, None] * gather.shape[1]).reshape(-1)
            if gather.size <= _FUSE_ABOVE
            else np.empty(0, dtype=np.int64),  # large meshes reduce step by step instead
            device=dev,
        ),
        partner_flat=torch.as_tensor(
            (partner + np.arange(kp)[:, None] * n).reshape(-1), device=dev
        ),
    )


def get_plan(
    layout: MeshLayout,
    *,
    block_columns: int | None = None,
    reverse: bool = False,
    device: torch.device | str = "cpu",
) -> _Plan:
    """The cached index plan (internal; also used by the field recorder)."""
    if block_columns is None:
        block = default_block_columns(layout.n_ports, layout.n_columns)
    else:
        block = check_int("block_columns", block_columns, minimum=1)
    dev = str(torch.device(device))
    # Fast path keyed by the layout's identity: hashing a large layout costs ~0.3 ms.
    key = (id(layout), block, reverse, dev)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is layout:
        return hit[1]
    plan = _plan(layout, block, reverse, dev)
    if len(_RECENT) >= 64:
        _RECENT.clear()
    _RECENT[key] = (layout, plan)
    return plan


# Memo of recent plans by layout identity (holds the layout, so its id stays valid).
_RECENT: dict[tuple[int, int, bool, str], tuple[MeshLayout, _Plan]] = {}


def column_coefficients(
    entries: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], plan: _Plan
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scatter MZI entries into per-column coefficient vectors ``a, b`` of shape ``(Kp, N)``."""
    unit = entries[0].new_tensor([1.0, 0.0])
    src = torch.cat([*entries, unit])
    ab = src.index_select(0, plan.idx_ab).view(2, -1, plan.n_ports)
    return ab[0], ab[1]


# ----------------------------------------------------------------------------------------
# Band propagation inside blocks, band <-> dense, block scans.


def _band_identity(plan: _Plan, like: torch.Tensor) -> torch.Tensor:
    f = like.new_zeros(plan.n_blocks, plan.n_ports, plan.width)
    f[..., plan.block + 1] = 1.0
    return f


def _blocks_forward(
    a: torch.Tensor, b: torch.Tensor, plan: _Plan, keep: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Push the identity through every block: returns the band ``(B, N, W)`` block matrices
    and (if ``keep``, no autograd) the band state entering each step, ``(m, B, N, W)``."""
    nb, n, w, m = plan.n_blocks, plan.n_ports, plan.width, plan.block
    a_s = a.view(nb, m, n, 1).unbind(1)
    b_s = b.view(nb, m, n, 1).unbind(1)
    idx = plan.gather.unbind(0)
    if keep:
        states = a.new_zeros(m + 1, nb, n, w)
        f = states[0]
        f[..., m + 1] = 1.0
        out = states.unbind(0)
        for s in range(m):
            t = f.view(-1).index_select(0, idx[s]).view(nb, n, w)
            f = torch.add(a_s[s] * f, b_s[s] * t, out=out[s + 1])
        return f, states[:m]
    f = _band_identity(plan, a)
    for s in range(m):
        t = f.view(-1).index_select(0, idx[s]).view(nb, n, w)
        f = a_s[s] * f + b_s[s] * t
    return f, None


def _band_to_dense(band: torch.Tensor, plan: _Plan) -> torch.Tensor:
    nb, n, w = band.shape
    pad = band.new_zeros(nb, n, n + w - 1)
    if torch.is_grad_enabled() and band.requires_grad:
        pad = torch.as_strided_scatter(pad, band, (nb, n, w), (n * (n + w - 1), n + w, 1))
    else:
        pad.as_strided((nb, n, w), (n * (n + w - 1), n + w, 1)).copy_(band)
    return pad[:, :, plan.block + 1 : plan.block + 1 + n]


def _dense_to_band(dense: torch.Tensor, plan: _Plan) -> torch.Tensor:
    nb, n, _ = dense.shape
    w = plan.width
    pad = dense.new_zeros(nb, n, n + w - 1)
    pad[:, :, plan.block + 1 : plan.block + 1 + n] = dense
    return pad.as_strided((nb, n, w), (n * (n + w - 1), n + w, 1))


# Above this many band elements (m * B * N * W) the backward reduces column by column.
_FUSE_ABOVE = 1 << 19


def _tree_product(p: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``P[B-1] @ ... @ P[0]`` by a balanced tree of batched matmuls (``log2 B`` calls).

    Returns the product and the inputs of every tree level (for :func:`_tree_backward`).
    """
    levels = []
    x = p
    while x.shape[0] > 1:
        levels.append(x)
        c = x.shape[0]
        prod = torch.matmul(x[1 : c - c % 2 : 2], x[0 : c - c % 2 : 2])
        x = torch.cat([prod, x[c - 1 :]], 0) if c % 2 else prod
    return x[0], levels


def _tree_backward(levels: list[torch.Tensor], g: torch.Tensor) -> torch.Tensor:
    """Conjugated gradients reaching each leaf of :func:`_tree_product`, given the
    conjugated gradient ``g`` of the product. For ``C = A @ B``: ``conj(dL/dA*) =
    conj(G) B^T`` and ``conj(dL/dB*) = A^T conj(G)`` — transposes, no conjugated copies."""
    gx = g[None]
    for x in reversed(levels):
        c = x.shape[0]
        even = c - c % 2
        left, right = x[1:even:2], x[0:even:2]
        gp = gx[: even // 2]
        pair = torch.stack([left.mT @ gp, gp @ right.mT], 1).view(even, *g.shape)
        gx = torch.cat([pair, gx[even // 2 :]], 0) if c % 2 else pair
    return gx


def _product_autograd(a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:
    band, _ = _blocks_forward(a, b, plan, keep=False)
    return _tree_product(_band_to_dense(band, plan))[0]


def _product_saved(
    a: torch.Tensor, b: torch.Tensor, plan: _Plan
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Forward of the adjoint path: the product and what its backward needs."""
    band, states = _blocks_forward(a, b, plan, keep=True)
    u0, levels = _tree_product(_band_to_dense(band, plan))
    return u0, (a, b, states, *levels)


def _column_grads(
    saved: tuple[torch.Tensor, ...], grad: torch.Tensor, plan: _Plan
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dL/da*, dL/db*)`` (torch's convention), each ``(Kp, N)``, from ``G = dL/dU0*``."""
    a, b, fwd, *levels = saved
    nb, n, w, m = plan.n_blocks, plan.n_ports, plan.width, plan.block
    # conj of the gradient reaching each block, in band storage. Working with the
    # conjugated adjoint field z = conj(adj) avoids conjugated copies: it propagates
    # with C^T, z'[q] = a[q] z[q] + b[partner(q)] z[partner(q)], and
    # dL/da* = sum adj conj(fwd) = conj(sum z fwd).
    h = _tree_backward(levels, grad.conj().resolve_conj())
    z = _dense_to_band(h, plan).contiguous()
    a_s = a.view(nb, m, n, 1).unbind(1)
    b_s = b.reshape(-1).index_select(0, plan.partner_flat).view(nb, m, n, 1).unbind(1)
    idx = plan.gather.unbind(0)
    if plan.gather_all.numel() > 0 and nb * n * w * m <= _FUSE_ABOVE:
        # small meshes: few large operations
        adj = [z] * m
        for s in range(m - 1, 0, -1):
            t = z.view(-1).index_select(0, idx[s]).view(nb, n, w)
            z = a_s[s] * z + b_s[s] * t
            adj[s - 1] = z
        adj_t = torch.stack(adj, 0)  # (m, B, N, W) conj adjoint at each column output
        fwd_partner = fwd.view(-1).index_select(0, plan.gather_all).view(m, nb, n, w)
        g_a = (adj_t * fwd).sum(-1)
        g_b = (adj_t * fwd_partner).sum(-1)
    else:
        # large meshes: reduce step by step (no (m, B, N, W) temporaries)
        g_a = a.new_empty(m, nb, n)
        g_b = a.new_empty(m, nb, n)
        for s in range(m - 1, -1, -1):
            f_s = fwd[s]
            t_fwd = f_s.view(-1).index_select(0, idx[s]).view(nb, n, w)
            torch.sum(z * f_s, -1, out=g_a[s])
            torch.sum(z * t_fwd, -1, out=g_b[s])
            if s > 0:
                t = z.view(-1).index_select(0, idx[s]).view(nb, n, w)
                z = a_s[s] * z + b_s[s] * t
    grad_a = g_a.transpose(0, 1).reshape(-1, n).conj()
    grad_b = g_b.transpose(0, 1).reshape(-1, n).conj()
    return grad_a, grad_b


class _ColumnProduct(torch.autograd.Function):
    """``U0 = C[Kp-1] @ ... @ C[0]`` from column coefficients, with the adjoint backward."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:  # type: ignore[override]
        u0, saved = _product_saved(a, b, plan)
        ctx.plan = plan
        ctx.save_for_backward(*saved)
        return u0.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        grad_a, grad_b = _column_grads(ctx.saved_tensors, grad, ctx.plan)
        return grad_a, grad_b, None


class _IdealMeshMatrix(torch.autograd.Function):
    """Forward ``U`` of an ideal mesh (50:50 couplers, lossless, reciprocal) straight from
    ``(theta, phi, gamma)``, with the chain rule to the phases written out (fewer, fused
    operations than autograd through the MZI construction — the W1 benchmark's case)."""

    @staticmethod
    def forward(ctx, theta, phi, gamma, plan):  # type: ignore[override]
        e_theta = torch.polar(torch.ones_like(theta), theta)
        e_phi = torch.polar(torch.ones_like(phi), phi)
        t01 = (e_theta + 1.0) * 0.5j
        t00 = e_phi * (e_theta - 1.0) * 0.5
        t10 = e_phi * t01
        t11 = (1.0 - e_theta) * 0.5
        a, b = column_coefficients((t00, t01, t10, t11), plan)
        u0, saved = _product_saved(a, b, plan)
        screen = torch.polar(torch.ones_like(gamma), gamma)
        u = screen.unsqueeze(-1) * u0
        ctx.plan = plan
        ctx.save_for_backward(e_theta, e_phi, t00, t10, screen, u, *saved)
        return u

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        e_theta, e_phi, t00, t10, screen, u, *saved = ctx.saved_tensors
        plan: _Plan = ctx.plan
        # U = D U0: dL/dgamma_q = Re(conj(G) i U) summed over the row; G0 = conj(D) G.
        grad_gamma = -(grad.conj() * u).imag.sum(-1)
        grad_a, grad_b = _column_grads(tuple(saved), screen.conj().unsqueeze(-1) * grad, plan)
        g = torch.cat([grad_a.reshape(-1), grad_b.reshape(-1)]).index_select(0, plan.entry_pos)
        g00, g01, g10, g11 = g.conj().view(4, -1).unbind(0)
        # dT/dtheta = e^{i theta}/2 * (i e^{i phi}, -1; -e^{i phi}, -i); dT00,10/dphi = i T00,10
        half = e_theta * 0.5
        s_theta = half * (e_phi * (1j * g00 - g10) - g01 - 1j * g11)
        grad_theta = s_theta.real
        grad_phi = -(g00 * t00 + g10 * t10).imag
        return grad_theta, grad_phi, grad_gamma, None


def column_product(
    a: torch.Tensor, b: torch.Tensor, plan: _Plan, *, gradient: str = "adjoint"
) -> torch.Tensor:
    """``C[Kp-1] @ ... @ C[0]`` for columns ``y = a * x + b * x[partner]`` (internal).

    Args:
        a: complex ``(Kp, N)`` diagonal coefficients.
        b: complex ``(Kp, N)`` partner coefficients.
        plan: the index plan from :func:`get_plan`.
        gradient: ``"adjoint"`` (analytic backward) or ``"autograd"``.

    Returns:
        Complex ``(N, N)`` product.
    """
    needs_grad = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
    if gradient == "adjoint" and needs_grad:
        return _ColumnProduct.apply(a, b, plan)
    return _product_autograd(a, b, plan)


# ----------------------------------------------------------------------------------------
# Public entry points.


def transfer_matrix(
    params: MeshParams,
    *,
    direction: str = "forward",
    gradient: str = "adjoint",
    block_columns: int | None = None,
) -> torch.Tensor:
    r"""Transfer matrix of the mesh for light going forward or backward.

    Forward: ``U = diag(exp(i gamma)) @ C[K-1] @ ... @ C[0]`` (``y = U @ x``; batch-first
    ``y = x @ U.mT``), equal to :func:`mesh_matrix_reference` of the MZI matrices.
    Backward (light injected at the outputs, read at the inputs):
    ``U_back = Cb[0] @ ... @ Cb[K-1] @ diag(exp(i gamma))`` with every MZI's backward matrix
    (transposed, ``-psi``): ``U_back = U^T`` exactly when the mesh is reciprocal.

    Args:
        params: effective per-MZI parameters.
        direction: ``"forward"`` or ``"backward"``.
        gradient: ``"adjoint"`` (custom backward from forward and adjoint fields) or
            ``"autograd"`` (autograd through the column operations). Both give the same
            gradients to rounding.
        block_columns: columns per block (a speed knob; ``None`` picks
            :func:`default_block_columns`). Results do not depend on it beyond rounding.

    Returns:
        Complex ``(N, N)`` matrix in ``params.dtype``.
    """
    check_choice("direction", direction, ("forward", "backward"))
    check_choice("gradient", gradient, GRADIENTS)
    plan = get_plan(
        params.layout,
        block_columns=block_columns,
        reverse=direction == "backward",
        device=params.device,
    )
    ideal = (
        params.coupler_error is None
        and params.loss is None
        and params.nonreciprocal_phase is None
        and params.output_phase is not None
    )
    if (
        gradient == "adjoint"
        and ideal
        and direction == "forward"
        and torch.is_grad_enabled()
        and (params.theta.requires_grad or params.phi.requires_grad)
    ):
        return _IdealMeshMatrix.apply(params.theta, params.phi, params.output_phase, plan)
    a, b = column_coefficients(params.entries(direction), plan)
    u = column_product(a, b, plan, gradient=gradient)
    screen = params.output_factor()
    if screen is None:
        return u
    if direction == "forward":
        return screen.unsqueeze(-1) * u
    return u * screen


def _check_field(name: str, x: torch.Tensor, params: MeshParams) -> None:
    n = params.layout.n_ports
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a complex torch.Tensor of shape (..., {n}), got {x!r}")
    if x.ndim == 0 or x.shape[-1] != n:
        raise ValueError(
            f"{name} must have last dimension n_ports = {n}, got shape {tuple(x.shape)}"
        )
    if x.dtype != params.dtype:
        raise ValueError(
            f"{name} must have dtype {params.dtype} (the mesh's complex dtype), got {x.dtype}"
        )


def propagate(
    x: torch.Tensor,
    params: MeshParams,
    *,
    direction: str = "forward",
    gradient: str = "adjoint",
    block_columns: int | None = None,
) -> torch.Tensor:
    """Propagate a batch of fields through the mesh: ``y = x @ U.mT``.

    Args:
        x: complex input fields ``(..., N)`` in ``params.dtype`` (amplitudes, sqrt(W)); for
            ``direction="backward"`` the fields injected at the mesh outputs.
        params: effective per-MZI parameters.
        direction: ``"forward"`` or ``"backward"`` (physical reciprocal backward,
            ``U_back``; see :func:`transfer_matrix`).
        gradient: ``"adjoint"`` or ``"autograd"`` (see :func:`transfer_matrix`).
        block_columns: speed knob, see :func:`transfer_matrix`.

    Returns:
        Complex output fields ``(..., N)``.
    """
    _check_field("x", x, params)
    u = transfer_matrix(params, direction=direction, gradient=gradient, block_columns=block_columns)
    return x @ u.mT
