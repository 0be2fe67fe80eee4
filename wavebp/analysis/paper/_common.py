"""Shared pieces of the paper-claim experiments: results, statistics, small nets, data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from wavebp._core import check_choice, check_int, check_real

__all__ = [
    "INCONCLUSIVE",
    "REFUTED",
    "SUPPORTED",
    "VERDICTS",
    "ClaimResult",
    "SubClaim",
    "accuracy",
    "digits_data",
    "make_mlp",
    "mean_ci",
    "spearman",
    "train_full_batch",
]

SUPPORTED = "supported"
REFUTED = "refuted"
INCONCLUSIVE = "inconclusive"
VERDICTS = (SUPPORTED, REFUTED, INCONCLUSIVE)


@dataclass(frozen=True, kw_only=True)
class SubClaim:
    """One precisely stated claim, its verdict and the rule that produced it.

    Attributes:
        name: short identifier.
        claim: what the paper says (or implies), in one sentence.
        test: the precise operationalisation measured.
        rule: the decision rule, fixed before the numbers were seen.
        verdict: ``"supported"``, ``"refuted"`` or ``"inconclusive"``.
        numbers: the numbers the rule was applied to.
        rule_source: name of the public ``rule_*`` function of ``wavebp.analysis.paper``
            that computed the verdict (its docstring gives the reasoning), if any.
    """

    name: str
    claim: str
    test: str
    rule: str
    verdict: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    rule_source: str = ""

    def __post_init__(self) -> None:
        check_choice("verdict", self.verdict, VERDICTS)


@dataclass(frozen=True, kw_only=True)
class ClaimResult:
    """The outcome of one experiment: a headline verdict plus sub-claims and data.

    Attributes:
        number: the experiment number (1..7, as in issue 7).
        title: short title.
        headline: the sub-claim whose verdict is the experiment's verdict.
        sub_claims: every sub-claim tested (the headline among them).
        numbers: all numbers measured (JSON-friendly).
        arrays: arrays behind the figure (numpy).
        notes: referee remarks (caveats, what was not run).
    """

    number: int
    title: str
    headline: str
    sub_claims: tuple[SubClaim, ...]
    numbers: Mapping[str, Any] = field(default_factory=dict)
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.sub_claims]
        if self.headline not in names:
            raise ValueError(
                f"headline must be one of the sub-claim names {names}, got {self.headline!r}"
            )

    @property
    def verdict(self) -> str:
        """The headline sub-claim's verdict."""
        return next(s.verdict for s in self.sub_claims if s.name == self.headline)

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly summary (without the arrays)."""
        return {
            "number": self.number,
            "title": self.title,
            "verdict": self.verdict,
            "headline": self.headline,
            "sub_claims": [
                {
                    "name": s.name,
                    "claim": s.claim,
                    "test": s.test,
                    "rule": s.rule,
                    "rule_source": s.rule_source,
                    "verdict": s.verdict,
                    "numbers": dict(s.numbers),
                }
                for s in self.sub_claims
            ],
            "numbers": dict(self.numbers),
            "notes": list(self.notes),
        }


def mean_ci(values: Sequence[float], *, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of ``values`` (over seeds).

    Args:
        values: at least one finite number.
        level: confidence level in (0, 1).

    Returns:
        ``(mean, low, high)``; with a single value the interval is ``(-inf, inf)``.
    """
    from scipy import stats

    check_real("level", level, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be a non-empty sequence of finite numbers, got {values!r}")
    mean = float(v.mean())
    if v.size == 1:
        return mean, -math.inf, math.inf
    sem = float(v.std(ddof=1) / math.sqrt(v.size))
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1)) * sem
    return mean, mean - half, mean + half


