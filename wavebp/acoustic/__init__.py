"""Acoustic networks: wave-RNN on the FDTD engine, layered acoustic stacks."""

from wavebp.acoustic._stack import AcousticStack
from wavebp.acoustic._vowels import (
    FORMANT_BANDWIDTHS,
    HILLENBRAND_1995,
    SPEAKER_GROUPS,
    VOWELS,
    VowelConfig,
    VowelDataset,
    make_vowel_dataset,
    speaker_folds,
    synthesize_vowel,
)
from wavebp.acoustic._wave_rnn import (
    WaveRNN,
    WaveRNNConfig,
    energy_fractions,
    wave_rnn_accuracy,
    wave_rnn_loss,
)
from wavebp.acoustic._wave_rnn_fields import wave_rnn_gradient_fields

__all__ = [
    "FORMANT_BANDWIDTHS",
    "HILLENBRAND_1995",
    "SPEAKER_GROUPS",
    "VOWELS",
    "AcousticStack",
    "VowelConfig",
    "VowelDataset",
    "WaveRNN",
    "WaveRNNConfig",
    "energy_fractions",
    "make_vowel_dataset",
    "speaker_folds",
    "synthesize_vowel",
    "wave_rnn_accuracy",
    "wave_rnn_gradient_fields",
    "wave_rnn_loss",
]
