"""Transfer-matrix (S-matrix) engine for layered optical and acoustic media.

``coherent`` (optical thin films, s/p, Byrnes' ``tmm`` conventions) and ``acoustic`` (fluid
layers, pressure/normal velocity) return a :class:`TMMResult`; ``layer_fields`` /
``field_profile`` (and the acoustic counterparts) give the partial waves in every layer and
the standing-wave profile. Gradients by autograd or by the adjoint-field formula
(``gradient="adjoint"``, :class:`TMMAdjoint` on admittances and phase thicknesses).
"""

from wavebp.simulators.tmm._acoustic import (
    acoustic,
    acoustic_field_profile,
    acoustic_layer_fields,
)
from wavebp.simulators.tmm._engine import TMMAdjoint
from wavebp.simulators.tmm._optics import coherent, field_profile, layer_fields
from wavebp.simulators.tmm._result import LayerFields, TMMResult

__all__ = [
    "LayerFields",
    "TMMAdjoint",
    "TMMResult",
    "acoustic",
    "acoustic_field_profile",
    "acoustic_layer_fields",
    "coherent",
    "field_profile",
    "layer_fields",
]
