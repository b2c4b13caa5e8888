"""cocotb on the generated Verilog of the device sampler, bit-exact against the golden model.

For every configuration :class:`ec_hw.gateware.sampler.SampleUnit` is converted to Verilog and
compiled once (cached under ``sim_build/``). Each run loads a quantized rho (random values with
many exact 0 and 65535 entries) and samples several members with random generation seeds,
member indices (including 0 and 2**32-1) and slots, plainly or as antithetic pairs
(``Cfg.antithetic``); every ``load`` transfer must equal the word
of :func:`ec_hw.model.sampler.sample_members` in the core's word map (:mod:`ec_hw.coremap`), and
the last member's cycle count must equal :func:`ec_hw.gateware.sampler.sample_cycles`.

The default run covers N=64 (Hopper inputs/outputs, two slots) and the default N=256 Hopper
network; other word widths and longer runs are marked slow.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from bench_io import run_bench
from hdl_build import build

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import genome_to_words, limbs, slot_words
from ec_hw.fixedpoint import quantize_obs
from ec_hw.gateware.core import Core, cycles_per_env_step
from ec_hw.gateware.sampler import SampleUnit, sample_cycles
from ec_hw.model.core import FixedNet, NetState
from ec_hw.model.packing import GenomeLayout
from ec_hw.model.sampler import generation_seed, sample_members

HOPPER = (11, 3)


@dataclasses.dataclass(frozen=True)
class Cfg:
    n: int
    dims: tuple[int, int] = HOPPER
    word: int = 64
    slots: int = 1
    members: int = 2
    antithetic: bool = False

    @property
    def id(self) -> str:
        s = f"n{self.n}_d{self.dims[0]}_a{self.dims[1]}_w{self.word}"
        return s + (f"_s{self.slots}" if self.slots > 1 else "")

    @property
    def run_id(self) -> str:
        return f"{self.id}_m{self.members}" + ("_anti" if self.antithetic else "")

    def net(self) -> NetConfig:
        return NetConfig(n_neurons=self.n, obs_dim=self.dims[0], act_dim=self.dims[1])

    def core(self) -> CoreConfig:
        return CoreConfig(word_bits=self.word, slots=self.slots)


DEFAULT = [Cfg(64, slots=2, members=3), Cfg(256, members=1),
           Cfg(64, slots=2, members=4, antithetic=True)]
SLOW = [Cfg(256, members=4), Cfg(64, word=32, slots=3, members=4),
        Cfg(64, dims=(17, 6), word=128, members=3), Cfg(48, dims=(1, 1), word=8, members=3)]


def make_case(cfg: Cfg, seed: int) -> tuple[dict, dict]:
    """Rho words, member commands and the golden model's load transfers for them."""
    net, core = cfg.net(), cfg.core()
    rng = np.random.default_rng(seed)
    rho = rng.integers(0, 65536, size=net.n_conn).astype(np.uint16)
    rho[rng.random(net.n_conn) < 0.1] = 0
    rho[rng.random(net.n_conn) < 0.1] = 65535
    members = [0, 2**32 - 1] + [int(m) for m in rng.integers(1, 2**32 - 1, size=cfg.members)]
    cmds = [(int(rng.integers(cfg.slots)), generation_seed(seed, int(rng.integers(0, 1000))),
             members[k], int(cfg.antithetic)) for k in range(cfg.members)]
    layout = GenomeLayout.of(net)
    parts = []
    for slot, gs, member, anti in cmds:
        genome = sample_members(gs, np.array([member]), rho, layout, bool(anti))[0]
        parts.append(slot_words(genome_to_words(genome, net, core), slot, net, core))
    sizes = [len(p.addr) for p in parts]
    arrays = {
        "rho_addr": (order := rng.permutation(net.n_conn)).astype(np.int64),
        "rho": rho[order].astype(np.int64),
        "member_start": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "exp_matrix": np.concatenate([p.matrix for p in parts]).astype(np.int64),
        "exp_addr": np.concatenate([p.addr for p in parts]).astype(np.int64),
        "exp_data": np.concatenate([p.data for p in parts]).reshape(-1, limbs(core)),
    }
    params = {"config": cfg.id, "seed": seed, "cmds": cmds,
              "sample_cycles": sample_cycles(net, core), "stall_prob": 0.3, "idle_prob": 0.2}
    return params, arrays


_BUILDS: dict = {}


def _run(cfg: Cfg):
    if cfg not in _BUILDS:
        _BUILDS[cfg] = build(SampleUnit(cfg.net(), cfg.core()), name=f"sampler_{cfg.id}")
    seed = zlib.crc32(f"sampler/{cfg.id}/{cfg.members}".encode())
    params, arrays = make_case(cfg, seed)
    run_bench(_BUILDS[cfg], "sampler_bench", run_name=cfg.run_id, params=params,
              arrays=arrays, testcase="sampler_matches_golden_model")


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.run_id) for c in DEFAULT])
def test_sampler_matches_golden_model(cfg):
    _run(cfg)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.run_id) for c in SLOW])
