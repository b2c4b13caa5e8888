"""Rollouts: a member's result depends on its genome and env seeds only, on every evaluator
and both env engines; the batched engine equals a one-env-at-a-time restatement."""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import action_to_unit, quantize_obs
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import quantize_rho, sample_members
from ec_hw.train.backends import BackendSpec, ModelBackend
from ec_hw.train.envs import make_env, resolve_env_backend, unit_to_action
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.local import InProcessEvaluator, ProcessEvaluator, split_even
from ec_hw.train.rollout import Engine
from ec_hw.train.run import env_seeds

KEYS = ("returns", "fitness", "steps", "obs_count", "obs_sum", "obs_sumsq")
needs_envpool = pytest.mark.skipif(resolve_env_backend(ENV := "InvertedPendulum-v5", "auto")
                                   != "envpool", reason="envpool is not installed")

NET = NetConfig(n_neurons=32, obs_dim=4, act_dim=1)


def _job(members=6, episodes=2, **kw):
    lay = GenomeLayout.of(NET)
    rng = np.random.default_rng(3)
    return EvalJob(env_id=ENV, net=NET, obs_mean=np.zeros(4), obs_std=np.full(4, 0.3),
                   env_seeds=env_seeds(77, members, episodes),
                   member_ids=np.arange(10, 10 + members), gen_seed=77,
                   rho_q=quantize_rho(rng.uniform(0.2, 0.8, lay.n_conn)),
                   max_episode_steps=60, **kw)


def _manual(job, net=NET):
    """Straight-line restatement: one member, one env, FixedNet.step_one, no batching.
    Returns (mean returns, steps)."""
    fx = FixedNet(net, CoreConfig())
    genomes = sample_members(job.gen_seed, job.member_ids, job.rho_q, fx.layout)
    env = make_env(job.env_id)
    out, steps = [], []
    for m in range(len(job.member_ids)):
        total, n = 0.0, 0
        for e in range(job.env_seeds.shape[1]):
            st = NetState.zeros(1, fx.layout)
            obs, _ = env.reset(seed=int(job.env_seeds[m, e]))
            for _ in range(job.max_episode_steps):
                x = quantize_obs(obs[None], job.obs_mean, job.obs_std, fx.fp)[0]
                a, _ = fx.step_one(x, genomes[m], st)
                act = unit_to_action(action_to_unit(a, fx.fp), env.action_space.low,
                                     env.action_space.high)
                obs, r, term, trunc, _ = env.step(act)
                total += r
                n += 1
                if term or trunc:
                    break
        out.append(total / job.env_seeds.shape[1])
        steps.append(n)
    env.close()
    return np.array(out), np.array(steps)


def _manual_returns(job):
    return _manual(job)[0]


@pytest.mark.parametrize("slots", [1, 2, 4, 6, 9])
def test_batched_rollout_equals_one_member_at_a_time(slots):
    """Gymnasium engine: fewer slots than members exercises refilling slots one member at a
    time as members finish; more slots than members leaves slots inactive."""
    job = _job()
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=slots)
    with InProcessEvaluator(spec, "gymnasium") as ev:
        res = ev.evaluate(job)
    ret, steps = _manual(job)
    assert np.array_equal(res.returns, ret)
    assert np.array_equal(res.steps, steps)
    assert res.returns.shape == (6,) and np.all(res.steps >= 2)
    assert np.array_equal(res.obs_count, res.steps)  # one observation fed per step


