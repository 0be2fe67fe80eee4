r"""Layered media (TMM): optical s and p at oblique incidence, acoustic; full 2x2 S-matrix.

The S-matrix of a stack between two lossless half-spaces, in power-normalised amplitudes
(reference planes at the outer interfaces), is

.. math::

    S = \begin{pmatrix} r & t_b \sqrt{\eta_0/\eta_s} \\ t_f \sqrt{\eta_s/\eta_0} & r_b
    \end{pmatrix},

with ``t_f, r`` for incidence from the first medium and ``t_b, r_b`` for the mirrored stack
at the phase-matched exit angle; ``eta = n cos(theta)`` (optics, s and p with Byrnes' full-
amplitude ``t``) or ``cos(theta)/(rho c)`` (acoustics), the factors of the engines'
power-transmission formulas. Reciprocity is ``S = S^T``, i.e. ``eta_s t_f = eta_0 t_b``.

The gradient check uses the engine's reciprocity adjoint (``gradient="adjoint"``, which
builds the adjoint field by injecting from the exit side -- valid only because the stack is
reciprocal) against autograd, for a loss on ``r`` and ``t`` w.r.t. the interior
thicknesses (in nm) and complex indices (or sound speeds).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from wavebp.analysis.reciprocity._common import make_row, timed
from wavebp.analysis.reciprocity._metrics import (
    COMPLEX128,
    cosine_error_flat,
    reciprocity_residual,
    time_reversal_error,
    unitarity_residual,
)
from wavebp.analysis.reciprocity._rows import ReciprocityRow
from wavebp.simulators.tmm import acoustic, coherent

__all__ = ["optical_s_matrix", "tmm_rows"]

_NM = 1e-9


def optical_s_matrix(
    n: torch.Tensor,
    d_nm: torch.Tensor,
    *,
    wavelength: float,
    angle: float,
    polarization: str,
    gradient: str = "autograd",
) -> torch.Tensor:
    """Power-normalised 2x2 S-matrix of an optical stack (module docstring).

    Args:
        n: complex indices ``(L,)`` incl. the two lossless half-spaces (real ``n[0]``,
            ``n[-1]``).
        d_nm: thicknesses in nm ``(L,)`` (ends ignored, may be ``inf``).
        wavelength: vacuum wavelength in m.
        angle: angle of incidence in the first medium in rad.
        polarization: ``"s"`` or ``"p"``.
        gradient: engine gradient mode (``"autograd"`` or ``"adjoint"``).

    Returns:
        Complex128 ``(2, 2)`` S-matrix (ports: incident side, exit side).
    """
    n0, ns = n[0].real, n[-1].real
    sin_s = n0 * math.sin(angle) / ns
    cos_0 = torch.cos(torch.as_tensor(angle, dtype=torch.float64))
    cos_s = torch.sqrt(1 - sin_s**2)
    exit_angle = torch.asin(sin_s)
    d = d_nm * _NM
    kw = {"polarization": polarization, "gradient": gradient}
    fw = coherent(n, d, wavelength, angle=angle, **kw)
    bw = coherent(n.flip(0), d.flip(0), wavelength, angle=exit_angle, **kw)
    eta_0, eta_s = n0 * cos_0, ns * cos_s
    ratio = torch.sqrt(eta_s / eta_0).to(torch.complex128)
    return torch.stack(
        [torch.stack([fw.r, bw.t / ratio]), torch.stack([fw.t * ratio, bw.r])]
    ).reshape(2, 2)


def _acoustic_s_matrix(
    rho: torch.Tensor,
    speed: torch.Tensor,
    d_mm: torch.Tensor,
    *,
    frequency: float,
    angle: float,
    gradient: str = "autograd",
) -> torch.Tensor:
    c0, cs = speed[0].real, speed[-1].real
    sin_s = cs * math.sin(angle) / c0
    exit_angle = torch.asin(sin_s)
    d = d_mm * 1e-3
    fw = acoustic(rho, speed, d, frequency, angle=angle, gradient=gradient)
    bw = acoustic(
        rho.flip(0), speed.flip(0), d.flip(0), frequency, angle=exit_angle, gradient=gradient
    )
    y0 = math.cos(angle) / (rho[0] * c0)
    ys = torch.sqrt(1 - sin_s**2) / (rho[-1] * cs)
    ratio = torch.sqrt(ys / y0).to(torch.complex128)
    return torch.stack(
        [torch.stack([fw.r, bw.t / ratio]), torch.stack([fw.t * ratio, bw.r])]
    ).reshape(2, 2)


def _loss(s: torch.Tensor) -> torch.Tensor:
    # a real loss on every entry: reflectance target and a phase-sensitive transmission term
    r, t = s[0, 0], s[1, 0]
    return (r.abs() ** 2 - 0.3) ** 2 + (t * (0.6 - 0.2j)).real + 0.5 * (s[0, 1].abs() ** 2)


def _grad_cosine(build: Any, leaves: list[torch.Tensor]) -> float:
    grads = {}
    for mode in ("autograd", "adjoint"):
        xs = [x.detach().clone().requires_grad_(True) for x in leaves]
        gs = torch.autograd.grad(_loss(build(*xs, gradient=mode)), xs)
        grads[mode] = torch.cat(
            [torch.view_as_real(g).reshape(-1) if g.is_complex() else g.reshape(-1) for g in gs]
        )
    return cosine_error_flat(grads["adjoint"], grads["autograd"])


def _optical_row(
    name: str, n: list[complex], d_nm: list[float], *, angle: float, pol: str, lossless: bool
) -> ReciprocityRow:
    wavelength = 633e-9

    def work() -> dict:
        nt = torch.tensor(n, dtype=torch.complex128)
        dt = torch.tensor(d_nm, dtype=torch.float64)
        interior_n, interior_d = nt[1:-1], dt[1:-1]

        def build(nin: torch.Tensor, din: torch.Tensor, gradient: str) -> torch.Tensor:
            nn_ = torch.cat([nt[:1], nin, nt[-1:]])
            dd = torch.cat([dt[:1], din, dt[-1:]])
            return optical_s_matrix(
                nn_, dd, wavelength=wavelength, angle=angle, polarization=pol, gradient=gradient
            )

        with torch.no_grad():
            s = optical_s_matrix(nt, dt, wavelength=wavelength, angle=angle, polarization=pol)
        return {
            "s": s,
            "gradient": _grad_cosine(build, [interior_n, interior_d]),
        }

    m, seconds = timed(work)
    s = m["s"]
    absorbed = 1.0 - float((s.abs() ** 2)[:, 0].sum())
    return make_row(
        engine="tmm",
        example=name,
        reciprocal_medium=True,
        expected="pass",
        tol=COMPLEX128,
        reciprocity=reciprocity_residual(s),
        unitarity=unitarity_residual(s) if lossless else None,
        time_reversal=time_reversal_error(s),
        gradient=m["gradient"],
        note=(
            "power-normalised 2x2 S from coherent() on the stack and on the mirrored stack at "
            "the phase-matched exit angle; gradient: the engine's reciprocity adjoint "
            "(gradient='adjoint') vs autograd w.r.t. interior complex indices and thicknesses (nm)"
        ),
        details={
            "wavelength_m": wavelength,
            "angle_rad": angle,
            "polarization": pol,
            "absorbed_fraction_from_incident_side": absorbed,
            "unitarity_residual_measured": unitarity_residual(s),
        },
        runtime_s=seconds,
    )


def _acoustic_row() -> ReciprocityRow:
    rho = [1000.0, 1200.0, 1800.0, 1050.0]
    speed = [1480.0, 2500.0, 1800.0, 1500.0]
    d_mm = [0.0, 2.0, 3.0, 0.0]
    angle, frequency = 0.5, 3e5

    def work() -> dict:
        r = torch.tensor(rho, dtype=torch.float64)
        c = torch.tensor(speed, dtype=torch.float64)
        d = torch.tensor(d_mm, dtype=torch.float64)

        def build(cin: torch.Tensor, din: torch.Tensor, gradient: str) -> torch.Tensor:
            cc = torch.cat([c[:1], cin, c[-1:]])
            dd = torch.cat([d[:1], din, d[-1:]])
            # speeds in km/s as the variable, so both gradients have similar scales
            return _acoustic_s_matrix(
                r, cc, dd, frequency=frequency, angle=angle, gradient=gradient
            )

        def build_km(cin_km: torch.Tensor, din: torch.Tensor, gradient: str) -> torch.Tensor:
            return build(cin_km * 1e3, din, gradient)

        with torch.no_grad():
            s = _acoustic_s_matrix(r, c, d, frequency=frequency, angle=angle)
        return {"s": s, "gradient": _grad_cosine(build_km, [c[1:-1] / 1e3, d[1:-1]])}

    m, seconds = timed(work)
    s = m["s"]
    return make_row(
        engine="tmm",
        example="acoustic 0.5 rad, lossless fluids",
        reciprocal_medium=True,
        expected="pass",
        tol=COMPLEX128,
        reciprocity=reciprocity_residual(s),
        unitarity=unitarity_residual(s),
        time_reversal=time_reversal_error(s),
        gradient=m["gradient"],
        note=(
            "pressure S-matrix normalised by the intensity admittance cos(theta)/(rho c); "
            "gradient: reciprocity adjoint vs autograd w.r.t. layer sound speeds (km/s) and "
            "thicknesses (mm)"
        ),
        details={"frequency_hz": frequency, "angle_rad": angle, "density": rho, "speed": speed},
        runtime_s=seconds,
    )


def tmm_rows() -> list[ReciprocityRow]:
    """Four TMM examples: optical s (45 deg) and p (60 deg) lossless stacks, an absorbing p
    stack (reciprocal but lossy: exact adjoint, imperfect time reversal) and an acoustic
    stack. All complex128."""
    n_lossless = [1.0, 2.1, 1.45, 2.1, 1.45, 1.52]
    n_lossy = [1.0, 2.1 + 0.08j, 1.45 + 0.02j, 2.1 + 0.08j, 1.45 + 0.02j, 1.52]
    d_nm = [math.inf, 120.0, 180.0, 95.0, 210.0, math.inf]
    return [
        _optical_row(
            "optical s, 45 deg, lossless",
            n_lossless,
            d_nm,
            angle=math.pi / 4,
            pol="s",
            lossless=True,
        ),
        _optical_row(
            "optical p, 60 deg, lossless",
            n_lossless,
            d_nm,
            angle=math.pi / 3,
            pol="p",
            lossless=True,
        ),
        _optical_row(
            "optical p, 60 deg, absorbing",
            n_lossy,
            d_nm,
            angle=math.pi / 3,
            pol="p",
            lossless=False,
        ),
        _acoustic_row(),
    ]
