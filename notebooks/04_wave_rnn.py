# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 04 — Acoustic wave-RNN: vowels classified by a trained wave-speed map
#
# Hughes, Williamson, Minkov, Fan (Sci. Adv. 2019) showed that the wave equation is a
# recurrent network: the field is the hidden state, the medium the weights. Here a 2-D
# scalar wave domain with a PML (engine `wavebp.simulators.fdtd`) holds a design region
# whose wave speed (between a fast and a slow material) is trained so that a vowel waveform
# injected at a source point ends up, as time-integrated energy, at the probe of its class.
#
# The gradient is an overlap of two fields: the forward field and the **adjoint field**,
# which is the same wave equation driven backwards in time by the residual at the probes.
# In a linear, reciprocal medium that adjoint field is a *physical* replay: inject the
# time-reversed residual at the probes and record. We show the three fields and check the
# overlap against autograd, then run a short training.
#
# `WAVEBP_FAST=1` runs a tiny version (< 1 min); figures go to `$WAVEBP_FIG_DIR`
# (default `notebooks/_out`).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from wavebp.acoustic import (
    HILLENBRAND_1995,
    VowelConfig,
    WaveRNN,
    WaveRNNConfig,
    make_vowel_dataset,
    speaker_folds,
    wave_rnn_accuracy,
    wave_rnn_gradient_fields,
    wave_rnn_loss,
)

FAST = os.environ.get("WAVEBP_FAST", "0") not in ("0", "")
FIG_DIR = Path(os.environ.get("WAVEBP_FIG_DIR", "notebooks/_out"))
FIG_DIR.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))

if FAST:
    data_cfg = VowelConfig(n_speakers=5, duration=0.05, sample_rate=5000.0, ramp=0.005)
    model_cfg = WaveRNNConfig(design_shape=(16, 16), pml_cells=6, sample_rate=5000.0)
    epochs, batch_size, lr = 6, 10, 0.2
else:
    data_cfg = VowelConfig(n_speakers=8, duration=0.1)
    model_cfg = WaveRNNConfig()
    epochs, batch_size, lr = 8, 8, 0.1
print("grid", model_cfg.grid_shape, "dx =", round(model_cfg.dx * 100, 2), "cm,", data_cfg.n_samples,
      "steps of", 1e6 * model_cfg.dt, "us")  # fmt: skip

# %% [markdown]
# ## The data: source–filter vowels around Hillenbrand et al. (1995)
# Rosenberg glottal pulses (jitter, shimmer, aspiration) through four formant resonators at
# formants drawn around the published group averages; see `wavebp.acoustic._vowels`.

# %%
data = make_vowel_dataset(data_cfg, generator=torch.Generator().manual_seed(0))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
rate = data_cfg.sample_rate
for k, vowel in enumerate(data.vowels):
    i = int(torch.nonzero(data.labels == k)[0])
    x = data.waveforms[i].double().numpy()
    t_ms = 1e3 * np.arange(x.size) / rate
    axes[0].plot(t_ms, x + 2.2 * k, lw=0.7, label=vowel)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / rate)
    axes[1].plot(freqs, 10 * np.log10(spec / spec.max() + 1e-12), lw=0.7, label=vowel)
    f1, f2 = HILLENBRAND_1995["men"][vowel][1:3]
    axes[1].axvline(f1, color=f"C{k}", ls=":", lw=0.8)
    axes[1].axvline(f2, color=f"C{k}", ls=":", lw=0.8)
axes[0].set(xlabel="time (ms)", title="one token per vowel (men), offset")
axes[1].set(xlabel="frequency (Hz)", ylabel="dB", ylim=(-70, 3),
            title="spectra; dotted: table F1, F2 (men)")  # fmt: skip
axes[1].legend()
fig.tight_layout()
fig.savefig(FIG_DIR / "04_vowels.png", dpi=110)
plt.close(fig)

# %% [markdown]
# ## Forward field, time-reversed adjoint field and their overlap
# For one token and an untrained (random) medium: `forward` is the field driven at the
# source; the adjoint is the replay driven at the probes by the time-reversed residual
# `dL/du_k(T - t)`, shown at the same physical time; their time-overlap gives `dL/dc`.

