"""Mesh engine: columns of 2x2 elements, fields at every element, reciprocal backward."""

from wavebp.simulators.mesh._layout import TOPOLOGIES, MeshLayout, mesh_layout
from wavebp.simulators.mesh._reference import mesh_matrix_reference

__all__ = ["TOPOLOGIES", "MeshLayout", "mesh_layout", "mesh_matrix_reference"]
