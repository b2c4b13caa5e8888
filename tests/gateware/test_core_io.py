# amaranth: UnusedElaboratable=no
"""The core's port decoders against the word map of docs/core-interface.md (Amaranth sim)."""

import random

import pytest
from amaranth.sim import Simulator

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import DebugSel, Matrix
from ec_hw.gateware.core import Core, CoreGeometry
from ec_hw.gateware.core_io import DebugReadback, LoadDecoder, ObsWriter

CONFIGS = [
    (NetConfig(n_neurons=48, obs_dim=5, act_dim=3), CoreConfig(word_bits=16, lanes=4, slots=3)),
    (NetConfig(n_neurons=32, obs_dim=11, act_dim=2), CoreConfig(word_bits=64, lanes=1)),
]


def _run(dut, tb):
    sim = Simulator(dut)
    sim.add_clock(1e-8, if_exists=True)   # the decoders' writes are registered
    sim.add_testbench(tb)
    sim.run()


@pytest.mark.parametrize("net,core", CONFIGS)
def test_load_decoder_routes_every_word(net, core):
    g = CoreGeometry(net, core)
    dut = LoadDecoder(g, Core(net, core).load_layout)
    rng = random.Random(5)
    per_row = {Matrix.IN: g.wpr_in, Matrix.REC: g.wpr, Matrix.OUT: g.wpr}
    depth = {mx: coremap.matrix_depth(mx, net, core) for mx in Matrix}
    addr_max = 1 << coremap.addr_bits(net, core)   # words past a matrix, where they fit
    cases = [(mx, a) for mx in Matrix for a in
             {0, depth[mx] - 1, depth[mx], *rng.sample(range(depth[mx]), min(8, depth[mx]))}
             if a < addr_max]

    async def tb(ctx):
        for enable in (1, 0):
            ctx.set(dut.enable, enable)
            for mx, addr in cases:
                ctx.set(dut.i.payload, {"matrix": mx, "addr": addr, "data": addr})
                ctx.set(dut.i.valid, 1)
                assert ctx.get(dut.i.ready) == enable
                await ctx.tick()   # the write is registered: it shows the cycle after
                assert ctx.get(dut.data) == addr
                inside = enable and addr < depth[mx]
                row, w = divmod(addr, per_row[mx])
                for m2, (a, en) in ((Matrix.IN, (dut.in_addr, dut.in_en)),
                                    (Matrix.REC, (dut.rec_addr, dut.rec_en))):
                    want = (1 << (row % core.lanes)) if (inside and m2 == mx) else 0
                    assert ctx.get(en) == want, (mx, addr)
                    if want:
                        assert ctx.get(a) == (row // core.lanes) * per_row[mx] + w
                assert ctx.get(dut.out_en) == int(inside and mx == Matrix.OUT)
                if inside and mx == Matrix.OUT:
                    assert ctx.get(dut.out_addr) == addr

    _run(dut, tb)


@pytest.mark.parametrize("net,core", CONFIGS)
def test_obs_writer_columns(net, core):
    g = CoreGeometry(net, core)
    dut = ObsWriter(g, Core(net, core).obs_layout)

    async def tb(ctx):
        ctx.set(dut.enable, 1)
        ctx.set(dut.i.valid, 1)
        slot_w, index_w = len(dut.i.payload.slot), len(dut.i.payload.index)
        for slot in range(min(core.slots + 1, 1 << slot_w)):
            for i in range(min(net.obs_dim + 1, 1 << index_w)):
                ctx.set(dut.i.payload, {"slot": slot, "index": i, "value": -3})
                await ctx.tick()   # registered
                ok = i < net.obs_dim and slot < core.slots
                for addr, en, col in ((dut.pos_addr, dut.pos_en, i),
                                      (dut.neg_addr, dut.neg_en, i + net.obs_dim)):
                    if ok:
                        assert ctx.get(addr) == slot * g.chunks + col // g.cols
                        assert ctx.get(en) == 1 << (col % g.cols)
                    else:
                        assert ctx.get(en) == 0
        word = ctx.get(dut.data)
        ob = core.obs_bits
        assert all((word >> (k * ob)) & ((1 << ob) - 1) == (-3) & ((1 << ob) - 1)
                   for k in range(g.cols))

    _run(dut, tb)


def test_debug_readback_selects_and_bounds():
    net, core = CONFIGS[0]
    g = CoreGeometry(net, core)
    dut = DebugReadback(g, Core(net, core).dbg_layout["slot"].shape)
    spikes = random.Random(2).getrandbits(net.n_neurons)

    async def tb(ctx):
        for ln in range(core.lanes):
            ctx.set(dut.v[ln], -100 - ln)
            ctx.set(dut.i_syn[ln], 7 + ln)
            ctx.set(dut.rate[ln], 1000 + ln)
            ctx.set(dut.i_in[ln], -ln)
        ctx.set(dut.spikes, spikes)
        ctx.set(dut.slot, 1)
        for addr in (0, 5, net.n_neurons - 1, net.n_neurons):
            ctx.set(dut.addr, addr)
            ok = addr < net.n_neurons
            for sel, want in ((DebugSel.V, -100), (DebugSel.I_SYN, 7),
                              (DebugSel.RATE, 1000), (DebugSel.I_IN, 0)):
                ctx.set(dut.sel, sel)
                lane = addr % core.lanes
                exp = (want - lane if sel in (DebugSel.V, DebugSel.I_IN) else want + lane)
                assert ctx.get(dut.resp) == (exp if ok else 0), (sel, addr)
        ctx.set(dut.sel, DebugSel.SPIKES)
        n_words = -(-net.n_neurons // 32)
        for k in range(n_words + 1):
            ctx.set(dut.addr, k)
            raw = (spikes >> (32 * k)) & 0xFFFFFFFF if k < n_words else 0
            assert ctx.get(dut.resp) == (raw - (1 << 32) if raw >> 31 else raw)
        ctx.set(dut.slot, core.slots)
        ctx.set(dut.addr, 0)
        assert ctx.get(dut.resp) == 0

    _run(dut, tb)
