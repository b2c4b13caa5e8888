"""Statistics and self-consistency of the golden sampler (:mod:`ec_hw.model.sampler`).

Every statistical check is a two-sided z-test (or a chi-square test normalised to a z-score)
with threshold ``Z_MAX = 5``: under the null hypothesis a single check fails with probability
below 6e-7, so the ~60 checks here have a family-wise false-alarm rate below 1e-4. All inputs
are seeded, so each run is deterministic; the thresholds say how far from "a fair Bernoulli(rho)
source, independent across members, connections and generations" the sampler may be.

Sample sizes (1e5..1e6 draws per check) resolve a bias of about 5 / sqrt(n) ~ 0.5..1.5 % of
a standard deviation of a bit, and a correlation of |r| ~ 5 / sqrt(n) ~ 0.005..0.016.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from ec_hw.model.packing import GenomeLayout, pack_genome, unpack_genome
from ec_hw.model.sampler import (
    RHO_BITS,
    generation_seed,
    quantize_rho,
    sample_member_bits,
    sample_members,
    threefry2x32,
)

Z_MAX = 5.0
REPO = Path(__file__).resolve().parents[2]

# Random123 kat_vectors (Salmon et al., SC'11): "threefry2x32 20 ctr0 ctr1 key0 key1 -> y0 y1".
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
]


# --- an independent restatement of Threefry-2x32-20 (Random123 threefry.h) ----------------
_R_32X2 = (13, 15, 26, 6, 17, 29, 16, 24)


def _threefry_ref(key, ctr, rounds=20):
    m = 0xFFFFFFFF
    ks = [key[0], key[1], 0x1BD11BDA ^ key[0] ^ key[1]]
    x = [(ctr[0] + ks[0]) & m, (ctr[1] + ks[1]) & m]
    for r in range(rounds):
        rot = _R_32X2[r % 8]
        x[0] = (x[0] + x[1]) & m
        x[1] = (((x[1] << rot) | (x[1] >> (32 - rot))) & m) ^ x[0]
        if r % 4 == 3:
            inj = r // 4 + 1
            x[0] = (x[0] + ks[inj % 3]) & m
            x[1] = (x[1] + ks[(inj + 1) % 3] + inj) & m
    return x[0], x[1]


@numba.njit  # no cache: a test module's name depends on how pytest imports it
def _lanes(k0, k1, b0, nblocks):
    """u values (nblocks, 4) of blocks b0 .. b0+nblocks-1 under key (k0, k1)."""
    out = np.empty((nblocks, 4), dtype=np.int64)
    for i in range(nblocks):
        y0, y1 = threefry2x32(k0, k1, b0 + i, 0)
        out[i, 0] = y0 & 0xFFFF
        out[i, 1] = y0 >> 16
        out[i, 2] = y1 & 0xFFFF
        out[i, 3] = y1 >> 16
    return out


def _z_binomial(k, n, p):
    return (k - n * p) / np.sqrt(n * p * (1.0 - p))


def _z_corr(a, b):
    """sqrt(n) * Pearson r: approximately N(0, 1) for independent a, b."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    r = np.corrcoef(a, b)[0, 1]
    return r * np.sqrt(a.size)


def _z_chi2(observed, expected):
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    dof = observed.size - 1
    return (chi2 - dof) / np.sqrt(2 * dof)


# --- Known-answer tests and the spec's derived quantities -----------------------------------
@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_threefry_random123_kat(ctr, key, expected):
    assert threefry2x32(key[0], key[1], ctr[0], ctr[1]) == expected
    assert _threefry_ref(key, ctr) == expected


def test_threefry_matches_independent_restatement():
    rng = np.random.default_rng(1)
    for k0, k1, c0, c1 in rng.integers(0, 2**32, size=(300, 4), dtype=np.uint64).tolist():
        assert threefry2x32(k0, k1, c0, c1) == _threefry_ref((k0, k1), (c0, c1))


def test_threefry_masks_wide_key_like_32_bit_hardware():
    # Keys arrive as Python ints; only their low 32 bits count (the device's key is 32 bits).
    assert threefry2x32(2**32 + 5, 2**33 + 7, 1, 2) == threefry2x32(5, 7, 1, 2)


