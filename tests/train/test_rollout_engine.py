"""The engine's fast paths give the results of the plain ones: EnvPool's direct calls equal its
gymnasium API, the EnvPool engine equals a one-member-at-a-time restatement (episodes ending
at step 1, inactive slots, refilled slots), and the golden model's serial steps equal its
parallel ones."""

import numba
import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import action_to_unit, quantize_obs
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import quantize_rho, sample_members
from ec_hw.train.backends import ModelBackend
from ec_hw.train.envs import (
    EnvPoolBatch,
    envpool_start_is_rest_point,
    envpool_unsuitable,
    probe_env,
    resolve_env_backend,
    unit_to_action,
)
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.rollout import Engine
from ec_hw.train.run import env_seeds

KEYS = ("returns", "fitness", "steps", "obs_count", "obs_sum", "obs_sumsq")
needs_envpool = pytest.mark.skipif(resolve_env_backend("Hopper-v5", "auto") != "envpool",
                                   reason="envpool is not installed")


def _pair(env_id, n):
    direct, public = EnvPoolBatch(env_id, n, 2), EnvPoolBatch(env_id, n, 2)
    assert direct._direct is not None  # this EnvPool has the direct calls
    public._direct = None
    return direct, public


@needs_envpool
@pytest.mark.parametrize("env_id", ["Hopper-v5", "InvertedPendulum-v5"])
def test_envpool_direct_calls_equal_the_gymnasium_api(env_id):
    direct, public = _pair(env_id, 8)
    try:
        rng = np.random.default_rng(0)
        slots = np.arange(8)
        a, b = direct.reset(slots, slots), public.reset(slots, slots)
        assert a.dtype == b.dtype == np.float64 and np.array_equal(a, b)
        ends = 0
        for t in range(250):
            live = np.sort(rng.choice(8, size=int(rng.integers(1, 9)), replace=False))
            act = rng.uniform(-1, 1, (live.size, probe_env(env_id).act_dim))
            ra, rb = direct.step(live, act), public.step(live, act)
            for x, y in zip(ra, rb, strict=True):
                assert x.dtype == y.dtype and x.shape == y.shape == (live.size, *x.shape[1:])
                assert np.array_equal(x, y), t
            ended = live[ra[2] | ra[3]]
            ends += ended.size
            if ended.size:
                assert np.array_equal(direct.reset(ended, ended), public.reset(ended, ended))
        assert ends > 5  # terminations were compared, not only running steps
    finally:
        direct.close()
        public.close()


@needs_envpool
def test_envpool_send_and_recv_alternate():
    b = EnvPoolBatch("InvertedPendulum-v5", 2, 1)
    try:
        b.reset(np.arange(2), np.zeros(2, np.int64))
        with pytest.raises(RuntimeError, match="nothing was sent"):
            b.recv()
        b.send(np.array([1]), np.zeros((1, 1)))
        with pytest.raises(RuntimeError, match="previous batch was not received"):
            b.send(np.array([0]), np.zeros((1, 1)))
        obs, rew, term, trunc, surv = b.recv()
        assert obs.shape == (1, 4) and rew.shape == term.shape == trunc.shape == (1,)
        assert np.array_equal(b.step(np.array([0]), np.zeros((1, 1)))[0].shape, (1, 4))
    finally:
        b.close()


NET = NetConfig(n_neurons=64, obs_dim=11, act_dim=3)


def _job(members, cap, episodes=1, **kw):
    lay = GenomeLayout.of(NET)
    rng = np.random.default_rng(11)
    return EvalJob(env_id="Hopper-v5", net=NET, obs_mean=rng.normal(0, 0.1, 11),
                   obs_std=np.full(11, 0.5), env_seeds=env_seeds(9, members, episodes),
                   member_ids=np.arange(members), gen_seed=9,
                   rho_q=quantize_rho(rng.uniform(0.1, 0.9, lay.n_conn)),
                   max_episode_steps=cap, **kw)


def _restated(job):
    """One member, one EnvPool env, its gymnasium API, FixedNet.step_one; the statistics
    summed in the same order as the engine sums them."""
    fx = FixedNet(NET, CoreConfig())
    spec = probe_env(job.env_id)
    genomes = sample_members(job.gen_seed, job.member_ids, job.rho_q, fx.layout)
    env = EnvPoolBatch(job.env_id, 1, 1)
    env._direct = None
    m = len(job.member_ids)
    out = {k: np.zeros(m) for k in ("returns", "fitness")}
    out.update(steps=np.zeros(m, np.int64), obs_count=np.zeros(m, np.int64),
               obs_sum=np.zeros((m, 11)), obs_sumsq=np.zeros((m, 11)))
    one = np.zeros(1, np.int64)
    for i in range(m):
        for _ in range(job.env_seeds.shape[1]):
            st = NetState.zeros(1, fx.layout)
            obs = env.reset(one, one)[0]
            for _ in range(job.max_episode_steps):
                x = quantize_obs(obs[None], job.obs_mean, job.obs_std, fx.fp)[0]
                a, _ = fx.step_one(x, genomes[i], st)
                act = unit_to_action(action_to_unit(a, fx.fp), spec.act_low, spec.act_high)
                out["obs_count"][i] += 1
                out["obs_sum"][i] += obs
                out["obs_sumsq"][i] += obs * obs
                o, r, term, trunc, surv = env.step(one, act[None])
                out["returns"][i] += r[0]
                out["fitness"][i] += r[0] - surv[0]
                out["steps"][i] += 1
                obs = o[0]
                if term[0] or trunc[0]:
                    break
    env.close()
    n_ep = job.env_seeds.shape[1]
    out["returns"] /= n_ep
    out["fitness"] /= n_ep
    return out


