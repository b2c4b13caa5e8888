"""Golden model of the output readout, bit-exact to :mod:`ec_hw.fixedpoint` step 3.

Twin of :class:`ec_hw.gateware.readout.Readout`: ``acc = sum_E W rate - sum_I W rate`` (exact,
``acc_bits`` signed), ``action = clip(rs(acc * ROUT_Q, F + KO - AF), -2**AF, 2**AF)``.
"""

from __future__ import annotations

import numba

from ..fixedpoint import P_ACTION_FRAC_BITS, P_N_EXC, P_OUT_SHIFT, P_ROUT_Q
from .bits import rshift_round

__all__ = ["readout"]


@numba.njit(inline="always", cache=True)
def readout(p, row, rate):
    """One action value from a packed ``W_out`` row and the neurons' rate traces."""
    ne = p[P_N_EXC]
    n = rate.shape[0]
    one = numba.uint64(1)
    acc = 0
    # Word by word, so the loop over a word's 64 neurons is a branch-free vector reduction.
    for w in range(row.shape[0]):
        word = row[w]
        base = w * 64
        for b in range(min(64, n - base)):
            j = base + b
            r = rate[j] if j < ne else -rate[j]
            acc += r if (word >> numba.uint64(b)) & one else 0
    amax = numba.int64(1) << p[P_ACTION_FRAC_BITS]
    a = rshift_round(acc * p[P_ROUT_Q], p[P_OUT_SHIFT])
    if a > amax:
        return amax
    if a < -amax:
        return -amax
    return a
