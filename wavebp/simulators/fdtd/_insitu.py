r"""How far the physical in-situ gradient (time-reversed replay) is from the exact adjoint.

The in-situ gradient (``simulate(..., gradient="insitu")``) is what an experiment could
measure: record the forward field ``u(t)`` in the design region, replay the time-reversed
residual ``-dL/dy(T - t)`` from the probe positions as sources in the *same* medium (a second
forward run), record that field ``v(t)``, and form the overlap
``dL/d(c^2) = sum_n v(T - t_n) (u_{n+1} - u_n) / (courant (c/c_ref)^4)`` (normalised units)
- the lossless formula. For a lossless reciprocal medium the replay *is* the discrete adjoint
(the leapfrog adjoint maps onto a forward run with ``v = b lambda_u``, ``h -> -h``), so the two
agree to rounding. What we measure (and test):

* closed, lossless: agreement to ~1e-15 (float64);
* the split-field PML: the replay through the PML still reproduces the discrete adjoint
  to rounding in our runs (no departure with PML thickness);
* a damping rate ``gamma``: the replayed field is still the adjoint (loss in a reciprocal
  medium is undone by running the adjoint backwards in time), but the overlap formula that
  uses the measured ``du/dt`` instead of ``(u_{n+1} - a u_n)/b`` departs by
  ``O(gamma dt)`` - it grows linearly with the loss per step.
"""

from __future__ import annotations

import torch

from wavebp._core import check_int
from wavebp.simulators.fdtd._engine import simulate
from wavebp.simulators.fdtd._grid import Grid, PointProbe, PointSource

__all__ = ["insitu_departure"]


def insitu_departure(
    *,
    shape: tuple[int, int] = (40, 36),
    dampings: tuple[float, ...] = (0.0, 1e-3, 1e-2, 3e-2),
    pml_cells: tuple[int, ...] = (0, 4, 8),
    n_steps: int = 120,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> list[dict[str, float]]:
    """Relative difference between the in-situ and the exact adjoint gradients.

    A heterogeneous 2-D medium (wave speed 1 +- 20 % in normalised units: ``dx = 1`` m,
    ``c_ref = 1`` m/s, ``dt = 0.5`` s), one point source with a random signal, two point
    probes, a linear loss with random weights; the same draw for every setting.

    Args:
        shape: grid cells ``(nx, ny)`` including the PML.
        dampings: damping rates to try (1/s; ``gamma dt`` is the loss per step / 0.5).
        pml_cells: PML thicknesses to try (cells; 0 = closed box).
        n_steps: time steps.
        generator: random source for the medium, signal and loss weights.
        dtype: float64 (for rounding-level comparisons) or float32.

    Returns:
        One dict per (damping, pml) with ``damping`` (1/s), ``pml_cells``,
        ``rel_error_wave_speed`` and ``rel_error_signals`` (``|g_insitu - g_adj| / |g_adj|``)
        and ``cosine_error`` (``1 - cos`` of the wave-speed gradients).
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    nx, ny = (
        check_int("shape[0]", shape[0], minimum=20),
        check_int("shape[1]", shape[1], minimum=20),
    )
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    speed = 1.0 + 0.2 * (2 * torch.rand(nx, ny, generator=gen, dtype=dtype) - 1)
    signal = torch.randn(1, 1, n_steps, generator=gen, dtype=dtype)
    weights = torch.randn(1, 2, n_steps, generator=gen, dtype=dtype)
    source = PointSource(position=(nx // 2 - 4.0, ny // 2 - 2.0))
    probes = [
        PointProbe(position=(nx // 2 + 5.0, ny // 2 + 3.0)),
        PointProbe(position=(nx // 2 + 3.0, ny // 2 - 5.0)),
    ]
    rows = []
    for pml in pml_cells:
        grid = Grid(shape=(nx, ny), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=int(pml))
        for gamma in dampings:
            grads = {}
            for mode in ("adjoint", "insitu"):
                c = speed.clone().requires_grad_(True)
                s = signal.clone().requires_grad_(True)
                y = simulate(
                    grid=grid,
                    sources=[source],
                    signals=s,
                    probes=probes,
                    wave_speed=c,
                    damping=float(gamma),
                    gradient=mode,
                )
                (y * weights).sum().backward()
                grads[mode] = (c.grad, s.grad)
            (ga, sa), (gi, si) = grads["adjoint"], grads["insitu"]
            cos = float((ga * gi).sum() / (ga.norm() * gi.norm()))
            rows.append(
                {
                    "damping": float(gamma),
                    "pml_cells": int(pml),
                    "rel_error_wave_speed": float((gi - ga).norm() / ga.norm()),
                    "rel_error_signals": float((si - sa).norm() / sa.norm()),
                    "cosine_error": 1.0 - cos,
                }
            )
    return rows
