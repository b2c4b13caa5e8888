"""The device: UART, frame parser/serializer and a command executor around the LIF core.

:class:`Top` is the top level of every board build and of the virtual board: its only ports
are the UART pins (and an ``idle`` flag for an LED and for the virtual board's pacing). It
executes the commands of :mod:`ec_hw.protocol` on :class:`ec_hw.gateware.core.Core`.
"""

from collections.abc import Callable
from typing import NamedTuple

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .. import coremap
from ..config import CoreConfig, NetConfig
from ..protocol import (
    ERROR_STRUCT,
    FEATURE_ANTITHETIC,
    FEATURE_DEPLOYED,
    FEATURE_SAMPLER,
    FEATURE_STATUS,
    INFO_STRUCT,
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    MAX_PAYLOAD_LIMIT,
    REPLY_BIT,
    SAMPLE_ANTITHETIC,
    SAMPLE_FLAGS,
    SAMPLE_STRUCT,
    STATUS_STRUCT,
    ErrorCode,
    Info,
    Op,
    WireFormat,
    network_hash,
)
from .dispatch import Action, Gather, RequestDecoder
from .link import FrameLink
from .uart import check_divisor

__all__ = ["Top", "default_max_payload", "default_idle_timeout"]


class _WritePort(NamedTuple):
    """The reply buffer's write port, as ``FrameLink`` exposes it."""

    addr: Signal
    data: Signal
    en: Signal


class _Steps(NamedTuple):
    """What a command's states use of the executor: the request event, the gathered bytes,
    and the transitions to gather more bytes or to reply."""

    ev: object
    top_bytes: Callable
    gather: Callable
    reply_ok: Callable
    reply_error: Callable
    ret: Signal           # where the gather returns to (tells STEP's mask from RESET's)
    tw: _WritePort        # the reply buffer
    tptr: Signal          # next reply byte


