"""What the Ray evaluator sends per generation, and how it scales from 1 to 2 actors.

Run: ``python bench/bench_ray.py`` (``--skip-scaling`` for the byte counts only). Prints

1. bytes per generation per worker: the pickled seed-based job (gen_seed + rho_q + obs stats +
   env seeds), which each worker fetches once, against the packed genomes of that worker's
   members, which an explicit-genome design would send; plus the per-chunk messages;
2. the driver's cost of regenerating every member's bits for the natural gradient;
3. env-steps/s of the population on a local Ray cluster with 1 and 2 actors (and the
   in-process evaluator), and the scaling efficiency ``(steps/s with 2) / (2 * steps/s with 1)``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from dataclasses import replace

import numpy as np

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import quantize_rho, sample_members
from ec_hw.train.backends import BackendSpec
from ec_hw.train.ec import natural_gradient
from ec_hw.train.evaluator import EvalJob, EvalResult
from ec_hw.train.run import env_seeds


def _size(obj) -> int:
    return len(pickle.dumps(obj, protocol=5))


def _job(net: NetConfig, pop: int, episodes: int = 1, **kw) -> EvalJob:
    rho = np.random.default_rng(0).uniform(0.05, 0.95, GenomeLayout.of(net).n_conn)
    d = net.obs_dim
    return EvalJob(env_id="HalfCheetah-v5", net=net, obs_mean=np.zeros(d), obs_std=np.ones(d),
                   env_seeds=env_seeds(1, pop, episodes), member_ids=np.arange(pop),
                   gen_seed=1, rho_q=quantize_rho(rho), **kw)


def bytes_table() -> None:
    from ec_hw.train.ray_eval import member_rows, shared_part

    print("== bytes per generation per worker (pickle protocol 5) ==")
    print("sent = the shared job (fetched once) + the member rows of the worker's chunks;")
    print("explicit = the packed genomes (+ rows) of the worker's members instead")
    print(f"{'net':>20} {'pop':>6} {'W':>4} {'shared job':>10} {'sent':>10} {'explicit':>12} "
          f"{'ratio':>6} {'chunk msg':>9} {'result/member':>13}")
    for n, obs, act in ((256, 4, 1), (256, 17, 6)):
        net = NetConfig(n_neurons=n, obs_dim=obs, act_dim=act)
        lay = GenomeLayout.of(net)
        for pop in (256, 10240):
            job = _job(net, pop)
            shared = _size(shared_part(job))
            for w in (8, 64, 512):
                share = -(-pop // w)
                chunk = max(1, -(-pop // (4 * w)))
                chunks = [np.arange(a, min(a + chunk, share)) for a in range(0, share, chunk)]
                rows = sum(_size(member_rows(job, c)) for c in chunks)
                g = np.zeros((pop, lay.n_words), np.uint64)
                explicit = sum(_size(member_rows(replace(job, genomes=g), c)) for c in chunks)
                res = EvalResult(returns=np.zeros(chunk), fitness=np.zeros(chunk),
                                 steps=np.zeros(chunk, np.int64),
                                 obs_count=np.zeros(chunk, np.int64),
                                 obs_sum=np.zeros((chunk, obs)), obs_sumsq=np.zeros((chunk, obs)))
                print(f"{f'N={n} obs={obs} act={act}':>20} {pop:6d} {w:4d} {shared:10,d} "
                      f"{shared + rows:10,d} {explicit:12,d} {explicit / (shared + rows):6.2f} "
                      f"{rows // len(chunks):9d} {_size(res) / chunk:13.0f}")
        print(f"   N={n} obs={obs} act={act}: n_conn {lay.n_conn}, rho_q {lay.n_conn * 2} B, "
              f"one packed genome {lay.n_words * 8} B: break-even at "
              f"{lay.n_conn * 2 / (lay.n_words * 8):.0f} members per worker")


def regen_cost() -> None:
    import numba

    print("\n== driver: regenerate every member's bits for the natural gradient (1 thread) ==")
    numba.set_num_threads(1)
    net = NetConfig(n_neurons=256, obs_dim=17, act_dim=6)
    lay = GenomeLayout.of(net)
    rho_q = _job(net, 1).rho_q
    natural_gradient(1, np.arange(8), np.ones(8), rho_q, lay)  # JIT
    sample_members(1, np.arange(8), rho_q, lay)
    pop = 512
    w = np.linspace(-0.5, 0.5, pop)
    for name, fn in (("sample_members", lambda: sample_members(1, np.arange(pop), rho_q, lay)),
                     ("natural_gradient", lambda: natural_gradient(1, np.arange(pop), w, rho_q,
                                                                   lay))):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        print(f"{name:>16}: {dc / pop * 1e3:6.2f} ms CPU per member ({dt / pop * 1e3:.2f} ms "
              f"wall); pop 10240: {dc / pop * 10240:6.1f} CPU-s per generation")


def scaling(pop: int, steps: int, gens: int) -> None:
    import ray

    from ec_hw.train.local import InProcessEvaluator
    from ec_hw.train.ray_eval import RayEvaluator, shared_part

    print(f"\n== population throughput: HalfCheetah-v5 (no early termination), N=256, pop {pop},"
          f" {steps} steps/episode, {gens} generations each ==")
    print(f"load average before: {os.getloadavg()}")
    net = NetConfig(n_neurons=256, obs_dim=17, act_dim=6)
    spec = BackendSpec(target="model", net=net, core=CoreConfig(), slots=max(1, pop // 8))
    jobs = [EvalJob(**{**_job(net, pop).__dict__, "gen_seed": g, "max_episode_steps": steps})
            for g in range(gens + 1)]

    cpu = {}

    def rate(ev) -> float:
        ev.evaluate(jobs[0])  # warm-up: JIT, env construction
        remote = getattr(ev, "stats", None)
        a0 = sum(s["cpu_s"] for s in remote()) if remote else 0.0
        t0, c0 = time.perf_counter(), time.process_time()
        n = sum(int(ev.evaluate(j).steps.sum()) for j in jobs[1:])
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        cpu["last"] = n / dc
        if remote:
            cpu["actors"] = n / (sum(s["cpu_s"] for s in remote()) - a0)
            cpu["driver_ms"] = dc / len(jobs[1:]) * 1e3
        return n / dt

    import numba

    numba.set_num_threads(1)
    with InProcessEvaluator(spec) as ev:
        r0 = rate(ev)
    cpu["inproc"] = cpu["last"]
    print(f"in-process (1 thread):   {r0:10,.0f} env-steps/s ({cpu['last']:,.0f} per CPU-s: "
          f"the per-core rate without the other jobs on this machine)")
    from dataclasses import replace as _replace

    from ec_hw.train.local import ProcessEvaluator

    with ProcessEvaluator(_replace(spec, slots=max(1, pop // 2)), 2) as ev:
        rp = rate(ev)
    print(f"2 local processes:       {rp:10,.0f} env-steps/s (the multiprocessing evaluator, "
          f"what this machine gives 2 workers now: {rp / r0:.2f}x in-process)")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = {}
        for w in (1, 2):
            with RayEvaluator(spec, workers=w) as ev:
                out[w] = rate(ev)
            print(f"Ray, {w} actor(s):         {out[w]:10,.0f} env-steps/s ({cpu['actors']:,.0f} "
                  f"per actor CPU-s: {cpu['actors'] / cpu['inproc']:.2f} of in-process; driver "
                  f"{cpu['driver_ms']:.0f} ms CPU per generation)")
        with RayEvaluator(spec, workers=1) as ev:
            a = ev.actors[0]
            ray.get(a.stats.remote())
            t0 = time.perf_counter()
            for _ in range(200):
                ray.get(a.stats.remote())
            rt = (time.perf_counter() - t0) / 200
            t0 = time.perf_counter()
            ray.get([a.stats.remote() for _ in range(1000)])
            thr = (time.perf_counter() - t0) / 1000
            job = jobs[1]
            t0 = time.perf_counter()
            for _ in range(20):
                ray.put(shared_part(job))
            put = (time.perf_counter() - t0) / 20
        print(f"Ray task overhead: {rt * 1e3:.2f} ms round trip, {thr * 1e3:.2f} ms per task "
              f"when pipelined; ray.put of the shared job: {put * 1e3:.2f} ms")
        print(f"scaling efficiency 1 -> 2 actors: {out[2] / (2 * out[1]):.2f} "
              f"(speed-up {out[2] / out[1]:.2f}x); Ray 1 actor vs in-process: "
              f"{out[1] / r0:.2f}; Ray 2 actors vs 2 local processes: {out[2] / rp:.2f}")
    finally:
        ray.shutdown()
    print(f"load average after: {os.getloadavg()} (2 cores shared with other jobs)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--pop", type=int, default=32)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--gens", type=int, default=3)
    a = ap.parse_args()
    bytes_table()
    regen_cost()
    if not a.skip_scaling:
        scaling(a.pop, a.steps, a.gens)


if __name__ == "__main__":
    main()
