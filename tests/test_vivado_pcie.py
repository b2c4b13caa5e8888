"""The PCIe boards and their Vivado project: board settings against amaranth-boards, the block
design TCL (XDMA IP in AXI-Stream mode), pins from the board resources, the RTL's AXI-Stream
port names, slack parsing; the no-Vivado build path (Yosys) as a slow test."""

import json
import shutil
from dataclasses import replace

import pytest

from ec_hw.boardsim_pcie import board_clocks, half_periods_ps
from ec_hw.build import Board, _platform, board_core, load_board, main, supported_boards
from ec_hw.config import NetConfig
from ec_hw.gateware.axis import XDMA_LINKS
from ec_hw.gateware.clocking import mmcm_params
from ec_hw.synth import PARTS
from ec_hw.vivado_pcie import (
    TOP,
    axis_clock_hz,
    board_pins,
    core_mmcm,
    core_modules,
    pcie_files,
    wns_from_report,
    yosys_script,
)

SMALL = NetConfig(n_neurons=32, obs_dim=3, act_dim=2)


@pytest.mark.parametrize("name,part", [("nitefury", "xc7a200t"), ("litefury", "xc7a100t")])
def test_pcie_boards_match_amaranth_boards(name, part):
    assert name in supported_boards()
    board = load_board(name)
    platform = _platform(board)
    assert (board.device, board.package) == (platform.device, platform.package) == \
        (part, board.package)
    assert board.link == "pcie" and board.sampler and board.device in PARTS
    assert (board.pcie_lanes, board.pcie_gen) == (4, 2)
    assert (board.pcie_lanes, board.pcie_gen) in XDMA_LINKS
    assert axis_clock_hz(board) == 250_000_000 and board.axis_bits == 64
    assert board.cores > 1 and board.slots % board.cores == 0
    assert board_core(board).slots == board.slots   # the host sees every core's slots
    pins = board_pins(platform)
    # the M.2 edge of both cards (amaranth-boards' "pcie" resource)
    assert pins["refclk_p"] == ["F6"] and pins["perst_n"] == ["J1"]
    assert pins["rx_p"] == ["B10", "B8", "D11", "D9"]
    # the part's speed grade is amaranth-boards' (-2 on both cards), and the project uses it
    assert platform.speed == "2"


@pytest.mark.parametrize("name", ["nitefury", "litefury"])
def test_pcie_core_clock_is_60_mhz_from_the_200_mhz_oscillator(name):
    # 60 MHz: below the only routed evidence for this core and sampler (nextpnr-ecp5, 65.04
    # MHz), as the Arty's; the same MMCM search as the Arty's CoreClock
    board = load_board(name)
    assert (board.osc_hz, board.clk_hz) == (200_000_000, 60_000_000)
    s = core_mmcm(board)
    assert s == mmcm_params(200_000_000, 60_000_000)
    assert (s.in_div, s.mult, s.out_div) == (2, 9, 15) and s.f_vco == 900e6
    assert board_clocks(board) == (250_000_000, 60_000_000)


def test_pcie_board_clock_validation():
    kw = dict(name="x", description="", family="xilinx7", platform="m:C", link="pcie")
    with pytest.raises(ValueError, match="no MMCME2_BASE setting makes exactly 61.234 MHz "
                                         "from 200 MHz"):
        Board(**kw, osc_hz=200_000_000, clk_hz=61_234_000)
    with pytest.raises(ValueError, match="board x: a PCIe board needs osc_hz"):
        core_mmcm(Board(**kw, clk_hz=60_000_000))


def test_virtual_board_half_periods():
    assert half_periods_ps((250_000_000, 60_000_000)) == (2000, 8333)
    assert half_periods_ps((250_000_000, 100_000_000)) == (2000, 5000)
    with pytest.raises(ValueError, match="clocks must be positive"):
        half_periods_ps((250_000_000, 0))


