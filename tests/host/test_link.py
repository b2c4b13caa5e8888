"""Host Device <-> virtual board (Verilated top level behind a pty): end to end, with faults.

The virtual board is the device's top-level Verilog compiled by Verilator; its UART pins are
bridged to a pseudo-terminal. A fault proxy (a second, real pty pair) sits between the host and
the board and corrupts, drops and invents bytes. Every action must still equal the golden model,
and a dead link must raise, never return a value.
"""

import logging
import os
import random
import select
import threading
import tty

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.model.core import FixedNet, NetState, net_step  # noqa: E402
from ec_hw.model.packing import GenomeLayout, pack_genome  # noqa: E402
from ec_hw.protocol import Op, encode_frame  # noqa: E402
from ec_hw.train.device_backend import DeviceBackend  # noqa: E402
from host.device import ConfigMismatch, Device, LinkTimeout  # noqa: E402
from host.transport import SerialTransport  # noqa: E402

NET = NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=4)
CORE = CoreConfig(slots=3, word_bits=16, lanes=4)


@pytest.fixture(scope="module")
def board():
    from ec_hw.boardsim import VirtualBoard

    with VirtualBoard(NET, CORE) as vb:
        yield vb


class FaultProxy:
    """Forward bytes between a new pty (``port``) and the board's pty, injecting faults.

    ``p_flip``/``p_drop``/``p_garbage`` are per-byte probabilities; ``blackhole`` drops all.
    """

    def __init__(self, board_port, seed, p_flip=0.0, p_drop=0.0, p_garbage=0.0):
        self.rng = random.Random(seed)
        self.p_flip, self.p_drop, self.p_garbage = p_flip, p_drop, p_garbage
        self.blackhole = False
        self.faults = 0
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.board = os.open(board_port, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.board)
        self._stop = False
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _mangle(self, data):
        out = bytearray()
        for b in data:
            r = self.rng.random()
            if self.blackhole or r < self.p_drop:
                self.faults += 1
                continue
            if r < self.p_drop + self.p_flip:
                b ^= 1 << self.rng.randrange(8)
                self.faults += 1
            out.append(b)
            if self.rng.random() < self.p_garbage:
                out.append(self.rng.randrange(256))
                self.faults += 1
        return bytes(out)

    def _run(self):
        while not self._stop:
            r, _, _ = select.select([self.master, self.board], [], [], 0.05)
            for fd in r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                dst = self.board if fd == self.master else self.master
                data = self._mangle(data)
                if data:
                    os.write(dst, data)

    def close(self):
        self._stop = True
        self._th.join(2)
        for fd in (self.master, self.slave, self.board):
            os.close(fd)


def random_genomes(n, seed, density=0.6):
    layout = GenomeLayout.of(NET)
    rng = np.random.default_rng(seed)
    return pack_genome(rng.random((n, layout.n_conn)) < density, layout)


def golden_run(genomes, xs, masks):
    fx = FixedNet(NET, CORE)
    state = NetState.zeros(len(genomes), fx.layout)
    return [net_step(fx.p, fx.lay, x, genomes, state, m) for x, m in zip(xs, masks, strict=True)]


