"""Gradients: adjoint-field Function vs autograd vs central finite differences (complex128)."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.simulators.tmm import TMMAdjoint, acoustic, coherent

C128 = torch.complex128
F64 = torch.float64
NM = 1e-9


def _first_two(*args):
    r, t, _ = TMMAdjoint.apply(*args)
    return r, t


def test_adjoint_function_gradcheck(generator):
    n_media, batch = 6, 3
    eta = (1 + torch.rand(n_media, batch, generator=generator, dtype=F64)) + 0.2j * torch.rand(
        n_media, batch, generator=generator, dtype=F64
    )
    kd = 3 * torch.rand(n_media - 2, batch, generator=generator, dtype=F64)
    slow = (1 + torch.rand(n_media - 2, batch, generator=generator, dtype=F64)) + 0.1j * torch.rand(
        n_media - 2, batch, generator=generator, dtype=F64
    )
    inputs = tuple(x.requires_grad_() for x in (eta, kd, slow))
    assert torch.autograd.gradcheck(_first_two, inputs)


def test_adjoint_function_gradcheck_broadcast_and_two_media(generator):
    eta = (1 + torch.rand(2, 1, generator=generator, dtype=F64)).to(C128).requires_grad_()
    kd = torch.zeros(0, 4, dtype=F64, requires_grad=True)
    slow = torch.zeros(0, 1, dtype=C128, requires_grad=True)
    assert torch.autograd.gradcheck(_first_two, (eta, kd, slow))
    eta3 = (1 + torch.rand(4, 1, generator=generator, dtype=F64)).to(C128).requires_grad_()
    kd3 = torch.rand(2, 5, generator=generator, dtype=F64).requires_grad_()
    slow3 = (1 + torch.rand(2, 1, generator=generator, dtype=F64)).to(C128).requires_grad_()
    assert torch.autograd.gradcheck(_first_two, (eta3, kd3, slow3))


def _problem(generator):
    n = (1.2 + torch.rand(7, generator=generator, dtype=F64)) + 0.15j * torch.rand(
        7, generator=generator, dtype=F64
    )
    n[0] = 1.1
    d = torch.cat(
        [
            torch.tensor([math.inf]),
            200 * NM * torch.rand(5, generator=generator, dtype=F64),
            torch.tensor([math.inf]),
        ]
    )
    wl = torch.tensor([450.0, 520.0, 610.0, 700.0], dtype=F64).unsqueeze(-1) * NM
    angle = torch.tensor([0.1, 0.6, 1.1], dtype=F64)
    weights = torch.rand(4, 3, generator=generator, dtype=F64)
    return n, d, wl, angle, weights


def _loss(n, d, wl, angle, weights, polarization, gradient):
    res = coherent(n, d, wl, angle=angle, polarization=polarization, gradient=gradient)
    return (weights * res.R).sum() + (res.t.real * weights).sum() - res.T.sum() + res.r.imag.sum()


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_adjoint_equals_autograd_and_finite_differences(polarization, generator):
    n, d, wl, angle, weights = _problem(generator)
    grads = {}
    for gradient in ("autograd", "adjoint"):
        leaves = [x.clone().requires_grad_() for x in (n, d, wl, angle)]
        loss = _loss(*leaves, weights, polarization, gradient)
        grads[gradient] = torch.autograd.grad(loss, leaves)
    for g_auto, g_adj in zip(grads["autograd"], grads["adjoint"], strict=True):
        # same quantity by two exact routes in float64: agreement to rounding
        scale = g_auto.abs().max().item()
        assert (g_auto - g_adj).abs().max().item() <= 1e-12 * scale
    # central finite differences (step h: truncation ~h^2 f''' ~1e-9 relative)
    g_n, g_d, g_wl, g_angle = grads["adjoint"]

    def f(n_, d_, wl_, angle_):
        with torch.no_grad():
            return _loss(n_, d_, wl_, angle_, weights, polarization, "autograd").item()

    for j in (1, 3, 6):
        h = 1e-6
        for direction, component in ((1.0, g_n[j].real), (1j, g_n[j].imag)):
            plus, minus = n.clone(), n.clone()
            plus[j] += h * direction
            minus[j] -= h * direction
            fd = (f(plus, d, wl, angle) - f(minus, d, wl, angle)) / (2 * h)
            assert abs(fd - component.item()) < 1e-7 * max(1.0, abs(fd))
    for j in (1, 4):
        h = 1e-12  # m
        plus, minus = d.clone(), d.clone()
        plus[j] += h
        minus[j] -= h
        fd = (f(n, plus, wl, angle) - f(n, minus, wl, angle)) / (2 * h)
        assert abs(fd - g_d[j].item()) < 1e-6 * abs(fd)
    h = 1e-15  # m
    plus, minus = wl.clone(), wl.clone()
    plus[2] += h
    minus[2] -= h
    fd = (f(n, d, plus, angle) - f(n, d, minus, angle)) / (2 * h)
    assert abs(fd - g_wl[2].item()) < 1e-6 * abs(fd)
    h = 1e-6
    plus, minus = angle.clone(), angle.clone()
    plus[1] += h
    minus[1] -= h
    fd = (f(n, d, wl, plus) - f(n, d, wl, minus)) / (2 * h)
    assert abs(fd - g_angle[1].item()) < 1e-7 * max(1.0, abs(fd))
    assert g_d[0].item() == 0 and g_d[-1].item() == 0  # semi-infinite ends ignored


def test_acoustic_adjoint_equals_autograd(generator):
    rho = torch.tensor([1000.0, 1800.0, 1200.0, 2500.0, 1.2], dtype=F64)
    speed = torch.tensor([1480.0, 2600.0 - 30j, 1900.0 - 10j, 3000.0, 343.0], dtype=C128)
    thick = torch.tensor([0.0, 3e-3, 5e-3, 2e-3, 0.0], dtype=F64)
    freq = torch.linspace(50e3, 300e3, 6, dtype=F64)
    grads = {}
    for gradient in ("autograd", "adjoint"):
        leaves = [x.clone().requires_grad_() for x in (rho, speed, thick)]
        res = acoustic(*leaves, freq, gradient=gradient)
        loss = (res.T * torch.arange(6, dtype=F64)).sum() + res.r.real.sum()
        grads[gradient] = torch.autograd.grad(loss, leaves)
    for g_auto, g_adj in zip(grads["autograd"], grads["adjoint"], strict=True):
        assert (g_auto - g_adj).abs().max().item() <= 1e-12 * g_auto.abs().max().item()


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_chunked_adjoint_equals_unchunked_autograd(polarization, generator):
    n, d, wl, angle, weights = _problem(generator)
    grads = []
    for gradient, chunk in (("autograd", None), ("adjoint", 2), ("autograd", 5)):
        leaves = [x.clone().requires_grad_() for x in (n, d, wl, angle)]
        res = coherent(
            *leaves[:3],
            angle=leaves[3],
            polarization=polarization,
            gradient=gradient,
            chunk_size=chunk,
        )
        loss = (weights * res.R).sum() + (res.t.imag * weights).sum()
        grads.append(torch.autograd.grad(loss, leaves))
    for ref, *others in zip(*grads, strict=True):
        for other in others:
            assert (ref - other).abs().max().item() <= 1e-12 * ref.abs().max().item()


def test_loss_of_t_only_and_of_r_only_use_one_injection(generator):
    n, d, wl, angle, _ = _problem(generator)
    for pick in ("r", "t"):
        grads = []
        for gradient in ("autograd", "adjoint"):
            leaf = d.clone().requires_grad_()
            res = coherent(n, leaf, wl, angle=angle, gradient=gradient)
            out = res.r if pick == "r" else res.t
            (g,) = torch.autograd.grad((out.real * out.imag).sum(), leaf)
            grads.append(g)
        assert (grads[0] - grads[1]).abs().max().item() <= 1e-12 * grads[0].abs().max().item()
