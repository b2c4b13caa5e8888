"""The compiled golden model equals the plain-Python restatement of the spec, bit for bit.

Compared after every env step: actions, the spike vector of every substep (single-member
path), and the whole state (v, i_syn, rate, spike words). The restatement (``spec.py``) checks
every intermediate against its declared width as it goes, so each test here is also a bounds
test; the extreme-stimulus tests additionally assert that the bound in question was reached.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive, quantize_obs
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout, pack_genome

from .helpers import (
    assert_state_equal,
    drive_all,
    full_trace_words,
    layout_bits,
    one_population_drives,
    random_obs,
    run_single,
)
from .spec import Extremes, SpecConstants, SpecNet, spec_quantize_obs


# -- constants -------------------------------------------------------------------------------
@pytest.mark.parametrize("net,core", [
    (NetConfig(), CoreConfig()),
    (NetConfig(n_neurons=16, exc_fraction=0.25, obs_dim=3, act_dim=1, dt=0.25, tau_syn=3.0),
     CoreConfig(frac_bits=10, decay_bits=12, state_bits=20, rout_bits=12, action_frac_bits=8)),
    (NetConfig(n_neurons=200, exc_fraction=0.8, obs_dim=17, act_dim=6, substeps=8),
     CoreConfig(frac_bits=14, state_bits=25, decay_bits=17, rout_bits=17)),
])
def test_derive_constants_equal_the_spec_formulas(net, core):
    fp = derive(net, core)
    c = SpecConstants(net, core)
    assert (fp.a_syn, fp.b_m, fp.b_out) == (c.A_SYN, c.B_M, c.B_OUT)
    assert (fp.r_q, fp.vth_q, fp.rate_q, fp.rout_q) == (c.R_Q, c.VTH_Q, c.RATE_Q, c.ROUT_Q)
    assert (fp.out_shift, fp.action_max, fp.acc_bits) == (c.OUT_SHIFT, c.ACTION_MAX, c.ACC_BITS)
    assert fp.isyn_bound == pytest.approx(c.ISYN_BOUND, rel=1e-12)
    assert fp.isyn_bound < 2 ** (core.state_bits - 1)


def test_spec_table_defaults():
    c = SpecConstants(NetConfig(), CoreConfig())
    assert (c.A_SYN, c.B_M, c.B_OUT, c.R_Q, c.VTH_Q, c.RATE_Q, c.ROUT_Q) == (
        59299, 3196, 3196, 1024, 4096, 8192, 28963)
    assert 1.37e6 < c.ISYN_BOUND < 1.39e6  # "1.38e6 < 8.39e6"


# -- random networks, single member ----------------------------------------------------------
CASES = [
    # (n, exc_fraction, obs_dim, act_dim, substeps, density, obs scale)
    (16, 0.5, 3, 1, 5, 0.5, 1.0),
    (64, 0.75, 11, 3, 33, 0.5, 1.0),
    (100, 0.3, 7, 2, 10, 0.2, 2.0),
    (130, 0.5, 4, 5, 12, 0.8, 0.5),
    (200, 0.8, 17, 6, 8, 0.5, 1.0),
    (256, 0.5, 11, 3, 33, 0.5, 1.0),
]


@pytest.mark.parametrize("case", CASES, ids=[f"N{c[0]}-e{c[1]}-D{c[2]}-A{c[3]}-T{c[4]}"
                                            for c in CASES])
def test_core_env_step_equals_spec_on_random_networks(case):
    n, exc, d, a, t, density, scale = case
    net = NetConfig(n_neurons=n, exc_fraction=exc, obs_dim=d, act_dim=a, substeps=t)
    core = CoreConfig()
    rng = np.random.default_rng(1000 + n)
    steps = 4 if n >= 200 else 8
    bits = rng.random(GenomeLayout.of(net).n_conn) < density
    spec = run_single(net, core, bits, random_obs(rng, net, core, steps, scale))
    # The case exercised the dynamics: neurons both fired and stayed silent, actions moved.
    fired = spec.ext.count.get("spikes", 0)
    assert 0 < fired < spec.ext.count["neuron-substeps"]
    assert spec.ext.lo["action"] < spec.ext.hi["action"]


@pytest.mark.parametrize("core", [
    CoreConfig(frac_bits=8, state_bits=18, decay_bits=12, obs_bits=14, rout_bits=10,
               action_frac_bits=6),
    CoreConfig(frac_bits=16, state_bits=25, decay_bits=17, obs_bits=20, rout_bits=17,
               action_frac_bits=20),
], ids=["narrow", "wide"])
def test_core_env_step_equals_spec_at_other_widths(core):
    net = NetConfig(n_neurons=64, exc_fraction=0.5, obs_dim=5, act_dim=2, substeps=9)
    rng = np.random.default_rng(7)
    bits = rng.random(GenomeLayout.of(net).n_conn) < 0.5
    run_single(net, core, bits, random_obs(rng, net, core, 6))


# -- batched path ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [64, 130])
def test_net_step_batched_equals_spec_per_member(n):
    """Distinct members per batch slot, random active masks and resets (aliasing check).

    More members than threads, each with its own genome and observations: a scratch buffer
    hoisted out of the ``prange`` body and shared between threads would mix members up.
    """
    net = NetConfig(n_neurons=n, exc_fraction=0.6, obs_dim=6, act_dim=3, substeps=7)
    core = CoreConfig()
    fp = derive(net, core)
    lay = GenomeLayout.of(net)
    rng = np.random.default_rng(n)
    batch, steps = 11, 8
    bits = rng.random((batch, lay.n_conn)) < rng.uniform(0.2, 0.8, size=(batch, 1))
    genomes = pack_genome(bits, lay)
    specs = [SpecNet(net, core, bits[b]) for b in range(batch)]
    state = NetState.zeros(batch, lay)
    mean, std = np.zeros(net.obs_dim), np.ones(net.obs_dim)
    for t in range(steps):
        x_q = quantize_obs(rng.normal(scale=1.5, size=(batch, net.obs_dim)), mean, std, fp)
        active = rng.random(batch) < 0.7
        if t == 0:
            active[:] = True
        if t == 4:
            reset = rng.random(batch) < 0.5
            state.reset(reset)
            for b in np.flatnonzero(reset):
                specs[b].reset()
        act = net_step(fp.as_array(), lay.as_array(), x_q, genomes, state, active)
        for b in range(batch):
            if active[b]:
                act_s, _ = specs[b].env_step(x_q[b])
                assert act[b].tolist() == act_s, f"step {t} member {b}"
            else:
                assert not act[b].any()
            assert_state_equal(specs[b], state, b, f"step {t} member {b}")
    assert all(s.ext.count.get("spikes", 0) > 0 for s in specs)


def test_net_step_same_member_in_every_slot_gives_identical_rows():
    """The same genome and inputs in all slots: any cross-thread sharing would break symmetry."""
    net = NetConfig(n_neurons=128, obs_dim=11, act_dim=3, substeps=33)
    fixed = FixedNet(net)
    rng = np.random.default_rng(3)
    batch = 16
    genomes = np.repeat(pack_genome(rng.random(fixed.layout.n_conn) < 0.5, fixed.layout)[None],
                        batch, axis=0)
    state = NetState.zeros(batch, fixed.layout)
    for _ in range(5):
        x_q = np.repeat(rng.integers(-8000, 8000, size=(1, net.obs_dim)), batch, axis=0)
        act = net_step(fixed.p, fixed.lay, x_q, genomes, state)
        assert (act == act[0]).all()
        for arr in (state.v, state.i_syn, state.rate, state.spk):
            assert (arr == arr[0]).all()


# -- extremes --------------------------------------------------------------------------------
def test_no_connections_stay_silent():
    net = NetConfig(n_neurons=96, obs_dim=5, act_dim=2, substeps=6)
    core = CoreConfig()
    lim = 2 ** (core.obs_bits - 1)
    spec = run_single(net, core, layout_bits(net), [[lim - 1] * 5, [-lim] * 5, [123] * 5])
    assert spec.ext.count.get("spikes", 0) == 0
    assert spec.ext.hi["action"] == spec.ext.lo["action"] == 0
    assert spec.ext.hi["v"] == spec.ext.lo["v"] == 0


@pytest.mark.parametrize("exc", [0.5, 0.75])
def test_all_connections_on(exc):
    net = NetConfig(n_neurons=80, exc_fraction=exc, obs_dim=4, act_dim=2, substeps=9)
    core = CoreConfig()
    lim = 2 ** (core.obs_bits - 1)
    bits = np.ones(GenomeLayout.of(net).n_conn, bool)
    xs = [[lim - 1, -lim, 5, -7], [0, 0, 0, 0], [lim - 1] * 4, [-lim] * 4]
    spec = run_single(net, core, bits, xs)
    # [x, -x] fully on cancels every input, so from the zero state nothing ever fires (the
    # all-on recurrent matrix with every neuron firing is test_every_neuron_fires_...).
    assert spec.ext.hi["i_in"] == spec.ext.lo["i_in"] == 0
    assert spec.ext.count.get("spikes", 0) == 0
    assert spec.ext.hi["action"] == spec.ext.lo["action"] == 0


@pytest.mark.parametrize("out_exc", [True, False])
def test_every_neuron_fires_every_substep_and_actions_clip(out_exc):
    net = NetConfig(n_neurons=150, exc_fraction=0.6, obs_dim=3, act_dim=2, substeps=33)
    core = CoreConfig()
    lim = 2 ** (core.obs_bits - 1)
    fn = FixedNet(net, core)
    bits = drive_all(net, core, out_exc)
    genome = pack_genome(bits, fn.layout)
    state = NetState.zeros(1, fn.layout)
    spec = SpecNet(net, core, bits)
    for _ in range(8):  # 264 substeps: the rate trace (tau = 20 substeps) settles
        act, trace = fn.step_one(np.full(3, lim - 1, np.int32), genome, state, 0, trace=True)
        act_s, trace_s = spec.env_step([lim - 1] * 3)
        assert act.tolist() == act_s
        assert np.array_equal(trace, spec.trace_words(trace_s))
        popc = [[bin(int(w)).count("1") for w in row] for row in trace]
        assert popc == [full_trace_words(net.n_neurons)] * net.substeps
        assert_state_equal(spec, state, 0, "saturated drive")
    c = spec.c
    assert spec.ext.hi["pe"] == c.NE and spec.ext.hi["pi"] == c.NI
    assert act_s == [c.ACTION_MAX if out_exc else -c.ACTION_MAX] * net.act_dim
    assert spec.ext.count["action clipped"] > 0
    # The rate settles where rs(B_OUT d, K) rounds to zero: within 2**(K-1)/B_OUT of RATE_Q.
    assert c.RATE_Q - spec.ext.hi["rate"] <= math.ceil(2 ** (c.K - 1) / c.B_OUT)


@pytest.mark.parametrize("exc_drives,exc", [(True, 0.9), (False, 0.1)])
def test_i_syn_reaches_its_bound(exc_drives, exc):
    """i_syn driven to within 3 % of the derive() bound, with the sign of the driving population."""
    net = NetConfig(n_neurons=256, exc_fraction=exc, obs_dim=4, act_dim=1, substeps=33)
    core = CoreConfig()
    lim = 2 ** (core.obs_bits - 1)
    ext = Extremes()
    spec = run_single(net, core, one_population_drives(net, exc_drives),
                      [[lim - 1] * 4] * 3, ext)
    c = spec.c
    reached = ext.hi["i_syn"] if exc_drives else -ext.lo["i_syn"]
    assert reached > 0.97 * c.ISYN_BOUND
    # The readout listens to the drivers only: |acc| reaches nearly max(NE, NI) * RATE_Q.
    acc = ext.hi["acc"] if exc_drives else -ext.lo["acc"]
    assert acc > 0.99 * c.M * c.RATE_Q


def test_saturation_of_i_in_and_u_in_both_directions():
    """A narrow state width where the input current and u saturate (both signs)."""
    net = NetConfig(n_neurons=64, exc_fraction=0.5, obs_dim=6, act_dim=2, substeps=20)
    core = CoreConfig(frac_bits=8, state_bits=18, obs_bits=18, rout_bits=12,
                      action_frac_bits=8)
    lim = 2 ** (core.obs_bits - 1)
    rng = np.random.default_rng(5)
    bits = rng.random(GenomeLayout.of(net).n_conn) < 0.5
    w_in = np.zeros((64, 12), bool)
    w_in[:, :6] = True
    bits[: w_in.size] = w_in.ravel()
    pos, neg = [lim - 1] * 6, [-lim] * 6
    xs = [pos, pos, neg, neg, pos, [lim - 1, -lim] * 3]
    ext = Extremes()
    run_single(net, core, bits, xs, ext)
    assert ext.count["i_in saturated"] > 0 and ext.count["u saturated"] > 0
    assert ext.hi["u"] == 2 ** (core.state_bits - 1) - 1
    assert ext.lo["u"] == -(2 ** (core.state_bits - 1))
    assert ext.lo["v"] < -(2 ** (core.state_bits - 2))
    # u - v needs state_bits + 1 bits: the B_M product's operand is one bit wider than u.
    assert ext.hi["u-v"] > 2 ** (core.state_bits - 1)


def test_input_current_saturates_at_default_widths():
    """With D = 300 the sum of saturated observations passes 2**23 and i_in clamps."""
    net = NetConfig(n_neurons=32, obs_dim=300, act_dim=1, substeps=4)
    core = CoreConfig()
    lim = 2 ** (core.obs_bits - 1)
    n, d = 32, 300
    w_in = np.zeros((n, 2 * d), bool)
    w_in[: n // 2, :d] = True
    w_in[n // 2:, d:] = True
    ext = Extremes()
    run_single(net, core, layout_bits(net, w_in, np.ones((n, n), bool), np.ones((1, n), bool)),
               [[lim - 1] * d, [-lim] * d], ext)
    assert ext.hi["i_in"] == 2 ** 23 - 1 and ext.lo["i_in"] == -(2 ** 23)


def test_nan_and_infinite_observations_through_quantize_obs():
    net = NetConfig(n_neurons=64, obs_dim=8, act_dim=2, substeps=10)
    core = CoreConfig()
    fp = derive(net, core)
    lim = 2 ** (core.obs_bits - 1)
    mean = np.array([0.0, 1.0, -1.0, 0.5, 0.0, 0.0, 2.0, 0.0])
    std = np.array([1.0, 0.0, 1e9, 2.0, 1e-12, 1.0, 0.5, 3.0])   # clipped to [1e-6, 1e6]
    obs = np.array([
        [np.nan, np.inf, -np.inf, 1e308, -1e308, 0.0, 2.0, -0.0],
        [np.inf] * 8,
        [-np.inf] * 8,
        [np.nan] * 8,
        [1e-300, -5e-7, 5e-7, 3.0, 1e-6, -1e-6, 2.0 + 1e-12, 7.0],
    ])
    x_q = quantize_obs(obs, mean, std, fp)
    assert x_q.dtype == np.int32
    assert x_q.tolist() == spec_quantize_obs(obs, mean, std, net, core)
    assert x_q[0, 0] == 0 and x_q[0, 1] == lim - 1 and x_q[0, 2] == -lim
    assert (x_q[1] == lim - 1).all() and (x_q[2] == -lim).all() and (x_q[3] == 0).all()
    rng = np.random.default_rng(11)
    bits = rng.random(GenomeLayout.of(net).n_conn) < 0.5
    run_single(net, core, bits, x_q)


def test_quantize_obs_rounds_half_to_even_and_saturates_at_the_edge():
    net = NetConfig(n_neurons=16, obs_dim=1, act_dim=1)
    core = CoreConfig()
    fp = derive(net, core)
    scale = net.r_in * 2 ** core.frac_bits
    lim = 2 ** (core.obs_bits - 1)
    # Observations whose scaled value is exactly k + 1/2 in float64.
    halves = [(k + 0.5) / scale for k in range(-40, 40)]
    halves = [o for o in halves if net.r_in * o * 2 ** core.frac_bits % 1 == 0.5]
    assert len(halves) > 20
    obs = np.array(halves + [(lim - 0.5) / scale, (lim + 3) / scale, (-lim - 0.5) / scale,
                             -(lim + 1e6) / scale])[:, None]
    x_q = quantize_obs(obs, np.zeros(1), np.ones(1), fp)[:, 0].tolist()
    for o, q in zip(halves, x_q[:len(halves)], strict=True):
        k = math.floor(net.r_in * o * 2 ** core.frac_bits)
        assert q == (k if k % 2 == 0 else k + 1)
    assert x_q[-4:] == [lim - 1, lim - 1, -lim, -lim]
    assert x_q == [q[0] for q in spec_quantize_obs(obs, np.zeros(1), np.ones(1), net, core)]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_core_env_step_equals_spec_long_random_runs(seed):
    """Longer episodes on random shapes (slow: the restatement runs ~20k neuron-substeps/s)."""
    rng = np.random.default_rng(10_000 + seed)
    n = int(rng.integers(16, 257))
    net = NetConfig(n_neurons=n, exc_fraction=float(rng.uniform(0.2, 0.8)),
                    obs_dim=int(rng.integers(1, 24)), act_dim=int(rng.integers(1, 8)),
                    substeps=int(rng.integers(1, 40)))
    core = CoreConfig()
    bits = rng.random(GenomeLayout.of(net).n_conn) < rng.uniform(0.05, 0.95)
    run_single(net, core, bits, random_obs(rng, net, core, 25, float(rng.uniform(0.3, 3))))
