"""Haar-random unitaries and the Haar (sensitivity-index) initialisation of MZI meshes.

Statistics: for a Haar-random ``U`` of size ``N`` every ``|U_ij|^2`` is ``Beta(1, N - 1)``
(mean ``1/N``, variance ``(N - 1) / (N^2 (N + 1))``). KS tests run with fixed seeds, so each
test is deterministic; thresholds (p > 1e-3 for "is Haar", p < 1e-10 for "is not") leave
a wide gap, and the negative tests show that the same check does reject a wrong
distribution.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from wavebp.devices import mzi
from wavebp.photonic._decompose import decompose
from wavebp.photonic._haar import haar_phases, haar_unitary, sensitivity_index
from wavebp.simulators.mesh import mesh_layout, mesh_matrix_reference

TOPOLOGIES = ("clements", "reck")


def _mesh_matrices(theta, phi, gamma, layout) -> torch.Tensor:
    """Mesh matrices for a batch of phase sets ``(S, M)``: the definition of
    ``mesh_matrix_reference`` vectorised over samples (checked against it below)."""
    t = mzi(theta, phi)  # (S, M, 2, 2)
    n = layout.n_ports
    u = torch.eye(n, dtype=t.dtype).expand(theta.shape[0], n, n).clone()
    for m, p in enumerate(layout.top_port.tolist()):  # layout order = column by column
        u[:, p : p + 2, :] = t[:, m] @ u[:, p : p + 2, :]
    return torch.polar(torch.ones_like(gamma), gamma).unsqueeze(-1) * u


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_batched_helper_matches_reference(topology, generator):
    layout = mesh_layout(5, topology=topology)
    theta, phi = haar_phases(layout, generator=generator, shape=(3,))
    gamma = torch.rand(3, 5, generator=generator, dtype=torch.float64) * 2 * math.pi
    batched = _mesh_matrices(theta, phi, gamma, layout)
    for s in range(3):
        ref = mesh_matrix_reference(mzi(theta[s], phi[s]), gamma[s], layout)
        assert float((batched[s] - ref).abs().max()) < 1e-14


# --- haar_unitary ---------------------------------------------------------------------


def test_haar_unitary_is_unitary_and_reproducible():
    u = haar_unitary(12, generator=torch.Generator().manual_seed(5))
    assert u.dtype == torch.complex128 and u.shape == (12, 12)
    eye = torch.eye(12, dtype=u.dtype)
    assert float((u.mH @ u - eye).abs().max()) < 1e-13  # QR in complex128
    again = haar_unitary(12, generator=torch.Generator().manual_seed(5))
    assert torch.equal(u, again)
    u32 = haar_unitary(12, generator=torch.Generator().manual_seed(5), dtype=torch.complex64)
    assert u32.dtype == torch.complex64
    assert float((u32.to(torch.complex128) - u).abs().max()) < 1e-6  # float32 rounding


@pytest.mark.parametrize("n", [4, 8, 16])
def test_haar_unitary_entry_statistics(n):
    g = torch.Generator().manual_seed(11)
    samples = torch.stack([haar_unitary(n, generator=g) for _ in range(2000)])
    p = samples.abs() ** 2
    assert stats.kstest(p[:, 0, 0].numpy(), stats.beta(1, n - 1).cdf).pvalue > 1e-3
    assert stats.kstest(p[:, n - 1, 0].numpy(), stats.beta(1, n - 1).cdf).pvalue > 1e-3
    # the diagonal-phase fix matters: arg(U_00) is uniform (plain QR with positive
    # diag(R) conventions is not Haar)
    angle = (torch.angle(samples[:, 0, 0]).numpy() + math.pi) / (2 * math.pi)
    assert stats.kstest(angle, "uniform").pvalue > 1e-3


def test_haar_unitary_errors():
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        haar_unitary(0)
    with pytest.raises(ValueError, match=r"dtype must be torch\.complex64 or torch\.complex128"):
        haar_unitary(3, dtype=torch.float64)


# --- sensitivity index --------------------------------------------------------------


def test_sensitivity_index_reck():
    layout = mesh_layout(6, topology="reck")
    alpha = sensitivity_index(layout)
    assert alpha.dtype == torch.int64
    np.testing.assert_array_equal(alpha.numpy(), 6 - 1 - layout.top_port)


def test_sensitivity_index_clements_table():
    # rows: top port p, columns: layout column c ('.' = no MZI there); N = 6 and N = 7.
    expected = {
        6: [
            [1, 0, 2, 0, 2, 0],
            [0, 3, 0, 4, 0, 1],
            [1, 0, 5, 0, 3, 0],
            [0, 3, 0, 4, 0, 1],
            [1, 0, 2, 0, 2, 0],
        ],
        7: [
            [1, 0, 2, 0, 2, 0, 1],
            [0, 3, 0, 4, 0, 3, 0],
            [1, 0, 5, 0, 5, 0, 1],
            [0, 3, 0, 6, 0, 3, 0],
            [1, 0, 4, 0, 4, 0, 1],
            [0, 2, 0, 2, 0, 2, 0],
        ],
    }
    for n, table in expected.items():
        layout = mesh_layout(n, topology="clements")
        grid = np.zeros((n - 1, n), dtype=np.int64)
        grid[layout.top_port, layout.mzi_column] = sensitivity_index(layout).numpy()
        np.testing.assert_array_equal(grid, np.array(table))


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("n", [2, 3, 9, 64])
def test_sensitivity_index_range(n, topology):
    alpha = sensitivity_index(mesh_layout(n, topology=topology))
    assert int(alpha.min()) == 1 and int(alpha.max()) == n - 1


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_sensitivity_index_matches_decomposed_haar_phases(topology):
    """The rule is what the decomposition of Haar matrices actually gives: with the right
    alpha, ``cos^2(theta/2)^alpha`` is U(0, 1) for every MZI (probability integral
    transform of Beta(alpha, 1)); pooled over all MZIs of 300 decompositions."""
    n = 7
    g = torch.Generator().manual_seed(21)
    layout = mesh_layout(n, topology=topology)
    alpha = sensitivity_index(layout).numpy()
    theta = np.stack(
        [decompose(haar_unitary(n, generator=g), topology=topology)[0].numpy() for _ in range(300)]
    )
    cross = np.cos(theta / 2) ** 2
    assert stats.kstest((cross**alpha).ravel(), "uniform").pvalue > 1e-3
    # the same check rejects a rule off by one (alpha + 1) and a flat rule (alpha = 1)
    assert stats.kstest((cross ** (alpha + 1)).ravel(), "uniform").pvalue < 1e-10
    assert stats.kstest(cross.ravel(), "uniform").pvalue < 1e-10


# --- haar_phases --------------------------------------------------------------------


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_haar_phases_ranges_and_sampling_law(topology, generator):
    layout = mesh_layout(10, topology=topology)
    theta, phi = haar_phases(layout, generator=generator, shape=(400,))
    assert theta.shape == phi.shape == (400, layout.n_mzis)
    assert theta.dtype == phi.dtype == torch.float64
    assert float(theta.min()) >= 0 and float(theta.max()) <= math.pi
    assert float(phi.min()) >= 0 and float(phi.max()) < 2 * math.pi
    # cos^2(theta/2) ~ Beta(alpha, 1), i.e. cos^2(theta/2)^alpha ~ U(0, 1); phi ~ U(0, 2 pi)
    alpha = sensitivity_index(layout).numpy()
    pit = (np.cos(theta.numpy() / 2) ** 2) ** alpha
    assert stats.kstest(pit.ravel(), "uniform").pvalue > 1e-3
    assert stats.kstest(phi.numpy().ravel() / (2 * math.pi), "uniform").pvalue > 1e-3
    t32, p32 = haar_phases(layout, generator=generator, dtype=torch.float32)
    assert t32.dtype == p32.dtype == torch.float32 and t32.shape == (layout.n_mzis,)
    assert float(p32.max()) < 2 * math.pi


def test_haar_phases_reproducible():
    layout = mesh_layout(6)
    a = haar_phases(layout, generator=torch.Generator().manual_seed(3))
    b = haar_phases(layout, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def _entry_power(theta, phi, layout, generator) -> torch.Tensor:
    gamma = torch.rand(theta.shape[0], layout.n_ports, generator=generator, dtype=theta.dtype)
    return _mesh_matrices(theta, phi, gamma * 2 * math.pi, layout).abs() ** 2


N_SAMPLES = 2000


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("n", [4, 8, 16])
def test_haar_mesh_entry_statistics(n, topology):
    g = torch.Generator().manual_seed(100 + n)
    layout = mesh_layout(n, topology=topology)
    theta, phi = haar_phases(layout, generator=g, shape=(N_SAMPLES,))
    p = _entry_power(theta, phi, layout, g)
    beta = stats.beta(1, n - 1)
    assert stats.kstest(p[:, 0, 0].numpy(), beta.cdf).pvalue > 1e-3  # |U_11|^2
    assert stats.kstest(p[:, n - 1, 0].numpy(), beta.cdf).pvalue > 1e-3  # far corner
    # every entry has mean 1/N: standard error of the mean sqrt(var/S); 6 standard errors
    # over N^2 entries gives a false-alarm probability < 1e-6
    sem = math.sqrt((n - 1) / (n**2 * (n + 1)) / N_SAMPLES)
    assert float((p.mean(0) - 1 / n).abs().max()) < 6 * sem


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_uniform_theta_is_not_haar(topology):
    """The naive init (theta uniform in [0, pi]) fails the same checks at N = 16: light
    spreads diffusively, so |U_11|^2 is too large and far corners are too dark."""
    n = 16
    g = torch.Generator().manual_seed(7)
    layout = mesh_layout(n, topology=topology)
    theta = torch.rand(N_SAMPLES, layout.n_mzis, generator=g, dtype=torch.float64) * math.pi
    phi = torch.rand(N_SAMPLES, layout.n_mzis, generator=g, dtype=torch.float64) * 2 * math.pi
    p = _entry_power(theta, phi, layout, g)
    ks = stats.kstest(p[:, 0, 0].numpy(), stats.beta(1, n - 1).cdf)
    assert ks.pvalue < 1e-10 and ks.statistic > 0.1
    sem = math.sqrt((n - 1) / (n**2 * (n + 1)) / N_SAMPLES)
    assert float((p.mean(0) - 1 / n).abs().max()) > 20 * sem


def test_haar_phases_errors():
    with pytest.raises(ValueError, match="layout must be a MeshLayout"):
        haar_phases(4)
    with pytest.raises(ValueError, match=r"dtype must be torch\.float32 or torch\.float64"):
        haar_phases(mesh_layout(4), dtype=torch.complex64)
    with pytest.raises(ValueError, match="shape entries must be an integer >= 0"):
        haar_phases(mesh_layout(4), shape=(-1,))
