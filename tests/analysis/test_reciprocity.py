"""Reciprocity / time-reversal table: metrics, verdict rule, every engine's verdicts, the
time-reversal decay against its analytic rate, JSON and the figure.

Tolerances: complex128 S-matrices (mesh, TMM) are products of at most ~2N blocks, so their
rounding is ~1e-14: reciprocal/lossless residuals are asserted < 1e-12. The FDTD is a float64
leapfrog over ~400 steps (rounding ~1e-13 in the traces): < 1e-10 (VALIDATION.md). Physical
breaking is asserted as > 1e-2 (residuals) and > 0.1 (gradient cosine error, VALIDATION.md).
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.analysis.reciprocity import (
    COMPLEX128,
    FLOAT64_LEAPFROG,
    ReciprocityConfig,
    Tolerances,
    fdtd_damping_sweep,
    fdtd_rows,
    format_table,
    mesh_return_power,
    mesh_rows,
    optical_s_matrix,
    plot_reciprocity,
    reciprocity_residual,
    speed_modulation_available,
    swapped_residual,
    time_reversal_error,
    tmm_rows,
    unitarity_residual,
    verdict,
)
from wavebp.photonic import Mesh, MeshImperfections, haar_unitary

C128 = torch.complex128


# -- metrics and the rule -------------------------------------------------------------------


def test_metrics_on_known_matrices(generator):
    u = haar_unitary(5, generator=generator).to(C128)
    sym = u @ u.mT  # symmetric and unitary: a lossless reciprocal device
    assert reciprocity_residual(sym) < 1e-14
    assert unitarity_residual(sym) < 1e-14
    assert time_reversal_error(sym) < 1e-14  # conj(S) S = S^H S = I
    # a unitary that is not symmetric: lossless but non-reciprocal, time reversal fails
    assert reciprocity_residual(u) > 0.1
    assert unitarity_residual(u) < 1e-14
    assert time_reversal_error(u) > 0.1
    # a lossy reciprocal device: symmetric, returns eta^2 of the state
    eta = 0.9
    assert reciprocity_residual(eta * sym) < 1e-14
    assert unitarity_residual(eta * sym) == pytest.approx(1 - eta**2, rel=1e-12)
    assert time_reversal_error(eta * sym) == pytest.approx(1 - eta**2, rel=1e-12)
    y = torch.randn(50, dtype=torch.float64, generator=generator)
    assert swapped_residual(y, y) == 0.0
    assert swapped_residual(y, 2 * y) == pytest.approx(1.0)


def test_verdict_rule():
    tol = COMPLEX128
    assert verdict(1e-15, 1e-16, tol) == "pass"
    assert verdict(1e-15, 1e-3, tol) == "degraded"
    assert verdict(0.5, 1e-16, tol) == "fail"  # non-reciprocal: fails whatever the gradient
    assert verdict(0.5, 0.9, tol) == "fail"
    assert verdict(None, 0.1, tol) == "skipped"
    assert verdict(math.nan, 0.0, tol) == "fail"
    assert verdict(5e-11, 0.0, FLOAT64_LEAPFROG) == "pass"  # the leapfrog tolerance is looser
    assert verdict(5e-11, 0.0, COMPLEX128) == "fail"
    with pytest.raises(ValueError, match="gradient"):
        Tolerances(reciprocity=1e-12, gradient=0.0)


def test_public_functions_reject_bad_input():
    with pytest.raises(ValueError, match="square"):
        reciprocity_residual(torch.ones(2, 3, dtype=C128))
    with pytest.raises(ValueError, match="square"):
        time_reversal_error(torch.ones(3, dtype=C128))
    with pytest.raises(ValueError, match="same shape"):
        swapped_residual(torch.ones(5, dtype=torch.float64), torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="loss_db"):
        mesh_rows(loss_db=0.0)  # a "lossy" row without loss would contradict its verdict
    with pytest.raises(ValueError, match="faraday_phase"):
        mesh_rows(faraday_phase=0.0)
    with pytest.raises(ValueError, match="n_ports"):
        mesh_rows(n_ports=3)
    with pytest.raises(ValueError, match="dampings"):
        fdtd_damping_sweep((0.0, -1e-3))
    with pytest.raises(ValueError, match="k0"):
        fdtd_damping_sweep((0.0,), n_steps=50, k0=50)


def test_config_validation():
    cfg = ReciprocityConfig(engines=("fdtd", "mesh"))
    assert cfg.engines == ("mesh", "fdtd")  # canonical order
    with pytest.raises(ValueError, match="engines"):
        ReciprocityConfig(engines=("mesh", "comsol"))
    with pytest.raises(ValueError, match="engines"):
        ReciprocityConfig(engines=())
    with pytest.raises(ValueError, match="mesh_ports"):
        ReciprocityConfig(mesh_ports=2)
    with pytest.raises(ValueError, match="faraday_phase"):
        ReciprocityConfig(faraday_phase=0.0)
    with pytest.raises(ValueError, match="sweep_losses_db"):
        ReciprocityConfig(sweep_losses_db=(0.1, -1.0))


# -- mesh -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mesh_table():
    return {r.example.split()[0]: r for r in mesh_rows()}


def test_mesh_verdicts_and_magnitudes(mesh_table):
    lossless, lossy, faraday = mesh_table["lossless"], mesh_table["lossy"], mesh_table["Faraday"]
    assert [lossless.verdict, lossy.verdict, faraday.verdict] == ["pass", "degraded", "fail"]
    assert all(r.as_expected for r in mesh_table.values())
    # complex128: rounding of ~2N column products, < 1e-12
    assert lossless.reciprocity_residual < 1e-12
    assert lossless.unitarity_residual < 1e-12
    assert lossless.time_reversal_error < 1e-12
    assert lossless.gradient_cosine_error < 1e-12
    # loss keeps S symmetric but spoils time reversal and the in-situ gradient
    assert lossy.reciprocity_residual < 1e-12
    assert lossy.unitarity_residual is None
    assert 1e-3 < lossy.time_reversal_error < 0.5
    assert 1e-4 < lossy.gradient_cosine_error < 0.5
    # the returned power follows 10^(-2 L (N-1) / 10) to first order in L (5e-4 at 0.1 dB)
    assert lossy.details["return_power"] == pytest.approx(
        lossy.details["return_power_analytic"], rel=1e-2
    )
    # a Faraday element: lossless, yet S != S^T and the in-situ gradient points elsewhere
    assert faraday.unitarity_residual < 1e-12
    assert faraday.reciprocity_residual > 0.1
    assert faraday.time_reversal_error > 0.1
    assert faraday.gradient_cosine_error > 0.1


@pytest.mark.parametrize("loss_db", [0.05, 0.7, 3.0])
def test_single_mzi_round_trip_returns_exactly_the_analytic_power(loss_db, generator):
    # one MZI (N = 2): U = eta U0, so a phase-conjugated round trip returns eta^4 of the power
    mesh = Mesh(
        2,
        dtype=C128,
        generator=generator,
        imperfections=MeshImperfections(loss_db=loss_db),
    )
    with torch.no_grad():
        s = mesh.scattering_matrix()
    assert mesh_return_power(s) == pytest.approx(10 ** (-2 * loss_db / 10), rel=1e-12)
    assert time_reversal_error(s) == pytest.approx(1 - 10 ** (-loss_db / 10), rel=1e-12)


def test_mesh_round_trip_decays_at_the_mean_depth_rate(generator):
    # N ports: to first order P(L) = 10^(-2 L (N-1) / 10) (module docstring); the relative
    # error of the log is O(L) -- 3e-4 measured at 0.01 dB, asserted at 1e-2
    n, loss = 6, 0.01
    mesh = Mesh(n, dtype=C128, generator=generator, imperfections=MeshImperfections(loss_db=loss))
    with torch.no_grad():
        p = mesh_return_power(mesh.scattering_matrix())
    slope = math.log10(p) / loss
    assert slope == pytest.approx(-2 * (n - 1) / 10, rel=1e-2)


# -- TMM ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tmm_table():
    return tmm_rows()


def test_tmm_every_example_is_reciprocal_with_an_exact_adjoint(tmm_table):
    assert [r.verdict for r in tmm_table] == ["pass"] * 4
    for r in tmm_table:
        assert r.reciprocity_residual < 1e-12  # complex128 star products
        assert abs(r.gradient_cosine_error) < 1e-12
        if r.unitarity_residual is not None:
            assert r.unitarity_residual < 1e-12
            assert r.time_reversal_error < 1e-12
    absorbing = next(r for r in tmm_table if "absorbing" in r.example)
    # reciprocity holds in absorbing media, time reversal does not
    assert absorbing.unitarity_residual is None
    assert absorbing.time_reversal_error > 0.1
    assert absorbing.details["absorbed_fraction_from_incident_side"] > 0.05


@settings(max_examples=15, deadline=None)
@given(
    layers=st.lists(
        st.tuples(st.floats(1.2, 3.0), st.floats(0.0, 0.3), st.floats(10.0, 300.0)),
        min_size=1,
        max_size=4,
    ),
    exit_index=st.floats(1.0, 2.0),
    angle=st.floats(0.0, 1.2),
    polarization=st.sampled_from(["s", "p"]),
)
def test_optical_s_matrix_symmetric_for_any_passive_stack(layers, exit_index, angle, polarization):
    n = torch.tensor([1.0, *[complex(a, b) for a, b, _ in layers], exit_index], dtype=C128)
    d = torch.tensor([math.inf, *[c for _, _, c in layers], math.inf], dtype=torch.float64)
    s = optical_s_matrix(n, d, wavelength=600e-9, angle=angle, polarization=polarization)
    assert reciprocity_residual(s) < 1e-12
    lossless = all(b == 0.0 for _, b, _ in layers)
    if lossless:
        assert unitarity_residual(s) < 1e-12


# -- FDTD -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fdtd_table():
    return {r.example: r for r in fdtd_rows(fast=True)}


def test_fdtd_reciprocal_media_pass(fdtd_table):
    for name in (
        "1-D heterogeneous, lossless, closed box",
        "1-D heterogeneous, lossless, PML",
        "2-D heterogeneous, lossless, PML",
    ):
        r = fdtd_table[name]
        assert r.verdict == "pass", name
        assert r.reciprocity_residual < 1e-10  # float64 leapfrog
        assert r.gradient_cosine_error < 1e-12  # the replay is the discrete adjoint
    # flipping h and replaying returns the state exactly in a closed box...
    assert fdtd_table["1-D heterogeneous, lossless, closed box"].time_reversal_error < 1e-10
    for name in ("1-D heterogeneous, lossless, PML", "2-D heterogeneous, lossless, PML"):
        r = fdtd_table[name]
        assert r.details["time_reversal_error_closed_box"] < 1e-10
        # ...but not with a PML: what reached the absorber does not come back
        assert r.time_reversal_error > 0.5


def test_fdtd_damping_degrades_time_reversal_at_the_analytic_rate(fdtd_table):
    r = fdtd_table["1-D damped (gamma = 2e-3 /s), closed box"]
    assert r.verdict == "degraded"
    assert r.reciprocity_residual < 1e-10
    assert 1e-8 < r.gradient_cosine_error < 0.1
    # amplitude exp(-gamma T) after the round trip (energy exp(-gamma t) over 2T); the
    # equipartition assumption behind it holds to O(gamma / omega): 3e-4 measured
    assert r.time_reversal_error == pytest.approx(
        r.details["time_reversal_error_analytic"], rel=1e-2
    )


def test_fdtd_damping_sweep_follows_one_minus_exp():
    sweep = fdtd_damping_sweep((0.0, 1e-3, 1e-2), n_steps=300)
    assert sweep["time_reversal_error"][0] < 1e-10
    for got, want in zip(
        sweep["time_reversal_error"][1:], sweep["time_reversal_error_analytic"][1:], strict=True
    ):
        assert got == pytest.approx(want, rel=1e-2)
    g = sweep["gradient_cosine_error"]
    assert g[0] < 1e-12 < g[1] < g[2]  # the in-situ departure grows with the loss


def test_fdtd_time_modulated_media_fail(fdtd_table):
    # the engine has SpeedModulation: the rows must be measured, never the "skipped" fallback
    # (a skipped row counts as as_expected, so a lost modulation would otherwise go unseen)
    assert speed_modulation_available()
    for name in (
        "1-D travelling-wave modulation, closed box",
        "2-D travelling-wave modulation, PML",
    ):
        r = fdtd_table[name]
        assert r.verdict == "fail", name
        assert not r.reciprocal_medium and r.as_expected
        assert r.reciprocity_residual > 1e-2
        assert r.gradient_cosine_error > 0.1  # the replay runs the drive forward: wrong
        assert r.time_reversal_error > 0.1
        # control: with the drive reversed in time the replay is exact again (closed box)
        assert r.details["time_reversal_error_closed_box_reversed_drive"] < 1e-10


# -- table, JSON, figure --------------------------------------------------------------------


def test_table_json_and_figure(mesh_table, tmm_table, tmp_path):
    rows = [*mesh_table.values(), *tmm_table]
    text = format_table(rows)
    assert "recip.resid" in text and "verdict" in text
    for r in rows:
        assert r.example in text
    data = json.loads(json.dumps([r.to_json() for r in rows]))
    assert data[0]["verdict"] == "pass" and data[0]["as_expected"] is True
    sweeps = {
        "mesh": {
            "loss_db": [0.0, 0.1],
            "return_power": [1.0, 0.8],
            "return_power_analytic": [1.0, 0.79],
            "time_reversal_error": [0.0, 0.1],
            "gradient_cosine_error": [0.0, 0.05],
        }
    }
    path = plot_reciprocity(rows, sweeps, tmp_path / "fig.png")
    assert path.stat().st_size > 10_000
