"""The shipped directional-coupler table (Meep, Touchstone) and its interpolation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wavebp.devices import CouplerTable, coupler, symmetric_coupler_s4
from wavebp.simulators.meep import (
    CouplerGeometry,
    supermode_coupler_response,
    supermode_indices,
)

NM = 1e-9
# leave-one-gap-out bound (rad): log(theta) is nearly linear in the gap (exponential
# coupling), so a cubic spline bridges a 50 nm hole to < 1e-3 rad (measured 0.86e-3); at the
# shipped 25 nm spacing that is ~16x smaller (~1e-4), below Meep's convergence error (3e-3)
GAP_HOLE_TOL = 2e-3


@pytest.fixture(scope="module")
def table() -> CouplerTable:
    return CouplerTable.load()


def _theta(s: np.ndarray) -> np.ndarray:
    return np.arctan2(np.abs(s[..., 3, 0]), np.abs(s[..., 2, 0]))


def test_shipped_table_covers_the_design(table: CouplerTable) -> None:
    gaps, wls = table.gaps, table.wavelengths
    assert gaps.dtype == torch.float64 and wls.dtype == torch.float64
    assert gaps.ndim == 1 and gaps.numel() >= 5
    # fabrication errors of a few nm around the 200 nm design stay inside the table
    assert gaps[0] <= table.design_gap - 40 * NM and gaps[-1] >= table.design_gap + 40 * NM
    assert wls[0] <= 1500.001 * NM and wls[-1] >= 1599.999 * NM
    assert table.design_gap == pytest.approx(200 * NM)
    assert table.design_wavelength == pytest.approx(1550 * NM)
    assert table.metadata["solver"] == "meep"
    for key in ("geometry", "coupling_length", "resolution_px_per_um", "meep_version", "command"):
        assert key in table.metadata or key in table.metadata.get("info", {}), key


def test_touchstone_round_trip(table: CouplerTable, tmp_path) -> None:
    import skrf

    path = table.save(tmp_path / "copy")
    again = CouplerTable.load(path.parent)
    # files hold 13 significant digits (format {:.12e}) and |S| <= 1
    torch.testing.assert_close(again.s_params, table.s_params, rtol=0, atol=1e-12)
    torch.testing.assert_close(again.gaps, table.gaps, rtol=1e-15, atol=0)
    torch.testing.assert_close(again.wavelengths, table.wavelengths, rtol=1e-14, atol=0)
    assert again.design_gap == table.design_gap
    # a file read directly with scikit-rf: port k+1 is our port k, frequencies in Hz
    entry = again.metadata["files"][0]
    net = skrf.Network(str(path.parent / entry["file"]))
    assert net.s.shape == (table.wavelengths.numel(), 4, 4)
    s_first = table.s_params[0].numpy()[::-1]  # increasing frequency
    np.testing.assert_allclose(net.s, s_first, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        net.f, 299792458.0 / table.wavelengths.numpy()[::-1], rtol=1e-14, atol=0
    )


def test_interpolation_reproduces_the_grid(table: CouplerTable) -> None:
    g, w = table.gaps[:, None], table.wavelengths[None, :]
    s = table.s_matrix(g, w)
    # splines interpolate exactly; the rest is float64 exp/log round-off
    torch.testing.assert_close(s, table.s_params, rtol=0, atol=1e-12)
    e = table.coupler_error(g, w).numpy()
    np.testing.assert_allclose(e, _theta(table.s_params.numpy()) - math.pi / 4, atol=1e-12)


def test_interpolation_is_smooth_and_accurate(table: CouplerTable) -> None:
    """Leave grid points out: the thinner table predicts the left-out points."""
    s = table.s_params.numpy()
    g, w = table.gaps.numpy(), table.wavelengths.numpy()
    kw = dict(design_gap=table.design_gap, design_wavelength=table.design_wavelength)
    # every other wavelength (twice the spacing): a cubic's error grows ~16x, so these bounds
    # put the shipped table's wavelength-interpolation error below ~1e-5 (measured: 1e-5)
    thin = CouplerTable(gaps=g, wavelengths=w[::2], s_params=s[:, ::2], **kw)
    gg, ww = np.meshgrid(g, w[1::2], indexing="ij")
    err = thin.coupler_error(torch.tensor(gg), torch.tensor(ww)).numpy()
    assert np.max(np.abs(err - (_theta(s[:, 1::2]) - math.pi / 4))) < 1e-4
    st = thin.s_matrix(torch.tensor(gg), torch.tensor(ww)).numpy()
    assert np.max(np.abs(st[..., 2, 0] - s[:, 1::2, 2, 0])) < 1e-4
    # one interior gap left out (a hole of twice the spacing)
    for k in range(1, g.size - 1):
        keep = np.arange(g.size) != k
        if keep.sum() < 4:
            continue
        thin = CouplerTable(gaps=g[keep], wavelengths=w, s_params=s[keep], **kw)
        e = thin.coupler_error(float(g[k]), torch.tensor(w)).numpy()
        assert np.max(np.abs(e - (_theta(s[k]) - math.pi / 4))) < GAP_HOLE_TOL, k
        # the through phase over the hole (measured <= 5.5e-3 rad)
        t_k = thin.s_matrix(float(g[k]), torch.tensor(w)).numpy()[:, 2, 0]
        assert np.max(np.abs(np.angle(t_k / s[k, :, 2, 0]))) < 1e-2, k
    # C1 across a grid node: one-sided slopes agree (cubic spline)
    h = 1e-3 * NM
    for gk in g[1:-1]:
        left = (table.coupler_error(gk, 1550 * NM) - table.coupler_error(gk - h, 1550 * NM)) / h
        right = (table.coupler_error(gk + h, 1550 * NM) - table.coupler_error(gk, 1550 * NM)) / h
        assert abs(float(left - right)) < 1e-3 * abs(float(left))


def test_design_point(table: CouplerTable) -> None:
    e = table.coupler_error(table.design_gap, table.design_wavelength)
    # L was calibrated on Meep runs over a two-pixel (50 nm) length grid, on which theta
    # moves by ~3.7e-3 rad per step: the best length is within half a step, < 2e-3 rad
    assert abs(float(e)) < 2e-3
    assert float(table.coupler_phase(table.design_gap, table.design_wavelength)) == 0.0


def test_physical_trends(table: CouplerTable) -> None:
    g = torch.linspace(float(table.gaps[0]), float(table.gaps[-1]), 41, dtype=torch.float64)
    w = torch.linspace(1500 * NM, 1600 * NM, 11, dtype=torch.float64)
    e = table.coupler_error(g[:, None], w[None, :])
    # evanescent coupling: weaker for wider gaps, stronger for longer wavelengths
    assert bool((e.diff(dim=0) < 0).all())
    assert bool((e.diff(dim=1) > 0).all())
    # ~8.5 /um exponential decay: a 5 nm gap error moves e by a few 10 mrad
    de = table.coupler_error(table.design_gap + 5 * NM, 1550 * NM)
    assert -0.06 < float(de) < -0.015


def test_energy_and_reciprocity(table: CouplerTable) -> None:
    s = table.s_params.numpy()
    power = np.sum(np.abs(s) ** 2, axis=-2)  # each column
    loss = 1 - power
    measured = table.metadata["checks"]["convergence"]
    # passive within Meep's accuracy (0.2 % over-unity at most: DFT/mode-overlap error)
    assert power.max() < 1.002
    # loss (S-bend radiation) below 3 %, and the table's design-point loss is the one the
    # convergence run measured at 1.5x resolution to within 1 %
    assert loss.max() < 0.03
    k = int(np.argmin(np.abs(table.wavelengths.numpy() - measured["wavelength"])))
    i = int(np.argmin(np.abs(table.gaps.numpy() - table.design_gap)))
    assert abs(power[i, k, 0] - measured["transmission_check"]) < 0.01
    # S = S^T: by construction (mirror symmetries), checked against Meep in the meep tests
    np.testing.assert_array_equal(s, np.swapaxes(s, -1, -2))
    rec = table.metadata["checks"]["reciprocity"]
    # a second Meep run with the source in port 3 reproduced S[3, :] (the transposed entries
    # t and c to ~1e-6, magnitudes of all four to 3e-4): bound what the manifest records
    assert rec["max_abs_S30_minus_S03"] < 1e-4 and rec["max_abs_S20_minus_S13"] < 1e-4
    assert rec["max_abs_magnitude_difference"] < 1e-3


def test_usable_as_coupler_error(table: CouplerTable) -> None:
    g = torch.tensor([185.0, 200.0, 213.0], dtype=torch.float64) * NM
    e = table.coupler_error(g, 1530 * NM)
    b = coupler(e)
    s = table.s_matrix(g, 1530 * NM)
    t, c = s[..., 2, 0], s[..., 3, 0]
    cross = c.abs() ** 2 / (t.abs() ** 2 + c.abs() ** 2)
    torch.testing.assert_close(b[..., 1, 0].abs() ** 2, cross, rtol=0, atol=1e-12)
    # relative phase of cross and through ~ pi/2 as in B(e) (symmetric coupler)
    assert float((torch.angle(c / t) - math.pi / 2).abs().max()) < 0.02


def test_broadcast_dtype_device(table: CouplerTable) -> None:
    g = torch.tensor([[190.0], [200.0], [210.0]], dtype=torch.float32) * NM
    w = torch.tensor([1510.0, 1550.0, 1570.0, 1590.0], dtype=torch.float64) * NM
    e = table.coupler_error(g, w)
    assert e.shape == (3, 4)
    assert table.s_matrix(g, w).shape == (3, 4, 4, 4)
    assert table.coupler_phase(200 * NM, w).shape == (4,)
    assert table.coupler_error(200 * NM, 1550 * NM).shape == ()
    f32 = table.coupler_error(g, w.float())
    assert f32.dtype == torch.float32
    assert table.s_matrix(g.float(), w.float()).dtype == torch.complex64


def test_supermode_model_agreement(table: CouplerTable) -> None:
    """Meep's coupling angle vs the supermode (coupled-mode) model on the same geometry."""
    geo = dict(table.metadata["geometry"])
    idx = [0, table.gaps.numel() // 2, table.gaps.numel() - 1]
    s = table.s_params.numpy()
    k = int(np.argmin(np.abs(table.wavelengths.numpy() - 1550 * NM)))
    wl = float(table.wavelengths[k])
    theta_meep, theta_cmt = [], []
    for i in idx:
        geo["gap"] = float(table.gaps[i])
        sm = supermode_coupler_response(CouplerGeometry(**geo), wavelengths=np.array([wl]))
        theta_cmt.append(float(_theta(sm[0])))
        theta_meep.append(float(_theta(s[i, k])))
    ratio = np.array(theta_meep) / np.array(theta_cmt)
    # the model treats the S-bends adiabatically and ignores their radiation; Meep's bends
    # couple ~0.17 rad against the model's 0.12, so the total angle is 5-8 % higher
    assert np.all(np.abs(ratio - 1) < 0.10), ratio
    # exponential decay with gap: rates (1/m) within 5 % (measured 2 %)
    rate = lambda th: -np.polyfit(table.gaps.numpy()[idx], np.log(th), 1)[0]  # noqa: E731
    assert rate(np.array(theta_meep)) == pytest.approx(rate(np.array(theta_cmt)), rel=0.05)
    # the straight section alone: Meep's d theta / dL (two calibration runs) gives the
    # supermode index difference; the exact slab supermodes agree to 1 % (measured 0.3 %)
    ne, no = supermode_indices(
        n_core=geo["n_core"],
        n_clad=geo["n_clad"],
        width=geo["width"],
        gap=table.design_gap,
        wavelength=table.design_wavelength,
    )
    dn_meep = table.metadata["info"]["meep_delta_n_design"]
    assert dn_meep == pytest.approx(ne - no, rel=0.01)


def test_symmetric_coupler_s4() -> None:
    r, x, t, c = (np.array([v]) for v in (0.1, 0.2j, 0.3, 0.4j))
    s = symmetric_coupler_s4(r, x, t, c)[0]
    np.testing.assert_array_equal(s, s.T)
    assert s[2, 0] == 0.3 and s[3, 0] == 0.4j and s[1, 3] == 0.3 and s[0, 1] == 0.2j


def test_bad_inputs(table: CouplerTable, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"gap must be in \[150, 250\] nm .*got 260 nm"):
        table.coupler_error(260 * NM, 1550 * NM)
    with pytest.raises(ValueError, match=r"wavelength must be in \[1500, 1600\] nm .*got 1620"):
        table.coupler_phase(200 * NM, torch.tensor([1550.0, 1620.0]) * NM)
    with pytest.raises(ValueError, match="gap must be in"):
        table.s_matrix(float("nan"), 1550 * NM)
    with pytest.raises(ValueError, match="gap must be real"):
        table.coupler_error(torch.tensor(2e-7 + 0j), 1550 * NM)
    with pytest.raises(ValueError, match=r"manifest\.json"):
        CouplerTable.load(tmp_path)
    s = table.s_params.numpy()
    with pytest.raises(ValueError, match="s_params must have shape"):
        CouplerTable(
            gaps=table.gaps,
            wavelengths=table.wavelengths,
            s_params=s[:, :-1],
            design_gap=2e-7,
            design_wavelength=1.55e-6,
        )
    with pytest.raises(ValueError, match=r"design_gap must be in \[150, 250\] nm"):
        CouplerTable(
            gaps=table.gaps,
            wavelengths=table.wavelengths,
            s_params=s,
            design_gap=3e-7,
            design_wavelength=1.55e-6,
        )
    with pytest.raises(ValueError, match="gaps must be positive, finite and increasing"):
        CouplerTable(
            gaps=table.gaps.flip(0),
            wavelengths=table.wavelengths,
            s_params=s,
            design_gap=2e-7,
            design_wavelength=1.55e-6,
        )


def test_cli_writes_a_loadable_table(tmp_path, capsys) -> None:
    """``wavebp coupler-table`` end to end with the supermode model (no Meep, ~3 s)."""
    import argparse

    from wavebp.cli import _coupler_table as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    out = tmp_path / "cmt"
    args = parser.parse_args(["--solver", "supermode", "--fast", "--out", str(out)])
    assert cli.run(args) == 0
    assert "wrote" in capsys.readouterr().out
    table = CouplerTable.load(out)
    assert table.metadata["solver"] == "supermode" and table.metadata["provisional"]
    assert table.gaps.numel() == 4 and table.wavelengths.numel() == 6
    # the model is exactly 50:50 at the design point and lossless
    assert abs(float(table.coupler_error(200 * NM, 1550 * NM))) < 1e-3
    power = np.sum(np.abs(table.s_params.numpy()) ** 2, axis=-2)
    np.testing.assert_allclose(power, 1.0, atol=1e-12)
    # an existing table is not replaced without --overwrite
    assert cli.run(args) == 2
    bad = parser.parse_args(
        ["--solver", "supermode", "--out", str(tmp_path / "x"), "--design-gap-nm", "400"]
    )
    assert cli.run(bad) == 2
    assert "design_gap must be in" in capsys.readouterr().err
