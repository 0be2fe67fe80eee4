"""``wavebp train`` / ``wavebp demo`` command lines: run folders, errors, resume, dispatch."""

from __future__ import annotations

import json
import types

import pytest

import wavebp.cli._train as train_cli
from wavebp.cli import build_parser, main

TINY = ["--dataset", "iris", "--epochs", "1", "--batch-size", "40", "--no-progress"]


def test_help_lists_train_and_demo(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "train" in out and "demo" in out
    parser = build_parser()
    args = parser.parse_args(["train", "--out", "x"])
    # --gradient defaults per model (onn: insitu, wave-rnn: adjoint), resolved in run()
    assert args.model == "onn" and args.gradient is None


def test_train_writes_a_run_folder_and_refuses_to_clobber(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["insitu"]["test_accuracy"] <= 1.0
    assert (out / "report.html").exists() and (out / "checkpoints/latest.pt").exists()
    assert "report" in capsys.readouterr().out
    assert main(["train", *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", *TINY, "--out", str(out), "--overwrite"]) == 0


def test_train_both_modes_side_by_side(tmp_path):
    out = tmp_path / "both"
    assert (
        main(["train", *TINY, "--gradient", "both", "--hardware", "pai2023", "--out", str(out)])
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"insitu", "autograd"} <= set(metrics)


def test_resume_continues_a_finished_or_interrupted_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 2


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--dataset", "mnist"], "--dataset"),
        (["--gradient", "fd"], "--gradient"),
        (["--hardware", "perfect"], "--hardware"),
        (["--epochs", "0"], "epochs"),
    ],
)
def test_bad_options_fail_clearly(tmp_path, capsys, flags, match):
    assert main(["train", "--out", str(tmp_path / "x"), *flags]) == 2
    assert match in capsys.readouterr().err


def test_wave_rnn_dispatch(monkeypatch, tmp_path, capsys):
    calls = []
    fake = types.SimpleNamespace(
        add_wave_rnn_arguments=lambda group: None,
        run_wave_rnn=lambda args: calls.append(args) or 0,
    )
    monkeypatch.setattr(train_cli, "_wave_rnn_module", lambda: fake)
    assert main(["train", "--model", "wave-rnn", "--out", str(tmp_path / "w")]) == 0
    assert calls and calls[0].model == "wave-rnn"
    monkeypatch.setattr(train_cli, "_wave_rnn_module", lambda: None)
    assert main(["train", "--model", "wave-rnn", "--out", str(tmp_path / "w")]) == 2
    assert "wave-rnn" in capsys.readouterr().err


def test_demo_help(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--out" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_and_refreshes_its_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "1", "--no-progress"]) == 0
    assert main(["demo", "--out", str(out), "--epochs", "1", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"insitu", "autograd"} <= set(metrics)
    assert "report" in capsys.readouterr().out