def make_mlp(
    sizes: Sequence[int],
    *,
    activation: str = "tanh",
    negative_slope: float = 0.01,
    bias: bool = True,
    weight_std: float | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.nn.Sequential:
    """An MLP ``Linear -> act -> ... -> Linear`` (no activation after the last layer).

    Args:
        sizes: layer widths ``[n_0, n_1, ..., n_L]``.
        activation: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"leaky_relu"`` or
            ``"identity"``.
        negative_slope: leaky-ReLU slope for negative input.
        bias: include biases (initialised to zero).
        weight_std: weights ``N(0, weight_std^2 / fan_in)``; ``None``: the activation's
            usual gain (1 for tanh/sigmoid/identity as LeCun, sqrt(2 / (1 + slope^2)) for
            ReLU-like as He).
        generator: the random generator for the initial weights.
        dtype: parameter dtype.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 widths, got {list(sizes)}")
    for i, s in enumerate(sizes):
        check_int(f"sizes[{i}]", s, minimum=1)
    check_choice("activation", activation, ("tanh", "sigmoid", "relu", "leaky_relu", "identity"))
    if weight_std is None:
        weight_std = {
            "relu": math.sqrt(2.0),
            "leaky_relu": math.sqrt(2.0 / (1.0 + negative_slope**2)),
        }.get(activation, 1.0)
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        lin = torch.nn.Linear(a, b, bias=bias, dtype=dtype)
        with torch.no_grad():
            torch.nn.init.normal_(lin.weight, 0.0, weight_std / math.sqrt(a), generator=generator)
            if bias:
                lin.bias.zero_()
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(_activation_module(activation, negative_slope))
    return torch.nn.Sequential(*layers)


def _activation_module(name: str, negative_slope: float) -> torch.nn.Module:
    return {
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "relu": torch.nn.ReLU,
        "identity": torch.nn.Identity,
    }.get(name, lambda: torch.nn.LeakyReLU(negative_slope))()


def train_full_batch(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    lr: float = 1e-2,
    loss: str = "cross_entropy",
    weight_decay: float = 0.0,
) -> list[float]:
    """Full-batch Adam training (deterministic given the initial weights).

    Args:
        model: the network, trained in place.
        x: inputs ``(n, n_0)``.
        y: class labels ``(n,)`` (cross-entropy) or targets ``(n, n_L)`` (mse).
        steps: number of Adam steps.
        lr: learning rate (dimensionless).
        loss: ``"cross_entropy"`` or ``"mse"``.
        weight_decay: Adam weight decay.

    Returns:
        The loss before each step.
    """
    check_int("steps", steps, minimum=0)
    check_choice("loss", loss, ("cross_entropy", "mse"))
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    fn = torch.nn.functional.cross_entropy if loss == "cross_entropy" else _mse
    history = []
    for _ in range(steps):
        opt.zero_grad()
        value = fn(model(x), y)
        value.backward()
        opt.step()
        history.append(float(value.detach()))
    return history


def _mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.mse_loss(out, target)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` whose arg-max output equals the label ``y``."""
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).to(torch.float64).mean())


def digits_data(
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    test_fraction: float = 0.3,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits (shipped with sklearn, offline), standardised, split.

    Returns:
        ``(x_train, y_train, x_test, y_test)``; ``x`` of shape ``(n, 64)``, standardised
        with the training mean and std (the std clamped at 1 grey level, so near-constant
        border pixels are not blown up); ``y`` int64 labels 0..9.
    """
    from sklearn.datasets import load_digits

    check_real(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    data = load_digits()
    x = torch.as_tensor(data.data, dtype=dtype)
    y = torch.as_tensor(data.target, dtype=torch.int64)
    perm = torch.randperm(x.shape[0], generator=generator)
    n_test = round(test_fraction * x.shape[0])
    test, train = perm[:n_test], perm[n_test:]
    mean = x[train].mean(0)
    std = x[train].std(0).clamp_min(1.0)
    x = (x - mean) / std
    return x[train], y[train], x[test], y[test]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (ties by average rank); 0 if either side is constant."""
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(stats.spearmanr(a, b).statistic)
