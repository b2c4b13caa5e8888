"""Device-side Bernoulli sampler: (gen_seed, member) + quantized rho -> the core's connection words.

Gateware twin of :mod:`ec_hw.model.sampler` (``sample_members`` / ``threefry2x32``), whose
docstring is the specification; this module implements it bit for bit:

* :class:`Threefry2x32` is ``threefry2x32`` (Threefry-2x32-20, Random123), pipelined.
* :class:`SampleUnit` draws one member, ``theta_c = u_c < rho_q[c]`` with ``u_c`` lane
  ``c & 3`` of ``threefry(key=(gen_seed, member), ctr=(c >> 2, 0))`` (or, for a member of an
  antithetic pair, key ``(gen_seed, member >> 1)`` and ``u_c ^ 0xFFFF`` for the odd member),
  and emits the bits as
  ``load`` transfers in the core's connection word map (``docs/core-interface.md``,
  :mod:`ec_hw.coremap`), so its ``load`` port connects straight to
  :class:`ec_hw.gateware.core.Core`'s ``load`` port.

Throughput: one Threefry block (four connections) per cycle, i.e. 4 bits/cycle; see
:func:`sample_cycles` for the exact cycle count of one member.
"""

from __future__ import annotations

from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..config import CoreConfig, NetConfig
from ..coremap import addr_bits, words_per_row
from ..genome import (
    RHO_BITS,
    RHO_PER_BLOCK,
    THREEFRY_PARITY,
    THREEFRY_ROTATIONS,
    THREEFRY_ROUNDS,
)
from .arith import divmod_const
from .banked import BankedMemory
from .popcount import delay

__all__ = ["Threefry2x32", "SampleUnit", "UniformSource", "RhoStore", "CompareStage",
           "WordAssembler", "ROUNDS", "LANES", "rho_word_count", "load_layout",
           "sample_cycles", "threefry_latency", "rho_memory_depth", "RHO_WORD_BITS"]

ROUNDS = THREEFRY_ROUNDS
LANES = RHO_PER_BLOCK
RHO_WORD_BITS = 72
"""Width of the rho memory: a 7-series block RAM's widest port (64 data + 8 parity bits)."""
_PERIOD = 9
"""Threefry blocks (4 rho values each) stored per 8 memory words (9 * 64 = 8 * 72 bits)."""
_TF_FIFO = 32
"""Threefry blocks buffered after the pipeline: more than its 20 stages plus the credit loop,
so the issue never waits at full throughput."""
_RHO_FIFO = 16
"""rho blocks buffered ahead of the compare stage (the reader's credit loop is 9 cycles:
the banked memory's 4-cycle read, the data register, the FIFO and the credit's return)."""


def _check_rounds_per_stage(rounds_per_stage) -> None:
    if (not isinstance(rounds_per_stage, int) or isinstance(rounds_per_stage, bool)
            or rounds_per_stage <= 0 or ROUNDS % rounds_per_stage):
        raise ValueError(f"rounds_per_stage must be a positive divisor of 20, not "
                         f"{rounds_per_stage!r}")


def threefry_latency(rounds_per_stage: int = 1) -> int:
    """Cycles from a :class:`Threefry2x32` input transfer to its output being valid."""
    _check_rounds_per_stage(rounds_per_stage)
    return ROUNDS // rounds_per_stage


