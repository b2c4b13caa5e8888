"""Amaranth-simulator drivers of ``lib.stream`` interfaces, shared by the gateware tests.

``payload`` is anything ``ctx.set`` takes for the port's payload (an int, or a dict of fields
for a ``StructLayout``). Random idle/stall cycles come from a seeded ``rng`` (anything with
a ``random()`` method: ``random.Random`` or ``numpy.random.Generator``).
"""

from __future__ import annotations


async def stream_put_many(ctx, port, payloads, *, rng=None,
                          p_idle: float = 0.0) -> None:
    """Transfers into an ``In`` stream, back to back unless ``rng`` inserts idle cycles."""
    for payload in payloads:
        while rng is not None and rng.random() < p_idle:
            ctx.set(port.valid, 0)
            await ctx.tick()
        ctx.set(port.valid, 1)
        ctx.set(port.payload, payload)
        await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def stream_put(ctx, port, payload) -> None:
    """One transfer into an ``In`` stream (waits for ``ready``)."""
    await stream_put_many(ctx, port, [payload])


async def stream_get_many(ctx, port, n: int, *, rng=None,
                          p_stall: float = 0.0) -> list:
    """``n`` transfers out of an ``Out`` stream, ``ready`` low at random with ``p_stall``."""
    out = []
    while len(out) < n:
        stall = rng is not None and rng.random() < p_stall
        ctx.set(port.ready, 0 if stall else 1)
        _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        if valid and not stall:
            out.append(payload)
    ctx.set(port.ready, 0)
    return out


async def stream_get(ctx, port, *, stall: int = 0):
    """One transfer out of an ``Out`` stream, after ``stall`` cycles of backpressure."""
    for _ in range(stall):
        await ctx.tick()
    (payload,) = await stream_get_many(ctx, port, 1)
    return payload
