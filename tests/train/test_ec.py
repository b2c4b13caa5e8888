"""EC's update pieces: ranks, the natural gradient from seeds, Adam, entropy, obs statistics."""

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.packing import GenomeLayout, unpack_genome
from ec_hw.model.sampler import quantize_rho, sample_member_bits, sample_members
from ec_hw.train.checkpoint import RunState
from ec_hw.train.ec import (
    centered_ranks,
    deterministic_genome,
    gradient_snr,
    group_slices,
    mixed_weights,
    natural_gradient,
    natural_gradient_halves,
    nes_utilities,
    rho_diagnostics,
    rho_entropy,
    shape_fitness,
)
from ec_hw.train.envs import survival_bonus
from ec_hw.train.optim import Adam


def test_centered_ranks_match_the_authors_formula():
    x = np.array([3.0, -1.0, 10.0, 2.5, 2.0])  # distinct: ties are the next test
    w = centered_ranks(x)
    expected = np.argsort(np.argsort(x, kind="stable"), kind="stable") / (len(x) - 1) - 0.5
    assert np.array_equal(w, expected)
    assert w.sum() == pytest.approx(0.0)
    assert w.max() == 0.5 and w.min() == -0.5


def test_tied_members_share_their_mean_rank():
    # Ranks 0..4 of [-1, 2, 2, 3, 10]: the two 2.0s hold ranks 1 and 2 and both get 1.5.
    w = centered_ranks(np.array([3.0, -1.0, 10.0, 2.0, 2.0]))
    assert np.array_equal(w, (np.array([3.0, 0.0, 4.0, 1.5, 1.5]) / 4) - 0.5)
    assert w.sum() == pytest.approx(0.0)
    assert np.array_equal(centered_ranks(np.full(7, 4.25)), np.zeros(7))


def test_nes_utilities_follow_wierstra_et_al():
    # n = 6: ranks 1..3 (best first) get log(4) - log(k) before normalization, ranks 4..6
    # nothing; then every weight loses 1/6.
    x = np.array([0.5, 3.0, -2.0, 7.0, 1.0, 0.0])  # best first: 7, 3, 1, 0.5, 0, -2
    raw = np.maximum(0.0, np.log(4.0) - np.log(np.arange(1, 7)))
    by_rank = raw / raw.sum() - 1 / 6
    order = np.argsort(-x)
    expected = np.empty(6)
    expected[order] = by_rank
    u = nes_utilities(x)
    np.testing.assert_allclose(u, expected, rtol=0, atol=1e-15)
    assert u.sum() == pytest.approx(0.0, abs=1e-15)
    # the worse half shares one weight, whatever its order: only the better half pulls
    np.testing.assert_allclose(u[order[3:]], -1 / 6, rtol=0, atol=1e-15)
    assert np.all(np.diff(u[order[:4]]) < 0)
    assert np.array_equal(shape_fitness(x, "utility"), u)
    assert np.array_equal(shape_fitness(x, "ranks"), centered_ranks(x))
    with pytest.raises(ValueError, match="fitness shaping must be one of ranks, utility, mixed"):
        shape_fitness(x, "softmax")


def test_nes_utilities_share_ties_and_give_nothing_when_all_tie():
    x = np.array([2.0, 5.0, 2.0, 9.0, 5.0, 1.0, 0.0, 2.0])
    u = nes_utilities(x)
    plain = nes_utilities(x + np.arange(8) * 1e-9)  # the same order with the ties broken
    for v in np.unique(x):
        tie = x == v
        assert np.all(u[tie] == u[tie][0])
        assert u[tie].sum() == pytest.approx(plain[tie].sum(), abs=1e-15)
    assert u.sum() == pytest.approx(0.0, abs=1e-15)
    assert np.array_equal(nes_utilities(np.full(9, -3.5)), np.zeros(9))
    assert np.array_equal(nes_utilities(np.array([4.0])), np.zeros(1))


