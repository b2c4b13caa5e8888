"""The PCIe board build: a Vivado project with the XDMA IP and the ec-hw device as RTL.

``python -m ec_hw.build --board nitefury`` (a board whose ``link = "pcie"``) uses these
functions from :func:`ec_hw.build.build`. They write, under the build folder:

* ``ec_hw_pcie_top.v``: :class:`~ec_hw.gateware.axis.AxisTop` with the port names of
  :class:`~ec_hw.gateware.axis.AxisPins` (Vivado infers the two AXI-Stream interfaces);
* ``<name>.xdc``: the PCIe reference clock, lanes, PERST#, CLKREQ#, the 200 MHz oscillator and
  an LED, taken from the board's amaranth-boards resources (``pcie``, ``clk200``, ``led``);
* ``<name>.tcl``: creates the project and the block design (the XDMA IP in AXI-Stream mode at
  the board's lanes/generation/width, an ``IBUFDSGTE`` for the reference clock, a clocking
  wizard whose MMCM makes the core clock ``clk_hz`` from the oscillator ``osc_hz`` with the
  dividers :func:`~ec_hw.gateware.clocking.mmcm_params` chooses (the Arty's ``CoreClock``
  settings), a reset block, the device as a module
  reference), runs synthesis, implementation and ``write_bitstream``, writes the reports and
  exits non-zero on negative slack.

With Vivado on PATH the build runs the TCL (:func:`run_vivado`) and fails on negative slack;
without it, it prints the Yosys ``synth_xilinx`` utilization of the ec-hw part (the XDMA IP
is not included) and the exact command to run on a machine with Vivado.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .config import CoreConfig, NetConfig

__all__ = ["make_pcie_top", "pcie_files", "run_vivado", "have_vivado", "board_pins",
           "wns_from_report", "axis_clock_hz", "core_mmcm", "core_modules", "vivado_args",
           "vivado_command", "yosys_script", "TOP"]

TOP = "ec_hw_pcie_top"


def make_pcie_top(board, net: NetConfig, core: CoreConfig, *, build_id: int = 0):
    """The PCIe device (:class:`~ec_hw.gateware.axis.AxisTop`) for ``board``."""
    from .gateware.axis import XDMA_LINKS, AxisTop

    if (board.pcie_lanes, board.pcie_gen) not in XDMA_LINKS:
        raise ValueError(f"board {board.name}: no XDMA link x{board.pcie_lanes} "
                         f"Gen{board.pcie_gen}")
    return AxisTop(net, core, cores=board.cores, data_bits=board.axis_bits,
                   clk_hz=board.clk_hz, build_id=build_id, sampler=board.sampler)


def axis_clock_hz(board) -> int:
    """The XDMA user clock (``axi_aclk``) for the board's link and AXI-Stream width."""
    from .gateware.axis import XDMA_LINKS

    width, hz = XDMA_LINKS[(board.pcie_lanes, board.pcie_gen)]
    return hz * width // board.axis_bits   # twice the width: half the clock


def board_pins(platform) -> dict[str, list[str]]:
    """Package pins of the board's PCIe edge, oscillator and first LED (amaranth-boards).

    amaranth-boards declares PERST# as an output; it is the host's reset into the card, so the
    block design makes it an input on the same pin.
    """
    pcie = {s.name: s.ios[0] for s in platform.lookup("pcie", 0).ios}
    clk200 = platform.lookup("clk200", 0).ios[0]
    led = platform.lookup("led", 0).ios[0]
    return {"refclk_p": pcie["clk"].p.names, "refclk_n": pcie["clk"].n.names,
            "rx_p": pcie["rx"].p.names, "tx_p": pcie["tx"].p.names,
            "perst_n": pcie["rst"].names, "clkreq_n": pcie["clkreq"].names,
            "clk200_p": clk200.p.names, "clk200_n": clk200.n.names, "led": led.names}


def _verilog(pins) -> str:
    from amaranth.back import verilog

    return verilog.convert(pins, name=TOP, ports=pins.ports(), emit_src=False)


