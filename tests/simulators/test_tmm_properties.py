"""Hypothesis property tests at small sizes: energy conservation and reciprocity."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.simulators.tmm import acoustic, coherent

F64 = torch.float64
NM = 1e-9

index = st.floats(1.0, 3.5)
loss = st.floats(0.0, 0.5)
thick = st.floats(0.0, 400.0)


@settings(max_examples=40, deadline=None)
@given(
    indices=st.lists(index, min_size=2, max_size=7),
    data=st.data(),
    angle=st.floats(0.0, 1.5),
    wavelength=st.floats(300.0, 1500.0),
    polarization=st.sampled_from(["s", "p"]),
)
def test_energy_conservation_lossless(indices, data, angle, wavelength, polarization):
    d = [
        math.inf,
        *data.draw(st.lists(thick, min_size=len(indices) - 2, max_size=len(indices) - 2)),
        math.inf,
    ]
    res = coherent(
        indices, torch.tensor(d) * NM, wavelength * NM, angle=angle, polarization=polarization
    )
    # lossless (incl. evanescent layers/TIR): R + T = 1 to float64 rounding
    assert abs(res.R.item() + res.T.item() - 1) < 1e-12
    assert -1e-14 <= res.R.item() <= 1 + 1e-14


@settings(max_examples=40, deadline=None)
@given(
    indices=st.lists(st.tuples(index, loss), min_size=3, max_size=7),
    data=st.data(),
    exit_index=st.floats(1.0, 3.0),
    angle=st.floats(0.0, 1.2),
    polarization=st.sampled_from(["s", "p"]),
)
def test_reciprocity_and_passivity_lossy(indices, data, exit_index, angle, polarization):
    n = [1.0] + [complex(a, b) for a, b in indices[1:]] + [exit_index]
    d = [math.inf, *data.draw(st.lists(thick, min_size=len(n) - 2, max_size=len(n) - 2)), math.inf]
    n_t = torch.tensor(n, dtype=torch.complex128)
    d_t = torch.tensor(d, dtype=F64) * NM
    fw = coherent(n_t, d_t, 600 * NM, angle=angle, polarization=polarization)
    exit_angle = math.asin(math.sin(angle) / exit_index)
    bw = coherent(n_t.flip(0), d_t.flip(0), 600 * NM, angle=exit_angle, polarization=polarization)
    lhs = exit_index * math.cos(exit_angle) * fw.t.item()
    rhs = 1.0 * math.cos(angle) * bw.t.item()
    assert abs(lhs - rhs) < 1e-12 * max(1.0, abs(lhs))
    assert fw.A.item() >= -1e-13 and bw.A.item() >= -1e-13


@settings(max_examples=30, deadline=None)
@given(
    impedances=st.lists(
        st.tuples(st.floats(500.0, 3000.0), st.floats(300.0, 6000.0)), min_size=2, max_size=6
    ),
    data=st.data(),
    frequency=st.floats(1e3, 1e6),
    angle=st.floats(0.0, 1.4),
)
def test_acoustic_energy_conservation(impedances, data, frequency, angle):
    rho = [a for a, _ in impedances]
    speed = [b for _, b in impedances]
    t = [
        0.0,
        *data.draw(st.lists(st.floats(0.0, 0.01), min_size=len(rho) - 2, max_size=len(rho) - 2)),
        0.0,
    ]
    res = acoustic(rho, speed, t, frequency, angle=angle)
    assert abs(res.R.item() + res.T.item() - 1) < 1e-12
