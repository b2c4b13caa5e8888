"""The LIF network core: ``core.slots`` member networks, stepped together by one STEP command.

Twin of :func:`ec_hw.model.core.core_env_step` (bit-exact to :mod:`ec_hw.fixedpoint`), composed
of the block twins :class:`~ec_hw.gateware.projection.InputProjection`,
:class:`~ec_hw.gateware.popcount.PopcountTree`, :class:`~ec_hw.gateware.lif.LIFUnit` and
:class:`~ec_hw.gateware.readout.Readout`. Ports and the connection word map are fixed by
``docs/core-interface.md``.

Organisation
------------
``lanes`` datapaths run in lock step; lane ``l`` owns the neurons ``j = m * lanes + l``
(``m < N / lanes``) and keeps their ``W_in`` and ``W_rec`` rows and their state (``i_syn, v,
rate`` and ``i_in``) in its own block RAMs, so each lane reads one connection word per cycle.
``W_out``, the observation and the actions are shared. The spike vector of the running slot
lives in two N-bit registers (previous / next substep); between env steps each slot's spikes
are kept in a small RAM.

One STEP runs, for every slot in turn:

1. projection: ``N/lanes * chunks`` cycles, ``chunks = ceil(2D / cols)``, ``cols = min(W, 16)``
   observation columns per lane and cycle;
2. ``substeps`` times: ``N/lanes * wpr`` cycles (one word of one row per lane and cycle, the
   ideal ``N*N / (lanes*W)`` when W divides N), then a drain of the pipeline so every neuron of
   the next substep sees the complete spike vector (double buffering);
3. readout: ``A * N/lanes`` cycles (``lanes`` rates per cycle);

and then streams the ``S*A`` actions. :func:`cycles_per_env_step` gives the exact count.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..config import CoreConfig, NetConfig
from ..coremap import addr_bits as _addr_bits
from ..coremap import w_in_bits as _w_in_bits
from ..coremap import words_per_row
from ..fixedpoint import FixedPoint, derive
from .bram import RegisteredRAM
from .core_io import DebugReadback, LoadDecoder, ObsWriter
from .datapath import ProjectionPath, ReadoutPath, SpikeRegisters, SubstepPath
from .lif import LIFUnit
from .popcount import PopcountTree
from .projection import InputProjection
from .readout import Readout
from .sequencer import CoreSequencer, StateRead

__all__ = ["Core", "CoreGeometry", "cycles_per_env_step"]

_REGS_EVERY = 3
"""Adder-tree levels between pipeline registers in every tree of the core."""


@dataclass(frozen=True)
class _Port:
    """The ``addr`` / ``data`` / ``en`` of a :class:`~ec_hw.gateware.bram.RegisteredRAM` port,
    named as a ``lib.memory`` port's."""

    addr: object
    data: object
    en: object