def test_generation_seed_is_spec():
    for seed in (0, 1, 2**32 + 3, 2**63 - 1):
        for g in (0, 1, 59):
            y0, _ = _threefry_ref((seed & 0xFFFFFFFF, seed >> 32), (g, 0x45430000))
            assert generation_seed(seed, g) == y0
    seeds = {generation_seed(7, g) for g in range(1000)}
    assert len(seeds) == 1000


def test_quantize_rho_edges():
    rho = np.array([-0.5, 0.0, 1e-3, 0.5, 1 - 1e-3, 1.0, 2.0, 0.5 / 65536, 1.5 / 65536])
    q = quantize_rho(rho)
    assert q.dtype == np.uint16 and RHO_BITS == 16
    # np.rint rounds half to even: 0.5 -> 0, 1.5 -> 2.
    assert q.tolist() == [0, 0, 66, 32768, 65470, 65535, 65535, 0, 2]


def test_avalanche_single_bit_flips():
    # Flipping one bit of key or counter flips each output bit with probability 1/2.
    rng = np.random.default_rng(2)
    n = 4000
    flips = np.zeros(64)
    for _ in range(n):
        k0, k1, c0, c1 = rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist()
        which, bit = int(rng.integers(4)), 1 << int(rng.integers(32))
        args = [k0, k1, c0, c1]
        y = threefry2x32(*args)
        args[which] ^= bit
        yf = threefry2x32(*args)
        d = ((y[0] ^ yf[0]) | ((y[1] ^ yf[1]) << 32))
        flips += [(d >> i) & 1 for i in range(64)]
    z = _z_binomial(flips, n, 0.5)
    assert np.max(np.abs(z)) < Z_MAX, z


# --- Uniformity of the 16-bit lanes ---------------------------------------------------------
@pytest.mark.parametrize("lane", range(4))
def test_lane_values_uniform(lane):
    u = _lanes(0x9E3779B9, 17, 0, 1 << 17)[:, lane]
    for vals, bins in ((u >> 8, 256), (u & 0xFF, 256), (u & 0xF, 16)):
        hist = np.bincount(vals, minlength=bins)
        z = _z_chi2(hist, np.full(bins, u.size / bins))
        assert abs(z) < Z_MAX, (bins, z)


# --- Bit frequencies vs rho ----------------------------------------------------------------
_LAY = GenomeLayout(64, 22, 3)  # Hopper-like inputs and outputs at N = 64: 5696 connections


@pytest.mark.parametrize("rho_q", [1, 66, 655, 6554, 16384, 32768, 45000, 58982, 65469,
                                   65534, 65535])
def test_bit_frequency_matches_rho(rho_q):
    members = np.arange(300)
    rho = np.full(_LAY.n_conn, rho_q, dtype=np.uint16)
    bits = unpack_genome(sample_members(generation_seed(11, rho_q), members, rho, _LAY), _LAY)
    p = rho_q / 65536
    n = bits.size
    z = _z_binomial(int(bits.sum()), n, p)
    assert abs(z) < Z_MAX, z
    # Each lane (a different 16-bit slice of the block) separately.
    for lane in range(4):
        sub = bits[:, lane::4]
        assert abs(_z_binomial(int(sub.sum()), sub.size, p)) < Z_MAX, lane


def test_rho_zero_never_and_rho_max_almost_always():
    members = np.arange(50)
    zero = sample_members(5, members, np.zeros(_LAY.n_conn, np.uint16), _LAY)
    assert not zero.any()
    full = unpack_genome(sample_members(5, members, np.full(_LAY.n_conn, 65535, np.uint16),
                                        _LAY), _LAY)
    # P(0) = 1/65536: u == 0xffff is the only way to draw 0.
    misses = int((~full).sum())
    assert abs(_z_binomial(misses, full.size, 1 / 65536)) < Z_MAX, misses


