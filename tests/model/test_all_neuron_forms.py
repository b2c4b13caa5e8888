"""The all-neurons forms used by the batched kernel equal the one-neuron block twins.

``recurrent_input`` vs ``popcount_ei`` and ``input_projection_all`` vs ``input_projection``
(the twins the gateware blocks are tested against), and ``lif_update`` vs ``lif_substep``, on
random and extreme inputs, at shapes whose rows span several words and whose E/I boundary and
neuron count are not word-aligned.
"""

from __future__ import annotations

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive
from ec_hw.model.core import word_major
from ec_hw.model.lif import lif_substep, lif_update
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.popcount import popcount_ei, recurrent_input
from ec_hw.model.projection import input_projection, input_projection_all


def _words(rng, shape, density):
    bits = rng.random(shape + (64,)) < density
    return (bits.astype(np.uint64) << np.arange(64, dtype=np.uint64)).sum(axis=-1,
                                                                           dtype=np.uint64)


@pytest.mark.parametrize("n,ne", [(64, 32), (100, 37), (200, 160), (256, 128)])
def test_recurrent_input_equals_popcount_ei_per_neuron(n, ne):
    rng = np.random.default_rng(n)
    nw = (n + 63) // 64
    rows = _words(rng, (n, nw), 0.5)
    m_all = np.zeros(nw, np.uint64)
    m_exc = np.zeros(nw, np.uint64)
    for j in range(n):
        m_all[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
        if j < ne:
            m_exc[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    g = np.empty((nw, 64 * nw), np.uint64)
    word_major(rows.ravel(), 0, n, nw, g)
    rec = np.empty(64 * nw, np.int64)
    for density in (0.0, 0.02, 0.3, 1.0):
        s = _words(rng, (nw,), density) & m_all
        recurrent_input(g, s, m_exc, rec)
        s_e, s_i = s & m_exc, s & ~m_exc
        want = [int(pe) - int(pi) for pe, pi in (popcount_ei(rows[j], s_e, s_i)
                                                 for j in range(n))]
        assert rec[:n].tolist() == want
        assert not rec[n:].any()


@pytest.mark.parametrize("obs_dim", [1, 3, 11, 31, 40, 150])
def test_input_projection_all_equals_input_projection_per_neuron(obs_dim):
    net = NetConfig(n_neurons=70, obs_dim=obs_dim, act_dim=1)
    core = CoreConfig()
    fp = derive(net, core)
    p = fp.as_array()
    lay = GenomeLayout.of(net)
    rng = np.random.default_rng(obs_dim)
    genome = pack_genome(rng.random(lay.n_conn) < 0.5, lay)
    w_in = genome[:lay.off_rec].reshape(net.n_neurons, lay.wi)
    g = np.empty((lay.wi, 64 * lay.nw), np.uint64)
    word_major(genome, 0, net.n_neurons, lay.wi, g)
    lim = 2 ** (core.obs_bits - 1)
    i_in = np.empty(64 * lay.nw, np.int64)
    for x in (rng.integers(-lim, lim, size=obs_dim), np.full(obs_dim, lim - 1),
              np.full(obs_dim, -lim), np.zeros(obs_dim, np.int64)):
        x = x.astype(np.int32)
        input_projection_all(g, x, obs_dim, core.state_bits, i_in)
        want = [int(input_projection(p, w_in[j], x)) for j in range(net.n_neurons)]
        assert i_in[:net.n_neurons].tolist() == want
        assert not i_in[net.n_neurons:].any()


def test_lif_update_takes_the_constants_lif_substep_reads_from_p():
    """``lif_substep`` (the gateware twin) reads ``p``; the kernel passes the constants itself."""
    fp = derive(NetConfig(), CoreConfig())
    p = fp.as_array()
    rng = np.random.default_rng(1)
    smax = 2 ** 23
    for _ in range(2000):
        i_syn, v, i_in = (int(rng.integers(-smax, smax)) for _ in range(3))
        rate = int(rng.integers(0, fp.rate_q + 1))
        pe, pi = (int(rng.integers(0, 129)) for _ in range(2))
        a = lif_substep(p, np.int64(i_syn), np.int64(v), np.int64(rate), np.int64(i_in), pe, pi)
        b = lif_update(np.int64(i_syn), np.int64(v), np.int64(rate), np.int64(i_in), pe - pi,
                       fp.a_syn, fp.b_m, fp.b_out, fp.r_q, fp.vth_q, fp.rate_q, fp.decay_bits,
                       fp.state_bits)
        assert tuple(int(x) for x in a) == tuple(int(x) for x in b)
