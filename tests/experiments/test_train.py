"""Training runs: run folder contents, metrics, bit-for-bit resume, interrupt, data sets."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from wavebp.experiments import (
    TrainConfig,
    gradient_checks,
    load_dataset,
    train_comparison,
    train_onn,
)

TINY = {"dataset": "moons", "max_train": 64, "batch_size": 16, "epochs": 2, "lr": 0.05}


def test_datasets_are_offline_seeded_and_split():
    d = load_dataset("digits", seed=0)
    assert d.x_train.shape[0] + d.x_test.shape[0] == 1797 and d.n_features == 64
    assert d.n_classes == 10 and float(d.x_train.max()) <= 1.0
    iris = load_dataset("iris", seed=0)
    assert iris.x_train.shape[0] + iris.x_test.shape[0] == 150 and iris.n_classes == 3
    a, b = load_dataset("moons", seed=3), load_dataset("moons", seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_train, load_dataset("moons", seed=4).x_train)
    c = load_dataset("circles", seed=0)
    torch.testing.assert_close(
        c.x_train.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0
    )  # standardised on the training split
    with pytest.raises(ValueError, match="dataset"):
        load_dataset("mnist")


def test_train_run_folder_and_metrics(tmp_path):
    cfg = TrainConfig(gradient="insitu", **TINY)
    m = train_onn(cfg, tmp_path / "run", show_progress=False)
    run = tmp_path / "run"
    for f in (
        "config.json",
        "metrics.json",
        "history.csv",
        "report.html",
        "checkpoints/latest.pt",
        "checkpoints/epoch_001.pt",
        "checkpoints/epoch_002.pt",
        "figures/curves.png",
        "figures/gradient_error.png",
        "figures/confusion.png",
        "arrays/results.npz",
    ):
        assert (run / f).exists(), f
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["insitu"]["test_accuracy"] == m["insitu"]["test_accuracy"]
    assert 0.0 <= m["insitu"]["test_accuracy"] <= 1.0 and m["status"] == "finished"
    # ideal hardware, complex64: in-situ and autograd agree to float32 rounding
    assert m["insitu"]["gradient_error_median"] < 1e-5
    hist = (run / "history.csv").read_text().strip().splitlines()
    assert len(hist) == 3  # header + 2 epochs
    with pytest.raises(FileExistsError):
        train_onn(cfg, run, show_progress=False)


def test_interrupt_then_resume_is_bit_for_bit(tmp_path):
    cfg = TrainConfig(
        gradient="insitu",
        hardware="pai2023",
        epochs=3,
        **{k: v for k, v in TINY.items() if k != "epochs"},
    )
    full = train_onn(cfg, tmp_path / "full", show_progress=False)
    # 64 samples / 16 = 4 steps per epoch: stop after 6 steps (mid-epoch 2), then resume
    part = train_onn(cfg, tmp_path / "part", show_progress=False, stop_after_steps=6)
    assert part["status"] == "interrupted"
    resumed = train_onn(None, tmp_path / "part", resume=True, show_progress=False)
    assert resumed["status"] == "finished"
    a = torch.load(tmp_path / "full/checkpoints/latest.pt", weights_only=False)
    b = torch.load(tmp_path / "part/checkpoints/latest.pt", weights_only=False)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert full["insitu"]["test_accuracy"] == resumed["insitu"]["test_accuracy"]
    assert (tmp_path / "full/history.csv").read_text() != ""
    rows_a = (tmp_path / "full/history.csv").read_text().splitlines()
    rows_b = (tmp_path / "part/history.csv").read_text().splitlines()
    # identical numbers except the wall-clock column
    strip = [",".join(r.split(",")[:-1]) for r in rows_a]
    assert strip == [",".join(r.split(",")[:-1]) for r in rows_b]
    assert np.array_equal(a["state"]["grad_errors"], b["state"]["grad_errors"])


def test_comparison_writes_both_modes(tmp_path):
    cfgs = [TrainConfig(gradient=g, **dict(TINY, epochs=1)) for g in ("insitu", "autograd")]
    m = train_comparison(cfgs, tmp_path / "cmp", show_progress=False)
    saved = json.loads((tmp_path / "cmp/metrics.json").read_text())
    for mode in ("insitu", "autograd"):
        assert 0.0 <= saved[mode]["test_accuracy"] <= 1.0
        assert (tmp_path / "cmp" / mode / "report.html").exists()
    assert (tmp_path / "cmp/report.html").exists() and m["status"] == "finished"


def test_realistic_hardware_reports_the_gradient_error(tmp_path):
    cfg = TrainConfig(gradient="insitu", hardware="realistic", **dict(TINY, epochs=1))
    m = train_onn(cfg, tmp_path / "r", show_progress=False)
    err = m["insitu"]["gradient_error_median"]
    assert 1e-4 < err < 1.0  # noise and loss show up; never hidden


def test_gradient_checks_pass_and_fail_as_designed():
    rows = {r["case"]: r["gradient error"] for r in gradient_checks(batch=8)}
    assert rows["ideal (lossless, noise-free)"] < 1e-12
    assert rows["phase conjugation off"] > 0.1
    assert rows["Faraday elements (+-pi/2) in column 0"] > 0.1
    three = rows["insertion loss 0.1 dB/MZI, three-pass"]
    diff = rows["insertion loss 0.1 dB/MZI, differential"]
    assert 0 < diff < three < 1  # loss biases the three-pass rule; the differential one less


def test_config_validation():
    with pytest.raises(ValueError, match="gradient"):
        TrainConfig(gradient="finite-differences")
    with pytest.raises(ValueError, match="hardware"):
        TrainConfig(hardware="perfect")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    assert dataclasses.replace(TrainConfig(), lr=0.5).lr == 0.5


def test_interrupt_in_the_first_epoch_then_resume(tmp_path):
    cfg = TrainConfig(gradient="autograd", **dict(TINY, epochs=1))
    early = train_onn(cfg, tmp_path / "early", show_progress=False, stop_after_steps=1)
    assert early["status"] == "interrupted" and early["autograd"]["epochs_completed"] == 0
    done = train_onn(None, tmp_path / "early", resume=True, show_progress=False)
    assert done["status"] == "finished" and done["autograd"]["epochs_completed"] == 1