class _CountdownEnv(gym.Env):
    """A real registered gymnasium env whose episode length is set by its reset seed:
    ``1 + seed % 4`` steps (so some episodes terminate at step 1). Reward = action + 1, so
    returns depend on the network; the observation is (steps left, noise)."""

    observation_space = spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = spaces.Box(-2.0, 2.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._left = 1 + seed % 4
        return self._obs(), {}

    def _obs(self):
        return np.array([self._left, self.np_random.normal()])

    def step(self, action):
        self._left -= 1
        return self._obs(), float(action[0]) + 1.0, self._left == 0, False, {
            "reward_survive": 0.25}


gym.register("EcHwTest/Countdown-v0", entry_point=_CountdownEnv)


def test_episodes_ending_at_step_one_restart_and_refill_slots():
    net = NetConfig(n_neurons=32, obs_dim=2, act_dim=1)
    lay = GenomeLayout.of(net)
    seeds = np.array([[4, 1, 8], [5, 6, 7], [0, 0, 0], [3, 2, 9], [12, 13, 14]], np.int64)
    job = EvalJob(env_id="EcHwTest/Countdown-v0", net=net, obs_mean=np.zeros(2),
                  obs_std=np.ones(2), env_seeds=seeds, member_ids=np.arange(5), gen_seed=5,
                  rho_q=quantize_rho(np.random.default_rng(1).uniform(0.2, 0.8, lay.n_conn)),
                  max_episode_steps=3, healthy_reward=False)
    expect_steps = np.minimum(1 + seeds % 4, 3).sum(axis=1)  # episode cap 3
    ret, steps = _manual(job, net)
    assert np.array_equal(steps, expect_steps)
    for slots in (1, 2, 5, 7):
        res = Engine("gymnasium").run(ModelBackend(net, CoreConfig(), slots), job,
                                      np.arange(5))
        assert np.array_equal(res.steps, expect_steps), slots
        assert np.array_equal(res.returns, ret), slots
        assert np.allclose(res.fitness, res.returns - 0.25 * res.steps / 3), slots
        assert np.array_equal(res.obs_count, res.steps)
        # the observation fed before each step is the episode's steps left: L, L-1, ...
        fed = [sum(1 + s % 4 - k for s in row for k in range(min(1 + s % 4, 3)))
               for row in seeds]
        assert np.array_equal(res.obs_sum[:, 0], fed)


def test_a_subset_of_members_is_evaluated_as_if_alone():
    job = _job(members=6)
    full = Engine("gymnasium").run(ModelBackend(NET, CoreConfig(), 3), job, np.arange(6))
    part = Engine("gymnasium").run(ModelBackend(NET, CoreConfig(), 3), job, np.array([4, 1]))
    for k in KEYS:
        assert np.array_equal(getattr(part, k), getattr(full, k)[[4, 1]]), k


@needs_envpool
def test_envpool_engine_is_deterministic_and_independent_of_slots():
    """EnvPool episodes start from the model's initial state: a member's result depends on
    its connections only, whatever slot, neighbours, batch or process ran it."""
    job = _job(members=7, episodes=2)
    runs = [Engine("envpool", threads=t).run(ModelBackend(NET, CoreConfig(), s), job,
                                             np.arange(7))
            for s, t in ((7, 1), (7, 2), (3, 1), (1, 2), (10, 1))]
    for r in runs[1:]:
        for k in KEYS:
            assert np.array_equal(getattr(r, k), getattr(runs[0], k)), k
    res = runs[0]
    assert np.all(res.steps >= 2) and np.array_equal(res.obs_count, res.steps)
    # the env seeds are not used on EnvPool: a member's two episodes are the same episode
    one = Engine("envpool").run(ModelBackend(NET, CoreConfig(), 7),
                                _job(members=7, episodes=1), np.arange(7))
    assert np.array_equal(one.returns, res.returns)
    assert np.array_equal(2 * one.steps, res.steps)
    with ProcessEvaluator(BackendSpec(target="model", net=NET, core=CoreConfig(), slots=4),
                          workers=2, env_backend="envpool") as ev:
        two = ev.evaluate(job)
    for k in KEYS:
        assert np.array_equal(getattr(two, k), getattr(res, k)), k


@needs_envpool
def test_envpool_engine_runs_the_same_network_as_gymnasium_from_the_same_start():
    """InvertedPendulum from its initial state without noise: EnvPool and gymnasium give the
    same episode (docs/engine.md measures the MuJoCo differences per env)."""
    job = _job(members=4, episodes=1)
    res = Engine("envpool").run(ModelBackend(NET, CoreConfig(), 4), job, np.arange(4))
    fx = FixedNet(NET, CoreConfig())
    genomes = sample_members(job.gen_seed, job.member_ids, job.rho_q, fx.layout)
    env = gym.make(ENV, reset_noise_scale=0.0)
    for m in range(4):
        st = NetState.zeros(1, fx.layout)
        obs, _ = env.reset(seed=0)
        total, n = 0.0, 0
        for _ in range(job.max_episode_steps):
            a, _ = fx.step_one(quantize_obs(obs[None], job.obs_mean, job.obs_std, fx.fp)[0],
                               genomes[m], st)
            obs, r, term, trunc, _ = env.step(unit_to_action(action_to_unit(a, fx.fp),
                                                             env.action_space.low,
                                                             env.action_space.high))
            total, n = total + r, n + 1
            if term or trunc:
                break
        assert res.steps[m] == n and res.returns[m] == total, m
    env.close()


def test_worker_processes_give_identical_results():
    job = _job(members=5)
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=8)
    with InProcessEvaluator(spec) as ev:
        one = ev.evaluate(job)
    with ProcessEvaluator(spec, workers=2) as ev:
        two = ev.evaluate(job)
    for k in KEYS:
        assert np.array_equal(getattr(one, k), getattr(two, k)), k


