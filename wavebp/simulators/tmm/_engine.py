r"""The stable 1-D layered-media core shared by the optical and acoustic front ends.

Every front end reduces its physics to two per-layer numbers:

* the (tilted) *admittance* ``eta_j`` that relates the two tangential fields of a partial
  wave, ``H = +eta*E`` for the forward (+z) wave and ``H = -eta*E`` for the backward one
  (optics s: ``eta = n cos(theta)``, p: ``eta = n / cos(theta)``, with ``E`` the tangential
  electric field and ``H`` the tangential magnetic field times the vacuum impedance;
  acoustics: ``eta = cos(theta) / (rho c)``, with ``E`` the pressure and ``H`` the normal
  particle velocity);
* the phase thickness ``phi_j = k_z,j d_j`` of each interior layer, ``Im(phi) >= 0``.

Layout: tensors are layer-major, ``(L, B)`` (one contiguous row per medium), since the sweep
visits the media one by one and works on the whole batch at once.

Partial-wave convention (stable for any thickness): inside interior layer ``j``, which spans
``z_j <= z <= z_{j+1}`` with local coordinate ``s = z - z_j`` and thickness ``d_j``,

.. math::

    E(z) = a_j e^{i k_j s} + b_j e^{i k_j (d_j - s)}, \qquad
    H(z) = \eta_j \left(a_j e^{i k_j s} - b_j e^{i k_j (d_j - s)}\right),

so the forward amplitude is referenced at the layer's left boundary and the backward one at
its right boundary; both exponentials have modulus <= 1, nothing overflows. In the incident
medium both amplitudes are referenced at ``z = 0`` (``a_0 = 1``, ``b_0 = r``), in the exit
medium at the last interface (``a = t``, ``b = 0``). Time dependence ``exp(-i omega t)``.

The sweep is the Redheffer star product of the interface-plus-layer scattering matrices,
accumulated from the exit side, where only the two entries needed for illumination from one
side are kept (the load reflection ``rho_j`` and the transmitted amplitude): per interface
``j|j+1`` with Fresnel coefficients ``r = (eta_j - eta_{j+1})/(eta_j + eta_{j+1})``,
``t = 2 eta_j/(eta_j + eta_{j+1})`` and the reflection ``g`` seen at the left end of layer
``j+1``, ``rho_j = (r + g)/(1 + r g)`` and ``a_{j+1} = a_j e^{i phi_j} t/(1 + r g)``.
Illumination from the right is the same sweep on the mirrored stack.

Adjoint gradient. For ``psi = (E, H)`` the layer equations are ``psi' = A psi`` with
``A = i [[0, u], [w, 0]]``, ``u = k/eta``, ``w = k eta``. For two solutions the bilinear form
``W = E_a H_b - H_a E_b`` is constant in unperturbed regions (Lorentz reciprocity), and a
perturbation ``dA`` inside the stack changes the holomorphic functional
``F = c_r r + c_t t`` by

.. math::

    dF = \frac{i}{2} \int \left(dw\, E\, \Lambda_E - du\, H\, \Lambda_H\right) dz,
    \qquad \Lambda = \frac{c_r}{\eta_0}\,\psi^{L} + \frac{c_t}{\eta_s}\,\psi^{R},

where ``psi^L`` is the forward field (unit incidence from the left) and ``Lambda`` the adjoint
field: the physical field produced by injecting ``c_r/eta_0`` from the incident side and
``c_t/eta_s`` from the exit side (by reciprocity, no separate adjoint system is needed). In
layer ``j`` the overlap integrals have closed forms in the partial-wave amplitudes
``(a, b)`` of ``psi^L`` and ``(alpha, beta)`` of ``Lambda``:

.. math::

    \partial F/\partial \eta_j = \tfrac12 (a\alpha + b\beta)(e^{2 i\phi_j} - 1), \qquad
    \partial F/\partial \phi_j = i \eta_j (a\beta + b\alpha) e^{i\phi_j}.

The Function takes ``phi_j = kd_j * s_j`` as a real factor ``kd`` (wavenumber or angular
frequency times thickness) and a complex slowness ``s`` and builds the propagators
``exp(i phi)`` from real cos/sin/exp (several times faster than a complex exp); the chain
rule from ``dF/dphi`` to ``kd`` and ``s`` is done in closed form.

(The first is ``(ik/2)(I_E + I_H/eta^2)``, the second ``(i eta/2d)(I_E - I_H/eta^2)`` with
``I_E = int E Lambda_E``, ``I_H = int H Lambda_H`` over the layer; ``dF/dphi`` is the
field-times-adjoint-field at the moving boundary.) The two semi-infinite media enter only
through the boundary conditions: ``dF/deta_0 = [c_r (1 - r^2) + c_t t (1 - r)]/(2 eta_0)``,
``dF/deta_s = -c_r t^2/(2 eta_0) - c_t t (1 + r')/(2 eta_s)`` with ``r'`` the reflection
for illumination from the exit side.

The same constancy of ``W`` between ``psi^L`` and ``psi^R`` gives reciprocity in the form
``eta_s t_forward = eta_0 t_backward`` (tangential amplitudes).
"""

