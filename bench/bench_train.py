"""Training throughput on a MuJoCo task vs physics alone, measured in one run.

    python bench/bench_train.py [--env Hopper-v5] [--pop 256] [--steps 200]

Every member runs ``--steps`` env steps (episodes that end are restarted), so all three loops
do the same physics work:

1. physics only: the same envs stepped with zero actions in a bare gymnasium loop;
2. the trainer's rollout loop (observation encoding, action mapping, bookkeeping) with a
   backend that computes nothing;
3. the trainer's rollout loop with the golden model (what ``ec-hw train`` runs), on one core
   and on every core (one worker process per core).

Ratios to (1) show the network's share of the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.model.sampler import quantize_rho  # noqa: E402
from ec_hw.train.backends import BackendSpec, ModelBackend  # noqa: E402
from ec_hw.train.envs import make_env, probe_env  # noqa: E402
from ec_hw.train.evaluator import Backend, EvalJob  # noqa: E402
from ec_hw.train.local import ProcessEvaluator  # noqa: E402
from ec_hw.train.rollout import EnvPool, run_members  # noqa: E402
from ec_hw.train.run import env_seeds  # noqa: E402


class ZeroBackend(Backend):
    """The baseline: zero actions, computed by nothing."""

    encoding = "fixed"

    def __init__(self, slots: int, act_dim: int):
        self.slots, self._a = slots, act_dim

    def load(self, genomes):
        pass

    def reset(self, mask):
        pass

    def step(self, obs, active):
        return np.zeros((self.slots, self._a))


def physics_only(env_id: str, seeds: np.ndarray, steps: int) -> float:
    envs = [make_env(env_id) for _ in range(len(seeds))]
    zero = np.zeros(envs[0].action_space.shape)
    t = time.perf_counter()
    for e, s in zip(envs, seeds, strict=True):
        e.reset(seed=int(s))
    for _ in range(steps):
        for e in envs:
            _, _, term, trunc, _ = e.step(zero)
            if term or trunc:
                e.reset()
    dt = time.perf_counter() - t
    for e in envs:
        e.close()
    return len(seeds) * steps / dt


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--pop", type=int, default=256)
    ap.add_argument("--steps", type=int, default=200, help="env steps per member")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = ap.parse_args(argv)
    from ec_hw.runtime import setup_process

    setup_process()
    import numba

    spec = probe_env(args.env)
    net = NetConfig(obs_dim=spec.obs_dim, act_dim=spec.act_dim)
    core = CoreConfig()
    seeds = env_seeds(1, args.pop, 64)
    job = EvalJob(env_id=args.env, net=net, core=core, obs_mean=np.zeros(spec.obs_dim),
                  obs_std=np.ones(spec.obs_dim), env_seeds=seeds, member_ids=np.arange(args.pop),
                  gen_seed=1, rho_q=quantize_rho(np.full(net.n_conn, 0.5)),
                  max_episode_steps=10**9)

    def fixed_steps(backend) -> float:
        # run_members with episodes cut at --steps: every member does exactly --steps steps
        # unless all its 64 episodes end first (then the rate is still per step).
        pool = EnvPool()
        j = EvalJob(**{**job.__dict__, "env_seeds": seeds[:, :1], "max_episode_steps": args.steps})
        run_members(backend, j, np.arange(min(8, args.pop)), pool)  # compile + warm up
        t = time.perf_counter()
        res = run_members(backend, j, np.arange(args.pop), pool)
        dt = time.perf_counter() - t
        pool.close()
        return float(res.steps.sum()) / dt, int(res.steps.sum())

    numba.set_num_threads(1)
    print(f"{args.env}: pop {args.pop}, up to {args.steps} steps per member, N = "
          f"{net.n_neurons}, {os.cpu_count()} cores, {args.workers} worker(s)")
    phys = physics_only(args.env, seeds[:, 0], args.steps)
    loop, _ = fixed_steps(ZeroBackend(args.pop, spec.act_dim))
    model1, n_steps = fixed_steps(ModelBackend(net, core, args.pop))
    print(f"  physics only (bare gymnasium loop, 1 core)   {phys:9.0f} env-steps/s   1.00")
    print(f"  rollout loop, zero actions (1 core)          {loop:9.0f} env-steps/s   "
          f"{loop / phys:.2f}")
    print(f"  rollout loop + golden model (1 core)         {model1:9.0f} env-steps/s   "
          f"{model1 / phys:.2f}")
    j = EvalJob(**{**job.__dict__, "env_seeds": seeds[:, :1], "max_episode_steps": args.steps})
    with ProcessEvaluator(BackendSpec(target="model", net=net, core=core,
                                      slots=-(-args.pop // args.workers)), args.workers) as ev:
        ev.evaluate(EvalJob(**{**j.__dict__, "member_ids": j.member_ids[:4],
                               "env_seeds": j.env_seeds[:4]}))
        t = time.perf_counter()
        res = ev.evaluate(j)
        dt = time.perf_counter() - t
    par = float(res.steps.sum()) / dt
    print(f"  rollout loop + golden model ({args.workers} workers)      {par:9.0f} env-steps/s   "
          f"{par / phys:.2f}")
    share = 1 - (1 / loop) / (1 / model1)
    print(f"  network share of a training step's time (1 core): {share:.0%}; "
          f"network alone: {1 / (1 / model1 - 1 / loop):.0f} member-steps/s per core "
          f"({n_steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
