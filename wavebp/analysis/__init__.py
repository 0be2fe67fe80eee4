"""Reciprocity and time-reversal checks; the seed paper's predictions as experiments."""

# The seed paper's claims (issue 7): ``wavebp.analysis.paper`` holds the experiments.
# Reciprocity and time reversal across every engine (issue 6): ``wavebp.analysis.reciprocity``
# (``wavebp reciprocity``).
from wavebp.analysis import paper, reciprocity
from wavebp.analysis.paper import EXPERIMENTS as PAPER_EXPERIMENTS
from wavebp.analysis.paper import ClaimResult, SubClaim
from wavebp.analysis.reciprocity import (
    ReciprocityConfig,
    ReciprocityRow,
    format_table,
    plot_reciprocity,
    reciprocity_residual,
    reciprocity_rows,
    time_reversal_error,
    time_reversal_sweeps,
    unitarity_residual,
)

__all__ = [
    "PAPER_EXPERIMENTS",
    "ClaimResult",
    "ReciprocityConfig",
    "ReciprocityRow",
    "SubClaim",
    "format_table",
    "paper",
    "plot_reciprocity",
    "reciprocity",
    "reciprocity_residual",
    "reciprocity_rows",
    "time_reversal_error",
    "time_reversal_sweeps",
    "unitarity_residual",
]
