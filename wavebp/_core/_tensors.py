"""dtype, device and generator helpers. Torch at the API; numpy only through these."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "as_tensor",
    "complex_dtype",
    "real_dtype",
    "to_numpy",
]

_REAL_OF = {
    torch.complex64: torch.float32,
    torch.complex128: torch.float64,
    torch.float32: torch.float32,
    torch.float64: torch.float64,
    torch.float16: torch.float16,
    torch.bfloat16: torch.bfloat16,
}
_COMPLEX_OF = {
    torch.float32: torch.complex64,
    torch.float64: torch.complex128,
    torch.complex64: torch.complex64,
    torch.complex128: torch.complex128,
}


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching ``dtype`` (complex64 -> float32, complex128 -> float64)."""
    try:
        return _REAL_OF[dtype]
    except KeyError:
        raise ValueError(
            f"dtype must be a floating or complex torch dtype, got {dtype!r}"
        ) from None


def complex_dtype(dtype: torch.dtype) -> torch.dtype:
    """The complex dtype matching ``dtype`` (float32 -> complex64, float64 -> complex128)."""
    try:
        return _COMPLEX_OF[dtype]
    except KeyError:
        raise ValueError(
            f"dtype must be float32, float64, complex64 or complex128, got {dtype!r}"
        ) from None


def as_tensor(
    value: Any,
    *,
    like: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Convert ``value`` (tensor, numpy array or number) to a tensor.

    ``like`` supplies the device (and the dtype, if ``dtype`` is not given). A tensor that
    already has the right dtype and device is returned as is, so gradients flow through.
    """
    if like is not None:
        device = like.device if device is None else device
        dtype = like.dtype if dtype is None else dtype
    if isinstance(value, torch.Tensor):
        return value.to(dtype=dtype or value.dtype, device=device or value.device)
    if isinstance(value, np.ndarray):
        # np.ascontiguousarray would turn a 0-d array into shape (1,): copy only if needed.
        array = value if value.flags.c_contiguous else value.copy(order="C")
        return torch.from_numpy(array).to(dtype=dtype, device=device)
    return torch.as_tensor(value, dtype=dtype, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A detached numpy copy of ``tensor`` (on the CPU)."""
    return tensor.detach().cpu().numpy()
