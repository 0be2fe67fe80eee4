"""Wave-RNN run folder: contents, metrics, checkpoint/resume equals an uninterrupted run,
and the ``wavebp train --model wave-rnn`` smoke test."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from wavebp.experiments import RunFolder, fast_wave_rnn_config, run_wave_rnn_experiment


def test_fast_run_writes_folder_and_cv_metrics(tmp_path):
    config = fast_wave_rnn_config(max_folds=2, gradient="autograd")
    metrics = run_wave_rnn_experiment(config, out=tmp_path / "run", progress=False)
    run = tmp_path / "run"
    for name in ("config.json", "metrics.json", "history.csv", "report.html"):
        assert (run / name).exists(), name
    for fig in ("curves", "confusion", "fields_linear", "fields_kerr"):
        assert (run / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    assert metrics["reduced"] is True and metrics["folds_run"] == 2
    for medium in ("linear", "kerr"):
        m = metrics["media"][medium]
        accs = np.array(m["test_accuracy_per_fold"])
        assert accs.shape == (2,) and ((accs >= 0) & (accs <= 1)).all()
        assert m["test_accuracy_mean"] == pytest.approx(accs.mean())
        assert m["test_accuracy_std"] == pytest.approx(accs.std(ddof=1))
        # 2 folds of 3 speaker-grouped folds: 2 x 6 test tokens in the confusion matrices
        assert np.sum(m["confusion"]) == 12
    rows = RunFolder(run, resume=True).read_history()
    assert len(rows) == 2 * 2 * config.epochs
    assert "REDUCED" in (run / "report.html").read_text()
    assert json.loads((run / "config.json").read_text())["config"]["max_folds"] == 2


def test_resume_after_interrupts_equals_uninterrupted_run(tmp_path):
    config = fast_wave_rnn_config(media=("linear",), max_folds=2, epochs=2)
    full = run_wave_rnn_experiment(config, out=tmp_path / "a", progress=False)
    # interrupted after 1 epoch, then after 2 more (crossing from fold 0 to fold 1)
    first = run_wave_rnn_experiment(config, out=tmp_path / "b", progress=False, stop_after_epochs=1)
    assert first["interrupted"] is True
    second = run_wave_rnn_experiment(
        config, out=tmp_path / "b", resume=True, progress=False, stop_after_epochs=2
    )
    assert second["interrupted"] is True and second["units_done"] == 1
    resumed = run_wave_rnn_experiment(config, out=tmp_path / "b", resume=True, progress=False)
    assert resumed == full
    for fold in (0, 1):
        a = np.load(tmp_path / "a" / "arrays" / f"linear_fold{fold}.npz")
        b = np.load(tmp_path / "b" / "arrays" / f"linear_fold{fold}.npz")
        np.testing.assert_array_equal(a["theta"], b["theta"])  # bit-identical
    ha = RunFolder(tmp_path / "a", resume=True).read_history()
    hb = RunFolder(tmp_path / "b", resume=True).read_history()
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ha]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in hb]


def test_resume_with_other_config_is_refused(tmp_path):
    config = fast_wave_rnn_config(media=("linear",), max_folds=1, epochs=1)
    run_wave_rnn_experiment(config, out=tmp_path / "r", progress=False, stop_after_epochs=1)
    with pytest.raises(ValueError, match="same configuration"):
        run_wave_rnn_experiment(
            fast_wave_rnn_config(media=("linear",), max_folds=1, epochs=2),
            out=tmp_path / "r", resume=True, progress=False,
        )  # fmt: skip


def test_bad_run_config_names_parameter():
    with pytest.raises(ValueError, match="max_folds must be an integer in"):
        fast_wave_rnn_config(max_folds=7)
    with pytest.raises(ValueError, match="gradient must be 'adjoint' or 'autograd'"):
        fast_wave_rnn_config(gradient="insitu")


def _train_registered() -> bool:
    import wavebp.cli

    return importlib.util.find_spec("wavebp.cli._train") is not None and (
        "wavebp.cli._train" in wavebp.cli._COMMANDS
    )


@pytest.mark.skipif(
    not _train_registered(),
    reason="the `wavebp train` subcommand (wavebp/cli/_train.py) is not registered in "
    "wavebp.cli._COMMANDS yet",
)
def test_cli_train_wave_rnn_smoke(tmp_path, capsys):
    from wavebp.cli import main

    out = tmp_path / "cli"
    rc = main(
        ["train", "--model", "wave-rnn", "--fast", "--media", "linear", "--max-folds", "1",
         "--epochs", "1", "--seed", "3", "--gradient", "adjoint", "--out", str(out)]
    )  # fmt: skip
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["folds_run"] == 1 and "linear" in metrics["media"]
    assert str(out) in capsys.readouterr().out


def test_wave_rnn_cli_hooks_with_a_stand_in_train_parser(tmp_path, capsys):
    """``add_wave_rnn_arguments`` / ``run_wave_rnn`` under a parser with the common flags
    of ``wavebp train`` (a stand-in until the real subcommand exists)."""
    import argparse

    from wavebp.cli._wave_rnn import add_wave_rnn_arguments, run_wave_rnn

    parser = argparse.ArgumentParser()
    for flag in ("--dataset", "--gradient", "--optimizer", "--out"):
        parser.add_argument(flag, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--overwrite", action="store_true")
    add_wave_rnn_arguments(parser.add_argument_group("wave-rnn"))
    out = tmp_path / "cli"
    args = parser.parse_args(
        ["--fast", "--media", "linear", "--max-folds", "1", "--epochs", "1",
         "--gradient", "adjoint", "--out", str(out)]
    )  # fmt: skip
    assert run_wave_rnn(args) == 0
    assert str(out) in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["media"] == ["linear"] and config["epochs"] == 1
    rc = run_wave_rnn(parser.parse_args(["--fast", "--dataset", "digits", "--out", str(out)]))
    assert rc == 2
    assert "--dataset must be 'vowels'" in capsys.readouterr().err
