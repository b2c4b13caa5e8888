"""The training loop shared by EC and the ES baseline: evaluate, rank, update, checkpoint.

Every random draw derives from ``TrainConfig.seed``: generation ``g`` uses
``gen_seed = generation_seed(seed, g)`` for the members' connections (EC) or noise (ES) and for
their env seeds, so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import CoreConfig, NetConfig, TrainConfig
from ..model.sampler import generation_seed
from .checkpoint import RunState, append_metrics, load_checkpoint, save_checkpoint, truncate_metrics
from .evaluator import EvalJob, EvalResult, Evaluator
from .strategy import Strategy, make_strategy

__all__ = ["Trainer", "initial_state", "env_seeds", "EVAL_GENERATION"]

EVAL_GENERATION = 0xFFFFFFFF
"""Generation index whose seed draws the deterministic network's (fixed) evaluation episodes."""


def env_seeds(gen_seed: int, members: int, episodes: int, common: bool = False) -> np.ndarray:
    """Env reset seeds ``(members, episodes)`` of one generation; ``common``: every member
    gets the first member's row (the same start states, :attr:`TrainConfig.common_starts`)."""
    rng = np.random.Generator(np.random.Philox(key=(int(gen_seed) << 32) | 0xE5E5))
    seeds = rng.integers(0, 2**31 - 1, size=(members, episodes), dtype=np.int64)
    if common:
        seeds[:] = seeds[0]
    return seeds


def n_params(cfg: TrainConfig, net: NetConfig) -> int:
    """Length of the run's parameter vector (rho, or the ES center)."""
    return make_strategy(cfg, net).n_params


def initial_state(cfg: TrainConfig, net: NetConfig) -> RunState:
    """The state before generation 0: the strategy's initial center and a fresh optimizer."""
    strategy = make_strategy(cfg, net)
    return RunState(generation=0, params=strategy.initial_params(), adam=strategy.optimizer(),
                    obs_count=0.0, obs_mean=np.zeros(net.obs_dim),
                    obs_m2=np.zeros(net.obs_dim))


def episode_limit(env_id: str, cap: int) -> int:
    """Steps after which an episode of ``env_id`` is cut: ``cap`` (the run's
    ``max_episode_steps``) or the env's own time limit if shorter."""
    import gymnasium

    try:
        own = gymnasium.spec(env_id).max_episode_steps
    except gymnasium.error.Error:  # not a gymnasium id (the built-in tasks)
        own = None
    return min(cap, own) if own else cap


@dataclass
class GenerationReport:
    row: dict
    result: EvalResult


