r"""A slow, obviously-correct mesh transfer matrix: the definition the fast engine must match.

.. math::

    U = \mathrm{diag}(e^{i\gamma})\, C_{K-1} \cdots C_1 C_0,

where ``C_c`` is the identity with the 2x2 block ``mzi(theta[m], phi[m], coupler_error=...)``
on rows/columns ``(p, p + 1)`` for every MZI ``m`` of column ``c`` (``p = top_port[m]``),
and ``gamma`` is the output phase screen. Used only in tests and as documentation.
"""

from __future__ import annotations

import torch

from wavebp.simulators.mesh._layout import MeshLayout

__all__ = ["mesh_matrix_reference"]


def mesh_matrix_reference(
    mzi_matrices: torch.Tensor,
    output_phase: torch.Tensor | None,
    layout: MeshLayout,
) -> torch.Tensor:
    """Multiply out a mesh one MZI at a time (a Python loop: the definition the fast engine is
    tested against, and the path for per-MZI transfers the engine cannot take, e.g. a
    common-mode phase per MZI in :func:`wavebp.photonic.chip_matrix`).

    Args:
        mzi_matrices: complex ``(n_mzis, 2, 2)``, the transfer matrix of each MZI in layout
            order (e.g. from :func:`wavebp.devices.mzi`).
        output_phase: real ``(n_ports,)`` output phase screen in rad, or ``None``.
        layout: the mesh layout.

    Returns:
        Complex ``(n_ports, n_ports)`` transfer matrix ``U`` (``y = U @ x``).
    """
    n = layout.n_ports
    u = torch.eye(n, dtype=mzi_matrices.dtype, device=mzi_matrices.device)
    m = 0
    for ports in layout.columns:
        col = torch.eye(n, dtype=mzi_matrices.dtype, device=mzi_matrices.device)
        for p in ports:
            col[p : p + 2, p : p + 2] = mzi_matrices[m]
            m += 1
        u = col @ u
    if output_phase is not None:
        u = torch.polar(torch.ones_like(output_phase), output_phase).unsqueeze(-1) * u
    return u
