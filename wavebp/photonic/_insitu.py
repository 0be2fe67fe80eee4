r"""In-situ backpropagation: phase-shifter gradients from three simulated intensity passes.

What is **measured** (simulated physically: fields propagated through the imperfect device,
powers read by noisy photodetectors) and what is **computed digitally**, for an
:class:`wavebp.photonic.ONN` with mesh layers ``l = 1..L``:

1. *Forward pass* (measured). The input field ``h_{l-1}`` goes through mesh ``l``; a tap
   photodiode after every phase shifter reads ``|a_k|^2``. The layer output ``z_l`` is
   read by coherent detection (amplitude and phase, as Pai et al. 2023 do with their
   analyser mesh) — needed for the activation derivative and the output error. The next
   layer receives ``h_l = f(z_l)`` from the optical activation.
2. *Error* (digital). The output photodetectors read ``P`` (with their noise); the digital
   read-out and ``loss_fn`` give ``dL/dP`` (autograd on the digital part only), and
   ``dL/dz_L* = dL/dP * z_L`` from the coherently measured ``z_L``.
3. *Adjoint pass* (measured). ``conj(dL/dz_l*)``, scaled to the input power, is injected at
   the outputs of mesh ``l`` and propagates **backwards through the physical device**
   (``U^T`` for a reciprocal mesh); the same tap photodiodes read ``|b_k|^2``; the field
   leaving the inputs is read coherently: ``X_TR = conj(b_in)``.
4. *Interference pass* (measured). The source sends ``h_{l-1} - i X_TR`` forward (the
   phase-conjugated adjoint output, with the conjugate source's amplitude/phase errors);
   the taps read ``|a_k - i conj(b_k)|^2``, and for every phase shifter at once
   ``dL/dphi_k = |a_k - i conj(b_k)|^2 - |a_k|^2 - |b_k|^2 = -2 Im(a_k b_k)`` (DESIGN.md),
   summed over the batch and divided by the known adjoint scale.
5. *Through an activation* (digital, as in Pai et al. 2023 and Hughes et al. 2018). The
   measured ``X_TR`` of layer ``l`` is ``dL/dh_{l-1}*``; the derivative of the activation at
   the coherently measured ``z_{l-1}`` is applied digitally (a vector-Jacobian product of
   the known activation formula), giving ``dL/dz_{l-1}*`` — the error injected in step 3
   for layer ``l - 1``. For the interference pass of layer ``l`` the source regenerates
   ``h_{l-1}`` at that layer's input (a per-layer input generator, as on Pai et al.'s chip).

SVD-style layers (mesh, attenuator MZIs, mesh) are handled stage by stage; the backward
light that leaves through the attenuators' auxiliary input ports is read coherently too and
its conjugate re-injected there in the interference pass (the auxiliary inputs are routed
to the chip edge), which keeps the lossless ``2N``-port exact.

With ``HardwareConfig(protocol="differential")`` step 4 is two interference passes,
``h - i X_TR`` and ``h + i X_TR``, and ``dL/dphi_k = (I_- - I_+) / 2``: the ``|a|^2`` and
``|b|^2`` terms cancel within the same pass pair, which removes the bias that insertion loss
puts on the three-pass rule (the ``"realistic"`` preset uses it). The simulation gets the
fields of both interference passes from the recorded forward fields and one propagation of
``X_TR`` alone (the chip is linear in the field; noise is added to the intensities), which
are the fields of propagating ``h -+ i X_TR`` to float rounding.

Hardware effects enter every pass: the effective phases (DAC quantisation, thermal
crosstalk, fabrication phase errors), coupler errors, insertion loss and non-reciprocal
elements of each :class:`Mesh` (its physical parameters), detector noise
(:class:`wavebp.devices.DetectorConfig`) on every intensity, coherent-detection noise on
measured fields and the conjugate source's errors (:class:`HardwareConfig`). With loss,
``h - i X_TR`` no longer puts ``a - i conj(b)`` at the shifters (the path back to the inputs
is not unitary), and with a non-reciprocal element or with the conjugation switched off the
measured quadrature is wrong — these errors are reported, never corrected.

The gradient assigned to a parameter is ``dL/d(effective phase)``, which is what the chip
measures; under crosstalk or quantisation this differs from ``dL/d(programmed phase)`` and
the difference shows up as gradient error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from wavebp._core import check_choice, check_int, check_real
from wavebp.devices import DetectorConfig, photodetect
from wavebp.photonic._insitu_passes import PassFields, propagate_recording
from wavebp.simulators.mesh import MeshParams

__all__ = [
    "HARDWARE_PRESETS",
    "PROTOCOLS",
    "HardwareConfig",
    "cosine_error",
    "gradient_error",
    "insitu_gradient",
    "mesh_imperfections",
    "mesh_physical_params",
]


#: In-situ measurement protocols (see :class:`HardwareConfig`).
PROTOCOLS = ("three-pass", "differential")


@dataclass(frozen=True, kw_only=True)
class HardwareConfig:
    """Hardware of an in-situ training run: device imperfections and measurement errors.

    Device imperfections (applied when a model is built for this hardware, through the
    mesh's own models; they then act in every pass and in the digital reference alike):

    Attributes:
        coupler_error_std: fabrication std of each coupler's splitting error in rad, ``>= 0``.
        phase_error_std: fabrication std of each phase shifter's offset in rad, ``>= 0``.
        loss_db: insertion loss per MZI in dB, ``>= 0``.
        dac_bits: phase-shifter DAC resolution in bits over ``[0, 2 pi)``, or ``None``.
        crosstalk: nearest-neighbour thermal crosstalk coefficient (fraction of a shifter's
            phase seen by its neighbours), in ``[0, 0.5)``.

    Measurement (used by :func:`insitu_gradient`):

    Attributes:
        detector: tap- and output-photodiode model (shot/thermal noise, ADC), or ``None``
            for ideal detectors. ``reference_power`` should be the model's input power.
        field_noise: relative noise of coherent field measurements (``z_l``, ``X_TR``): a
            complex Gaussian with std ``field_noise * rms(|field|)`` per entry, ``>= 0``.
        conjugation: send the phase-conjugated adjoint output (True, correct) or the adjoint
            output itself without conjugation (False, the check that must fail).
        conjugation_amplitude_error: relative std of the conjugate source's amplitude per
            port, ``>= 0``.
        conjugation_phase_error: std of the conjugate source's phase per port in rad, ``>= 0``.
        normalize_adjoint: scale each sample's injected adjoint to the input power (and
            divide the measured gradient by the same known factor).
        protocol: ``"three-pass"`` (DESIGN.md, Pai et al.: forward, adjoint and one
            interference pass, ``I_int - I_fwd - I_adj``) or ``"differential"`` (a fourth
            pass with ``+i`` instead of ``-i``: ``(I_- - I_+) / 2``). With insertion loss the
            conjugate field reaching a shifter is weaker than the adjoint field was, so the
            ``|b|^2`` terms of the three-pass rule no longer cancel and leave a large bias;
            the differential rule cancels them and is only scaled per column by the loss.
    """

    coupler_error_std: float = 0.0
    phase_error_std: float = 0.0
    loss_db: float = 0.0
    dac_bits: int | None = None
    crosstalk: float = 0.0
    detector: DetectorConfig | None = None
    field_noise: float = 0.0
    conjugation: bool = True
    conjugation_amplitude_error: float = 0.0
    conjugation_phase_error: float = 0.0
    normalize_adjoint: bool = True
    protocol: str = "three-pass"
    name: str = field(default="custom")

    def __post_init__(self) -> None:
        check_real("coupler_error_std", self.coupler_error_std, low=0.0, high=0.5, unit="rad")
        check_real("phase_error_std", self.phase_error_std, low=0.0, unit="rad")
        check_real("loss_db", self.loss_db, low=0.0, unit="dB")
        if self.dac_bits is not None:
            check_int("dac_bits", self.dac_bits, minimum=1, maximum=32)
        check_real("crosstalk", self.crosstalk, low=0.0, high=0.5, high_inclusive=False)
        if self.detector is not None and not isinstance(self.detector, DetectorConfig):
            raise ValueError(f"detector must be a DetectorConfig or None, got {self.detector!r}")
        check_real("field_noise", self.field_noise, low=0.0)
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_real("conjugation_amplitude_error", self.conjugation_amplitude_error, low=0.0)
        check_real("conjugation_phase_error", self.conjugation_phase_error, low=0.0, unit="rad")

    @property
    def has_device_errors(self) -> bool:
        """True if any device imperfection is set."""
        return bool(
            self.coupler_error_std
            or self.phase_error_std
            or self.loss_db
            or self.dac_bits is not None
            or self.crosstalk
        )

    @classmethod
    def preset(cls, name: str, *, input_power: float = 1e-3) -> HardwareConfig:
        """A named preset (see :data:`HARDWARE_PRESETS`).

        Args:
            name: ``"ideal"``, ``"pai2023"`` or ``"realistic"``.
            input_power: the model's input power in W (the detectors' reference power).
        """
        if name not in HARDWARE_PRESETS:
            options = " | ".join(repr(k) for k in HARDWARE_PRESETS)
            raise ValueError(f"hardware must be one of {options}, got {name!r}")
        return HARDWARE_PRESETS[name](input_power)


def _ideal(p_in: float) -> HardwareConfig:
    return HardwareConfig(name="ideal")


def _pai2023(p_in: float) -> HardwareConfig:
    # Pai et al., Science 380, 398 (2023): tap photodiode shot noise 0.02 at unit
    # (normalised) input power; everything else ideal.
    return HardwareConfig(
        name="pai2023",
        detector=DetectorConfig(shot_noise=0.02, reference_power=p_in),
    )


def _realistic(p_in: float) -> HardwareConfig:
    # A silicon-photonics-like chip: 0.02 rad coupler and 0.01 rad phase fabrication errors,
    # 0.05 dB per MZI, 12-bit DACs, 1 % nearest-neighbour thermal crosstalk; photodiodes with
    # Pai et al.'s shot noise, a thermal floor of 1e-5 P_in and a 12-bit ADC; coherent
    # detection at 1 % noise and a conjugate source with 1 % / 0.01 rad errors. The
    # differential protocol, because the three-pass rule is badly biased by insertion loss.
    return HardwareConfig(
        name="realistic",
        protocol="differential",
        coupler_error_std=0.02,
        phase_error_std=0.01,
        loss_db=0.05,
        dac_bits=12,
        crosstalk=0.01,
        detector=DetectorConfig(
            shot_noise=0.02,
            reference_power=p_in,
            thermal_noise=1e-5 * p_in,
            adc_bits=12,
            full_scale=p_in,
        ),
        field_noise=0.01,
        conjugation_amplitude_error=0.01,
        conjugation_phase_error=0.01,
    )


#: Named hardware presets: ``"ideal"`` (noise-free, lossless), ``"pai2023"`` (tap
#: photodiode shot noise 0.02 only, Pai et al. 2023), ``"realistic"`` (all effects).
HARDWARE_PRESETS: dict[str, Callable[[float], HardwareConfig]] = {
    "ideal": _ideal,
    "pai2023": _pai2023,
    "realistic": _realistic,
}


# ----------------------------------------------------------------------------------------
# Measurement helpers.


def _randn(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like ``like`` (complex: unit total variance), drawn on
    the generator's device and moved to ``like``'s."""
    device = like.device if generator is None else generator.device
    noise = torch.randn(like.shape, dtype=like.dtype, device=device, generator=generator)
    return noise.to(like.device)


