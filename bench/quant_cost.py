"""What the fixed-point arithmetic costs: the golden model against the float64 reference.

Run ``python bench/quant_cost.py`` (``--help`` for options). Two measurements:

1. Random networks (connection density 1/2, the EC starting point), both models stepped in
   lockstep from the same zero state on the same i.i.d. N(0, 1) normalized observations. Per
   env step it reports the action RMSE and largest error on the [-1, 1] scale, the fraction of
   (neuron, substep) spike bits that agree, the fraction of networks whose spike trains are
   still identical, and the mean firing probability of both models (equal firing statistics
   after the trains decorrelate mean the quantization does not bias the dynamics), the RMS of
   the float actions for scale, and the error of the float reference fed the quantized
   observations (the share of the deviation that observation quantization alone causes).
2. With ``--run DIR`` (a training run directory with ``config.json`` and ``checkpoint.npz``):
   the deterministic network (rho > 0.5) of that run, evaluated on the same env seeds under
   the golden model and under the float reference: the return of each episode under both; and
   one episode driven by the golden model with the float reference shadowing it on the same
   observations, to see how far their actions drift apart on the policy's real trajectory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, help="N (default 256, or the run's)")
    p.add_argument("--obs-dim", type=int, help="D (default 11, or the run's)")
    p.add_argument("--act-dim", type=int, help="A (default 3, or the run's)")
    p.add_argument("--networks", type=int, default=64, help="random networks (default 64)")
    p.add_argument("--env-steps", type=int, default=20, help="horizon in env steps (20)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run", type=Path, help="a run directory to evaluate under both models")
    p.add_argument("--episodes", type=int, default=8, help="episodes for --run (default 8)")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def random_networks(args) -> dict:
    import numpy as np

    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.fixedpoint import quantize_obs
    from ec_hw.model.core import FixedNet, NetState, net_step
    from ec_hw.model.packing import GenomeLayout, pack_genome
    from ec_hw.model.reference import RefState, ref_step

    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    # One substep per call, `substeps` calls per env step with the same observation: the same
    # computation as one env step, with every substep's spikes visible.
    net1 = dataclasses.replace(net, substeps=1)
    fx = FixedNet(net1, CoreConfig())
    lay = GenomeLayout.of(net)
    b, n, d = args.networks, net.n_neurons, net.obs_dim
    rng = np.random.default_rng(args.seed)
    genomes = pack_genome(rng.random((b, lay.n_conn)) < 0.5, lay)
    z = rng.normal(size=(args.env_steps, b, d))
    x_q = quantize_obs(z, np.zeros(d), np.ones(d), fx.fp)
    # The float reference again, on the quantized observations x_q / (R_in 2**F): separates
    # the share of observation quantization from that of the network's own rounding.
    z_pert = x_q / (net.r_in * 2.0 ** fx.fp.frac_bits)
    sf, sr, sp = NetState.zeros(b, lay), RefState.zeros(b, n), RefState.zeros(b, n)
    synced = np.ones(b, bool)
    first_div = np.full(b, -1)
    rows = []
    for t in range(args.env_steps):
        agree = fire_f = fire_r = 0.0
        for k in range(net.substeps):
            af = net_step(fx.p, fx.lay, x_q[t], genomes, sf)
            ar = ref_step(net1, genomes, sr, z[t])
            ap = ref_step(net1, genomes, sp, z_pert[t])
            spk_f = np.unpackbits(sf.spk.view(np.uint8), axis=1, bitorder="little")[:, :n]
            same = spk_f == sr.spk
            agree += same.mean()
            fire_f += spk_f.mean()
            fire_r += sr.spk.mean()
            now = same.all(axis=1)
            first_div[synced & ~now] = t * net.substeps + k
            synced &= now
        err = af / fx.fp.action_max - ar
        rows.append({"env_step": t + 1, "action_rmse": float(np.sqrt(np.mean(err ** 2))),
                     "action_rms": float(np.sqrt(np.mean(ar ** 2))),
                     "float_on_x_q_rmse": float(np.sqrt(np.mean((ap - ar) ** 2))),
                     "action_max_err": float(np.abs(err).max()),
                     "spike_agreement": agree / net.substeps,
                     "networks_in_lockstep": float(synced.mean()),
                     "firing_fixed": fire_f / net.substeps, "firing_float": fire_r / net.substeps})
    div = first_div[first_div >= 0]
    return {"neurons": n, "networks": b, "substeps": net.substeps, "per_env_step": rows,
            "first_divergence_substep_quartiles":
                [float(q) for q in np.percentile(div, [25, 50, 75])] if div.size else None,
            "never_diverged": int((first_div < 0).sum())}


def trained_run(args) -> dict:
    import numpy as np

    from ec_hw.model.sampler import generation_seed
    from ec_hw.train.backends import BackendSpec
    from ec_hw.train.checkpoint import load_checkpoint, read_config
    from ec_hw.train.local import InProcessEvaluator
    from ec_hw.train.run import EVAL_GENERATION, Trainer, env_seeds

    cfg, net, core, _ = read_config(args.run)
    if cfg.algo != "ec":
        raise SystemExit(f"quant_cost: {args.run} is an {cfg.algo} run; only EC runs have a "
                         f"1-bit network to quantize")
    seeds = env_seeds(generation_seed(cfg.seed, EVAL_GENERATION), args.episodes, 1)
    out = {"run": str(args.run), "env_id": cfg.env_id, "episodes": args.episodes}
    for target in ("model", "float"):
        state = load_checkpoint(Path(args.run) / "checkpoint.npz", cfg, net, core)
        out["generation"] = state.generation
        spec = BackendSpec(target=target, net=net, core=core, slots=args.episodes)
        with InProcessEvaluator(spec) as ev:
            res = Trainer(cfg, net, core, args.run, ev, state).evaluate_deterministic(
                args.episodes, seeds)
        out[f"returns_{target}"] = [float(r) for r in res.returns]
        out[f"mean_return_{target}"] = float(np.mean(res.returns))
    out["shadow"] = shadow_episode(cfg, net, core, state, int(seeds[0, 0]))
    return out


def shadow_episode(cfg, net, core, state, seed: int) -> dict:
    """One episode driven by the golden model, the float reference shadowing it.

    Both networks see the same observation every env step (the one the golden model's own
    actions led to); the float reference's actions are only recorded. This measures how far
    the two networks' actions drift apart on the trained policy's real trajectory.
    """
    import numpy as np

    from ec_hw.fixedpoint import action_to_unit, normalize_obs, quantize_obs
    from ec_hw.model.core import FixedNet, NetState, net_step
    from ec_hw.model.reference import RefState, ref_step
    from ec_hw.train.ec import deterministic_genome
    from ec_hw.train.envs import make_env, unit_to_action

    fx = FixedNet(net, core)
    genome = deterministic_genome(state.params, fx.layout)[None]
    sf, sr = NetState.zeros(1, fx.layout), RefState.zeros(1, net.n_neurons)
    env = make_env(cfg.env_id)
    low = env.action_space.low.astype(np.float64)
    high = env.action_space.high.astype(np.float64)
    obs, _ = env.reset(seed=seed)
    mean, std = state.obs_mean, state.obs_std
    err, ref_act = [], []
    try:
        for _ in range(cfg.max_episode_steps):
            af = action_to_unit(net_step(fx.p, fx.lay, quantize_obs(obs[None], mean, std, fx.fp),
                                         genome, sf), fx.fp)[0]
            ar = ref_step(net, genome, sr, normalize_obs(obs[None], mean, std))[0]
            err.append(af - ar)
            ref_act.append(ar)
            obs, _, term, trunc, _ = env.step(unit_to_action(af, low, high))
            if term or trunc:
                break
    finally:
        env.close()
    err = np.abs(np.array(err))
    return {"steps": len(err), "action_rmse": float(np.sqrt(np.mean(err ** 2))),
            "action_max_err": float(err.max()),
            "action_rms": float(np.sqrt(np.mean(np.array(ref_act) ** 2))),
            "frac_steps_within_0.01": float(np.mean(err.max(axis=1) < 0.01))}


def report(rn: dict, run: dict | None) -> str:
    lines = [f"Random networks: {rn['networks']} x N={rn['neurons']}, density 0.5, "
             f"{rn['substeps']} substeps per env step, z ~ N(0, 1)",
             "  env step  action RMSE  max |err|  (RMS action  float on x_q)  "
             "spike agreement  in lockstep  firing fixed/float"]
    for r in rn["per_env_step"]:
        lines.append(f"  {r['env_step']:8d}  {r['action_rmse']:11.4f}  {r['action_max_err']:9.4f}"
                     f"  ({r['action_rms']:10.4f}  {r['float_on_x_q_rmse']:12.4f})"
                     f"  {r['spike_agreement']:15.4f}  {r['networks_in_lockstep']:11.2f}  "
                     f"{r['firing_fixed']:.4f}/{r['firing_float']:.4f}")
    q = rn["first_divergence_substep_quartiles"]
    lines.append("  RMS action: scale of the float actions; float on x_q: RMSE of the float "
                 "reference fed the quantized observations, against itself on exact ones")
    lines.append(f"  first differing spike: substep quartiles {q}; "
                 f"{rn['never_diverged']} networks never diverged")
    if run:
        lines.append(f"Run {run['run']} ({run['env_id']}, generation {run['generation']}), "
                     f"deterministic network, {run['episodes']} episodes on the same seeds:")
        for target in ("model", "float"):
            rs = " ".join(f"{r:.1f}" for r in run[f"returns_{target}"])
            lines.append(f"  {target:5s} mean {run[f'mean_return_{target}']:9.2f}   [{rs}]")
        sh = run["shadow"]
        lines.append(f"  float shadowing the golden model's first episode ({sh['steps']} steps, "
                     f"same observations): action RMSE {sh['action_rmse']:.4f}, max "
                     f"{sh['action_max_err']:.4f}, RMS action {sh['action_rms']:.4f}, "
                     f"{100 * sh['frac_steps_within_0.01']:.1f} % of steps within 0.01")
    return "\n".join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ec_hw.runtime import setup_process

    setup_process()  # OMP_WAIT_POLICY=PASSIVE, stale Numba caches dropped
    defaults = {"neurons": 256, "obs_dim": 11, "act_dim": 3}
    if args.run:  # random networks of the run's shape unless told otherwise
        from ec_hw.train.checkpoint import read_config

        net = read_config(args.run)[1]
        defaults = {"neurons": net.n_neurons, "obs_dim": net.obs_dim, "act_dim": net.act_dim}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    rn = random_networks(args)
    run = trained_run(args) if args.run else None
    print(report(rn, run))
    res = {"random_networks": rn, "run": run}
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return res


if __name__ == "__main__":
    main()
