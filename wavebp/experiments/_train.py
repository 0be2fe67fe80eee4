"""Train a photonic classifier with in-situ (measured) or digital (autograd) gradients.

:func:`train_onn` runs one gradient mode into one run folder (config, per-epoch history,
checkpoints every epoch with model + optimizer + RNG state, figures, ``metrics.json`` and
``report.html``); ``resume=True`` continues bit-for-bit from the latest checkpoint, and the
first Ctrl-C saves a checkpoint at the current step and returns cleanly.
:func:`train_comparison` trains several modes side by side (sub-folders) and writes a
combined report — the ``wavebp demo``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavebp._core import Progress, check_choice, check_int, check_real
from wavebp.experiments._datasets import DATASETS, Dataset, load_dataset
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder
from wavebp.photonic import ONN, HardwareConfig, cosine_error, insitu_gradient

__all__ = [
    "DATASET_MODELS",
    "GRADIENT_MODES",
    "HARDWARE_NAMES",
    "TrainConfig",
    "build_model",
    "train_comparison",
    "train_onn",
]

GRADIENT_MODES = ("insitu", "autograd")
HARDWARE_NAMES = ("ideal", "pai2023", "realistic")
OPTIMIZERS = ("adam", "sgd")

#: Default ONN architecture per data set (chosen by short exploratory runs with seed 0).
DATASET_MODELS: dict[str, dict[str, Any]] = {
    "digits": {"n_ports": 64, "encoding": "amplitude", "ports_per_class": 6},
    "moons": {"n_ports": 8, "encoding": "phase", "phase_scales": (1.0, 2.0), "ports_per_class": 2},
    "circles": {
        "n_ports": 8,
        "encoding": "phase",
        "phase_scales": (1.0, 2.0),
        "ports_per_class": 2,
    },
    "iris": {"n_ports": 8, "encoding": "phase", "phase_scales": (1.0, 2.0), "ports_per_class": 2},
}

_INSITU_NOTE = (
    "In-situ gradients: for every mesh layer three passes are simulated through the imperfect "
    "device — forward (tap photodiodes read |a_k|^2 after every phase shifter), adjoint "
    "(conj(dL/dz*) injected at the outputs, propagating backwards through the reciprocal "
    "device, taps read |b_k|^2, the field leaving the inputs read coherently), interference "
    "(input minus i times the phase-conjugated adjoint output; taps read |a_k - i conj(b_k)|^2) "
    "— and dL/dphi_k = I_int - I_fwd - I_adj (the realistic preset adds a fourth pass with +i "
    "and uses (I_- - I_+)/2, which cancels the bias insertion loss puts on the three-pass "
    "rule). Measured: every tap intensity, the output powers, the coherent fields at layer "
    "outputs and inputs. Computed digitally: the "
    "read-out, the loss and its derivative dL/dP, the error field dL/dz* = dL/dP z, and the "
    "derivative of an optical activation between layers. Gradient error = 1 - cos(g_insitu, "
    "g_autograd) per step (Pai et al.'s 1 - g_hat.g with unit-normalised gradients)."
)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One training run.

    Attributes:
        dataset: ``"digits"``, ``"moons"``, ``"circles"`` or ``"iris"``.
        gradient: ``"insitu"`` (simulated measurement) or ``"autograd"`` (digital backprop
            through the same simulated device).
        hardware: hardware preset, ``"ideal"``, ``"pai2023"`` or ``"realistic"``.
        optimizer: ``"adam"`` or ``"sgd"`` (momentum 0.9).
        schedule: learning-rate schedule over the epochs, ``"cosine"`` (annealed to 0) or
            ``"constant"``.
        epochs: number of epochs, ``>= 1``.
        lr: learning rate in rad per unit gradient, ``> 0``.
        batch_size: samples per step, ``>= 1``.
        seed: seed of the split, the initialisation, the shuffling and the noise, ``>= 0``.
        n_layers: mesh layers (``>= 1``).
        svd: make each layer an SVD-style layer (mesh, attenuator column, mesh).
        activation: optical activation between layers (``"electro-optic"``, ``"modulus"``,
            ``"none"``).
        readout_gain: digital read-out gain (logit scale), ``> 0``.
        dtype: ``"complex64"`` or ``"complex128"``.
        track_gradient_error: for in-situ runs, also compute the autograd gradient each step
            and record the gradient error (costs one extra digital backward per step).
        max_train: use at most this many training samples (``None`` = all; for quick tests).
    """

    dataset: str = "digits"
    gradient: str = "insitu"
    hardware: str = "ideal"
    optimizer: str = "adam"
    schedule: str = "cosine"
    epochs: int = 20
    lr: float = 0.01
    batch_size: int = 32
    seed: int = 0
    n_layers: int = 1
    svd: bool = False
    activation: str = "electro-optic"
    readout_gain: float = 30.0
    dtype: str = "complex64"
    track_gradient_error: bool = True
    max_train: int | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("gradient", self.gradient, GRADIENT_MODES)
        check_choice("hardware", self.hardware, HARDWARE_NAMES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, ("cosine", "constant"))
        check_int("epochs", self.epochs, minimum=1)
        check_real("lr", self.lr, low=0.0, low_inclusive=False)
        check_int("batch_size", self.batch_size, minimum=1)
        check_int("seed", self.seed, minimum=0)
        check_int("n_layers", self.n_layers, minimum=1)
        check_choice("activation", self.activation, ("electro-optic", "modulus", "none"))
        check_real("readout_gain", self.readout_gain, low=0.0, low_inclusive=False)
        check_choice("dtype", self.dtype, ("complex64", "complex128"))
        if self.max_train is not None:
            check_int("max_train", self.max_train, minimum=2)


