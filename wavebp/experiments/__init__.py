"""End-to-end runs from a frozen config to a run folder, with checkpoint and resume."""

from wavebp.experiments._codesign import (
    CHIP_POINT_DEFAULTS,
    COUPLER_MODELS,
    CodesignConfig,
    chip_task,
    fast_codesign_config,
    load_codesign_model,
    load_coupler_model,
    prepare_codesign,
    run_codesign,
)
from wavebp.experiments._datasets import DATASETS, Dataset, load_dataset
from wavebp.experiments._demo import gradient_checks, run_demo
from wavebp.experiments._paper import PaperConfig, run_paper
from wavebp.experiments._runfolder import GracefulInterrupt, Report, RunFolder, to_jsonable
from wavebp.experiments._sweep import (
    RESERVED_COLUMNS,
    plot_sweep_bands,
    point_key,
    run_sweep,
    summarize_sweep,
    sweep_grid,
    task_seed,
)
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
    "CHIP_POINT_DEFAULTS",
    "COUPLER_MODELS",
    "DATASETS",
    "DATASET_MODELS",
    "GRADIENT_MODES",
    "HARDWARE_NAMES",
    "RESERVED_COLUMNS",
    "CodesignConfig",
    "Dataset",
    "GracefulInterrupt",
    "PaperConfig",
    "Report",
    "RunFolder",
    "TrainConfig",
    "WaveRNNRunConfig",
    "build_model",
    "chip_task",
    "fast_codesign_config",
    "fast_wave_rnn_config",
    "gradient_checks",
    "load_codesign_model",
    "load_coupler_model",
    "load_dataset",
    "plot_sweep_bands",
    "point_key",
    "prepare_codesign",
    "run_codesign",
    "run_demo",
    "run_paper",
    "run_sweep",
    "run_wave_rnn_experiment",
    "summarize_sweep",
    "sweep_grid",
    "task_seed",
    "to_jsonable",
    "train_comparison",
    "train_onn",
]
