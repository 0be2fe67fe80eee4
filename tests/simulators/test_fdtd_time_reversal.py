"""FDTD state API (``evolve``, ``time_reverse``, ``FieldState``): time reversal of the leapfrog.

Checks: forward n, reverse, forward n, reverse returns the initial state to rounding in a
closed lossless heterogeneous box (1-D and 2-D); uniform damping returns the amplitude
``exp(-gamma T)`` (energy ``exp(-2 gamma T)``, ``T = n dt``); a PML does not return what it
absorbed; a travelling-wave modulation returns only with its clock reversed; ``evolve``
reproduces ``simulate``'s probe traces, chained runs equal one run, and a state handed
between the two kernels (strip and split-field) keeps the PML's split.
"""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.simulators.fdtd import (
    FieldState,
    Grid,
    PointProbe,
    PointSource,
    SpeedModulation,
    evolve,
    simulate,
    time_reverse,
)

F64 = torch.float64
# float64 leapfrog: each step adds O(1e-16) relative rounding, a few hundred steps and a
# bounded (stable, energy-conserving) propagation keep it below ~1e-14 (measured ~1e-15)
ROUND_TRIP_TOL = 1e-13


def _smooth_eps(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """A heterogeneous permittivity in [1, 2] (3-point smoothed noise)."""
    eps = 1.0 + torch.rand(shape, generator=gen, dtype=F64)
    for axis in range(len(shape)):
        eps = (eps + eps.roll(1, axis) + eps.roll(-1, axis)) / 3
    return eps


def _random_state(shape: tuple[int, ...], gen: torch.Generator, batch: int = 2) -> FieldState:
    """A random smooth state: every field nonzero (h too), so each part of the flip is
    exercised; smoothed so that little sits near the grid's Nyquist wavenumber (standing,
    zero group velocity)."""

    def r(*s: int) -> torch.Tensor:
        x = torch.randn(batch, *s, generator=gen, dtype=F64)
        for axis in range(1, x.dim()):
            for _ in range(4):
                x = (x + x.roll(1, axis) + x.roll(-1, axis)) / 3
        return x

    if len(shape) == 1:
        return FieldState(u=r(*shape), h_y=r(shape[0] - 1))
    nx, ny = shape
    return FieldState(u=r(nx, ny), h_y=r(nx - 1, ny), h_x=r(nx, ny - 1))


def _round_trip(state: FieldState, n: int, *, grid: Grid, **kw) -> FieldState:
    """Forward ``n``, reverse, forward ``n`` (the modulation clock as given), reverse."""
    replay = kw.pop("replay", {})
    s = evolve(state=state, n_steps=n, grid=grid, **kw)
    s = evolve(state=time_reverse(s, grid=grid), n_steps=n, grid=grid, **{**kw, **replay})
    return time_reverse(s, grid=grid)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("shape", [(90,), (26, 22)])
def test_round_trip_returns_the_state_in_a_closed_lossless_box(shape, generator):
    grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    eps = _smooth_eps(shape, generator)
    s0 = _random_state(shape, generator)
    back = _round_trip(s0, 300, grid=grid, permittivity=eps)
    assert _rel(back.u, s0.u) < ROUND_TRIP_TOL
    assert _rel(back.h_y, s0.h_y) < ROUND_TRIP_TOL
    if len(shape) == 2:
        assert _rel(back.h_x, s0.h_x) < ROUND_TRIP_TOL
    # the half step of h matters: negating h^{n-1/2} alone is not the time reversal
    s = evolve(state=s0, n_steps=300, grid=grid, permittivity=eps)
    naive = FieldState(u=s.u, h_y=-s.h_y, h_x=None if s.h_x is None else -s.h_x, u_y=s.u_y)
    wrong = evolve(state=naive, n_steps=300, grid=grid, permittivity=eps)
    assert _rel(wrong.u, s0.u) > 1e-2


def _zero_charge_packet(eps: torch.Tensor) -> torch.Tensor:
    """A wave packet (carrier 0.5 rad/cell) with no static part: ``sum(eps u) = 0`` removes
    the closed box's ``omega = 0`` mode, which damps as ``exp(-gamma t)``, not ``/2``."""
    x = torch.arange(eps.numel(), dtype=F64)
    env = torch.exp(-0.5 * ((x - 100) / 6) ** 2) * torch.cos(0.5 * (x - 100))
    return (env - (eps * env).sum() / eps.sum()).reshape(1, -1)


def test_uniform_damping_returns_amplitude_exp_minus_gamma_t(generator):
    """Each oscillating mode of the damped leapfrog has ``|z| = sqrt(a)`` per step (the
    product of the two roots of ``(1 + g) z^2 - (2 - C^2 lambda) z + (1 - g) = 0`` is
    ``a = (1 - g) / (1 + g)``, ``g = C gamma / 2``), i.e. amplitude ``exp(-gamma t / 2)``,
    energy ``exp(-gamma t)``; the round trip lasts ``2T``: amplitude ``exp(-gamma T)``,
    energy ``exp(-2 gamma T)``. The flip itself is not the exact reversal of a lossy step
    (the replay's first step differs by ``2 g u``): an ``O(gamma / omega)`` departure,
    linear in ``gamma``."""
    nx, n = 200, 400
    grid = Grid(shape=(nx,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    eps = _smooth_eps((nx,), generator)
    u0 = _zero_charge_packet(eps)
    s0 = FieldState(u=u0)
    big_t = n * grid.dt
    departures = []
    for gamma in (2.5e-3, 1.25e-3):
        back = _round_trip(s0, n, grid=grid, permittivity=eps, damping=gamma)
        energy = float((eps * back.u**2).sum() + (back.h_y**2).sum())
        energy0 = float((eps * u0**2).sum())  # h = 0 initially
        # carrier omega ~ 0.5 / sqrt(1.5) = 0.4 rad/s: gamma / omega ~ 6e-3 (3e-3 measured)
        assert energy / energy0 == pytest.approx(math.exp(-2 * gamma * big_t), rel=1e-2)
        assert energy / energy0 != pytest.approx(math.exp(-gamma * big_t), rel=0.1)
        departures.append(_rel(back.u, math.exp(-gamma * big_t) * u0))
    assert departures[0] < 1e-2
    assert departures[0] / departures[1] == pytest.approx(2.0, rel=0.1)  # linear in gamma


@pytest.mark.parametrize("shape", [(120,), (40, 36)])
def test_pml_absorbs_what_would_have_returned(shape, generator):
    pml = 10
    gen_eps = _smooth_eps(shape, generator)
    s0 = _random_state(shape, generator, batch=1)
    inside = torch.zeros(shape, dtype=torch.bool)
    inside[tuple(slice(pml, m - pml) for m in shape)] = True
    # start inside the interior only, with a uniform medium in the PML
    eps = torch.where(inside, gen_eps, torch.ones_like(gen_eps))
    s0 = FieldState(
        u=s0.u * inside,
        h_y=torch.zeros_like(s0.h_y),
        h_x=None if s0.h_x is None else torch.zeros_like(s0.h_x),
    )
    n = 200  # several crossings of the interior: most of the field reaches the PML
    open_grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=pml)
    closed_grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    closed = _round_trip(s0, n, grid=closed_grid, permittivity=eps)
    absorbed = _round_trip(s0, n, grid=open_grid, permittivity=eps)
    assert _rel(closed.u, s0.u) < ROUND_TRIP_TOL
    assert _rel(absorbed.u[:, inside], s0.u[:, inside]) > 0.5


@pytest.mark.parametrize("shape", [(100,), (30, 26)])
def test_travelling_modulation_returns_only_with_the_clock_reversed(shape, generator):
    grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    # c <= 1 / sqrt(1.3) with 30 % depth: c / sqrt(0.7) * courant stays below 1 / sqrt(ndim)
    eps = 1.3 + 0.7 * torch.rand(shape, generator=generator, dtype=F64)
    mod = SpeedModulation(depth=0.3, frequency=0.02, wavenumber=0.15)
    s0 = _random_state(shape, generator)
    n = 240
    kw = {"grid": grid, "permittivity": eps, "speed_modulation": mod}
    # hardware: the drive keeps running forward during the replay (clock from n dt, on)
    forward_drive = _round_trip(s0, n, **kw, replay={"start_time": n * grid.dt})
    assert _rel(forward_drive.u, s0.u) > 0.1
    # the time-reversed medium: the clock runs backwards from n dt
    reversed_drive = _round_trip(
        s0, n, **kw, replay={"start_time": n * grid.dt, "reverse_modulation": True}
    )
    assert _rel(reversed_drive.u, s0.u) < ROUND_TRIP_TOL
    assert _rel(reversed_drive.h_y, s0.h_y) < ROUND_TRIP_TOL


def _pulse(n_steps: int) -> torch.Tensor:
    t = torch.arange(n_steps, dtype=F64) + 0.5
    z = (t - 20.0) / 5.0
    return -z * torch.exp(-0.5 * z * z)


@pytest.mark.parametrize(
    ("shape", "medium"),
    [
        ((80,), "lossy"),
        ((80,), "modulated"),
        ((28, 24), "lossy"),
        ((28, 24), "modulated"),
    ],
)
def test_evolve_reproduces_simulate(shape, medium, generator):
    """Probe traces of ``simulate`` = ``u`` at the probe after each ``evolve`` step (chained
    one step at a time, the modulation clock carried by ``start_time``); and two chained
    runs = one run. Same kernels, so equal to float64 rounding (a state handed between runs
    re-forms ``u_x = u - u_y`` in the PML: one rounding per hand-over)."""
    grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=6)
    eps = 1.3 + 0.7 * torch.rand(shape, generator=generator, dtype=F64)
    kw = {"grid": grid, "permittivity": eps}
    if medium == "lossy":
        kw["damping"] = 3e-3
    else:
        kw["speed_modulation"] = SpeedModulation(depth=0.3, frequency=0.03, wavenumber=0.2)
    a = (12.0, 10.0) if len(shape) == 2 else 12.0
    b = (20.0, 15.0) if len(shape) == 2 else 50.0
    src, n_steps = [PointSource(position=a)], 90
    sig = torch.stack([_pulse(n_steps), 0.5 * _pulse(n_steps).roll(7)]).reshape(2, 1, -1)
    y = simulate(sources=src, signals=sig, probes=[PointProbe(position=b)], **kw)[:, 0]
    cell = (slice(None), *grid.cell(b))
    state, trace = None, []
    for n in range(n_steps):
        state = evolve(
            state=state, sources=src, signals=sig[..., n : n + 1], start_time=n * grid.dt, **kw
        )
        trace.append(state.u[cell])
    assert _rel(torch.stack(trace, -1), y) < 1e-13  # float64, ~100 hand-overs
    whole = evolve(sources=src, signals=sig, **kw)
    half = evolve(sources=src, signals=sig[..., :40], **kw)
    rest = evolve(state=half, sources=src, signals=sig[..., 40:], start_time=40 * grid.dt, **kw)
    for name in ("u", "h_y", "h_x"):
        if getattr(whole, name) is not None:
            assert _rel(getattr(rest, name), getattr(whole, name)) < 1e-13, name
    if whole.u_y is not None:  # formed as u - u_x in the x-PML: rounding on u's scale
        assert float((rest.u_y - whole.u_y).norm() / whole.u.norm()) < 1e-13
    # the clock matters: without start_time the second half sees another modulation
    if medium == "modulated":
        late = evolve(state=half, sources=src, signals=sig[..., 40:], **kw)
        assert _rel(late.u, whole.u) > 1e-3


def test_state_moves_between_the_strip_and_split_field_kernels(generator):
    """A linear 2-D run with a PML uses the strip kernel; a depth-0 modulation (factor
    exactly 1) forces the split-field kernel. Handing the state over either way keeps the
    PML's ``u_x``/``u_y`` split (else the PML cells would differ at O(1))."""
    shape = (30, 26)
    grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=6)
    eps = 1.0 + torch.rand(shape, generator=generator, dtype=F64)
    src = [PointSource(position=(8.0, 13.0))]  # near the x-PML: the PML fills early
    sig = _pulse(100).reshape(1, 1, -1)
    flat = {"grid": grid, "permittivity": eps}
    split = {**flat, "speed_modulation": SpeedModulation(depth=0.0, frequency=0.03)}
    ref = evolve(sources=src, signals=sig, **flat)
    for first, second in ((flat, split), (split, flat)):
        mid = evolve(sources=src, signals=sig[..., :50], **first)
        assert float(mid.u_y.abs().max()) > 0.0  # the split is carried
        end = evolve(state=mid, sources=src, signals=sig[..., 50:], **second)
        assert _rel(end.u, ref.u) < 1e-13
        # u_y is formed as u - u_x where the strip kernel keeps u_x: rounding on u's scale
        assert float((end.u_y - ref.u_y).norm() / ref.u.norm()) < 1e-13
    # dropping the split (u_y = None: all of u in u_x) changes the PML's evolution
    mid = evolve(sources=src, signals=sig[..., :50], **flat)
    lost = FieldState(u=mid.u, h_y=mid.h_y, h_x=mid.h_x)
    end = evolve(state=lost, sources=src, signals=sig[..., 50:], **flat)
    assert _rel(end.u, ref.u) > 1e-6


