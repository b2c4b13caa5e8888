r"""The fixed-point contract between the golden model and the gateware.

This docstring is the single written specification of the core's arithmetic. The golden model
(:mod:`ec_hw.model`) implements it bit for bit in Numba and the gateware
(:mod:`ec_hw.gateware`) implements it bit for bit in Amaranth; both cite this module and take
every constant from :func:`derive`. The float reference (:mod:`ec_hw.model.reference`) is the
paper's equations in float64 and is used only to measure what this quantization costs.

Notation
--------
``F`` = ``CoreConfig.frac_bits`` (12), ``K`` = ``decay_bits`` (16), ``S`` = ``state_bits`` (24),
``KO`` = ``rout_bits`` (16), ``AF`` = ``action_frac_bits`` (14); defaults in brackets.

* ``rs(x, k) = floor((x + 2**(k-1)) / 2**k)``: round half up, i.e. add half an LSB and shift
  right arithmetically. One adder and a wire shift in gateware; the DSP48 C port can add the
  constant for free.
* ``sat(x, b)``: clamp to the signed range ``[-2**(b-1), 2**(b-1) - 1]``.
* All products are exact (at most 43 bits); only the named shifts round.

Quantities and formats
----------------------
============== ==================== =========================================================
quantity       format               notes
============== ==================== =========================================================
x_q            signed obs_bits, Q.F R_in * normalized observation, quantized on the host
i_in           signed S, Q.F        input current, saturated once per env step
i_syn          signed S, Q.F        never saturates: bound checked by :func:`derive`
u              signed S, Q.F        ``sat(i_syn + i_in, S)``
v              signed S, Q.F        stays between 0, v and u: needs no saturation
rate           unsigned, Q.F        in ``[0, RATE_Q]``: needs no saturation
acc            signed, Q.F          output accumulator, width from the bound N_max * RATE_Q
action         signed AF+2, Q.AF    in ``[-2**AF, 2**AF]`` = [-1, 1]
A_SYN          unsigned K frac      ``round(exp(-dt/tau_syn) * 2**K)``   (59299)
B_M            unsigned K frac      ``round((1 - exp(-dt/tau_m)) * 2**K)`` (3196)
B_OUT          unsigned K frac      ``round((1 - exp(-dt/tau_out)) * 2**K)`` (3196)
R_Q            integer, Q.F         ``round(R * 2**F)``, R = 4/sqrt(N) (1024)
VTH_Q          integer, Q.F         ``round(Vth * 2**F)`` (4096)
RATE_Q         integer, Q.F         ``round(2**F / dt)``: the trace target of one spike (8192)
ROUT_Q         unsigned KO frac     ``round(R_out * 2**KO)``, R_out = 5 sqrt(2/N) (28963)
============== ==================== =========================================================

The decay products ``A_SYN * i_syn`` (17 x 24 bit) and ``B_M * (u - v)`` (17 x 25 bit) and the
readout product ``acc * ROUT_Q`` (<= 25 x 17 bit) each fit one DSP48 (25 x 18 signed).

Observation encoding (host side, shared by every target)
--------------------------------------------------------
``z = (obs - mean) / std`` in float64 with ``std = clip(sqrt(var), 1e-6, 1e6)``;
``x_q = sat(rint(R_in * z * 2**F), obs_bits)`` with rint rounding half to even; NaN becomes 0,
+-inf saturate. The authors do not clip observations; here only the int16 range clips, at
``|R_in z| >= 8`` (13 standard deviations on Hopper).

One environment step of one network
-----------------------------------
Connections: ``W_in[j, i]`` (N x 2D, input i to neuron j; columns 0..D-1 carry +x, D..2D-1
carry -x), ``W_rec[j, k]`` (N x N, presynaptic k to postsynaptic j), ``W_out[a, j]`` (A x N).
Neurons ``0..NE-1`` are excitatory, ``NE..N-1`` inhibitory. State: ``v, i_syn, rate`` per
neuron and the spike vector ``s`` of the previous substep.

1. Input projection, once per env step::

       i_in[j] = sat( sum_{i<D} (W_in[j, i] - W_in[j, D+i]) * x_q[i], S )

2. ``substeps`` times, every neuron from the same previous spike vector ``s``
   (double-buffered), producing ``s'``::

       pe     = popcount(W_rec[j, :NE] & s[:NE]);   pi = popcount(W_rec[j, NE:] & s[NE:])
       i_syn  = rs(A_SYN * i_syn, K) + R_Q * (pe - pi)
       u      = sat(i_syn + i_in[j], S)
       v      = v + rs(B_M * (u - v), K)
       s'[j]  = v > VTH_Q;   if s'[j]: v = 0
       rate   = rate + rs(B_OUT * (s'[j] * RATE_Q - rate), K)

3. Readout, once per env step, from the rates after the last substep::

       acc[a]    = sum_{j<NE} W_out[a, j] rate[j] - sum_{j>=NE} W_out[a, j] rate[j]
       action[a] = clip( rs(acc[a] * ROUT_Q, F + KO - AF), -2**AF, 2**AF )

The host maps ``action / 2**AF`` in [-1, 1] linearly onto the env's action bounds.

Relation to the paper's equations (float reference)
---------------------------------------------------
* ``v + (1 - a_m)(u - v)`` is the authors' ``lerp``; one multiplier instead of two.
* The authors keep a signed rate (inhibitory spikes are -1); here the trace is unsigned and the
  sign is applied in the readout. The two are equal in exact arithmetic; the unsigned form
  halves the trace width and makes the readout a signed pair of masked sums like the
  recurrent popcount.
* Network state is reset to zero (v = i_syn = rate = 0, no spikes) at every episode start. The
  authors draw v uniformly in [0, Vth) once and never reset across episodes; a deterministic
  zero reset makes a member's return a function of its connections and env seed only, which is
  what lets hardware and model runs be compared bit for bit.

Bounds (checked by :func:`derive`, which refuses configurations that could overflow)
-------------------------------------------------------------------------------------
* ``|i_syn| <= (R_Q * max(NE, NI) + 1/2) / (1 - A_SYN / 2**K) < 2**(S-1)``: at the defaults
  1.38e6 < 8.39e6, so i_syn never saturates and the gateware omits the clamp.
* ``0 <= rate <= RATE_Q`` because ``B_OUT < 2**(K-1)`` makes ``|rs(B_OUT d, K)| <= |d|``.
* ``v`` moves from ``v`` toward ``u`` by at most ``|u - v|`` (same argument with ``B_M``).
* ``|acc| <= max(NE, NI) * RATE_Q`` fits ``acc_bits``.
* ``ROUT_Q < 2**17`` (requires R_out < 2, i.e. N >= 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import CoreConfig, NetConfig

__all__ = ["FixedPoint", "derive", "quantize_obs", "action_to_unit", "STD_MIN", "STD_MAX"]

STD_MIN = 1e-6
STD_MAX = 1e6


@dataclass(frozen=True, kw_only=True)
class FixedPoint:
    """Every integer constant and width of the core's arithmetic (see the module docstring)."""

    n_neurons: int
    n_exc: int
    obs_dim: int
    act_dim: int
    substeps: int
    frac_bits: int
    decay_bits: int
    state_bits: int
    obs_bits: int
    rout_bits: int
    action_frac_bits: int
    a_syn: int
    b_m: int
    b_out: int
    r_q: int
    vth_q: int
    rate_q: int
    rout_q: int
    r_in: float
    """R_in in float: folded into the host's observation quantization."""

    @property
    def rate_bits(self) -> int:
        """Unsigned width of a rate trace."""
        return self.rate_q.bit_length()

    @property
    def acc_bits(self) -> int:
        """Signed width of the readout accumulator."""
        return (max(self.n_exc, self.n_neurons - self.n_exc) * self.rate_q).bit_length() + 1

    @property
    def out_shift(self) -> int:
        return self.frac_bits + self.rout_bits - self.action_frac_bits

    @property
    def action_max(self) -> int:
        return 1 << self.action_frac_bits

    @property
    def action_bits(self) -> int:
        return self.action_frac_bits + 2

    @property
    def pop_bits(self) -> int:
        """Unsigned width of one popcount (0..max(NE, NI))."""
        return max(self.n_exc, self.n_neurons - self.n_exc).bit_length()

    @property
    def isyn_bound(self) -> float:
        m = max(self.n_exc, self.n_neurons - self.n_exc)
        return (self.r_q * m + 0.5) / (1.0 - self.a_syn / (1 << self.decay_bits))

    def as_array(self) -> np.ndarray:
        """Pack the integer constants for Numba kernels (index names in :data:`P`)."""
        return np.array([getattr(self, name) if name != "out_shift" else self.out_shift
                         for name in P_FIELDS], dtype=np.int64)