# %%
model = WaveRNN(model_cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
token = int(torch.nonzero(data.labels == 0)[0])
fields = wave_rnn_gradient_fields(model, data.waveforms[token].double(), 0)
print(
    f"loss {fields['loss']:.4f}; overlap vs autograd dL/dc: correlation "
    f"{fields['correlation']:.4f} (design region), fitted scale {fields['scale']:.4g}"
)

n_steps = fields["forward"].shape[0]
t_show = int(0.6 * n_steps)
fw = fields["forward"][t_show].numpy()
adj = fields["adjoint"][t_show].numpy()
x0, y0 = model_cfg.design_origin
nxd, nyd = model_cfg.design_shape
box = dict(xy=(x0 - 0.5, y0 - 0.5), width=nxd, height=nyd, fill=False, ec="k", lw=0.8)


def _show(ax, img, title, cmap="RdBu_r", symmetric=True, marks="k"):
    lim = float(np.quantile(np.abs(img), 0.995)) or 1.0
    kw = dict(vmin=-lim, vmax=lim) if symmetric else {}
    im = ax.imshow(img.T, origin="lower", cmap=cmap, **kw)
    ax.add_patch(matplotlib.patches.Rectangle(**{**box, "ec": marks}))
    sx, sy = model_cfg.source_cell
    ax.plot(sx, sy, "o", color=marks, ms=3)
    for px, py in model_cfg.probe_cells:
        ax.plot(px, py, "s", color=marks, ms=3, mfc="none")
    ax.set(title=title, xticks=[], yticks=[])
    plt.colorbar(im, ax=ax, shrink=0.75)


fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
_show(axes[0], fw, f"forward u, t = {1e3 * t_show * model_cfg.dt:.1f} ms")
_show(axes[1], adj, "time-reversed adjoint (replay), same t")
_show(axes[2], fields["overlap"].numpy(), "overlap -> dL/dc (scaled)")
_show(axes[3], fields["exact"].numpy(), "dL/dc by autograd")
fig.tight_layout()
fig.savefig(FIG_DIR / "04_adjoint_overlap.png", dpi=110)
plt.close(fig)

# residual injected at the probes (before time reversal)
fig, ax = plt.subplots(figsize=(7, 2.6))
res = fields["residual"].numpy()
for k in range(res.shape[0]):
    ax.plot(1e3 * np.arange(n_steps) * model_cfg.dt, res[k], lw=0.7, label=f"probe {k}")
ax.set(xlabel="time (ms)", ylabel="dL/du_k", title="adjoint sources (played reversed)")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(FIG_DIR / "04_adjoint_sources.png", dpi=110)
plt.close(fig)

# %% [markdown]
# ## The nonlinear (saturable Kerr) medium
# With `medium="kerr"` the inclusion material slows down where the field is strong:
# `c(u) = c + kerr_speed_change * rho * s(u / kerr_amplitude)`, `s(x) = x^2 / (1 + x^2)`,
# bounded between `c` and `c + kerr_speed_change * rho` (a constitutive relation in the
# engine, stable at any strength). The map shows the largest relative slow-down each cell
# reaches for this token, `max_t |dc(u)| / c`.

# %%
kerr_cfg = WaveRNNConfig(**{**model_cfg.__dict__, "medium": "kerr"})
kerr_model = WaveRNN(kerr_cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
u_kerr = kerr_model.snapshots(data.waveforms[token].double(), every=2)
rho = kerr_model._embed(kerr_model.density()).detach()
xk = u_kerr / kerr_cfg.kerr_amplitude
slow = (kerr_cfg.kerr_speed_change * rho * xk**2 / (1 + xk**2)).abs() / kerr_model.wave_speed()
slow_max = slow.detach().amax(dim=0)
print(f"Kerr: largest |dc(u)|/c reached {float(slow_max.max()):.3f} "
      f"(kerr_speed_change {kerr_cfg.kerr_speed_change} m/s, kerr_amplitude "
      f"{kerr_cfg.kerr_amplitude})")  # fmt: skip
fig, ax = plt.subplots(figsize=(4.6, 3.6))
_show(ax, slow_max.numpy(), "max over t of |dc(u)| / c", cmap="magma", symmetric=False, marks="w")
fig.tight_layout()
fig.savefig(FIG_DIR / "04_kerr_slowdown.png", dpi=110)
plt.close(fig)

# %% [markdown]
# ## A short training run (one speaker-grouped fold held out)
# Adam on `theta` (density `rho = sigmoid(theta)`, speed `c = c_max - (c_max - c_min) rho`),
# gradients by the reversible adjoint of the engine. The full 5-fold cross-validation,
# linear vs Kerr medium, is `wavebp train --model wave-rnn` (a run folder with a report).

# %%
folds = speaker_folds(data, n_folds=3, generator=torch.Generator().manual_seed(2))
test = data.subset(folds[0])
mask = torch.ones(len(data), dtype=torch.bool)
mask[folds[0]] = False
train = data.subset(torch.nonzero(mask).flatten())
model = WaveRNN(model_cfg, generator=torch.Generator().manual_seed(3))
opt = torch.optim.Adam(model.parameters(), lr=lr)
history = []
for epoch in range(epochs):
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(10 + epoch))
    losses = []
    for start in range(0, len(train), batch_size):
        idx = order[start : start + batch_size]
        opt.zero_grad()
        loss = wave_rnn_loss(model(train.waveforms[idx], gradient="adjoint"), train.labels[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        e_test = model(test.waveforms)
    history.append((np.mean(losses), float(wave_rnn_loss(e_test, test.labels)),
                    wave_rnn_accuracy(e_test, test.labels)))  # fmt: skip
    print(f"epoch {epoch + 1}: train loss {history[-1][0]:.3f}, test loss {history[-1][1]:.3f}, "
          f"test accuracy {history[-1][2]:.2f} ({len(test)} tokens)")  # fmt: skip

h = np.array(history)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(range(1, epochs + 1), h[:, 0], label="train (running)")
axes[0].plot(range(1, epochs + 1), h[:, 1], label="test")
axes[0].set(xlabel="epoch", ylabel="cross-entropy (nats)")
axes[0].legend()
speed = model.wave_speed().detach().numpy()
im = axes[1].imshow(speed.T, origin="lower", cmap="viridis")
plt.colorbar(im, ax=axes[1], label="wave speed (m/s)")
axes[1].set(title="trained wave-speed map", xticks=[], yticks=[])
fig.tight_layout()
fig.savefig(FIG_DIR / "04_training.png", dpi=110)
plt.close(fig)
print("figures in", FIG_DIR)
