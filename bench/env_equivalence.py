"""EnvPool vs gymnasium on the same MuJoCo task: same start state, same actions, measured.

    python bench/env_equivalence.py [--json] [--steps 300] [--envs Hopper-v5,...]
    python bench/env_equivalence.py --run RUN [--episodes 20]

EnvPool cannot set qpos/qvel from Python (its ``info:qpos0`` is compiled only into its test
builds), and its reset noise comes from its own per-env random stream. The start states are
matched instead by turning the reset noise off on both sides (``reset_noise_scale = 0``): both
then start exactly at the model's ``qpos0`` and zero velocity, which the first observations
confirm. From there both get the same action sequence (uniform in the action bounds, seeded);
when either episode ends both are reset to that start again. Per env this reports the largest
observation and reward differences over the first 10 steps and over all steps, the first step
whose observation differs by more than the tolerance, and termination mismatches; and, as the
yardstick of how fast the dynamics amplify rounding, the same for gymnasium against itself
started ``PERTURB`` away in every qvel component.

``--run RUN``: the deterministic network of a trained run (``ec-hw train``), ``--episodes``
episodes on (a) EnvPool (the start state without noise), (b) gymnasium without reset noise
(the same start: isolates the MuJoCo differences) and (c) gymnasium with its reset noise and
per-episode seeds (the gymnasium engine), on the golden model.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENVS = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5", "Humanoid-v5")
OBS_TOL = 1e-6
"""Largest absolute observation difference called equal."""
REW_RTOL = 1e-6
"""Largest relative reward difference called equal (EnvPool returns float32 rewards)."""
PERTURB = 1e-12
"""qvel offset of the gymnasium twin that measures how fast the dynamics amplify rounding."""


def compare(env_id: str, steps: int = 300, seed: int = 0) -> dict:
    """Step gymnasium and EnvPool ``env_id`` from the same noise-free start with the same
    actions; return the differences (see the module docstring)."""
    import envpool
    import gymnasium as gym

    warnings.filterwarnings("ignore")
    ep = envpool.make(env_id, env_type="gymnasium", num_envs=1, num_threads=1,
                      reset_noise_scale=0.0)
    g = gym.make(env_id, reset_noise_scale=0.0)
    # The yardstick for chaos: gymnasium against itself from a start 1e-12 away in qvel.
    g2 = gym.make(env_id, reset_noise_scale=0.0)

    def reset_twin():
        o, _ = g2.reset(seed=seed)
        u = g2.unwrapped
        u.set_state(u.data.qpos.copy(), u.data.qvel + PERTURB)
        return o

    low, high = g.action_space.low, g.action_space.high
    rng = np.random.default_rng(seed)
    o_e, _ = ep.reset()
    o_g, _ = g.reset(seed=seed)
    reset_twin()
    start_diff = float(np.abs(o_e[0] - o_g).max())
    obs_d, rew_d, surv_d, twin_d = [], [], [], []
    term_mismatch, episodes = 0, 1
    healthy = float(ep.config.get("healthy_reward", 0.0))
    from ec_hw.train.envs import ENVPOOL_IDS

    for _ in range(steps):
        a = rng.uniform(low, high)
        o_e, r_e, te_e, tr_e, _ = ep.step(a[None])
        o_g, r_g, te_g, tr_g, info = g.step(a)
        o_t, _, te_t, tr_t, _ = g2.step(a)
        twin_d.append(float(np.abs(o_t - o_g).max()))
        obs_d.append(float(np.abs(o_e[0] - o_g).max()))
        rew_d.append(abs(float(r_e[0]) - float(r_g)) / max(1.0, abs(float(r_g))))
        surv_e = healthy * (not te_e[0]) if ENVPOOL_IDS[env_id] else 0.0
        surv_d.append(abs(surv_e - float(info.get("reward_survive", 0.0))))
        term_mismatch += int(bool(te_e[0]) != bool(te_g))
        if te_e[0] or tr_e[0] or te_g or tr_g or te_t or tr_t:
            o_e, _ = ep.reset()
            o_g, _ = g.reset()
            reset_twin()
            start_diff = max(start_diff, float(np.abs(o_e[0] - o_g).max()))
            episodes += 1
    ep.close()
    g.close()
    g2.close()
    obs_d, twin_d = np.array(obs_d), np.array(twin_d)
    over = np.flatnonzero(obs_d > OBS_TOL)
    twin_over = np.flatnonzero(twin_d > OBS_TOL)
    return {"steps": steps, "episodes": episodes, "start_obs_max_diff": start_diff,
            "obs_diff_step_1": float(obs_d[0]),
            "obs_max_diff_first_10": float(obs_d[:10].max()),
            "obs_max_diff": float(obs_d.max()),
            "first_step_over_tol": int(over[0]) + 1 if over.size else None,
            "reward_max_rel_diff": float(max(rew_d)),
            "survival_bonus_max_diff": float(max(surv_d)),
            "termination_mismatches": term_mismatch,
            "gym_perturbed_obs_max_diff_first_10": float(twin_d[:10].max()),
            "gym_perturbed_first_step_over_tol": (int(twin_over[0]) + 1 if twin_over.size
                                                  else None),
            "equal_within_tol": bool(not over.size and max(rew_d) <= REW_RTOL
                                     and term_mismatch == 0 and start_diff <= OBS_TOL)}


def trajectory(engine: str, env_id: str, steps: int = 100, seed: int = 0) -> np.ndarray:
    """``(t, D + 2)`` rows of observation, reward, terminated from the noise-free start under
    the seeded uniform actions of :func:`compare`, up to the first episode end. ``gymnasium``
    needs only gymnasium and mujoco, so it runs under another interpreter (another MuJoCo)."""
    import gymnasium as gym

    warnings.filterwarnings("ignore")
    g = gym.make(env_id, reset_noise_scale=0.0)
    rng = np.random.default_rng(seed)
    acts = [rng.uniform(g.action_space.low, g.action_space.high) for _ in range(steps)]
    rows = []
    if engine == "gymnasium":
        g.reset(seed=seed)
        for a in acts:
            o, r, te, tr, _ = g.step(a)
            rows.append(np.r_[o, r, te])
            if te or tr:
                break
    else:
        import envpool

        ep = envpool.make(env_id, env_type="gymnasium", num_envs=1, num_threads=1,
                          reset_noise_scale=0.0)
        ep.reset()
        for a in acts:
            o, r, te, tr, _ = ep.step(a[None])
            rows.append(np.r_[o[0], r[0], te[0]])
            if te[0] or tr[0]:
                break
        ep.close()
    g.close()
    return np.array(rows)


def run_on_engines(run: Path, episodes: int) -> dict:
    """The run's deterministic network on EnvPool, gymnasium without noise, gymnasium."""
    import gymnasium as gym

    from ec_hw.train.backends import BackendSpec
    from ec_hw.train.checkpoint import read_config
    from ec_hw.train.local import InProcessEvaluator
    from ec_hw.train.run import Trainer

    cfg, net, core, _ = read_config(run)
    quiet = f"EcHwNoNoise/{cfg.env_id}"
    if quiet not in gym.registry:
        spec = gym.spec(cfg.env_id)
        gym.register(quiet, entry_point=spec.entry_point,
                     max_episode_steps=spec.max_episode_steps,
                     kwargs={**spec.kwargs, "reset_noise_scale": 0.0})
    seeds = 12345 + np.arange(episodes)
    out = {"run": str(run), "env": cfg.env_id, "episodes": episodes}
    for name, env_id, engine in (("envpool", cfg.env_id, "envpool"),
                                 ("gymnasium_no_noise", quiet, "gymnasium"),
                                 ("gymnasium", cfg.env_id, "gymnasium")):
        spec = BackendSpec(target="model", net=net, core=core, slots=episodes)
        with InProcessEvaluator(spec, engine) as ev:
            from dataclasses import replace

            tr = Trainer.resume(cfg, net, core, run, ev)
            tr.cfg = replace(cfg, env_id=env_id)  # the same network on the noise-free twin
            res = tr.evaluate_deterministic(episodes, seeds)
        out["generation"] = tr.state.generation
        out[name] = {"mean": float(res.returns.mean()), "std": float(res.returns.std()),
                     "min": float(res.returns.min()), "max": float(res.returns.max()),
                     "mean_steps": float(res.steps.mean())}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", default=",".join(ENVS))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", type=Path, help="evaluate this run's network on both engines")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--dump-gymnasium", type=Path, metavar="NPY",
                    help="write the gymnasium trajectory of the one env in --envs (see "
                         "trajectory(); runs under any interpreter with gymnasium + mujoco)")
    ap.add_argument("--against", type=Path, metavar="NPY",
                    help="compare EnvPool's trajectory with one written by --dump-gymnasium")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if args.dump_gymnasium or args.against:
        import gymnasium
        import mujoco

        env_id = args.envs.split(",")[0]
        if args.dump_gymnasium:
            np.save(args.dump_gymnasium, trajectory("gymnasium", env_id, args.steps, args.seed))
            print(f"{env_id}: gymnasium {gymnasium.__version__}, mujoco {mujoco.__version__} "
                  f"-> {args.dump_gymnasium}")
            return 0
        a = trajectory("envpool", env_id, args.steps, args.seed)
        b = np.load(args.against)
        n = min(len(a), len(b))
        d = np.abs(a[:n, :-2] - b[:n, :-2]).max(axis=1)
        print(f"{env_id}: EnvPool vs {args.against}: {n} steps, max obs difference step 1 "
              f"{d[0]:.1e}, first 10 {d[:10].max():.1e}, all {d.max():.1e}; max reward "
              f"difference {np.abs(a[:n, -2] - b[:n, -2]).max():.1e}; lengths {len(a)}/{len(b)}")
        return 0
    if args.run is not None:
        out = run_on_engines(args.run, args.episodes)
        if args.json:
            print(json.dumps(out))
        else:
            print(f"{out['env']} network of {out['run']} (generation {out['generation']}), "
                  f"{args.episodes} episodes, golden model:")
            for k in ("envpool", "gymnasium_no_noise", "gymnasium"):
                r = out[k]
                print(f"  {k:20s} return {r['mean']:8.1f} +- {r['std']:6.1f} (min "
                      f"{r['min']:.1f}, max {r['max']:.1f}, mean length {r['mean_steps']:.0f})")
        return 0
    out = {"obs_tol": OBS_TOL, "reward_rtol": REW_RTOL,
           "envs": {e: compare(e, args.steps, args.seed) for e in args.envs.split(",")}}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"EnvPool vs gymnasium, {args.steps} steps of seeded uniform actions from the "
              f"noise-free start (tolerance: obs {OBS_TOL:g} abs, reward {REW_RTOL:g} rel)")
        for e, r in out["envs"].items():
            print(f"  {e:15s} start {r['start_obs_max_diff']:.1e}  obs first 10 "
                  f"{r['obs_max_diff_first_10']:.1e}  all {r['obs_max_diff']:.1e}  first over "
                  f"tol {r['first_step_over_tol']}  reward {r['reward_max_rel_diff']:.1e}  "
                  f"term mismatches {r['termination_mismatches']}  episodes {r['episodes']}  "
                  f"{'EQUAL' if r['equal_within_tol'] else 'DIFFERENT'}  | gymnasium vs "
                  f"itself +{PERTURB:g}: first 10 {r['gym_perturbed_obs_max_diff_first_10']:.1e}"
                  f", first over tol {r['gym_perturbed_first_step_over_tol']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
