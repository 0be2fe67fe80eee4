"""FDTD saturable Kerr medium: bounded speed, up-front Courant check, long-run stability."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from wavebp.simulators.fdtd import Grid, PointProbe, PointSource, field_snapshots, simulate
from wavebp.simulators.fdtd import _engine as eng

F64 = torch.float64


def test_constitutive_map_gives_the_saturating_speed():
    st = SimpleNamespace(kerr_amp=0.3, kerr_box=None)
    c_lin, dc = 0.8, -0.5
    eps_inv = torch.full((5, 1), c_lin**2, dtype=F64)
    cnl = torch.tensor([dc, dc, 0.0, dc, dc], dtype=F64).reshape(5, 1)
    w = torch.linspace(-2.0, 2.0, 401, dtype=F64).reshape(-1, 1, 1).expand(-1, 5, 1)
    w = w.clone().requires_grad_(True)
    u = eng._kerr_field(st, w, (eps_inv, None, cnl, None))
    (du_dw,) = torch.autograd.grad(u.sum(), w)
    x = w.detach() / 0.3
    # the small-signal speed c(w) = sqrt(G'(w)) c_lin = c_lin + dc x^2 / (1 + x^2)
    expected = c_lin + dc * x**2 / (1 + x**2)
    speed = du_dw.sqrt() * c_lin
    on = cnl.reshape(1, 5, 1) != 0
    # closed form vs autograd of the closed form: float64 rounding
    assert float((speed - expected).abs()[on.expand_as(speed)].max()) < 1e-12
    assert float(speed.max()) <= c_lin + 1e-15 and float(speed.min()) >= c_lin + dc
    assert float(speed[-1, 0, 0]) < c_lin + 0.95 * dc  # saturated at |w| = 2 = 6.7 u_k
    # a cell without Kerr term: u = w exactly
    assert torch.equal(u[:, 2].detach(), w[:, 2].detach())
    # the closed-form derivatives used by the hand-written adjoint
    gp, _ = eng._kerr_derivs(st, w.detach()[:, 0], cnl[0] / c_lin)
    assert torch.allclose(gp, du_dw[:, 0], rtol=0, atol=1e-13)


def test_courant_and_positivity_checked_up_front():
    grid = Grid(shape=(40,), dx=1.0, dt=0.9, c_ref=1.0, pml_cells=5)
    kw = dict(
        grid=grid,
        sources=[PointSource(position=15.0)],
        probes=[PointProbe(position=25.0)],
        signals=torch.zeros(1, 1, 5, dtype=F64),
    )
    simulate(**kw, nonlinear_speed=0.1)  # c + dc = 1.1, 0.99 < 1
    # a rising speed is checked at its saturated value c + dc, before any step is taken
    with pytest.raises(ValueError, match=r"Courant.*c_max = 1\.2"):
        simulate(**kw, nonlinear_speed=0.2)
    with pytest.raises(ValueError, match="nonlinear_speed must keep the saturated speed"):
        simulate(**kw, nonlinear_speed=-1.0)
    with pytest.raises(ValueError, match="nonlinear_amplitude must be in"):
        simulate(**kw, nonlinear_speed=-0.5, nonlinear_amplitude=0.0)


def test_weak_fields_are_linear_strong_fields_are_not():
    grid = Grid(shape=(60,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=8)
    t = torch.arange(150, dtype=F64) * 0.5
    sig = (torch.exp(-(((t - 30.0) / 10.0) ** 2) / 2) * torch.sin(0.3 * t)).reshape(1, 1, -1)
    kw = dict(grid=grid, sources=[PointSource(position=20.0)], probes=[PointProbe(position=40.0)])
    lin = simulate(signals=sig, **kw)
    kerr = dict(nonlinear_speed=-0.4, nonlinear_amplitude=0.1)
    weak = simulate(signals=1e-4 * sig, **kw, **kerr) / 1e-4
    strong = simulate(signals=3.0 * sig, **kw, **kerr) / 3.0
    scale = float(lin.abs().max())
    # field ~1e-4 * 0.5: the speed change is ~dc (w/u_k)^2 ~ 1e-6 relative
    assert float((weak - lin).abs().max()) / scale < 1e-5
    assert float((strong - lin).abs().max()) / scale > 0.1


def test_strong_slowing_kerr_stays_bounded_in_a_closed_box():
    # the previous explicit update c(u) = c + c_nl u^2 grew without bound for strong
    # nonlinearity; the constitutive form is a Hamiltonian leapfrog: bounded
    gen = torch.Generator().manual_seed(0)
    grid = Grid(shape=(30, 28), dx=1.0, dt=0.6, c_ref=1.0, pml_cells=0)
    c = 0.5 + 0.2 * torch.rand(30, 28, generator=gen, dtype=F64)
    n = 3000
    t = torch.arange(60, dtype=F64)
    sig = torch.zeros(1, 1, n, dtype=F64)
    sig[0, 0, :60] = 3 * torch.sin(2 * math.pi * t / 15) * torch.sin(math.pi * t / 60) ** 2
    snaps = field_snapshots(
        grid=grid,
        sources=[PointSource(position=(15.0, 14.0))],
        signals=sig,
        every=10,
        wave_speed=c,
        nonlinear_speed=-0.45,  # up to 90 % slower
        nonlinear_amplitude=0.01,  # the field reaches ~10 u_k: deep saturation
    )[0]
    peak = snaps.abs().amax(dim=(1, 2))
    assert bool(torch.isfinite(peak).all())
    early, late = float(peak[20:100].max()), float(peak[200:].max())
    # measured late / early ~1.1 (the wave keeps scattering in a lossless box)
    assert late < 2.0 * early
