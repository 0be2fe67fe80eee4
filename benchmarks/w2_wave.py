"""W2: 2-D scalar wave, 256 x 256 cells incl. the absorbing layer, 1000 steps, float32.

Workload (``shared/BENCHMARKS.md``, W2): batch 1 and 16; one point source with a random
signal, one point probe, loss ``sum(y^2)``, gradient w.r.t. the wave-speed map (the wave-RNN's
trainable parameter). Contenders, measured in one run, each case in a fresh subprocess (so
that its peak memory, ``ru_maxrss`` minus the resident size just before the timed call, is
its own):

* wavebp ``simulate``: forward (no grad), forward + backward with ``gradient="adjoint"``
  (reversible, saves only the PML/interior interface per step) and ``gradient="autograd"``;
* wavetorch 0.2.1 (its own virtualenv ``.bench-venv/wavetorch``,
  ``benchmarks/anchors/w2_wavetorch.py``): forward and forward + backward w.r.t. its density;
* Meep's 2-D Ez field stepping (``benchmarks/anchors/w2_meep.py``, in its own process:
  importing Meep flips the process to flush-denormals-to-zero).

Cell-updates/s = 256 * 256 * 1000 * batch / seconds. Run:
``.venv/bin/python benchmarks/w2_wave.py [--quick] [--threads 2] [--no-anchors]
[--device cpu|cuda]``; writes ``benchmarks/results/w2_wave.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import package_versions, write_result  # noqa: E402

NAME = "w2_wave"
SIZE = 256
PML = 20
WAVETORCH_PYTHON = ROOT / ".bench-venv" / "wavetorch" / "bin" / "python"
WAVETORCH_SCRIPT = HERE / "anchors" / "w2_wavetorch.py"
MEEP_SCRIPT = HERE / "anchors" / "w2_meep.py"


def _rss_mb() -> float:
    """Current resident set size (MB)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _case(mode: str, batch: int, steps: int, repeats: int, device: str) -> dict[str, Any]:
    """One wavebp case, in this (fresh) process: peak memory first, then timings."""
    import torch

    from wavebp.simulators.fdtd import Grid, PointProbe, PointSource, simulate

    grid = Grid(shape=(SIZE, SIZE), dx=1.0, dt=0.5, c_ref=1.0, pml_cells=PML)
    gen = torch.Generator().manual_seed(0)
    signals = torch.randn(batch, 1, steps, generator=gen).to(device)
    speed0 = torch.ones(SIZE, SIZE, device=device)
    src = [PointSource(position=(64.0, 128.0))]
    prb = [PointProbe(position=(192.0, 128.0))]

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    def run(n_steps: int) -> None:
        sig = signals[..., :n_steps]
        if mode == "forward":
            with torch.no_grad():
                simulate(grid=grid, sources=src, signals=sig, probes=prb, wave_speed=speed0)
        else:
            speed = speed0.clone().requires_grad_(True)
            y = simulate(
                grid=grid, sources=src, signals=sig, probes=prb, wave_speed=speed, gradient=mode
            )
            y.pow(2).sum().backward()
        sync()

    # peak memory of the first full call (nothing run before it in this process), then the
    # timings after that call as warm-up
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
    rss0 = _rss_mb()
    run(steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6 - rss0  # KiB
    if device == "cuda":
        peak = (torch.cuda.max_memory_allocated() - base) / 1e6
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(steps)
        times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {
        "implementation": f"wavebp {mode}" if mode != "forward" else "wavebp forward",
        "mode": "forward" if mode == "forward" else "forward+backward",
        "gradient": None if mode == "forward" else mode,
        "batch": batch,
        "steps": steps,
        "device": device,
        "seconds": seconds,
        "times": times,
        "mcells_per_s": SIZE * SIZE * steps * batch / seconds / 1e6,
        "peak_mem_mb": peak,
    }


def _subprocess(args: list[str], python: Path, script: Path, timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    try:
        proc = subprocess.run(
            [str(python), str(script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr[-1500:]}
    for line in reversed(proc.stdout.strip().splitlines()):  # Meep prints after our JSON
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return {"error": proc.stdout[-500:] + proc.stderr[-1000:]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run W2 and write ``results/w2_wave.json``; returns the record."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 steps, one repeat")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--no-anchors", action="store_true", help="skip wavetorch and Meep")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--batches", default="1,16")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=1000, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.case:  # child process: one case, JSON on stdout
        import torch

        torch.set_num_threads(args.threads)
        print(json.dumps(_case(args.case, args.batch, args.steps, args.repeats, args.device)))
        return {}
    steps = 100 if args.quick else 1000
    batches = [int(b) for b in args.batches.split(",")]
    rows: list[dict[str, Any]] = []
    me = Path(__file__).resolve()
    for batch in batches:
        repeats = 1 if args.quick or batch > 1 else 3  # + one untimed (memory) call
        for mode in ("forward", "adjoint", "autograd"):
            if mode == "autograd" and batch > 1 and args.device == "cpu" and not args.quick:
                # ~2.6 GB per batch element at 1000 steps: does not fit in 24 GB at batch 16
                rows.append(
                    {
                        "implementation": "wavebp autograd",
                        "batch": batch,
                        "mode": "forward+backward",
                        "skipped": "autograd graph ~ batch x the batch-1 memory; exceeds RAM",
                    }
                )
                continue
            cargs = [
                "--case",
                mode,
                "--batch",
                str(batch),
                "--steps",
                str(steps),
                "--repeats",
                str(repeats),
                "--threads",
                str(args.threads),
                "--device",
                args.device,
            ]
            row = _subprocess(cargs, Path(sys.executable), me, timeout=1800)
            row.setdefault("implementation", f"wavebp {mode}")
            row.setdefault("batch", batch)
            rows.append(row)
            print(json.dumps(row), flush=True)
        if args.no_anchors:
            continue
        for mode in ("forward", "forward+backward"):
            if not WAVETORCH_PYTHON.exists():
                rows.append(
                    {
                        "implementation": "wavetorch 0.2.1",
                        "batch": batch,
                        "mode": mode,
                        "error": "not installed (.bench-venv/wavetorch)",
                    }
                )
                continue
            row = _subprocess(
                [
                    "--batch",
                    str(batch),
                    "--steps",
                    str(steps),
                    "--mode",
                    mode,
                    "--threads",
                    str(args.threads),
                ],
                WAVETORCH_PYTHON,
                WAVETORCH_SCRIPT,
                timeout=1800,
            )
            row.setdefault("implementation", "wavetorch 0.2.1")
            row.setdefault("batch", batch)
            row.setdefault("mode", mode)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if not args.no_anchors:
        row = _subprocess(
            ["--steps", str(steps), "--size", str(SIZE), "--pml", str(PML)],
            Path(sys.executable),
            MEEP_SCRIPT,
            timeout=600,
        )
        row.setdefault("implementation", "Meep 2-D Ez field stepping")
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = _summary(rows)
    record = {
        "workload": f"2-D scalar wave {SIZE}x{SIZE} incl. {PML}-cell PML, {steps} steps, "
        "float32, loss sum(y^2), gradient w.r.t. the wave-speed map",
        "threads": args.threads,
        "device": args.device,
        "quick": args.quick,
        "versions": package_versions("torch", "numpy", "wavebp"),
        "rows": rows,
        "summary": summary,
    }
    path = write_result(NAME, record)
    table = _table(rows, summary)
    print(table)
    if not args.quick:
        path.with_suffix(".md").write_text(
            f"# W2 ({args.device}, {args.threads} torch thread(s))\n\n{table}\n"
        )
    print(f"wrote {path}")
    return record


def _find(rows, impl: str, batch: int, mode: str | None = None):
    for r in rows:
        if (
            r.get("implementation") == impl
            and r.get("batch") == batch
            and "error" not in r
            and "skipped" not in r
            and (mode is None or r.get("mode") == mode)
        ):
            return r
    return None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    meep = next(
        (r for r in rows if r.get("implementation", "").startswith("Meep") and "error" not in r),
        None,
    )
    fwd16 = _find(rows, "wavebp forward", 16)
    if meep and fwd16:
        out["forward_b16_per_input_vs_meep"] = fwd16["mcells_per_s"] / meep["mcells_per_s"]
    for b in (1, 16):
        adj = _find(rows, "wavebp adjoint", b)
        auto = _find(rows, "wavebp autograd", b)
        wt = _find(rows, "wavetorch 0.2.1", b, "forward+backward")
        if adj and wt:
            out[f"fwd_bwd_b{b}_speedup_vs_wavetorch"] = wt["seconds"] / adj["seconds"]
            out[f"memory_b{b}_adjoint_over_wavetorch"] = adj["peak_mem_mb"] / wt["peak_mem_mb"]
        if adj and auto:
            out[f"memory_b{b}_adjoint_over_autograd"] = adj["peak_mem_mb"] / auto["peak_mem_mb"]
        # memory attributable to the gradient: peak(forward+backward) - peak(forward)
        fwd = _find(rows, "wavebp forward", b)
        wt_fwd = _find(rows, "wavetorch 0.2.1", b, "forward")
        if adj and fwd:
            out[f"grad_mem_b{b}_wavebp_adjoint_mb"] = adj["peak_mem_mb"] - fwd["peak_mem_mb"]
        if auto and fwd:
            out[f"grad_mem_b{b}_wavebp_autograd_mb"] = auto["peak_mem_mb"] - fwd["peak_mem_mb"]
        if wt and wt_fwd:
            out[f"grad_mem_b{b}_wavetorch_mb"] = wt["peak_mem_mb"] - wt_fwd["peak_mem_mb"]
    return out


def _table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = [
        "| implementation | batch | mode | seconds | M cell-updates/s | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r or "skipped" in r:
            why = r.get("error", r.get("skipped", ""))[:80].replace("\n", " ")
            lines.append(
                f"| {r.get('implementation')} | {r.get('batch', '')} | {r.get('mode', '')} "
                f"| - | - | {why} |"
            )
            continue
        lines.append(
            f"| {r['implementation']} | {r.get('batch', '')} | {r.get('mode', '')} | "
            f"{r['seconds']:.3g} | {r['mcells_per_s']:.4g} | "
            f"{r.get('peak_mem_mb', float('nan')):.4g} |"
        )
    lines.append("")
    lines += [f"- {k}: {v:.3g}" for k, v in summary.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
