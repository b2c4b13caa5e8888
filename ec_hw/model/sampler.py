"""Counter-based Bernoulli sampler: (generation seed, member index, connection index) -> bit.

Golden-model twin of the gateware sampler (``ec_hw/gateware/sampler.py``); the trainer, the
evaluators and the device all draw a member's connections with exactly this function, so a
member is fully described by two integers plus the generation's quantized rho.

Specification
-------------
* Generator: Threefry-2x32 with 20 rounds (Salmon et al., SC'11, the Random123 reference; the
  same function as JAX's ``threefry_2x32``). Only 32-bit additions, rotations and XORs: no
  multipliers, fully pipelinable, one 64-bit output per cycle per instance.
* Generation seed: ``gen_seed = threefry(key=(seed & 0xffffffff, seed >> 32),
  ctr=(generation, 0x45430000))[0]`` (32 bits).
* Member key: ``key = (gen_seed, member)``.
* Connection ``c`` (flat genome order, :mod:`ec_hw.model.packing`): block ``b = c >> 2``,
  ``(y0, y1) = threefry(key, ctr=(b, 0))``, lane ``c & 3`` selects the 16-bit value
  ``u = [y0 & 0xffff, y0 >> 16, y1 & 0xffff, y1 >> 16][c & 3]``.
* Bit: ``theta_c = u < rho_q[c]`` with ``rho_q = round(rho * 65536)`` clipped to 0..65535, so
  ``P(theta_c = 1) = rho_q / 65536`` exactly (resolution 1.5e-5; eps = 1e-3 is 66).

Antithetic (mirrored) pairs, optional (``antithetic=True``): members ``2k`` and ``2k + 1`` share
one stream, keyed by ``(gen_seed, k = member >> 1)``; the even member's bit is ``u < rho_q[c]``,
the odd member's is ``(u ^ 0xFFFF) < rho_q[c]`` (``u ^ 0xFFFF = 65535 - u``). Both bits have
``P = rho_q / 65536`` exactly and are negatively correlated (complementary at
``rho_q = 32768``), which cancels the pair's common noise in the natural gradient. The gateware
sampler draws them too (its ``cmd.antithetic``; the protocol's ``SAMPLE_ANTITHETIC`` flag).
"""

from __future__ import annotations

import numba
import numpy as np

from ..genome import RHO_BITS, THREEFRY_PARITY, THREEFRY_ROTATIONS, THREEFRY_ROUNDS
from .packing import GenomeLayout

__all__ = ["threefry2x32", "generation_seed", "quantize_rho", "sample_members",
           "sample_member_bits", "RHO_BITS"]

_MASK32 = 0xFFFFFFFF
_GEN_TAG = 0x45430000


@numba.njit(inline="always", cache=True)
def _rotl32(x, r):
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


