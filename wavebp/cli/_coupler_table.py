"""``wavebp coupler-table``: recompute the directional-coupler table (Meep) and its checks."""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["EXAMPLES", "HELP", "NAME", "add_arguments", "run"]

NAME = "coupler-table"
HELP = (
    "Recompute the directional-coupler S-parameter table (2-D effective-index Meep runs, one "
    "per gap over 1500-1600 nm; Touchstone .s4p per gap + manifest.json) that "
    "wavebp.devices.CouplerTable ships and interpolates."
)
EXAMPLES = (
    "wavebp coupler-table --out wavebp/data/couplers --check   # the shipped table (~12 min CPU)",
    "wavebp coupler-table --fast --out runs/coupler-fast        # 4 gaps, resolution 20 (~2 min)",
    "wavebp coupler-table --solver supermode --out runs/cmt     # coupled-mode model, no Meep",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the options of ``wavebp coupler-table``."""
    parser.add_argument(
        "--fast", action="store_true", help="4 gaps, 6 frequencies, resolution 20 (smoke test)"
    )
    parser.add_argument(
        "--out", default="runs/coupler-table", metavar="DIR", help="table directory to write"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a table already in DIR")
    parser.add_argument(
        "--resolution",
        type=float,
        default=None,
        metavar="R",
        help="Meep pixels per micrometre (default 40: gaps every 25 nm are whole numbers of "
        "pixels; --fast: 20)",
    )
    parser.add_argument("--solver", choices=("meep", "supermode"), default="meep")
    parser.add_argument("--gap-min-nm", type=float, default=150.0, metavar="NM")
    parser.add_argument("--gap-max-nm", type=float, default=250.0, metavar="NM")
    parser.add_argument(
        "--n-gaps", type=int, default=None, metavar="N", help="gap points (default 5; --fast: 4)"
    )
    parser.add_argument("--design-gap-nm", type=float, default=200.0, metavar="NM")
    parser.add_argument("--design-wavelength-nm", type=float, default=1550.0, metavar="NM")
    parser.add_argument(
        "--n-frequencies",
        type=int,
        default=None,
        metavar="N",
        help="frequencies over 1500-1600 nm (default 21; --fast: 6)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="also: a convergence run at 1.25x resolution and a reciprocity run (source in port "
        "3) at the design point, recorded in the manifest",
    )


def _write_checks(table: Any, info: dict, resolution: float) -> dict:
    """Convergence and reciprocity runs at the design point (Meep)."""
    import numpy as np

    from wavebp.simulators.meep import CouplerGeometry, meep_coupler_response

    geometry = CouplerGeometry(gap=table.design_gap, coupling_length=info["coupling_length"])
    wl = table.design_wavelength
    n_f = table.wavelengths.numel()
    i_g = int(np.argmin(np.abs(table.gaps.numpy() - table.design_gap)))
    s_tab = table.s_params.numpy()[i_g]  # (n_wl, 4, 4), increasing wavelength
    wls = table.wavelengths.numpy()
    checks: dict = {}

    def theta(col: np.ndarray) -> np.ndarray:
        return np.arctan2(np.abs(col[:, 3]), np.abs(col[:, 2]))

    # a finer grid with the waveguide edges again on pixel boundaries (x 1.25 -> 50 px/um)
    hi_res = 1.25 * resolution
    t0 = time.perf_counter()
    out = meep_coupler_response(geometry, n_frequencies=n_f, resolution=hi_res)
    order = np.argsort(out["wavelengths"])
    col_hi = out["column"][order]
    th_tab = np.arctan2(np.abs(s_tab[:, 3, 0]), np.abs(s_tab[:, 2, 0]))
    k = int(np.argmin(np.abs(wls - wl)))
    checks["convergence"] = {
        "resolution": resolution,
        "resolution_check": hi_res,
        "wall_time_s": time.perf_counter() - t0,
        "wavelength": float(wls[k]),
        "theta_table": float(th_tab[k]),
        "theta_check": float(theta(col_hi)[k]),
        "max_abs_theta_difference": float(np.max(np.abs(theta(col_hi) - th_tab))),
        "transmission_table": float(np.sum(np.abs(s_tab[k, :, 0]) ** 2)),
        "transmission_check": float(np.sum(np.abs(col_hi[k]) ** 2)),
    }
    print(f"convergence: {json.dumps(checks['convergence'])}")
    t0 = time.perf_counter()
    out = meep_coupler_response(geometry, n_frequencies=n_f, resolution=resolution, source_port=3)
    col3 = out["column"][np.argsort(out["wavelengths"])]  # S[:, 3] measured
    checks["reciprocity"] = {
        "wall_time_s": time.perf_counter() - t0,
        "max_abs_S_minus_ST": float(np.max(np.abs(col3 - s_tab[:, 3, :]))),
        "max_abs_S30_minus_S03": float(np.max(np.abs(col3[:, 0] - s_tab[:, 3, 0]))),
        "max_abs_S20_minus_S13": float(np.max(np.abs(col3[:, 1] - s_tab[:, 2, 0]))),
        "max_abs_magnitude_difference": float(np.max(np.abs(np.abs(col3) - np.abs(s_tab[:, 3])))),
        "max_abs_phase_difference_t_c": float(
            np.max(np.abs(np.angle(col3[:, :2] / s_tab[:, 3, :2])))
        ),
        "note": "S[:, 3] from a run with the source in port 3 against the table's S[3, :] "
        "(from port 0 plus the mirror symmetries): reciprocity and the symmetry argument",
    }
    print(f"reciprocity: {json.dumps(checks['reciprocity'])}")
    return checks


def run(args: argparse.Namespace) -> int:
    """Run ``wavebp coupler-table``; print where the table is."""
    import numpy as np

    from wavebp.devices import compute_coupler_table

    # "is None", not "or": an explicit 0 must reach the validation, not become the default
    resolution = args.resolution if args.resolution is not None else (20.0 if args.fast else 40.0)
    n_gaps = args.n_gaps if args.n_gaps is not None else (4 if args.fast else 5)
    n_f = args.n_frequencies if args.n_frequencies is not None else (6 if args.fast else 21)
    out = Path(args.out)
    if (out / "manifest.json").exists() and not args.overwrite:
        print(
            f"wavebp coupler-table: error: {out} already holds a table (use --overwrite)",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    try:
        gaps = np.linspace(args.gap_min_nm, args.gap_max_nm, n_gaps) * 1e-9
        table, info = compute_coupler_table(
            gaps=gaps,
            design_gap=args.design_gap_nm * 1e-9,
            design_wavelength=args.design_wavelength_nm * 1e-9,
            n_frequencies=n_f,
            solver=args.solver,
            resolution=resolution,
            log=print,
        )
    except (ValueError, ImportError) as err:
        print(f"wavebp coupler-table: error: {err}", file=sys.stderr)
        return 2
    extra = {
        "command": "wavebp coupler-table " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 1 and sys.argv[1] == NAME
        else f"wavebp coupler-table (resolution {resolution:g}, {n_gaps} gaps, {n_f} freqs)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": None,
    }
    if args.check and args.solver == "meep":
        extra["checks"] = _write_checks(table, info, resolution)
    extra["wall_time_s"] = time.perf_counter() - start
    path = table.save(out, metadata=extra)
    cmp = info["comparison"]
    print(
        f"coupling length {info['coupling_length'] * 1e6:.3f} um; decay rate of theta(gap): "
        f"table {cmp['decay_rate_table'] * 1e-6:.3f} /um, supermode model "
        f"{cmp['decay_rate_supermode'] * 1e-6:.3f} /um"
    )
    print(
        f"wrote {path.parent} ({len(table.gaps)} .s4p files + {path.name}, "
        f"{extra['wall_time_s']:.0f} s)"
    )
    return 0