def _xdc(board, pins: dict[str, list[str]], axi_hz: int) -> str:
    # The AsyncFIFOs' Gray-coded pointers (and their reset synchronizers) are the only paths
    # between axi_aclk and the core clock. Bound them by the faster clock's period, datapath
    # only (UG903/UG949 for Gray-coded crossings), rather than cutting them with
    # set_clock_groups, which would leave the pointer bits' skew and the FIFO memory's read
    # path unbounded.
    cdc_ns = f"{1e9 / max(axi_hz, board.clk_hz):.3f}"
    lines = [f"# {board.description}: pins from amaranth-boards ({board.platform})",
             "create_clock -name pcie_refclk -period 10.000 [get_ports {pcie_refclk_clk_p[0]}]",
             f"set_property PACKAGE_PIN {pins['refclk_p'][0]} [get_ports {{pcie_refclk_clk_p[0]}}]",
             f"set_property PACKAGE_PIN {pins['refclk_n'][0]} [get_ports {{pcie_refclk_clk_n[0]}}]"]
    for lane in range(board.pcie_lanes):
        lines.append(f"set_property PACKAGE_PIN {pins['rx_p'][lane]} "
                     f"[get_ports {{pcie_mgt_rxp[{lane}]}}]")
    for port, key, extra in (("pcie_perst_n", "perst_n", "PULLUP true"),
                             ("pcie_clkreq_n", "clkreq_n", None), ("idle_led", "led", None)):
        lines += [f"set_property PACKAGE_PIN {pins[key][0]} [get_ports {port}]",
                  f"set_property IOSTANDARD LVCMOS33 [get_ports {port}]"]
        if extra:
            lines.append(f"set_property {extra} [get_ports {port}]")
    lines += [
        "set_false_path -from [get_ports pcie_perst_n]",
        f"set_property PACKAGE_PIN {pins['clk200_p'][0]} [get_ports clk200_clk_p]",
        f"set_property PACKAGE_PIN {pins['clk200_n'][0]} [get_ports clk200_clk_n]",
        "set_property IOSTANDARD DIFF_SSTL15 [get_ports {clk200_clk_p clk200_clk_n}]",
        f"# axi_aclk ({axi_hz / 1e6:g} MHz) and the core clock ({board.clk_hz / 1e6:g} MHz, the "
        "clocking wizard's MMCM) meet only",
        "# in the AsyncFIFOs: Gray-coded pointers, bounded datapath-only by the faster period",
        "set axi_clk [get_clocks -of_objects [get_pins -hier -filter {NAME =~ */xdma_0/axi_aclk}]]",
        "set core_clk [get_clocks -of_objects [get_pins -hier -filter "
        "{NAME =~ */clk_wiz_0/clk_out1}]]",
        f"set_max_delay -datapath_only -from $axi_clk -to $core_clk {cdc_ns}",
        f"set_max_delay -datapath_only -from $core_clk -to $axi_clk {cdc_ns}",
        "set_property CONFIG_VOLTAGE 3.3 [current_design]",
        "set_property CFGBVS VCCO [current_design]",
        "set_property BITSTREAM.CONFIG.SPI_BUSWIDTH 4 [current_design]",
        "set_property BITSTREAM.GENERAL.COMPRESS TRUE [current_design]",
    ]
    return "\n".join(lines) + "\n"


def core_mmcm(board):
    """The MMCM settings of ``board``'s core clock (``osc_hz`` -> ``clk_hz``,
    :func:`~ec_hw.gateware.clocking.mmcm_params`, as the Arty's ``CoreClock``).

    Raises
    ------
    ValueError
        If the board has no ``osc_hz`` or no integer setting makes ``clk_hz`` from it.
    """
    from .gateware.clocking import mmcm_params

    if not board.osc_hz:
        raise ValueError(f"board {board.name}: a PCIe board needs osc_hz (the oscillator the "
                         f"core clock's MMCM divides)")
    return mmcm_params(board.osc_hz, board.clk_hz)


