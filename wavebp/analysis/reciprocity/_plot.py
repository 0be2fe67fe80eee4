"""The reciprocity figure: residuals and gradient errors per example (log scale), and the
time-reversal error vs loss curves."""

from __future__ import annotations

from pathlib import Path

from wavebp.analysis.reciprocity._rows import ReciprocityRow

__all__ = ["plot_reciprocity"]

_FLOOR = 1e-17  # exact zeros are drawn at this floor (below float64 rounding)
_LEFT = 1e-18  # bars start here, so a zero shows as a stub


def _pos(value: float | None) -> float:
    if value is None or value != value:  # None or nan
        return 0.0
    return max(abs(float(value)), _FLOOR)


def plot_reciprocity(
    rows: list[ReciprocityRow],
    sweeps: dict[str, dict[str, list[float]]],
    path: str | Path,
) -> Path:
    """Save the figure: (left) per example the reciprocity residual, time-reversal error and
    gradient cosine error on a log scale, verdict in the label; (middle) mesh time reversal
    vs insertion loss per MZI with the analytic return power; (right) FDTD time reversal vs
    damping with ``1 - exp(-gamma T)``, and the in-situ gradient error in both.

    Args:
        rows: the table rows.
        sweeps: :func:`time_reversal_sweeps` output (panels without data say so).
        path: the PNG to write.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(15, 6.5))
    grid = fig.add_gridspec(2, 3, width_ratios=[1.6, 1, 1])
    ax = fig.add_subplot(grid[:, 0])
    labels = [f"{r.engine}: {r.example} [{r.verdict}]" for r in rows]
    y = np.arange(len(rows))
    series = [
        ("reciprocity residual", [r.reciprocity_residual for r in rows], "tab:blue"),
        ("time-reversal error", [r.time_reversal_error for r in rows], "tab:green"),
        ("gradient cosine error", [r.gradient_cosine_error for r in rows], "tab:red"),
    ]
    h = 0.26
    for k, (name, values, color) in enumerate(series):
        ax.barh(
            y + (k - 1) * h,
            [max(_pos(v) - _LEFT, 0.0) if v is not None else 0.0 for v in values],
            height=h,
            color=color,
            label=name,
            left=_LEFT,
        )
    ax.set_xscale("log")
    ax.set_xlim(_LEFT, 10)
    ax.axvline(1e-12, color="k", ls=":", lw=0.8, label="1e-12 (complex128 tolerance)")
    ax.axvline(0.1, color="k", ls="--", lw=0.8, label="0.1 (wrong gradient)")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("relative residual / cosine error (0 drawn at 1e-17)")
    ax.set_title("reciprocal rows sit at rounding, non-reciprocal ones at O(1)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3)

    ax2 = fig.add_subplot(grid[0, 1])
    ax3 = fig.add_subplot(grid[1, 1])
    mesh = sweeps.get("mesh")
    if mesh:
        loss = np.array(mesh["loss_db"])
        ax2.plot(loss, mesh["return_power"], "o-", label="returned power (measured)")
        ax2.plot(loss, mesh["return_power_analytic"], "k--", label=r"$10^{-2 L (N-1)/10}$")
        ax2.plot(
            loss, [_pos(v) for v in mesh["time_reversal_error"]], "s-", label="time-reversal error"
        )
        ax2.set_yscale("log")
        ax2.set_xscale("symlog", linthresh=0.01)
        ax2.set_xlim(left=0)
        ax2.set_xlabel("insertion loss per MZI (dB)")
        ax2.set_title("mesh: phase-conjugated round trip", fontsize=9)
        ax2.legend(fontsize=7)
        ax3.plot(loss, [_pos(v) for v in mesh["gradient_cosine_error"]], "o-", color="tab:red")
        ax3.set_yscale("log")
        ax3.set_xscale("symlog", linthresh=0.01)
        ax3.set_xlim(left=0)
        ax3.set_xlabel("insertion loss per MZI (dB)")
        ax3.set_ylabel("in-situ gradient cosine error")
    else:
        ax2.text(0.5, 0.5, "mesh not run", ha="center", transform=ax2.transAxes)
        ax2.set_axis_off()
        ax3.set_axis_off()
    ax4 = fig.add_subplot(grid[0, 2])
    ax5 = fig.add_subplot(grid[1, 2])
    fd = sweeps.get("fdtd")
    if fd:
        gam = np.array(fd["damping"])
        ax4.plot(
            gam, [_pos(v) for v in fd["time_reversal_error"]], "o-", label="h flipped, replayed"
        )
        ax4.plot(
            gam,
            [_pos(v) for v in fd["time_reversal_error_analytic"]],
            "k--",
            label=r"$1 - e^{-\gamma T}$",
        )
        ax4.set_xscale("symlog", linthresh=1e-4)
        ax4.set_xlim(left=0)
        ax4.set_yscale("log")
        ax4.set_xlabel(r"damping $\gamma$ (1/s, dx = 1 m, c = 1 m/s)")
        ax4.set_title("FDTD 1-D closed box: time reversal", fontsize=9)
        ax4.legend(fontsize=7)
        ax5.plot(gam, [_pos(v) for v in fd["gradient_cosine_error"]], "o-", color="tab:red")
        ax5.set_xscale("symlog", linthresh=1e-4)
        ax5.set_xlim(left=0)
        ax5.set_yscale("log")
        ax5.set_xlabel(r"damping $\gamma$ (1/s)")
        ax5.set_ylabel("in-situ gradient cosine error")
    else:
        ax4.text(0.5, 0.5, "fdtd not run", ha="center", transform=ax4.transAxes)
        ax4.set_axis_off()
        ax5.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # long row labels stay inside
    plt.close(fig)
    return path
