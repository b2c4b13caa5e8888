"""LIFUnit against its golden twin ec_hw.model.lif.lif_substep."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive
from ec_hw.gateware.lif import LIFUnit
from ec_hw.model.lif import lif_substep

CONFIGS = [(NetConfig(), CoreConfig()),
           (NetConfig(n_neurons=64, tau_syn=2.0), CoreConfig(state_bits=25, decay_bits=17)),
           (NetConfig(n_neurons=1024, obs_dim=348, act_dim=17), CoreConfig())]


def _cases(fp, seed):
    rng = np.random.default_rng(seed)
    smax = (1 << (fp.state_bits - 1)) - 1
    bound = int(fp.isyn_bound)
    m = max(fp.n_exc, fp.n_neurons - fp.n_exc)
    corner = []
    for isyn in (0, bound, -bound, 1, -1):
        for v in (0, fp.vth_q, fp.vth_q + 1, -smax - 1, smax, fp.vth_q - 1):
            for rate in (0, fp.rate_q, 1):
                for i_in in (0, smax, -smax - 1, 4095):
                    for pe, pi in ((0, 0), (m, 0), (0, m), (3, 5)):
                        corner.append((isyn, v, rate, i_in, pe, pi))
    rng.shuffle(corner)
    corner = corner[:400]
    for _ in range(300):
        corner.append((int(rng.integers(-bound, bound + 1)), int(rng.integers(-smax - 1, smax)),
                       int(rng.integers(0, fp.rate_q + 1)), int(rng.integers(-smax - 1, smax)),
                       int(rng.integers(0, m + 1)), int(rng.integers(0, m + 1))))
    return corner


@pytest.mark.parametrize("cfg", range(len(CONFIGS)))
def test_lif_matches_model(cfg):
    fp = derive(*CONFIGS[cfg])
    p = fp.as_array()
    cases = _cases(fp, cfg)
    dut = LIFUnit(fp)
    beats = [{"i_syn": a, "v": b, "rate": c, "i_in": d, "pe": e, "pi": f}
             for a, b, c, d, e, f in cases]
    got, delays = _run(dut, beats)
    expect = [tuple(int(x) for x in lif_substep(p, np.int64(a), np.int64(b), np.int64(c),
                                                 np.int64(d), e, f))
              for a, b, c, d, e, f in cases]
    assert got == expect
    assert set(delays) == {dut.latency}


def _run(dut, beats):
    """One neuron per cycle, back to back; returns outputs and their issue-to-output delay."""
    out, delays = [], []

    async def tb(ctx):
        for i in range(len(beats) + dut.latency + 2):
            if i < len(beats):
                for k, v in beats[i].items():
                    ctx.set(getattr(dut, k), v)
            ctx.set(dut.valid, i < len(beats))
            await ctx.tick()
            if ctx.get(dut.o_valid):
                delays.append(i + 1 - len(out))
                out.append((ctx.get(dut.o_i_syn), ctx.get(dut.o_v), ctx.get(dut.o_rate),
                            ctx.get(dut.o_spike)))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return out, delays


def test_lif_needs_fixedpoint():
    with pytest.raises(TypeError, match="fp must be a FixedPoint"):
        LIFUnit(CoreConfig())
