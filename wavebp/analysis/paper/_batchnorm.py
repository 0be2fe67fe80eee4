r"""Experiment 4: BatchNorm as "impedance matching" (paper sec. 6).

Deep MLPs ``x_l = phi(BN(W_l x_{l-1}))`` (BN in training mode: batch statistics, affine
weight 1, bias 0, as at initialisation) versus the same without BN. The error wave
``delta_l = dL/dx_l`` for a random linear read-out of the last layer is measured with
autograd, and its per-layer energy gain is the least-squares slope of ``log ||delta_l||^2``
against ``l`` (middle layers). Yang et al. (ICLR 2019, "A mean field theory of batch
normalization") showed that at initialisation BN itself makes gradients explode
exponentially with depth, for any weight scale and nonlinearity (less so near the linear
regime).
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
    mean_ci,
)

__all__ = [
    "backward_gain_profile",
    "plot_batchnorm",
    "rule_bn_matches",
    "rule_bn_vs_plain",
    "run_batchnorm",
]

MATCH_TOL = 0.02  # |log energy gain| per layer counted as "matched" (2 % per layer)


def backward_gain_profile(
    *,
    activation: str,
    sigma_w: float,
    depth: int,
    width: int,
    batch: int,
    batchnorm: bool,
    generator: torch.Generator | None = None,
) -> np.ndarray:
    """``||dL/dx_l||^2`` for ``l = 1..depth`` of a random deep MLP at initialisation.

    Args:
        activation: ``"linear"``, ``"relu"`` or ``"tanh"``.
        sigma_w: weights ``N(0, sigma_w^2 / width)``.
        depth: number of layers.
        width: layer width (also the input width).
        batch: batch size (BN statistics are over the batch).
        batchnorm: normalise each pre-activation over the batch.
        generator: draws weights, inputs and the read-out.

    Returns:
        ``(depth,)`` squared error-wave norms (summed over the batch).
    """
    act = {"linear": lambda z: z, "relu": torch.relu, "tanh": torch.tanh}[activation]
    x = torch.randn(batch, width, generator=generator, dtype=torch.float64).requires_grad_(True)
    xs = []
    for _ in range(depth):
        w = torch.randn(width, width, generator=generator, dtype=torch.float64)
        h = x @ (w * (sigma_w / math.sqrt(width))).mT
        if batchnorm:
            h = (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)
        x = act(h)
        x.retain_grad()
        xs.append(x)
    u = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    (x * u).sum().backward()
    return np.array([float(t.grad.pow(2).sum()) for t in xs])


def _log_gain(profile: np.ndarray) -> float:
    """Per-layer log energy gain towards the input (fit over the middle layers)."""
    n = profile.size
    lo, hi = min(3, n // 4), max(n - 3, 3 * n // 4)
    l = np.arange(n)[lo:hi]
    return float(-np.polyfit(l, np.log(profile[lo:hi]), 1)[0])


def rule_bn_matches(ci_low: list[float], ci_high: list[float], *, tol: float = MATCH_TOL) -> str:
    """Verdict on "BatchNorm is impedance matching" (brings the backward gain to 1).

    Arguments: per configuration, the 95 % CI over seeds of BN's per-layer log energy gain.
    Supported if every CI lies inside ``[-tol, tol]`` (tol = 0.02: 2 % per layer, i.e. less
    than a factor 1.8 over 30 layers); refuted if any CI lies entirely outside it (BN itself
    makes the error wave grow or decay); otherwise inconclusive.
    """
    lo, hi = np.asarray(ci_low), np.asarray(ci_high)
    if np.all((lo >= -tol) & (hi <= tol)):
        return SUPPORTED
    if np.any((lo > tol) | (hi < -tol)):
        return REFUTED
    return INCONCLUSIVE


def rule_bn_vs_plain(diff_ci_low: list[float], diff_ci_high: list[float]) -> str:
    """Verdict on "BN reduces the inter-layer reflection compared with no BN".

    Arguments: per configuration, the 95 % CI over seeds of
    ``|log gain with BN| - |log gain without|``. Supported if every CI is below 0 (BN
    closer to matched everywhere); refuted if at least half are above 0; else inconclusive.
    """
    lo, hi = np.asarray(diff_ci_low), np.asarray(diff_ci_high)
    if np.all(hi < 0):
        return SUPPORTED
    if np.mean(lo > 0) >= 0.5:
        return REFUTED
    return INCONCLUSIVE


def run_batchnorm(*, fast: bool, generator: torch.Generator) -> ClaimResult:
    """Run experiment 4 (see the module docstring)."""
    depth = 30 if fast else 50
    width = 128 if fast else 256
    batch = 32 if fast else 64
    n_seeds = 3 if fast else 6
    configs = [
        ("linear", 1.0),
        ("relu", math.sqrt(2.0)),
        ("tanh", 1.0),
        ("tanh", 0.5),
        ("tanh", 3.0),
    ]
    rows, profiles = [], {}
    for act, sw in configs:
        gains = {True: [], False: []}
        for _ in range(n_seeds):
            for bn in (False, True):
                prof = backward_gain_profile(
                    activation=act,
                    sigma_w=sw,
                    depth=depth,
                    width=width,
                    batch=batch,
                    batchnorm=bn,
                    generator=generator,
                )
                gains[bn].append(_log_gain(prof))
                profiles.setdefault(f"{act}_{sw:g}_{'bn' if bn else 'plain'}", prof / prof[-1])
        m_bn, lo_bn, hi_bn = mean_ci(gains[True])
        m_pl, lo_pl, hi_pl = mean_ci(gains[False])
        diff = np.abs(gains[True]) - np.abs(gains[False])
        m_d, lo_d, hi_d = mean_ci(diff)
        rows.append(
            {
                "activation": act,
                "sigma_w": sw,
                "log_gain_bn": m_bn,
                "log_gain_bn_ci95": [lo_bn, hi_bn],
                "log_gain_plain": m_pl,
                "log_gain_plain_ci95": [lo_pl, hi_pl],
                "abs_diff": m_d,
                "abs_diff_ci95": [lo_d, hi_d],
            }
        )
    match = SubClaim(
        name="impedance_matching",
        claim="Sec. 6: BatchNorm is impedance matching that reduces inter-layer reflection.",
        test=(
            f"depth-{depth} width-{width} MLPs at initialisation, batch {batch}, {n_seeds} "
            f"seeds, (activation, sigma_w) in {[(a, round(s, 3)) for a, s in configs]}: "
            "per-layer log energy gain of the error wave with BN"
        ),
        rule=(
            f"supported if every 95% CI lies in [-{MATCH_TOL}, {MATCH_TOL}] (matched); "
            "refuted if any CI lies entirely outside (BN makes the wave grow or decay); "
            "else inconclusive"
        ),
        rule_source="rule_bn_matches",
        verdict=rule_bn_matches(
            [r["log_gain_bn_ci95"][0] for r in rows], [r["log_gain_bn_ci95"][1] for r in rows]
        ),
        numbers={
            "log_gain_bn": [r["log_gain_bn"] for r in rows],
            "ci95": [r["log_gain_bn_ci95"] for r in rows],
        },
    )
    versus = SubClaim(
        name="bn_vs_plain",
        claim="BN brings the error-wave gain closer to 1 than the same network without BN.",
        test="|log gain with BN| - |log gain without BN| per configuration",
        rule=(
            "supported if every 95% CI < 0; refuted if at least half the CIs > 0; else inconclusive"
        ),
        rule_source="rule_bn_vs_plain",
        verdict=rule_bn_vs_plain(
            [r["abs_diff_ci95"][0] for r in rows], [r["abs_diff_ci95"][1] for r in rows]
        ),
        numbers={
            "abs_diff": [r["abs_diff"] for r in rows],
            "ci95": [r["abs_diff_ci95"] for r in rows],
        },
    )
    yang = SubClaim(
        name="yang_explosion",
        claim=(
            "Yang et al. 2019 (published reference): with BN the gradient explodes at "
            "initialisation for every nonlinearity and weight scale."
        ),
        test="lower 95% CI bound of BN's per-layer log gain, per configuration",
        rule="supported if > 0 in every configuration; refuted if < 0 in any; else inconclusive",
        verdict=(
            SUPPORTED
            if all(r["log_gain_bn_ci95"][0] > 0 for r in rows)
            else REFUTED
            if any(r["log_gain_bn_ci95"][1] < 0 for r in rows)
            else INCONCLUSIVE
        ),
        numbers={"ci95_low": [r["log_gain_bn_ci95"][0] for r in rows]},
    )
    return ClaimResult(
        number=4,
        title="BatchNorm as impedance matching",
        headline="impedance_matching",
        sub_claims=(match, versus, yang),
        numbers={"rows": rows, "depth": depth, "width": width, "batch": batch},
        arrays={k: v for k, v in profiles.items()},
        notes=(
            "BN does make the gain nearly independent of sigma_w (the forward signal is "
            "renormalised every layer) -- a 'matching' of the forward wave -- but the "
            "backward wave picks up the gradient of the batch statistics, which grows it.",
        ),
    )


def plot_batchnorm(result: ClaimResult, path: str | Path) -> Path:
    """Error-wave energy vs layer, with and without BN, per configuration."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    ax = fig.subplots(1, 2, sharey=True)
    for i, (key, prof) in enumerate(sorted(result.arrays.items())):
        bn = key.endswith("_bn")
        name = key.rsplit("_", 1)[0]
        ax[1 if bn else 0].semilogy(
            np.arange(1, prof.size + 1), prof, label=name, color=f"C{i // 2}"
        )
    ax[0].set(xlabel="layer l", ylabel="||delta_l||^2 / ||delta_L||^2", title="without BatchNorm")
    ax[1].set(xlabel="layer l", title="with BatchNorm (at initialisation)")
    ax[0].legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
