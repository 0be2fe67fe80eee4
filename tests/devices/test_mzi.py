"""MZI and coupler closed forms (DESIGN.md convention) and the engine's closed-form MZI."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.devices import coupler, mzi
from wavebp.simulators.mesh import mzi_transfer

# complex128 closed forms: every check is a handful of roundings of O(1) numbers.
TOL = 1e-14


def test_coupler_is_50_50_and_unitary():
    b = coupler(0.0)
    assert torch.allclose(b.abs().square(), torch.full((2, 2), 0.5, dtype=torch.float64))
    assert (b.mH @ b - torch.eye(2)).abs().max() < TOL
    e = torch.tensor(0.1, dtype=torch.float64)
    assert abs(float(coupler(e)[0, 1].abs().square()) - math.sin(math.pi / 4 + 0.1) ** 2) < TOL


@pytest.mark.parametrize("phi", [0.0, 0.7, 3.0])
def test_cross_and_bar_states(phi):
    cross = mzi(0.0, phi)
    bar = mzi(math.pi, phi)
    assert cross[0, 0].abs() < TOL and cross[1, 1].abs() < TOL
    assert abs(float(cross[1, 0].abs()) - 1) < TOL
    assert bar[0, 1].abs() < TOL and bar[1, 0].abs() < TOL
    assert abs(float(bar[0, 0].abs()) - 1) < TOL


def test_bar_and_cross_power_follow_theta():
    theta = torch.linspace(0, 2 * math.pi, 17, dtype=torch.float64)
    t = mzi(theta, torch.zeros_like(theta))
    # input on the top port: bar port is output 0, cross port output 1
    assert torch.allclose(t[:, 0, 0].abs().square(), torch.sin(theta / 2) ** 2, atol=TOL)
    assert torch.allclose(t[:, 1, 0].abs().square(), torch.cos(theta / 2) ** 2, atol=TOL)


def test_engine_closed_form_matches_device_mzi(generator):
    m = 11
    theta = torch.rand(m, generator=generator, dtype=torch.float64) * 6
    phi = torch.rand(m, generator=generator, dtype=torch.float64) * 6
    err = (torch.rand(m, 2, generator=generator, dtype=torch.float64) - 0.5) * 0.3
    eta = 1 - 0.2 * torch.rand(m, generator=generator, dtype=torch.float64)
    ref = mzi(theta, phi, coupler_error=err) * eta[:, None, None]
    got = mzi_transfer(theta, phi, coupler_error=err, loss=eta)
    assert (got - ref).abs().max() < TOL
    assert (mzi_transfer(theta, phi) - mzi(theta, phi)).abs().max() < TOL
    back = mzi_transfer(theta, phi, coupler_error=err, loss=eta, direction="backward")
    assert (back - ref.mT).abs().max() < TOL


def test_nonreciprocal_phase_in_mzi(generator):
    theta = torch.rand(5, generator=generator, dtype=torch.float64) * 6
    phi = torch.rand(5, generator=generator, dtype=torch.float64) * 6
    psi = torch.full((5,), 0.4, dtype=torch.float64)
    fwd = mzi_transfer(theta, phi, nonreciprocal_phase=psi)
    bwd = mzi_transfer(theta, phi, nonreciprocal_phase=psi, direction="backward")
    assert (fwd - mzi(theta, phi + psi)).abs().max() < TOL
    assert (bwd - mzi(theta, phi - psi).mT).abs().max() < TOL
    # the backward matrix is not the transpose of the forward one: reciprocity broken
    assert (bwd - fwd.mT).abs().max() > 0.1


def test_mzi_float32_follows_dtype():
    t = mzi(torch.tensor([0.3], dtype=torch.float32), torch.tensor([0.1], dtype=torch.float32))
    assert t.dtype == torch.complex64
    assert mzi_transfer(torch.zeros(2), torch.zeros(2)).dtype == torch.complex64
