r"""The leapfrog state as a value: run from a given state, get the final state, reverse time.

:func:`evolve` runs the engine's own kernels (:func:`~._engine._run_fast`, the same update
as :func:`~wavebp.simulators.fdtd.simulate`) from a :class:`FieldState` instead of rest and
returns the final :class:`FieldState`; :func:`time_reverse` turns a state into the initial
state of its time-reversed replay. No gradients: these are measurement tools (time
reversal, state transfer between runs), run under ``torch.no_grad``.

State convention. A state after ``n`` steps holds ``u^n`` (integer time ``n dt``) and
``h^{n-1/2}`` (the half step before it): each leapfrog step maps ``(u^n, h^{n-1/2})`` to
``(u^{n+1}, h^{n+1/2})``. Time reversal: in a lossless medium the sequence
``u~^m = u^{N-m}``, ``h~^{m-1/2} = -h^{N-m+1/2}`` obeys the *same* update, so the reversed
state of ``(u^N, h^{N-1/2})`` is ``(u^N, -h^{N+1/2})``: advance ``h`` by its half step and
negate it. Running the ordinary scheme from there retraces the past exactly (to float
rounding): forward ``n``, :func:`time_reverse`, forward ``n``, :func:`time_reverse` returns
the initial state. With a PML or damping the replay still absorbs (nothing is run
backwards); a time-modulated medium replays exactly only if its modulation clock runs
backwards as well (``reverse_modulation=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from wavebp._core import check_int, check_real
from wavebp.simulators.fdtd._engine import (
    _checked_setup,
    _DummyProbe,
    _Fields,
    _make_setup,
    _run_fast,
)
from wavebp.simulators.fdtd._grid import Grid, SpeedModulation

__all__ = ["FieldState", "evolve", "time_reverse"]


@dataclass(frozen=True, kw_only=True)
class FieldState:
    """The leapfrog state after ``n`` steps: ``u^n`` and ``h^{n-1/2}``, batch-first.

    Attributes:
        u: the field ``u`` at time ``n dt`` (field units), shape ``(batch, nx)`` (1-D) or
            ``(batch, nx, ny)`` (2-D); float32 or float64.
        h_y: ``h_y`` on the x-faces at ``(n - 1/2) dt``, shape ``(batch, nx - 1)`` or
            ``(batch, nx - 1, ny)``; None = zero.
        h_x: ``h_x`` on the y-faces at ``(n - 1/2) dt``, shape ``(batch, nx, ny - 1)``
            (2-D only; None = zero, and always None in 1-D).
        u_y: the split-field PML's y part of ``u`` (2-D only, shape of ``u``; ``u_x = u -
            u_y``). It matters only inside the PML, where ``u_x`` and ``u_y`` are damped at
            different rates; elsewhere only the sum ``u`` enters the update, and
            :func:`evolve` returns it zero there. None = zero (all of ``u`` in ``u_x``).
    """

    u: torch.Tensor
    h_y: torch.Tensor | None = None
    h_x: torch.Tensor | None = None
    u_y: torch.Tensor | None = None

    def __post_init__(self) -> None:
        u = self.u
        if not isinstance(u, torch.Tensor) or u.dim() not in (2, 3):
            raise ValueError(
                "u must be a tensor of shape (batch, nx) or (batch, nx, ny), got "
                f"{getattr(u, 'shape', u)!r}"
            )
        if u.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"u must be float32 or float64, got {u.dtype}")
        two_d = u.dim() == 3
        b, nx = u.shape[0], u.shape[1]
        ny = u.shape[2] if two_d else None
        want = {
            "h_y": (b, nx - 1, ny) if two_d else (b, nx - 1),
            "h_x": (b, nx, ny - 1) if two_d else None,
            "u_y": tuple(u.shape) if two_d else None,
        }
        for name, shape in want.items():
            value = getattr(self, name)
            if value is None:
                continue
            if shape is None:
                raise ValueError(f"{name} must be None for a 1-D state (u of shape (batch, nx))")
            if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                raise ValueError(
                    f"{name} must have shape {shape} (from u.shape = {tuple(u.shape)}), got "
                    f"{getattr(value, 'shape', value)!r}"
                )
            if value.dtype != u.dtype or value.device != u.device:
                raise ValueError(
                    f"{name} must have u's dtype and device ({u.dtype}, {u.device}), got "
                    f"({value.dtype}, {value.device})"
                )

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid shape ``(nx,)`` or ``(nx, ny)``."""
        return tuple(self.u.shape[1:])

    def _internal(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, Any]:
        """``(u, u_y, h_y, h_x)`` in the kernels' ``(batch, nx, ny)`` layout (ny = 1 in 1-D),
        zeros in place of None."""
        u = self.u
        if u.dim() == 2:
            hy = self.h_y if self.h_y is not None else u.new_zeros(u.shape[0], u.shape[1] - 1)
            return u.unsqueeze(-1), None, hy.unsqueeze(-1), None
        b, nx, ny = u.shape
        hy = self.h_y if self.h_y is not None else u.new_zeros(b, nx - 1, ny)
        hx = self.h_x if self.h_x is not None else u.new_zeros(b, nx, ny - 1)
        u_y = self.u_y if self.u_y is not None else torch.zeros_like(u)
        return u, u_y, hy, hx

    @staticmethod
    def _from_internal(u, u_y, hy, hx) -> FieldState:
        if u_y is None:  # 1-D
            return FieldState(u=u.squeeze(-1), h_y=hy.squeeze(-1))
        return FieldState(u=u, h_y=hy, h_x=hx, u_y=u_y)


