"""Amaranth simulation of the device sampler against the golden model (ec_hw.model.sampler)."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Fragment, Module, Shape, UnusedElaboratable
from amaranth.sim import Simulator
from streams import stream_get_many, stream_put, stream_put_many

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import genome_to_words, slot_words, word_ints
from ec_hw.gateware.sampler import (
    SampleUnit,
    Threefry2x32,
    load_layout,
    rho_word_count,
    sample_cycles,
    threefry_latency,
)
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import generation_seed, sample_members, threefry2x32

KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


def _raises(exc, match, fn, *args, **kwargs):
    """pytest.raises for constructors of Elaboratables: the half-built object is collected
    here, so its UnusedElaboratable warning does not surface in a later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(exc, match=match):
            fn(*args, **kwargs)
        gc.collect()


def _run(dut, testbenches, deadline_cycles=None):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for tb in testbenches:
        sim.add_testbench(tb)
    if deadline_cycles is None:
        sim.run()
    else:
        sim.run_until(deadline_cycles * 1e-8)


# --- Threefry2x32 -----------------------------------------------------------------------------
@pytest.mark.parametrize("rps", [1, 2, 4, 5, 20])
def test_threefry_matches_model_kat_and_random(rps):
    rng = np.random.default_rng(rps)
    cases = [(k[0], k[1], c[0], c[1]) for c, k, _ in KAT]
    cases += [tuple(int(v) for v in rng.integers(0, 2**32, size=4, dtype=np.uint64))
              for _ in range(40)]
    expected = [threefry2x32(*c) for c in cases]
    assert expected[:3] == [e for _, _, e in KAT]
    dut = Threefry2x32(rps)
    assert dut.latency == threefry_latency(rps) == 20 // rps
    got = []

    async def producer(ctx):
        await stream_put_many(ctx, dut.i, [{"k0": a, "k1": b, "c0": c, "c1": d}
                                           for a, b, c, d in cases], rng=rng, p_idle=0.3)

    async def consumer(ctx):
        for p in await stream_get_many(ctx, dut.o, len(cases), rng=rng, p_stall=0.3):
            got.append((p.y0, p.y1))

    _run(dut, [producer, consumer])
    assert got == expected


def test_threefry_one_block_per_cycle_and_latency():
    dut = Threefry2x32()
    n = 32
    seen = []

    async def tb(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.i.valid, 1)
        for cyc in range(n + dut.latency + 2):
            ctx.set(dut.i.payload, {"k0": 7, "k1": 9, "c0": cyc, "c1": 0})
            _, _, valid, y0, y1, iready = await ctx.tick().sample(
                dut.o.valid, dut.o.payload.y0, dut.o.payload.y1, dut.i.ready)
            assert iready
            if valid:
                seen.append((cyc, (y0, y1)))

    _run(dut, [tb])
    # Output of counter c is valid in cycle c + latency (one per cycle, no bubbles).
    assert [c for c, _ in seen[:n]] == list(range(dut.latency, dut.latency + n))
    assert [y for _, y in seen[:n]] == [threefry2x32(7, 9, c, 0) for c in range(n)]


@pytest.mark.parametrize("bad", [0, 3, 7, 40, -2, 2.0, True])
def test_threefry_rejects_bad_rounds_per_stage(bad):
    _raises(ValueError, rf"rounds_per_stage must be a positive divisor of 20, not {bad!r}",
            Threefry2x32, bad)


# --- expected words: the host-side word map (ec_hw.coremap) of the golden model's genome ----
def expected_words(genome, net: NetConfig, core: CoreConfig, slot: int):
    """(matrix, addr, data) of one packed genome in load order (rows padded to word_bits)."""
    w = slot_words(genome_to_words(genome, net, core), slot, net, core)
    return list(zip(w.matrix.tolist(), w.addr.tolist(), word_ints(w.data), strict=True))


def _rho(rng, net, kind):
    n = net.n_conn
    if kind == "zero":
        return np.zeros(n, np.uint16)
    if kind == "full":
        return np.full(n, 65535, np.uint16)
    rho = rng.integers(0, 65536, size=n).astype(np.uint16)
    rho[rng.random(n) < 0.15] = 0
    rho[rng.random(n) < 0.15] = 65535
    return rho


