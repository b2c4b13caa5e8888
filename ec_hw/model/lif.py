"""Golden model of one LIF neuron substep, bit-exact to :mod:`ec_hw.fixedpoint` step 2.

Twin of :class:`ec_hw.gateware.lif.LIFUnit`. Formats: i_syn, i_in, v signed ``state_bits`` Q.F;
decays unsigned Q0.K; rate unsigned Q.F in [0, RATE_Q]. Rounding ``rs`` (half up) after each
decay product; ``u`` saturates; i_syn, v and rate cannot overflow (bounds in the spec).

The arithmetic is written once, in :func:`lif_update` (constants as arguments, so a kernel can
hoist them out of its neuron loop and the loop vectorizes); :func:`lif_substep` is the same
update with the constants read from the ``p`` array, one neuron at a time.
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

__all__ = ["lif_substep", "lif_update"]


@numba.njit(inline="always", cache=True)
def lif_update(i_syn, v, rate, i_in, rec, a_syn, b_m, b_out, r_q, vth_q, rate_q, k, sb):
    """Advance one neuron by one substep, constants passed in (int64 throughout).

    ``rec`` is ``pe - pi``, the neuron's signed recurrent popcount; ``k`` = decay_bits and
    ``sb`` = state_bits. Returns ``(i_syn, v, rate, spike)`` with ``spike`` a bool. Branch-free
    (selects only), so a loop over neurons calling it vectorizes.
    """
    i_syn = rshift_round(a_syn * i_syn, k) + r_q * rec
    u = saturate(i_syn + i_in, sb)
    v = v + rshift_round(b_m * (u - v), k)
    spike = v > vth_q
    v = 0 if spike else v
    target = rate_q if spike else 0
    rate = rate + rshift_round(b_out * (target - rate), k)
    return i_syn, v, rate, spike


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
    i_syn, v, rate, s = lif_update(i_syn, v, rate, i_in, pe - pi, p[P_A_SYN], p[P_B_M],
                                   p[P_B_OUT], p[P_R_Q], p[P_VTH_Q], p[P_RATE_Q],
                                   p[P_DECAY_BITS], p[P_STATE_BITS])
    return i_syn, v, rate, 1 if s else 0
