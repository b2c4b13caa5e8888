"""``ec-hw export``: the NIR graph rebuilds the float reference bit for bit; the .mem files hold
the core's connection memories; bad input ends in one line and exit code 2."""

import json

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from ec_hw import coremap  # noqa: E402
from ec_hw.cli import main  # noqa: E402
from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.export import (  # noqa: E402
    DeployedNetwork,
    load_network,
    read_mem,
    to_nir,
    trace_resistance,
    write_mem,
    write_nir,
)
from ec_hw.model.packing import GenomeLayout, pack_genome  # noqa: E402
from ec_hw.model.reference import RefState, ref_step  # noqa: E402
from ec_hw.nirsim import NirError, NirNetwork  # noqa: E402


def random_network(net, seed, density=0.5):
    rng = np.random.default_rng(seed)
    return pack_genome(rng.random(net.n_conn) < density, GenomeLayout.of(net))


def deployed(net, genome, core=None):
    return DeployedNetwork(net=net, core=core or CoreConfig(), genome=genome,
                           obs_mean=np.zeros(net.obs_dim), obs_std=np.ones(net.obs_dim),
                           env_id="test", generation=0)


def reference_actions(net, genome, zs, batch):
    st = RefState.zeros(batch, net.n_neurons)
    g = np.repeat(genome[None], batch, axis=0)
    return np.stack([ref_step(net, g, st, z) for z in zs])


def nir_actions(path, zs, batch):
    sim = NirNetwork(nir.read(path), batch=batch)
    return np.stack([sim.step(z) for z in zs])


@pytest.mark.parametrize("n, d, a, density, seed", [
    (32, 4, 1, 0.5, 0), (48, 11, 3, 0.6, 1), (64, 17, 6, 0.4, 2), (256, 11, 3, 0.5, 3)])
def test_nir_file_rebuilds_the_float_reference_bit_for_bit(tmp_path, n, d, a, density, seed):
    net = NetConfig(n_neurons=n, obs_dim=d, act_dim=a)
    genome = random_network(net, seed, density)
    path = write_nir(tmp_path / "net.nir", deployed(net, genome))
    rng = np.random.default_rng(100 + seed)
    batch, steps = 3, 12 if n < 256 else 4
    zs = [rng.normal(0, 1.5, (batch, d)) for _ in range(steps)]
    zs[1][0, :] = 0.0                                     # zero input, and extreme inputs
    zs[2][1, :] = rng.choice([-40.0, 40.0], d)
    ref = reference_actions(net, genome, zs, batch)
    got = nir_actions(path, zs, batch)
    assert np.abs(ref).max() > 0.05                      # the networks do act
    assert np.array_equal(ref.view(np.uint64), got.view(np.uint64))


def test_nir_graph_has_the_1bit_weights_times_their_scales(tmp_path):
    net = NetConfig(n_neurons=32, obs_dim=4, act_dim=2)
    genome = random_network(net, 5)
    g = nir.read(write_nir(tmp_path / "n.nir", deployed(net, genome)))
    assert {type(v).__name__ for v in g.nodes.values()} == {
        "Input", "Output", "Linear", "LI", "LIF"}
    w_rec = g.nodes["w_rec"].weight
    assert set(np.unique(w_rec[:, :net.n_exc])) <= {0.0, net.r_rec}
    assert set(np.unique(w_rec[:, net.n_exc:])) <= {0.0, -net.r_rec}
    assert set(np.unique(g.nodes["w_in"].weight)) == {0.0, net.r_in}
    assert set(np.abs(np.unique(g.nodes["w_out"].weight))) == {0.0, net.r_out}
    lif = g.nodes["lif"]
    assert np.all(lif.v_threshold == net.vth) and np.all(lif.v_reset == 0)
    assert np.all(lif.tau == net.tau_m) and np.all(g.nodes["syn"].tau == net.tau_syn)
    assert float(g.metadata["dt"]) == net.dt and int(g.metadata["substeps"]) == net.substeps
    # the trace's impulse gain is exactly the reference's rate increment
    assert trace_resistance(net) / net.tau_out == (1.0 - net.alpha_out) / net.dt


def test_interpreter_refuses_what_it_does_not_implement():
    net = NetConfig(n_neurons=16, obs_dim=2, act_dim=1)
    g = to_nir(random_network(net, 0), net)
    g.nodes["lif"] = nir.IF(r=np.ones(16), v_threshold=np.ones(16))
    with pytest.raises(NirError, match="NIR IF is not supported"):
        NirNetwork(g)


def test_mem_files_are_the_core_memories(tmp_path):
    net = NetConfig(n_neurons=64, obs_dim=11, act_dim=3)
    core = CoreConfig(lanes=4, word_bits=32, slots=2)
    genome = random_network(net, 7)
    paths = write_mem(tmp_path / "mem", deployed(net, genome, core))
    names = sorted(p.stem for p in paths)
    assert names == sorted([f"w_in{i}" for i in range(4)] + [f"w_rec{i}" for i in range(4)]
                           + ["w_out"])
    mems = {p.stem: read_mem(p) for p in paths}
    # undo the lane banking and compare with the host's word map, slot by slot
    wpr_in, wpr = coremap.words_per_row(net, core)
    for slot in range(core.slots):
        words = coremap.slot_words(coremap.genome_to_words(genome, net, core), slot, net, core)
        for mx, addr, value in zip(words.matrix, words.addr, coremap.word_ints(words.data),
                                   strict=True):
            if mx == coremap.MATRIX_OUT:
                assert mems["w_out"][addr] == value
                continue
            name, per_row = ("w_in", wpr_in) if mx == coremap.MATRIX_IN else ("w_rec", wpr)
            row, w = divmod(int(addr), per_row)
            assert mems[f"{name}{row % 4}"][(row // 4) * per_row + w] == value
    assert len(mems["w_rec0"]) == core.slots * 16 * wpr


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", "--env", "InvertedPendulum-v5", "--pop", "4", "--neurons", "16",
                 "--generations", "1", "--eval-episodes", "1", "--max-episode-steps", "20",
                 "--workers", "1", "--quiet", "--out", str(run)]) == 0
    return run


def test_export_cli_writes_both_formats(tmp_path, run):
    assert main(["export", str(run), "--format", "nir"]) == 0
    dep = load_network(run)
    g = nir.read(run / "network.nir")
    assert np.array_equal(np.asarray(g.metadata["obs_std"]), dep.obs_std)
    assert main(["export", str(run), "--format", "mem", "--out", str(tmp_path / "m")]) == 0
    assert (tmp_path / "m" / "w_rec0.mem").is_file()
    assert json.loads((run / "config.json").read_text())["train"]["algo"] == "ec"


@pytest.mark.parametrize("argv, msg", [
    (["export", "{tmp}/nope", "--format", "nir"], "no run directory"),
    (["export", "{run}", "--format", "onnx"], "--format must be one of nir, mem"),
    (["export", "{run}", "--format", "nir", "--out", "{tmp}/missing/x.nir"], "--out"),
    (["export", "{run}", "--format", "mem", "--out", "{run}/config.json"], "--out"),
    (["export", "{tmp}", "--format", "nir"], "not a run directory"),
])
def test_export_cli_errors_are_one_line(tmp_path, capsys, run, argv, msg):
    capsys.readouterr()
    argv = [a.format(tmp=tmp_path, run=run) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and msg in err, err
