"""Input handling shared by the optical and acoustic front ends: conversion, validation,
broadcasting, the forward branch of the normal wavenumber and chunked evaluation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from wavebp._core import check_choice, check_int, complex_dtype, real_dtype
from wavebp.simulators.tmm._engine import TMMAdjoint, propagator, sweep

__all__: list[str] = []

GRADIENTS = ("autograd", "adjoint")
DEFAULT_CHUNK = 16384


def to_complex(name: str, value: Any) -> torch.Tensor:
    """A complex tensor; numbers, lists and numpy arrays become complex128."""
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        # torch.as_tensor keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
        tensor = torch.as_tensor(np.asarray(value))
        if not (tensor.is_floating_point() or tensor.is_complex()):
            tensor = tensor.to(torch.float64)
    if not (tensor.is_floating_point() or tensor.is_complex()):
        tensor = tensor.to(torch.float64)
    tensor = tensor.to(complex_dtype(tensor.dtype))
    _check_finite(name, tensor)
    return tensor


def to_real(name: str, value: Any, like: torch.Tensor, *, allow_inf: bool = False) -> torch.Tensor:
    """A real tensor on ``like``'s device with ``like``'s real precision."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise ValueError(f"{name} must be real, got a complex tensor of dtype {value.dtype}")
        tensor = value
    else:
        tensor = torch.as_tensor(np.asarray(value, dtype=np.float64))
    tensor = tensor.to(dtype=real_dtype(like.dtype), device=like.device)
    if not allow_inf:
        _check_finite(name, tensor)
    return tensor


def _check_finite(name: str, tensor: torch.Tensor) -> None:
    finite = torch.isfinite(tensor.detach())
    if not bool(finite.all()):
        bad = tensor.detach()[~finite].flatten()[0].item()
        raise ValueError(
            f"{name} must be finite everywhere, got {int((~finite).sum())} non-finite "
            f"entries (e.g. {bad!r}) in shape {tuple(tensor.shape)}"
        )


def check_range(
    name: str,
    tensor: torch.Tensor,
    *,
    low: float,
    high: float = math.inf,
    low_inclusive: bool = True,
    unit: str,
) -> None:
    """Raise a ValueError naming ``name``, the interval and the first offending value."""
    x = tensor.detach()
    bad = (x < low) if low_inclusive else (x <= low)
    bad = bad | (x > high) | torch.isnan(x)
    if bool(bad.any()):
        lb = "[" if low_inclusive else "("
        value = x[bad].flatten()[0].item()
        raise ValueError(f"{name} must be in {lb}{low:g}, {high:g}] {unit}, got {value!r}")


def check_thickness(name: str, d: torch.Tensor, n_media: int) -> torch.Tensor:
    """Thickness vector ``(..., L)``: interior finite and >= 0, ends >= 0 or inf (ignored)."""
    if d.ndim < 1 or d.shape[-1] != n_media:
        raise ValueError(
            f"{name} must have {n_media} entries along its last axis (one per medium, the "
            f"two semi-infinite ends ignored), got shape {tuple(d.shape)}"
        )
    check_range(name, d, low=0.0, unit="m")
    _check_finite(f"{name} (interior layers)", d[..., 1:-1])
    return d


def check_media(name: str, n_media: int) -> None:
    check_int(f"number of media along the last axis of {name}", n_media, minimum=2)


def check_gradient(gradient: str) -> str:
    return check_choice("gradient", gradient, GRADIENTS)


def check_chunk(chunk_size: int | None) -> int:
    if chunk_size is None:
        return DEFAULT_CHUNK
    return check_int("chunk_size", chunk_size, minimum=1)


