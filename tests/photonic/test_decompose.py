"""Clements / Reck decompositions: round trips, conventions, edge cases, input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.devices import mzi
from wavebp.photonic._decompose import (
    _mzi_np,
    commute_mzi_through_phases,
    decompose,
)
from wavebp.photonic._haar import haar_unitary
from wavebp.simulators.mesh import mesh_layout, mesh_matrix_reference

TOPOLOGIES = ("clements", "reck")
EPS32 = float(torch.finfo(torch.float32).eps)


def _rebuild(theta, phi, gamma, n, topology):
    return mesh_matrix_reference(mzi(theta, phi), gamma, mesh_layout(n, topology=topology))


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 16, 31, 64])
def test_round_trip_haar(n, topology, generator):
    u = haar_unitary(n, generator=generator)
    theta, phi, gamma = decompose(u, topology=topology)
    m = n * (n - 1) // 2
    assert theta.shape == (m,) and phi.shape == (m,) and gamma.shape == (n,)
    for t in (theta, phi, gamma):
        assert t.dtype == torch.float64 and t.device == u.device
    assert float(theta.min()) >= 0.0 and float(theta.max()) <= math.pi
    assert float(phi.min()) >= 0.0 and float(phi.max()) < 2 * math.pi
    assert float(gamma.min()) >= 0.0 and float(gamma.max()) < 2 * math.pi
    # VALIDATION.md: rebuild error < 1e-10 (measured ~1e-14 at N = 64: N^2/2 rotations of
    # O(eps) rounding each, on O(N) entries per row)
    assert _max_err(_rebuild(theta, phi, gamma, n, topology), u) < 1e-10


def test_closed_form_mzi_matches_device_convention(generator):
    theta = torch.rand(20, generator=generator, dtype=torch.float64) * 2 * math.pi
    phi = torch.rand(20, generator=generator, dtype=torch.float64) * 2 * math.pi
    ref = mzi(theta, phi).numpy()
    ours = np.stack([_mzi_np(float(t), float(p)) for t, p in zip(theta, phi, strict=True)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-15)


def _phase_screen(a: float, b: float) -> torch.Tensor:
    angles = torch.tensor([a, b], dtype=torch.float64)
    return torch.diag(torch.polar(torch.ones_like(angles), angles))


def test_commutation_identity(generator):
    """MZI(theta, phi)^-1 diag(e^ia, e^ib) = diag(e^ia', e^ib') MZI(theta, phi')."""
    for _ in range(20):
        theta, phi, a, b = (torch.rand(4, generator=generator, dtype=torch.float64) * 7).tolist()
        a2, b2, theta2, phi2 = commute_mzi_through_phases(theta, phi, a, b)
        assert theta2 == theta
        left = torch.linalg.inv(mzi(theta, phi)) @ _phase_screen(a, b)
        right = _phase_screen(a2, b2) @ mzi(theta2, phi2)
        assert _max_err(left, right) < 1e-14


@pytest.mark.parametrize("topology", TOPOLOGIES)
@settings(max_examples=30, deadline=None)
@given(
    theta0=st.floats(0.05, math.pi - 0.05),
    phi0=st.floats(0.0, 2 * math.pi, exclude_max=True),
)
def test_single_mzi_recovers_its_phases(topology, theta0, phi0):
    # N = 2: U = MZI(theta0, phi0) must decompose into exactly these phases and no output
    # phase (theta in (0, pi) makes phi identifiable).
    theta, phi, gamma = decompose(mzi(theta0, phi0), topology=topology)
    assert abs(float(theta[0]) - theta0) < 1e-12
    dphi = (float(phi[0]) - phi0 + math.pi) % (2 * math.pi) - math.pi
    assert abs(dphi) < 1e-12
    dgamma = (gamma + math.pi) % (2 * math.pi) - math.pi
    assert float(dgamma.abs().max()) < 1e-12


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_two_port_bar_and_cross(topology):
    eye = torch.eye(2, dtype=torch.complex128)
    swap = torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128)
    theta, _, _ = decompose(eye, topology=topology)
    assert abs(float(theta[0]) - math.pi) < 1e-12  # identity = bar state
    theta, _, _ = decompose(swap, topology=topology)
    assert abs(float(theta[0])) < 1e-12  # swap = cross state


