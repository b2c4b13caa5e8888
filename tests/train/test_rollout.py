"""Rollouts: a member's result depends on its genome and env seeds only, on every evaluator."""

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import action_to_unit, quantize_obs
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import quantize_rho, sample_members
from ec_hw.train.backends import BackendSpec
from ec_hw.train.envs import make_env, unit_to_action
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.local import InProcessEvaluator, ProcessEvaluator, split_even
from ec_hw.train.run import env_seeds

ENV = "InvertedPendulum-v5"
NET = NetConfig(n_neurons=32, obs_dim=4, act_dim=1)


def _job(members=6, episodes=2, **kw):
    lay = GenomeLayout.of(NET)
    rng = np.random.default_rng(3)
    return EvalJob(env_id=ENV, net=NET, obs_mean=np.zeros(4), obs_std=np.full(4, 0.3),
                   env_seeds=env_seeds(77, members, episodes),
                   member_ids=np.arange(10, 10 + members), gen_seed=77,
                   rho_q=quantize_rho(rng.uniform(0.2, 0.8, lay.n_conn)),
                   max_episode_steps=60, **kw)


def _manual_returns(job):
    """Straight-line restatement: one member, one env, FixedNet.step_one, no batching."""
    fx = FixedNet(NET, CoreConfig())
    genomes = sample_members(job.gen_seed, job.member_ids, job.rho_q, fx.layout)
    env = make_env(ENV)
    out = []
    for m in range(len(job.member_ids)):
        total = 0.0
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
                if term or trunc:
                    break
        out.append(total / job.env_seeds.shape[1])
    env.close()
    return np.array(out)


def test_batched_rollout_equals_one_member_at_a_time():
    job = _job()
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=4)  # 6 members: 2 chunks
    with InProcessEvaluator(spec) as ev:
        res = ev.evaluate(job)
    assert np.array_equal(res.returns, _manual_returns(job))
    assert res.returns.shape == (6,) and np.all(res.steps >= 2)
    assert np.array_equal(res.obs_count, res.steps)  # one observation fed per step


def test_worker_processes_give_identical_results():
    job = _job(members=5)
    spec = BackendSpec(target="model", net=NET, core=CoreConfig(), slots=8)
    with InProcessEvaluator(spec) as ev:
        one = ev.evaluate(job)
    with ProcessEvaluator(spec, workers=2) as ev:
        two = ev.evaluate(job)
    for k in ("returns", "fitness", "steps", "obs_count", "obs_sum", "obs_sumsq"):
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


def test_device_sampling_of_antithetic_pairs_is_refused():
    with InProcessEvaluator(BackendSpec(target="model", net=NET, core=CoreConfig(),
                                        slots=2)) as ev:
        with pytest.raises(ValueError, match="--sampling device with antithetic needs a "
                                             "device that supports it"):
            ev.evaluate(_job(members=2, episodes=1, sampling="device", antithetic=True))


def test_float_target_runs_the_same_members():
    job = _job(members=3, episodes=1)
    with InProcessEvaluator(BackendSpec(target="float", net=NET, core=CoreConfig(),
                                        slots=3)) as ev:
        res = ev.evaluate(job)
    assert np.all(res.returns > 0)


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
