"""``wavebp reciprocity``: fast mode writes its run folder and exits 0; options; errors."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from wavebp.cli import _reciprocity as cmd


@pytest.fixture(autouse=True)
def _restore_threads():
    # the command sets torch's thread count (default 1); give the process its own back
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="wavebp reciprocity")
    cmd.add_arguments(parser)
    return parser.parse_args(argv)


def test_fast_mode_writes_json_figure_report_and_exits_0(tmp_path, capsys):
    out = tmp_path / "run"
    assert cmd.run(_parse(["--fast", "--out", str(out)])) == 0
    printed = capsys.readouterr().out
    assert "recip.resid" in printed and "Faraday" in printed and "report.html" in printed
    record = json.loads((out / "reciprocity.json").read_text())
    assert record["engines"] == ["mesh", "tmm", "fdtd"]  # --fast leaves Meep out
    rows = record["rows"]
    assert {r["engine"] for r in rows} == {"mesh", "tmm", "fdtd"}
    # every example gets the verdict its physics predicts
    assert all(r["as_expected"] for r in rows), [r["example"] for r in rows if not r["as_expected"]]
    verdicts = {r["verdict"] for r in rows}
    assert {"pass", "fail", "degraded"} <= verdicts
    assert set(record["sweeps"]) == {"mesh", "fdtd"}
    assert (out / "figures" / "reciprocity.png").stat().st_size > 10_000
    assert "Verdict rules" in (out / "report.html").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["unexpected_verdicts"] == []
    # an existing run is not overwritten silently
    assert cmd.run(_parse(["--fast", "--out", str(out)])) == 2


def test_engine_option_and_bad_values(tmp_path, capsys):
    args = _parse(["--engines", "tmm", "--out", str(tmp_path / "t")])
    assert args.engines == ("tmm",)
    assert cmd.run(args) == 0
    record = json.loads((tmp_path / "t" / "reciprocity.json").read_text())
    assert [r["engine"] for r in record["rows"]] == ["tmm"] * 4 and record["sweeps"] == {}
    with pytest.raises(SystemExit):
        _parse(["--engines", "mesh,comsol"])
    assert (
        cmd.run(_parse(["--engines", "tmm", "--threads", "0", "--out", str(tmp_path / "x")])) == 2
    )
    assert "--threads" in capsys.readouterr().err


def test_internal_error_exits_1(tmp_path, monkeypatch, capsys):
    import wavebp.experiments._reciprocity as exp

    def broken(config):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(exp, "reciprocity_rows", broken)
    assert cmd.run(_parse(["--engines", "tmm", "--out", str(tmp_path / "e")])) == 1
    assert "internal error" in capsys.readouterr().err
