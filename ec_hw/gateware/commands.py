"""The commands :class:`ec_hw.gateware.top.Top` executes, one Component each, and their plumbing.

A command unit is started by :class:`~ec_hw.gateware.dispatch.Dispatcher` over a
:func:`command_signature` port (``start`` pulses for every request the decoder accepted; a unit
acts on its own opcodes only) and answers with ``done`` in its last cycle, with an error code
or the length of the reply payload it wrote into the reply buffer. Units read request payload
bytes through a :class:`PayloadReader` (:func:`gather_signature`).

Only the running unit drives its ports; the others hold them at 0. So a port several units
drive (the core's ``load`` and ``cmd``, the reply buffer, the payload reader, the dispatcher's
``done``) is the OR of its users (:func:`share`), and a start, a ``done`` or a write costs the
cycle it did when everything was one state machine: the cycle counts of
:class:`~ec_hw.gateware.top.Top`'s docstring hold.
"""

from __future__ import annotations

import functools
import operator

from amaranth import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import coremap
from ..protocol import (
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    SAMPLE_ANTITHETIC,
    SAMPLE_FLAGS,
    SAMPLE_STRUCT,
    STATUS_STRUCT,
    ErrorCode,
    Op,
    WireFormat,
)
from .framer import frame_layout
from .link import buffer_write_signature

__all__ = ["command_signature", "gather_signature", "share",
           "PayloadReader", "InfoStatus", "LoadCommand", "ResetCommand", "StepRun",
           "StepCommand", "LoadRhoCommand", "SampleCommand", "SamplerCommands"]


def command_signature(max_payload: int, reply_len: int) -> wiring.Signature:
    """The dispatcher's side of a command: ``start`` (one cycle; ``op`` and ``length`` are the
    request's and stay valid until ``done``), then ``done`` in the unit's last cycle with
    ``error`` (an :class:`~ec_hw.protocol.ErrorCode`, 0 on success) and ``reply_len``."""
    return wiring.Signature({
        "start": Out(1), "op": Out(8), "length": Out(frame_layout(max_payload)["length"].shape),
        "done": In(1), "error": In(8), "reply_len": In(range(reply_len + 1)),
    })


def gather_signature(width: int) -> wiring.Signature:
    """A unit's side of the payload reader: ``start`` with ``count`` bytes; ``done`` in the
    cycle the last byte arrives, after which ``data``'s top ``count`` bytes hold them (little
    endian: ``data[-8 * count:]``)."""
    return wiring.Signature({"start": Out(1), "count": Out(range(width + 1)),
                             "done": In(1), "data": In(8 * width)})


def share(m: Module, port, users) -> None:
    """Connect several ``users`` (interfaces of one signature) to one ``port``: what they drive
    is ORed into ``port`` (a user not running holds it at 0), what ``port`` drives reaches
    them all."""
    def at(obj, path):
        return functools.reduce(
            lambda o, p: o[p] if isinstance(p, int) else getattr(o, p), path, obj)

    for path, member, _ in users[0].signature.flatten(users[0]):
        if member.flow == Out:
            values = [Value.cast(at(u, path)) for u in users]
            m.d.comb += at(port, path).eq(functools.reduce(operator.or_, values))
        else:
            m.d.comb += [at(u, path).eq(at(port, path)) for u in users]


def _gather(m, port, count, then):
    """Start gathering ``count`` payload bytes and go to state ``then`` (which waits for
    ``port.done``)."""
    m.d.comb += [port.start.eq(1), port.count.eq(count)]
    m.next = then


def _finish(m, cmd, *, error=0, reply_len=0):
    m.d.comb += [cmd.done.eq(1), cmd.error.eq(error), cmd.reply_len.eq(reply_len)]
    m.next = "IDLE"


def _split_mask(full, slots: int, mask_bytes: int):
    """A STEP/RESET slot mask: the slots' bits and whether the spare bits are 0."""
    return full[:slots], (full[slots:] == 0) if mask_bytes * 8 > slots else Const(1)


