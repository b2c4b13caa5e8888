"""On-chip sampling over the link: Device.load_rho / Device.sample on the virtual board.

A member drawn on the device (LOAD_RHO once, then one SAMPLE per slot) must act exactly like the
member :func:`ec_hw.model.sampler.sample_members` draws on the host, step after step; the two
commands survive a faulty link (retries are idempotent); and the bytes they put on the wire are
what :mod:`ec_hw.protocol`'s frame formats say.
"""

import time

import numpy as np
import pytest
from test_link import CORE, NET, FaultProxy, golden_run, random_genomes  # noqa: E402

from ec_hw.model.packing import GenomeLayout  # noqa: E402
from ec_hw.model.sampler import generation_seed, quantize_rho, sample_members  # noqa: E402
from ec_hw.protocol import (  # noqa: E402
    ErrorCode,
    Op,
    encode_frame,
    load_rho_wire_bytes,
    member_load_wire_bytes,
    member_sample_wire_bytes,
)
from ec_hw.train.device_backend import DeviceBackend  # noqa: E402
from host.device import Device  # noqa: E402
from host.transport import SerialTransport  # noqa: E402

LAYOUT = GenomeLayout.of(NET)


@pytest.fixture(scope="module")
def board():
    from ec_hw.boardsim import VirtualBoard

    with VirtualBoard(NET, CORE) as vb:
        yield vb


def make_rho(seed):
    rng = np.random.default_rng(seed)
    # dense enough members to spike, with the ends of the range included
    rho = quantize_rho(rng.uniform(0.3, 1.0, NET.n_conn))
    rho[:3] = [0, 65535, 1]
    return rho


def steps(seed, n):
    rng = np.random.default_rng(seed)
    return [rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
            for _ in range(n)]


