"""Lab export: phase settings CSV/JSON with mesh coordinates, Touchstone S-matrix."""

from __future__ import annotations

import json
import math

import pytest
import torch

from wavebp._core import SPEED_OF_LIGHT
from wavebp.devices import ThermoOpticShifter
from wavebp.photonic import (
    Mesh,
    MeshImperfections,
    export_phase_settings,
    export_touchstone,
    read_phase_settings,
    read_touchstone,
)

TWO_PI = 2 * math.pi


@pytest.fixture
def mesh(generator) -> Mesh:
    return Mesh(5, topology="reck", dtype=torch.complex128, generator=generator)


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_phase_settings_round_trip(mesh, tmp_path, suffix):
    shifter = ThermoOpticShifter(p_pi=22e-3)
    csv_path, json_path = export_phase_settings(
        mesh, tmp_path, name="chip", wavelength=1540e-9, shifter=shifter
    )
    got = read_phase_settings(csv_path if suffix == "csv" else json_path)
    # repr() of float64 round-trips exactly
    torch.testing.assert_close(
        got["theta"], torch.remainder(mesh.theta.detach(), TWO_PI), rtol=0, atol=0
    )
    torch.testing.assert_close(
        got["phi"], torch.remainder(mesh.phi.detach(), TWO_PI), rtol=0, atol=0
    )
    torch.testing.assert_close(
        got["output_phase"], torch.remainder(mesh.output_phase.detach(), TWO_PI), rtol=0, atol=0
    )
    assert got["column"].tolist() == mesh.layout.mzi_column.tolist()
    assert got["top_port"].tolist() == mesh.layout.top_port.tolist()
    # powers reproduce the phases through the heater model at the export wavelength
    back = shifter.phase(got["theta_power"], wavelength=1540e-9)
    torch.testing.assert_close(back, got["theta"], rtol=1e-14, atol=1e-14)
    assert bool((got["phi_power"] >= 0).all())
    # a mesh rebuilt from the file implements the same matrix
    rebuilt = Mesh(5, topology="reck", dtype=torch.complex128, init="zeros")
    with torch.no_grad():
        rebuilt.theta.copy_(got["theta"])
        rebuilt.phi.copy_(got["phi"])
        rebuilt.output_phase.copy_(got["output_phase"])
    torch.testing.assert_close(rebuilt.matrix(), mesh.matrix(), rtol=0, atol=1e-13)


def test_exported_powers_compensate_thermal_crosstalk(tmp_path):
    # reck(6) has columns with several MZIs, so heaters of one kind see each other
    mesh = Mesh(
        6, topology="reck", dtype=torch.complex128, generator=torch.Generator().manual_seed(3)
    )
    shifter = ThermoOpticShifter(crosstalk=0.05, crosstalk_decay=0.3)
    _, json_path = export_phase_settings(mesh, tmp_path, wavelength=1550e-9, shifter=shifter)
    got = read_phase_settings(json_path)
    layout = mesh.layout
    # driven with the exported powers, the heaters (crosstalk included) give the phases
    for key in ("theta", "phi"):
        back = shifter.phase(got[f"{key}_power"], wavelength=1550e-9, layout=layout)
        # dense solve in float64 then the forward map: rounding only, the phases ~2 pi
        torch.testing.assert_close(torch.remainder(back, TWO_PI), got[key], rtol=0, atol=1e-12)
    naive = shifter.phase(shifter.power(got["theta"]), wavelength=1550e-9, layout=layout)
    assert float((torch.remainder(naive, TWO_PI) - got["theta"]).abs().max()) > 1e-3


def test_json_metadata(mesh, tmp_path):
    _, json_path = export_phase_settings(mesh, tmp_path, wavelength=1550e-9)
    rec = json.loads(json_path.read_text())
    assert rec["n_ports"] == 5
    assert rec["topology"] == "reck"
    assert rec["wavelength_m"] == 1550e-9
    assert len(rec["mzis"]) == mesh.n_mzis
    first = rec["mzis"][0]
    assert first["bottom_port"] == first["top_port"] + 1


def test_touchstone_round_trip(tmp_path, generator):
    mesh = Mesh(
        4,
        dtype=torch.complex128,
        generator=generator,
        imperfections=MeshImperfections(coupler_error_sigma=0.05, loss_db=0.3),
    )
    path = export_touchstone(mesh, tmp_path / "mesh", wavelength=1560e-9)
    assert path.name == "mesh.s8p"
    s, wl = read_touchstone(path)
    # Touchstone RI with repr() floats: exact in float64 up to the text round trip
    torch.testing.assert_close(s, mesh.scattering_matrix().detach(), rtol=0, atol=1e-15)
    assert wl == pytest.approx(1560e-9, rel=1e-14)
    assert float(SPEED_OF_LIGHT / wl) == pytest.approx(SPEED_OF_LIGHT / 1560e-9, rel=1e-14)


def test_bad_inputs(mesh, tmp_path):
    with pytest.raises(ValueError, match="wavelength"):
        export_phase_settings(mesh, tmp_path, wavelength=-1.0)
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        read_phase_settings(tmp_path / "x.txt")
