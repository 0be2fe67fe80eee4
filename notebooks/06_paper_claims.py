# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 — The seed paper's claims, tested
#
# The seed paper (`shared/seed-paper.txt`, "Deriving Backpropagation from Wave Equations")
# reads a neural network as a layered wave medium: the forward pass is the steady state of
# a propagation equation (its eq. 1), the loss a boundary mismatch, backprop a reflected
# "error wave", and vanishing gradients, ResNets, BatchNorm and spectral bias get wave
# explanations; it ends with three "testable predictions". Here each claim becomes an
# experiment with a **verdict computed by a rule fixed in code** (`rule_*` in
# `wavebp.analysis.paper`): *supported*, *refuted* or *inconclusive*. Where the paper is
# vague we state the precise version tested. `wavebp paper` runs the same experiments and
# writes an HTML report.
#
# Run as a script; `WAVEBP_FAST=1` uses the small sizes of `wavebp paper --fast`; figures
# go to `$WAVEBP_FIG_DIR` (default `notebooks/_out`).

# %%
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch

from wavebp.analysis.paper import EXPERIMENTS, ClaimResult, experiment_generator

FAST = os.environ.get("WAVEBP_FAST", "0") not in ("0", "", "false")
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
SEED = 0
# The networks are tiny: one intra-op thread is fastest (more only adds contention).
torch.set_num_threads(1)
results: dict[int, ClaimResult] = {}
T0 = time.perf_counter()


def run_claim(number: int) -> ClaimResult:
    """Run experiment ``number``, save its figure, print its verdicts."""
    exp = EXPERIMENTS[number]
    start = time.perf_counter()
    result = exp.run(fast=FAST, generator=experiment_generator(SEED, number))
    path = exp.plot(result, FIG_DIR / f"06_claim{number}_{exp.slug}.png")
    print(
        f"claim {number} ({result.title}): {result.verdict.upper()} "
        f"[{time.perf_counter() - start:.1f} s] -> {path}"
    )
    for s in result.sub_claims:
        print(f"  {s.name:<32} {s.verdict:<12} rule: {s.rule}")
    for note in result.notes:
        print(f"  note: {note}")
    results[number] = result
    return result


# %% [markdown]
# ## 1. Equation (1) is a leaky integrator
#
# `dx_l/dt = sigma(W_l x_{l-1}) - gamma_l x_l`, integrated with fixed-step RK4 in float64
# for an MLP trained on digits. Its steady state is the forward pass (the paper's eq. 2);
# but its linearisation has every eigenvalue at `-gamma`, so a perturbation integrated
# backwards in time grows like `exp(gamma |t|)`: there is no time-reversal symmetry to
# make backprop "the time-reversed forward pass" (sec. 3.1).

# %%
r1 = run_claim(1)
print(
    "settling time (s), rows gamma =",
    r1.numbers["settling_gammas"],
    "columns depth =",
    r1.numbers["settling_depths"],
)
print(r1.numbers["settling_time_s"])

# %% [markdown]
# ## 2. Error-wave energy per layer
#
# The error wave of eq. (6) in wide random MLPs loses or gains energy per layer by the
# mean-field factor `chi = sigma_w^2 E[sigma'(h)^2]` (Poole et al. 2016, Schoenholz et al.
# 2017). The paper's passive-medium picture suggests the forward wave is absorbed as much
# as the backward one; the large-signal forward wave of a saturating network is not.

# %%
r2 = run_claim(2)

# %% [markdown]
# ## 3. ResNet as a bypass waveguide
#
# Unrolled, `n` residual blocks give `2^n` paths, `C(n, k)` of length `k` (Veit et al.
# 2016). Does the error wave prefer the short (bypass) paths? Does deleting one block
# hurt a ResNet less than a plain network? Two ResNets are compared: branches scaled by
# `1/sqrt(n)` (the usual choice without normalisation; headline) and energy-preserving
# "unit" branches, whose stream variance grows like `2^n`. The answer depends on that
# branch-to-skip gain, not on the skip connection alone.

# %%
r3 = run_claim(3)

# %% [markdown]
# ## 4. BatchNorm as impedance matching
#
# At initialisation BatchNorm re-normalises the forward wave every layer, but Yang et al.
# (ICLR 2019) showed it makes the *gradient* explode with depth whatever the weight scale
# or nonlinearity. "Impedance matching" is tested as: the per-layer gain of the error wave
# with BN is 1 within 2 %.

# %%
r4 = run_claim(4)

# %% [markdown]
# ## 5. Prediction 1: eigenmodes
#
# The modes of a trained network's (non-square) Jacobian are its right singular vectors,
# averaged over the data as the eigenvectors of the average gradient outer product. The
# paper predicts they align with the data's principal components. On a synthetic set whose
# label lives in a low-variance plane orthogonal to the top PCs, the two readings separate.

# %%
r5 = run_claim(5)

# %% [markdown]
# ## 6. Prediction 2: frequency response
#
# Spectral bias (Rahaman et al. 2019): an MLP fitting a sum of sines transmits the low
# frequencies first. The per-frequency residual is the paper's "impedance"; the NTK's gain
# per frequency orders the learning. The "flat response = good network" prediction is close
# to a tautology on a grid (Parseval).

# %%
r6 = run_claim(6)

# %% [markdown]
# ## 7. Prediction 3: harmonics
#
# A probe tone through a linear network has no harmonics (to round-off); the harmonic
# distortion rises with the leaky-ReLU nonlinearity strength `1 - alpha`, and so does the
# spiral accuracy at a fixed size and training budget. Note the function class itself does
# not change for any `alpha < 1`. The Kerr-like medium of the FDTD engine
# (`c(u) = c0 + c_nl u^2`) generates odd harmonics growing with the Kerr coefficient.

# %%
r7 = run_claim(7)

# %% [markdown]
# ## Summary

# %%
for n, r in sorted(results.items()):
    print(f"{n}. {r.title:<70} {r.verdict}")
print(f"total {time.perf_counter() - T0:.0f} s (fast={FAST})")
