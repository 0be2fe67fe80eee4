"""Meep adapter implementation (lazy ``import meep``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from wavebp._core import check_int, check_real
from wavebp.simulators.fdtd import Grid

__all__ = ["meep_reciprocity_traces", "meep_simulate", "meep_slab_transmission"]

_RESOLUTION = 10  # Meep pixels per Meep length unit; the Meep unit is 10 of our cells


def _import_meep() -> Any:
    try:
        import meep  # optional; importing it flips the process to flush-denormals
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise ImportError(
            "MIT Meep is not installed: on Debian/Ubuntu `apt-get install python3-meep` (and a "
            "venv with --system-site-packages), or conda-forge `pymeep`; the PyPI package "
            "named `meep` is unrelated"
        ) from err
    return meep


def meep_simulate(
    *,
    grid: Grid,
    sources: list[Any],
    signal: Callable[[float], float],
    probes: list[Any],
    n_steps: int,
    permittivity: np.ndarray | None = None,
) -> np.ndarray:
    """Run the same 2-D problem (TM, ``Ez``) in Meep and return probe traces.

    The Meep cell is the whole grid (``grid.shape * dx``), with Meep's PML of
    ``grid.pml_cells`` cells inside it; the Meep length unit is 10 cells
    (``resolution = 10``), so Meep's time step equals ``grid.dt`` when ``grid.courant``
    is 0.5.

    Args:
        grid: a 2-D grid with ``courant == 0.5`` (``c_ref`` is the speed of light in Meep).
        sources: ``PointSource`` objects (Ez current sources, all driven by ``signal``).
        signal: the source current as a function of time ``t`` (s).
        probes: ``PointProbe`` objects.
        n_steps: number of Meep time steps.
        permittivity: relative permittivity map, shape ``grid.shape`` (default vacuum).

    Returns:
        ``Ez`` at the probes after each step, shape ``(n_probes, n_steps)``.
    """
    if grid.ndim != 2:
        raise ValueError(f"meep_simulate needs a 2-D grid, got shape {grid.shape!r}")
    if abs(grid.courant - 0.5) > 1e-12:
        raise ValueError(f"grid.courant must be 0.5 (Meep's default), got {grid.courant!r}")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    mp = _import_meep()
    nx, ny = grid.shape
    unit = _RESOLUTION * grid.dx  # one Meep length unit, m
    to_meep_time = grid.c_ref / unit  # s -> Meep time units (a / c)

    def centre(cell: tuple[int, ...]) -> Any:
        # our cell centres on Meep's Ez grid points (integer multiples of 1/resolution)
        return mp.Vector3((cell[0] - nx // 2) / _RESOLUTION, (cell[1] - ny // 2) / _RESOLUTION)

    kwargs: dict[str, Any] = {}
    if permittivity is not None:
        eps = np.asarray(permittivity, dtype=float)
        if eps.shape != grid.shape:
            raise ValueError(f"permittivity must have shape {grid.shape}, got {eps.shape}")

        def eps_func(p: Any) -> float:
            i = round(p.x * _RESOLUTION + nx // 2)
            j = round(p.y * _RESOLUTION + ny // 2)
            return float(eps[min(max(i, 0), nx - 1), min(max(j, 0), ny - 1)])

        kwargs["epsilon_func"] = eps_func
    meep_sources = []
    for s in sources:
        cells, _ = s.cells(grid)
        if len(cells) != 1:
            raise ValueError("meep_simulate supports point sources only")
        meep_sources.append(
            mp.Source(
                mp.CustomSource(src_func=lambda t: signal(t / to_meep_time), is_integrated=False),
                component=mp.Ez,
                center=centre(cells[0]),
            )
        )
    sim = mp.Simulation(
        cell_size=mp.Vector3(nx / _RESOLUTION, ny / _RESOLUTION),
        resolution=_RESOLUTION,
        boundary_layers=[mp.PML(grid.pml_cells / _RESOLUTION)] if grid.pml_cells else [],
        sources=meep_sources,
        eps_averaging=False,
        Courant=0.5,
        **kwargs,
    )
    sim.init_sim()
    points = [centre(p.cells(grid)[0][0]) for p in probes]
    out = np.zeros((len(points), n_steps))
    for n in range(n_steps):
        sim.fields.step()
        for k, pt in enumerate(points):
            out[k, n] = sim.get_field_point(mp.Ez, pt).real
    return out


def meep_slab_transmission(
    *,
    n_slab: float,
    thickness: float,
    resolution: int,
    freqs: np.ndarray,
    pml_thickness: float = 2.0,
    padding: float = 3.0,
) -> np.ndarray:
    """Power transmission of a 1-D dielectric slab in Meep, flux-normalised.

    Normalised units (length unit ``a``, ``c = 1``): a Gaussian pulse covering ``freqs``,
    flux through a plane behind the slab divided by the flux of the same run without slab.

    Args:
        n_slab: refractive index of the slab (> 0), surrounded by vacuum.
        thickness: slab thickness (a).
        resolution: pixels per ``a``.
        freqs: frequencies (c/a), increasing and evenly spaced.
        pml_thickness: Meep PML thickness (a).
        padding: vacuum between source, slab, flux plane and PML (a).

    Returns:
        Transmission ``T(f)``, shape ``freqs.shape``.
    """
    n_slab = check_real("n_slab", n_slab, low=0.0, low_inclusive=False)
    thickness = check_real("thickness", thickness, low=0.0, low_inclusive=False, unit="a")
    resolution = check_int("resolution", resolution, minimum=4)
    freqs = np.asarray(freqs, dtype=float)
    if freqs.ndim != 1 or freqs.size < 2 or np.any(np.diff(freqs) <= 0):
        raise ValueError("freqs must be increasing, evenly spaced, at least 2 values (c/a)")
    mp = _import_meep()
    length = 2 * pml_thickness + 3 * padding + thickness
    z_src = -length / 2 + pml_thickness + 0.5 * padding
    z_slab = z_src + padding + thickness / 2
    z_flux = z_slab + thickness / 2 + padding
    fcen = 0.5 * (freqs[0] + freqs[-1])
    fwidth = 1.5 * (freqs[-1] - freqs[0])

    def run(with_slab: bool) -> np.ndarray:
        geometry = []
        if with_slab:
            geometry = [
                mp.Block(
                    size=mp.Vector3(mp.inf, mp.inf, thickness),
                    center=mp.Vector3(0, 0, z_slab),
                    material=mp.Medium(index=n_slab),
                )
            ]
        sim = mp.Simulation(
            cell_size=mp.Vector3(0, 0, length),
            resolution=resolution,
            dimensions=1,
            boundary_layers=[mp.PML(pml_thickness)],
            geometry=geometry,
            sources=[
                mp.Source(
                    mp.GaussianSource(fcen, fwidth=fwidth),
                    component=mp.Ex,
                    center=mp.Vector3(0, 0, z_src),
                )
            ],
        )
        flux = sim.add_flux(
            fcen, freqs[-1] - freqs[0], len(freqs), mp.FluxRegion(center=mp.Vector3(0, 0, z_flux))
        )
        sim.run(
            until_after_sources=mp.stop_when_fields_decayed(
                20, mp.Ex, mp.Vector3(0, 0, z_flux), 1e-9
            )
        )
        return np.array(mp.get_fluxes(flux))

    return run(True) / run(False)


def meep_reciprocity_traces(
    *,
    grid: Grid,
    port_a: tuple[float, float],
    port_b: tuple[float, float],
    signal: Callable[[float], float],
    n_steps: int,
    permittivity: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Time-domain S21 / S12 in Meep: ``Ez`` at ``b`` driven at ``a``, and the reverse.

    For a reciprocal medium the two traces are equal; a gyrotropic medium (a later check)
    breaks it. Same conventions as :func:`meep_simulate`.

    Args:
        grid: a 2-D grid with ``courant == 0.5``.
        port_a: position of port a (m).
        port_b: position of port b (m).
        signal: the source current as a function of time (s).
        n_steps: number of Meep time steps.
        permittivity: relative permittivity map, shape ``grid.shape``.

    Returns:
        ``(trace_ab, trace_ba)``, each shape ``(n_steps,)``: the field at b with the source at
        a, and the field at a with the source at b.
    """
    from wavebp.simulators.fdtd import PointProbe, PointSource

    kw = {"grid": grid, "signal": signal, "n_steps": n_steps, "permittivity": permittivity}
    ab = meep_simulate(
        sources=[PointSource(position=port_a)], probes=[PointProbe(position=port_b)], **kw
    )[0]
    ba = meep_simulate(
        sources=[PointSource(position=port_b)], probes=[PointProbe(position=port_a)], **kw
    )[0]
    return ab, ba