def _tcl(board, name: str, axi_hz: int, speed_grade: str) -> str:
    speed = {1: "2.5_GT/s", 2: "5.0_GT/s"}[board.pcie_gen]
    part = f"{board.device}{board.package}-{speed_grade}"
    mmcm = core_mmcm(board)
    return f"""\
# {board.description}: the ec-hw PCIe device. Run: vivado -mode batch -source {name}.tcl
create_project -force {name} ./vivado -part {part}
add_files -norecurse {TOP}.v
add_files -fileset constrs_1 -norecurse {name}.xdc
update_compile_order -fileset sources_1

create_bd_design pcie
create_bd_intf_port -mode Master -vlnv xilinx.com:interface:pcie_7x_mgt_rtl:1.0 pcie_mgt
create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 pcie_refclk
set_property CONFIG.FREQ_HZ 100000000 [get_bd_intf_ports pcie_refclk]
create_bd_port -dir I -type rst pcie_perst_n
set_property CONFIG.POLARITY ACTIVE_LOW [get_bd_ports pcie_perst_n]
create_bd_intf_port -mode Slave -vlnv xilinx.com:interface:diff_clock_rtl:1.0 clk200
set_property CONFIG.FREQ_HZ {board.osc_hz} [get_bd_intf_ports clk200]
create_bd_port -dir O pcie_clkreq_n
create_bd_port -dir O idle_led

# PCIe reference clock -> XDMA (AXI-Stream, one H2C and one C2H channel)
set refbuf [create_bd_cell -type ip -vlnv xilinx.com:ip:util_ds_buf util_ds_buf_0]
set_property CONFIG.C_BUF_TYPE IBUFDSGTE $refbuf
connect_bd_intf_net [get_bd_intf_ports pcie_refclk] [get_bd_intf_pins util_ds_buf_0/CLK_IN_D]
set xdma [create_bd_cell -type ip -vlnv xilinx.com:ip:xdma xdma_0]
set_property -dict [list \\
  CONFIG.mode_selection {{Advanced}} \\
  CONFIG.pl_link_cap_max_link_width {{X{board.pcie_lanes}}} \\
  CONFIG.pl_link_cap_max_link_speed {{{speed}}} \\
  CONFIG.axi_data_width {{{board.axis_bits}_bit}} \\
  CONFIG.axisten_freq {{{axi_hz // 1_000_000}}} \\
  CONFIG.ref_clk_freq {{100_MHz}} \\
  CONFIG.xdma_axi_intf_mm {{AXI_Stream}} \\
  CONFIG.xdma_rnum_chnl {{1}} \\
  CONFIG.xdma_wnum_chnl {{1}} \\
  CONFIG.axilite_master_en {{false}} \\
  CONFIG.xdma_axilite_slave {{false}} \\
  CONFIG.pf0_msi_enabled {{false}} \\
  CONFIG.cfg_mgmt_if {{false}} \\
] $xdma
connect_bd_net [get_bd_pins util_ds_buf_0/IBUF_OUT] [get_bd_pins xdma_0/sys_clk]
connect_bd_net [get_bd_ports pcie_perst_n] [get_bd_pins xdma_0/sys_rst_n]
connect_bd_intf_net [get_bd_intf_ports pcie_mgt] [get_bd_intf_pins xdma_0/pcie_mgt]
set irq0 [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconstant irq0]
set_property -dict [list CONFIG.CONST_VAL {{0}} CONFIG.CONST_WIDTH {{1}}] $irq0
connect_bd_net [get_bd_pins irq0/dout] [get_bd_pins xdma_0/usr_irq_req]
connect_bd_net [get_bd_pins irq0/dout] [get_bd_ports pcie_clkreq_n]

# core clock {board.clk_hz / 1e6:g} MHz from the {board.osc_hz / 1e6:g} MHz oscillator \
(ec_hw.gateware.clocking.mmcm_params):
# MMCM {board.osc_hz / 1e6:g} MHz / {mmcm.in_div} x {mmcm.mult} = \
VCO {mmcm.f_vco / 1e6:g} MHz / {mmcm.out_div}; its reset from PERST# and the lock
set clk [create_bd_cell -type ip -vlnv xilinx.com:ip:clk_wiz clk_wiz_0]
set_property -dict [list \\
  CONFIG.PRIMITIVE {{MMCM}} \\
  CONFIG.PRIM_SOURCE {{Differential_clock_capable_pin}} \\
  CONFIG.PRIM_IN_FREQ {{{board.osc_hz / 1e6:.3f}}} \\
  CONFIG.CLKOUT1_REQUESTED_OUT_FREQ {{{board.clk_hz / 1e6:.3f}}} \\
  CONFIG.MMCM_CLKIN1_PERIOD {{{1e9 / board.osc_hz:.3f}}} \\
  CONFIG.MMCM_DIVCLK_DIVIDE {{{mmcm.in_div}}} \\
  CONFIG.MMCM_CLKFBOUT_MULT_F {{{mmcm.mult:.3f}}} \\
  CONFIG.MMCM_CLKOUT0_DIVIDE_F {{{mmcm.out_div:.3f}}} \\
  CONFIG.USE_RESET {{false}} \\
] $clk
connect_bd_intf_net [get_bd_intf_ports clk200] [get_bd_intf_pins clk_wiz_0/CLK_IN1_D]
set rst [create_bd_cell -type ip -vlnv xilinx.com:ip:proc_sys_reset core_reset]
connect_bd_net [get_bd_pins clk_wiz_0/clk_out1] [get_bd_pins core_reset/slowest_sync_clk]
connect_bd_net [get_bd_pins clk_wiz_0/locked] [get_bd_pins core_reset/dcm_locked]
connect_bd_net [get_bd_ports pcie_perst_n] [get_bd_pins core_reset/ext_reset_in]

# the ec-hw device (RTL module reference)
create_bd_cell -type module -reference {TOP} ec_hw
connect_bd_intf_net [get_bd_intf_pins xdma_0/M_AXIS_H2C_0] [get_bd_intf_pins ec_hw/s_axis_h2c]
connect_bd_intf_net [get_bd_intf_pins ec_hw/m_axis_c2h] [get_bd_intf_pins xdma_0/S_AXIS_C2H_0]
connect_bd_net [get_bd_pins xdma_0/axi_aclk] [get_bd_pins ec_hw/axi_aclk]
connect_bd_net [get_bd_pins xdma_0/axi_aresetn] [get_bd_pins ec_hw/axi_aresetn]
connect_bd_net [get_bd_pins clk_wiz_0/clk_out1] [get_bd_pins ec_hw/core_clk]
connect_bd_net [get_bd_pins core_reset/peripheral_reset] [get_bd_pins ec_hw/core_rst]
connect_bd_net [get_bd_pins ec_hw/idle] [get_bd_ports idle_led]

validate_bd_design
save_bd_design
add_files -norecurse [make_wrapper -files [get_files pcie.bd] -top]
set_property top pcie_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] != "100%"}} {{
  puts "ERROR: implementation did not finish"; exit 1
}}
open_run impl_1
report_utilization -file {name}_utilization.rpt
report_timing_summary -file {name}_timing.rpt
set wns [get_property STATS.WNS [get_runs impl_1]]
set f [open wns.txt w]; puts $f $wns; close $f
file copy -force [glob ./vivado/{name}.runs/impl_1/*.bit] {name}.bit
write_cfgmem -force -format mcs -size 32 -interface SPIx4 \\
  -loadbit "up 0x0 {name}.bit" -file {name}.mcs
if {{$wns < 0}} {{ puts "ERROR: negative slack, WNS $wns ns"; exit 2 }}
puts "timing met: WNS $wns ns"
"""


