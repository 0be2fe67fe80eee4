r"""Experiment 5: Prediction 1 (eigenmodes) -- do the trained network's dominant Jacobian
modes align with the data's principal components?

The input-output Jacobian ``J(x) = df/dx`` of a classifier is not square, so its "modes"
are its right singular vectors; averaged over the data they are the eigenvectors of the
average gradient outer product ``G = E_x[J(x)^T J(x)]`` (AGOP). We compare the top-``k``
eigenspace of ``G`` with (a) the top-``k`` principal components of the inputs and (b) the
label-relevant subspace (top-``k`` eigenvectors of the between-class scatter), by the
subspace overlap ``||P_A P_B||_F^2 / k`` (1: identical, ``k/d``: random).

On digits the two reference subspaces overlap; on a synthetic set they are orthogonal by
construction (the high-variance directions carry no label information), which is the
set-up that can tell the two hypotheses apart.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from wavebp.analysis.paper._common import (
    INCONCLUSIVE,
    REFUTED,
    SUPPORTED,
    ClaimResult,
    SubClaim,
    digits_data,
    make_mlp,
    mean_ci,
    train_full_batch,
)
from wavebp.analysis.paper._spectral import rule_positive_correlation

__all__ = [
    "average_gradient_outer_product",
    "between_class_subspace",
    "decoupled_dataset",
    "plot_modes",
    "principal_subspace",
    "rule_modes_follow_pcs",
    "run_modes",
    "subspace_overlap",
]


def average_gradient_outer_product(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``G = mean_x J(x)^T J(x)``, ``(d, d)``, with ``J`` the ``(n_out, d)`` input Jacobian."""
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    g = x.new_zeros(x.shape[1], x.shape[1])
    for c in range(out.shape[1]):
        (jc,) = torch.autograd.grad(out[:, c].sum(), x, retain_graph=c < out.shape[1] - 1)
        g = g + jc.mT @ jc
    return g.detach() / x.shape[0]


def _top_eigvecs(m: torch.Tensor, k: int) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m.to(torch.float64))
    return vecs[:, torch.argsort(vals, descending=True)[:k]]


def principal_subspace(x: torch.Tensor, k: int) -> torch.Tensor:
    """Orthonormal ``(d, k)`` basis of the top-``k`` principal components of ``x``."""
    xc = x - x.mean(0)
    return _top_eigvecs(xc.mT @ xc / x.shape[0], k)


