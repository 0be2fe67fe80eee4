"""Cross-checks against Byrnes' ``tmm`` (test-only dependency), fields, and input validation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from wavebp.simulators.tmm import coherent, field_profile, layer_fields

tmm = pytest.importorskip("tmm")

C128 = torch.complex128
F64 = torch.float64
NM = 1e-9


def random_stack(rng: np.random.Generator, n_media: int):
    n = rng.uniform(1.0, 3.0, n_media) + 1j * rng.uniform(0.0, 0.3, n_media)
    n[0] = rng.uniform(1.0, 2.0)  # Byrnes requires n0 sin(th0) real
    d = np.r_[np.inf, rng.uniform(5.0, 300.0, n_media - 2), np.inf]  # nm; Im(delta) < 35
    return n, d


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_matches_byrnes_coh_tmm_random_stacks(polarization):
    rng = np.random.default_rng(7)
    worst_r = worst_t = worst_power = 0.0
    for _ in range(40):
        n, d = random_stack(rng, int(rng.integers(2, 9)))
        lam = rng.uniform(300.0, 1000.0)
        angle = rng.uniform(0.0, 1.4)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Byrnes' opacity clamp would warn
            ref = tmm.coh_tmm(polarization, n, d, angle, lam)
        res = coherent(
            torch.tensor(n), torch.tensor(d) * NM, lam * NM, angle=angle, polarization=polarization
        )
        worst_r = max(worst_r, abs(res.r.item() - ref["r"]))
        worst_t = max(worst_t, abs(res.t.item() - ref["t"]))
        worst_power = max(worst_power, abs(res.R.item() - ref["R"]), abs(res.T.item() - ref["T"]))
    # both are float64 evaluations of the same amplitudes through <= 8 layers
    assert worst_r < 1e-12
    assert worst_t < 1e-12
    assert worst_power < 1e-12


def test_batched_equals_pointwise_byrnes():
    rng = np.random.default_rng(3)
    n, d = random_stack(rng, 6)
    lams = np.linspace(400.0, 700.0, 4)
    angles = np.array([0.0, 0.6, 1.2])
    res = coherent(
        torch.tensor(n),
        torch.tensor(d) * NM,
        torch.tensor(lams).unsqueeze(-1) * NM,
        angle=torch.tensor(angles),
        polarization="p",
        chunk_size=5,
    )  # several chunks along the batch
    ref = np.array([[tmm.coh_tmm("p", n, d, a, lam)["r"] for a in angles] for lam in lams])
    assert np.abs(res.r.numpy() - ref).max() < 1e-12


def test_layer_amplitudes_match_byrnes_vw_list():
    rng = np.random.default_rng(11)
    n, d = random_stack(rng, 6)
    lam, angle = 532.0, 0.45
    ref = tmm.coh_tmm("s", n, d, angle, lam)
    fields = layer_fields(torch.tensor(n), torch.tensor(d) * NM, lam * NM, angle=angle)
    vw = ref["vw_list"]
    prop = np.exp(1j * ref["kz_list"][1:-1] * d[1:-1])
    # Byrnes references both partial waves at each layer's start; ours the backward one at
    # the layer's end: w_Byrnes = backward * exp(i kz d)
    assert np.abs(fields.forward.numpy()[1:-1] - vw[1:-1, 0]).max() < 1e-12
    assert np.abs(fields.backward.numpy()[1:-1] * prop - vw[1:-1, 1]).max() < 1e-12
    assert np.abs(fields.kz.numpy() * NM - ref["kz_list"]).max() < 1e-12


@pytest.mark.parametrize("polarization", ["s", "p"])
def test_field_profile_continuity_and_flux(polarization):
    n = torch.tensor([1.0, 2.3, 1.45, 2.3, 1.52], dtype=C128)
    d = torch.tensor([math.inf, 80 * NM, 120 * NM, 60 * NM, math.inf], dtype=F64)
    lam, angle = 600 * NM, 0.5
    fields = layer_fields(n, d, lam, angle=angle, polarization=polarization)
    z_if = fields.boundaries
    z = torch.cat([z_if - 1e-15, z_if + 1e-15])  # both sides of every interface
    e, h = field_profile(n, d, lam, z, angle=angle, polarization=polarization)
    m = z_if.shape[0]
    # tangential E and H continuous (1e-15 m offset changes them by ~1e-8 relative)
    assert (e[:m] - e[m:]).abs().max().item() < 1e-7
    assert (h[:m] - h[m:]).abs().max().item() < 1e-7
    zz = torch.linspace(-300 * NM, 600 * NM, 301, dtype=F64)
    e, h = field_profile(n, d, lam, zz, angle=angle, polarization=polarization)
    flux = 0.5 * (e * h.conj()).real
    res = coherent(n, d, lam, angle=angle, polarization=polarization)
    # lossless: the normal flux is the same everywhere and equals T times the incident flux
    incident = (
        0.5 * (n[0] * math.cos(angle) if polarization == "s" else n[0] / math.cos(angle)).real
    )
    incident = incident * (1.0 if polarization == "s" else math.cos(angle) ** 2)
    assert (flux - flux.mean()).abs().max().item() < 1e-13
    assert abs(flux.mean().item() - res.T.item() * incident) < 1e-13


def test_field_profile_incident_medium_standing_wave():
    n = torch.tensor([1.0, 1.5], dtype=C128)
    d = torch.tensor([math.inf, math.inf], dtype=F64)
    lam = 500 * NM
    z = torch.linspace(-lam, 0, 201, dtype=F64)
    e, _ = field_profile(n, d, lam, z)
    expected = torch.exp(2j * math.pi * z / lam) - 0.2 * torch.exp(-2j * math.pi * z / lam)
    assert (e - expected).abs().max().item() < 1e-14


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"d": [math.inf, -1e-9, math.inf]}, "d must be in [0"),
        ({"d": [math.inf, 1e-7]}, "d must have 3 entries"),
        ({"polarization": "x"}, "polarization must be one of"),
        ({"n": [1.0, float("nan"), 1.5]}, "n must be finite"),
        ({"n": [1.0]}, "number of media"),
        ({"d": [math.inf, float("nan"), math.inf]}, "d must be in"),
        ({"d": [math.inf, math.inf, math.inf]}, "d (interior layers) must be finite"),
        ({"wavelength": 0.0}, "wavelength must be in (0"),
        ({"wavelength": float("inf")}, "wavelength must be finite"),
        ({"angle": 2.0}, "angle must be in (-pi/2, pi/2) rad"),
        ({"n": [1.0, 1.5 - 0.1j, 1.5]}, "Im(n) >= 0"),
        ({"gradient": "magic"}, "gradient must be one of"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1"),
    ],
)
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, needle):
    args = {"n": [1.0, 2.0, 1.5], "d": [math.inf, 1e-7, math.inf], "wavelength": 5e-7}
    args.update(kwargs)
    n, d, wl = args.pop("n"), args.pop("d"), args.pop("wavelength")
    n_media = len(n)
    if n_media == 1:
        d = [math.inf]
    with pytest.raises(ValueError) as err:
        coherent(n, d, wl, **args)
    assert needle in str(err.value)


def test_dtype_and_shape_follow_input():
    n = torch.tensor([1.0, 2.0, 1.5], dtype=torch.float32)
    d = torch.tensor([0.0, 1e-7, 0.0])
    res = coherent(n, d, torch.tensor([5e-7, 6e-7]))
    assert res.r.dtype == torch.complex64 and res.R.dtype == torch.float32
    assert res.R.shape == (2,)
    res64 = coherent([1.0, 2.0, 1.5], [0.0, 1e-7, 0.0], 5e-7)
    assert res64.r.dtype == C128 and res64.R.shape == ()


def test_p_layer_amplitudes_are_tangential_components_of_byrnes_amplitudes():
    rng = np.random.default_rng(5)
    n, d = random_stack(rng, 5)
    lam, angle = 633.0, 0.7
    ref = tmm.coh_tmm("p", n, d, angle, lam)
    fields = layer_fields(
        torch.tensor(n), torch.tensor(d) * NM, lam * NM, angle=angle, polarization="p"
    )
    cos_th = np.cos(ref["th_list"][1:-1])
    vw = ref["vw_list"][1:-1]
    prop = np.exp(1j * ref["kz_list"][1:-1] * d[1:-1])
    # tangential E: +cos(th) E for the forward wave, -cos(th) E for the backward one
    # (Byrnes' p convention, r_p = -r_s at normal incidence)
    assert np.abs(fields.forward.numpy()[1:-1] - vw[:, 0] * cos_th).max() < 1e-12
    assert np.abs(fields.backward.numpy()[1:-1] * prop + vw[:, 1] * cos_th).max() < 1e-12
