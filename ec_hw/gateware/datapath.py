"""The core's datapaths, between the sequencer's beats and the memories.

* :class:`ProjectionPath`: every lane's :class:`~ec_hw.gateware.projection.InputProjection`
  fed from its ``W_in`` bank and the shared observation columns, writing ``i_in``.
* :class:`ReadoutPath`: the :class:`~ec_hw.gateware.readout.Readout` fed from ``W_out`` and the
  lanes' rates, writing the action RAM.
* :class:`SubstepPath`: every lane's popcount tree and LIF unit fed from its ``W_rec`` bank,
  the spike vector and its state, writing the state back.
* :class:`SpikeRegisters`: the running slot's previous and next spike vectors.

A beat issued at cycle ``t`` (``issue`` with the counters) addresses the memories at ``t``. The
lanes' memories (``W_in``, ``W_rec``, state, ``i_in``) are
:class:`~ec_hw.gateware.bram.RegisteredRAM`: their data arrives at ``t + 2`` from the block RAM's
output register, and no logic sits between a block RAM and its register. The shared memories
(``W_out``, observation) read in one cycle and are registered here. Latencies are
:class:`ec_hw.gateware.core.CoreGeometry`'s ``lat_proj`` / ``lat_out``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .arith import times
from .lif import LIFUnit
from .popcount import PopcountTree, delay
from .projection import InputProjection
from .readout import Readout

__all__ = ["ProjectionPath", "ReadoutPath", "SubstepPath", "SpikeRegisters"]


def _counters(geom):
    """The sequencer's counter ports, as inputs."""
    return {"issue": In(1), "cur_slot": In(range(max(2, geom.core.slots))),
            "cnt_m": In(range(max(2, geom.per_lane))),
            "cnt_w": In(range(max(2, geom.wpr, geom.chunks, geom.net.act_dim)))}