def test_float32_follows_the_state():
    grid = Grid(shape=(40,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    u = torch.zeros(1, 40, dtype=torch.float32)
    u[0, 20] = 1.0
    out = time_reverse(evolve(state=FieldState(u=u), n_steps=30, grid=grid), grid=grid)
    assert out.u.dtype == torch.float32 and out.h_y.dtype == torch.float32
    back = time_reverse(evolve(state=out, n_steps=30, grid=grid), grid=grid)
    assert _rel(back.u, u) < 1e-5  # float32 rounding over 60 steps


def test_bad_input_raises():
    grid = Grid(shape=(40,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    u = torch.zeros(1, 40, dtype=F64)
    with pytest.raises(ValueError, match=r"state .* or signals"):
        evolve(grid=grid, n_steps=3)
    with pytest.raises(ValueError, match="n_steps"):
        evolve(grid=grid, state=FieldState(u=u))
    with pytest.raises(ValueError, match=r"grid\.shape"):
        evolve(grid=grid, state=FieldState(u=torch.zeros(1, 41, dtype=F64)), n_steps=3)
    with pytest.raises(ValueError, match="h_y must have shape"):
        FieldState(u=u, h_y=torch.zeros(1, 40, dtype=F64))
    with pytest.raises(ValueError, match="h_x must be None"):
        FieldState(u=u, h_x=torch.zeros(1, 40, 3, dtype=F64))
    with pytest.raises(ValueError, match="signals must match"):
        evolve(
            grid=grid,
            state=FieldState(u=u),
            sources=[PointSource(position=3.0)],
            signals=torch.zeros(2, 1, 5, dtype=F64),
        )
    with pytest.raises(ValueError, match="n_steps"):
        evolve(grid=grid, state=FieldState(u=u), n_steps=0)