def _measure_field(
    z: torch.Tensor, hw: HardwareConfig, generator: torch.Generator | None
) -> torch.Tensor:
    if hw.field_noise == 0.0:
        return z
    rms = (z.real.square() + z.imag.square()).mean(-1, keepdim=True).sqrt()
    noise = _randn(z, generator)
    return z + hw.field_noise * rms * noise  # complex randn: unit total variance


def _conjugate_source(
    x_tr: torch.Tensor, hw: HardwareConfig, generator: torch.Generator | None
) -> torch.Tensor:
    if hw.conjugation_amplitude_error == 0.0 and hw.conjugation_phase_error == 0.0:
        return x_tr
    amp = 1.0 + hw.conjugation_amplitude_error * _randn(x_tr.real, generator)
    ph = hw.conjugation_phase_error * _randn(x_tr.real, generator)
    return x_tr * torch.polar(amp, ph)


def _read_taps(
    rec: PassFields | _AttenuatorFields, hw: HardwareConfig, generator: torch.Generator | None
) -> dict[str, torch.Tensor]:
    if hw.detector is None or hw.detector.is_ideal:
        return rec.intensities()  # what photodetect returns (a copy of), without the copy
    return {
        k: photodetect(v, detector=hw.detector, generator=generator)
        for k, v in rec.intensities().items()
    }


