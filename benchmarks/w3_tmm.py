"""W3: thin-film TMM, 100 layers, 1000 wavelengths x 100 angles, s-polarisation, complex128.

Workload (``shared/BENCHMARKS.md``, W3): ``n0 = 1 | 50 x (nH = 2.35, nL = 1.46)`` quarter-wave
at 600 nm ``| ns = 1.52``; wavelengths ``linspace(400, 800, W)`` nm, angles
``linspace(0, 1.2, A)`` rad (W = 1000, A = 100: 100,000 points). Contenders, measured in one
run:

* wavebp ``coherent`` forward (R, T for every point), and forward + gradient of ``sum(R)``
  w.r.t. the 100 thicknesses, with ``gradient="adjoint"`` and ``gradient="autograd"``;
* Byrnes' ``tmm.coh_tmm`` (a Python loop over points): a random subsample of points is timed
  and the time **extrapolated** to the full grid (stated in the output); its ``r`` and ``R``
  on the subsample give the agreement;
* ``tmm-fast`` (numpy inputs; torch inputs; torch with the thickness gradient), in its own
  virtualenv ``.bench-venv/tmm-fast`` (``benchmarks/anchors/w3_tmm_fast.py``); agreement of
  R over the full grid.

Peak memory (max RSS) of each wavebp mode is measured in a fresh subprocess.

Run: ``.venv/bin/python benchmarks/w3_tmm.py [--quick] [--no-anchors] [--threads 2]``; writes
``benchmarks/results/w3_tmm.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import package_versions, run_in_env, time_budget, write_result  # noqa: E402

NAME = "w3_tmm"
ANCHOR_PYTHON = ROOT / ".bench-venv" / "tmm-fast" / "bin" / "python"
ANCHOR_SCRIPT = HERE / "anchors" / "w3_tmm_fast.py"
N_H, N_L, N_S, LAM0 = 2.35, 1.46, 1.52, 600e-9


def workload(n_wavelengths: int, n_angles: int):
    """``(n, d, wavelength (W, 1), angle (A,))`` as float64/complex128 tensors."""
    n = torch.tensor([1.0] + [N_H, N_L] * 50 + [N_S], dtype=torch.complex128)
    d = torch.tensor(
        [math.inf] + [LAM0 / 4 / N_H, LAM0 / 4 / N_L] * 50 + [math.inf], dtype=torch.float64
    )
    wl = torch.linspace(400e-9, 800e-9, n_wavelengths, dtype=torch.float64).unsqueeze(-1)
    angle = torch.linspace(0.0, 1.2, n_angles, dtype=torch.float64)
    return n, d, wl, angle


def run_ours(mode: str, n, d, wl, angle):
    from wavebp.simulators.tmm import coherent

    if mode == "forward":
        with torch.no_grad():
            return coherent(n, d, wl, angle=angle, polarization="s")
    leaf = d.clone().requires_grad_(True)
    res = coherent(n, leaf, wl, angle=angle, polarization="s", gradient=mode)
    res.R.sum().backward()
    return leaf.grad


def memory_probe(mode: str, n_wavelengths: int, n_angles: int, threads: int) -> float:
    """Peak RSS (MB, ``VmHWM``) of a fresh process that runs ``mode`` once (``none``: setup).

    ``ru_maxrss`` is not used: Linux carries the parent's high-water mark into a forked child.
    """
    run = f"w.run_ours({mode!r}, *a)" if mode != "none" else "None"
    code = (
        f"import sys, torch; sys.path.insert(0, {str(HERE)!r});"
        f"torch.set_num_threads({threads});"
        f"import w3_tmm as w; a = w.workload({n_wavelengths}, {n_angles}); {run};"
        "print([int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')][0]"
        " / 1024)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if proc.returncode != 0:
        return float("nan")
    return float(proc.stdout.strip().splitlines()[-1])


def byrnes(n, d, wl, angle, n_sample: int, seed: int = 0) -> dict[str, Any]:
    """Time Byrnes' tmm on a random subsample and compare with ours there."""
    import tmm

    from wavebp.simulators.tmm import coherent

    rng = np.random.default_rng(seed)
    iw = rng.integers(0, wl.shape[0], n_sample)
    ia = rng.integers(0, angle.shape[0], n_sample)
    n_list = n.numpy()
    d_nm = d.numpy() * 1e9
    lam_nm = wl[:, 0].numpy() * 1e9
    th = angle.numpy()
    t0 = time.perf_counter()
    ref = [tmm.coh_tmm("s", n_list, d_nm, th[a], lam_nm[w]) for w, a in zip(iw, ia, strict=True)]
    elapsed = time.perf_counter() - t0
    ours = coherent(n, d, wl[iw, 0], angle=angle[ia], polarization="s")
    r_ref = np.array([x["r"] for x in ref])
    big_r = np.array([x["R"] for x in ref])
    per_point = elapsed / n_sample
    return {
        "n_points_timed": n_sample,
        "seconds_per_point": per_point,
        "extrapolated_full_grid_s": per_point * wl.shape[0] * angle.shape[0],
        "note": "timed on a random subsample and extrapolated linearly to the full grid",
        "max_abs_r_diff_vs_wavebp": float(np.abs(ours.r.numpy() - r_ref).max()),
        "max_abs_R_diff_vs_wavebp": float(np.abs(ours.R.numpy() - big_r).max()),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="100 wavelengths x 20 angles, few repeats")
    p.add_argument("--no-anchors", action="store_true", help="skip tmm-fast (Byrnes still runs)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_w, n_a = (100, 20) if args.quick else (1000, 100)
    repeats, max_s = (3, 5.0) if args.quick else (7, 40.0)
    n, d, wl, angle = workload(n_w, n_a)
    payload: dict[str, Any] = {
        "workload": {
            "stack": "1 | 50 x (2.35, 1.46) quarter-wave at 600 nm | 1.52 (100 layers)",
            "wavelengths": n_w,
            "angles": n_a,
            "points": n_w * n_a,
            "polarization": "s",
            "dtype": "complex128",
            "threads": args.threads,
            "quick": args.quick,
        },
        "versions": package_versions("torch", "numpy", "tmm"),
    }
    ours: dict[str, Any] = {}
    for mode in ("forward", "adjoint", "autograd"):
        ours[mode] = time_budget(
            lambda m=mode: run_ours(m, n, d, wl, angle),
            repeats=repeats,
            warmup=2,
            max_seconds=max_s,
        )
    if args.threads != 1:  # the same on one thread (the 2-core machine is shared)
        torch.set_num_threads(1)
        ours["one_thread"] = {
            mode: time_budget(
                lambda m=mode: run_ours(m, n, d, wl, angle), repeats=3, warmup=1, max_seconds=max_s
            )
            for mode in ("forward", "adjoint", "autograd")
        }
        torch.set_num_threads(args.threads)
    g_adj = run_ours("adjoint", n, d, wl, angle)
    g_auto = run_ours("autograd", n, d, wl, angle)
    ours["adjoint_vs_autograd_max_rel_diff"] = float(
        ((g_adj - g_auto).abs().max() / g_auto.abs().max()).item()
    )
    ours["max_rss_mb"] = {
        m: memory_probe(m, n_w, n_a, args.threads)
        for m in ("none", "forward", "adjoint", "autograd")
    }
    payload["wavebp"] = ours
    payload["tmm_byrnes"] = byrnes(n, d, wl, angle, 60 if args.quick else 400)
    if not args.no_anchors:
        if ANCHOR_PYTHON.exists():
            with tempfile.TemporaryDirectory() as tmp:
                r_path = Path(tmp) / "r.npy"
                anchor = run_in_env(
                    ANCHOR_PYTHON,
                    ANCHOR_SCRIPT,
                    [
                        "--wavelengths",
                        str(n_w),
                        "--angles",
                        str(n_a),
                        "--threads",
                        str(args.threads),
                        "--repeats",
                        "3" if args.quick else "5",
                        "--max-seconds",
                        "10" if args.quick else "120",
                        "--save-r",
                        str(r_path),
                    ],
                    timeout=3600,
                )
                if r_path.exists():
                    from wavebp.simulators.tmm import coherent

                    with torch.no_grad():
                        r_ours = coherent(n, d, wl, angle=angle).R.numpy()
                    anchor["max_abs_R_diff_vs_wavebp"] = float(
                        np.abs(np.load(r_path) - r_ours).max()
                    )
            payload["tmm_fast"] = anchor
        else:
            payload["tmm_fast"] = {"error": f"{ANCHOR_PYTHON} missing (pip install tmm-fast there)"}
    path = write_result(NAME, payload)
    print(table(payload))
    print(f"wrote {path}")
    return payload


def table(payload: dict[str, Any]) -> str:
    w = payload["wavebp"]
    b = payload["tmm_byrnes"]
    f = payload.get("tmm_fast", {})
    rss = w["max_rss_mb"]

    def med(x):
        return (
            f"{x['median_s']:.3f} s (n={x['n']})"
            if isinstance(x, dict) and "median_s" in x
            else "—"
        )

    lines = [
        "| implementation | R, T for all points | with gradient w.r.t. thicknesses | max RSS |",
        "|---|---|---|---|",
        f"| wavebp `coherent` | {med(w['forward'])} | adjoint {med(w['adjoint'])}; autograd "
        f"{med(w['autograd'])} | {rss['forward']:.0f} / {rss['adjoint']:.0f} / "
        f"{rss['autograd']:.0f} MB (import only {rss['none']:.0f}) |",
    ]
    if "one_thread" in w:
        o = w["one_thread"]
        lines.append(
            f"| wavebp `coherent`, 1 thread | {med(o['forward'])} | adjoint {med(o['adjoint'])}; "
            f"autograd {med(o['autograd'])} | |"
        )
    lines += [
        f"| `tmm` (Byrnes), extrapolated from {b['n_points_timed']} points | "
        f"{b['extrapolated_full_grid_s']:.1f} s | — | — |",
    ]
    if "numpy_forward" in f:
        lines.append(
            f"| `tmm-fast` numpy / torch | {med(f['numpy_forward'])} / {med(f['torch_forward'])} | "
            f"{med(f['torch_with_gradient'])} | {f.get('max_rss_mb', float('nan')):.0f} MB |"
        )
    elif f:
        lines.append(f"| `tmm-fast` | error: {str(f.get('error'))[:200]} | | |")
    lines.append("")
    lines.append(
        f"Agreement: |r - r_tmm| max {b['max_abs_r_diff_vs_wavebp']:.2e}, |R - R_tmm| max "
        f"{b['max_abs_R_diff_vs_wavebp']:.2e} (subsample); |R - R_tmm-fast| max "
        f"{f.get('max_abs_R_diff_vs_wavebp', float('nan')):.2e}; adjoint vs autograd gradient "
        f"{w['adjoint_vs_autograd_max_rel_diff']:.1e} (relative)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
    sys.exit(0)
