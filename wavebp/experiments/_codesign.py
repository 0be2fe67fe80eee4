r"""``wavebp codesign``: one photonic chip from device models to network accuracy.

Pipeline: coupler model (the shipped Meep :class:`wavebp.devices.CouplerTable`, or the
analytic :class:`wavebp.photonic.CoupledModeCoupler`) and heater model
(:class:`wavebp.devices.ThermoOpticShifter`) -> a one-layer 64-port Clements ONN classifying
scikit-learn's 8x8 digits (the ``wavebp train`` digits architecture), trained twice:

* **nominal**: ideal couplers;
* **hardware-aware**: every optimizer step sees a freshly sampled chip (gap errors of
  std ``aware_gap_sigma_nm`` through the coupler model at the design wavelength, plus phase
  offsets of std ``aware_phase_sigma``).

Then fabricated chips are sampled (:func:`chip_task`: one chip per seed) and evaluated on the
test split, vs the gap-error sigma with and without post-fabrication correction
(Bandyopadhyay et al. 2021, :func:`wavebp.photonic.correct_phases`) and vs the operating
wavelength across the C-band. :func:`chip_task` is a top-level, picklable, deterministic
function of ``(point, seed)``, the unit of work of the Dask sweeps.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavebp._core import Progress, check_choice, check_int, check_real
from wavebp.experiments._datasets import Dataset, load_dataset
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable
from wavebp.photonic import (
    ONN,
    PROGRAMMING_MODES,
    CoupledModeCoupler,
    chip_coupler_errors,
    export_phase_settings,
    export_touchstone,
    fabricated_mesh,
    matrix_fidelity,
    sample_chip,
)

__all__ = [
    "CHIP_POINT_DEFAULTS",
    "COUPLER_MODELS",
    "CodesignConfig",
    "chip_task",
    "fast_codesign_config",
    "load_codesign_model",
    "load_coupler_model",
    "prepare_codesign",
    "run_codesign",
]

COUPLER_MODELS = ("table", "coupled-mode")
TRAININGS = ("nominal", "aware")

#: Defaults of a :func:`chip_task` point (every key optional).
CHIP_POINT_DEFAULTS: dict[str, Any] = {
    "gap_sigma_nm": 0.0,
    "phase_sigma": 0.0,
    "loss_db": 0.0,
    "wavelength_nm": None,  # None: the coupler model's design wavelength
    "correction": "none",
    "training": "nominal",
}

_ARCH = {"n_ports": 64, "encoding": "amplitude", "ports_per_class": 6}
_DATASET = "digits"


@dataclass(frozen=True, kw_only=True)
class CodesignConfig:
    """What ``wavebp codesign`` runs.

    Attributes:
        fast: small sizes (the whole run in well under a minute on one core).
        seed: seed of the data split, the initialisation and training; chip ``k`` of the
            Monte-Carlo uses seed ``1000 * seed + k``. ``>= 0``.
        coupler_model: ``"table"`` (the shipped Meep table) or ``"coupled-mode"``
            (analytic; the choice is recorded).
        epochs: training epochs per network (``None``: 4 fast, 20 full).
        n_chips: chips per Monte-Carlo point (``None``: 4 fast, 24 full).
        gap_sigmas_nm: gap-error stds of the sweep in nm, each ``>= 0``.
        wavelengths_nm: operating wavelengths of the sweep in nm, each ``> 0``.
        wavelength_gap_sigma_nm: gap-error std of the chips in the wavelength sweep, nm.
        phase_sigma: static phase-offset std of every chip in rad, ``>= 0``.
        loss_db: insertion loss per MZI in dB, ``>= 0``.
        aware_gap_sigma_nm: gap-error std seen during hardware-aware training, nm.
        aware_phase_sigma: phase-offset std seen during hardware-aware training, rad.
    """

    fast: bool = False
    seed: int = 0
    coupler_model: str = "table"
    epochs: int | None = None
    n_chips: int | None = None
    gap_sigmas_nm: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0)
    wavelengths_nm: tuple[float, ...] = (
        1530.0,
        1535.0,
        1540.0,
        1545.0,
        1550.0,
        1555.0,
        1560.0,
        1565.0,
    )
    wavelength_gap_sigma_nm: float = 0.0
    phase_sigma: float = 0.0
    loss_db: float = 0.0
    aware_gap_sigma_nm: float = 5.0
    aware_phase_sigma: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.fast, bool):
            raise ValueError(f"fast must be True or False, got {self.fast!r}")
        check_int("seed", self.seed, minimum=0)
        check_choice("coupler_model", self.coupler_model, COUPLER_MODELS)
        if self.epochs is not None:
            check_int("epochs", self.epochs, minimum=1)
        if self.n_chips is not None:
            check_int("n_chips", self.n_chips, minimum=1)
        if not self.gap_sigmas_nm:
            raise ValueError("gap_sigmas_nm must hold at least one std in nm, got ()")
        for s in self.gap_sigmas_nm:
            check_real("gap_sigmas_nm entries", s, low=0.0, unit="nm")
        if not self.wavelengths_nm:
            raise ValueError("wavelengths_nm must hold at least one wavelength in nm, got ()")
        for w in self.wavelengths_nm:
            check_real("wavelengths_nm entries", w, low=0.0, low_inclusive=False, unit="nm")
        check_real("wavelength_gap_sigma_nm", self.wavelength_gap_sigma_nm, low=0.0, unit="nm")
        check_real("phase_sigma", self.phase_sigma, low=0.0, unit="rad")
        check_real("loss_db", self.loss_db, low=0.0, unit="dB")
        check_real("aware_gap_sigma_nm", self.aware_gap_sigma_nm, low=0.0, unit="nm")
        check_real("aware_phase_sigma", self.aware_phase_sigma, low=0.0, unit="rad")
        object.__setattr__(self, "gap_sigmas_nm", tuple(float(s) for s in self.gap_sigmas_nm))
        object.__setattr__(self, "wavelengths_nm", tuple(float(w) for w in self.wavelengths_nm))

    @property
    def n_epochs(self) -> int:
        """Training epochs actually used."""
        return self.epochs if self.epochs is not None else (4 if self.fast else 20)

    @property
    def chips(self) -> int:
        """Chips per Monte-Carlo point actually used."""
        return self.n_chips if self.n_chips is not None else (4 if self.fast else 24)


# ---------------------------------------------------------------------- coupler model
def load_coupler_model(name: str = "table") -> tuple[Any, str]:
    """The coupler model and the name actually used.

    Args:
        name: ``"table"`` (the Meep table shipped with the package,
            :class:`wavebp.devices.CouplerTable`) or ``"coupled-mode"``
            (:class:`CoupledModeCoupler` defaults).

    Returns:
        ``(model, used_name)`` with ``used_name`` ``"table"`` or ``"coupled-mode"``.
    """
    check_choice("coupler_model", name, COUPLER_MODELS)
    if name == "table":
        from wavebp.devices import CouplerTable

        return CouplerTable.load(), "table"
    return CoupledModeCoupler(), "coupled-mode"


# ---------------------------------------------------------------------- training
def _check_wavelengths_in_model(
    name: str, wavelengths_nm: tuple[float, ...], coupler_model: str
) -> None:
    """Raise ValueError (before any training) if an operating wavelength lies outside the
    coupler model's tabulated range (the analytic model has none)."""
    model, _ = load_coupler_model(coupler_model)
    grid = getattr(model, "wavelengths", None)
    if grid is None:
        return
    lo, hi = float(grid.min()) * 1e9, float(grid.max()) * 1e9
    for w in wavelengths_nm:
        # the table's own check allows 1e-9 of its span beyond the ends
        check_real(
            f"{name} entries", w, low=lo - 1e-9 * (hi - lo), high=hi + 1e-9 * (hi - lo), unit="nm"
        )


