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
# # 05 — Reciprocity and time reversal: when is the backward wave the gradient?
#
# A linear device maps input fields to output fields, `y = U x`. Backpropagation of a loss
# `L(y)` needs the vector-Jacobian product `dL/dx* = U^H dL/dy*` with `U^H = conj(U^T)`.
# What hardware can do is send light **backwards** through the same device — and by Lorentz
# reciprocity the backward light sees `U^T`, *not* `U^H`. The gap is closed by **phase
# conjugation**: inject `conj(e)` at the outputs, read `U^T conj(e)` at the inputs and
# conjugate it, `conj(U^T conj(e)) = U^H e`. That trick needs `U_back = U^T`, i.e. a
# reciprocal device. A Faraday rotator, a travelling-wave modulation or a magneto-optic
# material breaks it, and the "physical gradient" stops being the gradient.
#
# Time reversal is the same statement for the whole state: a lossless reciprocal device
# returns any input after a phase-conjugated round trip (`conj(S) S = S^H S = I`); loss
# makes the return fade at a rate we can predict, non-reciprocity scrambles it.
#
# Run as a script; `WAVEBP_FAST=1` uses the fast setting of `wavebp reciprocity --fast`;
# figures go to `$WAVEBP_FIG_DIR` (default `notebooks/_out`).

# %%
import math
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import torch

from wavebp.analysis.reciprocity import (
    ReciprocityConfig,
    format_table,
    plot_reciprocity,
    reciprocity_rows,
    time_reversal_sweeps,
)
from wavebp.photonic import Mesh, MeshImperfections

FAST = os.environ.get("WAVEBP_FAST", "0") not in ("0", "", "false")
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # small problems: extra threads only add contention
T0 = time.perf_counter()
generator = torch.Generator().manual_seed(5)
print(f"fast mode: {FAST}, figures in {FIG_DIR}")

# %% [markdown]
# ## 1. Backward light sees `U^T`; backprop needs `U^H`
#
# A 4-port Clements mesh in complex128. `backward_matrix()` propagates light from the
# outputs to the inputs through the physical device.

# %%
mesh = Mesh(4, dtype=torch.complex128, generator=generator)
with torch.no_grad():
    U, U_back = mesh.matrix(), mesh.backward_matrix()


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


print(f"||U_back - U^T|| / ||U||  = {rel(U_back, U.mT):.1e}   (reciprocity)")
print(f"||U_back - U^H|| / ||U||  = {rel(U_back, U.mH):.2f}      (backward light is not U^H)")
assert rel(U_back, U.mT) < 1e-12 and rel(U_back, U.mH) > 0.1

# %% [markdown]
# The gradient of `L = ||y - t||^2` with respect to `conj(x)` is `U^H e` with `e = y - t`.
# Three ways to get it from the device:

# %%
x = torch.randn(4, dtype=torch.complex128, generator=generator)
target = torch.randn(4, dtype=torch.complex128, generator=generator)
e = U @ x - target
exact = U.mH @ e  # what backprop needs
plain = U_back @ e  # send the error backwards as it is
conjugated = (U_back @ e.conj()).conj()  # phase-conjugate in and out
print(f"backward, no conjugation : error {rel(plain, exact):.2f}")
print(f"backward, phase-conjugated: error {rel(conjugated, exact):.1e}")
assert rel(conjugated, exact) < 1e-12 and rel(plain, exact) > 0.1

# %% [markdown]
# Now put a Faraday-type element (phase `+psi` forward, `-psi` backward) on the first
# column's MZIs. The device stays lossless — `U` is still unitary — but it is no longer
# reciprocal, and phase conjugation no longer produces `U^H e`.

# %%
faraday = Mesh(
    4,
    dtype=torch.complex128,
    generator=torch.Generator().manual_seed(5),
    imperfections=MeshImperfections(nonreciprocal_phase=math.pi / 2, nonreciprocal_mzis=(0, 1)),
)
with torch.no_grad():
    Uf, Uf_back = faraday.matrix(), faraday.backward_matrix()
ef = Uf @ x - target
unitarity = float((Uf.mH @ Uf - torch.eye(4, dtype=Uf.dtype)).norm())
wrong = rel((Uf_back @ ef.conj()).conj(), Uf.mH @ ef)
print(
    f"Faraday mesh: ||U^H U - I|| = {unitarity:.1e}, ||U_back - U^T|| / ||U|| = "
    f"{rel(Uf_back, Uf.mT):.2f}, phase-conjugated gradient error = {wrong:.2f}"
)
assert unitarity < 1e-12 and wrong > 0.1