def mesh_physical_params(mesh: torch.nn.Module) -> tuple[MeshParams, dict[str, str]]:
    """The effective physical parameters of a mesh and which parameter programs each phase.

    Args:
        mesh: a :class:`wavebp.photonic.Mesh` (or any module with ``physical_params()``
            returning :class:`wavebp.simulators.mesh.MeshParams` and parameters named
            ``theta``, ``phi``, ``output_phase``).

    Returns:
        ``(params, names)``: the mesh's :meth:`physical_params` (effective phases after DAC,
        crosstalk and fabrication offsets; coupler errors; loss; non-reciprocal phases) and
        a dict mapping ``"theta"``, ``"phi"``, ``"output_phase"`` to the names of the
        trainable parameters that program them (absent if the mesh has no such parameter).
    """
    fn = getattr(mesh, "physical_params", None)
    if not callable(fn):
        raise ValueError(
            f"mesh must expose physical_params() -> MeshParams, got {type(mesh).__name__}"
        )
    params = fn()
    own = {n for n, p in mesh.named_parameters() if p.requires_grad}
    names = {fld: fld for fld in ("theta", "phi", "output_phase") if fld in own}
    return params, names


# ----------------------------------------------------------------------------------------
# The engine.


@dataclass(frozen=True)
class _AttenuatorFields:
    """Fields recorded in an attenuator column (see :class:`AttenuatorColumn`)."""

    theta: torch.Tensor  # (B, N) just after each theta shifter
    exit: torch.Tensor  # (B, N) signal leaving the column
    aux_exit: torch.Tensor | None = None  # (B, N) backward light leaving the aux inputs

    def intensities(self) -> dict[str, torch.Tensor]:
        return {"theta": _abs2(self.theta)}


