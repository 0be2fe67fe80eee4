"""Fabricated meshes at an operating wavelength: coupler model, chip sampling, heaters,
programming modes, and Mesh.set_static_errors."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.devices import ThermoOpticShifter
from wavebp.photonic import (
    CoupledModeCoupler,
    Mesh,
    MeshImperfections,
    chip_coupler_errors,
    chip_coupler_phases,
    chip_matrix,
    fabricated_mesh,
    heater_phases,
    matrix_fidelity,
    sample_chip,
)

TWO_PI = 2 * math.pi


def test_coupled_mode_model_limits():
    c = CoupledModeCoupler()
    e0 = c.coupler_error(c.design_gap, c.design_wavelength)
    assert abs(float(e0)) < 1e-15  # 50:50 at the design point by construction
    # wider gap -> weaker coupling -> less cross power (e < 0); longer wavelength -> more
    assert float(c.coupler_error(c.design_gap + 10e-9, c.design_wavelength)) < 0
    assert float(c.coupler_error(c.design_gap, 1565e-9)) > 0
    # first order: de/dgap = -(pi/4)/gap_decay
    d = c.coupler_error(c.design_gap + 1e-12, c.design_wavelength) / 1e-12
    assert float(d) == pytest.approx(-(math.pi / 4) / c.gap_decay, rel=1e-3)
    grid = c.coupler_error(torch.tensor([[190e-9], [210e-9]]), torch.tensor([1530e-9, 1550e-9]))
    assert grid.shape == (2, 2)
    assert c.coupler_phase(torch.zeros(3), 1550e-9).shape == (3,)


def test_sample_chip_deterministic_and_scales_with_sigma():
    a = sample_chip(10, gap_sigma=2e-9, phase_sigma=0.1, generator=torch.Generator().manual_seed(5))
    b = sample_chip(10, gap_sigma=4e-9, phase_sigma=0.2, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(b.gap_error, 2 * a.gap_error, rtol=1e-15, atol=0)
    torch.testing.assert_close(b.theta_offset, 2 * a.theta_offset, rtol=1e-15, atol=0)
    assert a.gap_error.shape == (10, 2)
    assert float(a.gap_error.abs().max()) > 0
    loss = sample_chip(4, loss_db=0.1, loss_db_sigma=1.0, generator=torch.Generator())
    assert bool((loss.loss_db >= 0).all())
    with pytest.raises(ValueError, match="gap_sigma"):
        sample_chip(3, gap_sigma=-1.0)


def test_chip_coupler_errors_shape_and_table_lookup():
    c = CoupledModeCoupler()
    gap = torch.tensor([[0.0, 5e-9], [-5e-9, 0.0]], dtype=torch.float64)
    e = chip_coupler_errors(c, gap, wavelength=1550e-9)
    assert e.shape == (2, 2)
    torch.testing.assert_close(e, c.coupler_error(c.design_gap + gap, 1550e-9))


def test_heater_phases_dispersion():
    s = ThermoOpticShifter()
    phase = torch.tensor([0.5, 3.0, 6.0, 7.0], dtype=torch.float64)
    got = heater_phases(phase, shifter=s, wavelength=1530e-9)
    torch.testing.assert_close(got, torch.remainder(phase, TWO_PI) * 1550 / 1530)
    # programmed for the operating wavelength: the phase is right modulo 2 pi
    again = heater_phases(phase, shifter=s, wavelength=1530e-9, program_wavelength=1530e-9)
    torch.testing.assert_close(torch.remainder(again, TWO_PI), torch.remainder(phase, TWO_PI))


@pytest.fixture
def target(generator) -> Mesh:
    return Mesh(6, dtype=torch.complex128, generator=generator)


def test_perfect_chip_at_design_wavelength_is_the_target(target):
    fab = fabricated_mesh(target, chip=None, table=CoupledModeCoupler(), wavelength=1550e-9)
    # phases wrapped to [0, 2 pi): the same matrix to float64 rounding
    torch.testing.assert_close(fab.matrix(), target.matrix(), rtol=0, atol=1e-13)
    assert target.coupler_error is None  # the target is untouched


def test_programming_modes_at_detuned_wavelength(target):
    u = target.matrix().detach()
    flat = CoupledModeCoupler(wavelength_exponent=0.0)  # non-dispersive couplers
    detuned = 1565e-9
    none = fabricated_mesh(target, chip=None, table=flat, wavelength=detuned, mode="none")
    rescaled = fabricated_mesh(target, chip=None, table=flat, wavelength=detuned, mode="rescaled")
    assert float(matrix_fidelity(u, none.matrix().detach())) < 0.999
    torch.testing.assert_close(rescaled.matrix(), u, rtol=0, atol=1e-13)
    dispersive = CoupledModeCoupler()
    r2 = fabricated_mesh(target, chip=None, table=dispersive, wavelength=detuned, mode="rescaled")
    c2 = fabricated_mesh(target, chip=None, table=dispersive, wavelength=detuned, mode="corrected")
    f_r = float(matrix_fidelity(u, r2.matrix().detach()))
    f_c = float(matrix_fidelity(u, c2.matrix().detach()))
    assert f_r < 1 - 1e-6
    assert f_c > f_r


def test_corrected_chip_with_small_gap_errors(target, generator):
    u = target.matrix().detach()
    chip = sample_chip(target.n_mzis, gap_sigma=2e-9, phase_sigma=0.05, generator=generator)
    table = CoupledModeCoupler()
    f_none = matrix_fidelity(
        u, fabricated_mesh(target, chip=chip, table=table, wavelength=1550e-9).matrix().detach()
    )
    f_corr = matrix_fidelity(
        u,
        fabricated_mesh(target, chip=chip, table=table, wavelength=1550e-9, mode="corrected")
        .matrix()
        .detach(),
    )
    assert float(f_corr) > float(f_none)
    assert float(f_corr) > 0.999


def test_set_static_errors_matches_set_imperfections(generator):
    m1 = Mesh(5, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    m1.set_imperfections(
        MeshImperfections(coupler_error_sigma=0.05, phase_error_sigma=0.1, loss_db=0.2),
        generator=gen,
    )
    m2 = Mesh(5, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    m2.set_static_errors(
        coupler_error=m1.coupler_error,
        theta_offset=m1.theta_offset,
        phi_offset=m1.phi_offset,
        loss_db=torch.full((m2.n_mzis,), 0.2, dtype=torch.float64),
    )
    torch.testing.assert_close(m2.matrix(), m1.matrix(), rtol=0, atol=1e-14)
    m2.set_static_errors()
    ideal = Mesh(5, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(m2.matrix(), ideal.matrix(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="coupler_error must have shape"):
        m2.set_static_errors(coupler_error=torch.zeros(3))
    with pytest.raises(ValueError, match="coupler_error must be in"):
        m2.set_static_errors(coupler_error=torch.full((m2.n_mzis, 2), 1.0))
    with pytest.raises(ValueError, match="loss_db must be >= 0"):
        m2.set_static_errors(loss_db=-torch.ones(m2.n_mzis))


def test_fabricated_mesh_rejects_bad_mode(target):
    with pytest.raises(ValueError, match="mode must be one of"):
        fabricated_mesh(target, chip=None, table=CoupledModeCoupler(), wavelength=1550e-9, mode="x")


class _PhaseModel(CoupledModeCoupler):
    """Coupled-mode errors plus a through-phase linear in the gap (for the tests)."""

    def coupler_phase(self, gap, wavelength):
        g = torch.as_tensor(gap, dtype=torch.float64)
        return 0.02e9 * (g - self.design_gap) + 0.0 * torch.as_tensor(wavelength)


def test_chip_matrix_matches_engine(generator):
    mesh = Mesh(
        7,
        dtype=torch.complex128,
        generator=generator,
        imperfections=MeshImperfections(
            coupler_error_sigma=0.1, phase_error_sigma=0.1, loss_db=0.2
        ),
    )
    # independent column-by-column product vs the blocked engine (float64 rounding)
    torch.testing.assert_close(chip_matrix(mesh), mesh.matrix().detach(), rtol=0, atol=1e-13)
    psi = torch.full((mesh.n_mzis,), 0.3, dtype=torch.float64)
    assert (chip_matrix(mesh, common_phase=psi) - mesh.matrix().detach()).abs().max() > 0.1
    with pytest.raises(ValueError, match="common_phase must have shape"):
        chip_matrix(mesh, common_phase=torch.zeros(2))


def test_common_phase_single_mzi():
    # one MZI: a common phase is a global phase of the 2x2 matrix
    mesh = Mesh(2, dtype=torch.complex128, init="uniform", generator=torch.Generator())
    u = chip_matrix(mesh, common_phase=torch.tensor([0.7], dtype=torch.float64))
    torch.testing.assert_close(u, complex(math.cos(0.7), math.sin(0.7)) * mesh.matrix().detach())


def test_coupler_phases_and_correction_with_common_phase(target, generator):
    table = _PhaseModel()
    chip = sample_chip(target.n_mzis, gap_sigma=1e-9, generator=generator)
    psi = chip_coupler_phases(table, chip.gap_error, wavelength=1550e-9)
    torch.testing.assert_close(psi, 0.02e9 * chip.gap_error, rtol=1e-12, atol=1e-15)
    u = target.matrix().detach()
    fab = fabricated_mesh(target, chip=chip, table=table, wavelength=1550e-9, mode="rescaled")
    torch.testing.assert_close(fab.common_phase, psi.sum(-1))
    corr = fabricated_mesh(target, chip=chip, table=table, wavelength=1550e-9, mode="corrected")
    f_r = float(matrix_fidelity(u, fab.matrix()))
    f_c = float(matrix_fidelity(u, corr.matrix()))
    assert f_r < 1 - 1e-5
    # gap sigma 1 nm: every splitting reachable here, so the correction is exact (float64)
    assert f_c == pytest.approx(1.0, abs=1e-12)
    # the module form gives the same fields as the matrix
    x = torch.randn(3, 6, generator=generator, dtype=torch.float64).to(torch.complex128)
    torch.testing.assert_close(corr.module()(x), x @ corr.matrix().mT)


def test_gaps_clipped_to_table_grid():
    class Gridded(CoupledModeCoupler):
        @property
        def gaps(self):
            return torch.tensor([190e-9, 210e-9], dtype=torch.float64)

    table = Gridded()
    e = chip_coupler_errors(table, torch.tensor([50e-9, -50e-9]), wavelength=1550e-9)
    torch.testing.assert_close(e, table.coupler_error(torch.tensor([210e-9, 190e-9]), 1550e-9))
