"""``wavebp paper``: the seed paper's claims as experiments, written to a run folder.

Layout: ``config.json``, ``claims.json`` (every number, and per claim a ``"verdict"`` in
``supported | refuted | inconclusive``), ``metrics.json`` (the verdicts alone),
``arrays/claim<N>.npz``, ``figures/claim<N>_<slug>.png`` and ``report.html`` (one figure
and one verdict paragraph per claim, with the decision rule).
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wavebp._core import Progress, check_int
from wavebp.analysis import paper
from wavebp.analysis.paper import EXPERIMENTS, ClaimResult, experiment_generator
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable

__all__ = ["PaperConfig", "run_paper"]


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """What ``wavebp paper`` runs.

    Attributes:
        fast: small sizes (all seven in well under 3 minutes on 2 cores).
        only: experiment numbers to run (subset of 1..7), in order.
        seed: run seed; experiment ``N`` uses generator seed ``1000 * seed + N``.
    """

    fast: bool = False
    only: tuple[int, ...] = tuple(EXPERIMENTS)
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.fast, bool):
            raise ValueError(f"fast must be True or False, got {self.fast!r}")
        only = tuple(self.only)
        if not only:
            raise ValueError("only must list at least one experiment number in 1..7, got ()")
        for n in only:
            check_int("only", n, minimum=min(EXPERIMENTS), maximum=max(EXPERIMENTS))
        if len(set(only)) != len(only):
            raise ValueError(f"only must not repeat an experiment number, got {only!r}")
        object.__setattr__(self, "only", tuple(sorted(int(n) for n in only)))
        check_int("seed", self.seed, minimum=0)


_INTRO = (
    "Each claim of the seed paper (Shen & OpenClaw, 'Deriving Backpropagation from Wave "
    "Equations') is turned into a numerical experiment on ordinary torch networks (and, for "
    "the Kerr part of claim 7, on the package's FDTD wave engine). Where the paper is vague "
    "the report states the precise operationalisation tested. Each verdict -- supported, "
    "refuted or inconclusive -- is computed by a decision rule written in code "
    "(wavebp.analysis.paper.rule_*) with thresholds fixed in advance; the rule is quoted "
    "next to the verdict. Confidence intervals are 95% Student-t intervals over seeds."
)


def _verdict_paragraph(result: ClaimResult) -> str:
    head = next(s for s in result.sub_claims if s.name == result.headline)
    return (
        f"Verdict: {head.verdict.upper()}. Claim: {head.claim} Test: {head.test} Rule: {head.rule}."
    )


def _short(numbers: Any) -> str:
    text = json.dumps(to_jsonable(numbers), default=str)
    return text if len(text) < 1500 else text[:1500] + " ..."


def run_paper(
    config: PaperConfig, out: str | Path, *, overwrite: bool = False, progress: bool | None = None
) -> dict[str, Any]:
    """Run the experiments of ``config`` and write the run folder ``out``.

    Args:
        config: what to run.
        out: the run folder (created; an existing run there needs ``overwrite``).
        overwrite: replace an existing run in ``out``.
        progress: show a progress bar (``None``: only on a terminal).

    Returns:
        The content of ``claims.json``.
    """
    folder = RunFolder(out, overwrite=overwrite)
    folder.write_config(config)
    claims: dict[str, Any] = {}
    results: list[tuple[ClaimResult, Path, float]] = []
    stopped = False
    with (
        GracefulInterrupt() as interrupt,
        Progress(len(config.only), desc="paper", enabled=progress) as bar,
    ):
        for number in config.only:
            exp = EXPERIMENTS[number]
            bar.update(0, claim=f"{number} {exp.slug}")
            start, cpu_start = time.perf_counter(), time.process_time()
            result = exp.run(fast=config.fast, generator=experiment_generator(config.seed, number))
            seconds = time.perf_counter() - start
            cpu_seconds = time.process_time() - cpu_start
            fig = exp.plot(result, folder.figure_path(f"claim{number}_{exp.slug}"))
            folder.save_arrays(f"claim{number}", **result.arrays)
            claims[str(number)] = {
                **result.to_json(),
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
            }
            results.append((result, fig, seconds))
            folder.append_history(
                {
                    "claim": number,
                    "slug": exp.slug,
                    "verdict": result.verdict,
                    "seconds": seconds,
                    "cpu_seconds": cpu_seconds,
                }
            )
            bar.update(1, claim=f"{number} {result.verdict}")
            if interrupt.stop_requested:
                stopped = True
                break
    record = {"seed": config.seed, "fast": config.fast, "complete": not stopped, "claims": claims}
    (folder.path / "claims.json").write_text(json.dumps(to_jsonable(record), indent=2) + "\n")
    folder.write_metrics(
        {"verdicts": {k: v["verdict"] for k, v in claims.items()}, "complete": not stopped}
    )
    report = Report("The seed paper's claims, tested")
    report.paragraph(_INTRO)
    report.table(
        [
            {
                "claim": r.number,
                "title": r.title,
                "verdict": r.verdict,
                "sub-claims": ", ".join(f"{s.name}: {s.verdict}" for s in r.sub_claims),
                "seconds": round(sec, 1),
            }
            for r, _, sec in results
        ],
        caption="Verdicts (headline sub-claim decides)",
    )
    if stopped:
        report.paragraph("Interrupted: only the claims above were run.")
    for result, fig, _ in results:
        report.heading(f"{result.number}. {result.title}")
        report.figure(fig, caption=result.title, root=folder.path)
        report.paragraph(_verdict_paragraph(result))
        report.table(
            [
                {"sub-claim": s.name, "verdict": s.verdict, "claim": s.claim, "rule": s.rule}
                for s in result.sub_claims
            ]
        )
        for s in result.sub_claims:
            if s.rule_source:
                fn = getattr(paper, s.rule_source, None)
                doc = (inspect.getdoc(fn) or "") if fn is not None else ""
                report.preformatted(f"{s.rule_source}: {doc}")
            report.preformatted(
                f"{s.name} ({s.verdict}): test: {s.test}\nnumbers: {_short(s.numbers)}"
            )
        for note in result.notes:
            report.paragraph(f"Note: {note}")
    report.write(folder.path / "report.html")
    return to_jsonable(record)
