"""Optical activations: Williamson et al. (2020) electro-optic formula, limits, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wavebp.devices import ElectroOpticActivation, ModulusActivation, electro_optic_activation


def test_default_parameters_follow_williamson_2020():
    act = ElectroOpticActivation()
    # g = pi alpha G R / V_pi with alpha 0.1, G 1e3 ohm, R 0.8 A/W, V_pi 10 V; phi_b = pi.
    assert act.gain == pytest.approx(math.pi * 0.1 * 1e3 * 0.8 / 10.0, rel=1e-15)
    assert act.phase_bias == pytest.approx(math.pi, rel=1e-15)
    assert act.alpha == 0.1


def test_formula_against_an_independent_numpy_evaluation(generator):
    z = torch.randn(50, dtype=torch.complex128, generator=generator) * 0.3
    alpha, g, phi_b = 0.2, 3.0, 0.7
    out = electro_optic_activation(z, alpha=alpha, gain=g, phase_bias=phi_b).numpy()
    zn = z.numpy()
    dphi = g * np.abs(zn) ** 2 + phi_b
    ref = 1j * np.sqrt(1 - alpha) * np.exp(-0.5j * dphi) * np.cos(0.5 * dphi) * zn
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)
    # power transmission (1 - alpha) cos^2(dphi / 2)
    t = np.abs(out) ** 2 / np.abs(zn) ** 2
    np.testing.assert_allclose(t, (1 - alpha) * np.cos(0.5 * dphi) ** 2, rtol=1e-12)


def test_limits_bias_pi_blocks_low_power_and_zero_bias_transmits():
    z = torch.tensor([1e-4 + 0j], dtype=torch.complex128)
    dark = ElectroOpticActivation()(z)  # phi_b = pi, g |z|^2 ~ 2.5e-7 rad
    assert float(dark.abs()) < 1e-10
    open_ = ElectroOpticActivation(gain=0.0, phase_bias=0.0, alpha=0.19)(z)
    torch.testing.assert_close(open_, 1j * math.sqrt(0.81) * z, rtol=1e-15, atol=0)


def test_gradcheck_complex128(generator):
    z = (torch.randn(6, dtype=torch.complex128, generator=generator) * 0.5).requires_grad_()
    act = ElectroOpticActivation(gain=2.0, phase_bias=1.0)
    assert torch.autograd.gradcheck(act, (z,))
    assert torch.autograd.gradcheck(ModulusActivation(), (z,))


def test_modulus_and_dtype_follow_input():
    z = torch.tensor([3 + 4j, -1j], dtype=torch.complex64)
    out = ModulusActivation()(z)
    assert out.dtype == torch.complex64
    torch.testing.assert_close(out.real, torch.tensor([5.0, 1.0]))
    assert ElectroOpticActivation()(z).dtype == torch.complex64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"alpha": 1.0}, "alpha"), ({"v_pi": 0.0}, "v_pi"), ({"responsivity": -1.0}, "responsivity")],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ElectroOpticActivation(**kwargs)


def test_real_input_is_rejected():
    with pytest.raises(ValueError, match="complex"):
        ElectroOpticActivation()(torch.ones(3))