def test_bigger_part_holds_more_cores():
    nite, lite = load_board("nitefury"), load_board("litefury")
    assert nite.cores > lite.cores and nite.slots > lite.slots


def test_board_validation_of_link_and_cores():
    kw = dict(name="x", description="", family="xilinx7", platform="m:C", clk_hz=100_000_000)
    with pytest.raises(ValueError, match="link must be 'uart' or 'pcie', not 'usb'"):
        Board(**kw, link="usb")
    with pytest.raises(ValueError, match=r"cores must be a positive integer dividing slots "
                                         r"\(6\), not 4"):
        Board(**kw, link="pcie", slots=6, cores=4)
    assert Board(**kw, link="pcie", slots=8, cores=4).divisor == 0   # no UART, no baud


def test_pcie_project_files(tmp_path):
    board = replace(load_board("nitefury"), slots=4, cores=2)   # a smaller device, same files
    core = board_core(board)
    top, tcl = pcie_files(board, SMALL, core, tmp_path, platform=_platform(board))
    text = tcl.read_text()
    for needle in ("create_project -force ec_hw_nitefury ./vivado -part xc7a200tfbg484-2",
                   "xilinx.com:ip:xdma xdma_0", "CONFIG.xdma_axi_intf_mm {AXI_Stream}",
                   "CONFIG.pl_link_cap_max_link_width {X4}",
                   "CONFIG.pl_link_cap_max_link_speed {5.0_GT/s}",
                   "CONFIG.axi_data_width {64_bit}", "CONFIG.axisten_freq {250}",
                   "C_BUF_TYPE IBUFDSGTE", "xdma_0/sys_rst_n",
                   "create_bd_cell -type module -reference ec_hw_pcie_top ec_hw",
                   "[get_bd_intf_pins xdma_0/M_AXIS_H2C_0] [get_bd_intf_pins ec_hw/s_axis_h2c]",
                   "[get_bd_intf_pins ec_hw/m_axis_c2h] [get_bd_intf_pins xdma_0/S_AXIS_C2H_0]",
                   "CONFIG.CLKOUT1_REQUESTED_OUT_FREQ {60.000}",
                   "CONFIG.PRIM_IN_FREQ {200.000}", "CONFIG.MMCM_DIVCLK_DIVIDE {2}",
                   "CONFIG.MMCM_CLKFBOUT_MULT_F {9.000}", "CONFIG.MMCM_CLKOUT0_DIVIDE_F {15.000}",
                   "set_property CONFIG.FREQ_HZ 200000000 [get_bd_intf_ports clk200]",
                   "write_bitstream", "if {$wns < 0}"):
        assert needle in text, needle
    xdc = (tmp_path / "ec_hw_nitefury.xdc").read_text()
    for pin in board_pins(_platform(board))["rx_p"] + ["F6", "E6", "J1", "G1", "J19", "H19"]:
        assert f"PACKAGE_PIN {pin} " in xdc, pin
    # the AsyncFIFOs' crossings are bounded by the faster clock's period (250 MHz), not cut
    assert "set_clock_groups" not in xdc
    assert "set_max_delay -datapath_only -from $axi_clk -to $core_clk 4.000" in xdc
    assert "set_max_delay -datapath_only -from $core_clk -to $axi_clk 4.000" in xdc
    assert "NAME =~ */xdma_0/axi_aclk" in xdc and "NAME =~ */clk_wiz_0/clk_out1" in xdc
    verilog = (tmp_path / "ec_hw_pcie_top.v").read_text()
    header = verilog[verilog.index("module ec_hw_pcie_top("):].split(");")[0]
    for port in ("axi_aclk", "axi_aresetn", "core_clk", "core_rst", "idle",
                 *(f"s_axis_h2c_t{s}" for s in ("data", "keep", "last", "valid", "ready")),
                 *(f"m_axis_c2h_t{s}" for s in ("data", "keep", "last", "valid", "ready"))):
        assert port in header, port
    assert "ASSOCIATED_BUSIF s_axis_h2c:m_axis_c2h" in verilog
    assert "ASSOCIATED_RESET core_rst, FREQ_HZ 60000000" in verilog
    assert "ASSOCIATED_RESET axi_aresetn, FREQ_HZ 250000000" in verilog
    assert top.info.slots == core.slots
    # the Yosys script of the no-Vivado build synthesizes core 0's module once for both cores
    cores = core_modules(verilog)
    assert cores == [f"{TOP}.top.top.core.core0", f"{TOP}.top.top.core.core1"]
    script = yosys_script(verilog).splitlines()
    assert script[0] == f"read_verilog {TOP}.v"
    assert f"chtype -map \\{cores[1]} \\{cores[0]}" in script
    assert f"setattr -mod -set keep_hierarchy 1 \\{cores[0]}" in script
    assert f"synth_xilinx -family xc7 -top {TOP} -flatten -noiopad -noclkbuf" in script
    assert f"tee -q -o stat.json stat -json -top {TOP}" in script


