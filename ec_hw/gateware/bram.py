"""Block RAM with its output register: two cycles from read address to data.

On an ECP5 a block RAM's data leaves the DP16KD 5.6-5.8 ns after the clock unless the
primitive's own output register is used (0.96 ns with it; nextpnr-ecp5 on the ULX3S). Yosys's
ECP5 block-RAM mapping never uses that register, and a flip-flop written after a Yosys-mapped
block RAM does not help: synthesis merges it away and the 5.8 ns clock-to-out stays on the
path (the core at 95.27 MHz, its critical path ``w_rec1`` DP16KD DOB -> popcount input
register, docs/timing.md). So on an ECP5 the memories here are DP16KD instances with
``REGMODE = "OUTREG"``; elsewhere they are a ``lib.memory`` read port and a register, the
same cycles and contents (``sim/test_gate_level.py`` compares the two, initial contents
included).

* :class:`RegisteredRAM`: one write port, one read port, :attr:`~RegisteredRAM.read_latency` 2.
* :func:`dp16kd_ram`: the DP16KD instances of one such memory (also the banks of
  :class:`~ec_hw.gateware.banked.BankedMemory`).
"""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Shape, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["RegisteredRAM", "dp16kd_ram", "dp16kd_mode", "dp16kd_initvals"]

_MODES = ((512, 36), (1024, 18))
"""DP16KD configurations used: (words, data bits) of the 36-bit pseudo dual port and of the
18-bit true dual port mode (one write port A, one read port B)."""


def dp16kd_mode(depth: int) -> int | None:
    """Data width of the DP16KD mode that holds ``depth`` words in one primitive per column
    (36 up to 512 words, 18 up to 1024), or None when deeper."""
    for words, bits in _MODES:
        if depth <= words:
            return bits
    return None


def dp16kd_initvals(words, mode: int) -> dict[str, Const]:
    """``INITVAL_00`` .. ``INITVAL_3F`` of one DP16KD holding ``words`` (ints of ``mode`` bits,
    at most 1024 * 18 / mode of them), in the layout of Yosys's
    ``share/lattice/brams_map_16kd.v``: the RAM as 1024 words of 18 bits, 16 per 320-bit value,
    word ``i`` at bits ``20 i + 17 .. 20 i``; a 36-bit word ``k`` is the 18-bit words ``2k``
    (low half) and ``2k + 1``. Only the nonzero values are returned."""
    w18 = []
    for w in words:
        w = int(w)
        w18 += [w & 0x3FFFF, w >> 18] if mode == 36 else [w]
    out = {}
    for idx in range(64):
        v = 0
        for i, w in enumerate(w18[idx * 16:idx * 16 + 16]):
            v |= (w & 0x3FFFF) << (20 * i)
        if v:
            out[f"p_INITVAL_{idx:02X}"] = Const(v, 320)
    return out


def dp16kd_ram(m, name, width, depth, w_addr, w_data, w_en, r_addr, r_en, o_en, init=()):
    """``depth`` words of ``width`` bits as ``ceil(width / mode)`` DP16KD side by side
    (:func:`dp16kd_mode`), port A writing, port B reading, with the output registers
    (``REGMODE = "OUTREG"``, loaded when ``o_en``): the word at ``r_addr`` (read when ``r_en``)
    two clock edges later, as a ``lib.memory`` read port and a register enabled by ``o_en``.

    Wired as Yosys's ``share/lattice/brams_map_16kd.v`` wires ``$__PDPW16KD_`` (36 bits: port
    A writes DIA/DIB at ADA[13:5] with byte enables ADA[3:0], port B reads DOA/DOB at
    ADB[13:5]) and ``$__DP16KD_`` (18 bits: word address AD[13:4], byte enables AD[1:0]). In
    the 36-bit mode both ports' output registers are set, because the low half leaves on DOA:
    with ``REGMODE_A = "NOREG"`` nextpnr times DOA at the unregistered 5.6 ns clock-to-out.
    ``init``: initial words (ints), the rest zeros. Returns the registered word."""
    mode = dp16kd_mode(depth)
    if mode is None:
        raise ValueError(f"a DP16KD column holds at most {_MODES[-1][0]} words, not {depth!r}")
    abits = {36: 9, 18: 10}[mode]
    alow = 14 - abits
    init = [int(v) for v in init]
    q = Signal(width, name=f"{name}_q")
    for k, lo in enumerate(range(0, width, mode)):
        hi = min(lo + mode, width)
        di, do = Signal(36, name=f"{name}_{k}_di"), Signal(36, name=f"{name}_{k}_do")
        m.d.comb += [di.eq(w_data[lo:hi]), q[lo:hi].eq(do[:hi - lo])]
        ports = {"i_CLKA": ClockSignal(), "i_WEA": 1, "i_CEA": w_en, "i_RSTA": 0,
                 "i_CLKB": ClockSignal(), "i_WEB": 0, "i_CEB": r_en, "i_OCEB": o_en,
                 "i_RSTB": 0, "i_OCEA": o_en if mode == 36 else 0}
        for j in range(3):
            ports |= {f"i_CSA{j}": 0, f"i_CSB{j}": 0}
        for j in range(alow):
            # 36 bits: all four byte enables on ADA[3:0]; 18 bits: both on ADA[1:0]
            ports |= {f"i_ADA{j}": int(j < (4 if mode == 36 else 2)), f"i_ADB{j}": 0}
        for j in range(abits):
            ports |= {f"i_ADA{alow + j}": w_addr[j] if j < len(w_addr) else 0,
                      f"i_ADB{alow + j}": r_addr[j] if j < len(r_addr) else 0}
        for j in range(18):
            ports |= {f"i_DIA{j}": di[j], f"o_DOB{j}": do[18 + j] if mode == 36 else do[j]}
            if mode == 36:
                ports |= {f"i_DIB{j}": di[18 + j], f"o_DOA{j}": do[j]}
            else:
                ports |= {f"i_DIB{j}": 0}
        mask = (1 << (hi - lo)) - 1
        m.submodules[f"{name}_{k}"] = Instance(
            "DP16KD",
            p_DATA_WIDTH_A=mode, p_DATA_WIDTH_B=mode,
            p_REGMODE_A="OUTREG" if mode == 36 else "NOREG", p_REGMODE_B="OUTREG",
            p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC", p_CSDECODE_A="0b000",
            p_CSDECODE_B="0b000", p_WRITEMODE_A="NORMAL", p_WRITEMODE_B="NORMAL",
            p_CLKAMUX="CLKA", p_CLKBMUX="CLKB", p_GSR="AUTO",
            **dp16kd_initvals([(v >> lo) & mask for v in init], mode), **ports)
    return q


