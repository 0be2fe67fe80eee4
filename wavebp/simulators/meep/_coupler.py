r"""Directional coupler in a 2-D effective-index geometry: Meep FDTD and a supermode model.

Geometry (:class:`CouplerGeometry`, SI units at the API, micrometres inside Meep): two
identical strip waveguides of width ``width`` and index ``n_core`` (the effective index of
the TE0 mode of a 220 nm silicon slab, 2.85 at 1550 nm) in a cladding ``n_clad`` (SiO2,
1.44), separated by ``gap`` along a straight section of length ``coupling_length``. Each
waveguide enters and leaves through a raised-cosine S-bend that moves it outwards by
``bend_offset`` over ``bend_length`` (so the ports are single, uncoupled waveguides), then a
straight port section. Polarisation: in-plane electric field (``Ex, Ey, Hz``; Meep's
``EVEN_Z``), the 2-D counterpart of the slab's TE mode. The indices are wavelength
independent (no material dispersion): all dispersion is waveguide dispersion.

Ports and S-matrix convention (shared with ``wavebp.devices.CouplerTable``; time-harmonic
``exp(-i omega t)``, ``S[..., i, j]`` = output ``i`` for unit input at ``j``):

* port 0: left, top waveguide (input 1 of the mesh coupler),
* port 1: left, bottom waveguide (input 2),
* port 2: right, top waveguide (output 1),
* port 3: right, bottom waveguide (output 2).

So ``S[2:4, 0:2]`` is the 2x2 transfer matrix ``[[t, c], [c, t]]`` that plays the part of
``B(e)`` in ``wavebp.devices.coupler`` (through ``t``, cross ``c``). The reference planes are
the mode monitors, 0.6 um outside the outer ends of the S-bends (in the straight port
sections), symmetric about the coupler centre.

One source suffices: the coupler is symmetric under the top/bottom mirror (ports
``0<->1, 2<->3``) and the left/right mirror (``0<->2, 1<->3``), so the column of port 0
(reflection ``r = S[0,0]``, back-coupling ``x = S[1,0]``, through ``t = S[2,0]``, cross
``c = S[3,0]``) gives the whole matrix::

    S = [[r, x, t, c],
         [x, r, c, t],
         [t, c, r, x],
         [c, t, x, r]]

which is symmetric (reciprocal) by construction; :func:`meep_coupler_response` with
``source_port=3`` measures another column independently, to check both claims.

The supermode model (:func:`supermode_indices`, :func:`supermode_coupler_response`): the
exact even/odd modes of the five-layer slab (clad | core | gap | core | clad, ``Hz``
polarisation, i.e. continuity of ``Hz`` and ``n^-2 dHz/dy``) give
``delta_n = n_even - n_odd``; the coupled-mode (adiabatic supermode) coupler accumulates the
coupling angle ``theta = int pi delta_n(g(x)) / lambda dx`` along the straight section and the
S-bends (local gap ``g(x)``), cross power ``sin^2(theta)``, through phase
``int 2 pi n_mean(g(x)) / lambda ds``. It ignores bend radiation and reflections.

Numbers (default geometry): ``n_core = 2.85``, ``n_clad = 1.44``, ``width = 0.5 um``; at
``gap = 200 nm``, 1550 nm the supermodes are ``n_even = 2.5103``, ``n_odd = 2.4799``
(``L_pi = 25.5 um``); S-bends of 4 um length and 0.5 um offset, so the ports are
``gap + 1 um`` apart.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
from scipy.integrate import trapezoid
from scipy.optimize import brentq

from wavebp._core import check_choice, check_int, check_real

__all__ = [
    "CouplerGeometry",
    "meep_coupler_response",
    "meep_supermode_indices",
    "supermode_coupler_response",
    "supermode_indices",
]

_UM = 1e-6  # one Meep length unit, m


@dataclasses.dataclass(frozen=True, kw_only=True)
class CouplerGeometry:
    """2-D effective-index directional coupler (all lengths in m).

    Attributes:
        gap: edge-to-edge gap of the straight coupling section, m (> 0).
        coupling_length: length of the straight coupling section, m (>= 0).
        width: waveguide width, m.
        n_core: core index (effective index of the 220 nm Si slab's TE0 mode).
        n_clad: cladding index (SiO2).
        bend_offset: lateral outward shift of each waveguide over one S-bend, m.
        bend_length: length (along x) of one raised-cosine S-bend, m.
        port_length: straight input/output section outside the bends (source and monitors
            sit there), m.
        clearance: cladding between the outermost waveguide edge and the PML, m.
        pml_thickness: PML thickness, m.
    """

    gap: float
    coupling_length: float
    width: float = 0.5e-6
    n_core: float = 2.85
    n_clad: float = 1.44
    bend_offset: float = 0.5e-6
    bend_length: float = 4.0e-6
    port_length: float = 1.5e-6
    clearance: float = 0.8e-6
    pml_thickness: float = 1.0e-6

    def __post_init__(self) -> None:
        check_real("gap", self.gap, low=0.0, low_inclusive=False, high=5e-6, unit="m")
        check_real("coupling_length", self.coupling_length, low=0.0, high=1e-3, unit="m")
        check_real("width", self.width, low=0.0, low_inclusive=False, high=5e-6, unit="m")
        check_real("n_clad", self.n_clad, low=1.0)
        check_real("n_core", self.n_core, low=self.n_clad, low_inclusive=False, high=5.0, unit="")
        check_real("bend_offset", self.bend_offset, low=0.0, high=20e-6, unit="m")
        check_real("bend_length", self.bend_length, low=0.0, low_inclusive=False, unit="m")
        check_real("port_length", self.port_length, low=1.0e-6, high=20e-6, unit="m (>= 1 um)")
        check_real("clearance", self.clearance, low=0.2e-6, unit="m")
        check_real("pml_thickness", self.pml_thickness, low=0.2e-6, unit="m")

    def half_separation(self, x: np.ndarray) -> np.ndarray:
        """Centre-line offset of the top waveguide from the axis, m, at positions ``x`` (m).

        ``x = 0`` is the coupler centre; shape of ``x``.
        """
        x = np.abs(np.asarray(x, dtype=float))
        y0 = 0.5 * (self.gap + self.width)
        s = np.clip((x - 0.5 * self.coupling_length) / self.bend_length, 0.0, 1.0)
        # curvature-continuous S-bend (zero curvature at both ends: no transition loss)
        return y0 + self.bend_offset * (s - np.sin(2 * math.pi * s) / (2 * math.pi))

    @property
    def device_length(self) -> float:
        """Length between the outer ends of the two S-bends, m."""
        return self.coupling_length + 2 * self.bend_length


def _hz_slab_residual(
    beta: np.ndarray,
    *,
    k0: float,
    n_core: float,
    n_clad: float,
    width: float,
    gap: float,
    even: bool,
) -> np.ndarray:
    """Outgoing-wave residual of the symmetric two-slab structure (``Hz`` polarisation).

    Propagates ``(H, n^-2 H')`` from the symmetry plane (``H`` even: ``cosh``, odd:
    ``sinh`` in the gap) through one core; a guided mode decays purely outside:
    ``n_clad^-2 H' + gamma n_clad^-2 H = 0``. Normalised to stay O(1) and continuous in
    ``beta`` (no poles), so its sign changes are the modes. ``beta`` in rad/m, any shape.
    """
    beta = np.asarray(beta, dtype=float)
    gamma = np.sqrt(np.maximum(beta**2 - (k0 * n_clad) ** 2, 0.0))
    kappa = np.sqrt(np.maximum((k0 * n_core) ** 2 - beta**2, 1e-300))
    th = np.tanh(gamma * gap / 2)
    if even:
        hv, dv = np.ones_like(beta), gamma * th / n_clad**2
    else:
        hv, dv = th, gamma / n_clad**2
    c, s = np.cos(kappa * width), np.sin(kappa * width)
    hv2 = hv * c + dv * n_core**2 / kappa * s
    dv2 = -hv * kappa / n_core**2 * s + dv * c
    return (dv2 + gamma / n_clad**2 * hv2) / (
        np.abs(hv2) * gamma / n_clad**2 + np.abs(dv2) + 1e-300
    )


def supermode_indices(
    *, n_core: float, n_clad: float, width: float, gap: float, wavelength: float
) -> tuple[float, float]:
    """Effective indices of the even and odd fundamental supermodes of two coupled slabs.

    The exact guided modes of clad | core | gap | core | clad in 1-D (the lateral cross
    section of the 2-D coupler), in-plane electric field (``Hz``; continuity of ``Hz`` and
    ``n^-2 dHz/dy``). Checked against a finite-difference mode solver (1 nm grid) to 1e-6.

    Args:
        n_core: core index (> n_clad).
        n_clad: cladding index.
        width: width of each core, m.
        gap: edge-to-edge gap, m (> 0).
        wavelength: vacuum wavelength, m.

    Returns:
        ``(n_even, n_odd)``; ``n_even > n_odd``. Their difference gives the full-transfer
        length ``L_pi = wavelength / (2 (n_even - n_odd))``.
    """
    check_real("gap", gap, low=0.0, low_inclusive=False, unit="m")
    check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    k0 = 2 * math.pi / wavelength
    out = []
    for even in (True, False):
        kw = dict(k0=k0, n_core=n_core, n_clad=n_clad, width=width, gap=gap, even=even)
        lo, hi = k0 * n_clad * (1 + 1e-12), k0 * n_core * (1 - 1e-12)
        betas = np.linspace(lo, hi, 401)
        f = _hz_slab_residual(betas, **kw)
        roots = np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]
        if roots.size == 0:
            raise ValueError(
                f"no guided {'even' if even else 'odd'} supermode at gap {gap!r} m, "
                f"wavelength {wavelength!r} m"
            )
        i = roots[-1]  # fundamental = largest beta

        def g(b: float, kw: dict = kw) -> float:
            return float(_hz_slab_residual(np.asarray(b), **kw))

        out.append(brentq(g, betas[i], betas[i + 1], xtol=1e-14 * hi, rtol=1e-15) / k0)
    return out[0], out[1]


def _column_to_s4(r: np.ndarray, x: np.ndarray, t: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The 4x4 S-matrix ``(..., 4, 4)`` from the port-0 column by the two mirror symmetries."""
    rows = [[r, x, t, c], [x, r, c, t], [t, c, r, x], [c, t, x, r]]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def supermode_coupler_response(
    geometry: CouplerGeometry, *, wavelengths: np.ndarray, n_samples: int = 201
) -> np.ndarray:
    r"""S-matrix of the coupler from the adiabatic supermode (coupled-mode) model.

    ``theta = int pi (n_even - n_odd)(g(x)) / lambda dx`` over the straight section and both
    S-bends (local edge gap ``g(x)``), through ``t = cos(theta) e^{i psi}``, cross
    ``c = i sin(theta) e^{i psi}`` with ``psi = int 2 pi n_mean(g(x)) / lambda ds`` along the
    waveguide between the two reference planes (the monitors of
    :func:`meep_coupler_response`), no loss, no reflection. Port convention: module
    docstring.

    Args:
        geometry: the coupler.
        wavelengths: vacuum wavelengths, m, shape ``(n_wl,)``.
        n_samples: quadrature points along one S-bend (odd, >= 11).

    Returns:
        Complex array ``(n_wl, 4, 4)``.
    """
    n_samples = check_int("n_samples", n_samples, minimum=11)
    wl = np.asarray(wavelengths, dtype=float).reshape(-1)
    g0 = geometry
    # the S-bend: x from L/2 to L/2 + Lb (its mirror contributes the same)
    xb = np.linspace(0.5 * g0.coupling_length, 0.5 * g0.coupling_length + g0.bend_length, n_samples)
    yb = g0.half_separation(xb)
    gaps_b = 2 * yb - g0.width
    ds_dx = np.sqrt(1 + np.gradient(yb, xb) ** 2)
    # reference planes: the monitors, port_length - _MONITOR_INSET from the outer bend ends
    ref_straight = 2 * (g0.port_length - _MONITOR_INSET)
    far_gap = g0.gap + 2 * g0.bend_offset
    out = np.zeros((wl.size, 4, 4), dtype=complex)
    for k, lam in enumerate(wl):
        kw = dict(n_core=g0.n_core, n_clad=g0.n_clad, width=g0.width, wavelength=lam)
        ne0, no0 = supermode_indices(gap=g0.gap, **kw)
        nb = np.array([supermode_indices(gap=float(gb), **kw) for gb in gaps_b])
        nef, nof = supermode_indices(gap=far_gap, **kw)
        k0 = 2 * math.pi / lam
        theta = 0.5 * k0 * (ne0 - no0) * g0.coupling_length
        theta += k0 * trapezoid(nb[:, 0] - nb[:, 1], xb)  # two bends x (1/2) (delta beta)
        psi = k0 * 0.5 * (ne0 + no0) * g0.coupling_length
        psi += k0 * trapezoid((nb[:, 0] + nb[:, 1]) * ds_dx, xb)
        psi += k0 * 0.5 * (nef + nof) * ref_straight
        t = math.cos(theta) * np.exp(1j * psi)
        c = 1j * math.sin(theta) * np.exp(1j * psi)
        out[k] = _column_to_s4(np.asarray(0j), np.asarray(0j), np.asarray(t), np.asarray(c))
    return out


_MONITOR_INSET = 0.6e-6  # monitors sit this far inside the straight port section, from the
# device (bend) end towards the PML; the source sits 0.3 um further out.


def _prism(mp: Any, xs: np.ndarray, y_top: np.ndarray, y_bot: np.ndarray, material: Any) -> Any:
    if xs[-1] < xs[0]:  # counter-clockwise order
        xs, y_top, y_bot = xs[::-1], y_top[::-1], y_bot[::-1]
    verts = [mp.Vector3(float(x), float(y)) for x, y in zip(xs, y_bot, strict=True)]
    verts += [mp.Vector3(float(x), float(y)) for x, y in zip(xs[::-1], y_top[::-1], strict=True)]
    return mp.Prism(verts, height=mp.inf, material=material)


def meep_coupler_response(
    geometry: CouplerGeometry,
    *,
    wavelength_min: float = 1.5e-6,
    wavelength_max: float = 1.6e-6,
    n_frequencies: int = 21,
    resolution: float = 40.0,
    source_port: int = 0,
    decay_by: float = 1e-6,
    bend_points: int = 40,
    subpixel_tol: float = 1e-3,
    subpixel_maxeval: int = 2000,
) -> dict[str, Any]:
    r"""S-parameters of the 2-D coupler from one Meep run (eigenmode source and monitors).

    A Gaussian-pulse eigenmode source (fundamental mode, ``EVEN_Z``: ``Hz`` polarisation)
    launches into port ``source_port``; mode monitors on all four port waveguides
    (``get_eigenmode_coefficients``, ``n_frequencies`` frequencies evenly spaced in
    frequency between ``c/wavelength_max`` and ``c/wavelength_min``) give the outgoing
    coefficients, normalised by the incident coefficient measured by the source port's own
    monitor, so ``S[i, source_port] = alpha_i^out / alpha_source^in`` with reference planes
    at the monitors (0.6 um outside the S-bend ends). Straight sections are ``Block``s, the
    S-bends polygons (``Prism``), all with Meep's sub-pixel averaging. The run stops when
    ``|Hz|^2`` at a far-side port has decayed by ``decay_by``. Cost: ~40 s on one
    core at 40 px/um for the default 9.95 um coupler (cell ~24 x 5 um).

    Args:
        geometry: the coupler.
        wavelength_min: shortest vacuum wavelength, m.
        wavelength_max: longest vacuum wavelength, m.
        n_frequencies: number of frequencies (>= 2).
        resolution: Meep pixels per micrometre (>= 8; need not be whole). Best with a whole
            number of pixels across the gap (``gap * resolution``) and across the width:
            the cell's pixel count is then chosen so that all waveguide edges sit on pixel
            boundaries. With edges at arbitrary sub-pixel positions the coupling depends on
            them: at 24 px/um it wiggles by +-12 % as the gap varies (a period of two
            pixels), in Meep's FDTD and in its eigenmode solver alike.
        source_port: 0..3, port convention of the module docstring.
        decay_by: run until ``|Hz|^2`` at the top waveguide's port on the far side from the
            source has decayed by this factor from its peak (checked every 20 Meep time
            units).
        bend_points: polygon vertices per S-bend.

    Returns:
        dict with ``frequencies`` (Hz, increasing, ``(n_f,)``), ``wavelengths`` (m),
        ``column`` (complex ``(n_f, 4)``: ``S[:, i, source_port]`` for ``i = 0..3``),
        ``incident_power`` (``|alpha_in|^2``, Meep units, ``(n_f,)``), ``wall_time`` (s),
        ``meep_time`` (Meep time units run), ``resolution``, ``meep_version``.
    """
    g = geometry
    wl_min = check_real("wavelength_min", wavelength_min, low=0.2e-6, high=10e-6, unit="m")
    wl_max = check_real(
        "wavelength_max", wavelength_max, low=wl_min, low_inclusive=False, high=10e-6, unit="m"
    )
    n_frequencies = check_int("n_frequencies", n_frequencies, minimum=2)
    resolution = check_real("resolution", resolution, low=8, high=200, unit="px/um")
    source_port = check_choice("source_port", source_port, (0, 1, 2, 3))
    decay_by = check_real("decay_by", decay_by, low=0.0, low_inclusive=False, high=0.1)
    bend_points = check_int("bend_points", bend_points, minimum=8)
    mp = _meep()

    um = 1.0 / _UM
    w, lc, lb = g.width * um, g.coupling_length * um, g.bend_length * um
    lp, dpml, clear = g.port_length * um, g.pml_thickness * um, g.clearance * um
    y_far = float(g.half_separation(np.array([1.0]))[0] * um)  # port centre-line offset
    # whole numbers of pixels, symmetric about both mirror planes; when the gap is a whole
    # number of pixels, the parity of the y pixel count puts its edges on pixel boundaries
    sx = 2 * math.ceil(0.5 * (lc + 2 * lb + 2 * lp + 2 * dpml) * resolution) / resolution
    sy = 2 * math.ceil((y_far + 0.5 * w + clear + dpml) * resolution + 1) / resolution
    y0 = _axis_offset(g.gap * um, resolution)  # gap edges on pixel boundaries if possible
    x_end = 0.5 * lc + lb  # outer end of the bend
    x_mon = x_end + _MONITOR_INSET * um
    x_src = x_mon + 0.3
    if x_src > 0.5 * sx - dpml - 0.1:
        raise ValueError("port_length too short for source and monitors")

    core = mp.Medium(index=g.n_core)
    clad = mp.Medium(index=g.n_clad)
    # each waveguide: straight coupling Block, two S-bend polygons (constant vertical
    # thickness w: the bends are gentle, max slope ~0.3, so the normal width is within 5 %
    # of w where the waveguides still couple), straight port Blocks through the PML.
    xs_b = np.linspace(0.5 * lc, x_end, bend_points)
    yc_b = g.half_separation(xs_b * _UM) * um
    port_len = 0.5 * sx - x_end + 1.0
    geometry_objs = []
    for sy_sign in (1.0, -1.0):
        yc0 = y0 + sy_sign * 0.5 * (g.gap * um + w)
        if lc > 0:
            geometry_objs.append(
                mp.Block(mp.Vector3(lc, w), center=mp.Vector3(0, yc0), material=core)
            )
        for sx_sign in (1.0, -1.0):
            xb = sx_sign * xs_b
            yb = y0 + sy_sign * yc_b
            geometry_objs.append(_prism(mp, xb, yb + 0.5 * w, yb - 0.5 * w, core))
            geometry_objs.append(
                mp.Block(
                    mp.Vector3(port_len, w),
                    center=mp.Vector3(sx_sign * (x_end + 0.5 * port_len), y0 + sy_sign * y_far),
                    material=core,
                )
            )

    f_min, f_max = 1.0 / (wl_max * um), 1.0 / (wl_min * um)  # Meep frequency, 1/um
    fcen, df = 0.5 * (f_min + f_max), 2.0 * (f_max - f_min)
    freqs = np.linspace(f_min, f_max, n_frequencies)
    # port geometry: (x of monitor, y of centre line, direction sign of "outgoing")
    ports = {
        0: (-x_mon, y0 + y_far, -1),
        1: (-x_mon, y0 - y_far, -1),
        2: (x_mon, y0 + y_far, +1),
        3: (x_mon, y0 - y_far, +1),
    }
    # monitor/source height: one waveguide with >= 0.5 um cladding on both sides (the mode
    # decays as exp(-8 |y| / um) outside the core), up to 0.05 um from the symmetry plane
    mon_h = min(2 * y_far - 0.1, w + 2 * clear - 0.4)
    xsrc_sign = -1 if source_port in (0, 1) else 1
    y_src = ports[source_port][1]
    sources = [
        mp.EigenModeSource(
            mp.GaussianSource(fcen, fwidth=df),
            center=mp.Vector3(xsrc_sign * x_src, y_src),
            size=mp.Vector3(0, mon_h),
            direction=mp.NO_DIRECTION,
            eig_kpoint=mp.Vector3(-xsrc_sign, 0),
            eig_band=1,
            eig_parity=mp.EVEN_Z,
            eig_match_freq=True,
        )
    ]
    sim = mp.Simulation(
        cell_size=mp.Vector3(sx, sy),
        resolution=resolution,
        boundary_layers=[mp.PML(dpml)],
        geometry=geometry_objs,
        default_material=clad,
        sources=sources,
        subpixel_tol=subpixel_tol,
        subpixel_maxeval=subpixel_maxeval,
    )
    monitors = {
        p: sim.add_mode_monitor(
            freqs.tolist(),
            mp.ModeRegion(center=mp.Vector3(xm, ym), size=mp.Vector3(0, mon_h)),
        )
        for p, (xm, ym, _) in ports.items()
    }
    sim.init_sim()
    stop = mp.stop_when_fields_decayed(
        20, mp.Hz, mp.Vector3(ports[2][0] * -xsrc_sign, ports[2][1]), decay_by
    )
    t0 = time.perf_counter()
    sim.run(until_after_sources=stop)
    wall = time.perf_counter() - t0

    outgoing = np.zeros((n_frequencies, 4), dtype=complex)
    incoming = np.zeros((n_frequencies, 4), dtype=complex)
    for p, mon in monitors.items():
        res = sim.get_eigenmode_coefficients(mon, [1], eig_parity=mp.EVEN_Z, direction=mp.X)
        # alpha[band, freq, 0 = +x, 1 = -x]; "outgoing" points away from the coupler
        fwd, bwd = res.alpha[0, :, 0], res.alpha[0, :, 1]
        outgoing[:, p], incoming[:, p] = (fwd, bwd) if ports[p][2] > 0 else (bwd, fwd)
    wall = time.perf_counter() - t0
    incident = incoming[:, source_port]
    column = outgoing / incident[:, None]
    version = getattr(mp, "__version__", "unknown")
    meep_time = float(sim.meep_time())
    sim.reset_meep()
    return {
        "frequencies": freqs * 299792458.0 * um,
        "wavelengths": _UM / freqs,
        "column": column,
        "incident_power": np.abs(incident) ** 2,
        "wall_time": wall,
        "meep_time": meep_time,
        "resolution": resolution,
        "meep_version": str(version),
    }


def meep_supermode_indices(
    geometry: CouplerGeometry, *, wavelength: float, resolution: float = 40.0
) -> tuple[float, float]:
    """Even/odd supermode effective indices of the straight section from Meep's MPB solver.

    Meep's eigenmode solver (``Simulation.get_eigenmode``, bands 1 and 2, ``EVEN_Z``) on the
    cross section of the two straight waveguides (at the same discretisation as the FDTD
    runs at ``resolution``), for comparison with :func:`supermode_indices`.

    Args:
        geometry: the coupler (only gap, width and indices are used).
        wavelength: vacuum wavelength, m.
        resolution: pixels per micrometre.

    Returns:
        ``(n_even, n_odd)``.
    """
    wavelength = check_real("wavelength", wavelength, low=0.2e-6, high=10e-6, unit="m")
    resolution = check_real("resolution", resolution, low=8, high=400, unit="px/um")
    mp = _meep()
    um = 1.0 / _UM
    g = geometry
    w, gap = g.width * um, g.gap * um
    yc = 0.5 * (gap + w)
    y0 = _axis_offset(gap, resolution)
    sy = 2 * math.ceil((yc + 0.5 * w + 2.0) * resolution) / resolution
    core = mp.Medium(index=g.n_core)
    sim = mp.Simulation(
        cell_size=mp.Vector3(2.0, sy),
        resolution=resolution,
        geometry=[
            mp.Block(mp.Vector3(mp.inf, w), center=mp.Vector3(0, y0 + yc), material=core),
            mp.Block(mp.Vector3(mp.inf, w), center=mp.Vector3(0, y0 - yc), material=core),
        ],
        default_material=mp.Medium(index=g.n_clad),
        boundary_layers=[],
    )
    sim.init_sim()
    freq = _UM / wavelength
    out = []
    for band in (1, 2):
        mode = sim.get_eigenmode(
            freq,
            mp.X,
            mp.Volume(center=mp.Vector3(), size=mp.Vector3(0, sy)),
            band,
            mp.Vector3(g.n_core * freq, 0),
            parity=mp.EVEN_Z,
        )
        out.append(float(mode.k.x) / freq)
    sim.reset_meep()
    return out[0], out[1]


def _axis_offset(gap_um: float, resolution: float) -> float:
    """Offset (um) of the coupler axis from the cell centre that puts the gap edges on pixel
    boundaries: Meep's pixel boundaries are at ``k / resolution`` from the centre, so a gap
    of an odd whole number of pixels needs its axis half a pixel off centre."""
    gap_px = gap_um * resolution
    if abs(gap_px - round(gap_px)) < 1e-6 and round(gap_px) % 2 == 1:
        return 0.5 / resolution
    return 0.0


def _meep() -> Any:
    from wavebp.simulators.meep._adapter import _import_meep

    return _import_meep()
