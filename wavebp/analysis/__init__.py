"""Reciprocity and time-reversal checks; the seed paper's predictions as experiments."""

# The seed paper's claims (issue 7): ``wavebp.analysis.paper`` holds the experiments.
from wavebp.analysis import paper
from wavebp.analysis.paper import EXPERIMENTS as PAPER_EXPERIMENTS
from wavebp.analysis.paper import ClaimResult, SubClaim

__all__ = ["PAPER_EXPERIMENTS", "ClaimResult", "SubClaim", "paper"]