def _hardware(config: TrainConfig, input_power: float) -> HardwareConfig:
    return HardwareConfig.preset(config.hardware, input_power=input_power)


def build_model(
    config: TrainConfig, dataset: Dataset, *, generator: torch.Generator
) -> tuple[ONN, HardwareConfig]:
    """The ONN for ``config`` (architecture from :data:`DATASET_MODELS`) and its hardware.

    Device imperfections of the hardware preset are drawn from ``generator`` and built into
    the meshes, so they act on the in-situ passes and on the digital reference alike.
    """
    from wavebp.photonic import mesh_imperfections

    arch = dict(DATASET_MODELS[config.dataset])
    input_power = 1e-3
    hw = _hardware(config, input_power)
    dtype = getattr(torch, config.dtype)
    model = ONN(
        dataset.n_features,
        dataset.n_classes,
        n_layers=config.n_layers,
        svd=config.svd,
        activation=config.activation,
        readout_gain=config.readout_gain,
        input_power=input_power,
        dtype=dtype,
        generator=generator,
        mesh_kwargs=mesh_imperfections(hw),
        **arch,
    )
    return model, hw


def _evaluate(
    model: ONN, x: torch.Tensor, y: torch.Tensor, hw: HardwareConfig, generator: torch.Generator
) -> tuple[float, float, np.ndarray]:
    with torch.no_grad():
        logits = model(x, detector=hw.detector, generator=generator)
        loss = float(torch.nn.functional.cross_entropy(logits, y))
        pred = logits.argmax(-1)
    return loss, float((pred == y).double().mean()), pred.numpy()


def _make_optimizer(config: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)


