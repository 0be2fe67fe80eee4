"""Shared helpers for the benchmarks: machine/version record, timing, JSON output.

Every benchmark script ``benchmarks/wN_name.py`` is runnable on its own
(``.venv/bin/python benchmarks/wN_name.py [--quick]``), exposes ``main(argv=None)`` and writes
``benchmarks/results/wN_name.json`` with :func:`write_result`. Anchor packages run in their own
virtualenvs under ``.bench-venv/`` (see ``benchmarks/README.md``), called as subprocesses in the
same run so that ratios are measured side by side.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, OS and Python, for the JSON record."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["mem_total_kb"] = int(line.split()[1])
                break
    except OSError:
        pass
    try:
        info["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def package_versions(*names: str) -> dict[str, str | None]:
    """Installed versions of ``names`` in this interpreter (None where missing)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def time_median(
    fn: Callable[[], Any], *, repeats: int = 20, warmup: int = 3, max_seconds: float = 30.0
) -> dict[str, float]:
    """Median/min/IQR wall-clock seconds of ``fn()`` after ``warmup`` calls.

    Stops early once ``max_seconds`` have been spent (at least 3 timed calls).
    """
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > max_seconds and len(times) >= 3:
            break
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else [times[0]] * 3
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "q1_s": q[0],
        "q3_s": q[2],
        "n": len(times),
    }


def time_budget(
    fn: Callable[[], Any], *, repeats: int = 20, warmup: int = 3, max_seconds: float = 30.0
) -> dict[str, float]:
    """Like :func:`time_median`, but cheap for slow calls.

    One call first measures the cost (it counts as a warm-up). A call slower than a third of
    ``max_seconds`` is timed once more (first calls often include tracing, compilation or
    allocation); if that second call is still that slow, its single time is reported
    (``n = 1``). Otherwise :func:`time_median` runs with the warm-up calls not yet made.
    The result also holds ``first_call_s`` and the 1-minute load average after timing.
    """

    def once() -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    first = once()
    done = 1
    if 3 * first > max_seconds:
        second = once()
        done = 2
        if 3 * second > max_seconds:
            t = second
            out: dict[str, float] = {"median_s": t, "min_s": t, "q1_s": t, "q3_s": t, "n": 1}
        else:
            out = time_median(
                fn, repeats=repeats, warmup=max(warmup - done, 0), max_seconds=max_seconds
            )
    else:
        out = time_median(
            fn, repeats=repeats, warmup=max(warmup - done, 0), max_seconds=max_seconds
        )
    out["first_call_s"] = first
    try:
        out["loadavg_1min"] = os.getloadavg()[0]
    except OSError:
        pass
    return out


def run_in_env(python: Path, script: Path, args: list[str], timeout: float = 1800) -> Any:
    """Run ``script`` with another interpreter (an anchor's venv); parse its JSON stdout.

    On failure (non-zero exit, timeout, no JSON) returns ``{"error": ...}`` with the tail of
    the standard error instead of raising, so one broken anchor does not stop a benchmark.
    """
    env = dict(os.environ)
    try:
        proc = subprocess.run(
            [str(python), str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:], "returncode": proc.returncode}
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": "no JSON result on stdout", "stderr": proc.stderr[-2000:]}


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>.json`` with machine info and a UTC timestamp added."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path
