"""Mirrored (antithetic) Bernoulli pairs of the golden sampler (:mod:`ec_hw.model.sampler`).

Members ``2k`` and ``2k + 1`` share the Threefry stream of key ``(gen_seed, k)``; the odd member
compares ``65535 - u`` instead of ``u``. Statistical checks are z-tests with ``Z_MAX = 5``
(seeded inputs, so each run is deterministic).
"""

from __future__ import annotations

import numpy as np
import pytest

from ec_hw.model.packing import GenomeLayout, unpack_genome
from ec_hw.model.sampler import (
    generation_seed,
    quantize_rho,
    sample_member_bits,
    sample_members,
    threefry2x32,
)

Z_MAX = 5.0
_LAY = GenomeLayout(64, 22, 3)  # 5696 connections


def _z_binomial(k, n, p):
    return (k - n * p) / np.sqrt(n * p * (1.0 - p))


@pytest.mark.parametrize("members", [[0, 1], [6, 7, 8, 9, 10], [1, 0, 255, 254]])
def test_packed_pairs_equal_the_slow_restatement(members):
    rho_q = quantize_rho(np.random.default_rng(5).uniform(0, 1, _LAY.n_conn))
    packed = sample_members(77, np.array(members), rho_q, _LAY, antithetic=True)
    bits = unpack_genome(packed, _LAY)
    for row, m in enumerate(members):
        assert np.array_equal(bits[row], sample_member_bits(77, m, rho_q, antithetic=True))


def test_even_member_is_the_plain_member_of_index_k():
    # The even member of pair k draws exactly what member k draws without mirroring.
    rho_q = quantize_rho(np.random.default_rng(6).uniform(0, 1, _LAY.n_conn))
    anti = sample_members(3, np.array([0, 2, 10]), rho_q, _LAY, antithetic=True)
    plain = sample_members(3, np.array([0, 1, 5]), rho_q, _LAY)
    assert np.array_equal(anti, plain)


def test_odd_member_compares_the_mirrored_lane():
    rho_q = quantize_rho(np.random.default_rng(7).uniform(0, 1, _LAY.n_conn))
    bits = sample_member_bits(9, 5, rho_q, antithetic=True)  # pair 2, odd
    for c in (0, 1, 2, 3, 17, 4000, _LAY.n_conn - 1):
        y0, y1 = threefry2x32(9, 2, c >> 2, 0)
        u = (y0 & 0xFFFF, y0 >> 16, y1 & 0xFFFF, y1 >> 16)[c & 3]
        assert bits[c] == ((u ^ 0xFFFF) < int(rho_q[c]))


def test_pairs_are_complementary_at_one_half():
    rho_q = np.full(_LAY.n_conn, 32768, np.uint16)
    bits = unpack_genome(sample_members(generation_seed(1, 2), np.arange(40), rho_q, _LAY,
                                        antithetic=True), _LAY)
    assert np.array_equal(bits[0::2], ~bits[1::2])


@pytest.mark.parametrize("rho_q", [66, 6554, 32768, 45000, 65469])
def test_odd_members_follow_rho(rho_q):
    rho = np.full(_LAY.n_conn, rho_q, np.uint16)
    bits = unpack_genome(sample_members(generation_seed(12, rho_q), np.arange(1, 400, 2), rho,
                                        _LAY, antithetic=True), _LAY)
    assert abs(_z_binomial(int(bits.sum()), bits.size, rho_q / 65536)) < Z_MAX


@pytest.mark.parametrize("rho_q", [6554, 45000])
def test_pairs_are_negatively_correlated_by_the_exact_amount(rho_q):
    # P(both) = P(u < q and 65535 - u < q) = max(0, 2q - 65536) / 65536.
    rho = np.full(_LAY.n_conn, rho_q, np.uint16)
    bits = unpack_genome(sample_members(generation_seed(13, 0), np.arange(200), rho, _LAY,
                                        antithetic=True), _LAY)
    both = bits[0::2] & bits[1::2]
    p_both = max(0, 2 * rho_q - 65536) / 65536
    if p_both == 0:
        assert not both.any()
    else:
        assert abs(_z_binomial(int(both.sum()), both.size, p_both)) < Z_MAX