def _autograd_gradient(model: ONN, xb: torch.Tensor, loss_fn) -> tuple[dict, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss = loss_fn(model(xb))
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
    return grads, loss.detach()


def train_onn(
    config: TrainConfig | None,
    out: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    show_progress: bool | None = None,
    stop_after_steps: int | None = None,
) -> dict[str, Any]:
    """Train one gradient mode into the run folder ``out``.

    Args:
        config: the run's configuration (on ``resume`` the folder's own config is used;
            ``None`` is then allowed).
        out: run folder path.
        resume: continue from ``out/checkpoints/latest.pt`` bit-for-bit.
        overwrite: replace an existing run in ``out``.
        show_progress: draw a progress bar (``None`` = on a terminal).
        stop_after_steps: behave as if Ctrl-C arrived after this many optimizer steps of
            this call (for tests of interrupt/resume).

    Returns:
        The metrics dict written to ``metrics.json`` (``metrics[config.gradient]`` holds
        ``test_accuracy``), with ``"status"`` ``"finished"`` or ``"interrupted"``.
    """
    run = RunFolder(out, resume=resume, overwrite=overwrite)
    if resume:
        saved = TrainConfig(**_config_from_json(run.read_config()))
        if config is not None and saved != config:
            print(
                f"resume: continuing {run.path} with its own config ({saved}); the options "
                "given now are ignored",
                file=sys.stderr,
            )
        config = saved
    elif config is None:
        raise ValueError("config is required unless resume=True")
    else:
        run.write_config(config)
    ds = load_dataset(config.dataset, seed=config.seed)
    x_train, y_train = ds.x_train, ds.y_train
    if config.max_train is not None:
        x_train, y_train = x_train[: config.max_train], y_train[: config.max_train]
    init_gen = torch.Generator().manual_seed(config.seed)
    model, hw = build_model(config, ds, generator=init_gen)
    opt = _make_optimizer(config, model)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        (lambda e: 0.5 * (1.0 + math.cos(math.pi * e / config.epochs)))
        if config.schedule == "cosine"
        else (lambda e: 1.0),
    )
    data_gen = torch.Generator().manual_seed(config.seed + 1)
    noise_gen = torch.Generator().manual_seed(config.seed + 2)
    n_train = x_train.shape[0]
    n_steps = math.ceil(n_train / config.batch_size)
    state: dict[str, Any] = {
        "epoch": 0,
        "step": 0,
        "perm": None,
        "accum": {"loss": 0.0, "correct": 0, "seen": 0},
        "history": [],
        "grad_errors": [],
        "wall_s": 0.0,
    }
    ckpt = run.load_checkpoint() if resume else None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        data_gen.set_state(ckpt["rng_data"])
        noise_gen.set_state(ckpt["rng_noise"])
        state = ckpt["state"]
        run.truncate_history(len(state["history"]))

    def save(epoch_done: int | None) -> None:
        run.save_checkpoint(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "rng_data": data_gen.get_state(),
                "rng_noise": noise_gen.get_state(),
                "state": state,
                "config": dataclasses.asdict(config),
            },
            epoch=epoch_done,
        )

    steps_this_call = 0
    status = "finished"
    total = config.epochs * n_steps
    done = state["epoch"] * n_steps + state["step"]
    bar = Progress(total, desc=f"{config.dataset}/{config.gradient}", enabled=show_progress)
    bar.n = done
    with GracefulInterrupt() as interrupt, bar:
        while state["epoch"] < config.epochs:
            t0 = time.perf_counter()
            if state["step"] == 0:
                state["perm"] = torch.randperm(n_train, generator=data_gen)
                state["accum"] = {"loss": 0.0, "correct": 0, "seen": 0}
            perm = state["perm"]
            stop = False
            for step in range(state["step"], n_steps):
                idx = perm[step * config.batch_size : (step + 1) * config.batch_size]
                xb, yb = x_train[idx], y_train[idx]

                def loss_fn(logits: torch.Tensor, yb: torch.Tensor = yb) -> torch.Tensor:
                    return torch.nn.functional.cross_entropy(logits, yb)

                if config.gradient == "insitu":
                    grads = insitu_gradient(model, xb, loss_fn, hardware=hw, generator=noise_gen)
                    loss = grads.pop("_loss")
                    if config.track_gradient_error:
                        ref, _ = _autograd_gradient(model, xb, loss_fn)
                        state["grad_errors"].append(cosine_error(grads, ref))
                    for name, p in model.named_parameters():
                        p.grad = grads[name].detach().clone()
                else:
                    _, loss = _autograd_gradient(model, xb, loss_fn)
                opt.step()
                with torch.no_grad():
                    pred = model(xb).argmax(-1)
                acc = state["accum"]
                acc["loss"] += float(loss) * len(idx)
                acc["correct"] += int((pred == yb).sum())
                acc["seen"] += len(idx)
                state["step"] = step + 1
                steps_this_call += 1
                bar.update(1, loss=float(loss), epoch=state["epoch"] + 1)
                if interrupt.stop_requested or (
                    stop_after_steps is not None and steps_this_call >= stop_after_steps
                ):
                    stop = True
                    break
            state["wall_s"] += time.perf_counter() - t0
            if stop and state["step"] < n_steps:
                save(None)
                status = "interrupted"
                break
            # end of epoch: evaluate, log, checkpoint
            epoch = state["epoch"] + 1
            eval_gen = torch.Generator().manual_seed(config.seed * 100003 + epoch)
            test_loss, test_acc, _ = _evaluate(model, ds.x_test, ds.y_test, hw, eval_gen)
            acc = state["accum"]
            errs = state["grad_errors"][-n_steps:] if config.gradient == "insitu" else []
            row = {
                "epoch": epoch,
                "train_loss": acc["loss"] / max(acc["seen"], 1),
                "train_accuracy": acc["correct"] / max(acc["seen"], 1),
                "test_loss": test_loss,
                "test_accuracy": test_acc,
                "gradient_error_median": float(np.median(errs)) if errs else float("nan"),
                "wall_s": state["wall_s"],
            }
            state["history"].append(row)
            run.append_history(row)
            state["epoch"] = epoch
            state["step"] = 0
            state["perm"] = None
            sched.step()
            save(epoch)
            if stop:
                status = "interrupted" if epoch < config.epochs else "finished"
                break
    metrics = _finish(run, config, model, ds, hw, state, status)
    return metrics


