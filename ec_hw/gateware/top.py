"""The device: UART, frame parser/serializer and a command executor around the LIF core.

:class:`Top` is the top level of every board build and of the virtual board: its only ports
are the UART pins (and an ``idle`` flag for an LED and for the virtual board's pacing). It
executes the commands of :mod:`ec_hw.protocol` on :class:`ec_hw.gateware.core.Core`.

Its parts, each a Component with its own test:

* :class:`~ec_hw.gateware.link.FrameLink`: UART (or byte streams), frame parser with the
  request payload buffer, frame serializer with the reply buffer;
* :class:`~ec_hw.gateware.dispatch.Dispatcher`: the command table
  (:class:`~ec_hw.gateware.dispatch.RequestDecoder`), the retry cache, the reply descriptor;
* the command units of :mod:`ec_hw.gateware.commands` (INFO/STATUS, LOAD, STEP, RESET,
  LOAD_RHO/SAMPLE with the sampler), which read the request through one
  :class:`~ec_hw.gateware.commands.PayloadReader` and drive the core.
"""

from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .. import coremap
from ..config import CoreConfig, NetConfig
from ..protocol import (
    FEATURE_ANTITHETIC,
    FEATURE_DEPLOYED,
    FEATURE_SAMPLER,
    FEATURE_STATUS,
    INFO_STRUCT,
    LOAD_HEADER,
    LOAD_RHO_HEADER,
    MAX_PAYLOAD_LIMIT,
    SAMPLE_STRUCT,
    STATUS_STRUCT,
    Info,
    WireFormat,
    network_hash,
)
from .commands import (
    InfoStatus,
    LoadCommand,
    PayloadReader,
    ResetCommand,
    SamplerCommands,
    StepCommand,
    share,
)
from .dispatch import Dispatcher
from .link import FrameLink
from .uart import check_divisor

__all__ = ["Top", "default_max_payload", "default_idle_timeout"]


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
        self.reply_len = max(INFO_STRUCT.size, STATUS_STRUCT.size,
                             self.wire.step_reply_len(core.slots))
        self.gather_width = max(   # the longest run of request bytes a command reads at once
            LOAD_HEADER.size, self.wire.word_bytes, self.wire.obs_bytes, self.wire.mask_bytes,
            *((SAMPLE_STRUCT.size, LOAD_RHO_HEADER.size) if self.sampler else ()))
        pins = ({"i": In(stream.Signature(8)), "o": Out(stream.Signature(8))}
                if self.byte_stream else {"rx": In(1, init=1), "tx": Out(1, init=1)})
        super().__init__({**pins, "idle": Out(1)})

    def _core(self):
        """The core, or several behind one set of ports (imported here, not at the top, so that
        the link's modules import without the core's)."""
        if self.cores > 1:
            from .multicore import CoreArray

            return CoreArray(self.net, self.cfg, cores=self.cores)
        from .core import Core

        return Core(self.net, self.cfg, conn_init=self.conn_init)

    def elaborate(self, platform):
        m = Module()
        net, cfg, wire = self.net, self.cfg, self.wire
        sampler, load = self.sampler, self.conn_init is None
        reply_len, width = self.reply_len, self.gather_width
        units = dict(wire=wire, reply_len=reply_len)

        m.submodules.link = link = FrameLink(
            divisor=self.divisor, max_payload=self.max_payload, idle_timeout=self.idle_timeout,
            reply_len=reply_len)
        if self.byte_stream:
            wiring.connect(m, wiring.flipped(self.i), link.i)
            wiring.connect(m, link.o, wiring.flipped(self.o))
        else:
            m.d.comb += [link.rx.eq(self.rx), self.tx.eq(link.tx)]
        m.submodules.core = core = self._core()

        m.submodules.dispatcher = disp = Dispatcher(
            max_payload=self.max_payload, mask_bytes=wire.mask_bytes, load=load,
            sampler=sampler, reply_len=reply_len, reply_payload=link.ser_payload)
        m.submodules.reader = reader = PayloadReader(width=width, max_payload=self.max_payload)
        wiring.connect(m, link.requests, disp.requests)
        wiring.connect(m, disp.replies, link.replies)
        m.d.comb += [reader.rewind.eq(disp.rewind), link.rd_addr.eq(reader.rd_addr),
                     reader.rd_data.eq(link.rd_data), self.idle.eq(link.idle & disp.idle)]

        m.submodules.info_status = info = InfoStatus(self.info.pack(), **units)
        m.submodules.step = step = StepCommand(
            net, cfg, **units, gather_width=width, obs=core.obs.signature.flip(),
            core_cmd=core.cmd.signature.flip(), act=core.act.signature)
        m.submodules.reset = reset = ResetCommand(
            cfg.slots, **units, gather_width=width, core_cmd=core.cmd.signature.flip())
        m.d.comb += [info.frame_ok.eq(disp.frame_ok), info.frame_bad.eq(disp.frame_bad),
                     info.overrun.eq(link.overrun), info.cycles.eq(step.cycles),
                     step.core_cycles.eq(core.cycles), reset.busy.eq(core.busy)]
        wiring.connect(m, step.obs, core.obs)
        wiring.connect(m, core.act, step.act)
        commands, loaders = [info, step, reset], []
        if load:
            m.submodules.load = ld = LoadCommand(net, cfg, **units, gather_width=width,
                                                 load=core.load.signature.flip())
            commands.append(ld)
            loaders.append(ld.load)
        if sampler:
            m.submodules.sampler = smp = SamplerCommands(
                net, cfg, **units, gather_width=width, load=core.load.signature.flip())
            commands.append(smp)
            loaders.append(smp.load)

        # Only the running command drives these; the others hold them at 0 (commands.share).
        share(m, disp.cmd, [c.cmd for c in commands])
        share(m, reader.port, [c.gather for c in commands if c.gather_width is not None])
        share(m, link.reply_wr, [info.reply, step.reply])
        share(m, core.cmd, [step.core_cmd, reset.core_cmd])
        if loaders:
            share(m, core.load, loaders)
        return m
