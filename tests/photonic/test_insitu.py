"""In-situ backpropagation: exactness on ideal hardware, finite differences, and the checks
that must fail (no phase conjugation, a non-reciprocal element), loss and noise reported."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wavebp.photonic import (
    ONN,
    HardwareConfig,
    cosine_error,
    gradient_error,
    insitu_gradient,
)
from wavebp.photonic._insitu_passes import propagate_recording
from wavebp.simulators.mesh import MeshParams, mesh_layout, propagate, transfer_matrix


class ParamsMesh(torch.nn.Module):
    """A test mesh: trainable theta/phi/output_phase plus fixed hardware tensors, exposing its
    physical parameters like :class:`wavebp.photonic.Mesh` does (engine-level, so these
    tests exercise the in-situ engine independently of the Mesh module's own models)."""

    def __init__(
        self,
        n_ports,
        *,
        topology="clements",
        init="uniform",
        dtype=torch.complex128,
        generator=None,
        coupler_error=None,
        loss=None,
        nonreciprocal_phase=None,
    ):
        super().__init__()
        self.layout = mesh_layout(n_ports, topology=topology)
        m = self.layout.n_mzis
        rdt = torch.float64 if dtype == torch.complex128 else torch.float32
        self.theta = torch.nn.Parameter(torch.rand(m, generator=generator, dtype=rdt) * math.pi)
        self.phi = torch.nn.Parameter(torch.rand(m, generator=generator, dtype=rdt) * 2 * math.pi)
        self.output_phase = torch.nn.Parameter(
            torch.rand(n_ports, generator=generator, dtype=rdt) * 2 * math.pi
        )
        self.hw = {
            "coupler_error": coupler_error,
            "loss": loss,
            "nonreciprocal_phase": nonreciprocal_phase,
        }

    def _fixed(self, name):
        v = self.hw[name]
        if v is None:
            return None
        m = self.layout.n_mzis
        shape = (m, 2) if name == "coupler_error" else (m,)
        if callable(v):
            return v(self.layout).to(self.theta.dtype)
        return torch.full(shape, float(v), dtype=self.theta.dtype)

    def physical_params(self):
        return MeshParams(
            layout=self.layout,
            theta=self.theta,
            phi=self.phi,
            output_phase=self.output_phase,
            coupler_error=self._fixed("coupler_error"),
            loss=self._fixed("loss"),
            nonreciprocal_phase=self._fixed("nonreciprocal_phase"),
        )

    def forward(self, x):
        return propagate(x, self.physical_params())


def _first_column_faraday(psi):
    def make(layout):
        v = torch.zeros(layout.n_mzis, dtype=torch.float64)
        v[int(layout.column_start[0]) : int(layout.column_start[1])] = psi
        return v

    return make


def _problem(
    generator,
    *,
    n_layers=2,
    activation="electro-optic",
    encoding="amplitude",
    batch=8,
    **mesh_kwargs,
):
    model = ONN(
        4,
        2,
        n_ports=6,
        n_layers=n_layers,
        activation=activation,
        encoding=encoding,
        phase_scales=(1.0,),
        dtype=torch.complex128,
        generator=generator,
        mesh_factory=ParamsMesh,
        mesh_kwargs=mesh_kwargs,
    )
    x = torch.randn(batch, 4, dtype=torch.float64, generator=generator)
    y = torch.randint(0, 2, (batch,), generator=generator)

    def loss_fn(logits):
        return torch.nn.functional.cross_entropy(logits, y)

    return model, x, loss_fn


def _autograd(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x)).backward()
    return {k: p.grad.detach().clone() for k, p in model.named_parameters()}


# -- the recorder is the physical device ------------------------------------------------


