"""Shared plumbing for the anchor runners (run INSIDE an anchor's own virtualenv).

Each runner ``benchmarks/anchors/<anchor>_w1.py`` imports only this module, the anchor package
and its dependencies; it prints one JSON object as the last line of its standard output, which
``benchmarks/_common.run_in_env`` parses. The anchors' code is never copied here: the runners
only call it (workarounds are monkeypatches and stand-in modules, listed in ``workarounds``).

Thread limits are set in the environment *before* numpy/torch/TensorFlow are imported, so the
anchors run on the same number of threads as the wavebp contenders.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STUBS = HERE / "stubs"
sys.path.insert(0, str(HERE.parent))  # benchmarks/ for _common (standard library only)

from _common import time_budget  # noqa: E402

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """``--sizes 64,128 --batch 1024 --threads 2 --repeats 20 --max-seconds 10``."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="64,128,256", help="comma-separated mesh sizes N")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=10.0, help="timing budget per entry")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    return args


def limit_threads(n: int) -> None:
    """Set the thread environment variables (call before importing numpy/torch/TF)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def use_stubs() -> None:
    """Put ``anchors/stubs`` (stand-ins for heavy, unused imports) on ``sys.path``."""
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))


def timed(fn: Callable[[], Any], args: argparse.Namespace) -> dict[str, float]:
    """:func:`_common.time_budget` with the command-line repeats, warm-up and budget."""
    return time_budget(fn, repeats=args.repeats, warmup=args.warmup, max_seconds=args.max_seconds)


def weights_np(n: int, dtype: Any) -> Any:
    """``w = linspace(0.1, 1, N)`` as a numpy array."""
    import numpy as np

    return np.linspace(0.1, 1.0, n).astype(dtype)


def random_input_np(n: int, batch: int, seed: int = 0) -> Any:
    """Complex128 ``(batch, n)`` standard-normal input, rows normalised to unit power."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n)) + 1j * rng.standard_normal((batch, n))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def version_of(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def run_entry(
    results: dict[str, Any],
    key: str,
    fn: Callable[[], Any] | None,
    args: argparse.Namespace,
    *,
    note: str | None = None,
) -> None:
    """Time ``fn`` into ``results[key]``; record an error instead of raising."""
    if fn is None:
        results[key] = {"skipped": note or "not applicable"}
        return
    try:
        results[key] = timed(fn, args)
        if note:
            results[key]["note"] = note
    except Exception as exc:  # an anchor failing is a result, not a crash
        results[key] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(-3)}


def emit(payload: dict[str, Any]) -> None:
    """Print the JSON result as the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(payload, default=str))