def _sample_on_sim(net, core, rho_q, cmds, *, rng=None, p_stall=0.0, p_idle=0.0, rps=1,
                   measure=False, antithetic=False):
    """Load rho, run each (slot, gen_seed, member) command; return the load payloads."""
    dut = SampleUnit(net, core, rounds_per_stage=rps)
    # rho in a random order (one value per transfer, addressed by connection index).
    order = (rng or np.random.default_rng(0)).permutation(net.n_conn)
    writes = [{"addr": int(c), "data": int(rho_q[c])} for c in order]
    results = []
    cycles = []

    async def producer(ctx):
        await stream_put_many(ctx, dut.rho_load, writes, rng=rng, p_idle=p_idle)
        for slot, gen_seed, member in cmds:
            await ctx.tick().until(~dut.busy)
            await stream_put(ctx, dut.cmd, {"slot": slot, "gen_seed": gen_seed,
                                             "member": member, "antithetic": antithetic})

    async def consumer(ctx):
        n_words = len(expected_words(np.zeros(GenomeLayout.of(net).n_words, np.uint64),
                                     net, core, 0))
        for _ in cmds:
            if measure:
                # Cycles from the cmd transfer to the last load transfer, sink always ready.
                await ctx.tick().until(dut.cmd.valid & dut.cmd.ready)
                ctx.set(dut.load.ready, 1)
                got, t = [], 0
                while len(got) < n_words:
                    _, _, valid, payload = await ctx.tick().sample(dut.load.valid,
                                                                   dut.load.payload)
                    t += 1
                    if valid:
                        got.append(payload)
                cycles.append(t)
                assert ctx.get(dut.busy) == 0  # idle right after the last transfer
            else:
                got = await stream_get_many(ctx, dut.load, n_words, rng=rng, p_stall=p_stall)
            results.append([(int(p.matrix), int(p.addr), int(p.data)) for p in got])

    _run(dut, [producer, consumer])
    return results, cycles


NETS = {
    "N32": NetConfig(n_neurons=32, obs_dim=3, act_dim=2),
    "N64": NetConfig(n_neurons=64, obs_dim=11, act_dim=3),
}


@pytest.mark.parametrize("net_id", NETS)
@pytest.mark.parametrize("kind", ["random", "zero", "full"])
def test_sample_unit_matches_model(net_id, kind):
    net = NETS[net_id]
    core = CoreConfig(word_bits=64, slots=1)
    rng = np.random.default_rng(len(kind) + net.n_neurons)
    rho = _rho(rng, net, kind)
    cmds = [(0, generation_seed(3, 1), 5)]
    if net_id == "N32":
        cmds.append((0, int(rng.integers(0, 2**32)), 2**32 - 1))
    got, _ = _sample_on_sim(net, core, rho, cmds, rng=rng, p_stall=0.3, p_idle=0.2)
    lay = GenomeLayout.of(net)
    for (slot, gs, member), words in zip(cmds, got, strict=True):
        genome = sample_members(gs, np.array([member]), rho, lay)[0]
        assert words == expected_words(genome, net, core, slot)
        if kind == "zero":
            assert not any(d for _, _, d in words)


@pytest.mark.parametrize("kind", ["random", "zero", "full"])
def test_sample_unit_draws_antithetic_pairs_like_the_model(kind):
    """Mirrored pairs: member 2k keyed by k, member 2k + 1 the same stream with u ^ 0xFFFF."""
    net = NETS["N32"]
    core = CoreConfig(word_bits=64, slots=2)
    rng = np.random.default_rng(len(kind))
    rho = _rho(rng, net, kind)
    rho[:4] = [0, 65535, 32768, 1]  # the compare's ends and the mirror point
    gs = generation_seed(5, 2)
    cmds = [(0, gs, 6), (1, gs, 7), (1, gs, 0), (0, gs, 1), (0, 0xFFFFFFFF, 2**32 - 1)]
    got, _ = _sample_on_sim(net, core, rho, cmds, rng=rng, p_stall=0.3, p_idle=0.2,
                            antithetic=True)
    lay = GenomeLayout.of(net)
    for (slot, g, member), words in zip(cmds, got, strict=True):
        genome = sample_members(g, np.array([member]), rho, lay, antithetic=True)[0]
        assert words == expected_words(genome, net, core, slot)
    if kind == "random":  # the pair differs from plain sampling and within itself
        pair = sample_members(gs, np.array([6, 7]), rho, lay, antithetic=True)
        assert not np.array_equal(pair[0], pair[1])
        assert not np.array_equal(pair[1], sample_members(gs, np.array([7]), rho, lay)[0])


