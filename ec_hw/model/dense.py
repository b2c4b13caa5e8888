"""The dense float networks the ES baselines evolve, by :attr:`TrainConfig.network` name.

``snn`` is the paper's ES-RSNN (:class:`ec_hw.model.reference.DenseLayout`,
:func:`~ec_hw.model.reference.dense_step`). ``gru`` and ``lstm`` are the paper's ES-GRU and
ES-LSTM (the authors' ``DenseGRU``/``DenseLSTM``: a flax ``GRUCell``/``LSTMCell`` of H units
and a linear readout), computed in float32 like theirs, batched over members with Numba.

GRU, with gates stacked ``[r | z | n]`` and ``x`` the normalized observation::

    r  = sigmoid(W_xr x + b_r + W_hr h)
    z  = sigmoid(W_xz x + b_z + W_hz h)
    n  = tanh(W_xn x + b_n + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

LSTM, gates stacked ``[i | f | g | o]``::

    i, f, o = sigmoid(W_x. x + b_. + W_h. h);  g = tanh(W_xg x + b_g + W_hg h)
    c' = f * c + i * g;  h' = o * tanh(c')

Readout: ``action = clip(W_out h' + b_out, -1, 1)`` (clipped like the ES-RSNN and like the
authors' ``jnp.clip``). State starts at zero every episode.

Parametrization: ES searches a flat float64 vector ``theta`` whose weights start N(0, 1) and
biases 0; the effective weight is ``theta / sqrt(fan_in)`` (LeCun scale, flax's default
kernel init). The fixed scale plays the role of the ES-RSNN's R_in, R and R_out: it makes the
run's ``sigma`` and ``lr`` relative to the initial weights, so the shared defaults (sigma 0.3,
lr 0.15) equal the authors' GRU/LSTM settings (sigma 0.02, lr 0.01 on weights of std
1/sqrt(256) = 0.0625) up to that factor.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..config import NETWORKS, NetConfig
from .reference import DenseLayout, sanitize_obs

__all__ = ["RecurrentLayout", "RecurrentState", "recurrent_step", "dense_layout"]

_GATES = {"gru": 3, "lstm": 4}


@dataclass(frozen=True)
class RecurrentLayout:
    """Flat parameters of a GRU or LSTM controller, in this order::

        W_x (D, G*H) | W_h (H, G*H) | b (G*H) | b_hn (H, GRU only) | W_out (A, H) | b_out (A)

    with G = 3 (GRU) or 4 (LSTM) gates; ``W_x``/``W_h`` are input-major, so one input adds one
    contiguous row to every gate.
    """

    kind: str
    hidden: int
    obs_dim: int
    act_dim: int

    def __post_init__(self) -> None:
        if self.kind not in _GATES:
            raise ValueError(f"kind must be 'gru' or 'lstm', not {self.kind!r}")

    @classmethod
    def of(cls, kind: str, net: NetConfig) -> RecurrentLayout:
        """The layout for ``net``: ``n_neurons`` hidden units, its obs and action dims."""
        return cls(kind, net.n_neurons, net.obs_dim, net.act_dim)

    @property
    def gates(self) -> int:
        return _GATES[self.kind]

    @property
    def sizes(self) -> dict[str, int]:
        """Length of each block, in order."""
        gh, h = self.gates * self.hidden, self.hidden
        return {"w_x": self.obs_dim * gh, "w_h": h * gh, "b": gh,
                "b_hn": h if self.kind == "gru" else 0, "w_out": self.act_dim * h,
                "b_out": self.act_dim}

    @property
    def offsets(self) -> dict[str, int]:
        """Start of each block in the flat vector."""
        out, o = {}, 0
        for k, n in self.sizes.items():
            out[k] = o
            o += n
        return out

    @property
    def n_params(self) -> int:
        return sum(self.sizes.values())

    @functools.cache  # noqa: B019 - a frozen dataclass, few instances; saves a pass per load
    def scales(self) -> np.ndarray:
        """Effective-weight factor of every parameter: 1/sqrt(fan_in) for weights, 1 for biases."""
        s = np.ones(self.n_params)
        off, size = self.offsets, self.sizes
        for k, fan_in in (("w_x", self.obs_dim), ("w_h", self.hidden), ("w_out", self.hidden)):
            s[off[k]: off[k] + size[k]] = 1.0 / math.sqrt(fan_in)
        return s

    def initial_params(self, rng: np.random.Generator) -> np.ndarray:
        """ES's starting center: weights N(0, 1) (LeCun-scaled by :meth:`scales`), biases 0."""
        theta = rng.standard_normal(self.n_params)
        off, size = self.offsets, self.sizes
        for k in ("b", "b_hn", "b_out"):
            theta[off[k]: off[k] + size[k]] = 0.0
        return theta

    def effective(self, thetas: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The float32 weights ``thetas * scales`` of (B, n_params) searched vectors (written
        into ``out`` when given, without float64 temporaries)."""
        thetas = np.asarray(thetas)
        if out is None:
            out = np.empty(thetas.shape, np.float32)
        np.multiply(thetas, self.scales().astype(np.float32), out=out, casting="unsafe")
        return out

    def as_array(self) -> np.ndarray:
        off = self.offsets
        return np.array([self.hidden, self.obs_dim, self.act_dim, self.gates, off["w_h"],
                         off["b"], off["b_hn"], off["w_out"], off["b_out"]], np.int64)


@dataclass
class RecurrentState:
    """Hidden state ``h`` and (LSTM) cell state ``c`` of B networks, (B, H) float32."""

    h: np.ndarray
    c: np.ndarray

    @classmethod
    def zeros(cls, batch: int, hidden: int) -> RecurrentState:
        return cls(np.zeros((batch, hidden), np.float32), np.zeros((batch, hidden), np.float32))

    def reset(self, mask: np.ndarray | None = None) -> None:
        sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
        self.h[sel] = 0
        self.c[sel] = 0


@numba.njit(cache=True, inline="always")
def _sigmoid(v):
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-v))


@numba.njit(cache=True, inline="always")
def _add_matvec(w, off, rows, cols, vec, out):
    # out += M^T vec for M = w[off:].reshape(rows, cols), input-major: each input adds one
    # contiguous row, so the inner loop vectorizes without reassociating sums. The row is
    # sliced because indexing w[base + j] keeps Numba's negative-index wraparound check in the
    # loop, which blocks vectorization (5x slower, measured).
    for i in range(rows):
        vi = vec[i]
        if vi != 0:
            row = w[off + i * cols: off + (i + 1) * cols]
            for j in range(cols):
                out[j] += row[j] * vi


@numba.njit(cache=True)
def _cell_one(lay, w, x, h, c, gx, gh, act):
    hid, d, a_dim, gates = lay[0], lay[1], lay[2], lay[3]
    off_wh, off_b, off_bhn, off_out, off_bout = lay[4], lay[5], lay[6], lay[7], lay[8]
    ghid = gates * hid
    for j in range(ghid):
        gx[j] = w[off_b + j]
        gh[j] = 0
    if gates == 3:
        for j in range(hid):
            gh[2 * hid + j] = w[off_bhn + j]
    _add_matvec(w, 0, d, ghid, x, gx)
    _add_matvec(w, off_wh, hid, ghid, h, gh)
    if gates == 3:  # GRU [r | z | n]
        for j in range(hid):
            r = _sigmoid(gx[j] + gh[j])
            z = _sigmoid(gx[hid + j] + gh[hid + j])
            n = np.tanh(gx[2 * hid + j] + r * gh[2 * hid + j])
            h[j] = (np.float32(1.0) - z) * n + z * h[j]
    else:  # LSTM [i | f | g | o]
        for j in range(hid):
            i = _sigmoid(gx[j] + gh[j])
            f = _sigmoid(gx[hid + j] + gh[hid + j])
            g = np.tanh(gx[2 * hid + j] + gh[2 * hid + j])
            o = _sigmoid(gx[3 * hid + j] + gh[3 * hid + j])
            c[j] = f * c[j] + i * g
            h[j] = o * np.tanh(c[j])
    for k in range(a_dim):
        acc = w[off_bout + k]
        row = w[off_out + k * hid: off_out + (k + 1) * hid]
        for j in range(hid):
            acc += row[j] * h[j]
        act[k] = min(1.0, max(-1.0, acc))


@numba.njit(parallel=True, cache=True)
def _cell_batch(lay, weights, x, h, c, gx, gh, act, active):
    for b in numba.prange(x.shape[0]):
        if active[b]:
            _cell_one(lay, weights[b], x[b], h[b], c[b], gx[b], gh[b], act[b])


def recurrent_step(layout: RecurrentLayout, weights: np.ndarray, state: RecurrentState,
                   z: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """One env step of B GRU/LSTM controllers; returns actions (B, A) in [-1, 1].

    ``weights`` (B, n_params) float32 are effective weights (:meth:`RecurrentLayout.effective`);
    ``z`` (B, D) normalized observations; inactive rows keep their state.
    """
    b = z.shape[0]
    act = np.zeros((b, layout.act_dim))
    if active is None:
        active = np.ones(b, np.bool_)
    ghid = layout.gates * layout.hidden
    gx = np.empty((b, ghid), np.float32)
    gh = np.empty((b, ghid), np.float32)
    _cell_batch(layout.as_array(), np.asarray(weights, np.float32),
                sanitize_obs(z).astype(np.float32), state.h, state.c, gx, gh, act,
                np.asarray(active, np.bool_))
    return act


def dense_layout(network: str, net: NetConfig):
    """The parameter layout of dense network ``network`` (``n_params``, ``initial_params``)."""
    if network == "snn":
        return DenseLayout.of(net)
    if network in _GATES:
        return RecurrentLayout.of(network, net)
    raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
