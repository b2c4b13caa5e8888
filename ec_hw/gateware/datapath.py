"""Two of the core's datapaths, between the sequencer's beats and the memories.

* :class:`ProjectionPath`: every lane's :class:`~ec_hw.gateware.projection.InputProjection`
  fed from its ``W_in`` bank and the shared observation columns, writing ``i_in``.
* :class:`ReadoutPath`: the :class:`~ec_hw.gateware.readout.Readout` fed from ``W_out`` and the
  lanes' rates, writing the action RAM.

A beat issued at cycle ``t`` (``issue`` with the counters) addresses the memories at ``t``; their
data arrives at ``t + 1``, when the block's inputs are registered. Latencies are
:class:`ec_hw.gateware.core.CoreGeometry`'s ``lat_proj`` / ``lat_out``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .popcount import delay
from .projection import InputProjection
from .readout import Readout

__all__ = ["ProjectionPath", "ReadoutPath"]


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
        Every lane's ``W_in`` bank read (same address).
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
        m.d.comb += [self.win_addr.eq((slot_base + cnt_m) * g.wpr_in + (cnt_w >> sub_bits)),
                     self.x_addr.eq(self.cur_slot * chunks + cnt_w)]
        m.d.sync += [valid.eq(self.issue), first.eq(cnt_w == 0), last.eq(cnt_w == chunks - 1),
                     pj_m.eq(cnt_m)]
        if sub_bits:
            m.d.sync += sub.eq(cnt_w[:sub_bits])
        pj_m_out = delay(m, pj_m, g.lat_proj, name="pj_m")
        m.d.comb += self.iin_addr.eq(slot_base + pj_m_out)
        for ln in range(g.core.lanes):
            proj = InputProjection(cols, obs_bits=ob, state_bits=g.fp.state_bits,
                                   acc_bits=ob + 2 + ceil_log2(2 * g.net.obs_dim),
                                   regs_every=self.regs_every)
            m.submodules[f"proj{ln}"] = proj
            word = self.win_data[ln]
            m.d.comb += [proj.valid.eq(valid), proj.first.eq(first), proj.last.eq(last),
                         proj.bits.eq(word.word_select(sub, cols) if sub_bits else word[:cols]),
                         proj.pos.eq(self.pos), proj.neg.eq(self.neg),
                         self.iin_data[ln].eq(proj.i_in), self.iin_en[ln].eq(proj.o_valid)]
        return m


class ReadoutPath(wiring.Component):
    """Readout of action ``cnt_w``: ``lanes`` rates of neurons ``cnt_m * lanes + l`` per beat.

    Members
    -------
    issue, cur_slot, cnt_m, cnt_w : In
        One beat.
    wout_addr : Out; wout_data : In(word_bits)
        ``W_out`` read.
    rate : In(unsigned(rate_bits)).array(lanes)
        The lanes' state reads of neuron ``cnt_m`` (addressed by the core).
    act_addr, act_data, act_en : Out
        Action RAM write, ``lat_out`` cycles after an action's last beat.
    """

    def __init__(self, geom, *, regs_every: int):
        self.geom, self.regs_every = geom, regs_every
        s, a = geom.core.slots, geom.net.act_dim
        super().__init__({
            **_counters(geom),
            "wout_addr": Out(range(max(2, s * a * geom.wpr))),
            "wout_data": In(geom.core.word_bits),
            "rate": In(unsigned(geom.fp.rate_bits)).array(geom.core.lanes),
            "act_addr": Out(range(max(2, s * a))), "act_data": Out(signed(geom.fp.action_bits)),
            "act_en": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        lanes, a_dim, cnt_m, cnt_w = g.core.lanes, g.net.act_dim, self.cnt_m, self.cnt_w
        m.submodules.readout = rdo = Readout(g.fp, lanes, regs_every=self.regs_every)
        grp_bits = ceil_log2(g.core.word_bits // lanes)
        ro_valid, ro_first, ro_last = Signal(), Signal(), Signal()
        ro_m = Signal.like(cnt_m)
        ro_a = Signal.like(cnt_w)
        m.d.comb += self.wout_addr.eq((self.cur_slot * a_dim + cnt_w) * g.wpr
                                      + (cnt_m >> grp_bits))
        m.d.sync += [ro_valid.eq(self.issue), ro_first.eq(cnt_m == 0),
                     ro_last.eq(cnt_m == g.per_lane - 1), ro_m.eq(cnt_m), ro_a.eq(cnt_w)]
        grp = ro_m[:grp_bits] if grp_bits else Const(0, 1)
        m.d.comb += [
            rdo.valid.eq(ro_valid), rdo.first.eq(ro_first), rdo.last.eq(ro_last),
            rdo.bits.eq(self.wout_data.word_select(grp, lanes) if grp_bits
                        else self.wout_data[:lanes]),
            rdo.exc.eq(Cat(*[(ro_m * lanes + ln) < g.fp.n_exc for ln in range(lanes)])),
            rdo.rate.eq(Cat(*self.rate)),
        ]
        ro_a_out = delay(m, ro_a, g.lat_out, name="ro_a")
        m.d.comb += [self.act_addr.eq(self.cur_slot * a_dim + ro_a_out),
                     self.act_data.eq(rdo.action), self.act_en.eq(rdo.o_valid)]
        return m