@pytest.mark.parametrize("word_bits,slots", [(8, 3), (16, 2), (32, 1), (128, 2), (256, 1)])
def test_sample_unit_word_widths_and_slots(word_bits, slots):
    # 2D = 6 and N = 20 rows cross block and word boundaries at many lanes.
    net = NetConfig(n_neurons=20, obs_dim=3, act_dim=2)
    core = CoreConfig(word_bits=word_bits, slots=slots, lanes=4)
    rng = np.random.default_rng(word_bits)
    rho = _rho(rng, net, "random")
    cmds = [(slots - 1, 0xDEADBEEF, 3), (0, 0x12345678, 0)]
    got, _ = _sample_on_sim(net, core, rho, cmds, rng=rng, p_stall=0.25)
    lay = GenomeLayout.of(net)
    for (slot, gs, member), words in zip(cmds, got, strict=True):
        genome = sample_members(gs, np.array([member]), rho, lay)[0]
        assert words == expected_words(genome, net, core, slot)


def test_sample_unit_tiny_rows_split_blocks():
    # D = 1: W_in rows of 2 connections, two rows end inside one block; N = 17 misaligns W_rec.
    net = NetConfig(n_neurons=17, obs_dim=1, act_dim=1)
    core = CoreConfig(word_bits=8, lanes=1)
    rng = np.random.default_rng(17)
    rho = _rho(rng, net, "random")
    cmds = [(0, 99, 1)]
    got, cycles = _sample_on_sim(net, core, rho, cmds, rps=4, measure=True)
    genome = sample_members(99, np.array([1]), rho, GenomeLayout.of(net))[0]
    assert got[0] == expected_words(genome, net, core, 0)
    assert cycles == [sample_cycles(net, core, 4)]


def test_sample_unit_masked_topology():
    """A structured network (ec_hw.topology) on the device: masked connections have rho_q 0,
    so the unit's ``u < rho_q`` never sets them; the words equal the golden model's."""
    from ec_hw.model.packing import unpack_genome
    from ec_hw.topology import connectivity_mask

    net = NetConfig(n_neurons=32, obs_dim=16, act_dim=3, topology="mixer:patch=2")
    mask = connectivity_mask(net)
    core = CoreConfig(word_bits=32)
    rng = np.random.default_rng(5)
    rho = _rho(rng, net, "random")
    rho[~mask] = 0
    rho[np.flatnonzero(mask)[::7]] = 65535
    cmds = [(0, 0xC0FFEE, 9)]
    got, _ = _sample_on_sim(net, core, rho, cmds, rng=rng, p_stall=0.2)
    lay = GenomeLayout.of(net)
    for (slot, gs, member), words in zip(cmds, got, strict=True):
        genome = sample_members(gs, np.array([member]), rho, lay)[0]
        assert words == expected_words(genome, net, core, slot)
        bits = unpack_genome(genome, lay)
        assert not bits[~mask].any() and bits[mask].sum() > mask.sum() // 4


@pytest.mark.parametrize("net_id", NETS)
def test_sample_unit_cycles_formula(net_id):
    net = NETS[net_id]
    core = CoreConfig()
    rho = _rho(np.random.default_rng(0), net, "random")
    _, cycles = _sample_on_sim(net, core, rho, [(0, 1, 2), (0, 3, 4)], measure=True)
    assert cycles == [sample_cycles(net, core)] * 2
    # 4 bits per cycle up to the pipeline fill and the W_in row ends that split a block.
    assert sample_cycles(net, core) - threefry_latency() - 5 - rho_word_count(net) < \
        net.n_neurons


def test_sample_cycles_default_hopper():
    net, core = NetConfig(), CoreConfig()
    assert rho_word_count(net) == 17984
    assert sample_cycles(net, core) == 20 + 5 + 17984 + 128
    assert sample_cycles(net, core, 2) == 10 + 5 + 17984 + 128
    aligned = NetConfig(obs_dim=12)  # 2D = 24: every row ends on lane 3
    assert sample_cycles(aligned, core) == 25 + (256 * 24 + 256 * 256 + 3 * 256) // 4


