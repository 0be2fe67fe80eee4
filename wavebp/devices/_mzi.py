r"""Directional coupler and Mach–Zehnder interferometer (MZI) transfer matrices.

Convention (DESIGN.md), time-harmonic ``exp(-i omega t)``, ``S[..., i, j]`` = output ``i``
for unit input at ``j``:

.. math::

    B(e) = \begin{pmatrix} \cos(\pi/4+e) & i\sin(\pi/4+e) \\
                           i\sin(\pi/4+e) & \cos(\pi/4+e) \end{pmatrix},\qquad
    \mathrm{MZI}(\theta, \phi) = B(e_2)\,\mathrm{diag}(e^{i\theta}, 1)\,B(e_1)\,
                                 \mathrm{diag}(e^{i\phi}, 1).

``theta`` is the internal phase (between the couplers, on the top arm), ``phi`` the external
phase (before the first coupler, on the top input). With ideal couplers ``theta = 0`` is the
cross state and ``theta = pi`` the bar state; the bar-port power is ``sin^2(theta/2)``.
"""

from __future__ import annotations

import math

import torch

from wavebp._core import as_tensor, complex_dtype, real_dtype

__all__ = ["coupler", "mzi", "split_coupler_error"]

_MAX_ERROR = math.pi / 4


def _check_coupler_error(value: torch.Tensor) -> None:
    if not bool(torch.isfinite(value).all()) or bool((value.abs() >= _MAX_ERROR).any()):
        bad = value[~(torch.isfinite(value) & (value.abs() < _MAX_ERROR))].flatten()[0]
        raise ValueError(f"coupler_error must be in (-pi/4, pi/4) rad, got {float(bad)!r}")


def coupler(
    coupler_error: float | torch.Tensor = 0.0,
    *,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""Transfer matrix of a directional coupler with splitting error.

    Args:
        coupler_error: splitting error ``e`` in rad, shape ``(...)``; ``e = 0`` is 50:50.
            Power coupled across is ``sin^2(pi/4 + e)``. Must lie in ``(-pi/4, pi/4)``.
        dtype: complex dtype of the result (used when ``coupler_error`` is not a tensor;
            a tensor's own precision wins).
        device: device of the result (a tensor's own device wins).

    Returns:
        ``B(e)``, complex tensor of shape ``(..., 2, 2)``:
        ``[[cos(pi/4+e), i sin(pi/4+e)], [i sin(pi/4+e), cos(pi/4+e)]]``.
    """
    if isinstance(coupler_error, torch.Tensor):
        e = coupler_error
        if e.is_complex():
            raise ValueError(f"coupler_error must be real, got dtype {e.dtype}")
        if not e.is_floating_point():
            e = e.to(real_dtype(dtype))
    else:
        e = as_tensor(coupler_error, dtype=real_dtype(dtype), device=device)
    _check_coupler_error(e.detach())
    angle = e + math.pi / 4
    c = torch.cos(angle).to(complex_dtype(e.dtype))
    s = 1j * torch.sin(angle).to(complex_dtype(e.dtype))
    return torch.stack([torch.stack([c, s], -1), torch.stack([s, c], -1)], -2)


def split_coupler_error(
    coupler_error: float | tuple[float, float] | torch.Tensor,
    *,
    like: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a ``coupler_error`` argument into the errors of the first and second coupler.

    Args:
        coupler_error: a scalar (both couplers), a pair ``(e1, e2)``, or a tensor whose last
            dimension has size 2 (``[..., 0]`` first coupler, ``[..., 1]`` second).
            A 0-d tensor applies to both couplers.
        like: real tensor supplying dtype and device.

    Returns:
        ``(e1, e2)`` real tensors in rad.
    """
    if isinstance(coupler_error, tuple | list):
        if len(coupler_error) != 2:
            raise ValueError(
                "coupler_error must be a scalar or a pair (first, second coupler) in rad, "
                f"got a sequence of length {len(coupler_error)}"
            )
        e1 = as_tensor(coupler_error[0], like=like)
        e2 = as_tensor(coupler_error[1], like=like)
        return e1, e2
    e = as_tensor(coupler_error, like=like)
    if e.ndim == 0:
        return e, e
    if e.shape[-1] != 2:
        raise ValueError(
            "coupler_error must be a scalar, a pair, or a tensor with last dimension 2 "
            f"(first, second coupler), got shape {tuple(e.shape)}"
        )
    return e[..., 0], e[..., 1]


def mzi(
    theta: float | torch.Tensor,
    phi: float | torch.Tensor,
    *,
    coupler_error: float | tuple[float, float] | torch.Tensor = 0.0,
) -> torch.Tensor:
    r"""Transfer matrix of a Mach–Zehnder interferometer.

    ``MZI(theta, phi) = B(e2) @ diag(exp(i theta), 1) @ B(e1) @ diag(exp(i phi), 1)``
    with ``B`` the directional coupler of :func:`coupler`.

    Args:
        theta: internal phase in rad, shape ``(...)``. ``0`` = cross, ``pi`` = bar.
        phi: external phase in rad (on the top input), shape broadcasting with ``theta``.
        coupler_error: splitting errors in rad — a scalar (both couplers), a pair
            ``(e1, e2)``, or a tensor of shape ``(..., 2)``; each in ``(-pi/4, pi/4)``.

    Returns:
        Complex tensor ``(..., 2, 2)``, complex128 for float64 phases (and for Python
        numbers), complex64 for float32 phases. Differentiable in all arguments.
    """
    if not isinstance(theta, torch.Tensor) and not isinstance(phi, torch.Tensor):
        theta = torch.as_tensor(theta, dtype=torch.float64)
    if not isinstance(theta, torch.Tensor):
        theta = as_tensor(theta, like=phi)
    if not isinstance(phi, torch.Tensor):
        phi = as_tensor(phi, like=theta)
    if theta.is_complex() or phi.is_complex():
        raise ValueError("theta and phi must be real phases in rad, got a complex tensor")
    if not theta.is_floating_point():
        theta = theta.to(torch.float64)
    phi = phi.to(theta.dtype)
    e1, e2 = split_coupler_error(coupler_error, like=theta)
    b1 = coupler(e1)
    b2 = coupler(e2)
    cdt = complex_dtype(theta.dtype)
    one = torch.ones((), dtype=cdt, device=theta.device)
    zero = torch.zeros((), dtype=cdt, device=theta.device)

    def _diag(angle: torch.Tensor) -> torch.Tensor:
        p = torch.polar(torch.ones_like(angle), angle)
        o = one.expand_as(p)
        z = zero.expand_as(p)
        return torch.stack([torch.stack([p, z], -1), torch.stack([z, o], -1)], -2)

    return b2 @ _diag(theta) @ b1 @ _diag(phi)
