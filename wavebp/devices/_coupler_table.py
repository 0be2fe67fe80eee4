r"""Directional-coupler table: S-parameters over gap and wavelength, interpolated.

The shipped table (``wavebp/data/couplers/``: one Touchstone ``.s4p`` file per gap plus
``manifest.json``) is computed once by ``wavebp coupler-table`` (Meep, 2-D effective-index
geometry, ``wavebp.simulators.meep.meep_coupler_response``) and never at import time. The
manifest records how (solver, geometry, resolution, Meep version, date, command).

Port convention (same as ``wavebp.simulators.meep``; ``exp(-i omega t)``,
``S[..., i, j]`` = output ``i`` for unit input at ``j``): port 0 = left/top, 1 = left/bottom,
2 = right/top, 3 = right/bottom. ``S[..., 2:4, 0:2] = [[t, c], [c, t]]`` is the coupler's
transfer matrix (through ``t``, cross ``c``), the physical counterpart of
``wavebp.devices.coupler``'s ``B(e)`` up to the common propagation phase; the full matrix is
``[[r, x, t, c], [x, r, c, t], [t, c, r, x], [c, t, x, r]]`` (reflection ``r``, back-coupling
``x``), symmetric (reciprocal). Touchstone files use the same port order (port ``k + 1`` in
the file is our port ``k``), reference impedance 50 Ohm (a label only: the ports are
normalised waveguide modes), frequencies in Hz.

Interpolation (tensor-product cubic splines through the grid points, scipy's
``RectBivariateSpline(kx=3, ky=3, s=0)``, on the quantities that vary smoothly):

* ``log(theta)``, ``theta = atan2(|c|, |t|)`` the coupling angle (evanescent coupling makes
  ``theta`` roughly exponential in the gap, so ``log(theta)`` is nearly linear);
* ``log|a|``, ``a^2 = |t|^2 + |c|^2`` (insertion loss);
* the through phase ``psi = arg t``, unwrapped along wavelength and gap;
* ``delta = arg(c / t)`` (``pi/2`` for a lossless symmetric coupler);
* ``Re``/``Im`` of ``r`` and ``x`` (small).

So ``coupler_error = theta - pi/4``: the cross-coupled fraction of the transmitted power is
``sin^2(pi/4 + e)``, exactly ``wavebp.devices.coupler``'s ``B(e)`` convention (loss and
reflection are not part of ``e``; they stay in :meth:`CouplerTable.s_matrix`). The results
are not differentiable (scipy splines): use them as buffers.

The shipped table (manifest ``checks``): gaps 150-250 nm every 25 nm, 1500-1600 nm at 21
frequencies, coupling length 9.95 um (50:50 at 200 nm, 1550 nm), Meep at 40 px/um. Its
coupling angle moves by 3e-3 rad at 50 px/um; its loss (S-bend radiation) is 1-1.8 %; a
second run with the source in port 3 reproduces ``S[3, :]`` to 1e-6 (reciprocity and the
mirror argument). The absolute through phase carries numerical dispersion (it moves by
~0.15 rad between 36 and 40 px/um), which :meth:`CouplerTable.coupler_phase` removes by
referring to the design point: its variation agrees to 0.03 rad across the band.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wavebp._core import SPEED_OF_LIGHT, complex_dtype, to_numpy

__all__ = ["CouplerTable", "compute_coupler_table", "symmetric_coupler_s4"]

_MANIFEST = "manifest.json"
_FORMAT = 1


def symmetric_coupler_s4(r: np.ndarray, x: np.ndarray, t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The 4x4 S-matrix of a mirror-symmetric coupler from its port-0 column.

    Args:
        r: reflection ``S[0, 0]``, complex, shape ``(...)``.
        x: back-coupling ``S[1, 0]``, same shape.
        t: through ``S[2, 0]``, same shape.
        c: cross ``S[3, 0]``, same shape.

    Returns:
        Complex array ``(..., 4, 4)``: ``[[r, x, t, c], [x, r, c, t], [t, c, r, x],
        [c, t, x, r]]``.
    """
    r, x, t, c = np.broadcast_arrays(r, x, t, c)
    rows = [[r, x, t, c], [x, r, c, t], [t, c, r, x], [c, t, x, r]]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _shipped_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("wavebp") / "data" / "couplers"))


