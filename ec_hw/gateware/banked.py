"""A deep memory as banks of block RAM, each bank's output registered next to it.

A deep ``lib.memory.Memory`` maps to a column of block RAMs whose outputs the synthesizer joins
with a multiplexer in logic: on an ECP5 the block RAM's own clock-to-out (5.8 ns without its
output register) plus the route across the chip to that multiplexer and its LUT levels took
15.4 ns for the sampler's rho memory (nextpnr, ULX3S at 100 MHz). :class:`BankedMemory`
registers each bank's output in the cycle after the read, then selects the bank: two cycles of
read latency, a register between every block RAM and any logic.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

__all__ = ["BankedMemory"]


class BankedMemory(wiring.Component):
    """``depth`` words of ``width`` bits in banks of ``bank_depth`` words.

    Parameters
    ----------
    width, depth : int
    bank_depth : int
        Words per bank, a power of two (512: one 512 x 72 block RAM of a 7-series part, two
        512 x 36 of an ECP5).

    Members
    -------
    w_addr, w_data, w_en : In
        Write port (one word per cycle).
    r_addr, r_en : In; r_data : Out(width)
        Read port: the word at ``r_addr`` (read when ``r_en``) is on ``r_data`` two cycles
        later (bank read, bank output register; the bank select is a multiplexer after the
        registers). ``r_data`` holds until the next read's data arrives. A read of an address
        written in the same cycle returns the old word.
    """

    read_latency = 2

    def __init__(self, width: int, depth: int, *, bank_depth: int = 512):
        for name, v in (("width", width), ("depth", depth), ("bank_depth", bank_depth)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if bank_depth & (bank_depth - 1):
            raise ValueError(f"bank_depth must be a power of two, not {bank_depth!r}")
        self.width, self.depth, self.bank_depth = width, depth, bank_depth
        self.banks = -(-depth // bank_depth)
        addr = range(max(2, depth))
        super().__init__({
            "w_addr": In(addr), "w_data": In(width), "w_en": In(1),
            "r_addr": In(addr), "r_en": In(1), "r_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        low = ceil_log2(self.bank_depth)
        r_bank, w_bank = self.r_addr[low:], self.w_addr[low:]
        outs = []
        for b in range(self.banks):
            depth = min(self.bank_depth, self.depth - b * self.bank_depth)
            mem = Memory(shape=self.width, depth=max(2, depth), init=[])
            m.submodules[f"bank{b}"] = mem
            wr, rd = mem.write_port(), mem.read_port()
            q = Signal(self.width, name=f"bank{b}_q")
            sel = (w_bank == b) if self.banks > 1 else 1
            m.d.comb += [wr.addr.eq(self.w_addr[:low]), wr.data.eq(self.w_data),
                         wr.en.eq(self.w_en & sel), rd.addr.eq(self.r_addr[:low]),
                         rd.en.eq(self.r_en)]
            m.d.sync += q.eq(rd.data)   # next to the block RAM: no logic between
            outs.append(q)
        if self.banks == 1:
            m.d.comb += self.r_data.eq(outs[0])
            return m
        # The bank select follows the reads only, so r_data holds between reads.
        bank1, bank2 = Signal.like(r_bank), Signal.like(r_bank)
        valid1 = Signal()
        m.d.sync += valid1.eq(self.r_en)
        with m.If(self.r_en):
            m.d.sync += bank1.eq(r_bank)
        with m.If(valid1):
            m.d.sync += bank2.eq(bank1)
        m.d.comb += self.r_data.eq(Array(outs)[bank2])
        return m