def test_sampler_matrix(cfg):
    _run(cfg)


class SampledCore(wiring.Component):
    """Test top: the sampler's ``load`` wired straight into the core's ``load``.

    ``rho_load`` and ``sample`` (the unit's ``cmd``) feed the unit; ``obs``, ``cmd`` and ``act``
    are the core's; ``busy`` is high while either is busy.
    """

    def __init__(self, net: NetConfig, core: CoreConfig):
        self.unit = SampleUnit(net, core)
        self.core = Core(net, core)
        def sig(port):
            return stream.Signature(port.payload.shape())

        u, c = self.unit, self.core
        super().__init__({"rho_load": In(sig(u.rho_load)), "sample": In(sig(u.cmd)),
                          "obs": In(sig(c.obs)), "cmd": In(sig(c.cmd)), "act": Out(sig(c.act)),
                          "busy": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self.unit
        m.submodules.core = core = self.core
        wiring.connect(m, unit.load, core.load)
        wiring.connect(m, wiring.flipped(self.rho_load), unit.rho_load)
        wiring.connect(m, wiring.flipped(self.sample), unit.cmd)
        wiring.connect(m, wiring.flipped(self.obs), core.obs)
        wiring.connect(m, wiring.flipped(self.cmd), core.cmd)
        wiring.connect(m, core.act, wiring.flipped(self.act))
        m.d.comb += self.busy.eq(unit.busy | core.busy)
        return m


def make_sampled_core_case(cfg: Cfg, steps: int, seed: int) -> tuple[dict, dict]:
    """Members sampled into every slot, random observations, the golden model's actions."""
    net, core = cfg.net(), cfg.core()
    params, arrays = make_case(dataclasses.replace(cfg, members=cfg.slots), seed)
    params["cmds"] = [(m, gs, member, anti)
                      for m, (_, gs, member, anti) in enumerate(params["cmds"])]
    rng = np.random.default_rng(seed + 1)
    fnet = FixedNet(net, core)
    lanes = np.zeros(net.n_conn, np.uint16)
    lanes[arrays["rho_addr"]] = arrays["rho"]
    genomes = [sample_members(gs, np.array([member]), lanes, fnet.layout, bool(anti))[0]
               for _, gs, member, anti in params["cmds"]]
    d = net.obs_dim
    x_q = quantize_obs(rng.standard_normal((steps, cfg.slots, d)) * 2.0, np.zeros(d),
                       np.ones(d), fnet.fp).astype(np.int64)
    state = NetState.zeros(cfg.slots, fnet.layout)
    exp_act = np.zeros((steps, cfg.slots, net.act_dim), np.int64)
    for t in range(steps):
        for m in range(cfg.slots):
            exp_act[t, m] = fnet.step_one(x_q[t, m], genomes[m], state, index=m)[0]
    params.update(steps=steps, slots=cfg.slots, obs_dim=d, act_dim=net.act_dim,
                  step_timeout=4 * cycles_per_env_step(net, core) + 2000)
    return params, {"rho_addr": arrays["rho_addr"], "rho": arrays["rho"], "x_q": x_q,
                    "exp_act": exp_act}


@pytest.mark.slow  # one more Verilator build of the core (minutes on a loaded 2-core runner)
def test_sampled_members_drive_the_core():
    """End to end on the device: rho -> SampleUnit -> Core.load -> STEP -> actions."""
    cfg = Cfg(32, dims=(3, 2), slots=2)
    params, arrays = make_sampled_core_case(cfg, steps=12, seed=7)
    assert (arrays["exp_act"] != 0).any()
    hdl = build(SampledCore(cfg.net(), cfg.core()), name=f"sampled_core_{cfg.id}")
    run_bench(hdl, "sampler_bench", run_name="sampled_core", params=params, arrays=arrays,
              testcase="sampled_core_matches_golden_model")


def test_cases_reach_the_extremes():
    """The stimulus really has rho = 0 and 65535 entries and members 0 and 2**32-1."""
    params, arrays = make_case(Cfg(64, members=3), 1)
    rho = arrays["rho"]
    assert (rho == 0).any() and (rho == 65535).any()
    assert sorted(arrays["rho_addr"].tolist()) == list(range(Cfg(64).net().n_conn))
    assert [c[2] for c in params["cmds"][:2]] == [0, 2**32 - 1]
    assert arrays["member_start"][-1] == len(arrays["exp_addr"])