def test_interface_and_errors():
    net, core = NetConfig(n_neurons=32, obs_dim=3, act_dim=2), CoreConfig(slots=2)
    dut = SampleUnit(net, core)
    assert dut.load.payload.shape() == load_layout(net, core)
    Fragment.get(dut, None)
    # addr addresses the deepest matrix of all slots: W_rec, 2 * 32 rows * 1 word.
    assert Shape.cast(load_layout(net, core)["addr"].shape).width == 6
    assert Shape.cast(load_layout(net, core)["data"].shape).width == 64
    _raises(TypeError, "net must be a NetConfig, not 3", SampleUnit, 3, core)
    _raises(TypeError, "core must be a CoreConfig, not None", SampleUnit, net, None)
    _raises(ValueError, "rounds_per_stage must be a positive divisor of 20, not 6", SampleUnit,
            net, core, rounds_per_stage=6)
    rl = dut.rho_load.payload.shape()
    assert Shape.cast(rl["addr"].shape).width == 11 and Shape.cast(rl["data"].shape).width == 16


@pytest.mark.parametrize("slots,word_bits", [(1, 64), (3, 32)])
def test_load_port_connects_to_core(slots, word_bits):
    from amaranth.lib import wiring

    from ec_hw.gateware.core import Core

    net = NetConfig(n_neurons=32, obs_dim=3, act_dim=2)
    core_cfg = CoreConfig(slots=slots, word_bits=word_bits)
    m = Module()
    m.submodules.unit = unit = SampleUnit(net, core_cfg)
    m.submodules.core = core = Core(net, core_cfg)
    wiring.connect(m, unit.load, core.load)
    assert unit.load.signature.members["payload"].shape == core.load_layout
    assert unit.cmd.payload.slot.shape() == core.cmd.payload.slot.shape()
    Fragment.get(m, None)  # the joined design elaborates


def test_sample_unit_refuses_cmd_and_rho_while_busy_and_keeps_rho_over_reset():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=1)
    core = CoreConfig(word_bits=16)
    rho = _rho(np.random.default_rng(9), net, "random")
    dut = SampleUnit(net, core)
    top = Module()
    top.domains.sync = cd = ClockDomain()
    top.submodules.dut = dut
    n_words = len(expected_words(np.zeros(GenomeLayout.of(net).n_words, np.uint64), net,
                                 core, 0))
    runs = []

    async def tb(ctx):
        # Out-of-range addresses (>= n_conn) must not land anywhere.
        await stream_put_many(ctx, dut.rho_load, [{"addr": c, "data": 0xFFFF} for c in
                                                  range(net.n_conn, 1 << 9)])
        await stream_put_many(ctx, dut.rho_load, [{"addr": c, "data": int(v)}
                                                  for c, v in enumerate(rho)])
        for k in range(2):
            ctx.set(dut.cmd.valid, 1)
            ctx.set(dut.cmd.payload, {"gen_seed": 5, "member": k})
            # (after the last rho value, cmd waits for its read-modify-write)
            await ctx.tick().until(dut.cmd.ready)
            ctx.set(dut.cmd.valid, 0)
            got = []
            ctx.set(dut.load.ready, 1)
            while len(got) < n_words:
                assert ctx.get(dut.busy) and not ctx.get(dut.cmd.ready)
                assert not ctx.get(dut.rho_load.ready)
                _, _, valid, payload = await ctx.tick().sample(dut.load.valid, dut.load.payload)
                if valid:
                    got.append((int(payload.matrix), int(payload.addr), int(payload.data)))
            assert not ctx.get(dut.busy) and ctx.get(dut.cmd.ready) and ctx.get(dut.rho_load.ready)
            runs.append(got)
            # A reset between members clears the control state, not the rho memory.
            ctx.set(dut.load.ready, 0)
            ctx.set(cd.rst, 1)
            await ctx.tick()
            ctx.set(cd.rst, 0)

    _run(top, [tb])
    lay = GenomeLayout.of(net)
    for k, got in enumerate(runs):
        assert got == expected_words(sample_members(5, np.array([k]), rho, lay)[0], net, core, 0)
