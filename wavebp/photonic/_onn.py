r"""An optical neural network: input encoding, MZI-mesh layers, optical activations, detection.

Signal path (fields in sqrt(W), powers in W)::

    x (features) --encode--> h_0 --Mesh_1--> z_1 --f--> h_1 --Mesh_2--> ... --Mesh_L--> z_L
    z_L --photodetectors--> P (W) --digital read-out--> logits

* **Encoding** (``encoding=``): ``"amplitude"`` — the feature vector, zero-padded to
  ``n_ports``, is the field amplitude profile, normalised per sample to the total input
  power ``input_power`` (W): ``h_0 = sqrt(P_in) x / |x|``; ``"phase"`` — equal power
  ``P_in / n_ports`` on every port; each feature drives ``len(phase_scales)`` phase
  modulators with gains ``phase_scales`` (rad per unit feature), so port
  ``r * n_features + j`` carries phase ``phase_scales[r] * x_j`` (padding ports carry
  phase 0, a reference): ``h_0 = sqrt(P_in/N) exp(i s x)``. Several gains per feature give
  the (linear) mesh higher harmonics of the input to work with.
* **Layers**: ``n_layers`` programmable :class:`wavebp.photonic.Mesh` layers of ``n_ports``
  ports (or, with ``svd=True``, SVD-style layers ``U diag(t) V``: mesh, a column of MZI
  attenuators, mesh — :class:`SVDLayer`); between consecutive layers an element-wise
  optical activation ``f``
  (:class:`wavebp.devices.ElectroOpticActivation` — Williamson et al. 2020 —,
  :class:`wavebp.devices.ModulusActivation`, or none).
* **Detection**: class ``k`` is read by ``ports_per_class`` photodetectors on output ports
  ``k, k + C, k + 2C, ...`` (``C = n_classes``); their powers are summed electronically:
  ``P_k``. An optional :class:`wavebp.devices.DetectorConfig` adds shot/thermal noise and
  ADC quantisation to every photodetector.
* **Digital read-out** (the digital activation after detection, fixed, no trainable
  parameter): ``logits_k = readout_gain * P_k / sum_j P_j`` — normalising by the detected
  total makes the classifier insensitive to the overall insertion loss.

The trainable parameters are only phases (of the meshes and attenuators), so every gradient
the in-situ engine returns is a physical measurement (:func:`wavebp.photonic.insitu_gradient`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from wavebp._core import check_choice, check_int, check_real, real_dtype
from wavebp.devices import DetectorConfig, ElectroOpticActivation, ModulusActivation, photodetect

__all__ = ["ENCODINGS", "ONN", "ONN_ACTIVATIONS", "AttenuatorColumn", "SVDLayer"]

ENCODINGS = ("amplitude", "phase")
ONN_ACTIVATIONS = ("electro-optic", "modulus", "none")


def _default_mesh_factory() -> Callable[..., torch.nn.Module]:
    from wavebp.photonic._mesh import Mesh

    return Mesh


class AttenuatorColumn(torch.nn.Module):
    r"""A column of ``n_ports`` programmable attenuators, one per waveguide.

    Attenuator ``j`` is an MZI (ideal 50:50 couplers, ``phi = 0``) between signal waveguide
    ``j`` (its top arm) and an auxiliary waveguide ``j'`` (bottom arm): the signal enters
    the top input and leaves by the top (bar) output with transmission

    .. math:: t_j = \mathrm{MZI}(\theta_j, 0)_{00} = \tfrac12 (e^{i\theta_j} - 1)
              = i e^{i\theta_j/2} \sin(\theta_j/2),

    the rest goes to the auxiliary output (a dump). The auxiliary *inputs* are routed to
    the chip edge, so the in-situ engine can inject the conjugate of the adjoint light that
    leaves through them — which keeps the interference pass exact (a lossless 2N-port).

    Args:
        n_ports: number of waveguides, ``>= 1``.
        dtype: complex dtype of the fields.
        generator: random source of the initial phases (uniform in ``[pi/2, pi]``, i.e.
            power transmission in ``[0.5, 1]``).

    Attributes:
        theta: ``(n_ports,)`` internal phases in rad (parameter).
    """

    def __init__(
        self,
        n_ports: int,
        *,
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        n = check_int("n_ports", n_ports, minimum=1)
        theta = math.pi * (0.5 + 0.5 * torch.rand(n, generator=generator, dtype=torch.float64))
        self.theta = torch.nn.Parameter(theta.to(real_dtype(dtype)))

    def transmission(self) -> torch.Tensor:
        """Complex field transmissions ``t_j``, ``(n_ports,)``."""
        e = torch.polar(torch.ones_like(self.theta), self.theta)
        return 0.5 * (e - 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x * t`` for fields ``x`` ``(..., n_ports)``."""
        return x * self.transmission()


