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
