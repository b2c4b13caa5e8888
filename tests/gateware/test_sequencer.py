# amaranth: UnusedElaboratable=no
"""CoreSequencer on its own: beats issued, drains waited, cycles counted (Amaranth simulator)."""

import pytest
from amaranth.sim import Simulator
from streams import stream_put

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import CoreOp
from ec_hw.gateware.core import Core, CoreGeometry
from ec_hw.gateware.sequencer import CoreSequencer, StateRead

CONFIGS = [
    (NetConfig(n_neurons=16, obs_dim=3, act_dim=2, substeps=3), CoreConfig(lanes=2, slots=3,
                                                                           word_bits=16)),
    (NetConfig(n_neurons=32, obs_dim=11, act_dim=1, substeps=2), CoreConfig(lanes=4,
                                                                            word_bits=16)),
]


def _dut(net, core):
    ref = Core(net, core)   # the layouts the sequencer is built with inside the core
    return CoreSequencer(CoreGeometry(net, core), ref.cmd_layout, ref.dbg_layout)


@pytest.mark.parametrize("net,core", CONFIGS)
def test_step_issues_every_beat_and_counts_the_formula(net, core):
    g = CoreGeometry(net, core)
    dut = _dut(net, core)
    seen = {"proj": 0, "sub": 0, "out": 0, "load": 0, "swap": 0, "save": 0, "acts": []}

    async def tb(ctx):
        await ctx.tick().until(dut.idle)             # the clear after reset
        await stream_put(ctx, dut.cmd, {"op": CoreOp.STEP, "slot": 0})
        cycles = 0
        ctx.set(dut.act_ready, 1)
        while len(seen["acts"]) < core.slots * net.act_dim:
            for k, sig in (("proj", dut.proj_issue), ("sub", dut.sub_issue),
                           ("out", dut.out_issue), ("load", dut.spikes_load),
                           ("swap", dut.spikes_swap), ("save", dut.spikes_save)):
                seen[k] += ctx.get(sig)
            if ctx.get(dut.act_valid):
                seen["acts"].append((ctx.get(dut.em_slot), ctx.get(dut.em_a), cycles))
            if ctx.get(dut.sub_issue):
                assert ctx.get(dut.state_read) == StateRead.SUB
            await ctx.tick()
            cycles += 1
        await ctx.tick().until(dut.idle)
        assert ctx.get(dut.cycles) == g.cycles_per_env_step

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    s, p = core.slots, g.per_lane
    assert seen["proj"] == s * p * g.chunks
    assert seen["sub"] == s * net.substeps * p * g.wpr
    assert seen["out"] == s * net.act_dim * p
    assert seen["load"] == s * g.drain_proj
    assert seen["swap"] == s * net.substeps
    assert seen["save"] == s * g.drain_out
    assert [(a, b) for a, b, _ in seen["acts"]] == [(m, i) for m in range(s)
                                                    for i in range(net.act_dim)]
    # the first action is valid cycles_per_env_step - 1 cycles after the cycle STEP was taken
    assert seen["acts"][0][2] == g.cycles_per_env_step - 1


def test_reset_and_debug_handshakes():
    net, core = CONFIGS[0]
    g = CoreGeometry(net, core)
    dut = _dut(net, core)

    async def tb(ctx):
        await ctx.tick().until(dut.idle)
        await stream_put(ctx, dut.cmd, {"op": CoreOp.RESET, "slot": 1})
        clears = []
        for _ in range(g.per_lane):
            assert ctx.get(dut.resetting) and not ctx.get(dut.idle)
            clears.append(ctx.get(dut.spikes_clear))
            assert ctx.get(dut.rst_slot) == 1
            await ctx.tick()
        assert clears == [1] + [0] * (g.per_lane - 1)
        assert ctx.get(dut.idle)
        await stream_put(ctx, dut.cmd, {"op": CoreOp.RESET, "slot": core.slots})  # ignored
        assert ctx.get(dut.idle)
        await stream_put(ctx, dut.dbg_req, {"slot": 2, "sel": 3, "addr": 7})
        assert ctx.get(dut.dbg_phase) and not ctx.get(dut.dbg_resp_valid)
        assert ctx.get(dut.state_read) == StateRead.DEBUG
        await ctx.tick()                              # the state RAMs' registered read
        assert ctx.get(dut.dbg_phase) and not ctx.get(dut.dbg_resp_valid)
        assert ctx.get(dut.state_read) == StateRead.DEBUG
        await ctx.tick()
        assert ctx.get(dut.dbg_resp_valid)
        assert (ctx.get(dut.dbg_slot), ctx.get(dut.dbg_sel), ctx.get(dut.dbg_addr)) == (2, 3, 7)
        await ctx.tick().repeat(3)                    # held until taken
        assert ctx.get(dut.dbg_resp_valid)
        ctx.set(dut.dbg_resp_ready, 1)
        await ctx.tick()
        assert ctx.get(dut.idle) and not ctx.get(dut.dbg_phase)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
