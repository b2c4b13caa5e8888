"""Float64 references of the paper's equations: what the fixed-point spec approximates.

Not a contract: the golden model (:mod:`ec_hw.model.core`) is. These kernels measure what the
quantization in :mod:`ec_hw.fixedpoint` costs, and serve ``--target float`` and the ES baseline.

``ConnSNN`` (Evolving Connectivity, 1-bit connections), per substep with the previous
substep's spikes ``s`` (E neurons emit +1, I neurons -1)::

    i_syn = a_syn * i_syn + R * (popcount(W_E & s_E) - popcount(W_I & s_I))
    v     = a_m * v + (1 - a_m) * (i_syn + i_in)
    s'    = v > Vth;   v[s'] = 0
    rate  = a_out * rate + (1 - a_out) * sign * s' / dt

with ``i_in = R_in * W_in . [z, -z]`` once per env step (``z`` the normalized observation) and
``action = clip(R_out * W_out . rate, -1, 1)`` after the last substep. The authors' signed
rate is kept here; the fixed-point spec's unsigned trace with a signed readout is equal in
exact arithmetic.

``DenseSNN`` (the paper's ES-RSNN baseline, the authors' ``DenseSNN``): real-valued weights,
no E/I split, input ``z`` itself, scales ``R_in = sqrt(2/D)``, ``R = 2 sqrt(2/N)``,
``R_out = 5 / sqrt(N)``, unsigned rate; otherwise the same equations.

Both start every episode from zero state, like the golden model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from ..config import NetConfig
from .packing import GenomeLayout
from .popcount import popcount_ei

__all__ = ["RefState", "ref_step", "dense_step", "DenseLayout", "sanitize_obs"]


@dataclass
class RefState:
    """Float state of B networks: ``v, i_syn, rate`` (B, N) float64, ``spk`` (B, N) uint8."""

    v: np.ndarray
    i_syn: np.ndarray
    rate: np.ndarray
    spk: np.ndarray

    @classmethod
    def zeros(cls, batch: int, n: int) -> RefState:
        z = np.zeros((batch, n), np.float64)
        return cls(z.copy(), z.copy(), z.copy(), np.zeros((batch, n), np.uint8))

    def reset(self, mask: np.ndarray | None = None) -> None:
        sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
        for a in (self.v, self.i_syn, self.rate, self.spk):
            a[sel] = 0


def sanitize_obs(z: np.ndarray) -> np.ndarray:
    """Normalized observations with NaN -> 0 and +-inf -> +-1e6 (the float path's only guard)."""
    return np.nan_to_num(np.asarray(z, np.float64), nan=0.0, posinf=1e6, neginf=-1e6)


def _consts(net: NetConfig) -> np.ndarray:
    return np.array([net.alpha_syn, net.alpha_m, net.alpha_out, net.r_in, net.r_rec, net.r_out,
                     net.vth, net.dt], np.float64)


@numba.njit(cache=True)
def _ref_one(c, n, ne, d, a_dim, substeps, lay, z, genome, v, i_syn, rate, spk, act):
    wi, nw, off_rec, off_out = lay[3], lay[4], lay[5], lay[6]
    a_syn, a_m, a_out, r_in, r_rec, r_out, vth, dt = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    i_in = np.zeros(n)
    for j in range(n):
        acc = 0.0
        for k in range(2 * d):  # the columns of W_in . [z, -z] in order
            if (genome[j * wi + (k >> 6)] >> numba.uint64(k & 63)) & numba.uint64(1):
                if k < d:
                    acc += z[k]
                else:
                    acc -= z[k - d]
        i_in[j] = r_in * acc
    s_e = np.zeros(nw, np.uint64)
    s_i = np.zeros(nw, np.uint64)
    for _ in range(substeps):
        for w in range(nw):
            s_e[w] = 0
            s_i[w] = 0
        for j in range(n):
            if spk[j]:
                bit = numba.uint64(1) << numba.uint64(j & 63)
                if j < ne:
                    s_e[j >> 6] |= bit
                else:
                    s_i[j >> 6] |= bit
        for j in range(n):
            pe, pi = popcount_ei(genome[off_rec + j * nw: off_rec + (j + 1) * nw], s_e, s_i)
            i_syn[j] = a_syn * i_syn[j] + r_rec * (pe - pi)
            v[j] = a_m * v[j] + (1.0 - a_m) * (i_syn[j] + i_in[j])
            s = v[j] > vth
            spk[j] = s
            if s:
                v[j] = 0.0
            sign = 1.0 if j < ne else -1.0
            rate[j] = a_out * rate[j] + (1.0 - a_out) * sign * s / dt
    for k in range(a_dim):
        acc = 0.0
        for j in range(n):
            if (genome[off_out + k * nw + (j >> 6)] >> numba.uint64(j & 63)) & numba.uint64(1):
                acc += rate[j]
        act[k] = min(1.0, max(-1.0, r_out * acc))


@numba.njit(parallel=True, cache=True)
def _ref_batch(c, n, ne, d, a_dim, substeps, lay, z, genomes, v, i_syn, rate, spk, act, active):
    for b in numba.prange(z.shape[0]):
        if active[b]:
            _ref_one(c, n, ne, d, a_dim, substeps, lay, z[b], genomes[b], v[b], i_syn[b],
                     rate[b], spk[b], act[b])


def ref_step(net: NetConfig, genomes: np.ndarray, state: RefState, z: np.ndarray,
             active: np.ndarray | None = None) -> np.ndarray:
    """One env step of B 1-bit networks in float64; returns actions (B, A) in [-1, 1].

    ``genomes`` are packed (:mod:`ec_hw.model.packing`); ``z`` (B, D) normalized observations.
    """
    b = z.shape[0]
    act = np.zeros((b, net.act_dim))
    if active is None:
        active = np.ones(b, np.bool_)
    lay = GenomeLayout.of(net).as_array()
    _ref_batch(_consts(net), net.n_neurons, net.n_exc, net.obs_dim, net.act_dim, net.substeps,
               lay, sanitize_obs(z), genomes, state.v, state.i_syn, state.rate, state.spk, act,
               np.asarray(active, np.bool_))
    return act


# --- DenseSNN (ES baseline) ----------------------------------------------------------------


@dataclass(frozen=True)
class DenseLayout:
    """Flat parameters of a DenseSNN: ``W_in (N, D) | W_rec^T (N pre, N post) | W_out (A, N)``.

    ``W_rec`` is stored presynaptic-major so a spike adds one contiguous column.
    """

    n_neurons: int
    obs_dim: int
    act_dim: int

    @classmethod
    def of(cls, net: NetConfig) -> DenseLayout:
        return cls(net.n_neurons, net.obs_dim, net.act_dim)

    @property
    def n_params(self) -> int:
        n = self.n_neurons
        return n * self.obs_dim + n * n + self.act_dim * n

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        """ES's starting center: every weight N(0, 1) (the scales R_in, R, R_out are fixed)."""
        return rng.standard_normal(self.n_params)


def _dense_consts(net: NetConfig) -> np.ndarray:
    n, d = net.n_neurons, net.obs_dim
    return np.array([net.alpha_syn, net.alpha_m, net.alpha_out, math.sqrt(2.0 / d),
                     2.0 * math.sqrt(2.0 / n), 5.0 / math.sqrt(n), net.vth, net.dt], np.float64)


@numba.njit(cache=True)
def _dense_one(c, n, d, a_dim, substeps, z, theta, v, i_syn, rate, spk, act):
    a_syn, a_m, a_out, r_in, r_rec, r_out, vth, dt = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    off_rec = n * d
    off_out = off_rec + n * n
    i_in = np.zeros(n)
    for j in range(n):
        acc = 0.0
        for i in range(d):
            acc += theta[j * d + i] * z[i]
        i_in[j] = r_in * acc
    rec = np.zeros(n)
    for _ in range(substeps):
        for j in range(n):
            rec[j] = 0.0
        for k in range(n):  # sparse spikes: add the columns of the neurons that fired
            if spk[k]:
                base = off_rec + k * n
                for j in range(n):
                    rec[j] += theta[base + j]
        for j in range(n):
            i_syn[j] = a_syn * i_syn[j] + r_rec * rec[j]
            v[j] = a_m * v[j] + (1.0 - a_m) * (i_syn[j] + i_in[j])
            s = v[j] > vth
            spk[j] = s
            if s:
                v[j] = 0.0
            rate[j] = a_out * rate[j] + (1.0 - a_out) * s / dt
    for k in range(a_dim):
        acc = 0.0
        for j in range(n):
            acc += theta[off_out + k * n + j] * rate[j]
        act[k] = min(1.0, max(-1.0, r_out * acc))


@numba.njit(parallel=True, cache=True)
def _dense_batch(c, n, d, a_dim, substeps, z, thetas, v, i_syn, rate, spk, act, active):
    for b in numba.prange(z.shape[0]):
        if active[b]:
            _dense_one(c, n, d, a_dim, substeps, z[b], thetas[b], v[b], i_syn[b], rate[b],
                       spk[b], act[b])


def dense_step(net: NetConfig, thetas: np.ndarray, state: RefState, z: np.ndarray,
               active: np.ndarray | None = None) -> np.ndarray:
    """One env step of B DenseSNNs with float parameters ``thetas`` (B, n_params)."""
    b = z.shape[0]
    act = np.zeros((b, net.act_dim))
    if active is None:
        active = np.ones(b, np.bool_)
    _dense_batch(_dense_consts(net), net.n_neurons, net.obs_dim, net.act_dim, net.substeps,
                 sanitize_obs(z), np.asarray(thetas, np.float64), state.v, state.i_syn,
                 state.rate, state.spk, act, np.asarray(active, np.bool_))
    return act
