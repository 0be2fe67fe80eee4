"""Cross-checks against MIT Meep (VALIDATION.md "Meep cross-checks"); run with -m meep."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wavebp.simulators.fdtd import Grid, PointProbe, PointSource, simulate

pytestmark = pytest.mark.meep

F64 = torch.float64


def _fabry_perot(n: float, d: float, freqs: np.ndarray) -> np.ndarray:
    r = ((n - 1) / (n + 1)) ** 2
    return 1 / (1 + 4 * r / (1 - r) ** 2 * np.sin(2 * np.pi * n * d * freqs) ** 2)


def _ours_slab_transmission(n_slab: float, d: float, resolution: int, freqs: np.ndarray):
    """Our 1-D engine in Meep's normalised units (dx = 1/resolution, c = 1)."""
    dx = 1.0 / resolution
    nx, pml = 24 * resolution, 2 * resolution
    grid = Grid(shape=(nx,), dx=dx, dt=0.5 * dx, c_ref=1.0, pml_cells=pml)
    eps = torch.ones(nx, dtype=F64)
    i0 = nx // 2
    eps[i0 : i0 + round(d * resolution)] = n_slab**2
    n_steps = 80 * resolution
    t = (torch.arange(n_steps, dtype=F64) + 0.5) * grid.dt
    fcen, fwidth = 0.5 * (freqs[0] + freqs[-1]), 1.5 * (freqs[-1] - freqs[0])
    sig = (
        torch.exp(-(((t - 5 / fwidth) * fwidth * 2) ** 2) / 2) * torch.sin(2 * math.pi * fcen * t)
    ).reshape(1, 1, -1)
    kw = dict(
        grid=grid,
        sources=[PointSource(position=(i0 - 6 * resolution) * dx)],
        signals=sig,
        probes=[PointProbe(position=(i0 + 7 * resolution) * dx)],
    )
    y = simulate(**kw, permittivity=eps)[0, 0].numpy()
    y0 = simulate(**kw)[0, 0].numpy()
    t_out = (np.arange(n_steps) + 1) * grid.dt
    kernel = np.exp(-2j * np.pi * np.outer(t_out, freqs))
    return np.abs((y @ kernel) / (y0 @ kernel)) ** 2


def test_slab_transmission_meep_ours_tmm_within_2_percent():
    from wavebp.simulators.meep import meep_slab_transmission

    n_slab, d, resolution = 2.0, 1.0, 40
    # up to f = 0.5 c/a the slab has >= 40 cells per wavelength
    freqs = np.linspace(0.15, 0.5, 36)
    t_meep = meep_slab_transmission(n_slab=n_slab, thickness=d, resolution=resolution, freqs=freqs)
    t_ours = _ours_slab_transmission(n_slab, d, resolution, freqs)
    t_tmm = _fabry_perot(n_slab, d, freqs)
    assert t_tmm.min() < 0.7  # several fringes: not a flat comparison
    assert np.abs(t_meep / t_tmm - 1).max() < 0.02
    assert np.abs(t_ours / t_tmm - 1).max() < 0.02
    assert np.abs(t_ours / t_meep - 1).max() < 0.02


def test_point_source_traces_meep_vs_ours_correlation():
    from wavebp.simulators.meep import meep_simulate

    grid = Grid(shape=(80, 80), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=10)
    f0, width, delay = 0.05, 15.0, 60.0

    def signal(t: float) -> float:
        return math.exp(-(((t - delay) / width) ** 2) / 2) * math.sin(2 * math.pi * f0 * t)

    n_steps = 400
    src = [PointSource(position=(30.0, 40.0))]
    probes = [PointProbe(position=(50.0, 46.0)), PointProbe(position=(36.0, 30.0))]
    ref = meep_simulate(grid=grid, sources=src, signal=signal, probes=probes, n_steps=n_steps)
    # our step n injects the current at its centre time (n + 1/2) dt, as Meep does
    sig = torch.tensor([signal((n + 0.5) * grid.dt) for n in range(n_steps)], dtype=F64).reshape(
        1, 1, -1
    )
    ours = simulate(grid=grid, sources=src, signals=sig, probes=probes)[0].numpy()
    for k in range(len(probes)):
        a, b = ours[k] / np.abs(ours[k]).max(), ref[k] / np.abs(ref[k]).max()
        assert np.corrcoef(a, b)[0, 1] > 0.999
    # amplitude ratio between the two probes agrees too (same geometry)
    ratio_ours = np.abs(ours[0]).max() / np.abs(ours[1]).max()
    ratio_meep = np.abs(ref[0]).max() / np.abs(ref[1]).max()
    assert ratio_ours == pytest.approx(ratio_meep, rel=0.02)


def test_meep_reciprocity_heterogeneous_medium():
    from wavebp.simulators.meep import meep_reciprocity_traces

    grid = Grid(shape=(60, 60), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=10)
    rng = np.random.default_rng(5)
    eps = 1.0 + 2.0 * rng.random((60, 60))

    def signal(t: float) -> float:
        return math.exp(-(((t - 40.0) / 10.0) ** 2) / 2) * math.sin(2 * math.pi * 0.05 * t)

    ab, ba = meep_reciprocity_traces(
        grid=grid,
        port_a=(20.0, 22.0),
        port_b=(38.0, 35.0),
        signal=signal,
        n_steps=300,
        permittivity=eps,
    )
    # S21 = S12 (VALIDATION.md: 1e-3); the two ports see different media around them, so the
    # check is not trivial
    assert np.abs(ab - ba).max() < 1e-3 * np.abs(ab).max()
    # and ours agrees on the shape of S21 in the same medium
    sig = torch.tensor([signal((n + 0.5) * grid.dt) for n in range(300)], dtype=F64).reshape(
        1, 1, -1
    )
    ours = simulate(
        grid=grid,
        sources=[PointSource(position=(20.0, 22.0))],
        signals=sig,
        probes=[PointProbe(position=(38.0, 35.0))],
        permittivity=torch.from_numpy(eps),
    )[0, 0].numpy()
    assert np.corrcoef(ours, ab)[0, 1] > 0.999