def _abs2(z: torch.Tensor) -> torch.Tensor:
    out = z.real.square()  # re^2 + im^2 with one allocation
    return out.addcmul_(z.imag, z.imag)


def _attenuator_pass(
    theta: torch.Tensor,
    f: torch.Tensor,
    *,
    direction: str,
    aux: torch.Tensor | None = None,
) -> _AttenuatorFields:
    """Ideal-coupler MZIs ``(signal j, aux j)``; forward from the top input (plus ``aux`` on
    the bottom inputs), backward from the top outputs (the dump outputs receive nothing)."""
    h = math.sqrt(0.5)
    e = torch.polar(torch.ones_like(theta), theta.detach()).to(f.dtype)
    if direction == "forward":
        b = torch.zeros_like(f) if aux is None else aux
        ut, ub = h * (f + 1j * b), h * (1j * f + b)
        a = ut * e
        return _AttenuatorFields(theta=a, exit=h * (a + 1j * ub))
    vt, vb = h * f, 1j * h * f
    b_theta = vt
    vt = vt * e
    return _AttenuatorFields(theta=b_theta, exit=h * (vt + 1j * vb), aux_exit=h * (1j * vt + vb))


def _superpose(
    f: PassFields | _AttenuatorFields, c: PassFields | _AttenuatorFields, alpha: complex
) -> PassFields | _AttenuatorFields:
    """The recorded fields of a forward pass driven by ``f``'s sources plus ``alpha`` times
    ``c``'s (the device is linear), entry by entry."""
    if isinstance(f, PassFields):
        exit_ = torch.add(f.exit, c.exit, alpha=alpha)
        same = f.output is f.exit and c.output is c.exit  # forward: output is the exit
        return PassFields(
            phi=torch.add(f.phi, c.phi, alpha=alpha),
            theta=torch.add(f.theta, c.theta, alpha=alpha),
            output=exit_ if same else torch.add(f.output, c.output, alpha=alpha),
            exit=exit_,
        )
    return _AttenuatorFields(
        theta=torch.add(f.theta, c.theta, alpha=alpha),
        exit=torch.add(f.exit, c.exit, alpha=alpha),
    )


