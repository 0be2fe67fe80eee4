"""The optical neural network: encodings, signal path, read-out, validation."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.devices import DetectorConfig, ElectroOpticActivation, ModulusActivation
from wavebp.photonic import ONN


def test_amplitude_encoding_normalises_power_and_pads(generator):
    model = ONN(3, 2, n_ports=6, input_power=2e-3, dtype=torch.complex128, generator=generator)
    x = torch.tensor([[3.0, 4.0, 0.0], [1.0, -1.0, 1.0]], dtype=torch.float64)
    h = model.encode(x)
    assert h.shape == (2, 6) and h.dtype == torch.complex128
    torch.testing.assert_close(
        h.abs().square().sum(-1), torch.full((2,), 2e-3, dtype=torch.float64)
    )
    assert torch.all(h[:, 3:] == 0)
    # the amplitude profile is the feature vector (sign = 0 / pi phase)
    torch.testing.assert_close(
        h[0, :2].real, math.sqrt(2e-3) * torch.tensor([0.6, 0.8], dtype=torch.float64)
    )


def test_phase_encoding_with_several_gains(generator):
    model = ONN(
        2,
        2,
        n_ports=6,
        encoding="phase",
        phase_scales=(1.0, 2.0),
        input_power=1e-3,
        dtype=torch.complex128,
        generator=generator,
    )
    x = torch.tensor([[0.3, -0.5]], dtype=torch.float64)
    h = model.encode(x)
    torch.testing.assert_close(
        h.abs(), torch.full((1, 6), math.sqrt(1e-3 / 6), dtype=torch.float64)
    )
    expected = torch.tensor([0.3, -0.5, 0.6, -1.0, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(h.angle()[0], expected)


def test_forward_is_the_documented_signal_path(generator):
    model = ONN(
        4,
        2,
        n_ports=4,
        n_layers=2,
        ports_per_class=2,
        readout_gain=7.0,
        dtype=torch.complex128,
        generator=generator,
    )
    x = torch.rand(5, 4, dtype=torch.float64, generator=generator) + 0.1
    h0 = model.encode(x)
    z1 = h0 @ model.meshes[0].matrix().mT
    h1 = model.activations[0](z1)
    z2 = h1 @ model.meshes[1].matrix().mT
    p = z2.abs().square()
    pk = torch.stack([p[:, 0] + p[:, 2], p[:, 1] + p[:, 3]], -1)  # ports k, k + C
    expected = 7.0 * pk / pk.sum(-1, keepdim=True)
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)
    assert isinstance(model.activations[0], ElectroOpticActivation)


def test_activation_choice_and_lossless_power(generator):
    m = ONN(3, 3, n_layers=3, activation="modulus", dtype=torch.complex128, generator=generator)
    assert all(isinstance(a, ModulusActivation) for a in m.activations)
    lin = ONN(3, 3, n_layers=2, activation="none", dtype=torch.complex128, generator=generator)
    x = torch.rand(4, 3, dtype=torch.float64, generator=generator) + 0.1
    z = lin.optical_forward(lin.encode(x))[-1]
    # two ideal meshes and no activation: power is conserved (unitary to ~1e-15)
    torch.testing.assert_close(
        z.abs().square().sum(-1),
        torch.full((4,), lin.input_power, dtype=torch.float64),
        rtol=1e-12,
        atol=0,
    )


def test_detector_noise_only_with_a_detector(generator):
    model = ONN(4, 2, dtype=torch.complex128, generator=generator)
    x = torch.rand(6, 4, dtype=torch.float64, generator=generator) + 0.1
    clean = model(x)
    noisy = model(
        x,
        detector=DetectorConfig(shot_noise=0.05, reference_power=1e-3),
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.equal(model(x), clean)
    assert not torch.allclose(noisy, clean)


def test_parameters_are_only_mesh_phases(generator):
    model = ONN(4, 2, n_layers=2, generator=generator)
    names = {n for n, _ in model.named_parameters()}
    assert names == {f"meshes.{i}.{p}" for i in range(2) for p in ("theta", "phi", "output_phase")}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_ports": 3}, "n_ports"),
        ({"encoding": "frequency"}, "encoding"),
        ({"activation": "relu"}, "activation"),
        ({"readout_gain": 0.0}, "readout_gain"),
        ({"input_power": -1.0}, "input_power"),
        ({"dtype": torch.float32}, "dtype"),
        ({"n_layers": 0}, "n_layers"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ONN(4, 2, **kwargs)


def test_bad_inputs_raise(generator):
    model = ONN(4, 2, generator=generator)
    with pytest.raises(ValueError, match="n_features=4"):
        model(torch.rand(3, 5))
    with pytest.raises(ValueError, match="nonzero norm"):
        model(torch.zeros(2, 4))


def test_svd_layer_is_mesh_attenuators_mesh(generator):
    model = ONN(
        4, 2, n_ports=4, svd=True, activation="none", dtype=torch.complex128, generator=generator
    )
    layer = model.meshes[0]
    t = layer.attenuator.transmission()
    # t_j = i exp(i theta/2) sin(theta/2): |t| <= 1, the attenuator MZI's bar transmission
    theta = layer.attenuator.theta.detach()
    torch.testing.assert_close(
        t.detach(), 1j * torch.polar(torch.ones_like(theta), theta / 2) * torch.sin(theta / 2)
    )
    m = layer.mesh_out.matrix() @ torch.diag(t) @ layer.mesh_in.matrix()
    x = torch.rand(3, 4, dtype=torch.float64, generator=generator) + 0.1
    torch.testing.assert_close(
        model.optical_forward(model.encode(x))[-1], model.encode(x) @ m.mT, rtol=1e-12, atol=1e-14
    )
    assert torch.linalg.matrix_norm(m, ord=2) <= 1 + 1e-12
