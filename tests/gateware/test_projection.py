"""InputProjection against its golden twin ec_hw.model.projection.input_projection."""

import numpy as np
import pytest
from blocksim import pack, run_beats

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive
from ec_hw.gateware.projection import InputProjection
from ec_hw.model.projection import input_projection


def _u64(bits):
    pad = np.zeros(-(-len(bits) // 64) * 64, np.uint8)
    pad[:len(bits)] = bits
    return np.packbits(pad, bitorder="little").view("<u8").astype(np.uint64)


@pytest.mark.parametrize("d,cols,state_bits", [(11, 16, 24), (3, 8, 24), (348, 16, 24),
                                                 (40, 4, 18)])
def test_projection_matches_model(d, cols, state_bits):
    net = NetConfig(obs_dim=d, n_neurons=256 if state_bits > 18 else 16)
    core = CoreConfig(state_bits=state_bits, frac_bits=12 if state_bits > 18 else 8)
    fp = derive(net, core)
    p = fp.as_array()
    ob = fp.obs_bits
    lo, hi = -(1 << (ob - 1)), (1 << (ob - 1)) - 1
    rng = np.random.default_rng(d)
    cases = [(np.ones(2 * d, np.uint8), np.full(d, hi)),          # all on: cancels to 0
             (np.r_[np.ones(d), np.zeros(d)].astype(np.uint8), np.full(d, hi)),   # saturates +
             (np.r_[np.ones(d), np.zeros(d)].astype(np.uint8), np.full(d, lo)),   # saturates -
             (np.r_[np.zeros(d), np.ones(d)].astype(np.uint8), np.full(d, lo)),   # -lo per input
             (np.zeros(2 * d, np.uint8), rng.integers(lo, hi + 1, d))]
    for _ in range(8):
        cases.append(((rng.random(2 * d) < rng.random()).astype(np.uint8),
                      rng.integers(lo, hi + 1, d)))
    nchunks = -(-2 * d // cols)
    dut = InputProjection(cols, obs_bits=ob, state_bits=state_bits,
                          acc_bits=ob + 2 + (2 * d).bit_length())
    beats, expect = [], []
    for row, x in cases:
        expect.append(int(input_projection(p, _u64(row), x.astype(np.int64))))
        pos = np.zeros(nchunks * cols, np.int64)
        neg = np.zeros(nchunks * cols, np.int64)
        pos[:d] = x
        neg[d:2 * d] = x
        bits = np.zeros(nchunks * cols, np.uint8)
        bits[:2 * d] = row
        for c in range(nchunks):
            sl = slice(c * cols, (c + 1) * cols)
            beats.append({"bits": pack(bits[sl], 1), "pos": pack(pos[sl], ob),
                          "neg": pack(neg[sl], ob), "first": c == 0, "last": c == nchunks - 1})
    got = run_beats(dut, beats, ["i_in"], idle_seed=d)
    assert [g["i_in"] for g in got] == expect
    assert {g["delay"] for g in got} == {dut.latency}
    smax = 1 << (state_bits - 1)
    if state_bits == 18:   # the saturation is exercised both ways
        assert smax - 1 in expect and -smax in expect
