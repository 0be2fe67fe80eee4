"""End-to-end runs from a frozen config to a run folder, with checkpoint and resume."""

from wavebp.experiments._datasets import DATASETS, Dataset, load_dataset
from wavebp.experiments._demo import gradient_checks, run_demo
from wavebp.experiments._paper import PaperConfig, run_paper
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable
from wavebp.experiments._train import (
    DATASET_MODELS,
    GRADIENT_MODES,
    HARDWARE_NAMES,
    TrainConfig,
    build_model,
    train_comparison,
    train_onn,
)
from wavebp.experiments._wave_rnn import (
    WaveRNNRunConfig,
    fast_wave_rnn_config,
    run_wave_rnn_experiment,
)

__all__ = [
    "DATASETS",
    "DATASET_MODELS",
    "GRADIENT_MODES",
    "HARDWARE_NAMES",
    "Dataset",
    "GracefulInterrupt",
    "PaperConfig",
    "Report",
    "RunFolder",
    "TrainConfig",
    "WaveRNNRunConfig",
    "build_model",
    "fast_wave_rnn_config",
    "gradient_checks",
    "load_dataset",
    "run_demo",
    "run_paper",
    "run_wave_rnn_experiment",
    "to_jsonable",
    "train_comparison",
    "train_onn",
]