class PayloadReader(wiring.Component):
    """Reads the request payload buffer in order, ``count`` bytes at a time (2 cycles a byte:
    the buffer's synchronous read).

    Members
    -------
    port : In(gather_signature(width))
        Shared by the command units (:func:`share`).
    rewind : In(1)
        Back to the payload's first byte (a new request).
    rd_addr : Out; rd_data : In(8)
        The payload buffer (:class:`~ec_hw.gateware.link.FrameLink`).
    """

    def __init__(self, *, width: int, max_payload: int):
        self.width, self.max_payload = width, max_payload
        super().__init__({"port": In(gather_signature(width)), "rewind": In(1),
                          "rd_addr": Out(range(max_payload)), "rd_data": In(8)})

    def elaborate(self, platform):
        m = Module()
        port = self.port
        ptr = Signal(range(self.max_payload + 1))
        acc = Signal(8 * self.width)
        left = Signal(range(self.width + 1))
        m.d.comb += [self.rd_addr.eq(ptr), port.data.eq(acc)]
        with m.If(self.rewind):
            m.d.sync += ptr.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(port.start):
                    m.d.sync += left.eq(port.count)
                    m.next = "ADDR"
            with m.State("ADDR"):
                m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += [acc.eq(Cat(acc[8:], self.rd_data)), ptr.eq(ptr + 1),
                             left.eq(left - 1)]
                m.next = "ADDR"
                with m.If(left == 1):
                    m.d.comb += port.done.eq(1)
                    m.next = "IDLE"
        return m


def _await_gather(m, port, state, then):
    """State ``state``: wait for the bytes a ``_gather`` asked for, then go to ``then``."""
    with m.State(state):
        with m.If(port.done):
            m.next = then


class _Command(wiring.Component):
    """A command unit: ``cmd`` (:func:`command_signature`) plus ``members``; with
    ``gather_width`` also a ``gather`` port (:func:`gather_signature`)."""

    def __init__(self, wire: WireFormat, reply_len: int, members: dict, *,
                 gather_width: int | None = None):
        self.wire, self.reply_len, self.gather_width = wire, reply_len, gather_width
        ports = {"cmd": In(command_signature(wire.max_payload, reply_len))}
        if gather_width is not None:
            ports["gather"] = Out(gather_signature(gather_width))
        super().__init__({**ports, **members})

    def _top_bytes(self, n: int):
        """The last ``n`` gathered bytes (little endian)."""
        return self.gather.data[-8 * n:]


class InfoStatus(_Command):
    """INFO and STATUS: the INFO bytes (a constant) or the STATUS counters copied into the
    reply buffer, a byte per cycle.

    Members
    -------
    reply : Out(buffer_write_signature(reply_len))
    frame_ok, frame_bad, overrun : In(1)
        Pulses counted into STATUS (each counter wraps).
    cycles : In(32)
        The core cycles of the last STEP, reported by STATUS.
    """

    def __init__(self, info: bytes, *, wire: WireFormat, reply_len: int):
        self.info = bytes(info)
        super().__init__(wire, reply_len, {
            "reply": Out(buffer_write_signature(reply_len)),
            "frame_ok": In(1), "frame_bad": In(1), "overrun": In(1), "cycles": In(32)})

    def elaborate(self, platform):
        m = Module()
        cmd, wr = self.cmd, self.reply
        status = Signal(STATUS_STRUCT.layout)
        counters = {name: Signal(STATUS_STRUCT.layout[name].shape)
                    for name in ("frames_ok", "frames_bad", "overruns")}
        for name, pulse in zip(counters, (self.frame_ok, self.frame_bad, self.overrun),
                               strict=True):
            m.d.sync += counters[name].eq(counters[name] + pulse)
            m.d.comb += getattr(status, name).eq(counters[name])
        m.d.comb += status.cycles.eq(self.cycles)

        info = Const(int.from_bytes(self.info, "little"), 8 * len(self.info))
        ptr = Signal(range(self.reply_len + 1))
        length = Signal(range(self.reply_len + 1))
        is_info = Signal()
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & ((cmd.op == Op.INFO) | (cmd.op == Op.STATUS))):
                    m.d.sync += [ptr.eq(0), is_info.eq(cmd.op == Op.INFO),
                                 length.eq(Mux(cmd.op == Op.INFO, len(self.info),
                                               STATUS_STRUCT.size))]
                    m.next = "COPY"
            with m.State("COPY"):
                src = Mux(is_info, info.word_select(ptr, 8),
                          status.as_value().word_select(ptr, 8))
                m.d.comb += [wr.addr.eq(ptr), wr.data.eq(src), wr.en.eq(1)]
                m.d.sync += ptr.eq(ptr + 1)
                with m.If(ptr + 1 == length):
                    _finish(m, cmd, reply_len=length)
        return m