class SVDLayer(torch.nn.Module):
    """An SVD-style layer ``U diag(t) V``: mesh, attenuator column, mesh (Miller 2013;
    Shen et al. 2017). The transfer matrix is an arbitrary matrix of norm <= 1.

    Args:
        mesh_in: the first mesh (``V``).
        attenuator: the :class:`AttenuatorColumn`.
        mesh_out: the second mesh (``U``).
    """

    def __init__(
        self, mesh_in: torch.nn.Module, attenuator: AttenuatorColumn, mesh_out: torch.nn.Module
    ) -> None:
        super().__init__()
        self.mesh_in = mesh_in
        self.attenuator = attenuator
        self.mesh_out = mesh_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``U diag(t) V x`` for fields ``x`` ``(..., n_ports)``."""
        return self.mesh_out(self.attenuator(self.mesh_in(x)))


class ONN(torch.nn.Module):
    """Optical neural network (see the module docstring for the signal path).

    Args:
        n_features: number of input features (``n_features * len(phase_scales)`` ports are
            driven with phase encoding), at most ``n_ports``.
        n_classes: number of classes, ``n_classes * ports_per_class <= n_ports``.
        n_ports: waveguides per mesh (default: the smallest that fits features and
            read-out ports, at least 2).
        n_layers: number of mesh layers, ``>= 1``.
        encoding: ``"amplitude"`` or ``"phase"``.
        phase_scales: phase-modulator gains in rad per unit feature (phase encoding only).
        activation: optical activation between layers: ``"electro-optic"``, ``"modulus"``
            or ``"none"``.
        activation_kwargs: keyword arguments of :class:`ElectroOpticActivation`; the
            default sets ``gain = pi / input_power`` rad/W and ``phase_bias = pi / 2`` rad so
            that the nonlinearity is strong at this network's power level.
        ports_per_class: photodetectors summed per class, ``>= 1``.
        readout_gain: digital read-out gain (dimensionless logit scale), ``> 0``.
        input_power: total optical input power per sample in W, ``> 0``.
        topology: mesh topology, ``"clements"`` or ``"reck"``.
        init: mesh initialisation (``"haar"``, ``"uniform"``, ``"zeros"``).
        dtype: complex dtype of the meshes (``torch.complex64`` for training speed,
            ``torch.complex128`` for exactness tests).
        generator: random source of the initialisation (and fabrication errors).
        mesh_kwargs: extra keyword arguments for every :class:`Mesh` (e.g. hardware
            imperfections).
        mesh_factory: the mesh class (default :class:`wavebp.photonic.Mesh`).
        svd: make every layer an SVD-style layer ``mesh -> attenuators -> mesh``
            (:class:`SVDLayer`) instead of a single mesh.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        *,
        n_ports: int | None = None,
        n_layers: int = 1,
        encoding: str = "amplitude",
        phase_scales: tuple[float, ...] = (1.0,),
        activation: str = "electro-optic",
        activation_kwargs: dict | None = None,
        ports_per_class: int = 1,
        readout_gain: float = 30.0,
        input_power: float = 1e-3,
        topology: str = "clements",
        init: str = "haar",
        dtype: torch.dtype = torch.complex64,
        generator: torch.Generator | None = None,
        mesh_kwargs: dict | None = None,
        mesh_factory: Callable[..., torch.nn.Module] | None = None,
        svd: bool = False,
    ) -> None:
        super().__init__()
        self.n_features = check_int("n_features", n_features, minimum=1)
        self.n_classes = check_int("n_classes", n_classes, minimum=2)
        self.ports_per_class = check_int("ports_per_class", ports_per_class, minimum=1)
        self.encoding = check_choice("encoding", encoding, ENCODINGS)
        self.phase_scales = tuple(
            check_real(f"phase_scales[{i}]", s, unit="rad") for i, s in enumerate(phase_scales)
        )
        if not self.phase_scales:
            raise ValueError("phase_scales must hold at least one gain in rad, got ()")
        n_driven = self.n_features * (len(self.phase_scales) if encoding == "phase" else 1)
        needed = max(n_driven, self.n_classes * self.ports_per_class, 2)
        self.n_ports = needed if n_ports is None else check_int("n_ports", n_ports, minimum=2)
        if self.n_ports < needed:
            raise ValueError(
                f"n_ports must be >= max(driven input ports, n_classes * ports_per_class) = "
                f"{needed}, "
                f"got {self.n_ports}"
            )
        self.n_layers = check_int("n_layers", n_layers, minimum=1)
        self.activation_name = check_choice("activation", activation, ONN_ACTIVATIONS)
        self.readout_gain = check_real("readout_gain", readout_gain, low=0.0, low_inclusive=False)
        self.input_power = check_real(
            "input_power", input_power, low=0.0, low_inclusive=False, unit="W"
        )
        if dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        self.dtype = dtype
        factory = _default_mesh_factory() if mesh_factory is None else mesh_factory

        def make_mesh() -> torch.nn.Module:
            return factory(
                self.n_ports,
                topology=topology,
                init=init,
                dtype=dtype,
                generator=generator,
                **(mesh_kwargs or {}),
            )

        self.svd = bool(svd)
        self.meshes = torch.nn.ModuleList(
            SVDLayer(
                make_mesh(),
                AttenuatorColumn(self.n_ports, dtype=dtype, generator=generator),
                make_mesh(),
            )
            if self.svd
            else make_mesh()
            for _ in range(self.n_layers)
        )
        acts: list[torch.nn.Module] = []
        for _ in range(self.n_layers - 1):
            if self.activation_name == "electro-optic":
                kw = {"gain": math.pi / self.input_power, "phase_bias": math.pi / 2}
                kw.update(activation_kwargs or {})
                acts.append(ElectroOpticActivation(**kw))
            elif self.activation_name == "modulus":
                acts.append(ModulusActivation())
            else:
                acts.append(torch.nn.Identity())
        self.activations = torch.nn.ModuleList(acts)
        c = self.n_classes
        ports = torch.arange(self.ports_per_class * c).view(self.ports_per_class, c)
        self.register_buffer("readout_ports", ports.T.contiguous(), persistent=False)

    # -- signal path -----------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Input fields ``(B, n_ports)`` (complex, sqrt(W)) from features ``x`` ``(B, F)``."""
        if x.ndim != 2 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"x must have shape (batch, n_features={self.n_features}), got {tuple(x.shape)}"
            )
        if x.is_complex():
            raise ValueError(f"x must hold real features, got dtype {x.dtype}")
        rdt = real_dtype(self.dtype)
        x = x.to(rdt)
        if self.encoding == "phase" and len(self.phase_scales) > 1:
            x = torch.cat([x * s for s in self.phase_scales], -1)
        elif self.encoding == "phase":
            x = x * self.phase_scales[0]
        pad = self.n_ports - x.shape[-1]
        if pad:
            x = torch.cat([x, x.new_zeros(x.shape[0], pad)], -1)
        if self.encoding == "amplitude":
            norm = x.square().sum(-1, keepdim=True).sqrt()
            if bool((norm == 0).any()):
                raise ValueError("amplitude encoding needs every sample to have a nonzero norm")
            return (x * (math.sqrt(self.input_power) / norm)).to(self.dtype)
        amp = math.sqrt(self.input_power / self.n_ports)
        return torch.polar(torch.full_like(x, amp), x)

    def optical_forward(self, h: torch.Tensor) -> list[torch.Tensor]:
        """Propagate input fields; returns the output field ``z_l`` of every mesh layer."""
        fields = []
        for layer, mesh in enumerate(self.meshes):
            z = mesh(h)
            fields.append(z)
            if layer < self.n_layers - 1:
                h = self.activations[layer](z)
        return fields

    def detected_powers(self, z: torch.Tensor) -> torch.Tensor:
        """Per-photodetector powers ``(B, n_classes, ports_per_class)`` in W (noise-free)."""
        p = z.real.square() + z.imag.square()
        return p[..., self.readout_ports]

    def readout(self, powers: torch.Tensor) -> torch.Tensor:
        """Digital read-out: ``(B, C, ports_per_class)`` detector readings -> logits ``(B, C)``."""
        pk = powers.sum(-1)
        total = pk.sum(-1, keepdim=True).clamp_min(1e-30)
        return self.readout_gain * pk / total

    def forward(
        self,
        x: torch.Tensor,
        *,
        detector: DetectorConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Logits ``(B, n_classes)`` for features ``x`` ``(B, n_features)``.

        Args:
            x: real features, ``(B, n_features)``.
            detector: photodetector model of the read-out (``None`` = ideal).
            generator: random source of the detector noise.
        """
        z = self.optical_forward(self.encode(x))[-1]
        p = photodetect(self.detected_powers(z), detector=detector, generator=generator)
        return self.readout(p)

    def extra_repr(self) -> str:
        return (
            f"n_features={self.n_features}, n_classes={self.n_classes}, "
            f"n_ports={self.n_ports}, encoding={self.encoding!r}, "
            f"ports_per_class={self.ports_per_class}, readout_gain={self.readout_gain}"
        )
