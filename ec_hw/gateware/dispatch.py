"""What the device does with a request frame: :class:`RequestDecoder`, the command table, and
:class:`Dispatcher`, which runs a request's command and sends its reply.

The decision depends only on the frame event (:func:`ec_hw.gateware.framer.frame_layout`) and
the retry cache, so it is one combinational block with a table a test can walk through
(opcode x length x cache); the dispatcher registers its outputs and starts the command units
(:mod:`ec_hw.gateware.commands`) or replies by itself (errors, retries).
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..protocol import (
    ERROR_STRUCT,
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    REPLY_BIT,
    SAMPLE_STRUCT,
    ErrorCode,
    Op,
)
from .commands import command_signature
from .framer import FrameKind, frame_layout, reply_layout

__all__ = ["Action", "RequestDecoder", "Dispatcher"]


class Action(enum.Enum, shape=2):
    """What the dispatcher does with a request."""

    ERROR = 0     # reply ERROR ``error``
    RESEND = 1    # a retry of the last executed request: send its cached reply again
    EXECUTE = 2   # start the command unit of the request's opcode


class RequestDecoder(wiring.Component):
    """The command table: frame event + retry cache -> :class:`Action` (combinational).

    A request is executed only if its opcode is one this device executes and its payload
    holds at least the command's fixed part (exactly, for SAMPLE); the command unit checks the
    rest.

    Parameters
    ----------
    max_payload : int
        The frame layout's payload limit.
    mask_bytes : int
        Bytes of a STEP/RESET slot mask (:attr:`ec_hw.protocol.WireFormat.mask_bytes`).
    load, sampler : bool
        Whether LOAD (not on a deployed device) and LOAD_RHO/SAMPLE (the on-device sampler) are
        executed; otherwise they get ``BAD_OPCODE``.

    Members
    -------
    ev : In(frame_layout(max_payload))
        The request event.
    c_valid, c_seq, c_crc : In
        The retry cache: the sequence number and CRC of the last executed request.
    action : Out(Action); error : Out(8)
        What to do; the error code (``ERROR``).
    frame_ok, frame_bad : Out(1)
        The request counts as a good / bad frame (STATUS counters).
    """

    def __init__(self, *, max_payload: int, mask_bytes: int, load: bool = True,
                 sampler: bool = True):
        self.mask_bytes, self.load, self.sampler = mask_bytes, load, sampler
        super().__init__({
            "ev": In(frame_layout(max_payload)),
            "c_valid": In(1), "c_seq": In(8), "c_crc": In(16),
            "action": Out(Action), "error": Out(8),
            "frame_ok": Out(1), "frame_bad": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        ev = self.ev

        def error(code):
            m.d.comb += [self.action.eq(Action.ERROR), self.error.eq(code)]

        def execute(*, min_len=0, exact_len=None):
            ok = ev.length >= min_len if exact_len is None else ev.length == exact_len
            with m.If(ok):
                m.d.comb += self.action.eq(Action.EXECUTE)
            with m.Else():
                error(ErrorCode.BAD_ARG)

        with m.If(ev.kind == FrameKind.BAD_CRC):
            m.d.comb += self.frame_bad.eq(1)
            error(ErrorCode.BAD_CRC)
        with m.Elif(ev.kind != FrameKind.FRAME):
            m.d.comb += self.frame_bad.eq(1)
            error(ErrorCode.BAD_LENGTH)
        with m.Elif(self.c_valid & (ev.seq == self.c_seq) & (ev.crc == self.c_crc)):
            m.d.comb += [self.frame_ok.eq(1), self.action.eq(Action.RESEND)]
        with m.Else():
            m.d.comb += self.frame_ok.eq(1)
            mb = self.mask_bytes
            with m.Switch(ev.op):
                with m.Case(Op.INFO, Op.STATUS):
                    execute()
                if self.load:
                    with m.Case(Op.LOAD):
                        execute(min_len=LOAD_HEADER.size)
                with m.Case(Op.STEP, Op.RESET):
                    execute(min_len=mb)
                if self.sampler:
                    with m.Case(Op.LOAD_RHO):
                        execute(min_len=LOAD_RHO_HEADER.size)
                    with m.Case(Op.SAMPLE):
                        execute(exact_len=SAMPLE_STRUCT.size)
                with m.Default():
                    error(ErrorCode.BAD_OPCODE)
        return m


class Dispatcher(wiring.Component):
    """Request in, reply out: decode the request, execute it on the command units (or answer
    an error or a retry by itself), send the reply, keep the last reply for a retry.

    Parameters
    ----------
    max_payload, mask_bytes, load, sampler
        As :class:`RequestDecoder`.
    reply_len : int
        The reply buffer's bytes (the longest reply payload).
    reply_payload : int
        The reply layout's payload limit (:attr:`ec_hw.gateware.link.FrameLink.ser_payload`).

    Members
    -------
    requests : In(stream(frame_layout(max_payload)))
        From :class:`~ec_hw.gateware.link.FrameLink`; ``ready`` when the reply was accepted.
    replies : Out(stream(reply_layout(reply_payload)))
    cmd : Out(command_signature(max_payload, reply_len))
        Shared by the command units (:func:`ec_hw.gateware.commands.share`).
    rewind : Out(1)
        A new request: the payload reader goes back to its first byte.
    frame_ok, frame_bad : Out(1)
        Pulse once per request (STATUS counters).
    idle : Out(1)
        No request pending or executing.

    A request takes one cycle to decode (DISPATCH) before its command starts; the reply is
    offered the cycle after the command's ``done``.
    """

    def __init__(self, *, max_payload: int, mask_bytes: int, load: bool, sampler: bool,
                 reply_len: int, reply_payload: int):
        self.max_payload, self.mask_bytes = max_payload, mask_bytes
        self.load, self.sampler, self.reply_len = load, sampler, reply_len
        super().__init__({
            "requests": In(stream.Signature(frame_layout(max_payload))),
            "replies": Out(stream.Signature(reply_layout(reply_payload))),
            "cmd": Out(command_signature(max_payload, reply_len)),
            "rewind": Out(1), "frame_ok": Out(1), "frame_bad": Out(1), "idle": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        ev, rep, cmd = self.requests.payload, self.replies.payload, self.cmd
        m.submodules.decoder = dec = RequestDecoder(
            max_payload=self.max_payload, mask_bytes=self.mask_bytes, load=self.load,
            sampler=self.sampler)
        c_valid, c_seq, c_crc, c_op = Signal(), Signal(8), Signal(16), Signal(8)  # retry cache
        c_len = Signal(range(self.reply_len + 1))
        m.d.comb += [dec.ev.eq(ev), dec.c_valid.eq(c_valid), dec.c_seq.eq(c_seq),
                     dec.c_crc.eq(c_crc), cmd.op.eq(ev.op), cmd.length.eq(ev.length)]
        action, error = Signal(Action), Signal(8)   # the decoder's outputs, registered

        def reply_ok(length):
            m.d.sync += [rep.op.eq(ev.op | REPLY_BIT), rep.seq.eq(ev.seq), rep.length.eq(length),
                         rep.inline.eq(0), c_valid.eq(1), c_seq.eq(ev.seq), c_crc.eq(ev.crc),
                         c_op.eq(ev.op), c_len.eq(length)]
            m.next = "SEND"

        def reply_error(code):
            m.d.sync += [rep.op.eq(Op.ERROR), rep.seq.eq(ev.seq),
                         rep.length.eq(ERROR_STRUCT.size), rep.inline.eq(1),
                         rep.error.code.eq(code), rep.error.op.eq(ev.op)]
            m.next = "SEND"

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(~self.requests.valid)
                with m.If(self.requests.valid):
                    m.d.comb += [self.rewind.eq(1), self.frame_ok.eq(dec.frame_ok),
                                 self.frame_bad.eq(dec.frame_bad)]
                    m.d.sync += [action.eq(dec.action), error.eq(dec.error)]
                    with m.If(dec.frame_ok & (dec.action != Action.RESEND)):
                        m.d.sync += c_valid.eq(0)
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                with m.Switch(action):
                    with m.Case(Action.ERROR):
                        reply_error(error)
                    with m.Case(Action.RESEND):
                        # A retry of the request we already executed: re-send its reply.
                        m.d.sync += [rep.op.eq(c_op | REPLY_BIT), rep.seq.eq(c_seq),
                                     rep.length.eq(c_len), rep.inline.eq(0)]
                        m.next = "SEND"
                    with m.Case(Action.EXECUTE):
                        m.d.comb += cmd.start.eq(1)
                        m.next = "RUN"
            with m.State("RUN"):
                with m.If(cmd.done & (cmd.error != 0)):
                    reply_error(cmd.error)
                with m.Elif(cmd.done):
                    reply_ok(cmd.reply_len)
            with m.State("SEND"):       # reply, then release the request buffer
                m.d.comb += self.replies.valid.eq(1)
                with m.If(self.replies.ready):
                    m.d.comb += self.requests.ready.eq(1)
                    m.next = "IDLE"
        return m
