"""Golden model of one LIF neuron substep, bit-exact to :mod:`ec_hw.fixedpoint` step 2.

Twin of :class:`ec_hw.gateware.lif.LIFUnit`. Formats: i_syn, i_in, v signed ``state_bits`` Q.F;
decays unsigned Q0.K; rate unsigned Q.F in [0, RATE_Q]. Rounding ``rs`` (half up) after each
decay product; ``u`` saturates; i_syn, v and rate cannot overflow (bounds in the spec).
"""

from __future__ import annotations

import numba

from ..fixedpoint import (
    P_A_SYN,
    P_B_M,
    P_B_OUT,
    P_DECAY_BITS,
    P_R_Q,
    P_RATE_Q,
    P_STATE_BITS,
    P_VTH_Q,
)
from .bits import rshift_round, saturate

__all__ = ["lif_substep"]


@numba.njit(inline="always", cache=True)
def lif_substep(p, i_syn, v, rate, i_in, pe, pi):
    """Advance one neuron by one substep.

    Parameters
    ----------
    p : int64 array, :meth:`ec_hw.fixedpoint.FixedPoint.as_array`.
    i_syn, v, rate : the neuron's state (ints).
    i_in : the neuron's input current this env step.
    pe, pi : excitatory / inhibitory popcounts of the previous substep's spikes.

    Returns
    -------
    (i_syn, v, rate, spike) : the new state and the spike bit (0 or 1).
    """
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