class ProjectionPath(wiring.Component):
    """Input projection of neuron ``cnt_m`` of every lane, chunk ``cnt_w`` per beat.

    Members
    -------
    issue, cur_slot, cnt_m, cnt_w : In
        One beat (from :class:`~ec_hw.gateware.sequencer.CoreSequencer`).
    win_addr : Out; win_data : In(word_bits).array(lanes)
        Every lane's ``W_in`` bank read (same address; registered, two cycles).
    x_addr : Out; pos, neg : In(cols * obs_bits)
        ``x_pos`` / ``x_neg`` read (same address).
    iin_addr : Out; iin_data : Out(signed(state_bits)).array(lanes); iin_en : Out(lanes)
        ``i_in`` writes, ``lat_proj`` cycles after a row's last chunk arrived.
    """

    def __init__(self, geom, *, regs_every: int):
        self.geom, self.regs_every = geom, regs_every
        lanes, s = geom.core.lanes, geom.core.slots
        super().__init__({
            **_counters(geom),
            "win_addr": Out(range(max(2, s * geom.per_lane * geom.wpr_in))),
            "win_data": In(geom.core.word_bits).array(lanes),
            "x_addr": Out(range(max(2, s * geom.chunks))),
            "pos": In(geom.cols * geom.core.obs_bits), "neg": In(geom.cols * geom.core.obs_bits),
            "iin_addr": Out(range(max(2, s * geom.per_lane))),
            "iin_data": Out(signed(geom.fp.state_bits)).array(lanes), "iin_en": Out(lanes),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        cols, chunks, ob = g.cols, g.chunks, g.core.obs_bits
        cnt_m, cnt_w, slot_base = self.cnt_m, self.cnt_w, self.cur_slot * g.per_lane
        sub_bits = ceil_log2(g.core.word_bits // cols)
        valid, first, last = Signal(), Signal(), Signal()
        sub = Signal(max(1, sub_bits))
        pj_m = Signal.like(cnt_m)
        m.d.comb += [self.win_addr.eq(times(slot_base + cnt_m, g.wpr_in) + (cnt_w >> sub_bits)),
                     self.x_addr.eq(times(self.cur_slot, chunks) + cnt_w)]
        m.d.sync += [valid.eq(self.issue), first.eq(cnt_w == 0), last.eq(cnt_w == chunks - 1),
                     pj_m.eq(cnt_m)]
        if sub_bits:
            m.d.sync += sub.eq(cnt_w[:sub_bits])
        pj_m_out = delay(m, pj_m, g.lat_proj, name="pj_m")
        m.d.comb += self.iin_addr.eq(slot_base + pj_m_out)
        # The memories' data is registered before any logic (block RAM clock-to-out is most
        # of a 10 ns cycle on an ECP5): one cycle, counted in CoreGeometry.lat_proj; W_in's
        # register is its block RAM's output register.
        valid, first, last = (delay(m, v, 1, name=f"{n}_r") for n, v in
                              (("valid", valid), ("first", first), ("last", last)))
        sub = delay(m, sub, 1, name="sub_r")
        pos, neg = (delay(m, v, 1, name=n) for n, v in (("pos", self.pos), ("neg", self.neg)))
        for ln in range(g.core.lanes):
            proj = InputProjection(cols, obs_bits=ob, state_bits=g.fp.state_bits,
                                   acc_bits=ob + 2 + ceil_log2(2 * g.net.obs_dim),
                                   regs_every=self.regs_every)
            m.submodules[f"proj{ln}"] = proj
            word = self.win_data[ln]
            m.d.comb += [proj.valid.eq(valid), proj.first.eq(first), proj.last.eq(last),
                         proj.bits.eq(word.word_select(sub, cols) if sub_bits else word[:cols]),
                         proj.pos.eq(pos), proj.neg.eq(neg),
                         self.iin_data[ln].eq(proj.i_in), self.iin_en[ln].eq(proj.o_valid)]
        return m


class ReadoutPath(wiring.Component):
    """Readout of action ``cnt_w``: ``lanes`` rates of neurons ``cnt_m * lanes + l`` per beat.

    Members
    -------
    issue, cur_slot, cnt_m, cnt_w : In
        One beat.
    clear : In(1)
        The core is idle: the next beat is slot 0's first (the address counters restart).
    wout_addr : Out; wout_data : In(word_bits)
        ``W_out`` read. The beats walk the rows (slot, action) in order and each row's words
        in order, so the address is a counter (no ``slot * A * wpr`` multiply in front of the
        memory read: that multiply was the core's critical path at 81.6 MHz).
    rate : In(unsigned(rate_bits)).array(lanes)
        The lanes' state reads of neuron ``cnt_m`` (addressed by the core; registered, two
        cycles).
    act_addr, act_data, act_en : Out
        Action RAM write, ``lat_out`` cycles after an action's last beat.
    """

    def __init__(self, geom, *, regs_every: int):
        self.geom, self.regs_every = geom, regs_every
        s, a = geom.core.slots, geom.net.act_dim
        super().__init__({
            **_counters(geom), "clear": In(1),
            "wout_addr": Out(range(max(2, s * a * geom.wpr))),
            "wout_data": In(geom.core.word_bits),
            "rate": In(unsigned(geom.fp.rate_bits)).array(geom.core.lanes),
            "act_addr": Out(range(max(2, s * a))), "act_data": Out(signed(geom.fp.action_bits)),
            "act_en": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        lanes, cnt_m = g.core.lanes, self.cnt_m
        m.submodules.readout = rdo = Readout(g.fp, lanes, regs_every=self.regs_every)
        grp_bits = ceil_log2(g.core.word_bits // lanes)
        ro_valid, ro_first, ro_last = Signal(), Signal(), Signal()
        ro_m = Signal.like(cnt_m)
        # The word address moves on after a group's last neuron and after a row's last one.
        word_end = (cnt_m == g.per_lane - 1)
        if grp_bits:
            word_end = word_end | (cnt_m[:grp_bits] == (1 << grp_bits) - 1)
        with m.If(self.clear):
            m.d.sync += self.wout_addr.eq(0)
        with m.Elif(self.issue & word_end):
            m.d.sync += self.wout_addr.eq(self.wout_addr + 1)
        m.d.sync += [ro_valid.eq(self.issue), ro_first.eq(cnt_m == 0),
                     ro_last.eq(cnt_m == g.per_lane - 1), ro_m.eq(cnt_m)]
        # The W_out word and the rates are registered before any logic (block RAM
        # clock-to-out): one cycle, counted in CoreGeometry.lat_out; the rates' register is
        # the state block RAM's output register.
        ro_valid, ro_first, ro_last, ro_m = (delay(m, v, 1, name=f"{n}_r") for n, v in
                                             (("valid", ro_valid), ("first", ro_first),
                                              ("last", ro_last), ("m", ro_m)))
        wout = delay(m, self.wout_data, 1, name="wout")
        rate = Cat(*self.rate)
        grp = ro_m[:grp_bits] if grp_bits else Const(0, 1)
        m.d.comb += [
            rdo.valid.eq(ro_valid), rdo.first.eq(ro_first), rdo.last.eq(ro_last),
            rdo.bits.eq(wout.word_select(grp, lanes) if grp_bits else wout[:lanes]),
            rdo.exc.eq(Cat(*[(ro_m * lanes + ln) < g.fp.n_exc for ln in range(lanes)])),
            rdo.rate.eq(rate),
        ]
        # Actions finish in (slot, action) order: their address is a count of them.
        with m.If(self.clear):
            m.d.sync += self.act_addr.eq(0)
        with m.Elif(rdo.o_valid):
            m.d.sync += self.act_addr.eq(self.act_addr + 1)
        m.d.comb += [self.act_data.eq(rdo.action), self.act_en.eq(rdo.o_valid)]
        return m


class SubstepPath(wiring.Component):
    """One LIF substep of neuron ``cnt_m`` of every lane, word ``cnt_w`` of its ``W_rec`` row
    per beat: every lane's :class:`~ec_hw.gateware.popcount.PopcountTree` and
    :class:`~ec_hw.gateware.lif.LIFUnit`.

    A beat issued at ``t`` reads the lanes' ``W_rec`` word at ``t`` (one address for all lanes;
    the word arrives from the block RAM's output register at ``t + 2``, which is the popcount
    tree's input register); the row's popcounts leave the tree ``1 + lat_pop`` cycles after its
    last beat, when the neuron's state (addressed here at ``st_raddr``, ``lat_pop - 1`` cycles
    after that beat, two cycles of registered read) arrives with them; ``1 + lat_lif`` cycles
    later the new state is written back to ``st_waddr`` and its spike bit to bit ``m_wb`` of
    every lane's next spike vector.

    Members
    -------
    issue, cur_slot, cnt_m, cnt_w : In
        One beat.
    spikes : In(n_neurons)
        The spike vector of the previous substep (:class:`SpikeRegisters`).
    wrec_addr : Out; wrec_data : In(word_bits).array(lanes)
        Every lane's ``W_rec`` bank read.
    st_raddr : Out
        State / ``i_in`` read address (the core selects it during substeps).
    i_syn, v, i_in : In(signed(state_bits)).array(lanes); rate : In(rate_bits).array(lanes)
        The lanes' state and ``i_in`` reads.
    st_waddr : Out; st_wen : Out(1); o_i_syn, o_v, o_rate : Out(...).array(lanes)
        State write-back (all lanes at once).
    m_wb : Out; spike : Out(lanes)
        The written neuron's index within its lane and every lane's spike bit (with
        ``st_wen``).
    """

    def __init__(self, geom, *, regs_every: int):
        self.geom, self.regs_every = geom, regs_every
        fp, lanes, s = geom.fp, geom.core.lanes, geom.core.slots
        sb = signed(fp.state_bits)
        rate = unsigned(fp.rate_bits)
        st_addr = range(max(2, s * geom.per_lane))
        super().__init__({
            **_counters(geom),
            "spikes": In(geom.net.n_neurons),
            "wrec_addr": Out(range(max(2, s * geom.per_lane * geom.wpr))),
            "wrec_data": In(geom.core.word_bits).array(lanes),
            "st_raddr": Out(st_addr),
            "i_syn": In(sb).array(lanes), "v": In(sb).array(lanes),
            "rate": In(rate).array(lanes), "i_in": In(sb).array(lanes),
            "st_waddr": Out(st_addr), "st_wen": Out(1),
            "o_i_syn": Out(sb).array(lanes), "o_v": Out(sb).array(lanes),
            "o_rate": Out(rate).array(lanes),
            "m_wb": Out(range(max(2, geom.per_lane))), "spike": Out(lanes),
        })

    def elaborate(self, platform):
        m = Module()
        g, fp = self.geom, self.geom.fp
        n, w, wpr = g.net.n_neurons, g.core.word_bits, g.wpr
        cnt_m, cnt_w, slot_base = self.cnt_m, self.cnt_w, self.cur_slot * g.per_lane
        # The E / I halves of the spike vector, word cnt_w, registered with the beat and in
        # the tree's input register (the row's word arrives from the block RAM's output
        # register in that cycle).
        pad = wpr * w - n
        s_pad = Cat(self.spikes, Const(0, pad)) if pad else self.spikes
        mask_e = (1 << fp.n_exc) - 1
        mask_i = ((1 << n) - 1) ^ mask_e
        s_e, s_i = Signal(w, reset_less=True), Signal(w, reset_less=True)
        valid, first, last = Signal(), Signal(), Signal()
        m.d.sync += [valid.eq(self.issue), first.eq(cnt_w == 0), last.eq(cnt_w == wpr - 1),
                     s_e.eq((s_pad & Const(mask_e, wpr * w)).word_select(cnt_w, w)),
                     s_i.eq((s_pad & Const(mask_i, wpr * w)).word_select(cnt_w, w))]
        m.d.comb += self.wrec_addr.eq((slot_base + cnt_m) * wpr + cnt_w)
        # The state of neuron m is read so that it arrives with m's popcounts (a registered
        # read: addressed one cycle before the popcounts leave the tree's last register).
        m_rd = delay(m, cnt_m, g.lat_pop - 1, name="m_rd")
        m_wb = delay(m, m_rd, 2 + g.lat_lif, name="m_wb")
        m.d.comb += [self.st_raddr.eq(slot_base + m_rd), self.st_waddr.eq(slot_base + m_wb),
                     self.m_wb.eq(m_wb)]
        for ln in range(g.core.lanes):
            m.submodules[f"pop{ln}"] = pop = PopcountTree(w, fp.pop_bits,
                                                          regs_every=self.regs_every,
                                                          register_row=False)
            m.submodules[f"lif{ln}"] = lif = LIFUnit(fp)
            m.d.comb += [
                pop.valid.eq(valid), pop.first.eq(first), pop.last.eq(last),
                pop.row.eq(self.wrec_data[ln]), pop.spk_e.eq(s_e), pop.spk_i.eq(s_i),
                lif.valid.eq(pop.o_valid), lif.pe.eq(pop.pe), lif.pi.eq(pop.pi),
                lif.i_syn.eq(self.i_syn[ln]), lif.v.eq(self.v[ln]), lif.rate.eq(self.rate[ln]),
                lif.i_in.eq(self.i_in[ln]),
                self.o_i_syn[ln].eq(lif.o_i_syn), self.o_v[ln].eq(lif.o_v),
                self.o_rate[ln].eq(lif.o_rate), self.spike[ln].eq(lif.o_spike),
            ]
            if ln == 0:
                m.d.comb += self.st_wen.eq(lif.o_valid)
        return m


class SpikeRegisters(wiring.Component):
    """The running slot's spike vectors: ``prev`` (read by every neuron of a substep) and the
    lanes' ``next`` vectors being written (double buffering).

    Neuron ``j = m * lanes + l`` is bit ``m`` of lane ``l``'s next vector.

    Members
    -------
    prev : Out(n_neurons)
    load, load_data : In
        ``prev = load_data`` (the slot's vector from the spike RAM) and clear ``next``.
    swap : In(1)
        ``prev = next`` (the substep is complete) and clear ``next``; ``load`` and ``swap``
        override a bit write in the same cycle.
    wr_en, wr_addr, wr_bits : In
        Bit ``wr_addr`` of every lane's next vector gets ``wr_bits[lane]``.
    """

    def __init__(self, n_neurons: int, lanes: int):
        if not isinstance(lanes, int) or lanes < 1 or n_neurons % lanes:
            raise ValueError(f"lanes must be a positive divisor of {n_neurons}, not {lanes!r}")
        self.n, self.lanes = n_neurons, lanes
        super().__init__({
            "prev": Out(n_neurons), "load": In(1), "load_data": In(n_neurons), "swap": In(1),
            "wr_en": In(1), "wr_addr": In(range(max(2, n_neurons // lanes))),
            "wr_bits": In(lanes),
        })

    def elaborate(self, platform):
        m = Module()
        n, lanes = self.n, self.lanes
        nxt = [Signal(n // lanes, name=f"next{ln}", reset_less=True) for ln in range(lanes)]
        with m.If(self.wr_en):
            m.d.sync += [nxt[ln].bit_select(self.wr_addr, 1).eq(self.wr_bits[ln])
                         for ln in range(lanes)]
        with m.If(self.load):
            m.d.sync += [self.prev.eq(self.load_data), *[s.eq(0) for s in nxt]]
        with m.Elif(self.swap):
            m.d.sync += [self.prev.eq(Cat(*[nxt[j % lanes][j // lanes] for j in range(n)])),
                         *[s.eq(0) for s in nxt]]
        return m
