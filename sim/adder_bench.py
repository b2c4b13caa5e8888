"""cocotb bench of the stream adder in ``test_sim_infra.py`` (exercises the shared TB helpers).

Parameters (via :func:`bench_io.bench_params`): ``seed``, ``idle_prob``, ``stall_prob`` and
``offset`` (added to the expected sums: a non-zero offset must make the bench fail). Arrays:
``a``, ``b`` (operands).
"""

from __future__ import annotations

import cocotb
from bench_io import bench_params, bench_test
from cocotb.triggers import RisingEdge
from stream_tb import TB


@bench_test
async def adder_matches_python(dut):
    params, arrays = bench_params()
    tb = TB(dut, params["ports"], seed=params["seed"], idle_prob=params["idle_prob"],
            stall_prob=params["stall_prob"])
    await tb.start()
    a, b = arrays["a"].tolist(), arrays["b"].tolist()
    items = [{"a": x, "b": y} for x, y in zip(a, b, strict=True)]
    producer = cocotb.start_soon(tb.src["i"].send_all(items))
    got = await tb.snk["o"].recv_n(len(a), timeout_cycles=1000)
    await producer
    for k, (x, y, z) in enumerate(zip(a, b, got, strict=True)):
        expected = x + y + params["offset"]
        if z != expected:
            raise AssertionError(f"transfer {k}: {x} + {y} gave {z}, expected {expected}")
    # The busy output is a plain signal: it counts transfers modulo 2.
    await RisingEdge(tb.clk)
    assert int(dut.parity.value) == len(a) % 2, "parity of the transfer count"
