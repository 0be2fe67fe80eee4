"""Offline data sets for the photonic classifiers (nothing is downloaded).

* ``"digits"`` — scikit-learn's bundled 8x8 hand-written digits (1797 x 64, 10 classes),
  pixel values scaled to ``[0, 1]``.
* ``"iris"`` — scikit-learn's bundled iris (150 x 4, 3 classes), standardised on the
  training split.
* ``"moons"``, ``"circles"`` — generated with scikit-learn from the seed (1000 samples,
  2 classes), standardised on the training split.

Splits are stratified, 20 % test by default, and depend only on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wavebp._core import check_choice, check_int, check_real

__all__ = ["DATASETS", "Dataset", "load_dataset"]

DATASETS = ("digits", "moons", "circles", "iris")


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A train/test split as float64 tensors.

    Attributes:
        name: data set name.
        x_train: ``(n_train, n_features)`` features.
        y_train: ``(n_train,)`` int64 labels.
        x_test: ``(n_test, n_features)`` features.
        y_test: ``(n_test,)`` int64 labels.
        n_classes: number of classes.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x_train.shape[1])


def _raw(name: str, seed: int, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        d = datasets.load_digits()
        return d.data / 16.0, d.target
    if name == "iris":
        d = datasets.load_iris()
        return d.data, d.target
    if name == "moons":
        return datasets.make_moons(n_samples=n_samples, noise=0.1, random_state=seed)
    return datasets.make_circles(n_samples=n_samples, noise=0.05, factor=0.5, random_state=seed)


def load_dataset(
    name: str, *, seed: int = 0, test_fraction: float = 0.2, n_samples: int = 1000
) -> Dataset:
    """Load (or generate) a data set and split it.

    Args:
        name: ``"digits"``, ``"moons"``, ``"circles"`` or ``"iris"``.
        seed: seed of the split (and of the generated data sets), an integer >= 0.
        test_fraction: fraction of samples held out for testing, in ``(0, 1)``.
        n_samples: number of samples of the generated data sets (moons, circles), >= 20.

    Returns:
        A :class:`Dataset` (features float64; moons/circles/iris standardised with the
        training split's mean and std).
    """
    from sklearn.model_selection import train_test_split

    check_choice("dataset", name, DATASETS)
    seed = check_int("seed", seed, minimum=0)
    check_real(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    n_samples = check_int("n_samples", n_samples, minimum=20)
    x, y = _raw(name, seed, n_samples)
    x_tr, x_te, y_tr, y_te = train_test_split(
        np.asarray(x, dtype=np.float64),
        np.asarray(y, dtype=np.int64),
        test_size=test_fraction,
        random_state=seed,
        stratify=y,
    )
    if name != "digits":
        mean, std = x_tr.mean(0), x_tr.std(0)
        x_tr, x_te = (x_tr - mean) / std, (x_te - mean) / std
    return Dataset(
        name=name,
        x_train=torch.from_numpy(np.ascontiguousarray(x_tr)),
        y_train=torch.from_numpy(np.ascontiguousarray(y_tr)),
        x_test=torch.from_numpy(np.ascontiguousarray(x_te)),
        y_test=torch.from_numpy(np.ascontiguousarray(y_te)),
        n_classes=int(np.max(y)) + 1,
    )
