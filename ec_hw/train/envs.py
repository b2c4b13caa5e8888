"""gymnasium environments: construction with clear errors, action mapping, survival bonus.

Any registered env with a ``Box`` observation space and a bounded ``Box`` action space works.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import EcHwError

__all__ = ["EnvError", "EnvSpec", "make_env", "probe_env", "unit_to_action", "survival_bonus"]


class EnvError(EcHwError):
    """The requested environment cannot be used (unknown id, wrong spaces, missing package)."""


@dataclass(frozen=True)
class EnvSpec:
    """What the trainer needs to know about an environment."""

    env_id: str
    obs_dim: int
    act_dim: int
    act_low: np.ndarray
    act_high: np.ndarray
    max_episode_steps: int | None


def make_env(env_id: str):
    """``gymnasium.make(env_id)`` with one-line errors instead of tracebacks."""
    import gymnasium as gym

    warnings.filterwarnings("ignore", module="gymnasium")
    try:
        env = gym.make(env_id)
    except gym.error.Error as exc:
        raise EnvError(f"unknown environment id {env_id!r}: {exc}") from None
    except (ImportError, ModuleNotFoundError) as exc:
        raise EnvError(f"environment {env_id!r} needs a missing package: {exc}") from None
    _check_spaces(env_id, env)
    return env


def _check_spaces(env_id: str, env) -> None:
    from gymnasium import spaces

    if not isinstance(env.observation_space, spaces.Box) or len(env.observation_space.shape) != 1:
        env.close()
        raise EnvError(f"{env_id} has observation space {env.observation_space}; ec-hw needs a "
                       f"flat Box")
    a = env.action_space
    if not isinstance(a, spaces.Box) or len(a.shape) != 1:
        env.close()
        raise EnvError(f"{env_id} has action space {a}; ec-hw needs a continuous Box "
                       f"(discrete actions are not supported)")
    if not (np.all(np.isfinite(a.low)) and np.all(np.isfinite(a.high))):
        env.close()
        raise EnvError(f"{env_id} has unbounded actions; ec-hw maps [-1, 1] onto finite bounds")


def probe_env(env_id: str) -> EnvSpec:
    """Construct the env once and describe it."""
    env = make_env(env_id)
    try:
        return EnvSpec(env_id=env_id, obs_dim=int(env.observation_space.shape[0]),
                       act_dim=int(env.action_space.shape[0]),
                       act_low=np.asarray(env.action_space.low, np.float64),
                       act_high=np.asarray(env.action_space.high, np.float64),
                       max_episode_steps=env.spec.max_episode_steps if env.spec else None)
    finally:
        env.close()


def unit_to_action(a: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map network actions in [-1, 1] linearly onto ``[low, high]``."""
    return low + (np.asarray(a, np.float64) + 1.0) * 0.5 * (high - low)


def survival_bonus(info: dict, keep: bool | None = False) -> float:
    """The survival ("healthy") part of one step's reward (MuJoCo v5 ``reward_survive``) to take
    out of the fitness, or 0.

    ``keep`` True: nothing is taken out; False: the bonus always is; None: only where the env
    also pays for forward progress (``reward_forward`` in ``info``: locomotion), since in a
    balancing env surviving is the task itself.
    """
    if keep or (keep is None and "reward_forward" not in info):
        return 0.0
    return float(info.get("reward_survive", 0.0))
