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
