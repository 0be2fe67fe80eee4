"""FDTD gradients: reversible adjoint vs autograd vs central finite differences; in-situ."""

from __future__ import annotations

import pytest
import torch

from wavebp.simulators.fdtd import (
    Grid,
    PointProbe,
    PointSource,
    RegionProbe,
    insitu_departure,
    simulate,
)

F64 = torch.float64

CASES = {
    "1d_pml_lossy": dict(shape=(40,), pml=8, media=dict(damping=True)),
    "2d_pml_lossy": dict(shape=(26, 22), pml=5, media=dict(damping=True)),
    "2d_closed": dict(shape=(20, 18), pml=0, media=dict(damping=True)),
    # a source inside the x-PML takes the split-field kernels (not the strip kernels)
    "2d_source_in_pml": dict(shape=(26, 22), pml=5, media=dict(damping=True, src_in_pml=True)),
    "1d_nonlinear": dict(shape=(40,), pml=8, media=dict(nonlinear=True)),
    "2d_nonlinear": dict(shape=(26, 22), pml=5, media=dict(nonlinear=True)),
    # saturable Kerr alone (the exactly invertible path), strong and saturated, with loss
    "1d_kerr": dict(shape=(40,), pml=8, media=dict(kerr=True, damping=True)),
    "2d_kerr": dict(shape=(26, 22), pml=5, media=dict(kerr=True, damping=True)),
}


