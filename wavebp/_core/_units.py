"""Physical constants and unit conversions. Public API is SI; non-SI names carry the unit."""

from __future__ import annotations

import math

import torch

__all__ = [
    "EPSILON_0",
    "MU_0",
    "SPEED_OF_LIGHT",
    "db_to_amplitude",
    "db_to_power",
    "power_to_db",
]

SPEED_OF_LIGHT = 299_792_458.0  # m/s (exact)
MU_0 = 1.25663706212e-6  # H/m (CODATA 2018)
EPSILON_0 = 1.0 / (MU_0 * SPEED_OF_LIGHT**2)  # F/m


def db_to_power(loss_db: float | torch.Tensor) -> float | torch.Tensor:
    """Power transmission of a loss given in dB: ``10 ** (-loss_db / 10)``."""
    if isinstance(loss_db, torch.Tensor):
        return torch.pow(10.0, -loss_db / 10.0)
    return 10.0 ** (-loss_db / 10.0)


def db_to_amplitude(loss_db: float | torch.Tensor) -> float | torch.Tensor:
    """Field (amplitude) transmission of a loss given in dB: ``10 ** (-loss_db / 20)``."""
    if isinstance(loss_db, torch.Tensor):
        return torch.pow(10.0, -loss_db / 20.0)
    return 10.0 ** (-loss_db / 20.0)


def power_to_db(power_ratio: float) -> float:
    """Loss in dB of a power transmission ``power_ratio`` in (0, 1]."""
    return -10.0 * math.log10(power_ratio)