def test_core_modules_of_a_single_core_device_is_empty():
    one = "module \\x.top.core (\n);\nendmodule\nmodule \\x.top.core.lif0 (\n);\nendmodule\n"
    assert core_modules(one) == []
    assert "chtype" not in yosys_script(one) and "keep_hierarchy" not in yosys_script(one)


def test_wns_from_report():
    assert wns_from_report("-0.125\n") == -0.125
    rpt = ("    WNS(ns)      TNS(ns)  TNS Failing Endpoints\n"
           "    -------      -------  ---------------------\n"
           "      0.412        0.000                      0\n")
    assert wns_from_report(rpt) == 0.412
    assert wns_from_report("no timing here") is None


@pytest.mark.slow  # Yosys synth_xilinx of a 4-core device (minutes)
@pytest.mark.skipif(shutil.which("vivado") is not None, reason="Vivado would run the real flow")
def test_build_without_vivado_prints_utilization_and_the_command(tmp_path, capsys):
    out = tmp_path / "lf"
    assert main(["--board", "litefury", "--out", str(out), "--neurons", "32", "--obs-dim", "3",
                 "--act-dim", "2"]) == 0
    text = capsys.readouterr().out
    assert f"cd {out} && vivado -mode batch -source ec_hw_litefury.tcl" in text
    summary = json.loads((out / "summary.json").read_text())
    board = load_board("litefury")
    assert summary["part"] == "xc7a100t" and summary["slots"] == board.slots
    assert summary["cores"] == board.cores and summary["target_mhz"] == 60.0
    assert summary["vivado_command"] == "vivado -mode batch -source ec_hw_litefury.tcl"
    u = summary["utilization"]
    assert set(u) == {"LUT", "FF", "RAMB36", "DSP48E1"}
    assert u["LUT"]["available"] == 63400 and 0 < u["LUT"]["used"] < 63400
    assert u["LUT"]["percent"] == round(100 * u["LUT"]["used"] / 63400, 1)
    assert u["RAMB36"]["used"] == u["RAMB36"]["RAMB36E1"] + u["RAMB36"]["RAMB18E1"] / 2
    assert f"utilization of the ec-hw part ({TOP}: {board.cores} cores" in text
    # one core module, instantiated once per core, in the hierarchical report
    stat = (out / "synth" / "stat.json").read_text()
    mods = json.loads(stat[stat.index("{"):])["modules"]
    core0 = core_modules((out / f"{TOP}.v").read_text())[0]
    # Yosys 0.70 escapes module names but not the cell types that name them (as parse_stat)
    cells = {k.lstrip("\\"): v for k, v in mods[f"\\{TOP}"]["num_cells_by_type"].items()}
    assert cells[core0] == board.cores
    assert (out / "ec_hw_litefury.tcl").exists() and (out / "ec_hw_pcie_top.v").exists()

