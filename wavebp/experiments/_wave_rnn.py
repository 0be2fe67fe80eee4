"""Wave-RNN vowel classification: training runs and speaker-grouped k-fold cross-validation.

``run_wave_rnn_experiment(config, out=...)`` synthesises the vowel data set
(:mod:`wavebp.acoustic`), splits it into ``n_folds`` folds by speaker, and for each medium
in ``config.media`` (``"linear"``, ``"kerr"``) and each fold trains a fresh
:class:`~wavebp.acoustic.WaveRNN` on the other folds with Adam, evaluating the held-out
fold after every epoch. It writes a run folder (:class:`~wavebp.experiments.RunFolder`):
``config.json``, ``history.csv`` (one row per medium x fold x epoch), ``metrics.json``
(per medium: test accuracy per fold, mean +- sample std over folds, summed confusion
matrix), ``arrays/``, ``figures/`` (loss/accuracy curves, confusion matrices, trained
wave-speed maps, example fields) and ``report.html``.

Reproducibility: the data set, each fold's initial medium (the same for both media) and
each epoch's batch order come from seeds derived from ``config.seed``, so a resumed run
repeats an uninterrupted one exactly. A checkpoint is written after every epoch; the first
Ctrl-C stops after the current batch and keeps the last finished epoch's checkpoint
(``--resume`` continues from it).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavebp._core import Progress, check_choice, check_int, check_real
from wavebp.acoustic import (
    VowelConfig,
    VowelDataset,
    WaveRNN,
    WaveRNNConfig,
    make_vowel_dataset,
    speaker_folds,
    wave_rnn_accuracy,
    wave_rnn_loss,
)
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder

__all__ = ["WaveRNNRunConfig", "fast_wave_rnn_config", "run_wave_rnn_experiment"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True, kw_only=True)
class WaveRNNRunConfig:
    """A wave-RNN training / cross-validation run.

    Attributes:
        data: the synthetic vowel data set (its ``sample_rate`` must equal the model's).
        model: the wave-RNN geometry and materials (``medium`` is set per entry of
            ``media``; ``n_classes`` must equal the number of vowels).
        media: the media to train and compare, from ``("linear", "kerr")``.
        gradient: ``"adjoint"``, ``"autograd"`` or ``"insitu"`` (linear medium only).
        optimizer: ``"adam"`` or ``"sgd"``.
        epochs: training epochs per fold, >= 1.
        lr: learning rate (on ``theta``, the pre-sigmoid density).
        batch_size: tokens per optimizer step.
        n_folds: number of speaker-grouped folds, >= 2.
        max_folds: train and test only the first ``max_folds`` folds (``None``: all); a
            reduced run, reported as such.
        seed: seed of the data set, the initial media and the batch order.
        device: torch device (``"cpu"``, ``"cuda"``, ...).
        dtype: ``"float32"`` or ``"float64"``.
    """

    data: VowelConfig = field(default_factory=VowelConfig)
    model: WaveRNNConfig = field(default_factory=WaveRNNConfig)
    media: tuple[str, ...] = ("linear", "kerr")
    gradient: str = "adjoint"
    optimizer: str = "adam"
    epochs: int = 10
    lr: float = 0.1
    batch_size: int = 16
    n_folds: int = 5
    max_folds: int | None = None
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not self.media or len(set(self.media)) != len(self.media):
            raise ValueError(f"media must hold distinct media, got {self.media!r}")
        for m in self.media:
            check_choice("media", m, ("linear", "kerr"))
        check_choice("gradient", self.gradient, ("adjoint", "autograd", "insitu"))
        if self.gradient == "insitu" and "kerr" in self.media:
            raise ValueError(
                "gradient must be 'adjoint' or 'autograd' when media includes 'kerr' "
                "(the in-situ replay needs a linear medium), got 'insitu'"
            )
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_int("epochs", self.epochs, minimum=1)
        check_real("lr", self.lr, low=0.0, low_inclusive=False)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("n_folds", self.n_folds, minimum=2)
        if self.max_folds is not None:
            check_int("max_folds", self.max_folds, minimum=1, maximum=self.n_folds)
        check_int("seed", self.seed, minimum=0)
        check_choice("dtype", self.dtype, tuple(_DTYPES))
        if self.model.n_classes != len(self.data.vowels):
            raise ValueError(
                f"model.n_classes must equal the number of vowels ({len(self.data.vowels)}), "
                f"got {self.model.n_classes}"
            )
        if self.model.sample_rate != self.data.sample_rate:
            raise ValueError(
                "model.sample_rate must equal data.sample_rate "
                f"({self.data.sample_rate:g} Hz; one sample per step), "
                f"got {self.model.sample_rate:g} Hz"
            )

    @property
    def folds_run(self) -> int:
        """Number of folds actually trained and tested."""
        return self.n_folds if self.max_folds is None else self.max_folds


def fast_wave_rnn_config(**changes: Any) -> WaveRNNRunConfig:
    """A tiny configuration for tests and smoke runs (seconds on one CPU core).

    12x12 design cells, 6 PML cells, 4 kHz sampling, 0.03 s tokens (120 steps), 2 speakers
    per group (18 tokens), 3 folds, 2 epochs. ``changes`` override run-config fields.
    """
    data = VowelConfig(n_speakers=2, duration=0.03, sample_rate=4000.0, ramp=0.005)
    model = WaveRNNConfig(design_shape=(12, 12), pml_cells=6, sample_rate=4000.0)
    base = WaveRNNRunConfig(data=data, model=model, epochs=2, batch_size=6, n_folds=3, lr=0.2)
    return dataclasses.replace(base, **changes)


def _seed(*parts: int) -> torch.Generator:
    value = 0
    for p in parts:
        value = (value * 1_000_003 + int(p)) % (2**62)
    return torch.Generator().manual_seed(value)


def _evaluate(
    model: WaveRNN, data: VowelDataset, gradient: str, batch_size: int
) -> tuple[float, float, torch.Tensor]:
    """Mean loss, accuracy and energies (CPU) over ``data`` (no gradient)."""
    energies = []
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            x = data.waveforms[start : start + batch_size]
            energies.append(model(x, gradient=gradient).cpu())
    e = torch.cat(energies)
    labels = data.labels.cpu()
    return float(wave_rnn_loss(e.double(), labels)), wave_rnn_accuracy(e, labels), e


def _confusion(energies: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    pred = energies.argmax(dim=-1)
    return torch.bincount(labels * n + pred, minlength=n * n).reshape(n, n)


def run_wave_rnn_experiment(
    config: WaveRNNRunConfig,
    *,
    out: str | Path,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
    stop_after_epochs: int | None = None,
) -> dict[str, Any]:
    """Train / cross-validate the wave-RNN and write the run folder ``out``.

    Args:
        config: the run.
        out: run folder.
        resume: continue the run in ``out`` from its latest checkpoint.
        overwrite: replace a run already in ``out``.
        progress: show a progress bar (``None``: on a terminal or ``WAVEBP_PROGRESS=1``).
        stop_after_epochs: behave as if Ctrl-C came after this many epochs in this call
            (for tests of the interrupt/resume path); ``None`` = never.

    Returns:
        The metrics (also in ``metrics.json``); ``{"interrupted": True, ...}`` if stopped.
    """
    run = RunFolder(out, resume=resume, overwrite=overwrite)
    if resume:
        saved = run.read_config()
        now = _jsonable_config(config)
        if saved != now:
            raise ValueError(
                f"--resume needs the same configuration as the run in {run.path}; "
                "the given one differs (compare config.json)"
            )
    else:
        run.write_config(config)
    dtype = _DTYPES[config.dtype]
    device = torch.device(config.device)
    data = make_vowel_dataset(config.data, dtype=dtype, generator=_seed(config.seed, 1))
    data = dataclasses.replace(data, waveforms=data.waveforms.to(device))
    folds = speaker_folds(data, n_folds=config.n_folds, generator=_seed(config.seed, 2))
    units = [(m, f) for m in config.media for f in range(config.folds_run)]

    state = run.load_checkpoint() if resume else None
    results: list[dict[str, Any]] = [] if state is None else state["results"]
    start_unit = len(results) if state is None else state["unit"]
    start_epoch = 0 if state is None else state["epoch"]
    if state is not None:
        run.truncate_history(state["history_rows"])
    history_rows = 0 if state is None else state["history_rows"]

    n_train_max = max(len(data) - len(f) for f in folds)
    steps_per_epoch = math.ceil(n_train_max / config.batch_size)
    total = len(units) * config.epochs * steps_per_epoch
    done = (start_unit * config.epochs + start_epoch) * steps_per_epoch
    bar = Progress(total, desc="wave-rnn", enabled=progress)
    bar.update(done)
    epochs_this_call = 0
    interrupted = False
    with GracefulInterrupt() as stop:
        for u in range(start_unit, len(units)):
            medium, fold = units[u]
            test_idx = folds[fold]
            mask = torch.ones(len(data), dtype=torch.bool)
            mask[test_idx] = False
            train = data.subset(torch.nonzero(mask).flatten())
            test = data.subset(test_idx)
            model_cfg = dataclasses.replace(config.model, medium=medium)
            model = WaveRNN(
                model_cfg, dtype=dtype, device=device, generator=_seed(config.seed, 3, fold)
            )
            opt = _optimizer(config, model)
            first_epoch = 0
            curves: dict[str, list[float]] = {
                k: [] for k in ("train_loss", "train_acc", "test_loss", "test_acc")
            }
            if state is not None and u == start_unit and start_epoch > 0:
                model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                curves = state["curves"]
                first_epoch = start_epoch
            for epoch in range(first_epoch, config.epochs):
                t0 = time.perf_counter()
                order = torch.randperm(len(train), generator=_seed(config.seed, 4, u, epoch))
                loss_sum, correct = 0.0, 0.0
                for start in range(0, len(train), config.batch_size):
                    idx = order[start : start + config.batch_size]
                    x = train.waveforms[idx.to(train.waveforms.device)]
                    y = train.labels[idx].to(device)
                    opt.zero_grad()
                    energies = model(x, gradient=config.gradient)
                    loss = wave_rnn_loss(energies, y)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(
                            f"non-finite loss (medium {medium}, fold {fold}, epoch "
                            f"{epoch + 1}): the simulation went unstable; for the Kerr "
                            "medium check --kerr-speed-change / --kerr-amplitude and the input "
                            "amplitude"
                        )
                    loss.backward()
                    opt.step()
                    loss_sum += loss.item() * len(idx)
                    correct += wave_rnn_accuracy(energies.detach(), y) * len(idx)
                    bar.update(1, medium=medium, fold=fold, epoch=epoch, loss=loss.item())
                    if stop.stop_requested:
                        break
                if stop.stop_requested:
                    interrupted = True
                    break
                test_loss, test_acc, _ = _evaluate(
                    model, test, config.gradient, max(config.batch_size, 32)
                )
                row = {
                    "medium": medium,
                    "fold": fold,
                    "epoch": epoch + 1,
                    "train_loss": loss_sum / len(train),
                    "train_acc": correct / len(train),
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    "seconds": time.perf_counter() - t0,
                }
                run.append_history(row)
                history_rows += 1
                for k in curves:
                    curves[k].append(row[k])
                last = epoch + 1 == config.epochs
                if last:
                    results.append(_finish_unit(run, model, test, medium, fold, curves, config))
                run.save_checkpoint(
                    {
                        "unit": u + 1 if last else u,
                        "epoch": 0 if last else epoch + 1,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "curves": curves,
                        "results": results,
                        "history_rows": history_rows,
                    },
                    epoch=None,
                )
                epochs_this_call += 1
                if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
                    stop.stop_requested = True
                if stop.stop_requested:
                    interrupted = True
                    break
            if interrupted:
                break
    bar.close()
    if interrupted:
        print(
            f"stopped; the last finished epoch is checkpointed in {run.path}; "
            "continue with --resume"
        )
        return {"interrupted": True, "units_done": len(results), "units": len(units)}
    metrics = _summarise(results, config, len(data))
    run.write_metrics(metrics)
    _write_report(run, config, metrics, results, data, folds)
    return metrics


def _jsonable_config(config: WaveRNNRunConfig) -> Any:
    import json

    from wavebp.experiments._runfolder import to_jsonable

    return json.loads(json.dumps(to_jsonable(config)))


def _optimizer(config: WaveRNNRunConfig, model: WaveRNN) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)


def _finish_unit(
    run: RunFolder,
    model: WaveRNN,
    test: VowelDataset,
    medium: str,
    fold: int,
    curves: dict[str, list[float]],
    config: WaveRNNRunConfig,
) -> dict[str, Any]:
    _, acc, energies = _evaluate(model, test, config.gradient, max(config.batch_size, 32))
    n = config.model.n_classes
    confusion = _confusion(energies, test.labels.cpu(), n)
    run.save_arrays(
        f"{medium}_fold{fold}",
        theta=model.theta.detach(),
        wave_speed=model.wave_speed().detach(),
        test_energies=energies,
        test_labels=test.labels,
    )
    return {
        "medium": medium,
        "fold": fold,
        "test_accuracy": acc,
        "train_accuracy": curves["train_acc"][-1],
        "confusion": confusion.tolist(),
        "curves": curves,
    }


def _summarise(
    results: list[dict[str, Any]], config: WaveRNNRunConfig, n_tokens: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n_tokens": n_tokens,
        "n_folds": config.n_folds,
        "folds_run": config.folds_run,
        "reduced": config.folds_run < config.n_folds,
        "chance_accuracy": 1.0 / config.model.n_classes,
        "vowels": list(config.data.vowels),
        "media": {},
    }
    for medium in config.media:
        rs = [r for r in results if r["medium"] == medium]
        accs = np.array([r["test_accuracy"] for r in rs])
        conf = np.sum([np.array(r["confusion"]) for r in rs], axis=0)
        out["media"][medium] = {
            "test_accuracy_per_fold": accs.tolist(),
            "test_accuracy_mean": float(accs.mean()),
            # sample standard deviation over folds (ddof=1); 0 for a single fold
            "test_accuracy_std": float(accs.std(ddof=1)) if accs.size > 1 else 0.0,
            "train_accuracy_mean": float(np.mean([r["train_accuracy"] for r in rs])),
            "confusion": conf.tolist(),
        }
    return out


# ---------------------------------------------------------------------------------------
# Figures and report
# ---------------------------------------------------------------------------------------
def _write_report(
    run: RunFolder,
    config: WaveRNNRunConfig,
    metrics: dict[str, Any],
    results: list[dict[str, Any]],
    data: VowelDataset,
    folds: list[torch.Tensor],
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vowels = list(config.data.vowels)
    figs: list[tuple[Path, str]] = []

    # Loss and accuracy curves (mean over folds) per medium.
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for medium in config.media:
        rs = [r for r in results if r["medium"] == medium]
        for key, ax in (("loss", axes[0]), ("acc", axes[1])):
            for split, style in (("train", "-"), ("test", "--")):
                c = np.array([r["curves"][f"{split}_{key}"] for r in rs])
                epochs = np.arange(1, c.shape[1] + 1)
                ax.plot(epochs, c.mean(axis=0), style, label=f"{medium} {split}")
    axes[0].set(xlabel="epoch", ylabel="cross-entropy (nats)", title="loss (mean over folds)")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy (mean over folds)")
    axes[1].axhline(1.0 / len(vowels), color="gray", lw=0.8, ls=":")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path = run.figure_path("curves")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    figs.append((path, "Loss and accuracy per epoch, mean over the folds run (dotted: chance)"))

    # Confusion matrices.
    fig, axes = plt.subplots(1, len(config.media), figsize=(3.8 * len(config.media), 3.4))
    axes = np.atleast_1d(axes)
    for ax, medium in zip(axes, config.media, strict=True):
        conf = np.array(metrics["media"][medium]["confusion"])
        ax.imshow(conf, cmap="Blues")
        for i in range(conf.shape[0]):
            for j in range(conf.shape[1]):
                ax.text(j, i, str(conf[i, j]), ha="center", va="center")
        ax.set(
            xticks=range(len(vowels)), yticks=range(len(vowels)), xticklabels=vowels,
            yticklabels=vowels, xlabel="predicted", ylabel="true", title=medium,
        )  # fmt: skip
    fig.tight_layout()
    path = run.figure_path("confusion")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    figs.append((path, "Test confusion matrices, summed over the folds run"))

    # Trained wave-speed maps and example fields (fold 0 of each medium).
    dtype = _DTYPES[config.dtype]
    test0 = data.subset(folds[0])
    for medium in config.media:
        arrays = np.load(run.path / "arrays" / f"{medium}_fold0.npz")
        model = WaveRNN(dataclasses.replace(config.model, medium=medium), dtype=dtype)
        with torch.no_grad():
            model.theta.copy_(torch.from_numpy(arrays["theta"]))
        model = model.to(torch.device(config.device))
        path = run.figure_path(f"fields_{medium}")
        _plot_medium_and_fields(model, test0, vowels, path, plt)
        figs.append(
            (
                path,
                f"{medium}: trained wave speed (fold 0; source = white dot, probes = "
                "labelled) and, for one test token of each vowel, the time-integrated "
                "intensity sum_t u^2 and a field snapshot at mid-time",
            )
        )

    report = Report("Wave-RNN vowel classification")
    what = f"{metrics['folds_run']} of {config.n_folds} speaker-grouped folds" + (
        " (REDUCED run: not all folds)" if metrics["reduced"] else ""
    )
    report.paragraph(
        f"Vowels {vowels}; {metrics['n_tokens']} synthetic tokens "
        f"({len(config.data.groups)} groups x {config.data.n_speakers} speakers); {what}; "
        f"{config.epochs} epochs of {config.optimizer} (lr {config.lr:g}, batch "
        f"{config.batch_size}); gradient '{config.gradient}'; design region "
        f"{config.model.design_shape[0]}x{config.model.design_shape[1]} cells, grid "
        f"{config.model.grid_shape[0]}x{config.model.grid_shape[1]} incl. PML, "
        f"{config.data.n_samples} steps per token."
    )
    rows = []
    for medium in config.media:
        m = metrics["media"][medium]
        rows.append(
            {
                "medium": medium,
                "test accuracy (mean +- std over folds)": (
                    f"{m['test_accuracy_mean']:.3f} +- {m['test_accuracy_std']:.3f}"
                ),
                "per fold": ", ".join(f"{a:.3f}" for a in m["test_accuracy_per_fold"]),
                "train accuracy (mean)": m["train_accuracy_mean"],
                "chance": metrics["chance_accuracy"],
            }
        )
    report.table(rows, caption="Cross-validated test accuracy")
    for path, caption in figs:
        report.figure(path, caption=caption, root=run.path)
    report.write(run.path / "report.html")


def _plot_medium_and_fields(model: WaveRNN, test: VowelDataset, vowels, path: Path, plt):
    cfg = model.config
    n_cls = cfg.n_classes
    fig, axes = plt.subplots(2, n_cls + 1, figsize=(3.2 * (n_cls + 1), 6.2))
    speed = model.wave_speed().detach().cpu().numpy()
    ax = axes[0, 0]
    im = ax.imshow(speed.T, origin="lower", cmap="viridis", vmin=cfg.c_min, vmax=cfg.c_max)
    fig.colorbar(im, ax=ax, label="wave speed (m/s)", shrink=0.8)
    sx, sy = cfg.source_cell
    ax.plot(sx, sy, "wo", ms=4)
    for k, (px, py) in enumerate(cfg.probe_cells):
        ax.plot(px, py, "rs", ms=4)
        ax.text(px + 1, py, vowels[k], color="r", fontsize=8)
    ax.set_title("trained wave speed")
    axes[1, 0].axis("off")
    for k in range(n_cls):
        sel = torch.nonzero(test.labels == k).flatten()
        if sel.numel() == 0:
            axes[0, k + 1].axis("off")
            axes[1, k + 1].axis("off")
            continue
        snaps = model.snapshots(test.waveforms[int(sel[0])], every=1).cpu().numpy()
        intensity = (snaps**2).sum(axis=0)
        level = 10.0 * np.log10(np.maximum(intensity / max(intensity.max(), 1e-300), 1e-5))
        ax = axes[0, k + 1]
        im = ax.imshow(level.T, origin="lower", cmap="magma", vmin=-50.0, vmax=0.0)
        fig.colorbar(im, ax=ax, label="dB", shrink=0.8)
        for px, py in cfg.probe_cells:
            ax.plot(px, py, "cs", ms=3, mfc="none")
        ax.set_title(f"'{vowels[k]}' token: sum_t u^2")
        ax = axes[1, k + 1]
        snap = snaps[snaps.shape[0] // 2]
        lim = float(np.quantile(np.abs(snap), 0.99)) or 1.0
        ax.imshow(snap.T, origin="lower", cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"'{vowels[k]}': u at t = {snaps.shape[0] // 2 * cfg.dt * 1e3:.1f} ms")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
