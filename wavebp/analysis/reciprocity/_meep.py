"""Meep: a reciprocal structure and its magneto-optic (gyrotropic) twin, run in a subprocess.

Importing Debian's meep switches the process to flush-denormals-to-zero (DESIGN.md), so the
Meep examples (:func:`wavebp.simulators.meep.meep_reciprocity_example`) run in a child
Python process and come back as JSON; nothing in this process imports meep. Without Meep, or
without that function, the rows are ``"skipped"`` with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wavebp.analysis.reciprocity._common import make_row
from wavebp.analysis.reciprocity._metrics import MEEP
from wavebp.analysis.reciprocity._rows import ReciprocityRow

__all__ = ["meep_available", "meep_rows"]

_EXAMPLES = (
    ("reciprocal twin", False, "pass"),
    ("gyrotropic (magneto-optic) slab", True, "fail"),
)

_CHILD = """
import json, sys
args = json.loads(sys.argv[1])
try:
    from wavebp.simulators.meep import meep_reciprocity_example
except ImportError as err:
    reason = f"wavebp.simulators.meep has no meep_reciprocity_example ({err})"
    print("@@JSON@@" + json.dumps({"skipped": reason}))
    sys.exit(0)
out = {}
for gyro in (False, True):
    res = meep_reciprocity_example(gyrotropic=gyro, fast=args["fast"])
    out[str(gyro)] = res
print("@@JSON@@" + json.dumps(out, default=str))
"""


def meep_available() -> bool:
    """Whether MIT Meep is importable (checked without importing it)."""
    try:
        return importlib.util.find_spec("meep") is not None
    except ValueError:
        return False


def _skipped(reason: str) -> list[ReciprocityRow]:
    return [
        ReciprocityRow(
            engine="meep",
            example=name,
            reciprocal_medium=not gyro,
            expected=expected,
            reciprocity_residual=None,
            unitarity_residual=None,
            time_reversal_error=None,
            gradient_cosine_error=None,
            verdict="skipped",
            note=f"skipped: {reason}",
        )
        for name, gyro, expected in _EXAMPLES
    ]


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def meep_rows(*, fast: bool = True, timeout_s: float = 1800.0) -> list[ReciprocityRow]:
    """The two Meep examples (reciprocal twin, gyrotropic slab), run in a child process.

    Args:
        fast: Meep's fast setting (coarser resolution).
        timeout_s: wall-clock limit of the child process in s.

    Returns:
        Two rows; ``"skipped"`` (with the reason in ``note``) if Meep or the example function
        is missing.

    Raises:
        RuntimeError: the child process failed (an internal error, with its stderr tail).
    """
    if not meep_available():
        return _skipped("MIT Meep not installed (apt-get install python3-meep; DESIGN.md)")
    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps({"fast": bool(fast)})],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"the Meep child process failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@JSON@@")]
    if not lines:
        raise RuntimeError(f"the Meep child process printed no result: {proc.stdout[-2000:]}")
    payload = lines[-1].removeprefix("@@JSON@@")
    data = json.loads(payload)
    if "skipped" in data:
        return _skipped(data["skipped"])
    rows = []
    for name, gyro, expected in _EXAMPLES:
        res = data[str(gyro)]
        details = {
            k: res.get(k)
            for k in ("frequency", "resolution", "runtime_s", "time_reversal_note", "details")
            if k in res
        }
        rows.append(
            make_row(
                engine="meep",
                example=name,
                reciprocal_medium=not gyro,
                expected=expected,
                tol=MEEP,
                reciprocity=_float(res.get("reciprocity_residual")),
                unitarity=_float(res.get("unitarity_residual")),
                time_reversal=_float(res.get("time_reversal_error")),
                gradient=_float(res.get("gradient_cosine_error")),
                note=(
                    "wavebp.simulators.meep.meep_reciprocity_example in a child process "
                    "(Meep flips the process to flush-denormals); residuals as the example "
                    "defines them (S21 vs S12 from swapped sources)"
                ),
                details=details,
                runtime_s=_float(res.get("runtime_s")) or seconds / 2,
            )
        )
    return rows
