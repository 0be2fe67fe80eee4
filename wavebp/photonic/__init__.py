"""Optical networks: Clements/Reck meshes, decompositions, ONN models, in-situ backprop."""

from wavebp.photonic._decompose import decompose
from wavebp.photonic._haar import haar_phases, haar_unitary, sensitivity_index
from wavebp.photonic._insitu import (
    HARDWARE_PRESETS,
    PROTOCOLS,
    HardwareConfig,
    cosine_error,
    gradient_error,
    insitu_gradient,
    mesh_imperfections,
    mesh_physical_params,
)
from wavebp.photonic._mesh import INITS, Mesh, MeshImperfections
from wavebp.photonic._onn import ENCODINGS, ONN, ONN_ACTIVATIONS, AttenuatorColumn, SVDLayer
from wavebp.photonic._plot import column_fields, plot_mesh
from wavebp.photonic._thinfilm import ThinFilmStack

__all__ = [
    "ENCODINGS",
    "HARDWARE_PRESETS",
    "INITS",
    "ONN",
    "ONN_ACTIVATIONS",
    "PROTOCOLS",
    "AttenuatorColumn",
    "HardwareConfig",
    "Mesh",
    "MeshImperfections",
    "SVDLayer",
    "ThinFilmStack",
    "column_fields",
    "cosine_error",
    "decompose",
    "gradient_error",
    "haar_phases",
    "haar_unitary",
    "insitu_gradient",
    "mesh_imperfections",
    "mesh_physical_params",
    "plot_mesh",
    "sensitivity_index",
]
