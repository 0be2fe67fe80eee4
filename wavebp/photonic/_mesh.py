r"""Programmable MZI mesh as a ``torch.nn.Module``, with switchable hardware imperfections.

The module holds the *programmed* phases (trainable parameters). What the light sees — the
effective phases after the DAC, thermal crosstalk and fabrication offsets, plus coupler
errors, insertion loss and non-reciprocal elements — is
:meth:`Mesh.physical_params`, a :class:`wavebp.simulators.mesh.MeshParams` that every
propagation (the fast matrix, the field recordings, the in-situ passes) uses, so all of
them see the same chip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_choice, check_int, check_real, real_dtype
from wavebp.devices import (
    apply_thermal_crosstalk,
    insertion_loss_amplitude,
    quantize_phase,
    sample_fabrication_errors,
)
from wavebp.simulators.mesh import (
    GRADIENTS,
    TOPOLOGIES,
    MeshFields,
    MeshLayout,
    MeshParams,
    backward_fields,
    forward_fields,
    mesh_layout,
    scattering_matrix,
    transfer_matrix,
)

__all__ = ["INITS", "Mesh", "MeshImperfections"]

INITS = ("haar", "uniform", "zeros")
_TWO_PI = 2 * math.pi


@dataclass(frozen=True, kw_only=True)
class MeshImperfections:
    """Hardware imperfections of a mesh (all off by default).

    Static errors (coupler errors, phase offsets, per-MZI loss spread) are sampled once,
    when the imperfections are set on a :class:`Mesh`, and stored as buffers.

    Attributes:
        coupler_error_sigma: std of each coupler's splitting error in rad, ``[0, pi/4)``.
        phase_error_sigma: std of each ``theta``/``phi`` shifter's static offset in rad,
            ``>= 0``.
        loss_db: mean insertion loss per MZI in dB, ``>= 0``.
        loss_db_sigma: per-MZI std of the insertion loss in dB, ``>= 0`` (samples clipped
            at 0 dB).
        dac_bits: resolution of the phase shifters' DACs (integer in ``[1, 32]``), applied
            to ``theta``, ``phi`` and the output phase screen; ``None`` = ideal drive.
        phase_range: DAC span in rad, ``(0, 2 pi]``.
        crosstalk: nearest-neighbour thermal-crosstalk coefficient between heaters of the
            same kind in the same column, ``[0, 1)``.
        crosstalk_decay: ratio of the coefficient per extra MZI pitch, ``[0, 1)``.
        nonreciprocal_phase: Faraday-type phase ``psi`` in rad (``+psi`` forward, ``-psi``
            backward) on the top input arm of the MZIs in ``nonreciprocal_mzis``.
        nonreciprocal_mzis: indices (layout order) of the MZIs carrying ``psi``; ``None`` =
            every MZI. Ignored when ``nonreciprocal_phase`` is 0.
    """

    coupler_error_sigma: float = 0.0
    phase_error_sigma: float = 0.0
    loss_db: float = 0.0
    loss_db_sigma: float = 0.0
    dac_bits: int | None = None
    phase_range: float = _TWO_PI
    crosstalk: float = 0.0
    crosstalk_decay: float = 0.0
    nonreciprocal_phase: float = 0.0
    nonreciprocal_mzis: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_real(
            "coupler_error_sigma",
            self.coupler_error_sigma,
            low=0.0,
            high=math.pi / 4,
            high_inclusive=False,
            unit="rad",
        )
        check_real("phase_error_sigma", self.phase_error_sigma, low=0.0, unit="rad")
        check_real("loss_db", self.loss_db, low=0.0, unit="dB")
        check_real("loss_db_sigma", self.loss_db_sigma, low=0.0, unit="dB")
        if self.dac_bits is not None:
            check_int("dac_bits", self.dac_bits, minimum=1, maximum=32)
        check_real(
            "phase_range", self.phase_range, low=0.0, high=_TWO_PI, low_inclusive=False, unit="rad"
        )
        check_real("crosstalk", self.crosstalk, low=0.0, high=1.0, high_inclusive=False)
        check_real("crosstalk_decay", self.crosstalk_decay, low=0.0, high=1.0, high_inclusive=False)
        check_real("nonreciprocal_phase", self.nonreciprocal_phase, unit="rad")
        if self.nonreciprocal_mzis is not None:
            for i in self.nonreciprocal_mzis:
                check_int("nonreciprocal_mzis entries", i, minimum=0)

    @property
    def is_ideal(self) -> bool:
        """True when every imperfection is switched off."""
        return self == MeshImperfections()


class Mesh(torch.nn.Module):
    r"""A programmable ``n_ports`` x ``n_ports`` MZI mesh (Clements or Reck).

    ``y = mesh(x) = x @ U.mT`` with ``U = diag(exp(i output_phase)) C[K-1] ... C[0]`` and
    every MZI ``B(e2) diag(exp(i theta), 1) B(e1) diag(exp(i phi), 1)`` (DESIGN.md), plus
    the hardware terms of :attr:`imperfections`.

    Args:
        n_ports: number of waveguides, an integer >= 2.
        topology: ``"clements"`` (rectangular) or ``"reck"`` (triangular).
        init: ``"haar"`` (Haar-random unitary, Pai et al. 2019 sensitivity-index rule),
            ``"uniform"`` (every phase uniform in ``[0, 2 pi)``) or ``"zeros"`` (every phase 0:
            all MZIs in the cross state).
        dtype: complex dtype of the fields, ``torch.complex64`` or ``torch.complex128``; the
            phases are stored in the matching real dtype.
        generator: randomness for ``init`` and for sampling static imperfections.
        gradient: ``"adjoint"`` (analytic backward from forward and adjoint fields) or
            ``"autograd"``; same gradients to rounding.
        imperfections: a :class:`MeshImperfections`, or ``None`` for an ideal mesh.
        block_columns: speed knob of the engine (columns per block); ``None`` = automatic.

    Attributes:
        theta: ``(M,)`` programmed internal phases in rad (parameter).
        phi: ``(M,)`` programmed external phases in rad (parameter).
        output_phase: ``(n_ports,)`` programmed output phase screen in rad (parameter).
        layout: the :class:`wavebp.simulators.mesh.MeshLayout`.
    """

    def __init__(
        self,
        n_ports: int,
        *,
        topology: str = "clements",
        init: str = "haar",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
        gradient: str = "adjoint",
        imperfections: MeshImperfections | None = None,
        block_columns: int | None = None,
    ) -> None:
        super().__init__()
        n = check_int("n_ports", n_ports, minimum=2)
        check_choice("topology", topology, TOPOLOGIES)
        check_choice("init", init, INITS)
        check_choice("gradient", gradient, GRADIENTS)
        if dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}")
        if block_columns is not None:
            check_int("block_columns", block_columns, minimum=1)
        self.layout: MeshLayout = mesh_layout(n, topology=topology)
        self.gradient = gradient
        self.block_columns = block_columns
        self._dtype = dtype
        rdt = real_dtype(dtype)
        theta, phi, gamma = self._initial_phases(init, generator, rdt)
        self.theta = torch.nn.Parameter(theta)
        self.phi = torch.nn.Parameter(phi)
        self.output_phase = torch.nn.Parameter(gamma)
        for name in ("coupler_error", "theta_offset", "phi_offset", "loss_amplitude", "psi"):
            self.register_buffer(name, None)
        self._imperfections: MeshImperfections | None = None
        self.set_imperfections(imperfections, generator=generator)

    def _initial_phases(
        self, init: str, generator: torch.Generator | None, rdt: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m, n = self.layout.n_mzis, self.layout.n_ports
        gen_device = generator.device if generator is not None else torch.device("cpu")
        if init == "zeros":
            return torch.zeros(m, dtype=rdt), torch.zeros(m, dtype=rdt), torch.zeros(n, dtype=rdt)
        if init == "uniform":
            u = torch.rand(2 * m + n, generator=generator, dtype=torch.float64, device=gen_device)
            u = (u * _TWO_PI).to(device="cpu", dtype=rdt)
            return u[:m].clone(), u[m : 2 * m].clone(), u[2 * m :].clone()
        from wavebp.photonic._haar import haar_phases

        theta, phi = haar_phases(self.layout, generator=generator, dtype=torch.float64)
        gamma = torch.rand(n, generator=generator, dtype=torch.float64, device=gen_device)
        return (
            theta.to(device="cpu", dtype=rdt),
            phi.to(device="cpu", dtype=rdt),
            (gamma * _TWO_PI).to(device="cpu", dtype=rdt),
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_unitary(
        cls,
        U: torch.Tensor,
        *,
        topology: str = "clements",
        gradient: str = "adjoint",
        imperfections: MeshImperfections | None = None,
        generator: torch.Generator | None = None,
    ) -> Mesh:
        """A mesh programmed to implement the unitary ``U`` (Clements or Reck decomposition).

        Args:
            U: unitary, complex ``(N, N)`` (complex64 or complex128; the mesh takes this
                dtype; real float32/float64 orthogonal matrices are accepted). ``y = U @ x``.
            topology: ``"clements"`` or ``"reck"``.
            gradient: ``"adjoint"`` or ``"autograd"``.
            imperfections: optional hardware imperfections (the programmed phases stay those
                of the ideal decomposition, so the imperfect mesh only approximates ``U``).
            generator: randomness for sampling static imperfections.

        Raises:
            ValueError: ``U`` not square, not finite, or not unitary within the tolerance
                stated in the message (``max |U^H U - I| <= 1e-6`` for complex128, ``1e-4``
                for complex64), or ``topology`` unknown.
        """
        from wavebp.photonic._decompose import decompose

        check_choice("topology", topology, TOPOLOGIES)
        theta, phi, gamma = decompose(U, topology=topology)
        dtype = U.dtype
        if dtype == torch.float32:
            dtype = torch.complex64
        elif dtype == torch.float64:
            dtype = torch.complex128
        mesh = cls(
            U.shape[0],
            topology=topology,
            init="zeros",
            dtype=dtype,
            gradient=gradient,
            imperfections=imperfections,
            generator=generator,
        )
        with torch.no_grad():
            mesh.theta.copy_(theta)
            mesh.phi.copy_(phi)
            mesh.output_phase.copy_(gamma)
        return mesh.to(U.device)

    # ------------------------------------------------------------------ imperfections
    @property
    def imperfections(self) -> MeshImperfections | None:
        """The hardware imperfections (``None`` = ideal). Setting samples the static errors
        with torch's default generator; use :meth:`set_imperfections` to pass one."""
        return self._imperfections

    @imperfections.setter
    def imperfections(self, value: MeshImperfections | None) -> None:
        self.set_imperfections(value)

    def set_imperfections(
        self,
        imperfections: MeshImperfections | None,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        """Set the imperfections and sample the static errors once (stored as buffers).

        Args:
            imperfections: a :class:`MeshImperfections` or ``None`` (ideal).
            generator: randomness for the static errors (coupler errors, then theta and phi
                offsets, then per-MZI loss); ``None``: torch's default generator.
        """
        if imperfections is not None and not isinstance(imperfections, MeshImperfections):
            raise ValueError(
                "imperfections must be a MeshImperfections or None, got "
                f"{type(imperfections).__name__}"
            )
        imp = imperfections
        m = self.layout.n_mzis
        rdt, dev = self.theta.dtype, self.theta.device
        self.coupler_error = self.theta_offset = self.phi_offset = None
        self.loss_amplitude = self.psi = None
        self._imperfections = imp
        if imp is None:
            return
        if imp.coupler_error_sigma > 0 or imp.phase_error_sigma > 0:
            fab = sample_fabrication_errors(
                m,
                coupler_error_sigma=imp.coupler_error_sigma,
                phase_error_sigma=imp.phase_error_sigma,
                generator=generator,
                dtype=rdt,
            )
            if imp.coupler_error_sigma > 0:
                self.coupler_error = fab.coupler_error.to(dev)
            if imp.phase_error_sigma > 0:
                self.theta_offset = fab.theta_offset.to(dev)
                self.phi_offset = fab.phi_offset.to(dev)
        if imp.loss_db > 0 or imp.loss_db_sigma > 0:
            loss_db = torch.full((m,), imp.loss_db, dtype=torch.float64)
            if imp.loss_db_sigma > 0:
                gen_device = generator.device if generator is not None else torch.device("cpu")
                z = torch.randn(m, generator=generator, dtype=torch.float64, device=gen_device)
                loss_db = (loss_db + imp.loss_db_sigma * z.cpu()).clamp_min(0.0)
            self.loss_amplitude = insertion_loss_amplitude(loss_db).to(dtype=rdt, device=dev)
        if imp.nonreciprocal_phase != 0.0:
            psi = torch.zeros(m, dtype=rdt, device=dev)
            if imp.nonreciprocal_mzis is None:
                psi.fill_(imp.nonreciprocal_phase)
            else:
                for i in imp.nonreciprocal_mzis:
                    check_int("nonreciprocal_mzis entries", i, minimum=0, maximum=m - 1)
                psi[list(imp.nonreciprocal_mzis)] = imp.nonreciprocal_phase
            self.psi = psi

    def set_static_errors(
        self,
        *,
        coupler_error: torch.Tensor | None = None,
        theta_offset: torch.Tensor | None = None,
        phi_offset: torch.Tensor | None = None,
        loss_db: torch.Tensor | None = None,
    ) -> None:
        """Set explicit static errors of one chip (e.g. from a device model), as buffers.

        Replaces the stored coupler errors, phase offsets and per-MZI losses (``None``
        clears that error); the other settings of :attr:`imperfections` (DAC, crosstalk,
        non-reciprocal phase) stay. A mesh without imperfections gets
        ``MeshImperfections()`` so that the offsets take effect.

        Args:
            coupler_error: splitting errors ``(e1, e2)`` in rad, real ``(M, 2)``, each in
                ``(-pi/4, pi/4)``.
            theta_offset: static offset of each internal phase in rad, real ``(M,)``.
            phi_offset: static offset of each external phase in rad, real ``(M,)``.
            loss_db: insertion loss of each MZI in dB, real ``(M,)``, ``>= 0``.
        """
        m = self.layout.n_mzis
        rdt, dev = self.theta.dtype, self.theta.device

        def take(name: str, value: torch.Tensor | None, shape: tuple[int, ...]):
            if value is None:
                return None
            if not isinstance(value, torch.Tensor) or value.is_complex():
                raise ValueError(f"{name} must be a real torch.Tensor of shape {shape} or None")
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} must be finite everywhere")
            return value.detach().to(dtype=rdt, device=dev)

        ce = take("coupler_error", coupler_error, (m, 2))
        if ce is not None and bool((ce.abs() >= math.pi / 4).any()):
            bad = float(ce.abs().max())
            raise ValueError(f"coupler_error must be in (-pi/4, pi/4) rad, got |e| = {bad!r}")
        loss = take("loss_db", loss_db, (m,))
        if loss is not None and bool((loss < 0).any()):
            raise ValueError(f"loss_db must be >= 0 dB, got {float(loss.min())!r}")
        self.coupler_error = ce
        self.theta_offset = take("theta_offset", theta_offset, (m,))
        self.phi_offset = take("phi_offset", phi_offset, (m,))
        self.loss_amplitude = (
            None if loss is None else insertion_loss_amplitude(loss.double()).to(rdt)
        )
        if self._imperfections is None:
            self._imperfections = MeshImperfections()

    # ------------------------------------------------------------------ physics
    @property
    def n_ports(self) -> int:
        """Number of waveguides ``N``."""
        return self.layout.n_ports

    @property
    def n_mzis(self) -> int:
        """Number of MZIs ``M = N (N - 1) / 2``."""
        return self.layout.n_mzis

    @property
    def dtype(self) -> torch.dtype:
        """Complex dtype of the fields (follows the parameters after ``.to(...)``)."""
        return torch.complex64 if self.theta.dtype == torch.float32 else torch.complex128

    def _shifter_phase(self, phase: torch.Tensor, offset: torch.Tensor | None) -> torch.Tensor:
        imp = self._imperfections
        if imp is None:
            return phase
        if imp.dac_bits is not None:
            phase = quantize_phase(phase, bits=imp.dac_bits, phase_range=imp.phase_range)
        if imp.crosstalk > 0:
            phase = apply_thermal_crosstalk(
                phase, layout=self.layout, coupling=imp.crosstalk, decay=imp.crosstalk_decay
            )
        if offset is not None:
            phase = phase + offset
        return phase

    def physical_params(self) -> MeshParams:
        """The effective per-MZI parameters the light sees (differentiable in the phases).

        ``theta_eff = crosstalk(DAC(theta)) + theta_offset`` (same for ``phi``), the output
        screen ``DAC(output_phase)``, and the coupler errors, loss amplitudes and
        non-reciprocal phases of :attr:`imperfections`. The in-situ engine and every
        propagation method use exactly this.
        """
        imp = self._imperfections
        gamma = self.output_phase
        if imp is not None and imp.dac_bits is not None:
            gamma = quantize_phase(gamma, bits=imp.dac_bits, phase_range=imp.phase_range)
        return MeshParams(
            layout=self.layout,
            theta=self._shifter_phase(self.theta, self.theta_offset),
            phi=self._shifter_phase(self.phi, self.phi_offset),
            output_phase=gamma,
            coupler_error=self.coupler_error,
            loss=self.loss_amplitude,
            nonreciprocal_phase=self.psi,
        )

    def _check_input(self, name: str, x: torch.Tensor) -> torch.Tensor:
        n = self.n_ports
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of shape (..., {n}), got {x!r}")
        if x.ndim == 0 or x.shape[-1] != n:
            raise ValueError(
                f"{name} must have last dimension n_ports = {n}, got shape {tuple(x.shape)}"
            )
        cdt = self.dtype
        if x.dtype == real_dtype(cdt):
            return x.to(cdt)
        if x.dtype != cdt:
            raise ValueError(
                f"{name} must have dtype {cdt} (or the real {real_dtype(cdt)}), got {x.dtype}"
            )
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Propagate ``x``: complex ``(..., n_ports)`` fields in sqrt(W) -> ``x @ U.mT``."""
        x = self._check_input("x", x)
        return x @ self.matrix().mT

    def matrix(self) -> torch.Tensor:
        """Transfer matrix ``U``, complex ``(n_ports, n_ports)`` (``y = U @ x``)."""
        return transfer_matrix(
            self.physical_params(), gradient=self.gradient, block_columns=self.block_columns
        )

    def backward_matrix(self) -> torch.Tensor:
        """Physical backward transfer matrix ``U_back`` (outputs to inputs), ``(N, N)``;
        equal to ``U^T`` unless a non-reciprocal phase is present."""
        return transfer_matrix(
            self.physical_params(),
            direction="backward",
            gradient=self.gradient,
            block_columns=self.block_columns,
        )

    def scattering_matrix(self) -> torch.Tensor:
        """Physical ``2N``-port S-matrix ``[[0, U_back], [U, 0]]`` (ports: inputs then
        outputs), built from a forward and a backward propagation; symmetric iff reciprocal."""
        return scattering_matrix(self.physical_params())

    def forward_fields(self, x: torch.Tensor) -> MeshFields:
        """Forward fields at every column boundary and phase shifter for inputs ``x``
        ``(..., n_ports)`` (see :class:`wavebp.simulators.mesh.MeshFields`)."""
        return forward_fields(self._check_input("x", x), self.physical_params())

    def backward_fields(self, e: torch.Tensor) -> MeshFields:
        """Fields of ``e`` ``(..., n_ports)`` injected at the outputs and propagated back
        through the physical device, recorded at the same points as :meth:`forward_fields`."""
        return backward_fields(self._check_input("e", e), self.physical_params())

    def power_flow(self, x: torch.Tensor) -> torch.Tensor:
        """Power map for plotting: ``|field|^2`` at every column boundary, real
        ``(K + 1, n_ports)`` in W (summed over the batch of ``x``; column 0 = inputs, the last
        row is before the output phase screen, which does not change powers)."""
        with torch.no_grad():
            return self.forward_fields(x).power()

    def extra_repr(self) -> str:
        return (
            f"n_ports={self.n_ports}, topology={self.layout.topology!r}, dtype={self.dtype}, "
            f"gradient={self.gradient!r}, imperfections={self._imperfections!r}"
        )