@needs_envpool
@pytest.mark.parametrize("cap,episodes", [(1, 2), (40, 1), (1000, 2)])
def test_envpool_engine_equals_one_member_at_a_time(cap, episodes):
    """Cap 1: every episode ends at its first step; slots 3 < 5 members refill slots, 8 > 5
    leaves slots inactive from the start; Hopper's random networks fall after 20-80 steps, so
    cap 1000 ends episodes by termination at different steps."""
    job = _job(5, cap, episodes, healthy_reward=False)
    want = _restated(job)
    if cap > 1:
        assert len(set(want["steps"].tolist())) > 2  # episodes of different lengths
    for slots, threads in ((5, 2), (3, 1), (8, 2)):
        res = Engine("envpool", threads).run(ModelBackend(NET, CoreConfig(), slots), job,
                                             np.arange(5))
        for k in KEYS:
            assert np.array_equal(getattr(res, k), want[k]), (k, slots)
    assert np.array_equal(res.steps, res.obs_count)


def test_model_backend_serial_steps_equal_parallel_steps():
    """A step with at most ``serial_max`` active members runs on one thread; its actions and
    network states equal those of the parallel call, and Numba's thread count comes back."""
    net = NetConfig(obs_dim=11, act_dim=3)  # Hopper size
    lay = GenomeLayout.of(net)
    g = sample_members(3, np.arange(16), quantize_rho(np.full(lay.n_conn, 0.4)), lay)
    rng = np.random.default_rng(2)
    x = rng.integers(-60, 60, (16, 22)).astype(np.int32)
    threads = numba.get_num_threads()
    for n_active in (1, ModelBackend.serial_max, ModelBackend.serial_max + 1, 16):
        active = np.zeros(16, bool)
        active[rng.choice(16, n_active, replace=False)] = True
        serial, parallel = (ModelBackend(net, CoreConfig(), 16) for _ in range(2))
        serial.load(g)
        parallel.load(g)
        parallel.serial_max = 0
        for _ in range(5):
            assert np.array_equal(serial.step(x, active), parallel.step(x, active))
            assert numba.get_num_threads() == threads
        for f in ("v", "i_syn", "rate", "spk"):
            assert np.array_equal(getattr(serial._state, f), getattr(parallel._state, f)), f


@needs_envpool
def test_auto_keeps_envs_whose_start_noise_is_part_of_the_task_on_gymnasium():
    # Swimmer's EnvPool start is exactly zero and stays zero under zero action: zero input,
    # no spikes, zero action, so every member ties (the next test). Hopper falls, the
    # pendulum tips over, the cheetah settles.
    assert envpool_start_is_rest_point("Swimmer-v5")
    for env_id in ("Hopper-v5", "InvertedPendulum-v5", "HalfCheetah-v5"):
        assert not envpool_start_is_rest_point(env_id)
    # Start noise: narrow (Hopper, Walker2d 0.005; Humanoid, InvertedPendulum 0.01) keeps
    # EnvPool; wide (0.1) does not, whatever the start looks like.
    for env_id in ("Hopper-v5", "Walker2d-v5", "Humanoid-v5", "InvertedPendulum-v5"):
        assert envpool_unsuitable(env_id) is None
        assert resolve_env_backend(env_id, "auto") == "envpool"
    for env_id in ("InvertedDoublePendulum-v5", "HalfCheetah-v5", "Ant-v5", "Swimmer-v5"):
        assert "start noise (0.1)" in envpool_unsuitable(env_id)
        assert resolve_env_backend(env_id, "auto") == "gymnasium"
        assert resolve_env_backend(env_id, "envpool") == "envpool"  # asked for: honoured


@needs_envpool
def test_a_rest_point_start_ties_every_member_on_envpool_but_not_on_gymnasium():
    net = NetConfig(n_neurons=64, obs_dim=8, act_dim=2)
    rng = np.random.default_rng(5)
    job = EvalJob(env_id="Swimmer-v5", net=net, obs_mean=np.zeros(8), obs_std=np.ones(8),
                  env_seeds=env_seeds(3, 6, 1), member_ids=np.arange(6), gen_seed=3,
                  rho_q=quantize_rho(rng.uniform(0.1, 0.9, GenomeLayout.of(net).n_conn)),
                  max_episode_steps=60)
    ret = {kind: Engine(kind, 1).run(ModelBackend(net, CoreConfig(), 6), job,
                                     np.arange(6)).returns
           for kind in ("envpool", "gymnasium")}
    assert np.array_equal(ret["envpool"], np.zeros(6))
    assert len(set(ret["gymnasium"].tolist())) == 6
