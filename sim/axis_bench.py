"""cocotb bench of the PCIe device (:class:`ec_hw.gateware.axis.AxisPins`), run by
``test_axis_rtl.py``.

The bench plays the XDMA IP: cocotbext-axi's ``AxiStreamSource`` on ``s_axis_h2c`` (one AXIS
frame per host ``write()``) and ``AxiStreamSink`` on ``m_axis_c2h`` (one AXIS frame, ended by
``tlast``, per host ``read()``), both with random pauses (the sink's are backpressure), in
``axi_aclk``, the cores in ``core_clk``, at the NiteFury's clocks (250 MHz and 60 MHz,
``ec_hw.boardsim_pcie.board_clocks``). Every reply must arrive as exactly one complete frame
per ``tlast``. Malformed frames first (garbage, a frame split
over two H2C transfers, bad CRC, a length above ``max_payload``, an unknown opcode, a STEP of
the wrong length, a truncated frame dropped by the idle timeout), then LOAD, LOAD_RHO, SAMPLE,
RESET and STEPs whose actions must equal the golden model's (computed by the pytest side); a
corrupted STEP and a repeated STEP (cached reply) in between; STATUS's cycle count of the last
STEP must equal one core's ``cycles_per_env_step`` (the cores step in parallel).
"""

from __future__ import annotations

import random

import numpy as np
from bench_io import bench_params, bench_test
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

from ec_hw.boardsim_pcie import board_clocks, half_periods_ps
from ec_hw.protocol import (
    REPLY_BIT,
    SAMPLE_STRUCT,
    STATUS_STRUCT,
    ErrorCode,
    FrameDecoder,
    Op,
    WireFormat,
    encode_frame,
)


def _pauses(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


class XdmaHost:
    """The XDMA IP's side of the two streams, as the host's ``write()``/``read()`` see it."""

    def __init__(self, dut, *, seed: int, p_pause: float):
        rng = random.Random(seed)
        self.dut = dut
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis_h2c"), dut.axi_aclk,
                                   dut.axi_aresetn, reset_active_level=False)
        self.snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis_c2h"), dut.axi_aclk,
                                 dut.axi_aresetn, reset_active_level=False)
        self.src.set_pause_generator(_pauses(rng, p_pause))
        self.snk.set_pause_generator(_pauses(rng, p_pause))

    async def write(self, data: bytes) -> None:
        await self.src.send(bytes(data))

    async def read(self, timeout_us: float = 5_000):
        """One C2H transfer (up to ``tlast``): exactly one complete reply frame."""
        frame = await with_timeout(self.snk.recv(), timeout_us, "us")
        data = bytes(frame.tdata)
        frames = FrameDecoder().feed(data)
        assert len(frames) == 1, f"one C2H transfer must hold one reply frame: {data.hex()}"
        fr = frames[0]
        assert fr.crc_ok, f"reply CRC: {data.hex()}"
        assert encode_frame(fr.op, fr.seq, fr.payload) == data, (
            f"bytes around the reply frame in one C2H transfer: {data.hex()}")
        return fr

    async def expect_nothing(self, cycles: int) -> None:
        await ClockCycles(self.dut.axi_aclk, cycles)
        assert self.snk.empty(), "the device answered what it should have dropped"

    async def transact(self, op, seq, payload=b""):
        await self.write(encode_frame(op, seq, payload))
        fr = await self.read()
        assert fr.seq == seq, f"reply seq {fr.seq} != {seq}"
        assert fr.op == op | REPLY_BIT, (f"{Op(op).name} seq {seq} answered with op "
                                         f"{fr.op:#04x} payload {fr.payload.hex()}")
        return fr.payload

    async def expect_error(self, data: bytes, code: int, op: int) -> None:
        await self.write(data)
        fr = await self.read()
        assert fr.op == Op.ERROR and fr.payload == bytes([code, op]), (
            f"expected ERROR {ErrorCode(code).name} for {Op(op).name}, got op {fr.op:#04x} "
            f"{fr.payload.hex()}")


async def _reset(dut) -> None:
    axi_half, core_half = half_periods_ps(board_clocks())
    Clock(dut.core_clk, 2 * core_half, unit="ps").start()
    Clock(dut.axi_aclk, 2 * axi_half, unit="ps").start()
    dut.core_rst.value = 1
    dut.axi_aresetn.value = 0
    await ClockCycles(dut.core_clk, 8)
    dut.core_rst.value = 0
    dut.axi_aresetn.value = 1
    await ClockCycles(dut.core_clk, 4)


