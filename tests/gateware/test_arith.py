"""mul_const: exact products of a signed/unsigned Value by a constant, MUL_CONST_LATENCY cycles
later, a new operand every cycle (Amaranth sim)."""

import random

import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from ec_hw.gateware.arith import MUL_CONST_LATENCY, mul_const, times


@pytest.mark.parametrize("shape,c", [(signed(24), 59299), (signed(25), 3196),
                                     (unsigned(14), 3196), (signed(10), 1024),
                                     (signed(36), -28963), (unsigned(40), 7), (signed(5), 0)])
def test_mul_const_is_exact_and_pipelined(shape, c):
    m = Module()
    x = Signal(shape)
    y = mul_const(m, x, c, name="t")
    lo = -(1 << (shape.width - 1)) if shape.signed else 0
    hi = (1 << (shape.width - 1)) - 1 if shape.signed else (1 << shape.width) - 1
    rng = random.Random(shape.width * 7 + c)
    xs = [lo, hi, 0, 1, lo + 1, hi - 1] + [rng.randint(lo, hi) for _ in range(60)]
    got = []

    async def tb(ctx):
        for v in xs + [0] * MUL_CONST_LATENCY:
            ctx.set(x, v)
            await ctx.tick()
            got.append(ctx.get(y))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    # got[i] is sampled after tick i + 1: the product of xs[i + 1 - MUL_CONST_LATENCY]
    assert got[MUL_CONST_LATENCY - 1:MUL_CONST_LATENCY - 1 + len(xs)] == [v * c for v in xs]


def test_mul_const_wants_an_integer():
    with pytest.raises(TypeError, match="integer constant"):
        mul_const(Module(), Signal(8), 1.5, name="t")


@pytest.mark.parametrize("c", [0, 1, 3, 4, 11, 44, 255])
def test_times_is_exact_for_every_operand(c):
    """x * c as shifted adds (no multiplier) over every value of a 6-bit operand."""
    x = Signal(6)
    m = Module()
    y = Signal(16)
    m.d.comb += y.eq(times(x, c))
    got = []

    async def tb(ctx):
        for v in range(64):
            ctx.set(x, v)
            got.append(ctx.get(y))

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    assert got == [v * c for v in range(64)]


def test_times_wants_a_non_negative_integer():
    with pytest.raises(ValueError, match="c must be a non-negative integer, not -3"):
        times(Signal(4), -3)
