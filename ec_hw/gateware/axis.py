"""The PCIe device: the Xilinx XDMA IP's AXI4-Stream H2C/C2H ports <-> the wire protocol.

The XDMA IP in AXI-Stream mode hands the host's ``write()`` to ``/dev/xdma0_h2c_0`` to the
card as an AXI4-Stream (``tdata``/``tkeep``/``tlast``) and turns a C2H stream back into the
host's ``read()`` of ``/dev/xdma0_c2h_0``; a read completes early at ``tlast``. Both streams
run in the IP's user clock (``axi_aclk``: 250 MHz at 64 bits or 125 MHz at 128 bits for x4
Gen2); the protocol and the cores run in ``sync``.

:class:`AxisTop` = H2C :class:`~amaranth.lib.fifo.AsyncFIFO` -> :class:`AxisToBytes` ->
:class:`~ec_hw.gateware.top.Top` (byte-stream link: the same frames, CRC and reply cache as over
the UART) -> :class:`BytesToAxis` -> C2H ``AsyncFIFO``. Frames are self-delimiting (SYNC +
length + CRC), so H2C's ``tlast`` carries no meaning here; each reply frame ends with a C2H
``tlast``, so one host ``read()`` returns one reply.
"""

from __future__ import annotations

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, Mux, ResetSignal, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import CoreConfig, NetConfig
from .top import Top

__all__ = ["AxiStreamSignature", "axis_layout", "AxisToBytes", "BytesToAxis", "AxisTop",
           "AxisPins", "XDMA_LINKS"]

XDMA_LINKS = {(1, 1): (64, 62_500_000), (1, 2): (64, 125_000_000), (2, 1): (64, 125_000_000),
              (2, 2): (64, 250_000_000), (4, 1): (64, 250_000_000),
              (4, 2): (64, 250_000_000)}
"""``(lanes, gen) -> (AXI data width, axi_aclk Hz)`` the XDMA IP (PG195, 7 series) offers
for a link at the narrowest width (x4 Gen2 is also offered at 128 bits / 125 MHz)."""


