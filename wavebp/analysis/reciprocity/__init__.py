r"""Reciprocity and time-reversal checks across every engine (issue 6, ``wavebp reciprocity``).

For each engine -- MZI mesh, optical TMM (s and p, oblique), acoustic TMM, 1-D and 2-D
FDTD, Meep -- on reciprocal and non-reciprocal examples: the reciprocity residual
``||S - S^T|| / ||S||`` (or swapped source/receiver traces), losslessness
``||S^H S - I||`` where lossless, the time-reversal error of a phase-conjugated (or
``h``-flipped) round trip, and the cosine error of the physical gradient against autograd,
with a verdict per example (:func:`verdict`).

Why: light sent back through a reciprocal device sees ``S^T``; backprop needs ``S^H``;
phase conjugation turns one into the other (``conj(S^T x*) = S^H x``) -- only if the device
is reciprocal. A Faraday element (mesh), a travelling-wave modulation (FDTD) or a gyrotropic
material (Meep) breaks it, and the in-situ gradient with it.

Public API: :class:`ReciprocityConfig`, :func:`reciprocity_rows` (a list of
:class:`ReciprocityRow`, JSON via ``to_json()``), :func:`time_reversal_sweeps`,
:func:`format_table`, :func:`plot_reciprocity`; the metrics and :func:`verdict`.
"""

from wavebp.analysis.reciprocity._fdtd import (
    fdtd_damping_sweep,
    fdtd_rows,
    speed_modulation_available,
)
from wavebp.analysis.reciprocity._meep import meep_available, meep_rows
from wavebp.analysis.reciprocity._mesh import mesh_loss_sweep, mesh_return_power, mesh_rows
from wavebp.analysis.reciprocity._metrics import (
    COMPLEX128,
    FLOAT64_LEAPFROG,
    MEEP,
    VERDICTS,
    Tolerances,
    cosine_error_flat,
    reciprocity_residual,
    swapped_residual,
    time_reversal_error,
    unitarity_residual,
    verdict,
)
from wavebp.analysis.reciprocity._plot import plot_reciprocity
from wavebp.analysis.reciprocity._rows import ReciprocityRow
from wavebp.analysis.reciprocity._run import (
    ENGINES,
    ReciprocityConfig,
    format_table,
    reciprocity_rows,
    rows_to_json,
    time_reversal_sweeps,
)
from wavebp.analysis.reciprocity._tmm import optical_s_matrix, tmm_rows

__all__ = [
    "COMPLEX128",
    "ENGINES",
    "FLOAT64_LEAPFROG",
    "MEEP",
    "VERDICTS",
    "ReciprocityConfig",
    "ReciprocityRow",
    "Tolerances",
    "cosine_error_flat",
    "fdtd_damping_sweep",
    "fdtd_rows",
    "format_table",
    "meep_available",
    "meep_rows",
    "mesh_loss_sweep",
    "mesh_return_power",
    "mesh_rows",
    "optical_s_matrix",
    "plot_reciprocity",
    "reciprocity_residual",
    "reciprocity_rows",
    "rows_to_json",
    "speed_modulation_available",
    "swapped_residual",
    "time_reversal_error",
    "time_reversal_sweeps",
    "tmm_rows",
    "unitarity_residual",
    "verdict",
]
