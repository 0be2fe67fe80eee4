"""Thermo-optic phase shifter: power -> phase, its inverse, dispersion and crosstalk."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.devices import ThermoOpticShifter, thermal_crosstalk_matrix
from wavebp.simulators.mesh import mesh_layout

TWO_PI = 2 * math.pi


def test_p_pi_gives_pi_at_design_wavelength_and_scales_as_inverse_wavelength():
    shifter = ThermoOpticShifter(p_pi=20e-3)
    p = torch.tensor([0.0, 10e-3, 20e-3, 40e-3], dtype=torch.float64)
    # linear in power, pi at P_pi (float64 arithmetic: 1e-15)
    expected = torch.tensor([0.0, math.pi / 2, math.pi, TWO_PI], dtype=torch.float64)
    torch.testing.assert_close(shifter.phase(p), expected, rtol=1e-15, atol=1e-15)
    # at 1530 nm the same power gives lambda0/lambda times more phase
    torch.testing.assert_close(
        shifter.phase(p, wavelength=1530e-9), expected * 1550 / 1530, rtol=1e-14, atol=1e-15
    )
    assert shifter.p_pi_at(1565e-9) == pytest.approx(20e-3 * 1565 / 1550, rel=1e-14)


def test_phase_equals_first_principles_formula():
    # phase = 2 pi L dn/dT R_th P / lambda with the derived thermal resistance
    s = ThermoOpticShifter(p_pi=25e-3, length=200e-6, dn_dt=1.8e-4)
    power = torch.tensor(7e-3, dtype=torch.float64)
    wl = 1540e-9
    direct = TWO_PI * s.length * s.dn_dt * float(s.temperature_rise(power)) / wl
    assert float(s.phase(power, wavelength=wl)) == pytest.approx(direct, rel=1e-13)
    # documented default: R_th ~ 1.7e3 K/W
    assert ThermoOpticShifter().thermal_resistance == pytest.approx(1.667e3, rel=1e-3)


@settings(max_examples=30, deadline=None)
@given(
    phase=st.lists(st.floats(-20.0, 20.0), min_size=1, max_size=6),
    wavelength_nm=st.floats(1500.0, 1600.0),
)
def test_inverse_round_trip_modulo_two_pi(phase, wavelength_nm):
    s = ThermoOpticShifter()
    wl = wavelength_nm * 1e-9
    target = torch.tensor(phase, dtype=torch.float64)
    power = s.power(target, wavelength=wl)
    assert bool((power >= 0).all())
    assert bool((power < 2 * s.p_pi_at(wl) * (1 + 1e-12)).all())
    back = s.phase(power, wavelength=wl)
    diff = torch.remainder(back - target + math.pi, TWO_PI) - math.pi
    # float64 wrap and rescale: a few ulp of 2 pi
    assert float(diff.abs().max()) < 1e-12


def test_crosstalk_matches_dense_matrix_and_inverse_compensates(generator):
    layout = mesh_layout(6)
    s = ThermoOpticShifter(crosstalk=0.1, crosstalk_decay=0.3)
    power = 40e-3 * torch.rand(layout.n_mzis, generator=generator, dtype=torch.float64)
    k = thermal_crosstalk_matrix(layout, coupling=0.1, decay=0.3)
    expected = k @ (math.pi * power / s.p_pi)
    torch.testing.assert_close(s.phase(power, layout=layout), expected, rtol=1e-14, atol=1e-14)
    target = TWO_PI * torch.rand(layout.n_mzis, generator=generator, dtype=torch.float64)
    p = s.power(target, layout=layout, wavelength=1560e-9)
    assert bool((p >= 0).all())
    back = s.phase(p, layout=layout, wavelength=1560e-9)
    diff = torch.remainder(back - target + math.pi, TWO_PI) - math.pi
    assert float(diff.abs().max()) < 1e-12  # dense float64 solve
    # without compensation the crosstalk visibly shifts the phases
    plain = s.phase(s.power(target), layout=layout)
    assert float((torch.remainder(plain - target + math.pi, TWO_PI) - math.pi).abs().max()) > 0.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_pi": 0.0}, "p_pi"),
        ({"design_wavelength": -1.0}, "design_wavelength"),
        ({"crosstalk": 1.0}, "crosstalk"),
        ({"dn_dt": float("nan")}, "dn_dt"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ThermoOpticShifter(**kwargs)


def test_negative_power_and_bad_wavelength_rejected():
    s = ThermoOpticShifter()
    with pytest.raises(ValueError, match="power must be >= 0"):
        s.phase(torch.tensor([-1e-3]))
    with pytest.raises(ValueError, match="wavelength"):
        s.phase(torch.tensor([1e-3]), wavelength=0.0)