def axis_layout(data_bits: int) -> data.StructLayout:
    """AXI4-Stream beat: ``data`` (``tdata``), ``keep`` (``tkeep``, one bit per byte),
    ``last`` (``tlast``)."""
    if data_bits not in (64, 128, 256):
        raise ValueError(f"data_bits must be 64, 128 or 256 (the XDMA IP's widths), not "
                         f"{data_bits!r}")
    return data.StructLayout({"data": data_bits, "keep": data_bits // 8, "last": 1})


def AxiStreamSignature(data_bits: int) -> stream.Signature:  # noqa: N802 - a signature "type"
    """``stream.Signature`` of an AXI4-Stream of ``data_bits`` (``valid``/``ready`` are
    ``tvalid``/``tready``; the payload is :func:`axis_layout`)."""
    return stream.Signature(axis_layout(data_bits))


class AxisToBytes(wiring.Component):
    """AXI4-Stream beats -> bytes, in byte-lane order, skipping lanes whose ``keep`` is 0.

    Members
    -------
    i : In(AxiStreamSignature(data_bits))
        A beat is taken in the cycle its last kept byte leaves (or at once if it keeps none).
    o : Out(stream.Signature(8))
        One byte per cycle at most (``data_bits / 8`` cycles per full beat: 60 MB/s at the
        PCIe boards' 60 MHz core clock, what the frame parser takes).
    """

    def __init__(self, data_bits: int = 64):
        self.data_bits = data_bits
        super().__init__({"i": In(AxiStreamSignature(data_bits)),
                          "o": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        nb = self.data_bits // 8
        beat = self.i.payload
        left = Signal(nb)            # kept bytes of the current beat not yet sent
        fresh = Signal(init=1)       # ``left`` must be loaded from the beat's keep
        pending = Signal(nb)
        m.d.comb += pending.eq(Mux(fresh, beat.keep, left))
        lowest = Signal(range(nb))   # the first pending byte lane
        for b in reversed(range(nb)):
            with m.If(pending[b]):
                m.d.comb += lowest.eq(b)
        rest = Signal(nb)
        m.d.comb += [rest.eq(pending & (pending - 1)),    # clears the lowest set bit
                     self.o.payload.eq(beat.data.word_select(lowest, 8)),
                     self.o.valid.eq(self.i.valid & pending.any())]
        with m.If(self.i.valid):
            with m.If(~pending.any()):
                m.d.comb += self.i.ready.eq(1)
            with m.Elif(self.o.ready):
                m.d.sync += [left.eq(rest), fresh.eq(0)]
                with m.If(~rest.any()):
                    m.d.comb += self.i.ready.eq(1)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += fresh.eq(1)
        return m


class BytesToAxis(wiring.Component):
    """Bytes -> AXI4-Stream beats; a frame's last beat carries ``last`` and keeps only its
    bytes.

    The end of a frame is ``end`` (high while nothing is being sent: the device is idle). A full
    beat is held until the next byte comes (then it goes without ``last``) or ``end`` rises
    (then it goes with ``last``), so every frame ends with exactly one ``last``.

    Members
    -------
    i : In(stream.Signature(8))
    end : In(1)
        The byte source has finished a frame and sends no more until the next request.
    o : Out(AxiStreamSignature(data_bits))
    """

    def __init__(self, data_bits: int = 64):
        self.data_bits = data_bits
        super().__init__({"i": In(stream.Signature(8)), "end": In(1),
                          "o": Out(AxiStreamSignature(data_bits))})

    def elaborate(self, platform):
        m = Module()
        nb = self.data_bits // 8
        word = Signal(self.data_bits)
        count = Signal(range(nb + 1))     # bytes held in ``word``
        beat = self.o.payload
        m.d.comb += [beat.data.eq(word),
                     beat.keep.eq((1 << count) - 1)]
        full = count == nb
        flush = (count != 0) & self.end & ~self.i.valid
        m.d.comb += [self.o.valid.eq((full & self.i.valid) | flush),
                     beat.last.eq(flush),
                     self.i.ready.eq(~full | self.o.ready)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += count.eq(0)
        with m.If(self.i.valid & self.i.ready):
            with m.If(full):
                m.d.sync += [word.eq(self.i.payload), count.eq(1)]
            with m.Else():
                m.d.sync += [word.word_select(count, 8).eq(self.i.payload),
                             count.eq(count + 1)]
        return m


class AxisTop(wiring.Component):
    """The PCIe device: XDMA AXI4-Stream ports around :class:`~ec_hw.gateware.top.Top`.

    Clock domains: ``pcie`` (the XDMA ``axi_aclk`` and its reset) for ``h2c``/``c2h``, ``sync``
    (the core clock) for everything else; they meet in two ``AsyncFIFO`` of ``fifo_depth``
    beats. Both domains come from outside (the block design).

    Parameters
    ----------
    net, core : NetConfig, CoreConfig
        As :class:`~ec_hw.gateware.top.Top` (``core.slots`` in all).
    cores : int
        Cores behind the link (:class:`~ec_hw.gateware.multicore.CoreArray` when > 1).
    data_bits : int
        The XDMA AXI-Stream width (64 for x4 Gen2 at 250 MHz).
    clk_hz, build_id, sampler : see :class:`~ec_hw.gateware.top.Top`.
    fifo_depth : int
        Beats of each clock-crossing FIFO (a power of two).

    Members
    -------
    h2c : In(AxiStreamSignature(data_bits))
        The XDMA ``M_AXIS_H2C_0`` stream (host writes).
    c2h : Out(AxiStreamSignature(data_bits))
        The XDMA ``S_AXIS_C2H_0`` stream (host reads); ``last`` ends every reply frame.
    idle : Out(1)
        As ``Top.idle`` (``sync`` domain; an LED).

    Latency: a request's bytes reach the parser about 4 ``sync`` cycles after its beats are in
    the H2C FIFO; the reply's last beat leaves about 4 ``pcie`` cycles after the serializer's
    last byte. Command cycles are :class:`~ec_hw.gateware.top.Top`'s.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, cores: int = 1,
                 data_bits: int = 64, clk_hz: int = 0, build_id: int = 0,
                 sampler: bool = True, fifo_depth: int = 16, idle_timeout: int | None = None):
        axis_layout(data_bits)   # validates data_bits
        if fifo_depth < 4 or fifo_depth & (fifo_depth - 1):
            raise ValueError(f"fifo_depth must be a power of two of at least 4, not "
                             f"{fifo_depth!r}")
        self.data_bits, self.fifo_depth = data_bits, fifo_depth
        self.top = Top(net, core, divisor=None, byte_stream=True, cores=cores, clk_hz=clk_hz,
                       build_id=build_id, sampler=sampler, idle_timeout=idle_timeout)
        self.info = self.top.info
        super().__init__({"h2c": In(AxiStreamSignature(data_bits)),
                          "c2h": Out(AxiStreamSignature(data_bits)),
                          "idle": Out(1)})

    def elaborate(self, platform):
        m = Module()
        layout = axis_layout(self.data_bits)
        m.submodules.top = top = self.top
        m.submodules.h2c_fifo = h2c_fifo = fifo.AsyncFIFO(
            width=layout.size, depth=self.fifo_depth, w_domain="pcie", r_domain="sync")
        m.submodules.c2h_fifo = c2h_fifo = fifo.AsyncFIFO(
            width=layout.size, depth=self.fifo_depth, w_domain="sync", r_domain="pcie")
        m.submodules.unpack = unpack = AxisToBytes(self.data_bits)
        m.submodules.pack = pack = BytesToAxis(self.data_bits)

        # pcie -> sync
        m.d.comb += [h2c_fifo.w_data.eq(self.h2c.payload), h2c_fifo.w_en.eq(self.h2c.valid),
                     self.h2c.ready.eq(h2c_fifo.w_rdy),
                     unpack.i.payload.eq(h2c_fifo.r_data), unpack.i.valid.eq(h2c_fifo.r_rdy),
                     h2c_fifo.r_en.eq(unpack.i.ready)]
        wiring.connect(m, unpack.o, top.i)
        # sync -> pcie
        wiring.connect(m, top.o, pack.i)
        m.d.comb += [pack.end.eq(top.idle), self.idle.eq(top.idle),
                     c2h_fifo.w_data.eq(pack.o.payload), c2h_fifo.w_en.eq(pack.o.valid),
                     pack.o.ready.eq(c2h_fifo.w_rdy),
                     self.c2h.payload.eq(c2h_fifo.r_data), self.c2h.valid.eq(c2h_fifo.r_rdy),
                     c2h_fifo.r_en.eq(self.c2h.ready)]
        return m


class AxisPins(Elaboratable):
    """:class:`AxisTop` with the port names of a Vivado RTL module next to the XDMA IP.

    ``s_axis_h2c_{tdata,tkeep,tlast,tvalid,tready}`` (from ``M_AXIS_H2C_0``),
    ``m_axis_c2h_*`` (to ``S_AXIS_C2H_0``), ``axi_aclk``/``axi_aresetn`` (the IP's user clock
    and its active-low reset), ``core_clk``/``core_rst`` (the core clock, active-high reset),
    ``idle``. Vivado infers the two AXI-Stream interfaces from the names; cocotbext-axi's
    ``AxiStreamBus.from_prefix`` finds them the same way. The clock ports carry Vivado's
    ``X_INTERFACE_PARAMETER`` (which interfaces and reset they clock, at what frequency) when
    the frequencies are given.
    """

    def __init__(self, top: AxisTop, *, axi_clk_hz: int = 0, core_clk_hz: int = 0):
        self.top = top
        w = top.data_bits

        def clock(name, params):
            attrs = {"X_INTERFACE_INFO": f"xilinx.com:signal:clock:1.0 {name} CLK",
                     "X_INTERFACE_PARAMETER": params} if axi_clk_hz else {}
            return Signal(name=name, attrs=attrs)

        self.axi_aclk = clock("axi_aclk", "ASSOCIATED_BUSIF s_axis_h2c:m_axis_c2h, "
                              f"ASSOCIATED_RESET axi_aresetn, FREQ_HZ {axi_clk_hz}")
        self.core_clk = clock("core_clk", f"ASSOCIATED_RESET core_rst, FREQ_HZ {core_clk_hz}")
        self.axi_aresetn, self.core_rst = Signal(name="axi_aresetn"), Signal(name="core_rst")
        self.idle = Signal(name="idle")
        self.h2c = {f: Signal(n, name=f"s_axis_h2c_{f}") for f, n in
                    (("tdata", w), ("tkeep", w // 8), ("tlast", 1), ("tvalid", 1),
                     ("tready", 1))}
        self.c2h = {f: Signal(n, name=f"m_axis_c2h_{f}") for f, n in
                    (("tdata", w), ("tkeep", w // 8), ("tlast", 1), ("tvalid", 1),
                     ("tready", 1))}

    def ports(self) -> list[Signal]:
        return [self.axi_aclk, self.axi_aresetn, self.core_clk, self.core_rst, self.idle,
                *self.h2c.values(), *self.c2h.values()]

    def elaborate(self, platform):
        m = Module()
        m.submodules.top = top = self.top
        m.domains.sync = ClockDomain("sync")
        m.domains.pcie = ClockDomain("pcie")
        m.d.comb += [ClockSignal("sync").eq(self.core_clk), ResetSignal("sync").eq(self.core_rst),
                     ClockSignal("pcie").eq(self.axi_aclk),
                     ResetSignal("pcie").eq(~self.axi_aresetn),
                     self.idle.eq(top.idle)]
        for axis, port, into in ((self.h2c, top.h2c, True), (self.c2h, top.c2h, False)):
            pairs = [(axis["tdata"], port.payload.data), (axis["tkeep"], port.payload.keep),
                     (axis["tlast"], port.payload.last), (axis["tvalid"], port.valid)]
            for pin, sig in pairs:
                m.d.comb += (sig.eq(pin) if into else pin.eq(sig))
            m.d.comb += (axis["tready"].eq(port.ready) if into else
                         port.ready.eq(axis["tready"]))
        return m
