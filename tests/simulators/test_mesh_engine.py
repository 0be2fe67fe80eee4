"""Mesh engine: transfer matrix vs the reference definition, reciprocity, fields, gradients."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.simulators.mesh import (
    MeshLayout,
    MeshParams,
    backward_fields,
    forward_fields,
    mesh_layout,
    mesh_matrix_reference,
    mzi_transfer,
    propagate,
    scattering_matrix,
    shifter_fields,
    shifter_gradient,
    shifter_power_sums,
    transfer_matrix,
)
from wavebp.simulators.mesh._engine import column_product, get_plan

F64 = torch.float64
C128 = torch.complex128


def random_params(n, topology, generator, *, errors=False, psi=False, dtype=F64):
    layout = mesh_layout(n, topology=topology)
    m = layout.n_mzis

    def r(*shape):
        return torch.rand(*shape, generator=generator, dtype=F64).to(dtype)

    return MeshParams(
        layout=layout,
        theta=r(m) * 2 * math.pi,
        phi=r(m) * 2 * math.pi,
        output_phase=r(n) * 2 * math.pi,
        coupler_error=(r(m, 2) - 0.5) * 0.3 if errors else None,
        loss=1 - 0.2 * r(m) if errors else None,
        nonreciprocal_phase=(r(m) - 0.5) if psi else None,
    )


def reference(params, direction="forward"):
    t = mzi_transfer(
        params.theta,
        params.phi,
        coupler_error=params.coupler_error,
        loss=params.loss,
        nonreciprocal_phase=params.nonreciprocal_phase,
    )
    return mesh_matrix_reference(t, params.output_phase, params.layout)


# The engine and the reference do the same O(N) products per entry in complex128, in a
# different order: agreement to ~1e-15 per product, 1e-13 leaves room for N up to ~20.
REF_TOL = 1e-13


@pytest.mark.parametrize("topology", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 4, 7, 10, 17])
@pytest.mark.parametrize("errors", [False, True])
def test_engine_matches_reference(topology, n, errors, generator):
    params = random_params(n, topology, generator, errors=errors)
    ref = reference(params)
    for block in (None, 1, 3, 4):
        u = transfer_matrix(params, block_columns=block)
        assert (u - ref).abs().max() < REF_TOL
        assert (
            transfer_matrix(params, block_columns=block, gradient="autograd") - ref
        ).abs().max() < REF_TOL


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_lossless_mesh_is_unitary(topology, generator):
    params = random_params(24, topology, generator)
    u = transfer_matrix(params)
    assert (u.mH @ u - torch.eye(24, dtype=C128)).abs().max() < 1e-12


def test_lossy_mesh_singular_values_at_most_one(generator):
    params = random_params(16, "clements", generator, errors=True)
    s = torch.linalg.svdvals(transfer_matrix(params))
    assert s.max() <= 1 + 1e-12
    assert s.min() < 0.99  # the loss is visible


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_backward_is_transpose_and_s_matrix_symmetric(topology, generator):
    params = random_params(9, topology, generator, errors=True)
    u = transfer_matrix(params)
    u_back = transfer_matrix(params, direction="backward")
    assert (u_back - u.T).abs().max() < 1e-14
    s = scattering_matrix(params)
    assert (s - s.T).abs().max() < 1e-14
    assert (s[9:, :9] - u).abs().max() < 1e-14
    assert s[:9, :9].abs().max() == 0 and s[9:, 9:].abs().max() == 0
    e = torch.randn(4, 9, dtype=C128, generator=generator)
    assert (backward_fields(e, params).output - e @ u).abs().max() < 1e-14


def test_nonreciprocal_phase_breaks_reciprocity(generator):
    params = random_params(6, "clements", generator, psi=True)
    u = transfer_matrix(params)
    u_back = transfer_matrix(params, direction="backward")
    s = scattering_matrix(params)
    assert (u_back - u.T).abs().max() > 0.1
    assert (s - s.T).abs().max() > 0.1
    assert (u - reference(params)).abs().max() < REF_TOL
    # the backward matrix is the reference mesh with -psi, transposed
    flipped = MeshParams(
        layout=params.layout,
        theta=params.theta,
        phi=params.phi,
        output_phase=params.output_phase,
        nonreciprocal_phase=-params.nonreciprocal_phase,
    )
    assert (u_back - reference(flipped).T).abs().max() < REF_TOL


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_forward_fields_consistent(topology, generator):
    params = random_params(7, topology, generator, errors=True)
    x = torch.randn(2, 3, 7, dtype=C128, generator=generator)
    f = forward_fields(x, params)
    k, m = params.layout.n_columns, params.layout.n_mzis
    assert f.boundary.shape == (2, 3, k + 1, 7)
    assert f.after_phi.shape == (2, 3, m) and f.after_theta.shape == (2, 3, m)
    assert (f.output - propagate(x, params)).abs().max() < 1e-14
    assert (f.boundary[..., 0, :] - x).abs().max() == 0
    # power never grows through a lossy mesh, column by column
    p = f.boundary.abs().square().sum(-1)
    assert (p[..., 1:] <= p[..., :-1] + 1e-12).all()


def test_shifter_fields_closed_form(generator):
    # one MZI, N = 2: check the recorded fields against the matrices written out
    params = random_params(2, "clements", generator, errors=True, psi=True)
    theta, phi = params.theta[0], params.phi[0]
    psi = params.nonreciprocal_phase[0]
    e1, e2 = params.coupler_error[0]
    eta = params.loss[0]

    def b(e):
        c, s = torch.cos(math.pi / 4 + e), torch.sin(math.pi / 4 + e)
        return torch.stack([torch.stack([c, 1j * s]), torch.stack([1j * s, c])]).to(C128)

    x = torch.tensor([0.3 + 0.1j, -0.7 + 0.2j], dtype=C128)
    a_phi = torch.exp(1j * (phi + psi)) * x[0]
    u = b(e1) @ torch.stack([a_phi, x[1]])
    a_theta = torch.exp(1j * theta) * u[0]
    f = forward_fields(x, params)
    assert abs(complex(f.after_phi[0] - a_phi)) < 1e-15
    assert abs(complex(f.after_theta[0] - a_theta)) < 1e-15
    c = torch.tensor([0.5 - 0.4j, 0.1 + 0.9j], dtype=C128)
    z = torch.exp(1j * params.output_phase) * c
    v = eta * (b(e2) @ z)
    w = b(e1) @ torch.stack([v[0] * torch.exp(1j * theta), v[1]])
    g = backward_fields(c, params)
    assert abs(complex(g.after_theta[0] - v[0])) < 1e-15
    assert abs(complex(g.after_phi[0] - w[0])) < 1e-15
    expected_in = torch.stack([w[0] * torch.exp(1j * (phi - psi)), w[1]])
    assert (g.output - expected_in).abs().max() < 1e-15


def weighted_loss(y):
    w = torch.linspace(0.1, 1.0, y.shape[-1], dtype=y.real.dtype)
    return (w * (y.real.square() + y.imag.square())).sum()


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_insitu_formula_equals_autograd(topology, generator):
    """dL/dphase = -2 Im(a b) with b the physical backward field of conj(dL/dy*)."""
    p0 = random_params(6, topology, generator, errors=True)
    theta = p0.theta.clone().requires_grad_()
    phi = p0.phi.clone().requires_grad_()
    gamma = p0.output_phase.clone().requires_grad_()
    params = MeshParams(
        layout=p0.layout,
        theta=theta,
        phi=phi,
        output_phase=gamma,
        coupler_error=p0.coupler_error,
        loss=p0.loss,
    )
    x = torch.randn(5, 6, dtype=C128, generator=generator)
    y = propagate(x, params)
    g_theta, g_phi, g_gamma = torch.autograd.grad(weighted_loss(y), (theta, phi, gamma))
    w = torch.linspace(0.1, 1.0, 6, dtype=F64)
    inject = (w * y).conj().detach()  # conj(dL/dy*) for L = sum w |y|^2
    with torch.no_grad():
        i_theta, i_phi, i_gamma = shifter_gradient(
            forward_fields(x, params), backward_fields(inject, params)
        )
    # complex128, O(N) operations on O(1) fields
    assert (i_theta - g_theta).abs().max() < 1e-12
    assert (i_phi - g_phi).abs().max() < 1e-12
    assert (i_gamma - g_gamma).abs().max() < 1e-12


@pytest.mark.parametrize("topology", ["clements", "reck"])
@pytest.mark.parametrize(("n", "block"), [(2, 1), (5, 2), (6, 4), (7, 3)])
def test_gradcheck_column_product(topology, n, block, generator):
    plan = get_plan(mesh_layout(n, topology=topology), block_columns=block)
    rows = plan.n_blocks * plan.block
    a = torch.randn(rows, n, dtype=C128, generator=generator, requires_grad=True)
    b = torch.randn(rows, n, dtype=C128, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: column_product(a, b, plan), (a, b))


def _all_param_grads(params_fn, gradient, x):
    leaves = params_fn()
    params = MeshParams(**leaves)
    loss = weighted_loss(propagate(x, params, gradient=gradient))
    names = [k for k, v in leaves.items() if isinstance(v, torch.Tensor) and v.requires_grad]
    grads = torch.autograd.grad(loss, [leaves[k] for k in names])
    return loss.detach(), dict(zip(names, grads, strict=True))


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_adjoint_autograd_and_finite_differences_agree(topology, generator):
    base = random_params(7, topology, generator, errors=True)
    x = torch.randn(4, 7, dtype=C128, generator=generator)
    fields = ("theta", "phi", "output_phase", "coupler_error", "loss")

    def make(shift=None):
        leaves = {"layout": base.layout}
        for f in fields:
            v = getattr(base, f).clone()
            if shift is not None and shift[0] == f:
                v.view(-1)[shift[1]] += shift[2]
            leaves[f] = v.requires_grad_()
        return leaves

    _, g_adj = _all_param_grads(make, "adjoint", x)
    _, g_auto = _all_param_grads(make, "autograd", x)
    for f in fields:
        # complex128 gradients of an O(1) loss, both exact up to rounding
        assert (g_adj[f] - g_auto[f]).abs().max() < 1e-12, f
    h = 1e-6
    for f in fields:
        for idx in (0, getattr(base, f).numel() // 2, getattr(base, f).numel() - 1):
            with torch.no_grad():
                lp = weighted_loss(propagate(x, MeshParams(**make((f, idx, h)))))
                lm = weighted_loss(propagate(x, MeshParams(**make((f, idx, -h)))))
            fd = float((lp - lm) / (2 * h))
            # central differences: O(h^2) truncation ~1e-12 plus rounding ~1e-16/h ~ 1e-10
            assert abs(fd - float(g_adj[f].view(-1)[idx])) < 1e-8 * max(1.0, abs(fd)), (f, idx)


def test_gradient_through_nonreciprocal_phase(generator):
    base = random_params(5, "clements", generator, psi=True)
    psi = base.nonreciprocal_phase.clone().requires_grad_()
    x = torch.randn(3, 5, dtype=C128, generator=generator)
    grads = []
    for mode in ("adjoint", "autograd"):
        params = MeshParams(
            layout=base.layout, theta=base.theta, phi=base.phi, nonreciprocal_phase=psi
        )
        grads.append(
            torch.autograd.grad(weighted_loss(propagate(x, params, gradient=mode)), psi)[0]
        )
    assert (grads[0] - grads[1]).abs().max() < 1e-12


def test_complex64_engine_matches_complex128(generator):
    p64 = random_params(32, "clements", generator)
    p32 = MeshParams(
        layout=p64.layout,
        theta=p64.theta.float(),
        phi=p64.phi.float(),
        output_phase=p64.output_phase.float(),
    )
    u32 = transfer_matrix(p32)
    assert u32.dtype == torch.complex64
    # float32 phases differ by ~1e-7 rad from the float64 ones, and 32 columns of
    # complex64 products each add ~1e-7: 1e-5 is a safe bound for N = 32.
    assert (u32.to(C128) - transfer_matrix(p64)).abs().max() < 1e-5


def test_input_validation(generator):
    params = random_params(4, "clements", generator)
    with pytest.raises(
        ValueError, match=r"x must have last dimension n_ports = 4, got shape \(2, 3\)"
    ):
        propagate(torch.zeros(2, 3, dtype=C128), params)
    with pytest.raises(ValueError, match=r"x must have dtype torch.complex128"):
        propagate(torch.zeros(2, 4, dtype=torch.complex64), params)
    with pytest.raises(ValueError, match=r"direction must be one of 'forward' \| 'backward'"):
        transfer_matrix(params, direction="sideways")
    with pytest.raises(ValueError, match=r"gradient must be one of 'adjoint' \| 'autograd'"):
        transfer_matrix(params, gradient="magic")
    with pytest.raises(ValueError, match=r"theta must have shape \(6,\) .* got \(5,\)"):
        MeshParams(layout=params.layout, theta=torch.zeros(5, dtype=F64), phi=params.phi)
    with pytest.raises(ValueError, match=r"block_columns must be an integer >= 1, got 0"):
        transfer_matrix(params, block_columns=0)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(2, 12),
    topology=st.sampled_from(["clements", "reck"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_unitary_reciprocal_energy(n, topology, seed):
    gen = torch.Generator().manual_seed(seed)
    params = random_params(n, topology, gen)
    u = transfer_matrix(params)
    assert (u.mH @ u - torch.eye(n, dtype=C128)).abs().max() < 1e-12
    s = scattering_matrix(params)
    assert (s - s.T).abs().max() < 1e-13
    x = torch.randn(3, n, dtype=C128, generator=gen)
    f = forward_fields(x, params)
    p_in = x.abs().square().sum(-1)
    # energy conserved at every column boundary and at the output
    assert (f.boundary.abs().square().sum(-1) - p_in[:, None]).abs().max() < 1e-12
    assert (f.output.abs().square().sum(-1) - p_in).abs().max() < 1e-12


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 10), seed=st.integers(0, 2**31 - 1))
def test_property_lossy_passive(n, seed):
    gen = torch.Generator().manual_seed(seed)
    params = random_params(n, "clements", gen, errors=True)
    assert torch.linalg.svdvals(transfer_matrix(params)).max() <= 1 + 1e-12
    s = scattering_matrix(params)
    assert (s - s.T).abs().max() < 1e-13


@pytest.mark.parametrize(("topology", "n", "block"), [("clements", 40, None), ("reck", 33, 6)])
def test_adjoint_matches_autograd_large_mesh(topology, n, block, generator):
    """Meshes above 32 ports take the sequential block-product path."""
    base = random_params(n, topology, generator, errors=True)
    x = torch.randn(8, n, dtype=C128, generator=generator)
    grads = []
    for mode in ("adjoint", "autograd"):
        leaves = {
            f: getattr(base, f).clone().requires_grad_()
            for f in ("theta", "phi", "output_phase", "coupler_error", "loss")
        }
        params = MeshParams(layout=base.layout, **leaves)
        u = transfer_matrix(params, gradient=mode, block_columns=block)
        assert (u - reference(base)).abs().max() < 1e-12
        loss = weighted_loss(x @ u.mT)
        grads.append(torch.autograd.grad(loss, list(leaves.values())))
    for ga, gb in zip(*grads, strict=True):
        # complex128; gradients are O(1)-O(10) sums of O(N^2) terms
        assert (ga - gb).abs().max() < 1e-10 * max(1.0, float(gb.abs().max()))


def test_column_by_column_backward_path(generator, monkeypatch):
    """Large meshes reduce the gradient column by column: force that path on a small one."""
    from wavebp.simulators.mesh import _engine

    monkeypatch.setattr(_engine, "_FUSE_ABOVE", 0)
    plan = get_plan(mesh_layout(6, topology="reck"), block_columns=3)
    rows = plan.n_blocks * plan.block
    a = torch.randn(rows, 6, dtype=C128, generator=generator, requires_grad=True)
    b = torch.randn(rows, 6, dtype=C128, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: column_product(a, b, plan), (a, b))


@pytest.mark.parametrize(("topology", "n"), [("clements", 5), ("reck", 8), ("clements", 36)])
def test_ideal_mesh_fused_gradient(topology, n, generator):
    """Ideal meshes take a fused path (phases -> U in one Function): check it like the rest."""
    base = random_params(n, topology, generator)
    x = torch.randn(6, n, dtype=C128, generator=generator)
    grads = []
    for mode in ("adjoint", "autograd"):
        leaves = {
            f: getattr(base, f).clone().requires_grad_() for f in ("theta", "phi", "output_phase")
        }
        u = transfer_matrix(MeshParams(layout=base.layout, **leaves), gradient=mode)
        assert (u - reference(base)).abs().max() < 1e-12
        grads.append(torch.autograd.grad(weighted_loss(x @ u.mT), list(leaves.values())))
    for ga, gb in zip(*grads, strict=True):
        assert (ga - gb).abs().max() < 1e-10 * max(1.0, float(gb.abs().max()))
    if n <= 8:
        inputs = tuple(
            getattr(base, f).clone().requires_grad_() for f in ("theta", "phi", "output_phase")
        )

        def f(theta, phi, gamma):
            p = MeshParams(layout=base.layout, theta=theta, phi=phi, output_phase=gamma)
            return transfer_matrix(p)

        assert torch.autograd.gradcheck(f, inputs)


def test_insitu_formula_fails_without_reciprocity(generator):
    """With a Faraday-type phase the backward wave is not U^T: the formula must disagree."""
    p0 = random_params(6, "clements", generator, psi=True)
    theta = p0.theta.clone().requires_grad_()
    params = MeshParams(
        layout=p0.layout,
        theta=theta,
        phi=p0.phi,
        output_phase=p0.output_phase,
        nonreciprocal_phase=p0.nonreciprocal_phase,
    )
    x = torch.randn(5, 6, dtype=C128, generator=generator)
    y = propagate(x, params)
    (g_theta,) = torch.autograd.grad(weighted_loss(y), (theta,))
    w = torch.linspace(0.1, 1.0, 6, dtype=F64)
    with torch.no_grad():
        i_theta, _, _ = shifter_gradient(
            forward_fields(x, params), backward_fields((w * y).conj(), params)
        )
    cosine = float(i_theta @ g_theta / (i_theta.norm() * g_theta.norm()))
    assert 1 - cosine > 0.01


@pytest.mark.parametrize("n", [5, 16, 64])
def test_buffer_pool_is_safe_with_several_live_graphs(n):
    """The engine recycles work buffers per plan; graphs alive at once, backward in another
    order, retain_graph and no-grad forwards in between must not disturb saved buffers.
    complex128: adjoint and autograd agree to rounding (1e-10 relative is ample)."""
    from wavebp.photonic import Mesh

    dt = torch.complex128
    g = torch.Generator().manual_seed(1)
    m1 = Mesh(n, dtype=dt, generator=g)
    m2 = Mesh(n, dtype=dt, generator=g)
    m1r = Mesh(n, dtype=dt, gradient="autograd")
    m1r.load_state_dict(m1.state_dict())
    m2r = Mesh(n, dtype=dt, gradient="autograd")
    m2r.load_state_dict(m2.state_dict())
    x = torch.randn(7, n, dtype=dt, generator=g)
    w = torch.linspace(0.1, 1, n, dtype=torch.float64)

    def loss(y):
        return (w * y.abs().square()).sum()

    la, lb, lc = loss(m1(x)), 2 * loss(m1(m2(x))), loss(m2(m1(x)))
    with torch.no_grad():
        m1.matrix()
        m2.matrix()
    lc.backward(retain_graph=True)
    lb.backward()
    la.backward(retain_graph=True)
    la.backward()  # la counted twice
    (2 * loss(m1r(x)) + 2 * loss(m1r(m2r(x)))).backward()
    loss(m2r(m1r(x))).backward()
    for ours, ref in ((m1, m1r), (m2, m2r)):
        for (name, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters(), strict=True):
            err = float((p.grad - q.grad).abs().max() / q.grad.abs().max())
            assert err < 1e-10, (name, err)


def test_buffer_pool_is_thread_safe():
    import threading

    from wavebp.photonic import Mesh

    g = torch.Generator().manual_seed(2)
    mesh = Mesh(64, dtype=torch.complex128, generator=g)
    x = torch.randn(5, 64, dtype=torch.complex128, generator=g)
    w = torch.linspace(0.1, 1, 64, dtype=torch.float64)

    def grads():
        return torch.autograd.grad((w * mesh(x).abs().square()).sum(), list(mesh.parameters()))

    ref = grads()
    errs: list[float] = []

    def worker():
        for _ in range(10):
            errs.append(max(float((a - b).abs().max()) for a, b in zip(grads(), ref, strict=True)))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errs) == 30 and max(errs) < 1e-12


# -- shifter_fields: the in-place recorder of the in-situ passes -------------------------


@pytest.mark.parametrize("topology", ["clements", "reck"])
@pytest.mark.parametrize("n", [5, 6])
@pytest.mark.parametrize(("errors", "psi"), [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_shifter_fields_match_the_field_recorders(topology, n, errors, psi, direction, generator):
    params = random_params(n, topology, generator, errors=errors, psi=psi)
    x = torch.randn(4, n, dtype=C128, generator=generator)
    x_before = x.clone()
    ref = (forward_fields if direction == "forward" else backward_fields)(x, params)
    phi, theta, out = shifter_fields(x, params, direction=direction)
    assert phi.shape == theta.shape == (4, params.layout.n_mzis) and out.shape == (4, n)
    # the same products in another order: complex128 rounding over ~n columns
    for got, want in ((phi, ref.after_phi), (theta, ref.after_theta), (out, ref.output)):
        assert (got - want).abs().max() < 1e-13
    assert torch.equal(x, x_before)  # the caller's fields are never written


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_shifter_fields_irregular_columns_and_single_sample(direction, generator):
    # columns whose MZIs are not every second port take the gather path
    layout = MeshLayout(n_ports=7, topology="clements", columns=((0, 3), (1, 5), (2,), (0, 4)))
    m = layout.n_mzis
    r = torch.rand(3 * m + 7, generator=generator, dtype=F64)
    params = MeshParams(
        layout=layout,
        theta=r[:m] * 6,
        phi=r[m : 2 * m] * 6,
        output_phase=r[3 * m :] * 6,
        loss=1 - 0.2 * r[2 * m : 3 * m],
    )
    x = torch.randn(1, 7, dtype=C128, generator=generator)
    ref = (forward_fields if direction == "forward" else backward_fields)(x, params)
    phi, theta, out = shifter_fields(x, params, direction=direction)
    assert (phi - ref.after_phi).abs().max() < 1e-13
    assert (theta - ref.after_theta).abs().max() < 1e-13
    assert (out - ref.output).abs().max() < 1e-13


def test_shifter_fields_complex64_and_bad_input(generator):
    params = random_params(8, "clements", generator, errors=True, dtype=torch.float32)
    x = torch.randn(16, 8, dtype=torch.complex64, generator=generator)
    phi, theta, _ = shifter_fields(x, params)
    ref = forward_fields(x, params)
    assert phi.dtype == torch.complex64
    # float32 rounding of unit-scale fields over 8 columns
    assert (phi - ref.after_phi).abs().max() < 1e-5
    assert (theta - ref.after_theta).abs().max() < 1e-5
    with pytest.raises(ValueError, match="direction"):
        shifter_fields(x, params, direction="sideways")
    with pytest.raises(ValueError, match="shape"):
        shifter_fields(x.reshape(2, 8, 8), params)


@pytest.mark.parametrize("topology", ["clements", "reck"])
@pytest.mark.parametrize(("errors", "psi"), [(False, False), (True, True)])
@pytest.mark.parametrize("direction", ["forward", "backward"])
@pytest.mark.parametrize("batch", [3, 11])  # fewer / more samples than ports (QR path)
def test_shifter_power_sums_equal_summed_sample_powers(
    topology, errors, psi, direction, batch, generator
):
    params = random_params(6, topology, generator, errors=errors, psi=psi)
    x = torch.randn(batch, 6, dtype=C128, generator=generator)
    w = torch.rand(batch, generator=generator, dtype=F64)
    phi, theta, out = shifter_fields(x, params, direction=direction)
    if direction == "backward":
        out = x  # the injected field at the output ports
    want = [(f.abs().square() * w.unsqueeze(-1)).sum(0) for f in (phi, theta, out)]
    got = shifter_power_sums(x, params, direction=direction, weights=w)
    for g, v in zip(got, want, strict=True):
        assert g.shape == v.shape and g.dtype == F64
        # sums of ~batch unit-scale powers, complex128 rounding through QR and ~6 columns
        assert (g - v).abs().max() < 1e-12
    unweighted = shifter_power_sums(x, params, direction=direction)
    ref = (phi.abs().square()).sum(0)
    assert (unweighted[0] - ref).abs().max() < 1e-12
    with pytest.raises(ValueError, match="weights"):
        shifter_power_sums(x, params, weights=w[:-1])
    with pytest.raises(ValueError, match="weights"):
        shifter_power_sums(x, params, weights=-w)
