"""Golden model of the whole core: one environment step of one or many networks.

Twin of :class:`ec_hw.gateware.core.Core`. Bit-exact to :mod:`ec_hw.fixedpoint` (steps 1-3);
composed of the block twins :func:`~ec_hw.model.projection.input_projection`,
:func:`~ec_hw.model.popcount.popcount_ei`, :func:`~ec_hw.model.lif.lif_substep` and
:func:`~ec_hw.model.readout.readout`.

State of one network (all int32 except the spikes): ``v[N]``, ``i_syn[N]``, ``rate[N]`` and
``spk[nw]`` (uint64, the previous substep's spikes, bit ``j % 64`` of word ``j // 64``). A
fresh episode starts from all zeros (:class:`NetState`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..config import CoreConfig, NetConfig
from ..fixedpoint import P_ACT_DIM, P_N_EXC, P_N_NEURONS, P_SUBSTEPS, FixedPoint, derive
from .lif import lif_substep
from .packing import GenomeLayout
from .popcount import popcount_ei
from .projection import input_projection
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


@numba.njit(cache=True)
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
    """
    n = p[P_N_NEURONS]
    wi, nw, off_rec, off_out = lay[3], lay[4], lay[5], lay[6]
    m_e, m_i = _exc_masks(n, p[P_N_EXC], nw)
    i_in = np.empty(n, np.int64)
    for j in range(n):
        i_in[j] = input_projection(p, genome[j * wi:(j + 1) * wi], x_q)
    s_e = np.empty(nw, np.uint64)
    s_i = np.empty(nw, np.uint64)
    for t in range(p[P_SUBSTEPS]):
        # Every neuron reads the previous substep's spikes (the gateware double-buffers them).
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
        if trace_spk.shape[0] > 0:
            for w in range(nw):
                trace_spk[t, w] = spk[w]
    for k in range(p[P_ACT_DIM]):
        act[k] = readout(p, genome[off_out + k * nw: off_out + (k + 1) * nw], rate)


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