@bench_test
async def axis_protocol_run(dut):
    p, arr = bench_params()
    await _reset(dut)
    host = XdmaHost(dut, seed=p["seed"], p_pause=p["p_pause"])
    wire = WireFormat(**p["wire"])
    seq = 0

    def next_seq():
        nonlocal seq
        seq = (seq + 1) & 0xFF
        return seq

    info = await host.transact(Op.INFO, next_seq())
    assert info == bytes(arr["info"]), f"INFO differs: {info.hex()}"

    # -- malformed input: nothing executes, the device stays usable ---------------------------
    await host.write(b"\x00\xff\x13\x37")                       # garbage
    await host.expect_nothing(200)
    frame = encode_frame(Op.INFO, next_seq())                   # split over two transfers
    await host.write(frame[:3])
    await host.write(frame[3:])
    fr = await host.read()
    assert fr.op == Op.INFO | REPLY_BIT and fr.payload == info
    bad = bytearray(encode_frame(Op.STATUS, next_seq()))
    bad[-1] ^= 0x40
    await host.expect_error(bytes(bad), ErrorCode.BAD_CRC, Op.STATUS)
    too_long = bytes([0xEC, 0x5A, Op.LOAD, next_seq()]) + \
        (wire.max_payload + 1).to_bytes(2, "little")
    await host.expect_error(too_long, ErrorCode.BAD_LENGTH, Op.LOAD)
    await host.expect_error(encode_frame(0x7E, next_seq()), ErrorCode.BAD_OPCODE, 0x7E)
    step0 = wire.encode_step(arr["x"][0], arr["mask"][0])
    await host.expect_error(encode_frame(Op.STEP, next_seq(), step0 + b"\x00"),
                            ErrorCode.BAD_ARG, Op.STEP)
    await host.write(encode_frame(Op.STATUS, next_seq())[:5])  # truncated: dropped on timeout
    await ClockCycles(dut.core_clk, p["idle_timeout"] + 50)
    await host.expect_nothing(10)
    status = STATUS_STRUCT.unpack(await host.transact(Op.STATUS, next_seq()))
    assert status.frames_bad == 2, f"frames_bad {status.frames_bad}, expected 2 (CRC, length)"

    # -- networks: LOAD some slots, SAMPLE the others from rho on the device ----------------
    for blob, n in zip(np.split(arr["loads"], np.cumsum(arr["load_lens"])[:-1]),
                       arr["load_lens"], strict=True):
        assert await host.transact(Op.LOAD, next_seq(), bytes(blob[:n])) == b""
    if len(arr["sampled"]):
        for blob, n in zip(np.split(arr["rho"], np.cumsum(arr["rho_lens"])[:-1]),
                           arr["rho_lens"], strict=True):
            assert await host.transact(Op.LOAD_RHO, next_seq(), bytes(blob[:n])) == b""
        for slot, member in zip(arr["sampled"], arr["members"], strict=True):
            req = SAMPLE_STRUCT.pack(slot=int(slot), flags=0, gen_seed=p["gen_seed"],
                                     member=int(member))
            assert await host.transact(Op.SAMPLE, next_seq(), req) == b""
    assert await host.transact(Op.RESET, next_seq(), wire.encode_mask([1] * wire.slots)) == b""

    # -- env steps ------------------------------------------------------------------------------
    xs, masks, want = arr["x"], arr["mask"], arr["act"]
    for t in range(xs.shape[0]):
        payload = wire.encode_step(xs[t], masks[t])
        s = next_seq()
        if t == p["corrupt_step"]:
            bad = bytearray(encode_frame(Op.STEP, s, payload))
            bad[-3] ^= 0x01
            await host.expect_error(bytes(bad), ErrorCode.BAD_CRC, Op.STEP)
        reply = await host.transact(Op.STEP, s, payload)
        if t == p["repeat_step"]:
            again = await host.transact(Op.STEP, s, payload)
            assert again == reply, "a repeated STEP must get the cached reply"
        got = wire.decode_step_reply(reply, masks[t])
        for slot in range(wire.slots):
            if masks[t][slot]:
                assert got[slot] == [int(v) for v in want[t, slot]], (
                    f"env step {t} slot {slot}: device {got[slot]} != golden "
                    f"{list(want[t, slot])}")
    status = STATUS_STRUCT.unpack(await host.transact(Op.STATUS, next_seq()))
    assert status.cycles == p["step_cycles"], (
        f"STEP took {status.cycles} cycles, expected {p['step_cycles']} (one core's)")
    dut._log.info(f"STEP cycles {status.cycles}; frames ok {status.frames_ok}, "
                  f"bad {status.frames_bad}")