def _random_params(layout, generator, *, nonreciprocal=False):
    """Random float64 mesh parameters with coupler errors and loss (draws in a fixed order)."""
    m, n, f64 = layout.n_mzis, layout.n_ports, torch.float64
    params = {
        "theta": torch.rand(m, dtype=f64, generator=generator) * 6,
        "phi": torch.rand(m, dtype=f64, generator=generator) * 6,
        "output_phase": torch.rand(n, dtype=f64, generator=generator),
        "coupler_error": 0.05 * torch.randn(m, 2, dtype=f64, generator=generator),
        "loss": 0.9 + 0.1 * torch.rand(m, dtype=f64, generator=generator),
    }
    if nonreciprocal:
        params["nonreciprocal_phase"] = 0.3 * torch.randn(m, dtype=f64, generator=generator)
    return MeshParams(layout=layout, **params)


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_recorded_passes_match_the_engine_and_reciprocity(generator, topology):
    layout = mesh_layout(5, topology=topology)
    m = layout.n_mzis
    params = _random_params(layout, generator)
    x = torch.randn(3, 5, dtype=torch.complex128, generator=generator)
    fwd = propagate_recording(x, params)
    bwd = propagate_recording(x, params, direction="backward")
    # same device as the fast engine, to rounding (complex128: ~1e-15)
    torch.testing.assert_close(fwd.exit, propagate(x, params), rtol=0, atol=1e-13)
    u = transfer_matrix(params)
    torch.testing.assert_close(bwd.exit, x @ u, rtol=0, atol=1e-13)  # x @ U == U^T x
    nr = dataclasses.replace(params, nonreciprocal_phase=torch.full((m,), 0.4, dtype=torch.float64))
    torch.testing.assert_close(
        propagate_recording(x, nr, direction="backward").exit,
        propagate(x, nr, direction="backward"),
        rtol=0,
        atol=1e-13,
    )
    assert (propagate_recording(x, nr, direction="backward").exit - x @ u).abs().max() > 1e-2


# -- acceptance: exact on ideal hardware -------------------------------------------------


@pytest.mark.parametrize(
    ("n_layers", "activation", "encoding"),
    [
        (1, "none", "amplitude"),
        (1, "none", "phase"),
        (2, "electro-optic", "amplitude"),
        (2, "electro-optic", "phase"),
        (3, "modulus", "amplitude"),
    ],
)
def test_ideal_insitu_equals_autograd(generator, n_layers, activation, encoding):
    # noise-free, lossless, complex128: the three intensity passes reproduce autograd to
    # rounding (DESIGN.md: cosine error < 1e-12); coupler errors keep the mesh unitary.
    model, x, loss_fn = _problem(
        generator,
        n_layers=n_layers,
        activation=activation,
        encoding=encoding,
        coupler_error=0.03,
    )
    g_hat = insitu_gradient(model, x, loss_fn)
    g = _autograd(model, x, loss_fn)
    assert set(k for k in g_hat if not k.startswith("_")) == set(g)
    for k, v in g.items():
        assert g_hat[k].shape == v.shape and g_hat[k].dtype == v.dtype
    assert cosine_error(g_hat, g) < 1e-12
    for k in g:  # element-wise too (not only the direction)
        torch.testing.assert_close(g_hat[k], g[k], rtol=1e-9, atol=1e-12)
    assert float(g_hat["_loss"]) == pytest.approx(float(loss_fn(model(x)).detach()), rel=1e-12)


def test_insitu_matches_central_finite_differences(generator):
    model, x, loss_fn = _problem(generator, n_layers=2)
    g_hat = insitu_gradient(model, x, loss_fn)
    params = dict(model.named_parameters())
    # Fourth-order central differences along unit-norm seeded directions, h = 1e-4 rad:
    # truncation ~h^4 |L^(5)| ~ 1e-10 relative here (the electro-optic activation is strongly
    # curved; h = 1e-3 is already too coarse), rounding ~1e-16 / h ~ 1e-12.
    h = 1e-4

    def loss_at(d, t):
        with torch.no_grad():
            for k, p in params.items():
                p.add_(t * d[k])
            value = float(loss_fn(model(x)))
            for k, p in params.items():
                p.sub_(t * d[k])
        return value

    for trial in range(4):
        d = {k: torch.randn(p.shape, dtype=p.dtype, generator=generator) for k, p in params.items()}
        norm = math.sqrt(sum(float(v.square().sum()) for v in d.values()))
        d = {k: v / norm for k, v in d.items()}
        fd = (-loss_at(d, 2 * h) + 8 * loss_at(d, h) - 8 * loss_at(d, -h) + loss_at(d, -2 * h)) / (
            12 * h
        )
        pred = sum(float((g_hat[k] * d[k]).sum()) for k in params)
        assert pred == pytest.approx(fd, rel=1e-7), f"direction {trial}"