def test_per_connection_frequency_with_varied_rho():
    rng = np.random.default_rng(3)
    rho = rng.integers(0, 65536, size=_LAY.n_conn).astype(np.uint16)
    rho[::97] = 0
    rho[1::89] = 65535
    m = 1000
    bits = unpack_genome(sample_members(0xC0FFEE, np.arange(m), rho, _LAY), _LAY)
    k = bits.sum(axis=0)
    p = rho / 65536.0
    assert not k[rho == 0].any()
    # Global bias: sum of all deviations.
    dev = k - m * p
    z_all = dev.sum() / np.sqrt(np.sum(m * p * (1 - p)))
    assert abs(z_all) < Z_MAX, z_all
    # Chi-square over the connections with a well-approximated binomial (0.05 < p < 0.95).
    ok = (p > 0.05) & (p < 0.95)
    zc = dev[ok] / np.sqrt(m * p[ok] * (1 - p[ok]))
    z_chi = (np.sum(zc**2) - ok.sum()) / np.sqrt(2 * ok.sum())
    assert abs(z_chi) < Z_MAX, z_chi
    # Deviations do not track the connection index (no drift along the genome).
    assert abs(_z_corr(np.arange(ok.sum()), zc)) < Z_MAX


# --- Independence: members, neighbouring connections, generations --------------------------
_NB = 1 << 16  # blocks per correlation check (262144 lane values)


def test_no_correlation_between_members():
    g = generation_seed(1, 0)
    base = _lanes(g, 0, 0, _NB)
    for other in (1, 2, 3, 255, 256, 2**31, 2**32 - 1):
        u = _lanes(g, other, 0, _NB)
        for lane in range(4):
            assert abs(_z_corr(base[:, lane], u[:, lane])) < Z_MAX, (other, lane)
        # Across lanes too (member m lane 0 vs member m' lane 1, ...).
        assert abs(_z_corr(base[:, 0], u[:, 1])) < Z_MAX
        assert abs(_z_corr(base[:, 3], u[:, 2])) < Z_MAX


def test_no_correlation_between_member_genomes_at_fixed_rho():
    # Same rho, different member indices: bit-level phi coefficients of whole genomes.
    rho = np.full(_LAY.n_conn, 32768, dtype=np.uint16)
    bits = unpack_genome(sample_members(generation_seed(2, 3), np.arange(64), rho, _LAY),
                         _LAY).astype(np.float64)
    phi = np.corrcoef(bits)[np.triu_indices(64, 1)]
    z = phi * np.sqrt(_LAY.n_conn)
    # Max over 2016 pairs of |N(0,1)|: P(> 5) ~ 1e-3 for the whole family; use 5.5 to keep the
    # family-wise false-alarm rate of this test below 1e-4 like the others.
    assert np.max(np.abs(z)) < 5.5, np.max(np.abs(z))
    assert abs(np.mean(z) * np.sqrt(z.size)) < Z_MAX


