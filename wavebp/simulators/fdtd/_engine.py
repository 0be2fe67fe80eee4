r"""Leapfrog kernels, the reversible adjoint (custom autograd Function) and ``simulate``.

Discrete scheme (normalised units, ``C`` = Courant number, fields batch-first):

* H half step: ``h_y <- a_hy h_y + b_hy D_x u``, ``h_x <- a_hx h_x - b_hx D_y u`` with
  ``u = u_x + u_y`` and ``D_x u[f] = u[f+1] - u[f]`` (face ``f`` between cells f, f+1).
* E step: ``u_x <- a_ex u_x + b_ex (K_x h_y - J)``, ``u_y <- a_ey u_y + b_ey K_y h_x`` with
  ``K_x h[i] = h[i] - h[i-1]`` and ``K_y h[j] = -(h[j] - h[j-1])`` (zero beyond the walls),
  ``a = (1 - C rate/2) / (1 + C rate/2)``, ``b_e = C eps_inv / (1 + C rate/2)``,
  ``rate = s_pml + gamma``; ``b_h = C / (1 + C s_pml / 2)``.
* Probes read ``u`` after the E step.

Adjoint (linear media): the exact transpose of these steps, run from the last step to the
first; forward fields are recomputed backwards by inverting the leapfrog steps (exact up to
rounding where ``a = 1``; divided by ``a`` where the interior is lossy). Inside the PML the
inversion is unstable, so the forward pass saves, per step, the ``h`` values on the faces
between the interior and the PML (``4 (n - 2p)`` numbers per step and batch element in 2-D),
which is all the interior reconstruction needs; the adjoint field in the PML needs no forward
field because the PML is linear and its medium is not differentiated. Nonlinear media: the
interior step is inverted by a fixed-point iteration to rounding level, and each adjoint step
is the vector-Jacobian product of one forward step (local autograd), so memory still does not
grow with the number of steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from wavebp._core import EPSILON_0, as_tensor, check_choice, check_int, check_real
from wavebp.simulators.fdtd._grid import Grid, SpeedModulation
from wavebp.simulators.fdtd._progress import Progress

__all__ = ["field_snapshots", "simulate"]

_Cells = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
_CACHE_CELLS = 2**18  # cells per CPU batch chunk (see ``simulate``)


# ----------------------------------------------------------------------------------------
# Set-up: constants that do not depend on differentiable inputs
# ----------------------------------------------------------------------------------------
@dataclass
class _Setup:
    two_d: bool
    nx: int
    ny: int
    p: int
    courant: float
    ahy: torch.Tensor
    bhy: torch.Tensor
    ahx: torch.Tensor | None
    bhx: torch.Tensor | None
    sx: torch.Tensor
    sy: torch.Tensor | None
    src: _Cells  # flat index, weight, source id, one-hot (K, S)
    prb: _Cells
    nonlinear: bool
    inv_sat2: float
    has_pml: bool
    mod: _Modulation | None = None
    kerr_amp: float = 1.0  # saturation amplitude u_k of the Kerr term (field units)
    kerr_box: tuple[slice, slice] | None = None  # cells where G(w) != w may occur


class _Modulation:
    """Time-modulated permittivity: the factor ``eps_inv(t) / eps_inv = 1 / (1 + depth *
    cos(2 pi f t - k x))`` on the modulated cells (1 elsewhere), ``t = (n + 1/2) dt``."""

    def __init__(self, grid: Grid, cfg: SpeedModulation, dtype: torch.dtype, device):
        shape = grid.shape if grid.ndim == 2 else (grid.shape[0], 1)
        self.depth = float(cfg.depth)
        self.static = float(cfg.frequency) == 0.0
        self.omega_dt = 2.0 * math.pi * float(cfg.frequency) * grid.dt
        x = torch.arange(grid.shape[0], dtype=dtype, device=device) * grid.dx
        self.kx = (float(cfg.wavenumber) * x).reshape(-1, 1)
        self.mask = cfg.mask(grid).to(dtype=dtype, device=device).reshape(shape)
        # the modulation clock: step n is centred at t = (start + direction (n + 1/2)) dt
        # (``simulate``: start 0, direction +1; ``evolve`` may restart or reverse it)
        self.start = 0.0
        self.direction = 1.0

    def factor(self, n: int) -> torch.Tensor:
        """``eps_inv`` multiplier during step ``n``, shape ``(nx, ny)``."""
        phase = self.omega_dt * (self.start + self.direction * (n + 0.5)) - self.kx
        return 1.0 / (1.0 + self.depth * self.mask * torch.cos(phase))

    def max_factor(self) -> torch.Tensor:
        """Largest multiplier over all times, per cell (for the Courant check)."""
        if self.static:
            return self.factor(0)
        return 1.0 / (1.0 - self.depth * self.mask)


def _pml_profile(n: int, p: int, order: float, reflection: float, *, faces: bool) -> list[float]:
    """Normalised PML rate at cell centres (``faces=False``) or faces ``i + 1/2``."""
    if p == 0:
        return [0.0] * (n - 1 if faces else n)
    s_max = (order + 1.0) * math.log(1.0 / reflection) / (2.0 * p)
    pos = [i + 0.5 for i in range(n - 1)] if faces else [float(i) for i in range(n)]
    left, right = p - 0.5, n - p - 0.5
    out = []
    for x in pos:
        d = left - x if x < left else (x - right if x > right else 0.0)
        out.append(s_max * (d / p) ** order)
    return out


def _cells_spec(
    grid: Grid, items: list[Any], kind: str, dtype: torch.dtype, device: torch.device
) -> _Cells:
    idx, w, of = [], [], []
    ny = grid.shape[1] if grid.ndim == 2 else 1
    for k, item in enumerate(items):
        if not hasattr(item, "cells"):
            raise ValueError(f"{kind}[{k}] must be a source/probe object, got {item!r}")
        cells, weights = item.cells(grid)
        for c, wt in zip(cells, weights, strict=True):
            flat = c[0] * ny + (c[1] if grid.ndim == 2 else 0)
            idx.append(flat)
            w.append(wt)
            of.append(k)
    idx_t = torch.tensor(idx, dtype=torch.long, device=device)
    of_t = torch.tensor(of, dtype=torch.long, device=device)
    w_t = torch.tensor(w, dtype=dtype, device=device)
    onehot = torch.zeros(len(idx), len(items), dtype=dtype, device=device)
    if idx:
        onehot[torch.arange(len(idx), device=device), of_t] = 1.0
    return idx_t, w_t, of_t, onehot


def _make_setup(
    grid: Grid,
    sources: list[Any],
    probes: list[Any],
    dtype: torch.dtype,
    device: torch.device,
    nonlinear: bool,
    inv_sat2: float,
) -> _Setup:
    nx = grid.shape[0]
    ny = grid.shape[1] if grid.ndim == 2 else 1
    p, C = grid.pml_cells, grid.courant
    args = (grid.pml_order, grid.pml_reflection)

    def t(values: list[float], shape: tuple[int, ...]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device).reshape(shape)

    sx_h = t(_pml_profile(nx, p, *args, faces=True), (nx - 1, 1))
    sx = t(_pml_profile(nx, p, *args, faces=False), (nx, 1))
    ahy = (1 - 0.5 * C * sx_h) / (1 + 0.5 * C * sx_h)
    bhy = C / (1 + 0.5 * C * sx_h)
    ahx = bhx = sy = None
    if grid.ndim == 2:
        sy_h = t(_pml_profile(ny, p, *args, faces=True), (1, ny - 1))
        sy = t(_pml_profile(ny, p, *args, faces=False), (1, ny))
        ahx = (1 - 0.5 * C * sy_h) / (1 + 0.5 * C * sy_h)
        bhx = C / (1 + 0.5 * C * sy_h)
    return _Setup(
        two_d=grid.ndim == 2,
        nx=nx,
        ny=ny,
        p=p,
        courant=C,
        ahy=ahy,
        bhy=bhy,
        ahx=ahx,
        bhx=bhx,
        sx=sx,
        sy=sy,
        src=_cells_spec(grid, sources, "sources", dtype, device),
        prb=_cells_spec(grid, probes, "probes", dtype, device),
        nonlinear=nonlinear,
        inv_sat2=inv_sat2,
        has_pml=p > 0,
    )


def _coeffs(
    st: _Setup, eps_inv: torch.Tensor, rate: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """E-step coefficients ``a_ex, b_ex, a_ey, b_ey`` (differentiable in the maps)."""
    C = st.courant
    rx = st.sx + rate
    den = 1 + 0.5 * C * rx
    aex, bex = (1 - 0.5 * C * rx) / den, C * eps_inv / den
    if not st.two_d:
        return aex, bex, None, None
    ry = st.sy + rate
    den = 1 + 0.5 * C * ry
    return aex, bex, (1 - 0.5 * C * ry) / den, C * eps_inv / den


def _kerr_field(st: _Setup, w: torch.Tensor, maps: tuple, full: bool = False) -> torch.Tensor:
    """The field ``u = G(w)`` of the saturable Kerr medium from the stepped variable ``w``.

    ``G'(w) = (1 + r s(w / u_k))^2`` with ``s(x) = x^2 / (1 + x^2)``, ``r = dc / c_lin``
    (normalised ``c_nl / sqrt(eps_inv)``), ``G(0) = 0``; in closed form
    ``G(w) = w + u_k (2 r (x - atan x) + r^2 (x - 3/2 atan x + x / (2 (1 + x^2))))``,
    ``x = w / u_k``. ``G(w) = w`` exactly where ``r = 0`` (linear cells, the PML).
    ``w`` has shape ``(batch, nx, ny)`` and is evaluated on ``st.kerr_box`` only, unless
    ``full`` (then ``w`` and the maps only need to broadcast).
    """
    cnl = maps[2]
    if cnl is None:
        return w
    if full or st.kerr_box is None:
        return w + _kerr_extra(st, w, cnl / torch.sqrt(maps[0]))
    box = st.kerr_box
    wb = w[(slice(None), *box)]
    out = w.clone()
    out[(slice(None), *box)] = wb + _kerr_extra(st, wb, cnl[box] / torch.sqrt(maps[0][box]))
    return out


def _kerr_extra(st: _Setup, w: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """``G(w) - w``."""
    x = w / st.kerr_amp
    at = torch.atan(x)
    extra = 2.0 * r * (x - at) + r * r * (x - 1.5 * at + 0.5 * x / (1.0 + x * x))
    return st.kerr_amp * extra


def _nl_maps(
    st: _Setup,
    u: torch.Tensor,
    eps_inv: torch.Tensor,
    rate: torch.Tensor,
    cnl: torch.Tensor | None,
    b0: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Saturable absorption: ``rate + b0 / (1 + u^2 / u_s^2)`` (the Kerr term acts through
    :func:`_kerr_field`, not through the coefficients)."""
    if b0 is not None:
        rate = rate + b0 / (1 + u * u * st.inv_sat2)
    return eps_inv, rate


