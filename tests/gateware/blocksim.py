"""Shared Amaranth-simulator driver for the core's fixed-latency pipeline blocks.

A block has ``valid`` (plus ``first``/``last``) inputs and an ``o_valid`` output; this feeds a
list of input beats (with optional idle cycles, seeded) and returns every output beat together
with the cycle distance from the beat marked ``last`` that produced it.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Value
from amaranth.sim import Simulator


def pack(values, width: int) -> int:
    """Pack signed/unsigned ints into one unsigned int of ``len(values) * width`` bits."""
    out = 0
    for i, v in enumerate(values):
        out |= (int(v) & ((1 << width) - 1)) << (i * width)
    return out


def run_beats(dut, beats: list[dict], outputs: list[str], *, idle_seed: int | None = None,
              tail: int = 16) -> list[dict]:
    """Drive ``beats`` (dicts: port name -> int, set on ``.as_value()``) into ``dut``.

    Returns one dict per ``o_valid`` cycle with the named outputs (signed ones as signed ints)
    and ``"delay"``: cycles since the beat with ``last`` set that produced it.
    """
    rng = np.random.default_rng(idle_seed) if idle_seed is not None else None
    got = []

    async def tb(ctx):
        cycle = 0
        last_at = []

        def sample():
            if ctx.get(dut.o_valid):
                rec = {name: _read(ctx, getattr(dut, name)) for name in outputs}
                rec["delay"] = cycle - last_at.pop(0)
                got.append(rec)

        for beat in beats:
            while rng is not None and rng.random() < 0.3:
                ctx.set(dut.valid, 0)
                await ctx.tick()
                cycle += 1
                sample()
            for name, v in beat.items():
                sig = Value.cast(getattr(dut, name))
                ctx.set(sig, int(v) & ((1 << len(sig)) - 1))
            ctx.set(dut.valid, 1)
            if beat.get("last"):
                last_at.append(cycle)
            await ctx.tick()
            cycle += 1
            sample()
        ctx.set(dut.valid, 0)
        for _ in range(tail):
            await ctx.tick()
            cycle += 1
            sample()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return got


def _read(ctx, port) -> int:
    v = Value.cast(port)
    raw = ctx.get(v)
    return int(raw)
