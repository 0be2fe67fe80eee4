"""W1: full-depth Clements MZI mesh, batch 1024, 2 threads — wavebp side by side with anchors.

Workload (``shared/BENCHMARKS.md``, W1): ``N = 64, 128, 256`` ports, ``N (N - 1) / 2`` MZIs in
``N`` columns plus an output phase screen, a batch of 1024 complex inputs, loss
``L = sum_b sum_i w_i |y_bi|^2`` with ``w = linspace(0.1, 1, N)`` (the plain ``sum |y|^2``
has zero gradient through a unitary). *forward*: the loss from the phases, no gradient
recorded. *forward+backward*: the loss and its gradient w.r.t. every phase.

Contenders, all measured in this one run (the anchors in their own virtualenvs, as
subprocesses, see ``benchmarks/README.md``):

* dense bound: ``U`` a leaf complex ``(N, N)`` tensor, ``y = x @ U.mT``; backward w.r.t. ``U``
  (what any mesh simulator must at least do), complex64 and complex128;
* plain vectorised torch (written here, simply): (a) build ``U`` by applying the MZI columns
  to the identity, then one matmul; (b) apply one MZI column at a time to the batch;
* wavebp ``Mesh(N, topology="clements", dtype=..., gradient="adjoint" | "autograd")``,
  complex64 and complex128 (reported "not available" while the class does not exist);
* anchors: neurophox (torch, TensorFlow, numpy), torchonn (forward only), neuroptica.

Ratios are to the dense bound of the same precision (complex64 for float32/complex64
contenders, complex128 for float64/complex128 ones).

Run: ``.venv/bin/python benchmarks/w1_mesh.py [--quick] [--no-anchors]``; writes
``benchmarks/results/w1_mesh.json`` and ``benchmarks/results/w1_mesh.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    machine_info,
    package_versions,
    run_in_env,
    time_budget,
    write_result,
)

NAME = "w1_mesh"
ANCHORS = ("neurophox", "torchonn", "neuroptica")
BENCH_VENV = ROOT / ".bench-venv"
DENSE = "dense bound (x @ U.mT, grad w.r.t. U)"


# --------------------------------------------------------------------------- plain torch
def clements_columns(n: int) -> list[tuple[int, int]]:
    """``(first top port, number of MZIs)`` of each of the ``n`` Clements columns."""
    return [(c % 2, (n - c % 2) // 2) for c in range(n)]


def mzi_coefficients(
    theta: torch.Tensor, phi: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Entries of ``MZI(theta, phi)`` with ideal 50:50 couplers (DESIGN.md convention).

    ``B diag(e^{i theta}, 1) B diag(e^{i phi}, 1)`` with ``B = [[1, i], [i, 1]] / sqrt 2``:
    ``[[e^{i phi} (a - 1), i (a + 1)], [i e^{i phi} (a + 1), 1 - a]] / 2`` with
    ``a = e^{i theta}``.
    """
    a = torch.polar(torch.ones_like(theta), theta)
    e = torch.polar(torch.ones_like(phi), phi)
    return e * (a - 1) / 2, 0.5j * (a + 1), 0.5j * e * (a + 1), (1 - a) / 2


def apply_columns(
    z: torch.Tensor, theta: torch.Tensor, phi: torch.Tensor, gamma: torch.Tensor
) -> torch.Tensor:
    """``z @ U.T`` for rows ``z`` of shape ``(..., N)``: one MZI column at a time.

    ``theta``, ``phi``: ``(N (N - 1) / 2,)`` in column order; ``gamma``: ``(N,)`` output screen.
    """
    n = z.shape[-1]
    m = 0
    for start, count in clements_columns(n):
        t00, t01, t10, t11 = mzi_coefficients(theta[m : m + count], phi[m : m + count])
        m += count
        stop = start + 2 * count
        a, b = z[..., start:stop:2], z[..., start + 1 : stop : 2]
        pairs = torch.stack((t00 * a + t01 * b, t10 * a + t11 * b), dim=-1).flatten(-2)
        z = torch.cat((z[..., :start], pairs, z[..., stop:]), dim=-1)
    return z * torch.polar(torch.ones_like(gamma), gamma)


