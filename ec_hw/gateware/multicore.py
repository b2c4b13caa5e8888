"""Several LIF cores behind the ports of one: :class:`CoreArray`.

A bigger part holds several :class:`~ec_hw.gateware.core.Core` instances; the protocol should
not notice. :class:`CoreArray` has exactly the ports (and the connection word map, see
``docs/core-interface.md``) of a single ``Core(net, core)`` with ``core.slots`` slots, and
splits those slots evenly among ``cores`` cores of ``core.slots // cores`` slots each: global
slot ``g`` lives in core ``g // S`` as its slot ``g % S``. A STEP starts every core in the
same cycle, so it takes the cycles of ``S`` slots instead of ``core.slots``.
"""

from __future__ import annotations

from dataclasses import replace

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .. import coremap
from ..config import CoreConfig, NetConfig
from .core import Core

__all__ = ["CoreArray"]


def _widen(layout: data.StructLayout, **fields) -> data.StructLayout:
    """``layout`` with some fields' shapes replaced (the same fields, in the same order)."""
    return data.StructLayout({name: fields.get(name, field.shape) for name, field in layout})


def _route(m: Module, value, bounds: list, name: str):
    """Which of ``len(bounds)`` ranges ``value`` falls in (``bounds[k]`` is the first value of
    range ``k``, ``bounds[0] == 0``), and its offset in that range. Comparators, no divider:
    the bounds need not be powers of two."""
    sel = Signal(range(max(2, len(bounds))), name=f"{name}_sel")
    base = Signal(len(value), name=f"{name}_base")
    for k, lo in enumerate(bounds):
        with m.If(value >= lo):
            m.d.comb += [sel.eq(k), base.eq(lo)]
    return sel, value - base


