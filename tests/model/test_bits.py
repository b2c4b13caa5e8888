"""The integer helpers of the golden model against their definitions, as compiled in kernels."""

from __future__ import annotations

from fractions import Fraction

import numba
import numpy as np
import pytest

from ec_hw.model.bits import popcount64, rshift_round, saturate


@numba.njit
def _popcounts(xs):
    out = np.empty(xs.shape[0], np.int64)
    for i in range(xs.shape[0]):
        out[i] = popcount64(xs[i])
    return out


@numba.njit
def _rshift_rounds(xs, k):
    out = np.empty(xs.shape[0], np.int64)
    for i in range(xs.shape[0]):
        out[i] = rshift_round(xs[i], k)
    return out


@numba.njit
def _saturates(xs, bits):
    out = np.empty(xs.shape[0], np.int64)
    for i in range(xs.shape[0]):
        out[i] = saturate(xs[i], bits)
    return out


def test_popcount64_equals_bin_count():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2 ** 64, size=2000, dtype=np.uint64, endpoint=False)
    special = np.array([0, 1, 2 ** 63, 2 ** 64 - 1, 2 ** 63 - 1, 0x5555555555555555,
                        0xAAAAAAAAAAAAAAAA, 0x8000000000000001], dtype=np.uint64)
    for bits in range(65):  # every count 0..64
        special = np.append(special, np.uint64((1 << bits) - 1))
    words = np.concatenate([words, special])
    got = _popcounts(words)
    assert got.tolist() == [bin(int(w)).count("1") for w in words]
    assert set(got.tolist()) >= set(range(65))


@pytest.mark.parametrize("k", [1, 2, 5, 12, 14, 16, 17, 30])
def test_rshift_round_is_floor_of_x_plus_half_over_2k(k):
    rng = np.random.default_rng(k)
    xs = rng.integers(-(2 ** 43), 2 ** 43, size=3000, dtype=np.int64)
    # Exact ties (x = m 2**k +- 2**(k-1)) both sides of zero, and their neighbours.
    m = rng.integers(-(2 ** 20), 2 ** 20, size=200)
    ties = np.concatenate([m * 2 ** k + 2 ** (k - 1), m * 2 ** k - 2 ** (k - 1)])
    xs = np.concatenate([xs, ties, ties + 1, ties - 1, [0, 1, -1, 2 ** 43, -(2 ** 43)]])
    xs = xs.astype(np.int64)
    got = _rshift_rounds(xs, k)
    want = [int(np.floor(Fraction(int(x) + Fraction(2 ** k, 2), 2 ** k))) for x in xs]
    assert got.tolist() == want
    # Round half up: +-1/2 LSB ties go toward +inf (so -2.5 -> -2, 2.5 -> 3).
    assert _rshift_rounds(np.array([-5 * 2 ** (k - 1), 5 * 2 ** (k - 1)], np.int64), k).tolist() \
        == [-2, 3]


@pytest.mark.parametrize("bits", [2, 8, 16, 18, 24, 25, 32])
def test_saturate_clamps_to_the_signed_range(bits):
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    rng = np.random.default_rng(bits)
    xs = np.concatenate([rng.integers(-(2 ** 40), 2 ** 40, size=1000),
                         rng.integers(lo - 3, hi + 4, size=1000),
                         [lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, 0]]).astype(np.int64)
    got = _saturates(xs, bits)
    assert got.tolist() == [min(max(int(x), lo), hi) for x in xs]
    assert got.min() == lo and got.max() == hi
