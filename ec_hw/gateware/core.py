"""The LIF network core: ``core.slots`` member networks, stepped together by one STEP command.

Twin of :func:`ec_hw.model.core.core_env_step` (bit-exact to :mod:`ec_hw.fixedpoint`), composed
of the block twins :class:`~ec_hw.gateware.projection.InputProjection`,
:class:`~ec_hw.gateware.popcount.PopcountTree`, :class:`~ec_hw.gateware.lif.LIFUnit` and
:class:`~ec_hw.gateware.readout.Readout`. Ports and the connection word map are fixed by
``CORE_INTERFACE.md``.

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

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..config import CoreConfig, NetConfig
from ..coremap import addr_bits as _addr_bits
from ..coremap import w_in_bits as _w_in_bits
from ..coremap import words_per_row
from ..fixedpoint import FixedPoint, derive
from .lif import LIFUnit
from .memory import divmod_const
from .popcount import PopcountTree, delay
from .projection import InputProjection
from .readout import Readout

__all__ = ["Core", "CoreGeometry", "cycles_per_env_step", "OP_STEP", "OP_RESET", "OP_RESET_ALL",
           "DBG_V", "DBG_ISYN", "DBG_RATE", "DBG_SPIKES", "DBG_IIN"]

OP_STEP = 0
OP_RESET = 1
OP_RESET_ALL = 2

DBG_V = 0
DBG_ISYN = 1
DBG_RATE = 2
DBG_SPIKES = 3
DBG_IIN = 4

_REGS_EVERY = 3
"""Adder-tree levels between pipeline registers in every tree of the core."""


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
        return InputProjection.latency_of(self.cols, _REGS_EVERY)

    @property
    def lat_out(self) -> int:
        return Readout.latency_of(self.core.lanes, _REGS_EVERY)

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
    block latencies ``L_pop`` (:class:`PopcountTree`, 2 + one per 3 tree levels beyond the
    first), ``L_lif = 4``, ``L_proj`` (:class:`InputProjection`), ``L_out``
    (:class:`Readout`)::

        cycles = S * ( P * chunks + (L_proj + 2)                       # input projection
                       + substeps * (P * wpr + L_pop + L_lif + 2)      # LIF substeps
                       + A * P + (L_out + 1) )                         # readout
                 + 2                                                   # action read-out

    At N = 256, lanes = 4, W = 64: ``P * wpr = 256`` = ``N*N / (lanes*W)`` cycles per substep
    plus 9 cycles of pipeline drain.
    """
    return CoreGeometry(net, core).cycles_per_env_step


