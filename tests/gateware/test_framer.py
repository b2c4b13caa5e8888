"""Frame parser and serializer against the protocol's Python codec, in Amaranth simulation."""

import random

import pytest
from amaranth import Module
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator
from streams import stream_get

from ec_hw.gateware.framer import FrameKind, FrameParser, FrameSerializer, crc16_processor
from ec_hw.protocol import CRC_CHECK, FrameDecoder, Op, crc16, encode_frame


def test_crc16_gateware_check_value():
    m = Module()
    m.submodules.crc = unit = crc16_processor()
    rng = random.Random(3)
    msgs = [b"123456789"] + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
                             for _ in range(20)]

    async def tb(ctx):
        for msg in msgs:
            ctx.set(unit.start, 1)   # the parser restarts without a byte (its SYNC state)
            await ctx.tick()
            ctx.set(unit.start, 0)
            for b in msg:
                ctx.set(unit.valid, 1)
                ctx.set(unit.data, b)
                await ctx.tick()
                ctx.set(unit.valid, 0)
                await ctx.tick()       # a gap: valid low holds the CRC
            assert ctx.get(unit.crc) == crc16(msg)
        assert crc16(msgs[0]) == CRC_CHECK

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()


def _run_parser(stream_bytes, gaps, *, max_payload=32, idle_timeout=64, backpressure=0):
    """Feed bytes (``gaps[i]`` idle cycles before byte i); return [(kind, op, seq, payload)]."""
    dut = FrameParser(max_payload=max_payload, idle_timeout=idle_timeout)
    events = []
    done = [False]

    async def feeder(ctx):
        for b, gap in zip(stream_bytes, gaps, strict=True):
            if gap:
                await ctx.tick().repeat(gap)
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, b)
            await ctx.tick()
            ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(300)
        done[0] = True

    async def consumer(ctx):
        while True:
            (ev,) = await ctx.tick().sample(dut.o.payload).until(dut.o.valid)
            ev = {k: getattr(ev, k) for k in ("kind", "op", "seq", "length", "crc")}
            data = []
            for a in range(ev["length"] if ev["kind"] == FrameKind.FRAME else 0):
                ctx.set(dut.rd_addr, a)
                await ctx.tick()
                data.append(ctx.get(dut.rd_data))
            if backpressure:
                await ctx.tick().repeat(backpressure)
            ctx.set(dut.o.ready, 1)
            await ctx.tick()
            ctx.set(dut.o.ready, 0)
            events.append((ev["kind"], ev["op"], ev["seq"], bytes(data), ev["crc"]))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(feeder)
    sim.add_testbench(consumer, background=True)
    sim.run()
    return events


def test_parser_good_frames_roundtrip():
    rng = random.Random(0)
    frames = [(rng.randrange(1, 8), i, bytes(rng.randrange(256) for _ in range(rng.randrange(33))))
              for i in range(12)]
    raw, gaps = b"", []
    for f in frames:
        enc = encode_frame(*f)
        # stop-and-wait: the next frame comes after the previous one was consumed
        gaps += [100] + [rng.randrange(3) for _ in enc[1:]]
        raw += enc
    ev = _run_parser(raw, gaps)
    assert [(k, o, s, p) for k, o, s, p, _ in ev] == [(FrameKind.FRAME, *f) for f in frames]
    for (op, seq, payload), e in zip(frames, ev, strict=True):
        assert e[4] == crc16(bytes([op, seq, len(payload), 0]) + payload)


