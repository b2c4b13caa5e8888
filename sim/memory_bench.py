"""cocotb bench of the block-RAM probe in ``test_gate_level.py`` (memories as the core uses them).

Parameters (via :func:`bench_io.bench_params`): ``mems`` (names) and ``cycles``. Arrays, per
memory ``m`` and per cycle: ``m_wen`` (write enable per granule), ``m_waddr``, ``m_wdata``,
``m_ren``, ``m_raddr`` (driven right after a rising edge, so the next edge takes them) and
``m_exp`` (the read data after that edge, as the pytest side's reference computed it).
"""

from __future__ import annotations

from bench_io import bench_params, bench_test
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

_INPUTS = ("wen", "waddr", "wdata", "ren", "raddr")


@bench_test
async def memories_match_reference(dut):
    params, arrays = bench_params()
    mems, cycles = params["mems"], params["cycles"]
    dut.rst.value = 0
    Clock(dut.clk, params["clock_period_ns"], unit="ns").start()
    stim = {(m, k): arrays[f"{m}_{k}"].tolist() for m in mems for k in _INPUTS}
    exp = {m: arrays[f"{m}_exp"].tolist() for m in mems}
    for t in range(cycles + 1):
        await RisingEdge(dut.clk)
        if t < cycles:
            for m in mems:
                for k in _INPUTS:
                    getattr(dut, f"{m}_{k}").value = stim[m, k][t]
        await ReadOnly()
        if t == 0:
            continue
        for m in mems:
            got = int(getattr(dut, f"{m}_rdata").value)
            if got != exp[m][t - 1]:
                i = {k: stim[m, k][t - 1] for k in _INPUTS}
                raise AssertionError(f"{m}, cycle {t - 1} ({i}): read {got:#x}, "
                                     f"expected {exp[m][t - 1]:#x}")