def test_end_to_end_actions_identical_to_golden_model(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    info = dev.connect(NET, CORE)
    assert info.slots == CORE.slots
    genomes = random_genomes(CORE.slots, seed=1)
    backend = DeviceBackend(dev, NET, CORE, own_device=True)
    backend.load(genomes)
    backend.reset(np.ones(CORE.slots, bool))
    rng = np.random.default_rng(2)
    xs = [rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
          for _ in range(30)]
    masks = [np.ones(CORE.slots, bool)] * 30
    want = golden_run(genomes, xs, masks)
    got = [backend.step_q(x, m) for x, m in zip(xs, masks, strict=True)]
    assert np.array_equal(np.array(got), np.array(want))
    assert np.abs(np.array(want)).sum() > 0, "a test of all-zero actions means nothing"
    # the float interface the trainer uses
    a = backend.step(xs[0], masks[0])
    assert a.dtype == np.float64 and np.all(np.abs(a) <= 1.0)
    assert dev.stats["retries"] == 0
    backend.close()


def test_config_mismatch_is_one_line(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    with pytest.raises(ConfigMismatch, match=r"^device core does not match the training config: "
                       r"obs_dim 3 != 11, act_dim 2 != 3$"):
        dev.connect(NetConfig(n_neurons=32, substeps=4), CORE)
    dev.close()


def test_faults_never_change_an_action(board, caplog):
    proxy = FaultProxy(board.port, seed=7, p_flip=0.002, p_drop=0.002, p_garbage=0.002)
    dev = Device(SerialTransport(proxy.port), timeout=0.3, retries=8)
    try:
        with caplog.at_level(logging.DEBUG, logger="host.device"):
            dev.connect(NET, CORE)
        genomes = random_genomes(CORE.slots, seed=3)
        for s in range(CORE.slots):
            dev.load_genome(s, genomes[s], NET)
        dev.reset(np.ones(CORE.slots, bool))
        rng = np.random.default_rng(4)
        n = 60
        xs = [rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
              for _ in range(n)]
        masks = [np.ones(CORE.slots, bool)] * n
        want = golden_run(genomes, xs, masks)
        got = [dev.step(x, m) for x, m in zip(xs, masks, strict=True)]
        assert np.array_equal(np.array(got), np.array(want))
        assert proxy.faults > 0 and dev.stats["retries"] > 0
        assert any("tx " in r.message for r in caplog.records)  # DEBUG hex dumps
        # a dead link raises after the retries, it never returns a value
        proxy.blackhole = True
        with pytest.raises(LinkTimeout, match="no valid reply to STEP"):
            dev.step(xs[0])
    finally:
        dev.close()
        proxy.close()


def test_lost_reply_retry_is_idempotent(board):
    dev = Device(SerialTransport(board.port), timeout=2.0)
    dev.connect(NET, CORE)
    genomes = random_genomes(CORE.slots, seed=5)
    for s in range(CORE.slots):
        dev.load_genome(s, genomes[s], NET)
    dev.reset(np.ones(CORE.slots, bool))
    rng = np.random.default_rng(6)
    xs = [rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
          for _ in range(3)]
    mask = np.array([True, False, True])
    want = golden_run(genomes, xs, [mask] * 3)
    assert np.array_equal(dev.step(xs[0], mask), want[0])
    # send step 2 twice with the same seq, as a host whose first reply was lost would
    frame = encode_frame(Op.STEP, dev._seq, dev.wire.encode_step(xs[1], mask))
    replies = []
    for _ in range(2):
        dev.transport.write(frame)
        for _ in range(100):
            if fr := dev._decoder.feed(dev.transport.read(4096, 0.1)):
                replies.append(fr[0])
                break
    assert len(replies) == 2 and replies[0] == replies[1] and replies[0].crc_ok
    rows = dev.wire.decode_step_reply(replies[0].payload, mask)
    assert [rows[0], rows[2]] == [list(want[1][0]), list(want[1][2])]
    dev._seq = (dev._seq + 1) & 0xFF
    # the network was stepped once, not twice
    assert np.array_equal(dev.step(xs[2], mask), want[2])
    st = dev.status()
    assert st["cycles"] > 0
    dev.close()


def _raw(dev, data, timeout=1.0):
    """Write raw bytes; return the first frame that comes back (or None)."""
    dev.transport.flush_input()
    dev._decoder.reset()
    dev.transport.write(data)
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        frames = dev._decoder.feed(dev.transport.read(4096, 0.05))
        if frames:
            return frames[0]
    return None


def test_device_refuses_bad_frames_and_keeps_working(board):
    from ec_hw import coremap
    from ec_hw.protocol import ErrorCode

    dev = Device(SerialTransport(board.port), timeout=2.0)
    dev.connect(NET, CORE)
    wire = dev.wire
    x = np.zeros((CORE.slots, NET.obs_dim), np.int32)
    ones = [1] * CORE.slots
    cases = [
        # (frame bytes, expected ERROR payload or None for silence)
        (encode_frame(Op.LOAD, 1, bytes(wire.max_payload + 1))[:6],
         bytes([ErrorCode.BAD_LENGTH, Op.LOAD])),
        # the sampler's commands with a short payload / zero count (the board has the sampler)
        (encode_frame(Op.SAMPLE, 2, bytes(9)), bytes([ErrorCode.BAD_ARG, Op.SAMPLE])),
        (encode_frame(Op.LOAD_RHO, 3, bytes(6)), bytes([ErrorCode.BAD_ARG, Op.LOAD_RHO])),
        (encode_frame(0x42, 4), bytes([ErrorCode.BAD_OPCODE, 0x42])),
        (encode_frame(Op.LOAD, 5, bytes([3, 0, 1, 0, 0, 0, 0, 0]) + bytes(2)),
         bytes([ErrorCode.BAD_ARG, Op.LOAD])),
        (encode_frame(Op.LOAD, 6, wire.encode_load(2, coremap.matrix_depth(2, NET, CORE), [0])),
         bytes([ErrorCode.BAD_ARG, Op.LOAD])),
        (encode_frame(Op.STEP, 7, wire.encode_step(x, ones)[:-1]),
         bytes([ErrorCode.BAD_ARG, Op.STEP])),
        (encode_frame(Op.RESET, 8, bytes([1 << CORE.slots])), bytes([ErrorCode.BAD_ARG, Op.RESET])),
        (bytes([0xEC, 0x00, 0x5A, 0x13, 0x37]), None),        # garbage: silence
        (encode_frame(Op.STEP, 9, wire.encode_step(x, ones))[:9], None),  # truncated: silence
    ]
    for frame, want in cases:
        fr = _raw(dev, frame, timeout=0.5 if want is None else 2.0)
        if want is None:
            assert fr is None, fr
        else:
            assert fr is not None and fr.op == Op.ERROR and fr.payload == want, (frame, fr)
    # after all of that the device answers normally and computes correctly
    genomes = random_genomes(CORE.slots, seed=8)
    for s in range(CORE.slots):
        dev.load_genome(s, genomes[s], NET)
    dev.reset(np.ones(CORE.slots, bool))
    rng = np.random.default_rng(9)
    xs = [rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
          for _ in range(5)]
    want = golden_run(genomes, xs, [np.ones(CORE.slots, bool)] * 5)
    assert np.array_equal(np.array([dev.step(v) for v in xs]), np.array(want))
    st = dev.status()
    assert st["frames_bad"] >= 1
    dev.close()


@pytest.mark.slow  # builds the N=256 virtual board (~2-3 min) and simulates ~1 M cycles
def test_end_to_end_hopper_size():
    from ec_hw.boardsim import VirtualBoard

    net, core = NetConfig(), CoreConfig(slots=4)
    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(0)
    genomes = pack_genome(rng.random((core.slots, layout.n_conn)) < 0.5, layout)
    xs = rng.integers(-8000, 8000, size=(24, core.slots, net.obs_dim)).astype(np.int32)
    fx = FixedNet(net, core)
    state = NetState.zeros(core.slots, layout)
    want = np.array([net_step(fx.p, fx.lay, x, genomes, state) for x in xs])
    with VirtualBoard(net, core) as vb:
        dev = Device(SerialTransport(vb.port), timeout=30.0)
        backend = DeviceBackend(dev, net, core, own_device=True)
        backend.load(genomes)
        backend.reset(np.ones(core.slots, bool))
        got = np.array([backend.step_q(x) for x in xs])
        from ec_hw.gateware.core import cycles_per_env_step
        assert dev.status()["cycles"] == cycles_per_env_step(net, core)
        backend.close()
    assert np.array_equal(got, want) and np.count_nonzero(want) > 0


@pytest.mark.slow  # builds the board's N=256 virtual board unless cached
def test_board_sim_command_prints_a_working_port():
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "ec_hw.boardsim", "--board", "arty_a7"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/"), port
        with Device.open(port, net=NetConfig(), timeout=5.0) as dev:
            assert dev.info.slots == 4 and dev.info.n_neurons == 256
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
