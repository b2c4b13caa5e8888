"""Golden model of the input projection, bit-exact to :mod:`ec_hw.fixedpoint` step 1.

Twin of :class:`ec_hw.gateware.projection.InputProjection`: once per env step, neuron ``j``
sums ``+x_q[i]`` for every set bit ``W_in[j, i]`` and ``-x_q[i]`` for every set bit
``W_in[j, D+i]`` (exact integer sum), then saturates once to ``state_bits``.
"""

from __future__ import annotations

import numba

from ..fixedpoint import P_OBS_DIM, P_STATE_BITS
from .bits import saturate

__all__ = ["input_projection"]


@numba.njit(inline="always", cache=True)
def input_projection(p, row, x_q):
    """Input current of one neuron from its packed ``W_in`` row and the int observation."""
    d = p[P_OBS_DIM]
    acc = 0
    for i in range(d):
        if (row[i >> 6] >> numba.uint64(i & 63)) & numba.uint64(1):
            acc += x_q[i]
        c = d + i
        if (row[c >> 6] >> numba.uint64(c & 63)) & numba.uint64(1):
            acc -= x_q[i]
    return saturate(acc, p[P_STATE_BITS])