def test_mixed_weights_move_from_utilities_to_ranks_with_the_share_that_ran_to_the_limit():
    rng = np.random.default_rng(4)
    x = rng.normal(size=64)
    u, r = nes_utilities(x), centered_ranks(x)
    np.testing.assert_allclose(mixed_weights(x, 0.0), u / np.abs(u).sum(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(mixed_weights(x, 1.0), r / np.abs(r).sum(), rtol=0, atol=1e-15)
    for full in (0.25, 0.7):
        w = mixed_weights(x, full)
        np.testing.assert_allclose(w, (1 - full) * mixed_weights(x, 0.0)
                                   + full * mixed_weights(x, 1.0), rtol=0, atol=1e-15)
        assert w.sum() == pytest.approx(0.0, abs=1e-14)
        assert np.array_equal(np.argsort(w, kind="stable"), np.argsort(x, kind="stable"))
        assert np.array_equal(shape_fitness(x, "mixed", full), w)
    # the worse half is ordered only by the ranks' share
    worse = np.argsort(x)[:32]
    assert np.ptp(mixed_weights(x, 0.0)[worse]) == 0.0 < np.ptp(mixed_weights(x, 0.5)[worse])
    assert np.array_equal(mixed_weights(np.full(5, 2.0), 0.5), np.zeros(5))
    with pytest.raises(ValueError, match=r"full must be in \[0, 1\]"):
        mixed_weights(x, 1.5)


def test_the_episode_limit_is_the_run_cap_or_the_env_own_if_shorter():
    from ec_hw.train.run import episode_limit

    assert episode_limit("Hopper-v5", 1000) == 1000 and episode_limit("Hopper-v5", 300) == 300
    assert episode_limit("CartPole-v1", 1000) == 500  # gymnasium's TimeLimit for CartPole
    assert episode_limit("not-a-gym-id", 77) == 77     # the built-in classification tasks


def test_a_population_that_ties_everywhere_gives_no_gradient():
    # Index-ordered ties would turn the connections' sampling noise into a gradient that Adam
    # scales up to full steps; shared ranks give exactly zero.
    net = NetConfig(n_neurons=16, obs_dim=3, act_dim=2)
    layout = GenomeLayout.of(net)
    rho_q = quantize_rho(np.full(net.n_conn, 0.5))
    ids = np.arange(32, dtype=np.int64)
    g = natural_gradient(7, ids, centered_ranks(np.zeros(32)), rho_q, layout)
    assert not np.any(g)
    # ... where ranking the same tie by index moves rho.
    w_index = np.arange(32) / 31 - 0.5
    assert np.any(natural_gradient(7, ids, w_index, rho_q, layout))


def test_natural_gradient_equals_the_explicit_mean_over_sampled_bits():
    net = NetConfig(n_neurons=16, obs_dim=3, act_dim=2)
    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(1)
    rho_q = quantize_rho(rng.uniform(0, 1, layout.n_conn))
    ids = np.arange(7, 7 + 9)
    w = centered_ranks(rng.normal(size=len(ids)))
    got = natural_gradient(1234, ids, w, rho_q, layout, chunk=4)
    p = rho_q / 65536.0
    theta = np.array([sample_member_bits(1234, m, rho_q) for m in ids], dtype=np.float64)
    want = np.mean(w[:, None] * (theta - p[None]), axis=0)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_antithetic_natural_gradient_regenerates_the_mirrored_pairs():
    net = NetConfig(n_neurons=16, obs_dim=3, act_dim=2)
    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(2)
    rho_q = quantize_rho(rng.uniform(0, 1, layout.n_conn))
    ids = np.arange(10)
    w = centered_ranks(rng.normal(size=len(ids)))
    got = natural_gradient(55, ids, w, rho_q, layout, chunk=4, antithetic=True)
    theta = np.array([sample_member_bits(55, m, rho_q, antithetic=True) for m in ids], float)
    want = np.mean(w[:, None] * (theta - rho_q[None] / 65536.0), axis=0)
    np.testing.assert_allclose(got, want, atol=1e-12)
    # mirrored pairs are not the plain members
    assert not np.allclose(got, natural_gradient(55, ids, w, rho_q, layout))


@pytest.mark.parametrize("n", [10, 12, 7])
def test_gradient_from_halves_equals_the_whole_population_gradient(n):
    layout = GenomeLayout(16, 6, 2)
    rng = np.random.default_rng(n)
    rho_q = quantize_rho(rng.uniform(0, 1, layout.n_conn))
    w = centered_ranks(rng.normal(size=n))
    ids = np.arange(n)
    g, snr = natural_gradient_halves(8, ids, w, rho_q, layout, antithetic=n % 2 == 0, chunk=3)
    # bit-identical, so a run's rho does not depend on whether diagnostics are computed
    assert np.array_equal(g, natural_gradient(8, ids, w, rho_q, layout, chunk=3,
                                              antithetic=n % 2 == 0))
    assert set(snr) == {"snr_in", "snr_rec", "snr_out"}


def test_gradient_snr_separates_signal_from_noise():
    layout = GenomeLayout(64, 22, 3)
    rng = np.random.default_rng(0)
    s = np.zeros(layout.n_conn)
    sl = group_slices(layout)
    s[sl["out"]] = 1.0  # signal only in the output group
    na, nb = rng.normal(0, 0.5, (2, layout.n_conn))
    snr = gradient_snr(s + na, s + nb, layout)
    # full-population noise std per connection is 0.5 / sqrt(2): snr ~ 2.8 on the output group
    assert 2.0 < snr["snr_out"] < 4.0
    # pure noise reads about sqrt(2 |z|) / n**0.25 (z ~ N(0, 1)): below 0.4 at these n
    assert snr["snr_in"] < 0.4 and snr["snr_rec"] < 0.4


def test_rho_diagnostics_per_group():
    layout = GenomeLayout(16, 6, 2)
    rho = np.full(layout.n_conn, 0.5)
    sl = group_slices(layout)
    rho[sl["rec"]] = 1e-3
    rho[sl["out"]][::2] = 1 - 1e-3
    d = rho_diagnostics(rho, layout, 1e-3)
    assert d["H_in"] == pytest.approx(1.0) and d["clip_in"] == 0.0
    assert d["H_rec"] < 0.02 and d["clip_rec"] == 1.0
    assert d["clip_out"] == pytest.approx(0.5)


@pytest.mark.parametrize("keep,info,taken", [
    (True, {"reward_survive": 1.0, "reward_forward": 2.0}, 0.0),
    (False, {"reward_survive": 1.0}, 1.0),
    (None, {"reward_survive": 1.0}, 0.0),  # balancing: surviving is the task
    (None, {"reward_survive": 1.0, "reward_forward": 0.3}, 1.0),  # locomotion
    (None, {"reward_forward": 0.3}, 0.0),  # no bonus to take
])
def test_survival_bonus_handling(keep, info, taken):
    assert survival_bonus(info, keep) == taken


def test_sampled_members_follow_the_flat_genome_order():
    net = NetConfig(n_neurons=16, obs_dim=3, act_dim=2)
    layout = GenomeLayout.of(net)
    rho_q = quantize_rho(np.linspace(0, 1, layout.n_conn))
    packed = sample_members(99, np.array([5]), rho_q, layout)
    assert np.array_equal(unpack_genome(packed, layout)[0], sample_member_bits(99, 5, rho_q))


def test_adam_first_step_moves_each_parameter_by_lr_in_the_gradient_direction():
    opt = Adam.zeros(3, lr=0.15)
    out = opt.step(np.array([0.5, 0.5, 0.5]), np.array([2.0, -0.5, 0.0]))
    np.testing.assert_allclose(out, [0.65, 0.35, 0.5], atol=1e-6)


def test_adamw_decays_toward_zero():
    opt = Adam.zeros(1, lr=0.1, weight_decay=0.1)
    assert opt.step(np.array([2.0]), np.array([0.0]))[0] == pytest.approx(2.0 - 0.1 * 0.1 * 2.0)


def test_deterministic_network_and_entropy():
    layout = GenomeLayout(16, 6, 2)
    rho = np.full(layout.n_conn, 0.2)
    rho[::3] = 0.9
    bits = unpack_genome(deterministic_genome(rho, layout), layout)
    assert np.array_equal(bits, rho > 0.5)
    assert rho_entropy(np.full(10, 0.5)) == pytest.approx(1.0)
    assert rho_entropy(np.full(10, 1e-3)) < 0.02


def test_observation_statistics_merge_equals_the_pooled_statistics():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3, 2, size=(n, 4)) for n in (5, 100, 37)]
    st = RunState(generation=0, params=np.zeros(1), adam=Adam.zeros(1), obs_count=0.0,
                  obs_mean=np.zeros(4), obs_m2=np.zeros(4))
    for b in batches:
        st.update_obs_stats(len(b), b.sum(0), (b * b).sum(0))
    allx = np.concatenate(batches)
    np.testing.assert_allclose(st.obs_mean, allx.mean(0), rtol=1e-10)
    np.testing.assert_allclose(st.obs_std, allx.std(0), rtol=1e-8)


def test_mode_flips_is_the_members_mean_distance_from_the_deployed_network():
    from ec_hw.train.ec import deterministic_genome, mode_flips

    layout = GenomeLayout(16, 6, 2)
    rng = np.random.default_rng(5)
    rho = np.clip(rng.beta(0.3, 0.3, layout.n_conn), 1e-3, 1 - 1e-3)
    rho[:5] = [0.5, 0.2, 0.8, 1e-3, 1 - 1e-3]
    members = sample_members(123, np.arange(2000), quantize_rho(rho), layout, False)
    diff = members ^ deterministic_genome(rho, layout)[None]
    flips = np.unpackbits(diff.view(np.uint8), axis=1).sum(axis=1)
    want = mode_flips(rho)
    assert want == pytest.approx(np.minimum(rho, 1 - rho).sum())
    # mean of 2000 members within 4 standard errors of the expectation
    assert abs(flips.mean() - want) < 4 * flips.std() / np.sqrt(2000)
    assert mode_flips(np.array([0.0, 1.0])) == 0.0 and mode_flips(np.full(4, 0.5)) == 2.0