# -- the checks that must fail ----------------------------------------------------------


def test_without_phase_conjugation_the_gradient_is_wrong(generator):
    model, x, loss_fn = _problem(generator)
    g = _autograd(model, x, loss_fn)
    err = cosine_error(
        insitu_gradient(model, x, loss_fn, hardware=HardwareConfig(conjugation=False)), g
    )
    assert err > 0.1


def test_a_nonreciprocal_element_breaks_the_gradient(generator):
    # Faraday-type elements (+pi/2 forward, -pi/2 backward) in the first column of each mesh:
    # light sent back no longer sees U^T, and the measured gradient points elsewhere.
    model, x, loss_fn = _problem(generator, nonreciprocal_phase=_first_column_faraday(math.pi / 2))
    g = _autograd(model, x, loss_fn)
    assert cosine_error(insitu_gradient(model, x, loss_fn), g) > 0.1
    # the same element with zero phase is harmless (the check is about non-reciprocity)
    model0, x0, loss0 = _problem(
        torch.Generator().manual_seed(7), nonreciprocal_phase=_first_column_faraday(0.0)
    )
    assert cosine_error(insitu_gradient(model0, x0, loss0), _autograd(model0, x0, loss0)) < 1e-12


# -- imperfect hardware: errors are measured and reported ---------------------------------


def test_loss_and_noise_give_a_reported_nonzero_error(generator):
    model, x, loss_fn = _problem(generator, loss=10 ** (-0.2 / 20))  # 0.2 dB per MZI
    g = _autograd(model, x, loss_fn)
    err_loss = cosine_error(insitu_gradient(model, x, loss_fn), g)
    assert 1e-6 < err_loss < 1.0  # loss breaks time reversal: a visible, finite error
    hw = HardwareConfig.preset("pai2023", input_power=model.input_power)
    err_noise = gradient_error(
        insitu_gradient(model, x, loss_fn, hardware=hw, generator=generator), g
    )
    assert math.isfinite(err_noise) and err_noise > 1e-6
    real = HardwareConfig.preset("realistic", input_power=model.input_power)
    err_real = cosine_error(
        insitu_gradient(model, x, loss_fn, hardware=real, generator=generator), g
    )
    assert math.isfinite(err_real) and err_real > 1e-6


def test_noise_is_reproducible_and_drawn_from_the_generator():
    model, x, loss_fn = _problem(torch.Generator().manual_seed(3))
    hw = HardwareConfig.preset("realistic", input_power=model.input_power)
    a = insitu_gradient(model, x, loss_fn, hardware=hw, generator=torch.Generator().manual_seed(1))
    b = insitu_gradient(model, x, loss_fn, hardware=hw, generator=torch.Generator().manual_seed(1))
    c = insitu_gradient(model, x, loss_fn, hardware=hw, generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(a[k], b[k]) for k in a if not k.startswith("_"))
    assert not torch.equal(a["meshes.0.theta"], c["meshes.0.theta"])


def test_conjugate_source_errors_grow_the_error(generator):
    model, x, loss_fn = _problem(generator, batch=32)
    g = _autograd(model, x, loss_fn)
    errs = []
    for sigma in (0.0, 0.01, 0.1):
        hw = HardwareConfig(conjugation_amplitude_error=sigma, conjugation_phase_error=sigma)
        errs.append(
            cosine_error(
                insitu_gradient(
                    model, x, loss_fn, hardware=hw, generator=torch.Generator().manual_seed(0)
                ),
                g,
            )
        )
    assert errs[0] < 1e-12 < errs[1] < errs[2]


def test_hardware_config_validation_and_presets():
    with pytest.raises(ValueError, match="loss_db"):
        HardwareConfig(loss_db=-1.0)
    with pytest.raises(ValueError, match="crosstalk"):
        HardwareConfig(crosstalk=0.7)
    with pytest.raises(ValueError, match="hardware must be one of"):
        HardwareConfig.preset("perfect")
    pai = HardwareConfig.preset("pai2023", input_power=2e-3)
    assert pai.detector.shot_noise == 0.02 and pai.detector.reference_power == 2e-3
    assert not pai.has_device_errors
    assert HardwareConfig.preset("realistic").has_device_errors
    assert HardwareConfig.preset("ideal") == HardwareConfig(name="ideal")