class LoadCommand(_Command):
    """LOAD: check the header (matrix, word range, payload length), then push its words into
    the core's ``load`` port, gathering each (2 cycles a byte) before it is pushed.

    Members
    -------
    load : Out(core load stream)
    """

    def __init__(self, net, core, *, wire: WireFormat, reply_len: int, gather_width: int,
                 load: wiring.Signature):
        self.net, self.core = net, core
        super().__init__(wire, reply_len, {"load": Out(load)}, gather_width=gather_width)

    def elaborate(self, platform):
        m = Module()
        cmd, g, load = self.cmd, self.gather, self.load
        WB = self.wire.word_bytes
        depth = [coremap.matrix_depth(mx, self.net, self.core) for mx in range(3)]
        word_shift = WB.bit_length() - 1
        hdr = LOAD_HEADER.layout(self._top_bytes(LOAD_HEADER.size))
        matrix, addr, count = Signal(2), Signal(32), Signal(16)
        end = Signal(len(hdr.addr) + 1)
        length = Signal(len(hdr.count) + word_shift + 1)
        matrix_ok = Signal()     # the 8-bit field names a matrix (``matrix`` keeps 2 bits)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & (cmd.op == Op.LOAD)):
                    _gather(m, g, LOAD_HEADER.size, "HEADER_WAIT")
            _await_gather(m, g, "HEADER_WAIT", "HEADER")
            with m.State("HEADER"):     # the header's sums are registered, then checked
                m.d.sync += [matrix.eq(hdr.matrix), count.eq(hdr.count), addr.eq(hdr.addr),
                             end.eq(hdr.addr + hdr.count), matrix_ok.eq(hdr.matrix <= 2),
                             length.eq(LOAD_HEADER.size + (hdr.count << word_shift))]
                m.next = "CHECK"
            with m.State("CHECK"):
                h_depth = Mux(matrix == 0, depth[0], Mux(matrix == 1, depth[1], depth[2]))
                with m.If(matrix_ok & (count != 0) & (cmd.length == length) & (end <= h_depth)):
                    _gather(m, g, WB, "WORD_WAIT")
                with m.Else():
                    _finish(m, cmd, error=ErrorCode.BAD_ARG)
            _await_gather(m, g, "WORD_WAIT", "PUSH")
            with m.State("PUSH"):
                m.d.comb += [load.valid.eq(1), load.payload.matrix.eq(matrix),
                             load.payload.addr.eq(addr), load.payload.data.eq(self._top_bytes(WB))]
                with m.If(load.ready):
                    m.d.sync += [addr.eq(addr + 1), count.eq(count - 1)]
                    with m.If(count == 1):
                        _finish(m, cmd)
                    with m.Else():
                        _gather(m, g, WB, "WORD_WAIT")
        return m


class ResetCommand(_Command):
    """RESET: check the slot mask, send the core a RESET for each masked slot, wait until it
    is done.

    Members
    -------
    core_cmd : Out(core cmd stream); busy : In(1)
        The core's ``cmd`` port and ``busy``.
    """

    def __init__(self, slots: int, *, wire: WireFormat, reply_len: int, gather_width: int,
                 core_cmd: wiring.Signature):
        self.slots = slots
        super().__init__(wire, reply_len, {"core_cmd": Out(core_cmd), "busy": In(1)},
                         gather_width=gather_width)

    def elaborate(self, platform):
        m = Module()
        cmd, g, core_cmd = self.cmd, self.gather, self.core_cmd
        S, MB = self.slots, self.wire.mask_bytes
        mask = Signal(max(S, 1))
        slot = Signal(range(S + 1))
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & (cmd.op == Op.RESET)):
                    _gather(m, g, MB, "MASK_WAIT")
            _await_gather(m, g, "MASK_WAIT", "MASK")
            with m.State("MASK"):
                bits, spare_ok = _split_mask(self._top_bytes(MB), S, MB)
                m.d.sync += [mask.eq(bits), slot.eq(0)]
                with m.If(~spare_ok | (cmd.length != MB)):
                    _finish(m, cmd, error=ErrorCode.BAD_ARG)
                with m.Else():
                    m.next = "NEXT"
            with m.State("NEXT"):
                with m.If(slot == S):
                    m.next = "SETTLE"
                with m.Elif(mask.bit_select(slot, 1)):
                    m.d.comb += [core_cmd.valid.eq(1),
                                 core_cmd.payload.op.eq(coremap.CoreOp.RESET),
                                 core_cmd.payload.slot.eq(slot)]
                    with m.If(core_cmd.ready):
                        m.d.sync += slot.eq(slot + 1)
                with m.Else():
                    m.d.sync += slot.eq(slot + 1)
            with m.State("SETTLE"):     # busy rises the cycle after the last cmd
                m.next = "WAIT"
            with m.State("WAIT"):
                with m.If(~self.busy):
                    _finish(m, cmd)
        return m