def _unwrap2d(phase: np.ndarray, design_index: tuple[int, int]) -> np.ndarray:
    """Unwrap ``(n_gap, n_wl)`` phases along wavelength, then make gap rows continuous."""
    p = np.unwrap(phase, axis=1)
    col = design_index[1]
    ref = np.unwrap(p[:, col])
    p = p + (ref - p[:, col])[:, None]
    return p


class CouplerTable:
    r"""Directional-coupler S-parameters on a (gap, wavelength) grid, with interpolation.

    Build one with :meth:`load` (the shipped table, or another directory written by
    :meth:`save`) or from arrays.

    Args:
        gaps: edge-to-edge gaps, m, increasing, shape ``(n_gap,)``, ``n_gap >= 4``.
        wavelengths: vacuum wavelengths, m, increasing, shape ``(n_wl,)``, ``n_wl >= 4``.
        s_params: complex S-matrices, shape ``(n_gap, n_wl, 4, 4)``, port convention of the
            module docstring.
        design_gap: gap of the 50:50 design, m (inside the gap range).
        design_wavelength: wavelength of the 50:50 design, m (inside the wavelength range).
        metadata: free-form provenance (the manifest), kept as given.
    """

    def __init__(
        self,
        *,
        gaps: Any,
        wavelengths: Any,
        s_params: Any,
        design_gap: float,
        design_wavelength: float,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        from scipy.interpolate import RectBivariateSpline

        g = np.asarray(to_numpy(gaps) if isinstance(gaps, torch.Tensor) else gaps, dtype=float)
        w = np.asarray(
            to_numpy(wavelengths) if isinstance(wavelengths, torch.Tensor) else wavelengths,
            dtype=float,
        )
        s = np.asarray(
            to_numpy(s_params) if isinstance(s_params, torch.Tensor) else s_params, dtype=complex
        )
        for name, arr in (("gaps", g), ("wavelengths", w)):
            if arr.ndim != 1 or arr.size < 4:
                raise ValueError(f"{name} must be 1-D with at least 4 points (m), got {arr.shape}")
            if not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0) or arr[0] <= 0:
                raise ValueError(f"{name} must be positive, finite and increasing (m)")
        if s.shape != (g.size, w.size, 4, 4):
            raise ValueError(
                f"s_params must have shape (n_gap, n_wl, 4, 4) = {(g.size, w.size, 4, 4)}, "
                f"got {s.shape}"
            )
        if not np.all(np.isfinite(s)):
            raise ValueError("s_params must be finite")
        self._gaps = g
        self._wavelengths = w
        self._s = s
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._check("design_gap", np.asarray(design_gap, dtype=float), g)
        self._check("design_wavelength", np.asarray(design_wavelength, dtype=float), w)
        self.design_gap = float(design_gap)
        self.design_wavelength = float(design_wavelength)

        # symmetric averages of the four equivalent entries (exact for a table written by
        # symmetric_coupler_s4; an average for a measured/unsymmetrised one)
        def avg(pairs: list[tuple[int, int]]) -> np.ndarray:
            return sum(s[..., i, j] for i, j in pairs) / len(pairs)

        r = avg([(0, 0), (1, 1), (2, 2), (3, 3)])
        x = avg([(1, 0), (0, 1), (3, 2), (2, 3)])
        t = avg([(2, 0), (0, 2), (3, 1), (1, 3)])
        c = avg([(3, 0), (0, 3), (2, 1), (1, 2)])
        if np.any(np.abs(t) == 0) or np.any(np.abs(c) == 0):
            raise ValueError("s_params must have non-zero through and cross transmission")
        theta = np.arctan2(np.abs(c), np.abs(t))
        log_a = 0.5 * np.log(np.abs(t) ** 2 + np.abs(c) ** 2)
        i_g = int(np.argmin(np.abs(g - self.design_gap)))
        i_w = int(np.argmin(np.abs(w - self.design_wavelength)))
        psi = _unwrap2d(np.angle(t), (i_g, i_w))
        delta = np.angle(c / t * np.exp(-0.5j * math.pi)) + 0.5 * math.pi
        # nanometres for the spline's conditioning
        gn, wn = g * 1e9, w * 1e9

        def spline(z: np.ndarray) -> Any:
            return RectBivariateSpline(gn, wn, z, kx=3, ky=3, s=0)

        self._splines = {
            "log_theta": spline(np.log(theta)),
            "log_a": spline(log_a),
            "psi": spline(psi),
            "delta": spline(delta),
            "r_re": spline(r.real),
            "r_im": spline(r.imag),
            "x_re": spline(x.real),
            "x_im": spline(x.imag),
        }
        self._psi_design = float(
            self._splines["psi"].ev(self.design_gap * 1e9, self.design_wavelength * 1e9)
        )

    # ------------------------------------------------------------------ grid and data
    @property
    def gaps(self) -> torch.Tensor:
        """The grid's gaps, m, float64, shape ``(n_gap,)``."""
        return torch.tensor(self._gaps, dtype=torch.float64)

    @property
    def wavelengths(self) -> torch.Tensor:
        """The grid's vacuum wavelengths, m, float64, shape ``(n_wl,)``."""
        return torch.tensor(self._wavelengths, dtype=torch.float64)

    @property
    def s_params(self) -> torch.Tensor:
        """The tabulated S-matrices, complex128, shape ``(n_gap, n_wl, 4, 4)``."""
        return torch.tensor(self._s, dtype=torch.complex128)

    def __repr__(self) -> str:
        return (
            f"CouplerTable(gaps {self._gaps[0] * 1e9:g}..{self._gaps[-1] * 1e9:g} nm "
            f"({self._gaps.size}), wavelengths {self._wavelengths[0] * 1e9:g}.."
            f"{self._wavelengths[-1] * 1e9:g} nm ({self._wavelengths.size}), design "
            f"{self.design_gap * 1e9:g} nm @ {self.design_wavelength * 1e9:g} nm, "
            f"solver {self.metadata.get('solver', '?')!r})"
        )

    # ------------------------------------------------------------------ evaluation
    @staticmethod
    def _check(name: str, values: np.ndarray, grid: np.ndarray) -> None:
        lo, hi = grid[0], grid[-1]
        tol = 1e-9 * (hi - lo)
        bad = ~np.isfinite(values) | (values < lo - tol) | (values > hi + tol)
        if np.any(bad):
            v = float(values[bad].flat[0])
            raise ValueError(
                f"{name} must be in [{lo * 1e9:g}, {hi * 1e9:g}] nm (the table's range), "
                f"got {v * 1e9:g} nm"
            )

    def _inputs(
        self, gap: Any, wavelength: Any
    ) -> tuple[np.ndarray, np.ndarray, torch.dtype, torch.device]:
        dtype, device = torch.float64, torch.device("cpu")
        arrays = []
        for name, value in (("gap", gap), ("wavelength", wavelength)):
            if isinstance(value, torch.Tensor):
                if value.is_complex():
                    raise ValueError(f"{name} must be real (m), got dtype {value.dtype}")
                if value.is_floating_point():
                    dtype = value.dtype
                device = value.device
                arrays.append(to_numpy(value.detach()).astype(float))
            else:
                try:
                    arrays.append(np.asarray(value, dtype=float))
                except (TypeError, ValueError):
                    raise ValueError(f"{name} must be a real number in m, got {value!r}") from None
        g, w = np.broadcast_arrays(*arrays)
        self._check("gap", g, self._gaps)
        self._check("wavelength", w, self._wavelengths)
        g = np.clip(g, self._gaps[0], self._gaps[-1])
        w = np.clip(w, self._wavelengths[0], self._wavelengths[-1])
        return g * 1e9, w * 1e9, dtype, device

    def _ev(self, key: str, gn: np.ndarray, wn: np.ndarray) -> np.ndarray:
        return self._splines[key].ev(gn.ravel(), wn.ravel()).reshape(gn.shape)

    def coupler_error(self, gap: Any, wavelength: Any) -> torch.Tensor:
        r"""Splitting error ``e`` of the coupler: cross power fraction ``sin^2(pi/4 + e)``.

        Args:
            gap: edge-to-edge gap, m; float or real tensor, shape broadcasting with
                ``wavelength``; within the table's gap range.
            wavelength: vacuum wavelength, m; float or real tensor; within the table's range.

        Returns:
            Real tensor (rad), the broadcast shape; float64 unless a floating tensor input
            sets the dtype; on the input tensor's device. ``e = theta - pi/4`` with
            ``theta = atan2(|c|, |t|)`` (loss excluded), usable directly as
            ``wavebp.devices.coupler``'s ``coupler_error``. Not differentiable.

        Raises:
            ValueError: ``gap`` or ``wavelength`` outside the table (the message names the
                parameter, the valid range in nm and the value).
        """
        gn, wn, dtype, device = self._inputs(gap, wavelength)
        e = np.exp(self._ev("log_theta", gn, wn)) - 0.25 * math.pi
        return torch.tensor(e, dtype=dtype, device=device)

    def coupler_phase(self, gap: Any, wavelength: Any) -> torch.Tensor:
        """Through-port propagation phase relative to its value at the design point.

        Args:
            gap: edge-to-edge gap, m (float or real tensor), within the table.
            wavelength: vacuum wavelength, m (float or real tensor), within the table.

        Returns:
            Real tensor (rad), broadcast shape: ``arg t(gap, wavelength) - arg t(design)``
            (unwrapped, continuous over the table), 0 at the design point. The cross port
            carries the same phase plus ``arg(c / t)`` (``pi/2`` for a lossless symmetric
            coupler, as in ``B(e)``). Same dtype/device rules as :meth:`coupler_error`.
        """
        gn, wn, dtype, device = self._inputs(gap, wavelength)
        psi = self._ev("psi", gn, wn) - self._psi_design
        return torch.tensor(psi, dtype=dtype, device=device)

    def s_matrix(self, gap: Any, wavelength: Any) -> torch.Tensor:
        r"""The interpolated 4x4 S-matrix (port convention of the module docstring).

        ``t = a cos(theta) e^{i psi}``, ``c = a sin(theta) e^{i (psi + delta)}`` and the small
        ``r``, ``x`` from their splines; ``psi`` is the absolute through phase between the
        table's reference planes (not relative to the design point).

        Args:
            gap: edge-to-edge gap, m (float or real tensor), within the table.
            wavelength: vacuum wavelength, m (float or real tensor), within the table.

        Returns:
            Complex tensor ``(..., 4, 4)`` (``...`` = broadcast shape); complex128 unless a
            float32 tensor input makes it complex64. Reproduces the tabulated matrices at
            the grid points.
        """
        gn, wn, dtype, device = self._inputs(gap, wavelength)
        theta = np.exp(self._ev("log_theta", gn, wn))
        a = np.exp(self._ev("log_a", gn, wn))
        psi = self._ev("psi", gn, wn)
        delta = self._ev("delta", gn, wn)
        t = a * np.cos(theta) * np.exp(1j * psi)
        c = a * np.sin(theta) * np.exp(1j * (psi + delta))
        r = self._ev("r_re", gn, wn) + 1j * self._ev("r_im", gn, wn)
        x = self._ev("x_re", gn, wn) + 1j * self._ev("x_im", gn, wn)
        s = symmetric_coupler_s4(r, x, t, c)
        return torch.tensor(s, dtype=complex_dtype(dtype), device=device)

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, path: str | Path | None = None) -> CouplerTable:
        """Load a table: the shipped one (``path=None``) or a directory written by :meth:`save`.

        Args:
            path: a directory holding ``manifest.json`` and the ``.s4p`` files it lists, or
                the manifest file itself; ``None`` for the table shipped in
                ``wavebp/data/couplers``.

        Returns:
            The table (S-parameters read with scikit-rf; wavelengths ``c / f``).
        """
        import skrf

        directory = _shipped_dir() if path is None else Path(path)
        manifest_path = directory if directory.is_file() else directory / _MANIFEST
        if not manifest_path.is_file():
            raise ValueError(
                f"path must be a coupler-table directory containing {_MANIFEST}, got {path!r}"
            )
        directory = manifest_path.parent
        manifest = json.loads(manifest_path.read_text())
        entries = sorted(manifest["files"], key=lambda e: e["gap"])
        s_list, freqs = [], None
        for entry in entries:
            net = skrf.Network(str(directory / entry["file"]))
            f = np.asarray(net.f, dtype=float)
            if freqs is None:
                freqs = f
            elif f.shape != freqs.shape or not np.allclose(f, freqs, rtol=1e-12, atol=0):
                raise ValueError(f"{entry['file']}: frequency grid differs from the others")
            s_list.append(np.asarray(net.s, dtype=complex))
        if freqs is None:
            raise ValueError(f"{manifest_path} lists no .s4p files")
        s = np.stack(s_list)  # (n_gap, n_f, 4, 4)
        order = np.argsort(SPEED_OF_LIGHT / freqs)
        return cls(
            gaps=np.array([e["gap"] for e in entries], dtype=float),
            wavelengths=(SPEED_OF_LIGHT / freqs)[order],
            s_params=s[:, order],
            design_gap=float(manifest["design_gap"]),
            design_wavelength=float(manifest["design_wavelength"]),
            metadata=manifest,
        )

    def save(self, directory: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Write one Touchstone ``.s4p`` per gap and ``manifest.json`` into ``directory``.

        Args:
            directory: output directory (created; existing table files are replaced).
            metadata: extra manifest entries (provenance), merged over :attr:`metadata`.

        Returns:
            The manifest path.
        """
        import skrf

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("gap_*.s4p"):
            old.unlink()
        freqs = SPEED_OF_LIGHT / self._wavelengths[::-1]  # increasing frequency
        files = []
        for k, gap in enumerate(self._gaps):
            name = f"gap_{gap * 1e9:07.3f}nm".replace(".", "p")
            net = skrf.Network(
                frequency=skrf.Frequency.from_f(freqs, unit="hz"),
                s=self._s[k, ::-1],
                z0=50,
                name=name,
            )
            net.comments = (
                "wavebp coupler table: port 1 = left/top, 2 = left/bottom, 3 = right/top, "
                "4 = right/bottom; time convention exp(-i omega t) (conjugate for an "
                "exp(+j omega t) tool); z0 = 50 Ohm is a label"
            )
            net.write_touchstone(
                filename=name,
                dir=str(directory),
                form="ri",
                format_spec_A="{:.12e}",
                format_spec_B="{:.12e}",
                format_spec_freq="{:.15e}",
                skrf_comment=False,
            )
            files.append(
                {"gap": float(gap), "gap_nm": round(float(gap) * 1e9, 6), "file": f"{name}.s4p"}
            )
        manifest = dict(self.metadata)
        manifest.update(metadata or {})
        manifest.update(
            {
                "format": _FORMAT,
                "design_gap": self.design_gap,
                "design_wavelength": self.design_wavelength,
                "files": files,
                "port_convention": (
                    "port 1 = left/top, 2 = left/bottom, 3 = right/top, 4 = right/bottom "
                    "(wavebp ports 0..3); S[i, j] = output i for unit input j; "
                    "exp(-i omega t); z0 = 50 Ohm is a label (normalised mode amplitudes)"
                ),
            }
        )
        manifest.setdefault("written", datetime.datetime.now(datetime.timezone.utc).isoformat())
        path = directory / _MANIFEST
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return path


# ---------------------------------------------------------------------- computing a table
def _theta_at(column: np.ndarray, wavelengths: np.ndarray, wavelength: float) -> float:
    """Coupling angle ``atan2(|c|, |t|)`` at ``wavelength`` (cubic in wavelength)."""
    from scipy.interpolate import CubicSpline

    theta = np.arctan2(np.abs(column[:, 3]), np.abs(column[:, 2]))
    order = np.argsort(wavelengths)
    return float(CubicSpline(wavelengths[order], theta[order])(wavelength))


def compute_coupler_table(
    *,
    gaps: Any,
    design_gap: float = 200e-9,
    design_wavelength: float = 1550e-9,
    wavelength_min: float = 1500e-9,
    wavelength_max: float = 1600e-9,
    n_frequencies: int = 21,
    solver: str = "meep",
    resolution: float = 40.0,
    calibration_step: float = 2e-6,
    theta_tolerance: float = 1e-3,
    max_secant: int = 4,
    geometry: dict[str, float] | None = None,
    log: Any = None,
) -> tuple[CouplerTable, dict[str, Any]]:
    r"""Compute a coupler table (Meep, or the provisional supermode model).

    1. The supermode (coupled-mode) model gives the coupling length ``L0`` for 50:50 at
       (``design_gap``, ``design_wavelength``): ``theta = theta_bends + pi delta_n L /
       lambda = pi/4``.
    2. ``solver="meep"``: two Meep runs at the design gap, lengths ``L0`` and
       ``L0 + calibration_step``, give Meep's own ``d theta / dL = pi delta_n / lambda``
       (``theta`` is linear in ``L`` up to ~1 %: the supermodes are exact modes of the
       straight section), then secant steps until ``|theta - pi/4| < theta_tolerance`` at
       the design point give the 50:50 length ``L*``. ``solver="supermode"`` takes
       ``L* = L0``.
    3. One run per gap at ``L*``: the port-0 column of S over ``n_frequencies`` frequencies,
       completed to 4x4 by the mirror symmetries (:func:`symmetric_coupler_s4`).

    Args:
        gaps: gaps to tabulate, m, increasing, at least 4 (tensor or sequence).
        design_gap: gap of the 50:50 design, m.
        design_wavelength: wavelength of the 50:50 design, m.
        wavelength_min: shortest wavelength, m.
        wavelength_max: longest wavelength, m.
        n_frequencies: frequencies per run, evenly spaced in frequency (>= 4).
        solver: ``"meep"`` or ``"supermode"``.
        resolution: Meep pixels per micrometre, the same for every run (so numerical
            dispersion, hence the through phase, is consistent across gaps). Choose gaps
            that are whole numbers of pixels (at 40 px/um: multiples of 25 nm) and a width
            likewise: then every waveguide edge sits on a pixel boundary. At edges on
            arbitrary sub-pixel positions the coupling wiggles with the gap (+-12 % at
            24 px/um, a period of two pixels, in Meep's FDTD and eigenmode solver alike);
            aligned, Meep's supermodes are within 1-3 % of the exact ones.
        calibration_step: length difference of the two calibration runs, m.
        theta_tolerance: secant iterations on ``L`` stop when the design coupling angle is
            within this of ``pi/4``, rad. ``L`` moves in steps of two pixels, which change
            ``theta`` by ~3e-3 rad at 40 px/um; the best run is kept.
        max_secant: at most this many secant runs after the two calibration runs.
        geometry: other ``CouplerGeometry`` fields (lengths in m), e.g. ``{"width": 0.45e-6}``.
        log: callable taking one message string (progress), or None.

    Returns:
        ``(table, info)``; ``info`` holds the coupling length, calibration numbers, per-run
        wall times and the supermode-model comparison (also stored in the table's metadata).
    """
    import time

    from wavebp._core import check_choice, check_int, check_real
    from wavebp.simulators.meep import (
        CouplerGeometry,
        meep_coupler_response,
        supermode_coupler_response,
        supermode_indices,
    )

    solver = check_choice("solver", solver, ("meep", "supermode"))
    n_frequencies = check_int("n_frequencies", n_frequencies, minimum=4)
    resolution = check_real("resolution", resolution, low=8.0, high=200.0, unit="px/um")
    wl_min = check_real("wavelength_min", wavelength_min, low=0.2e-6, high=10e-6, unit="m")
    wl_max = check_real("wavelength_max", wavelength_max, low=wl_min, high=10e-6, unit="m")
    design_wavelength = check_real(
        "design_wavelength", design_wavelength, low=wl_min, high=wl_max, unit="m"
    )
    calibration_step = check_real(
        "calibration_step", calibration_step, low=0.1e-6, high=100e-6, unit="m"
    )
    g = np.asarray(to_numpy(gaps) if isinstance(gaps, torch.Tensor) else gaps, dtype=float)
    if g.ndim != 1 or g.size < 4 or np.any(np.diff(g) <= 0):
        raise ValueError(f"gaps must be increasing with at least 4 values (m), got {g!r}")
    design_gap = check_real("design_gap", design_gap, low=g[0], high=g[-1], unit="m")
    extra = dict(geometry or {})
    say = log if log is not None else (lambda _msg: None)
    freqs = np.linspace(SPEED_OF_LIGHT / wl_max, SPEED_OF_LIGHT / wl_min, n_frequencies)
    wls = SPEED_OF_LIGHT / freqs

    def geom(gap: float, length: float) -> Any:
        return CouplerGeometry(gap=float(gap), coupling_length=float(length), **extra)

    def cmt_theta(gap: float, length: float, wl: float = design_wavelength) -> float:
        s = supermode_coupler_response(geom(gap, length), wavelengths=np.array([wl]))
        return float(np.arctan2(abs(s[0, 3, 0]), abs(s[0, 2, 0])))

    base = geom(design_gap, 0.0)
    ne, no = supermode_indices(
        n_core=base.n_core,
        n_clad=base.n_clad,
        width=base.width,
        gap=design_gap,
        wavelength=design_wavelength,
    )
    slope_cmt = math.pi * (ne - no) / design_wavelength  # rad / m
    theta_bends_cmt = cmt_theta(design_gap, 0.0)
    length0 = (0.25 * math.pi - theta_bends_cmt) / slope_cmt
    if length0 <= 0:
        raise ValueError("the S-bends alone couple more than 50:50: shorten bend_length")
    info: dict[str, Any] = {
        "solver": solver,
        "design_gap": design_gap,
        "design_wavelength": design_wavelength,
        "supermode_delta_n_design": ne - no,
        "supermode_coupling_length_full_transfer": design_wavelength / (2 * (ne - no)),
        "supermode_theta_bends": theta_bends_cmt,
        "supermode_coupling_length_50_50": length0,
        "runs": [],
    }
    l_pi = info["supermode_coupling_length_full_transfer"]
    say(
        f"supermode model: delta_n = {ne - no:.5f}, L_pi = {l_pi * 1e6:.2f} um, "
        f"50:50 at L0 = {length0 * 1e6:.3f} um"
    )

    def resolution_for(gap: float) -> float:
        return resolution

    def run(gap: float, length: float, **kw: Any) -> np.ndarray:
        t0 = time.perf_counter()
        if solver == "meep":
            out = meep_coupler_response(
                geom(gap, length),
                wavelength_min=wl_min,
                wavelength_max=wl_max,
                n_frequencies=n_frequencies,
                resolution=resolution_for(gap),
                **kw,
            )
            col = out["column"]
            meep_version = out["meep_version"]
        else:
            s = supermode_coupler_response(geom(gap, length), wavelengths=wls)
            col = s[:, :, 0]
            meep_version = None
        wall = time.perf_counter() - t0
        info["runs"].append(
            {
                "gap": float(gap),
                "coupling_length": float(length),
                "resolution_px_per_um": resolution_for(gap) if solver == "meep" else None,
                "wall_time_s": wall,
                **kw,
            }
        )
        if meep_version:
            info["meep_version"] = meep_version
        say(f"  gap {gap * 1e9:7.2f} nm, L {length * 1e6:.3f} um: {wall:6.1f} s")
        return col

    design_column = None
    if solver == "meep":
        # lengths in steps of two pixels: the geometry then moves by whole pixels (the coupler
        # is centred on a pixel boundary), so theta(L) carries no sub-pixel noise (shifts
        # below a pixel move theta by ~2e-3 rad at random)
        step = 2.0e-6 / resolution

        def snap(length: float) -> float:
            return step * round(length / step)

        length0 = snap(length0)
        calibration_step = max(snap(calibration_step), step)
        col_a = run(design_gap, length0)
        col_b = run(design_gap, length0 + calibration_step)
        th_a = _theta_at(col_a, wls, design_wavelength)
        th_b = _theta_at(col_b, wls, design_wavelength)
        slope = (th_b - th_a) / calibration_step
        info.update(
            {
                "meep_delta_n_design": slope * design_wavelength / math.pi,
                "meep_coupling_length_full_transfer": math.pi / (2 * slope),
                "meep_theta_bends": th_a - slope * length0,
            }
        )
        say(f"Meep: delta_n = {info['meep_delta_n_design']:.5f} (calibration runs)")
        # secant steps on theta(L) = pi/4 over the two-pixel length grid (theta is linear in
        # L up to ~1 %: the bends excite the two supermodes with slightly unequal amplitudes)
        runs = {length0: (th_a, col_a), length0 + calibration_step: (th_b, col_b)}
        lengths = [length0, length0 + calibration_step]
        for _ in range(max_secant):
            (l1, l2) = lengths[-2:]
            t1, t2 = runs[l1][0], runs[l2][0]
            length = snap(l2 + (0.25 * math.pi - t2) * (l2 - l1) / (t2 - t1))
            if length in runs:
                break
            col = run(design_gap, length)
            runs[length] = (_theta_at(col, wls, design_wavelength), col)
            lengths.append(length)
            say(f"  L = {length * 1e6:.4f} um: theta - pi/4 = {runs[length][0] - math.pi / 4:+.2e}")
            if abs(runs[length][0] - 0.25 * math.pi) < theta_tolerance:
                break
        length = min(runs, key=lambda x: abs(runs[x][0] - 0.25 * math.pi))
        design_column = runs[length][1]
        info["calibration"] = {
            "lengths": lengths,
            "thetas": [runs[x][0] for x in lengths],
            "length_step": step,
        }
    else:
        length = length0
    info["coupling_length"] = length
    columns = np.stack(
        [
            design_column
            if design_column is not None and abs(gap - design_gap) < 1e-6 * design_gap
            else run(gap, length)
            for gap in g
        ]
    )  # (n_gap, n_f, 4)
    s4 = symmetric_coupler_s4(*(columns[..., k] for k in range(4)))  # (n_gap, n_f, 4, 4)
    order = np.argsort(wls)
    # supermode comparison: theta(gap) at the design wavelength, model vs table
    theta_tab = np.array([_theta_at(col, wls, design_wavelength) for col in columns])
    theta_cmt = np.array([cmt_theta(gap, length) for gap in g])
    info["comparison"] = {
        "gaps": g.tolist(),
        "theta_table": theta_tab.tolist(),
        "theta_supermode": theta_cmt.tolist(),
        # exponential decay rate of the coupling angle with gap, 1/m (log-linear fit)
        "decay_rate_table": float(-np.polyfit(g, np.log(theta_tab), 1)[0]),
        "decay_rate_supermode": float(-np.polyfit(g, np.log(theta_cmt), 1)[0]),
    }
    geometry_record = _asdict_floats(geom(design_gap, length))
    metadata = {
        "solver": solver,
        "provisional": solver != "meep",
        "resolution_px_per_um": resolution if solver == "meep" else None,
        "geometry": geometry_record,
        "coupling_length": length,
        "n_frequencies": n_frequencies,
        "info": info,
    }
    table = CouplerTable(
        gaps=g,
        wavelengths=wls[order],
        s_params=s4[:, order],
        design_gap=design_gap,
        design_wavelength=design_wavelength,
        metadata=metadata,
    )
    return table, info


def _asdict_floats(obj: Any) -> dict[str, Any]:
    """A frozen dataclass as a plain dict (floats), for the manifest."""
    import dataclasses

    return {k: float(v) for k, v in dataclasses.asdict(obj).items()}
