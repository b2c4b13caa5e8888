# amaranth: UnusedElaboratable=no
# (a Core is built for its port signatures only)
"""The command units of the device top, each on its own in Amaranth simulation.

A unit runs next to a :class:`PayloadReader` over a payload buffer holding the request's
payload (the part :class:`~ec_hw.gateware.link.FrameLink` provides in the device); the
testbench plays the dispatcher (``cmd``) and the core. The latencies checked here are the
ones :class:`~ec_hw.gateware.top.Top`'s docstring states (2 cycles per gathered byte, a byte
per cycle into the reply buffer).
"""

import pytest
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.commands import (
    InfoStatus,
    LoadCommand,
    PayloadReader,
    StepRun,
    gather_signature,
    share,
)
from ec_hw.gateware.core import Core
from ec_hw.protocol import LOAD_HEADER, STATUS_STRUCT, ErrorCode, Op, WireFormat

NET = NetConfig(n_neurons=16, obs_dim=3, act_dim=2, substeps=2)
CORE = CoreConfig(slots=3, word_bits=16, lanes=4)
WIRE = WireFormat.of(NET, CORE, 96)
REPLY_LEN = 32


def _sim(dut, *testbenches):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for tb in testbenches:
        sim.add_testbench(tb)
    sim.run()


class _Buffered(wiring.Component):
    """A command unit (or a bare reader client) with a :class:`PayloadReader` over a buffer
    holding ``payload``."""

    def __init__(self, payload: bytes, unit=None, *, width: int = 8):
        self.payload, self.unit, self.width = payload, unit, width
        super().__init__({} if unit else {"port": In(gather_signature(width)), "rewind": In(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.buf = buf = Memory(shape=8, depth=64, init=self.payload)
        m.submodules.reader = reader = PayloadReader(width=self.width, max_payload=64)
        rd = buf.read_port()
        m.d.comb += [rd.addr.eq(reader.rd_addr), reader.rd_data.eq(rd.data)]
        if self.unit is None:
            wiring.connect(m, wiring.flipped(self.port), reader.port)
            m.d.comb += reader.rewind.eq(self.rewind)
        else:
            m.submodules.unit = self.unit
            wiring.connect(m, self.unit.gather, reader.port)
        return m


def test_share_ors_what_users_drive_and_broadcasts_the_rest():
    sig = stream.Signature(8)
    m = Module()
    hub = sig.flip().create()
    users = [sig.create() for _ in range(3)]
    share(m, hub, users)

    async def tb(ctx):
        ctx.set(users[1].valid, 1)
        ctx.set(users[1].payload, 0x5A)
        ctx.set(hub.ready, 1)
        assert (ctx.get(hub.valid), ctx.get(hub.payload)) == (1, 0x5A)
        assert [ctx.get(u.ready) for u in users] == [1, 1, 1]
        ctx.set(users[1].valid, 0)
        ctx.set(users[1].payload, 0)
        assert ctx.get(hub.valid) == 0

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()


def test_payload_reader_two_cycles_a_byte_in_order_and_rewinds():
    payload = bytes(range(10, 30))
    dut = _Buffered(payload)

    async def gather(ctx, n):
        ctx.set(dut.port.start, 1)
        ctx.set(dut.port.count, n)
        await ctx.tick()
        ctx.set(dut.port.start, 0)
        cycles = 1
        while not ctx.get(dut.port.done):
            await ctx.tick()
            cycles += 1
        await ctx.tick()
        data = ctx.get(dut.port.data)
        return cycles, (data >> (8 * (dut.width - n))).to_bytes(n, "little")

    async def tb(ctx):
        assert await gather(ctx, 3) == (6, payload[0:3])
        assert await gather(ctx, 1) == (2, payload[3:4])
        assert await gather(ctx, 8) == (16, payload[4:12])
        ctx.set(dut.rewind, 1)      # a new request
        await ctx.tick()
        ctx.set(dut.rewind, 0)
        assert await gather(ctx, 2) == (4, payload[0:2])

    _sim(dut, tb)


class _Dispatcher:
    """The testbench's side of a unit's ``cmd`` port."""

    def __init__(self, cmd):
        self.cmd = cmd

    async def run(self, ctx, op, length, limit=10_000):
        """Start ``op``; return (cycles to ``done``, error, reply_len)."""
        ctx.set(self.cmd.op, op)
        ctx.set(self.cmd.length, length)
        ctx.set(self.cmd.start, 1)
        await ctx.tick()
        ctx.set(self.cmd.start, 0)
        for cycles in range(1, limit):
            if ctx.get(self.cmd.done):
                result = cycles, ctx.get(self.cmd.error), ctx.get(self.cmd.reply_len)
                await ctx.tick()
                return result
            await ctx.tick()
        raise AssertionError(f"no done within {limit} cycles")


@pytest.mark.parametrize("case", ["ok", "matrix", "count", "length", "depth", "other_op"])
def test_load_command_checks_the_header_then_pushes_words(case):
    core = Core(NET, CORE)
    words = [0x1234, 0xBEEF, 0x0001]
    depth = coremap.matrix_depth(1, NET, CORE)
    matrix, addr, count = 1, depth - 3, 3
    body = b"".join(w.to_bytes(WIRE.word_bytes, "little") for w in words)
    header = {"matrix": matrix, "reserved": 0, "count": count, "addr": addr}
    assert LOAD_HEADER.pack(**header) + body == WIRE.encode_load(matrix, addr, words)
    if case in ("matrix", "count", "depth"):
        header[{"matrix": "matrix", "count": "count", "depth": "addr"}[case]] = {
            "matrix": 3, "count": 0, "depth": depth - 2}[case]
    payload = LOAD_HEADER.pack(**header) + body
    length = len(payload) - (case == "length")
    unit = LoadCommand(NET, CORE, wire=WIRE, reply_len=REPLY_LEN, gather_width=8,
                       load=core.load.signature.flip())
    dut = _Buffered(payload, unit)
    pushed = []

    async def tb(ctx):
        ctx.set(unit.load.ready, 1)
        if case == "other_op":      # a unit ignores the other units' opcodes
            ctx.set(unit.cmd.op, Op.STEP)
            ctx.set(unit.cmd.start, 1)
            await ctx.tick()
            ctx.set(unit.cmd.start, 0)
            for _ in range(50):
                assert not ctx.get(unit.cmd.done) and not ctx.get(unit.gather.start)
                await ctx.tick()
            return
        cycles, error, reply_len = await _Dispatcher(unit.cmd).run(ctx, Op.LOAD, length)
        await ctx.tick()    # the core side has seen the last push
        if case == "ok":
            assert (error, reply_len) == (0, 0)
            assert pushed == [(matrix, addr + i, w) for i, w in enumerate(words)]
            # header: 8 bytes + 2 registered check cycles; each word: 2 bytes, then its push
            assert cycles == 2 * 8 + 2 + count * (2 * WIRE.word_bytes + 1)
        else:
            assert (error, pushed) == (ErrorCode.BAD_ARG, [])
            assert cycles == 2 * 8 + 2

    async def core_side(ctx):
        async for _, _, valid, p in ctx.tick().sample(unit.load.valid, unit.load.payload):
            if valid:
                pushed.append((p.matrix, p.addr, p.data))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.add_testbench(core_side, background=True)
    sim.run()


def test_step_run_replies_the_masked_slots_actions():
    core = Core(NET, CORE)
    dut = StepRun(NET, CORE, wire=WIRE, reply_len=REPLY_LEN, core_cmd=core.cmd.signature.flip(),
                  act=core.act.signature)
    S, A, AB = CORE.slots, NET.act_dim, WIRE.act_bytes
    values = [(-1) ** i * (100 * i + 7) for i in range(S * A)]
    values[0] = -(1 << (CORE.action_bits - 1))      # the most negative action
    mask = [1, 0, 1]
    written = {}

    async def tb(ctx):
        ctx.set(dut.mask, int("".join(map(str, reversed(mask))), 2))
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        await ctx.tick().until(dut.core_cmd.valid)
        assert ctx.get(dut.core_cmd.payload.op) == coremap.CoreOp.STEP
        ctx.set(dut.core_cmd.ready, 1)
        await ctx.tick()
        ctx.set(dut.core_cmd.ready, 0)
        for i, v in enumerate(values):
            ctx.set(dut.act.valid, 1)
            ctx.set(dut.act.payload, {"slot": i // A, "index": i % A, "value": v})
            await ctx.tick().until(dut.act.ready)
        ctx.set(dut.act.valid, 0)
        await ctx.tick().until(dut.done)
        want = b"".join(v.to_bytes(AB, "little", signed=True)
                        for i, v in enumerate(values) if mask[i // A])
        assert ctx.get(dut.length) == len(want)
        assert bytes(written[a] for a in range(len(want))) == want

    async def buffer(ctx):
        async for _, _, en, addr, data in ctx.tick().sample(dut.reply.en, dut.reply.addr,
                                                            dut.reply.data):
            if en:
                written[addr] = data

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.add_testbench(buffer, background=True)
    sim.run()


def test_info_status_copies_info_and_counts():
    info = bytes(range(1, 21))
    dut = InfoStatus(info, wire=WIRE, reply_len=REPLY_LEN)
    written = {}

    async def tb(ctx):
        ctx.set(dut.cycles, 123456)
        for ok, bad, overrun in [(1, 0, 0), (1, 0, 1), (0, 1, 0), (1, 0, 0)]:
            ctx.set(dut.frame_ok, ok)
            ctx.set(dut.frame_bad, bad)
            ctx.set(dut.overrun, overrun)
            await ctx.tick()
        ctx.set(dut.frame_ok, 0)
        ctx.set(dut.frame_bad, 0)
        ctx.set(dut.overrun, 0)
        for op, want in [(Op.INFO, info),
                         (Op.STATUS, STATUS_STRUCT.pack(cycles=123456, frames_ok=3,
                                                        frames_bad=1, overruns=1))]:
            written.clear()
            cycles, error, reply_len = await _Dispatcher(dut.cmd).run(ctx, op, 0)
            await ctx.tick()    # the buffer side has seen the last write
            assert (cycles, error, reply_len) == (len(want), 0, len(want))   # a byte a cycle
            assert bytes(written[a] for a in range(len(want))) == want

    async def buffer(ctx):
        async for _, _, en, addr, data in ctx.tick().sample(dut.reply.en, dut.reply.addr,
                                                            dut.reply.data):
            if en:
                written[addr] = data

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.add_testbench(buffer, background=True)
    sim.run()
