"""Phase-shifter DAC, thermal crosstalk, insertion loss, fabrication sampling, Faraday phase."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp.devices import (
    apply_thermal_crosstalk,
    insertion_loss_amplitude,
    nonreciprocal_phase,
    nonreciprocal_phase_shifter,
    phase_shifter,
    quantize_phase,
    sample_fabrication_errors,
    thermal_crosstalk_matrix,
)
from wavebp.simulators.mesh import mesh_layout


def test_quantize_phase_levels_and_error_bound(generator):
    phase = torch.rand(1000, generator=generator, dtype=torch.float64) * 20 - 10
    q = quantize_phase(phase, bits=4)
    step = 2 * math.pi / 16
    codes = torch.remainder(q, 2 * math.pi) / step
    # every output sits on a DAC level (to rounding of float64 mod 2 pi)
    assert (codes - codes.round()).abs().max() < 1e-9
    # rounding error at most half a step, measured modulo 2 pi
    err = torch.remainder(q - phase + math.pi, 2 * math.pi) - math.pi
    assert err.abs().max() <= step / 2 + 1e-12
    # same branch as the input
    assert (q - phase).abs().max() <= step / 2 + 1e-12


def test_quantize_phase_saturates_below_full_range():
    q = quantize_phase(torch.tensor([5.0], dtype=torch.float64), bits=2, phase_range=math.pi)
    assert abs(float(q) - 3 * math.pi / 4) < 1e-12


def test_quantize_phase_straight_through_gradient():
    phase = torch.tensor([0.1, 1.3, 4.0], dtype=torch.float64, requires_grad=True)
    (quantize_phase(phase, bits=3) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(phase.grad, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))


def test_phase_shifter_factor():
    f = phase_shifter(torch.tensor(1.0, dtype=torch.float64), phase_error=0.25)
    assert abs(complex(f) - complex(math.cos(1.25), math.sin(1.25))) < 1e-15
    fq = phase_shifter(torch.tensor(0.1, dtype=torch.float64), bits=1)
    assert abs(complex(fq) - 1) < 1e-15  # levels 0 and pi: 0.1 rounds to 0


@pytest.mark.parametrize("topology", ["clements", "reck"])
def test_thermal_crosstalk_matrix_structure(topology):
    layout = mesh_layout(7, topology=topology)
    k = thermal_crosstalk_matrix(layout, coupling=0.1, decay=0.5)
    assert torch.equal(torch.diagonal(k), torch.ones(layout.n_mzis, dtype=torch.float64))
    col = torch.as_tensor(layout.mzi_column)
    top = torch.as_tensor(layout.top_port)
    same = col[:, None] == col[None, :]
    assert (k[~same] == 0).all()
    dist = (top[:, None] - top[None, :]).abs() / 2
    nn = same & (dist == 1)
    assert torch.allclose(k[nn], torch.full_like(k[nn], 0.1))
    far = same & (dist == 2)
    assert torch.allclose(k[far], torch.full_like(k[far], 0.05))
    assert torch.equal(k, k.T)


def test_thermal_crosstalk_apply_matches_matrix(generator):
    layout = mesh_layout(9)
    phases = torch.rand(3, layout.n_mzis, generator=generator, dtype=torch.float64)
    k = thermal_crosstalk_matrix(layout, coupling=0.08, decay=0.3)
    got = apply_thermal_crosstalk(phases, layout=layout, coupling=0.08, decay=0.3)
    assert (got - phases @ k.T).abs().max() < 1e-14
    only_nn = thermal_crosstalk_matrix(layout, coupling=0.08)
    assert int((only_nn != 0).sum()) < int((k != 0).sum())


def test_insertion_loss_amplitude():
    amp = insertion_loss_amplitude(torch.tensor([0.0, 3.0, 20.0], dtype=torch.float64))
    assert torch.allclose(amp.square(), torch.tensor([1.0, 10**-0.3, 0.01], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"loss_db must be finite and >= 0 dB, got -1"):
        insertion_loss_amplitude(-1.0)


def test_fabrication_sampling_statistics_and_reproducibility():
    a = sample_fabrication_errors(
        20000,
        coupler_error_sigma=0.05,
        phase_error_sigma=0.02,
        generator=torch.Generator().manual_seed(7),
    )
    b = sample_fabrication_errors(
        20000,
        coupler_error_sigma=0.05,
        phase_error_sigma=0.02,
        generator=torch.Generator().manual_seed(7),
    )
    assert torch.equal(a.coupler_error, b.coupler_error)
    assert a.coupler_error.shape == (20000, 2)
    # std of 40000 normal samples: relative standard error 1/sqrt(2 * 40000) ~ 0.35 %;
    # 2 % is > 5 standard errors.
    assert abs(float(a.coupler_error.std()) / 0.05 - 1) < 0.02
    assert abs(float(torch.cat([a.theta_offset, a.phi_offset]).std()) / 0.02 - 1) < 0.02
    assert a.coupler_error.abs().max() < math.pi / 4


def test_fabrication_sampling_errors():
    with pytest.raises(ValueError, match=r"coupler_error_sigma must be .*\[0, 0.785398\) rad"):
        sample_fabrication_errors(3, coupler_error_sigma=1.0)
    with pytest.raises(ValueError, match=r"n_mzis must be an integer >= 1, got 0"):
        sample_fabrication_errors(0)


def test_quantize_and_crosstalk_errors():
    with pytest.raises(ValueError, match=r"bits must be an integer in \[1, 32\], got 0"):
        quantize_phase(torch.zeros(2), bits=0)
    with pytest.raises(ValueError, match=r"coupling must be .*\[0, 1\).*got 1.5"):
        thermal_crosstalk_matrix(mesh_layout(4), coupling=1.5)


def test_nonreciprocal_element_breaks_symmetry():
    s = nonreciprocal_phase_shifter(torch.tensor(0.3, dtype=torch.float64))
    assert abs(complex(s[1, 0]) - complex(math.cos(0.3), math.sin(0.3))) < 1e-15
    assert abs(complex(s[0, 1]) - complex(math.cos(0.3), -math.sin(0.3))) < 1e-15
    assert (s - s.T).abs().max() > 0.5
    sym = nonreciprocal_phase_shifter(torch.tensor(math.pi, dtype=torch.float64))
    assert (sym - sym.T).abs().max() < 1e-15
    f = nonreciprocal_phase(0.2)
    b = nonreciprocal_phase(0.2, direction="backward")
    assert abs(complex(f * b) - 1) < 1e-15
