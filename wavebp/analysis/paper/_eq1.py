r"""Experiment 1: the paper's equation (1) as a dynamical system.

Claims tested:

* ``steady_state`` (paper sec. 1.3): the steady state of eq. (1) with ``gamma = 1`` is the
  feed-forward pass. Integrated with RK4 in float64 for an MLP trained on digits.
* ``time_reversal`` (paper sec. 3.1, "many wave equations satisfy time-reversal symmetry",
  used to motivate backprop as a time-reversed forward pass): eq. (1) itself would have to
  be time-reversal symmetric. We integrate backwards in time from a perturbed steady state
  and fit the growth rate of the perturbation; eq. (1)'s linearisation has every eigenvalue
  equal to ``-gamma``, so we expect growth ``~ exp(+gamma |t|)`` instead of symmetry.

Also measured (a characterisation, no verdict): settling time versus depth and ``gamma``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from wavebp.analysis.paper._common import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    ClaimResult,
    SubClaim,
    digits_data,
    make_mlp,
    train_full_batch,
)
from wavebp.simulators.dynamics import integrate_leaky, settling_time, steady_state

__all__ = ["plot_eq1", "rule_steady_state", "rule_time_reversal", "run_eq1"]

STEADY_TOL = 1e-8
STEADY_FAIL = 1e-3


def rule_steady_state(max_error: float, *, tol: float = STEADY_TOL) -> str:
    """Verdict on "steady state of eq. (1) = forward pass".

    ``max_error`` is the largest absolute difference between the integrated output layer at
    the final time and the feed-forward output (both float64). Supported if
    ``max_error <= tol`` (1e-8: float64 RK4 converges to the exact fixed point, so only
    the exponentially small transient remains); refuted if ``> 1e-3`` (a real disagreement,
    far above any integration error); inconclusive in between.
    """
    if max_error <= tol:
        return SUPPORTED
    if max_error > STEADY_FAIL:
        return REFUTED
    return INCONCLUSIVE


def rule_time_reversal(growth_rate_over_gamma: list[float]) -> str:
    """Verdict on "eq. (1) is time-reversal symmetric".

    ``growth_rate_over_gamma`` holds, for each ``gamma`` tested, the fitted exponential
    growth rate of a small perturbation integrated backwards in time divided by ``gamma``.
    Under time-reversal symmetry the backward problem is as well behaved as the forward
    one (a perturbation that decays forward decays backward too), so the rate would be
    <= 0. Refuted if every ratio is >= 0.5 (exponential amplification at a rate comparable
    to the damping); supported if every ratio is <= 0.1; inconclusive otherwise.
    """
    r = np.asarray(growth_rate_over_gamma, dtype=np.float64)
    if r.size and np.all(r >= 0.5):
        return REFUTED
    if r.size and np.all(r <= 0.1):
        return SUPPORTED
    return INCONCLUSIVE


def _weights_of(model: torch.nn.Sequential) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    return (
        [m.weight.detach().to(torch.float64) for m in lins],
        [m.bias.detach().to(torch.float64) for m in lins],
    )


def _random_chain(depth: int, width: int, generator: torch.Generator) -> list[torch.Tensor]:
    return [
        torch.randn(width, width, generator=generator, dtype=torch.float64) / math.sqrt(width)
        for _ in range(depth)
    ]


def run_eq1(*, fast: bool, generator: torch.Generator) -> ClaimResult:
    """Run experiment 1 (see the module docstring).

    Args:
        fast: small sizes (a few seconds) instead of the full run.
        generator: seeds the data split, the initial weights and the perturbations.
    """
    # -- a trained MLP (digits, tanh hidden layers, linear read-out) -------------------------
    xtr, ytr, xte, _ = digits_data(generator=generator)
    sizes = [64, 32, 32, 10]
    model = make_mlp(sizes, activation="tanh", generator=generator)
    train_full_batch(model, xtr, ytr, steps=60 if fast else 300, lr=1e-2)
    weights, biases = _weights_of(model)
    acts = ["tanh", "tanh", "identity"]
    x0 = xte[: 32 if fast else 256].to(torch.float64)
    with torch.no_grad():
        forward = model.to(torch.float64)(x0)
    t_final, n_steps = 60.0, 600  # gamma = 1: transient ~ t^2 e^{-t} ~ 3e-23 at t = 60
    traj = integrate_leaky(
        x0,
        weights,
        biases=biases,
        gamma=1.0,
        activation=acts,
        t_final=t_final,
        n_steps=n_steps,
        record_every=10,
    )
    max_error = float((traj.final[-1] - forward).abs().max())
    ss = steady_state(x0, weights, biases=biases, gamma=1.0, activation=acts)
    layer_err = np.stack(
        [((s - t).flatten(1).abs().amax(1)).numpy() for s, t in zip(traj.states, ss, strict=True)]
    )  # (L, n_records)

    # -- backward integration: growth of a perturbation of the steady state -----------------
    gammas = [0.5, 1.0, 2.0]
    eps = 1e-9
    rates, curves = [], []
    for g in gammas:
        star = steady_state(x0, weights, biases=biases, gamma=g, activation=acts)
        pert = [s + eps * torch.randn(s.shape, generator=generator, dtype=s.dtype) for s in star]
        duration = 12.0 / g
        back = integrate_leaky(
            x0,
            weights,
            biases=biases,
            gamma=g,
            activation=acts,
            t_final=-duration,
            n_steps=300,
            initial_states=pert,
            record_every=5,
        )
        dev = (
            torch.stack(
                [
                    torch.linalg.vector_norm((s - t).flatten(1), dim=1)
                    for s, t in zip(back.states, star, strict=True)
                ]
            )
            .pow(2)
            .sum(0)
            .sqrt()
        )
        tau = (-back.times).numpy()
        logd = np.log(dev.numpy())
        half = tau >= tau[-1] / 2
        rate = float(np.polyfit(tau[half], logd[half], 1)[0])
        rates.append(rate)
        curves.append(np.stack([tau, dev.numpy()]))
    ratios = [r / g for r, g in zip(rates, gammas, strict=True)]
    # round-off alone: forward from rest to T, then backward to 0 from the computed x(T)
    t_rt = 30.0
    fwd = integrate_leaky(
        x0, weights, biases=biases, gamma=1.0, activation=acts, t_final=t_rt, n_steps=300
    )
    bwd = integrate_leaky(
        x0,
        weights,
        biases=biases,
        gamma=1.0,
        activation=acts,
        t_final=-t_rt,
        n_steps=300,
        initial_states=fwd.final,
    )
    roundtrip_error = float(max(s.abs().max() for s in bwd.final))

    # -- settling time vs depth and gamma (random tanh chains) ------------------------------
    depths = [1, 2, 4, 6] if fast else [1, 2, 4, 8, 12]
    settle_gammas = [0.5, 1.0, 2.0]
    width = 16
    xs = torch.randn(4 if fast else 16, width, generator=generator, dtype=torch.float64)
    settle = np.zeros((len(settle_gammas), len(depths)))
    for i, g in enumerate(settle_gammas):
        for j, depth in enumerate(depths):
            ws = _random_chain(depth, width, generator)
            t_end = (30.0 + 4.0 * depth) / g
            tr = integrate_leaky(
                xs,
                ws,
                gamma=g,
                activation="tanh",
                t_final=t_end,
                n_steps=round(t_end / (0.2 / g)),  # RK4 at gamma dt = 0.2: error ~1e-6 / step
            )
            settle[i, j] = settling_time(
                tr, steady_state(xs, ws, gamma=g, activation="tanh"), rtol=1e-6
            )
    slope_gamma = float(
        np.mean(
            [
                np.polyfit(np.log(settle_gammas), np.log(settle[:, j]), 1)[0]
                for j in range(len(depths))
            ]
        )
    )
    slope_depth = float(
        np.mean(
            [
                np.polyfit(depths, settle[i], 1)[0] * settle_gammas[i]
                for i in range(len(settle_gammas))
            ]
        )
    )

    steady = SubClaim(
        name="steady_state",
        claim="The steady state of eq. (1) with gamma = 1 is the feed-forward pass (eq. 2).",
        test=(
            f"RK4 (float64, dt = {t_final / n_steps:g}) from rest to t = {t_final:g} for a "
            f"{sizes} tanh MLP trained on digits; max |x_L(t_end) - forward(x)| over "
            f"{x0.shape[0]} test digits."
        ),
        rule="supported if max error <= 1e-8, refuted if > 1e-3, otherwise inconclusive",
        rule_source="rule_steady_state",
        verdict=rule_steady_state(max_error),
        numbers={"max_abs_error": max_error, "t_final_s": t_final, "n_steps": n_steps},
    )
    reversal = SubClaim(
        name="time_reversal",
        claim=(
            "Sec. 3.1: the forward dynamics are (like many wave equations) time-reversal "
            "symmetric, so backprop is a time-reversed forward pass."
        ),
        test=(
            f"perturb the steady state by {eps:g} (Gaussian) and integrate eq. (1) backwards "
            "for 12/gamma; fit the growth rate of the perturbation norm over the second "
            f"half, for gamma = {gammas} 1/s"
        ),
        rule=(
            "refuted if growth rate / gamma >= 0.5 for every gamma (backward amplification "
            "where forward decays), supported if <= 0.1 for every gamma, else inconclusive"
        ),
        rule_source="rule_time_reversal",
        verdict=rule_time_reversal(ratios),
        numbers={
            "gammas": gammas,
            "growth_rates": rates,
            "growth_rate_over_gamma": ratios,
            "roundtrip_t_s": t_rt,
            "roundtrip_error_of_x0": roundtrip_error,
        },
    )
    return ClaimResult(
        number=1,
        title="Equation (1): steady state, time reversal, settling time",
        headline="steady_state",
        sub_claims=(steady, reversal),
        numbers={
            "settling_depths": depths,
            "settling_gammas": settle_gammas,
            "settling_time_s": settle.tolist(),
            "settling_rtol": 1e-6,
            "fit_dlog_t_dlog_gamma": slope_gamma,
            "fit_gamma_dt_ddepth": slope_depth,
        },
        arrays={
            "forward_times": traj.times.numpy(),
            "forward_layer_error": layer_err,
            "backward_curves": np.stack(curves),
            "settling_time": settle,
        },
        notes=(
            "Eq. (1) is a first-order relaxation (leaky integrator), not a wave equation: its "
            "linearisation is lower block-triangular with all eigenvalues -gamma_l, so "
            "perturbations decay as poly(t) exp(-gamma t) forward and grow as exp(+gamma t) "
            "backward. Backprop is the transpose of the steady-state Jacobian, not a "
            "time-reversed solution of eq. (1).",
            f"Settling time to 1e-6 scales as gamma^{slope_gamma:.2f} (expected -1) and grows "
            f"by {slope_depth:.2f}/gamma s per layer (a physical eq.-(1) machine needs time "
            "proportional to depth).",
            "gamma != 1 rescales layer l by 1/gamma_l; this can be absorbed into W_{l+1}, "
            "but the output keeps a factor 1/gamma_L.",
        ),
    )


def plot_eq1(result: ClaimResult, path: str | Path) -> Path:
    """Three panels: forward relaxation per layer, settling time, backward blow-up."""
    from matplotlib.figure import Figure

    a = result.arrays
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    ax = fig.subplots(1, 3)
    for l, err in enumerate(a["forward_layer_error"]):
        ax[0].semilogy(a["forward_times"], np.maximum(err, 1e-300), label=f"layer {l + 1}")
    ax[0].axhline(STEADY_TOL, color="k", ls=":", label="1e-8")
    ax[0].set(
        xlabel="t (s)", ylabel="max |x_l(t) - x_l*|", title="forward: relaxation", ylim=(1e-20, 10)
    )
    ax[0].legend(fontsize=8)
    n = result.numbers
    for g, row in zip(n["settling_gammas"], a["settling_time"], strict=True):
        ax[1].plot(n["settling_depths"], row, "o-", label=f"gamma = {g:g} 1/s")
    ax[1].set(xlabel="depth L", ylabel="settling time to 1e-6 (s)", title="settling time")
    ax[1].legend(fontsize=8)
    sub = next(s for s in result.sub_claims if s.name == "time_reversal").numbers
    for g, (tau, dev) in zip(sub["gammas"], a["backward_curves"], strict=True):
        line = ax[2].semilogy(tau, dev, label=f"gamma = {g:g}")[0]
        ax[2].semilogy(tau, dev[-1] * np.exp(g * (tau - tau[-1])), ls=":", color=line.get_color())
    ax[2].set(
        xlabel="backward time |t| (s)",
        ylabel="|perturbation|",
        title="backward in time (dotted: ~e^{gamma|t|})",
    )
    ax[2].legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
