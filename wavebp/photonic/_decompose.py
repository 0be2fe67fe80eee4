r"""Clements (2016) and Reck (1994) decompositions of a unitary into an MZI mesh.

The result is defined by the mesh convention of :mod:`wavebp.simulators.mesh` and the MZI
convention of :func:`wavebp.devices.mzi` (ideal couplers):

.. math::

    U = \mathrm{diag}(e^{i\gamma})\, C_{K-1} \cdots C_1 C_0, \qquad
    \mathrm{MZI}(\theta, \phi) = i e^{i\theta/2}
    \begin{pmatrix} \sin(\theta/2) e^{i\phi} & \cos(\theta/2) \\
                    \cos(\theta/2) e^{i\phi} & -\sin(\theta/2) \end{pmatrix},

where column ``C_c`` holds the MZIs of layout column ``c`` and ``gamma`` is the output phase
screen (the closed form of ``MZI`` is the product ``B diag(e^{i theta}, 1) B diag(e^{i phi}, 1)``
with 50:50 couplers multiplied out).

Algorithm. Both decompositions null the matrix one element at a time with 2x2 MZI
rotations on adjacent rows or columns, so each step touches only two rows/columns
(``O(N)`` work, ``O(N^3)`` in total):

* Reck: rotations applied on the right only (``U T_1^{-1} T_2^{-1} ... = D``), nulling row
  ``r`` from the right end towards column ``r`` with the pairs ``N-2, N-3, ..., r``. The
  rotations in the order applied are the MZIs in propagation order, and ``D`` is the output
  phase screen: ``U = D ... T_2 T_1``.
* Clements: diagonals of the lower triangle nulled alternately from the right
  (``T^{-1}`` applied on the right) and from the left (``T`` applied on the left), giving
  ``T_{L,m} ... T_{L,1} U T_{R,1}^{-1} ... T_{R,n}^{-1} = D``. The left rotations are then
  moved through ``D`` to the output side with the identity (derived for this convention
  and checked numerically in the tests)

  .. math::

      \mathrm{MZI}(\theta, \phi)^{-1}\, \mathrm{diag}(e^{i a}, e^{i b})
      = \mathrm{diag}(e^{i(b - \phi - \theta + \pi)}, e^{i(b - \theta + \pi)})\,
        \mathrm{MZI}(\theta, a - b),

  so ``U = D' T'_{L,1} ... T'_{L,m} T_{R,n} ... T_{R,1}``.

Each MZI is then placed in the layout of :func:`wavebp.simulators.mesh.mesh_layout`: the
``k``-th MZI (in propagation order) acting on port pair ``(p, p+1)`` goes to the ``k``-th
layout column that has an MZI at top port ``p``; the placement is checked to keep the
order of every two MZIs that share a port, so the layout product equals the decomposition.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from wavebp._core import check_choice, real_dtype
from wavebp.simulators.mesh import TOPOLOGIES, MeshLayout, mesh_layout

__all__ = ["UNITARY_TOLERANCE", "commute_mzi_through_phases", "decompose"]

#: Largest ``max |U^H U - I|`` accepted by :func:`decompose`, by precision of ``U``.
#: complex128: far above the ~1e-15 of a matrix that is unitary to rounding, far below any
#: physically meaningful non-unitarity. complex64: float32 rounding of a unitary gives
#: ``~sqrt(N) * 6e-8``; 1e-4 admits N up to thousands while rejecting real loss.
UNITARY_TOLERANCE = {torch.complex128: 1e-6, torch.complex64: 1e-4}

_TWO_PI = 2.0 * math.pi


def _mzi_np(theta: float, phi: float) -> np.ndarray:
    """Closed form of the ideal MZI (module docstring), complex128 ``(2, 2)``."""
    s = math.sin(0.5 * theta)
    c = math.cos(0.5 * theta)
    g = 1j * complex(math.cos(0.5 * theta), math.sin(0.5 * theta))
    e = complex(math.cos(phi), math.sin(phi))
    return np.array([[g * s * e, g * c], [g * c * e, -g * s]], dtype=np.complex128)


def commute_mzi_through_phases(
    theta: float, phi: float, a: float, b: float
) -> tuple[float, float, float, float]:
    r"""Move an inverse MZI through a diagonal phase screen to its output side.

    Solves ``MZI(theta, phi)^{-1} diag(e^{ia}, e^{ib}) = diag(e^{ia'}, e^{ib'}) MZI(theta, phi')``
    for the ideal MZI convention of :func:`wavebp.devices.mzi`.

    Args:
        theta: internal phase of the MZI in rad.
        phi: external phase of the MZI in rad.
        a: phase on the top port of the screen in rad.
        b: phase on the bottom port of the screen in rad.

    Returns:
        ``(a', b', theta, phi')`` in rad: ``a' = b - phi - theta + pi``,
        ``b' = b - theta + pi``, ``phi' = a - b``. ``theta`` is unchanged.
    """
    return (b - phi - theta + math.pi, b - theta + math.pi, theta, a - b)


def _validate_unitary(u: torch.Tensor) -> torch.Tensor:
    if not isinstance(u, torch.Tensor):
        raise ValueError(f"U must be a torch.Tensor of shape (N, N), got {type(u).__name__}")
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise ValueError(
            f"U must be a square 2-D matrix of shape (N, N), got shape {tuple(u.shape)}"
        )
    if u.shape[0] < 2:
        raise ValueError(f"U must have N >= 2 ports (shape (N, N)), got shape {tuple(u.shape)}")
    if u.dtype in (torch.float32, torch.float64):
        u = u.to(torch.complex64 if u.dtype == torch.float32 else torch.complex128)
    if u.dtype not in UNITARY_TOLERANCE:
        raise ValueError(
            f"U must be complex64 or complex128 (or real float32/float64), got dtype {u.dtype}"
        )
    finite = torch.isfinite(u)
    if not bool(finite.all()):
        raise ValueError(
            f"U must be finite, got {int((~finite).sum())} non-finite entries "
            f"(shape {tuple(u.shape)})"
        )
    return u


def _unitary_defect(u: np.ndarray) -> float:
    return float(np.abs(u.conj().T @ u - np.eye(u.shape[0])).max())


def _nearest_unitary(u: np.ndarray) -> np.ndarray:
    """Polar factor ``W V^H`` of ``U = W S V^H``: the closest unitary in any unitarily
    invariant norm. Removes the rounding of a complex64 input before the nulling."""
    w, _, vh = np.linalg.svd(u)
    return w @ vh


def _null_reck(u: np.ndarray) -> tuple[list[tuple[int, float, float]], np.ndarray]:
    """Right-nulling only. Returns the MZIs ``(top_port, theta, phi)`` in propagation order
    and the output phases."""
    n = u.shape[0]
    seq = []
    for r in range(n - 1):
        for k in range(n - 2, r - 1, -1):
            a = u[r, k]
            b = u[r, k + 1]
            # (U T^{-1})[r, k+1] = 0  <=>  cos(theta/2) e^{-i phi} a = sin(theta/2) b
            theta = 2.0 * math.atan2(abs(a), abs(b))
            phi = (np.angle(a) - np.angle(b)) % _TWO_PI
            u[:, k : k + 2] = u[:, k : k + 2] @ _mzi_np(theta, phi).conj().T
            seq.append((k, theta, phi))
    return seq, np.angle(np.diag(u))


def _null_clements(u: np.ndarray) -> tuple[list[tuple[int, float, float]], np.ndarray]:
    """Alternate right/left nulling (Clements et al. 2016), then move the left MZIs through
    the phase screen. Returns the MZIs ``(top_port, theta, phi)`` in propagation order and
    the output phases."""
    n = u.shape[0]
    right = []
    left = []
    for i in range(n - 1):
        if i % 2 == 0:
            for j in range(i + 1):
                r, k = n - 1 - j, i - j
                a = u[r, k]
                b = u[r, k + 1]
                # (U T^{-1})[r, k] = 0  <=>  sin(theta/2) e^{-i phi} a = -cos(theta/2) b
                theta = 2.0 * math.atan2(abs(b), abs(a))
                phi = (np.angle(a) - np.angle(b) + math.pi) % _TWO_PI
                u[:, k : k + 2] = u[:, k : k + 2] @ _mzi_np(theta, phi).conj().T
                right.append((k, theta, phi))
        else:
            for j in range(i + 1):
                k, col = n - 2 - i + j, j
                a = u[k, col]
                b = u[k + 1, col]
                # (T U)[k+1, col] = 0  <=>  cos(theta/2) e^{i phi} a = sin(theta/2) b
                theta = 2.0 * math.atan2(abs(a), abs(b))
                phi = (np.angle(b) - np.angle(a)) % _TWO_PI
                u[k : k + 2, :] = _mzi_np(theta, phi) @ u[k : k + 2, :]
                left.append((k, theta, phi))
    gamma = np.angle(np.diag(u)).copy()
    moved = []
    # U = T_L1^{-1} ... T_Lm^{-1} D (right part): commute the innermost (last applied) first.
    for k, theta, phi in reversed(left):
        a_new, b_new, theta, phi_new = commute_mzi_through_phases(
            theta, phi, gamma[k], gamma[k + 1]
        )
        gamma[k], gamma[k + 1] = a_new, b_new
        moved.append((k, theta, phi_new % _TWO_PI))
    # propagation order: right MZIs as applied, then the moved ones from innermost outwards.
    return right + moved, gamma


def _place(seq: list[tuple[int, float, float]], layout: MeshLayout) -> np.ndarray:
    """Index in layout order of each MZI of ``seq`` (propagation order)."""
    top = layout.top_port
    column = layout.mzi_column
    slots: dict[int, list[int]] = {}
    for m, p in enumerate(top.tolist()):
        slots.setdefault(p, []).append(m)
    used = dict.fromkeys(slots, 0)
    last = np.full(layout.n_ports, -1, dtype=np.int64)
    index = np.empty(len(seq), dtype=np.int64)
    for s, (p, _, _) in enumerate(seq):
        m = slots[p][used[p]]
        used[p] += 1
        c = column[m]
        if c <= last[p] or c <= last[p + 1]:  # pragma: no cover - an internal invariant
            raise RuntimeError(f"decomposition does not fit the {layout.topology} layout")
        last[p] = last[p + 1] = c
        index[s] = m
    if len(seq) != layout.n_mzis:  # pragma: no cover - an internal invariant
        raise RuntimeError("decomposition has the wrong number of MZIs")
    return index


def decompose(
    U: torch.Tensor, *, topology: str = "clements"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Phases of the MZI mesh that implements the unitary ``U``.

    Clements et al., Optica 3, 1460 (2016) (rectangular, ``topology="clements"``) or
    Reck et al., PRL 73, 58 (1994) (triangular, ``topology="reck"``); both give
    ``N (N - 1) / 2`` MZIs in the order of ``mesh_layout(N, topology=topology)``, so that

    ``mesh_matrix_reference(mzi(theta, phi), output_phase, mesh_layout(N, topology=...))``
    equals ``U`` (to ~1e-13 for complex128, see the tests).

    The nulling runs on the CPU in complex128 (numpy) on the nearest unitary to ``U`` (its
    polar factor), which removes the float32 rounding of a complex64 input. The result is
    not differentiable with respect to ``U``.

    Args:
        U: unitary, complex ``(N, N)``, ``N >= 2``, complex128 or complex64 (real float64 or
            float32 accepted as orthogonal matrices). ``y = U @ x``.
        topology: ``"clements"`` or ``"reck"``.

    Returns:
        ``(theta, phi, output_phase)``: real tensors of ``U``'s real dtype (float64 for
        complex128, float32 for complex64) on ``U``'s device, in rad:
        ``theta (M,)`` internal phases in ``[0, pi]``, ``phi (M,)`` external phases in
        ``[0, 2 pi)``, ``output_phase (N,)`` the output phase screen in ``[0, 2 pi)``;
        ``M = N (N - 1) / 2``, in layout MZI order.

    Raises:
        ValueError: ``U`` not a square 2-D matrix with ``N >= 2``, not finite, of an
            unsupported dtype, or not unitary within :data:`UNITARY_TOLERANCE`
            (``max |U^H U - I|`` <= 1e-6 for complex128, 1e-4 for complex64);
            ``topology`` unknown.
    """
    check_choice("topology", topology, TOPOLOGIES)
    u_t = _validate_unitary(U)
    n = u_t.shape[0]
    u = u_t.detach().to(device="cpu", dtype=torch.complex128).numpy().copy()
    tol = UNITARY_TOLERANCE[u_t.dtype]
    defect = _unitary_defect(u)
    if not defect <= tol:
        raise ValueError(
            f"U must be unitary: max |U^H U - I| must be <= {tol:g} for {u_t.dtype}, "
            f"got {defect:.3g} (shape {tuple(u_t.shape)})"
        )
    u = _nearest_unitary(u)
    layout = mesh_layout(n, topology=topology)
    seq, gamma = _null_clements(u) if topology == "clements" else _null_reck(u)
    index = _place(seq, layout)
    theta = np.empty(layout.n_mzis)
    phi = np.empty(layout.n_mzis)
    seq_arr = np.array([(t, f) for _, t, f in seq], dtype=np.float64)
    theta[index] = seq_arr[:, 0]
    phi[index] = seq_arr[:, 1]
    gamma = np.mod(gamma, _TWO_PI)
    rdt = real_dtype(u_t.dtype)
    out = []
    for arr, period in ((theta, None), (phi, _TWO_PI), (gamma, _TWO_PI)):
        t = torch.from_numpy(arr).to(dtype=rdt)
        if period is not None:
            # rounding (to float32, or of x mod 2 pi) may land exactly on 2 pi
            t = torch.where(t >= torch.tensor(period, dtype=rdt), torch.zeros_like(t), t)
        out.append(t.to(u_t.device))
    return out[0], out[1], out[2]
