"""Smooth reparametrisation of a parameter kept strictly inside ``(low, high)``.

``value = low + (high - low) * sigmoid(raw)``: any optimiser step on the unconstrained
``raw`` gives a value inside the bounds (no clipping; near a bound the gradient shrinks
by ``sigmoid'``).
"""

from __future__ import annotations

import torch

__all__ = ["from_bounded", "to_bounded"]


def to_bounded(raw: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``low + (high - low) * sigmoid(raw)``."""
    return low + (high - low) * torch.sigmoid(raw)


def from_bounded(
    name: str, value: torch.Tensor, *, low: float, high: float, unit: str = ""
) -> torch.Tensor:
    """The unconstrained ``raw`` with ``to_bounded(raw, low, high) == value``.

    Raises:
        ValueError: naming ``name``, the open interval with its unit and the first value
            outside it.
    """
    inside = (value > low) & (value < high)
    if not bool(inside.all()):
        bad = value[~inside].flatten()[0].item()
        raise ValueError(f"{name} must be in ({low:g}, {high:g}) {unit}, got {bad!r}")
    frac = (value - low) / (high - low)
    return torch.log(frac) - torch.log1p(-frac)