def test_fitness_without_survival_bonus_is_reported_separately():
    job = _job(members=3, episodes=1, healthy_reward=False)
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=3)
    with InProcessEvaluator(spec) as ev:
        res = ev.evaluate(job)
    # InvertedPendulum's whole reward is its survival bonus (0 on the step that falls)
    assert np.all(res.fitness == 0)
    assert np.all(res.returns > 0) and np.all(res.returns >= res.steps - 1)


def test_survival_bonus_by_default_is_kept_in_balancing_and_dropped_in_locomotion():
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=3)
    with InProcessEvaluator(spec) as ev:
        res = ev.evaluate(_job(members=3, episodes=1, healthy_reward=None))
    assert np.array_equal(res.fitness, res.returns)  # InvertedPendulum: surviving is the task
    net = NetConfig(n_neurons=32, obs_dim=11, act_dim=3)
    lay = GenomeLayout.of(net)
    job = EvalJob(env_id="Hopper-v5", net=net, obs_mean=np.zeros(11), obs_std=np.ones(11),
                  env_seeds=env_seeds(5, 3, 1), member_ids=np.arange(3), gen_seed=5,
                  rho_q=quantize_rho(np.full(lay.n_conn, 0.5)), max_episode_steps=40,
                  healthy_reward=None)
    with InProcessEvaluator(BackendSpec(target="model", net=net, core=CoreConfig(),
                                        slots=3)) as ev:
        res = ev.evaluate(job)
    # Hopper pays 1 per healthy step: fitness is the return without it
    bonus = res.returns - res.fitness
    np.testing.assert_allclose(bonus, np.round(bonus), atol=1e-9)
    bonus = np.round(bonus)
    assert np.all(bonus >= res.steps - 1) and np.all(bonus <= res.steps)


def test_antithetic_members_are_the_mirrored_pairs_on_every_evaluator():
    job = _job(members=4, episodes=1, antithetic=True)
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=4)
    with ProcessEvaluator(spec, workers=2) as ev:
        res = ev.evaluate(job)
    fx = FixedNet(NET, CoreConfig())
    want = sample_members(job.gen_seed, job.member_ids, job.rho_q, fx.layout, antithetic=True)
    plain = InProcessEvaluator(spec).evaluate(
        EvalJob(**{**job.__dict__, "genomes": want, "gen_seed": None, "rho_q": None,
                   "antithetic": False}))
    assert np.array_equal(res.returns, plain.returns)


def test_device_sampling_of_antithetic_pairs_equals_host_sampling():
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=3)
    with InProcessEvaluator(spec) as ev:
        host = ev.evaluate(_job(members=6, episodes=1, antithetic=True))
        dev = ev.evaluate(_job(members=6, episodes=1, antithetic=True, sampling="device"))
        plain = ev.evaluate(_job(members=6, episodes=1, sampling="device"))
    assert np.array_equal(host.returns, dev.returns)
    assert np.array_equal(host.obs_sum, dev.obs_sum)
    assert not np.array_equal(dev.obs_sum, plain.obs_sum)  # the flag reached the sampler


class _PlainSampler(ModelBackend):
    """A backend that samples on its own but draws no mirrored pairs (a device whose INFO
    lacks FEATURE_ANTITHETIC)."""

    supports_antithetic = False


