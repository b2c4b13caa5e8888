"""Golden model of the popcount tree: set bits of ``row & spikes``, split excitatory/inhibitory.

Twin of :class:`ec_hw.gateware.popcount.PopcountTree` (which counts one memory word per cycle
and accumulates); arithmetic per :mod:`ec_hw.fixedpoint` (exact, unsigned, ``pop_bits`` wide).
"""

from __future__ import annotations

import numba

from .bits import popcount64

__all__ = ["popcount_ei"]


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
