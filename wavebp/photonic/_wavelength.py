r"""A fabricated mesh at an operating wavelength: dispersive couplers and heaters, sampled
fabrication errors, and the three ways of programming it.

Models (stated, not fitted):

* **Couplers.** Every directional coupler of a chip has the gap ``g = g_0 + dg`` (``dg`` its
  fabrication error); its splitting error at wavelength ``lambda`` is
  ``e = table.coupler_error(g, lambda)`` of a coupler model with the
  :class:`wavebp.devices.CouplerTable` interface (the shipped Meep table, or the analytic
  :class:`CoupledModeCoupler`). So both the fabrication error and the detuning from the
  design wavelength act through the same device physics. Gap errors are independent
  between couplers (no wafer-scale correlation). Gaps outside the model's grid
  (``table.gaps``, if it has one) are clipped to it.
* **Coupler through-phase.** A coupler's through-phase (``table.coupler_phase``) adds the
  same phase to both of its outputs; an MZI's two couplers give it a common-mode phase
  ``psi = sum_k [coupler_phase(g_k, lambda) - coupler_phase(g_0, lambda)]`` on both of its
  outputs (only the excess over a design-gap coupler at the same wavelength: the part common
  to every coupler is a propagation phase shared with the waveguides that bypass it, not
  modelled). The mesh engine has no per-MZI common phase, so
  :meth:`FabricatedChip.matrix` propagates column by column (:func:`chip_matrix`).
* **Heaters.** Phases are set by thermo-optic heaters
  (:class:`wavebp.devices.ThermoOpticShifter`): a phase programmed at the design wavelength
  ``lambda_0`` becomes ``(phase mod 2 pi) * lambda_0 / lambda`` at ``lambda`` (the heater's
  phase is ``pi P / P_pi * lambda_0 / lambda``). The output phase screen is heaters too.
* **Fabrication** (:func:`sample_chip`): gap errors ``N(0, gap_sigma^2)`` per coupler, static
  phase offsets ``N(0, phase_sigma^2)`` per shifter, insertion loss per MZI (dB).

Programming modes (:func:`fabricated_mesh`):

* ``"none"``: heater powers computed once at ``lambda_0`` for the trained phases;
* ``"rescaled"``: heater powers recomputed for the operating wavelength (``P_pi`` scales
  with ``lambda``), so the phases are right but the couplers' errors are left;
* ``"corrected"``: rescaled, plus the post-fabrication correction of
  :func:`wavebp.photonic.correct_phases` with the chip's measured coupler errors, phase
  offsets and common-mode phases at the operating wavelength.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Protocol

import torch

from wavebp._core import check_choice, check_int, check_real
from wavebp.devices import ThermoOpticShifter
from wavebp.photonic._correction import correct_phases
from wavebp.photonic._mesh import Mesh
from wavebp.simulators.mesh import mesh_matrix_reference, mzi_transfer

__all__ = [
    "PROGRAMMING_MODES",
    "ChipSample",
    "CoupledModeCoupler",
    "CouplerModel",
    "FabricatedChip",
    "chip_coupler_errors",
    "chip_coupler_phases",
    "chip_matrix",
    "fabricated_mesh",
    "heater_phases",
    "sample_chip",
]

PROGRAMMING_MODES = ("none", "rescaled", "corrected")
_LIMIT = 0.999 * math.pi / 4


class CouplerModel(Protocol):
    """What a coupler model provides (the :class:`wavebp.devices.CouplerTable` interface)."""

    design_gap: float
    design_wavelength: float

    def coupler_error(self, gap, wavelength) -> torch.Tensor:  # pragma: no cover - protocol
        """Splitting error in rad for gaps and wavelengths in m (broadcasting)."""
        ...


@dataclass(frozen=True, kw_only=True)
class CoupledModeCoupler:
    r"""Analytic directional-coupler model from coupled-mode theory (a reference model).

    Two identical waveguides coupled over a length ``L`` with coefficient
    ``kappa(g, lambda) = kappa_0 exp(-(g - g_0) / gap_decay) (lambda / lambda_0)^p``
    exchange power ``sin^2(kappa L)``; ``kappa_0 L = pi / 4`` makes the coupler 50:50 at the
    design point, so the splitting error is ``e = arcsin|sin(kappa L)| - pi/4`` (clipped to
    ``±0.999 pi/4``). The default decay length (100 nm) and exponent (2.5) are order-of-
    magnitude values for 220 nm Si strip waveguides in the C-band (the evanescent decay
    constant there is ~1/(130 nm); the coupling rises with wavelength as the modes spread),
    not fitted to a simulation — the shipped Meep table is the calibrated model.

    Attributes:
        design_gap: ``g_0`` in m, ``> 0``.
        design_wavelength: ``lambda_0`` in m, ``> 0``.
        gap_decay: decay length of the coupling with the gap in m, ``> 0``.
        wavelength_exponent: ``p``, dimensionless.
    """

    design_gap: float = 200e-9
    design_wavelength: float = 1550e-9
    gap_decay: float = 100e-9
    wavelength_exponent: float = 2.5

    def __post_init__(self) -> None:
        check_real("design_gap", self.design_gap, low=0.0, low_inclusive=False, unit="m")
        check_real(
            "design_wavelength", self.design_wavelength, low=0.0, low_inclusive=False, unit="m"
        )
        check_real("gap_decay", self.gap_decay, low=0.0, low_inclusive=False, unit="m")
        check_real("wavelength_exponent", self.wavelength_exponent)

    def coupler_error(self, gap, wavelength) -> torch.Tensor:
        """Splitting error in rad (cross power ``sin^2(pi/4 + e)``) for ``gap`` and
        ``wavelength`` in m (tensors or numbers, broadcasting; float64 for numbers)."""
        g = torch.as_tensor(gap, dtype=torch.float64)
        wl = torch.as_tensor(wavelength, dtype=torch.float64)
        kl = (
            (math.pi / 4)
            * torch.exp(-(g - self.design_gap) / self.gap_decay)
            * (wl / self.design_wavelength) ** self.wavelength_exponent
        )
        return (torch.arcsin(torch.sin(kl).abs()) - math.pi / 4).clamp(-_LIMIT, _LIMIT)

    def coupler_phase(self, gap, wavelength) -> torch.Tensor:
        """Common through-phase relative to the design point in rad: 0 in this model (the
        symmetric coupled-mode solution carries the same propagation phase as the design)."""
        g = torch.as_tensor(gap, dtype=torch.float64)
        wl = torch.as_tensor(wavelength, dtype=torch.float64)
        return torch.zeros(torch.broadcast_shapes(g.shape, wl.shape), dtype=torch.float64)


@dataclass(frozen=True, kw_only=True)
class ChipSample:
    """One fabricated mesh's static errors (sampled once).

    Attributes:
        gap_error: gap error of each MZI's two couplers in m, real ``(M, 2)``.
        theta_offset: static offset of each internal shifter in rad, ``(M,)``.
        phi_offset: static offset of each external shifter in rad, ``(M,)``.
        loss_db: insertion loss of each MZI in dB, ``(M,)``, ``>= 0``.
    """

    gap_error: torch.Tensor
    theta_offset: torch.Tensor
    phi_offset: torch.Tensor
    loss_db: torch.Tensor


def sample_chip(
    n_mzis: int,
    *,
    gap_sigma: float = 0.0,
    phase_sigma: float = 0.0,
    loss_db: float = 0.0,
    loss_db_sigma: float = 0.0,
    generator: torch.Generator | None = None,
) -> ChipSample:
    """Sample one chip's fabrication errors (float64).

    The standard normal draws are taken in a fixed order and count — gaps ``(M, 2)``, theta
    offsets, phi offsets, losses — whatever the sigmas, so one seed gives the same chip
    scaled by the sigmas (paired comparisons across sigmas).

    Args:
        n_mzis: number of MZIs ``M``, ``>= 1``.
        gap_sigma: std of each coupler's gap error in m, ``>= 0``.
        phase_sigma: std of each shifter's static offset in rad, ``>= 0``.
        loss_db: mean insertion loss per MZI in dB, ``>= 0``.
        loss_db_sigma: std of the per-MZI loss in dB, ``>= 0`` (clipped at 0 dB).
        generator: randomness (``None``: torch's default generator).

    Returns:
        A :class:`ChipSample`.
    """
    m = check_int("n_mzis", n_mzis, minimum=1)
    gap_sigma = check_real("gap_sigma", gap_sigma, low=0.0, unit="m")
    phase_sigma = check_real("phase_sigma", phase_sigma, low=0.0, unit="rad")
    loss_db = check_real("loss_db", loss_db, low=0.0, unit="dB")
    loss_db_sigma = check_real("loss_db_sigma", loss_db_sigma, low=0.0, unit="dB")
    dev = generator.device if generator is not None else torch.device("cpu")
    z = torch.randn(5 * m, generator=generator, dtype=torch.float64, device=dev).cpu()
    return ChipSample(
        gap_error=gap_sigma * z[: 2 * m].view(m, 2),
        theta_offset=phase_sigma * z[2 * m : 3 * m],
        phi_offset=phase_sigma * z[3 * m : 4 * m],
        loss_db=(loss_db + loss_db_sigma * z[4 * m :]).clamp_min(0.0),
    )


def _gaps(table: CouplerModel, gap_error: torch.Tensor) -> torch.Tensor:
    gap = table.design_gap + gap_error.detach().double()
    grid = getattr(table, "gaps", None)
    if grid is not None:
        grid = torch.as_tensor(grid, dtype=torch.float64)
        gap = gap.clamp(float(grid.min()), float(grid.max()))
    return gap


def chip_coupler_errors(
    table: CouplerModel, gap_error: torch.Tensor, *, wavelength: float
) -> torch.Tensor:
    """Splitting errors in rad of couplers with gap errors ``gap_error`` (m, any shape) at
    ``wavelength`` (m), from the coupler model ``table`` (gaps clipped to its grid, if it
    has one); float64, clipped to ``±0.999 pi/4``."""
    wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    gap = _gaps(table, gap_error)
    e = torch.as_tensor(table.coupler_error(gap, wl), dtype=torch.float64)
    return torch.broadcast_to(e, gap.shape).clamp(-_LIMIT, _LIMIT)


def chip_coupler_phases(
    table: CouplerModel, gap_error: torch.Tensor, *, wavelength: float
) -> torch.Tensor:
    """Excess through-phase in rad of couplers with gap errors ``gap_error`` (m, any shape)
    at ``wavelength`` (m): ``coupler_phase(g_0 + dg, lambda) - coupler_phase(g_0, lambda)``
    (0 for a model without ``coupler_phase``); float64, shape of ``gap_error``."""
    wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    gap = _gaps(table, gap_error)
    phase_fn = getattr(table, "coupler_phase", None)
    if phase_fn is None:
        return torch.zeros_like(gap)
    psi = torch.as_tensor(phase_fn(gap, wl), dtype=torch.float64)
    ref = torch.as_tensor(phase_fn(table.design_gap, wl), dtype=torch.float64)
    return torch.broadcast_to(psi - ref, gap.shape).clone()


def chip_matrix(mesh: Mesh, *, common_phase: torch.Tensor | None = None) -> torch.Tensor:
    """Transfer matrix of ``mesh`` (its :meth:`Mesh.physical_params`) with an extra
    common-mode phase on each MZI's two outputs, multiplied out MZI by MZI
    (:func:`wavebp.simulators.mesh.mesh_matrix_reference`).

    Args:
        mesh: the mesh (phases, coupler errors, losses as set on it).
        common_phase: per-MZI common-mode phase in rad, real ``(M,)``; ``None``: 0 (then
            the result equals ``mesh.matrix()`` to rounding — an independent check of the
            engine).

    Returns:
        Complex ``(N, N)`` matrix in the mesh's dtype (no gradient).
    """
    with torch.no_grad():
        params = mesh.physical_params()
        layout = mesh.layout
        t = mzi_transfer(
            params.theta, params.phi, coupler_error=params.coupler_error, loss=params.loss
        )
        if common_phase is not None:
            if tuple(common_phase.shape) != (layout.n_mzis,):
                raise ValueError(
                    f"common_phase must have shape ({layout.n_mzis},), got "
                    f"{tuple(common_phase.shape)}"
                )
            psi = common_phase.detach().to(params.theta.dtype)
            t = t * torch.polar(torch.ones_like(psi), psi)[:, None, None]
        return mesh_matrix_reference(t, params.output_phase, layout)


@dataclass(frozen=True, kw_only=True)
class FabricatedChip:
    """A fabricated, programmed mesh at its operating wavelength.

    Attributes:
        mesh: the mesh the light sees (phases realised by the heaters, the chip's coupler
            errors, phase offsets and losses as static errors).
        common_phase: per-MZI common-mode phase from the couplers' excess through-phase in
            rad, ``(M,)`` (module docstring).
    """

    mesh: Mesh
    common_phase: torch.Tensor

    def matrix(self) -> torch.Tensor:
        """The chip's transfer matrix, complex ``(N, N)`` (:func:`chip_matrix`)."""
        return chip_matrix(self.mesh, common_phase=self.common_phase)

    def module(self) -> torch.nn.Module:
        """A fixed linear optical layer ``x -> x @ U.mT`` with this chip's matrix ``U``, a
        drop-in replacement for the mesh inside :class:`wavebp.photonic.ONN`."""
        return _FixedMatrix(self.matrix())


class _FixedMatrix(torch.nn.Module):
    def __init__(self, u: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("u", u)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.u.dtype) @ self.u.mT


def heater_phases(
    phase: torch.Tensor,
    *,
    shifter: ThermoOpticShifter,
    wavelength: float,
    program_wavelength: float | None = None,
) -> torch.Tensor:
    """Phases in rad that heaters set for ``phase`` at ``program_wavelength`` produce at
    ``wavelength`` (both in m; ``None`` = the shifter's design wavelength).

    ``P = shifter.power(phase, wavelength=program_wavelength)`` then
    ``shifter.phase(P, wavelength=wavelength)``; i.e. ``(phase mod 2 pi) *
    program_wavelength / wavelength``. Shape and dtype of ``phase``.
    """
    power = shifter.power(phase.detach(), wavelength=program_wavelength)
    return shifter.phase(power, wavelength=wavelength)


def fabricated_mesh(
    mesh: Mesh,
    *,
    chip: ChipSample | None,
    table: CouplerModel,
    wavelength: float,
    shifter: ThermoOpticShifter | None = None,
    mode: str = "none",
) -> FabricatedChip:
    """``mesh`` as fabricated (``chip``), programmed (``mode``) and operated at
    ``wavelength``.

    The copy's ``theta``/``phi``/``output_phase`` are the phases the heaters produce
    (module docstring, ``mode``), its static errors the chip's coupler errors at the
    wavelength, phase offsets and losses; the couplers' excess through-phases give the
    per-MZI common phases. ``mesh`` itself (the trained, ideal target) is not changed.

    Args:
        mesh: the trained mesh (its phases are the ideal-coupler targets).
        chip: the chip's errors (``None``: a perfect fabrication, gap errors 0).
        table: coupler model (``CouplerTable`` interface).
        wavelength: operating wavelength in m.
        shifter: heater model (default :class:`wavebp.devices.ThermoOpticShifter` with the
            table's design wavelength).
        mode: ``"none"``, ``"rescaled"`` or ``"corrected"`` (module docstring).

    Returns:
        A :class:`FabricatedChip` (its mesh a new :class:`Mesh` of the same dtype).
    """
    check_choice("mode", mode, PROGRAMMING_MODES)
    wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
    if shifter is None:
        shifter = ThermoOpticShifter(design_wavelength=table.design_wavelength)
    m = mesh.n_mzis
    if chip is None:
        zeros = torch.zeros(m, dtype=torch.float64)
        chip = ChipSample(
            gap_error=torch.zeros(m, 2, dtype=torch.float64),
            theta_offset=zeros,
            phi_offset=zeros,
            loss_db=zeros,
        )
    errors = chip_coupler_errors(table, chip.gap_error, wavelength=wl)
    common = chip_coupler_phases(table, chip.gap_error, wavelength=wl).sum(-1)
    out = copy.deepcopy(mesh)
    theta = mesh.theta.detach().double()
    phi = mesh.phi.detach().double()
    gamma = mesh.output_phase.detach().double()
    if mode == "corrected":
        theta, phi, gamma = correct_phases(
            mesh.layout,
            theta=theta,
            phi=phi,
            output_phase=gamma,
            coupler_error=errors,
            theta_offset=chip.theta_offset,
            phi_offset=chip.phi_offset,
            common_phase=common,
        )
    program_wl = shifter.design_wavelength if mode == "none" else wl

    def realised(p: torch.Tensor) -> torch.Tensor:
        return heater_phases(p, shifter=shifter, wavelength=wl, program_wavelength=program_wl)

    rdt = mesh.theta.dtype
    with torch.no_grad():
        out.theta.copy_(realised(theta).to(rdt))
        out.phi.copy_(realised(phi).to(rdt))
        out.output_phase.copy_(realised(gamma).to(rdt))
    out.set_static_errors(
        coupler_error=errors,
        theta_offset=chip.theta_offset,
        phi_offset=chip.phi_offset,
        loss_db=chip.loss_db if bool((chip.loss_db > 0).any()) else None,
    )
    return FabricatedChip(mesh=out, common_phase=common)
