"""``wavebp sweep``: options, the co-design Monte-Carlo end to end (fast, serial), resume."""

from __future__ import annotations

import argparse
import json
import shlex

import pytest

pandas = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from pandas.testing import assert_frame_equal  # noqa: E402

from wavebp.cli import _sweep as cli  # noqa: E402
from wavebp.experiments import _sweep, task_seed  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    # the lead registers the subcommand in wavebp.cli at integration; until then, our own parser
    parser = argparse.ArgumentParser(prog="wavebp sweep")
    cli.add_arguments(parser)
    return parser


def _run(*argv: str) -> int:
    return cli.run(_parser().parse_args([*argv, "--no-progress"]))


def test_help_and_examples_parse(capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--scheduler", "--workers", "--chips", "--gap-sigma-nm", "--resume", "--fast"):
        assert flag in text
    for example in cli.EXAMPLES:
        argv = shlex.split(example.split("#")[0])
        assert argv[:2] == ["wavebp", "sweep"]
        _parser().parse_args(argv[2:])  # every example is a valid command line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--correction", "none,bogus"], "--correction takes a comma-separated subset"),
        (["--gap-sigma-nm", "0,x"], "--gap-sigma-nm takes comma-separated numbers"),
        (["--training", ""], "--training takes a comma-separated subset"),
    ],
)
def test_bad_grid_flags_are_parse_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--gap-sigma-nm", "-1"], "gap_sigma_nm entries must be in [0, inf) nm"),
        (["--gap-sigma-nm", "0,0"], "gap_sigma_nm must not repeat"),
        (["--chips", "0"], "chips must be an integer >= 1"),
        (["--workers", "-1"], "n_workers must be an integer >= 0"),
        (["--scheduler", "nohost"], "scheduler must be None"),
        # outside the shipped coupler table (1500-1600 nm): refused before any training
        (["--wavelength-nm", "1450"], "wavelength_nm entries must be in [1500, 1600] nm"),
    ],
)
def test_bad_values_exit_2(tmp_path, monkeypatch, argv, message, capsys):
    monkeypatch.setattr(_sweep, "_codesign_functions", _toy_functions)
    assert _run("--fast", "--out", str(tmp_path / "run"), *argv) == 2
    assert message in capsys.readouterr().err


# -- a toy network level (the glue, independent of the co-design models) -----------------------
def _toy_prepare(out, *, fast, seed, coupler_model):
    model_dir = out / "models"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "meta.json").write_text(
        json.dumps({"coupler_model": "toy", "models": {"nominal": {"clean_test_accuracy": 0.9}}})
    )
    return model_dir


def _toy_task(point, seed, *, model_dir):
    import torch

    noise = torch.rand((), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    drop = point["gap_sigma_nm"] * (0.01 if point["correction"] == "corrected" else 0.03)
    return {"accuracy": 0.9 - drop * float(noise), "fidelity": 1.0 - drop}


def _toy_functions():
    return _toy_prepare, _toy_task


def test_glue_with_toy_task_panels_and_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_sweep, "_codesign_functions", _toy_functions)
    out = tmp_path / "run"
    grid = ["--gap-sigma-nm", "0,4,8", "--wavelength-nm", "1540,1560", "--workers", "0"]
    assert _run("--fast", "--chips", "3", "--out", str(out), *grid) == 0
    printed = capsys.readouterr().out
    assert "72/72 chips (0 resumed, 72 computed)" in printed and "report.html" in printed
    table = pandas.read_parquet(out / "results.parquet")
    assert len(table) == 2 * 2 * 2 * 3 * 3  # training x correction x wavelength x gap x chips
    # chip r has the same seed at every grid point (common random numbers)
    assert table.groupby("repeat")["seed"].nunique().eq(1).all()
    assert set(table["seed"]) == {task_seed({}, r, seed=0, seed_keys=()) for r in range(3)}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["complete"] is True and metrics["max_gap_sigma_nm"] == 8.0
    (entry,) = [m for m in metrics["recovered_at_max_sigma"] if m["wavelength_nm"] == 1540.0]
    mean = table[(table.gap_sigma_nm == 8.0) & (table.wavelength_nm == 1540.0)]
    by = mean.groupby(["training", "correction"])["accuracy"].mean()
    assert entry["nominal+corrected minus nominal+none"] == pytest.approx(
        by["nominal", "corrected"] - by["nominal", "none"], rel=1e-12
    )
    summary = pandas.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 2 * 2 * 3 and set(summary["n"]) == {3}
    html = (out / "report.html").read_text()
    assert "figures/accuracy_vs_gap_sigma.png" in html and "common random numbers" in html
    assert (out / "figures" / "accuracy_vs_gap_sigma.png").stat().st_size > 10_000
    # an existing run needs --resume or --overwrite; resume must keep fast/seed
    assert _run("--fast", "--chips", "3", "--out", str(out), *grid) == 2
    assert _run("--fast", "--seed", "1", "--resume", "--out", str(out), *grid) == 2
    capsys.readouterr()
    # resume with more chips: only the new chips run, the old rows are unchanged
    assert _run("--fast", "--chips", "4", "--resume", "--out", str(out), *grid) == 0
    assert "96/96 chips (72 resumed, 24 computed)" in capsys.readouterr().out
    grown = pandas.read_parquet(out / "results.parquet")
    old = grown[grown["repeat"] < 3].reset_index(drop=True)
    assert_frame_equal(old, table)


# -- the real network level ----------------------------------------------------------------------
def test_fast_codesign_sweep_end_to_end(tmp_path, capsys):
    pytest.importorskip("wavebp.experiments._codesign")
    out = tmp_path / "run"
    # the analytic coupler model keeps this test independent of the shipped Meep table
    argv = ["--fast", "--chips", "2", "--gap-sigma-nm", "0,10", "--workers", "0"]
    argv += ["--coupler-model", "coupled-mode"]
    assert _run(*argv, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "16/16 chips (0 resumed, 16 computed)" in printed
    table = pandas.read_parquet(out / "results.parquet")
    assert len(table) == 16
    assert {"accuracy", "fidelity", "seed", "wall_s"} <= set(table.columns)
    assert table["accuracy"].between(0.0, 1.0).all()
    # without errors every uncorrected chip is the trained network itself
    clean = table[(table["gap_sigma_nm"] == 0.0) & (table["correction"] == "none")]
    spread = clean.groupby("training")["accuracy"].agg(["min", "max"])
    assert (spread["min"] == spread["max"]).all()
    # 10 nm gap errors cost accuracy without correction, and the correction wins some back
    acc = table.groupby(["training", "correction", "gap_sigma_nm"])["accuracy"].mean()
    for training in ("nominal", "aware"):
        assert acc[training, "none", 10.0] < acc[training, "none", 0.0]
        assert acc[training, "corrected", 10.0] > acc[training, "none", 10.0]
    assert (out / "figures" / "accuracy_vs_gap_sigma.png").exists()
    assert (out / "models" / "meta.json").exists()
    # resume: nothing is recomputed, the table is the same
    assert _run(*argv, "--out", str(out), "--resume") == 0
    assert "16/16 chips (16 resumed, 0 computed)" in capsys.readouterr().out
    assert_frame_equal(pandas.read_parquet(out / "results.parquet"), table)
