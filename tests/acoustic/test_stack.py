"""The trainable acoustic stack."""

from __future__ import annotations

import math

import torch

from wavebp.acoustic import AcousticStack

F64 = torch.float64


def test_training_finds_a_matching_layer():
    f0 = 2e5
    stack = AcousticStack(
        thickness=[2e-3],
        speed=[2000.0],
        density=[1500.0],
        incident=(1000.0, 1480.0),
        exit=(1800.0, 4000.0),
    )
    bare = 1 - ((1800 * 4000 - 1000 * 1480) / (1800 * 4000 + 1000 * 1480)) ** 2
    opt = torch.optim.Adam(stack.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = 1 - stack(f0).T
        loss.backward()
        opt.step()
    t_final = stack(f0).T.item()
    assert t_final > 1 - 1e-4 > bare  # bare interface transmits 0.63
    # the optimum matching layer: Z = sqrt(Z1 Z2) (quarter-wave or an odd multiple)
    z_m = 1500.0 * stack.speed().item()
    assert abs(z_m - math.sqrt(1000 * 1480 * 1800 * 4000)) / z_m < 0.02


def test_bounds_and_shapes(generator):
    stack = AcousticStack(thickness=[1e-3, 2e-3], speed=[1000.0, 3000.0], density=[1.0e3, 2.0e3])
    with torch.no_grad():
        stack.raw_speed.copy_(100 * torch.randn(2, generator=generator, dtype=F64))
    c = stack.speed()
    assert bool(((c >= 300) & (c <= 6000)).all())
    res = stack(torch.linspace(1e4, 1e5, 7, dtype=F64), angle=0.2)
    assert res.T.shape == (7,)
    assert (res.R + res.T - 1).abs().max().item() < 1e-12
