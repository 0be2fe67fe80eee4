r"""Synthetic vowel waveforms from a source–filter model, around Hillenbrand et al. (1995).

The data set of the wave-RNN classifier (Hughes, Williamson, Minkov, Fan, Sci. Adv. 5,
eaay6946, 2019, used the recorded Hillenbrand vowels "ae", "ei", "iy"). Recordings are not
shipped; instead every token is synthesised offline, deterministically from a seeded
``torch.Generator``:

Speakers and formants
    Each speaker belongs to a group (``"men"``, ``"women"``, ``"children"``). The table
    :data:`HILLENBRAND_1995` holds the published group averages of F0 and F1–F4 at the vowel
    steady state (Hillenbrand, Getty, Clark, Wheeler, "Acoustic characteristics of American
    English vowels", J. Acoust. Soc. Am. 97(5), 3099–3111, 1995, Table V). A speaker draws
    one vocal-tract scale factor ``s = exp(speaker_spread * N(0,1))`` and one pitch factor
    ``p = exp(f0_spread * N(0,1))``; each token (speaker x vowel) then draws its own
    formant factors ``exp(formant_spread * N(0,1))`` per formant, so
    ``F_k = F_k,avg(group, vowel) * s * exp(formant_spread * N)`` and
    ``f0 = f0_avg(group, vowel) * p``. Formants are kept increasing and at least 150 Hz
    apart. Defaults (5 % speaker scale, 5 % token, 10 % pitch) give a within-group spread
    of about 7 % in F1/F2, close to Hillenbrand's Fig. 4 scatter.

Source (glottal pulse train)
    A Rosenberg (1971, "type C") glottal flow pulse per period ``T``: rising
    ``0.5 (1 - cos(pi t / T_p))`` for ``0 <= t < T_p``, falling ``cos(pi (t - T_p) / (2 T_n))``
    for ``T_p <= t < T_p + T_n``, closed after, with ``T_p = open_rise * T``,
    ``T_n = open_fall * T`` (defaults 0.40 and 0.16). Periods carry jitter
    ``T_k = T (1 + jitter N(0,1))`` (default 1 %, cycle to cycle), amplitudes carry
    shimmer ``A_k = 1 + shimmer N(0,1)`` (default 5 %). Aspiration noise: white Gaussian
    noise gated by the glottal flow (pitch-synchronous), at ``aspiration_db`` (default
    -30 dB) relative to the RMS of the flow.

Filter (vocal tract and lips)
    A cascade of four second-order resonators (Klatt 1980 digital resonator
    ``y[n] = A x[n] + B y[n-1] + C y[n-2]`` with ``C = -exp(-2 pi BW / fs)``,
    ``B = 2 exp(-pi BW / fs) cos(2 pi F / fs)``, ``A = 1 - B - C``: unit gain at 0 Hz) at
    F1–F4, bandwidths :data:`FORMANT_BANDWIDTHS` (typical values, 90/110/170/250 Hz:
    Hillenbrand did not publish bandwidths), then lip radiation as a first difference
    (+6 dB/octave). Synthesis at ``synthesis_rate`` (default 16 kHz, the rate of the
    original recordings).

Output
    A raised-cosine onset and offset (``ramp`` s), a fixed ``duration`` (default 0.15 s,
    steady state only: no /h_d/ transitions), white recording noise at ``snr_db``
    (default 40 dB), then polyphase resampling (``scipy.signal.resample_poly``, with its
    anti-aliasing low-pass) to ``sample_rate`` — the rate the wave simulation consumes,
    one sample per time step — and normalisation to unit peak amplitude. The default
    ``sample_rate`` is 16 kHz (no resampling): children's F3 reaches 3.7 kHz on average
    (Hillenbrand Table V, /i/), ~4.3 kHz with the drawn spread, which a 10 kHz rate
    (Nyquist 5 kHz, anti-aliasing roll-off below it) would attenuate.

Vowel codes are those of the Hillenbrand data files: ``iy`` (heed), ``ih`` (hid), ``ei``
(hayed), ``eh`` (head), ``ae`` (had), ``ah`` (hod), ``aw`` (hawed), ``oa`` (hoed), ``oo``
(hood), ``uw`` (who'd), ``uh`` (hud), ``er`` (heard).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import torch

from wavebp._core import check_choice, check_int, check_real

__all__ = [
    "FORMANT_BANDWIDTHS",
    "HILLENBRAND_1995",
    "SPEAKER_GROUPS",
    "VOWELS",
    "VowelConfig",
    "VowelDataset",
    "make_vowel_dataset",
    "speaker_folds",
    "synthesize_vowel",
]

SPEAKER_GROUPS: tuple[str, ...] = ("men", "women", "children")
VOWELS: tuple[str, ...] = (
    "iy", "ih", "ei", "eh", "ae", "ah", "aw", "oa", "oo", "uw", "uh", "er",
)  # fmt: skip

#: Hillenbrand et al. (1995), J. Acoust. Soc. Am. 97, 3099, Table V: group averages at the
#: vowel steady state, ``(f0, F1, F2, F3, F4)`` in Hz. Men: 45 talkers, women: 48,
#: children (10–12 years): 46.
HILLENBRAND_1995: dict[str, dict[str, tuple[float, float, float, float, float]]] = {
    "men": {
        "iy": (138, 342, 2322, 3000, 3657),
        "ih": (135, 427, 2034, 2684, 3618),
        "ei": (129, 476, 2089, 2691, 3649),
        "eh": (127, 580, 1799, 2605, 3677),
        "ae": (123, 588, 1952, 2601, 3624),
        "ah": (123, 768, 1333, 2522, 3687),
        "aw": (121, 652, 997, 2538, 3486),
        "oa": (129, 497, 910, 2459, 3384),
        "oo": (133, 469, 1122, 2434, 3400),
        "uw": (143, 378, 997, 2343, 3357),
        "uh": (133, 623, 1200, 2550, 3557),
        "er": (130, 474, 1379, 1710, 3334),
    },
    "women": {
        "iy": (227, 437, 2761, 3372, 4352),
        "ih": (224, 483, 2365, 3053, 4334),
        "ei": (219, 536, 2530, 3047, 4319),
        "eh": (214, 731, 2058, 2979, 4294),
        "ae": (215, 669, 2349, 2972, 4290),
        "ah": (215, 936, 1551, 2815, 4299),
        "aw": (210, 781, 1136, 2824, 3923),
        "oa": (217, 555, 1035, 2828, 3927),
        "oo": (230, 519, 1225, 2827, 4052),
        "uw": (235, 459, 1105, 2735, 4115),
        "uh": (218, 753, 1426, 2933, 4092),
        "er": (217, 523, 1588, 1929, 3914),
    },
    "children": {
        "iy": (246, 452, 3081, 3702, 4572),
        "ih": (241, 511, 2552, 3403, 4575),
        "ei": (237, 564, 2656, 3323, 4422),
        "eh": (230, 749, 2267, 3310, 4671),
        "ae": (228, 717, 2501, 3289, 4409),
        "ah": (229, 1002, 1688, 2950, 4307),
        "aw": (225, 803, 1210, 2982, 3919),
        "oa": (236, 597, 1137, 2987, 4167),
        "oo": (243, 568, 1490, 3072, 4328),
        "uw": (249, 494, 1345, 2988, 4320),
        "uh": (236, 749, 1546, 3145, 4276),
        "er": (237, 586, 1719, 2143, 3788),
    },
}

#: Formant bandwidths (Hz) used for F1–F4: typical values for adult vowels (Klatt 1980
#: default range; Hillenbrand et al. did not measure bandwidths).
FORMANT_BANDWIDTHS: tuple[float, float, float, float] = (90.0, 110.0, 170.0, 250.0)


def _normal(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _rosenberg(phase_time: np.ndarray, period: np.ndarray, rise: float, fall: float):
    """Rosenberg type-C glottal flow at time ``phase_time`` (s) into a cycle of ``period`` s."""
    tp = rise * period
    tn = fall * period
    out = np.zeros_like(phase_time)
    opening = phase_time < tp
    out[opening] = 0.5 * (1.0 - np.cos(np.pi * phase_time[opening] / tp[opening]))
    closing = (~opening) & (phase_time < tp + tn)
    out[closing] = np.cos(0.5 * np.pi * (phase_time[closing] - tp[closing]) / tn[closing])
    return out


def _resonator(x: np.ndarray, freq: float, bandwidth: float, rate: float) -> np.ndarray:
    """Klatt digital resonator (unit gain at 0 Hz) applied to ``x``."""
    from scipy.signal import lfilter

    c = -math.exp(-2.0 * math.pi * bandwidth / rate)
    b = 2.0 * math.exp(-math.pi * bandwidth / rate) * math.cos(2.0 * math.pi * freq / rate)
    a = 1.0 - b - c
    return lfilter([a], [1.0, -b, -c], x)


def synthesize_vowel(
    *,
    f0: float,
    formants: tuple[float, ...],
    bandwidths: tuple[float, ...] = FORMANT_BANDWIDTHS,
    duration: float = 0.15,
    synthesis_rate: float = 16000.0,
    sample_rate: float = 16000.0,
    jitter: float = 0.01,
    shimmer: float = 0.05,
    aspiration_db: float = -30.0,
    snr_db: float = 40.0,
    ramp: float = 0.01,
    open_rise: float = 0.40,
    open_fall: float = 0.16,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One synthetic vowel token (source–filter model; see the module docstring).

    Args:
        f0: fundamental frequency, Hz, in (20, 1000).
        formants: formant frequencies F1, F2, ... in Hz (increasing, below
            ``synthesis_rate / 2``).
        bandwidths: formant bandwidths in Hz, one per formant (extra entries ignored).
        duration: length of the token, s.
        synthesis_rate: sample rate of the synthesis, Hz.
        sample_rate: sample rate of the returned waveform, Hz (resampled with an
            anti-aliasing polyphase filter).
        jitter: relative standard deviation of the period from cycle to cycle.
        shimmer: relative standard deviation of the pulse amplitude from cycle to cycle.
        aspiration_db: level of the flow-gated aspiration noise relative to the flow RMS, dB.
        snr_db: signal-to-(white) noise ratio of the output, dB (``inf`` for no noise).
        ramp: duration of the raised-cosine onset and offset, s.
        open_rise: opening phase of the Rosenberg pulse as a fraction of the period.
        open_fall: closing phase of the Rosenberg pulse as a fraction of the period.
        dtype: real dtype of the result.
        generator: source of randomness (jitter, shimmer, noise).

    Returns:
        The waveform, shape ``(round(duration * sample_rate),)``, unit peak amplitude.
    """
    f0 = check_real("f0", f0, low=20.0, high=1000.0, unit="Hz")
    synthesis_rate = check_real("synthesis_rate", synthesis_rate, low=1000.0, unit="Hz")
    sample_rate = check_real("sample_rate", sample_rate, low=100.0, unit="Hz")
    duration = check_real("duration", duration, low=0.0, low_inclusive=False, unit="s")
    jitter = check_real("jitter", jitter, low=0.0, high=0.2)
    shimmer = check_real("shimmer", shimmer, low=0.0, high=0.5)
    ramp = check_real("ramp", ramp, low=0.0, high=duration / 2, unit="s")
    open_rise = check_real("open_rise", open_rise, low=0.05, high=0.9)
    open_fall = check_real("open_fall", open_fall, low=0.01, high=0.95 - open_rise)
    aspiration_db = check_real("aspiration_db", aspiration_db, high=0.0, unit="dB")
    snr_db = check_real("snr_db", snr_db, low=0.0, high=math.inf, unit="dB")
    if len(bandwidths) < len(formants):
        raise ValueError(
            f"bandwidths must give one bandwidth (Hz) per formant ({len(formants)}), "
            f"got {len(bandwidths)}"
        )
    previous = 0.0
    for k, freq in enumerate(formants):
        check_real(f"formants[{k}]", freq, low=previous, high=synthesis_rate / 2, unit="Hz")
        previous = freq

    n_synth = round(duration * synthesis_rate)
    t = np.arange(n_synth) / synthesis_rate
    # Cycle boundaries with jitter; enough cycles to cover the duration.
    n_cycles = math.ceil(duration * f0 * 1.5) + 4
    periods = (1.0 / f0) * (1.0 + jitter * _normal((n_cycles,), generator).numpy())
    periods = np.clip(periods, 0.5 / f0, 2.0 / f0)
    amplitudes = np.clip(1.0 + shimmer * _normal((n_cycles,), generator).numpy(), 0.1, None)
    starts = np.concatenate([[0.0], np.cumsum(periods)[:-1]])
    start_offset = float(torch.rand((), generator=generator, dtype=torch.float64)) / f0
    starts = starts - start_offset
    cycle = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, n_cycles - 1)
    flow = amplitudes[cycle] * _rosenberg(t - starts[cycle], periods[cycle], open_rise, open_fall)
    flow_rms = float(np.sqrt(np.mean(flow**2)))
    noise = _normal((n_synth,), generator).numpy()
    source = flow + flow_rms * 10.0 ** (aspiration_db / 20.0) * noise * (flow / flow.max())
    x = source
    for freq, bw in zip(formants, bandwidths, strict=False):
        x = _resonator(x, float(freq), float(bw), synthesis_rate)
    x = np.diff(x, prepend=x[:1])  # lip radiation
    n_ramp = round(ramp * synthesis_rate)
    if n_ramp > 0:
        envelope = np.ones(n_synth)
        edge = 0.5 * (1.0 - np.cos(np.pi * np.arange(n_ramp) / n_ramp))
        envelope[:n_ramp] = edge
        envelope[n_synth - n_ramp :] = edge[::-1]
        x = x * envelope
    if math.isfinite(snr_db):
        x_rms = float(np.sqrt(np.mean(x**2)))
        x = x + x_rms * 10.0 ** (-snr_db / 20.0) * _normal((n_synth,), generator).numpy()
    if sample_rate != synthesis_rate:
        from scipy.signal import resample_poly

        ratio = Fraction(sample_rate / synthesis_rate).limit_denominator(1000)
        x = resample_poly(x, ratio.numerator, ratio.denominator)
    n_out = round(duration * sample_rate)
    x = np.pad(x, (0, max(0, n_out - x.size)))[:n_out]
    x = x / max(float(np.max(np.abs(x))), 1e-300)
    return torch.from_numpy(np.ascontiguousarray(x)).to(dtype)


