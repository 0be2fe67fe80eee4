"""The row type of the reciprocity table."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReciprocityRow"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return _jsonable(value.item())
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, complex):
        return {"re": value.real, "im": value.imag}
    return value


@dataclass(frozen=True, kw_only=True)
class ReciprocityRow:
    """One example of one engine: its residuals, its gradient error and the verdict.

    Attributes:
        engine: ``"mesh"``, ``"tmm"``, ``"fdtd"`` or ``"meep"``.
        example: short name of the example (physics in a few words).
        reciprocal_medium: whether the example's physics is reciprocal (what the verdict
            should find: ``"pass"``/``"degraded"`` for reciprocal media, ``"fail"`` for
            non-reciprocal ones).
        expected: the verdict the physics predicts (``"pass"``, ``"degraded"``, ``"fail"``).
        reciprocity_residual: ``||S - S^T|| / ||S||`` or the swapped source/receiver trace
            residual (dimensionless), or ``None`` if skipped.
        unitarity_residual: ``||S^H S - I|| / ||I||`` where the example is lossless, else
            ``None``.
        time_reversal_error: how far the phase-conjugated / h-flipped round trip is from
            returning the initial state (relative norm), or ``None``.
        gradient_cosine_error: ``1 - cos`` between the physical (in-situ / replayed /
            reciprocity-adjoint) gradient and autograd, or ``None``.
        verdict: ``"pass"``, ``"degraded"``, ``"fail"`` or ``"skipped"``
            (:func:`wavebp.analysis.reciprocity.verdict`).
        rule: the verdict rule with this engine's tolerances, in words.
        tolerances: ``{"reciprocity": ..., "gradient": ..., "wrong_gradient": ...}``.
        note: what the example is and how each number was measured.
        details: further numbers (JSON-able).
        runtime_s: wall time of the example in s.
    """

    engine: str
    example: str
    reciprocal_medium: bool
    expected: str
    reciprocity_residual: float | None
    unitarity_residual: float | None
    time_reversal_error: float | None
    gradient_cosine_error: float | None
    verdict: str
    rule: str = ""
    tolerances: dict[str, float] = field(default_factory=dict)
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    runtime_s: float = 0.0

    @property
    def as_expected(self) -> bool:
        """True when the verdict is the one the physics predicts (or the row was skipped)."""
        return self.verdict in (self.expected, "skipped")

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of every field plus ``as_expected``."""
        out = {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["as_expected"] = self.as_expected
        return out
