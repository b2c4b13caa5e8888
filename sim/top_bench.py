"""cocotb bench of the device top (UART pins + wire protocol + core), run by ``test_top.py``.

The bench is a UART host on the ``rx``/``tx`` pins (8N1 at the top's divisor) speaking
:mod:`ec_hw.protocol`: INFO, LOAD of every slot's connection words, RESET, then every env step
one STEP frame with the slot mask; actions must equal the golden model's (computed by the
pytest side and passed as arrays). A corrupted STEP (ERROR BAD_CRC, nothing executed) and a
repeated STEP (cached reply, the network not stepped twice) are part of the run.
"""

from __future__ import annotations

import numpy as np
from bench_io import bench_params, bench_test
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, with_timeout
from stream_tb import TB

from ec_hw.protocol import REPLY_BIT, ErrorCode, FrameDecoder, Info, Op, WireFormat, encode_frame


class UartHost:
    def __init__(self, dut, divisor, clk):
        self.dut, self.div, self.clk = dut, divisor, clk
        self.decoder = FrameDecoder()
        dut.rx.value = 1

    async def send(self, data: bytes) -> None:
        for b in data:
            for bit in [0] + [(b >> i) & 1 for i in range(8)] + [1]:
                self.dut.rx.value = bit
                await ClockCycles(self.clk, self.div)

    async def recv_byte(self) -> int:
        if int(self.dut.tx.value):
            await FallingEdge(self.dut.tx)
        await ClockCycles(self.clk, self.div // 2)
        assert int(self.dut.tx.value) == 0, "start bit"
        v = 0
        for i in range(8):
            await ClockCycles(self.clk, self.div)
            v |= int(self.dut.tx.value) << i
        await ClockCycles(self.clk, self.div)
        assert int(self.dut.tx.value) == 1, "stop bit"
        return v

    async def recv_frame(self, timeout_us=20_000):
        async def loop():
            while True:
                frames = self.decoder.feed(bytes([await self.recv_byte()]))
                if frames:
                    return frames[0]
        return await with_timeout(loop(), timeout_us, "us")

    async def transact(self, op, seq, payload=b""):
        await self.send(encode_frame(op, seq, payload))
        fr = await self.recv_frame()
        assert fr.crc_ok, f"reply to {Op(op).name} seq {seq} has a bad CRC"
        assert fr.seq == seq, f"reply seq {fr.seq} != {seq}"
        assert fr.op == op | REPLY_BIT, (f"{Op(op).name} seq {seq} answered with op "
                                         f"{fr.op:#04x} payload {fr.payload.hex()}")
        return fr.payload


@bench_test
async def protocol_run(dut):
    p, arr = bench_params()
    tb = TB(dut, {}, seed=p["seed"])
    host = UartHost(dut, p["divisor"], dut.clk)
    await tb.start()
    await RisingEdge(dut.clk)
    wire = WireFormat(**p["wire"])
    info = Info.unpack(await host.transact(Op.INFO, 0))
    assert info.pack() == bytes(arr["info"]), f"INFO differs: {info}"
    seq = 1
    for blob, n in zip(np.split(arr["loads"], np.cumsum(arr["load_lens"])[:-1]),
                       arr["load_lens"], strict=True):
        assert await host.transact(Op.LOAD, seq, bytes(blob[:n])) == b""
        seq = (seq + 1) & 0xFF
    assert await host.transact(Op.RESET, seq, wire.encode_mask([1] * wire.slots)) == b""
    seq = (seq + 1) & 0xFF
    xs, masks, want = arr["x"], arr["mask"], arr["act"]
    for t in range(xs.shape[0]):
        payload = wire.encode_step(xs[t], masks[t])
        if t == p["corrupt_step"]:
            bad = bytearray(encode_frame(Op.STEP, seq, payload))
            bad[-3] ^= 0x01
            await host.send(bytes(bad))
            fr = await host.recv_frame()
            assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_CRC, Op.STEP]), fr
        reply = await host.transact(Op.STEP, seq, payload)
        if t == p["repeat_step"]:
            again = await host.transact(Op.STEP, seq, payload)
            assert again == reply, "a repeated STEP must get the cached reply"
        got = wire.decode_step_reply(reply, masks[t])
        for s in range(wire.slots):
            if masks[t][s]:
                assert got[s] == [int(v) for v in want[t, s]], (
                    f"env step {t} slot {s}: device {got[s]} != golden {list(want[t, s])}")
        seq = (seq + 1) & 0xFF
