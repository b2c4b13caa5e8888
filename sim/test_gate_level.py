"""Gate-level equivalence: the netlists Yosys makes of the core and the device top, simulated
with the vendor cell models in the same cocotb benches, bit-exact against the golden model.

:mod:`gate_level` synthesizes the Amaranth Verilog with ``synth_ecp5`` (ULX3S) or
``synth_xilinx`` (Arty A7) and compiles the netlist with the cells' simulation models; the
benches (:mod:`core_bench`, :mod:`top_bench`) and the golden-model expectations are those of
``test_rtl_core.py`` and ``test_top_rtl.py``, unchanged.

The default run keeps one small core (N = 16, two lanes, 16-bit words, LUT RAM) through one
random case with resets (40 env steps) on the ECP5 flow, and a block-RAM probe (the memory
shapes the gateware uses, as DP16KD; on Xilinx as RAMB18E1/RAMB36E1) against a plain-Python
reference; ``-m slow`` runs both on
the Xilinx flow too, and every random and corner case of the two-slot Humanoid-sized core that
the RTL's default run uses (block RAM, multipliers), one random case of the default Hopper core
(N = 256, 4 lanes), and the device top over its UART, on both flows. Random cases run 40 env
steps here (resets included), the corner cases 10.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import zlib

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from bench_io import run_bench
from gate_level import MissingModelError, cell_types, flow, model_files, model_modules
from hdl_build import build
from test_rtl_core import ALL_CASES, HOPPER, HUMANOID, Cfg, run_case
from test_top_rtl import CONFIGS as TOP_CONFIGS
from test_top_rtl import run_top

from ec_hw.tools import verilator_bin_dir

FLOWS = ("ecp5", "xilinx")

SMALL = Cfg(16, 2, (3, 2), word=16)
GATE_RANDOM_STEPS = 40
SLOW_CORE = [(Cfg(64, 2, HUMANOID, slots=2), case) for case in ALL_CASES]
SLOW_CORE += [(Cfg(256, 4, HOPPER), "random_p50")]


# --- block RAM --------------------------------------------------------------------------------
# The small core keeps its memories in LUT RAM; the larger cores and the top use block RAM
# (DP16KD, RAMB18E1/RAMB36E1). A probe with one memory per shape the gateware uses (a write
# port, with or without granularity, and a synchronous read port with an enable) checks the
# block-RAM models on their own, fast enough for the default run: initial contents, byte
# enables, read enable, and reads of the word being written (the old word, or the new one for a
# transparent port). Found 2026-11-30: Yosys's DP16KD model was an empty blackbox, every read
# returned 0 and only the N = 64 core showed it; 2026-12-01 the same for RAMB18E1/RAMB36E1.


@dataclasses.dataclass(frozen=True)
class Mem:
    name: str
    width: int
    depth: int
    granularity: int | None = None
    transparent: bool = False


PROBE_MEMS = (
    Mem("m36", 36, 512, granularity=9),  # the core's wide connection/state words: 512 x 36
    Mem("m18", 18, 1024),                 # 1024 x 18, no byte enables
    Mem("m9", 9, 2048, transparent=True),  # 2048 x 9, read port transparent to the write
    Mem("m48", 48, 512, granularity=16),  # 16-bit columns, as the observation words x_pos/x_neg
    Mem("m60", 60, 704),  # deeper than 512 words, as W_in at N = 64 (RAMB36E1 TDP x36 pairs)
)


def _init(mem: Mem) -> list[int]:
    rng = np.random.default_rng(zlib.crc32(mem.name.encode()))
    return [int(x) for x in rng.integers(0, 1 << mem.width, mem.depth, dtype=np.uint64)]


class MemoryProbe(wiring.Component):
    """Memories of :data:`PROBE_MEMS`, each with its ports as top-level signals."""

    def __init__(self, mems=PROBE_MEMS):
        self.mems = mems
        members = {}
        for mm in mems:
            gran = mm.width // (mm.granularity or mm.width)
            members |= {f"{mm.name}_wen": In(gran), f"{mm.name}_waddr": In(range(mm.depth)),
                        f"{mm.name}_wdata": In(mm.width), f"{mm.name}_ren": In(1),
                        f"{mm.name}_raddr": In(range(mm.depth)),
                        f"{mm.name}_rdata": Out(mm.width)}
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        for mm in self.mems:
            m.submodules[mm.name] = mem = memory.Memory(shape=mm.width, depth=mm.depth,
                                                        init=_init(mm))
            wr = mem.write_port(granularity=mm.granularity)
            rd = mem.read_port(transparent_for=(wr,) if mm.transparent else ())
            port = {k: getattr(self, f"{mm.name}_{k}") for k in
                    ("wen", "waddr", "wdata", "ren", "raddr", "rdata")}
            m.d.comb += [wr.en.eq(port["wen"]), wr.addr.eq(port["waddr"]),
                         wr.data.eq(port["wdata"]), rd.en.eq(port["ren"]),
                         rd.addr.eq(port["raddr"]), port["rdata"].eq(rd.data)]
        return m


def probe_case(mems, cycles: int, seed: int) -> dict[str, np.ndarray]:
    """Random stimulus (many reads of the word being written) and the expected read data:
    Amaranth's semantics, a plain-Python reference."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for mm in mems:
        gran = mm.width // (mm.granularity or mm.width)
        g_bits = mm.granularity or mm.width
        hot = rng.integers(0, mm.depth, 4)  # a few addresses hit often: collisions
        waddr, raddr = (np.where(rng.random(cycles) < 0.5, rng.choice(hot, cycles),
                                 rng.integers(0, mm.depth, cycles)) for _ in range(2))
        same = rng.random(cycles) < 0.3
        raddr[same] = waddr[same]
        wen = np.where(rng.random(cycles) < 0.6, rng.integers(0, 1 << gran, cycles), 0)
        wdata = rng.integers(0, 1 << mm.width, cycles, dtype=np.uint64).astype(np.int64)
        ren = (rng.random(cycles) < 0.8).astype(np.int64)
        contents, out = _init(mm), 0
        exp = np.zeros(cycles, np.int64)
        for t in range(cycles):
            old = contents[raddr[t]]
            for g in range(gran):
                if (wen[t] >> g) & 1:
                    mask = ((1 << g_bits) - 1) << (g * g_bits)
                    a = int(waddr[t])
                    contents[a] = (contents[a] & ~mask) | (int(wdata[t]) & mask)
            if ren[t]:
                out = contents[raddr[t]] if mm.transparent else old
            exp[t] = out
        arrays |= {f"{mm.name}_wen": wen, f"{mm.name}_waddr": waddr, f"{mm.name}_wdata": wdata,
                   f"{mm.name}_ren": ren, f"{mm.name}_raddr": raddr, f"{mm.name}_exp": exp}
    return arrays


