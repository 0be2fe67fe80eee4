"""Input validation that names the parameter, its valid range (with unit) and the value given.

Every public function in wavebp validates user input with these helpers instead of
``assert``, so that a bad call fails with a message such as
``ValueError: n_ports must be an integer >= 2, got 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import torch

__all__ = [
    "check_choice",
    "check_finite",
    "check_int",
    "check_real",
]


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as ``int`` if it is an integer within ``[minimum, maximum]``.

    Raises:
        ValueError: naming ``name``, the valid range and ``value``.
    """
    if minimum is not None and maximum is not None:
        valid = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        valid = f"an integer >= {minimum}"
    elif maximum is not None:
        valid = f"an integer <= {maximum}"
    else:
        valid = "an integer"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
) -> float:
    """Return ``value`` as ``float`` if it is a finite real number in the given interval.

    Raises:
        ValueError: naming ``name``, the interval with its unit and ``value``.
    """
    lb = "[" if low_inclusive else "("
    rb = "]" if high_inclusive else ")"
    valid = f"in {lb}{low:g}, {high:g}{rb}{_unit(unit)}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number {valid}, got {value!r}")
    value = float(value)
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    finite_or_open_top = math.isfinite(value) or (math.isinf(high) and value == high)
    if not finite_or_open_top or not (ok_low and ok_high):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        ValueError: naming ``name``, the allowed choices and ``value``.
    """
    choices = tuple(choices)
    if value not in choices:
        options = " | ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Return ``tensor`` if every entry is finite (real and imaginary parts).

    Raises:
        ValueError: naming ``name`` and how many entries are not finite.
    """
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(
            f"{name} must be finite everywhere, got {bad} non-finite entries "
            f"of {tensor.numel()} (shape {tuple(tensor.shape)})"
        )
    return tensor