def test_parser_recovers_from_garbage_truncation_corruption_and_bad_length():
    rng = random.Random(1)
    good = [encode_frame(Op.STEP, i, bytes(range(i, i + 5))) for i in range(6)]
    corrupted = bytearray(good[2])
    corrupted[8] ^= 0x04
    oversized = encode_frame(Op.LOAD, 99, bytes(40))  # max_payload is 32
    pieces = [
        (bytes([0x00, 0xEC, 0x13, 0xEC, 0xEC]), 0),   # garbage with partial SYNCs
        (good[0], 0),
        (good[1][:7], 100),                           # truncated ...
        (good[1], 200),                               # ... then silence > idle_timeout
        (bytes(corrupted), 100),
        (oversized[:6], 100),                         # refused after the header
        (bytes(rng.randrange(256) for _ in range(50)).replace(b"\xec", b"\x00"), 100),
        (good[3], 100), (good[4], 100),
    ]
    raw, gaps = b"", []
    for data, gap in pieces:
        gaps += [gap] + [0] * (len(data) - 1)
        raw += data
    ev = _run_parser(raw, gaps, idle_timeout=64)
    kinds = [(k, s) for k, _, s, _, _ in ev]
    assert kinds == [(FrameKind.FRAME, 0), (FrameKind.FRAME, 1), (FrameKind.BAD_CRC, 2),
                     (FrameKind.BAD_LENGTH, 99), (FrameKind.FRAME, 3), (FrameKind.FRAME, 4)]


def test_parser_truncated_frame_without_gap_costs_the_next_frame_only():
    good = [encode_frame(Op.INFO, i, b"\x01\x02") for i in range(3)]
    raw = good[0][:5] + good[1] + good[2]
    ev = _run_parser(raw, [0] * len(raw))
    # The truncated header swallows the next frame's bytes: an error, then a clean frame.
    assert ev[-1][:3] == (FrameKind.FRAME, Op.INFO, 2)
    assert all(k != FrameKind.FRAME or s == 2 for k, _, s, _, _ in ev)


def test_parser_drops_bytes_while_an_event_waits():
    f1 = encode_frame(Op.INFO, 1)
    f2 = encode_frame(Op.INFO, 2)
    raw = f1 + f2
    ev = _run_parser(raw, [0] * len(raw), backpressure=200)
    assert [s for _, _, s, _, _ in ev] == [1]


@pytest.mark.parametrize("inline", [False, True])
def test_serializer_frames_decode(inline):
    rng = random.Random(7)
    mp = 40
    bufdata = [rng.randrange(256) for _ in range(mp)]
    m = Module()
    m.submodules.ser = ser = FrameSerializer(max_payload=mp)
    m.submodules.mem = mem = Memory(shape=8, depth=mp, init=bufdata)
    rd = mem.read_port()
    m.d.comb += [rd.addr.eq(ser.rd_addr), ser.rd_data.eq(rd.data)]
    replies = [(0x83, 5, 0), (0x81, 6, mp), (0xFF, 7, 2), (0x84, 255, 17)]
    out = []

    async def producer(ctx):
        for op, seq, length in replies:
            ctx.set(ser.i.payload, {"op": op, "seq": seq, "length": length,
                                    "inline": int(inline),
                                    "error": {"code": 0xAB, "op": 0xCD}})
            ctx.set(ser.i.valid, 1)
            await ctx.tick().until(ser.i.ready)
            ctx.set(ser.i.valid, 0)

    async def consumer(ctx):
        n = sum(8 + r[2] for r in replies)
        for i in range(n):
            if i % 3 == 0:
                await ctx.tick().repeat(2)  # backpressure
            out.append(await stream_get(ctx, ser.o))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(producer)
    sim.add_testbench(consumer)
    sim.run()
    frames = FrameDecoder().feed(bytes(out))
    assert len(frames) == len(replies)
    for (op, seq, length), fr in zip(replies, frames, strict=True):
        assert fr.crc_ok and (fr.op, fr.seq) == (op, seq)
        want = bytes([0xAB, 0xCD] * length)[:length] if inline else bytes(bufdata[:length])
        assert fr.payload == want


def test_parameter_validation():
    with pytest.raises(ValueError, match="max_payload must be an integer in 1..4000, not 0"):
        FrameParser(max_payload=0, idle_timeout=100)
    with pytest.raises(ValueError, match="idle_timeout must be an integer of at least 16"):
        FrameParser(max_payload=8, idle_timeout=3)
