"""Output readout, bit-exact to :mod:`ec_hw.fixedpoint` step 3.

Twin of :func:`ec_hw.model.readout.readout`.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..fixedpoint import FixedPoint
from .arith import MUL_CONST_LATENCY, mul_const
from .lif import rs
from .popcount import adder_tree, delay, tree_registers

__all__ = ["Readout"]


class Readout(wiring.Component):
    """One action from a ``W_out`` row and the rate traces, ``lanes`` neurons per cycle.

    Golden-model twin: :func:`ec_hw.model.readout.readout`. ``acc = sum_E W rate - sum_I W rate``
    (exact, signed ``acc_bits + 1``), then ``clip(rs(acc * ROUT_Q, F + KO - AF), -2**AF, 2**AF)``
    (a constant product, <= 25 x 17 bits; the rounding shift and the clip are registered
    apart, so the product register feeds one adder and the clip one compare-and-select).

    Members
    -------
    valid, first, last : In(1)
        ``lanes`` neurons are presented when ``valid``; ``first``/``last`` mark a row's first
        and last group.
    bits : In(lanes)
        ``W_out[a, j]`` of the presented neurons.
    exc : In(lanes)
        1 where the presented neuron is excitatory (``j < NE``).
    rate : In(ArrayLayout(rate_bits, lanes))
    o_valid : Out(1)
        High for one cycle, :attr:`latency` cycles after a row's last group.
    action : Out(signed(action_bits))
    """

    def __init__(self, fp: FixedPoint, lanes: int, *, regs_every: int = 3):
        if not isinstance(fp, FixedPoint):
            raise TypeError(f"fp must be a FixedPoint from ec_hw.fixedpoint.derive, not {fp!r}")
        if not isinstance(lanes, int) or lanes < 1:
            raise ValueError(f"lanes must be a positive integer, not {lanes!r}")
        self.fp = fp
        self.lanes = lanes
        self.regs_every = regs_every
        self.latency = self.latency_of(lanes, regs_every)
        super().__init__({
            "valid": In(1), "first": In(1), "last": In(1),
            "bits": In(lanes), "exc": In(lanes),
            "rate": In(data.ArrayLayout(unsigned(fp.rate_bits), lanes)),
            "o_valid": Out(1), "action": Out(signed(fp.action_bits)),
        })

    @staticmethod
    def latency_of(lanes: int, regs_every: int = 3) -> int:
        """Cycles from a row's last group to ``o_valid``: the term register, the tree's
        registers, the group-sum register, the accumulator, the constant product
        (:func:`~ec_hw.gateware.arith.mul_const`), the rounded shift and the clipped output
        register."""
        return tree_registers(lanes, regs_every) + 5 + MUL_CONST_LATENCY

    def elaborate(self, platform):
        m = Module()
        fp = self.fp
        # Terms registered: the selected, signed rates are one adder away from the inputs.
        terms = []
        for i in range(self.lanes):
            t = Signal(signed(fp.rate_bits + 1), name=f"term{i}", reset_less=True)
            m.d.sync += t.eq(Mux(self.bits[i], Mux(self.exc[i], self.rate[i], -self.rate[i]),
                                 0))
            terms.append(t)
        t_valid, t_first, t_last = Signal(), Signal(), Signal()
        m.d.sync += [t_valid.eq(self.valid), t_first.eq(self.first), t_last.eq(self.last)]
        total, regs = adder_tree(m, terms, regs_every=self.regs_every, name="sum")
        valid = delay(m, t_valid, regs, name="valid")
        first = delay(m, t_first, regs, name="first")
        last = delay(m, t_last, regs, name="last")
        group = Signal(signed(fp.rate_bits + 1 + (self.lanes - 1).bit_length()), reset_less=True)
        c_valid = Signal()
        c_first = Signal()
        c_last = Signal()
        m.d.sync += [group.eq(total), c_valid.eq(valid), c_first.eq(first), c_last.eq(last)]
        # Partial sums stay within [-NI, NE] * RATE_Q, so acc_bits + 1 never wraps.
        acc = Signal(signed(fp.acc_bits + 1), reset_less=True)
        done = Signal()
        with m.If(c_valid):
            m.d.sync += acc.eq(Mux(c_first, group, acc + group))
        m.d.sync += done.eq(c_valid & c_last)
        amax = fp.action_max
        product = mul_const(m, acc, fp.rout_q, name="scale")
        # The rounding add and the saturating compare in separate cycles: together they were
        # the core's critical path (10.0 ns, nextpnr-ecp5 out of context).
        scaled = Signal(rs(product, fp.out_shift).shape(), name="scaled", reset_less=True)
        m.d.sync += scaled.eq(rs(product, fp.out_shift))
        clipped = Mux(scaled > amax, Const(amax, signed(fp.action_bits)),
                      Mux(scaled < -amax, Const(-amax, signed(fp.action_bits)), scaled))
        m.d.sync += [self.o_valid.eq(delay(m, done, MUL_CONST_LATENCY + 1, name="done")),
                     self.action.eq(clipped)]
        return m
