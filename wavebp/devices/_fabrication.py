"""Fabrication-error sampling: static coupler splitting errors and phase offsets."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_int, check_real

__all__ = ["FabricationErrors", "sample_fabrication_errors"]

_MAX_COUPLER_ERROR = math.pi / 4


@dataclass(frozen=True, kw_only=True)
class FabricationErrors:
    """One fabricated chip's static errors (sampled once, then fixed).

    Attributes:
        coupler_error: splitting errors ``(e1, e2)`` of each MZI's couplers in rad, real
            ``(M, 2)``, each in ``(-pi/4, pi/4)``.
        theta_offset: static offset of each internal phase shifter in rad, real ``(M,)``.
        phi_offset: static offset of each external phase shifter in rad, real ``(M,)``.
    """

    coupler_error: torch.Tensor
    theta_offset: torch.Tensor
    phi_offset: torch.Tensor


def sample_fabrication_errors(
    n_mzis: int,
    *,
    coupler_error_sigma: float = 0.0,
    phase_error_sigma: float = 0.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> FabricationErrors:
    r"""Sample static fabrication errors for ``n_mzis`` MZIs.

    Coupler errors are normal with standard deviation ``coupler_error_sigma``, clipped to
    ``±0.999 pi/4`` (a coupler cannot split beyond 0:100); phase offsets are normal with
    ``phase_error_sigma``. The draws use ``generator`` in a fixed order (coupler errors,
    then theta offsets, then phi offsets), so a seeded generator gives the same chip.

    Args:
        n_mzis: number of MZIs, an integer >= 1.
        coupler_error_sigma: std of each coupler's splitting error in rad, in ``[0, pi/4)``.
        phase_error_sigma: std of each phase shifter's static offset in rad, ``>= 0``.
        generator: source of randomness (``None``: torch's default generator).
        dtype: real dtype of the samples (float32 or float64).
        device: device of the samples (``None``: the generator's device, else the CPU).

    Returns:
        :class:`FabricationErrors`.
    """
    m = check_int("n_mzis", n_mzis, minimum=1)
    c_sigma = check_real(
        "coupler_error_sigma",
        coupler_error_sigma,
        low=0.0,
        high=_MAX_COUPLER_ERROR,
        high_inclusive=False,
        unit="rad",
    )
    p_sigma = check_real("phase_error_sigma", phase_error_sigma, low=0.0, unit="rad")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    gen_device = generator.device if generator is not None else torch.device("cpu")

    def normal(*shape: int) -> torch.Tensor:
        z = torch.randn(*shape, generator=generator, dtype=torch.float64, device=gen_device)
        return z.to(dtype=dtype, device=device if device is not None else gen_device)

    limit = 0.999 * _MAX_COUPLER_ERROR
    coupler = (normal(m, 2) * c_sigma).clamp(-limit, limit)
    theta = normal(m) * p_sigma
    phi = normal(m) * p_sigma
    return FabricationErrors(coupler_error=coupler, theta_offset=theta, phi_offset=phi)
