r"""Reciprocity, time reversal and in-situ gradients in Meep: a magneto-optic (gyrotropic) slab.

Everything here is in Meep's normalised units (length unit ``a``, ``c = 1``, frequencies in
``c/a``, time in ``a/c``), as in :func:`wavebp.simulators.meep.meep_slab_transmission`;
``meep`` is imported lazily (:func:`_import_meep`), never at import time.

Gyrotropic Lorentzian medium (Meep's ``GyrotropicLorentzianSusceptibility``, Meep docs
"Materials: gyrotropic media" and the "Gyrotropic Media" tutorial). With the time convention
``exp(-i omega t)`` and the bias ``b`` along ``z``, the transverse block of the permittivity is

.. math::

    \epsilon = \begin{bmatrix}\epsilon_\perp & -i\eta \\ i\eta & \epsilon_\perp\end{bmatrix},
    \quad \epsilon_\perp = \epsilon_\infty + \frac{\sigma f_0^2 \Delta}{\Delta^2 - f^2 b^2},
    \quad \eta = \frac{\sigma f_0^2 f b}{\Delta^2 - f^2 b^2},
    \quad \Delta = f_0^2 - f^2 - i f \gamma,

all frequencies (``f``, ``f0``, ``gamma``, ``b``) in ``c/a`` (not angular;
:func:`gyrotropic_lorentzian_permittivity`). The tensor is Hermitian for ``gamma = 0``
(lossless) but not symmetric: ``epsilon^T`` is the same medium with the bias reversed, so the
medium is non-reciprocal. Its eigen-polarisations along ``z`` are the circular ones
``e_pm = (x +- i y)/sqrt(2)`` with ``epsilon_pm = epsilon_perp +- eta``, in the laboratory
frame whatever the propagation direction. A linear polarisation therefore turns by

.. math::

    \theta = -\frac{\omega}{2}(n_+ - n_-) L
    \approx -\frac{\omega \eta L}{2 \sqrt{\epsilon_\perp}},
    \qquad n_\pm = \sqrt{\epsilon_\perp \pm \eta},\ \omega = 2\pi f,

(counter-clockwise positive, about ``+z``, in the lab frame) over a length ``L`` in *either*
direction: Faraday rotation, whose sense is fixed by the bias and not by the propagation
direction (a reciprocal optically active medium would undo the turn on the way back).

The reciprocity example (:func:`meep_reciprocity_example`): a 1-D cell along ``z`` (Meep's
3-D cell of one pixel in ``x`` and ``y``, so that both ``Ex`` and ``Ey`` exist; Meep's
``dimensions=1`` has ``Ex`` only), PML at both ends, vacuum ports. Between the ports: a
reciprocal birefringent wave plate (real symmetric permittivity tensor, axes at 22.5 deg, so
the two polarisations couple and the reflections differ on the two sides) and the
magneto-optic slab (bias ``b = 0.9 c/a`` in the gyrotropic example, ``b = 0`` in the reciprocal
twin: the same Lorentzian, the same grid). Ports ``0, 1 = (left, x), (left, y)`` and
``2, 3 = (right, x), (right, y)``; ``S[i, j]`` is the outgoing field amplitude at port ``i``
for a unit incoming field amplitude at port ``j`` (both measured in vacuum at the reference
planes, so the amplitudes are power normalised and ``S`` is unitary for a lossless device).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavebp._core import check_int, check_real
from wavebp.simulators.meep._adapter import _import_meep

__all__ = [
    "gyrotropic_lorentzian_permittivity",
    "meep_faraday_rotation",
    "meep_reciprocity_example",
]

# --- the magneto-optic material (normalised units) -------------------------------------------
_EPS_INF = 1.5  # non-dispersive part of the slab permittivity
_RESONANCE = 1.5  # Lorentzian resonance f0 (c/a), three times the operating frequency
_SIGMA = 1.0  # Lorentzian strength
_BIAS = 0.9  # gyrotropy (precession) frequency |b| (c/a): ~29 deg of Faraday rotation in 2 a;
# the biased resonances (f0^2 - f^2 = +-f b) sit at 1.12 and 2.0 c/a, far above the pulse
# --- the example -----------------------------------------------------------------------------
_FREQUENCY = 0.5  # analysis frequency (c/a): 2 a vacuum wavelength, ~1.2 a in the slab
_FWIDTH = 0.4  # Gaussian pulse width (c/a): its spectrum at the resonances is < exp(-40)
_RUN_TIME = 80.0  # (a/c) pulse (25) + transit + ringing: the receiver fields have decayed to
# ~1e-7 of their peak by t = 80 (a lossless slab far from its resonances rings only briefly);
# longer runs do not lower the unitarity floor (~1e-5, set by the PML's discretisation)
_PML = 2.0  # PML thickness (a), one vacuum wavelength
_Z_SOURCE = 2.5  # sources (and the gradient's receiver) at -+ this z (a)
_Z_PORT = 2.0  # S-matrix reference planes at -+ this z (a)
_WAVE_PLATE = (-1.5, -0.5)  # z range (a) of the wave plate
_WAVE_PLATE_EPS = (2.25, 1.96, math.pi / 8)  # principal permittivities and axis angle (rad)
_SLAB = (-0.5, 1.5)  # z range (a) of the magneto-optic slab
_N_SEGMENTS = 4  # design segments of the slab (the gradient's parameters)
_FD_STEP = 1e-3  # central finite-difference step of the segment permittivity


def gyrotropic_lorentzian_permittivity(
    *,
    frequency: float,
    eps_inf: float,
    resonance: float,
    sigma: float,
    bias: float,
    gamma: float = 0.0,
) -> tuple[complex, complex]:
    r"""Transverse permittivity ``(epsilon_perp, eta)`` of Meep's gyrotropic Lorentzian medium.

    ``epsilon = [[epsilon_perp, -i eta], [i eta, epsilon_perp]]`` for the bias along ``+z``
    (time convention ``exp(-i omega t)``; module docstring for the formula). Pure numpy; no
    Meep needed.

    Args:
        frequency: frequency ``f`` (c/a), ``> 0``.
        eps_inf: non-dispersive permittivity ``epsilon_inf`` (dimensionless).
        resonance: Lorentzian resonance frequency ``f0`` (c/a), ``> 0``.
        sigma: Lorentzian strength (dimensionless).
        bias: ``z`` component of the bias (gyrotropy) vector ``b`` (c/a); ``0`` is an
            ordinary (reciprocal) Lorentzian.
        gamma: damping rate (c/a), ``>= 0``; ``0`` is lossless.

    Returns:
        ``(epsilon_perp, eta)``, complex (real for ``gamma = 0``).
    """
    f = check_real("frequency", frequency, low=0.0, low_inclusive=False, unit="c/a")
    eps_inf = check_real("eps_inf", eps_inf)
    f0 = check_real("resonance", resonance, low=0.0, low_inclusive=False, unit="c/a")
    sigma = check_real("sigma", sigma)
    b = check_real("bias", bias, unit="c/a")
    gamma = check_real("gamma", gamma, low=0.0, unit="c/a")
    delta = f0**2 - f**2 - 1j * f * gamma
    den = delta**2 - (f * b) ** 2
    if den == 0:
        raise ValueError(f"frequency {f!r} c/a sits on a gyrotropic resonance (bias {b!r} c/a)")
    return complex(eps_inf + sigma * f0**2 * delta / den), complex(sigma * f0**2 * f * b / den)


def _set_quiet(mp: Any) -> int:
    old = int(mp.verbosity.get())
    mp.verbosity(0)
    return old


def _slab_medium(mp: Any, *, eps_inf: float, bias: float) -> Any:
    susceptibility = mp.GyrotropicLorentzianSusceptibility(
        frequency=_RESONANCE, gamma=0.0, sigma=_SIGMA, bias=mp.Vector3(0, 0, bias)
    )
    return mp.Medium(epsilon=eps_inf, E_susceptibilities=[susceptibility])


def _wave_plate_medium(mp: Any) -> Any:
    # real symmetric tensor, principal values ea (along the axis at angle th) and eb
    ea, eb, th = _WAVE_PLATE_EPS
    c, s = math.cos(th), math.sin(th)
    return mp.Medium(
        epsilon_diag=mp.Vector3(ea * c * c + eb * s * s, ea * s * s + eb * c * c, 0.5 * (ea + eb)),
        epsilon_offdiag=mp.Vector3((ea - eb) * s * c, 0.0, 0.0),
    )


@dataclass(frozen=True, kw_only=True)
class _Layout:
    """Grid-aligned positions of the example at one resolution.

    ``Ex``/``Ey`` live at ``z = m / resolution`` (Meep's Yee grid in a cell centred on 0 with
    an integer number of pixels per half length). Material boundaries are moved to the
    nearest half-pixel, so with ``eps_averaging=False`` each field point lies in exactly one
    region (the discrete thickness is then the geometric one and the adjoint overlap sums
    exactly the points that a segment's permittivity changes); ports and sources sit on
    field points.
    """

    resolution: int

    def grid(self, z: float) -> float:
        return math.copysign(round(abs(z) * self.resolution), z) / self.resolution

    def half(self, z: float) -> float:
        return (math.floor(z * self.resolution) + 0.5) / self.resolution

    @property
    def z_source(self) -> float:
        return self.grid(_Z_SOURCE)

    @property
    def z_port(self) -> float:
        return self.grid(_Z_PORT)

    @property
    def cell_length(self) -> float:
        # an integer number of pixels on each side of z = 0, so field points sit at m/res
        res = self.resolution
        return 2 * (round(self.z_source * res) + math.ceil(0.5 * res + _PML * res)) / res

    @property
    def z(self) -> np.ndarray:
        """Positions of the recorded field points (a), the DFT line ``[-z_source, z_source]``."""
        n = round(self.z_source * self.resolution)
        return np.arange(-n, n + 1) / self.resolution

    def index(self, z: float) -> int:
        return round((z + self.z_source) * self.resolution)

    @property
    def wave_plate(self) -> tuple[float, float]:
        return self.half(_WAVE_PLATE[0]), self.half(_WAVE_PLATE[1])

    @property
    def segments(self) -> list[tuple[float, float]]:
        edges = np.linspace(_SLAB[0], _SLAB[1], _N_SEGMENTS + 1)
        edges = [self.half(e) for e in edges]
        return list(itertools.pairwise(edges))

    def segment_masks(self) -> list[np.ndarray]:
        z = self.z
        return [(z > lo) & (z < hi) for lo, hi in self.segments]


def _block(mp: Any, lo: float, hi: float, material: Any) -> Any:
    return mp.Block(
        size=mp.Vector3(mp.inf, mp.inf, hi - lo),
        center=mp.Vector3(0, 0, 0.5 * (lo + hi)),
        material=material,
    )


def _run(
    mp: Any,
    layout: _Layout,
    *,
    bias: float | None,
    sources: list[tuple[float, str, complex]],
    eps_shift: np.ndarray | None = None,
) -> np.ndarray:
    """One Meep run; the DFT of ``(Ex, Ey)`` at ``_FREQUENCY`` on the line ``layout.z``.

    Args:
        mp: the meep module.
        layout: grid-aligned geometry.
        bias: the slab's bias ``b_z`` (c/a); ``None`` for an empty (vacuum) cell.
        sources: ``(z, "x" | "y", complex amplitude)`` current sheets, all with the same
            Gaussian pulse.
        eps_shift: added to the slab's ``epsilon_inf`` per design segment,
            shape ``(_N_SEGMENTS,)``.

    Returns:
        Complex DFT fields, shape ``(2, len(layout.z))`` (rows ``Ex``, ``Ey``).
    """
    geometry = []
    if bias is not None:
        shift = np.zeros(_N_SEGMENTS) if eps_shift is None else eps_shift
        geometry.append(_block(mp, *layout.wave_plate, _wave_plate_medium(mp)))
        for (lo, hi), d_eps in zip(layout.segments, shift, strict=True):
            medium = _slab_medium(mp, eps_inf=_EPS_INF + float(d_eps), bias=bias)
            geometry.append(_block(mp, lo, hi, medium))
    component = {"x": mp.Ex, "y": mp.Ey}
    meep_sources = [
        mp.Source(
            mp.GaussianSource(_FREQUENCY, fwidth=_FWIDTH),
            component=component[pol],
            center=mp.Vector3(0, 0, z),
            amplitude=complex(amp),
        )
        for z, pol, amp in sources
    ]
    sim = mp.Simulation(
        cell_size=mp.Vector3(0, 0, layout.cell_length),
        resolution=layout.resolution,
        boundary_layers=[mp.PML(_PML)],
        geometry=geometry,
        sources=meep_sources,
        eps_averaging=False,
    )
    dft = sim.add_dft_fields(
        [mp.Ex, mp.Ey],
        _FREQUENCY,
        _FREQUENCY,
        1,
        where=mp.Volume(center=mp.Vector3(), size=mp.Vector3(0, 0, 2 * layout.z_source)),
        yee_grid=True,
    )
    sim.run(until=_RUN_TIME)
    out = np.stack(
        [np.asarray(sim.get_dft_array(dft, c, 0), dtype=complex).ravel() for c in (mp.Ex, mp.Ey)]
    )
    if out.shape[1] != layout.z.size:  # pragma: no cover - a Meep grid convention changed
        raise RuntimeError(f"Meep DFT line has {out.shape[1]} points, expected {layout.z.size}")
    return out


def _ports(layout: _Layout, fields: np.ndarray) -> np.ndarray:
    """``(Ex, Ey)`` at the left then the right reference plane, shape ``(4,)``."""
    left, right = layout.index(-layout.z_port), layout.index(layout.z_port)
    return np.concatenate([fields[:, left], fields[:, right]])


def _channels(layout: _Layout) -> list[tuple[float, str]]:
    zs = layout.z_source
    return [(-zs, "x"), (-zs, "y"), (zs, "x"), (zs, "y")]


def _cosine_error(a: np.ndarray, b: np.ndarray) -> float:
    # same definition as wavebp.photonic.cosine_error (1 - cos of the angle), computed here
    # because simulators may not import photonic (layers)
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return math.nan if den == 0.0 else float(1.0 - float(a @ b) / den)


def meep_reciprocity_example(
    *, gyrotropic: bool, fast: bool = True, resolution: int | None = None
) -> dict:
    r"""Reciprocity, losslessness, time reversal and in-situ gradient of a Meep device.

    The device (module docstring): a reciprocal wave plate and a magneto-optic slab between
    two vacuum ports, two polarisations each, lossless. ``gyrotropic=True`` biases the slab
    (``b = 0.9 c/a``, ~29 deg Faraday rotation, non-reciprocal); ``False`` is its reciprocal
    twin (``b = 0``, the same Lorentzian, the same grid).

    What is measured (all at the one frequency ``f = 0.5 c/a``, from DFTs of Gaussian-pulse
    runs, Meep float64):

    * ``S`` (4x4): one run per input channel (a current sheet behind each reference plane)
      and a vacuum run for the incident amplitude; reciprocity ``||S - S^T||_F / ||S||_F``
      compares the swapped-source responses, losslessness ``||S^H S - I||_F / ||I||_F``.
    * Time reversal (physical runs, one per input channel ``j``): the outgoing waves
      ``S e_j`` are phase-conjugated and sent back in (sources at both ports with complex
      amplitudes); the returning waves ``b'_j`` are measured and conjugated,
      ``M = conj([b'_0 ... b'_3]) = conj(S) S`` ideally ``I``; the error is
      ``||M - I||_F / ||I||_F`` (the analysis module's definition).
    * Gradient of ``J = |E_y(z_r)|^2`` (x-polarised input from the left, the cross-polarised
      field at the receiver ``z_r`` behind the right port, i.e. the polarisation conversion a
      rotator is designed for) with respect to ``epsilon_inf`` of four segments of the slab.
      In-situ (replayed adjoint, what hardware can measure): a y-polarised source at the
      receiver in the *same* medium (it is the S-matrix run of channel 3), overlapped with
      the forward field in each segment,
      ``dJ/d eps_k = 2 Re[conj(E_y(z_r)) (-i omega) sum_{z in k} dz E_adj(z) . E(z) / K]``,
      where ``K = -2 E_vac(z_s)`` is the pulse's current spectrum read from the vacuum run
      (a sheet of current ``K`` radiates ``-K/2`` into vacuum; the discrete Yee factor is real
      and positive, so it scales the gradient without turning it). That formula is the exact
      adjoint only if ``G(z, z_r) = G(z_r, z)^T``, i.e. in a reciprocal medium; the true
      adjoint of the gyrotropic slab is the slab with the bias reversed (``epsilon^T``), run in
      ``details["gradient_cosine_error_exact_adjoint"]``. Reference: central finite
      differences (step ``1e-3``) of the same ``J`` (eight more runs).

    Args:
        gyrotropic: the biased magneto-optic slab (``True``) or its reciprocal twin.
        fast: ``resolution = 20`` pixels per ``a`` (40 per vacuum wavelength, ~24 in the
            slab); else ``40``.
        resolution: pixels per ``a`` (>= 10), overrides ``fast``.

    Returns:
        A JSON-able dict: ``reciprocity_residual``, ``unitarity_residual``,
        ``time_reversal_error``, ``time_reversal_note``, ``gradient_cosine_error`` (floats,
        or the note a str), ``frequency`` (c/a), ``resolution`` (int), ``runtime_s`` (s) and
        ``details`` (S-matrix, gradients, further residuals, the number of Meep runs).
    """
    start = time.perf_counter()
    gyrotropic = bool(gyrotropic)
    if resolution is None:
        resolution = 20 if fast else 40
    resolution = check_int("resolution", resolution, minimum=10, maximum=400)
    mp = _import_meep()
    old_verbosity = _set_quiet(mp)
    try:
        out = _example(mp, _Layout(resolution=resolution), bias=_BIAS if gyrotropic else 0.0)
    finally:
        mp.verbosity(old_verbosity)
    out["runtime_s"] = time.perf_counter() - start
    return out


def _example(mp: Any, layout: _Layout, *, bias: float) -> dict:
    n_runs = 0

    def run(**kw: Any) -> np.ndarray:
        nonlocal n_runs
        n_runs += 1
        return _run(mp, layout, **kw)

    zs = layout.z_source
    # vacuum: the incident amplitude at the reference planes per unit source (x from the left
    # and y from the right in one run; the two agree to rounding by the grid's mirror and
    # x/y symmetry, recorded below) and the source spectrum K = -2 E(z_s)
    vac = run(bias=None, sources=[(-zs, "x", 1.0), (zs, "y", 1.0)])
    inc = vac[0, layout.index(-layout.z_port)]
    inc_check = vac[1, layout.index(layout.z_port)]
    k_src = -2.0 * vac[0, layout.index(-zs)]

    # S-matrix: one run per input channel
    channels = _channels(layout)
    columns = [run(bias=bias, sources=[(z, pol, 1.0)]) for z, pol in channels]
    s = np.zeros((4, 4), dtype=complex)
    for j, fields in enumerate(columns):
        b = _ports(layout, fields)
        b[j] -= inc
        s[:, j] = b / inc
    eye = np.eye(4)
    reciprocity = float(np.linalg.norm(s - s.T) / np.linalg.norm(s))
    unitarity = float(np.linalg.norm(s.conj().T @ s - eye) / 2.0)

    # time reversal: send conj(S e_j) back in (source amplitudes conj(S_ij) give incident
    # fields inc * conj(S_ij): the conjugate outgoing field up to the common phase of inc),
    # measure what comes out (in units of inc); M = conj(S) S ideally I
    returned = np.zeros((4, 4), dtype=complex)
    for j in range(4):
        a_back = s[:, j].conj()
        srcs = [(z, pol, a) for (z, pol), a in zip(channels, a_back, strict=True)]
        returned[:, j] = _ports(layout, run(bias=bias, sources=srcs)) / inc - a_back
    m = returned.conj()
    time_reversal = float(np.linalg.norm(m - eye) / 2.0)
    time_reversal_from_s = float(np.linalg.norm(s.conj() @ s - eye) / 2.0)

    # gradients of J = |E_y(z_r)|^2 (and of the co-polarised |E_x(z_r)|^2, in details)
    omega = 2 * math.pi * _FREQUENCY
    dz = 1.0 / layout.resolution
    masks = layout.segment_masks()
    forward = columns[0]
    i_r = layout.index(zs)

    def adjoint_gradient(adjoint: np.ndarray, pol: int) -> np.ndarray:
        e_out = forward[pol, i_r]
        overlap = [np.sum(adjoint[:, mk] * forward[:, mk]) * dz for mk in masks]
        return np.array([2 * np.real(np.conj(e_out) * (-1j * omega) * o / k_src) for o in overlap])

    g_insitu = [adjoint_gradient(columns[2 + pol], pol) for pol in (0, 1)]
    if bias != 0.0:
        exact = [run(bias=-bias, sources=[(zs, p, 1.0)]) for p in ("x", "y")]
        g_exact = [adjoint_gradient(exact[pol], pol) for pol in (0, 1)]
    else:  # the twin is its own transpose: the replayed adjoint is the exact one
        g_exact = g_insitu
    g_fd = np.zeros((2, _N_SEGMENTS))
    for k in range(_N_SEGMENTS):
        step = np.zeros(_N_SEGMENTS)
        step[k] = _FD_STEP
        plus = run(bias=bias, sources=[(-zs, "x", 1.0)], eps_shift=step)[:, i_r]
        minus = run(bias=bias, sources=[(-zs, "x", 1.0)], eps_shift=-step)[:, i_r]
        g_fd[:, k] = (np.abs(plus) ** 2 - np.abs(minus) ** 2) / (2 * _FD_STEP)
    cos_insitu = [_cosine_error(g_insitu[p], g_fd[p]) for p in (0, 1)]
    cos_exact = [_cosine_error(g_exact[p], g_fd[p]) for p in (0, 1)]

    eps_perp, eta = gyrotropic_lorentzian_permittivity(
        frequency=_FREQUENCY, eps_inf=_EPS_INF, resonance=_RESONANCE, sigma=_SIGMA, bias=bias
    )
    slab_length = _SLAB[1] - _SLAB[0]
    theta = -0.5 * omega * (np.sqrt(eps_perp + eta) - np.sqrt(eps_perp - eta)).real * slab_length
    details = {
        "units": "Meep normalised: length a, c = 1, frequency c/a",
        "bias": bias,
        "ports": ["left x", "left y", "right x", "right y"],
        "s_matrix_real": s.real.tolist(),
        "s_matrix_imag": s.imag.tolist(),
        "time_reversal_error_from_s": time_reversal_from_s,
        "time_reversal_linearity": float(np.linalg.norm(returned - s @ s.conj())),
        "objective": "|E_y(z_r)|^2, x-polarised input from the left, z_r behind the right port",
        "design_segments_z": [list(seg) for seg in layout.segments],
        "gradient_insitu": g_insitu[1].tolist(),
        "gradient_exact_adjoint": g_exact[1].tolist(),
        "gradient_fd": g_fd[1].tolist(),
        "gradient_scale_ratio": float(np.linalg.norm(g_insitu[1]) / np.linalg.norm(g_fd[1])),
        "gradient_cosine_error_exact_adjoint": cos_exact[1],
        "gradient_cosine_error_copolarised": cos_insitu[0],
        "gradient_cosine_error_copolarised_exact_adjoint": cos_exact[0],
        "fd_step": _FD_STEP,
        "faraday_rotation_single_pass_rad": float(theta),
        "incident_symmetry_residual": float(abs(inc_check / inc - 1)),
        "n_meep_runs": n_runs,
        "suggested_tolerances": {
            "reciprocity_residual": 1e-9,
            "unitarity_residual": 1e-4,
            "time_reversal_error": 1e-4,
            "gradient_cosine_error": 1e-6,
            "wrong_gradient_cosine_error": 0.1,
        },
    }
    return {
        "reciprocity_residual": reciprocity,
        "unitarity_residual": unitarity,
        "time_reversal_error": time_reversal,
        "time_reversal_note": (
            "single-frequency phase conjugation, physically run in Meep: the outgoing waves "
            "of each input are conjugated and sent back through the same device; "
            "||conj(S) S - I||_F / 2, which is 0 only for a lossless reciprocal device"
        ),
        "gradient_cosine_error": cos_insitu[1],
        "frequency": _FREQUENCY,
        "resolution": layout.resolution,
        "runtime_s": 0.0,
        "details": details,
    }


def meep_faraday_rotation(
    *,
    bias: float,
    thickness: float = 2.0,
    frequency: float = _FREQUENCY,
    resolution: int = 20,
    direction: int = 1,
) -> dict:
    r"""Faraday rotation of a linearly polarised wave through a magneto-optic slab, in Meep.

    The slab (``epsilon_inf = 1.5``, Lorentzian ``f0 = 1.5 c/a``, ``sigma = 1``, lossless, bias
    ``b`` along ``z``) sits in a non-dispersive background index-matched to its
    ``Re epsilon_perp`` at ``frequency``, so the interfaces reflect only ``O(eta)`` and the
    turn is the single-pass one to ``O(eta^2)``. An ``Ex`` current sheet launches the wave
    along ``+z`` (``direction = 1``) or ``-z`` (``-1``); behind the slab the circular
    components ``E_pm = (E_x -+ i E_y)/sqrt(2)`` (projections on ``e_pm``) give the lab-frame
    rotation ``theta = (arg E_- - arg E_+)/2`` (counter-clockwise about ``+z``) and the
    ellipticity ``|E_+|/|E_-|``. Slab faces sit on half-pixels (``eps_averaging=False``)
    and the thickness is rounded to whole pixels, so the discrete slab is exactly
    ``thickness`` thick when ``thickness * resolution`` is an integer.

    Args:
        bias: the bias ``b_z`` (c/a), in ``[-1, 1]``.
        thickness: slab thickness ``L`` (a), ``> 0``.
        frequency: analysis frequency (c/a), in ``(0, 0.8 f_-]`` where
            ``f_- = (sqrt(b^2 + 4 f0^2) - |b|)/2`` is the lower biased resonance.
        resolution: pixels per ``a`` (>= 10).
        direction: ``1`` (propagation along ``+z``) or ``-1``.

    Returns:
        ``{"theta_rad", "circular_ratio", "eps_perp", "eta", "background_epsilon",
        "resolution", "thickness", "frequency", "direction"}`` (floats/ints).
    """
    bias = check_real("bias", bias, low=-1.0, high=1.0, unit="c/a")
    thickness = check_real(
        "thickness", thickness, low=0.0, high=20.0, low_inclusive=False, unit="a"
    )
    # the lower biased resonance solves f0^2 - f^2 = |b| f; stay below 80 % of it
    f_max = 0.8 * 0.5 * (math.sqrt(bias**2 + 4 * _RESONANCE**2) - abs(bias))
    frequency = check_real(
        "frequency", frequency, low=0.0, high=f_max, low_inclusive=False, unit="c/a"
    )
    resolution = check_int("resolution", resolution, minimum=10, maximum=400)
    if direction not in (1, -1):
        raise ValueError(f"direction must be 1 or -1, got {direction!r}")
    eps_perp, eta = gyrotropic_lorentzian_permittivity(
        frequency=frequency, eps_inf=_EPS_INF, resonance=_RESONANCE, sigma=_SIGMA, bias=bias
    )
    background = eps_perp.real
    mp = _import_meep()
    old_verbosity = _set_quiet(mp)
    try:
        # faces on half-pixels, the thickness a whole number of pixels; an integer number of
        # pixels on each side of z = 0 so that field points sit at m / resolution
        lo = (math.floor(-thickness / 2 * resolution) + 0.5) / resolution
        hi = lo + round(thickness * resolution) / resolution
        length = 2 * math.ceil((max(-lo, hi) + 1.5 + _PML) * resolution) / resolution
        susceptibility = mp.GyrotropicLorentzianSusceptibility(
            frequency=_RESONANCE, gamma=0.0, sigma=_SIGMA, bias=mp.Vector3(0, 0, bias)
        )
        slab = mp.Block(
            size=mp.Vector3(mp.inf, mp.inf, hi - lo),
            center=mp.Vector3(0, 0, 0.5 * (lo + hi)),
            material=mp.Medium(epsilon=_EPS_INF, E_susceptibilities=[susceptibility]),
        )
        z_src = round((lo - 1.0 if direction == 1 else hi + 1.0) * resolution) / resolution
        z_out = round((hi + 0.5 if direction == 1 else lo - 0.5) * resolution) / resolution
        sim = mp.Simulation(
            cell_size=mp.Vector3(0, 0, length),
            resolution=resolution,
            boundary_layers=[mp.PML(_PML)],
            geometry=[slab],
            default_material=mp.Medium(epsilon=background),
            sources=[
                mp.Source(
                    mp.GaussianSource(frequency, fwidth=0.8 * frequency),
                    component=mp.Ex,
                    center=mp.Vector3(0, 0, z_src),
                )
            ],
            eps_averaging=False,
        )
        dft = sim.add_dft_fields(
            [mp.Ex, mp.Ey],
            frequency,
            frequency,
            1,
            where=mp.Volume(center=mp.Vector3(0, 0, z_out)),
            yee_grid=True,
        )
        sim.run(until=_RUN_TIME)
        ex, ey = (
            complex(np.asarray(sim.get_dft_array(dft, c, 0)).ravel()[0]) for c in (mp.Ex, mp.Ey)
        )
    finally:
        mp.verbosity(old_verbosity)
    e_plus, e_minus = (ex - 1j * ey) / math.sqrt(2), (ex + 1j * ey) / math.sqrt(2)
    return {
        "theta_rad": float(np.angle(e_minus / e_plus) / 2),
        "circular_ratio": float(abs(e_plus) / abs(e_minus)),
        "eps_perp": float(eps_perp.real),
        "eta": float(eta.real),
        "background_epsilon": float(background),
        "resolution": resolution,
        "thickness": thickness,
        "frequency": frequency,
        "direction": direction,
    }