BRAM_CELLS = {"ecp5": {"DP16KD"}, "xilinx": {"RAMB18E1", "RAMB36E1"}}


def test_cells_without_a_model_are_refused(tmp_path):
    netlist = tmp_path / "netlist.v"
    netlist.write_text("module top(input clk, output q);\n  wire [1:0] w;\n"
                       "  DP16KD #(\n    .DATA_WIDTH_A(32'd18)\n  ) \\mem.0.0  (\n"
                       "    .CLKA(clk)\n  );\n  LUT4 _1_ (\n    .A(clk),\n    .Z(q)\n  );\n"
                       "  assign w = 2'h0;\nendmodule\n")
    assert cell_types(netlist) == {"DP16KD", "LUT4"}
    flow("ecp5").check_models(netlist)
    # Yosys's own ECP5 models: DP16KD there is an empty blackbox (what main simulated before).
    yosys_only = dataclasses.replace(flow("ecp5"), models=("lattice/cells_sim_ecp5.v",))
    with pytest.raises(MissingModelError, match="DP16KD"):
        yosys_only.check_models(netlist)
    no_lut = dataclasses.replace(flow("ecp5"), models=("sim:ecp5_dp16kd.v",))
    with pytest.raises(MissingModelError, match="LUT4"):
        no_lut.check_models(netlist)


