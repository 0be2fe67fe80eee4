r"""The acoustic wave-RNN: a classifier whose weights are a wave-speed distribution.

After Hughes, Williamson, Minkov, Fan, "Wave physics as an analog recurrent neural network",
Sci. Adv. 5, eaay6946 (2019). A 2-D scalar wave domain (the FDTD engine
:mod:`wavebp.simulators.fdtd`, Berenger PML on every side) holds a square *design region*
whose wave speed is trainable. A time signal (one audio sample per time step) is injected
at a source point on the left; ``n_classes`` point probes sit on the right. The predicted
class is the probe that collects the most energy.

Layout (cells, along x; y is centred)::

    | PML | margin | src | gap | design region | gap | probes | margin | PML |

The probes are spread evenly across the height of the design region; the source sits at
mid-height. Outside the design region the speed is the background ``c_max``.

Projection (bounded, smooth)
    The trainable parameter ``theta`` (shape ``design_shape``, unbounded) becomes a
    material density ``rho = sigmoid(theta)`` in (0, 1) and the wave speed
    ``c = c_max - (c_max - c_min) * rho``: ``rho = 0`` is the background material (fast,
    ``c_max``), ``rho = 1`` the inclusion material (slow, ``c_min``). Every ``theta`` is
    a physical medium and the Courant number never exceeds the one set for ``c_max``.

Nonlinear medium (``medium="kerr"``)
    The inclusion material is a saturable Kerr medium: its local wave speed depends on the
    field amplitude and saturates,
    ``c(u) = c + kerr_speed_change * rho * s(u / kerr_amplitude)``, ``s(x) = x^2/(1 + x^2)``
    (the engine's ``nonlinear_speed`` / ``nonlinear_amplitude``; it is formulated through
    the field's constitutive relation, so that ``c(u)`` is the true small-signal speed and
    the scheme stays stable: see :mod:`wavebp.simulators.fdtd`). The speed stays between
    ``c`` and ``c + kerr_speed_change * rho``; ``kerr_speed_change`` in ``(-c_min, 0]`` (a slowing
    Kerr medium) keeps it positive and below ``c_max``, so the Courant number set for
    ``c_max`` holds for every field. (The engine also accepts a speed that rises with the
    field, but with a saturation amplitude far below the field that case grew slowly in
    long closed-box runs; the slowing medium stayed bounded - see the engine's docstring.)
    Optionally a saturable absorber, damping ``saturable_damping * rho / (1 + u**2 /
    saturation_amplitude**2)`` (1/s), as in Hughes et al. Both act only inside the design
    region.

Read-out and loss
    Probe ``k`` records ``u_k(t)``; its integrated energy is
    ``E_k = sum_n u_k(t_n)**2 * dt`` (field unit squared times s). The class scores are the
    normalised energies ``P_k = E_k / sum_j E_j`` and the loss is the cross-entropy
    ``-log P_y`` of the true class ``y`` (:func:`wave_rnn_loss`).

Units
    SI at the API: the time step is ``1 / sample_rate`` (s), the cell size
    ``dx = c_max / (courant * sample_rate)`` (m), speeds in m/s. ``c_ref = c_max``, so the
    engine's normalised time step is exactly ``courant``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wavebp._core import check_choice, check_int, check_real
from wavebp.simulators.fdtd import (
    Grid,
    PointProbe,
    PointSource,
    field_snapshots,
    simulate,
)

__all__ = [
    "WaveRNN",
    "WaveRNNConfig",
    "energy_fractions",
    "wave_rnn_accuracy",
    "wave_rnn_loss",
]

_MEDIA = ("linear", "kerr")
_GRADIENTS = ("adjoint", "autograd", "insitu")


@dataclass(frozen=True, kw_only=True)
class WaveRNNConfig:
    """Geometry and materials of a :class:`WaveRNN`.

    Attributes:
        n_classes: number of probes (classes), >= 2.
        design_shape: design-region size ``(nx, ny)``, cells.
        pml_cells: PML thickness on every side, cells.
        margin_cells: cells between the PML and the source / probe columns.
        gap_cells: cells between the source (probe) column and the design region.
        sample_rate: samples per second of the input signal, Hz; the time step is
            ``1 / sample_rate`` s.
        c_max: background (fast) wave speed, m/s; also the engine's ``c_ref``.
        c_min: inclusion (slow) wave speed, m/s, in (0, c_max).
        courant: ``c_max * dt / dx``, in (0, 1/sqrt(2)); sets the cell size. Default 0.6:
            dx = 3.6 cm at 16 kHz; the leapfrog grid passes waves up to ``2 asin(C_loc)
            / (2 pi dt)`` (C_loc = local Courant number): ~3.3 kHz along the axes (5.2 kHz
            diagonally) in the fast material and ~1.6 kHz (2.2 kHz) in the slow one.
        medium: ``"linear"`` or ``"kerr"`` (intensity-dependent speed in the inclusion).
        kerr_speed_change: saturated speed change of the inclusion material (m/s), in
            ``(-c_min, 0]`` (``medium="kerr"``): the local speed is
            ``c + kerr_speed_change * rho * s(u / kerr_amplitude)``, ``s`` in [0, 1).
        kerr_amplitude: Kerr saturation amplitude (field units), > 0: half of
            ``kerr_speed_change`` is reached at ``|u| = kerr_amplitude``; for weak fields
            the speed change is ``kerr_speed_change * rho * (u / kerr_amplitude)^2``.
        saturable_damping: saturable-absorption rate of the inclusion, 1/s, >= 0
            (``medium="kerr"`` only; 0 = none).
        saturation_amplitude: field amplitude at which the absorption halves (field units).
        input_amplitude: factor applied to the input waveform before injection
            (field units per normalised time).
        init_scale: standard deviation of the initial ``theta`` (``rho = sigmoid(theta)``).
    """

    n_classes: int = 3
    design_shape: tuple[int, int] = (40, 40)
    pml_cells: int = 10
    margin_cells: int = 2
    gap_cells: int = 2
    sample_rate: float = 16000.0
    c_max: float = 343.0
    c_min: float = 171.5
    courant: float = 0.6
    medium: str = "linear"
    kerr_speed_change: float = -85.75
    kerr_amplitude: float = 0.02
    saturable_damping: float = 0.0
    saturation_amplitude: float = 1.0
    input_amplitude: float = 1.0
    init_scale: float = 0.5

    def __post_init__(self) -> None:
        check_int("n_classes", self.n_classes, minimum=2)
        shape = tuple(self.design_shape)
        if len(shape) != 2:
            raise ValueError(f"design_shape must be (nx, ny) cells, got {shape!r}")
        for i, n in enumerate(shape):
            check_int(f"design_shape[{i}]", n, minimum=self.n_classes)
        object.__setattr__(self, "design_shape", tuple(int(n) for n in shape))
        check_int("pml_cells", self.pml_cells, minimum=0)
        check_int("margin_cells", self.margin_cells, minimum=0)
        check_int("gap_cells", self.gap_cells, minimum=0)
        check_real("sample_rate", self.sample_rate, low=0.0, low_inclusive=False, unit="Hz")
        check_real("c_max", self.c_max, low=0.0, low_inclusive=False, unit="m/s")
        check_real(
            "c_min", self.c_min, low=0.0, high=self.c_max, low_inclusive=False,
            high_inclusive=False, unit="m/s",
        )  # fmt: skip
        check_real(
            "courant", self.courant, low=0.0, high=1.0 / math.sqrt(2.0), low_inclusive=False,
            high_inclusive=False,
        )  # fmt: skip
        check_choice("medium", self.medium, _MEDIA)
        check_real(
            "kerr_speed_change", self.kerr_speed_change, low=-self.c_min, high=0.0,
            low_inclusive=False, unit="m/s",
        )  # fmt: skip
        check_real(
            "kerr_amplitude", self.kerr_amplitude, low=0.0, low_inclusive=False,
            unit="field units",
        )  # fmt: skip
        check_real("saturable_damping", self.saturable_damping, low=0.0, unit="1/s")
        check_real("saturation_amplitude", self.saturation_amplitude, low=0.0, low_inclusive=False)
        check_real("input_amplitude", self.input_amplitude, low=0.0, low_inclusive=False)
        check_real("init_scale", self.init_scale, low=0.0)

    # -- derived geometry ------------------------------------------------------------------
    @property
    def dt(self) -> float:
        """Time step, s."""
        return 1.0 / self.sample_rate

    @property
    def dx(self) -> float:
        """Cell size, m."""
        return self.c_max / (self.courant * self.sample_rate)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Cells ``(nx, ny)`` including the PML."""
        p, m, g = self.pml_cells, self.margin_cells, self.gap_cells
        dx_, dy_ = self.design_shape
        return (2 * p + 2 * m + 2 * g + 2 + dx_, 2 * p + 2 * m + dy_)

    @property
    def design_origin(self) -> tuple[int, int]:
        """Cell index of the design region's first cell."""
        p, m, g = self.pml_cells, self.margin_cells, self.gap_cells
        return (p + m + 1 + g, p + m)

    @property
    def source_cell(self) -> tuple[int, int]:
        """Cell of the source."""
        _, y0 = self.design_origin
        return (self.pml_cells + self.margin_cells, y0 + self.design_shape[1] // 2)

    @property
    def probe_cells(self) -> list[tuple[int, int]]:
        """Cells of the probes, class 0 at the bottom (small y)."""
        x0, y0 = self.design_origin
        x = x0 + self.design_shape[0] + self.gap_cells
        ny = self.design_shape[1]
        return [(x, y0 + int((k + 0.5) * ny / self.n_classes)) for k in range(self.n_classes)]


def energy_fractions(energies: torch.Tensor) -> torch.Tensor:
    """Normalised probe energies ``P_k = E_k / sum_j E_j``, shape ``(..., n_classes)``."""
    return energies / energies.sum(dim=-1, keepdim=True)


def wave_rnn_loss(energies: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Mean cross-entropy ``-log(E_y / sum_j E_j)`` of the normalised probe energies.

    Args:
        energies: integrated probe energies, shape ``(batch, n_classes)``, > 0.
        labels: true classes, shape ``(batch,)``, int64.

    Returns:
        The mean loss (scalar, nats).
    """
    log_p = energies.log() - energies.sum(dim=-1, keepdim=True).log()
    return torch.nn.functional.nll_loss(log_p, labels)


def wave_rnn_accuracy(energies: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of the batch whose most energetic probe is the true class."""
    return float((energies.argmax(dim=-1) == labels).to(torch.float64).mean())


class WaveRNN(torch.nn.Module):
    """Wave-RNN classifier (see the module docstring).

    Args:
        config: geometry and materials.
        dtype: real dtype of the parameter and the simulation.
        device: device of the parameter and the simulation.
        generator: initial ``theta ~ init_scale * N(0, 1)`` (CPU generator).
    """

    def __init__(
        self,
        config: WaveRNNConfig | None = None,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = WaveRNNConfig() if config is None else config
        theta = torch.randn(self.config.design_shape, generator=generator, dtype=dtype)
        self.theta = torch.nn.Parameter((self.config.init_scale * theta).to(device))
        c = self.config
        self.grid = Grid(shape=c.grid_shape, dx=c.dx, dt=c.dt, c_ref=c.c_max, pml_cells=c.pml_cells)
        self.sources = [PointSource(position=self._position(c.source_cell))]
        self.probes = [PointProbe(position=self._position(p)) for p in c.probe_cells]

    def _position(self, cell: tuple[int, int]) -> tuple[float, float]:
        return (cell[0] * self.grid.dx, cell[1] * self.grid.dx)

    # -- the medium ------------------------------------------------------------------------
    def density(self) -> torch.Tensor:
        """Inclusion density ``rho = sigmoid(theta)`` in the design region, shape
        ``design_shape``."""
        return torch.sigmoid(self.theta)

    def _embed(self, design: torch.Tensor) -> torch.Tensor:
        """Place a design-region map in a zero map of the full grid (differentiably)."""
        nx, ny = self.grid.shape
        x0, y0 = self.config.design_origin
        dx_, dy_ = self.config.design_shape
        return torch.nn.functional.pad(design, (y0, ny - y0 - dy_, x0, nx - x0 - dx_))

    def wave_speed(self) -> torch.Tensor:
        """Linear wave speed of the whole grid, m/s, shape ``grid.shape``."""
        c = self.config
        return c.c_max - (c.c_max - c.c_min) * self._embed(self.density())

    def _medium(self) -> dict[str, torch.Tensor | float]:
        c = self.config
        medium: dict[str, torch.Tensor | float] = {"wave_speed": self.wave_speed()}
        if c.medium == "kerr":
            rho = self._embed(self.density())
            medium["nonlinear_speed"] = c.kerr_speed_change * rho
            medium["nonlinear_amplitude"] = c.kerr_amplitude
            if c.saturable_damping > 0:
                medium["saturable_damping"] = c.saturable_damping * rho
                medium["saturation_amplitude"] = c.saturation_amplitude
        return medium

    def _signals(self, waveforms: torch.Tensor) -> torch.Tensor:
        if waveforms.ndim != 2:
            raise ValueError(
                f"waveforms must have shape (batch, n_steps), got {tuple(waveforms.shape)}"
            )
        waveforms = waveforms.to(dtype=self.theta.dtype, device=self.theta.device)
        return (self.config.input_amplitude * waveforms).unsqueeze(1)

    # -- forward -----------------------------------------------------------------------------
    def probe_traces(
        self, waveforms: torch.Tensor, *, gradient: str = "adjoint", progress: bool = False
    ) -> torch.Tensor:
        """Field at the probes, shape ``(batch, n_classes, n_steps)``.

        Args:
            waveforms: input signals, one sample per time step, shape ``(batch, n_steps)``.
            gradient: ``"adjoint"`` (reversible adjoint, memory independent of the
                steps), ``"autograd"`` (stores every step) or ``"insitu"`` (physical
                replay; linear medium only), passed to the engine.
            progress: show the engine's progress line.
        """
        check_choice("gradient", gradient, _GRADIENTS)
        if gradient == "insitu" and self.config.medium != "linear":
            raise ValueError(
                f"gradient must be 'adjoint' or 'autograd' for medium={self.config.medium!r} "
                "(the in-situ replay is exact only in a linear medium), got 'insitu'"
            )
        return simulate(
            grid=self.grid,
            sources=self.sources,
            signals=self._signals(waveforms),
            probes=self.probes,
            gradient=gradient,
            progress=progress,
            **self._medium(),
        )

    def forward(
        self, waveforms: torch.Tensor, *, gradient: str = "adjoint", progress: bool = False
    ) -> torch.Tensor:
        """Integrated probe energies ``E_k = sum_n u_k(t_n)^2 dt``, shape
        ``(batch, n_classes)`` (field unit squared times s).

        Args:
            waveforms: input signals, shape ``(batch, n_steps)`` (one sample per step).
            gradient: see :meth:`probe_traces`.
            progress: show the engine's progress line.
        """
        traces = self.probe_traces(waveforms, gradient=gradient, progress=progress)
        return traces.square().sum(dim=-1) * self.config.dt

    @torch.no_grad()
    def snapshots(self, waveform: torch.Tensor, *, every: int) -> torch.Tensor:
        """Field every ``every`` steps for one input, shape ``(n_snapshots, nx, ny)``.

        Args:
            waveform: one input signal, shape ``(n_steps,)``.
            every: steps between snapshots, >= 1.
        """
        every = check_int("every", every, minimum=1)
        fields = field_snapshots(
            grid=self.grid,
            sources=self.sources,
            signals=self._signals(waveform.reshape(1, -1)),
            every=every,
            **{k: (v.detach() if torch.is_tensor(v) else v) for k, v in self._medium().items()},
        )
        return fields[0]
