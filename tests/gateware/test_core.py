"""Core against its golden twin ec_hw.model.core.core_env_step (Amaranth simulator).

Every test loads random (or extreme) networks through the ``load`` port with the word map of
docs/core-interface.md (ec_hw.coremap), runs STEP commands and compares the actions and, through the
debug port, every neuron's v / i_syn / rate / i_in and the spike vector bit for bit.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator
from streams import stream_get, stream_put

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import CoreOp, DebugSel, genome_to_words, matrix_depth, slot_words, word_ints
from ec_hw.gateware.arith import reciprocal
from ec_hw.gateware.core import Core, CoreGeometry, cycles_per_env_step
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.projection import input_projection


class Harness:
    """Drives one Core and mirrors it with the golden model, slot by slot."""

    def __init__(self, net, core):
        self.net, self.core = net, core
        self.dut = Core(net, core)
        self.fx = FixedNet(net, core)
        self.layout = GenomeLayout.of(net)
        self.state = NetState.zeros(core.slots, self.layout)
        self.genomes = [np.zeros(self.layout.n_words, np.uint64) for _ in range(core.slots)]
        self.cycles = []
        self.fired = False

    async def wait_idle(self, ctx):
        while ctx.get(self.dut.busy):
            await ctx.tick()

    async def load(self, ctx, slot, genome):
        self.genomes[slot] = genome
        words = slot_words(genome_to_words(genome, self.net, self.core), slot, self.net,
                           self.core)
        for mat, addr, val in zip(words.matrix, words.addr, word_ints(words.data), strict=True):
            await stream_put(ctx, self.dut.load, {"matrix": int(mat), "addr": int(addr),
                                                  "data": val})

    async def step(self, ctx, x_q, *, act_stall=0):
        """One STEP with observations ``x_q[slot]``; returns the core's actions (S, A)."""
        dut = self.dut
        for s in range(self.core.slots):
            for i, v in enumerate(x_q[s]):
                await stream_put(ctx, dut.obs, {"slot": s, "index": i, "value": int(v)})
        await stream_put(ctx, dut.cmd, {"op": CoreOp.STEP, "slot": 0})
        measured = 1
        while not ctx.get(dut.act.valid):
            await ctx.tick()
            measured += 1
        acts = np.zeros((self.core.slots, self.net.act_dim), np.int64)
        order = []
        for _ in range(self.core.slots * self.net.act_dim):
            p = await stream_get(ctx, dut.act, stall=act_stall)
            order.append((p.slot, p.index))
            acts[p.slot, p.index] = p.value
        assert order == [(s, a) for s in range(self.core.slots) for a in range(self.net.act_dim)]
        await self.wait_idle(ctx)
        self.cycles.append((measured, ctx.get(dut.cycles)))
        return acts

    def model_step(self, x_q):
        acts, traces = [], []
        for s in range(self.core.slots):
            a, tr = self.fx.step_one(np.asarray(x_q[s], np.int32), self.genomes[s], self.state,
                                     index=s, trace=True)
            acts.append(a)
            traces.append(tr)
            self.fired |= bool(np.any(tr))
        return np.array(acts, np.int64), traces

    async def dbg(self, ctx, slot, sel, addr):
        await stream_put(ctx, self.dut.dbg_req, {"slot": slot, "sel": sel, "addr": addr})
        return int(await stream_get(ctx, self.dut.dbg_resp))

    async def check_state(self, ctx, x_q):
        """Every neuron's state and i_in, and the spike words, against the model."""
        n = self.net.n_neurons
        p = self.fx.p
        w_in = self.layout.split
        for s in range(self.core.slots):
            got = {sel: [await self.dbg(ctx, s, sel, j) for j in range(n)]
                   for sel in (DebugSel.V, DebugSel.I_SYN, DebugSel.RATE, DebugSel.I_IN)}
            assert got[DebugSel.V] == self.state.v[s].tolist(), f"v, slot {s}"
            assert got[DebugSel.I_SYN] == self.state.i_syn[s].tolist(), f"i_syn, slot {s}"
            assert got[DebugSel.RATE] == self.state.rate[s].tolist(), f"rate, slot {s}"
            rows = w_in(self.genomes[s])[0]
            i_in = [int(input_projection(p, rows[j], np.asarray(x_q[s], np.int64)))
                    for j in range(n)]
            assert got[DebugSel.I_IN] == i_in, f"i_in, slot {s}"
            spk = [await self.dbg(ctx, s, DebugSel.SPIKES, i) & 0xFFFFFFFF
                   for i in range(-(-n // 32))]
            ref = [(int(self.state.spk[s][i // 2]) >> (32 * (i % 2))) & 0xFFFFFFFF
                   for i in range(-(-n // 32))]
            assert spk == ref, f"spikes, slot {s}"


def run(h: Harness, body):
    sim = Simulator(h.dut)
    sim.add_clock(1e-6)

    async def tb(ctx):
        await h.wait_idle(ctx)
        await body(ctx)

    sim.add_testbench(tb)
    sim.run()


def random_genome(net, rng, density=None):
    d = rng.uniform(0.2, 0.8) if density is None else density
    return pack_genome(rng.random(net.n_conn) < d, GenomeLayout.of(net))


def random_obs(fp, rng, slots, scale=None):
    lim = 1 << (fp.obs_bits - 1)
    sc = scale if scale is not None else rng.choice([1500, 6000, lim])
    return np.clip(rng.normal(0, sc, (slots, fp.obs_dim)), -lim, lim - 1).astype(np.int64)


CASES = [
    # (n, obs, act, substeps, exc, lanes, word_bits, slots)
    (32, 3, 2, 5, 0.5, 1, 32, 1),
    (32, 3, 2, 4, 0.5, 4, 64, 2),
    (64, 11, 3, 3, 0.5, 4, 32, 1),
    (64, 5, 2, 3, 0.5, 1, 64, 1),
    (48, 40, 3, 3, 0.75, 4, 16, 1),     # 3 words per W_rec row, 5 per W_in row (divider)
    (32, 4, 1, 33, 0.5, 4, 32, 1),      # the full 33 substeps
    (16, 2, 1, 3, 0.5, 2, 8, 3),        # narrowest words, three slots (not a power of two)
    (32, 9, 2, 5, 0.4, 4, 256, 1),      # widest words: one mostly-padding word per row
]


def _case_id(c):
    return f"N{c[0]}D{c[1]}A{c[2]}T{c[3]}L{c[5]}W{c[6]}S{c[7]}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_core_matches_model(case):
    n, d, a, t, exc, lanes, wb, slots = case
    net = NetConfig(n_neurons=n, obs_dim=d, act_dim=a, substeps=t, exc_fraction=exc)
    core = CoreConfig(lanes=lanes, word_bits=wb, slots=slots)
    h = Harness(net, core)
    rng = np.random.default_rng(n * 1000 + d * 10 + lanes + wb + slots)
    steps = 3 if t < 10 else 2

    async def body(ctx):
        for s in range(slots):
            await h.load(ctx, s, random_genome(net, rng))
        for k in range(steps):
            x_q = random_obs(h.fx.fp, rng, slots)
            got = await h.step(ctx, x_q, act_stall=k)
            ref, _ = h.model_step(x_q)
            assert got.tolist() == ref.tolist(), f"actions, step {k}"
        # The debug reads cost more simulated cycles than the steps: state after the last one.
        await h.check_state(ctx, x_q)

    run(h, body)
    expect = cycles_per_env_step(net, core)
    assert h.cycles == [(expect, expect)] * steps
    assert h.fired, "the network never fired: the case tests too little"


def test_core_extremes_and_reset():
    """No connections, all connections with saturated observations of both signs, RESET.

    N = 40 with 32-bit words leaves 24 padding bits in every W_rec / W_out row.
    """
    n = 40
    net = NetConfig(n_neurons=n, obs_dim=4, act_dim=2, substeps=4)
    core = CoreConfig(lanes=4, word_bits=32, slots=2)
    h = Harness(net, core)
    fp = h.fx.fp
    lim = 1 << (fp.obs_bits - 1)
    lay = GenomeLayout.of(net)
    ones = pack_genome(np.ones(net.n_conn, bool), lay)
    zeros = np.zeros(lay.n_words, np.uint64)
    exc_only = np.zeros(net.n_conn, bool)
    exc_only[:lay.off_rec_bits].reshape(n, 8)[:, :4] = True     # +x columns only
    rec = exc_only[lay.off_rec_bits:lay.off_out_bits].reshape(n, n)
    rec[:, :fp.n_exc] = True
    exc_only[lay.off_out_bits:] = True
    exc_only = pack_genome(exc_only, lay)

    async def body(ctx):
        await h.load(ctx, 0, zeros)
        # All connections, written as all-ones words: the padding bits must be ignored.
        h.genomes[1] = ones
        words = slot_words(genome_to_words(ones, net, core), 1, net, core)
        for mat, addr in zip(words.matrix, words.addr, strict=True):
            await stream_put(ctx, h.dut.load, {"matrix": int(mat), "addr": int(addr),
                                               "data": (1 << core.word_bits) - 1})
        for x in (np.full((2, 4), lim - 1), np.full((2, 4), -lim), np.full((2, 4), 0)):
            got = await h.step(ctx, x)
            ref, _ = h.model_step(x)
            assert got.tolist() == ref.tolist()
            assert got[0].tolist() == [0, 0]
        await h.check_state(ctx, x)
        # Every neuron excitatory-driven, x = +max on the +x columns only: everything fires.
        await h.load(ctx, 1, exc_only)
        x = np.array([[lim - 1, lim - 1, -lim, -lim], [lim - 1] * 4])
        for _ in range(2):
            got = await h.step(ctx, x)
            ref, _ = h.model_step(x)
            assert got.tolist() == ref.tolist()
        await h.check_state(ctx, x)
        assert int(h.state.spk[1][0]) == (1 << n) - 1, "every neuron of slot 1 fires"
        # RESET slot 1 only, then RESET all.
        await stream_put(ctx, h.dut.cmd, {"op": CoreOp.RESET, "slot": 1})
        await h.wait_idle(ctx)
        h.state.reset(np.array([False, True]))
        await h.check_state(ctx, x)
        got = await h.step(ctx, x)
        ref, _ = h.model_step(x)
        assert got.tolist() == ref.tolist()
        await stream_put(ctx, h.dut.cmd, {"op": CoreOp.RESET_ALL, "slot": 0})
        await h.wait_idle(ctx)
        h.state.reset()
        await h.check_state(ctx, x)

    run(h, body)


def test_shipped_geometries():
    """Humanoid's 696-column input rows take 11 words of 64 bits (a non-power-of-two row)."""
    g = CoreGeometry(NetConfig(obs_dim=348, act_dim=17), CoreConfig())
    assert (g.per_lane, g.wpr_in, g.wpr, g.chunks) == (64, 11, 4, 44)
    assert g.cycles_per_substep == 256 + 16


def test_cycles_formula_at_default_core():
    net, core = NetConfig(), CoreConfig()
    # 256 issue cycles (N*N / (lanes*W)) + 16 drain per substep (popcount 4, LIF 10, 2);
    # projection (7 drain), readout (9 drain), actions.
    assert cycles_per_env_step(net, core) == 128 + 7 + 33 * (256 + 16) + 3 * 64 + 9 + 2


@pytest.mark.parametrize("kw,msg", [
    (dict(lanes=64), r"lanes must divide n_neurons \(32\), not 64"),
    (dict(lanes=16, word_bits=8), r"lanes must not exceed word_bits \(8\), not 16"),
])
def test_core_parameters_are_checked(kw, msg):
    with pytest.raises(ValueError, match=msg):
        Core(NetConfig(n_neurons=32), CoreConfig(**kw))
    with pytest.raises(ValueError, match=msg):
        cycles_per_env_step(NetConfig(n_neurons=32), CoreConfig(**kw))


def test_core_needs_configs():
    with pytest.raises(TypeError, match="net must be a NetConfig"):
        Core(CoreConfig(), CoreConfig())


@pytest.mark.parametrize("divisor", [3, 5, 11, 44, 87])
def test_constant_divider_is_exact(divisor):
    """The load path's reciprocal division, for every address of a 15-bit port."""
    mult, shift = reciprocal(divisor, 15)
    x = np.arange(1 << 15, dtype=object)
    assert ((x * mult) >> shift).tolist() == (x // divisor).tolist()


def test_core_drops_out_of_range_writes_and_reads_zero():
    """Loads past the last slot, obs indices >= D and debug reads outside read as documented."""
    net = NetConfig(n_neurons=16, obs_dim=3, act_dim=1, substeps=3)
    core = CoreConfig(lanes=2, word_bits=8, slots=3)
    h = Harness(net, core)
    rng = np.random.default_rng(5)
    fp = h.fx.fp

    async def body(ctx):
        for s in range(3):
            await h.load(ctx, s, random_genome(net, rng))
        # Slot 3 does not exist; its addresses fit the port (addr_bits covers 4 slots).
        limit = 1 << len(h.dut.load.payload.addr)
        for mat in (0, 1, 2):
            depth = matrix_depth(mat, net, core)
            for addr in range(depth, min(limit, depth + 40)):
                await stream_put(ctx, h.dut.load, {"matrix": mat, "addr": addr, "data": 0xFF})
        await stream_put(ctx, h.dut.load, {"matrix": 3, "addr": 0, "data": 0xFF})
        for k in range(2):
            x_q = random_obs(fp, rng, 3, scale=8000)
            for s in range(3):   # index 3 >= D and slot 3 >= S must not land anywhere
                await stream_put(ctx, h.dut.obs, {"slot": s, "index": 3, "value": 32767})
            await stream_put(ctx, h.dut.obs, {"slot": 3, "index": 0, "value": 32767})
            got = await h.step(ctx, x_q)
            ref, _ = h.model_step(x_q)
            assert got.tolist() == ref.tolist(), f"step {k}"
        await h.check_state(ctx, x_q)
        assert await h.dbg(ctx, 0, DebugSel.V, 16) == 0
        assert await h.dbg(ctx, 3, DebugSel.RATE, 0) == 0
        assert await h.dbg(ctx, 0, DebugSel.SPIKES, 1) == 0
        assert await h.dbg(ctx, 0, 7, 0) == 0

    run(h, body)
    assert h.fired
