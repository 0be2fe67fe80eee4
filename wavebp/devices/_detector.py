r"""Photodetector read-out: optical power with shot noise, thermal noise and an ADC.

Noise model (all powers in W, referred to the optical input of the photodiode):

.. math::

    \hat P = Q_{\mathrm{ADC}}\!\left(P + \sqrt{\sigma_{\mathrm{shot}}^2 \, P \, P_{\mathrm{ref}}
             + \sigma_{\mathrm{th}}^2}\; \xi\right), \qquad \xi \sim \mathcal N(0, 1),

* **shot noise** — Poisson photo-electron statistics in the Gaussian limit: the variance is
  proportional to the power itself. ``shot_noise`` ``sigma_shot`` is dimensionless: the
  relative standard deviation of a reading at the reference power ``P_ref``
  (``std = sigma_shot * sqrt(P * P_ref)``). Physically, a diode of responsivity
  ``R`` (A/W) read over a bandwidth ``B`` (Hz) has ``std_P = sqrt(2 q P B / R)``, i.e.
  ``sigma_shot = sqrt(2 q B / (R P_ref))`` (:meth:`DetectorConfig.from_physical`).
  Pai et al. (Science 2023) model the tap photodiodes with ``sigma_shot = 0.02`` at unit
  (normalised) input power — the ``"pai2023"`` setting used by the in-situ engine.
* **thermal (Johnson) noise** of the trans-impedance load — signal independent, standard
  deviation ``thermal_noise`` in W (physically ``sqrt(4 k_B T B / R_L) / R``).
* **ADC** — ``adc_bits`` bits uniformly spanning ``[0, full_scale]`` W; readings are
  clipped to that range and rounded to the nearest level. ``adc_bits=None`` = no ADC.

The noise is drawn from ``generator`` (never from global state); with every noise term
zero the read-out returns ``P`` exactly (a copy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_int, check_real

__all__ = ["DetectorConfig", "photodetect"]

_ELEMENTARY_CHARGE = 1.602176634e-19  # C (exact)
_BOLTZMANN = 1.380649e-23  # J/K (exact)


@dataclass(frozen=True, kw_only=True)
class DetectorConfig:
    """A photodetector with shot noise, thermal noise and an ADC (see module docstring).

    Attributes:
        shot_noise: dimensionless relative shot-noise standard deviation at the reference
            power, ``>= 0``.
        reference_power: ``P_ref`` in W, ``> 0`` (the power at which a reading has relative
            standard deviation ``shot_noise``).
        thermal_noise: standard deviation of the signal-independent noise in W, ``>= 0``.
        adc_bits: ADC resolution in bits (1..32), or ``None`` for an ideal analogue read-out.
        full_scale: ADC full-scale power in W, ``> 0`` (used only with ``adc_bits``).
    """

    shot_noise: float = 0.0
    reference_power: float = 1.0
    thermal_noise: float = 0.0
    adc_bits: int | None = None
    full_scale: float = 1.0

    def __post_init__(self) -> None:
        check_real("shot_noise", self.shot_noise, low=0.0)
        check_real("reference_power", self.reference_power, low=0.0, low_inclusive=False, unit="W")
        check_real("thermal_noise", self.thermal_noise, low=0.0, unit="W")
        if self.adc_bits is not None:
            check_int("adc_bits", self.adc_bits, minimum=1, maximum=32)
        check_real("full_scale", self.full_scale, low=0.0, low_inclusive=False, unit="W")

    @property
    def is_ideal(self) -> bool:
        """True when the read-out returns the power exactly."""
        return self.shot_noise == 0.0 and self.thermal_noise == 0.0 and self.adc_bits is None

    @classmethod
    def from_physical(
        cls,
        *,
        responsivity: float = 0.8,
        bandwidth: float = 1e9,
        load_resistance: float = 1e3,
        temperature: float = 300.0,
        reference_power: float = 1e-3,
        adc_bits: int | None = None,
        full_scale: float = 1e-3,
    ) -> DetectorConfig:
        """A detector from device parameters.

        Args:
            responsivity: photodiode responsivity in A/W, ``> 0``.
            bandwidth: read-out (noise) bandwidth in Hz, ``> 0``.
            load_resistance: trans-impedance / load resistance in ohm, ``> 0``.
            temperature: load temperature in K, ``>= 0``.
            reference_power: power in W that the dimensionless shot noise refers to.
            adc_bits: ADC bits or ``None``.
            full_scale: ADC full scale in W.

        Returns:
            ``sigma_shot = sqrt(2 q B / (R P_ref))``, thermal noise
            ``sqrt(4 k_B T B / R_L) / R`` in W.
        """
        r = check_real("responsivity", responsivity, low=0.0, low_inclusive=False, unit="A/W")
        b = check_real("bandwidth", bandwidth, low=0.0, low_inclusive=False, unit="Hz")
        rl = check_real(
            "load_resistance", load_resistance, low=0.0, low_inclusive=False, unit="ohm"
        )
        t = check_real("temperature", temperature, low=0.0, unit="K")
        p_ref = check_real(
            "reference_power", reference_power, low=0.0, low_inclusive=False, unit="W"
        )
        shot = math.sqrt(2.0 * _ELEMENTARY_CHARGE * b / (r * p_ref))
        thermal = math.sqrt(4.0 * _BOLTZMANN * t * b / rl) / r
        return cls(
            shot_noise=shot,
            reference_power=p_ref,
            thermal_noise=thermal,
            adc_bits=adc_bits,
            full_scale=full_scale,
        )


def _randn(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, drawn on the generator's device."""
    device = like.device if generator is None else generator.device
    noise = torch.randn(like.shape, dtype=like.dtype, device=device, generator=generator)
    return noise.to(like.device)


def photodetect(
    power: torch.Tensor,
    *,
    detector: DetectorConfig | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Read optical powers through a photodetector.

    Args:
        power: optical power in W, real tensor of any shape (``>= 0`` physically; tiny
            negative rounding is tolerated).
        detector: the detector model; ``None`` = ideal (returns a copy of ``power``).
        generator: random source for the noise (required for reproducibility; ``None`` uses
            torch's default generator).

    Returns:
        The reading in W, same shape/dtype/device as ``power``. Differentiable only through
        the ideal path (the noise is additive and independent of the graph).
    """
    if power.is_complex():
        raise ValueError(f"power must be a real tensor in W, got dtype {power.dtype}")
    if detector is None or detector.is_ideal:
        return power.clone()
    out = power
    if detector.shot_noise > 0.0 or detector.thermal_noise > 0.0:
        var = (detector.shot_noise**2 * detector.reference_power) * power.detach().clamp_min(
            0.0
        ) + detector.thermal_noise**2
        noise = _randn(power, generator)
        out = out + var.sqrt() * noise
    if detector.adc_bits is not None:
        levels = 2**detector.adc_bits - 1
        step = detector.full_scale / levels
        q = torch.round(out.detach().clamp(0.0, detector.full_scale) / step) * step
        out = out + (q - out.detach())  # straight-through: value quantised, gradient 1
    return out
