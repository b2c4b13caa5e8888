"""The strategies behind the trainer: ask describes members, tell updates, selected once."""

import numpy as np
import pytest

from ec_hw.config import NetConfig, TrainConfig
from ec_hw.train.es import antithetic_gradient
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.rollout import es_noise, job_genomes
from ec_hw.train.run import initial_state
from ec_hw.train.strategy import EC, STRATEGIES, OpenES, make_strategy, scheduled_lr

NET = NetConfig(n_neurons=16, obs_dim=3, act_dim=2)


def _job(members: dict, n: int) -> EvalJob:
    return EvalJob(env_id="InvertedPendulum-v5", net=NET, obs_mean=np.zeros(3),
                   obs_std=np.ones(3), env_seeds=np.zeros((n, 1), np.int64),
                   member_ids=np.arange(n), **members)


def test_antithetic_gradient_is_the_openai_es_estimate_of_the_asked_members():
    cfg = TrainConfig(algo="es", pop_size=6, sigma=0.3)
    es = make_strategy(cfg, NET)
    st = initial_state(cfg, NET)
    job = _job(es.ask(st, 77), 6)
    x = job_genomes(job, np.arange(6))  # what the evaluators ran
    w = np.array([0.5, -0.5, 0.1, 0.3, -0.1, -0.3])
    want = np.mean(w[:, None] * (x - st.params[None]), axis=0) / cfg.sigma ** 2
    np.testing.assert_allclose(antithetic_gradient(77, np.arange(6), w, es.n_params, 0.3), want,
                               atol=1e-12)
    # member order does not matter, and a half pair counts alone
    perm = np.array([3, 0, 5, 1])
    want = sum(w[i] * (1 if i % 2 == 0 else -1) * es_noise(77, i // 2, es.n_params)
               for i in perm) / (4 * 0.3)
    np.testing.assert_allclose(antithetic_gradient(77, perm, w[perm], es.n_params, 0.3), want,
                               atol=1e-12)


@pytest.mark.parametrize("algo,cls", [("ec", EC), ("es", OpenES)])
def test_one_strategy_per_algo_with_its_state(algo, cls):
    cfg = TrainConfig(algo=algo, pop_size=4)
    s = make_strategy(cfg, NET)
    assert type(s) is cls and STRATEGIES[algo] is cls
    st = initial_state(cfg, NET)
    assert st.params.shape == (s.n_params,) == st.adam.m.shape
    assert st.adam.weight_decay == (cfg.weight_decay if algo == "es" else 0.0)
    a, b = s.ask(st, 5), s.ask(st, 5)
    for k in a:  # ask is a pure function of (state, generation seed)
        assert np.array_equal(a[k], b[k]), k
    before = st.params.copy()
    s.tell(st, _job(a, 4), np.array([1.0, 3.0, 2.0, 0.0]))
    assert st.adam.t == 1 and not np.array_equal(st.params, before)
    if algo == "ec":
        assert st.params.min() >= cfg.eps and st.params.max() <= 1 - cfg.eps
    ec_keys = {"rho_entropy", "mode_flips", "lr", "update_s",
               *(f"{k}_{g}" for k in ("H", "clip", "snr") for g in ("in", "rec", "out"))}
    assert set(s.metrics(st)) == (ec_keys if algo == "ec" else {"param_norm", "lr"})


@pytest.mark.parametrize("algo,shaping,want", [
    ("ec", None, "utility"), ("ec", "ranks", "ranks"), ("es", None, "ranks"),
    ("es", "utility", "utility"), ("ec", "mixed", "mixed")])
def test_each_algo_shapes_fitness_by_its_default_or_the_flag(algo, shaping, want, monkeypatch):
    # EC's default weights are NES utilities, the ES baselines' centered ranks (OpenAI-ES).
    import ec_hw.train.ec as ec_mod

    seen = []
    real = ec_mod.shape_fitness
    monkeypatch.setattr(ec_mod, "shape_fitness",
                        lambda x, kind="ranks", full=0.0: seen.append(kind) or real(x, kind, full))
    cfg = TrainConfig(env_id="InvertedPendulum-v5", algo=algo, pop_size=8,
                      fitness_shaping=shaping)
    strat = make_strategy(cfg, NET)
    state = initial_state(cfg, NET)
    job = _job(strat.ask(state, 99), 8)
    before = state.params.copy()
    strat.tell(state, job, np.arange(8.0))
    assert seen == [want] and not np.array_equal(state.params, before)


def test_the_trainer_tells_the_share_of_members_that_reached_the_time_limit(tmp_path, monkeypatch):
    # The mixed shaping needs it: members of a 5-step InvertedPendulum all run to the limit
    # (its poles do not fall within 5 steps); with 200 steps a random network's pole falls first.
    from ec_hw.config import CoreConfig
    from ec_hw.train.backends import BackendSpec
    from ec_hw.train.local import InProcessEvaluator
    from ec_hw.train.run import Trainer

    told = []
    real = EC.tell
    monkeypatch.setattr(EC, "tell", lambda self, st, job, fit, full=0.0:
                        told.append(full) or real(self, st, job, fit, full))
    net = NetConfig(n_neurons=16, obs_dim=4, act_dim=1)
    spec = BackendSpec(target="model", net=net, core=CoreConfig(), slots=8)
    rows = []
    for steps in (5, 200):
        cfg = TrainConfig(env_id="InvertedPendulum-v5", pop_size=8, eval_episodes=1, seed=3,
                          max_episode_steps=steps, fitness_shaping="mixed")
        (tmp_path / str(steps)).mkdir()
        with InProcessEvaluator(spec) as ev:
            rows.append(Trainer(cfg, net, CoreConfig(), tmp_path / str(steps), ev).step())
    assert told == [rows[0]["full"], rows[1]["full"]]
    assert rows[0]["full"] == 1.0 and rows[0]["pop_env_steps"] == 8 * 5
    assert rows[1]["full"] < 1.0 and rows[1]["pop_env_steps"] < 8 * 200


def test_the_learning_rate_is_constant_then_decays_as_one_over_the_root_of_the_update():
    assert [scheduled_lr(0.15, None, g) for g in (1, 10, 10**6)] == [0.15] * 3
    assert [scheduled_lr(0.15, 4, g) for g in (1, 2, 3, 4)] == [0.15] * 4
    assert scheduled_lr(0.15, 4, 16) == pytest.approx(0.075, abs=1e-15)
    assert scheduled_lr(0.15, 4, 400) == pytest.approx(0.015, abs=1e-15)
    lrs = [scheduled_lr(0.2, 3, g) for g in range(1, 50)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False)) and lrs[3] < 0.2


