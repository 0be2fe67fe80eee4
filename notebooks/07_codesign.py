# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 — Chip co-design: accuracy vs coupler fabrication error
#
# A photonic-chip designer asks: *what accuracy does this chip deliver, given how its parts
# are really made?* Here a 64-port Clements MZI mesh classifies scikit-learn's 8x8 digits.
# Two networks are trained once (`prepare_codesign`): **nominal** (ideal couplers) and
# **hardware-aware** (every optimizer step sees a freshly sampled chip). Then we fabricate
# many chips: each samples coupler gap errors of standard deviation `gap_sigma_nm`, which
# the coupler model turns into splitting-ratio errors. Each chip is programmed either with
# the trained phases (**none**) or with phases re-solved for its measured coupler errors
# (**corrected**, after Bandyopadhyay et al., Optica 2021), and measured on the test split.
#
# The Monte-Carlo runs through the sweep engine `wavebp.experiments.run_sweep`: one task per
# (grid point, chip), each with a seed hashed from (base seed, chip index) -- not from the
# order tasks run in -- so the table is the same serially or on any Dask cluster, and an
# interrupted sweep resumes without redoing finished chips. With `seed_keys=()` chip `r` is
# the same chip at every grid point (common random numbers): the comparisons between
# corrections, trainings and error scales are paired.
#
# Run as a script; `WAVEBP_FAST=1` uses the small training and few chips; figures go to
# `$WAVEBP_FIG_DIR` (default `notebooks/_out`). The sweep runs in-process here
# (`scheduler="serial"`): Dask's local worker processes re-import the main *script*, so
# from a script use `wavebp sweep` (local cluster by default, `--scheduler tcp://...` for a
# real one). In Jupyter, set `SCHEDULER = None` for a local cluster or pass an address.

# %%
import functools
import os
import shutil
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import torch

from wavebp.experiments import plot_sweep_bands, run_sweep, summarize_sweep, sweep_grid
from wavebp.experiments._codesign import prepare_codesign
from wavebp.experiments._sweep import codesign_chip_task

FAST = os.environ.get("WAVEBP_FAST", "0") not in ("0", "", "false")
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
RUN_DIR = FIG_DIR / "07_codesign_run"  # the models and sweep tables, fresh each run
shutil.rmtree(RUN_DIR, ignore_errors=True)
SEED = 0
SCHEDULER = "serial"
COUPLER_MODEL = os.environ.get("WAVEBP_COUPLER_MODEL", "table")
CHIPS = 4 if FAST else 24
GAP_SIGMAS_NM = [0.0, 5.0, 10.0] if FAST else [0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0]
# The networks are tiny: one intra-op thread is fastest (more only adds contention).
torch.set_num_threads(1)
T0 = time.perf_counter()

# %% [markdown]
# ## 1. Train (or load) the two networks
#
# `prepare_codesign` writes `models/{nominal,aware}.pt` and `models/meta.json` into the run
# folder and reuses them when they are there; the chip tasks only read them.

# %%
start = time.perf_counter()
model_dir = prepare_codesign(RUN_DIR, fast=FAST, seed=SEED, coupler_model=COUPLER_MODEL)
meta = pd.read_json(model_dir / "meta.json", typ="series")
print(f"coupler model: {meta['coupler_model']}; trained in {time.perf_counter() - start:.1f} s")
for name, info in meta["models"].items():
    print(f"  {name:>7}: clean test accuracy {info['clean_test_accuracy']:.3f}")

# %% [markdown]
# ## 2. The Monte-Carlo sweep
#
# Grid: gap-error sigma x correction x training at 1550 nm, no phase noise, no loss;
# `CHIPS` chips per point.

# %%
points = sweep_grid(
    training=["nominal", "aware"],
    correction=["none", "corrected"],
    wavelength_nm=[1550.0],
    loss_db=[0.0],
    phase_sigma=[0.0],
    gap_sigma_nm=GAP_SIGMAS_NM,
)
task = functools.partial(codesign_chip_task, model_dir=str(model_dir))
table = run_sweep(
    task,
    points,
    out=RUN_DIR / "sweep",
    seed=SEED,
    repeats=CHIPS,
    seed_keys=(),
    scheduler=SCHEDULER,
    progress=False,
)
print(
    f"{len(table)} chips in {table.attrs['wall_s']:.1f} s "
    f"({table['wall_s'].mean() * 1e3:.0f} ms per chip)"
)
summary = summarize_sweep(table, by=["training", "correction", "gap_sigma_nm"], value="accuracy")
print(summary.round(4).to_string(index=False))

