"""Physical components: couplers, phase shifters, MZIs, loss, detectors, fabrication errors."""

from wavebp.devices._activation import (
    ElectroOpticActivation,
    ModulusActivation,
    electro_optic_activation,
)
from wavebp.devices._coupler_table import (
    CouplerTable,
    compute_coupler_table,
    symmetric_coupler_s4,
)
from wavebp.devices._detector import DetectorConfig, photodetect
from wavebp.devices._fabrication import FabricationErrors, sample_fabrication_errors
from wavebp.devices._loss import (
    insertion_loss_amplitude,
    nonreciprocal_phase,
    nonreciprocal_phase_shifter,
)
from wavebp.devices._mzi import coupler, mzi, split_coupler_error
from wavebp.devices._phase_shifter import (
    apply_thermal_crosstalk,
    phase_shifter,
    quantize_phase,
    thermal_crosstalk_matrix,
)
from wavebp.devices._thermo_optic import ThermoOpticShifter

__all__ = [
    "CouplerTable",
    "DetectorConfig",
    "ElectroOpticActivation",
    "FabricationErrors",
    "ModulusActivation",
    "ThermoOpticShifter",
    "apply_thermal_crosstalk",
    "compute_coupler_table",
    "coupler",
    "electro_optic_activation",
    "insertion_loss_amplitude",
    "mzi",
    "nonreciprocal_phase",
    "nonreciprocal_phase_shifter",
    "phase_shifter",
    "photodetect",
    "quantize_phase",
    "sample_fabrication_errors",
    "split_coupler_error",
    "symmetric_coupler_s4",
    "thermal_crosstalk_matrix",
]