def forward_sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(x)`` on the branch of a wave travelling or decaying towards +z.

    Same rule as Byrnes' ``tmm.is_forward_angle``: ``Im > 0`` where the imaginary part is
    larger than ``100 eps`` in magnitude, otherwise ``Re > 0``.
    """
    s = torch.sqrt(x)
    tol = 100 * torch.finfo(s.real.dtype).eps
    backward = torch.where(s.imag.abs() > tol, s.imag < 0, s.real < 0)
    return torch.where(backward, -s, s)


def _layer_major(x: torch.Tensor, ndim: int) -> torch.Tensor:
    """``(..., L)`` -> ``(L, ...)`` with the batch dims left-padded to ``ndim``."""
    x = x.reshape((1,) * (ndim - (x.ndim - 1)) + tuple(x.shape))
    return x.movedim(-1, 0)


def _batch_first(x: torch.Tensor, ndim: int) -> torch.Tensor:
    return x.reshape((1,) * (ndim - x.ndim) + tuple(x.shape))


def _take(x: torch.Tensor, dim: int, start: int, length: int) -> torch.Tensor:
    return x if x.shape[dim] == 1 else x.narrow(dim, start, min(length, x.shape[dim] - start))


def solve(
    *,
    eta: torch.Tensor,
    slowness: torch.Tensor,
    r_sign: float,
    t_factor: torch.Tensor | None,
    flux: torch.Tensor,
    scale: torch.Tensor,
    thickness: torch.Tensor,
    chunk_size: int,
    gradient: str,
) -> tuple[torch.Tensor, ...]:
    """Run the engine over the broadcast batch, in chunks along its longest dimension.

    Quantities keep their own (broadcastable) batch shapes: admittances and slownesses
    depend on angle and material only, ``scale`` on the wavelength/frequency, so interface
    coefficients are computed once per angle, and only the phase and the sweep run per point.

    Args:
        eta: admittances, complex ``(*Se, L)``.
        slowness: normal wavenumber per unit ``scale`` (``n cos(theta)`` or ``cos/c``),
            complex, ``(*Se, L)``; ``kz = scale * slowness``.
        r_sign: factor applied to the tangential ``r`` (-1 for Byrnes' p convention).
        t_factor: factor applied to the tangential ``t``, shape ``Se``, or None.
        flux: transmitted/incident normal flux per ``|t|^2``, shape ``Se``.
        scale: ``k0`` (rad/m) or ``omega`` (rad/s), shape ``Sk``.
        thickness: ``(*Sd, L)`` in m (ends ignored).
        chunk_size: batch points per chunk.
        gradient: ``"autograd"`` or ``"adjoint"``.

    Returns:
        ``(r, t, R, T, A)`` of the broadcast batch shape.
    """
    shape = tuple(torch.broadcast_shapes(eta.shape[:-1], scale.shape, thickness.shape[:-1]))
    ndim = len(shape)
    eta_l = _layer_major(eta, ndim)
    slow_l = _layer_major(slowness[..., 1:-1], ndim)
    d_l = _layer_major(thickness[..., 1:-1], ndim)
    scale_b = _batch_first(scale, ndim)
    n_points = math.prod(shape)
    if ndim == 0 or n_points <= chunk_size:
        dim = 0
        size = step = shape[0] if ndim else 1
    else:
        dim = max(range(ndim), key=lambda k: shape[k])
        size = shape[dim]
        step = max(1, chunk_size // (n_points // size))
    outputs = []
    for start in range(0, size, step):
        if ndim == 0:
            eta_c, slow_c, d_c, k_c = eta_l, slow_l, d_l, scale_b
        else:
            eta_c = _take(eta_l, dim + 1, start, step)
            slow_c = _take(slow_l, dim + 1, start, step)
            d_c = _take(d_l, dim + 1, start, step)
            k_c = _take(scale_b, dim, start, step)
        if gradient == "adjoint":
            r, t, _ = TMMAdjoint.apply(eta_c, k_c * d_c, slow_c)
        else:
            r, t = sweep(eta_c, propagator(k_c * d_c, slow_c))
        outputs.append((r, t))
    if len(outputs) == 1:
        r, t = outputs[0]
    else:
        r, t = (torch.cat(group, dim=dim) for group in zip(*outputs, strict=True))
    r, t = r.expand(shape), t.expand(shape)
    if r_sign != 1.0:
        r = r * r_sign
    if t_factor is not None:
        t = t * t_factor
    R = r.real**2 + r.imag**2
    T = (t.real**2 + t.imag**2) * flux
    return r, t, R, T, 1.0 - R - T
