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
# # 02 — In-situ backpropagation: three intensity passes, gradient agreement, training
#
# A photonic chip can measure the gradient of a loss with respect to every phase shifter
# at once (Hughes et al., Optica 2018; Pai et al., Science 2023). With `a_k` the forward
# field just after shifter `k` and `b_k` the adjoint field there (inject `conj(dL/dy*)` at
# the outputs, let it run backwards through the reciprocal chip, i.e. through `U^T`):
#
# `dL/dphi_k = -2 Im(a_k b_k) = |a_k - i conj(b_k)|^2 - |a_k|^2 - |b_k|^2`,
#
# three intensity measurements: **forward**, **adjoint**, and **interference** (the input
# plus `-i` times the phase-conjugated adjoint output, sent forward). `wavebp` simulates the
# three passes through the (imperfect) device with noisy photodetectors.
#
# Run as a script; `WAVEBP_FAST=1` is the quick setting, figures go to `$WAVEBP_FIG_DIR`
# (default `notebooks/_out`).

# %%
import os
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from wavebp.experiments import TrainConfig, train_comparison
from wavebp.photonic import (
    ONN,
    HardwareConfig,
    cosine_error,
    insitu_gradient,
    mesh_imperfections,
    mesh_physical_params,
)

FAST = os.environ.get("WAVEBP_FAST", "0") == "1"
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
T0 = time.perf_counter()


def autograd_grads(model, x, loss_fn):
    model.zero_grad(set_to_none=True)
    loss_fn(model(x)).backward()
    return {k: p.grad.detach().clone() for k, p in model.named_parameters()}


# %% [markdown]
# ## 1. The three passes on an 8-port mesh
#
# One sample, a Clements mesh of 8 ports (28 MZIs), ideal hardware, complex128. Each dot is
# a phase shifter (`phi` on the MZI's top input, `theta` on its top internal arm), placed at
# its column and port; the colour is the intensity its tap photodiode reads.

# %%
gen = torch.Generator().manual_seed(0)
model = ONN(4, 2, n_ports=8, dtype=torch.complex128, generator=gen)
x = torch.randn(1, 4, dtype=torch.float64, generator=gen)
y = torch.tensor([1])


def loss_fn(logits):
    return torch.nn.functional.cross_entropy(logits, y)


g_in = insitu_gradient(model, x, loss_fn, return_details=True)
g_ad = autograd_grads(model, x, loss_fn)
det = g_in["_details"][0]
params, _ = mesh_physical_params(model.meshes[0])
layout = params.layout
col = np.asarray(layout.mzi_column)
top = np.asarray(layout.top_port)

fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=True)
titles = {
    "forward": "forward |a|^2 (W)",
    "adjoint": "adjoint |b|^2 (W)",
    "interference": "interference |a - i conj(b)|^2 (W)",
}
for ax, key in zip(axes[:3], ["forward", "adjoint", "interference"], strict=True):
    inten = det["intensities"][key]
    vals = np.concatenate([inten["phi"][0].numpy(), inten["theta"][0].numpy()])
    xs = np.concatenate([2 * col, 2 * col + 1])
    ys = np.concatenate([top, top])
    sc = ax.scatter(xs, ys, c=vals, cmap="viridis", s=90, edgecolors="k", linewidths=0.3)
    for c, p in zip(col, top, strict=True):
        ax.plot([2 * c - 0.3, 2 * c + 1.3], [p + 0.5, p + 0.5], color="0.85", lw=6, zorder=0)
    ax.set(title=titles[key], xlabel="2 x column (+1: theta shifter)")
    fig.colorbar(sc, ax=ax, fraction=0.046)
grad_meas = np.concatenate([g_in["meshes.0.phi"].numpy(), g_in["meshes.0.theta"].numpy()])
vmax = float(np.abs(grad_meas).max())
sc = axes[3].scatter(
    xs,
    ys,
    c=grad_meas,
    cmap="RdBu_r",
    vmin=-vmax,
    vmax=vmax,
    s=90,
    edgecolors="k",
    linewidths=0.3,
)
axes[3].set(title="I_int - I_fwd - I_adj = dL/dphi_k")
fig.colorbar(sc, ax=axes[3], fraction=0.046)
axes[0].set_ylabel("top port of the MZI")
axes[0].invert_yaxis()
fig.tight_layout()
fig.savefig(FIG_DIR / "02_three_passes.png", dpi=110)
plt.close(fig)
print("cosine error (ideal, complex128):", cosine_error(g_in, g_ad))