@pytest.mark.parametrize("algo", ["ec", "es"])
def test_a_decaying_run_takes_the_constant_runs_steps_until_the_decay_then_scaled_ones(algo):
    # Same members, same fitness: identical updates for `start` generations, then steps at
    # the scheduled rate.
    start, n = 2, 5
    runs = {}
    for decay in (None, start):
        cfg = TrainConfig(algo=algo, pop_size=8, lr_decay_start=decay, eps=1e-9)
        strat = make_strategy(cfg, NET)
        st = initial_state(cfg, NET)
        path, lrs = [st.params.copy()], []
        for g in range(n):
            job = _job(strat.ask(st, 1000 + g), 8)
            strat.tell(st, job, np.sin(np.arange(8.0) * (g + 1)))
            path.append(st.params.copy())
            lrs.append(strat.metrics(st)["lr"])
        runs[decay] = path, lrs, st
    (const, const_lr, _), (dec, dec_lr, st) = runs[None], runs[start]
    assert const_lr == [0.15] * n
    assert dec_lr == [scheduled_lr(0.15, start, g) for g in range(1, n + 1)]
    for g in range(start + 1):
        assert np.array_equal(dec[g], const[g])
    # the first decayed update starts from the same params and moments with the same gradient:
    # it is the constant run's step scaled by the rate (weight decay included, as in optax)
    scale = dec_lr[start] / 0.15
    assert scale < 1
    np.testing.assert_allclose(dec[start + 1] - dec[start],
                               scale * (const[start + 1] - const[start]), rtol=1e-12, atol=1e-15)
    assert st.adam.t == n and st.adam.lr == dec_lr[-1]


def test_a_resumed_decaying_run_continues_on_the_same_schedule(tmp_path):
    from ec_hw.cli import main
    from ec_hw.train.checkpoint import read_metrics

    small = ["--env", "InvertedPendulum-v5", "--pop", "16", "--neurons", "16", "--workers", "1",
             "--eval-episodes", "1", "--max-episode-steps", "50", "--quiet", "--seed", "4",
             "--lr-decay-start", "2"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", *small, "--generations", "6", "--out", str(one)]) == 0
    assert main(["train", *small, "--generations", "3", "--out", str(two)]) == 0
    assert main(["train", "--resume", str(two), "--generations", "6"]) == 0
    a, b = read_metrics(one), read_metrics(two)
    assert [r["lr"] for r in a] == [scheduled_lr(0.15, 2, g) for g in range(1, 7)]
    for ra, rb in zip(a, b, strict=True):
        assert (ra["lr"], ra["mean_return"], ra["rho_entropy"]) == \
            (rb["lr"], rb["mean_return"], rb["rho_entropy"])
