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
"""Threefry blocks computed together: one pass of each round over this many counters, so the
rounds run in SIMD lanes (the 64-bit lanes hold 32-bit values, masked explicitly)."""


@numba.njit(cache=True)
def _threefry_blocks(k0, k1, b0, nblk, y0, y1):
    # threefry2x32(k0, k1, b, 0) for b = b0 .. b0 + nblk - 1 into y0[:nblk], y1[:nblk]: the
    # same rounds, key schedule and masks as threefry2x32, one round at a time over all blocks.
    m32 = 0xFFFFFFFF
    ks = (k0 & m32, k1 & m32, THREEFRY_PARITY ^ (k0 & m32) ^ (k1 & m32))
    for j in range(nblk):
        y0[j] = ((b0 + j) & m32) + ks[0]
        y0[j] &= m32
        y1[j] = ks[1]
    for i in range(THREEFRY_ROUNDS // 4):
        for r in range(4):
            rot = THREEFRY_ROTATIONS[(i & 1) * 4 + r]
            for j in range(nblk):
                x0 = (y0[j] + y1[j]) & m32
                x1 = y1[j]
                y1[j] = (((x1 << rot) | (x1 >> (32 - rot))) & m32) ^ x0
                y0[j] = x0
        s = i + 1
        ka = ks[s % 3]
        kb = ks[(s + 1) % 3]
        for j in range(nblk):
            y0[j] = (y0[j] + ka) & m32
            y1[j] = (y1[j] + kb + s) & m32


@numba.njit(cache=True)
def _uniforms(k0, k1, flip, n_conn, u):
    # u[c] for every connection c: lane c & 3 of block c >> 2 (see the module spec), XOR flip.
    y0 = np.empty(_BLOCK_CHUNK, np.int64)
    y1 = np.empty(_BLOCK_CHUNK, np.int64)
    nb = (n_conn + 3) >> 2
    for b0 in range(0, nb, _BLOCK_CHUNK):
        k = min(_BLOCK_CHUNK, nb - b0)
        _threefry_blocks(k0, k1, b0, k, y0, y1)
        for j in range(k):
            c = (b0 + j) << 2
            for lane in range(4):
                if c + lane < n_conn:
                    y = y0[j] if lane < 2 else y1[j]
                    u[c + lane] = ((y >> (16 * (lane & 1))) & 0xFFFF) ^ flip


@numba.njit(cache=True)
def _sample_rows(u, rho_q, c0, rows, cols, words_per_row, out, word_off):
    c = c0
    for r in range(rows):
        for col in range(cols):
            if u[c] < rho_q[c]:
                w = word_off + r * words_per_row + (col >> 6)
                out[w] |= numba.uint64(1) << numba.uint64(col & 63)
            c += 1
    return c


@numba.njit(cache=True)
def _sample_one(gen_seed, member, rho_q, lay, out, antithetic):
    n, ni, a, wi, nw, off_rec, off_out = lay[0], lay[1], lay[2], lay[3], lay[4], lay[5], lay[6]
    for w in range(out.shape[0]):
        out[w] = 0
    key, flip = member, 0
    if antithetic:
        key, flip = member >> 1, 0xFFFF * (member & 1)
    u = np.empty(rho_q.shape[0], np.int64)  # allocated per call: never shared across members
    _uniforms(gen_seed, key, flip, rho_q.shape[0], u)
    c = _sample_rows(u, rho_q, 0, n, ni, wi, out, 0)
    c = _sample_rows(u, rho_q, c, n, n, nw, out, off_rec)
    _sample_rows(u, rho_q, c, a, n, nw, out, off_out)


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
    _sample_batch(np.int64(gen_seed), members, rho_q.astype(np.int64), layout.as_array(), out,
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
