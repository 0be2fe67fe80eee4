"""The experiments of ``wavebp paper``: every recorded verdict follows from the recorded
numbers by the rule stated in the report (full fast run: ``-m slow``)."""

from __future__ import annotations

import numpy as np
import pytest

from wavebp.analysis.paper import (
    VERDICTS,
    kerr_harmonics,
    rule_bn_matches,
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


def test_kerr_medium_generates_odd_harmonics():
    pytest.importorskip("wavebp.simulators.fdtd")
    res = kerr_harmonics(kerr_strengths=(0.0, 0.01), n_steps=1500)
    # c(u) = c0 + c_nl u^2 is even in u: the 3rd harmonic appears, the 2nd stays at the
    # windowed-DFT leakage floor of the linear medium (~1e-6)
    assert res["h3"][1] > 1e3 * res["h3"][0]
    assert res["h2"][1] < 1e-4
    assert rule_kerr_harmonics(res["kappa"], res["thd"]) == "supported"


def _recompute(number: str, subs: dict) -> dict[str, str]:
    n = {k: v["numbers"] for k, v in subs.items()}
    if number == "1":
        return {
            "steady_state": rule_steady_state(n["steady_state"]["max_abs_error"]),
            "time_reversal": rule_time_reversal(n["time_reversal"]["growth_rate_over_gamma"]),
        }
    if number == "3":
        return {
            "short_paths": rule_short_paths(n["short_paths"]["mean_length_over_n"]),
            "lesion": rule_lesion(
                n["lesion"]["median_drop_resnet"], n["lesion"]["median_drop_plain"]
            ),
        }
    if number == "4":
        return {
            "impedance_matching": rule_bn_matches(
                [c[0] for c in n["impedance_matching"]["ci95"]],
                [c[1] for c in n["impedance_matching"]["ci95"]],
            )
        }
    if number == "5":
        return {
            "modes_follow_pcs": rule_modes_follow_pcs(
                n["modes_follow_pcs"]["overlap_pc"], n["modes_follow_pcs"]["overlap_label"]
            )
        }
    if number == "6":
        return {
            "spectral_bias": rule_positive_correlation(
                n["spectral_bias"]["spearman_k_vs_learn_step"]
            ),
            "flat_response_accuracy": rule_positive_correlation(
                n["flat_response_accuracy"]["spearman_peak_vs_test_mse"]
            ),
        }
    if number == "7":
        out = {
            "nonlinearity_expressivity": rule_positive_correlation(
                n["nonlinearity_expressivity"]["spearman"]
            ),
            "linear_no_harmonics": rule_linear_no_harmonics(
                n["linear_no_harmonics"]["thd_linear_max"]
            ),
        }
        if "kerr_harmonics" in n:
            out["kerr_harmonics"] = rule_kerr_harmonics(
                n["kerr_harmonics"]["kappa"], n["kerr_harmonics"]["thd"]
            )
        return out
    return {}


@pytest.mark.slow
def test_full_fast_run_verdicts_follow_rules(tmp_path):
    from wavebp.experiments._paper import PaperConfig, run_paper

    record = run_paper(PaperConfig(fast=True), tmp_path / "run", progress=False)
    assert sorted(record["claims"], key=int) == [str(i) for i in range(1, 8)]
    for number, claim in record["claims"].items():
        assert claim["verdict"] in VERDICTS
        subs = {s["name"]: s for s in claim["sub_claims"]}
        assert claim["verdict"] == subs[claim["headline"]]["verdict"]
        for name, verdict in _recompute(number, subs).items():
            assert subs[name]["verdict"] == verdict, (number, name)
    rows = record["claims"]["2"]["numbers"]["rows"]
    pred = np.array([r["log_chi_pred"] for r in rows])
    gb = np.array([r["log_gain_backward"] for r in rows])
    gf = np.array([r["log_gain_forward_signal"] for r in rows])
    subs2 = {s["name"]: s["verdict"] for s in record["claims"]["2"]["sub_claims"]}
    assert subs2["error_wave_gain"] == rule_error_wave_gain(pred, gb)
    assert subs2["reciprocal_absorption"] == rule_reciprocal_absorption(gb, gf)
    acts = [r["activation"] for r in rows]
    relu = gb[[a == "relu" for a in acts]]
    sig = gb[[a == "sigmoid" for a in acts]]
    assert subs2["relu_absorbs_less"] == rule_relu_absorbs_less(relu, sig)
    # the steady state of eq. (1) reproduces the forward pass of the trained MLP
    assert record["claims"]["1"]["sub_claims"][0]["numbers"]["max_abs_error"] < 1e-8
    assert (tmp_path / "run" / "report.html").exists()
