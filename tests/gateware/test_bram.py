"""RegisteredRAM (the lib.memory twin, Amaranth sim against a Python list) and the DP16KD
configuration helpers. The DP16KD instances themselves are compared with the twin at gate
level in ``sim/test_gate_level.py::test_dp16kd_registered_rams_match_the_memory_twin``."""

import random

import pytest
from amaranth.hdl import signed, unsigned
from amaranth.lib import data
from amaranth.sim import Simulator

from ec_hw.gateware.bram import RegisteredRAM, dp16kd_initvals, dp16kd_mode


@pytest.mark.parametrize("depth", [1, 5, 64, 300])
def test_reads_return_the_word_two_cycles_after_its_address(depth):
    rng = random.Random(depth)
    init = [rng.getrandbits(12) for _ in range(max(1, depth - 2))]
    dut = RegisteredRAM(12, depth, init=init)
    model = init + [0] * (depth - len(init))

    async def tb(ctx):
        pending = [None, None]          # the words due in one and in two cycles
        for _ in range(8 * depth + 20):
            a = rng.randrange(depth)
            ctx.set(dut.r_addr, a)
            want = model[a]              # a write to a in this cycle: the old word
            write = rng.random() < 0.4
            if write:
                w = a if rng.random() < 0.3 else rng.randrange(depth)
                v = rng.getrandbits(12)
                ctx.set(dut.w_addr, w)
                ctx.set(dut.w_data, v)
            ctx.set(dut.w_en, int(write))
            await ctx.tick()
            if write:
                model[w] = v
            pending = [pending[1], want]
            if pending[0] is not None:
                assert ctx.get(dut.r_data) == pending[0]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert RegisteredRAM.read_latency == 2


def test_a_layout_shaped_word_reads_back_by_field():
    layout = data.StructLayout({"a": signed(7), "b": unsigned(5)})
    dut = RegisteredRAM(layout, 4)

    async def tb(ctx):
        ctx.set(dut.w_addr, 2)
        ctx.set(dut.w_data, {"a": -3, "b": 17})
        ctx.set(dut.w_en, 1)
        await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.r_addr, 2)
        await ctx.tick().repeat(2)
        assert ctx.get(dut.r_data.a) == -3 and ctx.get(dut.r_data.b) == 17

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()


def test_dp16kd_mode_and_initval_layout():
    assert [dp16kd_mode(d) for d in (1, 512, 513, 1024, 1025)] == [36, 36, 18, 18, None]
    # 36 bits: word k is the 18-bit words 2k (low half) and 2k + 1, 20 bits apart
    vals = dp16kd_initvals([(5 << 18) | 3, 0x3FFFF], 36)
    assert set(vals) == {"p_INITVAL_00"}
    assert vals["p_INITVAL_00"].value == 3 | (5 << 20) | (0x3FFFF << 40)
    assert vals["p_INITVAL_00"].width == 320
    # 18 bits: word i at bits 20 i; word 16 starts INITVAL_01
    vals = dp16kd_initvals([0] * 16 + [7, 1], 18)
    assert set(vals) == {"p_INITVAL_01"} and vals["p_INITVAL_01"].value == 7 | (1 << 20)
    assert dp16kd_initvals([0] * 1024, 18) == {}


def test_bad_parameters():
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        RegisteredRAM(8, 0)
    with pytest.raises(ValueError, match="primitive must be None, 'dp16kd' or 'memory'"):
        RegisteredRAM(8, 4, primitive="m9k")
    with pytest.raises(ValueError, match="a DP16KD column holds at most 1024 words, not 2000"):
        RegisteredRAM(8, 2000, primitive="dp16kd")
    with pytest.raises(ValueError, match="init has 5 words for a depth of 4"):
        RegisteredRAM(8, 4, init=[1] * 5)