def test_declarations_without_behaviour_are_refused(tmp_path):
    # Yosys's xilinx/cells_sim.v declares RAMB18E1/RAMB36E1 with ports, parameters and timing
    # checks only, no `(* blackbox *)`: compiled, they read 0 (the N = 64 Xilinx all-zero
    # actions, found 2026-12-01). The flow replaces them with sim/models/xilinx_ramb.v.
    netlist = tmp_path / "netlist.v"
    netlist.write_text("module top(input clk, output [31:0] q);\n  RAMB36E1 #(\n"
                       "    .RAM_MODE(\"TDP\")\n  ) \\mem.0.0  (\n    .CLKARDCLK(clk),\n"
                       "    .DOADO(q)\n  );\n  RAMB18E1 _1_ (\n    .CLKARDCLK(clk)\n  );\n"
                       "  LUT2 #(\n    .INIT(4'h8)\n  ) _2_ (\n    .I0(clk),\n    .I1(clk),\n"
                       "    .O(q[0])\n  );\nendmodule\n")
    assert cell_types(netlist) == {"RAMB36E1", "RAMB18E1", "LUT2"}
    yosys_only = dataclasses.replace(flow("xilinx"), models=("xilinx/cells_sim.v",),
                                     replaces=())
    with pytest.raises(MissingModelError, match="RAMB18E1, RAMB36E1"):
        yosys_only.check_models(netlist)
    flow("xilinx").check_models(netlist)
    sources = flow("xilinx").model_sources(tmp_path)
    cut = model_modules([sources[0]])
    assert "RAMB36E1" not in cut and "RAMB18E1" not in cut and cut["LUT2"] and cut["DSP48E1"]
    assert model_modules([sources[1]]) == {"RAMB36E1": True, "RAMB18E1": True}


def test_model_includes_are_compiled_and_keyed(tmp_path, monkeypatch):
    # xilinx_ramb.v includes xilinx_ramb_common.vh in the body of each module: Verilator must
    # find it (it looks in the -I folders only, not next to xilinx_ramb.v), and a change to it
    # must change the build cache key like a change to xilinx_ramb.v does.
    xilinx = flow("xilinx")
    ramb = xilinx.model_paths()[1]
    common = ramb.parent / "xilinx_ramb_common.vh"
    assert model_files([ramb], xilinx.include_paths()) == [common, ramb]
    subprocess.run([str(verilator_bin_dir() / "verilator"), "--lint-only", "-Wno-fatal",
                    "-Wno-lint", "-Wno-style", "-Wno-MULTITOP",
                    *(f"-I{p}" for p in xilinx.include_paths()), str(ramb)],
                   cwd=tmp_path, check=True, capture_output=True)
    models = tmp_path / "models"
    shutil.copytree(ramb.parent, models)
    monkeypatch.setattr("gate_level._MODELS", models)
    key = xilinx.ident()
    assert xilinx.ident() == key
    with open(models / common.name, "a") as f:
        f.write("// changed\n")
    assert xilinx.ident() != key


@pytest.mark.parametrize("flow", [
    None,  # the reference itself, on the Amaranth Verilog
    "ecp5",
    pytest.param("xilinx", marks=pytest.mark.slow),
])
def test_block_ram_netlist_matches_reference(flow):
    hdl = build(MemoryProbe(), name="memory_probe", netlist=flow)
    if flow is not None:
        cells = cell_types(hdl.build_dir / "synth" / "netlist.v")
        assert cells & BRAM_CELLS[flow], f"no block RAM in the {flow} netlist: {sorted(cells)}"
    cycles = 3000
    run_bench(hdl, "memory_bench", run_name="random",
              params={"mems": [mm.name for mm in PROBE_MEMS], "cycles": cycles},
              arrays=probe_case(PROBE_MEMS, cycles, seed=1))


class BankProbe(wiring.Component):
    """A :class:`~ec_hw.gateware.banked.BankedMemory` with its ports named as
    :mod:`memory_bench` drives a probe memory (``b_wen``, ``b_waddr``, ...)."""

    def __init__(self, width, depth, primitive):
        self.width, self.depth, self.primitive = width, depth, primitive
        super().__init__({"b_wen": In(1), "b_waddr": In(range(depth)), "b_wdata": In(width),
                          "b_ren": In(1), "b_raddr": In(range(depth)), "b_rdata": Out(width)})

    def elaborate(self, platform):
        from ec_hw.gateware.banked import BankedMemory
        m = Module()
        m.submodules.mem = mem = BankedMemory(self.width, self.depth, primitive=self.primitive)
        m.d.comb += [mem.w_en.eq(self.b_wen), mem.w_addr.eq(self.b_waddr),
                     mem.w_data.eq(self.b_wdata), mem.r_en.eq(self.b_ren),
                     mem.r_addr.eq(self.b_raddr), self.b_rdata.eq(mem.r_data)]
        return m


