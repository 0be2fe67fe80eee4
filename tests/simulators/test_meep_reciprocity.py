"""Reciprocity, time reversal and in-situ gradients in Meep (a magneto-optic slab and its
reciprocal twin) and Faraday rotation against its analytic value; run with ``-m meep``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytestmark = pytest.mark.meep

OMEGA = 2 * math.pi * 0.5  # the examples' angular frequency (c/a = 1 units)


@pytest.fixture(scope="module")
def twin() -> dict:
    from wavebp.simulators.meep import meep_reciprocity_example

    return meep_reciprocity_example(gyrotropic=False)


@pytest.fixture(scope="module")
def gyro() -> dict:
    from wavebp.simulators.meep import meep_reciprocity_example

    return meep_reciprocity_example(gyrotropic=True)


def _s_matrix(result: dict) -> np.ndarray:
    d = result["details"]
    return np.array(d["s_matrix_real"]) + 1j * np.array(d["s_matrix_imag"])


def test_contract_keys_and_json(twin: dict, gyro: dict) -> None:
    for res in (twin, gyro):
        json.dumps(res)  # JSON-able as returned
        for key in ("reciprocity_residual", "unitarity_residual", "gradient_cosine_error"):
            assert isinstance(res[key], float)
        assert isinstance(res["time_reversal_error"], float)
        assert isinstance(res["time_reversal_note"], str)
        assert res["frequency"] == 0.5
        assert res["resolution"] == 20  # fast default
        assert 0 < res["runtime_s"] < 120
    assert twin["details"]["bias"] == 0.0
    assert gyro["details"]["bias"] > 0.0


def test_reciprocal_twin_passes(twin: dict) -> None:
    s = _s_matrix(twin)
    # the check is not trivial: the wave plate couples x and y, and the two sides reflect
    # differently (the device is not mirror symmetric; losslessness makes the reflected
    # powers nearly equal, the phases differ)
    assert abs(s[3, 0]) > 0.05
    assert abs(s[0, 0] - s[2, 2]) > 0.05
    # Meep's leapfrog with a symmetric permittivity is reciprocal step by step, so the
    # swapped-source DFTs agree to float64 rounding accumulated over ~3200 steps (~1e-13);
    # measured ~1e-15. 1e-9 leaves a wide margin and is 9 orders below the gyrotropic slab.
    assert twin["reciprocity_residual"] < 1e-9
    # lossless: the floor is the PML's discrete reflection (~1e-6 in amplitude; an empty
    # cell already shows ~3e-6) and the DFT truncation (fields ~1e-7 at the end); measured
    # ~8e-6 at resolution 20
    assert twin["unitarity_residual"] < 1e-4
    # lossless and reciprocal: phase conjugation returns the input, conj(S) S = S^H S = I,
    # to the same floor (plus the ~1e-6 negative-frequency tail of Meep's truncated Gaussian
    # in the complex-amplitude run)
    assert twin["time_reversal_error"] < 1e-4
    assert twin["details"]["time_reversal_linearity"] < 1e-4


def test_reciprocal_twin_insitu_gradient_matches_finite_differences(twin: dict) -> None:
    d = twin["details"]
    # the replayed adjoint is the exact gradient of the discrete model; the reference is a
    # central difference with step 1e-3 (truncation ~1e-6 relative) of DFTs truncated at
    # ~1e-7: a relative error delta ~1e-5 gives a cosine error ~delta^2/2 ~ 1e-10 (measured
    # ~1e-9); 1e-6 allows delta ~ 1e-3
    assert twin["gradient_cosine_error"] < 1e-6
    # the overall scale carries real, positive Yee factors (omega~ / omega and the discrete
    # Green's function of the source sheet), 1 + O((k dx)^2) with k dx <= 0.27 here: within
    # 1 % (measured 0.997)
    assert d["gradient_scale_ratio"] == pytest.approx(1.0, abs=1e-2)
    assert d["gradient_cosine_error_copolarised"] < 1e-6
    # not a trivial gradient: all four segments matter
    g = np.array(d["gradient_fd"])
    assert np.all(np.abs(g) > 1e-2 * np.abs(g).max())


def test_gyrotropic_slab_breaks_reciprocity(gyro: dict) -> None:
    d = gyro["details"]
    theta = d["faraday_rotation_single_pass_rad"]
    assert abs(math.degrees(theta)) > 20
    # Faraday rotation turns both directions the same way in the lab frame, S_RL ~ t R(theta)
    # and S_LR ~ t R(theta), so each off-diagonal block of S - S^T is ~ t (R(theta) -
    # R(-theta)) with Frobenius norm 2 sqrt(2) |t sin(theta)|; over ||S||_F = 2 (unitary 4x4)
    # that is ~ 2 |t sin(theta)|. |t| ~ 1 up to the interfaces' reflections (|r|^2 ~ 5 %)
    # and the wave plate's mixing: allow 0.1.
    assert gyro["reciprocity_residual"] == pytest.approx(2 * abs(math.sin(theta)), abs=0.1)
    assert gyro["reciprocity_residual"] > 0.5
    # still lossless (gamma = 0, Hermitian permittivity): non-reciprocal but unitary
    assert gyro["unitarity_residual"] < 1e-4
    # so phase conjugation does not return the input: conj(S) S != S^H S = I
    assert gyro["time_reversal_error"] > 0.5
    assert gyro["time_reversal_error"] == pytest.approx(d["time_reversal_error_from_s"], abs=1e-4)


def test_gyrotropic_insitu_gradient_is_wrong_but_reversed_bias_adjoint_is_exact(
    gyro: dict,
) -> None:
    d = gyro["details"]
    # the replayed adjoint in the same medium uses G(z, z_r) where the gradient needs
    # G(z_r, z)^T: wrong by far more than the 0.1 of VALIDATION.md
    assert gyro["gradient_cosine_error"] > 0.1
    # the true adjoint medium is epsilon^T = the bias reversed: exact again, to the same
    # floor as the twin (so the failure above is the physics, not the numerics)
    assert d["gradient_cosine_error_exact_adjoint"] < 1e-6
    assert d["gradient_cosine_error_copolarised_exact_adjoint"] < 1e-6


@pytest.fixture(scope="module")
def weak() -> dict:
    from wavebp.simulators.meep import meep_faraday_rotation

    # weak gyrotropy: eta / eps_perp ~ 2e-3, rotation ~0.6 deg
    return {
        "fwd20": meep_faraday_rotation(bias=0.02, resolution=20),
        "fwd40": meep_faraday_rotation(bias=0.02, resolution=40),
        "bwd20": meep_faraday_rotation(bias=0.02, resolution=20, direction=-1),
        "neg20": meep_faraday_rotation(bias=-0.02, resolution=20),
    }


def _weak_gyrotropy_rotation(eps_perp: float, eta: float, thickness: float) -> float:
    # circular eigenwaves e_pm = (x +- i y)/sqrt(2) see eps_perp +- eta; their phases differ
    # by omega (n_+ - n_-) L, and a linear polarisation turns by half of it, clockwise about
    # +z for eta > 0: theta = -(omega/2)(n_+ - n_-) L ~ -omega eta L / (2 sqrt(eps_perp))
    return -OMEGA * eta * thickness / (2 * math.sqrt(eps_perp))


def _meep_permittivity(f: float, b: float) -> tuple[float, float]:
    # Meep's gyrotropic Lorentzian (Materials docs), eps_inf 1.5, f0 1.5, sigma 1, gamma 0
    f0, sigma = 1.5, 1.0
    delta = f0**2 - f**2
    den = delta**2 - (f * b) ** 2
    return 1.5 + sigma * f0**2 * delta / den, sigma * f0**2 * f * b / den


def _dispersion_error(eps_perp: float, resolution: int) -> float:
    # Yee dispersion at Courant 0.5: sin(k~ dx / 2) = n dx omega~ / 2, so
    # d k~ / dn ~ omega (1 + (n omega dx)^2 / 8): the relative error of the rotation
    return (math.sqrt(eps_perp) * OMEGA / resolution) ** 2 / 8


def test_permittivity_formula_matches_meep_docs() -> None:
    from wavebp.simulators.meep import gyrotropic_lorentzian_permittivity

    for b in (0.0, 0.02, -0.9):
        eps, eta = gyrotropic_lorentzian_permittivity(
            frequency=0.5, eps_inf=1.5, resonance=1.5, sigma=1.0, bias=b
        )
        ref = _meep_permittivity(0.5, b)
        assert eps == pytest.approx(ref[0], rel=1e-14)
        assert eta == pytest.approx(ref[1], rel=1e-14, abs=1e-16)
    # damping makes it passive (Im eps_perp > 0 for exp(-i omega t)); b -> -b flips eta
    eps, eta = gyrotropic_lorentzian_permittivity(
        frequency=0.5, eps_inf=1.5, resonance=1.5, sigma=1.0, bias=0.3, gamma=0.05
    )
    _, eta_neg = gyrotropic_lorentzian_permittivity(
        frequency=0.5, eps_inf=1.5, resonance=1.5, sigma=1.0, bias=-0.3, gamma=0.05
    )
    assert eps.imag > 0
    assert eta_neg == pytest.approx(-eta, rel=1e-14)
    with pytest.raises(ValueError, match="gamma"):
        gyrotropic_lorentzian_permittivity(
            frequency=0.5, eps_inf=1.5, resonance=1.5, sigma=1.0, bias=0.3, gamma=-1.0
        )


def test_faraday_rotation_weak_gyrotropy_matches_analytic(weak: dict) -> None:
    r = weak["fwd20"]
    eps, eta = _meep_permittivity(0.5, 0.02)
    assert r["eps_perp"] == pytest.approx(eps, rel=1e-12)
    expected = _weak_gyrotropy_rotation(eps, eta, 2.0)
    assert expected < 0  # sense fixed by the bias (clockwise about +z for b > 0)
    # in the index-matched background the interfaces reflect ~eta / (4 eps) ~ 5e-4, so
    # multiple passes change the angle by O(1e-7 rel); the linearisation in eta costs
    # (eta / eps)^2 / 8 ~ 1e-6 rel. What remains is Yee dispersion, which lengthens the
    # phase: 0 < error < 2x its estimate (n omega dx)^2 / 8 ~ 0.8 % (measured 0.68 %)
    err = r["theta_rad"] / expected - 1
    assert 0 < err < 2 * _dispersion_error(eps, 20)
    assert abs(r["circular_ratio"] - 1) < 1e-4  # still linear: a pure rotation


def test_faraday_rotation_converges_second_order(weak: dict) -> None:
    eps, eta = _meep_permittivity(0.5, 0.02)
    expected = _weak_gyrotropy_rotation(eps, eta, 2.0)
    e20 = weak["fwd20"]["theta_rad"] / expected - 1
    e40 = weak["fwd40"]["theta_rad"] / expected - 1
    # Yee is second order: halving dx divides the error by ~4 (measured 4.04); a first-order
    # error (e.g. a slab face on a grid point) would give ~2
    assert 3.0 < e20 / e40 < 5.0


def test_faraday_rotation_is_nonreciprocal(weak: dict) -> None:
    fwd, bwd, neg = weak["fwd20"], weak["bwd20"], weak["neg20"]
    # propagating along -z, the polarisation turns the same way in the lab frame (an
    # optically active, reciprocal medium would turn it back): equal to rounding, because
    # the isotropic background adds the same phase to both circular components
    assert bwd["theta_rad"] == pytest.approx(fwd["theta_rad"], rel=1e-9)
    # and the bias alone sets the sense
    assert neg["theta_rad"] == pytest.approx(-fwd["theta_rad"], rel=1e-9)


def test_faraday_rotation_strong_bias_matches_exact() -> None:
    from wavebp.simulators.meep import meep_faraday_rotation

    r = meep_faraday_rotation(bias=0.9, resolution=20)
    eps, eta = _meep_permittivity(0.5, 0.9)
    exact = -(OMEGA / 2) * (math.sqrt(eps + eta) - math.sqrt(eps - eta)) * 2.0
    assert abs(math.degrees(exact)) > 25
    # the example's slab: exact circular-eigenwave formula; the interfaces now reflect
    # ~eta / (4 eps) ~ 2.5 %, changing the angle by ~|r|^2 ~ 1e-3 rad at most, below the Yee
    # dispersion ~0.8 % (measured 0.66 %)
    assert abs(r["theta_rad"] / exact - 1) < 2 * _dispersion_error(eps, 20)


def test_bad_arguments() -> None:
    from wavebp.simulators.meep import meep_faraday_rotation, meep_reciprocity_example

    with pytest.raises(ValueError, match="resolution"):
        meep_reciprocity_example(gyrotropic=True, resolution=4)
    with pytest.raises(ValueError, match="bias"):
        meep_faraday_rotation(bias=2.0)
    with pytest.raises(ValueError, match="frequency"):
        meep_faraday_rotation(bias=0.1, frequency=1.2)
    with pytest.raises(ValueError, match="direction"):
        meep_faraday_rotation(bias=0.1, direction=0)