# %% [markdown]
# ## 2. Gradient agreement: in situ vs autograd
#
# A 16-port, 2-layer network with the electro-optic activation between the layers, a
# batch of 32 (the same programmed phases in every panel). Ideal hardware agrees to
# rounding; with the conjugation switched off the interference pass measures the wrong
# quadrature; Pai et al.'s tap-photodiode shot noise (0.02) scatters around the diagonal;
# insertion loss biases the three-pass rule (the conjugate field reaching a shifter is
# weaker than the adjoint field was, so the `|b|^2` terms do not cancel); the "realistic"
# preset (all device and measurement errors) uses the differential protocol
# (`(I(x - i X) - I(x + i X)) / 2`), which cancels that bias.

# %%
cases = {
    "ideal": (HardwareConfig.preset("ideal"), None),
    "conjugation off": (HardwareConfig(conjugation=False), None),
    "pai2023 (shot noise 0.02)": (HardwareConfig.preset("pai2023"), None),
    "loss 0.1 dB/MZI, three-pass": (HardwareConfig(), HardwareConfig(loss_db=0.1)),
    "realistic (differential)": (
        HardwareConfig.preset("realistic"),
        HardwareConfig.preset("realistic"),
    ),
}
fig, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 3.8))
for ax, (name, (hw, device)) in zip(axes, cases.items(), strict=True):
    gen = torch.Generator().manual_seed(1)
    net = ONN(
        6,
        2,
        n_ports=16,
        n_layers=2,
        dtype=torch.complex128,
        generator=gen,
        mesh_kwargs=mesh_imperfections(device) if device is not None else None,
    )
    xb = torch.randn(32, 6, dtype=torch.float64, generator=gen)
    yb = torch.randint(0, 2, (32,), generator=gen)

    def loss_b(logits, yb=yb):
        return torch.nn.functional.cross_entropy(logits, yb)

    ref = autograd_grads(net, xb, loss_b)
    meas = insitu_gradient(net, xb, loss_b, hardware=hw, generator=torch.Generator().manual_seed(2))
    ref_flat = np.concatenate([ref[k].numpy().ravel() for k in sorted(ref)])
    flat = np.concatenate([meas[k].numpy().ravel() for k in sorted(ref)])
    err = cosine_error(meas, ref)
    ax.scatter(ref_flat, flat, s=4, alpha=0.6)
    lim = np.abs(ref_flat).max() * 1.1
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax.set(
        title=f"{name}\n1 - cos = {err:.2e}",
        xlabel="autograd dL/dphi",
        ylabel="in situ dL/dphi",
    )
    print(f"{name:30s} gradient error 1 - cos = {err:.3e}")
fig.tight_layout()
fig.savefig(FIG_DIR / "02_gradient_agreement.png", dpi=110)
plt.close(fig)

# %% [markdown]
# ## 3. A short training run: moons, in situ vs digital backprop
#
# The same 8-port phase-encoded network trained with measured (in-situ, Pai et al.'s noise
# setting) and digital gradients; `wavebp train --dataset moons --gradient both` does the
# same from the command line.

# %%
epochs = 3 if FAST else 15
with tempfile.TemporaryDirectory() as tmp:
    configs = [
        TrainConfig(
            dataset="moons",
            gradient=g,
            hardware="pai2023",
            epochs=epochs,
            lr=0.02,
            max_train=300 if FAST else None,
        )
        for g in ("insitu", "autograd")
    ]
    metrics = train_comparison(configs, Path(tmp) / "moons", show_progress=False)
    hist = {
        g: np.genfromtxt(Path(tmp) / "moons" / g / "history.csv", delimiter=",", names=True)
        for g in ("insitu", "autograd")
    }
fig, ax = plt.subplots(figsize=(5, 3.6))
for g, h in hist.items():
    ep = np.atleast_1d(h["epoch"])
    ax.plot(ep, np.atleast_1d(h["test_accuracy"]), "o-", label=f"{g} (test)")
    ax.plot(ep, np.atleast_1d(h["train_loss"]), "--", label=f"{g} (train loss)")
ax.set(xlabel="epoch", title="moons, pai2023 hardware")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIG_DIR / "02_training.png", dpi=110)
plt.close(fig)
for g in ("insitu", "autograd"):
    print(f"moons {g:8s}: test accuracy {metrics[g]['test_accuracy']:.3f}")
print(f"notebook 02 done in {time.perf_counter() - T0:.1f} s")