@dataclass(frozen=True)
class CoreGeometry:
    """Every size, latency and cycle count of a core (validated at construction).

    Raises
    ------
    TypeError, ValueError
        If the configuration cannot be built (see :class:`Core`).
    """

    net: NetConfig
    core: CoreConfig

    def __post_init__(self):
        if not isinstance(self.net, NetConfig):
            raise TypeError(f"net must be a NetConfig, not {self.net!r}")
        if not isinstance(self.core, CoreConfig):
            raise TypeError(f"core must be a CoreConfig, not {self.core!r}")
        n, lanes, w = self.net.n_neurons, self.core.lanes, self.core.word_bits
        if n % lanes:
            raise ValueError(f"lanes must divide n_neurons ({n}), not {lanes!r}")
        if lanes > w:
            raise ValueError(f"lanes must not exceed word_bits ({w}), not {lanes!r}")
        derive(self.net, self.core)   # raises ValueError on widths that could overflow

    @property
    def fp(self) -> FixedPoint:
        return derive(self.net, self.core)

    @property
    def per_lane(self) -> int:
        """Neurons per lane, ``N / lanes``."""
        return self.net.n_neurons // self.core.lanes

    @property
    def wpr_in(self) -> int:
        return words_per_row(self.net, self.core)[0]

    @property
    def wpr(self) -> int:
        return words_per_row(self.net, self.core)[1]

    @property
    def cols(self) -> int:
        """Observation columns summed per lane and cycle by the projection."""
        return min(self.core.word_bits, 16)

    @property
    def chunks(self) -> int:
        """Projection cycles per neuron, ``ceil(2D / cols)``."""
        return -(-self.net.n_inputs // self.cols)

    @property
    def lat_pop(self) -> int:
        return PopcountTree.latency_of(self.core.word_bits, _REGS_EVERY)

    @property
    def lat_lif(self) -> int:
        return LIFUnit.latency

    @property
    def lat_proj(self) -> int:
        """The projection's pipeline: the memory-data register of
        :class:`~ec_hw.gateware.datapath.ProjectionPath`, then :class:`InputProjection`."""
        return 1 + InputProjection.latency_of(self.cols, _REGS_EVERY)

    @property
    def lat_out(self) -> int:
        """The readout's pipeline: the memory-data register of
        :class:`~ec_hw.gateware.datapath.ReadoutPath`, then :class:`Readout`."""
        return 1 + Readout.latency_of(self.core.lanes, _REGS_EVERY)

    @property
    def drain_proj(self) -> int:
        """Cycles after the last projection issue until ``i_in`` is written and the slot's
        spikes are loaded."""
        return self.lat_proj + 2

    @property
    def drain_sub(self) -> int:
        """Cycles after a substep's last issue: the last neuron's popcount, LIF update and
        spike write (``1 + lat_pop + lat_lif``), then the spike-vector swap."""
        return self.lat_pop + self.lat_lif + 2

    @property
    def drain_out(self) -> int:
        """Cycles after the last readout issue until the last action is written."""
        return self.lat_out + 1

    @property
    def cycles_per_substep(self) -> int:
        return self.per_lane * self.wpr + self.drain_sub

    @property
    def cycles_per_slot(self) -> int:
        return (self.per_lane * self.chunks + self.drain_proj
                + self.net.substeps * self.cycles_per_substep
                + self.net.act_dim * self.per_lane + self.drain_out)

    @property
    def cycles_per_env_step(self) -> int:
        """Cycles from accepting STEP to the first valid ``act`` transfer (all slots)."""
        return self.core.slots * self.cycles_per_slot + 2


def cycles_per_env_step(net: NetConfig, core: CoreConfig) -> int:
    """Clock cycles of one STEP, from accepting the command to the first valid action.

    With ``P = N / lanes``, ``wpr = ceil(N / W)``, ``chunks = ceil(2D / min(W, 16))`` and the
    block latencies ``L_pop`` (:class:`PopcountTree`, 3 + one per 3 tree levels beyond the
    first), ``L_lif = 10``, ``L_proj`` (1 + :class:`InputProjection`), ``L_out``
    (1 + :class:`Readout`), pipelined for a 100 MHz clock on an ECP5::

        cycles = S * ( P * chunks + (L_proj + 2)                       # input projection
                       + substeps * (P * wpr + L_pop + L_lif + 2)      # LIF substeps
                       + A * P + (L_out + 1) )                         # readout
                 + 2                                                   # action read-out

    At N = 256, lanes = 4, W = 64: ``P * wpr = 256`` = ``N*N / (lanes*W)`` cycles per substep
    plus 16 cycles of pipeline drain (9 before the 100 MHz pipelining); a Hopper env step is
    9314 cycles, 93 us at 100 MHz.
    """
    return CoreGeometry(net, core).cycles_per_env_step


class Core(wiring.Component):
    """The LIF network core (ports and word map: ``docs/core-interface.md``).

    Golden-model twin: :func:`ec_hw.model.core.core_env_step`, once per slot per STEP.

    Parameters
    ----------
    net : NetConfig
    core : CoreConfig
        ``lanes`` must divide ``n_neurons`` and not exceed ``word_bits``; the fixed-point
        widths must pass :func:`ec_hw.fixedpoint.derive`.
    conn_init : dict, optional
        Initial contents of the connection memories by name (``w_in<lane>``, ``w_rec<lane>``,
        ``w_out``), as :func:`ec_hw.coremap.core_memory_init` returns them: the core runs that
        network from power-up without any ``load`` (``ec-hw deploy``). Default: zeros.

    Members
    -------
    load : In(stream)  {matrix, addr, data}: one connection word per transfer.
    obs : In(stream)   {slot, index, value}: writes ``x_q[index]`` of a slot.
    cmd : In(stream)   {op, slot}: 0 = STEP (all slots), 1 = RESET slot, 2 = RESET all.
    act : Out(stream)  {slot, index, value}: ``S*A`` actions after each STEP, slot-major.
    dbg_req : In(stream) {slot, sel, addr}; dbg_resp : Out(stream) signed(32).
    busy : Out(1)      high while a STEP (until its last action is taken) or RESET runs; also
                       right after reset, while the core clears every slot's state.
    cycles : Out(32)   cycles of the most recent STEP (see :func:`cycles_per_env_step`).

    ``load``, ``obs``, ``cmd`` and ``dbg_req`` are only accepted while idle. Writes to
    addresses or indices outside the configuration are accepted and dropped; debug reads of
    them return 0.

    Raises
    ------
    TypeError, ValueError
        On an unusable configuration, e.g. ``"lanes must divide n_neurons (32), not 64"``.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, conn_init: dict | None = None):
        self.geom = CoreGeometry(net, core)
        self.conn_init = dict(conn_init or {})
        known = {f"{m}{ln}" for m in ("w_in", "w_rec") for ln in range(core.lanes)} | {"w_out"}
        if not set(self.conn_init) <= known:
            raise ValueError(f"conn_init names unknown memories "
                             f"{sorted(set(self.conn_init) - known)!r}")
        self.net = net
        self.core = core
        self.fp = self.geom.fp
        fp = self.fp
        slot = unsigned(ceil_log2(core.slots))
        self.load_layout = data.StructLayout({
            "matrix": unsigned(2), "addr": unsigned(_addr_bits(net, core)),
            "data": unsigned(core.word_bits)})
        self.obs_layout = data.StructLayout({
            "slot": slot, "index": unsigned(ceil_log2(net.obs_dim)),
            "value": signed(core.obs_bits)})
        self.cmd_layout = data.StructLayout({"op": unsigned(2), "slot": slot})
        self.act_layout = data.StructLayout({
            "slot": slot, "index": unsigned(ceil_log2(net.act_dim)),
            "value": signed(fp.action_bits)})
        self.dbg_layout = data.StructLayout({"slot": slot, "sel": unsigned(3),
                                             "addr": unsigned(16)})
        super().__init__({
            "load": In(stream.Signature(self.load_layout)),
            "obs": In(stream.Signature(self.obs_layout)),
            "cmd": In(stream.Signature(self.cmd_layout)),
            "act": Out(stream.Signature(self.act_layout)),
            "dbg_req": In(stream.Signature(self.dbg_layout)),
            "dbg_resp": Out(stream.Signature(signed(32))),
            "busy": Out(1),
            "cycles": Out(32),
        })

    def _memories(self, m):
        """Every memory of the core, as ``{name: (write_ports, read_ports)}``: a list over the
        lanes for the banked ones (``w_in``, ``w_rec``, ``state``, ``i_in``), one port each for
        the shared ones."""
        g, fp, cfg = self.geom, self.fp, self.core
        s_cnt, per_lane, ob = cfg.slots, g.per_lane, cfg.obs_bits
        state_layout = data.StructLayout({"i_syn": signed(fp.state_bits),
                                          "v": signed(fp.state_bits),
                                          "rate": unsigned(fp.rate_bits)})
        # A W_in row that fits one word keeps only its 2D columns (padding is zero): at W = 64
        # and D = 11 a lane's W_in fits a RAMB18 (36 bits wide) instead of a RAMB36.
        banked = {"w_in": (unsigned(_w_in_bits(self.net, cfg)), s_cnt * per_lane * g.wpr_in),
                  "w_rec": (unsigned(cfg.word_bits), s_cnt * per_lane * g.wpr),
                  "state": (state_layout, s_cnt * per_lane),
                  "i_in": (signed(fp.state_bits), s_cnt * per_lane)}
        shared = {"w_out": (unsigned(cfg.word_bits), s_cnt * self.net.act_dim * g.wpr, None),
                  "x_pos": (unsigned(g.cols * ob), s_cnt * g.chunks, ob),
                  "x_neg": (unsigned(g.cols * ob), s_cnt * g.chunks, ob),
                  "spikes": (unsigned(self.net.n_neurons), s_cnt, None),
                  "actions": (signed(fp.action_bits), s_cnt * self.net.act_dim, None)}
        mems = {}

        def make(name, shape, depth, granularity=None):
            mem = memory.Memory(shape=shape, depth=max(2, depth),
                                init=self.conn_init.get(name, []))
            m.submodules[name] = mem
            return mem.write_port(granularity=granularity), mem.read_port()

        def make_registered(name, shape, depth):
            # Two cycles from address to data: the lanes' memories are the core's block RAMs,
            # and their output register is the block RAM's own (docs/timing.md).
            ram = RegisteredRAM(shape, depth, init=self.conn_init.get(name, []))
            m.submodules[name] = ram
            return (_Port(addr=ram.w_addr, data=ram.w_data, en=ram.w_en),
                    _Port(addr=ram.r_addr, data=ram.r_data, en=None))

        for name, (shape, depth) in banked.items():
            ports = [make_registered(f"{name}{ln}", shape, depth) for ln in range(cfg.lanes)]
            mems[name] = ([w for w, _ in ports], [r for _, r in ports])
        for name, (shape, depth, gran) in shared.items():
            mems[name] = make(name, shape, depth, gran)
        return mems

    def elaborate(self, platform):
        m = Module()
        g, lanes, per_lane = self.geom, self.core.lanes, self.geom.per_lane
        mems = self._memories(m)
        win_w, win_r = mems["w_in"]
        wrec_w, wrec_r = mems["w_rec"]
        st_w, st_r = mems["state"]
        iin_w, iin_r = mems["i_in"]
        (wout_w, wout_r), (spk_w, spk_r), (act_w, act_r) = (mems[k] for k in
                                                           ("w_out", "spikes", "actions"))

        m.submodules.seq = seq = CoreSequencer(g, self.cmd_layout, self.dbg_layout)
        wiring.connect(m, wiring.flipped(self.cmd), seq.cmd)
        wiring.connect(m, wiring.flipped(self.dbg_req), seq.dbg_req)
        m.d.comb += [self.busy.eq(~seq.idle & ~seq.dbg_phase), self.cycles.eq(seq.cycles)]
        self._host_writes(m, seq, mems)

        # The datapaths follow the sequencer's beats.
        m.submodules.projection = pj = ProjectionPath(g, regs_every=_REGS_EVERY)
        m.submodules.substep = sp = SubstepPath(g, regs_every=_REGS_EVERY)
        m.submodules.readout = ro = ReadoutPath(g, regs_every=_REGS_EVERY)
        m.submodules.spike_regs = spk = SpikeRegisters(self.net.n_neurons, lanes)
        cur_slot, slot_base = seq.cur_slot, seq.cur_slot * per_lane
        for path, issue in ((pj, seq.proj_issue), (sp, seq.sub_issue), (ro, seq.out_issue)):
            m.d.comb += [path.issue.eq(issue), path.cur_slot.eq(cur_slot),
                         path.cnt_m.eq(seq.cnt_m), path.cnt_w.eq(seq.cnt_w)]
        m.d.comb += ro.clear.eq(seq.idle)
        x_pos_r, x_neg_r = mems["x_pos"][1], mems["x_neg"][1]
        m.d.comb += [x_pos_r.addr.eq(pj.x_addr), x_neg_r.addr.eq(pj.x_addr),
                     pj.pos.eq(x_pos_r.data), pj.neg.eq(x_neg_r.data),
                     wout_r.addr.eq(ro.wout_addr), ro.wout_data.eq(wout_r.data),
                     act_w.addr.eq(ro.act_addr), act_w.data.eq(ro.act_data),
                     act_w.en.eq(ro.act_en), sp.spikes.eq(spk.prev),
                     spk.load.eq(seq.spikes_load), spk.load_data.eq(spk_r.data),
                     spk.swap.eq(seq.spikes_swap), spk.wr_en.eq(sp.st_wen),
                     spk.wr_addr.eq(sp.m_wb), spk.wr_bits.eq(sp.spike)]
        st_raddr = Signal(range(max(2, self.core.slots * per_lane)))
        for ln in range(lanes):
            st = st_r[ln].data
            m.d.comb += [win_r[ln].addr.eq(pj.win_addr), pj.win_data[ln].eq(win_r[ln].data),
                         iin_w[ln].addr.eq(pj.iin_addr), iin_w[ln].data.eq(pj.iin_data[ln]),
                         iin_w[ln].en.eq(pj.iin_en[ln]), ro.rate[ln].eq(st.rate),
                         wrec_r[ln].addr.eq(sp.wrec_addr), sp.wrec_data[ln].eq(wrec_r[ln].data),
                         sp.i_syn[ln].eq(st.i_syn), sp.v[ln].eq(st.v), sp.rate[ln].eq(st.rate),
                         sp.i_in[ln].eq(iin_r[ln].data),
                         iin_r[ln].addr.eq(st_raddr), st_r[ln].addr.eq(st_raddr)]
            # State writes: the LIF write-back, or zeros while resetting.
            with m.If(seq.resetting):
                m.d.comb += [st_w[ln].addr.eq(seq.rst_slot * per_lane + seq.cnt_m),
                             st_w[ln].data.eq(0), st_w[ln].en.eq(1)]
            with m.Else():
                m.d.comb += [st_w[ln].addr.eq(sp.st_waddr), st_w[ln].data.i_syn.eq(sp.o_i_syn[ln]),
                             st_w[ln].data.v.eq(sp.o_v[ln]), st_w[ln].data.rate.eq(sp.o_rate[ln]),
                             st_w[ln].en.eq(sp.st_wen)]

        # State RAM read address (the sequencer says whose).
        with m.Switch(seq.state_read):
            with m.Case(StateRead.DEBUG):
                m.d.comb += st_raddr.eq(seq.dbg_slot * per_lane
                                        + (seq.dbg_addr >> ceil_log2(lanes)))
            with m.Case(StateRead.SUB):
                m.d.comb += st_raddr.eq(sp.st_raddr)
            with m.Case(StateRead.OUT):
                m.d.comb += st_raddr.eq(slot_base + seq.cnt_m)

        # Spike RAM: the running slot's (or the debug slot's) vector; zeros while resetting,
        # the finished vector after a slot's readout.
        m.d.comb += spk_r.addr.eq(Mux(seq.dbg_phase, seq.dbg_slot, cur_slot))
        with m.If(seq.resetting):
            m.d.comb += [spk_w.addr.eq(seq.rst_slot), spk_w.data.eq(0),
                         spk_w.en.eq(seq.spikes_clear)]
        with m.Elif(seq.spikes_save):
            m.d.comb += [spk_w.addr.eq(cur_slot), spk_w.data.eq(spk.prev), spk_w.en.eq(1)]
        self._host_reads(m, seq, mems)
        return m

    def _host_writes(self, m, seq, mems):
        """``load`` and ``obs``: stream -> memory writes in the cycle a transfer is accepted."""
        m.submodules.loader = ld = LoadDecoder(self.geom, self.load_layout)
        m.submodules.obs_writer = ow = ObsWriter(self.geom, self.obs_layout)
        wiring.connect(m, wiring.flipped(self.load), ld.i)
        wiring.connect(m, wiring.flipped(self.obs), ow.i)
        m.d.comb += [ld.enable.eq(seq.idle), ow.enable.eq(seq.idle)]
        for ln in range(self.core.lanes):
            for port, addr, en in ((mems["w_in"][0][ln], ld.in_addr, ld.in_en),
                                   (mems["w_rec"][0][ln], ld.rec_addr, ld.rec_en)):
                m.d.comb += [port.addr.eq(addr), port.data.eq(ld.data), port.en.eq(en[ln])]
        for port, addr, en, dat in ((mems["w_out"][0], ld.out_addr, ld.out_en, ld.data),
                                    (mems["x_pos"][0], ow.pos_addr, ow.pos_en, ow.data),
                                    (mems["x_neg"][0], ow.neg_addr, ow.neg_en, ow.data)):
            m.d.comb += [port.addr.eq(addr), port.data.eq(dat), port.en.eq(en)]

    def _host_reads(self, m, seq, mems):
        """``dbg_resp`` from the state and spike reads; ``act`` from the action RAM,
        slot-major, one cycle after its address."""
        g = self.geom
        st_r, iin_r = mems["state"][1], mems["i_in"][1]
        m.submodules.debug = dbg = DebugReadback(g, self.dbg_layout["slot"].shape)
        m.d.comb += [dbg.slot.eq(seq.dbg_slot), dbg.sel.eq(seq.dbg_sel), dbg.addr.eq(seq.dbg_addr),
                     dbg.spikes.eq(mems["spikes"][1].data)]
        for ln in range(self.core.lanes):
            m.d.comb += [dbg.v[ln].eq(st_r[ln].data.v), dbg.i_syn[ln].eq(st_r[ln].data.i_syn),
                         dbg.rate[ln].eq(st_r[ln].data.rate), dbg.i_in[ln].eq(iin_r[ln].data)]
        m.d.comb += [self.dbg_resp.payload.eq(dbg.resp), self.dbg_resp.valid.eq(seq.dbg_resp_valid),
                     seq.dbg_resp_ready.eq(self.dbg_resp.ready)]
        act_r = mems["actions"][1]
        m.d.comb += [act_r.addr.eq(seq.em_addr),
                     self.act.valid.eq(seq.act_valid), seq.act_ready.eq(self.act.ready)]
        with m.If(seq.act_valid):
            m.d.comb += [self.act.payload.slot.eq(seq.em_slot),
                         self.act.payload.index.eq(seq.em_a),
                         self.act.payload.value.eq(act_r.data)]
