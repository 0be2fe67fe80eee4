"""The reciprocity table: config, rows for every engine, the time-reversal sweeps, a text
table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from wavebp._core import check_int, check_real
from wavebp.analysis.reciprocity._rows import ReciprocityRow

__all__ = [
    "ENGINES",
    "ReciprocityConfig",
    "format_table",
    "reciprocity_rows",
    "rows_to_json",
    "time_reversal_sweeps",
]

#: Engines of the table, in order.
ENGINES = ("mesh", "tmm", "fdtd", "meep")


@dataclass(frozen=True, kw_only=True)
class ReciprocityConfig:
    """What the reciprocity check runs.

    Attributes:
        engines: engines to run, a subset of :data:`ENGINES` (order is kept as in ENGINES).
        fast: smaller FDTD runs and sweeps (mesh and TMM are small either way); Meep's own
            fast setting.
        mesh_ports: ports of the Clements mesh, ``>= 4``.
        mesh_loss_db: insertion loss per MZI of the lossy mesh example in dB, ``> 0``.
        faraday_phase: Faraday phase of the non-reciprocal mesh example in rad, ``!= 0``.
        sweep_losses_db: losses per MZI (dB, ``>= 0``) of the time-reversal-vs-loss curve.
        sweep_dampings: damping rates (1/s, normalised grid, ``>= 0``) of the FDTD curve.
        meep_timeout_s: wall-clock limit of the Meep child process in s, ``> 0``.
        seed: seed of the mesh examples (phases and data batch), ``>= 0``; the TMM stacks
            and FDTD media are fixed.
    """

    engines: tuple[str, ...] = ENGINES
    fast: bool = False
    mesh_ports: int = 6
    mesh_loss_db: float = 0.1
    faraday_phase: float = math.pi / 2
    sweep_losses_db: tuple[float, ...] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    sweep_dampings: tuple[float, ...] = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    meep_timeout_s: float = 1800.0
    seed: int = 11

    def __post_init__(self) -> None:
        engines = tuple(self.engines)
        if not engines:
            raise ValueError(f"engines must name at least one of {ENGINES}, got ()")
        for e in engines:
            if e not in ENGINES:
                raise ValueError(f"engines must be a subset of {ENGINES}, got {e!r}")
        object.__setattr__(self, "engines", tuple(e for e in ENGINES if e in engines))
        if not isinstance(self.fast, bool):
            raise ValueError(f"fast must be True or False, got {self.fast!r}")
        check_int("mesh_ports", self.mesh_ports, minimum=4, maximum=64)
        check_real("mesh_loss_db", self.mesh_loss_db, low=0.0, low_inclusive=False, unit="dB")
        check_real("faraday_phase", self.faraday_phase, unit="rad")
        if self.faraday_phase == 0.0:
            raise ValueError(
                "faraday_phase must be non-zero rad (a non-reciprocal element), got 0.0"
            )
        for v in self.sweep_losses_db:
            check_real("sweep_losses_db entries", v, low=0.0, unit="dB")
        for v in self.sweep_dampings:
            check_real("sweep_dampings entries", v, low=0.0, unit="1/s")
        object.__setattr__(self, "sweep_losses_db", tuple(float(v) for v in self.sweep_losses_db))
        object.__setattr__(self, "sweep_dampings", tuple(float(v) for v in self.sweep_dampings))
        check_real("meep_timeout_s", self.meep_timeout_s, low=0.0, low_inclusive=False, unit="s")
        check_int("seed", self.seed, minimum=0)


def reciprocity_rows(config: ReciprocityConfig) -> list[ReciprocityRow]:
    """Run every example of the configured engines.

    Args:
        config: what to run.

    Returns:
        One :class:`ReciprocityRow` per example (JSON via ``row.to_json()``), engines in the
        order of :data:`ENGINES`.
    """
    rows: list[ReciprocityRow] = []
    for engine in config.engines:
        if engine == "mesh":
            from wavebp.analysis.reciprocity._mesh import mesh_rows

            rows += mesh_rows(
                n_ports=config.mesh_ports,
                loss_db=config.mesh_loss_db,
                faraday_phase=config.faraday_phase,
                seed=config.seed,
            )
        elif engine == "tmm":
            from wavebp.analysis.reciprocity._tmm import tmm_rows

            rows += tmm_rows()
        elif engine == "fdtd":
            from wavebp.analysis.reciprocity._fdtd import fdtd_rows

            rows += fdtd_rows(fast=config.fast)
        else:
            from wavebp.analysis.reciprocity._meep import meep_rows

            rows += meep_rows(fast=config.fast, timeout_s=config.meep_timeout_s)
    return rows


def time_reversal_sweeps(config: ReciprocityConfig) -> dict[str, dict[str, list[float]]]:
    """Time-reversal error vs loss: the mesh vs insertion loss per MZI (if ``"mesh"`` is an
    engine) and the 1-D closed FDTD box vs damping rate (if ``"fdtd"`` is), each with its
    analytic curve and the in-situ gradient error.

    Returns:
        ``{"mesh": {...}, "fdtd": {...}}`` (see :func:`mesh_loss_sweep`,
        :func:`fdtd_damping_sweep`), only for the configured engines.
    """
    out: dict[str, dict[str, list[float]]] = {}
    if "mesh" in config.engines:
        from wavebp.analysis.reciprocity._mesh import mesh_loss_sweep

        out["mesh"] = mesh_loss_sweep(
            config.sweep_losses_db, n_ports=config.mesh_ports, seed=config.seed
        )
    if "fdtd" in config.engines:
        from wavebp.analysis.reciprocity._fdtd import fdtd_damping_sweep

        out["fdtd"] = fdtd_damping_sweep(config.sweep_dampings, n_steps=360 if config.fast else 800)
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return f"{value:.2e}"


def format_table(rows: list[ReciprocityRow]) -> str:
    """A fixed-width text table: engine, example, reciprocity residual, unitarity residual,
    time-reversal error, gradient cosine error, verdict (``*`` marks a verdict other than
    the one the physics predicts)."""
    head = (
        "engine",
        "example",
        "recip.resid",
        "unitarity",
        "time-rev.err",
        "grad.cos.err",
        "verdict",
    )
    body = [
        (
            r.engine,
            r.example,
            _fmt(r.reciprocity_residual),
            _fmt(r.unitarity_residual),
            _fmt(r.time_reversal_error),
            _fmt(r.gradient_cosine_error),
            r.verdict + ("" if r.as_expected else " *"),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in (head, *body)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def rows_to_json(rows: list[ReciprocityRow]) -> list[dict[str, Any]]:
    """``[row.to_json() for row in rows]``."""
    return [r.to_json() for r in rows]
