"""Run the benchmarks (``benchmarks/w*_*.py``) in turn and write ``results/summary.md``.

Usage::

    .venv/bin/python benchmarks/run_all.py            # every w*_*.py, full size
    .venv/bin/python benchmarks/run_all.py --quick    # each with --quick
    .venv/bin/python benchmarks/run_all.py w1_mesh    # only the named ones

Each script's ``main(argv)`` is called in this process (``argv`` = ``["--quick"]`` or ``[]``).
A script that raises is reported in the summary and the others still run; the exit status is
1 if any failed. The summary holds, for each benchmark, its ``results/<name>.md`` when the run
wrote one, otherwise the location of its JSON result.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _common import RESULTS, machine_info  # noqa: E402


def discover() -> list[str]:
    """Names (file stems) of the benchmark scripts, sorted: ``w1_mesh``, ``w2_...``, ..."""
    return sorted(p.stem for p in HERE.glob("w*_*.py") if p.stem[1:2].isdigit())


def run_one(name: str, argv: list[str]) -> dict:
    """Import ``benchmarks/<name>.py`` and call its ``main(argv)``; never raises."""
    t0 = time.perf_counter()
    status: dict = {"name": name, "argv": argv}
    try:
        module = importlib.import_module(name)
        module.main(argv)
        status["ok"] = True
    except SystemExit as exc:  # argparse errors and explicit exits
        status["ok"] = exc.code in (0, None)
        if not status["ok"]:
            status["error"] = f"SystemExit({exc.code})"
    except Exception as exc:
        status["ok"] = False
        status["error"] = f"{type(exc).__name__}: {exc}"
        status["trace"] = traceback.format_exc()
        print(status["trace"], file=sys.stderr)
    status["wall_s"] = time.perf_counter() - t0
    return status


def summary_markdown(statuses: list[dict], started: float, quick: bool) -> str:
    info = machine_info()
    lines = [
        "# wavebp benchmarks — summary",
        "",
        f"Run {datetime.now(timezone.utc).isoformat(timespec='seconds')}"
        f"{' (--quick)' if quick else ''} on {info.get('cpu', '?')}, "
        f"{info.get('cpu_count')} cores, load average now {info.get('loadavg_at_start')}.",
        "Ratios and timings are only comparable within one benchmark's run "
        "(see each section's own load note).",
        "",
    ]
    for st in statuses:
        name = st["name"]
        lines.append(f"## {name} ({'ok' if st['ok'] else 'FAILED'}, {st['wall_s']:.0f} s)")
        lines.append("")
        if not st["ok"]:
            lines += ["```", st.get("error", "?"), "```", ""]
        md = RESULTS / f"{name}.md"
        js = RESULTS / f"{name}.json"
        if md.exists() and md.stat().st_mtime >= started:
            body = md.read_text().strip().splitlines()
            if body and body[0].startswith("# "):
                body[0] = "### " + body[0][2:]  # demote the benchmark's own title
            lines += [*body, ""]
        elif js.exists() and js.stat().st_mtime >= started:
            lines += [f"Result: `benchmarks/results/{name}.json` (no markdown table written).", ""]
        else:
            lines += ["No result written by this run.", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all w*_*.py)")
    p.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    args = p.parse_args(argv)
    available = discover()
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        p.error(f"unknown benchmark(s) {unknown}; available: {available}")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    started = time.time() - 1.0
    statuses = []
    for name in names:
        print(f"=== {name}", flush=True)
        statuses.append(run_one(name, ["--quick"] if args.quick else []))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "summary.md"
    out.write_text(summary_markdown(statuses, started, args.quick))
    print(f"wrote {out}")
    failed = [st["name"] for st in statuses if not st["ok"]]
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