def test_device_sampling_of_antithetic_pairs_needs_the_feature():
    job = _job(members=2, episodes=1, sampling="device", antithetic=True)
    with pytest.raises(ValueError, match="--sampling device with antithetic needs a device "
                                         "that supports it"):
        Engine("gymnasium").run(_PlainSampler(NET, CoreConfig(), 2), job, np.arange(2))


def test_float_target_runs_the_same_members():
    """The float target's batched rollout equals a one-member-at-a-time run of the float64
    reference on the members sampled independently here from (gen_seed, member, rho): same
    members, same env seeds, same observation scaling, different arithmetic only."""
    from ec_hw.fixedpoint import normalize_obs
    from ec_hw.model.reference import RefState, ref_step

    job = _job(members=5, episodes=2)
    with InProcessEvaluator(BackendSpec(target="float", net=NET, core=CoreConfig(),
                                        slots=3)) as ev:  # 5 members: 2 chunks
        res = ev.evaluate(job)
    genomes = sample_members(job.gen_seed, job.member_ids, job.rho_q, GenomeLayout.of(NET))
    env = make_env(ENV)
    want = []
    for m in range(len(job.member_ids)):
        total = 0.0
        for e in range(job.env_seeds.shape[1]):
            st = RefState.zeros(1, NET.n_neurons)
            obs, _ = env.reset(seed=int(job.env_seeds[m, e]))
            for _ in range(job.max_episode_steps):
                z = normalize_obs(obs[None], job.obs_mean, job.obs_std)
                a = ref_step(NET, genomes[m:m + 1], st, z)[0]
                obs, r, term, trunc, _ = env.step(unit_to_action(a, env.action_space.low,
                                                                 env.action_space.high))
                total += r
                if term or trunc:
                    break
        want.append(total / job.env_seeds.shape[1])
    env.close()
    assert np.array_equal(res.returns, np.array(want))
    assert len(set(res.returns)) > 1  # the members differ: not one network five times


@pytest.mark.parametrize("n,parts", [(10, 3), (2, 2), (1, 2), (256, 2)])
def test_split_even_covers_every_member_once(n, parts):
    chunks = split_even(n, parts)
    assert np.array_equal(np.concatenate(chunks), np.arange(n))
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


def test_device_side_sampling_gives_the_same_members_as_host_sampling():
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=4)
    with InProcessEvaluator(spec) as ev:
        host = ev.evaluate(_job(members=6, episodes=1))
        dev = ev.evaluate(_job(members=6, episodes=1, sampling="device"))
    assert np.array_equal(host.returns, dev.returns)
    assert np.array_equal(host.obs_sum, dev.obs_sum)


def test_device_sampling_on_a_target_without_it_is_refused():
    job = _job(members=2, episodes=1, sampling="device")
    with InProcessEvaluator(BackendSpec(target="float", net=NET, core=CoreConfig(),
                                        slots=2)) as ev:
        with pytest.raises(ValueError, match="cannot sample members on the device"):
            ev.evaluate(job)


def test_common_starts_give_every_member_the_same_start_states():
    common, own = env_seeds(77, 5, 3, common=True), env_seeds(77, 5, 3)
    assert np.array_equal(common, np.broadcast_to(own[0], (5, 3)))  # the first member's row
    assert len(set(own[:, 0].tolist())) == 5 and len(set(common[0].tolist())) == 3
    assert not np.array_equal(env_seeds(78, 5, 3, common=True)[0], common[0])
    # Members with the same connections and common starts return the same on gymnasium.
    job = _job(members=4, episodes=2)
    twins = replace(job, member_ids=np.full(4, 10), env_seeds=env_seeds(77, 4, 2, common=True))
    res = Engine("gymnasium").run(ModelBackend(NET, CoreConfig(), 4), twins, np.arange(4))
    assert len(set(res.returns.tolist())) == 1
    apart = replace(twins, env_seeds=env_seeds(77, 4, 2))
    res = Engine("gymnasium").run(ModelBackend(NET, CoreConfig(), 4), apart, np.arange(4))
    assert len(set(res.returns.tolist())) > 1
