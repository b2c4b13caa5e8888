"""Training throughput vs physics alone, per MuJoCo task, measured in one run.

    python bench/bench_train.py [--json] [--envs Hopper-v5,Walker2d-v5,Humanoid-v5]
                                [--pop 256] [--steps 1000] [--threads N]

For every env, in this process (``--threads`` cores, default all):

1. physics only: the EnvPool batch the engine uses (``--pop`` envs, ``--threads`` threads)
   stepped with zero actions computed by nothing; ended episodes are restarted; as many env
   steps as (2) took;
2. training: the batched rollout engine (:class:`ec_hw.train.rollout.Engine`) running one
   generation's job on the golden model (pop ``--pop``, N = 256, rho = 0.5, one episode per
   member capped at ``--steps``), exactly what ``ec-hw train --workers 1`` runs per generation,
   including the tail where only the longest episodes are still running.

``train_over_physics`` = (2) / (1), with (1) measured right before and right after (2) and
averaged, so a change of the machine's load during a repeat moves both sides alike. The
network's share is the fraction of (2)'s time spent in the backend's ``step`` (one
golden-model call per env step for every member in flight), the sampling share the fraction
spent drawing the members' connections. Each env is measured in a fresh process; its resident
memory (RSS) after its first run of (2), before any batch of (1) was built, is the worker's
footprint for pop ``--pop`` (connections stay bit-packed: 8 bytes per 64 connections).
``--json`` prints one JSON object.
Absolute numbers depend on the machine's load; the ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.model.sampler import quantize_rho  # noqa: E402
from ec_hw.train.backends import ModelBackend  # noqa: E402
from ec_hw.train.envs import EnvPoolBatch, probe_env  # noqa: E402
from ec_hw.train.evaluator import EvalJob  # noqa: E402
from ec_hw.train.rollout import Engine  # noqa: E402
from ec_hw.train.run import env_seeds  # noqa: E402


class TimedBackend:
    """A backend whose ``step`` time is summed (everything else passes through)."""

    def __init__(self, inner):
        self._inner = inner
        self.step_s = 0.0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def step(self, obs, active):
        t = time.perf_counter()
        out = self._inner.step(obs, active)
        self.step_s += time.perf_counter() - t
        return out


def rss_mb() -> float:
    """Resident set size of this process now (VmRSS), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def physics_only(env_id: str, n: int, threads: int, total_steps: int) -> float:
    """Env-steps/s of ``n`` EnvPool envs with zero actions, ended episodes restarted."""
    b = EnvPoolBatch(env_id, n, threads)
    spec = probe_env(env_id)
    all_slots = np.arange(n)
    zero = np.zeros((n, spec.act_dim))
    b.reset(all_slots, np.zeros(n, np.int64))
    b.step(all_slots, zero)  # warm up
    done_steps = 0
    t = time.perf_counter()
    while done_steps < total_steps:
        _, _, term, trunc, _ = b.step(all_slots, zero)
        done_steps += n
        ended = all_slots[term | trunc]
        if ended.size:
            b.reset(ended, np.zeros(ended.size, np.int64))
    dt = time.perf_counter() - t
    b.close()
    return done_steps / dt


def train_rate(env_id: str, pop: int, steps: int, threads: int) -> dict:
    """One generation's job on the golden model through the engine."""
    spec = probe_env(env_id)
    net = NetConfig(obs_dim=spec.obs_dim, act_dim=spec.act_dim)
    core = CoreConfig()
    job = EvalJob(env_id=env_id, net=net, core=core, obs_mean=np.zeros(spec.obs_dim),
                  obs_std=np.ones(spec.obs_dim), env_seeds=env_seeds(1, pop, 1),
                  member_ids=np.arange(pop), gen_seed=1,
                  rho_q=quantize_rho(np.full(net.n_conn, 0.5)), max_episode_steps=steps)
    engine = Engine("envpool", threads)
    backend = TimedBackend(ModelBackend(net, core, pop))
    warm = EvalJob(**{**job.__dict__, "max_episode_steps": 2})
    engine.run(backend, warm, np.arange(pop))  # JIT compile, build the full env batch
    backend.step_s = 0.0
    sampled = _time_sampling()
    t = time.perf_counter()
    res = engine.run(backend, job, np.arange(pop))
    dt = time.perf_counter() - t
    sample_s = sampled()
    rss = rss_mb()
    engine.close()
    n = int(res.steps.sum())
    return {"train_steps_per_s": n / dt, "env_steps": n, "train_s": dt,
            "network_share": backend.step_s / dt, "sampling_share": sample_s / dt,
            "mean_episode_steps": float(res.steps.mean()), "rss_mb": rss,
            "genome_bytes_per_member": int(backend._genomes.shape[1] * 8)}


