"""Validation, units and dtype helpers. Imports nothing else from wavebp."""

from wavebp._core._bounded import from_bounded, to_bounded
from wavebp._core._progress import Progress, progress
from wavebp._core._tensors import as_tensor, complex_dtype, real_dtype, to_numpy
from wavebp._core._units import (
    EPSILON_0,
    MU_0,
    SPEED_OF_LIGHT,
    db_to_amplitude,
    db_to_power,
    power_to_db,
)
from wavebp._core._validation import check_choice, check_finite, check_int, check_real

__all__ = [
    "EPSILON_0",
    "MU_0",
    "SPEED_OF_LIGHT",
    "Progress",
    "as_tensor",
    "check_choice",
    "check_finite",
    "check_int",
    "check_real",
    "complex_dtype",
    "db_to_amplitude",
    "db_to_power",
    "from_bounded",
    "power_to_db",
    "progress",
    "real_dtype",
    "to_bounded",
    "to_numpy",
]
