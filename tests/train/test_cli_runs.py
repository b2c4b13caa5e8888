"""``ec-hw train``/``plot`` as a new user meets them: file-system faults, a second trainer on
the same folder, failed and interrupted starts, flags that would do nothing, odd metrics.

Every refusal is one line on stderr naming the flag, with exit code 2. The read-only and
full-disk cases run on a real small tmpfs mounted for the test (they need root, as CI and the
development machines have; elsewhere they are skipped with the reason).
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ec_hw
from ec_hw.cli import main
from ec_hw.train.rundir import RunLock

SMALL = ["--env", "InvertedPendulum-v5", "--pop", "4", "--neurons", "16", "--workers", "1",
         "--eval-episodes", "1", "--max-episode-steps", "20", "--quiet"]
REPO = Path(ec_hw.__file__).resolve().parent.parent


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("ec-hw: error: ")
    return err[0]


def _sigint_default():
    # A shell without job control starts background commands with SIGINT ignored, and an
    # ignored signal stays ignored across exec: under `pytest &` the Ctrl-C tests' SIGINT would
    # never reach the trainer (it then finished all generations and exited 0).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*argv, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "ec_hw.cli", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_default, **kw)


# --- a real small file system --------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """Mount a 1 MiB tmpfs; yields (mount point, remount(options))."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True)

    try:
        yield mnt, remount
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt: Path) -> None:
    """Fill the file system until a write fails with ENOSPC."""
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


# --- item 9: file-system errors ------------------------------------------------------------

def test_out_that_is_a_file_or_under_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    assert main(["train", *SMALL, "--out", str(f)]) == 2
    assert "--out" in _err_line(capsys)
    assert main(["train", *SMALL, "--out", str(f / "run")]) == 2
    line = _err_line(capsys)
    assert "--out" in line and "is a file" in line


