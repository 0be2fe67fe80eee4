r"""The seed paper's equation (1): a chain of leaky integrators.

.. math::

    \frac{d x_l}{dt} = \sigma_l(W_l x_{l-1} + b_l) - \gamma_l x_l, \qquad l = 1, \dots, L,

with the input ``x_0`` held fixed. Despite the paper's wording this is a first-order,
dissipative relaxation equation, not a wave equation: its linearisation about the steady
state is block lower-triangular with every eigenvalue equal to ``-gamma_l``, so forward in
time every perturbation decays like ``exp(-gamma_l t)`` (times a polynomial from the
inter-layer coupling) and backward in time it grows like ``exp(+gamma_l t)``. There is no
time-reversal symmetry. The steady state is ``x_l = sigma_l(W_l x_{l-1} + b_l) / gamma_l``,
which for ``gamma_l = 1`` is the feed-forward pass.

Conventions: states are batch-first, ``x_l`` of shape ``(batch, n_l)``; ``W_l`` has shape
``(n_l, n_{l-1})`` so the pre-activation is ``x_{l-1} @ W_l.T + b_l``. Time ``t`` is in
seconds and ``gamma`` in 1/s (the equation has no intrinsic scale; any consistent unit
works). Integration is classical fixed-step fourth-order Runge--Kutta in the dtype of
``x0`` (use float64 for the 1e-8 checks); a negative ``t_final`` integrates backwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from wavebp._core import check_choice, check_finite, check_int, check_real

__all__ = [
    "ACTIVATIONS",
    "LeakyTrajectory",
    "activation_function",
    "integrate_leaky",
    "leaky_rhs",
    "settling_time",
    "steady_state",
]

ACTIVATIONS = ("identity", "tanh", "sigmoid", "relu", "leaky_relu")


def activation_function(
    name: str, *, negative_slope: float = 0.01
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The elementwise nonlinearity ``sigma`` called ``name``.

    Args:
        name: one of :data:`ACTIVATIONS`.
        negative_slope: slope of ``"leaky_relu"`` for negative input (dimensionless, >= 0).

    Returns:
        A function mapping a tensor to a tensor of the same shape.
    """
    check_choice("activation", name, ACTIVATIONS)
    check_real("negative_slope", negative_slope, low=0.0)
    if name == "identity":
        return lambda z: z
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "relu":
        return torch.relu
    slope = float(negative_slope)
    return lambda z: torch.nn.functional.leaky_relu(z, slope)


def _per_layer(name: str, value: object, n_layers: int) -> list:
    if isinstance(value, str | int | float):
        return [value] * n_layers
    values = list(value)  # type: ignore[call-overload]
    if len(values) != n_layers:
        raise ValueError(
            f"{name} must be a scalar or a sequence of length {n_layers} (one per layer), "
            f"got length {len(values)}"
        )
    return values


def _prepare(
    x0: torch.Tensor,
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor | None] | None,
    gamma: float | Sequence[float],
    activation: str | Sequence[str],
    negative_slope: float,
) -> tuple[list[torch.Tensor], list[torch.Tensor | None], list[float], list[Callable]]:
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (batch, n_0), got shape {tuple(x0.shape)}")
    n_layers = len(weights)
    check_int("len(weights)", n_layers, minimum=1)
    ws = [w.to(dtype=x0.dtype, device=x0.device) for w in weights]
    width = x0.shape[1]
    for l, w in enumerate(ws):
        if w.ndim != 2 or w.shape[1] != width:
            raise ValueError(
                f"weights[{l}] must have shape (n_{l + 1}, {width}), got {tuple(w.shape)}"
            )
        width = w.shape[0]
    bs = [None] * n_layers if biases is None else list(biases)
    if len(bs) != n_layers:
        raise ValueError(f"biases must have {n_layers} entries, got {len(bs)}")
    bs = [None if b is None else b.to(dtype=x0.dtype, device=x0.device) for b in bs]
    gs = [
        check_real(f"gamma[{l}]", g, low=0.0, low_inclusive=False, unit="1/s")
        for l, g in enumerate(_per_layer("gamma", gamma, n_layers))
    ]
    acts = [
        activation_function(a, negative_slope=negative_slope)
        for a in _per_layer("activation", activation, n_layers)
    ]
    return ws, bs, gs, acts