@dataclass(frozen=True, kw_only=True)
class VowelConfig:
    """Settings of the synthetic vowel data set (see the module docstring).

    Attributes:
        vowels: vowel codes (classes, in this order); Hughes et al. 2019 used
            ``("ae", "ei", "iy")``.
        groups: speaker groups to include (``"men"``, ``"women"``, ``"children"``).
        n_speakers: speakers per group; each speaker says every vowel once.
        duration: token length, s.
        sample_rate: output sample rate, Hz (one sample per wave-simulation step).
        synthesis_rate: synthesis sample rate, Hz.
        f0_spread: log-normal spread of a speaker's pitch factor.
        speaker_spread: log-normal spread of a speaker's vocal-tract (formant) scale.
        formant_spread: log-normal spread of each token's formants.
        jitter, shimmer, aspiration_db, snr_db, ramp: see :func:`synthesize_vowel`.
    """

    vowels: tuple[str, ...] = ("ae", "ei", "iy")
    groups: tuple[str, ...] = SPEAKER_GROUPS
    n_speakers: int = 20
    duration: float = 0.15
    sample_rate: float = 16000.0
    synthesis_rate: float = 16000.0
    f0_spread: float = 0.10
    speaker_spread: float = 0.05
    formant_spread: float = 0.05
    jitter: float = 0.01
    shimmer: float = 0.05
    aspiration_db: float = -30.0
    snr_db: float = 40.0
    ramp: float = 0.01

    def __post_init__(self) -> None:
        if len(self.vowels) < 2 or len(set(self.vowels)) != len(self.vowels):
            raise ValueError(f"vowels must hold >= 2 distinct vowel codes, got {self.vowels!r}")
        for v in self.vowels:
            check_choice("vowels", v, VOWELS)
        if not self.groups or len(set(self.groups)) != len(self.groups):
            raise ValueError(f"groups must hold >= 1 distinct speaker groups, got {self.groups!r}")
        for g in self.groups:
            check_choice("groups", g, SPEAKER_GROUPS)
        check_int("n_speakers", self.n_speakers, minimum=1)
        check_real("duration", self.duration, low=0.0, low_inclusive=False, unit="s")
        check_real("sample_rate", self.sample_rate, low=100.0, unit="Hz")
        check_real("synthesis_rate", self.synthesis_rate, low=8000.0, unit="Hz")
        check_real("ramp", self.ramp, low=0.0, high=self.duration / 2, unit="s")
        for name in ("f0_spread", "speaker_spread", "formant_spread"):
            check_real(name, getattr(self, name), low=0.0, high=0.5)

    @property
    def n_samples(self) -> int:
        """Samples per token, ``round(duration * sample_rate)``."""
        return round(self.duration * self.sample_rate)


