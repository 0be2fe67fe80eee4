"""Adapter to MIT Meep: the same 1-D/2-D problems as ``wavebp.simulators.fdtd``, in Meep.

Meep is optional and imported only inside these functions (importing Debian's meep flips the
process to flush-denormals-to-zero, DESIGN.md): run Meep work in its own process (the tests
are marked ``meep`` and run in their own pytest invocation). Install: Debian/Ubuntu
``apt-get install python3-meep`` (then a venv made with ``--system-site-packages``), or
conda-forge ``pymeep``. The PyPI package called ``meep`` is unrelated - never install it.

Public API:
    ``meep_simulate(*, grid, sources, signal, probes, permittivity=None, pml_cells=None)``:
        a 2-D TM (Ez) run of the same grid, point sources driven by ``signal(t)`` (t in s),
        probe traces ``(n_probes, n_steps)`` sampled after every Meep step (needs
        ``grid.courant == 0.5``, Meep's default Courant number).
    ``meep_slab_transmission(*, n_slab, thickness, resolution, freqs, ...)``: flux-normalised
        power transmission of a 1-D slab (normalised units, length unit ``a``).
    ``meep_reciprocity_traces(*, grid, port_a, port_b, signal, n_steps, permittivity=None)``:
        time-domain S21 and S12 (``Ez`` at b driven at a, and the reverse).
    ``CouplerGeometry``, ``meep_coupler_response(geometry, *, resolution, ...)``: the 2-D
        effective-index directional coupler (eigenmode source and mode monitors, S-parameter
        column over a wavelength band); ``meep_supermode_indices``: its supermodes from
        Meep's eigenmode solver.
    ``supermode_indices``, ``supermode_coupler_response``: the analytic two-slab supermodes
        and the adiabatic coupled-mode coupler (no Meep needed), for cross-checks.
    ``meep_reciprocity_example(*, gyrotropic, fast=True, resolution=None)``: reciprocity,
        losslessness, time reversal and in-situ gradient error of a magneto-optic
        (gyrotropic) slab or its reciprocal twin (a dict of floats, for
        ``wavebp.analysis.reciprocity``); ``meep_faraday_rotation(*, bias, ...)``: the Faraday
        rotation of a slab; ``gyrotropic_lorentzian_permittivity``: Meep's gyrotropic
        Lorentzian tensor (no Meep needed).
"""

from wavebp.simulators.meep._adapter import (
    meep_reciprocity_traces,
    meep_simulate,
    meep_slab_transmission,
)
from wavebp.simulators.meep._coupler import (
    CouplerGeometry,
    meep_coupler_response,
    meep_supermode_indices,
    supermode_coupler_response,
    supermode_indices,
)
from wavebp.simulators.meep._reciprocity import (
    gyrotropic_lorentzian_permittivity,
    meep_faraday_rotation,
    meep_reciprocity_example,
)

__all__ = [
    "CouplerGeometry",
    "gyrotropic_lorentzian_permittivity",
    "meep_coupler_response",
    "meep_faraday_rotation",
    "meep_reciprocity_example",
    "meep_reciprocity_traces",
    "meep_simulate",
    "meep_slab_transmission",
    "meep_supermode_indices",
    "supermode_coupler_response",
    "supermode_indices",
]