class StepRun(wiring.Component):
    """One env step on the core: its STEP command, then its ``S*A`` actions (slot-major) into
    the reply buffer, those of the masked slots sign-extended to ``act_bytes`` little endian,
    a byte per cycle; the others are taken and dropped.

    Members
    -------
    start : In(1)
        Begin (the observations are in the core).
    mask : In(slots)
        The STEP's slot mask, held until ``done``.
    core_cmd : Out(core cmd stream); act : In(core act stream)
    reply : Out(buffer_write_signature(reply_len))
    done : Out(1)
        In the cycle after the last byte was written; ``length`` is the bytes written.
    """

    def __init__(self, net, core, *, wire: WireFormat, reply_len: int,
                 core_cmd: wiring.Signature, act: wiring.Signature):
        self.net, self.core, self.wire, self.reply_len = net, core, wire, reply_len
        super().__init__({"start": In(1), "mask": In(max(core.slots, 1)),
                          "core_cmd": Out(core_cmd), "act": In(act),
                          "reply": Out(buffer_write_signature(reply_len)), "done": Out(1),
                          "length": Out(range(reply_len + 1))})

    def elaborate(self, platform):
        m = Module()
        act, wr = self.act, self.reply
        n_act, AB = self.core.slots * self.net.act_dim, self.wire.act_bytes
        count = Signal(range(n_act + 1))
        ptr = Signal(range(self.reply_len + 1))
        value = Signal(8 * AB)
        byte = Signal(range(AB + 1))
        m.d.comb += self.length.eq(ptr)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += [self.core_cmd.valid.eq(1),
                             self.core_cmd.payload.op.eq(coremap.CoreOp.STEP),
                             self.core_cmd.payload.slot.eq(0)]
                with m.If(self.core_cmd.ready):
                    m.d.sync += [count.eq(0), ptr.eq(0)]
                    m.next = "ACT"
            with m.State("ACT"):
                with m.If(count == n_act):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += act.ready.eq(1)
                    with m.If(act.valid):
                        m.d.sync += [count.eq(count + 1), value.eq(act.payload.value),
                                     byte.eq(0)]
                        with m.If(self.mask.bit_select(act.payload.slot, 1)):
                            m.next = "BYTES"
            with m.State("BYTES"):
                ext = Signal(8 * AB)
                m.d.comb += ext.eq(value[:self.core.action_bits].as_signed())
                m.d.comb += [wr.addr.eq(ptr), wr.data.eq(ext.word_select(byte, 8)), wr.en.eq(1)]
                m.d.sync += [ptr.eq(ptr + 1), byte.eq(byte + 1)]
                with m.If(byte == AB - 1):
                    m.next = "ACT"
        return m