class CoreArray(wiring.Component):
    """``cores`` :class:`~ec_hw.gateware.core.Core` instances behind the ports of one core.

    Parameters
    ----------
    net : NetConfig
    core : CoreConfig
        The shape the ports present: ``core.slots`` slots in all. Each core gets
        ``core.slots // cores`` of them and the same lanes and widths.
    cores : int
        Number of cores (at least 2; ``core.slots`` must be a multiple).

    Members
    -------
    load, obs, cmd, act, dbg_req, dbg_resp, busy, cycles
        As :class:`~ec_hw.gateware.core.Core` with ``core.slots`` slots (the same layouts,
        the same global word map). ``load``, ``obs`` and a RESET of one slot go to the core
        holding that slot (combinational routing: comparators on the address or slot);
        STEP and RESET_ALL go to every core and are accepted once every core took them.
        ``act`` gives core 0's ``S*A`` actions, then core 1's, ..., with global slot numbers
        (slot-major, as one core). ``busy`` is any core busy; ``cycles`` is core 0's count,
        the STEP's cycles (:func:`~ec_hw.gateware.core.cycles_per_env_step` of one core).

    Raises
    ------
    ValueError
        ``"cores must be an integer of at least 2 dividing slots (6), not 4"``.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, cores: int):
        if not isinstance(net, NetConfig):
            raise TypeError(f"net must be a NetConfig, not {net!r}")
        if not isinstance(core, CoreConfig):
            raise TypeError(f"core must be a CoreConfig, not {core!r}")
        if isinstance(cores, bool) or not isinstance(cores, int) or cores < 2 or \
                core.slots % cores:
            raise ValueError(f"cores must be an integer of at least 2 dividing slots "
                             f"({core.slots}), not {cores!r}")
        self.net, self.core, self.n_cores = net, core, cores
        self.sub_cfg = replace(core, slots=core.slots // cores)
        self.cores = [Core(net, self.sub_cfg) for _ in range(cores)]
        c0 = self.cores[0]
        slot = unsigned(ceil_log2(core.slots))
        self.load_layout = _widen(c0.load_layout,
                                  addr=unsigned(coremap.addr_bits(net, core)))
        self.obs_layout = _widen(c0.obs_layout, slot=slot)
        self.cmd_layout = _widen(c0.cmd_layout, slot=slot)
        self.act_layout = _widen(c0.act_layout, slot=slot)
        self.dbg_layout = _widen(c0.dbg_layout, slot=slot)
        super().__init__({
            "load": In(stream.Signature(self.load_layout)),
            "obs": In(stream.Signature(self.obs_layout)),
            "cmd": In(stream.Signature(self.cmd_layout)),
            "act": Out(stream.Signature(self.act_layout)),
            "dbg_req": In(stream.Signature(self.dbg_layout)),
            "dbg_resp": Out(stream.Signature(c0.dbg_resp.payload.shape())),
            "busy": Out(1),
            "cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        K, S, A = self.n_cores, self.sub_cfg.slots, self.net.act_dim
        cores = self.cores
        for k, c in enumerate(cores):
            m.submodules[f"core{k}"] = c
        slot_bounds = [k * S for k in range(K)]

        # ---- load: the core whose address range holds the word -----------------------------
        ld = self.load.payload
        chunk = [coremap.matrix_depth(mx, self.net, self.sub_cfg) for mx in range(3)]
        ld_sel, ld_local = Signal(range(K)), Signal(len(ld.addr))
        ld_in = Signal()     # inside the K cores' ranges (else accepted and dropped)
        with m.Switch(ld.matrix):
            for mx in range(3):
                with m.Case(mx):
                    sel, local = _route(m, ld.addr, [k * chunk[mx] for k in range(K)],
                                        f"ld{mx}")
                    m.d.comb += [ld_sel.eq(sel), ld_local.eq(local),
                                 ld_in.eq(ld.addr < K * chunk[mx])]
        m.d.comb += self.load.ready.eq(~ld_in)
        for k, c in enumerate(cores):
            m.d.comb += [c.load.payload.matrix.eq(ld.matrix), c.load.payload.addr.eq(ld_local),
                         c.load.payload.data.eq(ld.data),
                         c.load.valid.eq(self.load.valid & ld_in & (ld_sel == k))]
            with m.If(ld_in & (ld_sel == k)):
                m.d.comb += self.load.ready.eq(c.load.ready)

        # ---- obs and dbg_req: the core holding the slot -------------------------------------
        for name in ("obs", "dbg_req"):
            port = getattr(self, name)
            sel, local = _route(m, port.payload.slot, slot_bounds, name)
            for k, c in enumerate(cores):
                sub = getattr(c, name)
                m.d.comb += [*(sub.payload[f].eq(port.payload[f])
                               for f, _ in sub.payload.shape() if f != "slot"),
                             sub.payload.slot.eq(local), sub.valid.eq(port.valid & (sel == k))]
                with m.If(sel == k):
                    m.d.comb += port.ready.eq(sub.ready)
            if name == "dbg_req":  # the response comes from the core that was asked
                dbg_core = Signal(range(max(2, K)))
                with m.If(port.valid & port.ready):
                    m.d.sync += dbg_core.eq(sel)
                for k, c in enumerate(cores):
                    with m.If(dbg_core == k):
                        wiring.connect(m, c.dbg_resp, wiring.flipped(self.dbg_resp))

        # ---- cmd: STEP and RESET_ALL to every core, RESET to one -----------------------------
        cmd = self.cmd.payload
        c_sel, c_local = _route(m, cmd.slot, slot_bounds, "cmd")
        broadcast = cmd.op != coremap.CoreOp.RESET
        taken = Signal(K)      # cores that accepted the command being offered
        done = Signal(K)
        for k, c in enumerate(cores):
            need = broadcast | (c_sel == k)
            m.d.comb += [c.cmd.payload.op.eq(cmd.op), c.cmd.payload.slot.eq(c_local),
                         c.cmd.valid.eq(self.cmd.valid & need & ~taken[k]),
                         done[k].eq(~need | taken[k] | c.cmd.ready)]
        m.d.comb += self.cmd.ready.eq(done.all())
        with m.If(self.cmd.valid):
            with m.If(self.cmd.ready):
                m.d.sync += taken.eq(0)
            with m.Else():
                m.d.sync += taken.eq(taken | Cat(c.cmd.valid & c.cmd.ready for c in cores))

        # ---- act: core 0's S*A actions, then core 1's, ... ------------------------------------
        cur = Signal(range(max(2, K)))
        n_act = Signal(range(S * A))
        for k, c in enumerate(cores):
            with m.If(cur == k):
                m.d.comb += [self.act.valid.eq(c.act.valid), c.act.ready.eq(self.act.ready),
                             self.act.payload.index.eq(c.act.payload.index),
                             self.act.payload.value.eq(c.act.payload.value),
                             self.act.payload.slot.eq(c.act.payload.slot + k * S)]
        with m.If(self.act.valid & self.act.ready):
            m.d.sync += n_act.eq(n_act + 1)
            with m.If(n_act == S * A - 1):
                m.d.sync += [n_act.eq(0), cur.eq(Mux(cur == K - 1, 0, cur + 1))]

        m.d.comb += [self.busy.eq(Cat(c.busy for c in cores).any()),
                     self.cycles.eq(cores[0].cycles)]
        return m