def plain_build_then_matmul(
    x: torch.Tensor, theta: torch.Tensor, phi: torch.Tensor, gamma: torch.Tensor
) -> torch.Tensor:
    """Plain baseline (a): ``U.T`` built by applying the columns to the identity; one matmul."""
    eye = torch.eye(x.shape[-1], dtype=x.dtype)
    return x @ apply_columns(eye, theta, phi, gamma)


def plain_columns_on_batch(
    x: torch.Tensor, theta: torch.Tensor, phi: torch.Tensor, gamma: torch.Tensor
) -> torch.Tensor:
    """Plain baseline (b): the columns applied to the batch directly."""
    return apply_columns(x, theta, phi, gamma)


# --------------------------------------------------------------------------- helpers
def weighted_power(y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``sum_b sum_i w_i |y_bi|^2``."""
    return (w * (y.real.square() + y.imag.square())).sum()


def real_of(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.complex128 else torch.float32


def make_input(n: int, batch: int, dtype: torch.dtype, gen: torch.Generator) -> torch.Tensor:
    """Complex ``(batch, n)`` Gaussian rows of unit power."""
    x = torch.randn(batch, n, dtype=torch.complex128, generator=gen)
    return (x / x.abs().square().sum(-1, keepdim=True).sqrt()).to(dtype)


def max_rel_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """``max |a - b| / max |b|`` over all entries of all tensors (b: the reference).

    One scale for all phases: some gradients are zero to rounding (the output phase screen
    cannot change ``|y|^2``), so a per-tensor relative error would be noise over noise.
    """
    diff = max(float((a[k] - b[k]).abs().max()) for k in b)
    scale = max(float(v.abs().max()) for v in b.values())
    return diff / max(scale, 1e-300)


def entry_error(exc: BaseException) -> dict[str, str]:
    return {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=-3)}


class Runner:
    """Collects timings for one mesh size ``n`` into ``rows``."""

    def __init__(self, args: argparse.Namespace, n: int, rows: list[dict[str, Any]]) -> None:
        self.args = args
        self.n = n
        self.rows = rows

    def time(self, fn: Callable[[], Any]) -> dict[str, float]:
        a = self.args
        return time_budget(fn, repeats=a.repeats, warmup=a.warmup, max_seconds=a.max_seconds)

    def add(
        self,
        contender: str,
        dtype: str,
        fwd: Callable[[], Any] | None,
        fwd_bwd: Callable[[], Any] | None,
        *,
        source: str = "wavebp",
        note: str | None = None,
        checks: dict[str, Any] | None = None,
        bwd_note: str | None = None,
    ) -> None:
        row: dict[str, Any] = {
            "N": self.n,
            "contender": contender,
            "dtype": dtype,
            "source": source,
        }
        for key, fn in (("forward", fwd), ("forward_backward", fwd_bwd)):
            if fn is None:
                row[key] = {"skipped": bwd_note or "not measured"}
                continue
            try:
                row[key] = self.time(fn)
            except Exception as exc:  # a contender failing is a result
                row[key] = entry_error(exc)
        if note:
            row["note"] = note
        if checks:
            row["checks"] = checks
        self.rows.append(row)
        print(
            f"  N={self.n:4d} {contender:58s} {dtype:10s} {fmt_ms(row['forward']):>10s}"
            f" {fmt_ms(row['forward_backward']):>10s}",
            flush=True,
        )


def fmt_ms(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "—"
    if "median_s" in entry:
        return f"{1e3 * entry['median_s']:.3g}"
    if "error" in entry:
        return "error"
    return "—"


# --------------------------------------------------------------------------- contenders
def run_dense(r: Runner, x: torch.Tensor, w: torch.Tensor, gen: torch.Generator) -> None:
    n, dtype = r.n, x.dtype
    q, _ = torch.linalg.qr(torch.randn(n, n, dtype=torch.complex128, generator=gen))
    u = q.to(dtype).requires_grad_(True)

    def fwd() -> None:
        with torch.no_grad():
            weighted_power(x @ u.mT, w)

    def fwd_bwd() -> None:
        u.grad = None
        weighted_power(x @ u.mT, w).backward()

    r.add(DENSE, str(dtype).removeprefix("torch."), fwd, fwd_bwd, source="torch")


def random_phases(
    n: int, dtype: torch.dtype, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rdt = real_of(dtype)
    k = n * (n - 1) // 2
    theta = (torch.rand(k, generator=gen, dtype=torch.float64) * math.pi).to(rdt)
    phi = (torch.rand(k, generator=gen, dtype=torch.float64) * 2 * math.pi).to(rdt)
    gamma = (torch.rand(n, generator=gen, dtype=torch.float64) * 2 * math.pi).to(rdt)
    return theta, phi, gamma


def run_plain(r: Runner, x: torch.Tensor, w: torch.Tensor, gen: torch.Generator) -> None:
    theta, phi, gamma = (p.requires_grad_(True) for p in random_phases(r.n, x.dtype, gen))
    params = (theta, phi, gamma)
    with torch.no_grad():
        ya = plain_build_then_matmul(x, *params)
        yb = plain_columns_on_batch(x, *params)
    checks = {
        "a_vs_b_max_abs": float((ya - yb).abs().max()),
        "power_err": float((ya.abs().square().sum(-1) - 1).abs().max()),
    }
    for label, fn in (
        ("plain torch (a): build U from phases, then matmul", plain_build_then_matmul),
        ("plain torch (b): one MZI column at a time on the batch", plain_columns_on_batch),
    ):

        def fwd(fn=fn) -> None:
            with torch.no_grad():
                weighted_power(fn(x, *params), w)

        def fwd_bwd(fn=fn) -> None:
            for p in params:
                p.grad = None
            weighted_power(fn(x, *params), w).backward()

        r.add(
            label, str(x.dtype).removeprefix("torch."), fwd, fwd_bwd, source="torch", checks=checks
        )


def wavebp_mesh_class() -> tuple[Any, str | None]:
    """``(Mesh class, None)`` or ``(None, why not)``.

    ``wavebp.photonic.Mesh``; while it is not re-exported yet, the class from its private
    module ``wavebp.photonic._mesh`` (said so in the JSON).
    """
    try:
        from wavebp.photonic import Mesh
    except Exception as exc:
        try:
            from wavebp.photonic._mesh import Mesh
        except Exception:
            return None, f"not available: {type(exc).__name__}: {exc}"
    return Mesh, None


def wavebp_mesh_origin() -> str:
    try:
        from wavebp.photonic import Mesh  # noqa: F401
    except Exception:
        return "wavebp.photonic._mesh.Mesh (not re-exported by wavebp.photonic yet)"
    return "wavebp.photonic.Mesh"


def run_wavebp(r: Runner, x: torch.Tensor, w: torch.Tensor, seed: int) -> None:
    dtype = x.dtype
    dname = str(dtype).removeprefix("torch.")
    mesh_cls, why = wavebp_mesh_class()
    meshes: dict[str, Any] = {}
    for mode in ("adjoint", "autograd"):
        label = f"wavebp Mesh, gradient={mode!r}"
        if mesh_cls is None:
            r.rows.append(
                {
                    "N": r.n,
                    "contender": label,
                    "dtype": dname,
                    "source": "wavebp",
                    "forward": {"skipped": why},
                    "forward_backward": {"skipped": why},
                }
            )
            continue
        try:
            gen = torch.Generator().manual_seed(seed)
            mesh = mesh_cls(r.n, topology="clements", dtype=dtype, gradient=mode, generator=gen)
        except Exception as exc:
            err = entry_error(exc)
            r.rows.append(
                {
                    "N": r.n,
                    "contender": label,
                    "dtype": dname,
                    "source": "wavebp",
                    "forward": err,
                    "forward_backward": err,
                }
            )
            continue
        meshes[mode] = mesh
        params = [p for p in mesh.parameters() if p.requires_grad]
        checks: dict[str, Any] = {}
        try:
            with torch.no_grad():
                y = mesh(x)
                u = mesh.matrix()
                checks["y_vs_matrix_max_abs"] = float((y - x @ u.mT).abs().max())
                checks["power_err"] = float((y.abs().square().sum(-1) - 1).abs().max())
                phases = (mesh.theta, mesh.phi, mesh.output_phase)
                checks["y_vs_plain_torch_max_abs"] = float(
                    (y - plain_columns_on_batch(x, *phases)).abs().max()
                )
        except Exception as exc:
            checks["error"] = f"{type(exc).__name__}: {exc}"

        def fwd(mesh=mesh) -> None:
            with torch.no_grad():
                weighted_power(mesh(x), w)

        def fwd_bwd(mesh=mesh, params=params) -> None:
            for p in params:
                p.grad = None
            weighted_power(mesh(x), w).backward()

        r.add(label, dname, fwd, fwd_bwd, checks=checks)
    if len(meshes) == 2:
        # Same seed, same phases: the adjoint gradient must match autograd's.
        try:
            grads = {}
            for mode, mesh in meshes.items():
                mesh.zero_grad(set_to_none=True)
                weighted_power(mesh(x), w).backward()
                grads[mode] = {
                    k: p.grad.detach().clone()
                    for k, p in mesh.named_parameters()
                    if p.grad is not None
                }
            diff = max_rel_diff(grads["adjoint"], grads["autograd"])
            for row in r.rows[-2:]:
                row.setdefault("checks", {})["adjoint_vs_autograd_max_rel"] = diff
        except Exception as exc:
            for row in r.rows[-2:]:
                row.setdefault("checks", {})["adjoint_vs_autograd_error"] = str(exc)
    if "adjoint" in meshes and dtype == torch.complex64:
        run_insitu(r, meshes["adjoint"], x, w)
        run_insitu_integrated(r, meshes["adjoint"], x, w)


def _insitu_row(
    r: Runner, label: str, mesh: Any, x: torch.Tensor, w: torch.Tensor, build: Any
) -> None:
    """Time ``build()``'s gradient function as row ``label``, checked against autograd once
    (``build`` imports what it needs: an ImportError makes the row "not available")."""
    try:
        grads = build()
    except Exception as exc:
        r.rows.append(
            {
                "N": r.n,
                "contender": label,
                "dtype": "complex64",
                "source": "wavebp",
                "forward": {"skipped": "same as the forward of the adjoint mesh"},
                "forward_backward": {"skipped": f"not available: {exc}"},
            }
        )
        return
    checks: dict[str, Any] = {}
    try:
        g_insitu = grads()
        mesh.zero_grad(set_to_none=True)
        weighted_power(mesh(x), w).backward()
        ref = dict(mesh.named_parameters())
        checks["insitu_vs_autograd_max_rel"] = max_rel_diff(
            g_insitu, {k: ref[k].grad for k in g_insitu}
        )
    except Exception as exc:
        checks["error"] = f"{type(exc).__name__}: {exc}"
    r.add(
        label,
        "complex64",
        None,
        grads,
        checks=checks,
        bwd_note="forward: same as the adjoint mesh's",
    )


def run_insitu(r: Runner, mesh: Any, x: torch.Tensor, w: torch.Tensor) -> None:
    """The three-pass in-situ gradient of a bare mesh (forward, adjoint, interference).

    Uses the passes that ``wavebp.photonic.insitu_gradient`` runs for each ONN layer
    (``propagate_recording`` of ``wavebp.photonic._insitu_passes``, ideal detectors): record
    ``|a|^2`` forward; inject ``conj(dL/dy*) = conj(w y)`` at the outputs and record ``|b|^2``
    backwards through the reciprocal device; send ``x - i X_TR`` forward and record
    ``|a - i conj(b)|^2``; ``dL/dphase = |a - i conj(b)|^2 - |a|^2 - |b|^2`` summed over the
    batch. Checked against autograd once.
    """

    def build() -> Any:
        from wavebp.photonic import mesh_physical_params
        from wavebp.photonic._insitu_passes import propagate_recording

        def grads() -> dict[str, torch.Tensor]:
            params, names = mesh_physical_params(mesh)
            with torch.no_grad():
                fwd = propagate_recording(x, params, direction="forward")
                y = fwd.exit
                back = propagate_recording((w * y).conj(), params, direction="backward")
                inter = propagate_recording(x - 1j * back.exit.conj(), params, direction="forward")
                i_f, i_b, i_i = fwd.intensities(), back.intensities(), inter.intensities()
                return {names[k]: (i_i[k] - i_f[k] - i_b[k]).sum(0) for k in i_f if k in names}

        return grads

    _insitu_row(
        r, "wavebp in-situ gradient (3 recorded passes, ideal detectors)", mesh, x, w, build
    )


def run_insitu_integrated(r: Runner, mesh: Any, x: torch.Tensor, w: torch.Tensor) -> None:
    """The same three passes read by ideal photodiodes integrating over the batch.

    ``wavebp.simulators.mesh.shifter_power_sums`` gives ``sum_b |field|^2`` at every shifter
    (what a noise-free photodiode integrating the batch reads; equal to summing the
    per-sample powers of ``run_insitu`` to float rounding) from an ``N``-sample compression
    of the batch (QR); the exits (``y``, ``X_TR``) come from the fast per-sample engine.
    Only valid for ideal detectors: per-sample detector noise needs the recorded fields.
    """

    def build() -> Any:
        from wavebp.photonic import mesh_physical_params
        from wavebp.simulators.mesh import propagate, shifter_power_sums

        def grads() -> dict[str, torch.Tensor]:
            params, names = mesh_physical_params(mesh)
            with torch.no_grad():
                c = (w * propagate(x, params)).conj()
                x_tr = propagate(c, params, direction="backward").conj()
                i_f = shifter_power_sums(x, params)
                i_b = shifter_power_sums(c, params, direction="backward")
                i_i = shifter_power_sums(x - 1j * x_tr, params)
                keys = ("phi", "theta", "output_phase")
                return {
                    names[k]: i_i[j] - i_f[j] - i_b[j] for j, k in enumerate(keys) if k in names
                }

        return grads

    label = "wavebp in-situ gradient (3 passes, batch-integrated ideal photodiodes)"
    _insitu_row(r, label, mesh, x, w, build)


# --------------------------------------------------------------------------- anchors
def run_anchor(name: str, args: argparse.Namespace) -> dict[str, Any]:
    python = BENCH_VENV / name / "bin" / "python"
    script = HERE / "anchors" / f"{name}_w1.py"
    if not python.exists():
        return {
            "status": "not installed",
            "why": f"{python.relative_to(ROOT)} missing: run `bash benchmarks/setup_anchors.sh`",
        }
    cli = [
        "--sizes",
        ",".join(str(n) for n in args.sizes),
        "--batch",
        str(args.batch),
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
        "--warmup",
        str(args.warmup),
        "--max-seconds",
        str(args.max_seconds),
    ]
    t0 = time.perf_counter()
    out = run_in_env(python, script, cli, timeout=args.anchor_timeout)
    out["wall_s"] = time.perf_counter() - t0
    out.setdefault("status", "error" if "error" in out else "ok")
    return out


def anchor_rows(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn an anchor runner's ``results`` into table rows (fwd/fwd+bwd paired by name)."""
    rows: list[dict[str, Any]] = []
    for n, entries in result.get("results", {}).items():
        paired: dict[str, dict[str, Any]] = {}
        for key, entry in entries.items():
            if key.endswith(" forward+backward"):
                base, part = key.removesuffix(" forward+backward"), "forward_backward"
            elif key.endswith(" forward"):
                base, part = key.removesuffix(" forward"), "forward"
            else:
                base, part = key, "forward"
            row = paired.setdefault(base, {"N": int(n), "contender": base, "source": name})
            row[part] = entry
            if part == "forward" and isinstance(entry, dict) and "backward" in entry:
                row["forward_backward"] = {"skipped": entry["backward"]}
        for row in paired.values():
            row["dtype"] = anchor_dtype(row["contender"])
            row.setdefault("forward_backward", {"skipped": "not measured"})
            rows.append(row)
    return rows


def anchor_dtype(label: str) -> str:
    if "complex128" in label:
        return "complex128"
    if "complex64" in label:
        return "complex64"
    return "float32"


# --------------------------------------------------------------------------- report
def add_ratios(rows: list[dict[str, Any]]) -> None:
    """``ratio_<part>``: median over the dense bound's median (same N and precision);
    ``ratio_<part>_min``: the same with the fastest calls (less sensitive to load)."""
    bound: dict[tuple[int, str], dict[str, Any]] = {
        (row["N"], row["dtype"]): row for row in rows if row["contender"] == DENSE
    }
    for row in rows:
        prec = "complex128" if row["dtype"] in ("complex128", "float64") else "complex64"
        ref = bound.get((row["N"], prec))
        row["ratio_reference"] = f"{DENSE}, {prec}"
        for key in ("forward", "forward_backward"):
            mine, base = row.get(key, {}), (ref or {}).get(key, {})
            if "median_s" in mine and "median_s" in base:
                row[f"ratio_{key}"] = mine["median_s"] / base["median_s"]
                row[f"ratio_{key}_min"] = mine["min_s"] / base["min_s"]


def fmt_ratio(row: dict[str, Any], key: str) -> str:
    med, low = row.get(f"ratio_{key}"), row.get(f"ratio_{key}_min")
    return "" if med is None else f"{med:.3g} ({low:.3g})"


def fmt_time(entry: dict[str, Any] | None) -> str:
    if entry and "median_s" in entry:
        return f"{1e3 * entry['median_s']:.3g} ({1e3 * entry['min_s']:.3g})"
    return fmt_ms(entry)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| N | contender | dtype | forward ms | fwd+bwd ms | fwd / dense | fwd+bwd / dense |\n"
        "|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {row['N']} | {row['contender']} | {row['dtype']} | {fmt_time(row.get('forward'))} "
        f"| {fmt_time(row.get('forward_backward'))} | {fmt_ratio(row, 'forward')} "
        f"| {fmt_ratio(row, 'forward_backward')} |"
        for row in rows
    ]
    return head + "\n".join(lines) + "\n"