@dataclass(frozen=True, kw_only=True)
class VowelDataset:
    """Synthetic vowel tokens.

    Attributes:
        waveforms: shape ``(N, n_samples)``, unit peak amplitude, at ``config.sample_rate``.
        labels: class index into ``config.vowels``, shape ``(N,)``, int64.
        speakers: speaker index, shape ``(N,)``, int64 (unique across groups).
        groups: group index into ``config.groups``, shape ``(N,)``, int64.
        f0: fundamental frequency of each token, Hz, shape ``(N,)``.
        formants: F1–F4 of each token, Hz, shape ``(N, 4)``.
        config: the settings that made it.
    """

    waveforms: torch.Tensor
    labels: torch.Tensor
    speakers: torch.Tensor
    groups: torch.Tensor
    f0: torch.Tensor
    formants: torch.Tensor
    config: VowelConfig = field(repr=False)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def vowels(self) -> tuple[str, ...]:
        """Class names, in label order."""
        return self.config.vowels

    def subset(self, index: torch.Tensor) -> VowelDataset:
        """The tokens at ``index`` (a 1-D index or boolean tensor)."""
        return VowelDataset(
            waveforms=self.waveforms[index],
            labels=self.labels[index],
            speakers=self.speakers[index],
            groups=self.groups[index],
            f0=self.f0[index],
            formants=self.formants[index],
            config=self.config,
        )


