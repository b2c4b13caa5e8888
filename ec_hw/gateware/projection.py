"""Input projection, bit-exact to :mod:`ec_hw.fixedpoint` step 1.

Twin of :func:`ec_hw.model.projection.input_projection`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .lif import sat
from .popcount import adder_tree, delay, tree_registers

__all__ = ["InputProjection"]


class InputProjection(wiring.Component):
    """Sums the observation values selected by one neuron's ``W_in`` row, ``cols`` per cycle.

    Golden-model twin: :func:`ec_hw.model.projection.input_projection`. Column ``c`` of the row
    contributes ``pos[c] - neg[c]`` when its bit is set: the core feeds ``pos = x_q[c]`` for
    ``c < D`` and ``neg = x_q[c - D]`` for ``D <= c < 2D`` (zero elsewhere), so the sum is
    ``sum_i (W[j, i] - W[j, D+i]) x_q[i]`` exactly; it saturates once, to ``state_bits``.

    Parameters
    ----------
    cols : int
        Columns per cycle.
    obs_bits, state_bits : int
        Signed widths of one observation value and of the result.
    acc_bits : int
        Signed width of the exact sum (``obs_bits + 1 + ceil_log2(2D)`` is always enough).
    regs_every : int
        Adder-tree levels between pipeline registers.

    Members
    -------
    valid, first, last : In(1)
        A chunk of ``cols`` columns is presented when ``valid``; ``first``/``last`` mark the
        first/last chunk of a row.
    bits : In(cols); pos, neg : In(ArrayLayout(signed(obs_bits), cols))
    o_valid : Out(1)
        High for one cycle, :attr:`latency` cycles after a row's last chunk.
    i_in : Out(signed(state_bits))
        ``sat(sum, state_bits)``, valid while ``o_valid``.
    """

    def __init__(self, cols: int, *, obs_bits: int, state_bits: int, acc_bits: int,
                 regs_every: int = 3):
        for name, v in (("cols", cols), ("obs_bits", obs_bits), ("state_bits", state_bits),
                        ("acc_bits", acc_bits), ("regs_every", regs_every)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        self.cols = cols
        self.obs_bits = obs_bits
        self.state_bits = state_bits
        self.acc_bits = acc_bits
        self.regs_every = regs_every
        self.latency = self.latency_of(cols, regs_every)
        vals = data.ArrayLayout(signed(obs_bits), cols)
        super().__init__({
            "valid": In(1), "first": In(1), "last": In(1),
            "bits": In(cols), "pos": In(vals), "neg": In(vals),
            "o_valid": Out(1), "i_in": Out(signed(state_bits)),
        })

    @staticmethod
    def latency_of(cols: int, regs_every: int = 3) -> int:
        """Cycles from a row's last chunk to ``o_valid``: the term register, the tree's
        registers, the chunk-sum register and the accumulator (the saturation is
        combinational after it)."""
        return tree_registers(cols, regs_every) + 3

    def elaborate(self, platform):
        m = Module()
        # Terms registered: ``pos - neg`` and the select are an adder deep on their own.
        terms = []
        for c in range(self.cols):
            t = Signal(signed(self.obs_bits + 1), name=f"term{c}", reset_less=True)
            m.d.sync += t.eq(Mux(self.bits[c], self.pos[c] - self.neg[c], 0))
            terms.append(t)
        t_valid, t_first, t_last = Signal(), Signal(), Signal()
        m.d.sync += [t_valid.eq(self.valid), t_first.eq(self.first), t_last.eq(self.last)]
        total, regs = adder_tree(m, terms, regs_every=self.regs_every, name="sum")
        valid = delay(m, t_valid, regs, name="valid")
        first = delay(m, t_first, regs, name="first")
        last = delay(m, t_last, regs, name="last")
        chunk = Signal(signed(self.obs_bits + 1 + (self.cols - 1).bit_length()), reset_less=True)
        c_valid = Signal()
        c_first = Signal()
        c_last = Signal()
        m.d.sync += [chunk.eq(total), c_valid.eq(valid), c_first.eq(first), c_last.eq(last)]
        acc = Signal(signed(self.acc_bits), reset_less=True)
        with m.If(c_valid):
            m.d.sync += acc.eq(Mux(c_first, chunk, acc + chunk))
        # The saturation sits after the accumulator register: one adder + one compare per cycle.
        m.d.comb += self.i_in.eq(sat(acc, self.state_bits))
        m.d.sync += self.o_valid.eq(c_valid & c_last)
        return m