def between_class_subspace(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """Orthonormal ``(d, k)`` basis of the top-``k`` eigenvectors of the between-class
    scatter ``sum_c n_c (mu_c - mu)(mu_c - mu)^T`` (rank <= n_classes - 1)."""
    mu = x.mean(0)
    s = x.new_zeros(x.shape[1], x.shape[1])
    for c in torch.unique(y):
        xc = x[y == c]
        d = (xc.mean(0) - mu).unsqueeze(1)
        s = s + xc.shape[0] * (d @ d.mT)
    return _top_eigvecs(s, k)


def subspace_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """``||A^T B||_F^2 / min(k_a, k_b)`` for orthonormal bases ``A (d, k_a)``, ``B (d, k_b)``:
    the mean squared cosine of the principal angles, in [0, 1]."""
    a = a.to(torch.float64)
    b = b.to(torch.float64)
    return float((a.mT @ b).pow(2).sum() / min(a.shape[1], b.shape[1]))


def decoupled_dataset(
    *,
    n: int,
    dim: int = 20,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
):
    """A 3-class set whose label lives in a low-variance 2-D subspace orthogonal to the top
    principal components.

    Coordinates (before a random rotation): ``e_0..e_3`` have standard deviations 6, 5, 4, 3
    and carry no label information; all others have standard deviation 1; the label is the
    120-degree sector of the angle of ``(e_{d-2}, e_{d-1})``.

    Returns:
        ``(x, y, pcs_true, label_true)``: inputs ``(n, dim)``, labels ``(n,)``, and the
        rotated bases ``(dim, 2)`` of the top-2 principal and of the label subspace.
    """
    std = torch.ones(dim, dtype=torch.float64)
    std[:4] = torch.tensor([6.0, 5.0, 4.0, 3.0], dtype=torch.float64)
    z = torch.randn(n, dim, generator=generator, dtype=torch.float64) * std
    angle = torch.atan2(z[:, -1], z[:, -2])
    y = torch.floor((angle + math.pi) / (2 * math.pi / 3)).clamp(max=2).to(torch.int64)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    x = z @ q.mT
    return x.to(dtype), y, q[:, :2], q[:, -2:]


def rule_modes_follow_pcs(overlap_pc: list[float], overlap_label: list[float]) -> str:
    """Verdict on Prediction 1 ("dominant Jacobian modes align with the data's principal
    components") on the decoupled set, per seed overlaps of the top-k AGOP eigenspace with
    the top-k PCs and with the label subspace (random: k/d = 0.1).

    Supported if the PC overlap's 95 % CI lower bound > 0.5; refuted if its upper bound
    < 0.2 while the label overlap's lower bound > 0.5 (the modes follow the labels, not the
    variance); otherwise inconclusive.
    """
    _, pc_lo, pc_hi = mean_ci(overlap_pc)
    _, lab_lo, _ = mean_ci(overlap_label)
    if pc_lo > 0.5:
        return SUPPORTED
    if pc_hi < 0.2 and lab_lo > 0.5:
        return REFUTED
    return INCONCLUSIVE


def run_modes(*, fast: bool, generator: torch.Generator) -> ClaimResult:
    """Run experiment 5 (see the module docstring)."""
    n_seeds = 3 if fast else 6
    steps = 150 if fast else 500
    out: dict[str, dict[str, list[float]]] = {"synthetic": {}, "digits": {}}
    spectra = {}
    for name in ("synthetic", "digits"):
        rec = out[name]
        for _ in range(n_seeds):
            if name == "synthetic":
                x, y, _, lab_true = decoupled_dataset(n=1500 if fast else 4000, generator=generator)
                k, n_cls = 2, 3
            else:
                x, y, _, _ = digits_data(generator=generator)
                k, n_cls = 9, 10
            pcs = principal_subspace(x.to(torch.float64), k)
            lab = between_class_subspace(x.to(torch.float64), y, k)
            model = make_mlp([x.shape[1], 64, 64, n_cls], activation="tanh", generator=generator)
            modes0 = _top_eigvecs(average_gradient_outer_product(model, x), k)
            train_full_batch(model, x, y, steps=steps, lr=1e-2)
            g = average_gradient_outer_product(model, x)
            modes = _top_eigvecs(g, k)
            vals = torch.linalg.eigvalsh(g.to(torch.float64)).flip(0)
            spectra.setdefault(name, (vals / vals[0]).numpy())
            with torch.no_grad():
                acc = float((model(x).argmax(-1) == y).to(torch.float64).mean())
            for key, val in (
                ("agop_pc", subspace_overlap(modes, pcs)),
                ("agop_label", subspace_overlap(modes, lab)),
                ("pc_label", subspace_overlap(pcs, lab)),
                ("init_agop_label", subspace_overlap(modes0, lab)),
                ("init_agop_pc", subspace_overlap(modes0, pcs)),
                ("train_accuracy", acc),
                ("random_baseline", k / x.shape[1]),
            ):
                rec.setdefault(key, []).append(val)
            if name == "synthetic":
                rec.setdefault("label_subspace_recovered", []).append(
                    subspace_overlap(lab, lab_true)
                )
    syn, dig = out["synthetic"], out["digits"]
    head = SubClaim(
        name="modes_follow_pcs",
        claim=(
            "Prediction 1: the trained network's dominant Jacobian eigenmodes align with "
            "the principal components of the training data."
        ),
        test=(
            "decoupled synthetic set (d = 20, 3 classes; label in a variance-1 plane, top-2 "
            "PCs label-free): overlap of the top-2 AGOP eigenspace of a trained tanh MLP with "
            f"the top-2 PCs and with the label subspace, {n_seeds} seeds"
        ),
        rule=(
            "supported if the PC overlap's 95% CI lower bound > 0.5; refuted if its upper "
            "bound < 0.2 and the label overlap's lower bound > 0.5; else inconclusive "
            "(random overlap: 0.1)"
        ),
        rule_source="rule_modes_follow_pcs",
        verdict=rule_modes_follow_pcs(syn["agop_pc"], syn["agop_label"]),
        numbers={
            "overlap_pc": syn["agop_pc"],
            "overlap_label": syn["agop_label"],
            "train_accuracy": syn["train_accuracy"],
        },
    )
    digits = SubClaim(
        name="digits_pc_vs_label",
        claim="On real data (digits) the Jacobian modes are closer to the PCs than to the "
        "label subspace.",
        test=("digits, k = 9: overlap(AGOP, PC) - overlap(AGOP, between-class) per seed"),
        rule="supported if the 95% CI of the difference > 0, refuted if < 0, else inconclusive",
        rule_source="rule_positive_correlation",
        verdict=rule_positive_correlation(list(np.subtract(dig["agop_pc"], dig["agop_label"]))),
        numbers={
            "overlap_pc": dig["agop_pc"],
            "overlap_label": dig["agop_label"],
            "pc_label_overlap": dig["pc_label"],
            "random": dig["random_baseline"][0],
        },
    )
    training = SubClaim(
        name="training_makes_modes",
        claim=(
            "The essence of training is to make the target input-output patterns "
            "eigenmodes of the network."
        ),
        test=(
            "synthetic set: overlap of the top AGOP eigenspace with the label subspace after "
            "training minus at initialisation"
        ),
        rule="supported if the 95% CI of the increase > 0, refuted if < 0, else inconclusive",
        rule_source="rule_positive_correlation",
        verdict=rule_positive_correlation(
            list(np.subtract(syn["agop_label"], syn["init_agop_label"]))
        ),
        numbers={"after": syn["agop_label"], "before": syn["init_agop_label"]},
    )
    return ClaimResult(
        number=5,
        title="Prediction 1: Jacobian eigenmodes vs principal components vs labels",
        headline="modes_follow_pcs",
        sub_claims=(head, digits, training),
        numbers={"synthetic": syn, "digits": dig},
        arrays={
            "overlaps_synthetic": np.array(
                [syn["agop_pc"], syn["agop_label"], syn["init_agop_pc"], syn["init_agop_label"]]
            ),
            "overlaps_digits": np.array(
                [dig["agop_pc"], dig["agop_label"], dig["init_agop_pc"], dig["init_agop_label"]]
            ),
            **{f"spectrum_{k}": v for k, v in spectra.items()},
        },
        notes=(
            "The paper's 'eigendecomposition of the Jacobian' is ill-posed for a non-square "
            "Jacobian (64 -> 10); we use its right singular vectors averaged over the data "
            "(AGOP), the standard operationalisation.",
            "At initialisation the AGOP of a random net is nearly isotropic, so its top "
            "eigenspace is close to random (see the 'before' overlaps).",
        ),
    )


def plot_modes(result: ClaimResult, path: str | Path) -> Path:
    """Bar chart of subspace overlaps (synthetic and digits) and the AGOP spectra."""
    from matplotlib.figure import Figure

    a = result.arrays
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    ax = fig.subplots(1, 3)
    labels = ["AGOP-PC\ntrained", "AGOP-label\ntrained", "AGOP-PC\ninit", "AGOP-label\ninit"]
    for axis, key, title, base in (
        (ax[0], "overlaps_synthetic", "decoupled synthetic", 0.1),
        (ax[1], "overlaps_digits", "digits", 9 / 64),
    ):
        v = a[key]
        axis.bar(range(4), v.mean(1), yerr=v.std(1), color=["C0", "C1", "C0", "C1"], alpha=0.8)
        axis.set_xticks(range(4), labels, fontsize=8)
        axis.axhline(base, color="k", ls=":", label="random")
        axis.set(ylim=(0, 1), ylabel="subspace overlap", title=title)
        axis.legend(fontsize=8)
    for k in ("synthetic", "digits"):
        s = a.get(f"spectrum_{k}")
        if s is not None:
            ax[2].semilogy(np.arange(1, s.size + 1), np.maximum(s, 1e-12), "o-", ms=3, label=k)
    ax[2].set(
        xlabel="mode index", ylabel="AGOP eigenvalue / largest", title="trained Jacobian spectrum"
    )
    ax[2].legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
