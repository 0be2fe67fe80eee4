"""Acoustic layered media: interface reflection, quarter-wave matching, fields."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.simulators.tmm import acoustic, acoustic_field_profile

F64 = torch.float64


def test_interface_reflection():
    rho = torch.tensor([1000.0, 7800.0], dtype=F64)
    speed = torch.tensor([1480.0, 5900.0], dtype=F64)
    res = acoustic(rho, speed, [0.0, 0.0], 1e5)
    z1, z2 = 1000.0 * 1480.0, 7800.0 * 5900.0
    assert abs(res.R.item() - ((z2 - z1) / (z2 + z1)) ** 2) < 1e-15
    assert abs(res.r.item() - (z2 - z1) / (z2 + z1)) < 1e-15  # pressure reflection
    assert abs(res.t.item() - 2 * z2 / (z2 + z1)) < 1e-15  # pressure doubles at a hard wall


def test_quarter_wave_matching_layer_transmits_fully():
    rho1, c1, rho2, c2 = 1000.0, 1480.0, 1800.0, 4000.0
    z1, z2 = rho1 * c1, rho2 * c2
    z_m = math.sqrt(z1 * z2)
    c_m = 2500.0
    rho_m = z_m / c_m
    f0 = 2e5
    thickness = c_m / f0 / 4
    freq = torch.tensor([f0, 0.7 * f0], dtype=F64)
    res = acoustic([rho1, rho_m, rho2], [c1, c_m, c2], [0.0, thickness, 0.0], freq)
    assert abs(res.T[0].item() - 1) < 1e-14  # full transmission at the design frequency
    assert res.R[0].item() < 1e-28
    assert res.R[1].item() > 1e-3  # off design it reflects: the check can fail
    bare = acoustic([rho1, rho2], [c1, c2], [0.0, 0.0], f0)
    assert bare.R.item() > 0.1


def test_absorbing_layer_and_oblique_incidence():
    res = acoustic(
        [1000.0, 1200.0, 1000.0],
        [1480.0, 2000.0 - 100j, 1480.0],
        [0.0, 0.02, 0.0],
        torch.linspace(1e4, 1e5, 10, dtype=F64),
        angle=0.3,
    )
    assert res.A.min().item() > 0
    assert (res.R + res.T + res.A - 1).abs().max().item() < 1e-15


def test_pressure_and_velocity_continuous():
    rho = torch.tensor([1000.0, 2000.0, 1500.0, 1.2], dtype=F64)
    speed = torch.tensor([1480.0, 3000.0, 2200.0, 343.0], dtype=F64)
    thick = torch.tensor([0.0, 4e-3, 7e-3, 0.0], dtype=F64)
    z_if = torch.tensor([0.0, 4e-3, 11e-3], dtype=F64)
    z = torch.cat([z_if - 1e-12, z_if + 1e-12])
    p, v = acoustic_field_profile(rho, speed, thick, 1e5, z, angle=0.1)
    assert (p[:3] - p[3:]).abs().max().item() < 1e-6  # 1e-12 m offset at k ~ 400/m
    assert (v[:3] - v[3:]).abs().max().item() < 1e-6 * v.abs().max().item()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"density": [1000.0, -1.0]}, "density must be in (0"),
        ({"density": [1000.0, 1000.0, 1000.0]}, "density must have 2 entries"),
        ({"speed": [1480.0, 0.0]}, "speed must have Re(c) > 0"),
        ({"frequency": -1.0}, "frequency must be in (0"),
        ({"thickness": [0.0, 0.0, 0.0]}, "thickness must have 2 entries"),
    ],
)
def test_acoustic_bad_input(kwargs, needle):
    args = {
        "density": [1000.0, 2000.0],
        "speed": [1480.0, 3000.0],
        "thickness": [0.0, 0.0],
        "frequency": 1e5,
    }
    args.update(kwargs)
    with pytest.raises(ValueError) as err:
        acoustic(args["density"], args["speed"], args["thickness"], args["frequency"])
    assert needle in str(err.value)
