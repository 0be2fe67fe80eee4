"""``wavebp reciprocity``: the reciprocity / time-reversal table, written to a run folder.

Layout: ``config.json``, ``reciprocity.json`` (every row with its numbers, tolerances, rule
and details, the time-reversal sweeps and the printed table), ``metrics.json`` (verdicts and
the count of verdicts that differ from what the physics predicts),
``arrays/sweeps.npz``, ``figures/reciprocity.png`` and ``report.html``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from wavebp.analysis.reciprocity import (
    ReciprocityConfig,
    format_table,
    plot_reciprocity,
    reciprocity_rows,
    time_reversal_sweeps,
)
from wavebp.experiments._runfolder import Report, RunFolder, to_jsonable

__all__ = ["run_reciprocity"]

_INTRO = (
    "Light sent back through a reciprocal device sees S^T (Lorentz reciprocity), while "
    "backpropagation needs S^H = conj(S^T). Phase-conjugating what is injected and what is "
    "read out turns one into the other -- but only if the device is reciprocal, and the "
    "round trip returns the initial state only if it is also lossless. Each engine is run on "
    "reciprocal examples and on a non-reciprocal one (a Faraday element in the mesh, a "
    "travelling-wave permittivity modulation in the FDTD, a gyrotropic material in Meep); "
    "the verdict of each row follows the rule quoted under the table, with tolerances set by "
    "the arithmetic (complex128 for the mesh and TMM, a float64 leapfrog for the FDTD)."
)


def run_reciprocity(
    config: ReciprocityConfig, out: str | Path, *, overwrite: bool = False
) -> dict[str, Any]:
    """Run the configured engines and write the run folder ``out``.

    Args:
        config: what to run.
        out: the run folder (created; an existing run there needs ``overwrite``).
        overwrite: replace an existing run in ``out``.

    Returns:
        The content of ``reciprocity.json`` (``"rows"``, ``"sweeps"``, ``"table"``,
        ``"seconds"``).
    """
    folder = RunFolder(out, overwrite=overwrite)
    folder.write_config(config)
    start = time.perf_counter()
    rows = reciprocity_rows(config)
    sweeps = time_reversal_sweeps(config)
    seconds = time.perf_counter() - start
    table = format_table(rows)
    fig = plot_reciprocity(rows, sweeps, folder.figure_path("reciprocity"))
    for name, sweep in sweeps.items():
        folder.save_arrays(f"sweep_{name}", **sweep)
    record = {
        "fast": config.fast,
        "engines": list(config.engines),
        "rows": [r.to_json() for r in rows],
        "sweeps": sweeps,
        "table": table,
        "seconds": seconds,
    }
    (folder.path / "reciprocity.json").write_text(json.dumps(to_jsonable(record), indent=2) + "\n")
    unexpected = [f"{r.engine}: {r.example}" for r in rows if not r.as_expected]
    folder.write_metrics(
        {
            "verdicts": {f"{r.engine}: {r.example}": r.verdict for r in rows},
            "unexpected_verdicts": unexpected,
            "seconds": seconds,
        }
    )
    report = Report("Reciprocity and time reversal across every engine")
    report.paragraph(_INTRO)
    report.table(
        [
            {
                "engine": r.engine,
                "example": r.example,
                "reciprocity residual": r.reciprocity_residual,
                "unitarity residual": r.unitarity_residual,
                "time-reversal error": r.time_reversal_error,
                "gradient cosine error": r.gradient_cosine_error,
                "verdict": r.verdict,
                "expected": r.expected,
            }
            for r in rows
        ],
        caption="One row per example (- : not applicable or skipped)",
    )
    report.figure(
        fig,
        caption=(
            "Left: residuals and gradient errors per example (log scale). Middle: mesh "
            "time reversal vs insertion loss per MZI. Right: FDTD time reversal vs damping."
        ),
        root=folder.path,
    )
    report.heading("Verdict rules")
    for rule in dict.fromkeys(f"{r.engine}: {r.rule}" for r in rows if r.rule):
        report.paragraph(rule)
    report.heading("How each number was measured")
    for r in rows:
        report.preformatted(
            f"{r.engine}: {r.example} -> {r.verdict} (expected {r.expected})\n{r.note}\n"
            f"details: {json.dumps(to_jsonable(r.details), default=str)[:1500]}"
        )
    if unexpected:
        report.paragraph(
            "Verdicts that differ from the physics' prediction: " + "; ".join(unexpected)
        )
    report.write(folder.path / "report.html")
    return to_jsonable(record)