class Threefry2x32(wiring.Component):
    """Threefry-2x32-20, pipelined: one block per cycle, ``20 / rounds_per_stage`` cycles latency.

    Twin of :func:`ec_hw.model.sampler.threefry2x32`.

    Parameters
    ----------
    rounds_per_stage : int
        Rounds computed combinationally between two pipeline registers (a divisor of 20).
        Each round is a 32-bit add, a constant rotate (wiring) and an XOR, so a stage is
        ``rounds_per_stage`` carry chains deep (plus two key-injection adds every 4 rounds).
        Every stage holds 64 state bits, the 64-bit key (except the last stage) and a valid
        bit: ``(20 / rounds_per_stage) * 129 - 64`` flip-flops.
        Measured (Yosys ``synth_xilinx`` for xc7; nextpnr-ecp5 on an LFE5U-25F, grade 6):
        1 -> 20 stages, 1663 LUT / 2516 FF / 248 CARRY4, 128 MHz on ECP5;
        2 -> 10 stages, 1021 LUT / 1226 FF / 248 CARRY4, 90 MHz on ECP5;
        4 -> 5 stages, 49 MHz on ECP5. The default 1 leaves margin at the ULX3S's 100 MHz
        core clock (and the Arty's 60 MHz).

    Members
    -------
    i : In(stream {k0, k1, c0, c1: unsigned(32)})
        Key ``(k0, k1)`` and counter ``(c0, c1)``. The key travels with its counter, so
        consecutive blocks may use different keys.
    o : Out(stream {y0, y1: unsigned(32)})
        ``threefry2x32(k0, k1, c0, c1)``, in input order, :func:`threefry_latency` cycles
        after the input transfer when ``o`` is not stalled. The whole pipeline stalls while
        ``o.valid & ~o.ready`` (``i.ready = ~o.valid | o.ready``).

    Raises
    ------
    ValueError
        If ``rounds_per_stage`` does not divide 20.
    """

    def __init__(self, rounds_per_stage: int = 1):
        _check_rounds_per_stage(rounds_per_stage)
        self.rounds_per_stage = rounds_per_stage
        self.latency = ROUNDS // rounds_per_stage
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(
                {"k0": 32, "k1": 32, "c0": 32, "c1": 32}))),
            "o": Out(stream.Signature(data.StructLayout({"y0": 32, "y1": 32}))),
        })

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]

        p = self.i.payload
        valid, k0, k1 = self.i.valid, p.k0, p.k1
        x0 = (p.c0 + k0)[:32]
        x1 = (p.c1 + k1)[:32]
        rnd = 0
        for s in range(self.latency):
            for _ in range(self.rounds_per_stage):
                x0 = (x0 + x1)[:32]
                x1 = x1.rotate_left(THREEFRY_ROTATIONS[rnd % 8]) ^ x0
                if rnd % 4 == 3:  # key injection after every 4 rounds
                    inj = rnd // 4 + 1
                    ks = (k0, k1, k0 ^ k1 ^ THREEFRY_PARITY)
                    x0 = (x0 + ks[inj % 3])[:32]
                    x1 = (x1 + ks[(inj + 1) % 3] + inj)[:32]
                # Name every round's state: keeps the expression a chain, not a tree that
                # duplicates x0/x1 at each round (which blows up the simulator's code).
                n0, n1 = Signal(32, name=f"r{rnd}_x0"), Signal(32, name=f"r{rnd}_x1")
                m.d.comb += [n0.eq(x0), n1.eq(x1)]
                x0, x1 = n0, n1
                rnd += 1
            last = s == self.latency - 1
            r_valid = Signal(name=f"s{s}_valid")
            r_x0 = Signal(32, name=f"s{s}_x0", reset_less=True)   # data: no reset (valid has)
            r_x1 = Signal(32, name=f"s{s}_x1", reset_less=True)
            with m.If(advance):
                m.d.sync += [r_valid.eq(valid), r_x0.eq(x0), r_x1.eq(x1)]
            if not last:  # the key is only needed by later injections
                r_k0 = Signal(32, name=f"s{s}_k0", reset_less=True)
                r_k1 = Signal(32, name=f"s{s}_k1", reset_less=True)
                with m.If(advance):
                    m.d.sync += [r_k0.eq(k0), r_k1.eq(k1)]
                k0, k1 = r_k0, r_k1
            valid, x0, x1 = r_valid, r_x0, r_x1

        m.d.comb += [self.o.valid.eq(valid), self.o.payload.y0.eq(x0),
                     self.o.payload.y1.eq(x1)]
        return m


# --- The word map (docs/core-interface.md) -------------------------------------------------
def _matrices(net: NetConfig, core: CoreConfig):
    """``[(rows, cols, words_per_row)]`` of W_in, W_rec, W_out, in flat genome order."""
    wpr_in, wpr = words_per_row(net, core)
    return [(net.n_neurons, net.n_inputs, wpr_in), (net.n_neurons, net.n_neurons, wpr),
            (net.act_dim, net.n_neurons, wpr)]


def load_layout(net: NetConfig, core: CoreConfig) -> data.StructLayout:
    """Payload of the core's ``load`` port: ``{matrix: 2, addr: addr_bits, data: word_bits}``.

    Equal to ``Core(net, core).load_layout``, so ``wiring.connect(m, unit.load, core.load)``.
    """
    return data.StructLayout({"matrix": unsigned(2), "addr": unsigned(addr_bits(net, core)),
                              "data": unsigned(core.word_bits)})


