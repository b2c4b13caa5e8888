"""Golden model of the popcount tree: set bits of ``row & spikes``, split excitatory/inhibitory.

Twin of :class:`ec_hw.gateware.popcount.PopcountTree` (which counts one memory word per cycle
and accumulates); arithmetic per :mod:`ec_hw.fixedpoint` (exact, unsigned, ``pop_bits`` wide).

:func:`popcount_ei` counts one neuron's row; :func:`recurrent_input` computes the same counts
for every neuron at once from the word-major layout of ``W_rec`` (see
:func:`ec_hw.model.core.word_major`), which is how the batched golden model runs it.
"""

from __future__ import annotations

import numba

from .bits import popcount64

__all__ = ["popcount_ei", "recurrent_input"]


@numba.njit(inline="always", cache=True)
def popcount_ei(row, s_exc, s_inh):
    """``(popcount(row & s_exc), popcount(row & s_inh))`` over uint64 words.

    ``s_exc``/``s_inh`` are the previous substep's spike vector masked to the excitatory and
    inhibitory neurons.
    """
    pe = 0
    pi = 0
    for w in range(row.shape[0]):
        pe += popcount64(row[w] & s_exc[w])
        pi += popcount64(row[w] & s_inh[w])
    return pe, pi


@numba.njit(inline="always", cache=True)
def recurrent_input(g_rec, spikes, m_exc, rec):
    """``rec[j] = pe[j] - pi[j]`` for every neuron ``j`` (the spec's popcounts, exact).

    Parameters
    ----------
    g_rec : uint64 (nw, P), word-major ``W_rec``: ``g_rec[w, j]`` is word ``w`` of row ``j``;
        P >= N columns, the padding columns zero.
    spikes : uint64 (nw,), the previous substep's spike vector (no bits at or past N).
    m_exc : uint64 (nw,), the excitatory neurons' bits.
    rec : int64 (P,), overwritten.

    Only words that hold a spike cost work (1-5 % of neurons fire per substep), and a word is
    counted once per population that fired in it; the loop over neurons is one vector popcount
    per 8 neurons.
    """
    for j in range(rec.shape[0]):
        rec[j] = 0
    for w in range(spikes.shape[0]):
        s_e = spikes[w] & m_exc[w]
        s_i = spikes[w] & ~m_exc[w]
        row = g_rec[w]
        if s_e != 0:
            for j in range(rec.shape[0]):
                rec[j] += popcount64(row[j] & s_e)
        if s_i != 0:
            for j in range(rec.shape[0]):
                rec[j] -= popcount64(row[j] & s_i)
