"""One LIF neuron substep, bit-exact to :mod:`ec_hw.fixedpoint` step 2.

Twin of :func:`ec_hw.model.lif.lif_substep`.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..fixedpoint import FixedPoint

__all__ = ["LIFUnit", "rs", "sat"]


def rs(x, k: int) -> Value:
    """``rs(x, k) = floor((x + 2**(k-1)) / 2**k)``: round half up (arithmetic shift of a signed
    value), exactly :func:`ec_hw.model.bits.rshift_round`."""
    x = Value.cast(x)
    return (x + (1 << (k - 1))) >> k


def sat(x, bits: int) -> Value:
    """Clamp ``x`` to the signed range of ``bits`` bits (result ``signed(bits)``)."""
    x = Value.cast(x)
    hi = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    inner = Mux(x < lo, Const(lo, signed(bits)), x[:bits].as_signed())
    return Mux(x > hi, Const(hi, signed(bits)), inner)


class LIFUnit(wiring.Component):
    """Advances one neuron by one substep; a new neuron can enter every cycle.

    Golden-model twin: :func:`ec_hw.model.lif.lif_substep`. Formats per
    :mod:`ec_hw.fixedpoint`: ``i_syn``, ``v``, ``i_in`` signed ``state_bits`` Q.F; ``rate``
    unsigned ``rate_bits`` Q.F; all decay constants are compile-time constants, so each product
    is a constant multiplication (one DSP48 or shift-adds). ``i_syn`` is not saturated (bound
    checked by :func:`~ec_hw.fixedpoint.derive`); ``u`` is.

    Pipeline (latency 4, at most one constant product per stage and path): (1) ``i_syn``
    decay and recurrent input; (2) ``u`` and both candidate rate updates; (3) the membrane
    step (``v`` stays between ``v`` and ``u``, so it needs no clamp); (4) threshold, hard reset
    and rate select.

    Members
    -------
    valid : In(1); i_syn, v, i_in : In(signed(state_bits)); rate : In(rate_bits);
    pe, pi : In(pop_bits)
        One neuron's state, input current and popcounts.
    o_valid : Out(1), :attr:`latency` cycles after ``valid``.
    o_i_syn, o_v : Out(signed(state_bits)); o_rate : Out(rate_bits); o_spike : Out(1)
        The new state and the spike bit.
    """

    latency = 4

    def __init__(self, fp: FixedPoint):
        if not isinstance(fp, FixedPoint):
            raise TypeError(f"fp must be a FixedPoint from ec_hw.fixedpoint.derive, not {fp!r}")
        self.fp = fp
        sb = fp.state_bits
        super().__init__({
            "valid": In(1), "i_syn": In(signed(sb)), "v": In(signed(sb)),
            "rate": In(unsigned(fp.rate_bits)), "i_in": In(signed(sb)),
            "pe": In(unsigned(fp.pop_bits)), "pi": In(unsigned(fp.pop_bits)),
            "o_valid": Out(1), "o_i_syn": Out(signed(sb)), "o_v": Out(signed(sb)),
            "o_rate": Out(unsigned(fp.rate_bits)), "o_spike": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        fp = self.fp
        sb, k = fp.state_bits, fp.decay_bits

        # Stage 1: i_syn = rs(A_SYN i_syn, K) + R_Q (pe - pi); exact, |i_syn| < 2**(S-1).
        s1_valid = Signal()
        s1_isyn = Signal(signed(sb))
        s1_v = Signal(signed(sb))
        s1_rate = Signal(unsigned(fp.rate_bits))
        s1_iin = Signal(signed(sb))
        # Amaranth's unsigned - unsigned is signed and exact.
        isyn = rs(self.i_syn * fp.a_syn, k) + (self.pe - self.pi) * fp.r_q
        m.d.sync += [s1_valid.eq(self.valid), s1_isyn.eq(isyn), s1_v.eq(self.v),
                     s1_rate.eq(self.rate), s1_iin.eq(self.i_in)]

        # Stage 2: u = sat(i_syn + i_in, S) (add, compare, select), both rate candidates.
        s2_valid = Signal()
        s2_isyn = Signal(signed(sb))
        s2_u = Signal(signed(sb))
        s2_v = Signal(signed(sb))
        s2_rate_spk = Signal(unsigned(fp.rate_bits))
        s2_rate_rest = Signal(unsigned(fp.rate_bits))
        # B_OUT (s RATE_Q - rate) = s B_OUT RATE_Q - B_OUT rate exactly: one product serves
        # both spike outcomes (B_OUT RATE_Q is a constant).
        decay = s1_rate * fp.b_out
        rate_spk = s1_rate + rs(fp.b_out * fp.rate_q - decay, k)
        rate_rest = s1_rate + rs(-decay, k)
        m.d.sync += [s2_valid.eq(s1_valid), s2_isyn.eq(s1_isyn), s2_v.eq(s1_v),
                     s2_u.eq(sat(s1_isyn + s1_iin, sb)),
                     s2_rate_spk.eq(rate_spk), s2_rate_rest.eq(rate_rest)]

        # Stage 3: v += rs(B_M (u - v), K): pre-subtract, product, post-add (one DSP48).
        s3_valid = Signal()
        s3_isyn = Signal(signed(sb))
        s3_v = Signal(signed(sb))
        s3_rate_spk = Signal(unsigned(fp.rate_bits))
        s3_rate_rest = Signal(unsigned(fp.rate_bits))
        m.d.sync += [s3_valid.eq(s2_valid), s3_isyn.eq(s2_isyn),
                     s3_v.eq(s2_v + rs((s2_u - s2_v) * fp.b_m, k)),
                     s3_rate_spk.eq(s2_rate_spk), s3_rate_rest.eq(s2_rate_rest)]

        # Stage 4: threshold, hard reset to 0, rate select.
        spike = s3_v > fp.vth_q
        m.d.sync += [
            self.o_valid.eq(s3_valid),
            self.o_i_syn.eq(s3_isyn),
            self.o_v.eq(Mux(spike, 0, s3_v)),
            self.o_rate.eq(Mux(spike, s3_rate_spk, s3_rate_rest)),
            self.o_spike.eq(spike),
        ]
        return m
