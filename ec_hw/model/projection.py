"""Golden model of the input projection, bit-exact to :mod:`ec_hw.fixedpoint` step 1.

Twin of :class:`ec_hw.gateware.projection.InputProjection`: once per env step, neuron ``j``
sums ``+x_q[i]`` for every set bit ``W_in[j, i]`` and ``-x_q[i]`` for every set bit
``W_in[j, D+i]`` (exact integer sum), then saturates once to ``state_bits``.

:func:`input_projection` computes one neuron from its row; :func:`input_projection_all` every
neuron at once from the word-major layout of ``W_in`` (the batched golden model's form).
"""

from __future__ import annotations

import numba
import numpy as np

from ..fixedpoint import P_OBS_DIM, P_STATE_BITS
from .bits import saturate

__all__ = ["input_projection", "input_projection_all"]


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


@numba.njit(inline="always", cache=True)
def input_projection_all(g_in, x_q, d, sb, i_in):
    """``i_in[j]`` for every neuron (the same sum and saturation as :func:`input_projection`).

    ``g_in`` is word-major ``W_in`` (uint64 (wi, P), ``g_in[w, j]`` = word ``w`` of row ``j``,
    padding columns zero); ``d`` = obs_dim, ``sb`` = state_bits; ``i_in`` int64 (P,) is
    overwritten. One pass over the neurons per input, each a vector select-and-add.
    """
    for j in range(i_in.shape[0]):
        i_in[j] = 0
    one = numba.uint64(1)
    i = 0
    while i + 1 < d:
        # Two inputs per pass over the neurons: half the loads and stores of i_in.
        x0 = np.int64(x_q[i])
        x1 = np.int64(x_q[i + 1])
        p0, n0 = g_in[i >> 6], g_in[(d + i) >> 6]
        p1, n1 = g_in[(i + 1) >> 6], g_in[(d + i + 1) >> 6]
        sp0, sn0 = numba.uint64(i & 63), numba.uint64((d + i) & 63)
        sp1, sn1 = numba.uint64((i + 1) & 63), numba.uint64((d + i + 1) & 63)
        for j in range(i_in.shape[0]):
            a0 = x0 if (p0[j] >> sp0) & one else 0
            b0 = x0 if (n0[j] >> sn0) & one else 0
            a1 = x1 if (p1[j] >> sp1) & one else 0
            b1 = x1 if (n1[j] >> sn1) & one else 0
            i_in[j] += (a0 - b0) + (a1 - b1)
        i += 2
    if i < d:
        x = np.int64(x_q[i])
        pos, neg = g_in[i >> 6], g_in[(d + i) >> 6]
        sp, sn = numba.uint64(i & 63), numba.uint64((d + i) & 63)
        for j in range(i_in.shape[0]):
            a = x if (pos[j] >> sp) & one else 0
            b = x if (neg[j] >> sn) & one else 0
            i_in[j] += a - b
    for j in range(i_in.shape[0]):
        i_in[j] = saturate(i_in[j], sb)
