"""The device's link layer: UART pins (or a byte stream) <-> checked request frames and replies.

:class:`FrameLink` is the part of :class:`ec_hw.gateware.top.Top` that knows bytes, framing and
CRCs (:mod:`ec_hw.protocol`'s frame rules); the command executor in ``Top`` sees one event per
request frame with its payload in a buffer, and hands back reply descriptors whose payload it
wrote into the reply buffer.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .framer import FrameParser, FrameSerializer, frame_layout, reply_layout
from .uart import UARTRx, UARTTx

__all__ = ["FrameLink", "buffer_write_signature"]


def buffer_write_signature(depth: int) -> wiring.Signature:
    """A byte write port of a buffer of ``depth`` bytes (the writer's side)."""
    return wiring.Signature({"addr": Out(range(depth)), "data": Out(8), "en": Out(1)})


class FrameLink(wiring.Component):
    """UART receiver and transmitter, frame parser and serializer, and the reply buffer.

    Parameters
    ----------
    divisor : int or None
        UART bit period in clock cycles; ``None`` builds the link without a UART, with byte
        streams ``i``/``o`` instead of the pins (the PCIe device,
        :mod:`ec_hw.gateware.axis`).
    max_payload : int
        Request payload buffer in bytes (longer requests get ``BAD_LENGTH``).
    idle_timeout : int
        Cycles of silence that drop a partial request frame.
    reply_len : int
        Reply buffer in bytes (the longest reply payload).

    Members
    -------
    rx : In(1); tx : Out(1)
        UART pins, idle high (with a ``divisor``).
    i : In(stream.Signature(8)); o : Out(stream.Signature(8))
        Request bytes in (always ready, as the parser) and reply bytes out (without a
        ``divisor``).
    requests : Out(stream(frame_layout(max_payload)))
        One event per request frame (:class:`~ec_hw.gateware.framer.FrameParser`); hold
        ``ready`` low while reading the payload, raise it when the reply has been accepted.
    rd_addr : In; rd_data : Out(8)
        Request payload buffer, synchronous read (data one cycle after the address).
    replies : In(stream(reply_layout(...)))
        Reply frames to send; their payload comes from the reply buffer (or ``error``).
    reply_wr : In(buffer_write_signature(reply_len))
        Reply buffer write port (not while a reply is being sent).
    overrun : Out(1)
        Pulses when the UART loses a byte (always 0 without a UART).
    idle : Out(1)
        No reply being serialized or transmitted.
    """

    def __init__(self, *, divisor: int, max_payload: int, idle_timeout: int, reply_len: int):
        self.divisor = divisor
        self.max_payload = max_payload
        self.idle_timeout = idle_timeout
        self.reply_len = reply_len
        self.ser_payload = max(max_payload, reply_len)
        pins = ({"rx": In(1, init=1), "tx": Out(1, init=1)} if divisor is not None else
                {"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))})
        super().__init__({
            **pins,
            "requests": Out(stream.Signature(frame_layout(max_payload))),
            "rd_addr": In(range(max_payload)), "rd_data": Out(8),
            "replies": In(stream.Signature(reply_layout(self.ser_payload))),
            "reply_wr": In(buffer_write_signature(reply_len)),
            "overrun": Out(1), "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.parser = parser = FrameParser(max_payload=self.max_payload,
                                                   idle_timeout=self.idle_timeout)
        m.submodules.serializer = ser = FrameSerializer(max_payload=self.ser_payload)
        m.submodules.txbuf = txbuf = Memory(shape=8, depth=self.reply_len, init=[])
        tw = txbuf.write_port()
        tr = txbuf.read_port()

        if self.divisor is None:
            m.d.comb += self.idle.eq(ser.idle)
            wiring.connect(m, wiring.flipped(self.i), parser.i)
            wiring.connect(m, ser.o, wiring.flipped(self.o))
        else:
            m.submodules.uart_rx = urx = UARTRx(self.divisor)
            m.submodules.uart_tx = utx = UARTTx(self.divisor)
            m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx), self.overrun.eq(urx.overrun),
                         self.idle.eq(ser.idle & utx.idle)]
            wiring.connect(m, urx.o, parser.i)
            wiring.connect(m, ser.o, utx.i)
        wiring.connect(m, parser.o, wiring.flipped(self.requests))
        wiring.connect(m, wiring.flipped(self.replies), ser.i)
        m.d.comb += [parser.rd_addr.eq(self.rd_addr), self.rd_data.eq(parser.rd_data),
                     tr.addr.eq(ser.rd_addr), ser.rd_data.eq(tr.data),
                     tw.addr.eq(self.reply_wr.addr), tw.data.eq(self.reply_wr.data),
                     tw.en.eq(self.reply_wr.en)]
        return m
