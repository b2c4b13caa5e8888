"""How much of rho's entropy collapse is the fitness, and how much Adam walking on noise?

Run ``python bench/noise_entropy.py [RUN ...] [--generations 40]``. Drives EC's own update
(the seed-regenerated members, the fitness shaping, the natural gradient, Adam, the clip:
:meth:`ec_hw.train.strategy.EC.tell`) with fitness that is **pure noise** (a fresh Gaussian per
member, independent of its connections) and prints H(rho) per generation next to the
``rho_entropy`` of each real training RUN given (a run directory; its network, population,
lr and shaping are used). Same trajectory = the collapse is the optimizer's walk on sampling
noise, not what the task taught.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.config import NetConfig, TrainConfig  # noqa: E402
from ec_hw.train.checkpoint import read_config, read_metrics  # noqa: E402
from ec_hw.train.ec import rho_entropy  # noqa: E402
from ec_hw.train.evaluator import EvalJob  # noqa: E402
from ec_hw.train.run import initial_state  # noqa: E402
from ec_hw.train.strategy import make_strategy  # noqa: E402


def noise_trajectory(cfg: TrainConfig, net: NetConfig, generations: int, seed: int) -> list[float]:
    """H(rho) after each of ``generations`` EC updates driven by fitness independent of the
    members."""
    strat = make_strategy(cfg, net)
    st = initial_state(cfg, net)
    rng = np.random.default_rng(seed)
    out = []
    for g in range(generations):
        job = EvalJob(env_id=cfg.env_id, net=net, obs_mean=np.zeros(net.obs_dim),
                      obs_std=np.ones(net.obs_dim),
                      env_seeds=np.zeros((cfg.pop_size, 1), np.int64),
                      member_ids=np.arange(cfg.pop_size), **strat.ask(st, 1000 + g))
        strat.tell(st, job, rng.normal(size=cfg.pop_size))
        out.append(rho_entropy(st.params))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="*", type=Path, help="run directories to compare against")
    p.add_argument("--generations", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if not a.runs:  # the plain command's network on InvertedDoublePendulum-v5
        cfgs = [(TrainConfig(env_id="InvertedDoublePendulum-v5"),
                 NetConfig(obs_dim=9, act_dim=1), None)]
    else:
        cfgs = []
        for run in a.runs:
            cfg, net, _, _ = read_config(run)
            cfgs.append((cfg, net, [r["rho_entropy"] for r in read_metrics(run)]))
    every = max(1, a.generations // 10)
    gens = list(range(0, a.generations, every))
    print("generation            " + " ".join(f"{g + 1:6d}" for g in gens))
    for cfg, net, real in cfgs:
        noise = noise_trajectory(cfg, net, a.generations, a.seed)
        label = f"{cfg.env_id} pop {cfg.pop_size}"
        print("pure-noise fitness    " + " ".join(f"{noise[g]:6.3f}" for g in gens)
              + f"   ({label}, lr {cfg.lr})")
        if real is not None:
            print("the run's rho_entropy " + " ".join(
                f"{real[g]:6.3f}" if g < len(real) else "     -" for g in gens))
            n = min(len(real), a.generations)
            gap = np.abs(np.array(noise[:n]) - np.array(real[:n]))
            print(f"largest |difference| over generations 1-{n}: {gap.max():.3f} bits")


if __name__ == "__main__":
    main()