def rho_word_count(net: NetConfig) -> int:
    """Threefry blocks of one member (four rho values, 64 bits, per block)."""
    return -(-net.n_conn // LANES)


def rho_memory_depth(net: NetConfig) -> int:
    """Words (of :data:`RHO_WORD_BITS`) of the rho memory.

    Blocks are stored in periods of 9 per 8 words: block ``9p + r`` (``r < 8``) is bits 0..63
    of word ``8p + r``; block ``9p + 8`` is spread over bits 64..71 of those 8 words (byte
    ``k`` in word ``8p + k``). Every bit of a 72-bit block-RAM word holds rho: 1.15 Mbit at
    the Hopper network fill 32 RAMB36 instead of the 36 that 64-bit words take.
    """
    return 8 * -(-rho_word_count(net) // _PERIOD)


def _boundaries(net: NetConfig, core: CoreConfig):
    """Flat connection indices that end a core word (last column of a word or of a row)."""
    c0 = 0
    for rows, cols, wpr in _matrices(net, core):
        for r in range(rows):
            for k in range(wpr):
                yield c0 + r * cols + min((k + 1) * core.word_bits, cols) - 1
        c0 += rows * cols


def sample_cycles(net: NetConfig, core: CoreConfig, rounds_per_stage: int = 1) -> int:
    """Clock cycles of one member, from the ``cmd`` transfer to the last ``load`` transfer.

    With ``load`` always ready::

        cycles = threefry_latency + 5 + ceil(n_conn / 4) + splits

    (5: the issue register, the Threefry FIFO's two cycles, the compare stage and the
    assembly stage.)

    ``ceil(n_conn / 4)`` Threefry blocks at one per cycle; a block takes one extra cycle per
    word boundary (end of a word or of a row) that falls on lane 0..2 of the block, except the
    genome's last connection (``splits``). When both row lengths (2D and N) are multiples of
    4, no boundary splits a block; the default Hopper network
    (N=256, D=11, W=64) has 128 splits (half of the 22-bit W_in rows end mid-block) in
    17984 blocks. Every stall cycle of ``load`` adds at most one cycle.
    """
    splits = sum(1 for c in _boundaries(net, core) if c % LANES != LANES - 1)
    splits -= (net.n_conn - 1) % LANES != LANES - 1  # the genome end never splits
    return threefry_latency(rounds_per_stage) + 5 + rho_word_count(net) + splits


# --- The sampler's stages ------------------------------------------------------------------
# Two producers run ahead of the bit assembly, each into its own FIFO, so nothing stalls the
# 20-stage Threefry pipeline (its clock enable would fan out to 2,500 flip-flops) and no
# block-RAM output feeds logic directly. Each grants itself a FIFO slot (a credit) per block in
# flight, so a block leaves the FIFOs exactly when both the uniforms and the rho of it are there.

def _stream(width):
    return stream.Signature(unsigned(width))


class UniformSource(wiring.Component):
    """Threefry blocks ``(b, 0)`` for ``b = 0 .. n_blocks - 1`` under one key, in order.

    Members
    -------
    start : In(1)
        Restart at block 0 under ``key`` (sampled in this cycle).
    key : In({k0, k1: unsigned(32), flip: unsigned(1)})
        Threefry key; ``flip`` inverts every output bit (the odd member of an antithetic pair).
    o : Out(stream unsigned(64))
        ``y0 | y1 << 32`` of each block, from a FIFO of :data:`_TF_FIFO` blocks; issued while the
        FIFO has room for every block in flight.
    """

    def __init__(self, n_blocks: int, rounds_per_stage: int):
        self.n_blocks, self.rounds_per_stage = n_blocks, rounds_per_stage
        super().__init__({
            "start": In(1),
            "key": In(data.StructLayout({"k0": 32, "k1": 32, "flip": 1})),
            "o": Out(_stream(64)),
        })

    def elaborate(self, platform):
        m = Module()
        nb = self.n_blocks
        m.submodules.threefry = tf = Threefry2x32(self.rounds_per_stage)
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=64, depth=_TF_FIFO)
        key = Signal.like(self.key)
        pop = Signal()
        m.d.comb += [self.o.valid.eq(fifo.r_rdy), self.o.payload.eq(fifo.r_data),
                     fifo.r_en.eq(self.o.ready), pop.eq(self.o.valid & self.o.ready)]

        issuing = Signal()
        b_issue = Signal(range(nb + 1))
        credit = Signal(range(_TF_FIFO + 1), init=_TF_FIFO)
        issue = Signal()
        m.d.comb += [issue.eq(issuing & (credit != 0)),
                     tf.i.valid.eq(issue), tf.i.payload.k0.eq(key.k0),
                     tf.i.payload.k1.eq(key.k1), tf.i.payload.c0.eq(b_issue),
                     tf.i.payload.c1.eq(0), tf.o.ready.eq(1),
                     fifo.w_en.eq(tf.o.valid),
                     fifo.w_data.eq(Cat(tf.o.payload.y0, tf.o.payload.y1)
                                    ^ key.flip.replicate(64))]
        m.d.sync += credit.eq(credit - issue + pop)
        with m.If(issue):
            m.d.sync += b_issue.eq(b_issue + 1)
            with m.If(b_issue == nb - 1):
                m.d.sync += issuing.eq(0)
        with m.If(self.start):
            m.d.sync += [issuing.eq(1), b_issue.eq(0), key.eq(self.key)]
        return m


class RhoStore(wiring.Component):
    """The rho memory: ``LOAD_RHO`` writes while idle, and a member's rho blocks in order.

    rho is 16 bits per connection packed into :data:`RHO_WORD_BITS`-bit words
    (:func:`rho_memory_depth`: 9 Threefry blocks per 8 words), in a :class:`BankedMemory`
    (banks of 512 words, registered on every side: a 4-cycle read).

    Members
    -------
    rho_load : In(stream {addr, data: unsigned(16)})
        As :class:`SampleUnit`'s; ready while ``idle`` and no write is in progress.
    idle : In(1)
        No member is being drawn (writes would tear a member's rho).
    writing : Out(1)
        A read-modify-write of ``rho_load`` is in progress.
    start : In(1)
        Read blocks ``0 .. n_blocks - 1`` from the next cycle on.
    o : Out(stream unsigned(64))
        The four 16-bit rho values of each block (lane ``l`` in bits ``16 l ..``), from a FIFO
        of :data:`_RHO_FIFO` blocks, read ahead while it has room.
    """

    def __init__(self, net: NetConfig):
        self.net = net
        self.n_blocks = rho_word_count(net)
        super().__init__({
            "rho_load": In(stream.Signature(data.StructLayout(
                {"addr": unsigned(max(2, ceil_log2(net.n_conn))),
                 "data": unsigned(RHO_BITS)}))),
            "idle": In(1), "writing": Out(1),
            "start": In(1),
            "o": Out(_stream(64)),
        })

    def elaborate(self, platform):
        m = Module()
        # Full-word writes only: a 7-series byte enable covers 8 data bits plus their parity
        # bit, which 16-bit rho lanes do not line up with, so LOAD_RHO read-modify-writes.
        m.submodules.mem = mem = BankedMemory(RHO_WORD_BITS, max(2, rho_memory_depth(self.net)))
        w_read, w_addr = Signal(), Signal.like(mem.r_addr)
        self._writer(m, mem, w_read, w_addr)
        self._reader(m, mem, w_read, w_addr)
        return m

    def _writer(self, m, mem, w_read, w_addr):
        """``rho_load`` as a read-modify-write (idle only, so a member never sees a half-written
        rho): connection ``c = 4 (9p + r) + l``. ``r < 8``: bits ``16 l ..`` of word ``8p + r``;
        ``r = 8``: its low byte in bits 64..71 of word ``8p + 2l``, its high byte in those of
        word ``8p + 2l + 1``. The division by 9 (a constant multiply) and the remainder take a
        cycle each. ``w_read`` issues the read of ``w_addr``."""
        rl = self.rho_load.payload
        w_busy = self.writing
        m.d.comb += self.rho_load.ready.eq(self.idle & ~w_busy)
        w_blk = Signal(range(max(2, self.n_blocks)))
        w_lane = Signal(2)
        w_val = Signal(RHO_BITS)
        w_period = Signal.like(w_blk)
        # w_period * 9 as a shift and an add (a constant multiply became a DSP block here).
        phase = (w_blk - ((w_period << 3) + w_period))[:4]
        w_mask = Signal(RHO_WORD_BITS)
        w_data = Signal(RHO_WORD_BITS)
        w_second = Signal()                # the r = 8 high byte is still to be written
        w_hi = Signal(8)
        w_wait = Signal(range(BankedMemory.read_latency))
        hi8 = Const((1 << 8) - 1, RHO_WORD_BITS) << 64
        with m.FSM(name="rho_write"):
            with m.State("IDLE"):
                with m.If(self.rho_load.valid & self.rho_load.ready &
                          (rl.addr < self.net.n_conn)):
                    m.d.sync += [w_busy.eq(1), w_blk.eq(rl.addr >> 2), w_lane.eq(rl.addr[:2]),
                                 w_val.eq(rl.data)]
                    m.next = "DIV"
            with m.State("DIV"):
                m.d.sync += w_period.eq(divmod_const(w_blk, _PERIOD)[0])
                m.next = "ADDR"
            with m.State("ADDR"):
                with m.If(phase == _PERIOD - 1):
                    m.d.sync += [w_addr.eq(w_period * 8 + (w_lane << 1)), w_mask.eq(hi8),
                                 w_data.eq(Cat(Const(0, 64), w_val[:8])),
                                 w_second.eq(1), w_hi.eq(w_val[8:])]
                with m.Else():
                    m.d.sync += [w_addr.eq(w_period * 8 + phase),
                                 w_mask.eq(Const(0xFFFF, RHO_WORD_BITS) << (w_lane * 16)),
                                 w_data.eq(w_val << (w_lane * 16)), w_second.eq(0)]
                m.next = "READ"
            with m.State("READ"):
                m.d.comb += w_read.eq(1)
                m.d.sync += w_wait.eq(mem.read_latency - 2)
                m.next = "WAIT"
            with m.State("WAIT"):    # the banked memory's further read cycles
                m.d.sync += w_wait.eq(w_wait - 1)
                with m.If(w_wait == 0):
                    m.next = "MERGE"
            with m.State("MERGE"):
                m.d.comb += [mem.w_addr.eq(w_addr), mem.w_en.eq(1),
                             mem.w_data.eq((mem.r_data & ~w_mask) | w_data)]
                with m.If(w_second):
                    m.d.sync += [w_addr.eq(w_addr + 1), w_data.eq(Cat(Const(0, 64), w_hi)),
                                 w_second.eq(0)]
                    m.next = "READ"
                with m.Else():
                    m.d.sync += w_busy.eq(0)
                    m.next = "IDLE"

    def _reader(self, m, mem, w_read, w_addr):
        """The rho of block ``b``, in order: word ``8p + r`` for ``r < 8`` (its bits 64..71
        saved as byte ``r`` of ``aux``), ``aux`` itself for ``r = 8``; into the FIFO."""
        nb = self.n_blocks
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=64, depth=_RHO_FIFO)
        pop = Signal()
        m.d.comb += [self.o.valid.eq(fifo.r_rdy), self.o.payload.eq(fifo.r_data),
                     fifo.r_en.eq(self.o.ready), pop.eq(self.o.valid & self.o.ready)]
        reading = Signal()
        b_read = Signal(range(nb + 1))
        r_ph = Signal(range(_PERIOD))
        r_word = Signal.like(mem.r_addr)
        credit = Signal(range(_RHO_FIFO + 1), init=_RHO_FIFO)
        token = Signal()
        m.d.comb += [token.eq(reading & (credit != 0)),
                     mem.r_addr.eq(Mux(w_read, w_addr, r_word)),
                     mem.r_en.eq(w_read | (token & (r_ph != _PERIOD - 1)))]
        m.d.sync += credit.eq(credit - token + pop)
        with m.If(token):
            m.d.sync += b_read.eq(b_read + 1)
            with m.If(b_read == nb - 1):
                m.d.sync += reading.eq(0)
            with m.If(r_ph == _PERIOD - 1):
                m.d.sync += r_ph.eq(0)
            with m.Else():
                m.d.sync += [r_ph.eq(r_ph + 1), r_word.eq(r_word + 1)]
        # The read's phase follows it through the memory's read latency and a data register.
        ph_valid, ph = token, r_ph
        for t in range(1, mem.read_latency + 2):
            ph_valid, ph = (delay(m, v, 1, name=f"t{t}_{n}") for n, v in
                            (("valid", ph_valid), ("ph", ph)))
        word = delay(m, mem.r_data, 1, name="rho_word")
        aux = Signal(64)
        with m.If(ph_valid & (ph != _PERIOD - 1)):
            m.d.sync += aux.word_select(ph, 8).eq(word[64:])
        m.d.comb += [fifo.w_en.eq(ph_valid),
                     fifo.w_data.eq(Mux(ph == _PERIOD - 1, aux, word[:64]))]
        with m.If(self.start):
            m.d.sync += [reading.eq(1), b_read.eq(0), r_ph.eq(0), r_word.eq(0)]