def _edge_matrices(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    perm = torch.randperm(n, generator=generator)
    phases = torch.rand(n, generator=generator, dtype=torch.float64) * 2 * math.pi
    eye = torch.eye(n, dtype=torch.complex128)
    out = {
        "identity": eye,
        "reversal": eye.flip(0),
        "permutation": eye[perm],
        "diagonal": torch.diag(torch.polar(torch.ones_like(phases), phases)),
        "signed permutation": (-1) ** torch.arange(n).unsqueeze(1) * eye[perm],
    }
    for topology in TOPOLOGIES:
        layout = mesh_layout(n, topology=topology)
        m = layout.n_mzis
        for name, theta in (
            ("all cross", torch.zeros(m, dtype=torch.float64)),
            ("all bar", torch.full((m,), math.pi, dtype=torch.float64)),
            ("cross/bar", math.pi * torch.randint(0, 2, (m,), generator=generator).double()),
        ):
            phi = torch.rand(m, generator=generator, dtype=torch.float64) * 2 * math.pi
            out[f"{topology} {name}"] = mesh_matrix_reference(mzi(theta, phi), phases, layout)
    return out


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_round_trip_edge_cases(n, topology, generator):
    """Permutation-like matrices make many nulling steps degenerate (0/0 rotations)."""
    for name, u in _edge_matrices(n, generator).items():
        theta, phi, gamma = decompose(u, topology=topology)
        assert float(theta.min()) >= 0.0 and float(theta.max()) <= math.pi, name
        assert float(phi.min()) >= 0.0 and float(phi.max()) < 2 * math.pi, name
        err = _max_err(_rebuild(theta, phi, gamma, n, topology), u)
        assert err < 1e-12, f"{name}: {err:.2e}"


@pytest.mark.parametrize("topology", TOPOLOGIES)
@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 7), seed=st.integers(0, 2**31 - 1))
def test_any_mesh_decomposes_back_to_itself(topology, n, seed):
    """Property: phases -> mesh matrix -> decompose -> mesh matrix is the identity map."""
    g = torch.Generator().manual_seed(seed)
    layout = mesh_layout(n, topology=topology)
    theta0 = torch.rand(layout.n_mzis, generator=g, dtype=torch.float64) * 2 * math.pi
    phi0 = torch.rand(layout.n_mzis, generator=g, dtype=torch.float64) * 2 * math.pi
    gamma0 = torch.rand(n, generator=g, dtype=torch.float64) * 2 * math.pi
    u = mesh_matrix_reference(mzi(theta0, phi0), gamma0, layout)
    theta, phi, gamma = decompose(u, topology=topology)
    assert _max_err(_rebuild(theta, phi, gamma, n, topology), u) < 1e-12


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_real_orthogonal_input(topology, generator):
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator, dtype=torch.float64))
    theta, phi, gamma = decompose(q, topology=topology)
    assert theta.dtype == torch.float64
    assert _max_err(_rebuild(theta, phi, gamma, 6, topology), q.to(torch.complex128)) < 1e-12


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("n", [2, 5, 16])
def test_round_trip_complex64(n, topology, generator):
    u = haar_unitary(n, generator=generator, dtype=torch.complex64)
    theta, phi, gamma = decompose(u, topology=topology)
    assert theta.dtype == phi.dtype == gamma.dtype == torch.float32
    assert float(theta.max()) <= float(torch.tensor(math.pi, dtype=torch.float32))
    assert float(phi.max()) < 2 * math.pi and float(gamma.max()) < 2 * math.pi
    rebuilt = _rebuild(theta, phi, gamma, n, topology)
    assert rebuilt.dtype == torch.complex64
    # float32 phases carry an absolute rounding of up to ~2 pi * eps/2 ~ 3 eps each, and each
    # column's complex64 products add a few eps more; along the depth (n_columns) these
    # add at most linearly. Measured: 0.1-0.9 eps per column.
    depth = mesh_layout(n, topology=topology).n_columns
    assert _max_err(rebuilt, u) < 10 * EPS32 * (depth + 1)


@pytest.mark.gpu
def test_decompose_follows_device(generator):
    u = haar_unitary(8, generator=generator).to("cuda")
    theta, phi, gamma = decompose(u)
    assert theta.device == phi.device == gamma.device == u.device
    rebuilt = _rebuild(theta.cpu(), phi.cpu(), gamma.cpu(), 8, "clements")
    assert _max_err(rebuilt, u.cpu()) < 1e-10


def test_errors(generator):
    u = haar_unitary(4, generator=generator)
    with pytest.raises(ValueError, match=r"U must be a square 2-D matrix .*\(3, 4\)"):
        decompose(u[:3])
    with pytest.raises(ValueError, match=r"U must be a square 2-D matrix .*\(4,\)"):
        decompose(u[0])
    with pytest.raises(ValueError, match=r"U must be a square 2-D matrix .*\(2, 4, 4\)"):
        decompose(torch.stack([u, u]))
    with pytest.raises(ValueError, match=r"U must have N >= 2 .*\(1, 1\)"):
        decompose(torch.ones(1, 1, dtype=torch.complex128))
    with pytest.raises(ValueError, match=r"U must be unitary: .*<= 1e-06 .*complex128, got 0\.1"):
        decompose(u * 1.05)  # |U^H U - I|_max = 1.05^2 - 1 = 0.1025
    with pytest.raises(ValueError, match=r"U must be unitary: .*<= 0\.0001 .*complex64"):
        decompose((u * 1.001).to(torch.complex64))
    with pytest.raises(ValueError, match=r"topology must be one of 'clements' \| 'reck'"):
        decompose(u, topology="rectangular")
    bad = u.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="U must be finite, got 1 non-finite"):
        decompose(bad)
    with pytest.raises(ValueError, match="U must be complex64 or complex128"):
        decompose(torch.eye(3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"U must be a torch\.Tensor"):
        decompose(np.eye(3))


def test_tolerance_is_not_too_tight(generator):
    # a unitary perturbed by 1e-9 (far below the stated 1e-6) is accepted and rebuilt
    # to that perturbation
    u = haar_unitary(5, generator=generator)
    noisy = u + 1e-9 * torch.randn(5, 5, generator=generator, dtype=torch.float64)
    theta, phi, gamma = decompose(noisy)
    assert _max_err(_rebuild(theta, phi, gamma, 5, "clements"), u) < 1e-8
