# amaranth: UnusedElaboratable=no
"""The shared cocotb runner and TB helpers, tested on a small stream adder.

A pipelined adder with a struct payload (signed + unsigned fields) and a signed result checks
the port map, payload packing, sign extension, random idle cycles and backpressure, build
caching, and that a bench failure surfaces in pytest with the bench's message.
"""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from bench_io import BenchFailure, run_bench
from hdl_build import build, port_map
from stream_tb import pack_fields, unpack_fields


class StreamAdder(wiring.Component):
    """``o = i.a + i.b`` with a one-entry output register (full backpressure)."""

    def __init__(self, width: int):
        self.width = width
        layout = data.StructLayout({"a": signed(width), "b": unsigned(width)})
        super().__init__({"i": In(stream.Signature(layout)),
                          "o": Out(stream.Signature(signed(width + 2))),
                          "parity": Out(1)})

    def elaborate(self, platform):
        m = Module()
        take = Signal()
        m.d.comb += [take.eq(self.o.ready | ~self.o.valid), self.i.ready.eq(take)]
        with m.If(take):
            m.d.sync += [self.o.valid.eq(self.i.valid),
                         self.o.payload.eq(self.i.payload.a + self.i.payload.b)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += self.parity.eq(~self.parity)
        return m


def _operands(width, n, seed):
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    a = rng.integers(lo, hi + 1, n)
    b = rng.integers(0, (1 << width), n)
    a[:4] = [lo, hi, lo, hi]  # extremes first
    b[:4] = [0, (1 << width) - 1, (1 << width) - 1, 0]
    return a, b


def test_port_map_and_packing():
    ports = port_map(StreamAdder(12))
    assert ports["i"]["fields"] == {"a": [0, 12, True], "b": [12, 12, False]}
    assert ports["o"]["fields"] == {"": [0, 14, True]}
    assert ports["parity"] == {"kind": "signal", "dir": "out", "width": 1, "signed": False}
    word = pack_fields(ports["i"]["fields"], {"a": -1, "b": 5})
    assert word == (5 << 12) | 0xFFF
    assert unpack_fields(ports["i"]["fields"], word) == {"a": -1, "b": 5}
    assert unpack_fields(ports["o"]["fields"], 0x3FFF) == -1
    with pytest.raises(ValueError, match="does not fit 12 signed bits"):
        pack_fields(ports["i"]["fields"], {"a": 2048})


@pytest.mark.parametrize("idle_prob,stall_prob", [(0.0, 0.0), (0.3, 0.5)])
def test_adder_bench(idle_prob, stall_prob):
    hdl = build(StreamAdder(16), name="stream_adder16")
    a, b = _operands(16, 200, seed=7)
    run_bench(hdl, "adder_bench", run_name=f"adder_{idle_prob}_{stall_prob}",
              params={"seed": 3, "idle_prob": idle_prob, "stall_prob": stall_prob, "offset": 0},
              arrays={"a": a, "b": b})


def test_build_is_cached():
    first = build(StreamAdder(16), name="stream_adder16")
    binary = first.artifact
    mtime = binary.stat().st_mtime_ns
    again = build(StreamAdder(16), name="stream_adder16")
    assert again.build_dir == first.build_dir
    assert binary.stat().st_mtime_ns == mtime
    other = build(StreamAdder(8), name="stream_adder16")
    assert other.build_dir != first.build_dir


def test_bench_failure_reaches_pytest():
    hdl = build(StreamAdder(16), name="stream_adder16")
    a, b = _operands(16, 8, seed=1)
    with pytest.raises(BenchFailure, match=r"transfer 0: -32768 \+ 0 gave -32768, expected"):
        run_bench(hdl, "adder_bench", run_name="adder_must_fail",
                  params={"seed": 0, "idle_prob": 0.0, "stall_prob": 0.0, "offset": 1},
                  arrays={"a": a, "b": b})


def test_verilator_build_commands_are_the_ones_hdl_build_makes():
    """The two edits hdl_build makes to cocotb's Verilator build took effect (the runner's
    command shape they rely on is checked here, so a cocotb change fails loudly)."""
    import hdl_build

    hdl = build(StreamAdder(16), name="stream_adder16")
    if hdl.sim != "verilator":
        pytest.skip("Verilator-only build options")
    cmdline = (hdl.build_dir / "Vtop__verFiles.dat").read_text().splitlines()[1]
    assert str(hdl.build_dir / "public_top.vlt") in cmdline
    assert "--public-flat-rw" not in cmdline
    runtime = hdl_build.sim_build_root() / "_verilator_runtime"
    assert any(runtime.glob("*/verilated.o")), "runtime objects were not cached"


def test_a_bench_that_runs_no_test_fails():
    """A results file with zero test cases (a testcase filter matching nothing, a module
    whose tests were renamed) is a failure, not a pass."""
    hdl = build(StreamAdder(16), name="stream_adder16")
    a, b = _operands(16, 8, seed=1)
    with pytest.raises(BenchFailure, match="no test ran"):
        run_bench(hdl, "adder_bench", run_name="adder_no_test", testcase="no_such_test",
                  params={"seed": 0, "idle_prob": 0.0, "stall_prob": 0.0, "offset": 0},
                  arrays={"a": a, "b": b})