P_FIELDS = ("n_neurons", "n_exc", "obs_dim", "act_dim", "substeps", "frac_bits", "decay_bits",
            "state_bits", "obs_bits", "a_syn", "b_m", "b_out", "r_q", "vth_q", "rate_q", "rout_q",
            "out_shift", "action_frac_bits")
"""Order of the constants in :meth:`FixedPoint.as_array`; Numba kernels index it with the
``P_*`` integers below (module-level ints are compile-time constants to Numba)."""

(P_N_NEURONS, P_N_EXC, P_OBS_DIM, P_ACT_DIM, P_SUBSTEPS, P_FRAC_BITS, P_DECAY_BITS,
 P_STATE_BITS, P_OBS_BITS, P_A_SYN, P_B_M, P_B_OUT, P_R_Q, P_VTH_Q, P_RATE_Q, P_ROUT_Q,
 P_OUT_SHIFT, P_ACTION_FRAC_BITS) = range(len(P_FIELDS))


def derive(net: NetConfig, core: CoreConfig) -> FixedPoint:
    """Derive every fixed-point constant and check the overflow bounds.

    Raises
    ------
    ValueError
        If a constant does not fit its width or a state could overflow.
    """
    k, f = core.decay_bits, core.frac_bits
    fp = FixedPoint(
        n_neurons=net.n_neurons, n_exc=net.n_exc, obs_dim=net.obs_dim, act_dim=net.act_dim,
        substeps=net.substeps, frac_bits=f, decay_bits=k, state_bits=core.state_bits,
        obs_bits=core.obs_bits, rout_bits=core.rout_bits,
        action_frac_bits=core.action_frac_bits,
        a_syn=round(net.alpha_syn * (1 << k)),
        b_m=round((1.0 - net.alpha_m) * (1 << k)),
        b_out=round((1.0 - net.alpha_out) * (1 << k)),
        r_q=round(net.r_rec * (1 << f)),
        vth_q=round(net.vth * (1 << f)),
        rate_q=round((1 << f) / net.dt),
        rout_q=round(net.r_out * (1 << core.rout_bits)),
        r_in=net.r_in,
    )
    half = 1 << (k - 1)
    if not 0 < fp.a_syn < (1 << k):
        raise ValueError(f"alpha_syn quantizes to {fp.a_syn}, outside 1..2**{k}-1")
    for name in ("b_m", "b_out"):
        if not 0 < getattr(fp, name) < half:
            raise ValueError(f"{name} quantizes to {getattr(fp, name)}; it must lie in "
                             f"1..2**{k-1}-1 "
                             f"(dt/tau too large or decay_bits too small)")
    smax = 1 << (core.state_bits - 1)
    if fp.isyn_bound >= smax:
        raise ValueError(f"i_syn can reach {fp.isyn_bound:.0f}, beyond the {core.state_bits}-bit "
                         f"state range; raise state_bits or lower frac_bits")
    if fp.vth_q >= smax or fp.rate_q >= smax:
        raise ValueError("Vth or the rate target does not fit the state width")
    if not 0 < fp.rout_q < (1 << 17):
        raise ValueError(f"R_out quantizes to {fp.rout_q}, outside one DSP48 B port "
                         f"(n_neurons too small or rout_bits too large)")
    if fp.out_shift < 1:
        raise ValueError("action_frac_bits must be below frac_bits + rout_bits")
    if fp.acc_bits > 25:
        raise ValueError(f"the readout accumulator needs {fp.acc_bits} bits, beyond one DSP48")
    return fp


