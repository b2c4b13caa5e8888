"""A deep memory as banks of block RAM, registered on every side of each bank.

A deep ``lib.memory.Memory`` maps to a column of block RAMs whose outputs the synthesizer joins
with a multiplexer in logic: on an ECP5 the block RAM's own clock-to-out (5.8 ns without its
output register) plus the route across the chip to that multiplexer and its LUT levels took
15.4 ns for the sampler's rho memory (nextpnr, ULX3S at 100 MHz). Registering only the bank
outputs still left the read address, its enable and the write data routed from one register
to the address pins of all 64 block RAMs, and a 32-input multiplexer between the bank registers
and the consumer. :class:`BankedMemory` therefore registers each bank's address, enable and
write data next to the bank (a copy per bank, loaded only when the access targets that bank, so
the copies are not merged and each drives two block RAMs), registers each bank's output, and
selects the bank in a tree of registered multiplexers of ``group`` inputs.
"""

from __future__ import annotations

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

__all__ = ["BankedMemory"]


def _check_positive(name, v):
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer, not {v!r}")


class BankedMemory(wiring.Component):
    """``depth`` words of ``width`` bits in banks of ``bank_depth`` words.

    Parameters
    ----------
    width, depth : int
    bank_depth : int
        Words per bank, a power of two (512: one 512 x 72 block RAM of a 7-series part, two
        512 x 36 of an ECP5).
    group : int
        Inputs of each registered multiplexer of the bank-select tree (at least 2; 8: at most
        two LUT levels between registers). The last level is not registered: ``r_data`` is a
        multiplexer of at most ``group`` registers, for the consumer to register.

    Members
    -------
    w_addr, w_data, w_en : In
        Write port (one word per cycle), registered at the bank: the word is written at the
        end of the next cycle.
    r_addr, r_en : In; r_data : Out(width)
        Read port: the word at ``r_addr`` (read when ``r_en``) is on ``r_data``
        :attr:`read_latency` cycles later (address register, bank read, bank output register,
        one cycle per registered level of the bank-select tree). ``r_data`` holds until the
        next read's data arrives. Reads and writes keep their order: a read issued in the
        cycle of a write to its address returns the old word, a read issued later the new.
    read_latency : int
        ``3 + levels``: ``levels`` registered multiplexer levels (0 with at most ``group``
        banks).
    """

    def __init__(self, width: int, depth: int, *, bank_depth: int = 512, group: int = 8):
        for name, v in (("width", width), ("depth", depth), ("bank_depth", bank_depth),
                        ("group", group)):
            _check_positive(name, v)
        if bank_depth & (bank_depth - 1):
            raise ValueError(f"bank_depth must be a power of two, not {bank_depth!r}")
        if group < 2 or group & (group - 1):
            raise ValueError(f"group must be a power of two of at least 2, not {group!r}")
        self.width, self.depth, self.bank_depth, self.group = width, depth, bank_depth, group
        self.banks = -(-depth // bank_depth)
        self.levels, n = 0, self.banks
        while n > group:
            n, self.levels = -(-n // group), self.levels + 1
        self.read_latency = 3 + self.levels
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
            r_sel = (r_bank == b) if self.banks > 1 else 1
            w_sel = (w_bank == b) if self.banks > 1 else 1
            # The bank's own copy of the access, loaded only when it targets this bank.
            ra = Signal(max(1, low), name=f"bank{b}_raddr")
            re, we = Signal(name=f"bank{b}_ren"), Signal(name=f"bank{b}_wen")
            wa = Signal(max(1, low), name=f"bank{b}_waddr")
            wd = Signal(self.width, name=f"bank{b}_wdata")
            m.d.sync += [re.eq(self.r_en & r_sel), we.eq(self.w_en & w_sel)]
            with m.If(self.r_en & r_sel):
                m.d.sync += ra.eq(self.r_addr[:low])
            with m.If(self.w_en & w_sel):
                m.d.sync += [wa.eq(self.w_addr[:low]), wd.eq(self.w_data)]
            q = Signal(self.width, name=f"bank{b}_q")
            m.d.comb += [wr.addr.eq(wa), wr.data.eq(wd), wr.en.eq(we),
                         rd.addr.eq(ra), rd.en.eq(re)]
            m.d.sync += q.eq(rd.data)   # next to the block RAM: no logic between
            outs.append(q)
        if self.banks == 1:
            m.d.comb += self.r_data.eq(outs[0])
            return m
        # The bank number and a valid bit follow each read; every level of the tree loads only
        # for a read, so r_data holds between reads.
        valid, bank = self.r_en, r_bank
        for t in range(3):
            nv, nb = Signal(name=f"t{t}_valid"), Signal.like(r_bank, name=f"t{t}_bank")
            m.d.sync += nv.eq(valid)
            with m.If(valid):
                m.d.sync += nb.eq(bank)
            valid, bank = nv, nb
        shift = 0
        for lv in range(self.levels):
            gb = ceil_log2(self.group)
            nxt = []
            for k in range(0, len(outs), self.group):
                r = Signal(self.width, name=f"mux{lv}_{k // self.group}")
                with m.If(valid):
                    m.d.sync += r.eq(Array(outs[k:k + self.group])[bank[shift:shift + gb]])
                nxt.append(r)
            nv, nb = Signal(name=f"mux{lv}_valid"), Signal.like(r_bank, name=f"mux{lv}_bank")
            m.d.sync += nv.eq(valid)
            with m.If(valid):
                m.d.sync += nb.eq(bank)
            outs, valid, bank, shift = nxt, nv, nb, shift + gb
        m.d.comb += self.r_data.eq(Array(outs)[bank[shift:]])
        return m
