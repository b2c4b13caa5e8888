"""EC on a masked (structured) network: masked rho stays exactly 0 through ask/tell, its
gradient is exactly 0, and the diagnostics count live connections only."""

import numpy as np

from ec_hw.config import NetConfig, TrainConfig
from ec_hw.model.sampler import generation_seed, quantize_rho
from ec_hw.topology import connectivity_mask, initial_rho
from ec_hw.train.ec import natural_gradient, rho_entropy
from ec_hw.train.evaluator import EvalJob
from ec_hw.train.run import initial_state
from ec_hw.train.strategy import make_strategy

NET = NetConfig(n_neurons=64, obs_dim=64, act_dim=10, topology="mixer")
CFG = TrainConfig(env_id="digits", pop_size=32, seed=5, lr=0.3)


def _job(state, strategy, gen):
    gs = generation_seed(CFG.seed, gen)
    return EvalJob(env_id="digits", net=NET, obs_mean=np.zeros(64), obs_std=np.ones(64),
                   env_seeds=np.zeros((CFG.pop_size, 1), np.int64),
                   member_ids=np.arange(CFG.pop_size), **strategy.ask(state, gs))


def test_masked_rho_stays_zero_and_its_gradient_is_zero():
    ec = make_strategy(CFG, NET)
    mask = connectivity_mask(NET)
    st = initial_state(CFG, NET)
    assert np.array_equal(st.params, initial_rho(NET, CFG.seed))
    rng = np.random.default_rng(0)
    for gen in range(4):
        job = _job(st, ec, gen)
        assert (job.rho_q[~mask] == 0).all()
        fitness = rng.standard_normal(CFG.pop_size)
        w = np.linspace(-0.5, 0.5, CFG.pop_size)[np.argsort(np.argsort(fitness))]
        grad = natural_gradient(job.gen_seed, job.member_ids, w, job.rho_q, ec.layout)
        assert (grad[~mask] == 0).all() and np.abs(grad[mask]).max() > 0
        before = st.params.copy()
        ec.tell(st, job, fitness)
        assert (st.params[~mask] == 0).all()
        assert not np.array_equal(st.params[mask], before[mask])
        live = st.params[mask]
        assert live.min() >= CFG.eps and live.max() <= 1 - CFG.eps
    m = ec.metrics(st)
    assert m["rho_entropy"] == rho_entropy(st.params[mask])
    assert 0 < m["H_rec"] <= 1 and m["clip_rec"] < 1  # masked zeros would read as clipped
    deployed = ec.deployed(st)
    assert quantize_rho(st.params).shape == (NET.n_conn,) and deployed.dtype == np.uint64