def quantize_obs(obs: np.ndarray, mean: np.ndarray, std: np.ndarray, fp: FixedPoint) -> np.ndarray:
    """Encode raw observations as ``x_q`` (see "Observation encoding").

    Parameters
    ----------
    obs : float array (..., D)
    mean, std : float arrays (D,), the running observation statistics.

    Returns
    -------
    int32 array (..., D)
    """
    z = normalize_obs(obs, mean, std)
    lim = float(1 << (fp.obs_bits - 1))
    with np.errstate(invalid="ignore", over="ignore"):  # huge |z| becomes inf, then saturates
        scaled = fp.r_in * z * float(1 << fp.frac_bits)
        scaled = np.where(np.isnan(scaled), 0.0, scaled)
        q = np.rint(np.clip(scaled, -lim, lim - 1))
    return q.astype(np.int32)


def normalize_obs(obs: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Return ``(obs - mean) / clip(std, STD_MIN, STD_MAX)`` in float64 (NaN passes through)."""
    s = np.clip(np.asarray(std, dtype=np.float64), STD_MIN, STD_MAX)
    with np.errstate(invalid="ignore", over="ignore"):
        return (np.asarray(obs, dtype=np.float64) - mean) / s


def action_to_unit(action_q: np.ndarray, fp: FixedPoint) -> np.ndarray:
    """Decode integer actions to floats in [-1, 1]."""
    return np.asarray(action_q, dtype=np.float64) / float(fp.action_max)