@pytest.mark.parametrize("a,b", [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
def test_no_correlation_between_lanes_of_a_block(a, b):
    u = _lanes(generation_seed(4, 0), 9, 0, _NB)
    assert abs(_z_corr(u[:, a], u[:, b])) < Z_MAX
    # Bits at a small rho (connections 4b+a and 4b+b of the same member).
    assert abs(_z_corr(u[:, a] < 6554, u[:, b] < 6554)) < Z_MAX


@pytest.mark.parametrize("a,b", [(3, 0), (0, 0), (1, 1), (2, 2), (3, 3), (2, 1)])
def test_no_correlation_between_adjacent_blocks(a, b):
    u = _lanes(generation_seed(4, 1), 10, 0, _NB + 1)
    assert abs(_z_corr(u[:-1, a], u[1:, b])) < Z_MAX
    assert abs(_z_corr(u[:-1, a] < 32768, u[1:, b] < 32768)) < Z_MAX


def test_no_correlation_between_rows_of_the_genome():
    # Connection c and c + N (same presynaptic column, neighbouring rows of W_rec).
    n = 256
    u = _lanes(generation_seed(4, 2), 11, 0, _NB).reshape(-1)
    assert abs(_z_corr(u[:-n], u[n:])) < Z_MAX


def test_no_correlation_between_generations():
    seed = 12345
    for g in (0, 1, 7):
        a = _lanes(generation_seed(seed, g), 3, 0, _NB)
        b = _lanes(generation_seed(seed, g + 1), 3, 0, _NB)
        for lane in range(4):
            assert abs(_z_corr(a[:, lane], b[:, lane])) < Z_MAX, (g, lane)
    # Neighbouring run seeds, same generation.
    a = _lanes(generation_seed(seed, 0), 3, 0, _NB)
    b = _lanes(generation_seed(seed + 1, 0), 3, 0, _NB)
    assert abs(_z_corr(a.reshape(-1), b.reshape(-1))) < Z_MAX


# --- The fast kernel equals the slow restatement; prange does not alias -------------------
_LAYOUTS = [GenomeLayout(16, 2, 1), GenomeLayout(16, 6, 2), GenomeLayout(32, 22, 3),
            GenomeLayout(17, 10, 4), GenomeLayout(65, 22, 3), GenomeLayout(64, 130, 2)]


def _random_rho(rng, n):
    rho = rng.integers(0, 65536, size=n).astype(np.uint16)
    rho[rng.random(n) < 0.1] = 0
    rho[rng.random(n) < 0.1] = 65535
    return rho


@pytest.mark.parametrize("lay", _LAYOUTS, ids=lambda lay: f"N{lay.n_neurons}I{lay.n_inputs}"
                         f"A{lay.act_dim}")
def test_sample_members_equals_sample_member_bits(lay):
    rng = np.random.default_rng(lay.n_conn)
    for _ in range(3):
        gen_seed = int(rng.integers(0, 2**32))
        rho = _random_rho(rng, lay.n_conn)
        members = np.array([0, 1, int(rng.integers(2, 2**32)), 2**32 - 1])
        fast = sample_members(gen_seed, members, rho, lay)
        slow = np.stack([sample_member_bits(gen_seed, int(m), rho) for m in members])
        assert np.array_equal(fast, pack_genome(slow, lay))
        # Padding bits of every row stay zero (pack_genome never sets them).
        assert np.array_equal(pack_genome(unpack_genome(fast, lay), lay), fast)


def test_sample_members_rejects_wrong_rho_length():
    with pytest.raises(ValueError, match=r"rho_q has shape \(3,\), expected \(352,\)"):
        sample_members(0, np.arange(2), np.zeros(3, np.uint16), GenomeLayout(16, 4, 2))


def test_prange_batch_equals_members_one_at_a_time():
    # A buffer hoisted out of the prange body (the per-member block cache) would be shared by
    # threads and mix up members; member order and duplicates must not matter either.
    lay = GenomeLayout(32, 22, 3)
    rng = np.random.default_rng(4)
    rho = _random_rho(rng, lay.n_conn)
    members = rng.permutation(np.concatenate([np.arange(97), [5, 5, 5]]))
    batch = sample_members(77, members, rho, lay)
    for i, m in enumerate(members):
        assert np.array_equal(batch[i], sample_members(77, np.array([m]), rho, lay)[0]), m
    assert len({batch[i].tobytes() for i in range(len(members))}) == 97


_NOJIT_SNIPPET = """
import sys
import numpy as np
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import sample_members
lay = GenomeLayout(16, 6, 2)
rng = np.random.default_rng(5)
rho = rng.integers(0, 65536, size=lay.n_conn).astype(np.uint16)
np.save(sys.argv[1], sample_members(99, np.arange(12), rho, lay))
"""


def test_jit_equals_numba_disable_jit(tmp_path):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1",
               PYTHONPATH=f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    out = tmp_path / "nojit.npy"
    subprocess.run([sys.executable, "-c", _NOJIT_SNIPPET, str(out)], env=env, check=True,
                   timeout=300)
    lay = GenomeLayout(16, 6, 2)
    rho = np.random.default_rng(5).integers(0, 65536, size=lay.n_conn).astype(np.uint16)
    assert np.array_equal(np.load(out), sample_members(99, np.arange(12), rho, lay))
