"""Environments: construction with clear errors, action mapping, survival bonus, and the two
batched env engines the rollout engine steps (:class:`GymnasiumBatch`, :class:`EnvPoolBatch`).

Any registered gymnasium env with a ``Box`` observation space and a bounded ``Box`` action
space works on the gymnasium engine. EnvPool (C++ MuJoCo with its own thread pool) runs the
MuJoCo ids of :data:`ENVPOOL_IDS`; see ``docs/engine.md`` for how its episodes are seeded and
what differs from gymnasium.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from .. import EcHwError

__all__ = ["EnvError", "EnvSpec", "make_env", "probe_env", "unit_to_action", "survival_bonus",
           "keep_survival_bonus",
           "ENV_BACKENDS", "ENVPOOL_IDS", "resolve_env_backend", "envpool_start_is_rest_point",
           "envpool_unsuitable", "EnvBatch", "GymnasiumBatch",
           "EnvPoolBatch", "make_env_batch"]

ENV_BACKENDS = ("auto", "envpool", "gymnasium")
"""Env engines: ``auto`` is EnvPool for the ids of :data:`ENVPOOL_IDS` when it is installed
and training from the env's noise-free start is practically the task
(:func:`envpool_unsuitable`), else gymnasium."""

ENVPOOL_IDS = {
    # id: does the env's reward include a survival ("healthy") bonus, healthy_reward * alive?
    # (gymnasium's info["reward_survive"]; EnvPool does not report it, so it is derived.)
    "Ant-v5": True, "HalfCheetah-v5": False, "Hopper-v5": True, "Humanoid-v5": True,
    "HumanoidStandup-v5": False, "InvertedDoublePendulum-v5": True,
    "InvertedPendulum-v5": True, "Swimmer-v5": False, "Walker2d-v5": True,
}
"""MuJoCo ids the EnvPool engine runs: those whose only randomness is the reset noise that
``reset_noise_scale`` scales (Reacher and Pusher also draw goal positions, so they stay on
gymnasium)."""


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
    rewards_progress: bool = False
    """The reward also pays for forward progress (MuJoCo v5 ``info["reward_forward"]``:
    locomotion), so surviving is not the task itself (:func:`keep_survival_bonus`)."""
    reset_noise: float | None = None
    """Half-width of the start-state noise of MuJoCo envs (``reset_noise_scale``), None
    where the env has no such parameter."""


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


@functools.lru_cache(maxsize=64)
def probe_env(env_id: str) -> EnvSpec:
    """Construct the env once and describe it."""
    env = make_env(env_id)
    try:
        env.reset(seed=0)
        low = np.asarray(env.action_space.low, np.float64)
        high = np.asarray(env.action_space.high, np.float64)
        info = env.step(((low + high) / 2).astype(env.action_space.dtype))[4]
        return EnvSpec(env_id=env_id, obs_dim=int(env.observation_space.shape[0]),
                       act_dim=int(env.action_space.shape[0]), act_low=low, act_high=high,
                       max_episode_steps=env.spec.max_episode_steps if env.spec else None,
                       rewards_progress="reward_forward" in info,
                       reset_noise=getattr(env.unwrapped, "_reset_noise_scale", None))
    finally:
        env.close()


def keep_survival_bonus(healthy_reward: bool | None, spec: EnvSpec) -> bool:
    """Whether a member's fitness keeps the env's survival bonus: as ``healthy_reward`` says,
    or, for None (the default), only where the env does not also pay for forward progress
    (:func:`survival_bonus`'s rule, decided once per env)."""
    if healthy_reward is None:
        return not spec.rewards_progress
    return bool(healthy_reward)


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


def _envpool():
    try:
        import envpool
    except ImportError:
        return None
    return envpool


def resolve_env_backend(env_id: str, choice: str) -> str:
    """The env engine (``envpool`` or ``gymnasium``) that ``choice`` means for ``env_id``.

    Raises
    ------
    EnvError
        ``envpool`` was asked for an id it does not run here, or it is not installed.
    ValueError
        ``choice`` is not one of :data:`ENV_BACKENDS`.
    """
    if choice not in ENV_BACKENDS:
        raise ValueError(f"env backend must be one of {', '.join(ENV_BACKENDS)}, not "
                         f"{choice!r}")
    if choice == "gymnasium":
        return choice
    ok = env_id in ENVPOOL_IDS and _envpool() is not None
    if choice == "auto":
        return "envpool" if ok and envpool_unsuitable(env_id) is None else "gymnasium"
    if _envpool() is None:
        raise EnvError("--env-backend envpool needs the envpool package (pip install envpool)")
    if env_id not in ENVPOOL_IDS:
        raise EnvError(f"--env-backend envpool runs {', '.join(sorted(ENVPOOL_IDS))}; not "
                       f"{env_id!r} (use gymnasium)")
    return "envpool"


START_NOISE_LIMIT = 0.01
"""Largest start-state noise (``reset_noise_scale``) for which ``auto`` trains on EnvPool's
noise-free start (:func:`envpool_unsuitable`)."""


def envpool_unsuitable(env_id: str) -> str | None:
    """Why ``auto`` keeps ``env_id`` (an EnvPool id) on gymnasium, or None if it need not.

    EnvPool starts every episode noise-free (:class:`EnvPoolBatch`), i.e. always from the
    centre of the task's start distribution. Where that distribution is narrow (Hopper and
    Walker2d 0.005, Humanoid and InvertedPendulum 0.01) that is practically the task. Where
    it is wide (InvertedDoublePendulum, Ant, HalfCheetah, Swimmer: 0.1) the network is fitted
    to one start the task rarely gives: InvertedDoublePendulum networks trained on EnvPool
    returned a median of 1468 on gymnasium's noisy starts, one trained on gymnasium with
    common starts 4727 (docs/learning.md). And where the noise-free start is a rest point no
    member can ever differ from another (:func:`envpool_start_is_rest_point`).
    """
    noise = probe_env(env_id).reset_noise
    if noise is not None and noise > START_NOISE_LIMIT:
        return (f"its start noise ({noise:g}) is part of the task, and EnvPool starts every "
                f"episode noise-free")
    if envpool_start_is_rest_point(env_id):
        return "EnvPool's noise-free start is a rest point here"
    return None


REST_PROBE_STEPS = 50
"""Zero-action steps :func:`envpool_start_is_rest_point` watches the start state for."""


@functools.cache
def envpool_start_is_rest_point(env_id: str) -> bool:
    """Whether EnvPool's start state of ``env_id`` stays put under zero action.

    The EnvPool engine starts every episode without reset noise (:class:`EnvPoolBatch`). If
    that state is a rest point (Swimmer-v5: every observation is exactly 0 and stays 0), a
    network's input is zero, so it never spikes, its action stays zero and the state never
    leaves the rest point: every member returns exactly the same (0.0 on Swimmer), whatever
    its connections, and training gets no signal at all. The gymnasium engine's seeded reset
    noise starts each episode elsewhere, so ``auto`` uses it for such envs. Checked once per
    process by stepping one env ``REST_PROBE_STEPS`` times with zero action: any change of
    the observation, or an episode end, means it is not a rest point.
    """
    b = EnvPoolBatch(env_id, 1, 1)
    try:
        slot = np.zeros(1, np.int64)
        start = b.reset(slot, slot)
        zero = np.zeros((1, int(b._pool.action_space.shape[0])))
        for _ in range(REST_PROBE_STEPS):
            obs, _, term, trunc, _ = b.step(slot, zero)
            if term[0] or trunc[0] or not np.array_equal(obs, start):
                return False
        return True
    finally:
        b.close()


class EnvBatch:
    """``n`` env slots of one env id, stepped as one batch.

    :meth:`reset` and :meth:`step` take the slot indices they act on (any subset, in any
    order) and return per-slot arrays in that order. A slot that ended must be reset before it
    is stepped again.
    """

    kind: str
    n: int
    obs_dim: int

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """Start an episode in every slot of ``slots`` (``seeds``: their env seeds); return
        the first observations ``(k, obs_dim)`` float64."""
        raise NotImplementedError

    def step(self, slots: np.ndarray, actions: np.ndarray) -> tuple:
        """Step ``slots`` with ``actions`` ``(k, act_dim)`` (env units); return
        ``(obs, reward, terminated, truncated, survive)``: float64 ``(k, D)``, float64,
        bool, bool, float64 (the survival part of each reward, see :func:`survival_bonus`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the envs."""


class GymnasiumBatch(EnvBatch):
    """One ``gymnasium`` env per slot (created on first use), stepped one after another;
    every episode is reset with its own seed."""

    kind = "gymnasium"

    def __init__(self, env_id: str, n: int):
        self.env_id, self.n = env_id, n
        self._envs: list = [None] * n
        self.obs_dim = probe_env(env_id).obs_dim

    def _env(self, i: int):
        if self._envs[i] is None:
            self._envs[i] = make_env(self.env_id)
        return self._envs[i]

    def reset(self, slots, seeds):
        out = np.empty((len(slots), self.obs_dim))
        for k, (i, s) in enumerate(zip(slots, seeds, strict=True)):
            out[k] = self._env(int(i)).reset(seed=int(s))[0]
        return out

    def step(self, slots, actions):
        k = len(slots)
        obs = np.empty((k, self.obs_dim))
        rew = np.empty(k)
        term = np.empty(k, bool)
        trunc = np.empty(k, bool)
        surv = np.empty(k)
        for j, i in enumerate(slots):
            o, r, te, tr, info = self._envs[i].step(actions[j])
            obs[j], rew[j], term[j], trunc[j] = o, r, te, tr
            surv[j] = survival_bonus(info)
        return obs, rew, term, trunc, surv

    def close(self) -> None:
        for e in self._envs:
            if e is not None:
                e.close()
        self._envs = [None] * self.n


class EnvPoolBatch(EnvBatch):
    """``n`` EnvPool envs (C++ MuJoCo, ``threads`` worker threads) in synchronous mode.

    EnvPool seeds an env once, at construction, and its random stream runs on across resets
    (``reset(seed=...)`` is ignored), so an episode's start state would depend on which slot
    ran it and what ran there before. The engine therefore sets ``reset_noise_scale = 0``:
    every episode starts from the model's initial state, the env seeds are not used, and a
    member's return depends on its connections only (docs/engine.md).

    :meth:`step` is :meth:`send` then :meth:`recv`: between the two, EnvPool's threads step
    the physics while the caller's thread is free. Both talk to EnvPool's C++ pool directly
    (``_send``/``_recv``/``_reset``, the calls its Python ``step`` and ``reset`` make) when
    this EnvPool has them, skipping the per-call conversion into gymnasium's
    ``(obs, reward, terminated, truncated, info)`` (about 60 us of Python per call, most of a
    small batch's step); the values are the same arrays (``test_envpool_direct_calls_equal_
    the_gymnasium_api``). Otherwise they use the public ``send``/``recv``/``reset``.
    """

    kind = "envpool"

    def __init__(self, env_id: str, n: int, threads: int = 1):
        envpool = _envpool()
        if envpool is None or env_id not in ENVPOOL_IDS:
            raise EnvError(f"EnvPool does not run {env_id!r} here")
        warnings.filterwarnings("ignore", module="envpool")
        self.env_id, self.n, self.threads = env_id, n, threads
        self._pool = envpool.make(env_id, env_type="gymnasium", num_envs=n, batch_size=n,
                                  num_threads=max(1, threads), reset_noise_scale=0.0, seed=0)
        self.obs_dim = int(self._pool.observation_space.shape[0])
        cfg = self._pool.config
        self._healthy = float(cfg["healthy_reward"]) if ENVPOOL_IDS[env_id] else 0.0
        self._direct = self._direct_layout()
        self._sent = False

    def _direct_layout(self) -> tuple[int, int, int, int] | None:
        # Positions of obs, reward, done, trunc in the C++ pool's state list, if this EnvPool
        # exposes the direct calls with the single-player action layout this class sends.
        p = self._pool
        try:
            if not all(callable(getattr(p, f, None)) for f in ("_send", "_recv", "_reset")):
                return None
            if list(p._spec._action_keys) != ["env_id", "players.env_id", "action"]:
                return None
            if int(p.config.get("max_num_players", 1)) != 1:
                return None
            keys = list(p._state_keys)
            return (keys.index("obs"), keys.index("reward"), keys.index("done"),
                    keys.index("trunc"))
        except (AttributeError, ValueError, TypeError):
            return None

    def reset(self, slots, seeds):
        ids = np.asarray(slots, np.int32)
        if self._direct is None:
            obs, _ = self._pool.reset(ids)
        else:
            self._pool._reset(ids)
            obs = self._pool._recv()[self._direct[0]]
        return np.asarray(obs, np.float64)

    def send(self, slots, actions) -> None:
        """Start stepping ``slots`` with ``actions`` (env units); :meth:`recv` returns the
        results. One batch at a time: every :meth:`send` is followed by its :meth:`recv`."""
        if self._sent:
            raise RuntimeError("EnvPoolBatch.send: the previous batch was not received")
        ids = np.asarray(slots, np.int32)
        act = np.ascontiguousarray(actions, np.float64)
        if self._direct is None:
            self._pool.send(act, ids)
        else:
            self._pool._send([ids, ids, act])
        self._sent = True

    def recv(self) -> tuple:
        """The results of the last :meth:`send`, in its slot order (see :meth:`EnvBatch.step`)."""
        if not self._sent:
            raise RuntimeError("EnvPoolBatch.recv: nothing was sent")
        self._sent = False
        if self._direct is None:
            obs, rew, term, trunc, _ = self._pool.recv(reset=False, return_info=True)
            term = np.asarray(term, bool)
        else:
            state = self._pool._recv()
            io, ir, idone, itrunc = self._direct
            obs, rew, trunc = state[io], state[ir], state[itrunc]
            term = state[idone] & ~trunc  # EnvPool's gymnasium API: terminated = done & ~trunc
        # v5 rewards: healthy_reward is paid on every step that does not terminate (the
        # terminating step is the unhealthy one), exactly gymnasium's info["reward_survive"].
        surv = self._healthy * ~term
        return (np.asarray(obs, np.float64), np.asarray(rew, np.float64), term,
                np.asarray(trunc, bool), surv)

    def step(self, slots, actions):
        self.send(slots, actions)
        return self.recv()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def make_env_batch(env_id: str, n: int, backend: str, threads: int = 1) -> EnvBatch:
    """An :class:`EnvBatch` of ``n`` slots on the engine ``backend`` names (``auto`` too)."""
    if resolve_env_backend(env_id, backend) == "envpool":
        return EnvPoolBatch(env_id, n, threads)
    return GymnasiumBatch(env_id, n)