class StepCommand(_Command):
    """STEP: check the slot mask and the length, feed the masked slots' observations into the
    core (each gathered, 2 cycles a byte), then run one env step of every slot and reply with
    the masked slots' actions (:class:`StepRun`).

    Members
    -------
    obs : Out(core obs stream); core_cmd : Out(core cmd stream); act : In(core act stream)
        The core's ports.
    reply : Out(buffer_write_signature(reply_len))
    core_cycles : In(32)
        The core's ``cycles``.
    cycles : Out(32)
        ``core_cycles`` when the last STEP finished (STATUS reports it).
    """

    def __init__(self, net, core, *, wire: WireFormat, reply_len: int, gather_width: int,
                 obs: wiring.Signature, core_cmd: wiring.Signature, act: wiring.Signature):
        self.net, self.core = net, core
        self._core_cmd, self._act = core_cmd, act
        super().__init__(wire, reply_len, {
            "obs": Out(obs), "core_cmd": Out(core_cmd), "act": In(act),
            "reply": Out(buffer_write_signature(reply_len)), "core_cycles": In(32),
            "cycles": Out(32)}, gather_width=gather_width)

    def elaborate(self, platform):
        m = Module()
        cmd, g, obs, wire = self.cmd, self.gather, self.obs, self.wire
        S, D = self.core.slots, self.net.obs_dim
        MB, OB = wire.mask_bytes, wire.obs_bytes
        m.submodules.run = run = StepRun(self.net, self.core, wire=wire, reply_len=self.reply_len,
                                         core_cmd=self._core_cmd, act=self._act)
        wiring.connect(m, run.core_cmd, wiring.flipped(self.core_cmd))
        wiring.connect(m, wiring.flipped(self.act), run.act)
        wiring.connect(m, run.reply, wiring.flipped(self.reply))
        mask, slot, index = Signal(max(S, 1)), Signal(range(S + 1)), Signal(range(max(D, 2)))
        length = Signal(range(wire.max_payload + S * D * OB + MB + 1))  # of the request
        m.d.comb += run.mask.eq(mask)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & (cmd.op == Op.STEP)):
                    _gather(m, g, MB, "MASK_WAIT")
            _await_gather(m, g, "MASK_WAIT", "MASK")
            with m.State("MASK"):
                bits, spare_ok = _split_mask(self._top_bytes(MB), S, MB)
                m.d.sync += [mask.eq(bits), slot.eq(0), length.eq(MB)]
                with m.If(~spare_ok):
                    _finish(m, cmd, error=ErrorCode.BAD_ARG)
                with m.Else():
                    m.next = "LENGTH"
            with m.State("LENGTH"):     # MB + D*OB per masked slot, a slot per cycle
                with m.If(slot == S):
                    m.d.sync += slot.eq(0)
                    with m.If(length != cmd.length):
                        _finish(m, cmd, error=ErrorCode.BAD_ARG)
                    with m.Else():
                        m.next = "SLOT"
                with m.Else():
                    m.d.sync += [slot.eq(slot + 1),
                                 length.eq(length + Mux(mask.bit_select(slot, 1), D * OB, 0))]
            with m.State("SLOT"):
                m.d.sync += index.eq(0)
                with m.If(slot == S):
                    m.d.comb += run.start.eq(1)
                    m.next = "RUN"
                with m.Elif(mask.bit_select(slot, 1)):
                    _gather(m, g, OB, "OBS_WAIT")
                with m.Else():
                    m.d.sync += slot.eq(slot + 1)
            _await_gather(m, g, "OBS_WAIT", "OBS")
            with m.State("OBS"):
                m.d.comb += [obs.valid.eq(1), obs.payload.slot.eq(slot),
                             obs.payload.index.eq(index),
                             obs.payload.value.eq(self._top_bytes(OB)[:self.core.obs_bits])]
                with m.If(obs.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == D - 1):
                        m.d.sync += slot.eq(slot + 1)
                        m.next = "SLOT"
                    with m.Else():
                        _gather(m, g, OB, "OBS_WAIT")
            with m.State("RUN"):
                with m.If(run.done):
                    m.d.sync += self.cycles.eq(self.core_cycles)
                    _finish(m, cmd, reply_len=run.length)
        return m


class LoadRhoCommand(_Command):
    """LOAD_RHO: check the header (range, payload length), then push its 16-bit rho values
    into the sampler's ``rho_load`` port, gathering each before it is pushed.

    Members
    -------
    rho : Out(sampler rho_load stream)
    """

    def __init__(self, n_conn: int, *, wire: WireFormat, reply_len: int, gather_width: int,
                 rho: wiring.Signature):
        self.n_conn = n_conn
        super().__init__(wire, reply_len, {"rho": Out(rho)}, gather_width=gather_width)

    def elaborate(self, platform):
        m = Module()
        cmd, g, rho = self.cmd, self.gather, self.rho
        hdr = LOAD_RHO_HEADER.layout(self._top_bytes(LOAD_RHO_HEADER.size))
        addr, count = Signal(32), Signal(16)
        end = Signal(len(hdr.start) + 1)
        length = Signal(len(hdr.count) + 2)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & (cmd.op == Op.LOAD_RHO)):
                    _gather(m, g, LOAD_RHO_HEADER.size, "HEADER_WAIT")
            _await_gather(m, g, "HEADER_WAIT", "HEADER")
            with m.State("HEADER"):     # the header's sums are registered, then checked
                m.d.sync += [addr.eq(hdr.start), count.eq(hdr.count),
                             end.eq(hdr.start + hdr.count),
                             length.eq(LOAD_RHO_HEADER.size + (hdr.count << 1))]
                m.next = "CHECK"
            with m.State("CHECK"):
                with m.If((count != 0) & (cmd.length == length) & (end <= self.n_conn)):
                    _gather(m, g, 2, "VALUE_WAIT")
                with m.Else():
                    _finish(m, cmd, error=ErrorCode.BAD_ARG)
            _await_gather(m, g, "VALUE_WAIT", "PUSH")
            with m.State("PUSH"):
                m.d.comb += [rho.valid.eq(1), rho.payload.addr.eq(addr),
                             rho.payload.data.eq(self._top_bytes(2))]
                with m.If(rho.ready):
                    m.d.sync += [addr.eq(addr + 1), count.eq(count - 1)]
                    with m.If(count == 1):
                        _finish(m, cmd)
                    with m.Else():
                        _gather(m, g, 2, "VALUE_WAIT")
        return m


