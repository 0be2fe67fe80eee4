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

Eager-mode cost at N = 64 is per-operation overhead and page faults, not flops: the
adjoint path writes in place into preallocated buffers (no zero-fills, ``cat`` or
``stack`` of band stacks), reduces the gradient column by column with the partner
gather it needs anyway, and recycles its work buffers through a per-plan pool
(:class:`_BufferPool`; a fresh tensor of a few hundred kB costs ~2 us a 4 kB page on
first touch, because glibc hands freed memory back to the system between calls); the
per-step views of those recycled buffers are made once and cached too. The
price: a plan keeps about one working set after use, and buffers saved for backward are
released when the autograd graph is freed, not right after ``backward()``.

The definition the engine must match is :func:`wavebp.simulators.mesh.mesh_matrix_reference`.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

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
    """Columns per block used when ``block_columns`` is not given (tuned on a 2-core CPU).

    Per step the band work is ``~2 K N`` elements whatever the block size (``m`` steps of
    ~10 operations, forward and backward); the block products cost ``~3 B N^3`` flops.
    Small meshes are dominated by per-operation overhead, large ones by the block
    matmuls (fewer blocks are better). At N = 64, ``m = 8`` (8 blocks, 21 matmuls of
    64 x 64) beat ``m = 4`` and ``m = 16`` (measured, 1 thread).
    """
    if n_ports <= 96:
        target = 8
    elif n_ports <= 192:
        target = 16
    else:
        target = 32
    return max(1, min(target, n_columns))