def _drive(
    x_prev: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, act: Callable
) -> torch.Tensor:
    z = x_prev @ w.mT
    if b is not None:
        z = z + b
    return act(z)


def leaky_rhs(
    states: Sequence[torch.Tensor],
    x0: torch.Tensor,
    weights: Sequence[torch.Tensor],
    *,
    biases: Sequence[torch.Tensor | None] | None = None,
    gamma: float | Sequence[float] = 1.0,
    activation: str | Sequence[str] = "tanh",
    negative_slope: float = 0.01,
) -> list[torch.Tensor]:
    r"""The right-hand side of eq. (1): ``dx_l/dt = sigma(W_l x_{l-1} + b_l) - gamma_l x_l``.

    Args:
        states: ``L`` tensors ``x_l`` of shape ``(batch, n_l)`` (layers 1..L).
        x0: the fixed input ``(batch, n_0)``.
        weights: ``L`` matrices ``W_l`` of shape ``(n_l, n_{l-1})``.
        biases: ``L`` vectors ``(n_l,)`` or ``None`` entries (``None``: no biases).
        gamma: damping rate ``gamma_l`` in 1/s, one number or one per layer, > 0.
        activation: name of ``sigma`` (one for all layers or one per layer).
        negative_slope: slope of ``"leaky_relu"`` for negative input.

    Returns:
        ``L`` tensors ``dx_l/dt`` in units of ``x`` per second.
    """
    ws, bs, gs, acts = _prepare(x0, weights, biases, gamma, activation, negative_slope)
    return _rhs(states, x0, ws, bs, gs, acts)


def _rhs(states, x0, ws, bs, gs, acts) -> list[torch.Tensor]:
    out = []
    prev = x0
    for x, w, b, g, act in zip(states, ws, bs, gs, acts, strict=True):
        out.append(_drive(prev, w, b, act) - g * x)
        prev = x
    return out


def steady_state(
    x0: torch.Tensor,
    weights: Sequence[torch.Tensor],
    *,
    biases: Sequence[torch.Tensor | None] | None = None,
    gamma: float | Sequence[float] = 1.0,
    activation: str | Sequence[str] = "tanh",
    negative_slope: float = 0.01,
) -> tuple[torch.Tensor, ...]:
    r"""The unique fixed point of eq. (1): ``x_l = sigma(W_l x_{l-1} + b_l) / gamma_l``.

    Same arguments as :func:`leaky_rhs` (without ``states``). With ``gamma = 1`` this is the
    ordinary feed-forward pass, layer by layer.

    Returns:
        ``L`` tensors ``(batch, n_l)``.
    """
    ws, bs, gs, acts = _prepare(x0, weights, biases, gamma, activation, negative_slope)
    out = []
    prev = x0
    for w, b, g, act in zip(ws, bs, gs, acts, strict=True):
        prev = _drive(prev, w, b, act) / g
        out.append(prev)
    return tuple(out)


@dataclass(frozen=True)
class LeakyTrajectory:
    """A solution of eq. (1) sampled at the recorded times.

    Attributes:
        times: ``(n_records,)`` times in s (decreasing for backward integration).
        states: ``L`` tensors ``(n_records, batch, n_l)``, the states at ``times``.
    """

    times: torch.Tensor
    states: tuple[torch.Tensor, ...]

    @property
    def final(self) -> tuple[torch.Tensor, ...]:
        """The states at the last recorded time, ``L`` tensors ``(batch, n_l)``."""
        return tuple(s[-1] for s in self.states)


