"""Frame parser and serializer of the wire protocol (:mod:`ec_hw.protocol`), with CRC-16.

The parser turns a byte stream into checked frames held in a payload buffer; the serializer
turns a reply descriptor plus a payload buffer into a byte stream. Both follow the receiver and
frame rules of the protocol's docstring, which is the specification; the host's codec is the
same protocol's Python half (:class:`ec_hw.protocol.FrameDecoder`, :func:`~ec_hw.protocol.
encode_frame`).
"""


from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import Processor
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..protocol import CRC16, ERROR_STRUCT, MAX_PAYLOAD_LIMIT, SYNC

__all__ = ["crc16_processor", "FrameKind", "FrameParser", "FrameSerializer", "frame_layout",
           "reply_layout"]


def crc16_processor() -> Processor:
    """The frame check's hardware processor (:data:`ec_hw.protocol.CRC16`, one byte per cycle).

    ``crc`` is registered: it includes a byte one cycle after ``valid``; ``start`` reloads the
    initial value (together with ``valid``: restarts with ``data``).
    """
    return CRC16(data_width=8).create()


class FrameKind:
    """``kind`` of a parser event."""

    FRAME = 0       # a frame whose CRC checked out; its payload is in the buffer
    BAD_CRC = 1     # a complete frame with a CRC mismatch
    BAD_LENGTH = 2  # a header whose length exceeds max_payload


def frame_layout(max_payload: int) -> data.StructLayout:
    return data.StructLayout({"kind": 2, "op": 8, "seq": 8, "length": range(max_payload + 1),
                              "crc": 16})


def reply_layout(max_payload: int) -> data.StructLayout:
    # ``inline``: the payload is ``error`` (an ERROR reply, its bytes repeated up to
    # ``length``), not the buffer, so an error never overwrites the cached reply held in the
    # buffer.
    return data.StructLayout({"op": 8, "seq": 8, "length": range(max_payload + 1),
                              "inline": 1, "error": ERROR_STRUCT.layout})


def _check_max_payload(max_payload: object) -> int:
    if (not isinstance(max_payload, int) or isinstance(max_payload, bool)
            or not 1 <= max_payload <= MAX_PAYLOAD_LIMIT):
        raise ValueError(f"max_payload must be an integer in 1..{MAX_PAYLOAD_LIMIT}, not "
                         f"{max_payload!r}")
    return max_payload


