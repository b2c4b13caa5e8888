"""Readout against its golden twin ec_hw.model.readout.readout."""

import numpy as np
import pytest
from blocksim import pack, run_beats

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive
from ec_hw.gateware.readout import Readout
from ec_hw.model.readout import readout


def _u64(bits):
    pad = np.zeros(-(-len(bits) // 64) * 64, np.uint8)
    pad[:len(bits)] = bits
    return np.packbits(pad, bitorder="little").view("<u8").astype(np.uint64)


@pytest.mark.parametrize("n,lanes,frac", [(256, 4, 0.5), (64, 1, 0.5), (96, 8, 0.8),
                                          (32, 32, 0.25)])
def test_readout_matches_model(n, lanes, frac):
    net = NetConfig(n_neurons=n, exc_fraction=frac)
    fp = derive(net, CoreConfig())
    p = fp.as_array()
    rng = np.random.default_rng(n + lanes)
    ne = fp.n_exc
    ones = np.ones(n, np.uint8)
    full = np.full(n, fp.rate_q)
    exc_only = (np.arange(n) < ne).astype(np.uint8)
    cases = [(ones, full), (exc_only, full), (1 - exc_only, full), (ones, np.zeros(n)),
             (exc_only, np.full(n, 37)), (1 - exc_only, np.full(n, 41))]
    for _ in range(8):
        cases.append(((rng.random(n) < rng.random()).astype(np.uint8),
                      rng.integers(0, fp.rate_q + 1, n)))
    dut = Readout(fp, lanes)
    exc = (np.arange(n) < ne).astype(np.uint8)
    beats, expect = [], []
    for row, rate in cases:
        expect.append(int(readout(p, _u64(row), rate.astype(np.int32))))
        groups = n // lanes
        for g in range(groups):
            sl = slice(g * lanes, (g + 1) * lanes)
            beats.append({"bits": pack(row[sl], 1), "exc": pack(exc[sl], 1),
                          "rate": pack(rate[sl], fp.rate_bits), "first": g == 0,
                          "last": g == groups - 1})
    got = run_beats(dut, beats, ["action"], idle_seed=lanes)
    assert [g["action"] for g in got] == expect
    assert {g["delay"] for g in got} == {dut.latency}
    assert fp.action_max in expect and -fp.action_max in expect   # the clip is exercised