class _BufferPool:
    """Recycled work buffers of one plan, per shape, dtype and device.

    A fresh tensor of a few hundred kB costs page faults on first touch (glibc returns
    freed memory to the system between calls), which dominated the engine at N = 64.
    Buffers come back only when nothing can read them any more: scratch at the end of the
    call, tensors saved for backward when their autograd node is freed. ``list.pop`` and
    ``list.append`` are atomic, so concurrent threads at worst allocate a fresh buffer.
    """

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], torch.dtype, torch.device], list[torch.Tensor]] = {}
        self._views: dict[tuple[int, str], tuple[torch.Tensor, object]] = {}

    def views(self, buf: torch.Tensor, key: str, make: Callable[[torch.Tensor], Any]) -> Any:
        """``make(buf)`` (a tuple of views of a pooled buffer), cached per buffer: the same
        buffers come back call after call, and each view costs ~1-2 us of dispatch."""
        hit = self._views.get((id(buf), key))
        if hit is not None and hit[0] is buf:
            return hit[1]
        made = make(buf)
        if buf.numel() * buf.element_size() <= _VIEW_CACHE_MAX_BYTES:
            if len(self._views) >= 64:
                self._views.clear()
            self._views[(id(buf), key)] = (buf, made)
        return made

    def take(self, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised contiguous buffer of ``shape`` with ``like``'s dtype and device."""
        free = self._free.get((shape, like.dtype, like.device))
        if free:
            try:
                return free.pop()
            except IndexError:  # emptied by another thread
                pass
        return like.new_empty(shape)

    def give(self, *buffers: torch.Tensor) -> None:
        """Return buffers obtained from :meth:`take` (the caller no longer uses them)."""
        for buf in buffers:
            nbytes = buf.numel() * buf.element_size()
            if nbytes > _POOL_MAX_BYTES:
                continue
            free = self._free.setdefault((tuple(buf.shape), buf.dtype, buf.device), [])
            if len(free) < (4 if nbytes <= _POOL_SMALL_BYTES else 1):
                free.append(buf)


# Buffers above this size are never kept; above the small size, one per shape is kept (one
# working set: ~40 MB at N = 256, complex64), below it four (meshes used several times
# per step, e.g. layers of one size in a network).
_POOL_MAX_BYTES = 1 << 27
_POOL_SMALL_BYTES = 1 << 22
# Views are cached only for buffers up to this size (the cache holds up to 64 buffers alive;
# the per-view dispatch cost matters only for small meshes).
_VIEW_CACHE_MAX_BYTES = 1 << 20


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
    pool: _BufferPool = field(default_factory=_BufferPool, repr=False)

    def unit(self, like: torch.Tensor) -> torch.Tensor:
        """``[1, 0]`` in ``like``'s dtype and device (cached: ``new_tensor`` costs ~5 us)."""
        return self.constant("unit", like)

    def constant(self, name: str, like: torch.Tensor) -> torch.Tensor:
        """A read-only constant in ``like``'s dtype and device, made once: ``"unit"``
        (``[1, 0]``), ``"ones_m"`` / ``"ones_n"`` (``M`` / ``N`` ones) or ``"identity"``
        (the band identity, ``(B, N, W)``)."""
        key = (name, like.dtype, like.device)
        hit = self._units.get(key)
        if hit is None:
            if name == "unit":
                hit = like.new_tensor([1.0, 0.0])
            elif name == "ones_m":
                hit = like.new_ones(self.n_mzis)
            elif name == "ones_n":
                hit = like.new_ones(self.n_ports)
            else:
                hit = like.new_zeros(self.n_blocks, self.n_ports, self.width)
                hit[..., self.block + 1] = 1.0
            self._units[key] = hit
        return hit

    @functools.cached_property
    def _units(self) -> dict:
        return {}

    @functools.cached_property
    def gather_steps(self) -> tuple[torch.Tensor, ...]:
        """``gather.unbind(0)``, made once."""
        return self.gather.unbind(0)


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


def _blocks_forward(a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """Push the identity through every block (autograd-friendly, out-of-place): returns the
    band ``(B, N, W)`` block matrices."""
    nb, n, m = plan.n_blocks, plan.n_ports, plan.block
    a_s = a.view(nb, m, n, 1).unbind(1)
    b_s = b.view(nb, m, n, 1).unbind(1)
    idx = plan.gather.unbind(0)
    f = _band_identity(plan, a)
    for s in range(m):
        t = f.view(-1).index_select(0, idx[s]).view(nb, n, plan.width)
        f = a_s[s] * f + b_s[s] * t
    return f


def _blocks_forward_saved(
    ab: torch.Tensor, plan: _Plan, pooled: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Push the identity through every block without autograd, writing in place.

    Returns the zero-padded dense block matrices ``(B, N, N + W - 1)`` (the last step writes
    its band straight into them; block ``j`` is ``pad[j, :, m + 1 : m + 1 + N]``) and the
    band state entering each step, ``(m, B, N, W)``, both buffers of ``plan.pool``.
    ``ab``: the stacked coefficients ``(2, Kp, N)``; ``pooled``: whether it is a buffer of
    ``plan.pool`` (then its views are cached).
    """
    a = ab
    nb, n, w, m = plan.n_blocks, plan.n_ports, plan.width, plan.block
    pool = plan.pool
    # all per-step views made up front (a view costs ~2 us of dispatch in eager mode), and
    # cached for the pooled buffers that come back call after call
    if not pooled:
        a_s, b_s = _coef_steps(ab, plan)
    else:
        a_s, b_s = pool.views(ab, "steps", functools.partial(_coef_steps, plan=plan))
    idx = plan.gather_steps
    states = pool.take((m, nb, n, w), a)
    state_u, flat, first = pool.views(states, "fwd", _state_views)
    first.copy_(plan.constant("identity", a))
    pad = pool.take((nb, n, n + w - 1), a).zero_()
    (band_out,) = pool.views(
        pad, "band", lambda t: (t.as_strided((nb, n, w), (n * (n + w - 1), n + w, 1)),)
    )
    for s in range(m):
        t = flat[s].index_select(0, idx[s]).view(nb, n, w)
        dst = state_u[s + 1] if s + 1 < m else band_out
        torch.mul(a_s[s], state_u[s], out=dst)
        dst.add_(b_s[s] * t)  # faster than addcmul_ for complex
    return pad, states


def _coef_steps(ab: torch.Tensor, plan: _Plan) -> tuple[tuple[torch.Tensor, ...], ...]:
    """Per-step views ``(a_s, b_s)`` of a stacked ``(2, Kp, N)`` coefficient tensor."""
    nb, n, m = plan.n_blocks, plan.n_ports, plan.block
    v = ab.view(2, nb, m, n, 1)
    return v[0].unbind(1), v[1].unbind(1)


def _state_views(states: torch.Tensor) -> tuple[object, ...]:
    m = states.shape[0]
    return states.unbind(0), states.view(m, -1).unbind(0), states[0]


def _band_to_dense(band: torch.Tensor, plan: _Plan) -> torch.Tensor:
    nb, n, w = band.shape
    pad = band.new_zeros(nb, n, n + w - 1)
    if torch.is_grad_enabled() and band.requires_grad:
        pad = torch.as_strided_scatter(pad, band, (nb, n, w), (n * (n + w - 1), n + w, 1))
    else:
        pad.as_strided((nb, n, w), (n * (n + w - 1), n + w, 1)).copy_(band)
    return pad[:, :, plan.block + 1 : plan.block + 1 + n]


# Up to this many band elements (m * B * N * W) the backward works on all columns at once
# (fewest operations); above, column by column (small temporaries, no page faults).
_FUSE_ABOVE = 1 << 13


def _tree_product(p: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``P[B-1] @ ... @ P[0]`` by a balanced tree of batched matmuls (``log2 B`` calls).

    Returns the product and the inputs of every tree level (for :func:`_tree_backward`).
    """
    levels = []
    x = p
    while x.shape[0] > 1:
        levels.append(x)
        c = x.shape[0]
        prod = torch.bmm(x[1 : c - c % 2 : 2], x[0 : c - c % 2 : 2])  # bmm: no matmul wrapper
        x = torch.cat([prod, x[c - 1 :]], 0) if c % 2 else prod
    return x[0], levels


def _tree_backward(
    levels: list[torch.Tensor], g: torch.Tensor, out: torch.Tensor, pool: _BufferPool
) -> None:
    """Conjugated gradients reaching each leaf of :func:`_tree_product`, given the
    conjugated gradient ``g`` of the product, written into ``out`` ``(B, N, N)``. For
    ``C = A @ B``: ``conj(dL/dA*) = conj(G) B^T`` and ``conj(dL/dB*) = A^T conj(G)`` —
    transposes, no conjugated copies."""
    if not levels:
        out[0].copy_(g)
        return
    n = g.shape[-1]
    gx = g[None]
    scratch = []
    for li in range(len(levels) - 1, -1, -1):
        x = levels[li]
        c = x.shape[0]
        even = c - c % 2
        dst = out if li == 0 else pool.take((c, n, n), g)
        pair = dst[:even].view(even // 2, 2, n, n)
        gp = gx[: even // 2]
        torch.bmm(x[1:even:2].mT, gp, out=pair[:, 0])
        torch.bmm(gp, x[0:even:2].mT, out=pair[:, 1])
        if c % 2:
            dst[even:].copy_(gx[even // 2 :])
        gx = dst
        if li > 0:
            scratch.append(dst)
    pool.give(*scratch)


def _product_autograd(a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:
    return _tree_product(_band_to_dense(_blocks_forward(a, b, plan), plan))[0]


def _product_saved(
    a: torch.Tensor | None,
    b: torch.Tensor | None,
    plan: _Plan,
    ctx: object,
    ab: torch.Tensor | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Forward of the adjoint path: the product and what its backward needs. The pooled
    buffers (and ``ab``, a pooled ``(2, Kp, N)`` stack of ``a`` and ``b`` used instead of
    them when given) go back to ``plan.pool`` when ``ctx`` (the autograd node) is freed."""
    pooled = ab is not None
    if ab is None:
        ab = torch.stack([a, b])
    pad, states = _blocks_forward_saved(ab, plan, pooled)
    m, n = plan.block, plan.n_ports
    u0, levels = _tree_product(pad[:, :, m + 1 : m + 1 + n])
    weakref.finalize(ctx, plan.pool.give, pad, states, *((ab,) if pooled else ()))
    if plan.n_blocks == 1:
        u0 = u0.clone()  # not a view of a pooled buffer
    return u0, (ab, states, *levels)


def _product_nograd(a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:
    """The product without autograd (pooled buffers, in-place steps)."""
    pad, states = _blocks_forward_saved(torch.stack([a, b]), plan)
    m, n = plan.block, plan.n_ports
    u0 = _tree_product(pad[:, :, m + 1 : m + 1 + n])[0]
    if plan.n_blocks == 1:
        u0 = u0.clone()
    plan.pool.give(pad, states)
    return u0


def _column_grads_conj(
    saved: tuple[torch.Tensor, ...], grad_conj: torch.Tensor, plan: _Plan, pooled: bool = False
) -> torch.Tensor:
    """``conj(dL/da*), conj(dL/db*)`` stacked as ``(2, Kp, N)``, from the conjugated
    gradient ``conj(G)``, ``G = dL/dU0*`` (torch's convention)."""
    ab, fwd, *levels = saved
    a, b = ab[0], ab[1]
    nb, n, w, m = plan.n_blocks, plan.n_ports, plan.width, plan.block
    # conj of the gradient reaching each block, in band storage. Working with the
    # conjugated adjoint field z = conj(adj) avoids conjugated copies: it propagates
    # with C^T, z'[q] = a[q] z[q] + b[partner(q)] z[partner(q)], and
    # dL/da* = sum adj conj(fwd) = conj(sum z fwd).
    # The leaf gradients go into a flat buffer with a margin of m + 1 elements before and
    # after, so that the band is a strided view (entry (j, q, d) is H_j[q, q + d - m - 1]).
    # Band entries outside the matrix read neighbouring (finite) values: harmless, because
    # the propagation keeps every column separate and the forward band is zero there.
    margin = m + 1
    pool = plan.pool
    hbuf = pool.take((nb * n * n + 2 * margin,), grad_conj)
    hbuf[:margin].zero_()
    hbuf[-margin:].zero_()
    leaf, z_view = pool.views(
        hbuf,
        "h",
        lambda v: (
            v[margin : margin + nb * n * n].view(nb, n, n),
            v.as_strided((nb, n, w), (n * n, n + 1, 1)),
        ),
    )
    _tree_backward(levels, grad_conj, leaf, pool)
    a_s = a.view(nb, m, n, 1)
    bp = pool.take((nb, m, n, 1), a)
    torch.index_select(b.reshape(-1), 0, plan.partner_flat, out=bp.view(-1))
    b_s = bp
    idx = plan.gather
    out = pool.take((2, nb, m, n), a)  # (a, b) x (Kp, N), Kp = nb * m in column order
    if plan.gather_all.numel() > 0 and nb * n * w * m <= _FUSE_ABOVE:
        # tiny meshes: fewest operations
        adj_t = pool.take((m, nb, n, w), a)  # conj adjoint at each column output
        adj_t[m - 1] = z_view
        z = adj_t[m - 1]
        for s in range(m - 1, 0, -1):
            t = z.view(-1).index_select(0, idx[s]).view(nb, n, w)
            z = torch.mul(a_s[:, s], z, out=adj_t[s - 1])
            z.addcmul_(b_s[:, s], t)
        fwd_partner = fwd.view(-1).index_select(0, plan.gather_all).view(m, nb, n, w)
        torch.sum(adj_t * fwd, -1, out=out[0].permute(1, 0, 2))
        torch.sum(adj_t * fwd_partner, -1, out=out[1].permute(1, 0, 2))
        pool.give(hbuf, adj_t, bp)
        return out
    a_u = (
        pool.views(ab, "bwd_a", lambda v: v[0].view(nb, m, n, 1).unbind(1))
        if pooled
        else a_s.unbind(1)
    )
    b_u = pool.views(bp, "bwd_b", lambda v: v.unbind(1))
    idx_u = plan.gather_steps
    fwd_u = pool.views(fwd, "fwd", _state_views)[0]
    # Column by column, small temporaries only. With t = the partner gather of z (needed
    # to propagate z anyway), sum_d t[q, d] fwd[q, d] is the b-gradient of port
    # partner(q): both sums come from one product with the stacked (z, t).
    zt = pool.take((2, nb, n, w), a)
    z, t, z_flat, t_flat = pool.views(zt, "zt", lambda v: (*v.unbind(0), *v.view(2, -1).unbind(0)))
    z.copy_(z_view)
    out_u = pool.views(out, "out", lambda v: v.unbind(2))
    for s in range(m - 1, -1, -1):
        torch.index_select(z_flat, 0, idx_u[s], out=t_flat)
        torch.sum(zt * fwd_u[s], -1, out=out_u[s])
        if s > 0:  # propagate in place: z <- a z + b[partner] t
            z.mul_(a_u[s]).add_(b_u[s] * t)
    out[1] = out[1].view(-1).index_select(0, plan.partner_flat).view(nb, m, n)
    pool.give(hbuf, zt, bp)
    return out


def _column_grads(
    saved: tuple[torch.Tensor, ...], grad: torch.Tensor, plan: _Plan
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dL/da*, dL/db*)`` (torch's convention), each ``(Kp, N)``, from ``G = dL/dU0*``."""
    raw = _column_grads_conj(saved, grad.conj().resolve_conj(), plan)
    g = raw.conj().resolve_conj()
    plan.pool.give(raw)
    n = plan.n_ports
    return g[0].view(-1, n), g[1].view(-1, n)


class _ColumnProduct(torch.autograd.Function):
    """``U0 = C[Kp-1] @ ... @ C[0]`` from column coefficients, with the adjoint backward."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, plan: _Plan) -> torch.Tensor:  # type: ignore[override]
        u0, saved = _product_saved(a, b, plan, ctx)
        ctx.plan = plan
        ctx.save_for_backward(*saved)
        return u0.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        grad_a, grad_b = _column_grads(ctx.saved_tensors, grad, ctx.plan)
        return grad_a, grad_b, None


def _ones(plan: _Plan, name: str, x: torch.Tensor) -> torch.Tensor:
    """``ones_like(x)``, from the plan's constants when the shape matches."""
    c = plan.constant(name, x)
    return c if c.shape == x.shape else torch.ones_like(x)


class _IdealMeshMatrix(torch.autograd.Function):
    """Forward ``U`` of an ideal mesh (50:50 couplers, lossless, reciprocal) straight from
    ``(theta, phi, gamma)``, with the chain rule to the phases written out (fewer, fused
    operations than autograd through the MZI construction — the W1 benchmark's case)."""

    @staticmethod
    def forward(ctx, theta, phi, gamma, plan):  # type: ignore[override]
        e_theta = torch.polar(_ones(plan, "ones_m", theta), theta)
        e_phi = torch.polar(_ones(plan, "ones_m", phi), phi)
        t01 = (e_theta + 1.0) * 0.5j
        t00 = e_phi * (e_theta - 1.0) * 0.5
        t10 = e_phi * t01
        t11 = (1.0 - e_theta) * 0.5
        src = torch.cat([t00, t01, t10, t11, plan.unit(t00)])
        ab = plan.pool.take((2, plan.n_blocks * plan.block, plan.n_ports), t00)
        torch.index_select(src, 0, plan.idx_ab, out=ab.view(-1))
        u0, saved = _product_saved(None, None, plan, ctx, ab)
        screen = torch.polar(_ones(plan, "ones_n", gamma), gamma)
        u = screen.unsqueeze(-1) * u0
        ctx.plan = plan
        ctx.save_for_backward(e_theta, e_phi, t00, t10, screen, u, *saved)
        return u

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):  # type: ignore[override]
        e_theta, e_phi, t00, t10, screen, u, *saved = ctx.saved_tensors
        plan: _Plan = ctx.plan
        # U = D U0: dL/dgamma_q = Re(conj(G) i U) summed over the row; conj(G0) = D conj(G).
        grad_conj = grad.conj()
        grad_gamma = -(grad_conj * u).imag.sum(-1)
        raw = _column_grads_conj(tuple(saved), screen.unsqueeze(-1) * grad_conj, plan, pooled=True)
        # conj(conj(dL/dT*)) = dL/dT* of each MZI entry
        g = raw.view(-1).index_select(0, plan.entry_pos)
        plan.pool.give(raw)
        g00, g01, g10, g11 = g.view(4, -1).unbind(0)
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
    if not needs_grad:
        return _product_nograd(a, b, plan)
    if gradient == "adjoint":
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