class Core(wiring.Component):
    """The LIF network core (ports and word map: ``CORE_INTERFACE.md``).

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

    def elaborate(self, platform):
        m = Module()
        g, fp = self.geom, self.fp
        n, lanes, w = self.net.n_neurons, self.core.lanes, self.core.word_bits
        s_cnt, a_dim, d_dim = self.core.slots, self.net.act_dim, self.net.obs_dim
        per_lane, wpr_in, wpr = g.per_lane, g.wpr_in, g.wpr
        cols, chunks, sb = g.cols, g.chunks, fp.state_bits
        lane_bits = ceil_log2(lanes)
        ob = self.core.obs_bits

        # ---- memories ---------------------------------------------------------------------
        state_layout = data.StructLayout({"i_syn": signed(sb), "v": signed(sb),
                                          "rate": unsigned(fp.rate_bits)})
        win_w, win_r, wrec_w, wrec_r, st_w, st_r, iin_w, iin_r = ([] for _ in range(8))
        # A W_in row that fits one word keeps only its 2D columns (padding is zero): at W = 64
        # and D = 11 a lane's W_in fits a RAMB18 (36 bits wide) instead of a RAMB36.
        win_bits = _w_in_bits(self.net, self.core)
        for ln in range(lanes):
            for name, shape, depth, wl, rl in (
                    ("w_in", unsigned(win_bits), s_cnt * per_lane * wpr_in, win_w, win_r),
                    ("w_rec", unsigned(w), s_cnt * per_lane * wpr, wrec_w, wrec_r),
                    ("state", state_layout, s_cnt * per_lane, st_w, st_r),
                    ("i_in", signed(sb), s_cnt * per_lane, iin_w, iin_r)):
                mem = memory.Memory(shape=shape, depth=max(2, depth),
                                    init=self.conn_init.get(f"{name}{ln}", []))
                m.submodules[f"{name}{ln}"] = mem
                wl.append(mem.write_port())
                rl.append(mem.read_port())

        def shared_mem(name, shape, depth, granularity=None):
            mem = memory.Memory(shape=shape, depth=max(2, depth),
                                init=self.conn_init.get(name, []))
            m.submodules[name] = mem
            return mem.write_port(granularity=granularity), mem.read_port()

        wout_w, wout_r = shared_mem("w_out", unsigned(w), s_cnt * a_dim * wpr)
        xpos_w, xpos_r = shared_mem("x_pos", unsigned(cols * ob), s_cnt * chunks, ob)
        xneg_w, xneg_r = shared_mem("x_neg", unsigned(cols * ob), s_cnt * chunks, ob)
        spk_w, spk_r = shared_mem("spikes", unsigned(n), s_cnt)
        act_w, act_r = shared_mem("actions", signed(fp.action_bits), s_cnt * a_dim)

        # ---- blocks -------------------------------------------------------------------------
        pops, lifs, projs = [], [], []
        for ln in range(lanes):
            pop = PopcountTree(w, fp.pop_bits, regs_every=_REGS_EVERY)
            lif = LIFUnit(fp)
            proj = InputProjection(cols, obs_bits=ob, state_bits=sb,
                                   acc_bits=ob + 2 + ceil_log2(2 * d_dim),
                                   regs_every=_REGS_EVERY)
            m.submodules[f"pop{ln}"] = pop
            m.submodules[f"lif{ln}"] = lif
            m.submodules[f"proj{ln}"] = proj
            pops.append(pop)
            lifs.append(lif)
            projs.append(proj)
        m.submodules.readout = rdo = Readout(fp, lanes, regs_every=_REGS_EVERY)

        idle = Signal()
        dbg_phase = Signal()
        m.d.comb += self.busy.eq(~idle & ~dbg_phase)

        # ---- load: split the host address into (lane, bank address); write in the same cycle
        ld = self.load
        m.d.comb += ld.ready.eq(idle)
        ld_ok = ld.valid & ld.ready
        ld_addr, ld_mat = ld.payload.addr, ld.payload.matrix
        for mat, per_row, wl in ((0, wpr_in, win_w), (1, wpr, wrec_w)):
            row, word = divmod_const(ld_addr, per_row)
            lane = row[:lane_bits] if lane_bits else Const(0, 1)
            bank_addr = (row >> lane_bits) * per_row + word
            ok = ld_ok & (ld_mat == mat) & (ld_addr < s_cnt * n * per_row)
            for ln in range(lanes):
                m.d.comb += [wl[ln].addr.eq(bank_addr), wl[ln].data.eq(ld.payload.data),
                             wl[ln].en.eq(ok & (lane == ln))]
        m.d.comb += [wout_w.addr.eq(ld_addr), wout_w.data.eq(ld.payload.data),
                     wout_w.en.eq(ld_ok & (ld_mat == 2) & (ld_addr < s_cnt * a_dim * wpr))]

        # ---- obs: x_q[i] goes to column i of x_pos and column D + i of x_neg ----------------
        ob_s = self.obs
        m.d.comb += ob_s.ready.eq(idle)
        ob_ok = ob_s.valid & ob_s.ready & (ob_s.payload.index < d_dim) & \
            (ob_s.payload.slot < s_cnt)
        col_bits = ceil_log2(cols)
        ob_idx = ob_s.payload.index
        col_neg = ob_idx + d_dim
        for port, col in ((xpos_w, ob_idx), (xneg_w, col_neg)):
            m.d.comb += [
                port.addr.eq(ob_s.payload.slot * chunks + (col >> col_bits)),
                port.data.eq(Cat(*([ob_s.payload.value] * cols))),
                port.en.eq(Mux(ob_ok, Const(1, cols) << col[:col_bits], 0)),
            ]

        # ---- sequencing registers --------------------------------------------------------
        cur_slot = Signal(range(max(2, s_cnt)))
        cnt_m = Signal(range(max(2, per_lane)))        # neuron index within a lane
        cnt_w = Signal(range(max(2, wpr, chunks, a_dim)))   # word / chunk / action index
        substep = Signal(range(max(2, self.net.substeps)))
        drain = Signal(range(max(g.drain_proj, g.drain_sub, g.drain_out) + 1))
        s_prev = Signal(n)
        s_next = [Signal(per_lane, name=f"s_next{ln}") for ln in range(lanes)]
        s_next_full = Cat(*[s_next[j % lanes][j // lanes] for j in range(n)])

        proj_issue = Signal()
        sub_issue = Signal()
        out_issue = Signal()
        st_raddr = Signal(range(max(2, s_cnt * per_lane)))
        slot_base = cur_slot * per_lane

        # ---- projection datapath (issue at t, memory data at t+1) ---------------------------
        sub_per_word = w // cols
        sub_bits = ceil_log2(sub_per_word)
        pj_valid, pj_first, pj_last = Signal(), Signal(), Signal()
        pj_sub = Signal(max(1, sub_bits))
        pj_m = Signal.like(cnt_m)
        for ln in range(lanes):
            m.d.comb += win_r[ln].addr.eq((slot_base + cnt_m) * wpr_in + (cnt_w >> sub_bits))
        m.d.comb += [xpos_r.addr.eq(cur_slot * chunks + cnt_w),
                     xneg_r.addr.eq(cur_slot * chunks + cnt_w)]
        m.d.sync += [pj_valid.eq(proj_issue), pj_first.eq(cnt_w == 0),
                     pj_last.eq(cnt_w == chunks - 1), pj_m.eq(cnt_m)]
        if sub_bits:
            m.d.sync += pj_sub.eq(cnt_w[:sub_bits])
        pj_m_out = delay(m, pj_m, g.lat_proj, name="pj_m")
        for ln, proj in enumerate(projs):
            win_word = (Cat(win_r[ln].data, Const(0, w - win_bits)) if win_bits < w
                        else win_r[ln].data)
            bits = (win_word.word_select(pj_sub, cols) if sub_bits else win_word[:cols])
            m.d.comb += [proj.valid.eq(pj_valid), proj.first.eq(pj_first),
                         proj.last.eq(pj_last), proj.bits.eq(bits),
                         proj.pos.eq(xpos_r.data), proj.neg.eq(xneg_r.data),
                         iin_w[ln].addr.eq(slot_base + pj_m_out),
                         iin_w[ln].data.eq(proj.i_in), iin_w[ln].en.eq(proj.o_valid)]

        # ---- substep datapath -----------------------------------------------------------------
        pad = wpr * w - n
        mask_e = (1 << fp.n_exc) - 1
        mask_i = ((1 << n) - 1) ^ mask_e
        s_pad = Cat(s_prev, Const(0, pad)) if pad else s_prev
        s_e_word, s_i_word = Signal(w), Signal(w)
        sp_valid, sp_first, sp_last = Signal(), Signal(), Signal()
        m.d.sync += [sp_valid.eq(sub_issue), sp_first.eq(cnt_w == 0),
                     sp_last.eq(cnt_w == wpr - 1),
                     s_e_word.eq((s_pad & Const(mask_e, wpr * w)).word_select(cnt_w, w)),
                     s_i_word.eq((s_pad & Const(mask_i, wpr * w)).word_select(cnt_w, w))]
        for ln in range(lanes):
            m.d.comb += wrec_r[ln].addr.eq((slot_base + cnt_m) * wpr + cnt_w)
        # The state of neuron m is read so that it arrives with m's popcounts.
        m_rd = delay(m, cnt_m, g.lat_pop, name="m_rd")
        m_wb = delay(m, m_rd, 1 + g.lat_lif, name="m_wb")
        for ln in range(lanes):
            pop, lif = pops[ln], lifs[ln]
            m.d.comb += [
                pop.valid.eq(sp_valid), pop.first.eq(sp_first), pop.last.eq(sp_last),
                pop.row.eq(wrec_r[ln].data), pop.spk_e.eq(s_e_word), pop.spk_i.eq(s_i_word),
                lif.valid.eq(pop.o_valid), lif.pe.eq(pop.pe), lif.pi.eq(pop.pi),
                lif.i_syn.eq(st_r[ln].data.i_syn), lif.v.eq(st_r[ln].data.v),
                lif.rate.eq(st_r[ln].data.rate), lif.i_in.eq(iin_r[ln].data),
                iin_r[ln].addr.eq(st_raddr), st_r[ln].addr.eq(st_raddr),
            ]
            with m.If(lif.o_valid):
                m.d.sync += s_next[ln].bit_select(m_wb, 1).eq(lif.o_spike)

        # State writes: LIF write-back, or zeros while resetting.
        resetting = Signal()
        rst_slot = Signal.like(cur_slot)
        rst_all = Signal(init=1)
        for ln in range(lanes):
            lif = lifs[ln]
            with m.If(resetting):
                m.d.comb += [st_w[ln].addr.eq(rst_slot * per_lane + cnt_m),
                             st_w[ln].data.eq(0), st_w[ln].en.eq(1)]
            with m.Else():
                m.d.comb += [st_w[ln].addr.eq(slot_base + m_wb),
                             st_w[ln].data.i_syn.eq(lif.o_i_syn), st_w[ln].data.v.eq(lif.o_v),
                             st_w[ln].data.rate.eq(lif.o_rate), st_w[ln].en.eq(lif.o_valid)]

        # ---- readout datapath -----------------------------------------------------------------
        grp_per_word = w // lanes
        grp_bits = ceil_log2(grp_per_word)
        ro_valid, ro_first, ro_last = Signal(), Signal(), Signal()
        ro_m = Signal.like(cnt_m)
        ro_a = Signal.like(cnt_w)
        m.d.comb += wout_r.addr.eq((cur_slot * a_dim + cnt_w) * wpr + (cnt_m >> grp_bits))
        m.d.sync += [ro_valid.eq(out_issue), ro_first.eq(cnt_m == 0),
                     ro_last.eq(cnt_m == per_lane - 1), ro_m.eq(cnt_m), ro_a.eq(cnt_w)]
        grp = ro_m[:grp_bits] if grp_bits else Const(0, 1)
        m.d.comb += [
            rdo.valid.eq(ro_valid), rdo.first.eq(ro_first), rdo.last.eq(ro_last),
            rdo.bits.eq(wout_r.data.word_select(grp, lanes) if grp_bits
                        else wout_r.data[:lanes]),
            rdo.exc.eq(Cat(*[(ro_m * lanes + ln) < fp.n_exc for ln in range(lanes)])),
            rdo.rate.eq(Cat(*[st_r[ln].data.rate for ln in range(lanes)])),
        ]
        ro_a_out = delay(m, ro_a, g.lat_out, name="ro_a")
        m.d.comb += [act_w.addr.eq(cur_slot * a_dim + ro_a_out), act_w.data.eq(rdo.action),
                     act_w.en.eq(rdo.o_valid)]

        # ---- debug read-back ---------------------------------------------------------------
        dq = self.dbg_req
        dbg_slot = Signal.like(dq.payload.slot)
        dbg_sel = Signal(3)
        dbg_addr = Signal(16)
        dbg_lane = dbg_addr[:lane_bits] if lane_bits else Const(0, 1)
        n_spk_words = -(-n // 32)
        spk_words = Cat(spk_r.data, Const(0, n_spk_words * 32 - n)) \
            if n_spk_words * 32 > n else spk_r.data
        neuron_ok = (dbg_addr < n) & (dbg_slot < s_cnt)
        resp = Signal(signed(32))
        lane_v = Array([st_r[ln].data.v for ln in range(lanes)])[dbg_lane]
        lane_i = Array([st_r[ln].data.i_syn for ln in range(lanes)])[dbg_lane]
        lane_r = Array([st_r[ln].data.rate for ln in range(lanes)])[dbg_lane]
        lane_in = Array([iin_r[ln].data for ln in range(lanes)])[dbg_lane]
        with m.Switch(dbg_sel):
            with m.Case(DBG_V):
                m.d.comb += resp.eq(Mux(neuron_ok, lane_v, 0))
            with m.Case(DBG_ISYN):
                m.d.comb += resp.eq(Mux(neuron_ok, lane_i, 0))
            with m.Case(DBG_RATE):
                m.d.comb += resp.eq(Mux(neuron_ok, lane_r, 0))
            with m.Case(DBG_SPIKES):
                word = spk_words.word_select(dbg_addr[:max(1, ceil_log2(n_spk_words))], 32)
                m.d.comb += resp.eq(Mux((dbg_addr < n_spk_words) & (dbg_slot < s_cnt),
                                        word.as_signed(), 0))
            with m.Case(DBG_IIN):
                m.d.comb += resp.eq(Mux(neuron_ok, lane_in, 0))
        m.d.comb += self.dbg_resp.payload.eq(resp)

        # Spike RAM: the running slot's (or the debug slot's) vector.
        m.d.comb += spk_r.addr.eq(Mux(dbg_phase, dbg_slot, cur_slot))

        # ---- cycle counter ---------------------------------------------------------------------
        counting = Signal()
        cyc = Signal(32)
        with m.If(counting):
            m.d.sync += cyc.eq(cyc + 1)

        # ---- sequencer ------------------------------------------------------------------------
        cmd = self.cmd
        em_slot = Signal.like(cur_slot)
        em_a = Signal(range(max(2, a_dim)))
        m.d.comb += act_r.addr.eq(em_slot * a_dim + em_a)
        with m.FSM(init="CLEAR"):
            with m.State("CLEAR"):
                # RESET / reset: zero each slot's state, one neuron per lane and cycle.
                m.d.comb += resetting.eq(1)
                m.d.comb += [spk_w.addr.eq(rst_slot), spk_w.data.eq(0),
                             spk_w.en.eq(cnt_m == 0)]
                m.d.sync += cnt_m.eq(cnt_m + 1)
                with m.If(cnt_m == per_lane - 1):
                    m.d.sync += cnt_m.eq(0)
                    with m.If(rst_all & (rst_slot != s_cnt - 1)):
                        m.d.sync += rst_slot.eq(rst_slot + 1)
                    with m.Else():
                        m.d.sync += rst_all.eq(0)
                        m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += [idle.eq(1), cmd.ready.eq(1), dq.ready.eq(~cmd.valid)]
                m.d.sync += [cnt_m.eq(0), cnt_w.eq(0), cur_slot.eq(0)]
                with m.If(cmd.valid):
                    with m.Switch(cmd.payload.op):
                        with m.Case(OP_STEP):
                            m.d.sync += [counting.eq(1), cyc.eq(1), em_slot.eq(0), em_a.eq(0)]
                            m.next = "PROJ"
                        with m.Case(OP_RESET):
                            with m.If(cmd.payload.slot < s_cnt):
                                m.d.sync += [rst_slot.eq(cmd.payload.slot), rst_all.eq(0)]
                                m.next = "CLEAR"
                        with m.Case(OP_RESET_ALL):
                            m.d.sync += [rst_slot.eq(0), rst_all.eq(1)]
                            m.next = "CLEAR"
                with m.Elif(dq.valid):
                    m.d.sync += [dbg_slot.eq(dq.payload.slot), dbg_sel.eq(dq.payload.sel),
                                 dbg_addr.eq(dq.payload.addr)]
                    m.next = "DBG_READ"
            with m.State("DBG_READ"):
                m.d.comb += [dbg_phase.eq(1),
                             st_raddr.eq(dbg_slot * per_lane + (dbg_addr >> lane_bits))]
                m.next = "DBG_RESP"
            with m.State("DBG_RESP"):
                m.d.comb += [dbg_phase.eq(1), self.dbg_resp.valid.eq(1),
                             st_raddr.eq(dbg_slot * per_lane + (dbg_addr >> lane_bits))]
                with m.If(self.dbg_resp.ready):
                    m.next = "IDLE"
            with m.State("PROJ"):
                m.d.comb += proj_issue.eq(1)
                m.d.sync += cnt_w.eq(cnt_w + 1)
                with m.If(cnt_w == chunks - 1):
                    m.d.sync += [cnt_w.eq(0), cnt_m.eq(cnt_m + 1)]
                    with m.If(cnt_m == per_lane - 1):
                        m.d.sync += [cnt_m.eq(0), drain.eq(g.drain_proj - 1)]
                        m.next = "PROJ_DRAIN"
            with m.State("PROJ_DRAIN"):
                # The slot's spikes were requested when cur_slot changed; take them now.
                m.d.sync += [drain.eq(drain - 1), s_prev.eq(spk_r.data)]
                m.d.sync += [s.eq(0) for s in s_next]
                with m.If(drain == 0):
                    m.d.sync += substep.eq(0)
                    m.next = "SUB"
            with m.State("SUB"):
                m.d.comb += [sub_issue.eq(1), st_raddr.eq(slot_base + m_rd)]
                m.d.sync += cnt_w.eq(cnt_w + 1)
                with m.If(cnt_w == wpr - 1):
                    m.d.sync += [cnt_w.eq(0), cnt_m.eq(cnt_m + 1)]
                    with m.If(cnt_m == per_lane - 1):
                        m.d.sync += [cnt_m.eq(0), drain.eq(g.drain_sub - 1)]
                        m.next = "SUB_DRAIN"
            with m.State("SUB_DRAIN"):
                m.d.comb += st_raddr.eq(slot_base + m_rd)
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    # Double buffering: every neuron of the next substep sees this vector.
                    m.d.sync += s_prev.eq(s_next_full)
                    m.d.sync += [s.eq(0) for s in s_next]
                    m.d.sync += substep.eq(substep + 1)
                    with m.If(substep == self.net.substeps - 1):
                        m.next = "OUT"
                    with m.Else():
                        m.next = "SUB"
            with m.State("OUT"):
                m.d.comb += [out_issue.eq(1), st_raddr.eq(slot_base + cnt_m)]
                m.d.sync += cnt_m.eq(cnt_m + 1)
                with m.If(cnt_m == per_lane - 1):
                    m.d.sync += [cnt_m.eq(0), cnt_w.eq(cnt_w + 1)]
                    with m.If(cnt_w == a_dim - 1):
                        m.d.sync += [cnt_w.eq(0), drain.eq(g.drain_out - 1)]
                        m.next = "OUT_DRAIN"
            with m.State("OUT_DRAIN"):
                m.d.comb += [spk_w.addr.eq(cur_slot), spk_w.data.eq(s_prev), spk_w.en.eq(1)]
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    with m.If(cur_slot == s_cnt - 1):
                        m.next = "EMIT_WAIT"
                    with m.Else():
                        m.d.sync += cur_slot.eq(cur_slot + 1)
                        m.next = "PROJ"
            with m.State("EMIT_WAIT"):
                # One cycle for the action RAM's synchronous read.
                m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += [self.act.valid.eq(1), self.act.payload.slot.eq(em_slot),
                             self.act.payload.index.eq(em_a),
                             self.act.payload.value.eq(act_r.data)]
                with m.If(counting):
                    m.d.sync += [counting.eq(0), self.cycles.eq(cyc)]
                with m.If(self.act.ready):
                    m.next = "EMIT_WAIT"
                    m.d.sync += em_a.eq(em_a + 1)
                    with m.If(em_a == a_dim - 1):
                        m.d.sync += [em_a.eq(0), em_slot.eq(em_slot + 1)]
                        with m.If(em_slot == s_cnt - 1):
                            m.next = "IDLE"
        return m
