r"""Forward field, time-reversed adjoint field and their overlap for a :class:`WaveRNN`.

The gradient of the loss with respect to the wave speed is an overlap of two physical
fields (Hughes et al. 2019, Fig. 2): the forward field ``u(x, t)`` and the adjoint field
``lambda(x, t)``, which obeys the same wave equation driven, backwards in time, by
``dL/du`` at the probes. In a linear, reciprocal medium the adjoint field is a *physical*
simulation: inject the time-reversed residual ``dL/du_k(T - t)`` at each probe ``k`` and
record the field ``v(x, t')``; then ``lambda(x, t) = v(x, T - t)`` (up to the constant set
by the source normalisation). With the engine's update ``u^{n+1} = u^n + courant *
(c/c_ref)^2 * (curl h - J)``, the sensitivity to ``eps_inv = (c / c_ref)^2`` is
``sum_n lambda^n (u^n - u^{n-1}) / eps_inv`` and ``dL/dc = dL/d eps_inv * 2 c / c_ref^2``.

:func:`wave_rnn_gradient_fields` runs both simulations, forms the overlap, and compares it
with the exact gradient by autograd: the overlap is reported after a least-squares scale
fit (one number for the whole map, absorbing the source normalisation and sign), and the
Pearson correlation of the two maps over the design region says how well the physical
replay reproduces the gradient's shape.
"""

from __future__ import annotations

import torch

from wavebp._core import check_int
from wavebp.acoustic._wave_rnn import WaveRNN, wave_rnn_loss
from wavebp.simulators.fdtd import PointSource, field_snapshots, simulate

__all__ = ["wave_rnn_gradient_fields"]


def wave_rnn_gradient_fields(
    model: WaveRNN, waveform: torch.Tensor, label: int
) -> dict[str, torch.Tensor | float]:
    r"""Forward field, time-reversed adjoint field and their overlap (the gradient).

    Linear medium only (the replay is a linear simulation in the trained medium).

    Args:
        model: a wave-RNN with ``config.medium == "linear"``.
        waveform: one input signal, shape ``(n_steps,)``.
        label: the true class of ``waveform``.

    Returns:
        A dict with ``forward`` (``u`` after each step, shape ``(n_steps, nx, ny)``),
        ``adjoint`` (``lambda`` aligned with ``forward`` in time, i.e. the replayed field
        reversed, same shape), ``overlap`` (``dL/dc`` from the two fields after the scale
        fit, nats per m/s, shape ``(nx, ny)``), ``exact`` (``dL/dc`` by autograd, same
        shape), ``scale`` (the fitted factor), ``correlation`` (Pearson, design region),
        ``loss`` (nats) and ``residual`` (``dL/du`` at the probes, shape
        ``(n_classes, n_steps)``).
    """
    cfg = model.config
    if cfg.medium != "linear":
        raise ValueError(
            f"model.config.medium must be 'linear' for the physical replay, got {cfg.medium!r}"
        )
    label = check_int("label", label, minimum=0, maximum=cfg.n_classes - 1)
    signals = model._signals(waveform.reshape(1, -1))
    speed = model.wave_speed().detach().clone().requires_grad_(True)
    traces = simulate(
        grid=model.grid, sources=model.sources, signals=signals, probes=model.probes,
        wave_speed=speed, gradient="autograd",
    )  # fmt: skip
    traces_leaf = traces.detach().requires_grad_(True)
    energies = traces_leaf.square().sum(dim=-1) * cfg.dt
    labels = torch.tensor([label], device=signals.device)
    loss = wave_rnn_loss(energies, labels)
    (residual,) = torch.autograd.grad(loss, traces_leaf)
    (exact,) = torch.autograd.grad(traces, speed, grad_outputs=residual)

    forward = field_snapshots(
        grid=model.grid, sources=model.sources, signals=signals, every=1,
        wave_speed=speed.detach(),
    )[0]  # fmt: skip
    probes_as_sources = [PointSource(position=p.position) for p in model.probes]
    replay = field_snapshots(
        grid=model.grid, sources=probes_as_sources, signals=residual.flip(-1), every=1,
        wave_speed=speed.detach(),
    )[0]  # fmt: skip
    adjoint = replay.flip(0)
    eps_inv = (speed.detach() / model.grid.c_ref) ** 2
    du = forward - torch.cat([forward[:1].mul(0), forward[:-1]])
    raw = (adjoint * du).sum(dim=0) / eps_inv * (2.0 * speed.detach() / model.grid.c_ref**2)
    design = model._embed(torch.ones_like(model.theta)).detach() > 0
    a, b = raw[design], exact[design]
    scale = float((a * b).sum() / (a * a).sum().clamp_min(torch.finfo(a.dtype).tiny))
    ac, bc = a - a.mean(), b - b.mean()
    # correlation of the *scaled* overlap with the exact map (the fit absorbs the sign)
    sign = 1.0 if scale >= 0 else -1.0
    corr = sign * float((ac * bc).sum() / ((ac.norm() * bc.norm()).clamp_min(1e-300)))
    return {
        "forward": forward,
        "adjoint": adjoint,
        "overlap": scale * raw,
        "exact": exact.detach(),
        "scale": scale,
        "correlation": corr,
        "loss": float(loss.detach()),
        "residual": residual[0],
    }
