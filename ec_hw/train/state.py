"""The trainer's state between generations: what a checkpoint saves and a strategy updates.

Kept apart from :mod:`ec_hw.train.checkpoint` (which saves it) and
:mod:`ec_hw.train.strategy` (which updates it) so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optim import Adam

__all__ = ["RunState"]


@dataclass
class RunState:
    """Optimizer state after ``generation`` completed generations."""

    generation: int
    params: np.ndarray
    """rho (EC) or the weight center (ES), float64."""
    adam: Adam
    obs_count: float
    obs_mean: np.ndarray
    obs_m2: np.ndarray
    total_steps: int = 0
    elapsed: float = 0.0

    @property
    def obs_std(self) -> np.ndarray:
        if self.obs_count < 2:
            return np.ones_like(self.obs_mean)
        return np.sqrt(self.obs_m2 / self.obs_count)

    def update_obs_stats(self, count: float, total: np.ndarray, total_sq: np.ndarray) -> None:
        """Merge a generation's observation sums (Chan et al.'s parallel variance update)."""
        if count <= 0:
            return
        mean_b = total / count
        m2_b = np.maximum(total_sq - count * mean_b * mean_b, 0.0)
        n = self.obs_count + count
        delta = mean_b - self.obs_mean
        self.obs_mean = self.obs_mean + delta * (count / n)
        self.obs_m2 = self.obs_m2 + m2_b + delta * delta * (self.obs_count * count / n)
        self.obs_count = n