def test_dp16kd_banks_match_the_memory_banks():
    """The sampler's rho memory on an ECP5 (banks of DP16KD instantiated with their output
    register, REGMODE_B "OUTREG", which Yosys's mapping never uses) reads, cycle for cycle, what
    the lib.memory banks read in Amaranth's simulator: 60-bit words (two DP16KD per bank, the
    second partly used; the rho memory's 72 bits fill both), 9 banks in two port-copy groups,
    random reads and writes, many of recently written words."""
    from amaranth.sim import Simulator

    width, depth, n = 60, 9 * 512 - 100, 3000
    rng = np.random.default_rng(7)
    hot = rng.integers(0, depth, 8)             # words written and read often

    def near(p):
        return np.where(rng.random(n) < p, rng.choice(hot, n), rng.integers(0, depth, n))

    # every word written once (no reads), then random reads and writes
    stim = {"wen": np.r_[np.ones(depth), rng.random(n) < 0.4],
            "waddr": np.r_[np.arange(depth), near(0.4)],
            "wdata": np.r_[rng.integers(0, 1 << width, depth), rng.integers(0, 1 << width, n)],
            "ren": np.r_[np.zeros(depth), rng.random(n) < 0.7],
            "raddr": np.r_[np.zeros(depth), near(0.4)]}
    stim = {k: v.astype(np.int64) for k, v in stim.items()}
    cycles = depth + n
    ref = BankProbe(width, depth, None)
    exp = []

    async def tb(ctx):
        for t in range(cycles):
            for k in ("wen", "waddr", "wdata", "ren", "raddr"):
                ctx.set(getattr(ref, f"b_{k}"), int(stim[k][t]))
            await ctx.tick()
            exp.append(ctx.get(ref.b_rdata))

    sim = Simulator(ref)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    assert len(set(exp[depth:])) > n // 4      # the reference reads varied words
    hdl = build(BankProbe(width, depth, "dp16kd"), name="dp16kd_banks", netlist="ecp5")
    assert "DP16KD" in cell_types(hdl.build_dir / "synth" / "netlist.v")
    arrays = {f"b_{k}": np.asarray(stim[k], dtype=np.int64) for k in stim}
    arrays["b_exp"] = np.asarray(exp, dtype=np.int64)
    run_bench(hdl, "memory_bench", run_name="dp16kd",
              params={"mems": ["b"], "cycles": cycles}, arrays=arrays)


class RAMProbe(wiring.Component):
    """Two :class:`~ec_hw.gateware.bram.RegisteredRAM` with initial contents, named ``a`` and
    ``b`` as :mod:`memory_bench` drives probe memories (``a_wen``, ``a_waddr``, ...; ``*_ren``
    is unused: the registered RAM reads every cycle)."""

    def __init__(self, geometry, primitive, inits):
        self.geometry, self.primitive, self.inits = geometry, primitive, inits
        ports = {}
        for name, (width, depth) in geometry.items():
            ports |= {f"{name}_wen": In(1), f"{name}_waddr": In(range(depth)),
                      f"{name}_wdata": In(width), f"{name}_ren": In(1),
                      f"{name}_raddr": In(range(depth)), f"{name}_rdata": Out(width)}
        super().__init__(ports)

    def elaborate(self, platform):
        from ec_hw.gateware.bram import RegisteredRAM
        m = Module()
        for name, (width, depth) in self.geometry.items():
            m.submodules[name] = ram = RegisteredRAM(width, depth, init=self.inits[name],
                                                     primitive=self.primitive)
            p = {k: getattr(self, f"{name}_{k}") for k in ("wen", "waddr", "wdata", "raddr")}
            m.d.comb += [ram.w_en.eq(p["wen"]), ram.w_addr.eq(p["waddr"]),
                         ram.w_data.eq(p["wdata"]), ram.r_addr.eq(p["raddr"]),
                         getattr(self, f"{name}_rdata").eq(ram.r_data)]
        return m


