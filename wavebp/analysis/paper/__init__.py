"""The seed paper's claims as experiments with verdicts (issue 7, ``wavebp paper``).

Each experiment ``run_<name>(*, fast, generator) -> ClaimResult`` measures numbers on
ordinary torch networks, applies a decision rule fixed in code (``rule_*``, documented in
its docstring and stated in the report) and returns a verdict ``"supported"``,
``"refuted"`` or ``"inconclusive"`` per sub-claim; ``plot_<name>(result, path)`` draws its
figure. :data:`EXPERIMENTS` lists them by number (1..7, as in the issue).
"""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch

from wavebp.analysis.paper._batchnorm import (
    backward_gain_profile,
    plot_batchnorm,
    rule_bn_matches,
    rule_bn_vs_plain,
    run_batchnorm,
)
from wavebp.analysis.paper._common import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    VERDICTS,
    ClaimResult,
    SubClaim,
    mean_ci,
)
from wavebp.analysis.paper._energy import (
    gaussian_expectation,
    mean_field_chi,
    mean_field_length,
    monte_carlo_chi,
    plot_energy,
    propagate_error_wave,
    rule_error_wave_gain,
    rule_reciprocal_absorption,
    rule_relu_absorbs_less,
    run_energy,
)
from wavebp.analysis.paper._eq1 import plot_eq1, rule_steady_state, rule_time_reversal, run_eq1
from wavebp.analysis.paper._harmonics import (
    harmonic_amplitudes,
    kerr_harmonics,
    plot_harmonics,
    rule_kerr_harmonics,
    rule_linear_no_harmonics,
    run_harmonics,
    spirals,
    total_harmonic_distortion,
)
from wavebp.analysis.paper._modes import (
    average_gradient_outer_product,
    between_class_subspace,
    decoupled_dataset,
    plot_modes,
    principal_subspace,
    rule_modes_follow_pcs,
    run_modes,
    subspace_overlap,
)
from wavebp.analysis.paper._resnet import (
    ResidualMLP,
    path_length_counts,
    path_length_gradients,
    plot_resnet,
    rule_lesion,
    rule_short_paths,
    run_resnet,
    sampled_path_magnitudes,
)
from wavebp.analysis.paper._spectral import (
    fourier_fraction,
    ntk_frequency_gain,
    plot_spectral,
    rule_positive_correlation,
    run_spectral,
)


class Experiment(NamedTuple):
    """One experiment: its slug, runner and plotter."""

    slug: str
    run: Callable[..., ClaimResult]
    plot: Callable[[ClaimResult, str | Path], Path]


EXPERIMENTS: dict[int, Experiment] = {
    1: Experiment("eq1_dynamics", run_eq1, plot_eq1),
    2: Experiment("error_wave_energy", run_energy, plot_energy),
    3: Experiment("resnet_bypass", run_resnet, plot_resnet),
    4: Experiment("batchnorm_matching", run_batchnorm, plot_batchnorm),
    5: Experiment("eigenmodes", run_modes, plot_modes),
    6: Experiment("frequency_response", run_spectral, plot_spectral),
    7: Experiment("harmonics", run_harmonics, plot_harmonics),
}


def experiment_generator(seed: int, number: int) -> torch.Generator:
    """The generator experiment ``number`` uses for run seed ``seed`` (independent of which
    other experiments run, so ``--only N`` reproduces the full run's numbers)."""
    return torch.Generator().manual_seed(1000 * int(seed) + int(number))


__all__ = [
    "EXPERIMENTS",
    "INCONCLUSIVE",
    "REFUTED",
    "SUPPORTED",
    "VERDICTS",
    "ClaimResult",
    "Experiment",
    "ResidualMLP",
    "SubClaim",
    "average_gradient_outer_product",
    "backward_gain_profile",
    "between_class_subspace",
    "decoupled_dataset",
    "experiment_generator",
    "fourier_fraction",
    "gaussian_expectation",
    "harmonic_amplitudes",
    "kerr_harmonics",
    "mean_ci",
    "mean_field_chi",
    "mean_field_length",
    "monte_carlo_chi",
    "ntk_frequency_gain",
    "path_length_counts",
    "path_length_gradients",
    "plot_batchnorm",
    "plot_energy",
    "plot_eq1",
    "plot_harmonics",
    "plot_modes",
    "plot_resnet",
    "plot_spectral",
    "principal_subspace",
    "propagate_error_wave",
    "rule_bn_matches",
    "rule_bn_vs_plain",
    "rule_error_wave_gain",
    "rule_kerr_harmonics",
    "rule_lesion",
    "rule_linear_no_harmonics",
    "rule_modes_follow_pcs",
    "rule_positive_correlation",
    "rule_reciprocal_absorption",
    "rule_relu_absorbs_less",
    "rule_short_paths",
    "rule_steady_state",
    "rule_time_reversal",
    "run_batchnorm",
    "run_energy",
    "run_eq1",
    "run_harmonics",
    "run_modes",
    "run_resnet",
    "run_spectral",
    "sampled_path_magnitudes",
    "spirals",
    "subspace_overlap",
    "total_harmonic_distortion",
]
