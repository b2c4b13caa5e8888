"""Image datasets that ship inside installed packages, split once and for all.

``digits``: scikit-learn's bundled handwritten digits (8 x 8 pixels of 0..16, 1797 images,
10 classes; ``sklearn.datasets.load_digits`` reads them from the package, no download). The
held-out split is fixed (a seeded permutation, 360 test images), independent of the run seed,
so runs are compared on the same test images.

``mnist``: no PyPI package checked here ships the MNIST files inside it (the ``mnist``
package downloads them), so it raises :class:`~ec_hw.tasks.TaskUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import TaskUnavailable

__all__ = ["Dataset", "load_dataset", "SPLIT_SEED"]

SPLIT_SEED = 0x5D161
"""Seed of the fixed train/test permutation."""


@dataclass(frozen=True)
class Dataset:
    """Images as floats in [0, 1] (row-major pixels) and integer labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_pixels(self) -> int:
        return self.x_train.shape[1]


def _digits(test: int = 360) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise TaskUnavailable("--task digits needs scikit-learn (pip install "
                              "'scikit-learn>=1.4,<2'), which ships the images") from None
    d = load_digits()
    x = np.asarray(d.data, np.float64) / 16.0
    y = np.asarray(d.target, np.int64)
    order = np.random.Generator(np.random.Philox(key=SPLIT_SEED)).permutation(len(y))
    tr, te = order[test:], order[:test]
    return Dataset("digits", x[tr], y[tr], x[te], y[te], 10)


def load_dataset(name: str) -> Dataset:
    """The dataset of task ``name``.

    Raises
    ------
    TaskUnavailable
        Its files are not installed (one line naming ``--task``).
    """
    if name == "digits":
        return _digits()
    if name == "mnist":
        raise TaskUnavailable("--task mnist: no installed package ships the MNIST files and "
                              "ec-hw never downloads at run time; use --task digits")
    raise TaskUnavailable(f"--task must be digits or mnist, not {name!r}")
