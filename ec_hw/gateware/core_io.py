"""The core's host-facing ports between streams and memories.

* :class:`LoadDecoder`: a ``load`` word to a write of the right lane's bank (``W_in``,
  ``W_rec``) or of the shared ``W_out`` memory, the cycle after it is accepted.
* :class:`ObsWriter`: an ``obs`` value to its column of the ``x_pos`` and ``x_neg`` memories,
  the cycle after it is accepted.
* :class:`DebugReadback`: the value a ``dbg_req`` asks for, from the lanes' state reads.

Addressing follows ``docs/core-interface.md``; :class:`ec_hw.gateware.core.Core` owns the
memories and wires these between its ports and the memories' write/read ports.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..coremap import DebugSel, Matrix
from .arith import divmod_const, times

__all__ = ["LoadDecoder", "ObsWriter", "DebugReadback"]


class LoadDecoder(wiring.Component):
    """Route a row-major ``load`` word to its lane's bank or to ``W_out``.

    Lane ``l`` keeps rows ``r`` with ``r % lanes == l`` at bank address
    ``(r // lanes) * words_per_row + w``. Words outside a matrix are accepted and dropped. The
    write is registered (it reaches up to 64 block RAMs of ``W_rec``), so it lands the cycle
    after the transfer; the core accepts ``load`` only while idle, so nothing reads it sooner.

    Members
    -------
    i : In(stream(load_layout))
        The core's ``load`` port; ready while ``enable``.
    enable : In(1)
    in_addr, in_en, rec_addr, rec_en : Out
        Bank address (every lane) and per-lane write enables of ``W_in`` / ``W_rec``.
    out_addr, out_en : Out
        ``W_out`` write.
    data : Out(word_bits)
        The word, for every write port.
    """

    def __init__(self, geom, load_layout):
        self.geom = geom
        s, lanes = geom.core.slots, geom.core.lanes
        super().__init__({
            "i": In(stream.Signature(load_layout)), "enable": In(1),
            "in_addr": Out(range(max(2, s * geom.per_lane * geom.wpr_in))),
            "in_en": Out(lanes),
            "rec_addr": Out(range(max(2, s * geom.per_lane * geom.wpr))), "rec_en": Out(lanes),
            "out_addr": Out(range(max(2, s * geom.net.act_dim * geom.wpr))), "out_en": Out(1),
            "data": Out(geom.core.word_bits),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        n, lanes, s = g.net.n_neurons, g.core.lanes, g.core.slots
        lane_bits = ceil_log2(lanes)
        m.d.comb += self.i.ready.eq(self.enable)
        m.d.sync += self.data.eq(self.i.payload.data)
        ok = self.i.valid & self.i.ready
        addr, mat = self.i.payload.addr, self.i.payload.matrix
        for matrix, per_row, bank_addr, en in ((Matrix.IN, g.wpr_in, self.in_addr, self.in_en),
                                               (Matrix.REC, g.wpr, self.rec_addr, self.rec_en)):
            row, word = divmod_const(addr, per_row)
            lane = row[:lane_bits] if lane_bits else Const(0, 1)
            hit = ok & (mat == matrix) & (addr < s * n * per_row)
            m.d.sync += [bank_addr.eq(times(row >> lane_bits, per_row) + word),
                         en.eq(Cat(*[hit & (lane == ln) for ln in range(lanes)]))]
        m.d.sync += [self.out_addr.eq(addr),
                     self.out_en.eq(ok & (mat == Matrix.OUT) &
                                    (addr < s * g.net.act_dim * g.wpr))]
        return m


class ObsWriter(wiring.Component):
    """Write ``x_q[index]`` of a slot to column ``index`` of ``x_pos`` and ``D + index`` of
    ``x_neg`` (``cols`` columns of ``obs_bits`` per memory word, byte-enable style), the cycle
    after the transfer (registered, like :class:`LoadDecoder`).

    Members
    -------
    i : In(stream(obs_layout))
        The core's ``obs`` port; ready while ``enable``. Indices ``>= D`` and slots ``>= S``
        are accepted and dropped.
    enable : In(1)
    pos_addr, pos_en, neg_addr, neg_en : Out
        Word address and per-column write enables of ``x_pos`` / ``x_neg``.
    data : Out(cols * obs_bits)
        The value replicated into every column.
    """

    def __init__(self, geom, obs_layout):
        self.geom = geom
        depth = range(max(2, geom.core.slots * geom.chunks))
        super().__init__({
            "i": In(stream.Signature(obs_layout)), "enable": In(1),
            "pos_addr": Out(depth), "pos_en": Out(geom.cols),
            "neg_addr": Out(depth), "neg_en": Out(geom.cols),
            "data": Out(geom.cols * geom.core.obs_bits),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        cols, d_dim = g.cols, g.net.obs_dim
        p = self.i.payload
        m.d.comb += self.i.ready.eq(self.enable)
        m.d.sync += self.data.eq(Cat(*([p.value] * cols)))
        ok = self.i.valid & self.i.ready & (p.index < d_dim) & (p.slot < g.core.slots)
        col_bits = ceil_log2(cols)
        for addr, en, col in ((self.pos_addr, self.pos_en, p.index),
                              (self.neg_addr, self.neg_en, p.index + d_dim)):
            m.d.sync += [addr.eq(times(p.slot, g.chunks) + (col >> col_bits)),
                         en.eq(Mux(ok, Const(1, cols) << col[:col_bits], 0))]
        return m


class DebugReadback(wiring.Component):
    """The ``dbg_resp`` value for ``(slot, sel, addr)`` (:class:`ec_hw.coremap.DebugSel`).

    Members
    -------
    slot, sel, addr : In
        The registered debug request.
    v, i_syn, rate, i_in : In(...).array(lanes)
        Every lane's state read (the core addresses neuron ``addr``'s bank row).
    spikes : In(n_neurons)
        The slot's spike vector (spike RAM read).
    resp : Out(signed(32))
        Sign-extended value; 0 for neurons, spike words or slots out of range.
    """

    def __init__(self, geom, slot_shape):
        self.geom = geom
        fp, lanes = geom.fp, geom.core.lanes
        sb = fp.state_bits
        super().__init__({
            "slot": In(slot_shape), "sel": In(3), "addr": In(16),
            "v": In(signed(sb)).array(lanes), "i_syn": In(signed(sb)).array(lanes),
            "rate": In(unsigned(fp.rate_bits)).array(lanes), "i_in": In(signed(sb)).array(lanes),
            "spikes": In(geom.net.n_neurons),
            "resp": Out(signed(32)),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geom
        n, lanes, s_cnt = g.net.n_neurons, g.core.lanes, g.core.slots
        lane_bits = ceil_log2(lanes)
        addr, slot = self.addr, self.slot
        lane = addr[:lane_bits] if lane_bits else Const(0, 1)
        n_words = -(-n // 32)
        words = Cat(self.spikes, Const(0, n_words * 32 - n)) if n_words * 32 > n else self.spikes
        neuron_ok = (addr < n) & (slot < s_cnt)
        with m.Switch(self.sel):
            for sel, values in ((DebugSel.V, self.v), (DebugSel.I_SYN, self.i_syn),
                                (DebugSel.RATE, self.rate), (DebugSel.I_IN, self.i_in)):
                with m.Case(sel):
                    m.d.comb += self.resp.eq(Mux(neuron_ok, Array(values)[lane], 0))
            with m.Case(DebugSel.SPIKES):
                word = words.word_select(addr[:max(1, ceil_log2(n_words))], 32)
                m.d.comb += self.resp.eq(Mux((addr < n_words) & (slot < s_cnt),
                                             word.as_signed(), 0))
        return m
