r"""FDTD wave engine: 1-D/2-D scalar wave and 2-D TM Maxwell, PML, reversible adjoint.

Public API (a contract for ``wavebp.acoustic``; keep it stable)
---------------------------------------------------------------
``Grid(shape, dx, dt, c_ref=SPEED_OF_LIGHT, pml_cells=20, pml_order=3.0,
pml_reflection=1e-8)``
    Frozen config. ``shape`` = ``(nx,)`` or ``(nx, ny)`` cells *including* the absorbing
    layer of ``pml_cells`` cells on every side (``pml_cells=0``: closed, lossless walls).
    ``dx`` cell size (m), ``dt`` time step (s), ``c_ref`` the normalising speed (m/s; the
    speed of light for TM optics, e.g. 343.0 for air acoustics). Cell ``i`` sits at
    ``x = i * dx``. ``grid.interior`` is a bool mask (shape ``grid.shape``) of the cells
    outside the PML; ``grid.courant`` is ``c_ref * dt / dx``.
``stable_time_step(*, dx, c_max, ndim, safety=0.9) -> float`` (s)
``PointSource(position=(x[, y]))``, ``LineSource(axis="y", position=x, start=None,
stop=None)`` (a line of cells along ``axis`` at coordinate ``position`` (m)),
``PlaneWaveSource(position=x)`` (a current sheet across the whole grid at ``x``; it
radiates plane waves towards +x and -x), ``PointProbe(position=...)``,
``RegionProbe(lower=(x0[, y0]), upper=(x1[, y1]))`` (mean of the field over the box).
``simulate(*, grid, sources, signals, probes, wave_speed=None, permittivity=None,
damping=None, conductivity=None, nonlinear_speed=None, nonlinear_amplitude=1.0,
saturable_damping=None,
saturation_amplitude=1.0, speed_modulation=None, gradient="autograd", progress=False)
-> Tensor``
    Runs ``n_steps = signals.shape[-1]`` leapfrog steps from rest and returns the probe
    traces, shape ``(batch, n_probes, n_steps)``; trace ``[..., n]`` is the field after
    step ``n`` (time ``(n + 1) * dt``). ``signals`` has shape ``(batch, n_sources,
    n_steps)``: each source's current ``J`` (arbitrary time signal) during step ``n``, i.e.
    centred at ``t = (n + 1/2) dt`` (sample an analytic signal there to match Meep), entering
    ``eps_r du/dt = curl h - J`` in normalised units (field units; ``u_x -= b J`` with
    ``b = courant / eps_r`` in a lossless interior cell).
    dtype/device of everything follow ``signals``. Medium maps have shape ``grid.shape``
    (or are scalars): ``wave_speed`` (m/s) *or* ``permittivity`` (relative; then the speed
    is ``c_ref / sqrt(permittivity)``); ``damping`` (1/s, the rate ``gamma`` in
    ``du/dt = ... - gamma u``) *or* ``conductivity`` (S/m; rate ``sigma / (eps0 eps_r)``).
    Nonlinear media (after Hughes et al., Sci. Adv. 2019): a saturable Kerr medium, local
    small-signal speed ``c(w) = wave_speed + nonlinear_speed * s(w / nonlinear_amplitude)``
    with ``s(x) = x^2 / (1 + x^2)`` (``nonlinear_speed`` = the saturated speed change
    ``dc``, m/s, map or scalar, with ``wave_speed + dc > 0``; ``nonlinear_amplitude`` =
    ``u_k``, field units; formulation below), and saturable absorption, extra damping
    ``saturable_damping / (1 + (u / saturation_amplitude)**2)`` (1/s). Nonlinearity acts
    only in the interior (outside the PML). ``gradient``: ``"autograd"`` (stores every
    step), ``"adjoint"`` (custom backward: adjoint wave equation in reversed time with the
    forward fields recomputed backwards by leapfrog reversibility; memory: the PML/interior
    interface values per step, not the fields), ``"insitu"`` (physical replay of the
    time-reversed residual from the probes in the same medium plus the overlap with the
    recorded forward field; gradients for ``wave_speed``/``permittivity`` and ``signals``
    only, linear media only). The medium inside the PML is never differentiated (its
    gradient is zero in every mode): the absorbing layer is fixed hardware.
    ``speed_modulation``: a :class:`SpeedModulation` (time-modulated medium, below) or None.
``SpeedModulation(*, depth, frequency, wavenumber=0.0, lower=None, upper=None)``
    Frozen config of a time-modulated permittivity: inside the box ``[lower, upper]`` (m,
    as ``RegionProbe``; None = the whole interior; never inside the PML)
    ``eps_r(x, t) = eps_r(x) (1 + depth cos(2 pi frequency t - wavenumber x))``, depth in
    [0, 1), frequency (Hz) >= 0, wavenumber (rad/m). ``wavenumber != 0``: a modulation
    travelling along +x - the non-reciprocal example. ``.mask(grid)``: the modulated cells.
``field_snapshots(*, grid, sources, signals, every, ...same medium keywords...) -> Tensor``
    Field ``u`` every ``every`` steps, shape ``(batch, n_snapshots, *grid.shape)``, no grad.
``FieldState(*, u, h_y=None, h_x=None, u_y=None)``
    Frozen leapfrog state after ``n`` steps, batch-first: ``u`` = ``u^n`` (shape
    ``(batch, *grid.shape)``), ``h_y`` (``(batch, nx - 1[, ny])``) and ``h_x`` (2-D,
    ``(batch, nx, ny - 1)``) at ``(n - 1/2) dt``; ``u_y`` (2-D) the split-field PML's y part
    of ``u`` (``u_x = u - u_y``; it matters only in the PML). None = zero.
``evolve(*, grid, state=None, n_steps=None, sources=(), signals=None, wave_speed=None,
permittivity=None, damping=None, conductivity=None, speed_modulation=None,
start_time=0.0, reverse_modulation=False) -> FieldState``
    ``simulate``'s update (same kernels) from ``state`` (None: rest) for ``n_steps``
    (default ``signals.shape[-1]``) steps of a *linear* medium; returns the final state.
    The modulation clock of step ``m`` reads ``start_time + (m + 1/2) dt`` (s), or
    ``start_time - (m + 1/2) dt`` with ``reverse_modulation``. Chained runs (``start_time``
    carried on) equal one run, and ``simulate``'s probe traces, to rounding. No gradient
    (``torch.no_grad``).
``time_reverse(state, *, grid) -> FieldState``
    ``(u^N, h^{N-1/2}) -> (u^N, -h^{N+1/2})`` (``h`` advanced by its half step, with the
    PML's coefficients, and negated): the start of the time-reversed replay. In a closed
    lossless medium forward ``n``, ``time_reverse``, forward ``n``, ``time_reverse``
    returns the state to float64 rounding (~2e-15 measured, 1-D and 2-D); a modulated
    medium only with the clock reversed (``start_time = N dt, reverse_modulation=True``);
    a PML keeps what it absorbed; a uniform damping ``gamma`` returns the amplitude
    ``exp(-gamma T)``, energy ``exp(-2 gamma T)``, over a round trip of ``2T`` (each
    oscillating mode decays as ``exp(-gamma t / 2)``; the ``h`` flip is not the exact
    reverse of a lossy step: an ``O(gamma / omega)`` departure, 3e-3 measured at
    ``gamma / omega ~ 6e-3``; tests/simulators/test_fdtd_time_reversal.py).
``insitu_departure(*, shape, dampings, pml_cells, n_steps, generator=None,
dtype=torch.float64) -> list[dict]``
    Relative difference between the in-situ (replay) and the exact adjoint gradient, per
    damping rate and PML thickness (see ``_insitu.py``).

Formulation
-----------
The scalar wave equation ``u_tt = div(c^2 grad u)`` is integrated as the first-order
system of 2-D TM electrodynamics (``u = E_z``, ``(h_x, h_y)`` = scaled ``H``):
``eps_r du/dt + sigma u = curl h - J``, ``dh/dt = (-du/dy, du/dx)`` with
``eps_r = (c_ref / c)^2`` and ``mu_r = 1`` - i.e. the acoustic wave with constant density
(pressure ``u``, particle velocity ``-h`` rotated). Yee staggering: ``u`` at cell centres
and integer times, ``h_y`` on x-faces, ``h_x`` on y-faces at half-integer times. Inside the
kernels units are normalised Meep-style (length unit ``dx``, speed unit ``c_ref``, so
``dt -> courant``); the SI conversion lives in one place (``_engine._prepare`` with
``Grid.courant``). Outer walls: ``h`` tangential = 0 half a cell outside the last cell
(closed, lossless).

Time-modulated medium (``speed_modulation``): the E step ``n`` (from ``u^n`` to
``u^{n+1}``, centred at ``t = (n + 1/2) dt``) uses ``eps_r(x, t)`` in place of ``eps_r``,
i.e. ``b_n = courant / (eps_r(x) (1 + depth cos(2 pi f t - k x)))`` (the ``eps_r du/dt``
form with a time-dependent coefficient; also at the source cells). The loss rate
(``damping``, or ``sigma / (eps0 eps_r)`` with the unmodulated ``eps_r``) is not modulated.
The Courant check uses the smallest ``eps_r`` the modulation reaches, ``eps_r (1 - depth)``
(``frequency = 0``: the static map itself). Gradients: ``"autograd"`` and ``"adjoint"``
(the leapfrog with time-dependent coefficients is still exactly reversible; each reversed
step uses its own coefficients) are exact; ``"insitu"`` replays the residual as a new
forward experiment, so the hardware's modulation runs *forward* in time during the replay,
while the true adjoint needs it backwards - the replay is no longer the adjoint (the overlap
formula does use the known modulation of each forward step, so a static modulation stays
exact). Measured (tests/simulators/test_fdtd_modulation.py, float64, 2-D, c = 0.6..0.9,
``depth=0.3, frequency=0.05, wavenumber=0.3`` in units dx = 1 m, c_ref = 1 m/s,
dt = 0.5 s): swap-reciprocity residual ``max|G(b<-a) - G(a<-b)| / max|G(b<-a)|`` 1.4
(unmodulated or static modulation: 2e-15); in-situ cosine error vs autograd 0.59
(unmodulated: 2e-16); adjoint = autograd to 2e-15.

Saturable Kerr medium (``nonlinear_speed``): the earlier explicit form
``c(u) = c + c_nl u^2`` - E-step coefficients computed from ``u^n`` - is not an energy-
conserving scheme (the linearised step has an extra term ``b'(u) u_t du``, a self-pumped
parametric gain) and blew up on vowel tokens at courant 0.6 even with the speed inside
[c/2, c]. It is replaced by a nonlinear *constitutive relation*, as in Kerr FDTD with the
displacement field: the leapfrog steps ``w`` (``eps_r w`` plays the role of ``D``)
exactly as a linear medium, ``eps_r dw/dt = curl h - J``, and the field that drives ``h``
and that the probes read is ``u = G(w)`` with ``G'(w) = (1 + r s(w/u_k))^2``,
``r = dc / c`` (closed form in ``_engine._kerr_field``; ``G(w) = w`` where ``dc = 0`` and
in the PML). The small-signal speed is then ``c sqrt(G') = c + dc s(w/u_k)``, bounded in
``[c + min(dc, 0), c + max(dc, 0)]``, so the Courant check is done once against
``c + max(dc, 0)``; for weak fields ``u ~ w`` and ``c ~ c + (dc/u_k^2) u^2``. The scheme
is the leapfrog of a Hamiltonian system (energy ``sum V(w) / b + |h|^2 / 2``,
``V' = G``), symplectic and time-reversible. Measured: a slowing medium (``dc < 0``)
stays bounded even deep in saturation (closed box, 3000-6000 steps, ``dc = -0.9 c``,
field ~10 ``u_k``); a *rising* speed (``dc > 0``) stayed bounded for ``u_k`` comparable
to the field but grew slowly when ``u_k`` << field (0.37 -> 0.87 over 6000 steps at
``dc/c = +0.3``, ``u_k`` = field / 10): keep ``u_k`` of the order of the field there.
Gradients: the E step is linear in ``w``, so the adjoint stays an exact transpose (no
fixed point) with ``G'(w)`` in the transposed H step and at the probes, plus a gradient
for ``r``; with saturable absorption the generic fixed-point path below is used.

Fast path: for linear media the forward kernel keeps the total field ``u`` everywhere and
the split parts only in the PML strips (same arithmetic as the split-field update, a third
of the memory traffic), preallocated and updated in place; batch-first, any device. On
the CPU a batch runs in chunks of about 2^18 cells (cache blocking: 1.6x faster at
256 x 256 x batch 16), invisibly to results and gradients.

PML: Berenger split-field (``u = u_x + u_y``; ``u_x`` and ``h_y`` damped at the rate
``s_x``, ``u_y`` and ``h_x`` at ``s_y``), impedance-matched for any ``eps_r`` because E
and H share the rate; polynomial grading ``s(d) = s_max (d / L)^m`` with
``s_max = (m + 1) ln(1/R0) / (2 L)`` (``L = pml_cells``), semi-implicit (Crank-Nicolson)
damping. Measured normal-incidence reflection (1-D pulse, 20 cells per wavelength, 20-cell
layer): 1.7e-6 in amplitude, 1.2e-12 in power (tests/simulators/test_fdtd_physics.py).

Gradients (what is exact, what is not)
--------------------------------------
* ``"adjoint"`` equals ``"autograd"`` to rounding (~1e-15 relative in float64) for linear
  *and* nonlinear media, 1-D and 2-D, with PML and loss. Linear media: hand-written
  transposed steps, forward fields recomputed backwards (division by ``a`` in a lossy
  interior amplifies rounding by the forward decay factor, ``exp(gamma T)``). Nonlinear
  media: the interior step is inverted by fixed-point iteration to rounding level
  (RuntimeError if it does not converge: too strong a nonlinearity, use autograd) and each
  adjoint step is a local vector-Jacobian product of one forward step; the forward also
  saves ``u`` on the cells just outside the interior (Kerr alone: the exact transpose
  described above, no fixed point). Saved per step and batch element:
  ``2 (nx - 2p) + 2 (ny - 2p)`` numbers (linear), three times that (nonlinear: E ring too).
* ``"insitu"``: see ``insitu_departure``. Measured: the replay equals the adjoint to
  ~1e-15 in closed and PML-terminated lossless media; with a damping rate ``gamma`` the
  overlap formula built from the measured ``du/dt`` departs by ``O(gamma dt)`` (2.5e-4
  relative at ``gamma dt = 5e-4``), linear in the loss.
* Reciprocity ``G(b <- a) = G(a <- b)`` holds to ~1e-15 (closed or PML, lossless or with
  loss in the interior); a *spatially varying* loss inside the split-field PML breaks it at
  ~4e-4 (measured), so keep ``damping``/``conductivity`` uniform across the PML.
"""

from wavebp.simulators.fdtd._engine import field_snapshots, simulate
from wavebp.simulators.fdtd._grid import (
    Grid,
    LineSource,
    PlaneWaveSource,
    PointProbe,
    PointSource,
    RegionProbe,
    SpeedModulation,
    stable_time_step,
)
from wavebp.simulators.fdtd._insitu import insitu_departure
from wavebp.simulators.fdtd._state import FieldState, evolve, time_reverse

__all__ = [
    "FieldState",
    "Grid",
    "LineSource",
    "PlaneWaveSource",
    "PointProbe",
    "PointSource",
    "RegionProbe",
    "SpeedModulation",
    "evolve",
    "field_snapshots",
    "insitu_departure",
    "simulate",
    "stable_time_step",
    "time_reverse",
]
