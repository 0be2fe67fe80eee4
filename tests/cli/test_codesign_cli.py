"""``wavebp codesign`` command line (tested through its own parser until registered)."""

from __future__ import annotations

import argparse
import json

import pytest

from wavebp.cli import _codesign as cli


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(argv))


def test_fast_run_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "cd"
    argv = [
        "--fast",
        "--epochs",
        "1",
        "--chips",
        "1",
        "--sigmas",
        "0,5",
        "--wavelengths",
        "1550",
        "--coupler-model",
        "coupled-mode",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert _run(argv) == 0
    text = capsys.readouterr().out
    assert "gap sigma" in text and "report.html" in text
    rec = json.loads((out / "codesign.json").read_text())
    assert rec["config"]["gap_sigmas_nm"] == [0.0, 5.0]
    assert rec["config"]["wavelengths_nm"] == [1550.0]
    assert _run(argv) == 2  # existing run without --overwrite
    assert "already holds a run" in capsys.readouterr().err


def test_bad_values_exit_2(tmp_path, capsys):
    assert _run(["--chips", "0", "--out", str(tmp_path / "x")]) == 2
    assert "n_chips" in capsys.readouterr().err
    # a wavelength outside the shipped coupler table: refused before training, no run folder
    out = tmp_path / "wl"
    assert _run(["--fast", "--wavelengths", "1450", "--out", str(out)]) == 2
    assert "wavelengths_nm entries must be in [1500, 1600] nm" in capsys.readouterr().err
    assert not out.exists()
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--sigmas", "a,b"])


def test_metadata():
    assert cli.NAME == "codesign"
    assert cli.EXAMPLES and cli.HELP
