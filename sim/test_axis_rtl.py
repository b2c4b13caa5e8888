"""cocotb + cocotbext-axi on the generated Verilog of the PCIe device (XDMA AXI-Stream ports,
clock crossing, K cores behind one link) against the golden model.

The pytest side computes the expected actions with :func:`ec_hw.model.core.net_step` (networks
LOADed explicitly into some slots and drawn by :func:`ec_hw.model.sampler.sample_members` for
the slots the device SAMPLEs) and hands them to ``axis_bench.py``, which talks to the device
only through its AXI-Stream ports.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from bench_io import run_bench
from hdl_build import build

from ec_hw import coremap
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import quantize_obs
from ec_hw.gateware.axis import AxisPins, AxisTop
from ec_hw.gateware.core import cycles_per_env_step
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.sampler import quantize_rho, sample_members

IDLE_TIMEOUT = 400

CONFIGS = [
    pytest.param(NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=3),
                 CoreConfig(slots=4, word_bits=16), 2, 8, 0.3, id="n32_k2_s4_w16"),
    pytest.param(NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=3),
                 CoreConfig(slots=3, word_bits=16), 1, 5, 0.2, id="n32_k1_s3_w16"),
    pytest.param(NetConfig(), CoreConfig(slots=4), 2, 4, 0.2, id="hopper_k2_s4",
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("net,core,cores,steps,p_pause", CONFIGS)
def test_axis_device_protocol_multicore(net, core, cores, steps, p_pause):
    top = AxisTop(net, core, cores=cores, sampler=True, idle_timeout=IDLE_TIMEOUT)
    pins = AxisPins(top)
    hdl = build(pins, name=f"axis_n{net.n_neurons}_k{cores}_s{core.slots}_w{core.word_bits}",
                ports=pins.ports(), toplevel="axis_top")
    rng = np.random.default_rng(7)
    layout = GenomeLayout.of(net)
    S = core.slots
    # Slots 1 .. S-2 are sampled on the device (they span the cores), the others LOADed.
    sampled = np.arange(1, S - 1) if S > 2 else np.arange(0)
    members = rng.integers(0, 1 << 20, size=len(sampled))
    gen_seed = 0x5EED1234
    rho_q = quantize_rho(rng.random(layout.n_conn))
    genomes = pack_genome(rng.random((S, layout.n_conn)) < 0.55, layout)
    if len(sampled):
        genomes[sampled] = sample_members(gen_seed, members, rho_q, layout)
    fx = FixedNet(net, core)
    z = rng.standard_normal((steps, S, net.obs_dim)) * 2.0
    x = quantize_obs(z, np.zeros(net.obs_dim), np.ones(net.obs_dim), fx.fp)
    masks = rng.random((steps, S)) < 0.8
    masks[0] = True
    state = NetState.zeros(S, layout)
    act = np.zeros((steps, S, net.act_dim), np.int32)
    for t in range(steps):
        act[t] = net_step(fx.p, fx.lay, x[t], genomes, state, masks[t])
        if t + 1 < steps:   # a slot left out is undefined until RESET: keep it out
            masks[t + 1] &= masks[t]
    assert np.abs(act).sum() > 0
    w = top.top.wire
    loaded = [s for s in range(S) if s not in set(sampled.tolist())]
    blobs = []
    for s in loaded:
        blobs += w.load_payloads(coremap.slot_words(coremap.genome_to_words(genomes[s], net, core),
                                                    s, net, core))
    rho_blobs = w.load_rho_payloads(rho_q)
    run_bench(hdl, "axis_bench", run_name=f"run_k{cores}_s{S}",
              params={"seed": 3, "p_pause": p_pause, "gen_seed": gen_seed,
                      "idle_timeout": IDLE_TIMEOUT, "corrupt_step": 1, "repeat_step": 2,
                      "step_cycles": cycles_per_env_step(net, replace(core, slots=S // cores)),
                      "wire": {"slots": w.slots, "obs_dim": w.obs_dim, "act_dim": w.act_dim,
                               "obs_bits": w.obs_bits, "action_bits": w.action_bits,
                               "word_bits": w.word_bits, "max_payload": w.max_payload}},
              arrays={"info": np.frombuffer(top.info.pack(), np.uint8),
                      "loads": np.frombuffer(b"".join(blobs), np.uint8),
                      "load_lens": np.array([len(b) for b in blobs]),
                      "rho": np.frombuffer(b"".join(rho_blobs), np.uint8),
                      "rho_lens": np.array([len(b) for b in rho_blobs]),
                      "sampled": sampled, "members": members,
                      "x": x.astype(np.int32), "mask": masks, "act": act})
