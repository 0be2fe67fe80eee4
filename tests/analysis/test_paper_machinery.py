"""The measuring machinery behind ``wavebp paper`` (analytic and cross-checks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wavebp.analysis.paper import (
    ClaimResult,
    ResidualMLP,
    SubClaim,
    average_gradient_outer_product,
    decoupled_dataset,
    fourier_fraction,
    gaussian_expectation,
    harmonic_amplitudes,
    mean_ci,
    mean_field_chi,
    mean_field_length,
    monte_carlo_chi,
    path_length_counts,
    path_length_gradients,
    principal_subspace,
    propagate_error_wave,
    subspace_overlap,
    total_harmonic_distortion,
)
from wavebp.analysis.paper._common import make_mlp


def test_gaussian_expectation_moments():
    # Gauss-Hermite with 201 nodes integrates polynomials of degree < 402 exactly
    assert gaussian_expectation(lambda h: h**2, 2.5) == pytest.approx(2.5, rel=1e-12)
    assert gaussian_expectation(lambda h: h**4, 2.5) == pytest.approx(3 * 2.5**2, rel=1e-12)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("q", [0.3, 2.0])
def test_mean_field_chi_matches_monte_carlo(act, q, generator):
    n = 400_000
    mc = monte_carlo_chi(act, sigma_w=1.7, q=q, n_samples=n, generator=generator)
    exact = mean_field_chi(act, sigma_w=1.7, q=q)
    # phi'^2 is bounded by 1, so the Monte-Carlo standard error is < 1.7^2 / sqrt(n) ~ 5e-3;
    # 5 standard errors leaves a false-failure chance < 1e-6
    assert mc == pytest.approx(exact, abs=5 * 1.7**2 / math.sqrt(n))


def test_relu_mean_field_closed_form():
    assert mean_field_chi("relu", sigma_w=math.sqrt(2.0), q=0.7) == pytest.approx(1.0)
    q = mean_field_length("relu", sigma_w=math.sqrt(2.0), q0=1.3, n_layers=5)
    np.testing.assert_allclose(q, 1.3)  # He init preserves the length exactly


def test_error_wave_is_the_autograd_gradient(generator):
    ws = [torch.randn(6, 6, generator=generator, dtype=torch.float64) for _ in range(4)]
    x0 = torch.randn(3, 6, generator=generator, dtype=torch.float64)
    g1 = torch.Generator().manual_seed(7)
    out = propagate_error_wave(x0, ws, activation="tanh", generator=g1)
    # the same delta_L from the same generator state, via autograd on h_1
    g2 = torch.Generator().manual_seed(7)
    h1 = (x0 @ ws[0].T).requires_grad_(True)
    h = h1
    for w in ws[1:]:
        h = torch.tanh(h) @ w.T
    u = torch.randn(h.shape, generator=g2, dtype=torch.float64)
    (torch.tanh(h) * u).sum().backward()
    assert out["error"][0] == pytest.approx(float(h1.grad.pow(2).sum()), rel=1e-12)


@pytest.mark.parametrize("n", [0, 1, 5, 10])
def test_path_lengths_are_binomial(n):
    np.testing.assert_array_equal(path_length_counts(n), [math.comb(n, k) for k in range(n + 1)])


def test_path_sums_identity_and_full_gradient(generator):
    n, w = 6, 4
    g = torch.randn(2, w, generator=generator, dtype=torch.float64)
    eye = [torch.eye(w, dtype=torch.float64).expand(2, w, w) for _ in range(n)]
    u = path_length_gradients(eye, g)
    for k in range(n + 1):  # identity branches: every path carries g, C(n, k) of them
        torch.testing.assert_close(u[k], math.comb(n, k) * g)
    jac = [0.3 * torch.randn(2, w, w, generator=generator, dtype=torch.float64) for _ in range(n)]
    full = g
    for j in reversed(jac):  # g^T (I + J_n) ... (I + J_1)
        full = full + (j.mT @ full.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(path_length_gradients(jac, g).sum(0), full)


def test_resnet_block_jacobians_match_autograd(generator):
    net = ResidualMLP(n_in=5, width=4, n_out=3, n_blocks=3, skip=True, generator=generator)
    x = torch.randn(2, 5, generator=generator)
    jac = net.block_jacobians(x)
    feats = net.features(x)
    x1 = feats[1].detach().requires_grad_(True)
    y = net.b[1](torch.relu(net.a[1](x1)))
    for i in range(4):
        (row,) = torch.autograd.grad(y[0, i], x1, retain_graph=True)
        torch.testing.assert_close(row[0], jac[1][0, i])


def test_linear_network_generates_no_harmonics(generator):
    net = make_mlp([3, 8, 8, 2], activation="identity", generator=generator, dtype=torch.float64)
    x = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    d = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    thd = total_harmonic_distortion(harmonic_amplitudes(net, x, d, amplitude=0.7))
    # an affine map of a pure tone is a pure tone; a 64-point float64 DFT leaves ~1e-16
    assert float(thd.max()) < 1e-12


def test_quadratic_harmonics_analytic():
    # (x_b + a cos t)^2 = x_b^2 + a^2/2 + 2 x_b a cos t + (a^2/2) cos 2t: THD = a / (4 x_b)
    x = torch.tensor([[2.0]], dtype=torch.float64)
    d = torch.tensor([[1.0]], dtype=torch.float64)
    amps = harmonic_amplitudes(lambda z: z**2, x, d, amplitude=0.5)
    assert float(total_harmonic_distortion(amps)[0]) == pytest.approx(0.5 / 8, rel=1e-12)
    assert float(amps[0, 3:].abs().max()) < 1e-14


def test_subspace_overlap_and_decoupled_set(generator):
    q, _ = torch.linalg.qr(torch.randn(10, 10, generator=generator, dtype=torch.float64))
    assert subspace_overlap(q[:, :3], q[:, :3]) == pytest.approx(1.0)
    assert subspace_overlap(q[:, :3], q[:, 3:6]) == pytest.approx(0.0, abs=1e-14)
    x, y, pcs, lab = decoupled_dataset(n=4000, generator=generator, dtype=torch.float64)
    assert subspace_overlap(pcs, lab) == pytest.approx(0.0, abs=1e-14)
    assert subspace_overlap(principal_subspace(x, 2), pcs) > 0.95
    assert set(y.tolist()) == {0, 1, 2}


def test_agop_of_linear_map_is_wtw(generator):
    net = make_mlp([4, 3], activation="identity", generator=generator, dtype=torch.float64)
    x = torch.randn(7, 4, generator=generator, dtype=torch.float64)
    w = net[0].weight.detach()
    torch.testing.assert_close(average_gradient_outer_product(net, x), w.T @ w)


def test_fourier_fraction():
    grid = torch.arange(64, dtype=torch.float64) / 64
    target = torch.sin(2 * math.pi * 3 * grid) + torch.cos(2 * math.pi * 5 * grid)
    residual = 0.5 * torch.sin(2 * math.pi * 3 * grid)
    np.testing.assert_allclose(fourier_fraction(residual, target, [3, 5]), [0.5, 0.0], atol=1e-13)


def test_mean_ci_and_result_validation():
    m, _, hi = mean_ci([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.3027, sem = 1 / sqrt(3)
    assert (m, hi - m) == pytest.approx((2.0, 4.302653 / math.sqrt(3)), rel=1e-6)
    assert mean_ci([1.0])[1] == -math.inf
    with pytest.raises(ValueError, match="verdict"):
        SubClaim(name="a", claim="", test="", rule="", verdict="maybe")
    s = SubClaim(name="a", claim="", test="", rule="", verdict="refuted")
    with pytest.raises(ValueError, match="headline"):
        ClaimResult(number=1, title="t", headline="b", sub_claims=(s,))
    assert ClaimResult(number=1, title="t", headline="a", sub_claims=(s,)).verdict == "refuted"