class SampleCommand(_Command):
    """SAMPLE: check the slot and flags, start the sampler, and pass the member's words it
    draws into the core's ``load`` port until it is done.

    Members
    -------
    sample : Out(sampler cmd stream); sampled : In(sampler load stream); busy : In(1)
        The sampler's ports.
    load : Out(core load stream)
    """

    def __init__(self, slots: int, *, wire: WireFormat, reply_len: int, gather_width: int,
                 sample: wiring.Signature, sampled: wiring.Signature, load: wiring.Signature):
        self.slots = slots
        super().__init__(wire, reply_len, {"sample": Out(sample), "sampled": In(sampled),
                                           "busy": In(1), "load": Out(load)},
                         gather_width=gather_width)

    def elaborate(self, platform):
        m = Module()
        cmd, g, sample, load = self.cmd, self.gather, self.sample, self.load
        p = sample.payload      # registered: held while the sampler takes the command
        with m.FSM():
            with m.State("IDLE"):
                with m.If(cmd.start & (cmd.op == Op.SAMPLE)):
                    _gather(m, g, SAMPLE_STRUCT.size, "HEADER_WAIT")
            _await_gather(m, g, "HEADER_WAIT", "HEADER")
            with m.State("HEADER"):
                hdr = SAMPLE_STRUCT.layout(self._top_bytes(SAMPLE_STRUCT.size))
                m.d.sync += [p.slot.eq(hdr.slot), p.gen_seed.eq(hdr.gen_seed),
                             p.member.eq(hdr.member),
                             p.antithetic.eq((hdr.flags & SAMPLE_ANTITHETIC) != 0)]
                with m.If((hdr.slot >= self.slots) | ((hdr.flags & ~SAMPLE_FLAGS) != 0)):
                    _finish(m, cmd, error=ErrorCode.BAD_ARG)
                with m.Else():
                    m.next = "START"
            with m.State("START"):
                m.d.comb += sample.valid.eq(1)
                with m.If(sample.ready):
                    m.next = "RUN"
            with m.State("RUN"):
                # busy rises on the cmd transfer's edge, so it is already high here; it falls
                # after the member's last word was taken by the core.
                m.d.comb += [load.valid.eq(self.sampled.valid),
                             load.payload.eq(self.sampled.payload),
                             self.sampled.ready.eq(load.ready)]
                with m.If(~self.busy):
                    _finish(m, cmd)
        return m


class SamplerCommands(_Command):
    """The on-device sampler (:class:`~ec_hw.gateware.sampler.SampleUnit`) and its commands,
    :class:`LoadRhoCommand` and :class:`SampleCommand`.

    Members
    -------
    load : Out(core load stream)
        The sampled members' connection words.
    """

    def __init__(self, net, core, *, wire: WireFormat, reply_len: int, gather_width: int,
                 load: wiring.Signature):
        self.net, self.core = net, core
        super().__init__(wire, reply_len, {"load": Out(load)}, gather_width=gather_width)

    def elaborate(self, platform):
        from .sampler import SampleUnit  # imported late: builds without a sampler skip it

        m = Module()
        units = dict(wire=self.wire, reply_len=self.reply_len, gather_width=self.gather_width)
        m.submodules.sampler = su = SampleUnit(self.net, self.core)
        m.submodules.load_rho = rho = LoadRhoCommand(
            self.net.n_conn, **units, rho=su.rho_load.signature.flip())
        m.submodules.sample = smp = SampleCommand(
            self.core.slots, **units, sample=su.cmd.signature.flip(), sampled=su.load.signature,
            load=self.load.signature)
        wiring.connect(m, rho.rho, su.rho_load)
        wiring.connect(m, smp.sample, su.cmd)
        wiring.connect(m, su.load, smp.sampled)
        wiring.connect(m, smp.load, wiring.flipped(self.load))
        m.d.comb += smp.busy.eq(su.busy)
        share(m, self.cmd, [rho.cmd, smp.cmd])
        share(m, self.gather, [rho.gather, smp.gather])
        return m