from __future__ import annotations

import torch

__all__ = [
    "TMMAdjoint",
    "amplitudes",
    "sweep",
]


def _interfaces(eta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fresnel coefficients ``(L-1, ...)`` of the interfaces for incidence from the left."""
    r_if = (eta[:-1] - eta[1:]) / (eta[:-1] + eta[1:])
    return r_if, 1.0 + r_if


def _batch_shape(eta: torch.Tensor, prop: torch.Tensor) -> tuple[int, ...]:
    return tuple(torch.broadcast_shapes(eta.shape[1:], prop.shape[1:]))


def sweep(eta: torch.Tensor, prop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reflection and transmission (tangential amplitudes) for unit incidence from the left.

    With autograd recording (some input requires grad) this is a chain of plain torch
    operations; otherwise the same recursion runs in place on preallocated tensors.

    Args:
        eta: admittances of all ``L`` media, complex, shape ``(L, ...)``.
        prop: propagators ``exp(i k_j d_j)`` of the ``L - 2`` interior layers,
            ``(L-2, ...)``; the batch dimensions of both broadcast.

    Returns:
        ``(r, t)``, each of the broadcast batch shape.
    """
    if torch.is_grad_enabled() and (eta.requires_grad or prop.requires_grad):
        return _sweep_graph(eta, prop)
    return _sweep_inplace(eta, prop)


def _sweep_graph(eta: torch.Tensor, prop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n_media = eta.shape[0]
    shape = _batch_shape(eta, prop)
    r_if, t_if = _interfaces(eta)
    te = t_if[1:] * prop  # t of interface i times the propagator of layer i (left of it)
    e2 = prop * prop
    rho, tau = r_if[-1], te[-1] if n_media > 2 else t_if[-1]
    for i in range(n_media - 3, -1, -1):
        g = rho * e2[i]  # reflection at the left end of layer i + 1
        inv = 1.0 / (1.0 + r_if[i] * g)
        rho = (r_if[i] + g) * inv
        tau = tau * inv * (te[i - 1] if i > 0 else t_if[0])
    return rho.expand(shape), tau.expand(shape)


def _sweep_inplace(eta: torch.Tensor, prop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n_media = eta.shape[0]
    shape = _batch_shape(eta, prop)
    r_if, t_if = _interfaces(eta)
    rho = r_if[-1].expand(shape).clone()
    if n_media == 2:
        return rho, t_if[-1].expand(shape).clone()
    te = t_if[1:] * prop
    e2 = prop * prop
    tau = te[-1].expand(shape).clone()
    g = torch.empty_like(rho)
    inv = torch.empty_like(rho)
    for i in range(n_media - 3, -1, -1):
        torch.mul(rho, e2[i], out=g)
        torch.mul(r_if[i], g, out=inv).add_(1.0).reciprocal_()
        torch.add(r_if[i], g, out=rho).mul_(inv)
        tau.mul_(inv).mul_(te[i - 1] if i > 0 else t_if[0])
    return rho, tau


def _sweep_store(eta: torch.Tensor, prop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Load reflections ``rho_i`` and ``q_i = t_i/(1 + r_i g)`` of every interface."""
    n_media = eta.shape[0]
    shape = _batch_shape(eta, prop)
    r_if, t_if = _interfaces(eta)
    e2 = prop * prop
    rho = eta.new_empty(n_media - 1, *shape)
    q = eta.new_empty(n_media - 1, *shape)
    rho[-1] = r_if[-1]
    q[-1] = t_if[-1]
    if torch.is_grad_enabled() and (eta.requires_grad or prop.requires_grad):
        for i in range(n_media - 3, -1, -1):
            g = rho[i + 1] * e2[i]
            inv = 1.0 / (1.0 + r_if[i] * g)
            rho[i] = (r_if[i] + g) * inv
            q[i] = t_if[i] * inv
        return rho, q
    g = torch.empty_like(rho[-1])
    for i in range(n_media - 3, -1, -1):
        torch.mul(rho[i + 1], e2[i], out=g)
        inv = q[i]
        torch.mul(r_if[i], g, out=inv).add_(1.0).reciprocal_()
        torch.add(r_if[i], g, out=rho[i]).mul_(inv)
        inv.mul_(t_if[i])
    return rho, q


def amplitudes(eta: torch.Tensor, prop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Partial-wave amplitudes ``(a, b)`` in every medium for unit incidence from the left.

    One sweep from the exit side for the load reflections, then the forward amplitudes
    ``a_{j+1} = a_j exp(i phi_j) q_j`` and ``b_j = rho_j a_j exp(i phi_j)``. Not recorded by
    autograd (used by the adjoint backward pass and the field functions).

    Args:
        eta: admittances, complex ``(L, ...)``.
        prop: interior propagators ``exp(i phi)``, complex ``(L-2, ...)`` (broadcasting).

    Returns:
        ``a``, ``b`` of shape ``(L, ...)`` in the convention of the module docstring
        (``a[0] = 1``, ``b[0] = r``, ``a[-1] = t``, ``b[-1] = 0``).
    """
    rho, q = _sweep_store(eta, prop)
    n_media = eta.shape[0]
    a = rho.new_empty(n_media, *rho.shape[1:])
    b = torch.empty_like(a)
    a[0] = 1.0
    a[1] = q[0]
    for j in range(1, n_media - 1):
        torch.mul(a[j], prop[j - 1], out=a[j + 1]).mul_(q[j])
    b[0] = rho[0]
    torch.mul(rho[1:], a[1:-1], out=b[1:-1]).mul_(prop)
    b[-1] = 0.0
    return a, b


def propagator(kd: torch.Tensor, slowness: torch.Tensor) -> torch.Tensor:
    """``exp(i kd s)`` for real ``kd`` and complex ``s`` from real exp/cos/sin (fast, exact)."""
    phase = kd * slowness.real
    mag = torch.exp(-kd * slowness.imag)
    if torch.is_grad_enabled() and (phase.requires_grad or mag.requires_grad):
        return torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
    parts = [torch.cos(phase).mul_(mag), torch.sin(phase).mul_(mag)]
    return torch.view_as_complex(torch.stack(parts, dim=-1))


class TMMAdjoint(torch.autograd.Function):
    """``(eta, kd, slowness) -> (r, t)`` with the adjoint-field gradient (module docstring).

    Inputs are layer-major, batch dimensions broadcasting: admittances ``eta`` ``(L, ...)``
    (complex), ``kd`` ``(L-2, ...)`` (real: vacuum wavenumber or angular frequency times
    thickness) and ``slowness`` ``(L-2, ...)`` (complex), so that the interior phase
    thickness is ``phi = kd * slowness``. The forward pass keeps its inputs and the
    propagators; the backward pass solves the forward field (illumination from the left)
    and, only where the loss depends on ``t``, the field for illumination from the right,
    forms the adjoint field from the incoming gradients and evaluates the per-layer overlap
    formulas ``dF/deta`` and ``dF/dphi`` (chain rule to ``kd`` and ``slowness`` in closed
    form).
    """

    @staticmethod
    def forward(eta: torch.Tensor, kd: torch.Tensor, slowness: torch.Tensor):  # type: ignore[override]
        prop = propagator(kd, slowness)
        r, t = _sweep_inplace(eta, prop)
        return r, t, prop

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[override]
        eta, kd, slowness = inputs
        ctx.save_for_backward(eta, kd, slowness, output[2])
        ctx.mark_non_differentiable(output[2])
        ctx.set_materialize_grads(False)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_r, grad_t, _grad_prop):  # type: ignore[override]
        eta, kd, slowness, prop = ctx.saved_tensors
        shape = _batch_shape(eta, prop)
        if grad_r is None and grad_t is None:
            return None, None, None
        # torch passes dLoss/dconj(out); the holomorphic functional is F = c_r r + c_t t.
        a, b = amplitudes(eta, prop)  # forward field: unit incidence from the left
        r, t = b[0], a[-1]
        eta_0, eta_s = eta[0], eta[-1]
        ai, bi = a[1:-1], b[1:-1]
        if grad_r is not None:
            c_r = grad_r.conj()
            w_l = c_r / eta_0
            alpha, beta = w_l * ai, w_l * bi  # adjoint field, forward/backward partial waves
        else:
            c_r = eta.new_zeros(shape)
            alpha = beta = None
        if grad_t is not None:
            # injection from the exit side: the mirrored stack, mapped back (a' = b~, b' = a~)
            c_t = grad_t.conj()
            b_back, a_back = (x.flip(0) for x in amplitudes(eta.flip(0), prop.flip(0)))
            r_back = a_back[-1]
            w_r = c_t / eta_s
            if alpha is None:
                alpha, beta = w_r * a_back[1:-1], w_r * b_back[1:-1]
            else:
                alpha = alpha + w_r * a_back[1:-1]
                beta = beta + w_r * b_back[1:-1]
        else:
            c_t = eta.new_zeros(shape)
            r_back = eta.new_zeros(shape)
        grad_eta = grad_kd = grad_slow = None
        if ctx.needs_input_grad[0]:
            d_eta = a.new_empty(a.shape)
            d_eta[1:-1] = 0.5 * (ai * alpha + bi * beta) * (prop * prop - 1.0)
            d_eta[0] = (c_r * (1 - r * r) + c_t * t * (1 - r)) / (2 * eta_0)
            d_eta[-1] = -c_r * t * t / (2 * eta_0) - c_t * t * (1 + r_back) / (2 * eta_s)
            grad_eta = d_eta.conj().sum_to_size(eta.shape)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            # dF/dphi = i eta (a beta + b alpha) prop, phi = kd * slowness
            d_phi = (ai * beta).add_(bi * alpha).mul_(eta[1:-1]).mul_(prop)
            d_phi = d_phi * 1j
            if ctx.needs_input_grad[1]:
                grad_kd = (d_phi * slowness).real.sum_to_size(kd.shape)
            if ctx.needs_input_grad[2]:
                grad_slow = (d_phi * kd).conj().sum_to_size(slowness.shape)
        return grad_eta, grad_kd, grad_slow
