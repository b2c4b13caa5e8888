"""Pipelined popcount of ``row & spikes``, split excitatory / inhibitory, accumulated per row.

Twin of :func:`ec_hw.model.popcount.popcount_ei` (exact unsigned counts, see
:mod:`ec_hw.fixedpoint` step 2). Also home of :func:`adder_tree`, the balanced pipelined adder
tree shared by the projection and the readout.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PopcountTree", "adder_tree", "delay", "tree_registers"]


def adder_tree(m: Module, terms: list, *, regs_every: int, name: str) -> tuple[Value, int]:
    """Sum ``terms`` with a balanced binary tree, registering every ``regs_every`` levels.

    Returns ``(sum, registers)``: the sum as a Value and the number of register stages (cycles
    of latency) inserted on the way. The final level is not registered (the caller decides).
    Values keep their natural (growing) widths, so the sum is exact.
    """
    if not terms:
        raise ValueError("adder_tree needs at least one term")
    level = [Value.cast(t) for t in terms]
    depth = 0
    regs = 0
    while len(level) > 1:
        nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        depth += 1
        level = nxt
        if len(level) > 1 and depth % regs_every == 0:
            staged = []
            for i, v in enumerate(level):
                r = Signal(v.shape(), name=f"{name}_l{depth}_{i}", reset_less=True)
                m.d.sync += r.eq(v)
                staged.append(r)
            level = staged
            regs += 1
    return level[0], regs


def tree_registers(terms: int, regs_every: int) -> int:
    """Register stages :func:`adder_tree` inserts for ``terms`` terms."""
    levels = (terms - 1).bit_length()
    return max(0, (levels - 1) // regs_every)


def delay(m: Module, value, cycles: int, *, name: str) -> Value:
    """``value`` delayed by ``cycles`` clock cycles through a register chain.

    A multi-bit value is data that a 1-bit valid delayed beside it qualifies: its registers
    have no reset (the domain reset then drives fewer flip-flops, see ``docs/timing.md``); a
    1-bit value (a valid, first or last strobe) keeps its reset."""
    v = Value.cast(value)
    for i in range(cycles):
        r = Signal(v.shape(), name=f"{name}_d{i}", reset_less=len(v) > 1)
        m.d.sync += r.eq(v)
        v = r
    return v


class PopcountTree(wiring.Component):
    """Counts the set bits of ``row & spk_e`` and ``row & spk_i`` over the words of one row.

    Golden-model twin: :func:`ec_hw.model.popcount.popcount_ei`.

    Parameters
    ----------
    width : int
        Bits per word (the core's ``word_bits``).
    count_bits : int
        Width of the accumulated counts (must hold the largest per-row count).
    regs_every : int
        Adder-tree levels between pipeline registers (timing vs. latency).
    register_row : bool
        True (default): ``row`` is registered with the other inputs. False: ``row`` comes
        already registered (from a block RAM's output register,
        :class:`~ec_hw.gateware.bram.RegisteredRAM`) one cycle after the ``valid`` /
        ``first`` / ``last`` / ``spk_e`` / ``spk_i`` it belongs to, and takes the input
        register's place (same latency; no block-RAM clock-to-out in front of the tree).

    Members
    -------
    valid, first, last : In(1)
        A word is presented when ``valid``; ``first``/``last`` mark a row's first/last word
        (both for a one-word row). Words of a row may come on any cycles, in order.
    row, spk_e, spk_i : In(width)
        Connection word and the matching excitatory-/inhibitory-masked spike words.
    o_valid : Out(1)
        High for one cycle, :attr:`latency` cycles after a row's last word was presented.
    pe, pi : Out(count_bits)
        The row's counts, valid while ``o_valid``.
    """

    def __init__(self, width: int, count_bits: int, *, regs_every: int = 3,
                 register_row: bool = True):
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive integer, not {width!r}")
        if not isinstance(count_bits, int) or count_bits < 1:
            raise ValueError(f"count_bits must be a positive integer, not {count_bits!r}")
        if not isinstance(regs_every, int) or regs_every < 1:
            raise ValueError(f"regs_every must be a positive integer, not {regs_every!r}")
        self.width = width
        self.count_bits = count_bits
        self.regs_every = regs_every
        self.register_row = bool(register_row)
        self.latency = self.latency_of(width, regs_every)
        super().__init__({
            "valid": In(1), "first": In(1), "last": In(1),
            "row": In(width), "spk_e": In(width), "spk_i": In(width),
            "o_valid": Out(1), "pe": Out(count_bits), "pi": Out(count_bits),
        })

    @staticmethod
    def latency_of(width: int, regs_every: int = 3) -> int:
        """Cycles from a row's last word to ``o_valid``: the input register, the tree's
        registers, the word-count register and the accumulator."""
        return tree_registers(width, regs_every) + 3

    def elaborate(self, platform):
        m = Module()
        # Input register: ``row`` comes straight from a block RAM, whose clock-to-out (5-6 ns
        # on an ECP5 without its output register) leaves no time for adder levels at 100 MHz.
        row, spk_e, spk_i = (Signal(self.width, reset_less=True) for _ in range(3))
        i_valid, i_first, i_last = Signal(), Signal(), Signal()
        m.d.sync += [spk_e.eq(self.spk_e), spk_i.eq(self.spk_i),
                     i_valid.eq(self.valid), i_first.eq(self.first), i_last.eq(self.last)]
        if self.register_row:
            m.d.sync += row.eq(self.row)
        else:
            m.d.comb += row.eq(self.row)
        hit_e = row & spk_e
        hit_i = row & spk_i
        sum_e, regs = adder_tree(m, [hit_e[b] for b in range(self.width)],
                                 regs_every=self.regs_every, name="pe")
        sum_i, _ = adder_tree(m, [hit_i[b] for b in range(self.width)],
                              regs_every=self.regs_every, name="pi")
        valid = delay(m, i_valid, regs, name="valid")
        first = delay(m, i_first, regs, name="first")
        last = delay(m, i_last, regs, name="last")
        # Word-count register: cuts the tree from the accumulator's adder.
        cnt_e = Signal(unsigned(self.width.bit_length()), reset_less=True)
        cnt_i = Signal(unsigned(self.width.bit_length()), reset_less=True)
        c_valid = Signal()
        c_first = Signal()
        c_last = Signal()
        m.d.sync += [cnt_e.eq(sum_e), cnt_i.eq(sum_i), c_valid.eq(valid), c_first.eq(first),
                     c_last.eq(last)]
        with m.If(c_valid):
            with m.If(c_first):
                m.d.sync += [self.pe.eq(cnt_e), self.pi.eq(cnt_i)]
            with m.Else():
                m.d.sync += [self.pe.eq(self.pe + cnt_e), self.pi.eq(self.pi + cnt_i)]
        m.d.sync += self.o_valid.eq(c_valid & c_last)
        assert regs + 3 == self.latency
        return m
