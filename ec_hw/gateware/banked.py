"""A deep memory as banks of block RAM with a register on every side of each bank.

A deep ``lib.memory.Memory`` maps to a column of block RAMs whose outputs the synthesizer joins
with a multiplexer in logic: on an ECP5 the block RAM's own clock-to-out (5.8 ns without its
output register) plus the route across the chip to that multiplexer and its LUT levels took
15.4 ns for the sampler's rho memory (nextpnr, ULX3S at 100 MHz). Registering each bank's
output and then selecting the bank still left a 32-way multiplexer whose select register fans
out to every one of its 2,304 inputs: 17.5 ns, 15.8 ns of it routing (the sampler alone,
nextpnr out of context). :class:`BankedMemory` instead

* registers the ports in front of the block RAMs, one copy per group of 8 banks, loaded only
  when that group is addressed (so synthesis cannot merge the copies back into one): no
  flip-flop drives more than one group's address and data pins (one shared copy driving all 64
  DP16KD was the sampler's critical path, 13.2 ns of routing, 71.7 MHz);
* registers each block RAM's output straight into flip-flops with no logic in between (a
  zeroing LUT there, behind the 5.8 ns clock-to-out, was next: 10.4 ns, 95.9 MHz);
* ORs the banks in a registered tree of groups of 8, each bank's word zeroed unless it was the
  one read (a per-bank flag, no shared select): four cycles of read latency.

Data registers have no reset (the valid strobes do). Copies of the ports behind one more
register stage (a fifth cycle) did not route: router2 congestion grew instead of settling.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .bram import dp16kd_ram

__all__ = ["BankedMemory"]

_GROUP = 8
"""Banks per group of the output OR tree (8 words: two LUT levels)."""


class BankedMemory(wiring.Component):
    """``depth`` words of ``width`` bits in banks of ``bank_depth`` words.

    Parameters
    ----------
    width, depth : int
    bank_depth : int
        Words per bank, a power of two (512: one 512 x 72 block RAM of a 7-series part, two
        512 x 36 of an ECP5).
    primitive : {None, "dp16kd"}
        ``"dp16kd"``: each bank as ECP5 DP16KD block RAMs (36-bit pseudo dual port) with the
        bank's output register in the block RAM (``REGMODE = "OUTREG"``,
        :func:`~ec_hw.gateware.bram.dp16kd_ram`), instantiated directly because Yosys's ECP5
        block-RAM mapping never uses that register. ``None``
        (default): ``lib.memory`` banks, or DP16KD when elaborated for an ECP5 platform and
        ``bank_depth`` is 512. Same cycles and contents either way (``sim/test_gate_level.py``
        compares the two).

    Members
    -------
    w_addr, w_data, w_en : In
        Write port (one word per cycle).
    r_addr, r_en : In; r_data : Out(width)
        Read port: the word at ``r_addr`` (read when ``r_en``) is on ``r_data``
        :attr:`read_latency` (4) cycles later (port register, bank read, bank output register,
        group OR register; the OR of the groups follows the last registers). ``r_data`` holds
        until the next read's data arrives. Writes pass the same port register, so a read of
        an address written in the same cycle returns the old word and a read in any later
        cycle the new one.
    """

    read_latency = 4

    def __init__(self, width: int, depth: int, *, bank_depth: int = 512,
                 primitive: str | None = None):
        for name, v in (("width", width), ("depth", depth), ("bank_depth", bank_depth)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if bank_depth & (bank_depth - 1):
            raise ValueError(f"bank_depth must be a power of two, not {bank_depth!r}")
        if primitive not in (None, "dp16kd"):
            raise ValueError(f"primitive must be None or 'dp16kd', not {primitive!r}")
        if primitive == "dp16kd" and bank_depth != 512:
            raise ValueError(f"a DP16KD bank is 512 words deep, not {bank_depth!r}")
        self.width, self.depth, self.bank_depth = width, depth, bank_depth
        self.primitive = primitive
        self.banks = -(-depth // bank_depth)
        addr = range(max(2, depth))
        super().__init__({
            "w_addr": In(addr), "w_data": In(width), "w_en": In(1),
            "r_addr": In(addr), "r_en": In(1), "r_data": Out(width),
        })

    def elaborate(self, platform):
        m = Module()
        low = ceil_log2(self.bank_depth)
        dp16kd = self.primitive == "dp16kd" or (
            self.primitive is None and self.bank_depth == 512
            and getattr(platform, "family", None) == "ecp5")
        # Stage 1: the ports registered (a copy of the addresses and write data per group of
        # banks, loaded when that group is addressed; a per-bank enable), so every block-RAM
        # input comes straight from a flip-flop that drives at most one group.
        valid1, valid2, valid3 = (Signal(name=f"valid{k}") for k in (1, 2, 3))
        m.d.sync += [valid1.eq(self.r_en), valid2.eq(valid1), valid3.eq(valid2)]
        r_bank, w_bank = self.r_addr[low:], self.w_addr[low:]
        n_groups = -(-self.banks // _GROUP)
        ports = []
        for g in range(n_groups):
            r_addr1 = Signal(low, name=f"g{g}_r_addr1", reset_less=True)
            w_addr1 = Signal(low, name=f"g{g}_w_addr1", reset_less=True)
            w_data1 = Signal(self.width, name=f"g{g}_w_data1", reset_less=True)
            if n_groups > 1:
                r_hit, w_hit = (r_bank // _GROUP) == g, (w_bank // _GROUP) == g
            else:
                r_hit = w_hit = 1
            with m.If(self.r_en & r_hit):
                m.d.sync += r_addr1.eq(self.r_addr[:low])
            with m.If(self.w_en & w_hit):
                m.d.sync += [w_addr1.eq(self.w_addr[:low]), w_data1.eq(self.w_data)]
            ports.append((r_addr1, w_addr1, w_data1))
        outs = []
        for b in range(self.banks):
            r_addr1, w_addr1, w_data1 = ports[b // _GROUP]
            hit = (lambda bank, b=b: bank == b) if self.banks > 1 else (lambda bank: 1)
            r_en1, w_en1 = Signal(name=f"bank{b}_r_en"), Signal(name=f"bank{b}_w_en")
            hit2, hit3 = Signal(name=f"bank{b}_hit"), Signal(name=f"bank{b}_hit3")
            m.d.sync += [r_en1.eq(self.r_en & hit(r_bank)), w_en1.eq(self.w_en & hit(w_bank)),
                         hit2.eq(r_en1)]
            # Stage 3, next to the block RAM: its word, straight into flip-flops (no logic
            # after the block RAM's 5.8 ns clock-to-out), and whether it was read.
            with m.If(valid2):
                m.d.sync += hit3.eq(hit2)
            if dp16kd:
                q = dp16kd_ram(m, f"bank{b}", self.width, self.bank_depth, w_addr1, w_data1,
                               w_en1, r_addr1, r_en1, valid2)
            else:
                depth = min(self.bank_depth, self.depth - b * self.bank_depth)
                mem = Memory(shape=self.width, depth=max(2, depth), init=[])
                m.submodules[f"bank{b}"] = mem
                wr, rd = mem.write_port(), mem.read_port()
                m.d.comb += [wr.addr.eq(w_addr1), wr.data.eq(w_data1), wr.en.eq(w_en1),
                             rd.addr.eq(r_addr1), rd.en.eq(r_en1)]
                q = Signal(self.width, name=f"bank{b}_q", reset_less=True)
                with m.If(valid2):
                    m.d.sync += q.eq(rd.data)
            outs.append(Mux(hit3, q, 0))
        # Stage 4: an OR of each group of up to 8 banks, each zeroed unless it was read (at
        # most one was; two LUT levels); then the OR of the groups. Registers update only
        # after a read, so r_data holds between reads.
        groups = []
        for g in range(0, self.banks, _GROUP):
            q = Signal(self.width, name=f"group{g // _GROUP}_q", reset_less=True)
            with m.If(valid3):
                m.d.sync += q.eq(_or(outs[g:g + _GROUP]))
            groups.append(q)
        m.d.comb += self.r_data.eq(_or(groups))
        return m


def _or(values):
    acc = values[0]
    for v in values[1:]:
        acc = acc | v
    return acc