def _time_sampling():
    """Time the engine's draws of members' connections until the returned function is called
    (which undoes the wrapping and returns the seconds spent)."""
    import ec_hw.train.rollout as rollout

    inner, spent = rollout.job_genomes, [0.0]

    def timed(job, idx):
        t = time.perf_counter()
        out = inner(job, idx)
        spent[0] += time.perf_counter() - t
        return out

    rollout.job_genomes = timed

    def stop() -> float:
        rollout.job_genomes = inner
        return spent[0]

    return stop


def measure(env_id: str, pop: int, steps: int, threads: int, repeats: int = 5) -> dict:
    """Training, then physics, of ``env_id`` in this process, ``repeats`` times; the run with
    the median ratio is reported (one generation of random networks is about a second of
    work, so single runs scatter by +-0.1 on a 2-core machine)."""
    import numba

    from ec_hw.runtime import setup_process

    setup_process()  # OMP_WAIT_POLICY=PASSIVE before the first kernel, stale caches dropped

    numba.set_num_threads(threads)
    runs = []
    # The first run gives the job's size (deterministic) and the worker's memory: its RSS is
    # taken before any physics-only batch was built (freed MuJoCo data stays resident).
    first = train_rate(env_id, pop, steps, threads)
    n = first["env_steps"]
    for _ in range(repeats):
        before = physics_only(env_id, pop, threads, n)
        tr = train_rate(env_id, pop, steps, threads)
        after = physics_only(env_id, pop, threads, n)
        phys = (before + after) / 2
        runs.append((tr["train_steps_per_s"] / phys, phys, tr, (before, after)))
    ratios = [r[0] for r in runs]
    ratio, phys, tr, around = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return {"physics_steps_per_s": phys, "physics_before_after": [round(p) for p in around],
            **tr, "rss_mb": first["rss_mb"], "train_over_physics": ratio,
            "train_over_physics_runs": [round(r, 3) for r in ratios]}


def _child(conn, *args) -> None:
    conn.send(measure(*args))
    conn.close()


def measure_in_fresh_process(*args) -> dict:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(child, *args))
    p.start()
    child.close()
    out = parent.recv()
    p.join()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default="Hopper-v5,Walker2d-v5,Humanoid-v5")
    ap.add_argument("--pop", type=int, default=256)
    ap.add_argument("--steps", type=int, default=1000, help="episode cap")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--repeats", type=int, default=5,
                    help="measurements per env; the median ratio is reported (5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, not {args.repeats}")
    out = {"pop": args.pop, "n_neurons": 256, "threads": args.threads,
           "episode_cap": args.steps, "cores": os.cpu_count(), "envs": {}}
    for env_id in args.envs.split(","):
        row = measure_in_fresh_process(env_id, args.pop, args.steps, args.threads,
                                       args.repeats)
        tr, phys = row, row["physics_steps_per_s"]
        out["envs"][env_id] = row
        if not args.json:
            print(f"{env_id}: pop {args.pop}, N = 256, {args.threads} thread(s), "
                  f"{row['env_steps']} env steps (mean episode {row['mean_episode_steps']:.0f})")
            print(f"  physics only (EnvPool, zero actions)   {phys:9.0f} env-steps/s")
            print(f"  training (engine + golden model)       {tr['train_steps_per_s']:9.0f} "
                  f"env-steps/s   train/physics {row['train_over_physics']:.2f} (median of "
                  f"{row['train_over_physics_runs']})")
            print(f"  network share of a training step {tr['network_share']:.0%}, sampling "
                  f"{tr['sampling_share']:.0%}; "
                  f"worker RSS {tr['rss_mb']:.0f} MB; connections "
                  f"{tr['genome_bytes_per_member']} B per member (bit-packed)")
    out["worker_rss_mb"] = max(r["rss_mb"] for r in out["envs"].values())
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
