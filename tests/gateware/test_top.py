"""The device top (UART + protocol + core) in Amaranth simulation, against the golden model.

A bit-level UART host in the testbench speaks the wire protocol to :class:`Top`; actions must
equal :func:`ec_hw.model.core.net_step` bit for bit, and faults must leave the device usable.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.top import Top  # noqa: E402
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout
from ec_hw.protocol import ErrorCode, FrameDecoder, Info, Op, WireFormat, encode_frame

DIV = 4


class UartHost:
    """Bit-banged UART host for an Amaranth testbench."""

    def __init__(self, dut, divisor):
        self.dut, self.div = dut, divisor
        self.decoder = FrameDecoder()

    async def send(self, ctx, data: bytes):
        for b in data:
            for bit in [0] + [(b >> i) & 1 for i in range(8)] + [1]:
                ctx.set(self.dut.rx, bit)
                await ctx.tick().repeat(self.div)

    async def recv_byte(self, ctx, timeout):
        n = 0
        while ctx.get(self.dut.tx):
            await ctx.tick()
            n += 1
            if n > timeout:
                return None
        await ctx.tick().repeat(self.div // 2)
        v = 0
        for i in range(8):
            await ctx.tick().repeat(self.div)
            v |= ctx.get(self.dut.tx) << i
        await ctx.tick().repeat(self.div)
        assert ctx.get(self.dut.tx) == 1, "stop bit"
        return v

    async def recv_frame(self, ctx, timeout=200_000):
        while True:
            b = await self.recv_byte(ctx, timeout)
            if b is None:
                return None
            frames = self.decoder.feed(bytes([b]))
            if frames:
                return frames[0]

    async def transact(self, ctx, op, seq, payload=b"", timeout=200_000):
        await self.send(ctx, encode_frame(op, seq, payload))
        return await self.recv_frame(ctx, timeout)


def small_configs(slots=2, word_bits=16):
    net = NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=3)
    core = CoreConfig(slots=slots, word_bits=word_bits, lanes=4)
    return net, core


def run_top(top, body):
    sim = Simulator(top)
    sim.add_clock(1e-8)
    host = UartHost(top, top.divisor)

    async def tb(ctx):
        ctx.set(top.rx, 1)
        await ctx.tick().repeat(10)
        await body(ctx, host)

    sim.add_testbench(tb)
    sim.run()


def load_payloads(wire, net, core, slot, genome):
    return wire.load_payloads(
        coremap.slot_words(coremap.genome_to_words(genome, net, core), slot, net, core))


@pytest.mark.slow  # ~2 min of Python simulation; sim/test_top.py runs the same on Verilator
def test_top_info_load_step_reset_match_golden_model():
    net, core = small_configs()
    top = Top(net, core, divisor=DIV, max_payload=96)
    wire = top.wire
    rng = np.random.default_rng(3)
    layout = GenomeLayout.of(net)
    fx = FixedNet(net, core)
    genomes = rng.integers(0, 2**63, size=(core.slots, layout.n_words), dtype=np.uint64)
    # Bias toward spiking: a dense genome (OR of two draws) makes neurons fire.
    genomes |= rng.integers(0, 2**63, size=genomes.shape, dtype=np.uint64)
    genomes = (genomes & ~np.uint64(0)).astype(np.uint64)
    from ec_hw.model.packing import pack_genome, unpack_genome
    genomes = pack_genome(unpack_genome(genomes, layout), layout)  # zero the padding bits
    state = NetState.zeros(core.slots, layout)
    seen_nonzero = []

    async def body(ctx, host):
        fr = await host.transact(ctx, Op.INFO, 1)
        assert fr.crc_ok and fr.op == Op.INFO | 0x80 and fr.seq == 1
        assert Info.unpack(fr.payload) == top.info
        seq = 2
        for s in range(core.slots):
            for p in load_payloads(wire, net, core, s, genomes[s]):
                fr = await host.transact(ctx, Op.LOAD, seq, p)
                assert (fr.op, fr.seq, fr.payload) == (Op.LOAD | 0x80, seq, b"")
                seq += 1
        fr = await host.transact(ctx, Op.RESET, seq, wire.encode_mask([1] * core.slots))
        assert fr.op == Op.RESET | 0x80
        seq += 1
        masks = [[1, 1], [1, 0], [0, 1], [1, 1], [1, 1]]
        for step, mask in enumerate(masks):
            x = rng.integers(-30000, 30000, size=(core.slots, net.obs_dim)).astype(np.int32)
            want = net_step(fx.p, fx.lay, x, genomes, state, np.array(mask, bool))
            fr = await host.transact(ctx, Op.STEP, seq, wire.encode_step(x, mask))
            assert fr.crc_ok and fr.op == Op.STEP | 0x80 and fr.seq == seq, fr
            got = wire.decode_step_reply(fr.payload, mask)
            for s in range(core.slots):
                if mask[s]:
                    assert got[s] == list(want[s]), (step, s)
                    seen_nonzero.append(any(want[s]))
            seq += 1
            # A slot left out of the mask is undefined until RESET: reset both host and device.
            off = [not m for m in mask]
            if any(off):
                fr = await host.transact(ctx, Op.RESET, seq, wire.encode_mask(off))
                assert fr.op == Op.RESET | 0x80
                state.reset(np.array(off))
                seq += 1
        st = await host.transact(ctx, Op.STATUS, seq)
        assert st.op == Op.STATUS | 0x80 and len(st.payload) == 10

    run_top(top, body)
    assert any(seen_nonzero), "test needs some non-zero actions to mean anything"


@pytest.mark.slow  # ~1 min; tests/host/test_link.py covers the same faults on the virtual board
def test_top_faults_and_idempotent_retry():
    net, core = small_configs(slots=1, word_bits=32)
    top = Top(net, core, divisor=DIV, max_payload=80, idle_timeout=400, sampler=False)
    wire = top.wire
    rng = np.random.default_rng(9)
    layout = GenomeLayout.of(net)
    fx = FixedNet(net, core)
    from ec_hw.model.packing import pack_genome
    genome = pack_genome(rng.random((1, layout.n_conn)) < 0.6, layout)
    state = NetState.zeros(1, layout)

    async def body(ctx, host):
        seq = 10
        for p in load_payloads(wire, net, core, 0, genome[0]):
            assert (await host.transact(ctx, Op.LOAD, seq, p)).op == Op.LOAD | 0x80
            seq += 1
        # garbage, then a good frame
        await host.send(ctx, bytes([0x00, 0xEC, 0x11, 0xFF, 0x5A]))
        fr = await host.transact(ctx, Op.RESET, seq, b"\x01")
        assert fr.op == Op.RESET | 0x80
        seq += 1
        # corrupted frame -> ERROR BAD_CRC, no state change
        x = rng.integers(-20000, 20000, size=(1, net.obs_dim)).astype(np.int32)
        good = encode_frame(Op.STEP, seq, wire.encode_step(x, [1]))
        bad = bytearray(good)
        bad[8] ^= 0x40
        await host.send(ctx, bytes(bad))
        fr = await host.recv_frame(ctx)
        assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_CRC, Op.STEP])
        # truncated frame, silence, then the good one
        await host.send(ctx, good[:7])
        await ctx.tick().repeat(600)
        await host.send(ctx, good)
        fr1 = await host.recv_frame(ctx)
        want = net_step(fx.p, fx.lay, x, genome, state)
        assert wire.decode_step_reply(fr1.payload, [1])[0] == list(want[0])
        # the reply was "lost": the retry with the same seq gets the cached reply, and the
        # network is not stepped twice
        await host.send(ctx, good)
        fr2 = await host.recv_frame(ctx)
        assert fr2 == fr1
        seq += 1
        x2 = rng.integers(-20000, 20000, size=(1, net.obs_dim)).astype(np.int32)
        want2 = net_step(fx.p, fx.lay, x2, genome, state)
        fr = await host.transact(ctx, Op.STEP, seq, wire.encode_step(x2, [1]))
        assert wire.decode_step_reply(fr.payload, [1])[0] == list(want2[0])
        seq += 1
        # oversized length -> BAD_LENGTH; unknown and reserved opcodes -> BAD_OPCODE
        await host.send(ctx, encode_frame(Op.LOAD, seq, bytes(100))[:6])
        fr = await host.recv_frame(ctx)
        assert fr.op == Op.ERROR and fr.payload[0] == ErrorCode.BAD_LENGTH
        await ctx.tick().repeat(600)
        for op in (Op.SAMPLE, Op.LOAD_RHO, 0x42):
            fr = await host.transact(ctx, op, seq)
            assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_OPCODE, op])
        # bad arguments: matrix 3, words beyond the matrix, wrong STEP length, spare mask bits
        for p in (bytes([3, 0, 1, 0, 0, 0, 0, 0]) + bytes(4),
                  wire.encode_load(2, coremap.matrix_depth(2, net, core), [0]),
                  wire.encode_step(x, [1])[:-1], b"\x02"):
            op = Op.STEP if len(p) < 8 else Op.LOAD
            if p == b"\x02":
                op = Op.RESET
            fr = await host.transact(ctx, op, seq, p)
            assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_ARG, op]), p
        # and the device still steps correctly
        fr = await host.transact(ctx, Op.STEP, seq, wire.encode_step(x, [1]))
        want3 = net_step(fx.p, fx.lay, x, genome, state)
        assert wire.decode_step_reply(fr.payload, [1])[0] == list(want3[0])

    run_top(top, body)


def test_top_validation():
    net, core = small_configs()
    with pytest.raises(ValueError, match="max_payload must be at least"):
        Top(net, core, divisor=4, max_payload=8)
    with pytest.raises(ValueError, match="divisor must be an integer of at least 4"):
        Top(net, core, divisor=1)
    with pytest.raises(TypeError, match="net must be a NetConfig"):
        Top({}, core, divisor=4)
    assert WireFormat.of(net, core, 96).step_request_len(2) == 1 + 2 * 3 * 2