@numba.njit(cache=True)
def threefry2x32(k0, k1, c0, c1):
    """Threefry-2x32-20 of counter ``(c0, c1)`` under key ``(k0, k1)``; returns ``(y0, y1)``.

    All values are Python/Numba ints holding unsigned 32-bit quantities.
    """
    k0 &= 0xFFFFFFFF
    k1 &= 0xFFFFFFFF
    k2 = THREEFRY_PARITY ^ k0 ^ k1
    ks0, ks1, ks2 = k0, k1, k2
    x0 = (c0 + ks0) & 0xFFFFFFFF
    x1 = (c1 + ks1) & 0xFFFFFFFF
    for i in range(THREEFRY_ROUNDS // 4):  # key injection after every 4 rounds
        for r in range(4):
            rot = THREEFRY_ROTATIONS[(i & 1) * 4 + r]
            x0 = (x0 + x1) & 0xFFFFFFFF
            x1 = _rotl32(x1, rot) ^ x0
        s = i + 1
        ka = (ks0, ks1, ks2)[s % 3]
        kb = (ks0, ks1, ks2)[(s + 1) % 3]
        x0 = (x0 + ka) & 0xFFFFFFFF
        x1 = (x1 + kb + s) & 0xFFFFFFFF
    return x0, x1


def generation_seed(seed: int, generation: int) -> int:
    """The 32-bit seed of one generation of a run."""
    return int(threefry2x32(seed & _MASK32, (seed >> 32) & _MASK32, generation & _MASK32,
                            _GEN_TAG)[0])


def quantize_rho(rho: np.ndarray) -> np.ndarray:
    """``round(rho * 65536)`` clipped to 0..65535, as uint16 (the device's rho memory)."""
    q = np.rint(np.asarray(rho, dtype=np.float64) * 65536.0)
    return np.clip(q, 0, 65535).astype(np.uint16)


_BLOCK_CHUNK = 512
"""Threefry blocks computed together (2048 connections): each group of four rounds is one
pass over this many counters, so the rounds run in SIMD lanes (16 uint32 lanes on AVX-512)."""

_M32 = np.uint64(0xFFFFFFFF)


@numba.njit(inline="always", cache=True)
def _add32(a, b):
    # (a + b) mod 2**32 of two 32-bit values, computed in 64 bits and masked.
    return numba.uint32((numba.uint64(a) + numba.uint64(b)) & _M32)


@numba.njit(inline="always", cache=True)
def _rotl32_lane(x, r):
    # _rotl32 of a uint32 lane value (64-bit shifts, masked back to 32 bits).
    x = numba.uint64(x)
    return numba.uint32(((x << numba.uint64(r)) | (x >> numba.uint64(32 - r))) & _M32)


@numba.njit(cache=True)
def _threefry_blocks(k0, k1, b0, nblk, y0, y1):
    # threefry2x32(k0, k1, b, 0) for b = b0 .. b0 + nblk - 1 into the uint32 arrays y0[:nblk],
    # y1[:nblk]: the same rounds, key schedule and masks as threefry2x32, four rounds and one
    # key injection per pass over all blocks (the values stay in registers within a pass).
    m32 = 0xFFFFFFFF
    ks = (k0 & m32, k1 & m32, THREEFRY_PARITY ^ (k0 & m32) ^ (k1 & m32))
    for j in range(nblk):
        y0[j] = ((b0 + j) + ks[0]) & m32
        y1[j] = ks[1]
    for i in range(THREEFRY_ROUNDS // 4):
        o = (i & 1) * 4
        ra, rb = THREEFRY_ROTATIONS[o], THREEFRY_ROTATIONS[o + 1]
        rc, rd = THREEFRY_ROTATIONS[o + 2], THREEFRY_ROTATIONS[o + 3]
        s = i + 1
        ka = numba.uint32(ks[s % 3])
        kb = numba.uint32((ks[(s + 1) % 3] + s) & m32)
        for j in range(nblk):
            x0 = y0[j]
            x1 = y1[j]
            x0 = _add32(x0, x1)
            x1 = _rotl32_lane(x1, ra) ^ x0
            x0 = _add32(x0, x1)
            x1 = _rotl32_lane(x1, rb) ^ x0
            x0 = _add32(x0, x1)
            x1 = _rotl32_lane(x1, rc) ^ x0
            x0 = _add32(x0, x1)
            x1 = _rotl32_lane(x1, rd) ^ x0
            y0[j] = _add32(x0, ka)
            y1[j] = _add32(x1, kb)


@numba.njit(cache=True)
def _flat_bits(k0, k1, flip, rho_q, flat):
    # The member's bits theta_c = (u_c ^ flip) < rho_q[c] in flat connection order, 64 per
    # word (bit c & 63 of flat[c >> 6]); words past the last connection are left alone.
    n_conn = rho_q.shape[0]
    y0 = np.empty(_BLOCK_CHUNK, np.uint32)
    y1 = np.empty(_BLOCK_CHUNK, np.uint32)
    u = np.empty(4 * _BLOCK_CHUNK, np.int32)
    bit = np.zeros(4 * _BLOCK_CHUNK, np.uint8)  # one 0/1 byte per connection of a chunk
    octet = bit.view(np.uint64)
    nb = (n_conn + 3) >> 2
    for b0 in range(0, nb, _BLOCK_CHUNK):
        k = min(_BLOCK_CHUNK, nb - b0)
        _threefry_blocks(k0, k1, b0, k, y0, y1)
        for j in range(k):  # lane c & 3 of block c >> 2 (the module spec)
            u[4 * j] = (y0[j] & 0xFFFF) ^ flip
            u[4 * j + 1] = (y0[j] >> 16) ^ flip
            u[4 * j + 2] = (y1[j] & 0xFFFF) ^ flip
            u[4 * j + 3] = (y1[j] >> 16) ^ flip
        c0 = 4 * b0  # a multiple of 64: chunks fill whole flat words
        n = min(4 * k, n_conn - c0)
        for t in range(n):
            bit[t] = u[t] < rho_q[c0 + t]
        for t in range(n, (n + 63) & ~63):
            bit[t] = 0
        for w in range((n + 63) >> 6):
            word = numba.uint64(0)
            for q in range(8):
                # bytes 0/1 at bits 8i of v -> bits 0..7 of v (8 connections per octet)
                v = octet[8 * w + q]
                v |= v >> numba.uint64(7)
                v |= v >> numba.uint64(14)
                v |= v >> numba.uint64(28)
                word |= (v & numba.uint64(0xFF)) << numba.uint64(8 * q)
            flat[(c0 >> 6) + w] = word


@numba.njit(cache=True)
def _rows_from_flat(flat, c, rows, cols, words_per_row, out, word_off):
    # Copy ``rows`` rows of ``cols`` bits starting at flat bit ``c`` into rows of
    # ``words_per_row`` words at out[word_off:], padding bits zero; return the next flat bit.
    for r in range(rows):
        for k in range(words_per_row):
            nbits = min(64, cols - 64 * k)
            pos = c + 64 * k
            w, sh = pos >> 6, pos & 63
            v = flat[w] >> numba.uint64(sh)
            if sh:
                v |= flat[w + 1] << numba.uint64(64 - sh)
            if nbits < 64:
                v &= (numba.uint64(1) << numba.uint64(nbits)) - numba.uint64(1)
            out[word_off + r * words_per_row + k] = v
        c += cols
    return c


@numba.njit(cache=True)
def _sample_one(gen_seed, member, rho_q, lay, out, antithetic):
    n, ni, a, wi, nw, off_rec, off_out = lay[0], lay[1], lay[2], lay[3], lay[4], lay[5], lay[6]
    key, flip = member, 0
    if antithetic:
        key, flip = member >> 1, 0xFFFF * (member & 1)
    # allocated per call: never shared across members; one spare word for _rows_from_flat
    flat = np.zeros(((rho_q.shape[0] + 63) >> 6) + 1, np.uint64)
    _flat_bits(gen_seed, key, flip, rho_q, flat)
    c = _rows_from_flat(flat, 0, n, ni, wi, out, 0)
    c = _rows_from_flat(flat, c, n, n, nw, out, off_rec)
    _rows_from_flat(flat, c, a, n, nw, out, off_out)


@numba.njit(parallel=True, cache=True)
def _sample_batch(gen_seed, members, rho_q, lay, out, antithetic):
    for m in numba.prange(members.shape[0]):
        _sample_one(gen_seed, members[m], rho_q, lay, out[m], antithetic)


def sample_members(gen_seed: int, members: np.ndarray, rho_q: np.ndarray,
                   layout: GenomeLayout, antithetic: bool = False) -> np.ndarray:
    """Packed genomes ``(len(members), n_words)`` uint64 of the given member indices
    (``antithetic``: members ``2k``, ``2k + 1`` are a mirrored pair, see the module spec)."""
    members = np.asarray(members, dtype=np.int64)
    rho_q = np.asarray(rho_q)
    if rho_q.shape != (layout.n_conn,):
        raise ValueError(f"rho_q has shape {rho_q.shape}, expected ({layout.n_conn},)")
    out = np.zeros((members.shape[0], layout.n_words), dtype=np.uint64)
    _sample_batch(np.int64(gen_seed), members, rho_q.astype(np.int32), layout.as_array(), out,
                  bool(antithetic))
    return out


def sample_member_bits(gen_seed: int, member: int, rho_q: np.ndarray,
                       antithetic: bool = False) -> np.ndarray:
    """Flat boolean genome of one member: a slow, obviously-correct restatement of the spec."""
    n_conn = rho_q.shape[0]
    bits = np.zeros(n_conn, dtype=bool)
    key = member >> 1 if antithetic else member
    odd = antithetic and member % 2 == 1
    for b in range((n_conn + 3) // 4):
        y0, y1 = threefry2x32(gen_seed, key, b, 0)
        lanes = (y0 & 0xFFFF, y0 >> 16, y1 & 0xFFFF, y1 >> 16)
        for lane in range(4):
            c = 4 * b + lane
            if c < n_conn:
                u = 65535 - lanes[lane] if odd else lanes[lane]
                bits[c] = u < int(rho_q[c])
    return bits