def _stages(layer: torch.nn.Module) -> list[tuple[str, str, torch.nn.Module]]:
    """``(kind, prefix, module)`` of the optical stages of one ONN layer, in light order."""
    from wavebp.photonic._onn import SVDLayer

    if isinstance(layer, SVDLayer):
        return [
            ("mesh", "mesh_in.", layer.mesh_in),
            ("attenuator", "attenuator.", layer.attenuator),
            ("mesh", "mesh_out.", layer.mesh_out),
        ]
    return [("mesh", "", layer)]


class _Layer:
    """The physical description of one layer (effective parameters of each stage)."""

    def __init__(self, layer: torch.nn.Module) -> None:
        self.stages = []
        for kind, prefix, module in _stages(layer):
            if kind == "mesh":
                params, names = mesh_physical_params(module)
                self.stages.append((kind, prefix, module, params, names))
            else:
                self.stages.append((kind, prefix, module, module.theta, {"theta": "theta"}))

    def forward(self, h: torch.Tensor, aux: dict[int, torch.Tensor] | None = None) -> list:
        recs, f = [], h
        for i, (kind, _, _, params, _) in enumerate(self.stages):
            if kind == "mesh":
                rec = propagate_recording(f, params, direction="forward")
            else:
                rec = _attenuator_pass(
                    params, f, direction="forward", aux=None if aux is None else aux.get(i)
                )
            recs.append(rec)
            f = rec.exit
        return recs

    def backward(self, c: torch.Tensor) -> list:
        recs: list = [None] * len(self.stages)
        f = c
        for i in range(len(self.stages) - 1, -1, -1):
            kind, _, _, params, _ = self.stages[i]
            if kind == "mesh":
                rec = propagate_recording(f, params, direction="backward")
            else:
                rec = _attenuator_pass(params, f, direction="backward")
            recs[i] = rec
            f = rec.exit
        return recs


