"""Helpers shared by the engine modules: the rule text and row assembly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wavebp.analysis.reciprocity._metrics import Tolerances, verdict
from wavebp.analysis.reciprocity._rows import ReciprocityRow

__all__ = ["make_row", "rule_text", "timed"]


def rule_text(tol: Tolerances) -> str:
    """The verdict rule with the engine's tolerances, in words."""
    return (
        f"pass: reciprocity residual <= {tol.reciprocity:.0e} and gradient cosine error <= "
        f"{tol.gradient:.0e}; degraded: reciprocal but cosine error > {tol.gradient:.0e} "
        f"(loss); fail: reciprocity residual > {tol.reciprocity:.0e} (a wrong gradient is "
        f"cosine error > {tol.wrong_gradient:g}). Tolerances: {tol.justification}"
    )


def make_row(
    *,
    engine: str,
    example: str,
    reciprocal_medium: bool,
    expected: str,
    tol: Tolerances,
    reciprocity: float | None,
    unitarity: float | None,
    time_reversal: float | None,
    gradient: float | None,
    note: str,
    details: dict[str, Any],
    runtime_s: float,
) -> ReciprocityRow:
    """A :class:`ReciprocityRow` with its verdict computed by :func:`verdict`."""
    return ReciprocityRow(
        engine=engine,
        example=example,
        reciprocal_medium=reciprocal_medium,
        expected=expected,
        reciprocity_residual=reciprocity,
        unitarity_residual=unitarity,
        time_reversal_error=time_reversal,
        gradient_cosine_error=gradient,
        verdict=verdict(reciprocity, gradient, tol),
        rule=rule_text(tol),
        tolerances={
            "reciprocity": tol.reciprocity,
            "gradient": tol.gradient,
            "wrong_gradient": tol.wrong_gradient,
        },
        note=note,
        details=details,
        runtime_s=runtime_s,
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