def _sorted_formants(values: list[float], min_gap: float = 150.0) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        out.append(max(v, out[-1] + min_gap) if out else v)
    return out


def make_vowel_dataset(
    config: VowelConfig | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> VowelDataset:
    """Synthesise the vowel data set: every speaker of every group says every vowel once.

    Args:
        config: the settings (default :class:`VowelConfig()`).
        dtype: real dtype of the waveforms.
        generator: source of all randomness; the same seed gives the same data set.

    Returns:
        A :class:`VowelDataset` with ``len(groups) * n_speakers * len(vowels)`` tokens,
        ordered by group, speaker, vowel.
    """
    config = VowelConfig() if config is None else config
    waves, labels, speakers, groups, f0s, formants = [], [], [], [], [], []
    speaker_id = 0
    for g_index, group in enumerate(config.groups):
        for _ in range(config.n_speakers):
            scale = math.exp(config.speaker_spread * float(_normal((), generator)))
            pitch = math.exp(config.f0_spread * float(_normal((), generator)))
            for label, vowel in enumerate(config.vowels):
                f0_avg, *f_avg = HILLENBRAND_1995[group][vowel]
                token = _normal((len(f_avg),), generator)
                fk = [
                    f * scale * math.exp(config.formant_spread * float(n))
                    for f, n in zip(f_avg, token, strict=True)
                ]
                fk = _sorted_formants(fk)
                fk = [min(f, 0.45 * config.synthesis_rate) for f in fk]
                f0 = f0_avg * pitch
                waves.append(
                    synthesize_vowel(
                        f0=f0,
                        formants=tuple(fk),
                        duration=config.duration,
                        synthesis_rate=config.synthesis_rate,
                        sample_rate=config.sample_rate,
                        jitter=config.jitter,
                        shimmer=config.shimmer,
                        aspiration_db=config.aspiration_db,
                        snr_db=config.snr_db,
                        ramp=config.ramp,
                        dtype=dtype,
                        generator=generator,
                    )
                )
                labels.append(label)
                speakers.append(speaker_id)
                groups.append(g_index)
                f0s.append(f0)
                formants.append(fk)
            speaker_id += 1
    return VowelDataset(
        waveforms=torch.stack(waves),
        labels=torch.tensor(labels, dtype=torch.int64),
        speakers=torch.tensor(speakers, dtype=torch.int64),
        groups=torch.tensor(groups, dtype=torch.int64),
        f0=torch.tensor(f0s, dtype=dtype),
        formants=torch.tensor(formants, dtype=dtype),
        config=config,
    )


def speaker_folds(
    dataset: VowelDataset, *, n_folds: int = 5, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    """Split the tokens into ``n_folds`` test folds by speaker (no speaker in two folds).

    Speakers are shuffled within each group and dealt round-robin, so every fold holds
    about the same number of speakers of each group and, since each speaker says every
    vowel, balanced classes.

    Args:
        dataset: the data set.
        n_folds: number of folds, >= 2 and at most the number of speakers.
        generator: shuffling.

    Returns:
        ``n_folds`` 1-D int64 tensors of token indices (disjoint, covering the data set).
    """
    speakers = torch.unique(dataset.speakers)
    n_folds = check_int("n_folds", n_folds, minimum=2, maximum=int(speakers.numel()))
    fold_of_speaker: dict[int, int] = {}
    k = 0
    for g in torch.unique(dataset.groups).tolist():
        members = torch.unique(dataset.speakers[dataset.groups == g])
        order = torch.randperm(members.numel(), generator=generator)
        for s in members[order].tolist():
            fold_of_speaker[s] = k % n_folds
            k += 1
    fold = torch.tensor([fold_of_speaker[s] for s in dataset.speakers.tolist()])
    return [torch.nonzero(fold == i).flatten() for i in range(n_folds)]
