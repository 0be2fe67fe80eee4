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
# # 03 — Layered media: a network as a thin-film stack, trained by its adjoint field
#
# The seed paper pictures a network as "N layers of waveguide media", the loss as the
# reflection from a mismatched output boundary and backpropagation as the reflected
# ("error") wave. Here the picture is taken literally: a multilayer thin film *is* the
# network, its layer thicknesses are the weights, and the gradient comes from the forward
# field and the adjoint field (the field injected back from the output ports) inside each
# layer (`wavebp.simulators.tmm`, `gradient="adjoint"`).
#
# 1. the engine against closed forms (Bragg mirror) and the standing wave inside a stack;
# 2. inverse design of a dichroic filter (reflect blue, transmit red) with a trainable
#    `ThinFilmStack`;
# 3. the paper's vocabulary checked against the numbers: where "reflection = loss",
#    "backprop = reflected wave" and "vanishing gradient = absorption" hold, and where not.
#
# Run as a script; `WAVEBP_FAST=1` uses fewer wavelengths and iterations, figures go to
# `$WAVEBP_FIG_DIR` (default `notebooks/_out`).

# %%
import math
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from wavebp.photonic import ThinFilmStack
from wavebp.simulators.tmm import coherent, field_profile, layer_fields

FAST = os.environ.get("WAVEBP_FAST", "0") == "1"
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", Path(__file__).resolve().parent / "_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
NM = 1e-9
F64, C128 = torch.float64, torch.complex128
plt.rcParams.update({"font.size": 11, "axes.grid": True, "grid.alpha": 0.3})
T_START = time.perf_counter()

# %% [markdown]
# ## 1. Engine checks: a quarter-wave Bragg mirror and its standing wave
#
# `n0 = 1 | (H L)^N | ns = 1.52` with `nH = 2.35`, `nL = 1.46`, quarter-wave at 600 nm. At
# the design wavelength `R = ((n0 - Y)/(n0 + Y))^2`, `Y = (nH/nL)^(2N) ns`.

# %%
N_H, N_L, N_S, LAM0 = 2.35, 1.46, 1.52, 600 * NM


