"""The core's control: command FSM, loop counters, debug handshake and the cycle counter.

:class:`CoreSequencer` is the part of :class:`ec_hw.gateware.core.Core` that decides *when*:
it accepts ``cmd`` and ``dbg_req``, walks every slot through projection, ``substeps`` LIF
substeps and readout (issuing one datapath beat per cycle and waiting out each pipeline's
drain), clears state on RESET, and paces the ``act`` stream. The datapaths and memories stay in
:class:`~ec_hw.gateware.core.Core`; they follow the strobes and counters here. The cycle count
is :attr:`ec_hw.gateware.core.CoreGeometry.cycles_per_env_step`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from ..coremap import CoreOp

__all__ = ["CoreSequencer", "StateRead"]


class StateRead(enum.Enum, shape=2):
    """Who addresses the lanes' state and ``i_in`` RAMs this cycle."""

    NONE = 0    # address 0
    DEBUG = 1   # the debug read's neuron
    SUB = 2     # the neuron whose popcounts arrive (``m_rd``)
    OUT = 3     # the neuron being read out (``cnt_m``)


class CoreSequencer(wiring.Component):
    """Command FSM and loop counters of the core.

    Parameters
    ----------
    geom : CoreGeometry
        Sizes and drain latencies (:class:`ec_hw.gateware.core.CoreGeometry`).
    cmd_layout, dbg_layout : StructLayout
        Payloads of the core's ``cmd`` and ``dbg_req`` ports.

    Members
    -------
    cmd, dbg_req : In(stream)
        The core's command and debug-request streams (accepted only in ``idle``).
    dbg_resp_valid : Out(1); dbg_resp_ready : In(1)
        Handshake of the debug response (the core computes its payload from ``dbg_*``);
        valid two cycles after the request was accepted.
    act_valid : Out(1); act_ready : In(1)
        Handshake of the ``act`` stream; the action is ``em_a`` of slot ``em_slot``.
    idle, dbg_phase, resetting : Out(1)
        Waiting for a command; answering a debug read; zeroing slot ``rst_slot``'s state
        (neuron ``cnt_m`` of every lane per cycle).
    proj_issue, sub_issue, out_issue : Out(1)
        One projection / substep / readout beat for neuron ``cnt_m``, word / chunk / action
        ``cnt_w``, slot ``cur_slot``.
    state_read : Out(StateRead)
        Source of the state RAMs' read address.
    spikes_clear, spikes_save : Out(1)
        Write zeros to the spike RAM at ``rst_slot`` / the running vector at ``cur_slot``.
    spikes_load, spikes_swap : Out(1)
        Load the running slot's spike vector from the spike RAM / take the next substep's
        vector; both clear the vector being collected. Registered (decided a cycle ahead):
        each drives the enables of 2 N flip-flops, so no state decoding sits in front of
        that fan-out.
    em_addr : Out
        ``em_slot * A + em_a``, kept as a counter (the action RAM's read address).
    cycles : Out(32)
        Cycles of the last STEP, from accepting it to the first valid action.
    """

    def __init__(self, geom, cmd_layout, dbg_layout):
        self.geom = geom
        net, core = geom.net, geom.core
        slot = range(max(2, core.slots))
        super().__init__({
            "cmd": In(stream.Signature(cmd_layout)),
            "dbg_req": In(stream.Signature(dbg_layout)),
            "dbg_resp_valid": Out(1), "dbg_resp_ready": In(1),
            "act_valid": Out(1), "act_ready": In(1),
            "idle": Out(1), "dbg_phase": Out(1), "resetting": Out(1),
            "proj_issue": Out(1), "sub_issue": Out(1), "out_issue": Out(1),
            "state_read": Out(StateRead),
            "spikes_clear": Out(1), "spikes_save": Out(1),
            "spikes_load": Out(1), "spikes_swap": Out(1),
            "cur_slot": Out(slot), "rst_slot": Out(slot),
            "cnt_m": Out(range(max(2, geom.per_lane))),
            "cnt_w": Out(range(max(2, geom.wpr, geom.chunks, net.act_dim))),
            "em_slot": Out(slot), "em_a": Out(range(max(2, net.act_dim))),
            "em_addr": Out(range(max(2, core.slots * net.act_dim))),
            "dbg_slot": Out(dbg_layout["slot"].shape), "dbg_sel": Out(3), "dbg_addr": Out(16),
            "cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        s_cnt, a_dim, per_lane = g.core.slots, g.net.act_dim, g.per_lane
        cnt_m, cnt_w, cur_slot = self.cnt_m, self.cnt_w, self.cur_slot
        cmd, dq = self.cmd, self.dbg_req
        if g.drain_sub < 2:
            raise ValueError(f"the registered spikes_swap needs drain_sub >= 2, not {g.drain_sub}")
        m.d.sync += self.spikes_swap.eq(0)
        substep = Signal(range(max(2, g.net.substeps)))
        drain = Signal(range(max(g.drain_proj, g.drain_sub, g.drain_out) + 1))
        rst_all = Signal(init=1)
        counting = Signal()
        cyc = Signal(32)
        with m.If(counting):
            m.d.sync += cyc.eq(cyc + 1)

        def count(counter, last, then):
            """Advance ``counter``; at ``last`` wrap it to 0 and run ``then()``."""
            m.d.sync += counter.eq(counter + 1)
            with m.If(counter == last):
                m.d.sync += counter.eq(0)
                then()

        with m.FSM(init="CLEAR"):
            with m.State("CLEAR"):
                # RESET / reset: zero each slot's state, one neuron per lane and cycle.
                m.d.comb += [self.resetting.eq(1), self.spikes_clear.eq(cnt_m == 0)]
                m.d.sync += cnt_m.eq(cnt_m + 1)
                with m.If(cnt_m == per_lane - 1):
                    m.d.sync += cnt_m.eq(0)
                    with m.If(rst_all & (self.rst_slot != s_cnt - 1)):
                        m.d.sync += self.rst_slot.eq(self.rst_slot + 1)
                    with m.Else():
                        m.d.sync += rst_all.eq(0)
                        m.next = "IDLE"
            with m.State("IDLE"):
                m.d.comb += [self.idle.eq(1), cmd.ready.eq(1), dq.ready.eq(~cmd.valid)]
                m.d.sync += [cnt_m.eq(0), cnt_w.eq(0), cur_slot.eq(0)]
                with m.If(cmd.valid):
                    with m.Switch(cmd.payload.op):
                        with m.Case(CoreOp.STEP):
                            m.d.sync += [counting.eq(1), cyc.eq(1), self.em_slot.eq(0),
                                         self.em_a.eq(0), self.em_addr.eq(0)]
                            m.next = "PROJ"
                        with m.Case(CoreOp.RESET):
                            with m.If(cmd.payload.slot < s_cnt):
                                m.d.sync += [self.rst_slot.eq(cmd.payload.slot), rst_all.eq(0)]
                                m.next = "CLEAR"
                        with m.Case(CoreOp.RESET_ALL):
                            m.d.sync += [self.rst_slot.eq(0), rst_all.eq(1)]
                            m.next = "CLEAR"
                with m.Elif(dq.valid):
                    m.d.sync += [self.dbg_slot.eq(dq.payload.slot),
                                 self.dbg_sel.eq(dq.payload.sel),
                                 self.dbg_addr.eq(dq.payload.addr)]
                    m.next = "DBG_READ"
            with m.State("DBG_READ"):
                m.d.comb += [self.dbg_phase.eq(1), self.state_read.eq(StateRead.DEBUG)]
                m.next = "DBG_WAIT"
            with m.State("DBG_WAIT"):
                # The state RAMs' registered read (two cycles; the spike RAM's one has its
                # data by now too).
                m.d.comb += [self.dbg_phase.eq(1), self.state_read.eq(StateRead.DEBUG)]
                m.next = "DBG_RESP"
            with m.State("DBG_RESP"):
                m.d.comb += [self.dbg_phase.eq(1), self.state_read.eq(StateRead.DEBUG),
                             self.dbg_resp_valid.eq(1)]
                with m.If(self.dbg_resp_ready):
                    m.next = "IDLE"
            with m.State("PROJ"):
                m.d.comb += self.proj_issue.eq(1)

                def proj_done():
                    m.d.sync += [drain.eq(g.drain_proj - 1), self.spikes_load.eq(1)]
                    m.next = "PROJ_DRAIN"
                count(cnt_w, g.chunks - 1, lambda: count(cnt_m, per_lane - 1, proj_done))
            with m.State("PROJ_DRAIN"):
                # The slot's spikes were requested when cur_slot changed; spikes_load (set
                # on entry) takes them in every cycle of this state.
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    m.d.sync += [substep.eq(0), self.spikes_load.eq(0)]
                    m.next = "SUB"
            with m.State("SUB"):
                m.d.comb += [self.sub_issue.eq(1), self.state_read.eq(StateRead.SUB)]

                def sub_done():
                    m.d.sync += drain.eq(g.drain_sub - 1)
                    m.next = "SUB_DRAIN"
                count(cnt_w, g.wpr - 1, lambda: count(cnt_m, per_lane - 1, sub_done))
            with m.State("SUB_DRAIN"):
                m.d.comb += self.state_read.eq(StateRead.SUB)
                m.d.sync += drain.eq(drain - 1)
                # Double buffering: every neuron of the next substep sees this vector; the swap
                # is registered, so it is set in the cycle before the last (drain == 1).
                m.d.sync += self.spikes_swap.eq(drain == 1)
                with m.If(drain == 0):
                    m.d.sync += substep.eq(substep + 1)
                    with m.If(substep == g.net.substeps - 1):
                        m.next = "OUT"
                    with m.Else():
                        m.next = "SUB"
            with m.State("OUT"):
                m.d.comb += [self.out_issue.eq(1), self.state_read.eq(StateRead.OUT)]

                def out_done():
                    m.d.sync += drain.eq(g.drain_out - 1)
                    m.next = "OUT_DRAIN"
                count(cnt_m, per_lane - 1, lambda: count(cnt_w, a_dim - 1, out_done))
            with m.State("OUT_DRAIN"):
                m.d.comb += self.spikes_save.eq(1)
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
                m.d.comb += self.act_valid.eq(1)
                with m.If(counting):
                    m.d.sync += [counting.eq(0), self.cycles.eq(cyc)]
                with m.If(self.act_ready):
                    m.next = "EMIT_WAIT"
                    m.d.sync += [self.em_a.eq(self.em_a + 1), self.em_addr.eq(self.em_addr + 1)]
                    with m.If(self.em_a == a_dim - 1):
                        m.d.sync += [self.em_a.eq(0), self.em_slot.eq(self.em_slot + 1)]
                        with m.If(self.em_slot == s_cnt - 1):
                            m.next = "IDLE"
        return m
