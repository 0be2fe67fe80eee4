"""Mesh engine: columns of 2x2 elements, fields at every element, reciprocal backward.

Public API (pure functions; no ``nn.Module``):

* :class:`MeshLayout`, :func:`mesh_layout` — where the MZIs sit.
* :class:`MeshParams` — effective per-MZI parameters (phases, coupler errors, loss,
  non-reciprocal phase, output phase screen).
* :func:`mzi_transfer` — closed-form ``(M, 2, 2)`` MZI matrices, forward or backward.
* :func:`transfer_matrix`, :func:`propagate` — fast ``U`` / ``U_back`` and batch propagation,
  ``gradient="adjoint" | "autograd"``.
* :func:`forward_fields`, :func:`backward_fields` (:class:`MeshFields`),
  :func:`shifter_gradient`, :func:`scattering_matrix` — what an in-situ experiment sees;
  :func:`shifter_fields` — the same shifter fields in one in-place sweep (the in-situ passes);
  :func:`shifter_power_sums` — their batch-summed powers from the batch coherence matrix.
* :func:`mesh_matrix_reference` — the slow definition, for tests.
"""

from wavebp.simulators.mesh._elements import DIRECTIONS, mzi_transfer
from wavebp.simulators.mesh._engine import (
    GRADIENTS,
    default_block_columns,
    propagate,
    transfer_matrix,
)
from wavebp.simulators.mesh._fields import (
    MeshFields,
    backward_fields,
    forward_fields,
    scattering_matrix,
    shifter_fields,
    shifter_gradient,
    shifter_power_sums,
)
from wavebp.simulators.mesh._layout import TOPOLOGIES, MeshLayout, mesh_layout
from wavebp.simulators.mesh._params import MeshParams
from wavebp.simulators.mesh._reference import mesh_matrix_reference

__all__ = [
    "DIRECTIONS",
    "GRADIENTS",
    "TOPOLOGIES",
    "MeshFields",
    "MeshLayout",
    "MeshParams",
    "backward_fields",
    "default_block_columns",
    "forward_fields",
    "mesh_layout",
    "mesh_matrix_reference",
    "mzi_transfer",
    "propagate",
    "scattering_matrix",
    "shifter_fields",
    "shifter_gradient",
    "shifter_power_sums",
    "transfer_matrix",
]
