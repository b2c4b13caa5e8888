"""A plain-Python restatement of the fixed-point spec, instrumented to check every width.

Written from the docstring of :mod:`ec_hw.fixedpoint` alone (no Numba, no code shared with
:mod:`ec_hw.model`): Python ints (unbounded, so nothing wraps by accident), ``floor`` division
for the rounding shift, ``min``/``max`` for saturation, one neuron at a time, connection rows
held as Python ints and counted with ``int.bit_count``. Every intermediate is checked against
the width the spec declares for it the moment it is computed; a violation raises
:class:`WidthViolation` naming the quantity. :class:`Extremes` records the range each quantity
reached, so a test can prove that its stimulus actually drove a bound (rather than passing
because nothing interesting happened).

The tests in this folder hold the compiled golden model to this restatement bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ec_hw.config import CoreConfig, NetConfig

__all__ = ["SpecConstants", "SpecNet", "WidthViolation", "Extremes", "spec_quantize_obs",
           "rs", "sat"]


class WidthViolation(AssertionError):
    """An intermediate left the range the spec declares for it."""


def rs(x: int, k: int) -> int:
    """``floor((x + 2**(k-1)) / 2**k)``, written with floor division on Python ints."""
    return (x + 2 ** (k - 1)) // 2 ** k


def sat(x: int, b: int) -> int:
    """Clamp to ``[-2**(b-1), 2**(b-1) - 1]``."""
    return min(max(x, -(2 ** (b - 1))), 2 ** (b - 1) - 1)


def _fits_signed(x: int, b: int) -> bool:
    return -(2 ** (b - 1)) <= x <= 2 ** (b - 1) - 1


class SpecConstants:
    """The integer constants of the spec's table, computed from their defining formulas."""

    def __init__(self, net: NetConfig, core: CoreConfig):
        self.N = net.n_neurons
        self.NE = net.n_exc
        self.NI = self.N - self.NE
        self.D = net.obs_dim
        self.A = net.act_dim
        self.T = net.substeps
        self.F = core.frac_bits
        self.K = core.decay_bits
        self.S = core.state_bits
        self.KO = core.rout_bits
        self.AF = core.action_frac_bits
        self.OB = core.obs_bits
        self.A_SYN = round(math.exp(-net.dt / net.tau_syn) * 2 ** self.K)
        self.B_M = round((1 - math.exp(-net.dt / net.tau_m)) * 2 ** self.K)
        self.B_OUT = round((1 - math.exp(-net.dt / net.tau_out)) * 2 ** self.K)
        self.R_Q = round(net.r_rec * 2 ** self.F)
        self.VTH_Q = round(net.vth * 2 ** self.F)
        self.RATE_Q = round(2 ** self.F / net.dt)
        self.ROUT_Q = round(net.r_out * 2 ** self.KO)
        self.R_IN = net.r_in
        m = max(self.NE, self.NI)
        self.M = m
        leak = 1 - self.A_SYN / 2 ** self.K
        self.ISYN_BOUND = (self.R_Q * m + 0.5) / leak if leak > 0 else math.inf
        self.ACC_MAX = m * self.RATE_Q
        self.ACC_BITS = self.ACC_MAX.bit_length() + 1
        self.OUT_SHIFT = self.F + self.KO - self.AF
        self.ACTION_MAX = 2 ** self.AF


def spec_quantize_obs(obs, mean, std, net: NetConfig, core: CoreConfig) -> list[list[int]]:
    """``x_q`` per "Observation encoding", one Python float at a time.

    ``obs`` is (B, D); returns a list of B lists of D ints.
    """
    c = SpecConstants(net, core)
    lim = 2 ** (c.OB - 1)
    out = []
    for row in np.asarray(obs, dtype=np.float64):
        q = []
        for i, o in enumerate(row.tolist()):
            s = min(max(float(std[i]), 1e-6), 1e6)
            z = (o - float(mean[i])) / s  # IEEE float64: inf - inf is NaN, overflow is inf
            y = c.R_IN * z * 2 ** c.F
            if math.isnan(y):
                q.append(0)
            elif math.isinf(y):
                q.append(lim - 1 if y > 0 else -lim)
            else:
                # Python's round() of a float rounds half to even, like np.rint.
                q.append(min(max(round(y), -lim), lim - 1))
        out.append(q)
    return out


class Extremes:
    """Smallest and largest value each named quantity reached."""

    def __init__(self):
        self.lo: dict[str, int] = {}
        self.hi: dict[str, int] = {}
        self.count: dict[str, int] = {}

    def see(self, name: str, x) -> None:
        if name not in self.lo:
            self.lo[name] = self.hi[name] = x
        else:
            self.lo[name] = min(self.lo[name], x)
            self.hi[name] = max(self.hi[name], x)

    def tick(self, name: str, n: int = 1) -> None:
        self.count[name] = self.count.get(name, 0) + n