class CompareStage(wiring.Component):
    """``u_l < rho_l`` for the four lanes of a block, behind a skid buffer.

    Members
    -------
    u, rho : In(stream unsigned(64))
        One block's four 16-bit uniforms and rho values; both are taken in the same cycle.
    o : Out(stream unsigned(4))
        Bit ``l``: connection ``4 b + l`` is drawn. Registered; the skid register lets the
        inputs be taken without waiting for ``o.ready``.
    """

    def __init__(self):
        super().__init__({"u": In(_stream(64)), "rho": In(_stream(64)),
                          "o": Out(_stream(LANES))})

    def elaborate(self, platform):
        m = Module()
        new_bits = Cat(*[self.u.payload.word_select(lane, RHO_BITS)
                         < self.rho.payload.word_select(lane, RHO_BITS)
                         for lane in range(LANES)])
        k_valid, k_bits = self.o.valid, self.o.payload
        s_valid, s_bits = Signal(), Signal(LANES)
        pop = Signal()
        m.d.comb += [self.u.ready.eq(self.rho.valid & ~s_valid),
                     self.rho.ready.eq(self.u.valid & ~s_valid),
                     pop.eq(self.u.valid & self.rho.valid & ~s_valid)]
        with m.If(~k_valid | self.o.ready):
            m.d.sync += [k_valid.eq(s_valid | pop), k_bits.eq(Mux(s_valid, s_bits, new_bits)),
                         s_valid.eq(0)]
        with m.Elif(pop):
            m.d.sync += [s_valid.eq(1), s_bits.eq(new_bits)]
        return m


