r"""Where the MZIs of a mesh sit: columns of 2x2 elements on adjacent port pairs.

A mesh of ``n_ports`` ports is a sequence of *columns*; light goes through column 0 first.
Each MZI acts on the adjacent port pair ``(top_port, top_port + 1)`` of its column, and no
two MZIs of a column share a port. MZIs are numbered column by column, top to bottom, so
the MZIs of column ``c`` are the contiguous index range ``column_start[c]:column_start[c+1]``.

Both topologies hold exactly ``n_ports * (n_ports - 1) / 2`` MZIs:

* ``"clements"`` (Clements et al., Optica 2016): ``n_ports`` columns; column ``c`` has MZIs
  on the pairs whose top port ``p`` has the parity of ``c`` (``p = c % 2, c % 2 + 2, ...``).
* ``"reck"`` (Reck et al., PRL 1994): a triangle of ``2 n_ports - 3`` columns; column ``l``
  has MZIs at top ports ``p`` with ``p = (l + n_ports) mod 2`` and
  ``max(0, n_ports - 2 - l, l - n_ports + 2) <= p <= n_ports - 2``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from wavebp._core import check_choice, check_int

__all__ = ["TOPOLOGIES", "MeshLayout", "mesh_layout"]

TOPOLOGIES = ("clements", "reck")


@dataclass(frozen=True, kw_only=True)
class MeshLayout:
    """Positions of the MZIs of a mesh.

    Attributes:
        n_ports: number of waveguides ``N``.
        topology: ``"clements"`` or ``"reck"``.
        columns: for each column, the top ports of its MZIs (ascending).
    """

    n_ports: int
    topology: str
    columns: tuple[tuple[int, ...], ...] = field(repr=False)

    def __post_init__(self) -> None:
        check_int("n_ports", self.n_ports, minimum=2)
        for c, ports in enumerate(self.columns):
            for p in ports:
                if not 0 <= p <= self.n_ports - 2:
                    raise ValueError(
                        f"columns[{c}] has an MZI at top port {p}, valid range is "
                        f"[0, {self.n_ports - 2}]"
                    )
            if any(b - a < 2 for a, b in itertools.pairwise(ports)):
                raise ValueError(f"columns[{c}] has MZIs sharing a port: {ports}")

    @property
    def n_columns(self) -> int:
        """Number of columns (the optical depth in MZIs)."""
        return len(self.columns)

    @property
    def n_mzis(self) -> int:
        """Number of MZIs."""
        return sum(len(c) for c in self.columns)

    @cached_property
    def column_start(self) -> np.ndarray:
        """``(n_columns + 1,)`` index of the first MZI of each column (and the total)."""
        return np.concatenate([[0], np.cumsum([len(c) for c in self.columns])]).astype(np.int64)

    @cached_property
    def mzi_column(self) -> np.ndarray:
        """``(n_mzis,)`` column of each MZI."""
        return np.repeat(np.arange(self.n_columns), [len(c) for c in self.columns])

    @cached_property
    def top_port(self) -> np.ndarray:
        """``(n_mzis,)`` top port of each MZI (it acts on ports ``p`` and ``p + 1``)."""
        return np.array([p for c in self.columns for p in c], dtype=np.int64)

    def index_tensors(self, device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """``mzi_column`` and ``top_port`` as int64 tensors on ``device``."""
        return {
            "mzi_column": torch.as_tensor(self.mzi_column, device=device),
            "top_port": torch.as_tensor(self.top_port, device=device),
        }


def _clements_columns(n: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(range(c % 2, n - 1, 2)) for c in range(n))


def _reck_columns(n: int) -> tuple[tuple[int, ...], ...]:
    cols = []
    for l in range(2 * n - 3):
        lo = max(0, n - 2 - l, l - n + 2)
        start = lo + ((lo - (l + n)) % 2)
        cols.append(tuple(range(start, n - 1, 2)))
    return tuple(cols)


def mesh_layout(n_ports: int, *, topology: str = "clements") -> MeshLayout:
    """The layout of a universal ``n_ports`` x ``n_ports`` mesh.

    Args:
        n_ports: number of waveguides, an integer >= 2.
        topology: ``"clements"`` (rectangular, depth ``n_ports``) or ``"reck"``
            (triangular, depth ``2 n_ports - 3``).

    Returns:
        A :class:`MeshLayout` with ``n_ports (n_ports - 1) / 2`` MZIs.
    """
    n = check_int("n_ports", n_ports, minimum=2)
    check_choice("topology", topology, TOPOLOGIES)
    columns = _clements_columns(n) if topology == "clements" else _reck_columns(n)
    return MeshLayout(n_ports=n, topology=topology, columns=columns)