def insitu_gradient(
    model: torch.nn.Module,
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    hardware: HardwareConfig | None = None,
    generator: torch.Generator | None = None,
    return_details: bool = False,
) -> dict[str, torch.Tensor]:
    """Gradients of ``loss_fn(model(x))`` measured by simulated in-situ backpropagation.

    Args:
        model: an :class:`wavebp.photonic.ONN` (meshes or SVD layers, activations, encoding,
            read-out).
        x: real input features ``(B, n_features)``.
        loss_fn: maps the model output (logits ``(B, n_classes)``) to a real scalar; it is
            differentiated digitally, as in the lab.
        hardware: measurement model (detector noise, coherent-detection noise, conjugate
            source errors, conjugation switch, protocol); ``None`` = ideal measurements.
            Device imperfections live in the model's meshes.
        generator: random source of every measurement noise.
        return_details: also return the recorded passes (under the key ``"_details"``, a
            list per layer of dicts with the fields and intensities of the layer's first
            stage; for figures).

    Returns:
        ``{name: gradient}`` keyed like ``model.named_parameters()`` (every phase), each
        tensor shaped and typed like its parameter, plus ``"_loss"`` (the loss evaluated on
        the measured read-out, a 0-d tensor).
    """
    hw = HardwareConfig() if hardware is None else hardware
    modules = list(model.meshes)
    n_layers = len(modules)
    layers = [_Layer(m) for m in modules]
    out: dict[str, torch.Tensor] = {}
    details: list[dict] = [{} for _ in modules]
    with torch.no_grad():
        h = model.encode(x)
        p_in = _abs2(h).sum(-1)  # (B,) W
        inputs, forwards, measured_z = [], [], []
        for index, layer in enumerate(layers):
            inputs.append(h)
            recs = layer.forward(h)
            forwards.append(recs)
            z = recs[-1].exit
            measured_z.append(_measure_field(z, hw, generator))
            if index < n_layers - 1:
                h = model.activations[index](z)
        # Output detection and the digital error.
        powers = photodetect(model.detected_powers(z), detector=hw.detector, generator=generator)
    powers = powers.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = loss_fn(model.readout(powers))
        (g_p,) = torch.autograd.grad(loss, powers)
    out["_loss"] = loss.detach()
    with torch.no_grad():
        z_l = measured_z[-1]
        g = torch.zeros_like(z_l)
        g[..., model.readout_ports] = g_p.to(z_l.real.dtype) * z_l[..., model.readout_ports]
        for index in range(n_layers - 1, -1, -1):
            layer = layers[index]
            g_pow = _abs2(g).sum(-1)
            if hw.normalize_adjoint:
                scale = torch.where(g_pow > 0, (p_in / g_pow.clamp_min(1e-300)).sqrt(), 1.0)
            else:
                scale = torch.ones_like(g_pow)
            c = g.conj() * scale.unsqueeze(-1).to(g.dtype)
            back = layer.backward(c)
            # Coherent read-out of the light leaving the inputs (and auxiliary inputs),
            # phase-conjugated (or not) and regenerated by the sources with their errors.
            b_in = _measure_field(back[0].exit, hw, generator)
            x_tr = b_in.conj() if hw.conjugation else b_in
            src = _conjugate_source(x_tr, hw, generator)
            aux_src = {}
            for i, rec in enumerate(back):
                if getattr(rec, "aux_exit", None) is not None:
                    b_aux = _measure_field(rec.aux_exit, hw, generator)
                    aux_src[i] = _conjugate_source(
                        b_aux.conj() if hw.conjugation else b_aux, hw, generator
                    )
            if hw.protocol == "differential":
                # The chip is linear in the field (detector noise acts on intensities,
                # later), so the fields of the two interference passes h -+ i X_TR are
                # the recorded forward fields -+ i times those of X_TR alone: one
                # propagation instead of two, the same fields to float rounding.
                alone = layer.forward(src, aux_src)
                inter = [_superpose(f, c, -1j) for f, c in zip(forwards[index], alone, strict=True)]
                inter_plus = [
                    _superpose(f, c, 1j) for f, c in zip(forwards[index], alone, strict=True)
                ]
            else:
                inter = layer.forward(
                    inputs[index] - 1j * src, {i: -1j * a for i, a in aux_src.items()}
                )
            prefix = f"meshes.{index}."
            for i, (_, stage_prefix, module, _, names) in enumerate(layer.stages):
                i_fwd = _read_taps(forwards[index][i], hw, generator)
                i_adj = _read_taps(back[i], hw, generator)
                i_int = _read_taps(inter[i], hw, generator)
                if hw.protocol == "differential":
                    i_plus = _read_taps(inter_plus[i], hw, generator)
                own = dict(module.named_parameters())
                for fld, i_f in i_fwd.items():
                    if hw.protocol == "differential":
                        meas = 0.5 * (i_int[fld] - i_plus[fld])
                    else:
                        meas = i_int[fld] - i_f - i_adj[fld]
                    pname = names.get(fld)
                    if pname is None:
                        continue
                    grad = (meas / scale.unsqueeze(-1)).sum(0)
                    param = own[pname]
                    out[prefix + stage_prefix + pname] = grad.to(param.dtype).reshape(param.shape)
                if return_details and i == 0:
                    details[index] = {
                        "forward": forwards[index][0],
                        "adjoint": back[0],
                        "interference": inter[0],
                        "intensities": {
                            "forward": i_fwd,
                            "adjoint": i_adj,
                            "interference": i_int,
                        },
                        "scale": scale,
                    }
            if index > 0:
                g_h = x_tr / scale.unsqueeze(-1).to(x_tr.dtype)  # measured dL/dh*
                z_prev = measured_z[index - 1].detach().requires_grad_(True)
                with torch.enable_grad():
                    h_prev = model.activations[index - 1](z_prev)
                    if h_prev.requires_grad:
                        (g,) = torch.autograd.grad(h_prev, z_prev, grad_outputs=g_h)
                    else:  # identity activation
                        g = g_h
    # Every trainable parameter must have been measured; say so loudly otherwise.
    for name, param in model.named_parameters():
        if param.requires_grad and name not in out:
            raise ValueError(
                f"insitu_gradient has no measurement for parameter {name!r}; the model "
                "must hold only optical phases"
            )
    if return_details:
        out["_details"] = details  # type: ignore[assignment]
    return out


