"""Photodetector read-out: noise statistics, ADC levels, physical constructor, validation."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.devices import DetectorConfig, photodetect


def test_ideal_detector_returns_power_exactly(generator):
    p = torch.rand(5, 7, dtype=torch.float64, generator=generator)
    out = photodetect(p, detector=DetectorConfig(), generator=generator)
    assert torch.equal(out, p)
    assert out.data_ptr() != p.data_ptr()
    assert torch.equal(photodetect(p), p)


def test_shot_noise_variance_scales_with_power(generator):
    # var = sigma^2 P P_ref; with 200k samples the sample std has ~0.16 % relative error,
    # so a 2 % tolerance is > 10 standard errors.
    det = DetectorConfig(shot_noise=0.02, reference_power=2.0)
    for power in (0.5, 2.0):
        p = torch.full((200_000,), power, dtype=torch.float64)
        out = photodetect(p, detector=det, generator=generator)
        expected = 0.02 * math.sqrt(power * 2.0)
        assert float((out - p).std()) == pytest.approx(expected, rel=0.02)
        assert abs(float((out - p).mean())) < 5 * expected / math.sqrt(200_000)


def test_thermal_noise_is_signal_independent(generator):
    det = DetectorConfig(thermal_noise=1e-3)
    p = torch.zeros(200_000, dtype=torch.float64)
    out = photodetect(p, detector=det, generator=generator)
    assert float(out.std()) == pytest.approx(1e-3, rel=0.02)


def test_adc_quantises_and_clips():
    det = DetectorConfig(adc_bits=3, full_scale=7.0)  # levels 0, 1, ..., 7
    p = torch.tensor([-0.3, 0.4, 0.6, 3.49, 6.9, 9.0], dtype=torch.float64)
    out = photodetect(p, detector=det)
    assert out.tolist() == [0.0, 0.0, 1.0, 3.0, 7.0, 7.0]


def test_noise_is_reproducible_with_a_seeded_generator():
    det = DetectorConfig(shot_noise=0.1)
    p = torch.rand(100, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = photodetect(p, detector=det, generator=torch.Generator().manual_seed(5))
    b = photodetect(p, detector=det, generator=torch.Generator().manual_seed(5))
    c = photodetect(p, detector=det, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_from_physical_matches_the_textbook_formulas():
    q, kb = 1.602176634e-19, 1.380649e-23
    det = DetectorConfig.from_physical(
        responsivity=0.8,
        bandwidth=1e9,
        load_resistance=50.0,
        temperature=300.0,
        reference_power=1e-3,
    )
    assert det.shot_noise == pytest.approx(math.sqrt(2 * q * 1e9 / (0.8 * 1e-3)), rel=1e-12)
    assert det.thermal_noise == pytest.approx(math.sqrt(4 * kb * 300 * 1e9 / 50) / 0.8, rel=1e-12)
    # the shot-noise std at P_ref equals sqrt(2 q P B / R) in W
    std = det.shot_noise * math.sqrt(1e-3 * det.reference_power)
    assert std == pytest.approx(math.sqrt(2 * q * 1e-3 * 1e9 / 0.8), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"shot_noise": -0.1}, "shot_noise"),
        ({"reference_power": 0.0}, "reference_power"),
        ({"thermal_noise": -1.0}, "thermal_noise"),
        ({"adc_bits": 0}, "adc_bits"),
        ({"full_scale": -1.0}, "full_scale"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DetectorConfig(**kwargs)


def test_complex_power_is_rejected():
    with pytest.raises(ValueError, match="power"):
        photodetect(torch.ones(3, dtype=torch.complex64))