def pcie_files(board, net: NetConfig, core: CoreConfig, out: Path, *, platform,
               build_id: int = 0):
    """Write the Verilog, XDC and TCL of ``board``'s Vivado project into ``out``; return
    ``(top, tcl path)`` (``top`` is the :class:`~ec_hw.gateware.axis.AxisTop`). ``platform``
    is the board's amaranth-boards platform (its pins go into the XDC)."""
    from .gateware.axis import AxisPins

    top = make_pcie_top(board, net, core, build_id=build_id)
    name = "ec_hw_" + board.name
    out.mkdir(parents=True, exist_ok=True)
    pins = AxisPins(top, axi_clk_hz=axis_clock_hz(board), core_clk_hz=board.clk_hz)
    (out / f"{TOP}.v").write_text(_verilog(pins))
    (out / f"{name}.xdc").write_text(_xdc(board, board_pins(platform), axis_clock_hz(board)))
    tcl = out / f"{name}.tcl"
    tcl.write_text(_tcl(board, name, axis_clock_hz(board), platform.speed))
    return top, tcl


_CORE_MODULE = re.compile(r"^module \\(\S+)\.core(\d+)\s*\(", re.M)


def core_modules(verilog: str) -> list[str]:
    """Names of the :class:`~ec_hw.gateware.multicore.CoreArray`'s core modules in
    ``verilog`` (Amaranth's ``<parent>.core<k>``, one module per core, k = 0 ..), in order of k;
    empty for a single-core device."""
    groups: dict[str, dict[int, str]] = {}
    for m in _CORE_MODULE.finditer(verilog):
        groups.setdefault(m.group(1), {})[int(m.group(2))] = f"{m.group(1)}.core{m.group(2)}"
    best = max(groups.values(), key=len, default={})
    if len(best) < 2 or sorted(best) != list(range(len(best))):
        return []
    return [best[k] for k in sorted(best)]


