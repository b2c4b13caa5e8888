"""What the device does with a request frame: :class:`RequestDecoder`, the command table of
:class:`ec_hw.gateware.top.Top`.

The decision depends only on the frame event (:func:`ec_hw.gateware.framer.frame_layout`) and
the retry cache, so it is one combinational block with a table a test can walk through
(opcode x length x cache); ``Top`` registers its outputs and runs the chosen command's states.
"""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from ..protocol import (
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    SAMPLE_STRUCT,
    ErrorCode,
    Op,
)
from .framer import FrameKind, frame_layout

__all__ = ["Action", "Gather", "RequestDecoder"]


class Action(enum.Enum, shape=3):
    """The executor's next step for a request."""

    ERROR = 0     # reply ERROR ``error``
    RESEND = 1    # a retry of the last executed request: send its cached reply again
    INFO = 2      # copy INFO into the reply
    STATUS = 3    # copy STATUS into the reply
    GATHER = 4    # read ``count`` payload bytes, then continue at ``gather``


class Gather(enum.Enum, shape=3):
    """What the gathered bytes are (where the executor continues)."""

    LOAD_HDR = 0
    LOAD_WORD = 1
    STEP_MASK = 2
    STEP_OBS = 3
    RESET_MASK = 4
    RHO_HDR = 5
    RHO_VAL = 6
    SAMPLE = 7


class RequestDecoder(wiring.Component):
    """The command table: frame event + retry cache -> :class:`Action` (combinational).

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
    action : Out(Action); error : Out(8); gather : Out(Gather); count : Out(range(...))
        What to do; the error code (``ERROR``); the bytes to gather first and what they are
        (``GATHER``).
    frame_ok, frame_bad : Out(1)
        The request counts as a good / bad frame (STATUS counters).
    """

    def __init__(self, *, max_payload: int, mask_bytes: int, load: bool = True,
                 sampler: bool = True):
        self.mask_bytes, self.load, self.sampler = mask_bytes, load, sampler
        self.max_gather = max(LOAD_HEADER.size, mask_bytes, LOAD_RHO_HEADER.size,
                              SAMPLE_STRUCT.size)
        super().__init__({
            "ev": In(frame_layout(max_payload)),
            "c_valid": In(1), "c_seq": In(8), "c_crc": In(16),
            "action": Out(Action), "error": Out(8), "gather": Out(Gather),
            "count": Out(range(self.max_gather + 1)),
            "frame_ok": Out(1), "frame_bad": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        ev = self.ev

        def error(code):
            m.d.comb += [self.action.eq(Action.ERROR), self.error.eq(code)]

        def gather(n, what, *, min_len=None, exact_len=None):
            ok = ev.length >= min_len if exact_len is None else ev.length == exact_len
            with m.If(ok):
                m.d.comb += [self.action.eq(Action.GATHER), self.count.eq(n),
                             self.gather.eq(what)]
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
                with m.Case(Op.INFO):
                    m.d.comb += self.action.eq(Action.INFO)
                with m.Case(Op.STATUS):
                    m.d.comb += self.action.eq(Action.STATUS)
                if self.load:
                    with m.Case(Op.LOAD):
                        gather(LOAD_HEADER.size, Gather.LOAD_HDR, min_len=LOAD_HEADER.size)
                with m.Case(Op.STEP):
                    gather(mb, Gather.STEP_MASK, min_len=mb)
                with m.Case(Op.RESET):
                    gather(mb, Gather.RESET_MASK, min_len=mb)
                if self.sampler:
                    with m.Case(Op.LOAD_RHO):
                        gather(LOAD_RHO_HEADER.size, Gather.RHO_HDR,
                               min_len=LOAD_RHO_HEADER.size)
                    with m.Case(Op.SAMPLE):
                        gather(SAMPLE_STRUCT.size, Gather.SAMPLE, exact_len=SAMPLE_STRUCT.size)
                with m.Default():
                    error(ErrorCode.BAD_OPCODE)
        return m
