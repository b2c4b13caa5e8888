"""The AXI-Stream <-> byte converters of the PCIe device in Amaranth simulation, and the
parameter checks of the PCIe top and the core array.

The whole device (clock crossing, protocol, cores) runs on Verilator in
``sim/test_axis_rtl.py``.
"""

import random

import pytest
from amaranth.sim import Simulator
from streams import stream_get_many, stream_put_many

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.axis import AxisToBytes, AxisTop, BytesToAxis, axis_layout
from ec_hw.gateware.multicore import CoreArray
from ec_hw.gateware.top import Top


def _beats(rng, n, nb):
    beats, want = [], []
    for _ in range(n):
        data = rng.getrandbits(8 * nb)
        keep = rng.choice([(1 << nb) - 1, rng.getrandbits(nb), 0, 1, 1 << (nb - 1)])
        beats.append({"data": data, "keep": keep, "last": rng.getrandbits(1)})
        want += [(data >> (8 * b)) & 0xFF for b in range(nb) if keep >> b & 1]
    return beats, want


@pytest.mark.parametrize("data_bits", [64, 128])
def test_axis_to_bytes_keeps_only_kept_lanes_in_order(data_bits):
    rng = random.Random(data_bits)
    dut = AxisToBytes(data_bits)
    beats, want = _beats(rng, 60, data_bits // 8)
    got = []

    async def producer(ctx):
        await stream_put_many(ctx, dut.i, beats, rng=rng, p_idle=0.3)

    async def consumer(ctx):
        got.extend(await stream_get_many(ctx, dut.o, len(want), rng=rng, p_stall=0.3))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run_until(1e-8 * 20_000)
    assert got == want


def test_bytes_to_axis_one_last_per_frame_with_partial_keep():
    rng = random.Random(5)
    dut = BytesToAxis(64)
    frames = [bytes(rng.getrandbits(8) for _ in range(n)) for n in (1, 7, 8, 9, 16, 23, 3)]
    got: list[bytes] = []

    async def producer(ctx):
        for fr in frames:
            ctx.set(dut.end, 0)
            await stream_put_many(ctx, dut.i, list(fr), rng=rng, p_idle=0.3)
            ctx.set(dut.end, 1)
            await ctx.tick().repeat(30)

    async def consumer(ctx):
        cur = bytearray()
        while len(got) < len(frames):
            stall = rng.random() < 0.3
            ctx.set(dut.o.ready, 0 if stall else 1)
            _, _, valid, beat = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and not stall:
                keep = beat.keep
                assert keep & (keep + 1) == 0 and keep, f"keep {keep:#x} not a prefix"
                cur += bytes((beat.data >> (8 * b)) & 0xFF for b in range(8) if keep >> b & 1)
                if beat.last:
                    got.append(bytes(cur))
                    cur.clear()
                else:
                    assert keep == 0xFF, "only a frame's last beat may be partial"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run_until(1e-8 * 20_000)
    assert got == frames


def test_parameter_checks():
    net, core = NetConfig(n_neurons=32, obs_dim=3, act_dim=2), CoreConfig(slots=4, word_bits=16)
    with pytest.raises(ValueError, match=r"data_bits must be 64, 128 or 256 .*not 32"):
        axis_layout(32)
    with pytest.raises(ValueError, match=r"fifo_depth must be a power of two of at least 4, "
                                         r"not 6"):
        AxisTop(net, core, fifo_depth=6)
    with pytest.raises(ValueError, match=r"cores must be an integer of at least 2 dividing "
                                         r"slots \(4\), not 3"):
        CoreArray(net, core, cores=3)
    with pytest.raises(ValueError, match=r"cores must be a positive integer dividing slots "
                                         r"\(4\), not 3"):
        Top(net, core, divisor=4, cores=3)
    # the array presents one core's ports with the total slot count
    arr = CoreArray(net, core, cores=2)
    assert arr.obs_layout["slot"].shape.width == 2
    assert arr.cores[0].obs_layout["slot"].shape.width == 1