def integrate_leaky(
    x0: torch.Tensor,
    weights: Sequence[torch.Tensor],
    *,
    biases: Sequence[torch.Tensor | None] | None = None,
    gamma: float | Sequence[float] = 1.0,
    activation: str | Sequence[str] = "tanh",
    negative_slope: float = 0.01,
    t_final: float,
    n_steps: int,
    initial_states: Sequence[torch.Tensor] | None = None,
    record_every: int = 1,
) -> LeakyTrajectory:
    r"""Integrate eq. (1) from ``t = 0`` to ``t_final`` with fixed-step RK4.

    Args:
        x0: the input held fixed, ``(batch, n_0)``; its dtype and device are used throughout.
        weights: ``L`` matrices ``(n_l, n_{l-1})``.
        biases: ``L`` vectors ``(n_l,)`` (or ``None``).
        gamma: damping rate in 1/s (> 0), one or one per layer.
        activation: name(s) of ``sigma`` from :data:`ACTIVATIONS`.
        negative_slope: slope of ``"leaky_relu"`` for negative input.
        t_final: end time in s; negative integrates backwards in time (unstable: every
            perturbation grows like ``exp(gamma |t|)``).
        n_steps: number of RK4 steps (``dt = t_final / n_steps``), >= 1.
        initial_states: ``L`` tensors ``(batch, n_l)`` at ``t = 0``; default all zeros
            (the medium at rest).
        record_every: record the state every this many steps (and always at the end).

    Returns:
        A :class:`LeakyTrajectory` starting with the initial state.
    """
    ws, bs, gs, acts = _prepare(x0, weights, biases, gamma, activation, negative_slope)
    check_real("t_final", t_final, unit="s")
    if t_final == 0.0:
        raise ValueError("t_final must be a nonzero time in s, got 0.0")
    check_int("n_steps", n_steps, minimum=1)
    check_int("record_every", record_every, minimum=1)
    if initial_states is None:
        xs = [x0.new_zeros(x0.shape[0], w.shape[0]) for w in ws]
    else:
        xs = [s.to(dtype=x0.dtype, device=x0.device).clone() for s in initial_states]
        if len(xs) != len(ws) or any(
            s.shape != (x0.shape[0], w.shape[0]) for s, w in zip(xs, ws, strict=True)
        ):
            raise ValueError(
                "initial_states must hold one (batch, n_l) tensor per layer, got shapes "
                f"{[tuple(s.shape) for s in xs]}"
            )
    dt = float(t_final) / n_steps
    times = [0.0]
    records = [[x.clone()] for x in xs]
    for step in range(1, n_steps + 1):
        k1 = _rhs(xs, x0, ws, bs, gs, acts)
        k2 = _rhs([x + 0.5 * dt * k for x, k in zip(xs, k1, strict=True)], x0, ws, bs, gs, acts)
        k3 = _rhs([x + 0.5 * dt * k for x, k in zip(xs, k2, strict=True)], x0, ws, bs, gs, acts)
        k4 = _rhs([x + dt * k for x, k in zip(xs, k3, strict=True)], x0, ws, bs, gs, acts)
        xs = [
            x + (dt / 6.0) * (a + 2.0 * b + 2.0 * c + d)
            for x, a, b, c, d in zip(xs, k1, k2, k3, k4, strict=True)
        ]
        if step % record_every == 0 or step == n_steps:
            times.append(step * dt)
            for r, x in zip(records, xs, strict=True):
                r.append(x.clone())
    return LeakyTrajectory(
        times=torch.tensor(times, dtype=x0.dtype, device=x0.device),
        states=tuple(torch.stack(r) for r in records),
    )


def settling_time(
    trajectory: LeakyTrajectory,
    target: Sequence[torch.Tensor],
    *,
    rtol: float = 1e-6,
) -> float:
    r"""First recorded time after which every layer stays within ``rtol`` of ``target``.

    The error at time ``t`` is ``max_l ||x_l(t) - x_l^*||_F / ||x_l^*||_F``.

    Args:
        trajectory: a forward solution from :func:`integrate_leaky`.
        target: ``L`` steady states ``(batch, n_l)``, e.g. from :func:`steady_state`.
        rtol: relative tolerance (dimensionless, in (0, 1)).

    Returns:
        The settling time in s, or ``inf`` if the trajectory never settles.
    """
    check_real("rtol", rtol, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    errors = torch.stack(
        [
            torch.linalg.vector_norm((s - t).flatten(1), dim=1)
            / torch.linalg.vector_norm(t).clamp_min(torch.finfo(t.dtype).tiny)
            for s, t in zip(trajectory.states, target, strict=True)
        ]
    ).amax(0)
    check_finite("trajectory error", errors[-1:])
    above = torch.nonzero(errors > rtol).flatten()
    if above.numel() == 0:
        return float(trajectory.times[0])
    last = int(above[-1])
    if last == errors.numel() - 1:
        return math.inf
    return float(trajectory.times[last + 1])
