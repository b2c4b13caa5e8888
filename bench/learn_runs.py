"""Run one EC training configuration to an env-step budget (the learning study, docs/learning.md).

    python bench/learn_runs.py --env Hopper-v5 --seed 0 --steps 1000000 --out RUN [--set k=v ...]

``--set`` overrides TrainConfig fields (e.g. ``--set antithetic=true --set lr=0.05``, JSON
values: ``healthy_reward=null``); ``--stop-at R`` also stops once the deterministic return
reaches R. One worker, Numba on one thread, so two runs share a 2-core machine without
interfering. Stops at the first generation that brings the run's total env steps to ``--steps``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=float, required=True, help="env-step budget")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--stop-at", type=float, metavar="RETURN",
                    help="also stop once the deterministic return reaches RETURN")
    args = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

    from ec_hw.config import CoreConfig, NetConfig, TrainConfig
    from ec_hw.train.backends import BackendSpec
    from ec_hw.train.checkpoint import write_config
    from ec_hw.train.dispatch import make_evaluator
    from ec_hw.train.envs import probe_env, resolve_env_backend
    from ec_hw.train.run import Trainer
    from ec_hw.train.strategy import make_strategy

    kw = dict(s.split("=", 1) for s in args.set)
    kw = {k: _value(v) for k, v in kw.items()}
    # The engine `ec-hw train` picks (EnvPool where it runs the id), recorded resolved.
    kw["env_backend"] = resolve_env_backend(args.env, kw.get("env_backend", "auto"))
    cfg = TrainConfig(env_id=args.env, seed=args.seed, workers=1, generations=100000, **kw)
    spec = probe_env(cfg.env_id)
    net = NetConfig(obs_dim=spec.obs_dim, act_dim=spec.act_dim)
    core = CoreConfig()
    args.out.mkdir(parents=True, exist_ok=True)
    if (args.out / "checkpoint.npz").exists():
        print(f"{args.out} exists, skipping", file=sys.stderr)
        return 0
    write_config(args.out, cfg, net, core)
    bspec = BackendSpec(target=cfg.target, net=net, core=core,
                        network=make_strategy(cfg, net).backend_network, slots=cfg.pop_size)
    with make_evaluator(bspec, 1, env_backend=cfg.env_backend) as ev:
        tr = Trainer(cfg, net, core, args.out, ev)
        while tr.state.total_steps < args.steps:
            row = tr.step()
            print(f"{args.out.name} gen {row['generation']} steps {row['total_env_steps']} "
                  f"det {row['det_return']:.1f} mean {row['mean_return']:.1f} "
                  f"H {row['rho_entropy']:.3f} {row['gen_time_s']:.1f}s", flush=True)
            if args.stop_at is not None and row["det_return"] >= args.stop_at:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
