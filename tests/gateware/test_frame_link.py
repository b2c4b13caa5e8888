"""FrameLink: UART bytes of a request frame in, a checked event out; a reply frame back out."""

from amaranth.sim import Simulator

from ec_hw.gateware.framer import FrameKind
from ec_hw.gateware.link import FrameLink
from ec_hw.protocol import FrameDecoder, Op, encode_frame

DIV = 4


async def _uart_send(ctx, pin, data: bytes):
    for value in data:
        for bit in [0] + [(value >> i) & 1 for i in range(8)] + [1]:
            ctx.set(pin, bit)
            await ctx.tick().repeat(DIV)


async def _uart_recv(ctx, pin, n: int, timeout: int = 20_000) -> bytes:
    out = bytearray()
    for _ in range(n):
        waited = 0
        while ctx.get(pin):
            await ctx.tick()
            waited += 1
            assert waited < timeout, f"no start bit after {len(out)} bytes"
        await ctx.tick().repeat(DIV + DIV // 2)     # middle of bit 0
        v = 0
        for i in range(8):
            v |= ctx.get(pin) << i
            await ctx.tick().repeat(DIV)
        assert ctx.get(pin) == 1, "stop bit"
        out.append(v)
    return bytes(out)


def test_request_in_reply_out():
    dut = FrameLink(divisor=DIV, max_payload=16, idle_timeout=640, reply_len=8)
    payload = bytes([9, 8, 7])
    got = {}

    async def host(ctx):
        await _uart_send(ctx, dut.rx, b"\x00" + encode_frame(Op.LOAD, 42, payload))
        got["reply"] = await _uart_recv(ctx, dut.tx, 8 + 4)

    async def device(ctx):
        ev = await ctx.tick().sample(dut.requests.payload).until(dut.requests.valid)
        ev = ev[0]
        assert (ev.kind, ev.op, ev.seq, ev.length) == (FrameKind.FRAME, Op.LOAD, 42, 3)
        buf = []
        for i in range(3):
            ctx.set(dut.rd_addr, i)
            await ctx.tick()
            buf.append(ctx.get(dut.rd_data))
        assert bytes(buf) == payload
        for i, b in enumerate(b"\x01\x02\x03\x04"):
            ctx.set(dut.reply_wr.addr, i)
            ctx.set(dut.reply_wr.data, b)
            ctx.set(dut.reply_wr.en, 1)
            await ctx.tick()
        ctx.set(dut.reply_wr.en, 0)
        assert ctx.get(dut.idle)
        ctx.set(dut.replies.payload, {"op": Op.LOAD | 0x80, "seq": 42, "length": 4,
                                      "inline": 0})
        ctx.set(dut.replies.valid, 1)
        await ctx.tick().until(dut.replies.ready)
        ctx.set(dut.replies.valid, 0)
        ctx.set(dut.requests.ready, 1)   # release the request buffer with the reply
        await ctx.tick()
        ctx.set(dut.requests.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(host)
    sim.add_testbench(device)
    sim.run()
    (fr,) = FrameDecoder().feed(got["reply"])
    assert fr.crc_ok and (fr.op, fr.seq, fr.payload) == (Op.LOAD | 0x80, 42, b"\x01\x02\x03\x04")