def test_read_only_run_folder(small_fs, tmp_path, capsys):
    mnt, remount = small_fs
    run = mnt / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    remount("ro")
    capsys.readouterr()
    assert main(["train", *SMALL, "--generations", "1", "--out", str(mnt / "new")]) == 2
    line = _err_line(capsys)
    assert "--out" in line and "Read-only" in line
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    assert "Read-only" in _err_line(capsys)
    assert main(["plot", str(run)]) == 2
    assert "--out" in _err_line(capsys)
    assert main(["plot", str(run), "--out", str(mnt / "sub" / "c.png")]) == 2
    line = _err_line(capsys)
    assert "--out" in line and "Read-only" in line
    assert main(["plot", str(run), "--out", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(small_fs, capsys):
    mnt, _ = small_fs
    run = mnt / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    before = (run / "checkpoint.npz").read_bytes()
    _fill(mnt)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--generations", "3", "--quiet"]) == 2
    line = _err_line(capsys)
    assert "No space left on device" in line and "generation 1" in line and "--resume" in line
    assert (run / "checkpoint.npz").read_bytes() == before
    assert not list(run.glob(".checkpoint-*"))
    assert int(np.load(run / "checkpoint.npz")["generation"]) == 1
    (mnt / "filler").unlink()
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 0


# --- item 10: one trainer per run folder ---------------------------------------------------

def test_a_second_trainer_on_a_running_folder_is_refused_until_the_first_dies(tmp_path,
                                                                              capsys):
    run = tmp_path / "r"
    first = _cli("train", *SMALL, "--generations", "10000", "--out", str(run))
    try:
        deadline = time.monotonic() + 180
        while not (run / "checkpoint.npz").exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first trainer made no checkpoint"
            time.sleep(0.2)
        assert main(["train", "--resume", str(run), "--generations", "10001", "--quiet"]) == 2
        line = _err_line(capsys)
        assert f"pid {first.pid}" in line and "in use" in line
        assert main(["train", *SMALL, "--out", str(run)]) == 2  # a new run there: same answer
        _err_line(capsys)
        assert main(["plot", str(run)]) == 0  # readers take no lock
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: the kernel drops the lock
        first.communicate()
    done = int(np.load(run / "checkpoint.npz")["generation"])
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--generations", str(done + 1), "--quiet"]) == 0
    gens = [json.loads(x)["generation"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert gens == list(range(done + 1))


def test_the_lock_is_released_when_the_trainer_returns(tmp_path):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    with RunLock(run):  # would raise if the finished trainer still held it
        pass


# --- item 11: no half-made run folder --------------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["--target", "fpga", "--port", "/dev/ec-hw-no-such-port"], "/dev/ec-hw-no-such-port"),
    (["--target", "sim", "--board", "nope"], "--board"),
    (["--target", "sim", "--neurons", "18"], "--neurons"),
])
def test_a_failed_start_creates_no_run_folder(argv, needle, tmp_path, capsys):
    out = tmp_path / "deep" / "run"
    assert main(["train", *SMALL, *argv, "--out", str(out)]) == 2
    assert needle in _err_line(capsys)
    assert not (tmp_path / "deep").exists()


def test_ctrl_c_in_generation_0_claims_no_checkpoint_and_leaves_no_folder(tmp_path):
    run = tmp_path / "r"
    # Swimmer never ends an episode early: generation 0 takes several seconds.
    p = _cli("train", "--env", "Swimmer-v5", "--pop", "8", "--neurons", "16", "--workers", "1",
             "--max-episode-steps", "1000", "--generations", "5", "--out", str(run))
    line = p.stdout.readline()
    assert "ec-hw train" in line, (line, p.stderr.read() if p.poll() is not None else "")
    time.sleep(0.5)
    assert not (run / "checkpoint.npz").exists(), "generation 0 finished too fast for this test"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130
    assert "checkpointed" not in err and "nothing was saved" in err
    assert not run.exists()


# --- item 13: cheap checks before slow work --------------------------------------------------

def test_resume_without_checkpoint_is_reported_before_the_virtual_board_builds(
        tmp_path, capsys, monkeypatch):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["target"] = "sim"
    (run / "config.json").write_text(json.dumps(cfg))
    (run / "checkpoint.npz").unlink()
    monkeypatch.setenv("EC_HW_BUILD_DIR", str(tmp_path / "build"))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert "no checkpoint" in err and err.count("\n") == 1
    assert "virtual" not in out and not (tmp_path / "build").exists()


def test_an_error_line_is_not_buried_under_amaranth_warnings(tmp_path):
    p = _cli("train", *SMALL, "--target", "sim", "--neurons", "18", "--out",
             str(tmp_path / "r"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 2
    assert err.count("\n") == 1 and err.startswith("ec-hw: error: "), err


def test_board_sim_errors_are_one_line_and_name_the_flag(tmp_path):
    for argv, needle in ((["--slots", "0"], "--slots"), (["--neurons", "17"], "--neurons"),
                         (["--obs-dim", "0"], "--obs-dim")):
        p = _cli("board-sim", *argv)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 2, err
        assert err.count("\n") == 1 and needle in err and "Warning" not in err, err
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.run([sys.executable, "-m", "ec_hw.boardsim", "--slots", "0"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--slots" in p.stderr, p.stderr


# --- item 14: flags that would do nothing, errors in the user's words --------------------------

@pytest.mark.parametrize("argv,needle", [
    (["--stop-at", "100", "--eval-episodes", "0"], "--eval-episodes 0"),
    (["--stop-at", "nan"], "--stop-at"),
    (["--port", "/dev/ttyUSB0"], "--port is only used with --target fpga"),
    (["--board", "ulx3s"], "--board is only used with --target sim or fpga"),
    (["--pop", "1"], "--pop must be at least 2"),
    (["--algo", "es", "--pop", "7"], "--pop must be even"),
    (["--neurons", "8"], "--neurons must be at least 16"),
    (["--eval-episodes", "-1"], "--eval-episodes must be >= 0"),
])
def test_flags_that_would_do_nothing_are_refused_by_name(argv, needle, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", *SMALL, *argv, "--out", str(out)]) == 2
    assert needle in _err_line(capsys)
    assert not out.exists()


def test_eval_refuses_a_port_it_would_not_use(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--port", "/dev/ttyUSB0"]) == 2
    assert "--port is only used with --target fpga" in _err_line(capsys)


def test_workers_are_capped_by_population_and_cores_and_the_banner_says_so(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--workers", "64", "--generations", "1", "--out",
                 str(run)]) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal width
    n = min(4, len(os.sched_getaffinity(0)))
    assert f"{n} worker(s) (--workers 64 capped:" in out
    assert json.loads((run / "config.json").read_text())["train"]["workers"] == n


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"ec-hw {ec_hw.__version__}"


# --- item 15: metrics lines that are not rows ------------------------------------------------

@pytest.mark.parametrize("bad", ["[1, 2]", "3", "\"gen\"", "{\"mean_return\": 1.0}"])
def test_a_metrics_line_that_is_not_a_row_is_reported_by_plot_and_resume(bad, tmp_path,
                                                                         capsys):
    run = tmp_path / "r"
    assert main(["train", *SMALL, "--generations", "1", "--out", str(run)]) == 0
    with open(run / "metrics.jsonl", "a") as f:
        f.write(bad + "\n")
    capsys.readouterr()
    assert main(["plot", str(run)]) == 2
    line = _err_line(capsys)
    assert "metrics.jsonl line 2 is not a metrics row" in line
    assert main(["train", "--resume", str(run), "--generations", "2", "--quiet"]) == 2
    assert "line 2 is not a metrics row" in _err_line(capsys)


def test_eval_best_names_the_best_deployed_network_and_refuses_a_run_without_one(tmp_path,
                                                                                  capsys):
    from ec_hw.train.checkpoint import read_metrics

    run = tmp_path / "run"
    assert main(["train", *SMALL, "--generations", "6", "--seed", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    rows = read_metrics(run)
    det = [r["det_return"] for r in rows]
    assert main(["eval", str(run), "--best", "--episodes", "1"]) == 0
    assert (f"best deterministic network (after {int(np.argmax(det)) + 1} generations, "
            f"{max(det):.1f} on the run's evaluation episodes)") in capsys.readouterr().out
    assert main(["eval", str(run), "--episodes", "1"]) == 0
    assert f"deterministic network after {len(rows)} generations" in capsys.readouterr().out
    # a run without evaluations has no best network: one line, exit 2
    bare = tmp_path / "bare"
    assert main(["train", *SMALL, "--generations", "1", "--eval-episodes", "0",
                 "--out", str(bare)]) == 0
    capsys.readouterr()
    assert main(["eval", str(bare), "--best"]) == 2
    assert "has no best network" in _err_line(capsys)