class FrameParser(wiring.Component):
    """Receive frames: hunt for SYNC, read the header, buffer the payload, check the CRC.

    Parameters
    ----------
    max_payload : int
        Payload buffer size in bytes; longer frames are refused after their header.
    idle_timeout : int
        Clock cycles without a byte after which a partial frame is dropped.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes from the UART; always ready (bytes that arrive while an event waits are dropped:
        the protocol is stop-and-wait, so only garbage can arrive then).
    o : Out(stream.Signature(frame_layout(max_payload)))
        One event per frame (``kind`` :class:`FrameKind`). The consumer holds ``ready`` low
        while it reads the payload buffer and raises it when done; the buffer is stable until
        then.
    rd_addr : In(range(max_payload)); rd_data : Out(8)
        Synchronous read port of the payload buffer (data one cycle after the address).
    """

    def __init__(self, *, max_payload: int, idle_timeout: int):
        self.max_payload = _check_max_payload(max_payload)
        if not isinstance(idle_timeout, int) or idle_timeout < 16:
            raise ValueError(f"idle_timeout must be an integer of at least 16, not "
                             f"{idle_timeout!r}")
        self.idle_timeout = idle_timeout
        super().__init__({
            "i": In(stream.Signature(8)),
            "o": Out(stream.Signature(frame_layout(max_payload))),
            "rd_addr": In(range(max_payload)),
            "rd_data": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        mp = self.max_payload
        m.submodules.buf = buf = Memory(shape=8, depth=mp, init=[])
        wr = buf.write_port()
        rd = buf.read_port()
        m.d.comb += [rd.addr.eq(self.rd_addr), self.rd_data.eq(rd.data)]

        byte = self.i.payload
        got = Signal()
        m.d.comb += [self.i.ready.eq(1), got.eq(self.i.valid)]

        m.submodules.crc = crc_unit = crc16_processor()
        crc = crc_unit.crc
        m.d.comb += crc_unit.data.eq(byte)
        rx_crc = Signal(16)
        length = Signal(16)
        ptr = Signal(range(mp + 1))
        idle = Signal(range(self.idle_timeout + 1))
        ev = self.o.payload

        with m.If(got):
            m.d.sync += idle.eq(0)
        with m.Elif(idle != self.idle_timeout):
            m.d.sync += idle.eq(idle + 1)

        m.d.comb += [wr.addr.eq(ptr), wr.data.eq(byte)]
        # A frame that stalls is dropped, so the host's retry finds the parser hunting.
        stalled = Signal()
        m.d.comb += stalled.eq(idle == self.idle_timeout)

        def or_stall():
            with m.Elif(stalled):
                m.next = "HUNT0"

        with m.FSM():
            with m.State("HUNT0"):
                with m.If(got & (byte == SYNC[0])):
                    m.next = "HUNT1"
            with m.State("HUNT1"):
                with m.If(got):
                    m.d.comb += crc_unit.start.eq(1)
                    with m.If(byte == SYNC[1]):
                        m.next = "OP"
                    with m.Elif(byte != SYNC[0]):
                        m.next = "HUNT0"
                or_stall()
            for state, nxt, action in (("OP", "SEQ", ev.op.eq(byte)),
                                       ("SEQ", "LEN0", ev.seq.eq(byte)),
                                       ("LEN0", "LEN1", length[:8].eq(byte))):
                with m.State(state):
                    with m.If(got):
                        m.d.sync += action
                        m.d.comb += crc_unit.valid.eq(1)
                        m.next = nxt
                    or_stall()
            with m.State("LEN1"):
                with m.If(got):
                    full = Cat(length[:8], byte)
                    m.d.sync += [length[8:].eq(byte), ptr.eq(0)]
                    m.d.comb += crc_unit.valid.eq(1)
                    with m.If(full > mp):
                        m.d.sync += [ev.kind.eq(FrameKind.BAD_LENGTH), ev.length.eq(0),
                                     self.o.valid.eq(1)]
                        m.next = "WAIT"
                    with m.Elif(full == 0):
                        m.next = "CRC0"
                    with m.Else():
                        m.next = "PAYLOAD"
                or_stall()
            with m.State("PAYLOAD"):
                with m.If(got):
                    m.d.comb += [wr.en.eq(1), crc_unit.valid.eq(1)]
                    m.d.sync += ptr.eq(ptr + 1)
                    with m.If(ptr + 1 == length):
                        m.next = "CRC0"
                or_stall()
            with m.State("CRC0"):
                with m.If(got):
                    m.d.sync += rx_crc[:8].eq(byte)
                    m.next = "CRC1"
                or_stall()
            with m.State("CRC1"):
                with m.If(got):
                    m.d.sync += [ev.kind.eq(Mux(Cat(rx_crc[:8], byte) == crc, FrameKind.FRAME,
                                                FrameKind.BAD_CRC)),
                                 ev.length.eq(length), ev.crc.eq(Cat(rx_crc[:8], byte)),
                                 self.o.valid.eq(1)]
                    m.next = "WAIT"
                or_stall()
            with m.State("WAIT"):
                with m.If(self.o.ready):
                    m.d.sync += self.o.valid.eq(0)
                    m.next = "HUNT0"
        return m


class FrameSerializer(wiring.Component):
    """Send reply frames: SYNC, header, payload (from a buffer or inline), CRC.

    Members
    -------
    i : In(stream.Signature(reply_layout(max_payload)))
        A reply to send. ``ready`` rises for one cycle after the last byte has been handed to
        ``o``, so the payload buffer is free again once the transfer completes.
    o : Out(stream.Signature(8))
        Bytes to the UART.
    rd_addr : Out(range(max_payload)); rd_data : In(8)
        Synchronous read port of the reply payload buffer.
    idle : Out(1)
        High when no reply is in progress.
    """

    def __init__(self, *, max_payload: int):
        self.max_payload = _check_max_payload(max_payload)
        super().__init__({
            "i": In(stream.Signature(reply_layout(max_payload))),
            "o": Out(stream.Signature(8)),
            "rd_addr": Out(range(max_payload)),
            "rd_data": In(8),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        rep = self.i.payload
        m.submodules.crc = crc_unit = crc16_processor()
        crc = crc_unit.crc
        ptr = Signal(range(self.max_payload + 1))
        byte = Signal(8)
        sent = Signal()
        m.d.comb += [self.o.payload.eq(byte), sent.eq(self.o.valid & self.o.ready),
                     self.rd_addr.eq(ptr), crc_unit.data.eq(byte)]

        def emit(value, nxt, *, crc_it=True):
            m.d.comb += [self.o.valid.eq(1), byte.eq(value)]
            with m.If(sent):
                if crc_it:
                    m.d.comb += crc_unit.valid.eq(1)
                m.next = nxt

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.i.valid):
                    m.d.comb += crc_unit.start.eq(1)
                    m.d.sync += ptr.eq(0)
                    m.next = "SYNC0"
            with m.State("SYNC0"):
                emit(SYNC[0], "SYNC1", crc_it=False)
            with m.State("SYNC1"):
                emit(SYNC[1], "OP", crc_it=False)
            with m.State("OP"):
                emit(rep.op, "SEQ")
            with m.State("SEQ"):
                emit(rep.seq, "LEN0")
            with m.State("LEN0"):
                emit(rep.length[:8], "LEN1")
            with m.State("LEN1"):
                emit(Cat(rep.length, Const(0, 16))[8:16], "FETCH")
                with m.If(sent & (rep.length == 0)):
                    m.next = "CRC0"
            with m.State("FETCH"):  # one cycle for the buffer's read latency
                m.next = "DATA"
            with m.State("DATA"):
                inline = rep.error.as_value().word_select(ptr[:ceil_log2(ERROR_STRUCT.size)], 8)
                value = Mux(rep.inline, inline, self.rd_data)
                m.d.comb += [self.o.valid.eq(1), byte.eq(value)]
                with m.If(sent):
                    m.d.comb += crc_unit.valid.eq(1)
                    m.d.sync += ptr.eq(ptr + 1)
                    m.next = "FETCH"
                    with m.If(ptr + 1 == rep.length):
                        m.next = "CRC0"
            with m.State("CRC0"):
                emit(crc[:8], "CRC1", crc_it=False)
            with m.State("CRC1"):
                emit(crc[8:], "DONE", crc_it=False)
            with m.State("DONE"):
                m.d.comb += self.i.ready.eq(1)
                m.next = "IDLE"
        return m
