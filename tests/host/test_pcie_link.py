"""Host Device <-> virtual PCIe board (the PCIe device's Verilog, its XDMA AXI-Stream ports
bridged to two named pipes) through the unchanged :class:`host.transport.XdmaTransport`.

Two cores behind one link: explicit LOAD and on-device SAMPLE, actions identical to the golden
model, the STEP's cycles those of one core (the cores step in parallel), the link budget the
virtual board measures, a training run equal to ``--target model``.
"""

import numpy as np
import pytest

from ec_hw.boardsim_pcie import VirtualPcieBoard
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.gateware.core import cycles_per_env_step
from ec_hw.model.core import FixedNet, NetState, net_step
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.sampler import quantize_rho, sample_members
from ec_hw.train.device_backend import DeviceBackend
from host.device import Device
from host.transport import XdmaTransport

NET = NetConfig(n_neurons=32, obs_dim=3, act_dim=2, substeps=4)
CORE = CoreConfig(slots=4, word_bits=16, lanes=4)
CORES = 2


@pytest.fixture(scope="module")
def board():
    with VirtualPcieBoard(NET, CORE, cores=CORES, stats=True) as vb:
        yield vb


def test_port_is_an_xdma_pair(board):
    assert board.port == f"xdma:{board.h2c},{board.c2h}"


def test_actions_identical_to_golden_model_over_xdma(board):
    h2c, c2h = board.port[5:].split(",")
    dev = Device(XdmaTransport(h2c, c2h), timeout=5.0)
    info = dev.connect(NET, CORE)
    assert info.slots == CORE.slots and dev.has_sampler
    layout = GenomeLayout.of(NET)
    rng = np.random.default_rng(4)
    genomes = pack_genome(rng.random((CORE.slots, layout.n_conn)) < 0.6, layout)
    rho_q = quantize_rho(rng.random(layout.n_conn))
    # slots 1 and 2 (one in each core) drawn on the device, 0 and 3 loaded
    genomes[1:3] = sample_members(77, np.array([5, 6]), rho_q, layout)
    backend = DeviceBackend(dev, NET, CORE, own_device=True)
    backend.load(genomes[[0, 3]], slots=[0, 3])
    backend.load_rho(rho_q)
    backend.sample(77, np.array([5, 6]), slots=[1, 2])
    backend.reset(np.ones(CORE.slots, bool))
    fx = FixedNet(NET, CORE)
    state = NetState.zeros(CORE.slots, fx.layout)
    mask = np.ones(CORE.slots, bool)
    got, want = [], []
    for _ in range(20):
        x = rng.integers(-25000, 25000, size=(CORE.slots, NET.obs_dim)).astype(np.int32)
        want.append(net_step(fx.p, fx.lay, x, genomes, state, mask))
        got.append(backend.step_q(x, mask))
    assert np.array_equal(np.array(got), np.array(want))
    assert np.abs(np.array(want)).sum() > 0, "a test of all-zero actions means nothing"
    sub = CoreConfig(slots=CORE.slots // CORES, word_bits=16, lanes=4)
    assert dev.status()["cycles"] == cycles_per_env_step(NET, sub)
    assert dev.stats["retries"] == 0
    backend.close()
    # the harness logged every request: a STEP's round trip is the core's cycles plus the link
    steps = [t for t in board.transactions() if t[2] == 8 + CORE.slots * NET.act_dim * 2]
    assert len(steps) >= 20
    assert min(t[0] for t in steps) > cycles_per_env_step(NET, sub)
