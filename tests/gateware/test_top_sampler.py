"""The device top's on-chip sampler (LOAD_RHO, SAMPLE) in Amaranth simulation.

A SAMPLEd slot must compute exactly what the golden model computes for the member that
:func:`ec_hw.model.sampler.sample_members` draws from the same (gen_seed, member, rho_q), and the
explicit LOAD path must keep working next to it (the core's ``load`` port has two drivers).
"""

import numpy as np
import pytest
from test_top import load_payloads, run_top  # noqa: E402

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.top import Top  # noqa: E402
from ec_hw.model.core import FixedNet, NetState, net_step  # noqa: E402
from ec_hw.model.packing import GenomeLayout, pack_genome  # noqa: E402
from ec_hw.model.sampler import sample_members  # noqa: E402
from ec_hw.protocol import (  # noqa: E402
    FEATURE_ANTITHETIC,
    FEATURE_SAMPLER,
    LOAD_RHO_HEADER,
    SAMPLE_ANTITHETIC,
    SAMPLE_STRUCT,
    ErrorCode,
    Info,
    Op,
)

DIV = 4


def _sample(slot, gen_seed, member, flags=0):
    return SAMPLE_STRUCT.pack(slot=slot, flags=flags, gen_seed=gen_seed, member=member)


@pytest.mark.slow  # ~1 min of Python simulation; tests/host/test_sampling.py runs it on Verilator
def test_sampled_slot_acts_like_the_golden_member():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=2, substeps=4)
    core = CoreConfig(slots=2, word_bits=16, lanes=4)
    top = Top(net, core, divisor=DIV, max_payload=200)
    wire = top.wire
    layout = GenomeLayout.of(net)
    fx = FixedNet(net, core)
    rng = np.random.default_rng(11)
    # rho over a wide range (0 and 65535 included) so that bits of both values and the
    # strict u < rho_q comparison at the ends are exercised
    # (mostly above 30000: dense enough members to spike and act)
    rho_q = np.maximum(rng.integers(0, 65536, size=net.n_conn), 30000).astype(np.uint16)
    rho_q[:4] = [0, 65535, 1, 65534]
    gen_seed = 0x9E3779B9
    explicit = pack_genome(rng.random((1, layout.n_conn)) < 0.6, layout)[0]
    assert top.info.features & FEATURE_SAMPLER and top.info.features & FEATURE_ANTITHETIC

    async def body(ctx, host):
        seq = 1
        fr = await host.transact(ctx, Op.INFO, seq)
        assert Info.unpack(fr.payload).features & FEATURE_SAMPLER
        seq += 1
        for p in top.wire.load_rho_payloads(rho_q):
            fr = await host.transact(ctx, Op.LOAD_RHO, seq, p)
            assert (fr.op, fr.seq, fr.payload) == (Op.LOAD_RHO | 0x80, seq, b""), fr
            seq += 1
        # bad arguments change nothing: slot beyond the device, an unknown SAMPLE flag, short
        # SAMPLE, rho past the end, LOAD_RHO length that does not match its count
        for op, p in ((Op.SAMPLE, _sample(core.slots, 1, 2)),
                      (Op.SAMPLE, _sample(0, 1, 2, flags=SAMPLE_ANTITHETIC << 1)),
                      (Op.SAMPLE, _sample(0, 1, 2)[:-1]),
                      (Op.LOAD_RHO, LOAD_RHO_HEADER.pack(net.n_conn - 1, 2) + bytes(4)),
                      (Op.LOAD_RHO, LOAD_RHO_HEADER.pack(0, 2) + bytes(2))):
            fr = await host.transact(ctx, op, seq, p)
            assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_ARG, op]), (op, p)
        # slot 1 explicit, slot 0 sampled (member 5)
        for p in load_payloads(wire, net, core, 1, explicit):
            assert (await host.transact(ctx, Op.LOAD, seq, p)).op == Op.LOAD | 0x80
            seq += 1
        fr = await host.transact(ctx, Op.SAMPLE, seq, _sample(0, gen_seed, 5))
        assert (fr.op, fr.seq, fr.payload) == (Op.SAMPLE | 0x80, seq, b""), fr
        seq += 1
        genomes = np.stack([sample_members(gen_seed, [5], rho_q, layout)[0], explicit])
        nonzero = 0
        for phase in range(3):
            if phase == 1:  # now sample member 2 into slot 1 (replacing the explicit genome)
                fr = await host.transact(ctx, Op.SAMPLE, seq, _sample(1, gen_seed, 2))
                assert fr.op == Op.SAMPLE | 0x80
                seq += 1
                genomes[1] = sample_members(gen_seed, [2], rho_q, layout)[0]
            if phase == 2:  # and the odd member of an antithetic pair into slot 0
                fr = await host.transact(ctx, Op.SAMPLE, seq,
                                         _sample(0, gen_seed, 5, flags=SAMPLE_ANTITHETIC))
                assert fr.op == Op.SAMPLE | 0x80
                seq += 1
                genomes[0] = sample_members(gen_seed, [5], rho_q, layout, antithetic=True)[0]
            fr = await host.transact(ctx, Op.RESET, seq, wire.encode_mask([1, 1]))
            assert fr.op == Op.RESET | 0x80
            seq += 1
            state = NetState.zeros(core.slots, layout)
            for _ in range(3):
                x = rng.integers(-30000, 30000, size=(core.slots, net.obs_dim)).astype(np.int32)
                want = net_step(fx.p, fx.lay, x, genomes, state, np.ones(2, bool))
                fr = await host.transact(ctx, Op.STEP, seq, wire.encode_step(x, [1, 1]))
                assert fr.op == Op.STEP | 0x80, fr
                got = wire.decode_step_reply(fr.payload, [1, 1])
                assert got == [list(w) for w in want], (phase, got, want)
                nonzero += int(np.count_nonzero(want))
                seq += 1
        assert nonzero > 0, "a test of all-zero actions means nothing"

    run_top(top, body)


def test_top_without_sampler_refuses_its_opcodes():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=2, substeps=2)
    core = CoreConfig(slots=1, word_bits=16, lanes=4)
    top = Top(net, core, divisor=DIV, max_payload=80, sampler=False)
    assert not top.info.features & FEATURE_SAMPLER

    async def body(ctx, host):
        for seq, op in enumerate((Op.SAMPLE, Op.LOAD_RHO)):
            fr = await host.transact(ctx, op, seq, _sample(0, 1, 2))
            assert fr.op == Op.ERROR and fr.payload == bytes([ErrorCode.BAD_OPCODE, op])

    run_top(top, body)
