"""The trainable thin-film stack: bounds, equivalence with the engine, training works."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.photonic import ThinFilmStack
from wavebp.simulators.tmm import coherent

F64 = torch.float64
NM = 1e-9


def test_bounds_hold_for_any_parameters(generator):
    stack = ThinFilmStack(
        thickness=[100 * NM, 80 * NM],
        index=[2.0, 1.5],
        trainable_index=True,
        thickness_bounds=(5 * NM, 300 * NM),
        index_bounds=(1.4, 2.4),
    )
    with torch.no_grad():
        stack.raw_thickness.copy_(50 * torch.randn(2, generator=generator, dtype=F64))
        stack.raw_index.copy_(50 * torch.randn(2, generator=generator, dtype=F64))
    d, n = stack.thickness(), stack.index()
    assert bool(((d >= 5 * NM) & (d <= 300 * NM)).all())
    assert bool(((n >= 1.4) & (n <= 2.4)).all())


def test_initial_values_round_trip_and_match_engine():
    stack = ThinFilmStack(
        thickness=[120 * NM, 60 * NM, 90 * NM], index=[2.35, 1.46, 2.35], substrate_index=1.52
    )
    assert torch.allclose(
        stack.thickness(), torch.tensor([120.0, 60.0, 90.0], dtype=F64) * NM, rtol=1e-13, atol=0
    )
    wl = torch.linspace(400 * NM, 700 * NM, 5, dtype=F64)
    res = stack(wl, angle=0.2, polarization="p")
    n = torch.tensor([1.0, 2.35, 1.46, 2.35, 1.52], dtype=torch.complex128)
    d = torch.tensor([0.0, 120.0, 60.0, 90.0, 0.0], dtype=F64) * NM
    ref = coherent(n, d, wl, angle=0.2, polarization="p")
    assert (res.r - ref.r).abs().max().item() < 1e-13


def test_out_of_bounds_initial_value_raises():
    with pytest.raises(ValueError, match="thickness must be in"):
        ThinFilmStack(thickness=[600 * NM], index=[2.0])


def test_training_an_antireflection_coating():
    # one trainable layer on glass: the optimum is the quarter-wave layer with n = sqrt(1.52)
    stack = ThinFilmStack(
        thickness=[60 * NM], index=[1.8], trainable_index=True, index_bounds=(1.1, 2.5)
    )
    opt = torch.optim.Adam(stack.parameters(), lr=0.1)
    for _ in range(150):
        opt.zero_grad()
        loss = stack(550 * NM).R
        loss.backward()
        opt.step()
    assert stack(550 * NM).R.item() < 1e-6  # bare glass: 0.0426
    assert abs(stack.index().item() - math.sqrt(1.52)) < 1e-2
    quarter = 550 * NM / 4 / stack.index().item()
    assert abs(stack.thickness().item() - quarter) / quarter < 1e-2
