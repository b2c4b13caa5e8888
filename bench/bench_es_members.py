"""Cost of building a generation of ES members (genomes, then weights in the backend).

Run ``python bench/bench_es_members.py [--net gru|lstm|snn] [--generations 4]``. Each
generation draws ``--pop`` antithetic members of a fresh center through
:func:`ec_hw.train.rollout.job_genomes` and loads them into the trainer's backend, once with a
fresh genome array per generation (what the trainer did before) and once with the buffer the
rollout engine now keeps across generations. An ES-GRU population is 256 x 207k float64 genomes
(424 MB): on machines where first-touch page faults are slow (this sandbox: seconds per
hundred MB) the fresh array cost more than the members' episodes. Prints seconds per
generation of each and their ratio, measured in this one run; the genomes are checked equal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.train.backends import BackendSpec, make_backend  # noqa: E402
from ec_hw.train.evaluator import EvalJob  # noqa: E402
from ec_hw.train.rollout import job_genomes  # noqa: E402
from ec_hw.train.strategy import make_strategy  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", choices=("gru", "lstm", "snn"), default="gru")
    ap.add_argument("--pop", type=int, default=256)
    ap.add_argument("--generations", type=int, default=4)
    args = ap.parse_args(argv)

    from ec_hw.config import TrainConfig

    net = NetConfig(obs_dim=11, act_dim=3)  # Hopper-v5
    cfg = TrainConfig(env_id="Hopper-v5", algo="es", network=args.net, pop_size=args.pop)
    strat = make_strategy(cfg, net)
    backend = make_backend(BackendSpec(target="model", net=net, core=CoreConfig(),
                                       network=strat.backend_network, slots=args.pop))
    center = strat.initial_params()
    ids = np.arange(args.pop, dtype=np.int64)
    idx, slots = np.arange(args.pop), np.arange(args.pop)
    buf = np.empty((args.pop, center.shape[0]))

    def job(g):
        return EvalJob(env_id=cfg.env_id, net=net, obs_mean=np.zeros(11), obs_std=np.ones(11),
                       env_seeds=np.zeros((args.pop, 1), np.int64), member_ids=ids,
                       gen_seed=1000 + g, es_center=center + g, es_sigma=0.3)

    times = {"fresh": [], "reused": []}
    for g in range(args.generations):
        for kind in ("fresh", "reused"):  # alternated, so load drifts hit both alike
            t = time.perf_counter()
            x = job_genomes(job(g), idx, None if kind == "fresh" else buf)
            backend.load(x, slots)
            times[kind].append(time.perf_counter() - t)
            if kind == "fresh":
                ref = x.copy()
            elif not np.array_equal(x, ref):
                print("genomes differ between the two ways", file=sys.stderr)
                return 1
            del x
    # the first generation pays the buffer's own first touch; steady state is what repeats
    fresh, reused = np.median(times["fresh"][1:]), np.median(times["reused"][1:])
    print(f"ES-{args.net.upper()} pop {args.pop}, {center.shape[0]} parameters: "
          f"{fresh:.2f} s per generation with a fresh genome array, {reused:.2f} s with the "
          f"reused buffer ({fresh / reused:.1f}x); first generation {times['fresh'][0]:.2f} / "
          f"{times['reused'][0]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
