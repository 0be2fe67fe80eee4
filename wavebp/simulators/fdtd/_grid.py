"""Grid, sources and probes; the one place where SI units become normalised units.

Normalised (Meep-style) units inside the kernels: length unit ``dx``, speed unit ``c_ref``,
time unit ``dx / c_ref``. So the time step is the Courant number ``courant = c_ref dt/dx``,
a rate ``gamma`` (1/s) becomes ``gamma dx / c_ref`` and a speed ``c`` becomes ``c / c_ref``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import SPEED_OF_LIGHT, check_choice, check_int, check_real

__all__ = [
    "Grid",
    "LineSource",
    "PlaneWaveSource",
    "PointProbe",
    "PointSource",
    "RegionProbe",
    "SpeedModulation",
    "stable_time_step",
]


def stable_time_step(*, dx: float, c_max: float, ndim: int, safety: float = 0.9) -> float:
    """Largest stable leapfrog time step times ``safety``.

    Args:
        dx: cell size (m).
        c_max: largest wave speed in the grid (m/s).
        ndim: 1 or 2.
        safety: fraction of the Courant bound ``dx / (c_max sqrt(ndim))``, in (0, 1].

    Returns:
        The time step (s).
    """
    dx = check_real("dx", dx, low=0.0, low_inclusive=False, unit="m")
    c_max = check_real("c_max", c_max, low=0.0, low_inclusive=False, unit="m/s")
    ndim = check_int("ndim", ndim, minimum=1, maximum=2)
    safety = check_real("safety", safety, low=0.0, high=1.0, low_inclusive=False)
    return safety * dx / (c_max * math.sqrt(ndim))


@dataclass(frozen=True, kw_only=True)
class Grid:
    """A uniform 1-D or 2-D grid, including its absorbing layer.

    Attributes:
        shape: cells ``(nx,)`` or ``(nx, ny)``, each >= 3 and > 2 * pml_cells + 1.
        dx: cell size (m); cell ``i`` is centred at ``x = i * dx``.
        dt: time step (s).
        c_ref: normalising speed (m/s); ``permittivity = 1`` means ``c = c_ref``.
        pml_cells: PML thickness in cells on every side (0: closed lossless box).
        pml_order: polynomial grading order ``m`` of the PML damping.
        pml_reflection: design round-trip reflection ``R0`` of the PML at normal incidence.
    """

    shape: tuple[int, ...]
    dx: float
    dt: float
    c_ref: float = SPEED_OF_LIGHT
    pml_cells: int = 20
    pml_order: float = 3.0
    pml_reflection: float = 1e-8

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if len(shape) not in (1, 2):
            raise ValueError(f"shape must have 1 or 2 entries (nx[, ny]) cells, got {shape!r}")
        pml = check_int("pml_cells", self.pml_cells, minimum=0)
        for i, n in enumerate(shape):
            check_int(f"shape[{i}]", n, minimum=max(3, 2 * pml + 2))
        object.__setattr__(self, "shape", tuple(int(n) for n in shape))
        check_real("dx", self.dx, low=0.0, low_inclusive=False, unit="m")
        check_real("dt", self.dt, low=0.0, low_inclusive=False, unit="s")
        check_real("c_ref", self.c_ref, low=0.0, low_inclusive=False, unit="m/s")
        check_real("pml_order", self.pml_order, low=0.0, high=10.0)
        check_real(
            "pml_reflection",
            self.pml_reflection,
            low=0.0,
            high=1.0,
            low_inclusive=False,
            high_inclusive=False,
        )

    @property
    def ndim(self) -> int:
        """1 or 2."""
        return len(self.shape)

    @property
    def courant(self) -> float:
        """Normalised time step ``c_ref * dt / dx``."""
        return self.c_ref * self.dt / self.dx

    @property
    def time_unit(self) -> float:
        """The normalised time unit ``dx / c_ref`` (s)."""
        return self.dx / self.c_ref

    @property
    def interior(self) -> torch.Tensor:
        """Bool mask, shape ``grid.shape``: True outside the PML."""
        mask = torch.zeros(self.shape, dtype=torch.bool)
        p = self.pml_cells
        sl = tuple(slice(p, n - p) for n in self.shape)
        mask[sl] = True
        return mask

    def cell(self, position: tuple[float, ...] | float) -> tuple[int, ...]:
        """Nearest cell index of a position (m); raises if outside the grid."""
        pos = (position,) if isinstance(position, (int, float)) else tuple(position)
        if len(pos) != self.ndim:
            raise ValueError(f"position must have {self.ndim} coordinates (m), got {position!r}")
        idx = []
        for axis, (x, n) in enumerate(zip(pos, self.shape, strict=True)):
            x = check_real(f"position[{axis}]", x, unit="m")
            i = round(x / self.dx)
            if not 0 <= i < n:
                raise ValueError(
                    f"position[{axis}] must be in [0, {(n - 1) * self.dx:g}] m, got {x!r}"
                )
            idx.append(int(i))
        return tuple(idx)


@dataclass(frozen=True, kw_only=True)
class PointSource:
    """A source in one cell (the nearest to ``position``, m)."""

    position: tuple[float, ...] | float

    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        """Cell indices and weights."""
        return [grid.cell(self.position)], [1.0]


@dataclass(frozen=True, kw_only=True)
class LineSource:
    """A line of cells along ``axis`` ("x" or "y") at coordinate ``position`` (m) on the
    other axis, from ``start`` to ``stop`` (m, inclusive; None = the grid's ends). 2-D only.
    """

    axis: str = "y"
    position: float = 0.0
    start: float | None = None
    stop: float | None = None

    def __post_init__(self) -> None:
        check_choice("axis", self.axis, ("x", "y"))

    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        """Cell indices and weights."""
        if grid.ndim != 2:
            raise ValueError(f"LineSource needs a 2-D grid, got shape {grid.shape!r}")
        along = 0 if self.axis == "x" else 1
        across = 1 - along
        n = grid.shape[along]
        i0 = 0 if self.start is None else _index(grid, self.start, along)
        i1 = n - 1 if self.stop is None else _index(grid, self.stop, along)
        c = _index(grid, self.position, across)
        cells = []
        for i in range(min(i0, i1), max(i0, i1) + 1):
            idx = [0, 0]
            idx[along], idx[across] = i, c
            cells.append(tuple(idx))
        return cells, [1.0] * len(cells)


@dataclass(frozen=True, kw_only=True)
class PlaneWaveSource:
    """A current sheet at ``x = position`` (m) across the whole grid (incl. the PML).

    It radiates plane waves towards +x and -x; in 1-D it is a point source.
    """

    position: float

    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        """Cell indices and weights."""
        i = _index(grid, self.position, 0)
        if grid.ndim == 1:
            return [(i,)], [1.0]
        return [(i, j) for j in range(grid.shape[1])], [1.0] * grid.shape[1]


@dataclass(frozen=True, kw_only=True)
class PointProbe:
    """The field in one cell (the nearest to ``position``, m)."""

    position: tuple[float, ...] | float

    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        """Cell indices and weights."""
        return [grid.cell(self.position)], [1.0]


@dataclass(frozen=True, kw_only=True)
class RegionProbe:
    """The mean field over the cells whose centres lie in the box ``[lower, upper]`` (m)."""

    lower: tuple[float, ...] | float
    upper: tuple[float, ...] | float

    def cells(self, grid: Grid) -> tuple[list[tuple[int, ...]], list[float]]:
        """Cell indices and weights."""
        lo, hi = grid.cell(self.lower), grid.cell(self.upper)
        ranges = [range(min(a, b), max(a, b) + 1) for a, b in zip(lo, hi, strict=True)]
        if grid.ndim == 1:
            cells = [(i,) for i in ranges[0]]
        else:
            cells = [(i, j) for i in ranges[0] for j in ranges[1]]
        return cells, [1.0 / len(cells)] * len(cells)


def _index(grid: Grid, x: float, axis: int) -> int:
    pos = [0.0] * grid.ndim
    pos[axis] = x
    return grid.cell(tuple(pos))[axis]


@dataclass(frozen=True, kw_only=True)
class SpeedModulation:
    """A time-modulated medium (travelling-wave permittivity modulation along x).

    Inside the box ``[lower, upper]`` (m; cells whose centres lie in it, intersected with
    the interior outside the PML; ``None`` for both = the whole interior) the relative
    permittivity becomes ``eps_r(x, t) = eps_r(x) * (1 + depth * cos(2 pi frequency t -
    wavenumber x))``, i.e. the local speed ``c(x, t) = c(x) / sqrt(1 + depth cos(...))``.
    It is applied to the ``eps_r du/dt`` term of each leapfrog E step at the step's centre
    time ``t = (n + 1/2) dt``. With ``wavenumber != 0`` and ``frequency > 0`` the
    modulation travels along +x at ``frequency * 2 pi / wavenumber`` m/s, which breaks
    reciprocity; ``frequency > 0`` alone breaks time-reversal symmetry.

    Attributes:
        depth: modulation depth, in [0, 1) (dimensionless).
        frequency: modulation frequency (Hz), >= 0.
        wavenumber: modulation wavenumber along x (rad/m); 0 = a standing (uniform in
            space) modulation.
        lower: lower corner of the modulated box (m; a float in 1-D or ``(x0, y0)``), or
            None together with ``upper`` for the whole interior.
        upper: upper corner (m), or None.
    """

    depth: float
    frequency: float
    wavenumber: float = 0.0
    lower: tuple[float, ...] | float | None = None
    upper: tuple[float, ...] | float | None = None

    def __post_init__(self) -> None:
        check_real("depth", self.depth, low=0.0, high=1.0, high_inclusive=False)
        check_real("frequency", self.frequency, low=0.0, unit="Hz")
        check_real("wavenumber", self.wavenumber, unit="rad/m")
        if (self.lower is None) != (self.upper is None):
            raise ValueError(
                "lower and upper (m) must both be given or both be None (the whole interior), "
                f"got lower={self.lower!r}, upper={self.upper!r}"
            )

    def mask(self, grid: Grid) -> torch.Tensor:
        """Bool mask, shape ``grid.shape``: the modulated cells (box and interior)."""
        inside = grid.interior
        if self.lower is None:
            return inside
        lo, hi = grid.cell(self.lower), grid.cell(self.upper)
        box = torch.zeros(grid.shape, dtype=torch.bool)
        box[tuple(slice(min(a, b), max(a, b) + 1) for a, b in zip(lo, hi, strict=True))] = True
        return box & inside
