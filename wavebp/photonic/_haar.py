r"""Haar-random unitaries and the Haar-random initialisation of MZI meshes.

Sensitivity-index rule (Pai, Bartlett, Solgaard, Miller, Phys. Rev. Applied 11, 064044
(2019)). When a Haar-random ``U`` is decomposed (:func:`wavebp.photonic.decompose`), each
MZI's internal phase is independent of the others, with a distribution set by an integer
*sensitivity index* ``alpha`` that depends only on the MZI's position:

.. math::

    \cos^2(\theta/2) \sim \mathrm{Beta}(\alpha, 1), \qquad
    p(\theta) = \alpha \sin(\theta/2) \cos^{2\alpha - 1}(\theta/2), \quad
    \theta \in [0, \pi],

and every external phase ``phi`` (and the output phase screen) is uniform in
``[0, 2 pi)``. In this package's convention ``cos^2(theta/2)`` is the power an ideal MZI
sends to the cross port, so a large ``alpha`` biases the MZI towards the cross state
(``theta = 0``); ``alpha = 1`` makes the cross power uniform in ``[0, 1]``. Sampling:
``cos^2(theta/2) = u^(1/alpha)`` with ``u ~ U[0, 1)``.

Where ``alpha`` comes from (``p`` = top port of the MZI, ``c`` = its column, ``N`` ports):

* Reck: the decomposition nulls each row of ``U`` from the right end; the MZI on ports
  ``(p, p+1)`` merges the single entry in column ``p`` with the ``N - 1 - p`` entries
  already gathered from columns ``p+1 .. N-1``. The entries of a Haar row are uniform on
  the complex sphere (their squared moduli Dirichlet(1, ..., 1)), so the gathered share of
  the power, ``cos^2(theta/2)``, is ``Beta(N - 1 - p, 1)``: ``alpha = N - 1 - p``.
* Clements: ``alpha = min(2c + 1, 2(N - c) - 1, 2(p + 1), 2(N - 1 - p))``, set by the
  MZI's distance to the nearest edge of the rectangle (input side, output side, top,
  bottom). Along each diagonal of the mesh it changes in steps of 2, growing from the
  edges towards the centre, where it reaches ``N - 1``. This closed form
  was derived from the phases that :func:`decompose` extracts (below) and cross-checked,
  outside the test suite, against the rectangular rule of Pai et al. as implemented in
  neurophox (``get_alpha_checkerboard``) for every N = 2..64.

Both rules are checked in the tests against the phases that :func:`decompose` extracts
from Haar-random matrices, and the meshes they generate against the Haar statistics of
``|U_ij|^2`` (``Beta(1, N - 1)``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from wavebp._core import check_choice, check_int
from wavebp.simulators.mesh import TOPOLOGIES, MeshLayout

__all__ = ["haar_phases", "haar_unitary", "sensitivity_index"]


def _check_layout(layout: MeshLayout) -> None:
    if not isinstance(layout, MeshLayout):
        raise ValueError(
            "layout must be a MeshLayout (wavebp.simulators.mesh.mesh_layout), "
            f"got {type(layout).__name__}"
        )
    check_choice("layout.topology", layout.topology, TOPOLOGIES)


def _generator_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def sensitivity_index(layout: MeshLayout) -> torch.Tensor:
    """Sensitivity index ``alpha`` of every MZI of a Clements or Reck mesh.

    Args:
        layout: the mesh layout (:func:`wavebp.simulators.mesh.mesh_layout`).

    Returns:
        int64 tensor ``(n_mzis,)`` in layout MZI order, values in ``[1, n_ports - 1]``
        (see the module docstring for the rules).
    """
    _check_layout(layout)
    n = layout.n_ports
    p = layout.top_port
    if layout.topology == "reck":
        alpha = n - 1 - p
    else:
        c = layout.mzi_column
        alpha = np.minimum.reduce([2 * c + 1, 2 * (n - c) - 1, 2 * (p + 1), 2 * (n - 1 - p)])
    return torch.as_tensor(np.asarray(alpha, dtype=np.int64))


def haar_phases(
    layout: MeshLayout,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
    shape: tuple[int, ...] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Phases that make a Clements or Reck mesh a Haar-random unitary.

    ``theta`` of each MZI from its own distribution ``cos^2(theta/2) ~ Beta(alpha, 1)``
    (``alpha`` from :func:`sensitivity_index`), ``phi`` uniform in ``[0, 2 pi)``. With
    the output phase screen also uniform in ``[0, 2 pi)`` the mesh matrix is exactly
    Haar-distributed; the moduli ``|U_ij|`` do not depend on the output phases.

    Args:
        layout: the mesh layout (:func:`wavebp.simulators.mesh.mesh_layout`).
        generator: source of randomness (``None``: torch's default generator). The samples
            are drawn on the generator's device.
        dtype: real dtype of the phases, float32 or float64.
        device: device of the result (default: the generator's device, else the CPU).
        shape: leading batch shape, for many independent meshes at once (default ``()``).

    Returns:
        ``(theta, phi)``, each ``(*shape, n_mzis)`` in layout MZI order, in rad:
        ``theta`` in ``[0, pi]``, ``phi`` in ``[0, 2 pi)``.
    """
    _check_layout(layout)
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    shape = tuple(check_int("shape entries", k, minimum=0) for k in shape)
    gdev = _generator_device(generator)
    size = (*shape, layout.n_mzis)
    alpha = sensitivity_index(layout).to(device=gdev, dtype=torch.float64)
    # sample in float64, so u^(1/alpha) keeps its precision for alpha up to N - 1
    u = torch.rand(size, generator=generator, dtype=torch.float64, device=gdev)
    v = torch.rand(size, generator=generator, dtype=torch.float64, device=gdev)
    # bar power sin^2(theta/2) = 1 - u^(1/alpha), written with expm1 for small 1 - u^(1/alpha)
    bar = -torch.expm1(torch.log(u) / alpha)
    theta = 2.0 * torch.asin(torch.sqrt(bar.clamp(0.0, 1.0)))
    phi = (2.0 * math.pi) * v
    theta = theta.to(dtype=dtype, device=device if device is not None else gdev)
    phi = phi.to(dtype=dtype, device=device if device is not None else gdev)
    # float32 rounding of 2 pi (1 - 2^-53) may give exactly 2 pi
    phi = torch.where(phi >= torch.tensor(2.0 * math.pi, dtype=dtype), torch.zeros_like(phi), phi)
    return theta, phi


def haar_unitary(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A Haar-random unitary matrix (Mezzadri's recipe).

    QR decomposition of a complex Gaussian matrix ``Z`` (i.i.d. entries, ``E|Z_ij|^2 = 1``)
    in complex128, with the phases of ``diag(R)`` moved into ``Q`` so that the result is
    Haar-distributed (plain QR is not).

    Args:
        n: matrix size, an integer >= 1.
        generator: source of randomness (``None``: torch's default generator); samples are
            drawn on the generator's device.
        dtype: complex64 or complex128.
        device: device of the result (default: the generator's device, else the CPU).

    Returns:
        Complex ``(n, n)`` unitary (to the rounding of ``dtype``).
    """
    n = check_int("n", n, minimum=1)
    if dtype not in (torch.complex64, torch.complex128):
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype!r}")
    gdev = _generator_device(generator)
    g = torch.randn(2, n, n, generator=generator, dtype=torch.float64, device=gdev)
    z = torch.complex(g[0], g[1]) * math.sqrt(0.5)
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r)
    q = q * (d / d.abs()).unsqueeze(0)
    return q.to(dtype=dtype, device=device if device is not None else gdev)
