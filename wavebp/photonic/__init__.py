"""Optical networks: Clements/Reck meshes, decompositions, ONN models, in-situ backprop."""

from wavebp.photonic._correction import correct_phases, matrix_fidelity
from wavebp.photonic._decompose import decompose
from wavebp.photonic._export import (
    export_phase_settings,
    export_touchstone,
    read_phase_settings,
    read_touchstone,
)
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
from wavebp.photonic._wavelength import (
    PROGRAMMING_MODES,
    ChipSample,
    CoupledModeCoupler,
    CouplerModel,
    FabricatedChip,
    chip_coupler_errors,
    chip_coupler_phases,
    chip_matrix,
    fabricated_mesh,
    heater_phases,
    sample_chip,
)

__all__ = [
    "ENCODINGS",
    "HARDWARE_PRESETS",
    "INITS",
    "ONN",
    "ONN_ACTIVATIONS",
    "PROGRAMMING_MODES",
    "PROTOCOLS",
    "AttenuatorColumn",
    "ChipSample",
    "CoupledModeCoupler",
    "CouplerModel",
    "FabricatedChip",
    "HardwareConfig",
    "Mesh",
    "MeshImperfections",
    "SVDLayer",
    "ThinFilmStack",
    "chip_coupler_errors",
    "chip_coupler_phases",
    "chip_matrix",
    "column_fields",
    "correct_phases",
    "cosine_error",
    "decompose",
    "export_phase_settings",
    "export_touchstone",
    "fabricated_mesh",
    "gradient_error",
    "haar_phases",
    "haar_unitary",
    "heater_phases",
    "insitu_gradient",
    "matrix_fidelity",
    "mesh_imperfections",
    "mesh_physical_params",
    "plot_mesh",
    "read_phase_settings",
    "read_touchstone",
    "sample_chip",
    "sensitivity_index",
]