# %%
path = plot_sweep_bands(
    table,
    x="gap_sigma_nm",
    y="accuracy",
    by=["training", "correction"],
    path=FIG_DIR / "07_accuracy_vs_gap_sigma.png",
    title=f"Test accuracy vs coupler gap-error std ({CHIPS} chips, mean +- std)",
    xlabel="gap-error std (nm)",
    ylabel="test accuracy",
)
print("figure:", path)

# %% [markdown]
# ## 3. What correction and hardware-aware training recover, chip by chip
#
# Because chip `r` is the same chip in every column, the gain of each remedy is a paired
# difference per chip: corrected minus uncorrected accuracy of the same network on the
# same chip, and aware minus nominal with the same programming.

# %%
wide = table.pivot_table(
    index=["gap_sigma_nm", "repeat"], columns=["training", "correction"], values="accuracy"
)
gains = pd.DataFrame(
    {
        "correction (nominal)": wide["nominal", "corrected"] - wide["nominal", "none"],
        "correction (aware)": wide["aware", "corrected"] - wide["aware", "none"],
        "aware training (none)": wide["aware", "none"] - wide["nominal", "none"],
        "aware training (corrected)": wide["aware", "corrected"] - wide["nominal", "corrected"],
    }
)
gain_stats = gains.groupby(level="gap_sigma_nm").agg(["mean", "std"])
print(gain_stats.round(4).to_string())

fig, ax = plt.subplots(figsize=(6.4, 4.0))
for name in gains.columns:
    mean = gain_stats[name, "mean"]
    std = gain_stats[name, "std"].fillna(0.0)
    ax.plot(mean.index, mean.values, marker="o", label=name)
    ax.fill_between(mean.index, mean - std, mean + std, alpha=0.2)
ax.axhline(0.0, color="k", lw=0.8)
ax.set_xlabel("gap-error std (nm)")
ax.set_ylabel("accuracy gained (paired, per chip)")
ax.set_title("What each remedy recovers (mean +- std over chips)", fontsize=10)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIG_DIR / "07_recovered_accuracy.png", dpi=110)
plt.close(fig)
print("figure:", FIG_DIR / "07_recovered_accuracy.png")

# %% [markdown]
# ## 4. Reproducible and resumable
#
# Running the same sweep again in the same folder recomputes nothing (every (point, chip)
# record is already in `sweep.jsonl`); running the largest-sigma points in reverse order
# in a fresh folder gives the same numbers, because the seeds do not depend on the order.

# %%
again = run_sweep(
    task,
    points,
    out=RUN_DIR / "sweep",
    repeats=CHIPS,
    seed=SEED,
    seed_keys=(),
    progress=False,
    scheduler=SCHEDULER,
)
print(
    f"resumed {again.attrs['n_resumed']} of {again.attrs['n_tasks']}, "
    f"computed {again.attrs['n_computed']}"
)
assert again.attrs["n_computed"] == 0
top = [p for p in points if p["gap_sigma_nm"] == max(GAP_SIGMAS_NM)][::-1]
fresh = run_sweep(
    task,
    top,
    out=RUN_DIR / "reversed",
    repeats=CHIPS,
    seed=SEED,
    seed_keys=(),
    progress=False,
    scheduler=SCHEDULER,
)
keys = ["training", "correction", "gap_sigma_nm", "repeat"]
cols = [*keys, "seed", "accuracy", "fidelity"]
a = table[table["gap_sigma_nm"] == max(GAP_SIGMAS_NM)][cols].sort_values(keys)
b = fresh[cols].sort_values(keys)
assert (a.to_numpy() == b.to_numpy()).all(), "a reordered sweep must give the same numbers"
print(f"reordered sweep of {len(b)} chips: identical seeds and accuracies")

# %% [markdown]
# ## Summary

# %%
hi = max(GAP_SIGMAS_NM)
at_hi = summary[summary["gap_sigma_nm"] == hi].set_index(["training", "correction"])["mean"]
at_0 = summary[summary["gap_sigma_nm"] == 0.0].set_index(["training", "correction"])["mean"]
for (training, correction), value in at_hi.items():
    print(
        f"{training:>7} / {correction:<9}: accuracy {at_0[training, correction]:.3f} "
        f"without errors -> {value:.3f} at gap sigma {hi:g} nm"
    )
print(f"run folder: {RUN_DIR}; total {time.perf_counter() - T0:.1f} s")
