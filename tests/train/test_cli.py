"""The ec-hw command: bad input gives one line and exit 2; runs resume where they stopped."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ec_hw.cli import main

SMALL = ["--env", "InvertedPendulum-v5", "--pop", "8", "--neurons", "32", "--workers", "1",
         "--eval-episodes", "2", "--max-episode-steps", "50", "--quiet"]


def _err_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("ec-hw: error: ")
    return err[0]


@pytest.mark.parametrize("argv,needle", [
    (["train", "--env", "NoSuchEnv-v0"], "unknown environment id 'NoSuchEnv-v0'"),
    (["train", "--env", "CartPole-v1"], "discrete actions are not supported"),
    (["train", "--pop", "1"], "--pop must be at least 2"),
    (["train", "--lr", "-0.1"], "--lr must be a positive number"),
    (["train", "--eps", "0.7"], "--eps must lie strictly between 0 and 0.5"),
    (["train", "--lr-decay-start", "-3"], "--lr-decay-start must be a positive integer, not -3"),
    (["train", "--neurons", "8"], "--neurons must be at least 16"),
    (["train", "--algo", "es", "--pop", "7"], "--pop must be even"),
    (["train", "--net", "lstm"], "--net 'lstm' needs algo 'es'"),
    (["train", "--target", "fpga", "--pop", "4"], "--target fpga needs --port"),
    (["train", "--sampling", "device", "--antithetic", "--target", "float"],
     "cannot sample members on the device"),
    (["train", "--antithetic", "--pop", "9"], "--pop must be even for antithetic pairs"),
    (["eval", "/nonexistent/run"], "is not a run directory"),
    (["train", "--env", "Reacher-v5", "--env-backend", "envpool"],
     "--env-backend envpool runs Ant-v5"),
])
def test_bad_input_is_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    argv = argv + (["--out", str(tmp_path / "r")] if argv[0] == "train" else [])
    assert main(argv) == 2
    assert needle in _err_line(capsys)


@pytest.mark.parametrize("argv,needle", [
    (["train", "--fitness-shaping", "softmax"], "invalid choice: 'softmax'"),
    (["train", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["eval"], "the following arguments are required: run"),
])
def test_argparse_usage_errors_are_one_line_too(argv, needle, capsys):
    # argparse would print its whole usage block before the error; here it is one line.
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    line = _err_line(capsys)
    assert needle in line and line.endswith(" -h)") and "(see ec-hw" in line


def _rows(run):
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    drop = {"time_s", "gen_time_s", "env_steps_per_s", "pop_env_steps_per_s", "update_s"}
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", *SMALL, "--generations", "3", "--out", str(a)]) == 0
    assert main(["train", *SMALL, "--generations", "2", "--out", str(b)]) == 0
    # a torn metrics line past the checkpoint (crash mid-write) must not survive the resume
    with open(b / "metrics.jsonl", "a") as f:
        f.write('{"generation": 2, "mean_ret')
    assert main(["train", "--resume", str(b), "--generations", "3", "--quiet"]) == 0
    assert _rows(a) == _rows(b)
    za, zb = np.load(a / "checkpoint.npz"), np.load(b / "checkpoint.npz")
    assert np.array_equal(za["params"], zb["params"])
    assert int(zb["generation"]) == 3
    capsys.readouterr()
    # a finished run refuses to be overwritten
    assert main(["train", *SMALL, "--generations", "3", "--out", str(a)]) == 2
    assert "--resume" in _err_line(capsys)


def test_corrupted_or_foreign_checkpoints_are_refused(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--env", "Hopper-v5"]) == 2
    assert "cannot change" in _err_line(capsys)
    cfg = json.loads((run / "config.json").read_text())
    cfg["net"]["n_neurons"] = 64
    (run / "config.json").write_text(json.dumps(cfg))
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    assert "different network" in _err_line(capsys)
    cfg["net"]["n_neurons"] = 32
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    assert "corrupted" in _err_line(capsys)


def test_eval_and_plot_read_a_run(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "3"]) == 0
    out = capsys.readouterr().out
    assert "deterministic network after 2 generations" in out and "3 episodes" in out
    assert main(["plot", str(run)]) == 0
    png = (run / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_env_engine_is_recorded_and_a_run_evaluates_on_the_other_engine(tmp_path, capsys):
    from ec_hw.train.envs import resolve_env_backend

    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    auto = resolve_env_backend("InvertedPendulum-v5", "auto")
    assert f"env engine {auto}," in capsys.readouterr().out
    assert json.loads((run / "config.json").read_text())["train"]["env_backend"] == auto
    for engine in ("gymnasium", auto):
        assert main(["eval", str(run), "--episodes", "2", "--env-backend", engine]) == 0
        assert f"env engine {engine}:" in capsys.readouterr().out
    assert main(["train", "--resume", str(run), "--env-backend", "gymnasium"]) == 2
    assert "--env-backend cannot change" in _err_line(capsys)


def test_plain_command_uses_the_studied_defaults_and_logs_the_diagnostics(tmp_path):
    """docs/learning.md: survival bonus handled per env (None), lr 0.15, no mirrored pairs."""
    run = tmp_path / "h"
    assert main(["train", "--env", "Hopper-v5", "--neurons", "32", "--pop", "4",
                 "--generations", "1", "--eval-episodes", "1", "--max-episode-steps", "20",
                 "--workers", "1", "--quiet", "--out", str(run)]) == 0
    train = json.loads((run / "config.json").read_text())["train"]
    assert train["healthy_reward"] is None and train["lr"] == 0.15
    assert train["antithetic"] is False and train["pop_size"] == 4
    assert train["common_starts"] is True
    assert train["fitness_shaping"] is None  # utility for EC, ranks for ES
    row = _rows(run)[0]
    for key in ("H_in", "H_rec", "H_out", "clip_in", "clip_rec", "clip_out", "snr_in",
                "snr_rec", "snr_out", "spk_exc", "spk_inh", "act_sat"):
        assert np.isfinite(row[key]), key
    assert 0 <= row["clip_rec"] <= 1 and 0 <= row["act_sat"] <= 1 and row["spk_exc"] >= 0


def test_es_baseline_trains_through_the_same_loop(tmp_path):
    run = tmp_path / "es"
    assert main(["train", *SMALL, "--algo", "es", "--generations", "2", "--out",
                 str(run)]) == 0
    rows = _rows(run)
    assert len(rows) == 2 and "param_norm" in rows[0]


@pytest.mark.parametrize("net", ["gru", "lstm"])
def test_es_gru_and_lstm_train_resume_and_repeat_exactly(net, tmp_path, capsys):
    small = [*SMALL[:4], "--neurons", "16", *SMALL[6:], "--algo", "es", "--net", net]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert main(["train", *small, "--generations", "3", "--out", str(a)]) == 0
    assert f"ES-{net.upper()} on InvertedPendulum-v5" in capsys.readouterr().out
    assert main(["train", *small, "--generations", "3", "--out", str(c)]) == 0
    assert main(["train", *small, "--generations", "2", "--out", str(b)]) == 0
    assert main(["train", "--resume", str(b), "--generations", "3", "--quiet"]) == 0
    assert _rows(a) == _rows(b) == _rows(c)  # same seed, same returns; resume is exact
    assert len({r["mean_return"] for r in _rows(a)}) > 1  # and the members differ
    za, zb = np.load(a / "checkpoint.npz"), np.load(b / "checkpoint.npz")
    from ec_hw.model.dense import RecurrentLayout
    assert za["params"].shape == (RecurrentLayout(net, 16, 4, 1).n_params,)
    assert np.array_equal(za["params"], zb["params"])
    assert main(["eval", str(a), "--episodes", "2"]) == 0
    assert "deterministic network after 3 generations" in capsys.readouterr().out


def test_max_env_steps_stops_after_the_generation_that_reaches_it(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "50", "--max-env-steps", "60",
                 "--out", str(run)]) == 0
    rows = _rows(run)
    assert rows[-1]["total_env_steps"] >= 60 and all(r["total_env_steps"] < 60
                                                      for r in rows[:-1])
    assert len(rows) < 50
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--max-env-steps", "60", "--quiet"]) == 0
    assert "nothing to do" in capsys.readouterr().out and len(_rows(run)) == len(rows)
    assert main(["train", *SMALL, "--max-env-steps", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--max-env-steps must be positive" in _err_line(capsys)


def test_max_env_steps_alone_is_the_budget_not_the_default_60_generations(tmp_path):
    from ec_hw.cli import GENERATIONS_UNLIMITED

    run = tmp_path / "r"
    assert main(["train", *SMALL, "--max-env-steps", "1000", "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["train"]["generations"] == \
        GENERATIONS_UNLIMITED
    rows = _rows(run)
    assert rows[-1]["total_env_steps"] >= 1000 > rows[-2]["total_env_steps"]  # >= 2 generations


def test_a_checkpoint_of_another_network_is_refused(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--algo", "es", "--net", "gru", "--generations", "1",
                 "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["network"] = "lstm"
    (run / "config.json").write_text(json.dumps(cfg))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    assert "different network (es gru" in _err_line(capsys)


def test_console_script_reports_errors_without_traceback(tmp_path):
    exe = [sys.executable, "-m", "ec_hw.cli", "train", "--env", "Nope-v9", "--out",
           str(tmp_path / "x")]
    p = subprocess.run(exe, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_eval_records_a_video_when_a_renderer_exists(tmp_path, capsys):
    from ec_hw.train.checkpoint import read_config
    from ec_hw.train.video import record_episode  # noqa: F401 - import must work everywhere

    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    read_config(run)
    code = main(["eval", str(run), "--episodes", "1", "--video", str(tmp_path / "ep.gif")])
    err = capsys.readouterr().err
    if code == 2 and "no offscreen renderer" in err:
        pytest.skip(err.strip())
    assert code == 0
    gif = (tmp_path / "ep.gif").read_bytes()
    assert gif[:6] in (b"GIF89a", b"GIF87a") and len(gif) > 1000