def _problem(name: str, gen: torch.Generator):
    case = CASES[name]
    shape, pml = case["shape"], case["pml"]
    grid = Grid(shape=shape, dx=1.0, dt=0.5, c_ref=1.0, pml_cells=pml)
    mid = [n // 2 for n in shape]
    src = [
        PointSource(position=tuple(float(m - 3) for m in mid)),
        PointSource(position=tuple(float(m - 1) for m in mid)),
    ]
    if case["media"].get("src_in_pml"):
        src[1] = PointSource(position=(2.0, *(float(m) for m in mid[1:])))
    prb = [
        PointProbe(position=tuple(float(m + 3) for m in mid)),
        RegionProbe(lower=tuple(float(m) for m in mid), upper=tuple(float(m + 1) for m in mid)),
    ]
    c = 0.8 + 0.4 * torch.rand(shape, generator=gen, dtype=F64)
    signals = torch.randn(2, 2, 45, generator=gen, dtype=F64)
    weights = torch.randn(2, 2, 45, generator=gen, dtype=F64)
    extra = {}
    if case["media"].get("damping"):
        extra["damping"] = 0.02 * torch.rand(shape, generator=gen, dtype=F64)
    if case["media"].get("nonlinear"):
        extra["nonlinear_speed"] = 0.05
        extra["saturable_damping"] = 0.05
        extra["saturation_amplitude"] = 0.5
    if case["media"].get("kerr"):
        # speed down by up to 0.3 of 0.8..1.2, half of it at |w| = 0.3 (fields reach ~1)
        extra["nonlinear_speed"] = -0.3
        extra["nonlinear_amplitude"] = 0.3

    def loss(c, signals, damping=None, mode="autograd"):
        kw = dict(extra)
        if damping is not None:
            kw["damping"] = damping
        y = simulate(
            grid=grid, sources=src, signals=signals, probes=prb, wave_speed=c, gradient=mode, **kw
        )
        # a nonlinear loss, so the adjoint source depends on the traces
        return (weights.to(y.device) * y).sum() + 0.5 * (y**2).sum()

    return loss, c, signals, extra.get("damping")


def _grads(loss, c, signals, damping, mode):
    c = c.clone().requires_grad_(True)
    s = signals.clone().requires_grad_(True)
    d = None if damping is None else damping.clone().requires_grad_(True)
    loss(c, s, d, mode).backward()
    return c.grad, s.grad, None if d is None else d.grad


@pytest.mark.parametrize("name", list(CASES))
def test_adjoint_equals_autograd_and_finite_differences(name, generator):
    loss, c, signals, damping = _problem(name, generator)
    g_auto = _grads(loss, c, signals, damping, "autograd")
    g_adj = _grads(loss, c, signals, damping, "adjoint")
    for a, b in zip(g_adj, g_auto, strict=True):
        if b is None:
            continue
        # same arithmetic in another order; reversal by exact leapfrog inversion (float64)
        assert float((a - b).norm() / b.norm()) < 1e-8
    # PML medium not differentiated (both modes)
    if CASES[name]["pml"]:
        inside = Grid(
            shape=CASES[name]["shape"], dx=1.0, dt=0.5, pml_cells=CASES[name]["pml"]
        ).interior
        assert float(g_adj[0][~inside].abs().max()) == 0.0
    # central differences along 5 seeded random directions
    # (the medium inside the PML is fixed hardware: perturb the interior only)
    inside = Grid(
        shape=CASES[name]["shape"], dx=1.0, dt=0.5, pml_cells=CASES[name]["pml"]
    ).interior.to(F64)
    h = 1e-5
    for _ in range(5):
        dc = torch.randn(c.shape, generator=generator, dtype=F64) * inside
        ds = torch.randn(signals.shape, generator=generator, dtype=F64)
        dd = (
            None
            if damping is None
            else 0.01 * torch.rand(damping.shape, generator=generator, dtype=F64) * inside
        )
        with torch.no_grad():

            def shifted(t, damping=damping, dc=dc, ds=ds, dd=dd):
                d = None if damping is None else damping + t * dd
                return float(loss(c + t * dc, signals + t * ds, d))

            fd = (shifted(h) - shifted(-h)) / (2 * h)
        for g in (g_auto, g_adj):
            directional = float((g[0] * dc).sum() + (g[1] * ds).sum())
            if damping is not None:
                directional += float((g[2] * dd).sum())
            # O(h^2) truncation ~1e-10 and rounding ~1e-16/h ~ 1e-11 relative
            assert directional == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_gradcheck_custom_function():
    gen = torch.Generator().manual_seed(7)
    grid = Grid(shape=(16,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=3)
    c = (0.8 + 0.4 * torch.rand(10, generator=gen, dtype=F64)).requires_grad_(True)
    s = torch.randn(1, 1, 14, generator=gen, dtype=F64, requires_grad=True)
    pml_speed = torch.ones(3, dtype=F64)  # fixed medium in the absorbing layer

    def fn(c_interior, s):
        c = torch.cat([pml_speed, c_interior, pml_speed])
        return simulate(
            grid=grid,
            sources=[PointSource(position=6.0)],
            signals=s,
            probes=[PointProbe(position=9.0)],
            wave_speed=c,
            damping=0.01,
            gradient="adjoint",
        )

    assert torch.autograd.gradcheck(fn, (c, s), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_adjoint_saves_only_the_boundary_ring():
    grid = Grid(shape=(60, 50), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=10)
    c = torch.ones(60, 50, dtype=F64, requires_grad=True)
    s = torch.randn(3, 1, 200, dtype=F64, generator=torch.Generator().manual_seed(0))
    y = simulate(
        grid=grid,
        sources=[PointSource(position=(20.0, 20.0))],
        signals=s,
        probes=[PointProbe(position=(30.0, 30.0))],
        wave_speed=c,
        gradient="adjoint",
    )
    node = y.grad_fn
    ring = sum(t.numel() for t in node.ring)
    # 2 (n_x - 2p) + 2 (n_y - 2p) interface h values per step and batch element
    assert ring == 200 * 3 * (2 * 40 + 2 * 30)
    final = sum(t.numel() for t in node.final)
    assert final < 5 * 3 * 60 * 50  # the last fields, once
    assert ring < 0.1 * 200 * 3 * 60 * 50  # far below one field per step


def test_insitu_replay_exact_when_lossless_and_departs_with_loss():
    rows = insitu_departure(
        shape=(26, 24),
        dampings=(0.0, 0.01, 0.03),
        pml_cells=(0, 5),
        n_steps=60,
        generator=torch.Generator().manual_seed(3),
    )
    by = {(r["damping"], r["pml_cells"]): r for r in rows}
    for pml in (0, 5):
        # lossless: the replay *is* the discrete adjoint (rounding level, float64)
        assert by[(0.0, pml)]["rel_error_wave_speed"] < 1e-12
        assert by[(0.0, pml)]["rel_error_signals"] < 1e-12
        # with loss the measured-overlap gradient departs, growing with the loss
        e1, e3 = by[(0.01, pml)]["rel_error_wave_speed"], by[(0.03, pml)]["rel_error_wave_speed"]
        assert 1e-4 < e1 < e3
        # first order in the loss per step: tripling gamma triples the departure
        assert e3 / e1 == pytest.approx(3.0, rel=0.2)


def test_insitu_refuses_what_it_cannot_measure():
    grid = Grid(shape=(30,), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=4)
    s = torch.randn(1, 1, 10, dtype=F64, generator=torch.Generator().manual_seed(0))
    d = torch.full((30,), 0.01, dtype=F64, requires_grad=True)
    with pytest.raises(ValueError, match="insitu"):
        simulate(
            grid=grid,
            sources=[PointSource(position=10.0)],
            signals=s,
            probes=[PointProbe(position=12.0)],
            damping=d,
            gradient="insitu",
        )


def test_float32_adjoint_close_to_float64():
    gen = torch.Generator().manual_seed(5)
    grid = Grid(shape=(48, 40), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=8)
    c = 0.8 + 0.4 * torch.rand(48, 40, generator=gen, dtype=F64)
    s = torch.randn(2, 1, 150, generator=gen, dtype=F64)
    grads = {}
    for dt in (torch.float32, F64):
        cc = c.to(dt).requires_grad_(True)
        y = simulate(
            grid=grid,
            sources=[PointSource(position=(15.0, 15.0))],
            signals=s.to(dt),
            probes=[PointProbe(position=(30.0, 25.0))],
            wave_speed=cc,
            gradient="adjoint",
        )
        (y**2).sum().backward()
        grads[dt] = cc.grad.double()
    rel = float((grads[torch.float32] - grads[F64]).norm() / grads[F64].norm())
    # 150 reversed float32 steps: rounding ~1e-7 per step, no growth in a lossless interior
    assert rel < 1e-4


@pytest.mark.gpu
def test_adjoint_on_gpu_matches_autograd_and_cpu():
    gen = torch.Generator().manual_seed(11)
    loss, c, signals, damping = _problem("2d_pml_lossy", gen)
    g_cpu = _grads(loss, c, signals, damping, "adjoint")
    dev = torch.device("cuda")
    g_gpu_adj = _grads(loss, c.to(dev), signals.to(dev), damping.to(dev), "adjoint")
    g_gpu_auto = _grads(loss, c.to(dev), signals.to(dev), damping.to(dev), "autograd")
    for a, b, ref in zip(g_gpu_adj, g_gpu_auto, g_cpu, strict=True):
        assert a.device.type == "cuda"
        assert float((a - b).norm() / b.norm()) < 1e-8
        assert float((a.cpu() - ref).norm() / ref.norm()) < 1e-8


def test_cpu_batch_chunking_is_invisible():
    # > 2^18 cells: the batch runs in chunks of one element (cache blocking); results and
    # gradients must equal the per-element runs
    grid = Grid(shape=(520, 512), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=4)
    gen = torch.Generator().manual_seed(9)
    s = torch.randn(2, 1, 12, generator=gen, dtype=F64)
    kw = dict(
        grid=grid,
        sources=[PointSource(position=(258.0, 256.0))],
        probes=[PointProbe(position=(262.0, 258.0))],
    )
    c = torch.ones(520, 512, dtype=F64, requires_grad=True)
    y = simulate(signals=s, wave_speed=c, gradient="adjoint", **kw)
    (y**2).sum().backward()
    g_batch = c.grad.clone()
    c.grad = None
    ys = [simulate(signals=s[i : i + 1], wave_speed=c, gradient="adjoint", **kw) for i in (0, 1)]
    sum((t**2).sum() for t in ys).backward()
    torch.testing.assert_close(y, torch.cat(ys), rtol=0, atol=0)
    torch.testing.assert_close(g_batch, c.grad, rtol=1e-12, atol=1e-15)