def test_dp16kd_registered_rams_match_the_memory_twin():
    """The core's lane memories on an ECP5 (DP16KD with the output register: the 36-bit mode up
    to 512 words, the 18-bit true dual port mode up to 1024, initialized from INITVAL as
    ``ec-hw deploy`` initializes W_in / W_rec) read, cycle for cycle, what the ``lib.memory``
    twin (a read port and a register) reads in Amaranth's simulator: every initial word read
    back first, then random reads and writes, many of recently written words."""
    from amaranth.sim import Simulator

    geometry = {"a": (50, 300), "b": (40, 1000)}    # 2 x 36-bit, 3 x 18-bit columns
    n = 2500
    rng = np.random.default_rng(11)
    inits, stim = {}, {}
    for name, (width, depth) in geometry.items():
        inits[name] = [int(v) for v in rng.integers(0, 1 << width, depth - 7)]  # top: zeros
        hot = rng.integers(0, depth, 8)

        def near(p, depth=depth, hot=hot):
            return np.where(rng.random(n) < p, rng.choice(hot, n), rng.integers(0, depth, n))

        # every word read once (the initial contents), then random reads and writes
        stim[name] = {"wen": np.r_[np.zeros(depth), rng.random(n) < 0.4],
                      "waddr": np.r_[np.zeros(depth), near(0.4)],
                      "wdata": np.r_[np.zeros(depth), rng.integers(0, 1 << width, n)],
                      "ren": np.ones(depth + n),
                      "raddr": np.r_[np.arange(depth), near(0.4)]}
    cycles = max(depth for _, depth in geometry.values()) + n
    for name in geometry:        # pad the shorter stimulus with idle reads of word 0
        stim[name] = {k: np.r_[v, np.zeros(cycles - len(v))].astype(np.int64)
                      for k, v in stim[name].items()}
    ref = RAMProbe(geometry, "memory", inits)
    exp = {name: [] for name in geometry}

    async def tb(ctx):
        await ctx.tick()      # the bench's first clock edge, before its stimulus (inputs 0)
        for t in range(cycles):
            for name in geometry:
                for k in ("wen", "waddr", "wdata", "raddr"):
                    ctx.set(getattr(ref, f"{name}_{k}"), int(stim[name][k][t]))
            await ctx.tick()
            for name in geometry:
                exp[name].append(ctx.get(getattr(ref, f"{name}_rdata")))

    sim = Simulator(ref)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    for name, (_, depth) in geometry.items():       # the twin itself: init read back
        assert exp[name][1:depth - 6] == inits[name][:depth - 7]
    hdl = build(RAMProbe(geometry, "dp16kd", inits), name="dp16kd_rams", netlist="ecp5")
    assert "DP16KD" in cell_types(hdl.build_dir / "synth" / "netlist.v")
    arrays = {f"{name}_{k}": np.asarray(v, dtype=np.int64)
              for name in geometry for k, v in stim[name].items()}
    arrays |= {f"{name}_exp": np.asarray(exp[name], dtype=np.int64) for name in geometry}
    run_bench(hdl, "memory_bench", run_name="dp16kd_rams",
              params={"mems": list(geometry), "cycles": cycles}, arrays=arrays)


# --- the core and the top ---------------------------------------------------------------------


@pytest.mark.parametrize("flow", [
    "ecp5",
    # synth_xilinx alone takes minutes even for this core on a loaded 2-core machine
    pytest.param("xilinx", marks=pytest.mark.slow),
])
def test_small_core_netlist_matches_golden_model(flow):
    run_case(SMALL, "random_p50", netlist=flow, steps=GATE_RANDOM_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("cfg,case", [pytest.param(c, k, id=f"{c.id}-{k}")
                                      for c, k in SLOW_CORE])
def test_core_netlist_matrix(cfg, case, flow):
    # Random cases for 40 env steps (the resets inside included) instead of the RTL's 100: a
    # gate-level netlist simulates at a few hundred cycles per CPU-second here.
    run_case(cfg, case, netlist=flow, steps=GATE_RANDOM_STEPS if case.startswith("random")
             else None)


# Yosys 0.70's ABC9 asserts on this core (docs/gate-level.md, "Known limits"); without ABC9
# it synthesizes, and its netlist must still equal the golden model.
ONE_LANE = Cfg(16, 1, (3, 2), word=16)


@pytest.mark.slow
def test_one_lane_core_netlist_without_abc9():
    run_case(ONE_LANE, "random_p50", netlist="ecp5-noabc9", steps=GATE_RANDOM_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("net,core,steps", [p for p in TOP_CONFIGS if not p.marks])
def test_top_netlist_matches_golden_model(net, core, steps, flow):
    run_top(net, core, steps, netlist=flow)
