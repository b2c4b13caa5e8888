"""The trainer's state between generations: what a checkpoint saves and a strategy updates.

Kept apart from :mod:`ec_hw.train.checkpoint` (which saves it) and
:mod:`ec_hw.train.strategy` (which updates it) so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .optim import Adam

__all__ = ["RunState", "NO_BEST"]

NO_BEST = "has no best network (trained before ec-hw kept one, or with --eval-episodes 0)"
"""Why a run cannot give ``--best`` (``ec-hw eval``, ``deploy``, ``export``)."""


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
    best_generation: int = -1
    """Completed generations when the deployed network that returned the most on the run's
    evaluation episodes so far was built (-1: none evaluated yet)."""
    best_return: float = float("-inf")
    """That network's mean return over the evaluation episodes."""
    best_params: np.ndarray | None = None
    """rho / the center of generation ``best_generation`` (its deployed network), with the
    observation statistics it ran with (``best_obs``: count, mean, m2)."""
    best_obs: tuple[float, np.ndarray, np.ndarray] | None = None

    def record_best(self, det_return: float) -> bool:
        """Keep the current parameters and observation statistics as the best deployed network
        if ``det_return`` (their deployed network's mean evaluation return) beats every
        earlier one; True if it did."""
        if not det_return > self.best_return:
            return False
        self.best_generation, self.best_return = self.generation, float(det_return)
        self.best_params = self.params.copy()
        self.best_obs = (self.obs_count, self.obs_mean.copy(), self.obs_m2.copy())
        return True

    def best_state(self) -> RunState:
        """A view of this state holding the best deployed network's parameters and
        observation statistics (for evaluating, exporting or deploying it)."""
        if self.best_params is None:
            raise ValueError(f"the run {NO_BEST}")
        count, mean, m2 = self.best_obs
        return replace(self, generation=self.best_generation, params=self.best_params,
                       obs_count=count, obs_mean=mean, obs_m2=m2)

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
