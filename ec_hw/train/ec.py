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

from ..config import FITNESS_SHAPINGS
from ..model.packing import GenomeLayout, pack_genome
from ..model.sampler import sample_members

__all__ = ["centered_ranks", "nes_utilities", "shape_fitness", "mode_flips",
           "natural_gradient", "deterministic_genome", "rho_entropy",
           "natural_gradient_halves", "GROUPS", "group_slices", "rho_diagnostics",
           "gradient_snr", "probe_activity"]


def centered_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to [-0.5, 0.5]; members with equal fitness share the mean of their ranks.

    The authors' argsort breaks ties by index. Ties are common where members behave
    identically (silent networks, episodes that end the same way on a deterministic start):
    ranking them by index gives the natural gradient a term that is pure sampling noise, and
    Adam, which normalizes the step, turns it into full-size moves of rho that collapse its
    entropy while the fitness says nothing (all members tied: every connection still moves by
    ``lr``). With shared ranks a tie contributes nothing, and a population that ties
    everywhere leaves rho where it is.
    """
    x = np.asarray(x, np.float64)
    if x.size < 2:
        return np.zeros_like(x)
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank of each distinct value's first member
    ranks = (first + (counts - 1) / 2.0)[inv.reshape(-1)]
    return ranks / (x.size - 1) - 0.5


def nes_utilities(x: np.ndarray) -> np.ndarray:
    """NES fitness shaping (Wierstra et al. 2014, JMLR, eq. 14): the member of rank ``k`` (1 =
    best of ``n``) gets ``max(0, log(n / 2 + 1) - log k)``, normalized to sum 1, minus ``1 / n``.

    Only the better half pulls (log-decreasing weights); the worse half shares one weight
    ``-1 / n``, so the order among failing members (most of a population early in a task, or
    members that fall at about the same step) adds nothing to the gradient, where centered
    ranks give it the same weight as the order among the best. Sums to 0; members with equal
    fitness share the mean of their positions' utilities (as :func:`centered_ranks`), so an
    all-tied population gives zeros.
    """
    x = np.asarray(x, np.float64)
    n = x.size
    if n < 2:
        return np.zeros_like(x)
    k = np.arange(1, n + 1)
    u = np.maximum(0.0, np.log(n / 2 + 1) - np.log(k))
    u = u / u.sum() - 1.0 / n                      # u[j]: utility of the (j+1)-th best
    _, inv, counts = np.unique(-x, return_inverse=True, return_counts=True)
    if counts.size == 1:  # all tied: exactly no gradient (Adam would scale up rounding)
        return np.zeros_like(x)
    starts = np.cumsum(counts) - counts            # best-first position of each distinct value
    csum = np.concatenate(([0.0], np.cumsum(u)))
    shared = (csum[starts + counts] - csum[starts]) / counts
    return shared[inv.reshape(-1)]


def mixed_weights(x: np.ndarray, full: float) -> np.ndarray:
    """NES utilities and centered ranks mixed by ``full``, the share of members that ran every
    episode to the time limit: ``(1 - full) * u / |u|_1 + full * r / |r|_1``.

    Utilities discard the order among the worse half, which is noise while members fall at
    about the same step. A member that survives its whole episode is ranked by how well it
    moved, an order that is informative across the population, and centered ranks use all of
    it (at ``n = 256`` they select ~192 members effectively, utilities ~67). The mix moves
    from utilities to ranks as the population learns to survive; each part is scaled to unit
    L1 norm so ``full`` is the ranks' share of the weight. All tied: zeros.
    """
    if not 0.0 <= full <= 1.0:
        raise ValueError(f"full must be in [0, 1], not {full!r}")
    u, r = nes_utilities(x), centered_ranks(x)
    su, sr = np.abs(u).sum(), np.abs(r).sum()
    if su == 0.0 or sr == 0.0:
        return np.zeros_like(u)
    return (1.0 - full) * (u / su) + full * (r / sr)


def shape_fitness(x: np.ndarray, kind: str = "ranks", full: float = 0.0) -> np.ndarray:
    """The weights ``w`` of the natural gradient from the members' fitness; ``full`` (the
    share of members whose every episode reached the time limit) is used by ``mixed`` only."""
    if kind == "ranks":
        return centered_ranks(x)
    if kind == "utility":
        return nes_utilities(x)
    if kind == "mixed":
        return mixed_weights(x, full)
    raise ValueError(f"fitness shaping must be one of {', '.join(FITNESS_SHAPINGS)}, "
                     f"not {kind!r}")


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


def _accumulate(gen_seed, member_ids, w, rho_q, layout, acc, chunk, antithetic):
    # acc[bit position] += w[m] for every member m in order (the order fixes the rounding).
    for c0 in range(0, len(member_ids), chunk):
        g = sample_members(gen_seed, member_ids[c0:c0 + chunk], rho_q, layout, antithetic)
        _weighted_bit_sums(g, np.asarray(w[c0:c0 + chunk], np.float64), acc)


def natural_gradient(gen_seed: int, member_ids: np.ndarray, w: np.ndarray, rho_q: np.ndarray,
                     layout: GenomeLayout, chunk: int = 1024,
                     antithetic: bool = False) -> np.ndarray:
    """``mean_i w_i (theta_i - p)`` with ``p = rho_q / 2**16`` the exact sampling probability.

    The members' bits are regenerated from ``(gen_seed, member)`` (mirrored pairs if
    ``antithetic``), ``chunk`` at a time.
    """
    member_ids = np.asarray(member_ids, np.int64)
    acc = np.zeros(layout.n_words * 64)
    _accumulate(gen_seed, member_ids, w, rho_q, layout, acc, chunk, antithetic)
    p = rho_q.astype(np.float64) / 65536.0
    n = len(member_ids)
    return acc[_flat_positions(layout)] / n - p * (float(np.sum(w)) / n)


def natural_gradient_halves(gen_seed: int, member_ids: np.ndarray, w: np.ndarray,
                            rho_q: np.ndarray, layout: GenomeLayout, antithetic: bool = False,
                            chunk: int = 1024) -> tuple[np.ndarray, dict[str, float]]:
    """:func:`natural_gradient` (bit-identical) plus its per-group signal-to-noise ratio
    (:func:`gradient_snr`) from the two halves' estimates, at no extra sampling cost.

    The halves split at an even member, so mirrored pairs stay together.
    """
    member_ids = np.asarray(member_ids, np.int64)
    w = np.asarray(w, np.float64)
    n = len(member_ids)
    h = 2 * (n // 4)
    acc = np.zeros(layout.n_words * 64)
    _accumulate(gen_seed, member_ids[:h], w[:h], rho_q, layout, acc, chunk, antithetic)
    acc_a = acc.copy()
    _accumulate(gen_seed, member_ids[h:], w[h:], rho_q, layout, acc, chunk, antithetic)
    pos = _flat_positions(layout)
    p = rho_q.astype(np.float64) / 65536.0
    grad = acc[pos] / n - p * (float(np.sum(w)) / n)
    if h == 0:
        return grad, {}
    g_a = acc_a[pos] / h - p * (float(np.sum(w[:h])) / h)
    g_b = (acc - acc_a)[pos] / (n - h) - p * (float(np.sum(w[h:])) / (n - h))
    return grad, gradient_snr(g_a, g_b, layout)


def deterministic_genome(rho: np.ndarray, layout: GenomeLayout) -> np.ndarray:
    """The deployed network: packed ``rho > 0.5``."""
    return pack_genome(rho > 0.5, layout)


def rho_entropy(rho: np.ndarray) -> float:
    """Mean binary entropy of rho in bits (1 = uninformed, 0 = every connection decided)."""
    p = np.clip(rho, 1e-12, 1 - 1e-12)
    return float(np.mean(-(p * np.log2(p) + (1 - p) * np.log2(1 - p))))


def mode_flips(rho: np.ndarray) -> float:
    """Expected number of connections in which a member ``theta ~ B(rho)`` differs from the
    deployed network ``rho > 0.5``: ``sum_i min(rho_i, 1 - rho_i)``.

    The fitness ranks members, never the deployed network; the further they lie from it, the
    less their returns say about its return (docs/learning.md 6.3 and 10).
    """
    rho = np.asarray(rho, np.float64)
    return float(np.minimum(rho, 1.0 - rho).sum())


# --- diagnostics (cheap per-generation measurements written to metrics.jsonl) ----------------

GROUPS = ("in", "rec", "out")
"""Connection groups of the flat genome: input, recurrent, output."""


def group_slices(layout: GenomeLayout) -> dict[str, slice]:
    """Flat-genome ranges of the connection groups."""
    return {"in": slice(0, layout.off_rec_bits),
            "rec": slice(layout.off_rec_bits, layout.off_out_bits),
            "out": slice(layout.off_out_bits, layout.n_conn)}


def rho_diagnostics(rho: np.ndarray, layout: GenomeLayout, eps: float,
                    mask: np.ndarray | None = None) -> dict[str, float]:
    """Per group: mean entropy of rho (bits) and the fraction of rho at a clip bound, over the
    connections ``mask`` keeps (:func:`ec_hw.topology.connectivity_mask`; None: all)."""
    out = {}
    tol = 1e-9
    for name, sl in group_slices(layout).items():
        r = rho[sl] if mask is None else rho[sl][mask[sl]]
        if r.size == 0:
            continue
        out[f"H_{name}"] = rho_entropy(r)
        out[f"clip_{name}"] = float(np.mean((r <= eps + tol) | (r >= 1 - eps - tol)))
    return out


def gradient_snr(g_a: np.ndarray, g_b: np.ndarray, layout: GenomeLayout) -> dict[str, float]:
    """Signal-to-noise ratio per group of the full-population gradient ``(g_a + g_b) / 2`` from
    two independent half-population estimates ``g_a``, ``g_b`` (same signal ``s``, independent
    noise): ``<g_a, g_b> ~ |s|^2`` and ``|g_a - g_b|^2 / 4 ~ |noise of the mean|^2``, so
    ``snr = sqrt(max(<g_a, g_b>, 0) / (|g_a - g_b|^2 / 4))`` (0 = pure noise, 1 = as much
    signal as noise; the gradient's norm-weighted average over the group's connections). Pure
    noise reads about ``sqrt(2 |z|) / n**0.25`` with ``z ~ N(0, 1)`` (the clamp's floor), ~0.1
    for a group of 65536 connections."""
    out = {}
    for name, sl in group_slices(layout).items():
        a, b = g_a[sl], g_b[sl]
        noise = float(np.sum((a - b) ** 2)) / 4.0
        out[f"snr_{name}"] = float(np.sqrt(max(float(np.dot(a, b)), 0.0) / noise)) if noise else 0.0
    return out


def probe_activity(net, core, genome: np.ndarray, env_id: str, obs_mean: np.ndarray,
                   obs_std: np.ndarray, seed: int, steps: int = 100) -> dict[str, float]:
    """Run one network on the golden model for up to ``steps`` env steps of one episode.

    Returns the mean spikes per neuron per substep (excitatory and inhibitory halves) and the
    fraction of action components at the saturation bound +-1.
    """
    from ..fixedpoint import action_to_unit, quantize_obs
    from ..model.core import FixedNet, NetState
    from .envs import make_env, unit_to_action

    fx = FixedNet(net, core)
    st = NetState.zeros(1, fx.layout)
    env = make_env(env_id)
    try:
        low = env.action_space.low.astype(np.float64)
        high = env.action_space.high.astype(np.float64)
        obs = env.reset(seed=int(seed))[0]
        spikes = np.zeros(net.n_neurons)
        n_sub = n_act = n_sat = 0
        for _ in range(steps):
            x_q = quantize_obs(obs[None], obs_mean, obs_std, fx.fp)[0]
            act_q, tr = fx.step_one(x_q, genome, st, 0, trace=True)
            bits = np.unpackbits(tr.view(np.uint8), bitorder="little").reshape(tr.shape[0], -1)
            spikes += bits[:, :net.n_neurons].sum(axis=0)
            n_sub += tr.shape[0]
            a = action_to_unit(act_q[None], fx.fp)[0]
            n_sat += int(np.sum(np.abs(a) >= 1.0))
            n_act += a.size
            obs, _, term, trunc, _ = env.step(unit_to_action(a, low, high))
            if term or trunc:
                break
    finally:
        env.close()
    ne = net.n_exc
    rate = spikes / max(n_sub, 1)
    return {"spk_exc": float(rate[:ne].mean()), "spk_inh": float(rate[ne:].mean()),
            "act_sat": n_sat / max(n_act, 1)}