def _build_onn(ds: Dataset, seed: int) -> ONN:
    gen = torch.Generator().manual_seed(seed)
    return ONN(ds.n_features, ds.n_classes, dtype=torch.complex64, generator=gen, **_ARCH)


def _accuracy(model: ONN, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).double().mean())


def _train(
    ds: Dataset,
    *,
    seed: int,
    epochs: int,
    aware: bool,
    table: Any,
    gap_sigma_m: float,
    phase_sigma: float,
    lr: float = 0.02,
    batch_size: int = 64,
) -> tuple[ONN, list[dict[str, float]]]:
    """Adam (cosine-annealed learning rate) on the cross-entropy; ``aware`` samples a fresh
    chip (gap errors through the coupler model at its design wavelength, phase offsets)
    before every step."""
    model = _build_onn(ds, seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.5 * (1.0 + math.cos(math.pi * e / epochs))
    )
    data_gen = torch.Generator().manual_seed(seed + 1)
    # training chips from their own stream (2**62 + seed), disjoint from the Monte-Carlo
    # chips' seeds (1000 * seed + k; `wavebp sweep` hashes): no chip is both trained on and
    # tested
    chip_gen = torch.Generator().manual_seed(2**62 + seed)
    n = ds.x_train.shape[0]
    history = []
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=data_gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            if aware:
                for mesh in model.meshes:
                    chip = sample_chip(
                        mesh.n_mzis,
                        gap_sigma=gap_sigma_m,
                        phase_sigma=phase_sigma,
                        generator=chip_gen,
                    )
                    mesh.set_static_errors(
                        coupler_error=chip_coupler_errors(
                            table, chip.gap_error, wavelength=table.design_wavelength
                        ),
                        theta_offset=chip.theta_offset if phase_sigma > 0 else None,
                        phi_offset=chip.phi_offset if phase_sigma > 0 else None,
                    )
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(ds.x_train[idx]), ds.y_train[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        history.append({"epoch": epoch + 1, "train_loss": total / n})
    for mesh in model.meshes:  # the saved network is the target: ideal couplers
        mesh.set_static_errors()
    return model, history


def prepare_codesign(
    out: str | Path,
    *,
    fast: bool = False,
    seed: int = 0,
    coupler_model: str = "table",
    config: CodesignConfig | None = None,
) -> Path:
    """Train (or load, if already there) the nominal and hardware-aware networks.

    Writes ``out/models/{nominal,aware}.pt`` (state dicts) and ``out/models/meta.json``
    (config, coupler model used, clean test accuracies). A folder that already holds
    ``meta.json`` is reused as is.

    Args:
        out: folder to write into (created).
        fast: small training (see :class:`CodesignConfig`).
        seed: training seed, ``>= 0``.
        coupler_model: ``"table"`` or ``"coupled-mode"``.
        config: full configuration (overrides ``fast``, ``seed``, ``coupler_model``).

    Returns:
        The model folder ``out/models`` (pass it to :func:`chip_task` as ``model_dir``).
    """
    if config is None:
        config = CodesignConfig(fast=fast, seed=seed, coupler_model=coupler_model)
    model_dir = Path(out) / "models"
    meta_path = model_dir / "meta.json"
    if meta_path.exists():
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    table, used = load_coupler_model(config.coupler_model)
    ds = load_dataset(_DATASET, seed=config.seed)
    meta: dict[str, Any] = {
        "dataset": _DATASET,
        "dataset_seed": config.seed,
        "architecture": _ARCH,
        "coupler_model": used,
        "coupler_model_info": {
            k: v
            for k, v in (getattr(table, "metadata", None) or {}).items()
            if k in ("solver", "provisional", "command", "written")
        },
        "design_wavelength_m": float(table.design_wavelength),
        "design_gap_m": float(table.design_gap),
        "epochs": config.n_epochs,
        "aware_gap_sigma_nm": config.aware_gap_sigma_nm,
        "aware_phase_sigma": config.aware_phase_sigma,
        "models": {},
    }
    for training in TRAININGS:
        start = time.perf_counter()
        model, history = _train(
            ds,
            seed=config.seed,
            epochs=config.n_epochs,
            aware=training == "aware",
            table=table,
            gap_sigma_m=config.aware_gap_sigma_nm * 1e-9,
            phase_sigma=config.aware_phase_sigma,
        )
        torch.save(model.state_dict(), model_dir / f"{training}.pt")
        meta["models"][training] = {
            "clean_test_accuracy": _accuracy(model, ds.x_test, ds.y_test),
            "history": history,
            "train_seconds": time.perf_counter() - start,
        }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return model_dir


@functools.lru_cache(maxsize=8)
def _cached(model_dir: str, mtime: float) -> tuple[dict[str, ONN], Dataset, Any, dict]:
    meta = json.loads((Path(model_dir) / "meta.json").read_text())
    ds = load_dataset(meta["dataset"], seed=meta["dataset_seed"])
    models = {}
    for training in TRAININGS:
        model = _build_onn(ds, meta["dataset_seed"])
        state = torch.load(Path(model_dir) / f"{training}.pt", map_location="cpu")
        model.load_state_dict(state)
        model.eval()
        models[training] = model
    table, _ = load_coupler_model(meta["coupler_model"])
    return models, ds, table, meta


def load_codesign_model(model_dir: str | Path) -> tuple[dict[str, ONN], Dataset, Any, dict]:
    """``(models, dataset, coupler_model, meta)`` of a folder from :func:`prepare_codesign`
    (cached per process; the models are shared: do not modify them)."""
    meta_path = Path(model_dir) / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{model_dir} holds no codesign models (run prepare_codesign)")
    return _cached(str(Path(model_dir).resolve()), meta_path.stat().st_mtime)


# ---------------------------------------------------------------------- one chip
def _design_nm(table: Any) -> float:
    """The coupler model's design wavelength in nm (rounded to 1e-9 nm)."""
    return round(float(table.design_wavelength) * 1e9, 9)


def _point(point: dict[str, Any]) -> dict[str, Any]:
    unknown = set(point) - set(CHIP_POINT_DEFAULTS)
    if unknown:
        raise ValueError(
            f"point has unknown keys {sorted(unknown)}; valid keys are "
            f"{sorted(CHIP_POINT_DEFAULTS)}"
        )
    p = {**CHIP_POINT_DEFAULTS, **point}
    check_real("gap_sigma_nm", p["gap_sigma_nm"], low=0.0, unit="nm")
    check_real("phase_sigma", p["phase_sigma"], low=0.0, unit="rad")
    check_real("loss_db", p["loss_db"], low=0.0, unit="dB")
    if p["wavelength_nm"] is not None:
        check_real("wavelength_nm", p["wavelength_nm"], low=0.0, low_inclusive=False, unit="nm")
    check_choice("correction", p["correction"], PROGRAMMING_MODES)
    check_choice("training", p["training"], TRAININGS)
    return p


def _chip_accuracy(
    model: ONN, layers: list[torch.nn.Module], x: torch.Tensor, y: torch.Tensor
) -> float:
    """Test accuracy of ``model`` with its mesh layers replaced by ``layers`` (the model is
    only read, so concurrent calls on a shared cached model are safe)."""
    h = model.encode(x)
    z = h
    for i, layer in enumerate(layers):
        z = layer(h)
        if i < len(layers) - 1:
            h = model.activations[i](z)
    logits = model.readout(model.detected_powers(z))
    return float((logits.argmax(-1) == y).double().mean())


def chip_task(point: dict[str, Any], seed: int, *, model_dir: str) -> dict[str, float]:
    """Sample one fabricated chip, program it, and measure it on the test split.

    Args:
        point: the design point; keys (all optional, defaults in
            :data:`CHIP_POINT_DEFAULTS`): ``gap_sigma_nm`` (coupler gap-error std, nm),
            ``phase_sigma`` (static phase-offset std, rad), ``loss_db`` (insertion loss per
            MZI, dB), ``wavelength_nm`` (operating wavelength, nm; ``None`` = design),
            ``correction`` (``"none"``: heater powers from the design wavelength;
            ``"rescaled"``: powers recomputed for the operating wavelength;
            ``"corrected"``: rescaled plus the Bandyopadhyay et al. correction from the
            measured coupler errors and phase offsets), ``training`` (``"nominal"`` or
            ``"aware"``).
        seed: chip seed, an integer ``>= 0`` (a ``torch.Generator`` seeded with it draws
            the chip; same point and seed -> same numbers).
        model_dir: folder written by :func:`prepare_codesign`.

    Returns:
        Floats: ``accuracy`` (test), ``fidelity`` (of the chip's matrix to the trained
        one, :func:`wavebp.photonic.matrix_fidelity`), ``mean_coupler_error`` and
        ``max_coupler_error`` (``|e|`` over couplers, rad), ``mean_abs_gap_error_nm``,
        ``mean_abs_common_phase`` (``|psi|`` over MZIs, rad), ``gap_clipped_fraction``
        (couplers whose gap fell outside the coupler table's grid and was clipped to it),
        ``wavelength_nm``, ``seconds``.
    """
    start = time.perf_counter()
    p = _point(point)
    seed = check_int("seed", seed, minimum=0)
    models, ds, table, _ = load_codesign_model(model_dir)
    model = models[p["training"]]
    wavelength = (
        table.design_wavelength if p["wavelength_nm"] is None else p["wavelength_nm"] * 1e-9
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fabs, fidelities, errors, gaps, commons = [], [], [], [], []
        for mesh in model.meshes:
            chip = sample_chip(
                mesh.n_mzis,
                gap_sigma=p["gap_sigma_nm"] * 1e-9,
                phase_sigma=p["phase_sigma"],
                loss_db=p["loss_db"],
                generator=gen,
            )
            fab = fabricated_mesh(
                mesh, chip=chip, table=table, wavelength=wavelength, mode=p["correction"]
            )
            fabs.append(fab.module())
            fidelities.append(float(matrix_fidelity(mesh.matrix(), fab.matrix())))
            errors.append(fab.mesh.coupler_error.abs().double().flatten())
            commons.append(fab.common_phase.abs().flatten())
            gaps.append(chip.gap_error.flatten())
        accuracy = _chip_accuracy(model, fabs, ds.x_test, ds.y_test)
    err = torch.cat(errors)
    gap = torch.cat(gaps)
    grid = getattr(table, "gaps", None)
    clipped = 0.0
    if grid is not None:
        grid = torch.as_tensor(grid, dtype=torch.float64)
        absolute = table.design_gap + gap
        clipped = float(((absolute < grid.min()) | (absolute > grid.max())).double().mean())
    return {
        "accuracy": accuracy,
        "fidelity": float(np.mean(fidelities)),
        "mean_coupler_error": float(err.mean()),
        "max_coupler_error": float(err.max()),
        "mean_abs_gap_error_nm": float(gap.abs().mean()) * 1e9,
        "gap_clipped_fraction": clipped,
        "mean_abs_common_phase": float(torch.cat(commons).mean()),
        "wavelength_nm": float(
            _design_nm(table) if p["wavelength_nm"] is None else p["wavelength_nm"]
        ),
        "seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------------- the run
def _stats(rows: list[dict[str, float]], key: str) -> tuple[float, float]:
    values = np.array([r[key] for r in rows], dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def _plot_sigma(records: list[dict[str, Any]], path: Path, key: str, ylabel: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for training in TRAININGS:
        for correction, style in (("none", "-o"), ("corrected", "--s")):
            rows = [
                r for r in records if r["training"] == training and r["correction"] == correction
            ]
            if not rows:
                continue
            x = [r["gap_sigma_nm"] for r in rows]
            ax.errorbar(
                x,
                [r[f"{key}_mean"] for r in rows],
                yerr=[r[f"{key}_std"] for r in rows],
                fmt=style,
                capsize=3,
                label=f"{training}, {correction}",
            )
    ax.set_xlabel("coupler gap-error sigma (nm)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_wavelength(records: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for training in TRAININGS:
        for correction, style in (("none", "-o"), ("rescaled", ":^"), ("corrected", "--s")):
            rows = [
                r for r in records if r["training"] == training and r["correction"] == correction
            ]
            if rows:
                ax.plot(
                    [r["wavelength_nm"] for r in rows],
                    [r["accuracy_mean"] for r in rows],
                    style,
                    label=f"{training}, {correction}",
                )
    ax.set_xlabel("operating wavelength (nm)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


_ROW_KEYS = ("training", "correction", "gap_sigma_nm", "phase_sigma", "loss_db")

_INTRO = (
    "One photonic chip from device models to network accuracy. A one-layer 64-port Clements "
    "mesh ONN (amplitude encoding, 6 detectors per class) classifies scikit-learn's 8x8 "
    "digits. Couplers: gap errors map to splitting errors through the coupler model named "
    "below, at the operating wavelength. Heaters: thermo-optic, phase = pi P/P_pi * "
    "lambda0/lambda (ThermoOpticShifter; P_pi = 25 mW at 1550 nm assumed). 'nominal' is "
    "trained with ideal couplers; 'aware' sees a freshly sampled chip every step. "
    "Programming: 'none' = heater powers computed at the design wavelength; 'rescaled' = "
    "powers recomputed for the operating wavelength; 'corrected' = rescaled plus the "
    "post-fabrication correction of Bandyopadhyay, Hamerly & Englund, Optica 8, 1247 (2021), "
    "from the chip's measured coupler errors (and phase offsets). Fidelity = "
    "|tr(U^H V)|^2 / (N tr(V^H V)) of the chip's matrix V to the trained U. Means +- sample "
    "std over chips; chip k uses seed 1000*seed + k. Assumptions: the correction knows the "
    "chip's coupler errors, phase offsets and coupler through-phases exactly (a perfect "
    "calibration; measurement error is not modelled), so with phase offsets alone it "
    "restores the trained matrix exactly; gap errors are independent between couplers; the "
    "part of the couplers' through-phase common to all couplers is not modelled."
)


def run_codesign(
    config: CodesignConfig,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run ``wavebp codesign``: train, sweep gap sigma and wavelength, export, report.

    Writes into ``out``: ``config.json``, ``models/``, ``chips.csv`` (one row per chip
    evaluation), ``codesign.json`` and ``metrics.json`` (summaries), ``figures/``,
    ``export/`` (phase settings CSV/JSON of both networks, Touchstone S-matrix of the
    nominal network at the design wavelength) and ``report.html``.

    Args:
        config: what to run.
        out: run folder.
        overwrite: replace an existing run in ``out``.
        progress: show a progress bar (``None``: only on a terminal).

    Returns:
        The content of ``codesign.json``.
    """
    _check_wavelengths_in_model("wavelengths_nm", config.wavelengths_nm, config.coupler_model)
    folder = RunFolder(out, overwrite=overwrite)
    folder.write_config(config)
    t0 = time.perf_counter()
    model_dir = prepare_codesign(folder.path, config=config)
    models, _, table, meta = load_codesign_model(model_dir)
    md = str(model_dir)
    n = config.chips
    base = 1000 * config.seed
    design = _design_nm(table)
    sigma_points = [
        {"training": t, "correction": c, "gap_sigma_nm": s}
        for t in TRAININGS
        for c in ("none", "corrected")
        for s in config.gap_sigmas_nm
    ]
    wl_modes = ("none", "rescaled", "corrected")
    wl_chips = n if config.wavelength_gap_sigma_nm > 0 else 1
    wl_points = [
        {
            "training": t,
            "correction": c,
            "wavelength_nm": w,
            "gap_sigma_nm": config.wavelength_gap_sigma_nm,
        }
        for t in TRAININGS
        for c in wl_modes
        for w in config.wavelengths_nm
    ]
    common = {"phase_sigma": config.phase_sigma, "loss_db": config.loss_db}
    total = len(sigma_points) * n + len(wl_points) * wl_chips
    sigma_records: list[dict[str, Any]] = []
    wl_records: list[dict[str, Any]] = []
    stopped = False
    with (
        GracefulInterrupt() as interrupt,
        Progress(total, desc="codesign", enabled=progress) as bar,
    ):
        for sweep, points, chips, records in (
            ("sigma", sigma_points, n, sigma_records),
            ("wavelength", wl_points, wl_chips, wl_records),
        ):
            for point in points:
                full = {**point, **common}
                rows = []
                for k in range(chips):
                    res = chip_task(full, base + k, model_dir=md)
                    row = {"sweep": sweep, **{key: full[key] for key in _ROW_KEYS}}
                    folder.append_history({**row, "seed": base + k, **res}, name="chips")
                    rows.append(res)
                    bar.update(1)
                acc, acc_sd = _stats(rows, "accuracy")
                fid, fid_sd = _stats(rows, "fidelity")
                err, _ = _stats(rows, "mean_coupler_error")
                clip, _ = _stats(rows, "gap_clipped_fraction")
                records.append(
                    {
                        **full,
                        "wavelength_nm": rows[0]["wavelength_nm"],
                        "n_chips": chips,
                        "accuracy_mean": acc,
                        "accuracy_std": acc_sd,
                        "fidelity_mean": fid,
                        "fidelity_std": fid_sd,
                        "mean_coupler_error": err,
                        "gap_clipped_fraction": clip,
                    }
                )
                if interrupt.stop_requested:
                    stopped = True
                    break
            if stopped:
                break
    export_dir = folder.path / "export"
    exported = []
    for training, model in models.items():
        exported += export_phase_settings(
            model.meshes[0], export_dir, name=training, wavelength=table.design_wavelength
        )
    exported.append(
        export_touchstone(
            models["nominal"].meshes[0],
            export_dir / "nominal_smatrix",
            wavelength=table.design_wavelength,
        )
    )
    # coupler-model summary: error at the design gap vs wavelength and at +-gap sigma
    wl_grid = np.array(config.wavelengths_nm) * 1e-9
    coupler_summary = {
        "wavelength_nm": [float(w) for w in config.wavelengths_nm],
        "coupler_error_design_gap": [
            float(chip_coupler_errors(table, torch.zeros(()), wavelength=float(w))) for w in wl_grid
        ],
        "coupler_error_per_nm_gap": float(
            (
                chip_coupler_errors(table, torch.tensor(1e-9), wavelength=table.design_wavelength)
                - chip_coupler_errors(
                    table, torch.tensor(-1e-9), wavelength=table.design_wavelength
                )
            )
            / 2
        ),
    }
    record = {
        "config": config,
        "coupler_model": meta["coupler_model"],
        "design_wavelength_nm": design,
        "clean_test_accuracy": {t: meta["models"][t]["clean_test_accuracy"] for t in TRAININGS},
        "coupler_summary": coupler_summary,
        "sigma_sweep": sigma_records,
        "wavelength_sweep": wl_records,
        "complete": not stopped,
        "seconds": time.perf_counter() - t0,
        "exported": [str(p.relative_to(folder.path)) for p in exported],
    }
    (folder.path / "codesign.json").write_text(json.dumps(to_jsonable(record), indent=2) + "\n")
    folder.write_metrics(
        {
            "complete": not stopped,
            "coupler_model": meta["coupler_model"],
            "clean_test_accuracy": record["clean_test_accuracy"],
            "accuracy_vs_gap_sigma": {
                f"{r['training']}/{r['correction']}/{r['gap_sigma_nm']:g}nm": [
                    r["accuracy_mean"],
                    r["accuracy_std"],
                ]
                for r in sigma_records
            },
        }
    )
    figs = []
    if sigma_records:
        figs.append(
            (
                _plot_sigma(
                    sigma_records,
                    folder.figure_path("accuracy_vs_gap_sigma"),
                    "accuracy",
                    "test accuracy",
                ),
                "Test accuracy vs coupler gap-error sigma (mean +- std over chips)",
            )
        )
        figs.append(
            (
                _plot_sigma(
                    sigma_records,
                    folder.figure_path("fidelity_vs_gap_sigma"),
                    "fidelity",
                    "matrix fidelity",
                ),
                "Matrix fidelity of the chip to the trained mesh",
            )
        )
    if wl_records:
        figs.append(
            (
                _plot_wavelength(wl_records, folder.figure_path("accuracy_vs_wavelength")),
                f"Test accuracy vs operating wavelength (gap sigma "
                f"{config.wavelength_gap_sigma_nm:g} nm)",
            )
        )
    report = Report("Chip co-design: device models to network accuracy")
    report.paragraph(_INTRO)
    report.paragraph(
        f"Coupler model: {meta['coupler_model']} {meta.get('coupler_model_info', {})}; "
        f"design wavelength {design:.1f} nm, design "
        f"gap {float(table.design_gap) * 1e9:.1f} nm; d e / d gap = "
        f"{coupler_summary['coupler_error_per_nm_gap']:.4g} rad/nm. Training: "
        f"{config.n_epochs} epochs per network; aware training gap sigma "
        f"{config.aware_gap_sigma_nm:g} nm, phase sigma {config.aware_phase_sigma:g} rad. "
        f"Chips per point: {n}. Phase sigma {config.phase_sigma:g} rad, loss {config.loss_db:g} "
        f"dB/MZI."
    )
    report.table(
        [
            {"training": t, "clean test accuracy": meta["models"][t]["clean_test_accuracy"]}
            for t in TRAININGS
        ],
        caption="Test accuracy of the trained networks on ideal hardware",
    )
    for fig, caption in figs:
        report.figure(fig, caption=caption, root=folder.path)
    report.table(
        [
            {
                "training": r["training"],
                "correction": r["correction"],
                "gap sigma (nm)": r["gap_sigma_nm"],
                "accuracy": f"{r['accuracy_mean']:.3f} +- {r['accuracy_std']:.3f}",
                "fidelity": f"{r['fidelity_mean']:.4f} +- {r['fidelity_std']:.4f}",
                "mean |e| (rad)": r["mean_coupler_error"],
            }
            for r in sigma_records
        ],
        caption="Monte-Carlo over fabricated chips",
    )
    report.table(
        [
            {
                "training": r["training"],
                "programming": r["correction"],
                "wavelength (nm)": r["wavelength_nm"],
                "accuracy": f"{r['accuracy_mean']:.3f} +- {r['accuracy_std']:.3f}",
                "fidelity": f"{r['fidelity_mean']:.4f}",
                "mean |e| (rad)": r["mean_coupler_error"],
            }
            for r in wl_records
        ],
        caption="Accuracy vs operating wavelength",
    )
    report.paragraph(
        "Exported for the lab (export/): " + ", ".join(record["exported"]) + ". Phases in rad "
        "on [0, 2 pi), heater powers in W at the design wavelength; Touchstone ports 1..N = "
        "inputs, N+1..2N = outputs."
    )
    if stopped:
        report.paragraph("Interrupted: only the points above were run.")
    report.write(folder.path / "report.html")
    return to_jsonable(record)


def fast_codesign_config(**overrides: Any) -> CodesignConfig:
    """The ``--fast`` configuration (fewer epochs, chips and sweep points)."""
    base = CodesignConfig(
        fast=True, gap_sigmas_nm=(0.0, 5.0, 10.0), wavelengths_nm=(1530.0, 1550.0, 1565.0)
    )
    return replace(base, **overrides)
