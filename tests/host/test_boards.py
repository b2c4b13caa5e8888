"""Board settings, the build command's argument handling and report parsing, link budget."""

import subprocess
import sys

import pytest

from ec_hw.build import Board, fmax_from_nextpnr, load_board, main, supported_boards
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.protocol import WireFormat, step_time, step_wire_bytes


def test_boards_load_and_divisors():
    assert {"arty_a7", "ulx3s"} <= set(supported_boards())
    arty = load_board("arty_a7")
    assert arty.family == "xilinx7" and arty.divisor == 20 and arty.baud_error == 0
    ulx = load_board("ulx3s")
    assert ulx.family == "ecp5" and ulx.divisor == 100 and ulx.baud_error == 0.0
    # both sample on chip: the Arty's 35T holds the rho memory next to 2 slots (44.5 of its
    # 50 RAMB36, Yosys), the 85F next to 4
    assert arty.sampler and ulx.sampler and arty.slots == 2 and ulx.slots == 4


def test_unknown_board_exits_2_with_one_line(capsys):
    assert main(["--board", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("ec-hw: error: unknown board 'nope'; supported boards: ")
    assert "arty_a7" in err and "ulx3s" in err


def test_module_entry_point_unknown_board():
    res = subprocess.run([sys.executable, "-m", "ec_hw.build", "--board", "zedboard"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "supported boards" in res.stderr


def test_board_validation():
    with pytest.raises(ValueError, match="too fast"):
        Board(name="x", description="", family="ecp5", platform="m:C", clk_hz=10_000_000,
              baud=5_000_000)


def test_fmax_parser():
    log = ("Info: Max frequency for clock '$glbnet$clk': 48.31 MHz (PASS at 25.00 MHz)\n"
           "Info: Max frequency for clock '$glbnet$clk': 53.02 MHz (PASS at 25.00 MHz)\n")
    assert fmax_from_nextpnr(log) == 53.02
    assert fmax_from_nextpnr("nothing") is None


def test_link_budget_hopper():
    net = NetConfig()
    wire = WireFormat.of(net, CoreConfig(slots=4), 1032)
    req, rep = step_wire_bytes(wire, 4)
    # per member: 11 observations and 3 actions of 2 bytes; per frame: 8 + 8 bytes + mask
    assert (req, rep) == (8 + 1 + 4 * 22, 8 + 4 * 6)
    t = step_time(wire, 4, compute_s=0.0, baud=3_000_000)
    assert t == pytest.approx((req + rep) * 10 / 3e6)
