r"""Thermo-optic phase shifter: heater power -> optical phase, with thermal crosstalk.

A resistive heater of electrical power ``P`` (W) above a waveguide raises its temperature by
``dT = R_th * P`` (K; ``R_th`` the thermal resistance in K/W). The waveguide's index changes
by ``dn/dT * dT`` over the heated length ``L``, so the light picks up the phase

.. math::  \phi(P, \lambda) = \frac{2\pi L}{\lambda}\,\frac{dn}{dT}\,R_{th}\,P
           = \pi\,\frac{P}{P_\pi}\,\frac{\lambda_0}{\lambda},

with ``P_pi`` the power of a ``pi`` shift at the design wavelength ``lambda_0``. Model
assumptions (stated, not fitted): the phase is linear in the power (no temperature
dependence of ``dn/dT`` or ``R_th``) and its only wavelength dependence is the explicit
``1/lambda`` (the dispersion of ``dn_eff/dT`` across the C-band, a fraction of a percent,
is neglected).

Default parameters: ``P_pi = 25 mW`` at 1550 nm — an assumption in the range of
non-undercut metal (TiN) heaters over 220 nm silicon-on-insulator strip waveguides
(tens of mW; undercut heaters reach a few mW; Harris et al., Opt. Express 22, 10487 (2014)),
``dn/dT = 1.86e-4 /K`` for crystalline silicon near 1550 nm and room temperature
(Komma et al., Appl. Phys. Lett. 101, 041905 (2012)) and ``L = 100 um``; the thermal
resistance follows as ``R_th = lambda_0 / (2 L dn/dT P_pi)`` (about 1.7e3 K/W).

Thermal crosstalk between the heaters of one kind in the same mesh column is the linear map
of :func:`wavebp.devices.thermal_crosstalk_matrix` acting on the heaters' own phases
(equivalently their temperatures): ``phase_eff = K @ phase_own``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_int, check_real
from wavebp.devices._phase_shifter import apply_thermal_crosstalk, thermal_crosstalk_matrix
from wavebp.simulators.mesh import MeshLayout

__all__ = ["ThermoOpticShifter"]

_TWO_PI = 2 * math.pi


@dataclass(frozen=True, kw_only=True)
class ThermoOpticShifter:
    r"""A thermo-optic phase shifter (one heater model shared by every heater of a mesh).

    Attributes:
        p_pi: electrical power for a ``pi`` phase shift at ``design_wavelength``, in W,
            ``> 0`` (default 25 mW, see the module docstring).
        design_wavelength: ``lambda_0`` in m, ``> 0`` (default 1550 nm).
        length: heated waveguide length in m, ``> 0`` (default 100 um; only enters the
            derived :attr:`thermal_resistance` and :meth:`temperature_rise`).
        dn_dt: thermo-optic coefficient ``dn/dT`` in 1/K, ``> 0`` (default 1.86e-4, Si).
        crosstalk: fraction of a heater's phase seen by its nearest neighbour of the same
            kind in the same mesh column, ``[0, 1)``.
        crosstalk_decay: ratio of the crosstalk coefficient per extra MZI pitch, ``[0, 1)``.
    """

    p_pi: float = 25e-3
    design_wavelength: float = 1550e-9
    length: float = 100e-6
    dn_dt: float = 1.86e-4
    crosstalk: float = 0.0
    crosstalk_decay: float = 0.0

    def __post_init__(self) -> None:
        check_real("p_pi", self.p_pi, low=0.0, low_inclusive=False, unit="W")
        check_real(
            "design_wavelength", self.design_wavelength, low=0.0, low_inclusive=False, unit="m"
        )
        check_real("length", self.length, low=0.0, low_inclusive=False, unit="m")
        check_real("dn_dt", self.dn_dt, low=0.0, low_inclusive=False, unit="1/K")
        check_real("crosstalk", self.crosstalk, low=0.0, high=1.0, high_inclusive=False)
        check_real("crosstalk_decay", self.crosstalk_decay, low=0.0, high=1.0, high_inclusive=False)

    # ------------------------------------------------------------------ derived constants
    @property
    def thermal_resistance(self) -> float:
        """``R_th = lambda_0 / (2 L dn/dT P_pi)`` in K/W."""
        return self.design_wavelength / (2 * self.length * self.dn_dt * self.p_pi)

    def temperature_rise(self, power: torch.Tensor) -> torch.Tensor:
        """Heater temperature rise ``dT = R_th P`` in K for powers ``power`` in W ``(...)``."""
        return power * self.thermal_resistance

    def p_pi_at(self, wavelength: float) -> float:
        """Power of a ``pi`` shift at ``wavelength`` (m): ``P_pi * lambda / lambda_0``, in W."""
        wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
        return self.p_pi * wl / self.design_wavelength

    def _scale(self, wavelength: float | None) -> float:
        if wavelength is None:
            return 1.0
        wl = check_real("wavelength", wavelength, low=0.0, low_inclusive=False, unit="m")
        return self.design_wavelength / wl

    def _mix(self, phases: torch.Tensor, layout: MeshLayout | None) -> torch.Tensor:
        if layout is None or self.crosstalk == 0.0:
            return phases
        return apply_thermal_crosstalk(
            phases, layout=layout, coupling=self.crosstalk, decay=self.crosstalk_decay
        )

    # ------------------------------------------------------------------ forward / inverse
    def phase(
        self,
        power: torch.Tensor,
        *,
        wavelength: float | None = None,
        layout: MeshLayout | None = None,
    ) -> torch.Tensor:
        r"""Optical phase of heaters driven with ``power``.

        ``phase = K @ (pi P / P_pi) * lambda_0 / lambda`` (``K`` = identity unless ``layout``
        is given and :attr:`crosstalk` > 0).

        Args:
            power: heater powers in W, real ``(..., M)`` (``(...)`` without ``layout``),
                ``>= 0``.
            wavelength: operating wavelength in m (``None``: the design wavelength).
            layout: mesh layout for the crosstalk between heaters of one kind (``M`` =
                ``layout.n_mzis``, layout MZI order); ``None``: no crosstalk.

        Returns:
            Real tensor like ``power``: phases in rad (differentiable in ``power``).
        """
        if power.is_complex():
            raise ValueError(f"power must be real (W), got dtype {power.dtype}")
        if bool((power.detach() < 0).any()):
            raise ValueError(
                f"power must be >= 0 W (heaters only heat), got {float(power.detach().min())!r}"
            )
        own = power * (math.pi / self.p_pi)
        return self._mix(own, layout) * self._scale(wavelength)

    def power(
        self,
        phase: torch.Tensor,
        *,
        wavelength: float | None = None,
        layout: MeshLayout | None = None,
        max_iterations: int = 16,
    ) -> torch.Tensor:
        r"""Heater powers that produce ``phase`` (the inverse of :meth:`phase`), all ``>= 0``.

        Without crosstalk each target is wrapped to ``[0, 2 pi)`` (a phase is only defined
        modulo ``2 pi``, and a heater can only add phase), so
        ``P = P_pi (phase mod 2 pi) / pi * lambda / lambda_0``, in ``[0, 2 P_pi lambda /
        lambda_0)``. With crosstalk the heaters' own phases solve ``K q = phase (mod 2 pi)``
        (dense solve, for meshes of modest size); any heater whose solution is negative has
        its target raised by ``2 pi`` and the system is solved again, until every power is
        ``>= 0`` (a heuristic, not guaranteed to end: ``K`` is diagonally dominant only
        while ``2 crosstalk / (1 - crosstalk_decay) < 1``; the rounds are capped by
        ``max_iterations``).

        Args:
            phase: target phases in rad, real ``(M,)`` with ``layout``, else ``(...)``.
            wavelength: operating wavelength in m (``None``: the design wavelength).
            layout: mesh layout for crosstalk compensation; ``None``: no crosstalk.
            max_iterations: cap on the re-solve rounds with crosstalk, ``>= 1``.

        Returns:
            Real tensor like ``phase``: powers in W, ``>= 0``.

        Raises:
            ValueError: ``phase`` complex, or no non-negative solution within
                ``max_iterations`` rounds.
        """
        if phase.is_complex():
            raise ValueError(f"phase must be real (rad), got dtype {phase.dtype}")
        check_int("max_iterations", max_iterations, minimum=1)
        scale = self._scale(wavelength)
        # wanted phase at the operating wavelength, wrapped, in lambda_0 units of own phase
        target = torch.remainder(phase, _TWO_PI) / scale
        if layout is None or self.crosstalk == 0.0:
            return target * (self.p_pi / math.pi)
        if phase.ndim != 1 or phase.shape[0] != layout.n_mzis:
            raise ValueError(
                f"phase must have shape (n_mzis,) = ({layout.n_mzis},) with a layout, got "
                f"{tuple(phase.shape)}"
            )
        k = thermal_crosstalk_matrix(
            layout,
            coupling=self.crosstalk,
            decay=self.crosstalk_decay,
            dtype=phase.dtype,
            device=phase.device,
        )
        for _ in range(max_iterations):
            own = torch.linalg.solve(k, target)
            negative = own < 0
            if not bool(negative.any()):
                return own * (self.p_pi / math.pi)
            target = target + (_TWO_PI / scale) * negative.to(target.dtype)
        raise ValueError(
            f"no non-negative heater powers found within max_iterations = {max_iterations}; "
            f"crosstalk = {self.crosstalk} is too strong for this wrap-and-resolve inverse"
        )