def default_max_payload(net: NetConfig, core: CoreConfig) -> int:
    """1 KiB plus a LOAD header, or what one STEP of every slot needs if that is more."""
    wire_need = (-(-core.slots // 8) + core.slots * net.obs_dim * -(-core.obs_bits // 8))
    return min(MAX_PAYLOAD_LIMIT, max(1024 + LOAD_HEADER.size, wire_need, INFO_STRUCT.size))


def default_idle_timeout(divisor: int) -> int:
    """64 byte times: far above any gap inside a frame sent at once, far below host timeouts."""
    return 640 * divisor


class Top(wiring.Component):
    """UART + protocol + :class:`~ec_hw.gateware.core.Core` for ``core.slots`` member slots.

    Parameters
    ----------
    net, core : NetConfig, CoreConfig
        The network and core shape (also reported by INFO).
    divisor : int or None
        UART bit period in clock cycles (``clk_hz // baud``); ``None`` with ``byte_stream``.
    max_payload : int, optional
        Request payload buffer in bytes (default :func:`default_max_payload`).
    idle_timeout : int, optional
        Cycles of silence that drop a partial frame (default 64 byte times; 2**16 cycles
        with ``byte_stream``).
    clk_hz, baud, build_id : int
        Reported by INFO (informational).
    sampler : bool
        Include the on-device sampler (:class:`~ec_hw.gateware.sampler.SampleUnit`: the rho
        memory, 16 bits per connection, and a Threefry-2x32 pipeline) and execute
        ``LOAD_RHO`` and ``SAMPLE``, antithetic pairs included (INFO reports
        ``FEATURE_SAMPLER`` and ``FEATURE_ANTITHETIC``). Without it those
        opcodes get ``ERROR BAD_OPCODE``. Explicit ``LOAD`` works either way.
    deployed : numpy.ndarray, optional
        A packed genome (:mod:`ec_hw.model.packing`): build a deployed device whose connection
        memories hold this network in every slot from power-up (``ec-hw deploy``). INFO reports
        ``FEATURE_DEPLOYED`` and its :func:`~ec_hw.protocol.network_hash`; ``LOAD`` gets
        ``ERROR BAD_OPCODE`` (the memories keep the network INFO names). Needs
        ``sampler=False``.
    cores : int
        Cores behind the one link (:class:`~ec_hw.gateware.multicore.CoreArray`): ``core.slots``
        (what INFO reports and a STEP addresses) is split evenly among them and they step in
        parallel, so a STEP takes the cycles of ``core.slots // cores`` slots.
    byte_stream : bool
        Replace the UART pins with byte streams ``i``/``o`` (the PCIe device feeds them from
        AXI-Stream, :class:`~ec_hw.gateware.axis.AxisTop`).

    Members
    -------
    rx : In(1); tx : Out(1)
        UART pins, idle high.
    i : In(stream.Signature(8)); o : Out(stream.Signature(8))
        Instead of the pins with ``byte_stream``: request bytes in (always ready), reply bytes
        out.
    idle : Out(1)
        No command executing and no reply being sent (a partial request may be pending).

    Command latency (cycles after the request's last byte): INFO/STATUS ~2 per reply byte,
    LOAD ~2 per payload byte, STEP ~2 per observation byte + the core's
    ``cycles_per_env_step`` + ~``AB`` per action, LOAD_RHO ~6 (9) per rho value, SAMPLE ~20 +
    :func:`ec_hw.gateware.sampler.sample_cycles` (one member drawn straight into the core's
    ``load`` port, 4 connections per cycle); then the reply at 10 ``divisor`` per byte.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, divisor: int,
                 max_payload: int | None = None, idle_timeout: int | None = None,
                 clk_hz: int = 0, baud: int = 0, build_id: int = 0, sampler: bool = True,
                 deployed=None, cores: int = 1, byte_stream: bool = False):
        if not isinstance(net, NetConfig):
            raise TypeError(f"net must be a NetConfig, not {net!r}")
        if not isinstance(core, CoreConfig):
            raise TypeError(f"core must be a CoreConfig, not {core!r}")
        self.net, self.cfg = net, core
        if not isinstance(cores, int) or cores < 1 or core.slots % cores:
            raise ValueError(f"cores must be a positive integer dividing slots ({core.slots}), "
                             f"not {cores!r}")
        if cores > 1 and deployed is not None:
            raise ValueError("a deployed device has one core (pass cores=1)")
        self.cores, self.byte_stream = cores, bool(byte_stream)
        self.divisor = None if self.byte_stream and divisor is None else check_divisor(divisor)
        self.max_payload = default_max_payload(net, core) if max_payload is None else max_payload
        self.wire = WireFormat.of(net, core, self.max_payload)  # validates max_payload
        self.idle_timeout = (idle_timeout if idle_timeout is not None else 1 << 16
                             if self.divisor is None else default_idle_timeout(divisor))
        self.sampler = bool(sampler)
        self.conn_init = None
        features = FEATURE_STATUS | (FEATURE_SAMPLER | FEATURE_ANTITHETIC if self.sampler
                                     else 0)
        net_hash = 0
        if deployed is not None:
            if self.sampler:
                raise ValueError("a deployed device has no sampler (pass sampler=False)")
            self.conn_init = coremap.core_memory_init(deployed, net, core)
            features |= FEATURE_DEPLOYED
            net_hash = network_hash(deployed)
        self.info = Info.from_configs(net, core, max_payload=self.max_payload, clk_hz=clk_hz,
                                      baud=baud, features=features, build_id=build_id,
                                      network_hash=net_hash)
        pins = ({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))}
                if self.byte_stream else {"rx": In(1, init=1), "tx": Out(1, init=1)})
        super().__init__({**pins, "idle": Out(1)})

    def elaborate(self, platform):
        from .core import Core  # the gw helper's core; imported late so the link builds alone

        m = Module()
        net, cfg, wire = self.net, self.cfg, self.wire
        S = cfg.slots
        MB, OB, WB = wire.mask_bytes, wire.obs_bytes, wire.word_bytes
        G = max(LOAD_HEADER.size, WB, OB, MB,      # gather register bytes
                *((SAMPLE_STRUCT.size, LOAD_RHO_HEADER.size) if self.sampler else ()))
        tx_len = max(INFO_STRUCT.size, STATUS_STRUCT.size, wire.step_reply_len(S))

        m.submodules.link = link = FrameLink(
            divisor=None if self.byte_stream else self.divisor, max_payload=self.max_payload,
            idle_timeout=self.idle_timeout, reply_len=tx_len)
        if self.cores > 1:
            from .multicore import CoreArray

            m.submodules.core = core = CoreArray(net, cfg, cores=self.cores)
        else:
            m.submodules.core = core = Core(net, cfg, conn_init=self.conn_init)
        if self.sampler:
            from .sampler import SampleUnit

            m.submodules.sampler = su = SampleUnit(net, cfg)
        if self.byte_stream:
            wiring.connect(m, wiring.flipped(self.i), link.i)
            wiring.connect(m, link.o, wiring.flipped(self.o))
        else:
            m.d.comb += [link.rx.eq(self.rx), self.tx.eq(link.tx)]
        requests, replies = link.requests, link.replies
        tw = _WritePort(link.wr_addr, link.wr_data, link.wr_en)

        ev = requests.payload
        rep = replies.payload

        # -- executor state ---------------------------------------------------------------------
        c_valid = Signal()                 # retry cache: the last successful reply
        c_seq = Signal(8)
        c_crc = Signal(16)
        c_op = Signal(8)
        c_len = Signal(range(tx_len + 1))
        status = Signal(STATUS_STRUCT.layout)    # the STATUS reply's counters

        rptr = Signal(range(self.max_payload + 1))
        acc = Signal(8 * G)
        gleft = Signal(range(G + 1))
        ret = Signal(Gather)
        tptr = Signal(range(tx_len + 1))
        copy_len = Signal(range(tx_len + 1))
        copy_info = Signal()

        laddr = Signal(32)      # LOAD's and LOAD_RHO's next address and words to go
        lcount = Signal(16)

        m.d.comb += link.rd_addr.eq(rptr)
        with m.If(link.overrun):
            m.d.sync += status.overruns.eq(status.overruns + 1)

        def top_bytes(n):
            return acc[8 * (G - n):]

        def gather(n, r):
            m.d.sync += [gleft.eq(n), ret.eq(r)]
            m.next = "G_ADDR"

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

        info_bytes = self.info.pack()
        info_const = Const(int.from_bytes(info_bytes, "little"), 8 * len(info_bytes))

        # The command table decides once per request (registered: the executor acts on it in
        # DISPATCH, a cycle later).
        m.submodules.decoder = dec = RequestDecoder(
            max_payload=self.max_payload, mask_bytes=MB, load=self.conn_init is None,
            sampler=self.sampler)
        m.d.comb += [dec.ev.eq(ev), dec.c_valid.eq(c_valid), dec.c_seq.eq(c_seq),
                     dec.c_crc.eq(c_crc)]
        d_action, d_error = Signal(Action), Signal(8)
        d_gather, d_count = Signal(Gather), Signal.like(dec.count)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(link.idle & ~requests.valid)
                with m.If(requests.valid):
                    m.d.sync += [rptr.eq(0), d_action.eq(dec.action), d_error.eq(dec.error),
                                 d_gather.eq(dec.gather), d_count.eq(dec.count),
                                 status.frames_ok.eq(status.frames_ok + dec.frame_ok),
                                 status.frames_bad.eq(status.frames_bad + dec.frame_bad)]
                    with m.If(dec.frame_ok & (dec.action != Action.RESEND)):
                        m.d.sync += [c_valid.eq(0), tptr.eq(0)]
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                with m.Switch(d_action):
                    with m.Case(Action.ERROR):
                        reply_error(d_error)
                    with m.Case(Action.RESEND):
                        # A retry of the request we already executed: re-send its reply.
                        m.d.sync += [rep.op.eq(c_op | REPLY_BIT), rep.seq.eq(c_seq),
                                     rep.length.eq(c_len), rep.inline.eq(0)]
                        m.next = "SEND"
                    with m.Case(Action.INFO):
                        m.d.sync += [copy_len.eq(len(info_bytes)), copy_info.eq(1)]
                        m.next = "COPY"
                    with m.Case(Action.STATUS):
                        m.d.sync += [copy_len.eq(STATUS_STRUCT.size), copy_info.eq(0)]
                        m.next = "COPY"
                    with m.Case(Action.GATHER):
                        gather(d_count, d_gather)

            # -- gather n bytes of the request payload, little endian, into acc's top ---------
            with m.State("G_ADDR"):  # the payload buffer's read latency
                m.next = "G_DATA"
            with m.State("G_DATA"):
                m.d.sync += [acc.eq(Cat(acc[8:], link.rd_data)), rptr.eq(rptr + 1),
                             gleft.eq(gleft - 1)]
                m.next = "G_ADDR"
                with m.If(gleft == 1):
                    with m.Switch(ret):
                        with m.Case(Gather.LOAD_HDR):
                            m.next = "LOAD_HDR"
                        with m.Case(Gather.LOAD_WORD):
                            m.next = "LOAD_PUSH"
                        with m.Case(Gather.STEP_MASK, Gather.RESET_MASK):
                            m.next = "MASK"
                        with m.Case(Gather.STEP_OBS):
                            m.next = "STEP_OBS"
                        if self.sampler:
                            with m.Case(Gather.RHO_HDR):
                                m.next = "RHO_HDR"
                            with m.Case(Gather.RHO_VAL):
                                m.next = "RHO_PUSH"
                            with m.Case(Gather.SAMPLE):
                                m.next = "SAMPLE_HDR"

            # -- INFO / STATUS: copy constant bytes into the reply buffer ----------------------
            with m.State("COPY"):
                src = Mux(copy_info, info_const.word_select(tptr, 8),
                          status.as_value().word_select(tptr, 8))
                m.d.comb += [tw.addr.eq(tptr), tw.data.eq(src), tw.en.eq(1)]
                m.d.sync += tptr.eq(tptr + 1)
                with m.If(tptr + 1 == copy_len):
                    reply_ok(copy_len)

            steps = _Steps(ev, top_bytes, gather, reply_ok, reply_error, ret, tw, tptr)
            self._elaborate_load(m, steps, core, laddr, lcount)
            if self.sampler:
                self._elaborate_sampler(m, steps, su, core, laddr, lcount)
            self._elaborate_step_reset(m, steps, core, status)

            # -- reply, then release the parser ---------------------------------------------------
            with m.State("SEND"):
                m.d.comb += replies.valid.eq(1)
                with m.If(replies.ready):
                    m.d.comb += requests.ready.eq(1)
                    m.next = "IDLE"
        return m

    def _elaborate_load(self, m, steps, core, laddr, lcount):
        """LOAD: check the header, then push ``count`` words into the core's ``load`` port."""
        ev, top_bytes, gather = steps.ev, steps.top_bytes, steps.gather
        reply_ok, reply_error = steps.reply_ok, steps.reply_error
        WB = self.wire.word_bytes
        depth = [coremap.matrix_depth(mx, self.net, self.cfg) for mx in range(3)]
        word_shift = WB.bit_length() - 1
        matrix = Signal(2)
        hdr = LOAD_HEADER.layout(top_bytes(LOAD_HEADER.size))
        l_end = Signal(len(hdr.addr) + 1)
        l_len = Signal(len(hdr.count) + word_shift + 1)
        l_mat_ok = Signal()     # the 8-bit field names a matrix (``matrix`` keeps 2 bits)
        # -- LOAD: the header's sums are registered, then checked ---------------------------
        with m.State("LOAD_HDR"):
            m.d.sync += [matrix.eq(hdr.matrix), lcount.eq(hdr.count), laddr.eq(hdr.addr),
                         l_end.eq(hdr.addr + hdr.count), l_mat_ok.eq(hdr.matrix <= 2),
                         l_len.eq(LOAD_HEADER.size + (hdr.count << word_shift))]
            m.next = "LOAD_CHECK"
        with m.State("LOAD_CHECK"):
            h_depth = Mux(matrix == 0, depth[0], Mux(matrix == 1, depth[1], depth[2]))
            ok = l_mat_ok & (lcount != 0) & (ev.length == l_len) & (l_end <= h_depth)
            with m.If(ok):
                gather(WB, Gather.LOAD_WORD)
            with m.Else():
                reply_error(ErrorCode.BAD_ARG)
        with m.State("LOAD_PUSH"):
            # The core's load port has two drivers, this state and SAMPLE_RUN (the sampler);
            # the FSM state is the mux.
            m.d.comb += [core.load.valid.eq(1), core.load.payload.matrix.eq(matrix),
                         core.load.payload.addr.eq(laddr),
                         core.load.payload.data.eq(top_bytes(WB))]
            with m.If(core.load.ready):
                m.d.sync += [laddr.eq(laddr + 1), lcount.eq(lcount - 1)]
                with m.If(lcount == 1):
                    reply_ok(0)
                with m.Else():
                    gather(WB, Gather.LOAD_WORD)

    def _elaborate_step_reset(self, m, steps, core, status):
        """STEP (observations in, one env step, actions out) and RESET (masked slots)."""
        ev, top_bytes, gather = steps.ev, steps.top_bytes, steps.gather
        reply_ok, reply_error = steps.reply_ok, steps.reply_error
        ret, tw, tptr = steps.ret, steps.tw, steps.tptr
        cfg, wire = self.cfg, self.wire
        S, D, A = cfg.slots, self.net.obs_dim, self.net.act_dim
        MB, OB, AB = wire.mask_bytes, wire.obs_bytes, wire.act_bytes
        mask = Signal(max(S, 1))
        slot = Signal(range(S + 1))
        didx = Signal(range(max(D, 2)))
        explen = Signal(range(self.max_payload + S * D * OB + MB + 1))
        nact = Signal(range(S * A + 1))
        aval = Signal(8 * AB)
        abyte = Signal(range(AB + 1))
        # -- STEP / RESET: check the slot mask and the length -------------------------------
        with m.State("MASK"):
            full = top_bytes(MB)
            m.d.sync += [mask.eq(full[:S]), slot.eq(0), explen.eq(MB)]
            spare_ok = (full[S:] == 0) if MB * 8 > S else Const(1)
            with m.If(~spare_ok):
                reply_error(ErrorCode.BAD_ARG)
            with m.Elif(ret == Gather.RESET_MASK):
                with m.If(ev.length != MB):
                    reply_error(ErrorCode.BAD_ARG)
                with m.Else():
                    m.next = "RESET_NEXT"
            with m.Else():
                m.next = "STEP_LEN"
        with m.State("STEP_LEN"):
            with m.If(slot == S):
                m.d.sync += slot.eq(0)
                with m.If(explen != ev.length):
                    reply_error(ErrorCode.BAD_ARG)
                with m.Else():
                    m.next = "STEP_SLOT"
            with m.Else():
                m.d.sync += [slot.eq(slot + 1),
                             explen.eq(explen + Mux(mask.bit_select(slot, 1), D * OB, 0))]

        # -- STEP: observations of the masked slots, one env step, actions ------------------
        with m.State("STEP_SLOT"):
            m.d.sync += didx.eq(0)
            with m.If(slot == S):
                m.next = "STEP_CMD"
            with m.Elif(mask.bit_select(slot, 1)):
                gather(OB, Gather.STEP_OBS)
            with m.Else():
                m.d.sync += slot.eq(slot + 1)
        with m.State("STEP_OBS"):
            m.d.comb += [core.obs.valid.eq(1), core.obs.payload.slot.eq(slot),
                         core.obs.payload.index.eq(didx),
                         core.obs.payload.value.eq(top_bytes(OB)[:cfg.obs_bits])]
            with m.If(core.obs.ready):
                m.d.sync += didx.eq(didx + 1)
                with m.If(didx == D - 1):
                    m.d.sync += slot.eq(slot + 1)
                    m.next = "STEP_SLOT"
                with m.Else():
                    gather(OB, Gather.STEP_OBS)
        with m.State("STEP_CMD"):
            m.d.comb += [core.cmd.valid.eq(1), core.cmd.payload.op.eq(coremap.CoreOp.STEP),
                         core.cmd.payload.slot.eq(0)]
            with m.If(core.cmd.ready):
                m.d.sync += [nact.eq(0), tptr.eq(0)]
                m.next = "STEP_ACT"
        with m.State("STEP_ACT"):
            with m.If(nact == S * A):
                m.d.sync += status.cycles.eq(core.cycles)
                reply_ok(tptr)
            with m.Else():
                m.d.comb += core.act.ready.eq(1)
                with m.If(core.act.valid):
                    m.d.sync += [nact.eq(nact + 1),
                                 aval.eq(core.act.payload.value),
                                 abyte.eq(0)]
                    with m.If(mask.bit_select(core.act.payload.slot, 1)):
                        m.next = "STEP_ACT_BYTES"
        with m.State("STEP_ACT_BYTES"):
            # sign-extend the action to AB bytes, little endian
            ext = Signal(8 * AB)
            m.d.comb += ext.eq(aval[:cfg.action_bits].as_signed())
            m.d.comb += [tw.addr.eq(tptr), tw.data.eq(ext.word_select(abyte, 8)),
                         tw.en.eq(1)]
            m.d.sync += [tptr.eq(tptr + 1), abyte.eq(abyte + 1)]
            with m.If(abyte == AB - 1):
                m.next = "STEP_ACT"

        # -- RESET ----------------------------------------------------------------------------
        with m.State("RESET_NEXT"):
            with m.If(slot == S):
                m.next = "RESET_SETTLE"
            with m.Elif(mask.bit_select(slot, 1)):
                m.d.comb += [core.cmd.valid.eq(1), core.cmd.payload.op.eq(coremap.CoreOp.RESET),
                             core.cmd.payload.slot.eq(slot)]
                with m.If(core.cmd.ready):
                    m.d.sync += slot.eq(slot + 1)
            with m.Else():
                m.d.sync += slot.eq(slot + 1)
        with m.State("RESET_SETTLE"):  # busy rises the cycle after the last cmd
            m.next = "RESET_WAIT"
        with m.State("RESET_WAIT"):
            with m.If(~core.busy):
                reply_ok(0)

    def _elaborate_sampler(self, m, steps, su, core, raddr, rcount):
        """LOAD_RHO and SAMPLE states (``raddr``/``rcount`` reuse LOAD's address/count)."""
        ev, top_bytes, gather = steps.ev, steps.top_bytes, steps.gather
        reply_ok, reply_error = steps.reply_ok, steps.reply_error
        n_conn = self.net.n_conn
        S = self.cfg.slots
        hdr = LOAD_RHO_HEADER.layout(top_bytes(LOAD_RHO_HEADER.size))
        r_end = Signal(len(hdr.start) + 1)
        r_len = Signal(len(hdr.count) + 2)
        with m.State("RHO_HDR"):
            m.d.sync += [raddr.eq(hdr.start), rcount.eq(hdr.count),
                         r_end.eq(hdr.start + hdr.count),
                         r_len.eq(LOAD_RHO_HEADER.size + (hdr.count << 1))]
            m.next = "RHO_CHECK"
        with m.State("RHO_CHECK"):
            ok = (rcount != 0) & (ev.length == r_len) & (r_end <= n_conn)
            with m.If(ok):
                gather(2, Gather.RHO_VAL)
            with m.Else():
                reply_error(ErrorCode.BAD_ARG)
        with m.State("RHO_PUSH"):
            m.d.comb += [su.rho_load.valid.eq(1), su.rho_load.payload.addr.eq(raddr),
                         su.rho_load.payload.data.eq(top_bytes(2))]
            with m.If(su.rho_load.ready):
                m.d.sync += [raddr.eq(raddr + 1), rcount.eq(rcount - 1)]
                with m.If(rcount == 1):
                    reply_ok(0)
                with m.Else():
                    gather(2, Gather.RHO_VAL)

        p = su.cmd.payload
        with m.State("SAMPLE_HDR"):
            hdr = SAMPLE_STRUCT.layout(top_bytes(SAMPLE_STRUCT.size))
            m.d.sync += [p.slot.eq(hdr.slot), p.gen_seed.eq(hdr.gen_seed),
                         p.member.eq(hdr.member),
                         p.antithetic.eq((hdr.flags & SAMPLE_ANTITHETIC) != 0)]
            with m.If((hdr.slot >= S) | ((hdr.flags & ~SAMPLE_FLAGS) != 0)):
                reply_error(ErrorCode.BAD_ARG)
            with m.Else():
                m.next = "SAMPLE_CMD"
        with m.State("SAMPLE_CMD"):
            m.d.comb += su.cmd.valid.eq(1)
            with m.If(su.cmd.ready):
                m.next = "SAMPLE_RUN"
        with m.State("SAMPLE_RUN"):
            # busy rises on the cmd transfer's edge, so it is already high here; it falls after
            # the member's last word was taken by the core.
            m.d.comb += [core.load.valid.eq(su.load.valid),
                         core.load.payload.eq(su.load.payload),
                         su.load.ready.eq(core.load.ready)]
            with m.If(~su.busy):
                reply_ok(0)
