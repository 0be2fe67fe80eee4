"""``wavebp paper``: options, run folder, JSON verdicts and report."""

from __future__ import annotations

import json

import pytest
import torch

from wavebp.analysis.paper import VERDICTS, rule_bn_matches, rule_bn_vs_plain
from wavebp.cli import build_parser, main


@pytest.fixture(autouse=True)
def _restore_threads():
    # the command sets torch's thread count (default 1); give the process its own back
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def test_help_lists_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["paper", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "wavebp paper --fast" in out and "--only" in out and "--out" in out


def test_fast_only_4_writes_report_and_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["paper", "--fast", "--only", "4", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "claim 4:" in printed and "report.html" in printed
    record = json.loads((out / "claims.json").read_text())
    assert list(record["claims"]) == ["4"] and record["complete"] is True
    claim = record["claims"]["4"]
    assert claim["verdict"] in VERDICTS
    subs = {s["name"]: s for s in claim["sub_claims"]}
    # the verdict follows from the recorded numbers by the stated rule
    rows = claim["numbers"]["rows"]
    assert subs["impedance_matching"]["verdict"] == rule_bn_matches(
        [r["log_gain_bn_ci95"][0] for r in rows], [r["log_gain_bn_ci95"][1] for r in rows]
    )
    assert subs["bn_vs_plain"]["verdict"] == rule_bn_vs_plain(
        [r["abs_diff_ci95"][0] for r in rows], [r["abs_diff_ci95"][1] for r in rows]
    )
    assert claim["verdict"] == subs[claim["headline"]]["verdict"]
    html = (out / "report.html").read_text()
    assert "Rule:" in html and "figures/claim4_batchnorm_matching.png" in html
    assert (out / "figures" / "claim4_batchnorm_matching.png").stat().st_size > 10_000
    assert json.loads((out / "metrics.json").read_text())["verdicts"] == {"4": claim["verdict"]}
    # same seed, same numbers (seeded per claim); an existing run needs --overwrite
    assert main(["paper", "--fast", "--only", "4", "--out", str(out), "--no-progress"]) == 2
    assert (
        main(["paper", "--fast", "--only", "4", "--out", str(out), "--no-progress", "--overwrite"])
        == 0
    )
    again = json.loads((out / "claims.json").read_text())["claims"]["4"]
    assert again["numbers"]["rows"] == rows


@pytest.mark.parametrize("only", ["9", "0", "2,2"])
def test_bad_only_is_an_error(only, tmp_path, capsys):
    assert main(["paper", "--only", only, "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "only" in capsys.readouterr().err
