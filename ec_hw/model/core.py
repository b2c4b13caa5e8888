"""Golden model of the whole core: one environment step of one or many networks.

Twin of :class:`ec_hw.gateware.core.Core`. Bit-exact to :mod:`ec_hw.fixedpoint` (steps 1-3);
composed of the block twins' arithmetic: :mod:`~ec_hw.model.projection`,
:mod:`~ec_hw.model.popcount`, :mod:`~ec_hw.model.lif` and :mod:`~ec_hw.model.readout` (the
all-neurons forms of the first three, which compute what ``input_projection``, ``popcount_ei``
and ``lif_substep`` compute one neuron at a time).

State of one network (all int32 except the spikes): ``v[N]``, ``i_syn[N]``, ``rate[N]`` and
``spk[nw]`` (uint64, the previous substep's spikes, bit ``j % 64`` of word ``j // 64``). A
fresh episode starts from all zeros (:class:`NetState`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..config import CoreConfig, NetConfig
from ..fixedpoint import (
    P_A_SYN,
    P_ACT_DIM,
    P_B_M,
    P_B_OUT,
    P_DECAY_BITS,
    P_N_EXC,
    P_N_NEURONS,
    P_OBS_DIM,
    P_R_Q,
    P_RATE_Q,
    P_STATE_BITS,
    P_SUBSTEPS,
    P_VTH_Q,
    FixedPoint,
    derive,
)
from .lif import lif_update
from .packing import GenomeLayout
from .popcount import recurrent_input
from .projection import input_projection_all
from .readout import readout

__all__ = ["NetState", "core_env_step", "net_step", "FixedNet"]


@dataclass
class NetState:
    """Batched state of B networks (arrays are updated in place by :func:`net_step`)."""

    v: np.ndarray
    i_syn: np.ndarray
    rate: np.ndarray
    spk: np.ndarray

    @classmethod
    def zeros(cls, batch: int, layout: GenomeLayout) -> NetState:
        n = layout.n_neurons
        return cls(np.zeros((batch, n), np.int32), np.zeros((batch, n), np.int32),
                   np.zeros((batch, n), np.int32), np.zeros((batch, layout.nw), np.uint64))

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Zero the state of the members selected by ``mask`` (all when None)."""
        sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
        for a in (self.v, self.i_syn, self.rate, self.spk):
            a[sel] = 0


@numba.njit(inline="always", cache=True)
def _bit_masks(lo, hi, nw):
    """uint64 (nw,) with bits ``lo..hi-1`` set."""
    m = np.zeros(nw, np.uint64)
    for j in range(lo, hi):
        m[j >> 6] |= numba.uint64(1) << numba.uint64(j & 63)
    return m


@numba.njit(inline="always", cache=True)
def word_major(genome, off, rows, words, out):
    """Copy ``rows`` packed rows of ``words`` words at ``genome[off:]`` column-wise into ``out``.

    ``out[w, j]`` = word ``w`` of row ``j`` (uint64 (words, P), P >= rows); columns ``rows..P-1``
    are zeroed. Still the packed bits, only transposed at word granularity, so a loop over
    neurons reads consecutive words (one vector load per 8 neurons).
    """
    for w in range(words):
        dst = out[w]
        src = genome[off + w:]
        for j in range(rows):
            dst[j] = src[j * words]
        for j in range(rows, dst.shape[0]):
            dst[j] = 0