class Trainer:
    """Run generations of a :class:`~ec_hw.train.strategy.Strategy` (EC or ES, chosen once
    from ``cfg.algo``) on an evaluator, checkpointing into ``run_dir``."""

    def __init__(self, cfg: TrainConfig, net: NetConfig, core: CoreConfig, run_dir: Path,
                 evaluator: Evaluator, state: RunState | None = None):
        self.cfg, self.net, self.core = cfg, net, core
        self.run_dir = Path(run_dir)
        self.evaluator = evaluator
        self.strategy: Strategy = make_strategy(cfg, net)
        self.state = state if state is not None else initial_state(cfg, net)
        self._eval_seeds = env_seeds(generation_seed(cfg.seed, EVAL_GENERATION),
                                     max(cfg.eval_episodes, 1), 1)
        self._full_steps = cfg.episodes * episode_limit(cfg.env_id, cfg.max_episode_steps)

    @classmethod
    def resume(cls, cfg, net, core, run_dir, evaluator) -> Trainer:
        state = load_checkpoint(Path(run_dir) / "checkpoint.npz", cfg, net, core)
        truncate_metrics(run_dir, state.generation)
        return cls(cfg, net, core, run_dir, evaluator, state)

    def _job(self, st: RunState | None = None, **kw) -> EvalJob:
        st = st or self.state  # whose observation statistics normalize the inputs
        return EvalJob(env_id=self.cfg.env_id, net=self.net, core=self.core,
                       obs_mean=st.obs_mean.copy(), obs_std=st.obs_std.copy(),
                       max_episode_steps=self.cfg.max_episode_steps,
                       healthy_reward=self.cfg.healthy_reward, **kw)

    def deployed_state(self, best: bool = False) -> RunState:
        """The state the deployed network is built from: the current one, or with ``best`` that
        of the generation whose deployed network returned the most (and its obs statistics)."""
        return self.state.best_state() if best else self.state

    def deterministic_params(self, best: bool = False) -> np.ndarray:
        """The deployed network: packed rho > 0.5 (EC) or the center weights (ES)."""
        return self.strategy.deployed(self.deployed_state(best))

    def evaluate_deterministic(self, episodes: int | None = None,
                               seeds: np.ndarray | None = None,
                               best: bool = False) -> EvalResult:
        """Returns of the deployed network (``best``: the best one so far, with the observation
        statistics it was built with), one member per episode (parallel over workers)."""
        n = episodes or self.cfg.eval_episodes
        seeds = self._eval_seeds[:n] if seeds is None else seeds.reshape(n, 1)
        st = self.deployed_state(best)
        g = np.repeat(self.strategy.deployed(st)[None], n, axis=0)
        return self.evaluator.evaluate(self._job(st, env_seeds=seeds, member_ids=np.arange(n),
                                                 genomes=g))

    def step(self) -> dict:
        """Run one generation and return its metrics row (also written to the run dir)."""
        cfg, st = self.cfg, self.state
        t0 = time.perf_counter()
        gen = st.generation
        gen_seed = generation_seed(cfg.seed, gen)
        ids = np.arange(cfg.pop_size, dtype=np.int64)
        seeds = env_seeds(gen_seed, cfg.pop_size, cfg.episodes, cfg.common_starts)
        job = self._job(env_seeds=seeds, member_ids=ids, **self.strategy.ask(st, gen_seed))
        res = self.evaluator.evaluate(job)
        # Share of members whose every episode ran to the time limit (the mixed shaping's mix).
        full = float(np.mean(res.steps >= self._full_steps))
        self.strategy.tell(st, job, res.fitness, full)
        # Observation statistics move once per generation, after the members used the old ones.
        st.update_obs_stats(float(res.obs_count.sum()), res.obs_sum.sum(axis=0),
                            res.obs_sumsq.sum(axis=0))
        t_pop = time.perf_counter() - t0
        det = self.evaluate_deterministic() if cfg.eval_episodes else None
        dt = time.perf_counter() - t0
        pop_steps = int(res.steps.sum())
        det_steps = int(det.steps.sum()) if det is not None else 0
        st.total_steps += pop_steps + det_steps
        st.elapsed += dt
        st.generation = gen + 1
        if det is not None:
            st.record_best(float(det.returns.mean()))
        row = {
            "generation": gen, "time_s": round(st.elapsed, 3), "gen_time_s": round(dt, 3),
            "mean_return": float(res.returns.mean()), "max_return": float(res.returns.max()),
            "min_return": float(res.returns.min()), "mean_fitness": float(res.fitness.mean()),
            "det_return": float(det.returns.mean()) if det is not None else None,
            "det_return_min": float(det.returns.min()) if det is not None else None,
            "best_return": st.best_return if det is not None else None,
            "pop_env_steps": pop_steps, "total_env_steps": st.total_steps, "full": full,
            "env_steps_per_s": round((pop_steps + det_steps) / dt, 1),
            "pop_env_steps_per_s": round(pop_steps / t_pop, 1),
        }
        row.update(self.strategy.metrics(st))
        row.update(self.strategy.activity(st, self.core, int(self._eval_seeds[0, 0])))
        # Metrics first, then the checkpoint: on resume, rows past the checkpoint are dropped
        # and recomputed identically.
        append_metrics(self.run_dir, row)
        save_checkpoint(self.run_dir / "checkpoint.npz", st, cfg, self.net, self.core)
        return row