def notes_for(rows: list[dict[str, Any]]) -> list[str]:
    """Why entries are missing (first occurrence of each reason)."""
    seen: dict[str, str] = {}
    for row in rows:
        for key in ("forward", "forward_backward"):
            entry = row.get(key, {})
            why = entry.get("skipped") or entry.get("error")
            if why and row["contender"] not in seen:
                seen[row["contender"]] = f"{row['contender']} ({key}): {why.splitlines()[0]}"
    return list(seen.values())


def git_state() -> str | None:
    """``<commit>`` of the working tree, ``+dirty`` when it has uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="N = 64 only, few repeats")
    p.add_argument("--sizes", default=None, help="comma-separated N (default 64,128,256)")
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--max-seconds", type=float, default=None, help="timing budget per entry")
    p.add_argument("--no-anchors", action="store_true", help="skip the anchor subprocesses")
    p.add_argument("--anchors", default=",".join(ANCHORS), help="comma-separated anchors")
    p.add_argument("--anchor-timeout", type=float, default=1800.0)
    args = p.parse_args(argv)
    if args.sizes is None:
        args.sizes = "64" if args.quick else "64,128,256"
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    if args.repeats is None:
        args.repeats = 5 if args.quick else 25
    if args.max_seconds is None:
        args.max_seconds = 2.0 if args.quick else 6.0
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # for the anchor subprocesses
    torch.set_num_threads(args.threads)
    info_start = machine_info()
    rows: list[dict[str, Any]] = []
    seed = 1234
    print(
        f"W1 mesh benchmark: N = {args.sizes}, batch {args.batch}, {args.threads} threads, "
        f"load {info_start.get('loadavg_at_start')}",
        flush=True,
    )
    print(f"  {'N':>6s} {'contender':58s} {'dtype':10s} {'fwd ms':>10s} {'fwd+bwd ms':>10s}")
    for n in args.sizes:
        gen = torch.Generator().manual_seed(seed + n)
        w64 = torch.linspace(0.1, 1.0, n)
        for dtype in (torch.complex64, torch.complex128):
            x = make_input(n, args.batch, dtype, gen)
            w = w64.to(real_of(dtype))
            r = Runner(args, n, rows)
            run_dense(r, x, w, gen)
            if dtype == torch.complex64:
                run_plain(r, x, w, gen)
            run_wavebp(r, x, w, seed + n)

    anchors: dict[str, Any] = {}
    if not args.no_anchors:
        for name in [a for a in args.anchors.split(",") if a]:
            print(f"  anchor {name} ...", flush=True)
            anchors[name] = res = run_anchor(name, args)
            new = anchor_rows(name, res)
            rows.extend(new)
            for row in new:
                print(
                    f"  N={row['N']:4d} {row['contender']:58s} {row['dtype']:10s} "
                    f"{fmt_ms(row.get('forward')):>10s} "
                    f"{fmt_ms(row.get('forward_backward')):>10s}",
                    flush=True,
                )
            if res.get("status") != "ok":
                print(
                    f"  anchor {name}: {res.get('status')}: "
                    f"{str(res.get('why') or res.get('error'))[-300:]}",
                    flush=True,
                )

    rows.sort(key=lambda row: (row["N"], row["source"] != "torch", row["source"] != "wavebp"))
    add_ratios(rows)
    mesh_cls, why = wavebp_mesh_class()
    try:
        load_end = os.getloadavg()
    except OSError:
        load_end = None
    payload: dict[str, Any] = {
        "workload": {
            "topology": "clements (full depth: N columns, N(N-1)/2 MZIs, output phase screen)",
            "sizes": args.sizes,
            "batch": args.batch,
            "threads": args.threads,
            "loss": "sum_b sum_i w_i |y_bi|^2, w = linspace(0.1, 1, N)",
            "forward": "loss from the phases without recording a graph",
            "forward_backward": "loss and its gradient w.r.t. every phase (dense: w.r.t. U)",
            "timing": f"median of up to {args.repeats} calls after {args.warmup} warm-up calls, "
            f"budget {args.max_seconds} s per entry (slow calls: a single timed call)",
            "quick": args.quick,
        },
        "versions": package_versions("wavebp", "torch", "numpy"),
        "wavebp_git": git_state(),
        "wavebp_mesh": wavebp_mesh_origin() if mesh_cls is not None else why,
        "loadavg_start": info_start.get("loadavg_at_start"),  # machine.* is at write time
        "loadavg_end": load_end,
        "under_load": bool(
            (info_start.get("loadavg_at_start") or [0])[0] > 0.5 * (os.cpu_count() or 1)
            or (load_end and load_end[0] > 0.5 * (os.cpu_count() or 1))
        ),
        "rows": rows,
        "anchors": {
            k: {kk: vv for kk, vv in v.items() if kk != "results"} for k, v in anchors.items()
        },
        "notes": notes_for(rows),
    }
    path = write_result(NAME, payload)
    table = markdown_table(rows)
    md = RESULTS / f"{NAME}.md"
    md.write_text(
        f"# W1 mesh benchmark ({payload['workload']['timing']})\n\n"
        f"Load average at start {info_start.get('loadavg_at_start')}, at end {load_end}"
        f"{' — measured under load' if payload['under_load'] else ''}. Each cell: median "
        "(fastest call); ratios to the dense bound of the same N and precision, from the "
        "medians (from the fastest calls).\n\n"
        f"{table}\n" + "".join(f"- {note}\n" for note in payload["notes"])
    )
    print(table)
    print(f"wrote {path} and {md}")
    return payload


if __name__ == "__main__":
    main()
