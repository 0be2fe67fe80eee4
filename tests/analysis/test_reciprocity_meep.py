"""Meep rows of the reciprocity table (marker ``meep``: own pytest process, DESIGN.md)."""

from __future__ import annotations

import pytest

from wavebp.analysis.reciprocity import meep_rows


@pytest.mark.meep
def test_meep_reciprocal_twin_passes_and_gyrotropic_slab_fails():
    rows = {r.example: r for r in meep_rows(fast=True)}
    twin = rows["reciprocal twin"]
    gyro = rows["gyrotropic (magneto-optic) slab"]
    if twin.verdict == "skipped":
        pytest.skip(twin.note)
    assert twin.verdict == "pass"
    assert twin.reciprocity_residual < 1e-3  # VALIDATION.md: S21 = S12 to 1e-3 (verdict: 1e-9)
    assert twin.gradient_cosine_error < 1e-6
    assert gyro.verdict == "fail"
    assert gyro.reciprocity_residual > 1e-2  # breaks it measurably
    assert gyro.gradient_cosine_error > 0.1  # and the physical gradient is wrong