def _config_from_json(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}}


def _finish(
    run: RunFolder,
    config: TrainConfig,
    model: ONN,
    ds: Dataset,
    hw: HardwareConfig,
    state: dict[str, Any],
    status: str,
) -> dict[str, Any]:
    history = state["history"]
    eval_gen = torch.Generator().manual_seed(config.seed * 100003 + 999_983)
    test_loss, test_acc, pred = _evaluate(model, ds.x_test, ds.y_test, hw, eval_gen)
    errs = np.asarray(state["grad_errors"], dtype=np.float64)
    mode = {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "train_accuracy": history[-1]["train_accuracy"] if history else float("nan"),
        "epochs_completed": len(history),
        "wall_s": state["wall_s"],
    }
    if config.gradient == "insitu" and errs.size:
        mode["gradient_error_median"] = float(np.median(errs))
        mode["gradient_error_mean"] = float(np.mean(errs))
        mode["gradient_error_p90"] = float(np.quantile(errs, 0.9))
    metrics = {
        "status": status,
        "dataset": config.dataset,
        "hardware": config.hardware,
        "gradient": config.gradient,
        "seed": config.seed,
        config.gradient: mode,
    }
    run.write_metrics(metrics)
    cm = _confusion(ds.y_test.numpy(), pred, ds.n_classes)
    run.save_arrays("results", confusion=cm, gradient_errors=errs, predictions=pred)
    figures = _figures(
        run, {config.gradient: history}, {config.gradient: errs}, {config.gradient: cm}
    )
    report = Report(
        f"wavebp train: {config.dataset}, {config.gradient} gradients, {config.hardware} hardware"
    )
    report.paragraph(
        f"Status: {status}. Test accuracy {test_acc:.4f} after {len(history)} epoch(s)."
    )
    report.table(
        [{"parameter": k, "value": str(v)} for k, v in dataclasses.asdict(config).items()],
        caption="configuration",
    )
    report.table([{"metric": k, "value": v} for k, v in mode.items()], caption="metrics")
    report.paragraph(_INSITU_NOTE)
    report.paragraph(f"Hardware: {hw}")
    for name, path in figures.items():
        report.figure(path, caption=name, root=run.path)
    report.write(run.path / "report.html")
    return metrics


