"""One LIF neuron substep, bit-exact to :mod:`ec_hw.fixedpoint` step 2.

Twin of :func:`ec_hw.model.lif.lif_substep`.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..fixedpoint import FixedPoint
from .arith import MUL_CONST_LATENCY, mul_const
from .popcount import delay

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

    Pipeline (latency 10, at most one multiplier or two chained adders between registers, for
    100 MHz on an ECP5): (0) input register (the state comes from block RAM); (1-2) the
    constant products ``A_SYN i_syn``, ``R_Q (pe - pi)`` and ``B_OUT rate``
    (:func:`~ec_hw.gateware.arith.mul_const`); (3) ``i_syn`` and both candidate rate updates;
    (4) ``u``; (5) ``u - v``; (6-7) ``B_M (u - v)``; (8) the membrane step (``v`` stays between
    ``v`` and ``u``, so it needs no clamp); (9) threshold, hard reset and rate select.

    Members
    -------
    valid : In(1); i_syn, v, i_in : In(signed(state_bits)); rate : In(rate_bits);
    pe, pi : In(pop_bits)
        One neuron's state, input current and popcounts.
    o_valid : Out(1), :attr:`latency` cycles after ``valid``.
    o_i_syn, o_v : Out(signed(state_bits)); o_rate : Out(rate_bits); o_spike : Out(1)
        The new state and the spike bit.
    """

    latency = 10

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
        sb, k, rb = fp.state_bits, fp.decay_bits, fp.rate_bits

        def stage(name, **values):
            """Register ``values`` (name -> Value) as ``<name>_<key>`` signals (multi-bit data
            without a reset, as in :func:`~ec_hw.gateware.popcount.delay`)."""
            regs = {}
            for key, v in values.items():
                v = Value.cast(v)
                r = Signal(v.shape(), name=f"{name}_{key}", reset_less=len(v) > 1)
                m.d.sync += r.eq(v)
                regs[key] = r
            return regs

        def carry(src, n, *keys):
            """Delay ``src[key]`` by ``n`` cycles (values that wait for a product)."""
            return {key: delay(m, src[key], n, name=f"{key}_w") for key in keys}

        s0 = stage("s0", valid=self.valid, i_syn=self.i_syn, v=self.v, rate=self.rate,
                   i_in=self.i_in, pe=self.pe, pi=self.pi)
        # 1-2: the constant products of stage 3. Amaranth's unsigned - unsigned is signed and
        # exact.
        # The rounding offsets of rs() are added in the products' sum stage (rs(x, k) =
        # (x + 2**(k-1)) >> k), so stage 3 and stage 8 keep one adder per value: with the
        # offsets there, LIF stage 3 (negate, round, add) was the routed device's critical path.
        half = 1 << (k - 1)
        (p_syn,) = mul_const(m, s0["i_syn"], fp.a_syn, name="p_syn", plus=(half,))
        p_rec = mul_const(m, s0["pe"] - s0["pi"], fp.r_q, name="p_rec")
        # -B_OUT rate + 2**(k-1), and B_OUT RATE_Q - B_OUT rate + 2**(k-1)
        dec_rest, dec_spk = mul_const(m, s0["rate"], -fp.b_out, name="decay",
                                      plus=(half, fp.b_out * fp.rate_q + half))
        s2 = carry(s0, MUL_CONST_LATENCY, "valid", "v", "rate", "i_in")
        # 3: i_syn = rs(A_SYN i_syn, K) + R_Q (pe - pi); exact, |i_syn| < 2**(S-1).
        # B_OUT (s RATE_Q - rate) = s B_OUT RATE_Q - B_OUT rate exactly: one product serves
        # both spike outcomes (B_OUT RATE_Q is a constant).
        s3 = stage("s3", valid=s2["valid"], v=s2["v"], i_in=s2["i_in"],
                   i_syn=((p_syn >> k) + p_rec)[:sb].as_signed(),
                   rate_spk=(s2["rate"] + (dec_spk >> k))[:rb],
                   rate_rest=(s2["rate"] + (dec_rest >> k))[:rb])
        # 4: u = sat(i_syn + i_in, S) (add, compare, select).
        s4 = stage("s4", valid=s3["valid"], v=s3["v"], i_syn=s3["i_syn"],
                   rate_spk=s3["rate_spk"], rate_rest=s3["rate_rest"],
                   u=sat(s3["i_syn"] + s3["i_in"], sb))
        # 5-7: B_M (u - v).
        s5 = stage("s5", valid=s4["valid"], v=s4["v"], i_syn=s4["i_syn"],
                   rate_spk=s4["rate_spk"], rate_rest=s4["rate_rest"], d=s4["u"] - s4["v"])
        (p_m,) = mul_const(m, s5["d"], fp.b_m, name="p_m", plus=(half,))
        s7 = carry(s5, MUL_CONST_LATENCY, "valid", "v", "i_syn", "rate_spk", "rate_rest")
        # 8: v += rs(B_M (u - v), K).
        s8 = stage("s8", valid=s7["valid"], i_syn=s7["i_syn"], rate_spk=s7["rate_spk"],
                   rate_rest=s7["rate_rest"], v=(s7["v"] + (p_m >> k))[:sb].as_signed())
        # 9: threshold, hard reset to 0, rate select.
        spike = s8["v"] > fp.vth_q
        m.d.sync += [
            self.o_valid.eq(s8["valid"]),
            self.o_i_syn.eq(s8["i_syn"]),
            self.o_v.eq(Mux(spike, 0, s8["v"])),
            self.o_rate.eq(Mux(spike, s8["rate_spk"], s8["rate_rest"])),
            self.o_spike.eq(spike),
        ]
        return m
