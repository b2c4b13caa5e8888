# amaranth: UnusedElaboratable=no
"""ProjectionPath and ReadoutPath: addresses per beat and write-back timing (Amaranth sim).

The values they compute are their blocks' (tests/gateware/test_projection.py,
test_readout.py) and are compared bit for bit with the golden model in test_core.py; here the
memory addresses each beat reads and the address and cycle of each write-back are pinned.
"""

import pytest
from amaranth.sim import Simulator

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.core import CoreGeometry
from ec_hw.gateware.datapath import ProjectionPath, ReadoutPath

NET = NetConfig(n_neurons=16, obs_dim=5, act_dim=3)
CORE = CoreConfig(word_bits=16, lanes=2, slots=2)
REGS = 3


@pytest.mark.parametrize("kind", ["projection", "readout"])
def test_beats_address_the_memories_and_write_back_after_the_latency(kind):
    g = CoreGeometry(NET, CORE)
    if kind == "projection":
        dut = ProjectionPath(g, regs_every=REGS)
        inner, outer, lat = g.chunks, g.per_lane, g.lat_proj    # cnt_w inner, cnt_m outer
    else:
        dut = ReadoutPath(g, regs_every=REGS)
        inner, outer, lat = g.per_lane, NET.act_dim, g.lat_out  # cnt_m inner, cnt_w outer
    slots = list(range(CORE.slots))
    writes, issued_last = [], []

    async def tb(ctx):
        if kind == "readout":      # the core is idle: the address counters restart
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
        cycle = 0
        for slot in slots:     # every slot in turn, as a STEP walks them
            ctx.set(dut.cur_slot, slot)
            for o in range(outer):
                for i in range(inner):
                    m_, w_ = (o, i) if kind == "projection" else (i, o)
                    ctx.set(dut.issue, 1)
                    ctx.set(dut.cnt_m, m_)
                    ctx.set(dut.cnt_w, w_)
                    if kind == "projection":
                        assert ctx.get(dut.win_addr) == (slot * g.per_lane + m_) * g.wpr_in + \
                            (w_ * g.cols) // CORE.word_bits
                        assert ctx.get(dut.x_addr) == slot * g.chunks + w_
                    else:
                        assert ctx.get(dut.wout_addr) == (slot * NET.act_dim + w_) * g.wpr + \
                            (m_ * CORE.lanes) // CORE.word_bits
                    if i == inner - 1:
                        issued_last.append(cycle)
                    await ctx.tick()
                    cycle += 1
                    _sample(ctx, writes, cycle)
            # the drain before the next slot (cur_slot changes after it, as in the core)
            ctx.set(dut.issue, 0)
            for _ in range(lat + 2):
                await ctx.tick()
                cycle += 1
                _sample(ctx, writes, cycle)
        for _ in range(lat + 4):
            await ctx.tick()
            cycle += 1
            _sample(ctx, writes, cycle)

    def _sample(ctx, out, cycle):
        if kind == "projection":
            if ctx.get(dut.iin_en[0]):
                assert all(ctx.get(dut.iin_en[ln]) for ln in range(CORE.lanes))
                out.append((ctx.get(dut.iin_addr), cycle))
        elif ctx.get(dut.act_en):
            out.append((ctx.get(dut.act_addr), cycle))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    rows = g.per_lane if kind == "projection" else NET.act_dim
    # One write per row (neuron or action), at its address, 1 + lat cycles after its last beat
    # was issued (the memories' read cycle, then the block's pipeline).
    assert writes == [(s * rows + o, issued_last[s * rows + o] + 1 + lat)
                      for s in slots for o in range(rows)]