# ----------------------------------------------------------------------------------------
# Gradient-error metrics.


def _flat(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    keys = sorted(k for k in grads if not k.startswith("_"))
    return torch.cat([grads[k].detach().reshape(-1).to(torch.float64) for k in keys])


def cosine_error(g_hat: dict[str, torch.Tensor], g: dict[str, torch.Tensor]) -> float:
    """``1 - g_hat . g / (|g_hat| |g|)`` over all parameters (0 = same direction)."""
    a, b = _flat(g_hat), _flat(g)
    if a.shape != b.shape:
        raise ValueError(f"gradients differ in size: {a.numel()} vs {b.numel()}")
    den = a.norm() * b.norm()
    if float(den) == 0.0:
        return math.nan
    return float(1.0 - (a @ b) / den)


def gradient_error(g_hat: dict[str, torch.Tensor], g: dict[str, torch.Tensor]) -> float:
    """Pai et al.'s gradient error ``1 - g_hat . g`` with both gradients normalised to unit
    length (equal to :func:`cosine_error`; named as in Pai et al. 2023)."""
    return cosine_error(g_hat, g)


def mesh_imperfections(hardware: HardwareConfig) -> dict:
    """Keyword arguments for :class:`wavebp.photonic.Mesh` that build ``hardware``'s device
    imperfections (coupler and phase fabrication errors, insertion loss, DAC bits, thermal
    crosstalk) as a :class:`wavebp.photonic.MeshImperfections`; the static errors are then
    sampled from the mesh's ``generator``. Empty for hardware without device errors.

    Args:
        hardware: the hardware description.
    """
    from wavebp.photonic._mesh import MeshImperfections

    if not hardware.has_device_errors:
        return {}
    return {
        "imperfections": MeshImperfections(
            coupler_error_sigma=hardware.coupler_error_std,
            phase_error_sigma=hardware.phase_error_std,
            loss_db=hardware.loss_db,
            dac_bits=hardware.dac_bits,
            crosstalk=hardware.crosstalk,
        )
    }