class WordAssembler(wiring.Component):
    """Blocks of four drawn bits -> the core's ``load`` words, in the word map's order.

    Holds one block (stage C) and, per cycle, consumes its lanes up to the first word boundary
    (the last column of a word or of a row), emitting the word there; a block with a boundary
    on lane 0..2 takes one cycle more (:func:`sample_cycles`).

    Members
    -------
    start : In(1); slot : In(unsigned)
        Begin a member for ``slot`` (sampled in this cycle) at W_in row 0.
    i : In(stream unsigned(4))
        The blocks in genome order.
    load : Out(stream {matrix, addr, data})
        As :class:`SampleUnit`'s.
    busy : Out(1)
        From ``start`` until the member's last ``load`` transfer.
    """

    def __init__(self, net: NetConfig, core: CoreConfig):
        self.net, self.core = net, core
        self.mats = _matrices(net, core)
        super().__init__({
            "start": In(1), "slot": In(unsigned(ceil_log2(core.slots))),
            "i": In(_stream(LANES)),
            "load": Out(stream.Signature(load_layout(net, core))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        running = Signal()
        m.d.comb += self.busy.eq(running | self.load.valid)
        c_valid, c_bits = Signal(), Signal(LANES)
        start = Signal(2)                      # first unconsumed lane of the block in C
        acc = Signal(self.core.word_bits)
        p = self._position(m)
        emit, e, adv, row_end = self._boundary(m, start, p.to_row, p.to_word)
        mat_end, last = Signal(), Signal()     # last: the genome's last connection
        m.d.comb += [mat_end.eq(row_end & (p.row == p.rows_cur)),
                     last.eq(mat_end & (p.matrix == len(self.mats) - 1))]
        word = self._word(m, c_bits, start, p.col, p.matrix, acc, p.to_row, p.to_word)

        out_free, step, drained = Signal(), Signal(), Signal()
        m.d.comb += [out_free.eq(~self.load.valid | self.load.ready),
                     step.eq(c_valid & (~emit | out_free)),
                     drained.eq(step & ((e == LANES - 1) | last)),
                     self.i.ready.eq(~c_valid | drained)]
        with m.If(self.load.valid & self.load.ready):
            m.d.sync += self.load.valid.eq(0)
        with m.If(self.i.ready):
            m.d.sync += [c_valid.eq(self.i.valid), c_bits.eq(self.i.payload)]

        with m.If(step):
            m.d.sync += start.eq(Mux(drained, 0, e + 1))
            with m.If(emit):
                m.d.sync += [acc.eq(0), self.load.valid.eq(1),
                             self.load.payload.matrix.eq(p.matrix),
                             self.load.payload.addr.eq(p.addr),
                             self.load.payload.data.eq(word),
                             p.addr.eq(p.addr + 1)]
            with m.Else():
                m.d.sync += acc.eq(word)
            self._advance(m, p, adv, row_end, mat_end)
            with m.If(last):
                m.d.sync += running.eq(0)

        with m.If(self.start):
            m.d.sync += [running.eq(1), p.slot.eq(self.slot),
                         p.matrix.eq(0), p.row.eq(0), p.col.eq(0), start.eq(0), acc.eq(0),
                         p.to_row.eq(self.mats[0][1] - 1), p.to_word.eq(self.core.word_bits - 1),
                         p.addr.eq(self._matrix_base(0, self.slot))]
        return m

    def _matrix_base(self, k, slot):
        """Address of matrix ``k``'s first word in ``slot``: a table of the slots' bases (a
        multiply by ``A * wpr``, 12 for Hopper's W_out, would put a DSP in the path)."""
        rows, _, wpr = self.mats[k]
        width = len(self.load.payload.addr)
        return Array(Const((s * rows * wpr) % (1 << width), width)
                     for s in range(1 << len(slot)))[slot]

    def _position(self, m):
        """The registers of the next lane's place: ``matrix``, ``row``, ``col``, the word
        address ``addr`` and the member's ``slot``; the distances from ``col`` to the row's and
        the word's last column (``to_row = cols - 1 - col``, ``to_word = W - 1 - col % W``),
        kept in registers so a boundary is a compare with a lane's offset (no adder before
        it); and the current matrix's last row and column (``rows_cur``, ``cols_cur``)."""
        mats, W = self.mats, self.core.word_bits
        col = Signal(range(max(c for _, c, _ in mats)), name="col")
        row = Signal(range(max(r for r, _, _ in mats)), name="row")
        p = SimpleNamespace(
            matrix=Signal(2, name="matrix"), row=row, col=col,
            addr=Signal.like(self.load.payload.addr, name="addr"),
            slot=Signal.like(self.slot, name="slot"),
            to_row=Signal.like(col, name="to_row"), to_word=Signal(ceil_log2(W), name="to_word"),
            cols_cur=Signal.like(col, name="cols_cur"), rows_cur=Signal.like(row, name="rows_cur"))
        with m.Switch(p.matrix):
            for k, (rows, cols, _) in enumerate(mats):
                with m.Case(k):
                    m.d.comb += [p.cols_cur.eq(cols - 1), p.rows_cur.eq(rows - 1)]
        return p

    def _advance(self, m, p, adv, row_end, mat_end):
        """Move the position past this cycle's ``adv`` lanes (inside ``m.If(step)``): to the
        next row after a row end, to the next matrix's first row after a matrix end."""
        mats = self.mats
        with m.If(row_end):
            m.d.sync += [p.col.eq(0), p.row.eq(p.row + 1), p.to_row.eq(p.cols_cur),
                         p.to_word.eq(self.core.word_bits - 1)]
            with m.If(mat_end):
                m.d.sync += [p.row.eq(0), p.matrix.eq(p.matrix + 1)]
                with m.Switch(p.matrix):
                    for k in range(len(mats) - 1):
                        with m.Case(k):
                            m.d.sync += [p.addr.eq(self._matrix_base(k + 1, p.slot)),
                                         p.to_row.eq(mats[k + 1][1] - 1)]
        with m.Else():
            m.d.sync += [p.col.eq(p.col + adv), p.to_row.eq(p.to_row - adv),
                         p.to_word.eq(p.to_word - adv)]

    def _boundary(self, m, start, to_row, to_word):
        """This cycle's group of lanes ``start .. e``: ``emit`` (lane ``e`` ends a word),
        ``e``, ``adv`` (lanes consumed) and ``row_end`` (lane ``e`` ends a row)."""
        bnd = Signal(LANES)       # boundary at lane l (only lanes >= start count)
        row_end_l = Signal(LANES)
        for lane in range(LANES):
            live = lane >= start
            d = Signal(2, name=f"d{lane}")           # the lane's column offset from `col`
            m.d.comb += [
                d.eq(lane - start),
                row_end_l[lane].eq(live & (to_row == d)),
                bnd[lane].eq(row_end_l[lane] | (live & (to_word == d))),
            ]
        emit, e, adv, row_end = Signal(), Signal(2), Signal(3), Signal()
        m.d.comb += [emit.eq(bnd.any()), e.eq(LANES - 1)]
        for lane in reversed(range(LANES)):   # the first boundary, else lane 3
            with m.If(bnd[lane]):
                m.d.comb += e.eq(lane)
        m.d.comb += [adv.eq(e - start + 1), row_end.eq(emit & row_end_l.bit_select(e, 1))]
        return emit, e, adv, row_end

    def _word(self, m, bits, start, col, matrix, acc, to_row, to_word):
        """``acc`` with the lanes from ``start`` on, realigned to lane 0 and placed at the word
        column, with no wait for the boundary decision: lanes after a word end fall off the
        word, lanes after a row end land past the row's last column, which the row's last word
        masks."""
        W = self.core.word_bits
        col_w = Signal(ceil_log2(W))
        m.d.comb += col_w.eq(col)
        last_mask = Signal(W)
        with m.Switch(matrix):
            for k, (_, cols, _) in enumerate(self.mats):
                with m.Case(k):
                    m.d.comb += last_mask.eq((1 << ((cols - 1) % W + 1)) - 1)
        placed, word = Signal(W), Signal(W)
        m.d.comb += [placed.eq(((bits >> start) << col_w)[:W] &
                               Mux(to_row <= to_word, last_mask, (1 << W) - 1)),
                     word.eq(acc | placed)]
        return word


class SampleUnit(wiring.Component):
    """Draw a member's connections on the device and stream them into the core's memories.

    Twin of :func:`ec_hw.model.sampler.sample_members` composed with the core word map
    (:func:`ec_hw.coremap.genome_to_words` + ``slot_words``): for ``cmd = (slot, gen_seed,
    member)`` the ``load`` transfers carry exactly the words of
    ``sample_members(gen_seed, [member], rho_q, layout)[0]`` for ``slot``.

    The unit owns the rho memory, 16 bits per connection packed into 72-bit words
    (:func:`rho_memory_depth`: 9 Threefry blocks per 8 words, so one read serves a block's
    four lanes and the parity bits of a 7-series block RAM hold rho too): 1.15 Mbit, 32
    RAMB36 at the default N=256 Hopper network.

    Parameters
    ----------
    net : NetConfig
    core : CoreConfig
        ``word_bits`` and ``slots`` set the ``load`` word map, as for the core.
    rounds_per_stage : int
        Passed to :class:`Threefry2x32` (default 1: a 20-stage pipeline).

    Members
    -------
    cmd : In(stream {slot: unsigned(ceil_log2(slots)), gen_seed: unsigned(32),
                     member: unsigned(32), antithetic: unsigned(1)})
        Sample member ``member`` of the generation whose seed is ``gen_seed``
        (:func:`ec_hw.model.sampler.generation_seed`) into member slot ``slot``
        (``slot < core.slots``; a larger value addresses words past the core's memories);
        with ``antithetic`` as one of a mirrored pair (``sample_members(...,
        antithetic=True)``: key ``member >> 1``, every 16-bit ``u`` inverted when ``member``
        is odd; the inversion is one XOR in front of the compare stage's block register).
        Accepted only while idle (``cmd.ready = ~busy``).
    rho_load : In(stream {addr: unsigned(ceil_log2(n_conn)), data: unsigned(16)})
        ``rho_q[addr] = data``: ``addr`` is the flat connection index (genome order, as in
        the protocol's ``LOAD_RHO``), ``data`` the quantized rho
        (:func:`ec_hw.model.sampler.quantize_rho`). Accepted only while idle
        (``rho_load.ready = ~busy``), one value per cycle; rho persists across members and
        reset. An ``addr >= n_conn`` is ignored. A write is a read-modify-write of one word
        (two for the 9th block of a period): ``ready`` drops for 7 (12) cycles after each
        transfer, still faster than the protocol's ``LOAD_RHO`` delivers values.
    load : Out(stream {matrix: unsigned(2), addr, data: unsigned(word_bits)})
        The core's ``load`` payload (:func:`load_layout`). W_in rows, then W_rec rows, then
        W_out rows, each row's words in order; padding bits are zero. Backpressure (``ready``
        low) stalls the unit without losing words.
    busy : Out(1)
        High from the ``cmd`` transfer until the member's last ``load`` transfer (``cmd``
        also waits for a pending ``rho_load`` write).

    Latency and throughput: :func:`sample_cycles` (one 4-connection block per cycle).

    Resources at the default N=256 Hopper network, W=64, ``rounds_per_stage=1`` (Yosys
    ``synth_xilinx``, xc7, with 64-bit rho words): 2360 LUT, 2852 FF, 276 CARRY4, no DSP;
    with ``rounds_per_stage=2``: 2015 LUT, 1562 FF. The Threefry pipeline is most of the
    logic (1663 LUT / 2516 FF at 1 round per stage). The rho memory in 72-bit words maps to
    32 RAMB36 (Yosys, in the Arty A7 device top; 36 with 64-bit words).

    Raises
    ------
    ValueError
        If ``rounds_per_stage`` does not divide 20.
    TypeError
        If ``net`` or ``core`` are not a NetConfig / CoreConfig.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, rounds_per_stage: int = 1):
        if not isinstance(net, NetConfig):
            raise TypeError(f"net must be a NetConfig, not {net!r}")
        if not isinstance(core, CoreConfig):
            raise TypeError(f"core must be a CoreConfig, not {core!r}")
        _check_rounds_per_stage(rounds_per_stage)
        self.net = net
        self.core = core
        self.rounds_per_stage = rounds_per_stage
        self.n_blocks = rho_word_count(net)
        self.cycles = sample_cycles(net, core, rounds_per_stage)
        super().__init__({
            "cmd": In(stream.Signature(data.StructLayout(
                {"slot": unsigned(ceil_log2(core.slots)), "gen_seed": unsigned(32),
                 "member": unsigned(32), "antithetic": unsigned(1)}))),
            "rho_load": In(stream.Signature(data.StructLayout(
                {"addr": unsigned(max(2, ceil_log2(net.n_conn))),
                 "data": unsigned(RHO_BITS)}))),
            "load": Out(stream.Signature(load_layout(net, core))),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.uniforms = src = UniformSource(self.n_blocks, self.rounds_per_stage)
        m.submodules.rho = rho = RhoStore(self.net)
        m.submodules.compare = cmp = CompareStage()
        m.submodules.assemble = asm = WordAssembler(self.net, self.core)
        wiring.connect(m, wiring.flipped(self.rho_load), rho.rho_load)
        wiring.connect(m, src.o, cmp.u)
        wiring.connect(m, rho.o, cmp.rho)
        wiring.connect(m, cmp.o, asm.i)
        wiring.connect(m, asm.load, wiring.flipped(self.load))
        # cmd waits for a pending rho_load write; rho_load waits for the member's end.
        p = self.cmd.payload
        go = Signal()
        m.d.comb += [self.busy.eq(asm.busy), rho.idle.eq(~asm.busy),
                     self.cmd.ready.eq(~asm.busy & ~rho.writing),
                     go.eq(self.cmd.valid & self.cmd.ready),
                     src.start.eq(go), rho.start.eq(go), asm.start.eq(go),
                     src.key.k0.eq(p.gen_seed),
                     src.key.k1.eq(Mux(p.antithetic, p.member >> 1, p.member)),
                     src.key.flip.eq(p.antithetic & p.member[0]),
                     asm.slot.eq(p.slot)]
        return m
