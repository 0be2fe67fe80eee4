"""Closed-form checks of the layered-media engine (VALIDATION.md, "Layered media")."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.simulators.tmm import coherent

C128 = torch.complex128
F64 = torch.float64
NM = 1e-9


def stack(indices, thicknesses_nm):
    n = torch.tensor(indices, dtype=C128)
    d = torch.tensor([math.inf, *[x * NM for x in thicknesses_nm], math.inf], dtype=F64)
    return n, d


def test_fresnel_normal_incidence():
    n, d = stack([1.0, 1.5], [])
    res = coherent(n, d, 500 * NM)
    # ((1 - 1.5)/(1 + 1.5))^2 = 0.04 exactly; rounding only (float64)
    assert abs(res.R.item() - 0.04) < 1e-15
    assert abs(res.T.item() - 0.96) < 1e-15
    assert abs(res.r.item() - (-0.2)) < 1e-15


def test_normal_incidence_s_and_p_agree_up_to_byrnes_sign():
    n, d = stack([1.0, 2.0 + 0.1j, 1.5], [120.0])
    s = coherent(n, d, 600 * NM, polarization="s")
    p = coherent(n, d, 600 * NM, polarization="p")
    # Byrnes' p convention: r_p = -r_s at normal incidence, t_p = t_s
    assert abs(s.r.item() + p.r.item()) < 1e-15
    assert abs(s.t.item() - p.t.item()) < 1e-15


def test_brewster_angle_p_reflection_vanishes():
    n1, n2 = 1.0, 1.5
    n, d = stack([n1, n2], [])
    res = coherent(n, d, 500 * NM, angle=math.atan(n2 / n1), polarization="p")
    assert res.R.item() < 1e-14
    s = coherent(n, d, 500 * NM, angle=math.atan(n2 / n1), polarization="s")
    assert s.R.item() > 0.1  # s is reflected at Brewster's angle: the check can fail


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_total_internal_reflection(polarization):
    n, d = stack([1.5, 1.0], [])
    critical = math.asin(1.0 / 1.5)
    angles = torch.linspace(critical + 1e-3, 1.5, 7, dtype=F64)
    res = coherent(n, d, 500 * NM, angle=angles, polarization=polarization)
    # |r| = 1 exactly in exact arithmetic; rounding of a few complex operations
    assert torch.allclose(res.R, torch.ones_like(res.R), atol=1e-14, rtol=0)
    assert res.T.abs().max().item() < 1e-14
    below = coherent(n, d, 500 * NM, angle=critical - 0.05, polarization=polarization)
    assert below.R.item() < 0.5


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_fabry_perot_slab(polarization):
    n_slab, thickness, angle = 2.2, 850 * NM, 0.4
    n, d = stack([1.0, n_slab, 1.0], [thickness / NM])
    wl = torch.linspace(400 * NM, 900 * NM, 101, dtype=F64)
    res = coherent(n, d, wl, angle=angle, polarization=polarization)
    single = coherent(
        torch.tensor([1.0, n_slab], dtype=C128),
        d[:2],
        wl[:1],
        angle=angle,
        polarization=polarization,
    )
    refl = single.R.item()
    cos_t = math.sqrt(1 - (math.sin(angle) / n_slab) ** 2)
    delta = 4 * math.pi * n_slab * thickness * cos_t / wl
    finesse = 4 * refl / (1 - refl) ** 2
    expected = 1 / (1 + finesse * torch.sin(delta / 2) ** 2)
    assert torch.allclose(res.T, expected, atol=1e-13, rtol=0)  # float64 closed form
    assert res.T.max().item() > 0.999 and res.T.min().item() < 0.9  # fringes resolved


def test_quarter_wave_bragg_mirror():
    n_h, n_l, n_s, n_0, pairs, lam0 = 2.35, 1.46, 1.52, 1.0, 8, 600 * NM
    indices = [n_0] + [n_h, n_l] * pairs + [n_s]
    thick = [lam0 / 4 / n_h / NM, lam0 / 4 / n_l / NM] * pairs
    n, d = stack(indices, thick)
    res = coherent(n, d, lam0)
    y = (n_h / n_l) ** (2 * pairs) * n_s
    expected = ((n_0 - y) / (n_0 + y)) ** 2
    assert abs(res.R.item() - expected) < 1e-13  # R ~ 0.9999; float64 rounding over 16 layers
    assert abs(res.R.item() + res.T.item() - 1) < 1e-13


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_lossless_energy_conservation(polarization, generator):
    n_media = 12
    n = 1 + 1.5 * torch.rand(5, n_media, generator=generator, dtype=F64)
    d = 300 * NM * torch.rand(5, n_media, generator=generator, dtype=F64)
    wl = torch.linspace(400 * NM, 800 * NM, 9, dtype=F64).reshape(9, 1)
    angle = torch.linspace(0, 1.3, 4, dtype=F64).reshape(4, 1, 1)
    res = coherent(n.to(C128), d, wl, angle=angle, polarization=polarization)
    assert res.R.shape == (4, 9, 5)
    assert (res.R + res.T - 1).abs().max().item() < 1e-12


def test_absorbing_stack_absorbs(generator):
    n_media = 10
    n = (1 + torch.rand(6, n_media, generator=generator, dtype=F64)) + 1j * 0.3 * torch.rand(
        6, n_media, generator=generator, dtype=F64
    )
    n[:, 0] = 1.0
    d = 200 * NM * torch.rand(n_media, generator=generator, dtype=F64)
    res = coherent(
        n,
        d,
        torch.linspace(400 * NM, 800 * NM, 5, dtype=F64).unsqueeze(-1),
        angle=0.3,
        polarization="p",
    )
    assert res.A.min().item() >= -1e-14
    assert res.A.max().item() > 0.05  # the check can fail: there is absorption


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_reciprocity_lossy_asymmetric(polarization, generator):
    n_media = 7
    n = (1.2 + torch.rand(n_media, generator=generator, dtype=F64)) + 1j * 0.2 * torch.rand(
        n_media, generator=generator, dtype=F64
    )
    n[0], n[-1] = 1.0, 1.7  # lossless, different incident and exit media
    d = torch.cat(
        [
            torch.tensor([math.inf]),
            250 * NM * torch.rand(n_media - 2, generator=generator, dtype=F64),
            torch.tensor([math.inf]),
        ]
    )
    angle = torch.tensor([0.0, 0.3, 0.7], dtype=F64)
    wl = 550 * NM
    fw = coherent(n, d, wl, angle=angle, polarization=polarization)
    exit_angle = torch.asin(n[0].real * torch.sin(angle) / n[-1].real)  # same lateral k
    bw = coherent(n.flip(0), d.flip(0), wl, angle=exit_angle, polarization=polarization)
    eta_in = n[0] * torch.cos(angle)
    eta_out = n[-1] * torch.cos(exit_angle)
    # reciprocity: n_f cos(th_f) t_fw = n_i cos(th_i) t_bw (both polarisations, Byrnes' t)
    assert (eta_out * fw.t - eta_in * bw.t).abs().max().item() < 1e-14
    assert torch.allclose(fw.T, bw.T, atol=1e-14, rtol=0)
    assert (fw.R - bw.R).abs().min().item() > 1e-3  # R differs in a lossy asymmetric stack


def test_reciprocity_same_media_amplitudes_equal(generator):
    n = torch.tensor([1.3, 2.0 + 0.4j, 1.5 + 0.05j, 2.4 + 0.2j, 1.3], dtype=C128)
    d = torch.tensor([0.0, 90 * NM, 130 * NM, 40 * NM, 0.0], dtype=F64)
    fw = coherent(n, d, 633 * NM, angle=0.5)
    bw = coherent(n.flip(0), d.flip(0), 633 * NM, angle=0.5)
    assert abs(fw.t.item() - bw.t.item()) < 1e-15
    assert abs(fw.R.item() - bw.R.item()) > 1e-2


@pytest.mark.parametrize("gradient", ["autograd", "adjoint"])
def test_stability_thick_absorbing_layers(gradient):
    lam = 1e-6
    n_layers = 50
    n = torch.tensor([1.0] + [1.5 + 0.5j, 2.0 + 0.5j] * (n_layers // 2) + [1.5], dtype=C128)
    d = torch.full((n_layers + 2,), 10 * lam, dtype=F64).requires_grad_()
    res = coherent(n, d, lam, angle=0.2, gradient=gradient)
    assert torch.isfinite(res.r) and torch.isfinite(res.t)
    assert res.T.item() < 1e-300  # exp(-2 * 2 pi k 10) per layer: underflows, T ~ 0
    assert 0 < res.R.item() < 1
    # the reflection equals that of the first interface plus one absorbing layer (~ same)
    (grad,) = torch.autograd.grad(res.R, d)
    assert torch.isfinite(grad).all()
