r"""Export a programmed mesh for the lab: phase settings and heater powers per MZI (CSV and
JSON, with the mesh coordinates) and the mesh's ``2N``-port S-matrix as Touchstone.

Coordinates: ``mzi`` is the layout index (column by column, top to bottom), ``column`` the
mesh column (light goes through column 0 first), ``top_port``/``bottom_port`` the waveguide
pair (0-based, ``bottom_port = top_port + 1``). Output phase-screen heaters are listed
separately by ``port``. Phases are the *programmed* phases in rad wrapped to ``[0, 2 pi)``;
powers are the heater powers in W at the export wavelength
(:meth:`wavebp.devices.ThermoOpticShifter.power`; the MZI heaters' powers compensate the
shifter's thermal crosstalk within a column, the output-screen heaters' do not).

Touchstone port order: ports ``1..N`` are the mesh inputs (top to bottom), ``N+1..2N`` the
outputs; the single frequency is ``c / wavelength``; reference impedance 50 ohm is nominal
(the file holds power-wave S-parameters of an optical device, scikit-rf requires a z0). The
phases follow wavebp's ``exp(-i omega t)`` convention (DESIGN.md), not the ``exp(+j omega t)``
that RF tools assume: such a tool sees the complex conjugate. The file's header comment
says so.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavebp._core import SPEED_OF_LIGHT, check_real
from wavebp.devices import ThermoOpticShifter
from wavebp.photonic._mesh import Mesh

__all__ = [
    "export_phase_settings",
    "export_touchstone",
    "read_phase_settings",
    "read_touchstone",
]

_TWO_PI = 2 * math.pi
_MZI_FIELDS = (
    "kind",
    "mzi",
    "column",
    "top_port",
    "bottom_port",
    "theta_rad",
    "phi_rad",
    "theta_power_w",
    "phi_power_w",
)


def _settings(mesh: Mesh, shifter: ThermoOpticShifter, wavelength: float) -> dict[str, Any]:
    layout = mesh.layout
    theta = torch.remainder(mesh.theta.detach().double().cpu(), _TWO_PI)
    phi = torch.remainder(mesh.phi.detach().double().cpu(), _TWO_PI)
    gamma = torch.remainder(mesh.output_phase.detach().double().cpu(), _TWO_PI)
    # the MZI heaters' powers compensate the shifter's thermal crosstalk (if any)
    p_theta = shifter.power(theta, wavelength=wavelength, layout=layout)
    p_phi = shifter.power(phi, wavelength=wavelength, layout=layout)
    p_gamma = shifter.power(gamma, wavelength=wavelength)
    mzis = [
        {
            "mzi": i,
            "column": int(layout.mzi_column[i]),
            "top_port": int(layout.top_port[i]),
            "bottom_port": int(layout.top_port[i]) + 1,
            "theta_rad": float(theta[i]),
            "phi_rad": float(phi[i]),
            "theta_power_w": float(p_theta[i]),
            "phi_power_w": float(p_phi[i]),
        }
        for i in range(layout.n_mzis)
    ]
    outputs = [
        {"port": j, "phase_rad": float(gamma[j]), "power_w": float(p_gamma[j])}
        for j in range(layout.n_ports)
    ]
    return {"mzis": mzis, "output_phases": outputs}


def export_phase_settings(
    mesh: Mesh,
    directory: str | Path,
    *,
    name: str = "mesh",
    wavelength: float = 1550e-9,
    shifter: ThermoOpticShifter | None = None,
) -> tuple[Path, Path]:
    """Write ``<name>_phases.csv`` and ``<name>_phases.json`` into ``directory``.

    The CSV has one row per MZI (``kind = "mzi"``) and one per output-screen heater
    (``kind = "output"``: ``top_port`` = the port, ``theta_*`` = its phase and power, the
    MZI-only columns empty). The JSON holds the same plus the metadata (``n_ports``,
    ``topology``, ``wavelength_m``, the heater model).

    Args:
        mesh: the programmed mesh.
        directory: output folder (created if missing).
        name: file-name stem.
        wavelength: operating wavelength in m (the powers are for it), ``> 0``.
        shifter: heater model (default :class:`ThermoOpticShifter` at 1550 nm).

    Returns:
        ``(csv_path, json_path)``.
    """
    wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    shifter = ThermoOpticShifter() if shifter is None else shifter
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data = _settings(mesh, shifter, wl)
    csv_path = directory / f"{name}_phases.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=_MZI_FIELDS)
        writer.writeheader()
        for row in data["mzis"]:
            writer.writerow({"kind": "mzi", **{k: repr(v) for k, v in row.items()}})
        for row in data["output_phases"]:
            writer.writerow(
                {
                    "kind": "output",
                    "top_port": row["port"],
                    "theta_rad": repr(row["phase_rad"]),
                    "theta_power_w": repr(row["power_w"]),
                }
            )
    record = {
        "format": "wavebp mesh phase settings v1",
        "n_ports": mesh.n_ports,
        "n_mzis": mesh.n_mzis,
        "topology": mesh.layout.topology,
        "wavelength_m": wl,
        "convention": (
            "MZI(theta, phi) = B(e2) diag(exp(i theta), 1) B(e1) diag(exp(i phi), 1); "
            "phases in rad on [0, 2 pi); powers in W"
        ),
        "heater": {
            "p_pi_w": shifter.p_pi,
            "design_wavelength_m": shifter.design_wavelength,
            "length_m": shifter.length,
            "dn_dt_per_k": shifter.dn_dt,
        },
        **data,
    }
    json_path = directory / f"{name}_phases.json"
    json_path.write_text(json.dumps(record, indent=1) + "\n")
    return csv_path, json_path


def read_phase_settings(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a file written by :func:`export_phase_settings` (``.csv`` or ``.json``).

    Returns:
        float64 tensors ``theta``, ``phi``, ``theta_power``, ``phi_power`` ``(M,)`` (rad,
        W), ``output_phase``, ``output_power`` ``(N,)``, and int64 ``column``,
        ``top_port`` ``(M,)``, in MZI index order.
    """
    path = Path(path)
    if path.suffix == ".json":
        rec = json.loads(path.read_text())
        mzis, outs = rec["mzis"], rec["output_phases"]
        mzis = sorted(mzis, key=lambda r: r["mzi"])
        outs = sorted(outs, key=lambda r: r["port"])
        out_phase = [r["phase_rad"] for r in outs]
        out_power = [r["power_w"] for r in outs]
    elif path.suffix == ".csv":
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        mzis = sorted(
            (
                {
                    "mzi": int(r["mzi"]),
                    "column": int(r["column"]),
                    "top_port": int(r["top_port"]),
                    "theta_rad": float(r["theta_rad"]),
                    "phi_rad": float(r["phi_rad"]),
                    "theta_power_w": float(r["theta_power_w"]),
                    "phi_power_w": float(r["phi_power_w"]),
                }
                for r in rows
                if r["kind"] == "mzi"
            ),
            key=lambda r: r["mzi"],
        )
        outs = sorted((r for r in rows if r["kind"] == "output"), key=lambda r: int(r["top_port"]))
        out_phase = [float(r["theta_rad"]) for r in outs]
        out_power = [float(r["theta_power_w"]) for r in outs]
    else:
        raise ValueError(f"path must end in .csv or .json, got {str(path)!r}")

    def col(key: str) -> torch.Tensor:
        return torch.tensor([r[key] for r in mzis], dtype=torch.float64)

    return {
        "theta": col("theta_rad"),
        "phi": col("phi_rad"),
        "theta_power": col("theta_power_w"),
        "phi_power": col("phi_power_w"),
        "column": col("column").long(),
        "top_port": col("top_port").long(),
        "output_phase": torch.tensor(out_phase, dtype=torch.float64),
        "output_power": torch.tensor(out_power, dtype=torch.float64),
    }


