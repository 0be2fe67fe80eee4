"""Run folders: atomic checkpoints, resume rules, history, report."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

from wavebp.experiments import Report, RunFolder, to_jsonable


@dataclass(frozen=True, kw_only=True)
class _Cfg:
    lr: float = 0.1
    dtype: torch.dtype = torch.complex64


def test_config_metrics_history_roundtrip(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.write_config(_Cfg(), note="x")
    assert run.read_config() == {"lr": 0.1, "dtype": "complex64"}
    run.write_metrics({"autograd": {"test_accuracy": torch.tensor(0.9)}})
    assert run.read_metrics()["autograd"]["test_accuracy"] == pytest.approx(0.9)
    for epoch in range(3):
        run.append_history({"epoch": epoch, "loss": 1.0 / (epoch + 1)})
    run.truncate_history(2)
    rows = run.read_history()
    assert [int(r["epoch"]) for r in rows] == [0, 1]


def test_existing_run_needs_resume_or_overwrite(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.write_config(_Cfg())
    with pytest.raises(FileExistsError, match="--resume"):
        RunFolder(tmp_path / "r")
    RunFolder(tmp_path / "r", resume=True)
    fresh = RunFolder(tmp_path / "r", overwrite=True)
    assert not (fresh.path / "config.json").exists()
    with pytest.raises(FileNotFoundError, match="holds no run"):
        RunFolder(tmp_path / "empty", resume=True)


def test_checkpoint_latest_and_epoch(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert run.load_checkpoint() is None
    run.save_checkpoint({"epoch": 0, "w": torch.ones(2)}, epoch=0)
    run.save_checkpoint({"epoch": 1, "w": torch.zeros(2)}, epoch=1)
    state = run.load_checkpoint()
    assert state["epoch"] == 1
    assert (run.path / "checkpoints" / "epoch_000.pt").exists()
    assert not list((run.path / "checkpoints").glob(".*tmp"))


def test_report_html(tmp_path):
    run = RunFolder(tmp_path / "r")
    fig = run.figure_path("f")
    fig.write_bytes(b"")
    path = (
        Report("T")
        .heading("H")
        .paragraph("a < b")
        .table([{"mode": "insitu", "acc": 0.91234}])
        .figure(fig, caption="c", root=run.path)
        .write(run.path / "report.html")
    )
    text = path.read_text()
    assert "a &lt; b" in text and "0.9123" in text and 'src="figures/f.png"' in text


def test_to_jsonable_handles_odd_values():
    out = to_jsonable({"c": 1 + 2j, "inf": float("inf"), "t": torch.arange(2)})
    assert json.loads(json.dumps(out)) == {"c": {"re": 1.0, "im": 2.0}, "inf": "inf", "t": [0, 1]}