def test_sampled_members_act_like_the_golden_members(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    backend = DeviceBackend(dev, NET, CORE, own_device=True)
    assert backend.supports_sampling
    rho_q = make_rho(1)
    gen_seed = generation_seed(3, 7)
    backend.load_rho(rho_q)
    members = np.array([4, 0, 123456])
    backend.sample(gen_seed, members)
    genomes = sample_members(gen_seed, members, rho_q, LAYOUT)
    assert len({g.tobytes() for g in genomes}) == 3
    backend.reset(np.ones(CORE.slots, bool))
    xs = steps(2, 40)
    masks = [np.ones(CORE.slots, bool)] * len(xs)
    want = np.array(golden_run(genomes, xs, masks))
    got = np.array([backend.step_q(x, m) for x, m in zip(xs, masks, strict=True)])
    assert np.array_equal(got, want)
    assert np.count_nonzero(want) > 0, "a test of all-zero actions means nothing"
    # explicit LOAD still works next to SAMPLE: overwrite slot 1, sample slot 2 anew
    explicit = random_genomes(1, seed=3)[0]
    dev.load_genome(1, explicit, NET)
    dev.sample(2, gen_seed, 99)
    genomes[1] = explicit
    genomes[2] = sample_members(gen_seed, [99], rho_q, LAYOUT)[0]
    dev.reset(np.ones(CORE.slots, bool))
    xs = steps(4, 20)
    want = np.array(golden_run(genomes, xs, masks[:20]))
    assert np.array_equal(np.array([dev.step(x) for x in xs]), want)
    assert dev.stats["retries"] == 0
    backend.close()


def test_antithetic_pairs_drawn_on_the_device_act_like_the_golden_pairs(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    backend = DeviceBackend(dev, NET, CORE, own_device=True)
    assert backend.supports_antithetic and dev.has_antithetic
    rho_q = make_rho(9)
    gen_seed = generation_seed(4, 1)
    backend.load_rho(rho_q)
    members = np.array([6, 7, 2**32 - 1])[:CORE.slots]  # a whole pair, and the largest member
    backend.sample(gen_seed, members, antithetic=True)
    genomes = sample_members(gen_seed, members, rho_q, LAYOUT, antithetic=True)
    assert not np.array_equal(genomes[1], sample_members(gen_seed, members[1:2], rho_q,
                                                         LAYOUT)[0])
    backend.reset(np.ones(CORE.slots, bool))
    xs = steps(5, 30)
    masks = [np.ones(CORE.slots, bool)] * len(xs)
    want = np.array(golden_run(genomes, xs, masks))
    got = np.array([backend.step_q(x, m) for x, m in zip(xs, masks, strict=True)])
    assert np.array_equal(got, want)
    assert np.count_nonzero(want) > 0, "a test of all-zero actions means nothing"
    backend.close()


def test_sampling_survives_a_faulty_link(board):
    # rare faults: a LOAD_RHO frame is ~1 kB, so frequent ones would rarely let one through
    proxy = FaultProxy(board.port, seed=17, p_flip=2e-4, p_drop=2e-4, p_garbage=2e-4)
    dev = Device(SerialTransport(proxy.port), timeout=0.3, retries=10)
    try:
        dev.connect(NET, CORE)
        rho_q = make_rho(5)
        gen_seed = generation_seed(11, 2)
        for _ in range(2):  # resending rho and members is harmless (idempotent)
            dev.load_rho(rho_q)
            for s in range(CORE.slots):
                dev.sample(s, gen_seed, 10 + s)
        genomes = sample_members(gen_seed, np.arange(10, 10 + CORE.slots), rho_q, LAYOUT)
        dev.reset(np.ones(CORE.slots, bool))
        xs = steps(6, 30)
        masks = [np.ones(CORE.slots, bool)] * len(xs)
        want = np.array(golden_run(genomes, xs, masks))
        assert np.array_equal(np.array([dev.step(x) for x in xs]), want)
        assert proxy.faults > 0 and dev.stats["retries"] > 0
    finally:
        dev.close()
        proxy.close()


def test_sample_retry_with_same_seq_gets_the_cached_reply(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    dev.connect(NET, CORE)
    dev.load_rho(make_rho(8))
    frame = encode_frame(Op.SAMPLE, dev._seq, bytes.fromhex("0000") + (5).to_bytes(4, "little")
                         + (6).to_bytes(4, "little"))
    replies = []
    for _ in range(2):
        dev.transport.write(frame)
        for _ in range(100):
            if fr := dev._decoder.feed(dev.transport.read(4096, 0.1)):
                replies.append(fr[0])
                break
    assert len(replies) == 2 and replies[0] == replies[1]
    assert replies[0].op == Op.SAMPLE | 0x80 and replies[0].payload == b""
    dev._seq = (dev._seq + 1) & 0xFF
    # host-side argument checks, and the device's own refusal of a slot it does not have
    with pytest.raises(ValueError, match="rho_q must have shape"):
        dev.load_rho(np.zeros(5, np.uint16))
    with pytest.raises(ValueError, match="slot must lie in 0..2, not 3"):
        dev.sample(3, 1, 2)
    from host.device import DeviceError

    with pytest.raises(DeviceError) as exc:
        dev.transact(Op.SAMPLE, (CORE.slots).to_bytes(2, "little") + bytes(8))
    assert exc.value.code == ErrorCode.BAD_ARG
    dev.close()


def test_link_bytes_and_time_load_vs_sample(board):
    """Measured bytes equal the frame formats; LOAD vs SAMPLE wall time per member."""
    dev = Device(SerialTransport(board.port), timeout=5.0)
    dev.connect(NET, CORE)
    rho_q = make_rho(9)
    genomes = sample_members(77, np.arange(CORE.slots), rho_q, LAYOUT)
    n = 3 * CORE.slots

    def measure(fn):
        tx, rx = dev.stats["tx_bytes"], dev.stats["rx_bytes"]
        t0 = time.perf_counter()
        fn()
        return dev.stats["tx_bytes"] - tx, dev.stats["rx_bytes"] - rx, time.perf_counter() - t0

    rho = measure(lambda: dev.load_rho(rho_q))
    load = measure(lambda: [dev.load_genome(i % CORE.slots, genomes[i % CORE.slots], NET)
                            for i in range(n)])
    sample = measure(lambda: [dev.sample(i % CORE.slots, 77, i % CORE.slots)
                              for i in range(n)])
    assert rho[:2] == load_rho_wire_bytes(dev.wire, NET)
    assert load[:2] == tuple(n * b for b in member_load_wire_bytes(dev.wire, NET))
    assert sample[:2] == tuple(n * b for b in member_sample_wire_bytes())
    assert dev.stats["retries"] == 0
    print(f"\nN={NET.n_neurons} D={NET.obs_dim} A={NET.act_dim} W={CORE.word_bits}: "
          f"LOAD_RHO {sum(rho[:2])} B {rho[2] * 1e3:.1f} ms; per member LOAD "
          f"{sum(load[:2]) // n} B {load[2] / n * 1e3:.2f} ms, SAMPLE {sum(sample[:2]) // n} B "
          f"{sample[2] / n * 1e3:.2f} ms")
    dev.close()


@pytest.mark.slow  # builds the N=256 virtual board unless cached (~2-3 min)
def test_hopper_size_sampling_bytes_and_time():
    """Hopper (N=256, D=11, A=3, 4 slots, W=64), one small generation of 8 members: LOAD vs
    SAMPLE bytes (measured == frame formats) and wall time; the sampled members act right."""
    from ec_hw.boardsim import VirtualBoard
    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.model.core import FixedNet, NetState, net_step

    net, core = NetConfig(), CoreConfig(slots=4)
    layout = GenomeLayout.of(net)
    rho_q = quantize_rho(np.random.default_rng(0).uniform(0.2, 0.8, net.n_conn))
    gen_seed, pop = generation_seed(1, 0), 8
    genomes = sample_members(gen_seed, np.arange(pop), rho_q, layout)
    with VirtualBoard(net, core) as vb:
        dev = Device(SerialTransport(vb.port), timeout=30.0)
        dev.connect(net, core)

        def measure(fn):
            tx, rx = dev.stats["tx_bytes"], dev.stats["rx_bytes"]
            t0 = time.perf_counter()
            fn()
            return (dev.stats["tx_bytes"] - tx, dev.stats["rx_bytes"] - rx,
                    time.perf_counter() - t0)

        load = measure(lambda: [dev.load_genome(m % 4, genomes[m], net) for m in range(pop)])
        rho = measure(lambda: dev.load_rho(rho_q))
        sample = measure(lambda: [dev.sample(m % 4, gen_seed, m) for m in range(pop)])
        # the last four members are in the slots now: they act like the host's draw
        fx = FixedNet(net, core)
        state = NetState.zeros(4, layout)
        dev.reset(np.ones(4, bool))
        xs = np.random.default_rng(1).integers(-8000, 8000, size=(6, 4, net.obs_dim))
        want = np.array([net_step(fx.p, fx.lay, x.astype(np.int32), genomes[4:], state)
                         for x in xs])
        got = np.array([dev.step(x) for x in xs])
        dev.close()
    assert np.array_equal(got, want) and np.count_nonzero(want) > 0
    wire = dev.wire
    assert load[:2] == tuple(pop * b for b in member_load_wire_bytes(wire, net))
    assert rho[:2] == load_rho_wire_bytes(wire, net)
    assert sample[:2] == tuple(pop * b for b in member_sample_wire_bytes())
    assert sample[2] < load[2]
    print(f"\nHopper, pop {pop}: LOAD {sum(load[:2])} B {load[2] / pop * 1e3:.1f} ms/member; "
          f"LOAD_RHO {sum(rho[:2])} B {rho[2] * 1e3:.0f} ms; SAMPLE {sum(sample[:2])} B "
          f"{sample[2] / pop * 1e3:.1f} ms/member")


def test_link_budget_hopper_pop_256():
    """Hand-derived bytes per generation at Hopper size (N=256, D=11, A=3, W=64, 1032-byte
    payloads): LOAD 1292 words of 8 B in 2 + 8 + 1 frames per member; SAMPLE one 10-byte
    frame per member plus rho once (71936 uint16 in 141 frames of <= 513 values)."""
    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.protocol import WireFormat

    net = NetConfig()
    wire = WireFormat.of(net, CoreConfig(slots=4), 1032)
    assert member_load_wire_bytes(wire, net) == (1292 * 8 + 11 * 16, 11 * 8)
    assert member_sample_wire_bytes() == (18, 8)
    assert load_rho_wire_bytes(wire, net) == (2 * 71936 + 141 * 14, 141 * 8)
    pop = 256
    load = pop * sum(member_load_wire_bytes(wire, net))
    sample = sum(load_rho_wire_bytes(wire, net)) + pop * sum(member_sample_wire_bytes())
    assert (load, sample) == (2_713_600, 153_630)