def _confusion(y: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    return cm


def _figures(
    run: RunFolder,
    histories: dict[str, list[dict[str, float]]],
    errors: dict[str, np.ndarray],
    confusions: dict[str, np.ndarray],
) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    for mode, hist in histories.items():
        if not hist:
            continue
        ep = [r["epoch"] for r in hist]
        ax1.plot(ep, [r["train_loss"] for r in hist], "--", label=f"{mode} train")
        ax1.plot(ep, [r["test_loss"] for r in hist], "-", label=f"{mode} test")
        ax2.plot(ep, [r["train_accuracy"] for r in hist], "--", label=f"{mode} train")
        ax2.plot(ep, [r["test_accuracy"] for r in hist], "-", label=f"{mode} test")
    ax1.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    if any(histories.values()):
        ax1.legend(fontsize=8)
        ax2.legend(fontsize=8)
    fig.tight_layout()
    paths["loss and accuracy curves"] = run.figure_path("curves")
    fig.savefig(paths["loss and accuracy curves"], dpi=110)
    plt.close(fig)
    errs = [e for e in errors.values() if e.size]
    if errs:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for mode, e in errors.items():
            if e.size:
                e = np.clip(e, 1e-17, None)
                ax.hist(np.log10(e), bins=40, alpha=0.7, label=mode)
        ax.set(
            xlabel="log10 gradient error  1 - cos(g_insitu, g_autograd)",
            ylabel="steps",
            title="in-situ gradient error per step",
        )
        ax.legend(fontsize=8)
        fig.tight_layout()
        paths["gradient-error histogram"] = run.figure_path("gradient_error")
        fig.savefig(paths["gradient-error histogram"], dpi=110)
        plt.close(fig)
    n = len(confusions)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    for ax, (mode, cm) in zip(axes[0], confusions.items(), strict=True):
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title=f"confusion ({mode}, test)")
    fig.tight_layout()
    paths["confusion matrix"] = run.figure_path("confusion")
    fig.savefig(paths["confusion matrix"], dpi=110)
    plt.close(fig)
    return paths


def train_comparison(
    configs: list[TrainConfig],
    out: str | Path,
    *,
    overwrite: bool = False,
    show_progress: bool | None = None,
    title: str = "wavebp: in-situ vs digital training",
    extra_tables: list[tuple[str, list[dict[str, Any]]]] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """Train several configs side by side into ``out/<gradient>/`` and a combined report.

    Returns:
        The combined metrics (``metrics[mode]["test_accuracy"]`` for every mode), also
        written to ``out/metrics.json``.
    """
    modes = [c.gradient for c in configs]
    if len(set(modes)) != len(modes):
        raise ValueError(f"configs must have distinct gradient modes, got {modes}")
    run = RunFolder(out, overwrite=overwrite)
    run.write_config({"runs": [dataclasses.asdict(c) for c in configs]})
    combined: dict[str, Any] = {"status": "finished", "dataset": configs[0].dataset}
    histories, errors, confusions = {}, {}, {}
    for cfg in configs:
        sub = run.path / cfg.gradient
        m = train_onn(cfg, sub, overwrite=True, show_progress=show_progress)
        combined[cfg.gradient] = {**m[cfg.gradient], "hardware": cfg.hardware}
        if m["status"] != "finished":
            combined["status"] = m["status"]
        sf = RunFolder(sub, resume=True)
        histories[cfg.gradient] = [{k: float(v) for k, v in r.items()} for r in sf.read_history()]
        arr = np.load(sub / "arrays" / "results.npz")
        errors[cfg.gradient] = arr["gradient_errors"]
        confusions[cfg.gradient] = arr["confusion"]
        if m["status"] != "finished":
            break
    run.write_metrics(combined)
    figures = _figures(run, histories, errors, confusions)
    report = Report(title)
    rows = [
        {
            "gradient": mode,
            "hardware": combined[mode]["hardware"],
            "test accuracy": combined[mode]["test_accuracy"],
            "gradient error (median)": combined[mode].get("gradient_error_median", ""),
            "wall s": combined[mode]["wall_s"],
        }
        for mode in modes
        if mode in combined
    ]
    report.table(rows, caption="results (test split)")
    for caption, table in extra_tables or []:
        report.table(table, caption=caption)
    report.paragraph(_INSITU_NOTE)
    for note in notes or []:
        report.paragraph(note)
    for cfg in configs:
        report.paragraph(f"{cfg.gradient}: {cfg}  — full report: {cfg.gradient}/report.html")
    for name, path in figures.items():
        report.figure(path, caption=name, root=run.path)
    report.write(run.path / "report.html")
    return combined