class SpecNet:
    """One network: flat boolean genome (packing order of :mod:`ec_hw.model.packing`) + state.

    The flat order is ``W_in`` (N x 2D), ``W_rec`` (N x N), ``W_out`` (A x N), all row-major.
    """

    def __init__(self, net: NetConfig, core: CoreConfig, bits: np.ndarray,
                 ext: Extremes | None = None):
        c = self.c = SpecConstants(net, core)
        bits = [bool(b) for b in np.asarray(bits).ravel().tolist()]
        n_in = 2 * c.D
        if len(bits) != c.N * n_in + c.N * c.N + c.A * c.N:
            raise ValueError("genome length does not match the network")
        off_rec = c.N * n_in
        off_out = off_rec + c.N * c.N
        # Input row of neuron j as a list of (+1/-1/0) coefficients per observation entry.
        self.w_in = [[int(bits[j * n_in + i]) - int(bits[j * n_in + c.D + i]) for i in range(c.D)]
                     for j in range(c.N)]
        exc_mask = sum(1 << k for k in range(c.NE))
        self.rec_e, self.rec_i = [], []
        for j in range(c.N):
            row = sum(1 << k for k in range(c.N) if bits[off_rec + j * c.N + k])
            self.rec_e.append(row & exc_mask)
            self.rec_i.append(row & ~exc_mask)
        self.w_out = [[k for k in range(c.N) if bits[off_out + a * c.N + k]] for a in range(c.A)]
        self.ext = ext if ext is not None else Extremes()
        self.reset()

    def reset(self) -> None:
        n = self.c.N
        self.v = [0] * n
        self.i_syn = [0] * n
        self.rate = [0] * n
        self.spk = 0  # bit j = neuron j spiked in the previous substep

    # -- checks -------------------------------------------------------------------------------
    def _check(self, name: str, x: int, ok: bool) -> None:
        self.ext.see(name, x)
        if not ok:
            raise WidthViolation(f"{name} = {x} leaves its declared range")

    def _product(self, name: str, x: int) -> int:
        # "All products are exact (at most 43 bits)".
        self._check(name, x, abs(x).bit_length() <= 43)
        return x

    # -- one env step -------------------------------------------------------------------------
    def env_step(self, x_q) -> tuple[list[int], list[int]]:
        """Run steps 1-3 of the spec; return (actions, spike vector of every substep)."""
        c = self.c
        x_q = [int(x) for x in x_q]
        for x in x_q:
            self._check("x_q", x, _fits_signed(x, c.OB))
        # 1. input projection, saturated once.
        i_in = []
        for j in range(c.N):
            raw = sum(w * x for w, x in zip(self.w_in[j], x_q, strict=True))
            if not _fits_signed(raw, c.S):
                self.ext.tick("i_in saturated")
            i_in.append(sat(raw, c.S))
            self._check("i_in", i_in[j], _fits_signed(i_in[j], c.S))
        # 2. substeps, all neurons from the same previous spike vector.
        trace = []
        for _ in range(c.T):
            s = self.spk
            s_new = 0
            for j in range(c.N):
                pe = (self.rec_e[j] & s).bit_count()
                pi = (self.rec_i[j] & s).bit_count()
                self._check("pe", pe, 0 <= pe <= c.NE)
                self._check("pi", pi, 0 <= pi <= c.NI)
                decayed = rs(self._product("A_SYN*i_syn", c.A_SYN * self.i_syn[j]), c.K)
                i_syn = decayed + c.R_Q * (pe - pi)
                self._check("i_syn", i_syn, abs(i_syn) <= c.ISYN_BOUND
                            and _fits_signed(i_syn, c.S))
                raw_u = i_syn + i_in[j]
                if not _fits_signed(raw_u, c.S):
                    self.ext.tick("u saturated")
                u = sat(raw_u, c.S)
                self._check("u", u, _fits_signed(u, c.S))
                d = u - self.v[j]
                # One more bit than the state: v lags u (17 x 25 bit product at S = 24).
                self._check("u-v", d, _fits_signed(d, c.S + 1))
                v = self.v[j] + rs(self._product("B_M*(u-v)", c.B_M * d), c.K)
                self._check("v", v, _fits_signed(v, c.S))
                spike = 1 if v > c.VTH_Q else 0
                if spike:
                    v = 0
                    s_new |= 1 << j
                    self.ext.tick("spikes")
                target = spike * c.RATE_Q
                rate = self.rate[j] + rs(
                    self._product("B_OUT*(target-rate)", c.B_OUT * (target - self.rate[j])), c.K)
                self._check("rate", rate, 0 <= rate <= c.RATE_Q)
                self.i_syn[j], self.v[j], self.rate[j] = i_syn, v, rate
            self.spk = s_new
            trace.append(s_new)
            self.ext.tick("neuron-substeps", c.N)
        # 3. readout from the rates after the last substep.
        actions = []
        for a in range(c.A):
            acc = sum(self.rate[k] if k < c.NE else -self.rate[k] for k in self.w_out[a])
            self._check("acc", acc, abs(acc) <= c.ACC_MAX and _fits_signed(acc, c.ACC_BITS))
            y = rs(self._product("acc*ROUT_Q", acc * c.ROUT_Q), c.OUT_SHIFT)
            if abs(y) > c.ACTION_MAX:
                self.ext.tick("action clipped")
            act = min(max(y, -c.ACTION_MAX), c.ACTION_MAX)
            self._check("action", act, -c.ACTION_MAX <= act <= c.ACTION_MAX
                        and _fits_signed(act, c.AF + 2))
            actions.append(act)
        return actions, trace

    def state_arrays(self):
        """(v, i_syn, rate, spike words) in the golden model's layout, for comparison."""
        nw = (self.c.N + 63) // 64
        words = [(self.spk >> (64 * w)) & (2 ** 64 - 1) for w in range(nw)]
        return (np.array(self.v, np.int64), np.array(self.i_syn, np.int64),
                np.array(self.rate, np.int64), np.array(words, np.uint64))

    def trace_words(self, trace: list[int]) -> np.ndarray:
        nw = (self.c.N + 63) // 64
        return np.array([[(s >> (64 * w)) & (2 ** 64 - 1) for w in range(nw)] for s in trace],
                        dtype=np.uint64).reshape(len(trace), nw)
