"""The old rollout loop (per-chunk, one gymnasium env at a time) vs the batched engine, one run.

    python bench/bench_before_after.py [--json] [--env Hopper-v5] [--pop 256] [--old-rev 290df70]

The same job (pop ``--pop``, N = 256, rho = 0.5, one episode per member capped at 1000 steps,
golden model) on every core of this machine:

* ``old``: the code of ``--old-rev`` (extracted with ``git archive`` into a temporary folder
  and run in a subprocess): ``run_members`` in one worker process per core, as
  ``ec-hw train`` ran it;
* ``engine_envpool``: :class:`ec_hw.train.rollout.Engine` in this process, EnvPool with one
  thread per core, Numba on every core (``ec-hw train --workers 1``);
* ``engine_gymnasium``: the same engine on gymnasium envs (the per-episode-seeded path);
* ``engine_envpool_workers``: one engine per worker process (``--workers`` = cores).

The EnvPool episodes start without reset noise, so their lengths differ a little from the
gymnasium ones; the rates are env steps per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

JOB_CODE = """
import numpy as np
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.model.sampler import quantize_rho
from ec_hw.train.envs import probe_env
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.run import env_seeds

def make_job(env_id, pop, cap=1000):
    spec = probe_env(env_id)
    net = NetConfig(obs_dim=spec.obs_dim, act_dim=spec.act_dim)
    return EvalJob(env_id=env_id, net=net, core=CoreConfig(), obs_mean=np.zeros(spec.obs_dim),
                   obs_std=np.ones(spec.obs_dim), env_seeds=env_seeds(1, pop, 1),
                   member_ids=np.arange(pop), gen_seed=1,
                   rho_q=quantize_rho(np.full(net.n_conn, 0.5)), max_episode_steps=cap)

def warm(job):
    # every member for 2 steps: compiles, and builds every env the timed run uses
    return EvalJob(**{**job.__dict__, "max_episode_steps": 2})
"""

OLD_CODE = JOB_CODE + """
import json, sys, time
from ec_hw.train.backends import BackendSpec
from ec_hw.train.local import ProcessEvaluator
env_id, pop, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
job = make_job(env_id, pop)
with ProcessEvaluator(BackendSpec(target="model", net=job.net, core=job.core,
                                  slots=-(-pop // workers)), workers) as ev:
    ev.evaluate(warm(job))
    t = time.perf_counter()
    res = ev.evaluate(job)
    dt = time.perf_counter() - t
print(json.dumps({"steps_per_s": float(res.steps.sum()) / dt, "env_steps": int(res.steps.sum()),
                  "mean_return": float(res.returns.mean())}))
"""


def old_rate(rev: str, env_id: str, pop: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "ec_hw", "host"],
                              check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=arch, check=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        out = subprocess.run([sys.executable, "-c", OLD_CODE, env_id, str(pop), str(workers)],
                             env=env, cwd=tmp, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def new_rates(env_id: str, pop: int, threads: int) -> dict:
    ns: dict = {}
    exec(JOB_CODE, ns)  # noqa: S102 - the same job definition the old code runs
    import numba

    from ec_hw.train.backends import BackendSpec, ModelBackend
    from ec_hw.train.local import ProcessEvaluator
    from ec_hw.train.rollout import Engine

    job = ns["make_job"](env_id, pop)
    out = {}
    numba.set_num_threads(threads)
    for kind in ("envpool", "gymnasium"):
        engine = Engine(kind, threads)
        backend = ModelBackend(job.net, job.core, pop)
        engine.run(backend, ns["warm"](job), np.arange(pop))
        t = time.perf_counter()
        res = engine.run(backend, job, np.arange(pop))
        dt = time.perf_counter() - t
        engine.close()
        out[f"engine_{kind}"] = {"steps_per_s": float(res.steps.sum()) / dt,
                                 "env_steps": int(res.steps.sum()),
                                 "mean_return": float(res.returns.mean())}
    with ProcessEvaluator(BackendSpec(target="model", net=job.net, core=job.core,
                                      slots=-(-pop // threads)), threads, "envpool") as ev:
        ev.evaluate(ns["warm"](job))
        t = time.perf_counter()
        res = ev.evaluate(job)
        dt = time.perf_counter() - t
    out["engine_envpool_workers"] = {"steps_per_s": float(res.steps.sum()) / dt,
                                     "env_steps": int(res.steps.sum()),
                                     "mean_return": float(res.returns.mean())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--pop", type=int, default=256)
    ap.add_argument("--old-rev", default="290df70", help="git revision of the old loop")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    out = {"env": args.env, "pop": args.pop, "cores": cores, "old_rev": args.old_rev,
           "old": old_rate(args.old_rev, args.env, args.pop, cores),
           **new_rates(args.env, args.pop, cores)}
    for k in ("engine_envpool", "engine_gymnasium", "engine_envpool_workers"):
        out[k]["over_old"] = out[k]["steps_per_s"] / out["old"]["steps_per_s"]
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.env}, pop {args.pop}, N = 256, golden model, {cores} cores")
        for k in ("old", "engine_envpool", "engine_gymnasium", "engine_envpool_workers"):
            r = out[k]
            ratio = f"  {r['over_old']:.2f}x old" if "over_old" in r else ""
            print(f"  {k:24s} {r['steps_per_s']:8.0f} env-steps/s  ({r['env_steps']} steps, "
                  f"mean return {r['mean_return']:.1f}){ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
