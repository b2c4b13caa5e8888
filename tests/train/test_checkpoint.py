"""Checkpoints written by earlier versions load when only defaulted fields were added."""

import json

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig, TrainConfig
from ec_hw.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ec_hw.train.run import initial_state

CFG = TrainConfig(env_id="InvertedPendulum-v5", pop_size=8)
NET = NetConfig(n_neurons=32, obs_dim=4, act_dim=1)
CORE = CoreConfig()


def _rewrite_meta(path, edit):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = json.dumps(meta)
    np.savez(path, **arrays)


def _saved(tmp_path):
    path = tmp_path / "checkpoint.npz"
    state = initial_state(CFG, NET)
    state.generation = 5
    save_checkpoint(path, state, CFG, NET, CORE)
    return path


def test_a_checkpoint_from_before_the_topology_and_gain_fields_loads(tmp_path):
    path = _saved(tmp_path)

    def old(meta):  # what NetConfig looked like before issue 14
        for k in ("topology", "rec_gain", "out_gain"):
            del meta["net"][k]

    _rewrite_meta(path, old)
    assert load_checkpoint(path, CFG, NET, CORE).generation == 5


def test_a_different_network_or_an_unknown_field_is_refused(tmp_path):
    path = _saved(tmp_path)
    with pytest.raises(CheckpointError, match="different network"):
        load_checkpoint(path, CFG, NetConfig(n_neurons=64, obs_dim=4, act_dim=1), CORE)
    with pytest.raises(CheckpointError, match="different network"):
        load_checkpoint(path, CFG, NetConfig(n_neurons=32, obs_dim=4, act_dim=1,
                                             rec_gain=2.0), CORE)
    _rewrite_meta(path, lambda meta: meta["net"].update(future_field=1))
    with pytest.raises(CheckpointError, match="another ec-hw version"):
        load_checkpoint(path, CFG, NET, CORE)


def test_a_run_from_before_common_starts_keeps_a_seed_per_member(tmp_path):
    from ec_hw.train.checkpoint import read_config, write_config

    write_config(tmp_path, CFG, NET, CORE)
    assert read_config(tmp_path)[0].common_starts is True
    doc = json.loads((tmp_path / "config.json").read_text())
    del doc["train"]["common_starts"]
    (tmp_path / "config.json").write_text(json.dumps(doc))
    assert read_config(tmp_path)[0].common_starts is False


def test_a_run_from_before_fitness_shaping_keeps_centered_ranks(tmp_path):
    from ec_hw.train.checkpoint import read_config, write_config

    write_config(tmp_path, CFG, NET, CORE)
    assert read_config(tmp_path)[0].fitness_shaping is None  # new runs: EC's utilities
    doc = json.loads((tmp_path / "config.json").read_text())
    del doc["train"]["fitness_shaping"]
    (tmp_path / "config.json").write_text(json.dumps(doc))
    assert read_config(tmp_path)[0].fitness_shaping == "ranks"


def test_the_best_deployed_network_is_kept_across_resume_and_old_checkpoints_have_none(tmp_path):
    from ec_hw.cli import main
    from ec_hw.export import load_network
    from ec_hw.model.packing import GenomeLayout
    from ec_hw.train.checkpoint import read_config, read_metrics
    from ec_hw.train.ec import deterministic_genome

    run = tmp_path / "run"
    small = ["--env", "InvertedPendulum-v5", "--pop", "16", "--neurons", "16", "--workers", "1",
             "--eval-episodes", "2", "--max-episode-steps", "200", "--quiet", "--seed", "2"]
    assert main(["train", *small, "--generations", "4", "--out", str(run)]) == 0
    assert main(["train", "--resume", str(run), "--generations", "8"]) == 0
    cfg, net, core, _ = read_config(run)
    st = load_checkpoint(run / "checkpoint.npz", cfg, net, core)
    det = [r["det_return"] for r in read_metrics(run)]
    first_max = int(np.argmax(det))
    assert st.best_return == max(det) and st.best_generation == first_max + 1
    assert [r["best_return"] for r in read_metrics(run)] == list(np.maximum.accumulate(det))
    dep = load_network(run, best=True)
    assert dep.generation == st.best_generation
    assert np.array_equal(dep.genome, deterministic_genome(st.best_params, GenomeLayout.of(net)))
    np.testing.assert_array_equal(dep.obs_mean, st.best_obs[1])
    # rerun on the run's own evaluation episodes, it returns exactly what was recorded
    from ec_hw.train.backends import BackendSpec
    from ec_hw.train.local import InProcessEvaluator
    from ec_hw.train.run import Trainer

    spec = BackendSpec(target="model", net=net, core=core, slots=2)
    with InProcessEvaluator(spec, cfg.env_backend) as ev:
        tr = Trainer.resume(cfg, net, core, run, ev)
        assert tr.evaluate_deterministic(best=True).returns.mean() == st.best_return
        assert tr.evaluate_deterministic().returns.mean() == det[-1]

    # a checkpoint written before the best network was kept loads without one
    with np.load(run / "checkpoint.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("best_")}
    np.savez(run / "checkpoint.npz", **arrays)
    assert load_checkpoint(run / "checkpoint.npz", cfg, net, core).best_params is None
    from ec_hw.export import ExportError

    with pytest.raises(ExportError, match="has no best network"):
        load_network(run, best=True)