def _check_state(grid: Grid, state: Any) -> FieldState:
    if not isinstance(state, FieldState):
        raise ValueError(f"state must be a FieldState or None, got {type(state).__name__}")
    if state.shape != grid.shape:
        raise ValueError(
            f"state.u must have shape (batch, *grid.shape) = (batch, *{grid.shape}), got "
            f"{tuple(state.u.shape)}"
        )
    return state


def evolve(
    *,
    grid: Grid,
    state: FieldState | None = None,
    n_steps: int | None = None,
    sources: list[Any] | tuple[Any, ...] = (),
    signals: torch.Tensor | None = None,
    wave_speed: torch.Tensor | float | None = None,
    permittivity: torch.Tensor | float | None = None,
    damping: torch.Tensor | float | None = None,
    conductivity: torch.Tensor | float | None = None,
    speed_modulation: SpeedModulation | None = None,
    start_time: float = 0.0,
    reverse_modulation: bool = False,
) -> FieldState:
    r"""Run ``n_steps`` leapfrog steps of a linear medium from ``state`` (or from rest).

    The update is :func:`~wavebp.simulators.fdtd.simulate`'s (same kernels, same PML,
    sources and modulation): ``simulate`` from rest records ``u`` at the probes after each
    step, ``evolve`` returns the whole final state, so ``evolve`` of ``n`` steps, then of
    ``m`` more from the returned state (with ``start_time = n dt`` for a modulation),
    reproduces ``simulate`` of ``n + m`` steps to rounding. No gradient flows (the run is
    wrapped in ``torch.no_grad``); nonlinear media are not supported here.

    Args:
        grid: the grid (as :func:`simulate`).
        state: the initial :class:`FieldState` (``u^0``, ``h^{-1/2}``), batch-first with
            ``state.shape == grid.shape``; None = rest (then ``signals`` gives batch, dtype
            and device).
        n_steps: number of steps (>= 1); may be omitted when ``signals`` is given (then it
            must equal ``signals.shape[-1]``).
        sources: source objects (as :func:`simulate`).
        signals: source currents, shape ``(batch, len(sources), n_steps)``: the value at
            index ``m`` is injected during step ``m`` of this run (as :func:`simulate`);
            None = no sources. dtype/device/batch must match ``state``.
        wave_speed: wave speed map (m/s), shape ``grid.shape`` or scalar.
        permittivity: relative permittivity map (alternative to ``wave_speed``).
        damping: damping-rate map ``gamma`` (1/s).
        conductivity: conductivity map (S/m).
        speed_modulation: a :class:`SpeedModulation` or None.
        start_time: the modulation clock at the start of this run (s): step ``m`` uses
            ``eps_r(x, t_m)`` with ``t_m = start_time + (m + 1/2) dt`` (``simulate``:
            ``start_time = 0``). Ignored without ``speed_modulation``.
        reverse_modulation: run the modulation clock backwards, ``t_m = start_time -
            (m + 1/2) dt``: replaying a run of ``N`` steps from ``time_reverse`` of its
            final state with ``start_time = N dt`` retraces it exactly.

    Returns:
        The :class:`FieldState` after the last step (``u^{n_steps}``,
        ``h^{n_steps - 1/2}``), dtype/device of the input.

    Raises:
        ValueError: bad shapes or values, ``dt`` beyond the Courant limit, neither
        ``state`` nor ``signals``.
    """
    if state is None and signals is None:
        raise ValueError("give state (a FieldState) or signals (a tensor), got neither")
    if state is not None:
        state = _check_state(grid, state)
    if signals is not None and not isinstance(signals, torch.Tensor):
        raise ValueError(f"signals must be a tensor or None, got {type(signals).__name__}")
    if n_steps is None:
        if signals is None:
            raise ValueError("n_steps (steps, >= 1) is required when signals is None")
        n_steps = signals.shape[-1]
    n_steps = check_int("n_steps", n_steps, minimum=1)
    start_time = check_real("start_time", start_time, unit="s")
    if not isinstance(reverse_modulation, bool):
        raise ValueError(f"reverse_modulation must be a bool, got {reverse_modulation!r}")
    sources = list(sources)
    if signals is None:
        like = state.u
        signals = like.new_zeros(like.shape[0], len(sources), n_steps)
    else:
        if signals.dim() != 3 or signals.shape[-1] != n_steps:
            raise ValueError(
                f"signals must have shape (batch, n_sources, n_steps = {n_steps}), got "
                f"{tuple(signals.shape)}"
            )
        if state is not None and (
            signals.shape[0] != state.u.shape[0]
            or signals.dtype != state.u.dtype
            or signals.device != state.u.device
        ):
            raise ValueError(
                "signals must match state.u in batch, dtype and device "
                f"({state.u.shape[0]}, {state.u.dtype}, {state.u.device}), got "
                f"({signals.shape[0]}, {signals.dtype}, {signals.device})"
            )
    maps, st, _ = _checked_setup(
        grid,
        sources,
        signals,
        [_DummyProbe()],
        wave_speed,
        permittivity,
        damping,
        conductivity,
        None,
        None,
        1.0,
        1.0,
        speed_modulation=speed_modulation,
    )
    if st.mod is not None:
        st.mod.start = start_time / grid.dt
        st.mod.direction = -1.0 if reverse_modulation else 1.0
    init = state._internal() if state is not None else None
    with torch.no_grad():
        maps = tuple(m.detach() if m is not None else None for m in maps)
        _, f = _run_fast(st, maps, signals.detach(), st.src, None, final="kernel", init=init)
        return FieldState._from_internal(*f.state())


