"""The validation helpers name the parameter, the valid range and the value."""

from __future__ import annotations

import math

import pytest
import torch

from wavebp._core import (
    as_tensor,
    check_choice,
    check_finite,
    check_int,
    check_real,
    complex_dtype,
    db_to_amplitude,
    db_to_power,
    power_to_db,
    real_dtype,
)


def test_check_int_accepts_and_rejects():
    assert check_int("n_ports", 4, minimum=2) == 4
    with pytest.raises(ValueError, match=r"n_ports must be an integer >= 2, got 1"):
        check_int("n_ports", 1, minimum=2)
    with pytest.raises(ValueError, match=r"bits must be an integer in \[1, 32\], got 2.5"):
        check_int("bits", 2.5, minimum=1, maximum=32)
    with pytest.raises(ValueError, match="got True"):
        check_int("n", True)


def test_check_real_interval_and_unit():
    assert check_real("loss_db", 0.5, low=0.0, unit="dB") == 0.5
    with pytest.raises(ValueError, match=r"loss_db must be in \[0, inf\] dB, got -1.0"):
        check_real("loss_db", -1.0, low=0.0, unit="dB")
    with pytest.raises(ValueError, match=r"sigma must be in \(0, 1\) rad, got 1.0"):
        check_real(
            "sigma", 1.0, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False, unit="rad"
        )
    with pytest.raises(ValueError, match="got nan"):
        check_real("x", math.nan)
    assert check_real("d", math.inf, low=0.0) == math.inf


def test_check_choice_lists_options():
    assert check_choice("topology", "reck", ("clements", "reck")) == "reck"
    with pytest.raises(ValueError, match=r"topology must be one of 'clements' \| 'reck', got 'x'"):
        check_choice("topology", "x", ("clements", "reck"))


def test_check_finite_counts_bad_entries():
    t = torch.tensor([1.0, math.inf, math.nan])
    with pytest.raises(ValueError, match="2 non-finite entries of 3"):
        check_finite("n", t)
    assert check_finite("n", torch.ones(2)) is not None


def test_dtype_maps():
    assert real_dtype(torch.complex64) is torch.float32
    assert complex_dtype(torch.float64) is torch.complex128
    with pytest.raises(ValueError, match="dtype"):
        complex_dtype(torch.int64)


def test_as_tensor_follows_like():
    like = torch.zeros(2, dtype=torch.float64)
    t = as_tensor([1, 2], like=like)
    assert t.dtype is torch.float64


def test_as_tensor_keeps_numpy_shapes():
    import numpy as np

    assert as_tensor(np.float64(2.0)).shape == ()
    assert as_tensor(np.array(3.0)).shape == ()
    strided = np.arange(12.0).reshape(3, 4).T
    assert torch.equal(as_tensor(strided), torch.from_numpy(strided.copy()))


def test_db_conversions_roundtrip():
    assert db_to_power(10.0) == pytest.approx(0.1)
    assert db_to_amplitude(20.0) == pytest.approx(0.1)
    assert power_to_db(db_to_power(3.0)) == pytest.approx(3.0)
    t = db_to_amplitude(torch.tensor([0.0, 20.0]))
    assert torch.allclose(t, torch.tensor([1.0, 0.1]))


def test_bounded_reparametrisation_roundtrip_and_error():
    from wavebp._core import from_bounded, to_bounded

    value = torch.tensor([1.5, 2.0, 2.5], dtype=torch.float64)
    raw = from_bounded("index", value, low=1.3, high=2.6)
    assert torch.allclose(to_bounded(raw, 1.3, 2.6), value, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match=r"thickness must be in \(0, 1\) m, got 1.5"):
        from_bounded("thickness", torch.tensor([0.5, 1.5]), low=0.0, high=1.0, unit="m")
