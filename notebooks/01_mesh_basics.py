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
# # 01 — MZI meshes: decomposition, power flow, Haar initialisation
#
# A unitary `U` (N x N) is programmed into a mesh of N(N-1)/2 Mach–Zehnder interferometers
# (MZIs) on adjacent waveguides, either as a rectangle (Clements et al., 2016) or a triangle
# (Reck et al., 1994). Convention (DESIGN.md):
# `MZI(theta, phi) = B @ diag(exp(i theta), 1) @ B @ diag(exp(i phi), 1)` with 50:50
# couplers `B`; `theta = 0` is the cross state, `theta = pi` the bar state.
#
# Run as a script; `WAVEBP_FAST=1` uses a small mesh, figures go to `$WAVEBP_FIG_DIR`
# (default `notebooks/_out`).

# %%
import math
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import PowerNorm

from wavebp.devices import mzi
from wavebp.photonic._decompose import decompose
from wavebp.photonic._haar import haar_phases, haar_unitary, sensitivity_index
from wavebp.photonic._plot import column_fields, plot_mesh
from wavebp.simulators.mesh import mesh_layout, mesh_matrix_reference

FAST = os.environ.get("WAVEBP_FAST", "0") == "1"
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
N = 6 if FAST else 12
N_SAMPLES = 1000 if FAST else 5000
generator = torch.Generator().manual_seed(2016)
print(f"N = {N}, fast mode: {FAST}, figures in {FIG_DIR}")

# %% [markdown]
# ## Decompose a Haar-random unitary with both topologies and rebuild it

# %%
U = haar_unitary(N, generator=generator)
phases = {}
for topology in ("clements", "reck"):
    layout = mesh_layout(N, topology=topology)
    t0 = time.perf_counter()
    theta, phi, gamma = decompose(U, topology=topology)
    elapsed = time.perf_counter() - t0
    rebuilt = mesh_matrix_reference(mzi(theta, phi), gamma, layout)
    err = float((rebuilt - U).abs().max())
    phases[topology] = (layout, theta, phi, gamma)
    print(
        f"{topology:8s}: {layout.n_mzis} MZIs in {layout.n_columns} columns, "
        f"decomposed in {elapsed * 1e3:.1f} ms, max |U - U_rebuilt| = {err:.2e}"
    )
    assert err < 1e-10

if not FAST:
    U64 = haar_unitary(64, generator=generator)
    for topology in ("clements", "reck"):
        t0 = time.perf_counter()
        th, ph, ga = decompose(U64, topology=topology)
        elapsed = time.perf_counter() - t0
        rebuilt = mesh_matrix_reference(mzi(th, ph), ga, mesh_layout(64, topology=topology))
        err = float((rebuilt - U64).abs().max())
        print(f"N = 64 {topology:8s}: {elapsed * 1e3:.0f} ms, max |U - U_rebuilt| = {err:.2e}")

# %% [markdown]
# ## Power flow through the mesh for light entering one port
#
# Top: the mesh, MZIs coloured by their internal phase `theta`, waveguides by the power
# `|E|^2` (same colour scale as below). Bottom: the power at every port after each column. The
# output powers are `|U[:, port]|^2` — for a Haar unitary, light from any port ends up
# spread over all outputs.

# %%
port = N // 2
widths = [phases[t][0].n_columns for t in ("clements", "reck")]
fig, axes = plt.subplots(
    2,
    2,
    figsize=(4.0 + 0.5 * sum(widths), 2.5 + 0.8 * N),
    width_ratios=widths,
    constrained_layout=True,
)
for col, topology in enumerate(("clements", "reck")):
    layout, theta, phi, gamma = phases[topology]
    x = torch.zeros(N, dtype=torch.complex128)
    x[port] = 1.0
    fields = column_fields(layout, theta, phi, x, output_phase=gamma)
    power = fields.abs() ** 2
    # lossless: the power is conserved column by column, and the output is U's column
    assert torch.allclose(power.sum(-1), torch.ones(layout.n_columns + 1, dtype=torch.float64))
    assert torch.allclose(fields[-1], U[:, port])
    plot_mesh(
        layout,
        theta=theta,
        power=power,
        ax=axes[0, col],
        power_norm=PowerNorm(0.5, vmin=0.0, vmax=1.0),
        colorbar=False,
        title=f"{topology.capitalize()}, N = {N}: unit power into port {port}",
    )
    im = axes[1, col].imshow(
        power.T.numpy(),
        aspect="auto",
        cmap="magma",
        norm=PowerNorm(0.5, vmin=0.0, vmax=1.0),
        interpolation="nearest",
    )
    axes[1, col].set_xticks(range(0, layout.n_columns + 1, 2 if layout.n_columns > 12 else 1))
    axes[1, col].set_xlabel("column boundary (0 = input, last = output)")
    axes[1, col].set_ylabel("port")
    axes[1, col].set_title(r"power $|E|^2$ per port and column boundary")