def bragg(pairs: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = torch.tensor([1.0] + [N_H, N_L] * pairs + [N_S], dtype=C128)
    d = torch.tensor([math.inf] + [LAM0 / 4 / N_H, LAM0 / 4 / N_L] * pairs + [math.inf], dtype=F64)
    return n, d


wl = torch.linspace(400 * NM, 900 * NM, 400 if FAST else 1500, dtype=F64)
fig, ax = plt.subplots(1, 2, figsize=(12, 4.2))
for pairs in (3, 6, 10):
    n, d = bragg(pairs)
    res = coherent(n, d, wl)
    y = (N_H / N_L) ** (2 * pairs) * N_S
    r_formula = ((1 - y) / (1 + y)) ** 2
    r_design = coherent(n, d, LAM0).R.item()
    print(
        f"{pairs:2d} pairs: R(600 nm) = {r_design:.15f}, formula {r_formula:.15f}, "
        f"diff {abs(r_design - r_formula):.1e}"
    )
    ax[0].plot(wl / NM, res.R, label=f"{pairs} pairs (R at 600 nm = {r_design:.4f})")
ax[0].axvline(600, color="k", lw=0.8, ls="--")
ax[0].set(
    xlabel="wavelength (nm)",
    ylabel="reflectance R",
    title="Quarter-wave Bragg mirror, normal incidence",
)
ax[0].legend(loc="lower center", fontsize=9)

# standing wave inside a 6-pair mirror: at 600 nm (stop band) and 750 nm (pass band)
n, d = bragg(6)
total = float(d[1:-1].sum())
z = torch.linspace(-400 * NM, total + 300 * NM, 1500, dtype=F64)
for lam, color in ((600 * NM, "C3"), (750 * NM, "C0")):
    e, _ = field_profile(n, d, lam, z)
    ax[1].plot(
        z / NM,
        e.abs() ** 2,
        color=color,
        label=f"|E|² at {lam / NM:.0f} nm (R = {coherent(n, d, lam).R.item():.3f})",
    )
bounds = layer_fields(n, d, LAM0).boundaries
for j in range(bounds.shape[0] - 1):
    if j % 2 == 0:
        ax[1].axvspan(float(bounds[j]) / NM, float(bounds[j + 1]) / NM, color="0.85", lw=0)
ax[1].set(
    xlabel="z (nm); grey = high index (2.35)",
    ylabel="|E|² / |E_inc|²",
    title="Standing wave in a 6-pair mirror (light from the left)",
)
ax[1].legend(loc="upper right", fontsize=9)
fig.tight_layout()
fig.savefig(FIG_DIR / "03_bragg_and_standing_wave.png", dpi=120)
plt.close(fig)

# %% [markdown]
# In the stop band the field decays evanescently into the mirror and the incident and
# reflected waves build a standing wave with `|E|² ≈ 4` maxima in front of it; in the pass
# band the field runs through with a Fabry–Pérot-like envelope.
#
# ## 2. Inverse design of a dichroic filter
#
# Target at normal incidence: reflect 420–510 nm (`R = 1`), transmit 570–750 nm (`R = 0`);
# the 510–570 nm transition is not constrained. The network: 24 layers alternating TiO₂-like
# (2.35) and SiO₂-like (1.46) on glass, thicknesses trainable within 10–250 nm (sigmoid
# reparametrisation), started from random thicknesses. Loss: mean squared reflectance
# error. Gradient: the adjoint field (checked against autograd on the first step).

# %%
gen = torch.Generator().manual_seed(3)
n_layers = 24
wl_blue = torch.linspace(420 * NM, 510 * NM, 25 if FAST else 90, dtype=F64)
wl_red = torch.linspace(570 * NM, 750 * NM, 40 if FAST else 180, dtype=F64)
wl_train = torch.cat([wl_blue, wl_red])
target = torch.cat([torch.ones_like(wl_blue), torch.zeros_like(wl_red)])
init_d = (40 + 120 * torch.rand(n_layers, generator=gen, dtype=F64)) * NM
stack = ThinFilmStack(
    thickness=init_d,
    index=torch.tensor([N_H, N_L] * (n_layers // 2), dtype=F64),
    substrate_index=N_S,
    thickness_bounds=(10 * NM, 250 * NM),
)


def design_loss(model: ThinFilmStack, gradient: str = "adjoint") -> torch.Tensor:
    return ((model(wl_train, gradient=gradient).R - target) ** 2).mean()


g_adj = torch.autograd.grad(design_loss(stack, "adjoint"), stack.raw_thickness)[0]
g_auto = torch.autograd.grad(design_loss(stack, "autograd"), stack.raw_thickness)[0]
print(
    f"first step: adjoint vs autograd gradient, max rel diff "
    f"{((g_adj - g_auto).abs().max() / g_auto.abs().max()).item():.1e}"
)

wl_plot = torch.linspace(380 * NM, 800 * NM, 300 if FAST else 800, dtype=F64)
with torch.no_grad():
    r_init = stack(wl_plot).R.clone()
opt = torch.optim.Adam(stack.parameters(), lr=0.05)
n_steps = 250 if FAST else 1500
history = []
t0 = time.perf_counter()
for _ in range(n_steps):
    opt.zero_grad()
    loss = design_loss(stack)
    loss.backward()
    opt.step()
    history.append(loss.item())
train_s = time.perf_counter() - t0
print(f"{n_steps} Adam steps in {train_s:.1f} s: loss {history[0]:.3f} -> {history[-1]:.4f}")
with torch.no_grad():
    final = stack(wl_plot)
    blue = (wl_plot >= 420 * NM) & (wl_plot <= 510 * NM)
    red = (wl_plot >= 570 * NM) & (wl_plot <= 750 * NM)
    print(
        f"trained: mean R over 420-510 nm = {final.R[blue].mean():.3f}, "
        f"mean T over 570-750 nm = {final.T[red].mean():.3f}"
    )
    print("thicknesses (nm):", [round(x, 1) for x in (stack.thickness() / NM).tolist()])
    r45s = stack(wl_plot, angle=math.pi / 4, polarization="s").R
    r45p = stack(wl_plot, angle=math.pi / 4, polarization="p").R

fig, ax = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [2, 1]})
ax[0].fill_between([420, 510], 0, 1.02, color="C0", alpha=0.12, label="target R = 1")
ax[0].fill_between([570, 750], 0, 1.02, color="C3", alpha=0.12, label="target R = 0")
ax[0].plot(wl_plot / NM, r_init, color="0.6", lw=1, label="initial (random thicknesses)")
ax[0].plot(wl_plot / NM, final.R, color="k", lw=1.8, label="trained, 0°")
ax[0].plot(wl_plot / NM, r45s, color="C2", lw=1, ls="--", label="trained, 45° s")
ax[0].plot(wl_plot / NM, r45p, color="C1", lw=1, ls=":", label="trained, 45° p")
ax[0].set(
    xlabel="wavelength (nm)",
    ylabel="reflectance R",
    ylim=(0, 1.02),
    title=f"Dichroic filter, {n_layers} layers, trained by the adjoint field",
)
ax[0].legend(fontsize=8, loc="center", bbox_to_anchor=(0.63, 0.45))
ax[1].semilogy(history)
ax[1].set(xlabel="Adam step", ylabel="loss (mean squared R error)", title="Training")
fig.tight_layout()
fig.savefig(FIG_DIR / "03_dichroic_design.png", dpi=120)
plt.close(fig)

# %% [markdown]
# At 45° the stop band shifts to shorter wavelengths and s and p split (p has the narrower
# stop band) — the usual behaviour of a dichroic designed for normal incidence.
#
# The standing wave in the trained filter (blue light is reflected in the first layers,
# red light runs through):

# %%
n_t, d_t = (x.detach() for x in stack.media())
d_t = d_t.clone()
z = torch.linspace(-300 * NM, float(d_t.sum()) + 200 * NM, 1500, dtype=F64)
fig, ax = plt.subplots(figsize=(10, 3.6))
for lam, color in ((460 * NM, "C0"), (650 * NM, "C3")):
    e, _ = field_profile(n_t, d_t, lam, z)
    ax.plot(z / NM, e.abs() ** 2, color=color, label=f"{lam / NM:.0f} nm")
bounds = layer_fields(n_t, d_t, 500 * NM).boundaries
for j in range(bounds.shape[0] - 1):
    if j % 2 == 0:
        ax.axvspan(float(bounds[j]) / NM, float(bounds[j + 1]) / NM, color="0.85", lw=0)
ax.set(
    xlabel="z (nm); grey = high index",
    ylabel="|E|² / |E_inc|²",
    title="Fields in the trained filter",
)
ax.legend()
fig.tight_layout()
fig.savefig(FIG_DIR / "03_trained_field_profile.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## 3. The paper's vocabulary against the numbers
#
# **"Backpropagation = the reflected (error) wave; reciprocity gives the backward matrix."**
# The adjoint gradient is computed from two physical fields only: the forward field and the
# field injected back into the stack from its ports with amplitudes `conj(dL/dr)/eta_0`
# (incident side) and `conj(dL/dt)/eta_s` (exit side), overlapped layer by layer. It equals
# autograd to rounding (printed above). Reciprocity is what makes this work: the field for
# illumination from the exit side is the same physical stack's response, with
# `n_s cos(th_s) t_forward = n_0 cos(th_0) t_backward` even in lossy asymmetric stacks,
# while `R` differs between the two sides:

# %%
n_lossy = torch.tensor([1.0, 2.2 + 0.3j, 1.5, 2.0 + 0.1j, 1.52], dtype=C128)
d_lossy = torch.tensor([0.0, 80, 120, 60, 0.0], dtype=F64) * NM
fw = coherent(n_lossy, d_lossy, 550 * NM)
bw = coherent(n_lossy.flip(0), d_lossy.flip(0), 550 * NM)
print(
    f"lossy stack: 1.52 t_fw = {1.52 * fw.t.item():.6f}, 1.0 t_bw = {bw.t.item():.6f}; "
    f"R_fw = {fw.R.item():.4f}, R_bw = {bw.R.item():.4f}"
)

# %% [markdown]
# So the "W^T" of the paper is literally the transpose (not the conjugate transpose) of the
# physical scattering matrix, and the conjugation lives in the injected source.
#
# **"Loss = reflection at a mismatched boundary; the error wave is the reflected wave."**
# Which amplitude is injected back? Capture `dL/dr` for two losses: an anti-reflection
# loss `sum R` and the dichroic loss.

# %%
captured = {}


def injected_over_reflected(loss_fn, model, wavelengths):
    res = model(wavelengths, gradient="adjoint")
    res.r.register_hook(lambda g: captured.__setitem__("g", g))
    loss_fn(res).backward()
    c_r = captured["g"].conj()  # amplitude injected from the incident side (times eta_0)
    return (c_r / res.r.detach().conj()).detach(), res.R.detach()


ar = ThinFilmStack(thickness=[95 * NM], index=[1.38], substrate_index=N_S)
ratio_ar, _ = injected_over_reflected(lambda res: res.R.sum(), ar, wl_red)
ratio_di, r_di = injected_over_reflected(
    lambda res: ((res.R - target) ** 2).mean(), stack, wl_train
)
print(
    f"AR loss sum(R): injected / conj(reflected) = {ratio_ar.real.min():.3f} .. "
    f"{ratio_ar.real.max():.3f} (imag max {ratio_ar.imag.abs().max():.1e})"
)
expected = 4 * (r_di - target) / len(target)
print(
    f"dichroic loss: injected / conj(reflected) vs 4 (R - R_target)/N: max diff "
    f"{(ratio_di.real - expected).abs().max():.1e}; ratio ranges {ratio_di.real.min():.2e} .. "
    f"{ratio_di.real.max():.2e}"
)

# %% [markdown]
# For a loss that *is* the reflected power (`sum R`, an anti-reflection design), the
# injected adjoint is exactly twice the phase-conjugated reflected wave at every
# wavelength: "the loss is the reflection and the error wave is the (time-reversed)
# reflected wave" holds literally. For any other target it holds only up to a
# wavelength-dependent weight `4 (R - R_target)/N`: the error wave is the reflected wave
# scaled by the spectral mismatch — zero where the design is already right, *negative*
# (phase-flipped) where there is too little reflection. In the dichroic stop band the goal
# is *more* reflection, so "minimise the reflection" is the wrong reading there; the loss
# is a mismatch of the reflection, not the reflection.
#
# **"Vanishing gradient = the reflected wave decays in an absorbing medium."** Gradient of
# `R(lambda)` w.r.t. each layer thickness along a 40-layer stack, lossless vs absorbing
# (`k = 0.03` in every layer); root-mean-square over 40 wavelengths in the pass band
# 720–900 nm. The ratio lossy/lossless removes the standing-wave modulation and leaves the
# decay:

# %%
pairs = 20
wl_depth = torch.linspace(720 * NM, 900 * NM, 40, dtype=F64)
k_lossy = 0.03
depth_fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 3.8))
rms = {}
for k_abs, color in ((0.0, "C0"), (k_lossy, "C3")):
    n_d = torch.tensor([1.0] + [N_H + 1j * k_abs, N_L + 1j * k_abs] * pairs + [N_S], dtype=C128)
    d_d = torch.tensor([0.0] + [LAM0 / 4 / N_H, LAM0 / 4 / N_L] * pairs + [0.0], dtype=F64)
    grads = []
    for lam in wl_depth:
        leaf = d_d.clone().requires_grad_()
        (g,) = torch.autograd.grad(coherent(n_d, leaf, lam, gradient="adjoint").R, leaf)
        grads.append(g[1:-1] * NM)  # per nm
    rms[k_abs] = torch.stack(grads).pow(2).mean(0).sqrt()
    ax.semilogy(range(1, 2 * pairs + 1), rms[k_abs], "o-", ms=3, color=color, label=f"k = {k_abs}")
