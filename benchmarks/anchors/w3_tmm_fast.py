"""W3 anchor runner: ``tmm-fast`` (run INSIDE ``.bench-venv/tmm-fast``).

Same workload as ``benchmarks/w3_tmm.py``: ``n0 = 1 | 50 x (2.35, 1.46) quarter-wave at
600 nm | 1.52``, W wavelengths x A angles, s-polarisation. Times (1) numpy inputs (forward),
(2) torch inputs (forward), (3) torch inputs with the gradient of ``sum(R)`` w.r.t. the
thicknesses. Saves R (numpy-input run) to ``--save-r`` for the agreement check, and prints
one JSON object as the last line. Only calls tmm-fast; nothing of it is copied.

Run: ``.bench-venv/tmm-fast/bin/python benchmarks/anchors/w3_tmm_fast.py --wavelengths 1000
--angles 100 --threads 2 --save-r /tmp/r.npy``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--wavelengths", type=int, default=1000)
    p.add_argument("--angles", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--save-r", type=str, default="")
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    from _common import time_budget
    from tmm_fast import coh_tmm

    torch.set_num_threads(args.threads)
    n_h, n_l, lam0 = 2.35, 1.46, 600e-9
    n_list = np.array([1.0] + [n_h, n_l] * 50 + [1.52], dtype=np.complex128)
    d_list = np.array([np.inf] + [lam0 / 4 / n_h, lam0 / 4 / n_l] * 50 + [np.inf])
    wl = np.linspace(400e-9, 800e-9, args.wavelengths)
    theta = np.linspace(0.0, 1.2, args.angles)
    n_np = np.repeat(n_list[None, :, None], args.wavelengths, axis=2)  # [S, L, W]
    t_np = d_list[None, :]
    out: dict = {"anchor": "tmm-fast", "threads": args.threads}
    try:
        from importlib import metadata

        out["versions"] = {k: metadata.version(k) for k in ("tmm-fast", "torch", "numpy")}
    except Exception as exc:
        out["versions_error"] = repr(exc)

    def fw_numpy():
        return coh_tmm("s", n_np, t_np, theta, wl, device="cpu")

    res = fw_numpy()
    r_np = np.asarray(res["R"])[0]  # [A, W]
    if args.save_r:
        np.save(args.save_r, r_np.T)  # -> [W, A] like wavebp
    kw = {"repeats": args.repeats, "warmup": 1, "max_seconds": args.max_seconds}
    out["numpy_forward"] = time_budget(fw_numpy, **kw)

    n_t = torch.from_numpy(n_np)
    wl_t = torch.from_numpy(wl)
    th_t = torch.from_numpy(theta)
    t_t = torch.from_numpy(t_np)

    def fw_torch():
        return coh_tmm("s", n_t, t_t, th_t, wl_t, device="cpu")

    out["torch_forward"] = time_budget(fw_torch, **kw)

    def grad_torch():
        # tmm-fast needs finite leaves for autograd: inf ends replaced by a mask
        inner = t_t[:, 1:-1].clone().requires_grad_(True)
        full = torch.cat([t_t[:, :1], inner, t_t[:, -1:]], dim=1)
        r = coh_tmm("s", n_t, full, th_t, wl_t, device="cpu")["R"]
        r.sum().backward()
        return inner.grad

    out["torch_with_gradient"] = time_budget(grad_torch, **kw)
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
