"""Shared helpers of the golden-model tests: run the compiled model beside the restatement."""

from __future__ import annotations

import numpy as np

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.fixedpoint import derive, quantize_obs
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import pack_genome

from .spec import SpecNet, spec_quantize_obs


def assert_state_equal(spec: SpecNet, state: NetState, b: int, what: str) -> None:
    v, i_syn, rate, spk = spec.state_arrays()
    for name, ref, got in (("v", v, state.v[b]), ("i_syn", i_syn, state.i_syn[b]),
                           ("rate", rate, state.rate[b]), ("spk", spk, state.spk[b])):
        if not np.array_equal(ref, got):
            bad = np.flatnonzero(ref != got)
            raise AssertionError(f"{what}: {name} differs at neurons/words {bad[:8].tolist()}: "
                                 f"spec {ref[bad[:8]].tolist()} model {got[bad[:8]].tolist()}")


def run_single(net: NetConfig, core: CoreConfig, bits: np.ndarray, xqs, ext=None) -> SpecNet:
    """Step the compiled single-member kernel and the restatement side by side."""
    fn = FixedNet(net, core)
    genome = pack_genome(bits, fn.layout)
    state = NetState.zeros(1, fn.layout)
    spec = SpecNet(net, core, bits, ext)
    for t, x_q in enumerate(xqs):
        act, trace = fn.step_one(np.asarray(x_q, np.int32), genome, state, 0, trace=True)
        act_s, trace_s = spec.env_step(x_q)
        assert act.tolist() == act_s, f"step {t}: actions {act.tolist()} != spec {act_s}"
        assert np.array_equal(trace, spec.trace_words(trace_s)), f"step {t}: spike trains differ"
        assert_state_equal(spec, state, 0, f"step {t}")
    return spec


def random_obs(rng, net: NetConfig, core: CoreConfig, steps: int, scale: float = 1.0):
    """Encoded observations of a random walk, through the host's quantize_obs."""
    fp = derive(net, core)
    mean = rng.normal(size=net.obs_dim)
    std = rng.uniform(0.2, 3.0, size=net.obs_dim)
    walk = mean + std * scale * np.cumsum(rng.normal(size=(steps, net.obs_dim)), axis=0) / 2
    xq = quantize_obs(walk, mean, std, fp)
    assert xq.tolist() == spec_quantize_obs(walk, mean, std, net, core)
    return xq


def layout_bits(net: NetConfig, w_in=None, w_rec=None, w_out=None) -> np.ndarray:
    """Flat genome from the three matrices (zeros where None)."""
    n, d2, a = net.n_neurons, net.n_inputs, net.act_dim
    w_in = np.zeros((n, d2), bool) if w_in is None else w_in
    w_rec = np.zeros((n, n), bool) if w_rec is None else w_rec
    w_out = np.zeros((a, n), bool) if w_out is None else w_out
    return np.concatenate([w_in.ravel(), w_rec.ravel(), w_out.ravel()])


def full_trace_words(n: int) -> list[int]:
    return [min(64, n - 64 * w) for w in range((n + 63) // 64)]


def drive_all(net: NetConfig, core: CoreConfig, out_exc: bool):
    """+x inputs on for every neuron, recurrent all on, readout from one population only."""
    n, d = net.n_neurons, net.obs_dim
    w_in = np.zeros((n, 2 * d), bool)
    w_in[:, :d] = True
    w_out = np.zeros((net.act_dim, n), bool)
    if out_exc:
        w_out[:, :net.n_exc] = True
    else:
        w_out[:, net.n_exc:] = True
    return layout_bits(net, w_in, np.ones((n, n), bool), w_out)


def one_population_drives(net: NetConfig, exc_drives: bool):
    """The driving population (E or I) fires every substep; every row listens only to it."""
    n, d, ne = net.n_neurons, net.obs_dim, net.n_exc
    drivers = np.arange(n) < ne if exc_drives else np.arange(n) >= ne
    w_in = np.zeros((n, 2 * d), bool)
    w_in[drivers, :d] = True       # +x: the drivers get the saturated positive input
    w_in[~drivers, d:] = True      # -x: the others are pushed negative
    w_rec = np.zeros((n, n), bool)
    w_rec[np.ix_(~drivers, drivers)] = True
    if exc_drives:                 # excitatory drivers also excite each other
        w_rec[np.ix_(drivers, drivers)] = True
    w_out = np.zeros((net.act_dim, n), bool)
    w_out[:, drivers] = True
    return layout_bits(net, w_in, w_rec, w_out)
