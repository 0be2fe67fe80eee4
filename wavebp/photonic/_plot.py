"""Mesh diagrams: MZIs coloured by their internal phase, waveguides by the optical power.

matplotlib is imported inside the functions (an optional dependency at import time).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from wavebp.devices import mzi
from wavebp.simulators.mesh import MeshLayout

__all__ = ["column_fields", "plot_mesh"]


def column_fields(
    layout: MeshLayout,
    theta: torch.Tensor,
    phi: torch.Tensor,
    x: torch.Tensor,
    *,
    output_phase: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fields at every column boundary of an ideal mesh (a simple loop over columns).

    Args:
        layout: the mesh layout.
        theta: ``(n_mzis,)`` internal phases in rad, layout order.
        phi: ``(n_mzis,)`` external phases in rad.
        x: complex input field ``(..., n_ports)``.
        output_phase: ``(n_ports,)`` output phase screen in rad, or ``None``.

    Returns:
        Complex ``(n_columns + 1, ..., n_ports)``: entry ``c`` is the field entering column
        ``c`` (entry ``n_columns`` the output, after the phase screen).
    """
    if x.shape[-1] != layout.n_ports:
        raise ValueError(
            f"x must have shape (..., {layout.n_ports}) for this mesh, got {tuple(x.shape)}"
        )
    t = mzi(theta, phi).to(x.dtype if x.is_complex() else torch.complex128)
    field = x.to(t.dtype)
    out = [field]
    start = layout.column_start
    for c, ports in enumerate(layout.columns):
        field = field.clone()
        for m, p in zip(range(start[c], start[c + 1]), ports, strict=True):
            pair = field[..., p : p + 2].clone()
            field[..., p : p + 2] = pair @ t[m].mT
        out.append(field)
    if output_phase is not None:
        out[-1] = out[-1] * torch.polar(torch.ones_like(output_phase), output_phase).to(t.dtype)
    return torch.stack(out)


def plot_mesh(
    layout: MeshLayout,
    *,
    theta: torch.Tensor | np.ndarray | None = None,
    power: torch.Tensor | np.ndarray | None = None,
    ax: Any = None,
    power_cmap: str = "magma",
    power_norm: Any = None,
    theta_cmap: str = "viridis",
    colorbar: bool = True,
    title: str | None = None,
) -> Any:
    """Draw a mesh: waveguides left to right (port 0 on top), MZIs as boxes.

    Args:
        layout: the mesh layout.
        theta: ``(n_mzis,)`` internal phases in rad; colours the MZI boxes
            (0 = cross, pi = bar). ``None``: plain boxes.
        power: ``(n_columns + 1, n_ports)`` power at each column boundary (e.g.
            ``column_fields(...).abs() ** 2``); colours the waveguides. ``None``: grey.
        ax: matplotlib Axes to draw into (default: a new figure).
        power_cmap: colormap of the waveguide power.
        power_norm: a ``matplotlib.colors.Normalize`` for the power (default: linear from 0
            to the largest power).
        theta_cmap: colormap of ``theta``.
        colorbar: add colorbars for the quantities drawn.
        title: axes title.

    Returns:
        The matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.colors import Normalize
    from matplotlib.patches import FancyBboxPatch

    n, k = layout.n_ports, layout.n_columns
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.45 * n))
    pw = None
    if power is not None:
        pw = power.detach().cpu().numpy() if isinstance(power, torch.Tensor) else np.asarray(power)
        if pw.shape != (k + 1, n):
            raise ValueError(f"power must have shape ({k + 1}, {n}), got {pw.shape}")
    th = None
    if theta is not None:
        th = theta.detach().cpu().numpy() if isinstance(theta, torch.Tensor) else np.asarray(theta)
        if th.shape != (layout.n_mzis,):
            raise ValueError(f"theta must have shape ({layout.n_mzis},), got {th.shape}")

    inset = 0.3
    segments, values = [], []
    boxes = []
    for c, ports in enumerate(layout.columns):
        busy = {q for p in ports for q in (p, p + 1)}
        for q in range(n):
            before = pw[c, q] if pw is not None else 0.0
            after = pw[c + 1, q] if pw is not None else 0.0
            if q in busy:
                segments += [[(c, q), (c + inset, q)], [(c + 1 - inset, q), (c + 1, q)]]
                values += [before, after]
            else:
                segments += [[(c, q), (c + 0.5, q)], [(c + 0.5, q), (c + 1, q)]]
                values += [before, after]
        for p in ports:
            boxes.append(
                FancyBboxPatch(
                    (c + inset, p - 0.1),
                    1 - 2 * inset,
                    1.2,
                    boxstyle="round,pad=0.02,rounding_size=0.08",
                )
            )
    lines = LineCollection(segments, linewidths=4.5, capstyle="butt")
    if pw is not None:
        lines.set_array(np.asarray(values))
        lines.set_cmap(power_cmap)
        lines.set_norm(
            power_norm if power_norm is not None else Normalize(0.0, max(float(pw.max()), 1e-30))
        )
    else:
        lines.set_color("0.6")
    ax.add_collection(lines)
    patches = PatchCollection(boxes, edgecolor="k", linewidths=0.8)
    if th is not None:
        patches.set_array(th)
        patches.set_cmap(theta_cmap)
        patches.set_norm(Normalize(0.0, math.pi))
    else:
        patches.set_facecolor("0.9")
    ax.add_collection(patches)
    ax.set_xlim(-0.3, k + 0.3)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("column boundary")
    ax.set_ylabel("port")
    ax.set_yticks(range(n))
    step = max(1, k // 16)
    ax.set_xticks(range(0, k + 1, step))
    if title:
        ax.set_title(title)
    if colorbar:
        fig = ax.figure
        if pw is not None:
            fig.colorbar(lines, ax=ax, label=r"power $|E|^2$ (fraction of input)", pad=0.01)
        if th is not None:
            cb = fig.colorbar(patches, ax=ax, label=r"MZI $\theta$ (rad)", pad=0.01)
            cb.set_ticks([0, math.pi / 2, math.pi])
            cb.set_ticklabels([r"0 (cross)", r"$\pi/2$", r"$\pi$ (bar)"])
    return ax