@numba.njit(cache=True)
def core_env_step(p, lay, x_q, genome, v, i_syn, rate, spk, act, trace_spk):
    """One env step of one network, updating ``v, i_syn, rate, spk`` in place.

    Parameters
    ----------
    p : int64 array from :meth:`FixedPoint.as_array`; lay : :meth:`GenomeLayout.as_array`.
    x_q : int array (D,), the encoded observation.
    genome : uint64 (n_words,), the packed connections.
    act : int array (A,), receives the actions.
    trace_spk : uint64 array (substeps, nw) receiving every substep's spikes, or shape (0, 0).

    Notes
    -----
    The arithmetic is the spec's, neuron by neuron (:func:`~ec_hw.model.lif.lif_update`,
    :func:`~ec_hw.model.popcount.recurrent_input`,
    :func:`~ec_hw.model.projection.input_projection_all`,
    :func:`~ec_hw.model.readout.readout`); the layout is chosen for the CPU: the neurons are
    padded to whole 64-bit words (P = 64 nw, fixed-width rows, no remainder loops), the
    connection words are copied word-major once per env step, the state is held in int64 for
    the env step, the constants are read once, and each substep is three branch-free loops over
    neurons that LLVM vectorizes (popcount of the words that hold spikes, the LIF update, the
    spike word assembled in the same loop).
    """
    n = p[P_N_NEURONS]
    ne = p[P_N_EXC]
    a_syn, b_m, b_out = p[P_A_SYN], p[P_B_M], p[P_B_OUT]
    r_q, vth_q, rate_q = p[P_R_Q], p[P_VTH_Q], p[P_RATE_Q]
    k, sb = p[P_DECAY_BITS], p[P_STATE_BITS]
    wi, nw, off_rec, off_out = lay[3], lay[4], lay[5], lay[6]
    npad = nw * 64
    g_in = np.empty((wi, npad), np.uint64)
    g_rec = np.empty((nw, npad), np.uint64)
    word_major(genome, 0, n, wi, g_in)
    word_major(genome, off_rec, n, nw, g_rec)
    m_exc = _bit_masks(0, ne, nw)
    m_all = _bit_masks(0, n, nw)
    st = np.zeros((5, npad), np.int64)
    sv, si, sr, i_in, rec = st[0], st[1], st[2], st[3], st[4]
    input_projection_all(g_in, x_q, p[P_OBS_DIM], sb, i_in)
    for j in range(n):
        sv[j] = v[j]
        si[j] = i_syn[j]
        sr[j] = rate[j]
    s = np.empty(nw, np.uint64)
    for w in range(nw):
        s[w] = spk[w] & m_all[w]
    one = numba.uint64(1)
    for t in range(p[P_SUBSTEPS]):
        # Every neuron reads the previous substep's spikes (the gateware double-buffers them).
        recurrent_input(g_rec, s, m_exc, rec)
        for w in range(nw):
            word = numba.uint64(0)
            base = w * 64
            for b in range(64):
                j = base + b
                si[j], sv[j], sr[j], f = lif_update(si[j], sv[j], sr[j], i_in[j], rec[j],
                                                    a_syn, b_m, b_out, r_q, vth_q, rate_q, k,
                                                    sb)
                word |= (one if f else numba.uint64(0)) << numba.uint64(b)
            s[w] = word & m_all[w]
        if trace_spk.shape[0] > 0:
            for w in range(nw):
                trace_spk[t, w] = s[w]
    for j in range(n):
        v[j] = sv[j]
        i_syn[j] = si[j]
        rate[j] = sr[j]
    for w in range(nw):
        spk[w] = s[w]
    rates = sr[:n]
    for a in range(p[P_ACT_DIM]):
        act[a] = readout(p, genome[off_out + a * nw: off_out + (a + 1) * nw], rates)


@numba.njit(parallel=True, cache=True)
def _net_step_batch(p, lay, x_q, genomes, v, i_syn, rate, spk, act, active):
    no_trace = np.zeros((0, 0), np.uint64)
    for b in numba.prange(x_q.shape[0]):
        if active[b]:
            core_env_step(p, lay, x_q[b], genomes[b], v[b], i_syn[b], rate[b], spk[b], act[b],
                          no_trace)


def net_step(p: np.ndarray, lay: np.ndarray, x_q: np.ndarray, genomes: np.ndarray,
             state: NetState, active: np.ndarray | None = None) -> np.ndarray:
    """One env step of B networks in parallel (``prange`` over members).

    Returns int32 actions ``(B, A)`` (zeros for inactive members); ``state`` is updated in place.
    """
    b = x_q.shape[0]
    act = np.zeros((b, int(p[P_ACT_DIM])), np.int32)
    if active is None:
        active = np.ones(b, dtype=np.bool_)
    _net_step_batch(p, lay, np.ascontiguousarray(x_q, dtype=np.int32), genomes, state.v,
                    state.i_syn, state.rate, state.spk, act, np.asarray(active, np.bool_))
    return act


class FixedNet:
    """Convenience bundle of a network's constants for callers outside the hot loop."""

    def __init__(self, net: NetConfig, core: CoreConfig | None = None):
        self.net = net
        self.core = core or CoreConfig()
        self.fp: FixedPoint = derive(net, self.core)
        self.layout = GenomeLayout.of(net)
        self.p = self.fp.as_array()
        self.lay = self.layout.as_array()

    def step_one(self, x_q, genome, state: NetState, index: int = 0, trace: bool = False):
        """One env step of member ``index`` of ``state``; returns (actions, spike trace)."""
        act = np.zeros(self.net.act_dim, np.int32)
        tr = (np.zeros((self.net.substeps, self.layout.nw), np.uint64) if trace
              else np.zeros((0, 0), np.uint64))
        core_env_step(self.p, self.lay, np.asarray(x_q, np.int32), genome, state.v[index],
                      state.i_syn[index], state.rate[index], state.spk[index], act, tr)
        return act, tr
