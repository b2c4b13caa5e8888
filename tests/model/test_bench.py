"""Smoke test of bench/bench_model.py at tiny sizes, so the benchmark cannot rot."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ec_hw.config import NetConfig
from ec_hw.model.packing import GenomeLayout, pack_genome
from ec_hw.model.reference import RefState, ref_step

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_model.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_model", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_runs_and_reports_every_number(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(BENCH), "--neurons", "32", "--batch", "4",
                           "--env-steps", "1", "--substeps", "3", "--repeat", "1",
                           "--json", str(out)], capture_output=True, text=True, env=env,
                          timeout=600, check=True)
    r = json.loads(out.read_text())
    for key in ("golden_substeps_per_s", "golden_1thread_substeps_per_s",
                "dense_f32_substeps_per_s", "speedup_threads", "golden_vs_dense"):
        assert r[key] > 0, key
    lay = GenomeLayout.of(NetConfig(n_neurons=32, obs_dim=11, act_dim=3))
    assert r["bytes_per_member_packed"] == lay.n_words * 8 == (32 * 1 + 32 * 1 + 3 * 1) * 8
    assert r["bytes_per_member_dense_f32"] == lay.n_conn * 4
    assert "network-substeps/s" in proc.stdout and "connections per member" in proc.stdout


def test_dense_float32_network_is_the_reference_network():
    """The benchmark's float32 implementation computes the float64 reference's network."""
    bench = load_bench()
    net = NetConfig(n_neurons=64, obs_dim=5, act_dim=2, substeps=33)
    lay = GenomeLayout.of(net)
    rng = np.random.default_rng(4)
    batch = 16
    bits = rng.random((batch, lay.n_conn)) < 0.5
    z = rng.normal(size=(2, batch, net.obs_dim))
    dense = bench.DenseFloat32(net, bits)
    st = None
    ref = RefState.zeros(batch, net.n_neurons)
    for t in range(2):
        act32, st = dense.run(z[t:t + 1], st)
        act64 = ref_step(net, pack_genome(bits, lay), ref, z[t])
        # float32 vs float64 rounding (1e-7 relative) rarely moves a spike over the threshold.
        same = (st["s"].astype(bool) == ref.spk.astype(bool)).all(axis=1)
        assert same.mean() >= 0.9
        assert np.abs(act32 - act64)[same].max() < 1e-4
    assert ref.spk.any()


def test_quant_cost_reports_random_networks_and_a_run(tmp_path):
    from ec_hw.config import CoreConfig, TrainConfig
    from ec_hw.train.checkpoint import save_checkpoint, write_config
    from ec_hw.train.run import initial_state

    cfg = TrainConfig(env_id="InvertedPendulum-v5", pop_size=8, max_episode_steps=30,
                      eval_episodes=2)
    net = NetConfig(n_neurons=32, obs_dim=4, act_dim=1)
    core = CoreConfig()
    state = initial_state(cfg, net)
    state.params = np.random.default_rng(0).random(state.params.shape)  # a non-empty network
    write_config(tmp_path, cfg, net, core)
    save_checkpoint(tmp_path / "checkpoint.npz", state, cfg, net, core)
    spec = importlib.util.spec_from_file_location("quant_cost", ROOT / "bench" / "quant_cost.py")
    qc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(qc)
    res = qc.main(["--neurons", "32", "--obs-dim", "4", "--networks", "3", "--env-steps", "2",
                   "--run", str(tmp_path), "--episodes", "2", "--json", str(tmp_path / "q.json")])
    rows = res["random_networks"]["per_env_step"]
    assert len(rows) == 2 and all(0.9 <= r["spike_agreement"] <= 1 for r in rows)
    assert all(0 <= r["action_rmse"] <= 2 for r in rows)
    run = res["run"]
    for target in ("model", "float"):
        assert len(run[f"returns_{target}"]) == 2
        assert all(0 < r <= 30 for r in run[f"returns_{target}"])
    sh = run["shadow"]
    assert 1 <= sh["steps"] <= 30 and 0 <= sh["action_rmse"] <= sh["action_max_err"] <= 2
    assert json.loads((tmp_path / "q.json").read_text())["run"]["env_id"] == cfg.env_id


def test_bench_nets_measures_every_network_at_both_batches(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_nets", ROOT / "bench" / "bench_nets.py")
    bn = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bn)
    res = bn.main(["--neurons", "16", "--hidden", "16", "--obs-dim", "3", "--act-dim", "2",
                   "--batch", "4", "--env-steps", "1", "--repeat", "1",
                   "--json", str(tmp_path / "n.json")])
    assert set(res["batches"]) == {"4", "1"}
    for rows in res["batches"].values():
        assert set(rows) == set(bn.NETS)
        assert rows["ec_golden"]["vs_ec_golden"] == 1.0
        assert all(r["steps_per_s"] > 0 and r["steps_per_cpu_s"] > 0 for r in rows.values())
    assert res["params"]["es_gru"] == 3 * 16 * (3 + 16 + 1) + 16 + 2 * 16 + 2
    assert json.loads((tmp_path / "n.json").read_text())["hidden"] == 16