def export_touchstone(
    mesh: Mesh, path: str | Path, *, wavelength: float = 1550e-9, name: str = "mesh"
) -> Path:
    """Write the mesh's physical ``2N``-port S-matrix (:meth:`Mesh.scattering_matrix`) as a
    Touchstone ``.s{2N}p`` file (scikit-rf), at the frequency ``c / wavelength``.

    Args:
        mesh: the mesh (with whatever imperfections it holds).
        path: file path; the ``.s{2N}p`` suffix is added or replaced.
        wavelength: operating wavelength in m, ``> 0``.
        name: network name stored by scikit-rf.

    Returns:
        The written path.
    """
    import skrf

    wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    with torch.no_grad():
        s = mesh.scattering_matrix().detach().cpu().to(torch.complex128).numpy()
    freq = skrf.Frequency.from_f([SPEED_OF_LIGHT / wl], unit="hz")
    net = skrf.Network(frequency=freq, s=s[None], z0=50.0, name=name)
    n = s.shape[0] // 2
    net.comments = (
        f"wavebp mesh S-matrix: ports 1..{n} = mesh inputs (top to bottom), "
        f"{n + 1}..{2 * n} = outputs; S[i, j] = output i for unit input j\n"
        "time convention exp(-i omega t) (conjugate for an exp(+j omega t) tool); "
        "z0 = 50 Ohm is a label (normalised mode amplitudes)"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("")
    net.write_touchstone(str(stem), form="ri")
    return stem.with_suffix(f".s{s.shape[0]}p")


def read_touchstone(path: str | Path) -> tuple[torch.Tensor, float]:
    """Read a Touchstone file: ``(S, wavelength)`` with ``S`` complex128 ``(P, P)`` (the
    first frequency) and the wavelength ``c / f`` in m."""
    import skrf

    net = skrf.Network(str(path))
    s = torch.from_numpy(np.ascontiguousarray(net.s[0]))
    return s, SPEED_OF_LIGHT / float(net.f[0])
