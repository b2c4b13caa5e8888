"""UART RX/TX against a bit-level reference (8N1, LSB first), in Amaranth simulation."""

import random

import pytest
from amaranth import Module
from amaranth.sim import Simulator
from streams import stream_get, stream_put

from ec_hw.gateware.uart import UARTRx, UARTTx


async def drive_byte(ctx, pin, value, divisor, *, stop=1):
    for bit in [0] + [(value >> i) & 1 for i in range(8)] + [stop]:
        ctx.set(pin, bit)
        await ctx.tick().repeat(divisor)
    ctx.set(pin, 1)


@pytest.mark.parametrize("divisor", [4, 7, 33])
def test_tx_waveform(divisor):
    dut = UARTTx(divisor)
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80]
    got = []

    async def producer(ctx):
        for b in data:
            await stream_put(ctx, dut.i, b)

    async def line_monitor(ctx):
        for _ in data:
            await ctx.tick().until(dut.tx == 0)            # falling edge of the start bit
            await ctx.tick().repeat(divisor // 2)          # middle of the start bit
            assert ctx.get(dut.tx) == 0
            v = 0
            for i in range(8):
                await ctx.tick().repeat(divisor)
                v |= ctx.get(dut.tx) << i
            await ctx.tick().repeat(divisor)
            assert ctx.get(dut.tx) == 1, "stop bit"
            got.append(v)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(line_monitor, background=False)
    sim.run()
    assert got == data


@pytest.mark.parametrize("divisor", [4, 9, 33])
def test_rx_bytes_glitch_and_framing_error(divisor):
    dut = UARTRx(divisor)
    rng = random.Random(divisor)
    data = [rng.randrange(256) for _ in range(24)]
    got = []
    errors = []

    async def driver(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        # a glitch shorter than half a bit is not a start bit
        ctx.set(dut.rx, 0)
        await ctx.tick().repeat(max(1, divisor // 2 - 2))
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(3 * divisor)
        await drive_byte(ctx, dut.rx, 0x3C, divisor, stop=0)  # framing error: dropped
        await ctx.tick().repeat(3 * divisor)
        for b in data:
            await drive_byte(ctx, dut.rx, b, divisor)
            gap = rng.randrange(3)
            if gap:
                await ctx.tick().repeat(gap)

    async def consumer(ctx):
        for _ in data:
            got.append(await stream_get(ctx, dut.o))

    async def errmon(ctx):
        async for _clk, _rst, fe in ctx.tick().sample(dut.frame_error):
            if fe:
                errors.append(1)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(driver)
    sim.add_testbench(consumer)
    sim.add_testbench(errmon, background=True)
    sim.run()
    assert got == data
    assert errors == [1]


def test_loopback_with_overrun():
    divisor = 5
    m = Module()
    m.submodules.tx = tx = UARTTx(divisor)
    m.submodules.rx = rx = UARTRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    data = list(range(0, 256, 7))
    got = []
    overruns = []

    async def producer(ctx):
        for b in data:
            await stream_put(ctx, tx.i, b)
        # two more bytes that nobody reads: the second overruns the first
        await stream_put(ctx, tx.i, 0x11)
        await stream_put(ctx, tx.i, 0x22)

    async def consumer(ctx):
        for _ in data:
            got.append(await stream_get(ctx, rx.o))
        async for _clk, _rst, ov in ctx.tick().sample(rx.overrun):
            if ov:
                overruns.append(1)
                break

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    assert got == data
    assert overruns == [1]


def test_divisor_validation():
    with pytest.raises(ValueError, match="divisor must be an integer of at least 4, not 3"):
        UARTTx(3)
    with pytest.raises(ValueError, match="divisor must be an integer of at least 4, not 2.5"):
        UARTRx(2.5)