lines, boxes = axes[0, 0].collections[:2]
cbar = fig.colorbar(boxes, ax=axes[0, :].tolist(), label=r"MZI internal phase $\theta$ (rad)")
cbar.set_ticks([0, math.pi / 2, math.pi], labels=["0 (cross)", r"$\pi/2$", r"$\pi$ (bar)"])
fig.colorbar(
    im, ax=axes[1, :].tolist(), label=r"power $|E|^2$ (fraction of input, sqrt colour scale)"
)
fig.savefig(FIG_DIR / "01_mesh_power_flow.png", dpi=110)
plt.close(fig)

# %% [markdown]
# ## Haar-random initialisation vs uniform phases
#
# Pai et al. (2019): for a Haar-random `U` each MZI's `theta` has its own distribution,
# `cos^2(theta/2) ~ Beta(alpha, 1)`, i.e. density `alpha sin(theta/2) cos^(2 alpha - 1)(theta/2)`,
# with the sensitivity index `alpha` set by the MZI's position (large in the middle of a
# Clements mesh: those MZIs sit mostly near the cross state). Drawing `theta` uniformly
# instead keeps light near its input port (a banded, diffusive `U`): `|U_11|^2` is then far
# from the Haar law `Beta(1, N - 1)`.

# %%
clements = mesh_layout(N, topology="clements")
alpha = sensitivity_index(clements)


def mesh_power_matrices(theta, phi):
    """|U|^2 for a batch of phase sets (S, M), the reference definition per sample."""
    t = mzi(theta, phi)
    u = torch.eye(N, dtype=t.dtype).expand(theta.shape[0], N, N).clone()
    for m, p in enumerate(clements.top_port.tolist()):
        u[:, p : p + 2, :] = t[:, m] @ u[:, p : p + 2, :]
    return u.abs() ** 2


theta_h, phi_h = haar_phases(clements, generator=generator, shape=(N_SAMPLES,))
theta_u = torch.rand(N_SAMPLES, clements.n_mzis, generator=generator, dtype=torch.float64)
theta_u = theta_u * math.pi
p_haar = mesh_power_matrices(theta_h, phi_h)
p_unif = mesh_power_matrices(theta_u, phi_h)

fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), constrained_layout=True)
ax = axes[0]
grid = np.linspace(0, math.pi, 200)
shown = sorted({1, 2, 4, int(alpha.max())})
for a, colour in zip(shown, plt.cm.viridis(np.linspace(0, 0.85, len(shown))), strict=True):
    sel = alpha == a
    ax.hist(
        theta_h[:, sel].flatten().numpy(),
        bins=40,
        range=(0, math.pi),
        density=True,
        histtype="step",
        color=colour,
        lw=1.2,
    )
    pdf = a * np.sin(grid / 2) * np.cos(grid / 2) ** (2 * a - 1)
    ax.plot(grid, pdf, color=colour, ls="--", lw=1.5, label=rf"$\alpha$ = {a}")
ax.axhline(1 / math.pi, color="k", ls=":", label="uniform")
ax.set_xlabel(r"internal phase $\theta$ (rad)  [0 = cross, $\pi$ = bar]")
ax.set_ylabel("probability density (1/rad)")
ax.set_title(r"Haar $\theta$: samples (steps) and $p_\alpha(\theta)$ (dashed)")
ax.set_xticks([0, math.pi / 2, math.pi], ["0", r"$\pi/2$", r"$\pi$"])
ax.legend(fontsize=8)

ax = axes[1]
q = np.linspace(0, 1, 400)
for data, label, colour in ((p_haar, "Haar init", "C0"), (p_unif, r"uniform $\theta$", "C3")):
    v = np.sort(data[:, 0, 0].numpy())
    ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", color=colour, lw=2.5, label=label)
ax.plot(q, 1 - (1 - q) ** (N - 1), "k--", lw=1, label=f"Beta(1, {N - 1}) (Haar)")
ax.set_xlabel(r"$|U_{11}|^2$ (power fraction)")
ax.set_ylabel("cumulative probability")
ax.set_title(rf"$|U_{{11}}|^2$ over {N_SAMPLES} meshes, Clements N = {N}")
ax.legend(fontsize=8)

ax = axes[2]
im = ax.imshow(p_unif.mean(0).numpy(), cmap="magma", vmin=0)
ax.set_title(r"uniform $\theta$: mean $|U_{ij}|^2$ (Haar: all $1/N$)")
ax.set_xlabel("input port j")
ax.set_ylabel("output port i")
fig.colorbar(im, ax=ax, label="mean power fraction")
fig.savefig(FIG_DIR / "01_haar_theta.png", dpi=110)
plt.close(fig)

dev_haar = float((p_haar.mean(0) - 1 / N).abs().max())
dev_unif = float((p_unif.mean(0) - 1 / N).abs().max())
print(f"max |mean |U_ij|^2 - 1/N|: Haar init {dev_haar:.4f}, uniform theta {dev_unif:.4f}")
print("wrote", sorted(p.name for p in FIG_DIR.glob("01_*.png")))