class RegisteredRAM(wiring.Component):
    """``depth`` words of ``shape`` with a registered read: the word at ``r_addr`` is on
    ``r_data`` :attr:`read_latency` (2) cycles later (the address register of the block RAM,
    then its output register). A read of the word written in the same cycle returns the old
    word.

    Parameters
    ----------
    shape : shape-castable (an int width, ``unsigned``/``signed`` or a ``data`` layout)
    depth : int
    init : sequence of int, optional
        Initial words (the rest zeros).
    primitive : {None, "dp16kd", "memory"}
        ``"dp16kd"``: ECP5 DP16KD instances with the output register (:func:`dp16kd_ram`;
        ``depth`` at most 1024). ``"memory"``: a ``lib.memory`` read port and a register.
        ``None`` (default): DP16KD when elaborated for an ECP5 platform and the depth allows,
        else ``"memory"``.

    Members
    -------
    w_addr, w_data, w_en : In
    r_addr : In; r_data : Out(shape)
    """

    read_latency = 2

    def __init__(self, shape, depth: int, *, init=(), primitive: str | None = None):
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"depth must be a positive integer, not {depth!r}")
        if primitive not in (None, "dp16kd", "memory"):
            raise ValueError(f"primitive must be None, 'dp16kd' or 'memory', not {primitive!r}")
        if primitive == "dp16kd" and dp16kd_mode(depth) is None:
            raise ValueError(f"a DP16KD column holds at most {_MODES[-1][0]} words, "
                             f"not {depth!r}")
        self.shape, self.depth, self.primitive = shape, depth, primitive
        self.init = [int(v) for v in init]
        if len(self.init) > depth:
            raise ValueError(f"init has {len(self.init)} words for a depth of {depth}")
        addr = range(max(2, depth))
        super().__init__({"w_addr": In(addr), "w_data": In(shape), "w_en": In(1),
                          "r_addr": In(addr), "r_data": Out(shape)})

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(Value.cast(self.w_data).shape()).width
        use = self.primitive or ("dp16kd" if getattr(platform, "family", None) == "ecp5"
                                 and dp16kd_mode(self.depth) is not None else "memory")
        r_data = Value.cast(self.r_data)
        if use == "dp16kd":
            q = dp16kd_ram(m, "ram", width, self.depth, self.w_addr, Value.cast(self.w_data),
                           self.w_en, self.r_addr, 1, 1, init=self.init)
            m.d.comb += r_data.eq(q)
        else:
            m.submodules.ram = mem = Memory(shape=width, depth=max(2, self.depth),
                                            init=self.init)
            wr, rd = mem.write_port(), mem.read_port()
            m.d.comb += [wr.addr.eq(self.w_addr), wr.data.eq(Value.cast(self.w_data)),
                         wr.en.eq(self.w_en), rd.addr.eq(self.r_addr)]
            q = Signal(width, name="ram_q", reset_less=True)
            m.d.sync += q.eq(rd.data)
            m.d.comb += r_data.eq(q)
        return m
