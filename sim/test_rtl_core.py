"""cocotb on the generated Verilog of the LIF core, bit-exact against the Numba golden model.

For every configuration the core (:class:`ec_hw.gateware.core.Core`) is converted to Verilog
and compiled once (cached under ``sim_build/``); every case loads member genomes through the
``load`` stream (words from :mod:`ec_hw.coremap`), then for every env step writes the encoded
observations (in random order), issues STEP, collects the actions under random backpressure
and reads back, through ``dbg_req``/``dbg_resp``, ``v``, ``i_syn``, ``rate``, ``i_in`` of every
neuron and the spike vector of the last substep. All of it must equal
:func:`ec_hw.model.core.core_env_step` (through :meth:`FixedNet.step_one` with its spike
trace), and the measured ``cycles`` must equal :func:`ec_hw.gateware.core.cycles_per_env_step`.
Mid-run RESET commands (one slot, all slots) and a hardware reset (which must keep the
connection memories) are part of the random cases.

Expected values are computed here, in the pytest process, and handed to the bench
(``core_bench.py``) as arrays, so the simulator process never compiles Numba kernels.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest
from bench_io import run_bench
from hdl_build import build

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import genome_to_words, limbs, slot_words
from ec_hw.fixedpoint import quantize_obs
from ec_hw.gateware.core import Core, cycles_per_env_step
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.projection import input_projection

# --- configurations -----------------------------------------------------------------------

HOPPER = (11, 3)
HUMANOID = (348, 17)


@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int
    lanes: int
    dims: tuple[int, int]
    word: int = 64
    slots: int = 1
    topology: str = "dense"
    rec_gain: float = 1.0

    @property
    def id(self) -> str:
        named = {HOPPER: "hopper", HUMANOID: "humanoid"}
        dims = named.get(self.dims, f"d{self.dims[0]}_a{self.dims[1]}")
        s = f"n{self.n}_l{self.lanes}_{dims}_w{self.word}"
        s += f"_{self.topology.split(':')[0]}" if self.topology != "dense" else ""
        s += f"_g{self.rec_gain:g}" if self.rec_gain != 1.0 else ""
        return s + (f"_s{self.slots}" if self.slots > 1 else "")

    def net(self) -> NetConfig:
        return NetConfig(n_neurons=self.n, obs_dim=self.dims[0], act_dim=self.dims[1],
                         topology=self.topology, rec_gain=self.rec_gain)

    def core(self) -> CoreConfig:
        return CoreConfig(lanes=self.lanes, word_bits=self.word, slots=self.slots)


RANDOM_CASES = ("random_p10", "random_p50", "random_p90")
SPECIAL_CASES = ("empty", "full", "saturating", "all_firing", "negative")
ALL_CASES = RANDOM_CASES + SPECIAL_CASES

# Default run (about 5 minutes on a loaded 2-core machine, builds included): a small two-lane
# core with Humanoid dimensions (multi-word W_in rows, i_in saturation, 17 actions) and two
# member slots through every case but the sparse and dense random ones, and the default core
# (N=256, 4 lanes, Hopper) through one long random case and the all-firing extreme. The rest of
# the matrix (N in {64, 256} x lanes in {1, 4} x Hopper/Humanoid, plus word widths 32 and 128
# with 3 and 2 slots) is marked slow: `pytest sim/test_rtl_core.py -m slow`.
# A masked network (ec_hw.topology's spiking MLP-Mixer on 8x8 images, 10 classes) runs on the
# unchanged core: its connections outside the mixer's blocks are zeros like any other.
# (rec_gain 8: the layers' small fan-in needs it for spikes to reach layer 2.)
MIXER = Cfg(64, 2, (64, 10), topology="mixer", rec_gain=8.0)
DEFAULT_RUNS = [(Cfg(64, 2, HUMANOID, slots=2), c) for c in ("random_p50",) + SPECIAL_CASES] + [
    (Cfg(256, 4, HOPPER), "random_p50"),
    (Cfg(256, 4, HOPPER), "all_firing"),
    (MIXER, "masked_p50"),
]
MATRIX = [Cfg(n, lanes, dims) for n in (64, 256) for lanes in (1, 4) for dims in (HOPPER,
                                                                                     HUMANOID)]
MATRIX += [Cfg(64, 4, HOPPER, word=32, slots=3), Cfg(64, 2, HUMANOID, word=128, slots=2),
           Cfg(64, 2, HUMANOID, slots=2)]
SLOW_RUNS = [(c, case) for c in MATRIX for case in ALL_CASES if (c, case) not in DEFAULT_RUNS]


def _params(runs, slow):
    marks = [pytest.mark.slow] if slow else []
    return [pytest.param(cfg, case, id=f"{cfg.id}-{case}", marks=marks) for cfg, case in runs]


# --- stimulus and golden model --------------------------------------------------------------

def _rows(net: NetConfig):
    return {"in": (net.n_neurons, net.n_inputs), "rec": (net.n_neurons, net.n_neurons),
            "out": (net.act_dim, net.n_neurons)}


def _genome_bits(case: str, net: NetConfig, rng: np.random.Generator) -> np.ndarray:
    """Flat boolean genome (W_in, W_rec, W_out row-major) for one member of a case."""
    n, d = net.n_neurons, net.obs_dim
    if case.startswith("random_p"):
        p = int(case[len("random_p"):]) / 100
        return rng.random(net.n_conn) < p
    if case.startswith("masked_p"):  # random connections inside the topology's mask only
        from ec_hw.topology import connectivity_mask

        p = int(case[len("masked_p"):]) / 100
        return (rng.random(net.n_conn) < p) & connectivity_mask(net)
    if case == "empty":
        return np.zeros(net.n_conn, bool)
    if case == "full":
        return np.ones(net.n_conn, bool)
    w_in = np.zeros((n, 2 * d), bool)
    w_rec = rng.random((n, n)) < 0.5
    w_out = rng.random((net.act_dim, n)) < 0.5
    if case in ("all_firing", "negative"):
        w_in[:, :d] = True  # every neuron sums +x over every input: i_in = sum(x)
    elif case == "saturating":
        # Rows alternate: all +x, all -x, random; extreme inputs drive i_in to both rails
        # (at Humanoid sizes beyond the state range, so the once-per-step saturation matters).
        w_in[0::3, :d] = True
        w_in[1::3, d:] = True
        w_in[2::3] = rng.random(w_in[2::3].shape) < 0.5
        w_rec = rng.random((n, n)) < 0.9
    else:
        raise ValueError(case)
    return np.concatenate([w_in.ravel(), w_rec.ravel(), w_out.ravel()])


def _observations(case: str, steps: int, slots: int, fnet: FixedNet,
                  rng: np.random.Generator) -> np.ndarray:
    d = fnet.net.obs_dim
    lo, hi = -(1 << (fnet.fp.obs_bits - 1)), (1 << (fnet.fp.obs_bits - 1)) - 1
    if case == "all_firing":
        return np.full((steps, slots, d), hi, np.int32)
    if case == "negative":
        return np.full((steps, slots, d), lo, np.int32)
    if case == "saturating":
        # Per step and slot: every input at the top rail, at the bottom rail, or mixed rails.
        x = rng.choice(np.array([lo, hi, 0, lo + 1, hi - 1], np.int32), (steps, slots, d))
        mode = rng.integers(0, 3, (steps, slots))
        x[mode == 0] = hi
        x[mode == 1] = lo
        return x.astype(np.int32)
    # Random observation sequences the way the host encodes them, with occasional wild values
    # (z up to +-40 std) so both clipping of the int16 encoding and ordinary values occur.
    z = rng.standard_normal((steps, slots, d)) * rng.choice([0.5, 2.0, 40.0], (steps, slots, 1),
                                                            p=[0.45, 0.45, 0.1])
    x = quantize_obs(z, np.zeros(d), np.ones(d), fnet.fp)
    return x.astype(np.int32)


def _events(case: str, steps: int, slots: int) -> dict[int, str]:
    """Resets applied before the env step that keys them (random cases only)."""
    if not case.startswith("random") or steps < 40:
        return {}
    ev = {steps // 3: "hw_reset", (2 * steps) // 3: "reset_all"}
    if slots > 1:
        ev[steps // 2] = "reset_slot:1"
    return ev


def _i_in(fnet: FixedNet, genome: np.ndarray, x_q: np.ndarray) -> np.ndarray:
    w_in = fnet.layout.split(genome)[0]
    return np.array([input_projection(fnet.p, w_in[j], x_q) for j in range(fnet.net.n_neurons)],
                    np.int64)


def _spike_words32(trace_last: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(-(-n // 32), np.int64)
    for w in range(out.size):
        out[w] = (int(trace_last[w // 2]) >> (32 * (w % 2))) & 0xFFFFFFFF
    return out


def make_case(cfg: Cfg, case: str, steps: int, seed: int) -> tuple[dict, dict]:
    """Stimulus and golden-model expectations of one (configuration, case)."""
    net, core = cfg.net(), cfg.core()
    fnet = FixedNet(net, core)
    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(seed)
    s = cfg.slots
    genomes = np.stack([pack_genome(_genome_bits(case, net, rng), layout) for _ in range(s)])
    x_q = _observations(case, steps, s, fnet, rng)
    events = _events(case, steps, s)
    n, a = net.n_neurons, net.act_dim
    exp = {k: np.zeros((steps, s, n), np.int64) for k in ("v", "i_syn", "rate", "i_in")}
    exp["act"] = np.zeros((steps, s, a), np.int64)
    exp["spk"] = np.zeros((steps, s, -(-n // 32)), np.int64)
    state = NetState.zeros(s, layout)
    for t in range(steps):
        ev = events.get(t, "")
        if ev in ("hw_reset", "reset_all"):
            state.reset()
        elif ev.startswith("reset_slot:"):
            mask = np.zeros(s, bool)
            mask[int(ev.split(":")[1])] = True
            state.reset(mask)
        for m in range(s):
            act, tr = fnet.step_one(x_q[t, m], genomes[m], state, index=m, trace=True)
            exp["act"][t, m] = act
            exp["v"][t, m] = state.v[m]
            exp["i_syn"][t, m] = state.i_syn[m]
            exp["rate"][t, m] = state.rate[m]
            exp["i_in"][t, m] = _i_in(fnet, genomes[m], x_q[t, m])
            exp["spk"][t, m] = _spike_words32(tr[-1], n)
    # Connection words of every slot, one load transfer each, in a shuffled order.
    parts = [slot_words(genome_to_words(genomes[m], net, core), m, net, core) for m in range(s)]
    matrix = np.concatenate([p.matrix for p in parts]).astype(np.int64)
    addr = np.concatenate([p.addr for p in parts]).astype(np.int64)
    data = np.concatenate([p.data for p in parts]).reshape(-1, limbs(core))
    order = rng.permutation(matrix.size)
    arrays = {"x_q": x_q.astype(np.int64), "load_matrix": matrix[order],
              "load_addr": addr[order], "load_data": data[order],
              **{f"exp_{k}": v for k, v in exp.items()}}
    params = {"case": case, "config": cfg.id, "seed": seed, "steps": steps,
              "n": n, "obs_dim": net.obs_dim, "act_dim": a, "slots": s,
              "events": {str(k): v for k, v in events.items()},
              "stall_prob": 0.3, "idle_prob": 0.2}
    return params, arrays


def _steps(case: str) -> int:
    """Random cases run 100 env steps (with resets inside); the fixed corners 10."""
    return 100 if case.startswith("random") else 40 if case.startswith("masked") else 10


_BUILDS: dict = {}


def _build(cfg: Cfg, netlist: str | None = None):
    if (cfg, netlist) not in _BUILDS:
        core = Core(cfg.net(), cfg.core())
        _BUILDS[cfg, netlist] = build(core, name=f"core_{cfg.id}", netlist=netlist)
    return _BUILDS[cfg, netlist]


def run_case(cfg: Cfg, case: str, *, netlist: str | None = None, steps: int | None = None):
    """Run ``case`` on the core of ``cfg`` (the Amaranth Verilog, or a :mod:`gate_level`
    netlist) against the golden model."""
    seed = zlib.crc32(f"{cfg.id}/{case}".encode())  # stable across runs and processes
    params, arrays = make_case(cfg, case, _steps(case) if steps is None else steps, seed)
    params["cycles_per_env_step"] = int(cycles_per_env_step(cfg.net(), cfg.core()))
    run_bench(_build(cfg, netlist), "core_bench", run_name=case, params=params, arrays=arrays)


@pytest.mark.parametrize("cfg,case", _params(DEFAULT_RUNS, slow=False))
def test_core_matches_golden_model(cfg, case):
    run_case(cfg, case)


@pytest.mark.parametrize("cfg,case", _params(SLOW_RUNS, slow=True))
def test_core_matrix(cfg, case):
    run_case(cfg, case)


def test_cases_exercise_the_corners():
    """The special cases really reach the corners they are named after (golden model side)."""
    cfg = Cfg(64, 1, HUMANOID)
    p, a = make_case(cfg, "all_firing", 6, 1)
    assert (a["exp_spk"][-1] == 0xFFFFFFFF).all()  # every neuron fires in the last substep
    p, a = make_case(cfg, "saturating", 6, 2)
    smax = (1 << (cfg.core().state_bits - 1))
    assert (a["exp_i_in"] == smax - 1).any() and (a["exp_i_in"] == -smax).any()
    p, a = make_case(cfg, "negative", 6, 3)
    assert a["exp_v"].min() < -(smax // 2)
    p, a = make_case(Cfg(64, 1, HOPPER), "random_p50", 100, 4)
    assert a["exp_spk"].any() and (a["exp_act"] != 0).any()
    # The masked case spikes in its last layer and reads it out; unused neurons stay silent.
    from ec_hw.topology import mixer_shape

    p, a = make_case(MIXER, "masked_p50", 20, 5)
    sh = mixer_shape(MIXER.net())
    bits = np.array([[(int(a["exp_spk"][t, 0, j // 32]) >> (j % 32)) & 1 for j in range(64)]
                     for t in range(20)])
    assert bits[:, sh.layer(2).ravel()].any() and (a["exp_act"] != 0).any()
    assert not bits[:, [j for j in range(64) if j not in sh.layer(0).ravel()
                        and j not in sh.layer(1).ravel() and j not in sh.layer(2).ravel()]].any()
