"""Evolving Connectivity (Wang et al., NeurIPS 2023): NES over Bernoulli connection probabilities.

Per generation: ``theta_i ~ B(rho)`` regenerated from (generation seed, member index) by
:mod:`ec_hw.model.sampler`; fitness ``f_i``; centered ranks ``w_i``; natural gradient
``g = mean_i w_i (theta_i - rho)``; ``rho <- clip(rho + Adam(g), eps, 1 - eps)``. The deployed
network is ``rho > 0.5``.

The driver never receives connections from the evaluators: it regenerates the sampled bits
itself (the same function the workers and the device use), so only scalars cross processes.
"""

from __future__ import annotations

import numba
import numpy as np

from ..model.packing import GenomeLayout, pack_genome
from ..model.sampler import sample_members

__all__ = ["centered_ranks", "natural_gradient", "deterministic_genome", "rho_entropy"]


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to [-0.5, 0.5] (ties broken by index, like the authors' argsort)."""
    x = np.asarray(x, np.float64)
    if x.size < 2:
        return np.zeros_like(x)
    ranks = np.empty(x.size, np.float64)
    ranks[np.argsort(x, kind="stable")] = np.arange(x.size)
    return ranks / (x.size - 1) - 0.5


@numba.njit(parallel=True, cache=True)
def _weighted_bit_sums(genomes, w, out):
    # out[word * 64 + bit] += w[m] for every set bit; threads own disjoint words (no races).
    n_words = genomes.shape[1]
    for k in numba.prange(n_words):
        for m in range(genomes.shape[0]):
            x = genomes[m, k]
            if x:
                wm = w[m]
                for b in range(64):
                    if (x >> numba.uint64(b)) & numba.uint64(1):
                        out[k * 64 + b] += wm


def _flat_positions(layout: GenomeLayout) -> np.ndarray:
    """Packed bit position of every flat connection index."""
    pos = np.empty(layout.n_conn, np.int64)
    n, ni, a = layout.n_neurons, layout.n_inputs, layout.act_dim
    r, c = np.divmod(np.arange(n * ni), ni)
    pos[: layout.off_rec_bits] = (r * layout.wi + c // 64) * 64 + c % 64
    r, c = np.divmod(np.arange(n * n), n)
    pos[layout.off_rec_bits: layout.off_out_bits] = (layout.off_rec + r * layout.nw
                                                     + c // 64) * 64 + c % 64
    r, c = np.divmod(np.arange(a * n), n)
    pos[layout.off_out_bits:] = (layout.off_out + r * layout.nw + c // 64) * 64 + c % 64
    return pos


def natural_gradient(gen_seed: int, member_ids: np.ndarray, w: np.ndarray, rho_q: np.ndarray,
                     layout: GenomeLayout, chunk: int = 1024) -> np.ndarray:
    """``mean_i w_i (theta_i - p)`` with ``p = rho_q / 2**16`` the exact sampling probability.

    The members' bits are regenerated from ``(gen_seed, member)``, ``chunk`` at a time.
    """
    member_ids = np.asarray(member_ids, np.int64)
    acc = np.zeros(layout.n_words * 64)
    for c0 in range(0, len(member_ids), chunk):
        g = sample_members(gen_seed, member_ids[c0:c0 + chunk], rho_q, layout)
        _weighted_bit_sums(g, np.asarray(w[c0:c0 + chunk], np.float64), acc)
    p = rho_q.astype(np.float64) / 65536.0
    n = len(member_ids)
    return acc[_flat_positions(layout)] / n - p * (float(np.sum(w)) / n)


def deterministic_genome(rho: np.ndarray, layout: GenomeLayout) -> np.ndarray:
    """The deployed network: packed ``rho > 0.5``."""
    return pack_genome(rho > 0.5, layout)


def rho_entropy(rho: np.ndarray) -> float:
    """Mean binary entropy of rho in bits (1 = uninformed, 0 = every connection decided)."""
    p = np.clip(rho, 1e-12, 1 - 1e-12)
    return float(np.mean(-(p * np.log2(p) + (1 - p) * np.log2(1 - p))))
