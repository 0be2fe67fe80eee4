"""The photonic Mesh module: construction, propagation, imperfections, gradients, errors."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.photonic import Mesh, MeshImperfections
from wavebp.simulators.mesh import mesh_matrix_reference, mzi_transfer

C128 = torch.complex128


def test_zeros_init_is_all_cross(generator):
    mesh = Mesh(4, init="zeros", dtype=C128)
    for p in (mesh.theta, mesh.phi, mesh.output_phase):
        assert torch.equal(p, torch.zeros_like(p))
    u = mesh.matrix()
    ref = mesh_matrix_reference(
        mzi_transfer(mesh.theta.detach(), mesh.phi.detach()), None, mesh.layout
    )
    assert (u - ref).abs().max() < 1e-15
    # all-cross Clements mesh of N = 4 is a permutation (up to phases)
    assert torch.allclose(u.abs().square().sum(0), torch.ones(4, dtype=torch.float64))
    assert ((u.abs() > 1e-12).sum(0) == 1).all()


@pytest.mark.parametrize("topology", ["clements", "reck"])
@pytest.mark.parametrize("init", ["haar", "uniform"])
def test_init_gives_unitary_and_is_reproducible(topology, init):
    a = Mesh(
        9, topology=topology, init=init, dtype=C128, generator=torch.Generator().manual_seed(3)
    )
    b = Mesh(
        9, topology=topology, init=init, dtype=C128, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(a.theta, b.theta) and torch.equal(a.output_phase, b.output_phase)
    assert a.theta.shape == (36,) and a.output_phase.shape == (9,)
    assert a.theta.dtype == torch.float64
    u = a.matrix()
    assert (u.mH @ u - torch.eye(9, dtype=C128)).abs().max() < 1e-12


def test_forward_matches_matrix_and_accepts_real_input(generator):
    mesh = Mesh(6, generator=generator)  # complex64 default
    x = torch.randn(2, 3, 6, generator=generator)
    y = mesh(x)
    assert y.dtype == torch.complex64 and y.shape == (2, 3, 6)
    assert (y - x.to(torch.complex64) @ mesh.matrix().mT).abs().max() < 1e-6


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_from_unitary_round_trip(topology, generator):
    z = torch.randn(8, 8, dtype=C128, generator=generator)
    q, r = torch.linalg.qr(z)
    u = q * (torch.diagonal(r) / torch.diagonal(r).abs())
    mesh = Mesh.from_unitary(u, topology=topology)
    assert mesh.dtype == C128
    assert (mesh.matrix() - u).abs().max() < 1e-10
    mesh64 = Mesh.from_unitary(u.to(torch.complex64), topology=topology)
    assert mesh64.theta.dtype == torch.float32


def test_from_unitary_rejects_non_unitary():
    with pytest.raises(ValueError, match=r"U must be unitary.*<= 1e-06.*got"):
        Mesh.from_unitary(torch.eye(4, dtype=C128) * 1.1)


def test_value_errors():
    with pytest.raises(ValueError, match=r"n_ports must be an integer >= 2, got 1"):
        Mesh(1)
    with pytest.raises(
        ValueError, match=r"topology must be one of 'clements' \| 'reck', got 'hex'"
    ):
        Mesh(4, topology="hex")
    with pytest.raises(ValueError, match=r"init must be one of 'haar' \| 'uniform' \| 'zeros'"):
        Mesh(4, init="random")
    with pytest.raises(ValueError, match=r"dtype must be torch.complex64 or torch.complex128"):
        Mesh(4, dtype=torch.float32)
    mesh = Mesh(4, init="zeros")
    with pytest.raises(
        ValueError, match=r"x must have last dimension n_ports = 4, got shape \(2, 5\)"
    ):
        mesh(torch.zeros(2, 5, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"x must have dtype torch.complex64"):
        mesh(torch.zeros(2, 4, dtype=C128))
    with pytest.raises(ValueError, match=r"loss_db must be in \[0, inf\] dB, got -1"):
        MeshImperfections(loss_db=-1.0)
    with pytest.raises(ValueError, match=r"dac_bits must be an integer in \[1, 32\], got 0"):
        MeshImperfections(dac_bits=0)


def test_gradcheck_mesh_complex128(generator):
    from wavebp.simulators.mesh import MeshParams, propagate

    mesh = Mesh(5, dtype=C128, generator=generator)
    x = torch.randn(3, 5, dtype=C128, generator=generator)
    inputs = tuple(
        p.detach().clone().requires_grad_() for p in (mesh.theta, mesh.phi, mesh.output_phase)
    )
    for gradient in ("adjoint", "autograd"):

        def f(theta, phi, gamma, gradient=gradient):
            p = MeshParams(layout=mesh.layout, theta=theta, phi=phi, output_phase=gamma)
            return propagate(x, p, gradient=gradient)

        assert torch.autograd.gradcheck(f, inputs)


def test_adjoint_and_autograd_meshes_agree(generator):
    grads = {}
    x = torch.randn(16, 8, dtype=C128, generator=generator)
    w = torch.linspace(0.1, 1, 8, dtype=torch.float64)
    imp = MeshImperfections(coupler_error_sigma=0.05, loss_db=0.2, phase_error_sigma=0.02)
    for mode in ("adjoint", "autograd"):
        mesh = Mesh(
            8,
            dtype=C128,
            gradient=mode,
            generator=torch.Generator().manual_seed(5),
            imperfections=imp,
        )
        (w * mesh(x).abs().square()).sum().backward()
        grads[mode] = [p.grad for p in mesh.parameters()]
    for ga, gb in zip(grads["adjoint"], grads["autograd"], strict=True):
        assert (ga - gb).abs().max() < 1e-12


def test_imperfections_switch_and_buffers():
    gen = torch.Generator().manual_seed(11)
    mesh = Mesh(6, dtype=C128, generator=gen)
    ideal = mesh.matrix().detach()
    imp = MeshImperfections(
        coupler_error_sigma=0.05, phase_error_sigma=0.02, loss_db=0.3, loss_db_sigma=0.05
    )
    mesh.set_imperfections(imp, generator=torch.Generator().manual_seed(1))
    buffers = dict(mesh.named_buffers())
    assert set(buffers) == {"coupler_error", "theta_offset", "phi_offset", "loss_amplitude"}
    lossy = mesh.matrix().detach()
    s = torch.linalg.svdvals(lossy)
    assert s.max() <= 1 + 1e-12 and s.max() < 1
    assert (lossy - ideal).abs().max() > 1e-3
    # resampling with the same seed gives the same chip; switching off restores the ideal mesh
    first = mesh.coupler_error.clone()
    mesh.set_imperfections(imp, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, mesh.coupler_error)
    mesh.imperfections = None
    assert dict(mesh.named_buffers()) == {}
    assert (mesh.matrix().detach() - ideal).abs().max() == 0
    # uniform loss only: a passive mesh, output power never exceeds the input power
    mesh.set_imperfections(MeshImperfections(loss_db=0.1))
    x = torch.randn(4, 6, dtype=C128)
    assert (mesh(x).abs().square().sum(-1) <= x.abs().square().sum(-1)).all()


def test_dac_quantisation_in_mesh():
    mesh = Mesh(5, dtype=C128, init="uniform", generator=torch.Generator().manual_seed(2))
    mesh.imperfections = MeshImperfections(dac_bits=3)
    p = mesh.physical_params()
    step = 2 * math.pi / 8
    codes = torch.remainder(p.theta, 2 * math.pi) / step
    assert (codes - codes.round()).abs().max() < 1e-9
    assert (p.theta - mesh.theta).abs().max() <= step / 2 + 1e-12
    # straight-through: the programmed phases still receive gradients
    mesh.matrix().real.sum().backward()
    assert mesh.theta.grad is not None and mesh.theta.grad.abs().max() > 0


def test_crosstalk_in_mesh():
    mesh = Mesh(6, dtype=C128, init="uniform", generator=torch.Generator().manual_seed(2))
    mesh.imperfections = MeshImperfections(crosstalk=0.1)
    from wavebp.devices import thermal_crosstalk_matrix

    k = thermal_crosstalk_matrix(mesh.layout, coupling=0.1)
    p = mesh.physical_params()
    assert (p.theta - k @ mesh.theta).abs().max() < 1e-14
    assert (p.phi - k @ mesh.phi).abs().max() < 1e-14


def test_nonreciprocal_mesh():
    mesh = Mesh(5, dtype=C128, generator=torch.Generator().manual_seed(4))
    s = mesh.scattering_matrix()
    assert (s - s.T).abs().max() < 1e-14
    assert (mesh.backward_matrix() - mesh.matrix().T).abs().max() < 1e-14
    mesh.imperfections = MeshImperfections(nonreciprocal_phase=0.5, nonreciprocal_mzis=(0, 3))
    assert torch.count_nonzero(mesh.psi) == 2
    s = mesh.scattering_matrix()
    assert (s - s.T).abs().max() > 0.1
    assert (mesh.backward_matrix() - mesh.matrix().T).abs().max() > 0.1


def test_fields_and_power_flow(generator):
    mesh = Mesh(6, dtype=C128, generator=generator)
    x = torch.randn(3, 6, dtype=C128, generator=generator)
    f = mesh.forward_fields(x)
    assert (f.output - mesh(x)).abs().max() < 1e-14
    e = torch.randn(3, 6, dtype=C128, generator=generator)
    assert (mesh.backward_fields(e).output - e @ mesh.matrix()).abs().max() < 1e-14
    flow = mesh.power_flow(x[0])
    assert flow.shape == (mesh.layout.n_columns + 1, 6)
    assert torch.allclose(flow.sum(-1), x[0].abs().square().sum().expand(7), atol=1e-12)


def test_module_to_dtype_follows():
    mesh = Mesh(4, generator=torch.Generator().manual_seed(0)).to(torch.float64)
    assert mesh.dtype == C128 and mesh.matrix().dtype == C128