# %% [markdown]
# ## 2. Every engine, reciprocal and not
#
# `reciprocity_rows` runs the examples of `wavebp reciprocity`: the mesh (lossless, lossy,
# Faraday), optical TMM stacks (s and p at oblique incidence, lossless and absorbing), an
# acoustic stack, and the FDTD (1-D and 2-D, lossless, damped, and a travelling-wave
# permittivity modulation `eps(x, t) = eps(x)(1 + depth cos(2 pi f t - k x))`). Per row:
# reciprocity residual, unitarity residual (lossless rows), time-reversal error, the
# physical gradient's cosine error against autograd, and a verdict by the stated rule.
# Meep (a gyrotropic slab) runs in a child process and is left out in fast mode.

# %%
engines = ("mesh", "tmm", "fdtd") if FAST else ("mesh", "tmm", "fdtd", "meep")
config = ReciprocityConfig(engines=engines, fast=FAST)
rows = reciprocity_rows(config)
sweeps = time_reversal_sweeps(config)
print(format_table(rows))
print()
print("rule:", rows[0].rule)
for r in rows:
    assert r.as_expected, (r.engine, r.example, r.verdict, r.expected)

# %% [markdown]
# Reading the table:
#
# * **Reciprocal and lossless** (lossless mesh, TMM stacks, the FDTD in a closed box):
#   every residual sits at float64 rounding, the round trip returns the state, and the
#   physical gradient *is* the gradient.
# * **Reciprocal but lossy** (lossy mesh, damped FDTD, absorbing TMM stack): `S = S^T`
#   still holds — loss does not break reciprocity — but time reversal fades and the
#   in-situ gradient departs (the TMM adjoint is computed, not replayed, so it stays exact).
#   An open boundary (PML) acts the same way on time reversal: what left does not return.
# * **Non-reciprocal** (Faraday mesh, modulated FDTD, gyrotropic Meep slab): a residual of
#   order one and a physical gradient that points elsewhere (cosine error > 0.1), even
#   where the device is lossless. For the modulated medium the replay is exact again only
#   if the modulation itself is run backwards in time (`details`), which hardware replay
#   does not do.

# %%
for r in rows:
    if r.engine == "fdtd" and "modulation" in r.example:
        print(
            f"{r.example}: time-reversal error with the drive reversed (closed box) = "
            f"{r.details['time_reversal_error_closed_box_reversed_drive']:.1e}"
        )

# %% [markdown]
# ## 3. Time reversal against loss: the rates
#
# Mesh: with `L` dB per MZI a phase-conjugated round trip returns the power
# `10^(-2 L D / 10)` to first order, `D = N - 1` the mean number of MZIs a port's light
# crosses (exact for one MZI). FDTD in a closed box with a uniform damping rate `gamma`:
# the energy decays as `exp(-gamma t)`, so after a replay of duration `T` (`2T` in all) the
# returned field is `exp(-gamma T)` of the original and the error `1 - exp(-gamma T)`.

# %%
m = sweeps["mesh"]
for loss, p, pa in zip(m["loss_db"], m["return_power"], m["return_power_analytic"], strict=True):
    print(f"mesh {loss:5.2f} dB/MZI: returned power {p:.4f}  (analytic {pa:.4f})")
f = sweeps["fdtd"]
for g, err, ea in zip(
    f["damping"], f["time_reversal_error"], f["time_reversal_error_analytic"], strict=True
):
    print(f"fdtd gamma = {g:.0e} /s: time-reversal error {err:.3e}  (1 - exp(-gamma T) = {ea:.3e})")
    assert abs(err - ea) <= 1e-2 * max(ea, 1e-12) + 1e-10

path = plot_reciprocity(rows, sweeps, FIG_DIR / "05_reciprocity.png")
print(f"figure: {path}")

# %% [markdown]
# ## Summary
#
# Backward light sees `U^T`; backprop needs `U^H`; phase conjugation turns one into the
# other exactly when the device is reciprocal. Loss keeps reciprocity but spoils time
# reversal (at the rates above) and biases the in-situ gradient a little; a non-reciprocal
# element breaks both outright. `wavebp reciprocity --fast` prints this table and writes
# it, with the figure, to a run folder.

# %%
print(f"notebook 05 done in {time.perf_counter() - T0:.1f} s (fast={FAST})")
