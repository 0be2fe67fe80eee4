r"""Optical nonlinear activations acting element-wise on complex fields.

Fields are in ``sqrt(W)``: ``|z|^2`` is the optical power in W on a waveguide.

:class:`ElectroOpticActivation` — Williamson et al., "Reprogrammable electro-optic nonlinear
activation functions for optical neural networks", IEEE JSTQE 26, 7700412 (2020). A
directional coupler taps a fraction ``alpha`` of the power to a photodiode (responsivity
``R``); its photocurrent, amplified by a trans-impedance gain ``G``, adds to a static bias
``V_b`` on the phase shifter of an MZI intensity modulator (``V_pi``) that the remaining
light passes through:

.. math::

    f(z) = i\sqrt{1-\alpha}\; \exp\!\Big(-\tfrac{i}{2}\big(g|z|^2 + \phi_b\big)\Big)
           \cos\!\Big(\tfrac12\big(g|z|^2 + \phi_b\big)\Big)\, z,
    \qquad g = \frac{\pi\,\alpha\,G\,R}{V_\pi},\quad \phi_b = \frac{\pi V_b}{V_\pi}.

This is the formula neuroptica and neurophox implement, with their default parameters
``alpha = 0.1``, ``R = 0.8 A/W``, ``G = 1e3 ohm``, ``V_pi = 10 V``, ``V_b = 10 V``
(so ``phi_b = pi``: dark at low power, transmission rising with power — ReLU-like). One
difference of units: neuroptica's ``g`` carries a factor ``area * 1e-12 / (2 * impedance)``
that converts a field in V/m to W; our fields are already in ``sqrt(W)``, so that factor is 1
and ``g`` is in rad/W (25.1 rad/W with the defaults).

:class:`ModulusActivation` — ``f(z) = |z|`` (the nonlinearity Pai et al. 2023 applied
between their photonic layers, computed digitally after coherent detection).
"""

from __future__ import annotations

import math

import torch

from wavebp._core import check_real

__all__ = ["ElectroOpticActivation", "ModulusActivation", "electro_optic_activation"]


def electro_optic_activation(
    z: torch.Tensor, *, alpha: float, gain: float, phase_bias: float
) -> torch.Tensor:
    r"""The electro-optic activation of Williamson et al. (2020) (module docstring).

    Args:
        z: complex field in sqrt(W), any shape.
        alpha: tapped power fraction, in ``[0, 1)``.
        gain: feed-forward phase gain ``g`` in rad/W.
        phase_bias: bias phase ``phi_b`` in rad.

    Returns:
        ``f(z)``, same shape and dtype as ``z``; differentiable (Wirtinger, non-holomorphic).
    """
    if not z.is_complex():
        raise ValueError(f"z must be a complex field in sqrt(W), got dtype {z.dtype}")
    half = 0.5 * (gain * (z.real.square() + z.imag.square()) + phase_bias)
    rotation = torch.polar(torch.ones_like(half), -half)
    return (1j * math.sqrt(1.0 - alpha)) * rotation * torch.cos(half) * z


class ElectroOpticActivation(torch.nn.Module):
    """Electro-optic activation (Williamson et al. 2020), element-wise on complex fields.

    Args:
        alpha: fraction of the power tapped to the photodiode, in ``[0, 1)``.
        responsivity: photodiode responsivity ``R`` in A/W, ``> 0``.
        transimpedance: amplifier gain ``G`` in ohm (V/A), ``>= 0``.
        v_pi: modulator half-wave voltage in V, ``> 0``.
        v_bias: static bias voltage in V.
        gain: if given, the phase gain ``g`` in rad/W directly (overrides the physical
            parameters ``responsivity``, ``transimpedance``); ``phase_bias`` likewise
            overrides ``v_bias``.
        phase_bias: bias phase in rad (see ``gain``).
    """

    def __init__(
        self,
        *,
        alpha: float = 0.1,
        responsivity: float = 0.8,
        transimpedance: float = 1e3,
        v_pi: float = 10.0,
        v_bias: float = 10.0,
        gain: float | None = None,
        phase_bias: float | None = None,
    ) -> None:
        super().__init__()
        self.alpha = check_real("alpha", alpha, low=0.0, high=1.0, high_inclusive=False)
        r = check_real("responsivity", responsivity, low=0.0, low_inclusive=False, unit="A/W")
        g_ti = check_real("transimpedance", transimpedance, low=0.0, unit="ohm")
        vpi = check_real("v_pi", v_pi, low=0.0, low_inclusive=False, unit="V")
        vb = check_real("v_bias", v_bias, unit="V")
        self.gain = (
            math.pi * self.alpha * g_ti * r / vpi
            if gain is None
            else check_real("gain", gain, unit="rad/W")
        )
        self.phase_bias = (
            math.pi * vb / vpi if phase_bias is None else check_real("phase_bias", phase_bias)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Apply ``f`` element-wise; ``z`` complex in sqrt(W), any shape."""
        return electro_optic_activation(
            z, alpha=self.alpha, gain=self.gain, phase_bias=self.phase_bias
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, gain={self.gain:.4g} rad/W, phase_bias={self.phase_bias:.4g}"


class ModulusActivation(torch.nn.Module):
    """``f(z) = |z|`` returned as a complex tensor (zero phase), element-wise.

    The derivative at ``z = 0`` is undefined; a tiny ``eps`` (in sqrt(W)) regularises it.
    """

    def __init__(self, *, eps: float = 1e-12) -> None:
        super().__init__()
        self.eps = check_real("eps", eps, low=0.0, low_inclusive=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``sqrt(|z|^2 + eps^2)`` as complex, same shape/dtype as ``z``."""
        if not z.is_complex():
            raise ValueError(f"z must be a complex field in sqrt(W), got dtype {z.dtype}")
        mag = (z.real.square() + z.imag.square() + self.eps**2).sqrt()
        return mag.to(z.dtype)
