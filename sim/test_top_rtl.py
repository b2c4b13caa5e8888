"""cocotb on the generated Verilog of the device top: UART + protocol + core vs the golden model.

Expected actions are computed here with :func:`ec_hw.model.core.net_step` and handed to the
bench (``top_bench.py``), which talks to the top only through its UART pins.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_io import run_bench
from hdl_build import build

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import quantize_obs
from ec_hw.gateware.top import Top
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout, pack_genome

CONFIGS = [
    pytest.param(NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=4),
                 CoreConfig(slots=3, word_bits=16), 12, id="n32_s3_w16"),
    pytest.param(NetConfig(), CoreConfig(slots=2), 6, id="hopper_n256_s2",
                 marks=pytest.mark.slow),
]


def _load_blobs(wire, net, core, genomes):
    blobs = []
    for s, g in enumerate(genomes):
        blobs += wire.load_payloads(
            coremap.slot_words(coremap.genome_to_words(g, net, core), s, net, core))
    return blobs


@pytest.mark.parametrize("net,core,steps", CONFIGS)
def test_top_uart_protocol_core(net, core, steps):
    run_top(net, core, steps)


def run_top(net: NetConfig, core: CoreConfig, steps: int, *, netlist: str | None = None):
    """INFO, LOAD, RESET and ``steps`` STEPs over the UART pins of the device top (the Amaranth
    Verilog, or a :mod:`gate_level` netlist), actions against the golden model."""
    divisor = 4
    top = Top(net, core, divisor=divisor)
    hdl = build(top, name=f"top_n{net.n_neurons}_s{core.slots}_w{core.word_bits}",
                toplevel="top", netlist=netlist)
    rng = np.random.default_rng(11)
    layout = GenomeLayout.of(net)
    genomes = pack_genome(rng.random((core.slots, layout.n_conn)) < 0.55, layout)
    fx = FixedNet(net, core)
    z = rng.standard_normal((steps, core.slots, net.obs_dim)) * 2.0
    x = quantize_obs(z, np.zeros(net.obs_dim), np.ones(net.obs_dim), fx.fp)
    masks = rng.random((steps, core.slots)) < 0.8
    masks[0] = True
    state = NetState.zeros(core.slots, layout)
    act = np.zeros((steps, core.slots, net.act_dim), np.int32)
    for t in range(steps):
        act[t] = net_step(fx.p, fx.lay, x[t], genomes, state, masks[t])
        # a slot outside the mask is undefined on the device until RESET; keep only slots
        # that stay active from here on comparable: mask them out for the rest of the run
        if t + 1 < steps:
            masks[t + 1] &= masks[t]
    assert np.abs(act).sum() > 0
    blobs = _load_blobs(top.wire, net, core, genomes)
    lens = np.array([len(b) for b in blobs])
    loads = np.zeros(lens.sum(), np.uint8)
    loads[:] = np.frombuffer(b"".join(blobs), np.uint8)
    w = top.wire
    run_bench(hdl, "top_bench", run_name=f"run_{net.n_neurons}_{core.slots}",
              params={"seed": 1, "divisor": divisor, "corrupt_step": 2, "repeat_step": 3,
                      "wire": {"slots": w.slots, "obs_dim": w.obs_dim, "act_dim": w.act_dim,
                               "obs_bits": w.obs_bits, "action_bits": w.action_bits,
                               "word_bits": w.word_bits, "max_payload": w.max_payload}},
              arrays={"info": np.frombuffer(top.info.pack(), np.uint8), "loads": loads,
                      "load_lens": lens, "x": x.astype(np.int32), "mask": masks, "act": act})
