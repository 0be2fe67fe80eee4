"""Each verdict rule of ``wavebp paper`` on synthetic numbers either side of its threshold.

The verdicts in the report come only from these functions, so checking them on both sides
of every threshold checks that no verdict is hard-coded.
"""

from __future__ import annotations

import numpy as np
import pytest

from wavebp.analysis.paper import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    rule_bn_matches,
    rule_bn_vs_plain,
    rule_error_wave_gain,
    rule_kerr_harmonics,
    rule_lesion,
    rule_linear_no_harmonics,
    rule_modes_follow_pcs,
    rule_positive_correlation,
    rule_reciprocal_absorption,
    rule_relu_absorbs_less,
    rule_short_paths,
    rule_steady_state,
    rule_time_reversal,
)


@pytest.mark.parametrize(
    ("err", "verdict"),
    [(1e-12, SUPPORTED), (9.9e-9, SUPPORTED), (1.1e-8, INCONCLUSIVE), (1e-2, REFUTED)],
)
def test_rule_steady_state(err, verdict):
    assert rule_steady_state(err) == verdict


@pytest.mark.parametrize(
    ("ratios", "verdict"),
    [([1.2, 1.0, 0.6], REFUTED), ([1.2, 0.4], INCONCLUSIVE), ([0.0, -0.5, 0.09], SUPPORTED)],
)
def test_rule_time_reversal(ratios, verdict):
    assert rule_time_reversal(ratios) == verdict


def test_rule_error_wave_gain():
    pred = np.array([-1.0, -0.5, 0.5, 1.0, 0.05])
    assert rule_error_wave_gain(pred, pred + 0.01) == SUPPORTED
    assert rule_error_wave_gain(pred, pred + 0.1) == INCONCLUSIVE
    assert rule_error_wave_gain(pred, pred + 0.5) == REFUTED
    assert rule_error_wave_gain(pred, -pred) == REFUTED  # wrong class everywhere


def test_rule_reciprocal_and_relu():
    b = np.array([0.1, 0.2, -0.3])
    assert rule_reciprocal_absorption(b, b + 0.01) == SUPPORTED
    assert rule_reciprocal_absorption(b, b + 0.05) == INCONCLUSIVE
    assert rule_reciprocal_absorption(b, b + 0.2) == REFUTED
    assert rule_relu_absorbs_less(b + 1, b) == SUPPORTED
    assert rule_relu_absorbs_less(b - 1, b) == REFUTED
    assert rule_relu_absorbs_less(np.array([1.0, -1.0, 0.0]), np.zeros(3) + 0.5) == INCONCLUSIVE


def test_rule_short_paths_and_lesion():
    assert rule_short_paths([0.30, 0.31, 0.29]) == SUPPORTED
    assert rule_short_paths([0.47, 0.49, 0.48]) == INCONCLUSIVE
    assert rule_short_paths([0.60, 0.61, 0.62]) == REFUTED
    assert rule_lesion(0.05, 0.5) == SUPPORTED
    assert rule_lesion(0.2, 0.5) == INCONCLUSIVE
    assert rule_lesion(0.6, 0.5) == REFUTED


def test_rule_batchnorm():
    assert rule_bn_matches([-0.01, -0.015], [0.01, 0.015]) == SUPPORTED
    assert rule_bn_matches([-0.01, 0.03], [0.01, 0.05]) == REFUTED
    assert rule_bn_matches([-0.01, 0.0], [0.01, 0.05]) == INCONCLUSIVE
    assert rule_bn_vs_plain([-0.3, -0.2], [-0.1, -0.05]) == SUPPORTED
    assert rule_bn_vs_plain([0.1, -0.2], [0.2, -0.05]) == REFUTED
    assert rule_bn_vs_plain([-0.1, -0.2, -0.3], [0.2, -0.05, 0.1]) == INCONCLUSIVE


def test_rule_modes():
    assert rule_modes_follow_pcs([0.8, 0.85, 0.82], [0.1, 0.1, 0.1]) == SUPPORTED
    assert rule_modes_follow_pcs([0.01, 0.02, 0.0], [0.9, 0.91, 0.92]) == REFUTED
    assert rule_modes_follow_pcs([0.3, 0.35, 0.32], [0.6, 0.6, 0.6]) == INCONCLUSIVE
    assert rule_modes_follow_pcs([0.01, 0.02, 0.0], [0.3, 0.3, 0.3]) == INCONCLUSIVE


def test_rule_positive_correlation():
    assert rule_positive_correlation([0.9, 0.8, 0.95]) == SUPPORTED
    assert rule_positive_correlation([-0.9, -0.8, -0.95]) == REFUTED
    assert rule_positive_correlation([0.9, -0.8, 0.1]) == INCONCLUSIVE


def test_rule_harmonics():
    assert rule_linear_no_harmonics(1e-15) == SUPPORTED
    assert rule_linear_no_harmonics(1e-9) == INCONCLUSIVE
    assert rule_linear_no_harmonics(1e-3) == REFUTED
    k = [0.0, 0.01, 0.02, 0.03]
    assert rule_kerr_harmonics(k, [1e-7, 1e-3, 2e-3, 3e-3]) == SUPPORTED
    assert rule_kerr_harmonics(k, [1e-7, 1e-8, 1e-8, 1e-8]) == REFUTED  # flat
    assert rule_kerr_harmonics(k, [1e-7, 1e-3, 0.9e-3, 3e-3]) == INCONCLUSIVE
