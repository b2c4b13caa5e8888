"""The golden model's kernel before it was vectorized: the baseline of bench/bench_model.py.

Copied from ``ec_hw/model/core.py`` (``core_env_step``, ``_net_step_batch``) and the block twins
as they were at that commit (the per-neuron ``lif_substep``, ``popcount_ei``,
``input_projection`` and ``readout``), so later edits of the package can neither speed up nor
slow down the baseline. One neuron at a time: every word of every ``W_rec`` row popcounted
every substep (E and I separately), the constants read from ``p`` inside the neuron loop, a
branch per spike; the compiled loop is scalar except the popcount over a row's words.
bench_model.py checks that it still computes what :func:`ec_hw.model.core.net_step` computes.

Not cached on disk (``cache=True``): Numba keys a cache on this file, not on ``bits.py`` that
it inlines, and the stale-cache cleanup of :mod:`ec_hw.model` does not look at ``bench/``.
"""

from __future__ import annotations

import numba
import numpy as np

from ec_hw.fixedpoint import (
    P_A_SYN,
    P_ACT_DIM,
    P_ACTION_FRAC_BITS,
    P_B_M,
    P_B_OUT,
    P_DECAY_BITS,
    P_N_EXC,
    P_N_NEURONS,
    P_OBS_DIM,
    P_OUT_SHIFT,
    P_R_Q,
    P_RATE_Q,
    P_ROUT_Q,
    P_STATE_BITS,
    P_SUBSTEPS,
    P_VTH_Q,
)
from ec_hw.model.bits import popcount64, rshift_round, saturate

__all__ = ["old_net_step_batch"]


@numba.njit(inline="always")
def lif_substep(p, i_syn, v, rate, i_in, pe, pi):
    k = p[P_DECAY_BITS]
    sb = p[P_STATE_BITS]
    i_syn = rshift_round(p[P_A_SYN] * i_syn, k) + p[P_R_Q] * (pe - pi)
    u = saturate(i_syn + i_in, sb)
    v = v + rshift_round(p[P_B_M] * (u - v), k)
    spike = 0
    if v > p[P_VTH_Q]:
        spike = 1
        v = 0
    rate = rate + rshift_round(p[P_B_OUT] * (spike * p[P_RATE_Q] - rate), k)
    return i_syn, v, rate, spike


@numba.njit(inline="always")
def popcount_ei(row, s_exc, s_inh):
    pe = 0
    pi = 0
    for w in range(row.shape[0]):
        pe += popcount64(row[w] & s_exc[w])
        pi += popcount64(row[w] & s_inh[w])
    return pe, pi


@numba.njit(inline="always")
def input_projection(p, row, x_q):
    d = p[P_OBS_DIM]
    acc = 0
    for i in range(d):
        if (row[i >> 6] >> numba.uint64(i & 63)) & numba.uint64(1):
            acc += x_q[i]
        c = d + i
        if (row[c >> 6] >> numba.uint64(c & 63)) & numba.uint64(1):
            acc -= x_q[i]
    return saturate(acc, p[P_STATE_BITS])


@numba.njit(inline="always")
def readout(p, row, rate):
    ne = p[P_N_EXC]
    acc = 0
    for j in range(rate.shape[0]):
        if (row[j >> 6] >> numba.uint64(j & 63)) & numba.uint64(1):
            if j < ne:
                acc += rate[j]
            else:
                acc -= rate[j]
    amax = numba.int64(1) << p[P_ACTION_FRAC_BITS]
    a = rshift_round(acc * p[P_ROUT_Q], p[P_OUT_SHIFT])
    if a > amax:
        return amax
    if a < -amax:
        return -amax
    return a


@numba.njit
def _exc_masks(n, ne, nw):
    s_e = np.zeros(nw, np.uint64)
    s_i = np.zeros(nw, np.uint64)
    for j in range(n):
        bit = numba.uint64(1) << numba.uint64(j & 63)
        if j < ne:
            s_e[j >> 6] |= bit
        else:
            s_i[j >> 6] |= bit
    return s_e, s_i


@numba.njit
def old_core_env_step(p, lay, x_q, genome, v, i_syn, rate, spk, act):
    n = p[P_N_NEURONS]
    wi, nw, off_rec, off_out = lay[3], lay[4], lay[5], lay[6]
    m_e, m_i = _exc_masks(n, p[P_N_EXC], nw)
    i_in = np.empty(n, np.int64)
    for j in range(n):
        i_in[j] = input_projection(p, genome[j * wi:(j + 1) * wi], x_q)
    s_e = np.empty(nw, np.uint64)
    s_i = np.empty(nw, np.uint64)
    for _ in range(p[P_SUBSTEPS]):
        for w in range(nw):
            s_e[w] = spk[w] & m_e[w]
            s_i[w] = spk[w] & m_i[w]
            spk[w] = 0
        for j in range(n):
            pe, pi = popcount_ei(genome[off_rec + j * nw: off_rec + (j + 1) * nw], s_e, s_i)
            a, b, c, s = lif_substep(p, np.int64(i_syn[j]), np.int64(v[j]), np.int64(rate[j]),
                                     i_in[j], pe, pi)
            i_syn[j] = a
            v[j] = b
            rate[j] = c
            if s:
                spk[j >> 6] |= numba.uint64(1) << numba.uint64(j & 63)
    for k in range(p[P_ACT_DIM]):
        act[k] = readout(p, genome[off_out + k * nw: off_out + (k + 1) * nw], rate)


@numba.njit(parallel=True)
def old_net_step_batch(p, lay, x_q, genomes, v, i_syn, rate, spk, act):
    """One env step of every member (all active), as ``net_step`` did."""
    for b in numba.prange(x_q.shape[0]):
        old_core_env_step(p, lay, x_q[b], genomes[b], v[b], i_syn[b], rate[b], spk[b], act[b])