ax.set(
    xlabel="layer (depth)",
    ylabel="rms |dR/d(thickness)| (1/nm)",
    title="Gradient per layer, 720-900 nm",
)
ax.legend(fontsize=9)
z_end = torch.tensor([LAM0 / 4 / N_H, LAM0 / 4 / N_L] * pairs, dtype=F64).cumsum(0)
ratio = rms[k_lossy] / rms[0.0]
ax2.semilogy(z_end / NM, ratio, "o", ms=4, color="C3", label=f"rms gradient, k = {k_lossy} / k = 0")
wl_grid = wl_depth.unsqueeze(-1)
predicted = torch.exp(-2 * (2 * math.pi / wl_grid) * k_lossy * z_end).pow(2).mean(0).sqrt()
ax2.semilogy(
    z_end / NM,
    predicted / predicted[0] * ratio[0],
    "k--",
    lw=1,
    label="exp(-2 k0 k z) (forward x adjoint field decay)",
)
ax2.set(
    xlabel="depth z of the layer's far boundary (nm)",
    ylabel="ratio",
    title="Absorption makes the gradient vanish with depth",
)
ax2.legend(fontsize=9)
fit = torch.linalg.lstsq(
    torch.stack([z_end, torch.ones_like(z_end)], 1)[:-3], ratio.log()[:-3].unsqueeze(-1)
).solution.squeeze()
expected_rate = -2 * (2 * math.pi / wl_depth).mean().item() * k_lossy
print(
    f"decay rate of the gradient ratio: fitted {fit[0].item() * NM:.2e}/nm, "
    f"predicted -2 k0 k = {expected_rate * NM:.2e}/nm"
)
depth_fig.tight_layout()
depth_fig.savefig(FIG_DIR / "03_gradient_vs_depth.png", dpi=120)
plt.close(depth_fig)

# %% [markdown]
# With absorption the gradient w.r.t. deep layers falls off with depth, roughly like the
# product of the forward and the adjoint field, each decaying as `exp(-k0 k z)`
# (`k0 = 2 pi / lambda`), i.e. `exp(-2 k0 k z)`; without absorption it does not fall off.
# The fitted rate is somewhat larger than `2 k0 k` (printed above) and the ratio is not a
# clean exponential: in a periodic stack the fields are Bloch waves, whose absorption per
# unit length is enhanced near a band edge (slow light), and the standing-wave pattern
# itself changes with absorption. The paper's "reflected
# wave decays in an absorptive medium -> vanishing gradient" holds literally for this
# network. What does **not** carry over: this network is linear in the field (no
# activation, so no `sigma'` in the backward pass and nothing can make gradients explode:
# a passive stack has `|r|, |t| <= 1`), the "weights" enter through phases `exp(i k d)`
# rather than multiplicatively, and the paper's leaky-integrator equation (1) has no wave
# equation or time reversal behind it — the adjoint here exists because Maxwell's equations
# are reciprocal, not because of eq. (1).

# %%
print(
    f"notebook 03 done in {time.perf_counter() - T_START:.1f} s (fast={FAST}); figures in {FIG_DIR}"
)
