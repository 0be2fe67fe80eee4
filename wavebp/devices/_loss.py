"""Insertion loss and the non-reciprocal (Faraday-type) phase element."""

from __future__ import annotations

import torch

from wavebp._core import as_tensor, check_choice, complex_dtype, db_to_amplitude

__all__ = ["insertion_loss_amplitude", "nonreciprocal_phase", "nonreciprocal_phase_shifter"]


def insertion_loss_amplitude(
    loss_db: torch.Tensor | float,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Field (amplitude) transmission ``10^(-loss_db / 20)`` of a component's insertion loss.

    Args:
        loss_db: insertion loss in dB (power), ``>= 0``, scalar or real ``(...)`` tensor
            (e.g. one value per MZI).
        dtype: real dtype when ``loss_db`` is not a tensor (a tensor keeps its own).
        device: device when ``loss_db`` is not a tensor.

    Returns:
        Real tensor ``(...)`` in ``(0, 1]``; its square is the power transmission.
    """
    if isinstance(loss_db, torch.Tensor):
        value = loss_db if loss_db.is_floating_point() else loss_db.to(dtype)
    else:
        value = as_tensor(loss_db, dtype=dtype, device=device)
    bad = ~(torch.isfinite(value.detach()) & (value.detach() >= 0))
    if bool(bad.any()):
        raise ValueError(
            f"loss_db must be finite and >= 0 dB, got {float(value.detach()[bad].flatten()[0])!r}"
        )
    return db_to_amplitude(value)


def nonreciprocal_phase(psi: torch.Tensor | float, *, direction: str = "forward") -> torch.Tensor:
    """Transfer factor of a Faraday-type phase element: ``exp(+i psi)`` forward,
    ``exp(-i psi)`` backward.

    Args:
        psi: non-reciprocal phase in rad, real ``(...)``.
        direction: ``"forward"`` or ``"backward"`` propagation.

    Returns:
        Complex tensor ``(...)``.
    """
    check_choice("direction", direction, ("forward", "backward"))
    if not isinstance(psi, torch.Tensor):
        psi = torch.as_tensor(psi, dtype=torch.float64)
    if psi.is_complex():
        raise ValueError(f"psi must be a real phase in rad, got dtype {psi.dtype}")
    sign = 1.0 if direction == "forward" else -1.0
    return torch.polar(torch.ones_like(psi), sign * psi).to(complex_dtype(psi.dtype))


def nonreciprocal_phase_shifter(psi: torch.Tensor | float) -> torch.Tensor:
    r"""Two-port S-matrix of a Faraday-type phase element (port 0 left, port 1 right).

    .. math:: S = \begin{pmatrix} 0 & e^{-i\psi} \\ e^{i\psi} & 0 \end{pmatrix}

    ``S[1, 0]`` (left to right) is ``exp(+i psi)``, ``S[0, 1]`` (right to left)
    ``exp(-i psi)``: ``S`` is not symmetric unless ``psi`` is a multiple of ``pi`` — it
    breaks Lorentz reciprocity, as a magneto-optic element does.

    Args:
        psi: non-reciprocal phase in rad, real ``(...)``.

    Returns:
        Complex ``(..., 2, 2)``.
    """
    fwd = nonreciprocal_phase(psi, direction="forward")
    bwd = nonreciprocal_phase(psi, direction="backward")
    zero = torch.zeros_like(fwd)
    return torch.stack([torch.stack([zero, bwd], -1), torch.stack([fwd, zero], -1)], -2)