def yosys_script(verilog: str, *, verilog_file: str = f"{TOP}.v", top: str = TOP) -> str:
    """The Yosys script for the utilization of the ec-hw part (``ec_hw_pcie_top``, the module
    Vivado gets; not a board top, so no clock buffers or I/O pads: the block design has them).

    Amaranth writes one module per core although the cores are identical (the same
    ``Core(net, sub_cfg)``), and a flat ``synth_xilinx`` of the 4-core LiteFury did not finish
    on the shared machine (docs/pcie.md). The script points every core instance at core 0's
    module (core 0 has the superset of ports: only its cycle counter is read), keeps that
    module's hierarchy so it is synthesized once, and flattens everything else; ``stat -top``
    then counts the core's cells once per instance. No optimization crosses the core
    boundary, as in Vivado's out-of-context flow, so the count is at most slightly above a
    flat synthesis. ``hierarchy -check`` fails if an instance uses a port core 0 lacks."""
    cores = core_modules(verilog)
    lines = [f"read_verilog {verilog_file}"]
    lines += [f"chtype -map \\{name} \\{cores[0]}" for name in cores[1:]]
    lines.append(f"hierarchy -check -top {top}")
    if cores:
        lines.append(f"setattr -mod -set keep_hierarchy 1 \\{cores[0]}")
    lines += [f"synth_xilinx -family xc7 -top {top} -flatten -noiopad -noclkbuf",
              f"tee -o utilization.txt stat -top {top}",
              f"tee -q -o stat.json stat -json -top {top}"]
    return "\n".join(lines) + "\n"


def wns_from_report(text: str) -> float | None:
    """The design's WNS (ns) from ``wns.txt`` or a Vivado timing summary."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = re.search(r"WNS\(ns\)[^\n]*\n[ -]+\n\s*(-?[0-9.]+)", text)
    return float(m.group(1)) if m else None


def vivado_args(tcl: Path) -> list[str]:
    """The Vivado batch run of the project's TCL (in the build folder)."""
    return ["vivado", "-mode", "batch", "-source", Path(tcl).name]


def vivado_command(tcl: Path) -> str:
    """The shell command that builds the bitstream, run in the build folder on a machine with
    Vivado (what :func:`run_vivado` runs)."""
    return " ".join(vivado_args(tcl))


def run_vivado(out: Path, tcl: Path) -> tuple[int, float | None, str]:
    """Run ``vivado -mode batch -source <tcl>`` in ``out``; return its exit code, the routed
    design's WNS in ns (None if it did not get that far) and the log's last lines. The log is
    kept as ``out/vivado_build.log``."""
    res = subprocess.run(vivado_args(tcl), cwd=out, capture_output=True, text=True)
    (out / "vivado_build.log").write_text(res.stdout + res.stderr)
    wns_file = out / "wns.txt"
    wns = wns_from_report(wns_file.read_text()) if wns_file.exists() else None
    return res.returncode, wns, "\n".join((res.stdout + res.stderr).splitlines()[-15:])


def have_vivado() -> bool:
    return shutil.which("vivado") is not None