def test_cosine_error_definition():
    a = {"w": torch.tensor([1.0, 0.0])}
    assert cosine_error(a, {"w": torch.tensor([2.0, 0.0])}) == pytest.approx(0.0, abs=1e-15)
    assert cosine_error(a, {"w": torch.tensor([0.0, 3.0])}) == pytest.approx(1.0)
    assert cosine_error(a, {"w": torch.tensor([-1.0, 0.0])}) == pytest.approx(2.0)


# -- through the real Mesh module ----------------------------------------------------------


def _mesh_problem(generator, imperfections=None):
    model = ONN(
        4,
        3,
        n_ports=6,
        n_layers=2,
        dtype=torch.complex128,
        generator=generator,
        mesh_kwargs={"imperfections": imperfections},
    )
    x = torch.randn(8, 4, dtype=torch.float64, generator=generator)
    y = torch.randint(0, 3, (8,), generator=generator)

    def loss_fn(logits):
        return torch.nn.functional.cross_entropy(logits, y)

    return model, x, loss_fn


def test_with_the_mesh_module_unitary_imperfections_stay_exact(generator):
    from wavebp.photonic import MeshImperfections

    # coupler and static phase errors keep each mesh unitary: still exact (< 1e-12)
    imp = MeshImperfections(coupler_error_sigma=0.05, phase_error_sigma=0.05)
    model, x, loss_fn = _mesh_problem(generator, imp)
    assert cosine_error(insitu_gradient(model, x, loss_fn), _autograd(model, x, loss_fn)) < 1e-12


def test_with_the_mesh_module_loss_crosstalk_and_faraday_elements_show(generator):
    from wavebp.photonic import MeshImperfections

    errors = {}
    for name, imp in {
        "loss": MeshImperfections(loss_db=0.1),
        "crosstalk": MeshImperfections(crosstalk=0.05),
        "faraday": MeshImperfections(nonreciprocal_phase=math.pi / 2, nonreciprocal_mzis=(0, 1, 2)),
    }.items():
        model, x, loss_fn = _mesh_problem(torch.Generator().manual_seed(11), imp)
        errors[name] = cosine_error(
            insitu_gradient(model, x, loss_fn), _autograd(model, x, loss_fn)
        )
    assert errors["loss"] > 1e-4  # loss: the conjugate path is not unitary
    assert errors["crosstalk"] > 1e-6  # measures dL/d(effective phase), not dL/d(programmed)
    assert errors["faraday"] > 0.1  # a non-reciprocal element: the check fails loudly


def test_differential_protocol_is_exact_and_cancels_the_loss_bias(generator):
    model, x, loss_fn = _problem(generator)
    g = _autograd(model, x, loss_fn)
    diff = HardwareConfig(protocol="differential")
    assert cosine_error(insitu_gradient(model, x, loss_fn, hardware=diff), g) < 1e-12
    lossy, xl, lossl = _problem(torch.Generator().manual_seed(5), loss=10 ** (-0.1 / 20))
    gl = _autograd(lossy, xl, lossl)
    three = cosine_error(insitu_gradient(lossy, xl, lossl), gl)
    differential = cosine_error(insitu_gradient(lossy, xl, lossl, hardware=diff), gl)
    assert 0 < differential < three / 10
    with pytest.raises(ValueError, match="protocol"):
        HardwareConfig(protocol="four-pass")


@pytest.mark.parametrize("protocol", ["three-pass", "differential"])
def test_svd_layers_with_attenuators_are_exact(generator, protocol):
    # mesh -> attenuator MZIs (signal j, auxiliary j) -> mesh: with the conjugate of the light
    # leaving the auxiliary inputs re-injected there, the 2N-port is lossless and exact.
    model = ONN(4, 2, n_ports=6, n_layers=2, svd=True, dtype=torch.complex128, generator=generator)
    x = torch.randn(8, 4, dtype=torch.float64, generator=generator)
    y = torch.randint(0, 2, (8,), generator=generator)

    def loss_fn(logits):
        return torch.nn.functional.cross_entropy(logits, y)

    g = _autograd(model, x, loss_fn)
    assert "meshes.1.attenuator.theta" in g
    g_hat = insitu_gradient(model, x, loss_fn, hardware=HardwareConfig(protocol=protocol))
    assert cosine_error(g_hat, g) < 1e-12
    torch.testing.assert_close(
        g_hat["meshes.0.attenuator.theta"], g["meshes.0.attenuator.theta"], rtol=1e-9, atol=1e-12
    )


