r"""FDTD (1-D and 2-D): swapped source/receiver reciprocity, time reversal by flipping ``h``,
in-situ (replayed) gradient vs autograd; reciprocal, damped and time-modulated media.

Reciprocity: the field at ``b`` for a current source at ``a`` against the field at ``a``
for the same source at ``b`` (:func:`wavebp.simulators.fdtd.simulate`); equal to float64
rounding in any static medium (heterogeneous, lossy, with PML), unequal in a travelling-wave
time-modulated medium ``eps_r(x, t) = eps_r(x) (1 + depth cos(2 pi f t - k x))``.

Time reversal. The leapfrog maps ``(u^n, h^{n-1/2}) -> (u^{n+1}, h^{n+1/2})``. In a lossless
medium the sequence ``u~^m = u^{N-m}``, ``h~^{m-1/2} = -h^{N-m+1/2}`` obeys the *same*
update, so advancing ``h`` by half a step, flipping its sign and running the ordinary
scheme for ``N - k`` more steps returns ``u^k`` exactly (float64 rounding) -- a physical
replay, nothing is run backwards. A PML keeps absorbing during the replay (what left does
not come back), damping keeps damping (the returned amplitude is ``exp(-gamma T)`` for a
uniform rate ``gamma`` over the replay time ``T``: the energy decays as ``exp(-gamma t)``
over ``2T``), and a time-modulated medium whose drive keeps running forward in time (as
hardware would) is not the time-reversed medium: replaying with the reversed drive restores
exactness, which this module reports as a control.

The round trip runs on the engine itself: :func:`wavebp.simulators.fdtd.evolve` (the
update of :func:`~wavebp.simulators.fdtd.simulate`, from and to a
:class:`~wavebp.simulators.fdtd.FieldState`) and
:func:`~wavebp.simulators.fdtd.time_reverse` (the ``h`` half step and flip); the
modulation clock of the replay starts at ``N dt`` and runs forward (the hardware drive) or
backwards (``reverse_modulation=True``, the control).

Gradient: ``simulate(gradient="insitu")`` (time-reversed residual replayed through the same
medium, overlap with the recorded forward field) against ``gradient="autograd"`` for a loss
on the probe traces w.r.t. the permittivity map.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

import wavebp.simulators.fdtd as fdtd
from wavebp._core import check_int, check_real
from wavebp.analysis.reciprocity._common import make_row, timed
from wavebp.analysis.reciprocity._metrics import (
    FLOAT64_LEAPFROG,
    cosine_error_flat,
    swapped_residual,
)
from wavebp.analysis.reciprocity._rows import ReciprocityRow
from wavebp.simulators.fdtd import (
    Grid,
    PointProbe,
    PointSource,
    evolve,
    simulate,
    time_reverse,
)

__all__ = ["fdtd_damping_sweep", "fdtd_rows", "speed_modulation_available"]

F64 = torch.float64


def speed_modulation_available() -> bool:
    """Whether the FDTD engine has ``SpeedModulation`` (time-modulated media)."""
    return getattr(fdtd, "SpeedModulation", None) is not None


@dataclass(frozen=True, kw_only=True)
class _Case:
    name: str
    grid: Grid
    eps: torch.Tensor
    damping: torch.Tensor | None
    modulation: Any
    a: tuple[float, ...]
    b: tuple[float, ...]
    signal: torch.Tensor  # (n_steps,)
    k0: int  # the state returned to (after the pulse)
    reciprocal: bool
    expected: str


def _pulse(n_steps: int, *, centre: float, width: float) -> torch.Tensor:
    """Zero-mean derivative-of-Gaussian current (no DC charge left in a closed box)."""
    t = torch.arange(n_steps, dtype=F64) + 0.5
    z = (t - centre) / width
    return -z * torch.exp(-0.5 * z * z)


def _medium(shape: tuple[int, ...], pml: int, seed: int) -> torch.Tensor:
    """A smooth random heterogeneous permittivity in [1, 2.5] (no contrast in the PML)."""
    gen = torch.Generator().manual_seed(seed)
    eps = 1.0 + 1.5 * torch.rand(shape, generator=gen, dtype=F64)
    for axis in range(len(shape)):  # smooth: 3-point average along each axis, twice
        for _ in range(2):
            eps = (eps + eps.roll(1, axis) + eps.roll(-1, axis)) / 3
    if pml:
        inside = torch.zeros(shape, dtype=torch.bool)
        inside[tuple(slice(pml, n - pml) for n in shape)] = True
        eps = torch.where(inside, eps, torch.ones_like(eps))
    return eps


def _kwargs(case: _Case) -> dict[str, Any]:
    kw: dict[str, Any] = {"grid": case.grid}
    if case.damping is not None:
        kw["damping"] = case.damping
    if case.modulation is not None:
        kw["speed_modulation"] = case.modulation
    return kw


def _traces(
    case: _Case, src: tuple[float, ...], prb: tuple[float, ...], eps: torch.Tensor, mode: str
):
    pos = (lambda p: p) if case.grid.ndim == 2 else (lambda p: p[0])
    return simulate(
        sources=[PointSource(position=pos(src))],
        probes=[PointProbe(position=pos(prb))],
        signals=case.signal.reshape(1, 1, -1),
        permittivity=eps,
        gradient=mode,
        **_kwargs(case),
    )[0, 0]


def _gradient_error(case: _Case) -> tuple[float, float]:
    """Cosine error of the in-situ permittivity gradient vs autograd; and the relative norm
    of their difference."""
    n = case.signal.numel()
    gen = torch.Generator().manual_seed(5)
    weights = torch.randn(n, generator=gen, dtype=F64)
    grads = {}
    for mode in ("autograd", "insitu"):
        eps = case.eps.clone().requires_grad_(True)
        y = _traces(case, case.a, case.b, eps, mode)
        loss = (weights * y).sum() + 0.5 * (y * y).sum()
        (grads[mode],) = torch.autograd.grad(loss, eps)
    inside = case.grid.interior
    g_hat, g = grads["insitu"][inside], grads["autograd"][inside]
    return cosine_error_flat(g_hat, g), float((g_hat - g).norm() / g.norm())


def _time_reversal(case: _Case, *, reversed_drive: bool = False) -> dict[str, float]:
    """Forward ``N`` steps (source at ``a``), flip ``h``, replay ``N - k0`` steps; relative
    error of the returned ``u`` against ``u^{k0}`` in the interior."""
    grid, k0 = case.grid, case.k0
    n_steps = case.signal.numel()
    kw = {**_kwargs(case), "permittivity": case.eps}
    src = [PointSource(position=case.a if grid.ndim == 2 else case.a[0])]
    sig = case.signal.reshape(1, 1, -1)
    saved = evolve(sources=src, signals=sig[..., :k0], **kw)
    final = evolve(state=saved, sources=src, signals=sig[..., k0:], start_time=k0 * grid.dt, **kw)
    back = evolve(
        state=time_reverse(final, grid=grid),
        n_steps=n_steps - k0,
        start_time=n_steps * grid.dt,  # the replay's drive: from N dt, on or backwards
        reverse_modulation=reversed_drive,
        **kw,
    )
    inside = grid.interior
    u0, u1 = saved.u[0][inside], back.u[0][inside]
    return {
        "time_reversal_error": float((u1 - u0).norm() / u0.norm()),
        "replay_time_s": (n_steps - k0) * grid.dt,
    }


def _row(case: _Case) -> ReciprocityRow:
    def work() -> dict[str, Any]:
        y_ab = _traces(case, case.a, case.b, case.eps, "autograd").detach()
        y_ba = _traces(case, case.b, case.a, case.eps, "autograd").detach()
        tr = _time_reversal(case)
        cos_err, rel = _gradient_error(case)
        out = {"recip": swapped_residual(y_ab, y_ba), "tr": tr, "grad": cos_err, "rel": rel}
        # the same medium in a closed box (PML cells become lossless walls' neighbours)
        closed = case
        if case.grid.pml_cells > 0:
            closed = dataclasses.replace(case, grid=dataclasses.replace(case.grid, pml_cells=0))
            out["tr_closed"] = _time_reversal(closed)["time_reversal_error"]
        if case.modulation is not None:
            out["tr_reversed_drive"] = _time_reversal(closed, reversed_drive=True)[
                "time_reversal_error"
            ]
        return out

    m, seconds = timed(work)
    details = {
        "shape": list(case.grid.shape),
        "pml_cells": case.grid.pml_cells,
        "n_steps": case.signal.numel(),
        "returned_to_step": case.k0,
        "replay_time_s": m["tr"]["replay_time_s"],
        "gradient_relative_difference": m["rel"],
    }
    if case.damping is not None:
        gamma = float(case.damping.max())
        details["damping_per_s"] = gamma
        details["time_reversal_error_analytic"] = 1 - math.exp(-gamma * m["tr"]["replay_time_s"])
    if "tr_closed" in m:
        details["time_reversal_error_closed_box"] = m["tr_closed"]
    if "tr_reversed_drive" in m:
        # control: the time-reversed drive (closed box) makes the replay exact again
        details["time_reversal_error_closed_box_reversed_drive"] = m["tr_reversed_drive"]
        details["modulation"] = {
            "depth": case.modulation.depth,
            "frequency_hz": case.modulation.frequency,
            "wavenumber_rad_per_m": case.modulation.wavenumber,
        }
    return make_row(
        engine="fdtd",
        example=case.name,
        reciprocal_medium=case.reciprocal,
        expected=case.expected,
        tol=FLOAT64_LEAPFROG,
        reciprocity=m["recip"],
        unitarity=None,
        time_reversal=m["tr"]["time_reversal_error"],
        gradient=m["grad"],
        note=(
            "reciprocity: ||y_ab - y_ba|| / ||y_ab|| (simulate, point source and probe "
            "swapped); time reversal: h flipped after N steps and the same scheme replayed "
            "N - k steps, ||u - u^k|| / ||u^k|| in the interior (fdtd.evolve and "
            "fdtd.time_reverse); gradient: simulate(gradient='insitu') vs "
            "'autograd', d/d permittivity (interior) of a quadratic loss on the trace; "
            "no S-matrix, so no unitarity residual"
        ),
        details=details,
        runtime_s=seconds,
    )


def _cases(fast: bool) -> tuple[list[_Case], list[str]]:
    cases: list[_Case] = []
    skipped: list[str] = []
    n1 = 360 if fast else 800
    sig1 = _pulse(n1, centre=30.0, width=6.0)
    interior = 140
    for pml in (0, 20):
        shape = (interior + 2 * pml,)
        grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=pml)
        eps = _medium(shape, pml, seed=1)
        a, b = (float(pml + 45),), (float(pml + 95),)
        label = "closed box" if pml == 0 else "PML"
        cases.append(
            _Case(
                name=f"1-D heterogeneous, lossless, {label}",
                grid=grid,
                eps=eps,
                damping=None,
                modulation=None,
                a=a,
                b=b,
                signal=sig1,
                k0=80,
                reciprocal=True,
                expected="pass",
            )
        )
    grid = Grid(shape=(interior,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    cases.append(
        _Case(
            name="1-D damped (gamma = 2e-3 /s), closed box",
            grid=grid,
            eps=_medium((interior,), 0, seed=1),
            damping=torch.full((interior,), 2e-3, dtype=F64),
            modulation=None,
            a=(45.0,),
            b=(95.0,),
            signal=sig1,
            k0=80,
            reciprocal=True,
            expected="degraded",
        )
    )
    modulation_cls = getattr(fdtd, "SpeedModulation", None)
    if modulation_cls is not None:
        mod = modulation_cls(depth=0.3, frequency=0.02, wavenumber=0.15, lower=55.0, upper=85.0)
        cases.append(
            _Case(
                name="1-D travelling-wave modulation, closed box",
                grid=grid,
                eps=_medium((interior,), 0, seed=1),
                damping=None,
                modulation=mod,
                a=(45.0,),
                b=(95.0,),
                signal=sig1,
                k0=80,
                reciprocal=False,
                expected="fail",
            )
        )
    else:
        skipped.append(
            "1-D travelling-wave modulation: wavebp.simulators.fdtd has no SpeedModulation"
        )
    n2 = 160 if fast else 320
    side, pml2 = (36, 8) if fast else (64, 10)
    shape2 = (side + 2 * pml2, side + 2 * pml2)
    grid2 = Grid(shape=shape2, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=pml2)
    eps2 = _medium(shape2, pml2, seed=2)
    sig2 = _pulse(n2, centre=16.0, width=4.0)
    a2 = (float(pml2 + side // 4), float(pml2 + side // 3))
    b2 = (float(pml2 + 3 * side // 4), float(pml2 + 2 * side // 3))
    cases.append(
        _Case(
            name="2-D heterogeneous, lossless, PML",
            grid=grid2,
            eps=eps2,
            damping=None,
            modulation=None,
            a=a2,
            b=b2,
            signal=sig2,
            k0=60,
            reciprocal=True,
            expected="pass",
        )
    )
    if modulation_cls is not None:
        lo, hi = float(pml2 + side // 3), float(pml2 + 2 * side // 3)
        mod2 = modulation_cls(
            depth=0.3,
            frequency=0.03,
            wavenumber=0.2,
            lower=(lo, 0.0),
            upper=(hi, float(shape2[1] - 1)),
        )
        cases.append(
            _Case(
                name="2-D travelling-wave modulation, PML",
                grid=grid2,
                eps=eps2,
                damping=None,
                modulation=mod2,
                a=a2,
                b=b2,
                signal=sig2,
                k0=60,
                reciprocal=False,
                expected="fail",
            )
        )
    else:
        skipped.append(
            "2-D travelling-wave modulation: wavebp.simulators.fdtd has no SpeedModulation"
        )
    return cases, skipped


def fdtd_rows(*, fast: bool = True) -> list[ReciprocityRow]:
    """FDTD examples: 1-D lossless (closed box, PML), 1-D damped, 1-D and 2-D travelling-wave
    time modulation (non-reciprocal; skipped rows if the engine lacks ``SpeedModulation``),
    2-D lossless with PML. All float64.

    Args:
        fast: fewer steps and a smaller 2-D grid.
    """
    cases, skipped = _cases(fast)
    rows = [_row(c) for c in cases]
    for reason in skipped:
        name, why = reason.split(": ", 1)
        rows.append(
            ReciprocityRow(
                engine="fdtd",
                example=name,
                reciprocal_medium=False,
                expected="fail",
                reciprocity_residual=None,
                unitarity_residual=None,
                time_reversal_error=None,
                gradient_cosine_error=None,
                verdict="skipped",
                note=f"skipped: {why}",
            )
        )
    return rows


def fdtd_damping_sweep(
    dampings: tuple[float, ...], *, interior: int = 140, n_steps: int = 360, k0: int = 80
) -> dict[str, list[float]]:
    """Time reversal (closed 1-D box) and in-situ gradient error vs a uniform damping rate.

    Args:
        dampings: damping rates ``gamma`` in 1/s (normalised units: dx = 1 m, c = 1 m/s,
            dt = 0.5 s), each ``>= 0``.
        interior: cells of the box, ``>= 96`` (source at cell 45, probe at cell 95).
        n_steps: forward steps ``N``, ``>= 2``.
        k0: the step whose state the replay should return, in ``[1, N - 1]``.

    Returns:
        ``{"damping", "time_reversal_error", "time_reversal_error_analytic",
        "gradient_cosine_error"}``, lists over ``dampings``; analytic: ``1 - exp(-gamma T)``
        with the replay time ``T = (N - k0) dt`` (module docstring).
    """
    # source and probe sit at cells 45 and 95: the box needs at least 96 cells
    interior = check_int("interior", interior, minimum=96)
    n_steps = check_int("n_steps", n_steps, minimum=2)
    k0 = check_int("k0", k0, minimum=1, maximum=n_steps - 1)
    dampings = [check_real("dampings entries", g, low=0.0, unit="1/s") for g in dampings]
    grid = Grid(shape=(interior,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=0)
    eps = _medium((interior,), 0, seed=1)
    sig = _pulse(n_steps, centre=30.0, width=6.0)
    out: dict[str, list[float]] = {
        "damping": [],
        "time_reversal_error": [],
        "time_reversal_error_analytic": [],
        "gradient_cosine_error": [],
    }
    for gamma in dampings:
        case = _Case(
            name="sweep",
            grid=grid,
            eps=eps,
            damping=torch.full((interior,), float(gamma), dtype=F64) if gamma > 0 else None,
            modulation=None,
            a=(45.0,),
            b=(95.0,),
            signal=sig,
            k0=k0,
            reciprocal=True,
            expected="pass",
        )
        tr = _time_reversal(case)
        out["damping"].append(float(gamma))
        out["time_reversal_error"].append(tr["time_reversal_error"])
        out["time_reversal_error_analytic"].append(1 - math.exp(-gamma * tr["replay_time_s"]))
        out["gradient_cosine_error"].append(_gradient_error(case)[0])
    return out