def _step_coeffs(st: _Setup, maps: tuple, u: torch.Tensor | None, n: int) -> tuple:
    """E-step coefficients of step ``n``: saturable absorption (from the field ``u^n``) and
    time modulation."""
    eps_inv, rate, cnl, b0 = maps
    if st.nonlinear:
        eps_inv, rate = _nl_maps(st, u, eps_inv, rate, cnl, b0)
    if st.mod is not None:
        eps_inv = eps_inv * st.mod.factor(n)
    return _coeffs(st, eps_inv, rate)


def _at(coef: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Values of a ``(..., nx, ny)`` map at flat cell indices."""
    return coef.reshape(*coef.shape[:-2], -1)[..., idx]


# ----------------------------------------------------------------------------------------
# In-place kernels (fast path)
# ----------------------------------------------------------------------------------------
def _curl_x(hy: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[i] = hy[i] - hy[i-1]`` with zero beyond the walls."""
    out[:, 0] = hy[:, 0]
    torch.sub(hy[:, 1:], hy[:, :-1], out=out[:, 1:-1])
    torch.neg(hy[:, -1], out=out[:, -1])
    return out


def _curl_y(hx: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out[j] = -(hx[j] - hx[j-1])`` with zero beyond the walls."""
    torch.neg(hx[:, :, 0], out=out[:, :, 0])
    torch.sub(hx[:, :, :-1], hx[:, :, 1:], out=out[:, :, 1:-1])
    out[:, :, -1] = hx[:, :, -1]
    return out


def _scale(
    st: _Setup, field: torch.Tensor, coef: torch.Tensor, which: str, op: str, full: bool
) -> None:
    """``field *= coef`` (``op="mul_"``) or ``/=`` (``"div_"``), on the PML strips only
    unless ``full`` (the coefficient is 1 elsewhere when the interior is lossless)."""
    if full or coef.dim() > 2:
        getattr(field, op)(coef)
        return
    p = st.p
    dim, lo, hi, n = {
        "ex": (1, p, st.nx - p, st.nx),
        "ey": (2, p, st.ny - p, st.ny),
        "hy": (1, p - 1, st.nx - p, st.nx - 1),
        "hx": (2, p - 1, st.ny - p, st.ny - 1),
    }[which]
    for a, b in ((0, lo), (hi, n)):
        if b > a:
            c = coef.narrow(dim - 1, a, b - a) if coef.shape[dim - 1] > 1 else coef
            getattr(field.narrow(dim, a, b - a), op)(c)


def _h_ring_views(st: _Setup, hy: torch.Tensor, hx: torch.Tensor | None) -> list[torch.Tensor]:
    """Views of the h values on the faces between the interior and the PML."""
    p, nx, ny = st.p, st.nx, st.ny
    if not st.two_d:
        return [hy[:, p - 1, :], hy[:, nx - p - 1, :]]
    return [
        hy[:, p - 1, p : ny - p],
        hy[:, nx - p - 1, p : ny - p],
        hx[:, p : nx - p, p - 1],
        hx[:, p : nx - p, ny - p - 1],
    ]


class _Fields:
    """Preallocated fields and work buffers, updated in place."""

    def __init__(self, st: _Setup, batch: int, dtype: torch.dtype, device: torch.device):
        z = {"dtype": dtype, "device": device}
        nx, ny = st.nx, st.ny
        self.st = st
        self.maps: tuple | None = None  # medium maps, set when the Kerr field map is needed
        self.full_e = True  # E coefficients differ from 1 outside the PML (lossy interior)
        self.ex = torch.zeros(batch, nx, ny, **z)
        self.hy = torch.zeros(batch, nx - 1, ny, **z)
        self.cur = torch.zeros(batch, nx, ny, **z)
        self.dxu = torch.zeros(batch, nx - 1, ny, **z)
        if st.two_d:
            self.ey = torch.zeros(batch, nx, ny, **z)
            self.hx = torch.zeros(batch, nx, ny - 1, **z)
            self.u = torch.zeros(batch, nx, ny, **z)
            self.dyu = torch.zeros(batch, nx, ny - 1, **z)

    def load(self, u: torch.Tensor, u_y: torch.Tensor | None, hy, hx) -> None:
        """Set the state: total field ``u``, its y split part ``u_y`` (2-D; ``u_x = u -
        u_y``), ``h_y`` and ``h_x`` (all batch-first, ``(batch, nx, ny)`` layout)."""
        if self.st.two_d:
            torch.sub(u, u_y, out=self.ex)
            self.ey.copy_(u_y)
            self.hx.copy_(hx)
        else:
            self.ex.copy_(u)
        self.hy.copy_(hy)

    def state(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Copies of ``(u, u_y, h_y, h_x)``; ``u_y`` zero outside the PML strips (only the sum
        ``u`` matters there), None in 1-D."""
        if not self.st.two_d:
            return self.ex.clone(), None, self.hy.clone(), None
        st, p = self.st, self.st.p
        u_y = self.ey.clone()
        u_y[:, p : st.nx - p, p : st.ny - p] = 0.0
        return self.ex + self.ey, u_y, self.hy.clone(), self.hx.clone()

    def total(self) -> torch.Tensor:
        """``u = u_x + u_y`` (a work buffer in 2-D; the field itself in 1-D)."""
        if not self.st.two_d:
            return self.ex
        return torch.add(self.ex, self.ey, out=self.u)

    def field(self) -> torch.Tensor:
        """The physical field ``u``: ``G(w)`` in a Kerr medium, else :meth:`total`."""
        w = self.total()
        if self.maps is None or self.maps[2] is None:
            return w
        return _kerr_field(self.st, w, self.maps)

    def h_step(self, u: torch.Tensor | None = None) -> None:
        """H half step from the field ``u`` (default :meth:`field`)."""
        st = self.st
        u = self.field() if u is None else u
        torch.sub(u[:, 1:], u[:, :-1], out=self.dxu)
        if st.has_pml:
            _scale(st, self.hy, st.ahy, "hy", "mul_", False)
        self.hy.addcmul_(st.bhy, self.dxu)
        if st.two_d:
            torch.sub(u[:, :, 1:], u[:, :, :-1], out=self.dyu)
            if st.has_pml:
                _scale(st, self.hx, st.ahx, "hx", "mul_", False)
            self.hx.addcmul_(st.bhx, self.dyu, value=-1.0)

    def e_step(self, co: tuple, mul_a: bool) -> None:
        aex, bex, aey, bey = co
        _curl_x(self.hy, self.cur)
        if mul_a:
            _scale(self.st, self.ex, aex, "ex", "mul_", self.full_e)
        self.ex.addcmul_(bex, self.cur)
        if self.st.two_d:
            _curl_y(self.hx, self.cur)
            if mul_a:
                _scale(self.st, self.ey, aey, "ey", "mul_", self.full_e)
            self.ey.addcmul_(bey, self.cur)

    def inject(self, values: torch.Tensor, idx: torch.Tensor, b_at: torch.Tensor) -> None:
        """``u_x[idx] -= b * values`` (a current source ``J``)."""
        self.ex.view(self.ex.shape[0], -1).index_add_(1, idx, values * b_at, alpha=-1.0)

    def sample(self, prb: _Cells, u: torch.Tensor | None = None) -> torch.Tensor:
        idx, w, _, onehot = prb
        if u is not None:
            return (u.reshape(u.shape[0], -1)[:, idx] * w) @ onehot
        v = self.ex.view(self.ex.shape[0], -1)[:, idx]
        if self.st.two_d:
            v = v + self.ey.view(self.ey.shape[0], -1)[:, idx]
        return (v * w) @ onehot

    def ring(self) -> list[torch.Tensor]:
        """Views of the h values on the interior/PML interface faces."""
        st, p = self.st, self.st.p
        nx, ny = st.nx, st.ny
        views = _h_ring_views(st, self.hy, self.hx if st.two_d else None)
        if not st.two_d:
            if st.nonlinear:  # the local VJP recomputes h on the ring: needs u outside it
                views += [self.ex[:, p - 1, :], self.ex[:, nx - p, :]]
            return views
        if st.nonlinear:
            for e in (self.ex, self.ey):
                views += [
                    e[:, p - 1, p : ny - p],
                    e[:, nx - p, p : ny - p],
                    e[:, p : nx - p, p - 1],
                    e[:, p : nx - p, ny - p],
                ]
        return views

    def zero_pml(self) -> None:
        st, p = self.st, self.st.p
        nx, ny = st.nx, st.ny
        for f in [self.ex, self.ey] if st.two_d else [self.ex]:
            f[:, :p] = 0.0
            f[:, nx - p :] = 0.0
            if st.two_d:
                f[:, :, :p] = 0.0
                f[:, :, ny - p :] = 0.0
        self.hy[:, : p - 1] = 0.0
        self.hy[:, nx - p :] = 0.0
        if st.two_d:
            self.hy[:, :, :p] = 0.0
            self.hy[:, :, ny - p :] = 0.0
            self.hx[:, :, : p - 1] = 0.0
            self.hx[:, :, ny - p :] = 0.0
            self.hx[:, :p] = 0.0
            self.hx[:, nx - p :] = 0.0


class _StripFields:
    """Fast linear kernel: the total field ``u`` everywhere, the split parts only where the
    PML needs them (``u_x`` in the x-strips, ``u_y`` in the y-strips).

    Per step the bulk update is the unsplit ``u <- a u + b (K_x h_y + K_y h_x)`` and the
    strips add ``(a_x - a) u_x + (b_x - b) K_x h_y`` (and the same in y), which reproduces the
    split-field update exactly. About a third of the memory traffic of :class:`_Fields`.
    """

    def __init__(
        self,
        st: _Setup,
        batch: int,
        co: tuple,
        a_int: torch.Tensor,
        b_int: torch.Tensor,
        lossy: bool,
        dtype: torch.dtype,
        device: torch.device,
    ):
        z = {"dtype": dtype, "device": device}
        nx, ny, p = st.nx, st.ny, st.p
        self.st, self.lossy = st, lossy
        self.u = torch.zeros(batch, nx, ny, **z)
        self.hy = torch.zeros(batch, nx - 1, ny, **z)
        self.dxu = torch.zeros(batch, nx - 1, ny, **z)
        self.curx = torch.zeros(batch, nx, ny, **z)
        self.a_int, self.b_int = a_int, b_int
        aex, bex, aey, bey = co
        # strips: (dim of the field, slice start, length) and their coefficients
        self.strips = []
        if p:
            for dim, n, a_d, b_d in ((1, nx, aex, bex), (2, ny, aey, bey)):
                if dim == 2 and not st.two_d:
                    continue
                for start in (0, n - p):
                    sl = [slice(None)] * 3
                    sl[dim] = slice(start, start + p)
                    csl = tuple(sl[1:])
                    a_s, b_s = a_d.expand(nx, ny)[csl], b_d.expand(nx, ny)[csl]
                    a0, b0 = a_int.expand(nx, ny)[csl], b_int.expand(nx, ny)[csl]
                    shape = list(self.u.shape)
                    shape[dim] = p
                    self.strips.append(
                        (dim, tuple(sl), torch.zeros(shape, **z), a_s, b_s, a_s - a0, b_s - b0)
                    )
        if st.two_d:
            self.hx = torch.zeros(batch, nx, ny - 1, **z)
            self.dyu = torch.zeros(batch, nx, ny - 1, **z)
            self.cury = torch.zeros(batch, nx, ny, **z)
        self.tmp = [torch.zeros(batch, p, ny, **z), torch.zeros(batch, nx, p, **z)] if p else []

    def load(self, u: torch.Tensor, u_y: torch.Tensor | None, hy, hx) -> None:
        """Set the state (as :meth:`_Fields.load`): ``u``, and the split parts the strips
        keep: ``u_x = u - u_y`` in the x-strips, ``u_y`` in the y-strips."""
        self.u.copy_(u)
        for dim, sl, part, *_ in self.strips:
            if dim == 1:
                part.copy_(u[sl] if u_y is None else u[sl] - u_y[sl])
            else:
                part.copy_(u_y[sl])
        self.hy.copy_(hy)
        if self.st.two_d:
            self.hx.copy_(hx)

    def state(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Copies of ``(u, u_y, h_y, h_x)`` as :meth:`_Fields.state`: ``u_y = u - u_x`` in the
        x-strips, the kept ``u_y`` in the y-strips (corners too), zero elsewhere."""
        if not self.st.two_d:
            return self.u.clone(), None, self.hy.clone(), None
        u_y = torch.zeros_like(self.u)
        for want in (1, 2):  # x-strips first: the y-strips' own u_y wins in the corners
            for dim, sl, part, *_ in self.strips:
                if dim == want:
                    u_y[sl] = self.u[sl] - part if dim == 1 else part
        return self.u.clone(), u_y, self.hy.clone(), self.hx.clone()

    def total(self) -> torch.Tensor:
        return self.u

    def field(self) -> torch.Tensor:
        """The physical field (linear medium: the stepped field itself)."""
        return self.u

    def h_step(self) -> None:
        st, u = self.st, self.u
        torch.sub(u[:, 1:], u[:, :-1], out=self.dxu)
        if st.has_pml:
            _scale(st, self.hy, st.ahy, "hy", "mul_", False)
        self.hy.addcmul_(st.bhy, self.dxu)
        if st.two_d:
            torch.sub(u[:, :, 1:], u[:, :, :-1], out=self.dyu)
            if st.has_pml:
                _scale(st, self.hx, st.ahx, "hx", "mul_", False)
            self.hx.addcmul_(st.bhx, self.dyu, value=-1.0)

    def e_step(self) -> None:
        u = self.u
        _curl_x(self.hy, self.curx)
        if self.st.two_d:
            _curl_y(self.hx, self.cury)
        if self.lossy:
            u.mul_(self.a_int)
        u.addcmul_(self.b_int, self.curx)
        if self.st.two_d:
            u.addcmul_(self.b_int, self.cury)
        for dim, sl, part, a_s, b_s, da, db in self.strips:
            cur = (self.curx if dim == 1 else self.cury)[sl]
            tmp = self.tmp[dim - 1]
            torch.mul(da, part, out=tmp)
            tmp.addcmul_(db, cur)
            u[sl].add_(tmp)
            part.mul_(a_s).addcmul_(b_s, cur)

    def inject(self, values: torch.Tensor, idx: torch.Tensor, b_at: torch.Tensor) -> None:
        self.u.view(self.u.shape[0], -1).index_add_(1, idx, values * b_at, alpha=-1.0)

    def sample(self, prb: _Cells) -> torch.Tensor:
        idx, w, _, onehot = prb
        return (self.u.view(self.u.shape[0], -1)[:, idx] * w) @ onehot

    def ring(self) -> list[torch.Tensor]:
        """Views of the h values on the interior/PML interface faces."""
        return _h_ring_views(self.st, self.hy, self.hx if self.st.two_d else None)

    def to_split(self) -> _Fields:
        """The state as split fields (``u_x = u``, ``u_y = 0``): exact sums in the interior;
        the PML's split is not kept (the backward pass never uses the PML's E)."""
        st = self.st
        f = _Fields(st, self.u.shape[0], self.u.dtype, self.u.device)
        f.ex.copy_(self.u)
        f.hy.copy_(self.hy)
        if st.two_d:
            f.hx.copy_(self.hx)
        return f


def _source_values(signals: torch.Tensor, src: _Cells, n: int) -> torch.Tensor:
    """Per source cell ``w * s(t_n)``, shape ``(batch, K)``."""
    _, w, of, _ = src
    return signals[:, of, n] * w


def _run_fast(
    st: _Setup,
    maps: tuple,
    signals: torch.Tensor,
    src: _Cells,
    prb: _Cells | None,
    *,
    ring_store: list[torch.Tensor] | None = None,
    on_step: Any = None,
    progress: Progress | None = None,
    final: bool | str = True,
    init: tuple | None = None,
) -> tuple[torch.Tensor | None, Any]:
    """Run all steps in place; returns probe traces ``(B, P, N)`` and the final fields as
    split fields (None when ``final`` is False; the kernel's own fields, :class:`_Fields` or
    :class:`_StripFields`, when ``final == "kernel"``). ``init``: the initial state
    ``(u, u_y, h_y, h_x)`` (see :meth:`_Fields.load`; linear media) instead of rest."""
    eps_inv, rate = maps[0], maps[1]
    batch, _, n_steps = signals.shape
    if _strip_ok(st, src):
        traces, g = _run_strip(
            st, maps, signals, src, prb, ring_store, on_step, progress, init=init
        )
        if final == "kernel":
            return traces, g
        return traces, (g.to_split() if final else None)
    f = _Fields(st, batch, signals.dtype, signals.device)
    f.maps = maps
    if init is not None:
        f.load(*init)
    kerr = maps[2] is not None
    traces = None
    if prb is not None:
        traces = signals.new_zeros(batch, prb[3].shape[1], n_steps)
    varying = st.nonlinear or st.mod is not None  # coefficients change every step
    co = _coeffs(st, eps_inv, rate) if not varying else None
    f.full_e = bool((rate != 0).any()) or st.nonlinear
    mul_a = st.has_pml or f.full_e
    b_src = _at(co[1], src[0]) if co is not None else None
    has_src = src[0].numel() > 0
    for n in range(n_steps):
        if ring_store is not None:
            for store, view in zip(ring_store, f.ring(), strict=True):
                store[n].copy_(view)
        u = f.field()
        if varying:
            co = _step_coeffs(st, maps, u, n)
        f.h_step(u)
        f.e_step(co, mul_a or st.nonlinear)
        if has_src:
            f.inject(
                _source_values(signals, src, n),
                src[0],
                b_src if b_src is not None else _at(co[1], src[0]),
            )
        if traces is not None:
            traces[:, :, n] = _sample_kerr(st, f, prb, maps) if kerr else f.sample(prb)
        if on_step is not None:
            on_step(n, f)
        if progress is not None:
            progress.update(n + 1)
    return traces, f


def _sample_kerr(st: _Setup, f: _Fields, prb: _Cells, maps: tuple) -> torch.Tensor:
    """Probe read-out ``u = G(w)`` evaluated at the probe cells only."""
    idx, w, _, onehot = prb
    wv = f.total().reshape(f.ex.shape[0], -1)[:, idx]
    local = (maps[0].reshape(-1)[idx], None, maps[2].reshape(-1)[idx], None)
    return (_kerr_field(st, wv, local, full=True) * w) @ onehot


def _strip_ok(st: _Setup, src: _Cells | None = None) -> bool:
    """The strip kernel: linear media and no source inside the x-PML strips."""
    idx = (st.src if src is None else src)[0]
    in_x_pml = bool(((idx // st.ny < st.p) | (idx // st.ny >= st.nx - st.p)).any())
    return not st.nonlinear and st.mod is None and not in_x_pml


def _run_strip(st, maps, signals, src, prb, ring_store, on_step, progress, init=None):
    """:func:`_run_fast` for linear media with the strip kernel; returns the strip fields."""
    eps_inv, rate = maps[0], maps[1]
    batch, _, n_steps = signals.shape
    co = _coeffs(st, eps_inv, rate)
    C = st.courant
    den = 1 + 0.5 * C * rate
    a_int, b_int = (1 - 0.5 * C * rate) / den, C * eps_inv / den
    lossy = bool((rate != 0).any())
    f = _StripFields(st, batch, co, a_int, b_int, lossy, signals.dtype, signals.device)
    if init is not None:
        f.load(*init)
    traces = None
    if prb is not None:
        traces = signals.new_zeros(batch, prb[3].shape[1], n_steps)
    has_src = src[0].numel() > 0
    b_src = _at(co[1], src[0])
    for n in range(n_steps):
        if ring_store is not None:
            for store, view in zip(ring_store, f.ring(), strict=True):
                store[n].copy_(view)
        f.h_step()
        f.e_step()
        if has_src:
            f.inject(_source_values(signals, src, n), src[0], b_src)
        if traces is not None:
            traces[:, :, n] = f.sample(prb)
        if on_step is not None:
            on_step(n, f)
        if progress is not None:
            progress.update(n + 1)
    return traces, f


# ----------------------------------------------------------------------------------------
# Out-of-place reference step (autograd path, local VJPs for nonlinear media)
# ----------------------------------------------------------------------------------------
def _ref_curl_x(hy: torch.Tensor) -> torch.Tensor:
    return torch.cat([hy[:, :1], hy[:, 1:] - hy[:, :-1], -hy[:, -1:]], dim=1)


def _ref_curl_y(hx: torch.Tensor) -> torch.Tensor:
    return torch.cat([-hx[:, :, :1], hx[:, :, :-1] - hx[:, :, 1:], hx[:, :, -1:]], dim=2)


def _ref_step(
    st: _Setup,
    state: tuple[torch.Tensor, ...],
    maps: tuple,
    jvals: torch.Tensor | None,
    co: tuple | None = None,
    n: int = 0,
) -> tuple[torch.Tensor, ...]:
    """One leapfrog step (number ``n``) without in-place ops; ``state = (ex, hy[, ey, hx])``;
    ``co`` precomputed coefficients of a linear, unmodulated medium (or None)."""
    ex, hy = state[0], state[1]
    u = _kerr_field(st, ex + state[2] if st.two_d else ex, maps)
    if co is None:
        co = _step_coeffs(st, maps, u, n)
    aex, bex, aey, bey = co
    hy = st.ahy * hy + st.bhy * (u[:, 1:] - u[:, :-1])
    ex = aex * ex + bex * _ref_curl_x(hy)
    if jvals is not None:
        b = ex.shape[0]
        inj = jvals * _at(bex, st.src[0])
        ex = ex.reshape(b, -1).index_add(1, st.src[0], inj, alpha=-1.0).reshape(ex.shape)
    if not st.two_d:
        return ex, hy
    hx = st.ahx * state[3] - st.bhx * (u[:, :, 1:] - u[:, :, :-1])
    ey = aey * state[2] + bey * _ref_curl_y(hx)
    return ex, hy, ey, hx


def _ref_sample(st: _Setup, state: tuple[torch.Tensor, ...], maps: tuple) -> torch.Tensor:
    idx, w, _, onehot = st.prb
    u = _kerr_field(st, state[0] + state[2] if st.two_d else state[0], maps)
    return (u.reshape(u.shape[0], -1)[:, idx] * w) @ onehot


def _run_autograd(st: _Setup, maps: tuple, signals: torch.Tensor, progress: Progress | None):
    batch, _, n_steps = signals.shape
    z = signals.new_zeros
    state: tuple[torch.Tensor, ...] = (z(batch, st.nx, st.ny), z(batch, st.nx - 1, st.ny))
    if st.two_d:
        state = (*state, z(batch, st.nx, st.ny), z(batch, st.nx, st.ny - 1))
    varying = st.nonlinear or st.mod is not None
    co = None if varying else _coeffs(st, maps[0], maps[1])
    has_src = st.src[0].numel() > 0
    out = []
    for n in range(n_steps):
        j = _source_values(signals, st.src, n) if has_src else None
        state = _ref_step(st, state, maps, j, co, n)
        out.append(_ref_sample(st, state, maps))
        if progress is not None:
            progress.update(n + 1)
    return torch.stack(out, dim=-1)


# ----------------------------------------------------------------------------------------
# The custom autograd Function: reversible adjoint and in-situ replay
# ----------------------------------------------------------------------------------------
class _WaveFunction(torch.autograd.Function):
    """Inputs: normalised ``eps_inv, rate, c_nl, b0`` maps and ``signals``."""

    @staticmethod
    def forward(ctx, eps_inv, rate, cnl, b0, signals, st, mode, progress):
        maps = (eps_inv, rate, cnl, b0)
        batch, _, n_steps = signals.shape
        ring_store = None
        on_step = None
        if mode == "adjoint" and st.has_pml:
            ring_store = [
                signals.new_empty(n_steps, *v.shape)
                for v in _Fields(st, batch, signals.dtype, signals.device).ring()
            ]
        interior = _interior_slices(st)
        recorded: list[torch.Tensor] = []
        if mode == "insitu":
            recorded.append(signals.new_zeros(batch, *_interior_shape(st)))

            def on_step(n: int, f: _Fields) -> None:
                recorded.append(f.total()[interior].clone())

        traces, f = _run_fast(
            st,
            maps,
            signals,
            st.src,
            st.prb,
            ring_store=ring_store,
            on_step=on_step,
            progress=progress,
        )
        ctx.st, ctx.mode, ctx.progress_enabled = st, mode, progress is not None
        if mode == "adjoint":
            final = [f.ex.clone(), f.hy.clone()]
            if st.two_d:
                final += [f.ey.clone(), f.hx.clone()]
            ctx.final = final
            ctx.ring = ring_store
        else:
            ctx.recorded = recorded
        ctx.save_for_backward(eps_inv, rate, cnl, b0, signals)
        return traces

    @staticmethod
    def backward(ctx, grad_traces):
        st, mode = ctx.st, ctx.mode
        eps_inv, rate, cnl, b0, signals = ctx.saved_tensors
        progress = Progress(signals.shape[-1], label=f"fdtd {mode}", enabled=ctx.progress_enabled)
        if mode == "insitu":
            g_ei, g_sig = _insitu_backward(
                st, eps_inv, rate, signals, ctx.recorded, grad_traces, progress
            )
            return g_ei, None, None, None, g_sig, None, None, None
        need = ctx.needs_input_grad
        if st.nonlinear and b0 is None:
            # saturable Kerr only: the E step stays linear in w, exactly invertible
            grads = _adjoint_backward_linear(
                st,
                eps_inv,
                rate,
                signals,
                ctx.final,
                ctx.ring,
                grad_traces,
                need,
                progress,
                cnl=cnl,
            )
        elif st.nonlinear:
            grads = _adjoint_backward_nonlinear(
                st,
                (eps_inv, rate, cnl, b0),
                signals,
                ctx.final,
                ctx.ring,
                grad_traces,
                need,
                progress,
            )
        else:
            # the strip transpose moves less memory (CPU); on a GPU its many small launches
            # made it slower (H200, batch 16: 451 vs 787 M cell-updates/s), so GPUs keep the
            # split-field transpose. Both are exact transposes (tests compare each).
            strip = _strip_ok(st) and signals.device.type == "cpu"
            backward = _adjoint_backward_strip if strip else _adjoint_backward_linear
            grads = backward(
                st, eps_inv, rate, signals, ctx.final, ctx.ring, grad_traces, need, progress
            )
        progress.close()
        return (*grads, None, None, None)


def _interior_slices(st: _Setup) -> tuple[slice, ...]:
    p = st.p
    ys = slice(p, st.ny - p) if st.two_d else slice(None)
    return (slice(None), slice(p, st.nx - p), ys)


def _interior_shape(st: _Setup) -> tuple[int, int]:
    p = st.p
    return (st.nx - 2 * p, st.ny - 2 * p if st.two_d else 1)


def _reconstruct_h(f: _Fields) -> None:
    """``h^{n-1/2}`` from ``h^{n+1/2}`` and ``u^n`` (inverse of ``h_step``)."""
    st = f.st
    u = f.field()
    torch.sub(u[:, 1:], u[:, :-1], out=f.dxu)
    f.hy.addcmul_(st.bhy, f.dxu, value=-1.0)
    if st.has_pml:
        _scale(st, f.hy, st.ahy, "hy", "div_", False)
    if st.two_d:
        torch.sub(u[:, :, 1:], u[:, :, :-1], out=f.dyu)
        f.hx.addcmul_(st.bhx, f.dyu)
        if st.has_pml:
            _scale(st, f.hx, st.ahx, "hx", "div_", False)


def _unstep_linear(f: _Fields, co: tuple, ring: list[torch.Tensor] | None, n: int) -> None:
    """Undo source-free step ``n`` of a linear medium: ``(u^{n+1}, h^{n+1/2}) -> (u^n,
    h^{n-1/2})``; exact where ``a = 1``, the PML part restored from ``ring``."""
    st = f.st
    aex, bex, aey, bey = co
    _curl_x(f.hy, f.cur)
    f.ex.addcmul_(bex, f.cur, value=-1.0)
    if st.two_d:
        _curl_y(f.hx, f.cur)
        f.ey.addcmul_(bey, f.cur, value=-1.0)
    f.ex.div_(aex)
    if st.two_d:
        f.ey.div_(aey)
    _reconstruct_h(f)
    _restore(f, ring, n)


def _restore(f: _Fields, ring: list[torch.Tensor] | None, n: int) -> None:
    if not f.st.has_pml:
        return
    f.zero_pml()
    for view, store in zip(f.ring(), ring, strict=True):
        view.copy_(store[n])


def _load_final(st: _Setup, final: list[torch.Tensor]) -> _Fields:
    f = _Fields(st, final[0].shape[0], final[0].dtype, final[0].device)
    f.ex.copy_(final[0])
    f.hy.copy_(final[1])
    if st.two_d:
        f.ey.copy_(final[2])
        f.hx.copy_(final[3])
    return f


def _sub_diff_embedded(
    face: torch.Tensor, dm: torch.Tensor, dim: int, start: int, sign: float
) -> None:
    """``face += sign * D(dm_embedded)`` along ``dim``, ``dm`` living on cells
    ``[start, start + len)`` and zero elsewhere; ``D m[f] = m[f + 1] - m[f]``."""
    n_faces = face.shape[dim]
    length = dm.shape[dim]
    # + m[f + 1] on faces f = c - 1 for cells c >= 1
    c0 = max(start, 1)
    if c0 < start + length:
        face.narrow(dim, c0 - 1, start + length - c0).add_(
            dm.narrow(dim, c0 - start, start + length - c0), alpha=sign
        )
    # - m[f] on faces f = c for cells c <= n_faces - 1
    c1 = min(start + length, n_faces)
    if c1 > start:
        face.narrow(dim, start, c1 - start).add_(dm.narrow(dim, 0, c1 - start), alpha=-sign)


def _adjoint_backward_strip(st, eps_inv, rate, signals, final, ring, grad_traces, need, progress):
    """Transpose of the strip kernel (:class:`_StripFields`), run backwards in time.

    Adjoint state: ``L_u`` for the total field, ``L_part`` for the PML split parts, ``L_h``.
    Forward fields recomputed backwards: only ``u`` and ``h`` in the interior (and the saved
    interface ring); the PML's forward fields are never needed.
    """
    batch, _, n_steps = signals.shape
    C = st.courant
    co = _coeffs(st, eps_inv, rate)
    den = 1 + 0.5 * C * rate
    a_int, b_int = (1 - 0.5 * C * rate) / den, C * eps_inv / den
    lossy = bool((rate != 0).any())
    adj = _StripFields(st, batch, co, a_int, b_int, lossy, signals.dtype, signals.device)
    u = final[0] + final[2] if st.two_d else final[0].clone()
    hy = final[1].clone()
    hx = final[3].clone() if st.two_d else None
    nx, ny, p = st.nx, st.ny, st.p
    z = {"dtype": signals.dtype, "device": signals.device}
    cur = torch.zeros(batch, nx, ny, **z)
    m = torch.zeros(batch, nx, ny, **z)
    dxu = torch.zeros(batch, nx - 1, ny, **z)
    dyu = torch.zeros(batch, nx, ny - 1, **z) if st.two_d else None
    need_b, need_a = need[0] or need[1], need[1]
    gb = signals.new_zeros(batch, nx, ny) if need_b else None
    ga = signals.new_zeros(batch, nx, ny) if need_a else None
    g_sig = torch.zeros_like(signals) if need[4] else None
    sidx, sw, _, sone = st.src
    pidx, pw, pof, _ = st.prb
    has_src = sidx.numel() > 0
    b_src = _at(co[1], sidx)
    lu, lhy, lhx = adj.u, adj.hy, (adj.hx if st.two_d else None)

    def zero_pml() -> None:
        u[:, :p] = 0.0
        u[:, nx - p :] = 0.0
        hy[:, : p - 1] = 0.0
        hy[:, nx - p :] = 0.0
        if st.two_d:
            u[:, :, :p] = 0.0
            u[:, :, ny - p :] = 0.0
            hy[:, :, :p] = 0.0
            hy[:, :, ny - p :] = 0.0
            hx[:, :, : p - 1] = 0.0
            hx[:, :, ny - p :] = 0.0
            hx[:, :p] = 0.0
            hx[:, nx - p :] = 0.0

    for n in range(n_steps - 1, -1, -1):
        # adjoint source d L / d u^{n+1} at the probes
        lu.view(batch, -1).index_add_(1, pidx, grad_traces[:, :, n][:, pof] * pw)
        # forward: u^n from u^{n+1} and h^{n+1/2} (interior exact; PML discarded below)
        _curl_x(hy, cur if not st.two_d else adj.curx)
        if st.two_d:
            _curl_y(hx, adj.cury)
            torch.add(adj.curx, adj.cury, out=cur)
        if need_b:
            gb.addcmul_(lu, cur)
        u.addcmul_(b_int, cur, value=-1.0)
        if has_src:
            jv = _source_values(signals, st.src, n)
            u.view(batch, -1).index_add_(1, sidx, jv * b_src)
            l_src = lu.view(batch, -1)[:, sidx]
            if need_b:
                gb.view(batch, -1).index_add_(1, sidx, -l_src * jv)
            if g_sig is not None:
                g_sig[:, :, n] = -(l_src * b_src * sw) @ sone
        if lossy:
            u.div_(a_int)
        if need_a:
            ga.addcmul_(lu, u)
        # transpose of the E step: L_cx = b L_u (+ strip terms), L_hy -= D_x L_cx, ...
        torch.mul(b_int, lu, out=m)
        torch.sub(m[:, 1:], m[:, :-1], out=dxu)
        lhy.sub_(dxu)
        if st.two_d:
            torch.sub(m[:, :, 1:], m[:, :, :-1], out=dyu)
            lhx.add_(dyu)
        for (dim, sl, part, a_s, b_s, da, db), tmp in zip(
            adj.strips, [adj.tmp[k[0] - 1] for k in adj.strips], strict=True
        ):
            lu_s = lu[sl]
            torch.mul(db, lu_s, out=tmp)
            tmp.addcmul_(b_s, part)  # part holds L_part
            start = sl[dim].start
            if dim == 1:
                _sub_diff_embedded(lhy, tmp, 1, start, -1.0)
            else:
                _sub_diff_embedded(lhx, tmp, 2, start, +1.0)
            part.mul_(a_s).addcmul_(da, lu_s)
        if lossy:
            lu.mul_(a_int)
        # forward: h^{n-1/2} from h^{n+1/2} and u^n; restore what the PML destroyed
        torch.sub(u[:, 1:], u[:, :-1], out=adj.dxu)
        hy.addcmul_(st.bhy, adj.dxu, value=-1.0)
        if st.two_d:
            torch.sub(u[:, :, 1:], u[:, :, :-1], out=adj.dyu)
            hx.addcmul_(st.bhx, adj.dyu)
        if st.has_pml:
            zero_pml()
            for view, store in zip(_h_ring_views(st, hy, hx), ring, strict=True):
                view.copy_(store[n])
        # transpose of the H step
        torch.mul(st.bhy, lhy, out=dxu)
        lu.sub_(_curl_x(dxu, cur))
        if st.two_d:
            torch.mul(st.bhx, lhx, out=dyu)
            lu.sub_(_curl_y(dyu, cur))
        if st.has_pml:
            _scale(st, lhy, st.ahy, "hy", "mul_", False)
            if st.two_d:
                _scale(st, lhx, st.ahx, "hx", "mul_", False)
        progress.update(n_steps - n)
    inside = _interior_mask(st, signals)
    g_ei = g_rate = None
    if need[0]:
        g_ei = (gb.sum(0) * C / den) * inside
    if need[1]:
        da_dr = -C / den**2
        db_dr = -0.5 * C * C * eps_inv / den**2
        g_rate = (ga.sum(0) * da_dr + gb.sum(0) * db_dr) * inside
    return g_ei, g_rate, None, None, g_sig


def _kerr_derivs(st: _Setup, w: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``dG/dw = (1 + r s)^2`` and ``dG/dr`` of :func:`_kerr_field` (``x = w / u_k``)."""
    x = w / st.kerr_amp
    x2 = x * x
    s = x2 / (1.0 + x2)
    at = torch.atan(x)
    dgr = st.kerr_amp * (2.0 * (x - at) + 2.0 * r * (x - 1.5 * at + 0.5 * x / (1.0 + x2)))
    return (1.0 + r * s) ** 2, dgr


def _adjoint_backward_linear(
    st, eps_inv, rate, signals, final, ring, grad_traces, need, progress, cnl=None
):
    """Reverse-time adjoint of the linear scheme; forward fields recomputed backwards.

    A time-modulated medium (``st.mod``) has step-dependent ``b`` coefficients: each step
    uses its own, and the ``b`` gradient of step ``n`` carries its factor ``m_n`` (``b_n =
    C eps_inv m_n / den``). A saturable Kerr medium (``cnl``, no saturable absorption):
    the E step is linear in ``w`` and exactly invertible; the H step and the probes read
    ``u = G(w)``, so their transposes carry ``G'(w)`` and a gradient for ``r = c_nl /
    sqrt(eps_inv)``."""
    batch, _, n_steps = signals.shape
    maps = (eps_inv, rate, cnl, None)
    aex, bex, aey, bey = _coeffs(st, eps_inv, rate)
    f = _load_final(st, final)  # forward fields, run backwards
    kerr = cnl is not None
    r = g_r = None
    if kerr:
        f.maps = maps
        r = cnl / torch.sqrt(eps_inv)
        if need[0] or need[2]:
            g_r = torch.zeros(r.shape, dtype=r.dtype, device=r.device)
    lam = _Fields(st, batch, signals.dtype, signals.device)  # adjoint fields
    need_b = need[0] or need[1]
    need_a = need[1]
    gb = signals.new_zeros(batch, st.nx, st.ny) if need_b else None
    ga = signals.new_zeros(batch, st.nx, st.ny) if need_a else None
    g_sig = torch.zeros_like(signals) if need[4] else None
    sidx, _, _, sone = st.src
    pidx, pw, pof, _ = st.prb
    has_src = sidx.numel() > 0
    b_src = _at(bex, sidx)
    full_e = bool((rate != 0).any())
    lossy = st.has_pml or full_e
    tmp = lam.cur.clone()
    for n in range(n_steps - 1, -1, -1):
        m_n = None
        if st.mod is not None:
            m_n = st.mod.factor(n)
            aex, bex, aey, bey = _step_coeffs(st, maps, None, n)
            b_src = _at(bex, sidx)
        # adjoint source: d L / d u^{n+1} at the probes (u = u_x + u_y)
        gk = grad_traces[:, :, n][:, pof] * pw
        if kerr:  # the probes read u = G(w^{n+1})
            gp, dgr = _kerr_derivs(st, f.total().reshape(batch, -1)[:, pidx], r.reshape(-1)[pidx])
            if g_r is not None:
                g_r.view(-1).index_add_(0, pidx, (dgr * gk).sum(0))
            gk = gk * gp
        lam.ex.view(batch, -1).index_add_(1, pidx, gk)
        if st.two_d:
            lam.ey.view(batch, -1).index_add_(1, pidx, gk)
        lex = lam.ex if m_n is None else lam.ex * m_n
        ley = None if not st.two_d else (lam.ey if m_n is None else lam.ey * m_n)
        # forward: u^{n} from u^{n+1} and h^{n+1/2}
        jv = _source_values(signals, st.src, n) if has_src else None
        _curl_x(f.hy, f.cur)
        if need_b:
            gb.addcmul_(lex, f.cur)
        f.ex.addcmul_(bex, f.cur, value=-1.0)
        if st.two_d:
            _curl_y(f.hx, f.cur)
            if need_b:
                gb.addcmul_(ley, f.cur)
            f.ey.addcmul_(bey, f.cur, value=-1.0)
        if has_src:
            f.ex.view(batch, -1).index_add_(1, sidx, jv * b_src)
            lam_src = lam.ex.view(batch, -1)[:, sidx]
            if need_b:
                gb.view(batch, -1).index_add_(1, sidx, -lex.reshape(batch, -1)[:, sidx] * jv)
            if g_sig is not None:
                g_sig[:, :, n] = -(lam_src * b_src * st.src[1]) @ sone
        if lossy:
            _scale(st, f.ex, aex, "ex", "div_", full_e)
            if st.two_d:
                _scale(st, f.ey, aey, "ey", "div_", full_e)
        if need_a:
            ga.addcmul_(lam.ex, f.ex)
            if st.two_d:
                ga.addcmul_(lam.ey, f.ey)
        # transpose of the E step: h adjoint, then scale by a
        torch.mul(bex, lam.ex, out=tmp)
        torch.sub(tmp[:, 1:], tmp[:, :-1], out=lam.dxu)
        lam.hy.sub_(lam.dxu)
        if lossy:
            _scale(st, lam.ex, aex, "ex", "mul_", full_e)
        if st.two_d:
            torch.mul(bey, lam.ey, out=tmp)
            torch.sub(tmp[:, :, 1:], tmp[:, :, :-1], out=lam.dyu)
            lam.hx.add_(lam.dyu)
            if lossy:
                _scale(st, lam.ey, aey, "ey", "mul_", full_e)
        # forward: h^{n-1/2}; then restore what the PML destroyed
        _reconstruct_h(f)
        _restore(f, ring, n)
        # transpose of the H step
        torch.mul(st.bhy, lam.hy, out=lam.dxu)
        _curl_x(lam.dxu, tmp)
        if kerr:  # -dL/du^n in tmp, then through u^n = G(w^n)
            if st.two_d:
                torch.mul(st.bhx, lam.hx, out=lam.dyu)
                tmp.add_(_curl_y(lam.dyu, lam.cur))
            bx = (slice(None), *st.kerr_box)
            tb = tmp[bx]
            gp, dgr = _kerr_derivs(st, f.total()[bx], r[st.kerr_box])
            if g_r is not None:
                g_r[st.kerr_box].sub_((dgr * tb).sum(0))
            tb.mul_(gp)
            lam.ex.sub_(tmp)
            if st.two_d:
                lam.ey.sub_(tmp)
        else:
            lam.ex.sub_(tmp)
            if st.two_d:
                lam.ey.sub_(tmp)
                torch.mul(st.bhx, lam.hx, out=lam.dyu)
                _curl_y(lam.dyu, tmp)
                lam.ex.sub_(tmp)
                lam.ey.sub_(tmp)
        if st.has_pml:
            _scale(st, lam.hy, st.ahy, "hy", "mul_", False)
            if st.two_d:
                _scale(st, lam.hx, st.ahx, "hx", "mul_", False)
        progress.update(n_steps - n)
    # chain rule to eps_inv and rate, interior only (PML medium is not differentiated)
    C = st.courant
    g_ei = g_rate = g_cnl = None
    inside = _interior_mask(st, signals)
    if need[0]:
        g_ei = (gb.sum(0) * C / (1 + 0.5 * C * rate)) * inside
        if g_r is not None:  # r = c_nl eps_inv^(-1/2)
            g_ei = g_ei - 0.5 * g_r * r / eps_inv * inside
    if kerr and need[2]:
        g_cnl = g_r / torch.sqrt(eps_inv) * inside
    if need[1]:
        den = 1 + 0.5 * C * rate
        da = -C / den**2
        db = -0.5 * C * C * eps_inv / den**2
        g_rate = (ga.sum(0) * da + gb.sum(0) * db) * inside
    return g_ei, g_rate, g_cnl, None, g_sig


def _interior_mask(st: _Setup, like: torch.Tensor) -> torch.Tensor:
    m = like.new_zeros(st.nx, st.ny)
    m[_interior_slices(st)[1:]] = 1.0
    return m


def _adjoint_backward_nonlinear(st, maps, signals, final, ring, grad_traces, need, progress):
    """Adjoint for nonlinear media: reversal by fixed-point iteration, local VJP per step."""
    batch, _, n_steps = signals.shape
    f = _load_final(st, final)
    f.maps = maps
    lam = [torch.zeros_like(t) for t in final]
    grads = [None if m is None else torch.zeros_like(m) for m in maps]
    g_sig = torch.zeros_like(signals) if need[4] else None
    sidx = st.src[0]
    has_src = sidx.numel() > 0
    pidx, pw, pof, _ = st.prb
    inside = _interior_slices(st)
    tol = 8 * torch.finfo(signals.dtype).eps
    kerr = maps[2] is not None
    for n in range(n_steps - 1, -1, -1):
        gk = grad_traces[:, :, n][:, pof] * pw
        if kerr:  # the probes read u = G(w): chain rule to w and to the maps in G
            gk = _kerr_probe_vjp(st, f.total(), maps, grads, pidx, gk)
        lam[0].view(batch, -1).index_add_(1, pidx, gk)
        if st.two_d:
            lam[2].view(batch, -1).index_add_(1, pidx, gk)
        jv = _source_values(signals, st.src, n) if has_src else None
        # invert the E step: w' = a(u) w + b(u) F with u = G(w) (saturable absorption makes
        # a, b depend on u), solved for w by fixed-point iteration (one pass without it)
        cx = _ref_curl_x(f.hy)
        cy = _ref_curl_y(f.hx) if st.two_d else None
        jmap = torch.zeros_like(f.ex)
        if has_src:
            jmap.view(batch, -1).index_add_(1, sidx, jv)
        fx = cx - jmap
        u_next = f.total().clone()
        forcing = fx + cy if st.two_d else fx
        u = u_next.clone()
        scale = max(float(u_next[inside].abs().max()), 1e-300)
        last = math.inf
        for _ in range(200):
            aex, bex, _, _ = _step_coeffs(st, maps, _kerr_field(st, u, maps), n)
            u_new = (u_next - bex * forcing) / aex
            change = float((u_new - u)[inside].abs().max()) / scale
            u = u_new
            # converged, or stalled at the rounding level (no further decrease)
            if change <= tol or (change >= last and change < 1e3 * tol):
                break
            last = change
        else:
            raise RuntimeError(
                f"fdtd: fixed-point reversal of the nonlinear step did not converge "
                f"(relative change {change:.3g} at step {n}); the nonlinearity is too strong "
                "for the reversible adjoint, use gradient='autograd'"
            )
        co = _step_coeffs(st, maps, _kerr_field(st, u, maps), n)
        f.ex.sub_(co[1] * fx).div_(co[0])
        if st.two_d:
            f.ey.sub_(co[3] * cy).div_(co[2])
        _reconstruct_h(f)
        _restore(f, ring, n)
        # local vector-Jacobian product of the forward step at (u^n, h^{n-1/2})
        with torch.enable_grad():
            state = [t.detach().requires_grad_(True) for t in _state_tuple(st, f)]
            pm = [None if m is None else m.detach().requires_grad_(True) for m in maps]
            j = None
            if has_src:
                j = jv.detach().requires_grad_(need[4])
            out = _ref_step(st, tuple(state), tuple(pm), j, None, n)
            wrt = (
                state
                + [m for m in pm if m is not None]
                + ([j] if j is not None and need[4] else [])
            )
            res = torch.autograd.grad(out, wrt, grad_outputs=tuple(lam), allow_unused=True)
        ns = len(state)
        lam = [
            torch.zeros_like(s) if r is None else r for s, r in zip(state, res[:ns], strict=True)
        ]
        k = ns
        for i, m in enumerate(pm):
            if m is not None:
                if res[k] is not None and grads[i] is not None:
                    grads[i] += res[k]
                k += 1
        if j is not None and need[4]:
            _, w, _, sone = st.src
            g_sig[:, :, n] = (res[k] * w) @ sone
        progress.update(n_steps - n)
    inside_mask = _interior_mask(st, signals)
    out_grads = [None if g is None else g * inside_mask for g in grads]
    return (*out_grads, g_sig)


def _kerr_probe_vjp(
    st: _Setup,
    w: torch.Tensor,
    maps: tuple,
    grads: list[torch.Tensor | None],
    pidx: torch.Tensor,
    gk: torch.Tensor,
) -> torch.Tensor:
    """VJP of the probe read-out ``u = G(w)`` at the probe cells: returns ``dL/dw`` there
    (shape of ``gk``) and adds the map gradients (``eps_inv``, ``c_nl``) into ``grads``."""
    batch = w.shape[0]
    with torch.enable_grad():
        wv = w.detach().reshape(batch, -1)[:, pidx].requires_grad_(True)
        local = [
            m.detach().reshape(-1)[pidx].requires_grad_(True) if m is not None else None
            for m in (maps[0], maps[2])
        ]
        u = _kerr_field(st, wv, (local[0], None, local[1], None), full=True)
        res = torch.autograd.grad(u, [wv, *local], grad_outputs=gk)
    for i, r in zip((0, 2), res[1:], strict=True):
        if grads[i] is not None:
            grads[i].view(-1).index_add_(0, pidx, r)
    return res[0]


def _state_tuple(st: _Setup, f: _Fields) -> tuple[torch.Tensor, ...]:
    if st.two_d:
        return f.ex, f.hy, f.ey, f.hx
    return f.ex, f.hy


def _insitu_backward(st, eps_inv, rate, signals, recorded, grad_traces, progress):
    """Physical replay: inject the time-reversed residual at the probes, overlap fields."""
    batch, _, n_steps = signals.shape
    C = st.courant
    pidx, pw, pof, _ = st.prb
    # probe cells act as sources with signal -g(T - t)
    replay_src = (pidx, pw, pof, st.prb[3])
    replay_signals = -grad_traces.flip(-1)
    inside = _interior_slices(st)
    g_ei = signals.new_zeros(_interior_shape(st))
    sidx, sw, _, sone = st.src
    g_sig = torch.zeros_like(signals)

    def on_step(m: int, f: _Fields) -> None:
        n = n_steps - 1 - m
        u_rep = f.total()
        du = recorded[n + 1] - recorded[n]
        if st.mod is not None:
            # the known, applied modulation of forward step n: v du / (C eps_inv eps_inv(t_n))
            du = du / st.mod.factor(n)[inside[1:]]
        g_ei.add_((u_rep[inside] * du).sum(0))
        if sidx.numel():
            g_sig[:, :, n] = -(u_rep.reshape(batch, -1)[:, sidx] * sw) @ sone
        progress.update(m + 1)

    _run_fast(
        st,
        (eps_inv, rate, None, None),
        replay_signals,
        replay_src,
        None,
        on_step=on_step,
        final=False,
    )
    progress.close()
    full = signals.new_zeros(st.nx, st.ny)
    full[inside[1:]] = g_ei / (C * eps_inv[inside[1:]] ** 2)
    return full, g_sig


# ----------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------
def _prepare(
    grid: Grid,
    signals: torch.Tensor,
    wave_speed,
    permittivity,
    damping,
    conductivity,
    nonlinear_speed,
    saturable_damping,
    saturation_amplitude,
    nonlinear_amplitude,
) -> tuple[tuple, float, float]:
    """Normalised maps ``(eps_inv, rate, c_nl, b0)``; PML part detached, nonlinearity
    interior; also ``1 / u_s^2`` and the Kerr saturation amplitude ``u_k``."""
    shape = grid.shape if grid.ndim == 2 else (grid.shape[0], 1)

    def as_map(name: str, value, unit: str) -> torch.Tensor | None:
        if value is None:
            return None
        t = as_tensor(value, like=signals)
        if t.dim() == 0:
            t = t.expand(grid.shape)
        if tuple(t.shape) != grid.shape:
            raise ValueError(
                f"{name} must be a scalar or have shape {grid.shape} (grid.shape), "
                f"got shape {tuple(t.shape)}"
            )
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite ({unit}), got non-finite entries")
        return t.reshape(shape)

    if wave_speed is not None and permittivity is not None:
        raise ValueError("give wave_speed (m/s) or permittivity (relative), not both")
    if damping is not None and conductivity is not None:
        raise ValueError("give damping (1/s) or conductivity (S/m), not both")
    c = as_map("wave_speed", wave_speed, "m/s")
    eps = as_map("permittivity", permittivity, "relative")
    if c is not None:
        if bool((c <= 0).any()):
            raise ValueError(f"wave_speed must be > 0 m/s everywhere, got min {float(c.min())!r}")
        eps_inv = (c / grid.c_ref) ** 2
    elif eps is not None:
        if bool((eps <= 0).any()):
            raise ValueError(f"permittivity must be > 0 everywhere, got min {float(eps.min())!r}")
        eps_inv = 1.0 / eps
    else:
        eps_inv = signals.new_ones(shape)
    gam = as_map("damping", damping, "1/s")
    sig = as_map("conductivity", conductivity, "S/m")
    if gam is not None:
        if bool((gam < 0).any()):
            raise ValueError(f"damping must be >= 0 1/s, got min {float(gam.min())!r}")
        rate = gam * (grid.dx / grid.c_ref)
    elif sig is not None:
        if bool((sig < 0).any()):
            raise ValueError(f"conductivity must be >= 0 S/m, got min {float(sig.min())!r}")
        rate = sig * eps_inv / EPSILON_0 * (grid.dx / grid.c_ref)
    else:
        rate = signals.new_zeros(shape)
    inside = _interior_mask_grid(grid, signals).reshape(shape)
    eps_inv = torch.where(inside > 0, eps_inv, eps_inv.detach())
    rate = torch.where(inside > 0, rate, rate.detach())
    cnl = as_map("nonlinear_speed", nonlinear_speed, "m/s")
    b0 = as_map("saturable_damping", saturable_damping, "1/s")
    u_k = check_real(
        "nonlinear_amplitude",
        nonlinear_amplitude,
        low=0.0,
        low_inclusive=False,
        unit="field units",
    )
    if cnl is not None:
        cnl = cnl * inside / grid.c_ref
        slowest = torch.sqrt(eps_inv.detach()) + torch.clamp(cnl.detach(), max=0.0)
        if bool((slowest <= 0).any()):
            c_lin = float(grid.c_ref * torch.sqrt(eps_inv.detach()).reshape(-1)[slowest.argmin()])
            raise ValueError(
                "nonlinear_speed must keep the saturated speed wave_speed + nonlinear_speed > 0 "
                f"m/s everywhere inside the PML-free interior, got "
                f"{float(grid.c_ref * cnl.detach().reshape(-1)[slowest.argmin()])!r} m/s "
                f"where wave_speed = {c_lin!r} m/s"
            )
    if b0 is not None:
        if bool((b0 < 0).any()):
            raise ValueError(f"saturable_damping must be >= 0 1/s, got min {float(b0.min())!r}")
        b0 = b0 * inside * (grid.dx / grid.c_ref)
    sat = check_real(
        "saturation_amplitude",
        saturation_amplitude,
        low=0.0,
        low_inclusive=False,
        unit="field units",
    )
    return (eps_inv, rate, cnl, b0), 1.0 / sat**2, u_k


def _interior_mask_grid(grid: Grid, like: torch.Tensor) -> torch.Tensor:
    return grid.interior.to(dtype=like.dtype, device=like.device)


def _check_courant(
    grid: Grid,
    eps_inv: torch.Tensor,
    mod: _Modulation | None = None,
    cnl: torch.Tensor | None = None,
) -> None:
    """Courant check against the largest speed any cell can reach: the saturated Kerr speed
    ``c + max(dc, 0)`` and the smallest permittivity of the modulation."""
    eps_inv = eps_inv.detach()
    if cnl is not None:
        eps_inv = (torch.sqrt(eps_inv) + torch.clamp(cnl.detach(), min=0.0)) ** 2
    if mod is not None:  # the smallest eps_r over the modulation: eps_r (1 - depth)
        eps_inv = eps_inv * mod.max_factor()
    c_max_norm = math.sqrt(float(eps_inv.max()))
    bound = 1.0 / math.sqrt(grid.ndim)
    if grid.courant * c_max_norm > bound * (1 + 1e-12):
        c_max = c_max_norm * grid.c_ref
        raise ValueError(
            f"dt = {grid.dt!r} s violates the Courant limit c_max * dt / dx <= 1/sqrt(ndim) = "
            f"{bound:.6g} (dx = {grid.dx!r} m, c_max = {c_max!r} m/s, "
            f"c_max * dt / dx = {grid.courant * c_max_norm:.6g}); "
            f"use dt <= {bound * grid.dx / c_max!r} s"
        )


def _support_box(grid: Grid, cnl: torch.Tensor) -> tuple[slice, slice]:
    """Bounding box of the Kerr map's support: the interior when it is differentiated
    (``dG/dc_nl != 0`` where ``c_nl = 0``), else the box around its nonzero cells."""
    p = grid.pml_cells
    ny = grid.shape[1] if grid.ndim == 2 else 1
    if cnl.requires_grad:
        return (slice(p, grid.shape[0] - p), slice(p, ny - p) if grid.ndim == 2 else slice(0, 1))
    nz = torch.nonzero(cnl.detach() != 0)
    if nz.numel() == 0:
        return (slice(0, 0), slice(0, 0))
    lo, hi = nz.min(0).values.tolist(), nz.max(0).values.tolist()
    return (slice(lo[0], hi[0] + 1), slice(lo[1], hi[1] + 1))


def _validate(grid: Grid, sources, signals, probes) -> None:
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a Grid, got {grid!r}")
    if not isinstance(signals, torch.Tensor) or signals.dim() != 3:
        raise ValueError(
            "signals must be a tensor of shape (batch, n_sources, n_steps), got "
            f"{getattr(signals, 'shape', signals)!r}"
        )
    if not signals.is_floating_point() or signals.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"signals must be float32 or float64, got {signals.dtype}")
    if signals.shape[1] != len(sources):
        raise ValueError(
            f"signals.shape[1] must equal len(sources) = {len(sources)}, got {signals.shape[1]}"
        )
    check_int("n_steps (signals.shape[-1])", signals.shape[-1], minimum=1)
    if len(probes) == 0:
        raise ValueError("probes must contain at least one probe, got none")


def _checked_setup(
    grid: Grid,
    sources: list[Any],
    signals: torch.Tensor,
    probes: list[Any],
    *medium: Any,
    speed_modulation: SpeedModulation | None = None,
) -> tuple[tuple, _Setup, bool]:
    """Validate a run, prepare the medium maps (``medium``: the medium arguments of
    :func:`simulate` in order), check Courant and build the set-up; returns
    ``(maps, setup, nonlinear)``."""
    _validate(grid, sources, signals, probes)
    if speed_modulation is not None and not isinstance(speed_modulation, SpeedModulation):
        raise ValueError(
            f"speed_modulation must be a SpeedModulation or None, got {speed_modulation!r}"
        )
    maps, inv_sat2, u_k = _prepare(grid, signals, *medium)
    mod = None
    if speed_modulation is not None:
        mod = _Modulation(grid, speed_modulation, signals.dtype, signals.device)
    _check_courant(grid, maps[0], mod, maps[2])
    nonlinear = maps[2] is not None or maps[3] is not None
    st = _make_setup(grid, sources, probes, signals.dtype, signals.device, nonlinear, inv_sat2)
    st.mod = mod
    st.kerr_amp = u_k
    if maps[2] is not None:
        st.kerr_box = _support_box(grid, maps[2])
    return maps, st, nonlinear


def simulate(
    *,
    grid: Grid,
    sources: list[Any],
    signals: torch.Tensor,
    probes: list[Any],
    wave_speed: torch.Tensor | float | None = None,
    permittivity: torch.Tensor | float | None = None,
    damping: torch.Tensor | float | None = None,
    conductivity: torch.Tensor | float | None = None,
    nonlinear_speed: torch.Tensor | float | None = None,
    nonlinear_amplitude: float = 1.0,
    saturable_damping: torch.Tensor | float | None = None,
    saturation_amplitude: float = 1.0,
    speed_modulation: SpeedModulation | None = None,
    gradient: str = "autograd",
    progress: bool = False,
) -> torch.Tensor:
    r"""Run the wave engine from rest and return the probe time traces.

    Args:
        grid: the grid (shape incl. PML, dx in m, dt in s, c_ref in m/s).
        sources: source objects (``PointSource``, ``LineSource``, ``PlaneWaveSource``).
        signals: source time signals, shape ``(batch, n_sources, n_steps)``, float32/64; the
            value at index ``n`` is the current ``J`` injected during step ``n``, centred at
            ``t = (n + 1/2) dt`` (normalised field units: ``u -= b J``, ``b = courant /
            eps_r`` in a lossless interior cell).
        probes: probe objects (``PointProbe``, ``RegionProbe``).
        wave_speed: wave speed map (m/s), shape ``grid.shape`` or scalar; default ``c_ref``.
        permittivity: relative permittivity map (alternative to ``wave_speed``).
        damping: damping-rate map ``gamma`` (1/s), ``u_t = ... - gamma u``.
        conductivity: conductivity map (S/m), rate ``sigma / (eps0 eps_r)`` (TM optics).
        nonlinear_speed: saturable Kerr speed change ``dc`` (m/s; map or scalar, interior
            only): the local wave speed is ``c(w) = wave_speed + dc s(w / u_k)``,
            ``s(x) = x^2 / (1 + x^2)`` in [0, 1), so it stays between ``wave_speed`` and
            ``wave_speed + dc`` (``w``: the field's linear-equivalent amplitude, see the
            package docstring; for weak fields ``c ~ wave_speed + (dc / u_k^2) u^2``).
            ``wave_speed + dc`` must be > 0; the Courant check uses
            ``wave_speed + max(dc, 0)``.
        nonlinear_amplitude: the Kerr saturation amplitude ``u_k`` (field units), > 0:
            half of ``dc`` is reached at ``|w| = u_k``.
        saturable_damping: saturable absorption ``b0`` (1/s): extra damping
            ``b0 / (1 + (u / saturation_amplitude)^2)``.
        saturation_amplitude: field amplitude of saturation (field units), > 0.
        speed_modulation: a time-modulated permittivity
            ``eps_r(x, t) = eps_r(x) (1 + depth cos(2 pi f t - k x))`` in a box (see
            :class:`SpeedModulation`), or None. All three gradient modes support it; the
            in-situ replay runs the modulation forward in time, as hardware would.
        gradient: ``"autograd"``, ``"adjoint"`` (reversible, memory independent of the
            number of steps) or ``"insitu"`` (physical time-reversed replay; linear media,
            gradients for the wave speed / permittivity and the signals).
        progress: print a progress line to stderr.

    Returns:
        Probe traces, shape ``(batch, n_probes, n_steps)``; ``[..., n]`` is the field after
        step ``n``.

    Raises:
        ValueError: bad shapes or values, or ``dt`` beyond the Courant limit.
    """
    check_choice("gradient", gradient, ("autograd", "adjoint", "insitu"))
    maps, st, nonlinear = _checked_setup(
        grid,
        sources,
        signals,
        probes,
        wave_speed,
        permittivity,
        damping,
        conductivity,
        nonlinear_speed,
        saturable_damping,
        saturation_amplitude,
        nonlinear_amplitude,
        speed_modulation=speed_modulation,
    )
    prog = Progress(signals.shape[-1], label=f"fdtd {gradient}", enabled=progress)
    needs_grad = torch.is_grad_enabled() and (
        any(m is not None and m.requires_grad for m in maps) or signals.requires_grad
    )
    if gradient == "insitu" and needs_grad:
        if nonlinear:
            raise ValueError("gradient='insitu' needs a linear medium (no nonlinear_* maps)")
        if maps[1].requires_grad:
            raise ValueError(
                "gradient='insitu' gives gradients for wave_speed/permittivity and signals "
                "only; damping/conductivity must not require grad"
            )

    def run(sig: torch.Tensor) -> torch.Tensor:
        if not needs_grad:
            with torch.no_grad():
                return _run_fast(st, maps, sig, st.src, st.prb, progress=prog, final=False)[0]
        if gradient == "autograd":
            return _run_autograd(st, maps, sig, prog)
        return _WaveFunction.apply(*maps, sig, st, gradient, prog if progress else None)

    batch = signals.shape[0]
    chunk = batch
    if signals.device.type == "cpu":
        # cache blocking: independent batch elements in chunks of ~2^18 cells, so that the
        # working set of a step stays in cache (256 x 256, batch 16, 1 thread: 1.6x faster)
        chunk = max(1, _CACHE_CELLS // (st.nx * st.ny))
    if chunk >= batch:
        traces = run(signals)
    else:
        traces = torch.cat([run(signals[i : i + chunk]) for i in range(0, batch, chunk)], 0)
    prog.close()
    return traces


def field_snapshots(
    *,
    grid: Grid,
    sources: list[Any],
    signals: torch.Tensor,
    every: int,
    wave_speed: torch.Tensor | float | None = None,
    permittivity: torch.Tensor | float | None = None,
    damping: torch.Tensor | float | None = None,
    conductivity: torch.Tensor | float | None = None,
    nonlinear_speed: torch.Tensor | float | None = None,
    nonlinear_amplitude: float = 1.0,
    saturable_damping: torch.Tensor | float | None = None,
    saturation_amplitude: float = 1.0,
    speed_modulation: SpeedModulation | None = None,
) -> torch.Tensor:
    """Field ``u`` after every ``every``-th step (no gradient).

    Args: as :func:`simulate`; ``every`` >= 1 (steps).

    Returns:
        Snapshots, shape ``(batch, n_steps // every, *grid.shape)``: after steps
        ``every - 1, 2 every - 1, ...``.
    """
    every = check_int("every", every, minimum=1)
    probes = [_DummyProbe()]
    maps, st, _ = _checked_setup(
        grid,
        sources,
        signals,
        probes,
        wave_speed,
        permittivity,
        damping,
        conductivity,
        nonlinear_speed,
        saturable_damping,
        saturation_amplitude,
        nonlinear_amplitude,
        speed_modulation=speed_modulation,
    )
    snaps: list[torch.Tensor] = []

    def on_step(n: int, f: _Fields) -> None:
        if (n + 1) % every == 0:
            snaps.append(f.field().clone().reshape(signals.shape[0], *grid.shape))

    with torch.no_grad():
        _run_fast(st, maps, signals, st.src, None, on_step=on_step, final=False)
    if not snaps:
        return signals.new_zeros(signals.shape[0], 0, *grid.shape)
    return torch.stack(snaps, dim=1)


@dataclass(frozen=True)
class _DummyProbe:
    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        return [tuple(0 for _ in grid.shape)], [1.0]