def test_recorder_agrees_with_the_mesh_engines_field_recorder(generator):
    # two independent implementations of the fields at every phase shifter
    from wavebp.simulators.mesh import backward_fields, forward_fields

    layout = mesh_layout(6)
    params = _random_params(layout, generator, nonreciprocal=True)
    x = torch.randn(4, 6, dtype=torch.complex128, generator=generator)
    for mine, theirs in (
        (propagate_recording(x, params), forward_fields(x, params)),
        (propagate_recording(x, params, direction="backward"), backward_fields(x, params)),
    ):
        torch.testing.assert_close(mine.phi, theirs.after_phi, rtol=0, atol=1e-13)
        torch.testing.assert_close(mine.theta, theirs.after_theta, rtol=0, atol=1e-13)
        torch.testing.assert_close(mine.exit, theirs.output, rtol=0, atol=1e-13)


@settings(max_examples=15, deadline=None)
@given(
    n_ports=st.integers(min_value=2, max_value=5),
    n_layers=st.integers(min_value=1, max_value=2),
    batch=st.integers(min_value=1, max_value=4),
    topology=st.sampled_from(["clements", "reck"]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_property_ideal_insitu_is_exact(n_ports, n_layers, batch, topology, seed):
    gen = torch.Generator().manual_seed(seed)
    model = ONN(
        2,
        2,
        n_ports=n_ports,
        n_layers=n_layers,
        topology=topology,
        dtype=torch.complex128,
        generator=gen,
    )
    x = torch.randn(batch, 2, dtype=torch.float64, generator=gen)
    y = torch.randint(0, 2, (batch,), generator=gen)

    def loss_fn(logits):
        return torch.nn.functional.cross_entropy(logits, y)

    g = _autograd(model, x, loss_fn)
    g_hat = insitu_gradient(model, x, loss_fn)
    scale = max(float(v.abs().max()) for v in g.values())
    for k in g:  # element-wise to rounding, relative to the largest component
        assert float((g_hat[k] - g[k]).abs().max()) <= 1e-10 * max(scale, 1e-300)


@pytest.mark.parametrize("svd", [False, True])
def test_interference_fields_superpose_on_the_linear_device(generator, svd):
    # The differential protocol records its two interference passes h -+ i X as the
    # forward fields of h -+ i times those of X alone (one propagation for both): the
    # lossy chip with coupler errors is linear in the field, so these are the fields of
    # propagating h -+ i X (aux inputs included) to complex128 rounding.
    from wavebp.photonic import MeshImperfections
    from wavebp.photonic._insitu import _Layer, _superpose

    imp = MeshImperfections(coupler_error_sigma=0.05, loss_db=0.2)
    model = ONN(
        4,
        2,
        n_ports=6,
        n_layers=1,
        svd=svd,
        dtype=torch.complex128,
        generator=generator,
        mesh_kwargs={"imperfections": imp},
    )
    layer = _Layer(model.meshes[0])
    h = torch.randn(5, 6, dtype=torch.complex128, generator=generator)
    s = torch.randn(5, 6, dtype=torch.complex128, generator=generator)
    aux = {1: torch.randn(5, 6, dtype=torch.complex128, generator=generator)} if svd else {}
    alone = layer.forward(s, aux)
    for sign in (-1j, 1j):
        direct = layer.forward(h + sign * s, {i: sign * a for i, a in aux.items()})
        combined = [_superpose(f, c, sign) for f, c in zip(layer.forward(h), alone, strict=True)]
        assert len(direct) == len(combined) == (3 if svd else 1)
        for d, c in zip(direct, combined, strict=True):
            for name in ("phi", "theta", "output", "exit"):
                if hasattr(d, name):
                    assert (getattr(d, name) - getattr(c, name)).abs().max() < 1e-13
