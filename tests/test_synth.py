"""ec_hw.synth: Yosys synth_xilinx utilization of the LIF core and the cores-per-part count."""

from __future__ import annotations

import json

import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.synth import (
    PARTS,
    SynthError,
    Utilization,
    fit,
    main,
    parse_memories,
    parse_stat,
    synthesize,
)

# A Yosys `stat -json` report of a flattened design, as `tee -o` writes it.
_STAT = """\
{
   "creator": "Yosys 0.70",
   "invocation": "stat -json ",
   "modules": {
      "\\\\ec_hw_core": {
         "num_cells": 13,
         "num_cells_by_type": {
            "CARRY4": 3, "DSP48E1": 2, "FDRE": 4, "INV": 1, "LUT6": 1, "RAM64M": 1,
            "RAMB18E1": 1
         }
      }
   }
}
"""


def test_parse_stat_counts_lutram_and_inverters_as_luts():
    u = parse_stat(_STAT, "ec_hw_core")
    assert (u.logic_luts, u.lutram_luts, u.luts) == (2, 4, 6)
    assert (u.ffs, u.ramb36, u.ramb18, u.dsp, u.carry4) == (4, 0, 1, 2, 3)
    assert u.bram36_equiv == 0.5


def test_parse_memories():
    log = ("mapping memory ec_hw_core.w_rec0 via $__XILINX_BLOCKRAM_SDP_\n"
           "  some other line\n"
           "mapping memory ec_hw_core.state0 via $__XILINX_LUTRAM_SDP_\n")
    assert parse_memories(log) == {"w_rec0": "BLOCKRAM", "state0": "LUTRAM"}


def test_parse_stat_rejects_garbage():
    with pytest.raises(SynthError, match="no JSON"):
        parse_stat("ERROR: something")
    with pytest.raises(SynthError, match="no cell counts"):
        parse_stat('{"modules": {}}')


def test_fit_names_the_limiting_resource():
    part = PARTS["xc7a35t"]
    assert fit(Utilization({"LUT6": 2080, "FDRE": 100, "DSP48E1": 4}), part) == (10, "LUT")
    assert fit(Utilization({"LUT6": 100, "RAMB36E1": 4, "RAMB18E1": 2}), part) == (10, "BRAM")
    assert fit(Utilization({"LUT6": 100, "DSP48E1": 30}), part) == (3, "DSP48E1")
    with pytest.raises(SynthError, match="nothing was synthesized"):
        fit(Utilization({"CARRY4": 1}), part)


def test_cli_refuses_bad_configuration(capsys):
    with pytest.raises(SystemExit):
        main(["--lanes", "3"])
    assert "lanes must be a positive power of two, not 3" in capsys.readouterr().err


def test_small_core_synthesizes(tmp_path):
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=1, substeps=2)
    core = CoreConfig(lanes=1, word_bits=16)
    u = synthesize(net, core, workdir=tmp_path, timeout=900)
    assert u.logic_luts > 0 and u.ffs > 0 and u.carry4 > 0
    assert "ABC RESULTS:" in (tmp_path / "synth.log").read_text()  # ABC mapped the LUTs
    n, limit = fit(u, PARTS["xc7a35t"])
    assert n >= 1 and limit in ("LUT", "FF", "BRAM", "DSP48E1")


@pytest.mark.slow
def test_default_core_report(tmp_path, capsys):
    assert main(["--json", "--workdir", str(tmp_path)]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["luts"] > 0 and rep["ffs"] > 0 and rep["carry4"] > 0
    # The recurrent connection memories (one 256 x 64-bit bank per lane) must be block RAM.
    assert rep["ramb36"] + rep["ramb18"] > 0, rep
    banks = [m for m in rep["memories"] if m.startswith("w_rec")]
    assert banks and all(rep["memories"][m] == "BLOCKRAM" for m in banks), rep["memories"]
    assert rep["cores_fit"] >= 1
