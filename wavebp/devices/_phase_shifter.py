r"""Thermo-optic phase shifters: DAC quantisation and thermal crosstalk between heaters.

A heater driven by an ``bits``-bit DAC can set only ``2^bits`` phases, evenly spaced over
``[0, phase_range)``. Neighbouring heaters in the same column of a mesh warm each other:
the phase a shifter actually applies is ``phase_eff = K @ phase_programmed`` with ``K`` the
thermal-crosstalk matrix (1 on the diagonal, ``coupling * decay^(d - 1)`` between two
heaters ``d`` MZI pitches apart in the same column, 0 across columns).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from wavebp._core import as_tensor, check_int, check_real, complex_dtype
from wavebp.simulators.mesh import MeshLayout

__all__ = [
    "apply_thermal_crosstalk",
    "phase_shifter",
    "quantize_phase",
    "thermal_crosstalk_matrix",
]

_TWO_PI = 2 * math.pi


def quantize_phase(phase: torch.Tensor, *, bits: int, phase_range: float = _TWO_PI) -> torch.Tensor:
    r"""The phase a ``bits``-bit DAC actually sets, with a straight-through gradient.

    The requested phase is reduced modulo ``2 pi`` to ``[0, 2 pi)`` and rounded to the
    nearest DAC level ``k * phase_range / 2^bits`` (``k = 0 .. 2^bits - 1``). With
    ``phase_range = 2 pi`` the levels wrap (the code ``2^bits`` is the phase ``2 pi = 0``);
    with a smaller range, phases beyond the top level saturate at it.

    The result is returned on the branch of the input (``phase + quantisation error``, equal
    to the DAC's phase modulo ``2 pi``). Gradient: straight-through estimator,
    ``d result / d phase = 1`` — the rounding is treated as the identity in the backward
    pass (the true derivative is zero almost everywhere), the usual choice for
    quantisation-aware training.

    Args:
        phase: requested phases in rad, real tensor ``(...)``.
        bits: DAC resolution, an integer in ``[1, 32]``.
        phase_range: phase span of the DAC in rad, in ``(0, 2 pi]``.

    Returns:
        Real tensor like ``phase``: the quantised phases in rad.
    """
    bits = check_int("bits", bits, minimum=1, maximum=32)
    phase_range = check_real(
        "phase_range", phase_range, low=0.0, high=_TWO_PI, low_inclusive=False, unit="rad"
    )
    levels = 2**bits
    step = phase_range / levels
    with torch.no_grad():
        wrapped = torch.remainder(phase, _TWO_PI)
        code = torch.round(wrapped / step)
        if not math.isclose(phase_range, _TWO_PI):
            code = code.clamp(0, levels - 1)
        # with the full 2 pi range, code 2^bits is level 0 (2 pi = 0): no wrap needed here,
        # because the result stays on the input's branch
        error = code * step - wrapped
    return phase + error


def phase_shifter(
    phase: torch.Tensor | float,
    *,
    bits: int | None = None,
    phase_range: float = _TWO_PI,
    phase_error: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    r"""Transfer factor ``exp(i phi_eff)`` of a phase shifter (a 1x1 S-matrix).

    ``phi_eff = quantize_phase(phase) + phase_error`` (no quantisation for ``bits=None``).

    Args:
        phase: programmed phase in rad, real ``(...)``.
        bits: DAC resolution (integer in ``[1, 32]``) or ``None`` for an ideal drive.
        phase_range: DAC span in rad, ``(0, 2 pi]``.
        phase_error: static phase offset in rad (e.g. from
            :func:`wavebp.devices.sample_fabrication_errors`), broadcasting with ``phase``.

    Returns:
        Complex tensor ``(...)``; differentiable (straight-through through the DAC).
    """
    if not isinstance(phase, torch.Tensor):
        phase = torch.as_tensor(phase, dtype=torch.float64)
    if phase.is_complex():
        raise ValueError(f"phase must be a real phase in rad, got dtype {phase.dtype}")
    if bits is not None:
        phase = quantize_phase(phase, bits=bits, phase_range=phase_range)
    phase = phase + as_tensor(phase_error, like=phase)
    return torch.polar(torch.ones_like(phase), phase).to(complex_dtype(phase.dtype))


def _check_crosstalk(coupling: float, decay: float) -> tuple[float, float]:
    coupling = check_real("coupling", coupling, low=0.0, high=1.0, high_inclusive=False)
    decay = check_real("decay", decay, low=0.0, high=1.0, high_inclusive=False)
    return coupling, decay


@functools.lru_cache(maxsize=32)
def _crosstalk_blocks(
    layout: MeshLayout, coupling: float, decay: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column crosstalk matrices ``(K, P, P)``, gather index ``(K, P)`` (``M`` = pad) and
    the position of each MZI in the flattened ``(K, P)`` layout."""
    k = layout.n_columns
    width = max(1, max(len(c) for c in layout.columns))
    blocks = np.zeros((k, width, width))
    gather = np.full((k, width), layout.n_mzis, dtype=np.int64)
    where = np.empty(layout.n_mzis, dtype=np.int64)
    start = layout.column_start
    for c, ports in enumerate(layout.columns):
        p = np.asarray(ports, dtype=np.float64)
        dist = np.abs(p[:, None] - p[None, :]) / 2.0  # in MZI pitches (2 ports)
        with np.errstate(divide="ignore"):
            mat = np.where(dist > 0, coupling * np.power(decay, np.maximum(dist - 1, 0)), 1.0)
        if decay == 0.0:
            mat = np.where(dist > 1, 0.0, mat)
        blocks[c, : len(ports), : len(ports)] = mat
        idx = np.arange(start[c], start[c + 1])
        gather[c, : len(ports)] = idx
        where[idx] = c * width + np.arange(len(ports))
    return blocks, gather, where


def thermal_crosstalk_matrix(
    layout: MeshLayout,
    *,
    coupling: float,
    decay: float = 0.0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Dense thermal-crosstalk matrix ``K`` between the heaters of one kind in a mesh.

    ``K[i, i] = 1``; for MZIs ``i != j`` in the same column, ``d = |p_i - p_j| / 2`` MZI
    pitches apart, ``K[i, j] = coupling * decay^(d - 1)`` (``coupling`` for nearest
    neighbours); 0 across columns. Effective phases are ``K @ programmed`` — applied
    separately to the ``theta`` heaters and to the ``phi`` heaters, which sit in different
    places. ``(M, M)`` dense: for inspection and small meshes; meshes use
    :func:`apply_thermal_crosstalk`, which never forms it.

    Args:
        layout: the mesh layout (``M = layout.n_mzis``).
        coupling: fraction of a heater's phase seen by its nearest neighbour, in ``[0, 1)``.
        decay: ratio of successive coefficients per extra MZI pitch, in ``[0, 1)``
            (0: nearest neighbours only).
        dtype: real dtype of the result.
        device: device of the result.

    Returns:
        Real ``(M, M)`` matrix.
    """
    coupling, decay = _check_crosstalk(coupling, decay)
    blocks, gather, _ = _crosstalk_blocks(layout, coupling, decay)
    m = layout.n_mzis
    out = np.zeros((m + 1, m + 1))
    for c in range(layout.n_columns):
        idx = gather[c]
        out[np.ix_(idx, idx)] = blocks[c]
    return torch.as_tensor(out[:m, :m], dtype=dtype, device=device)


def apply_thermal_crosstalk(
    phases: torch.Tensor,
    *,
    layout: MeshLayout,
    coupling: float,
    decay: float = 0.0,
) -> torch.Tensor:
    """Effective phases ``K @ phases`` under thermal crosstalk (column by column, batched).

    Args:
        phases: programmed phases in rad, real ``(..., M)`` in layout MZI order.
        layout: the mesh layout.
        coupling: nearest-neighbour coefficient in ``[0, 1)`` (see
            :func:`thermal_crosstalk_matrix`).
        decay: ratio per extra MZI pitch in ``[0, 1)``.

    Returns:
        Real ``(..., M)`` effective phases; linear, hence differentiable.
    """
    coupling, decay = _check_crosstalk(coupling, decay)
    m = layout.n_mzis
    if phases.shape[-1] != m:
        raise ValueError(
            f"phases must have last dimension n_mzis = {m}, got shape {tuple(phases.shape)}"
        )
    if coupling == 0.0:
        return phases
    blocks_np, gather_np, where_np = _crosstalk_blocks(layout, coupling, decay)
    blocks = torch.as_tensor(blocks_np, dtype=phases.dtype, device=phases.device)
    gather = torch.as_tensor(gather_np, device=phases.device)
    where = torch.as_tensor(where_np, device=phases.device)
    src = torch.cat([phases, phases.new_zeros(*phases.shape[:-1], 1)], -1)
    cols = src[..., gather]  # (..., K, P)
    mixed = (blocks @ cols.unsqueeze(-1)).squeeze(-1)
    return mixed.reshape(*phases.shape[:-1], -1)[..., where]