def time_reverse(state: FieldState, *, grid: Grid) -> FieldState:
    r"""The initial state of the time-reversed replay: ``(u^N, h^{N-1/2}) -> (u^N,
    -h^{N+1/2})``.

    ``h`` is advanced by its half step from ``u^N`` (the engine's H update, with the PML's
    coefficients; the medium does not enter it) and negated; ``u`` (and ``u_y``) are kept.
    In a lossless medium (no PML, no damping, no modulation or a reversed modulation clock,
    see :func:`evolve`) running the ordinary scheme from the result retraces the past:
    ``time_reverse(evolve(time_reverse(evolve(s, n)), n))`` returns ``s`` to rounding.
    No gradient.

    Args:
        state: a :class:`FieldState` with ``state.shape == grid.shape``.
        grid: the grid (for the PML coefficients of the H half step).

    Returns:
        The reversed :class:`FieldState`, dtype/device of ``state``.
    """
    state = _check_state(grid, state)
    u, u_y, hy, hx = state._internal()
    st = _make_setup(grid, [], [], u.dtype, u.device, False, 1.0)
    with torch.no_grad():
        f = _Fields(st, u.shape[0], u.dtype, u.device)
        f.load(u, u_y, hy, hx)
        f.h_step(u)
        hy = -f.hy
        hx = -f.hx if st.two_d else None
    return FieldState._from_internal(u.clone(), u_y.clone() if u_y is not None else None, hy, hx)
