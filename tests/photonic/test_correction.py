"""Post-fabrication correction (Bandyopadhyay et al. 2021) and the matrix fidelity."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.devices import mzi
from wavebp.photonic import Mesh, correct_phases, matrix_fidelity


def _chip(target: Mesh, coupler_error, theta_offset=None, phi_offset=None) -> Mesh:
    chip = Mesh(
        target.n_ports, topology=target.layout.topology, dtype=torch.complex128, init="zeros"
    )
    chip.set_static_errors(
        coupler_error=coupler_error, theta_offset=theta_offset, phi_offset=phi_offset
    )
    return chip


def _program(chip: Mesh, theta, phi, gamma) -> torch.Tensor:
    with torch.no_grad():
        chip.theta.copy_(theta)
        chip.phi.copy_(phi)
        chip.output_phase.copy_(gamma)
    return chip.matrix().detach()


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 7),
    topology=st.sampled_from(["clements", "reck"]),
)
def test_small_errors_corrected_exactly(seed, n, topology):
    gen = torch.Generator().manual_seed(seed)
    target = Mesh(n, topology=topology, dtype=torch.complex128, generator=gen)
    m = target.n_mzis
    # theta in [0.2, pi - 0.2] (either sign): the target cross power cos^2(theta/2) lies in
    # [0.01, 0.99], inside the reachable [sin^2(e2 - e1), cos^2(e1 + e2)] for |e| <= 0.02
    mag = 0.2 + (math.pi - 0.4) * torch.rand(m, generator=gen, dtype=torch.float64)
    sign = torch.where(torch.rand(m, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
    with torch.no_grad():
        target.theta.copy_(sign * mag)
    u = target.matrix().detach()
    e = 0.02 * (2 * torch.rand(m, 2, generator=gen, dtype=torch.float64) - 1)
    theta, phi, gamma = correct_phases(
        target.layout,
        theta=target.theta,
        phi=target.phi,
        output_phase=target.output_phase,
        coupler_error=e,
    )
    v = _program(_chip(target, e), theta, phi, gamma)
    # float64 products of ~2n 2x2 matrices: rounding ~1e-15 per step
    torch.testing.assert_close(v, u, rtol=0, atol=1e-12)
    assert float(matrix_fidelity(u, _chip_uncorrected(target, e))) < 1 - 1e-8


def _chip_uncorrected(target: Mesh, e) -> torch.Tensor:
    return _program(_chip(target, e), target.theta, target.phi, target.output_phase)


def test_single_mzi_power_splitting_matches_target_in_range():
    e = torch.tensor([[0.05, -0.03]], dtype=torch.float64)
    # reachable cross power: [sin^2(e2 - e1), cos^2(e1 + e2)] = [0.0064, 0.9996]
    for theta in (0.3, 1.0, 2.0, 2.9, 4.5, 6.0):
        assert 0.0064 < math.cos(theta / 2) ** 2 < 0.9996
        t = torch.tensor([theta], dtype=torch.float64)
        p = torch.tensor([0.7], dtype=torch.float64)
        g = torch.zeros(2, dtype=torch.float64)
        target = Mesh(2, dtype=torch.complex128, init="zeros")
        th, ph, _ = correct_phases(target.layout, theta=t, phi=p, output_phase=g, coupler_error=e)
        actual = mzi(th, ph, coupler_error=e[0])[0]
        ideal = mzi(t, p)[0]
        # powers |T_ij|^2 of the corrected imperfect MZI equal the target's (float64)
        torch.testing.assert_close(actual.abs().square(), ideal.abs().square(), rtol=0, atol=1e-14)


def test_unreachable_splitting_is_clipped_to_nearest():
    # full cross (theta = 0) needs e1 + e2 = 0; with e1 = e2 = 0.1 the best is cos^2(0.2)
    e = torch.tensor([[0.1, 0.1]], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    target = Mesh(2, dtype=torch.complex128, init="zeros")
    th, ph, _ = correct_phases(
        target.layout, theta=zero, phi=zero, output_phase=torch.zeros(2).double(), coupler_error=e
    )
    cross = mzi(th, ph, coupler_error=e[0])[0, 1, 0].abs().square()
    assert float(cross) == pytest.approx(math.cos(0.2) ** 2, abs=1e-14)
    uncorrected = mzi(zero, zero, coupler_error=e[0])[0, 1, 0].abs().square()
    assert float(uncorrected) == pytest.approx(math.cos(0.2) ** 2, abs=1e-14)


def test_fidelity_improves_on_every_random_chip(generator):
    target = Mesh(8, dtype=torch.complex128, generator=generator)
    u = target.matrix().detach()
    gains = []
    for _ in range(10):
        e = (0.08 * torch.randn(target.n_mzis, 2, generator=generator, dtype=torch.float64)).clamp(
            -0.7, 0.7
        )
        corrected = correct_phases(
            target.layout,
            theta=target.theta,
            phi=target.phi,
            output_phase=target.output_phase,
            coupler_error=e,
        )
        f_c = float(matrix_fidelity(u, _program(_chip(target, e), *corrected)))
        f_u = float(matrix_fidelity(u, _chip_uncorrected(target, e)))
        gains.append(f_c - f_u)
        assert f_c >= f_u
    assert sum(gains) / len(gains) > 0.01  # sigma = 0.08 rad: a clearly visible recovery


def test_measured_phase_offsets_are_compensated(generator):
    target = Mesh(5, dtype=torch.complex128, generator=generator)
    m = target.n_mzis
    e = 0.01 * torch.randn(m, 2, generator=generator, dtype=torch.float64)
    dt = 0.3 * torch.randn(m, generator=generator, dtype=torch.float64)
    dp = 0.3 * torch.randn(m, generator=generator, dtype=torch.float64)
    corrected = correct_phases(
        target.layout,
        theta=target.theta,
        phi=target.phi,
        output_phase=target.output_phase,
        coupler_error=e,
        theta_offset=dt,
        phi_offset=dp,
    )
    v = _program(_chip(target, e, dt, dp), *corrected)
    assert float(matrix_fidelity(target.matrix().detach(), v)) == pytest.approx(1.0, abs=1e-12)


def test_matrix_fidelity_properties(generator):
    u = Mesh(4, dtype=torch.complex128, generator=generator).matrix().detach()
    c = 0.7 * complex(math.cos(0.4), math.sin(0.4))
    assert float(matrix_fidelity(u, c * u)) == pytest.approx(1.0, abs=1e-14)
    w = Mesh(4, dtype=torch.complex128, generator=generator).matrix().detach()
    f = float(matrix_fidelity(u, w))
    assert 0.0 <= f < 0.99
    with pytest.raises(ValueError, match="same shape"):
        matrix_fidelity(u, u[:3, :3])


def test_bad_inputs_rejected():
    target = Mesh(3, dtype=torch.complex128, init="zeros")
    kw = {"theta": target.theta, "phi": target.phi, "output_phase": target.output_phase}
    with pytest.raises(ValueError, match="coupler_error must be a real tensor of shape"):
        correct_phases(target.layout, coupler_error=torch.zeros(2, 2), **kw)
    with pytest.raises(ValueError, match=r"coupler_error must be in \(-pi/4, pi/4\)"):
        correct_phases(target.layout, coupler_error=torch.full((3, 2), 0.8), **kw)
    # the optional measured quantities are (M,) too: a wrong shape is named, not broadcast
    e = torch.zeros(3, 2, dtype=torch.float64)
    for name in ("theta_offset", "phi_offset", "common_phase"):
        with pytest.raises(ValueError, match=rf"{name} must be a real tensor of shape \(3,\)"):
            correct_phases(target.layout, coupler_error=e, **kw, **{name: torch.zeros(1)})
