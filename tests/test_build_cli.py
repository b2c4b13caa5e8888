"""``python -m ec_hw.build``: bad input is refused in one line before any work; the build's
``summary.json`` is a compact record (counts, percent of the part, Fmax, relative paths)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ec_hw
from ec_hw.build import (
    fmax_from_nextpnr,
    load_board,
    main,
    utilization_from_nextpnr,
    write_summary,
)
from ec_hw.config import CoreConfig, NetConfig

REPO = Path(ec_hw.__file__).resolve().parent.parent
EXCERPT = Path(__file__).parent / "data" / "nextpnr_ecp5_excerpt.log"


@pytest.mark.parametrize("argv,needle", [
    (["--neurons", "0"], "--neurons must be a positive integer"),
    (["--neurons", "7"], "--neurons must be at least 16"),
    (["--obs-dim", "0"], "--obs-dim must be a positive integer"),
    (["--act-dim", "-1"], "--act-dim must be a positive integer"),
    (["--neurons", "18"], "lanes must divide --neurons (18)"),
])
def test_bad_network_flags_are_one_line_exit_2(argv, needle, tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["--board", "arty_a7", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


def _build(*argv, path: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "ec_hw.build", *argv], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("board,needle", [("arty_a7", "Vivado"),
                                          ("ulx3s", "openFPGALoader")])
def test_program_without_the_tools_fails_before_building(board, needle, tmp_path):
    out = tmp_path / "b"
    p = _build("--board", board, "--program", "--out", str(out), path=str(tmp_path))
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "--program needs" in p.stderr and needle in p.stderr
    assert not out.exists()


def test_out_under_a_file_is_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    p = _build("--board", "ulx3s", "--out", str(f / "b"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--out" in p.stderr, p.stderr


def test_errors_are_not_buried_under_amaranth_warnings():
    p = _build("--board", "arty_a7", "--neurons", "18")
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def test_summary_from_a_nextpnr_log_is_compact_with_relative_paths(tmp_path):
    text = EXCERPT.read_text()
    board = load_board("ulx3s")
    net = NetConfig(n_neurons=64, obs_dim=4, act_dim=1)
    core = CoreConfig(slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    (tmp_path / "ec_hw_ulx3s.bit").write_bytes(b"bit")
    (tmp_path / "ec_hw_ulx3s.tim").write_text(text)
    s = write_summary(tmp_path, board, net, core, tool="nextpnr",
                      utilization=utilization_from_nextpnr(text),
                      fmax_mhz=fmax_from_nextpnr(text), bitstream=tmp_path / "ec_hw_ulx3s.bit",
                      reports={"nextpnr": tmp_path / "ec_hw_ulx3s.tim",
                               "yosys": tmp_path / "missing.rpt"})
    on_disk = (tmp_path / "summary.json").read_text()
    assert json.loads(on_disk) == s
    assert len(on_disk) < 2000
    assert s["bitstream"] == "ec_hw_ulx3s.bit"
    assert s["reports"] == {"nextpnr": "ec_hw_ulx3s.tim"}
    assert not any(v.startswith("/") for v in _strings(s))
    assert s["fmax_mhz"] == 295.42 and s["target_mhz"] == 100.0 and s["timing_met"]
    u = s["utilization"]
    assert u["TRELLIS_FF"] == {"used": 32, "available": 83640, "percent": 0.0}
    assert u["TRELLIS_IO"] == {"used": 9, "available": 365, "percent": 2.5}
    assert u["DP16KD"] == {"used": 0, "available": 208, "percent": 0.0}  # always listed
    assert "EHXPLLL" not in u  # unused resources are left out
    assert set(u) == {"TRELLIS_IO", "DCCA", "DP16KD", "MULT18X18D", "TRELLIS_FF",
                      "TRELLIS_COMB"}


@pytest.mark.slow
def test_arty_yosys_build_writes_a_compact_summary(tmp_path):
    """The Arty A7 path without Vivado: Yosys synth_xilinx of a small device top (minutes)."""
    out = tmp_path / "b"
    p = _build("--board", "arty_a7", "--neurons", "16", "--obs-dim", "4", "--act-dim", "1",
               "--out", str(out), timeout=3600)
    assert p.returncode == 0, p.stderr
    text = (out / "summary.json").read_text()
    s = json.loads(text)
    assert len(text) < 2000 and not any(v.startswith("/") for v in _strings(s))
    assert s["bitstream"] is None and s["part"] == "xc7a35t"
    assert s["reports"] == {"stat": "synth/utilization.txt", "log": "synth/yosys.log"}
    u = s["utilization"]
    assert set(u) == {"LUT", "FF", "RAMB36", "DSP48E1"}
    assert u["LUT"]["available"] == 20800 and 0 < u["LUT"]["used"] < 20800
    assert u["FF"]["percent"] == round(100 * u["FF"]["used"] / 41600, 1)


VIVADO = Path(__file__).parent / "data" / "vivado_timing_summary_excerpt.rpt"


def test_vivado_timing_summary_parses_wns_and_the_worst_path():
    from ec_hw.build import timing_from_vivado

    t = timing_from_vivado(VIVADO.read_text())
    assert (t["wns_ns"], t["tns_ns"], t["failing_endpoints"]) == (-0.412, -5.21, 23)
    assert t["start"] == "top/sampler/c_valid_reg/C"
    assert t["end"] == "top/sampler/threefry/s7_x0_reg[31]/CE"
    assert (t["requirement_ns"], t["delay_ns"], t["logic_ns"], t["routing_ns"]) == \
        (10.0, 9.987, 2.345, 7.642)
    assert timing_from_vivado("no summary here") is None


def test_vivado_script_fails_the_build_on_negative_wns():
    from ec_hw.build import vivado_timing_script

    tcl = vivado_timing_script("ec_hw_arty_a7")
    assert "report_timing_summary -max_paths 1 -file ec_hw_arty_a7_timing_summary_route.rpt" in tcl
    assert "if {$ec_hw_wns < 0}" in tcl and "exit 1" in tcl


def test_nextpnr_critical_path_and_fmax_of_a_failed_ulx3s_route():
    """A real nextpnr-ecp5 report (the ULX3S at 100 MHz before the rho memory was banked)."""
    from ec_hw.build import critical_path_from_nextpnr

    text = (Path(__file__).parent / "data" / "nextpnr_ecp5_critical_excerpt.log").read_text()
    assert fmax_from_nextpnr(text) == 65.04     # the post-route line ("ERROR: ..."), not 52.33
    c = critical_path_from_nextpnr(text)
    assert c["clock"] == "$glbnet$clock.clk"
    assert c["start"] == "top.sampler.rho.0.61.DOB5"
    assert c["end"].startswith("top.sampler.t2_word_")
    assert (c["delay_ns"], c["logic_ns"], c["routing_ns"]) == (15.37, 7.03, 8.34)
    assert critical_path_from_nextpnr("Info: nothing") is None
