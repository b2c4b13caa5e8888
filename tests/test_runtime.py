"""Importing ec_hw has no side effects; :func:`ec_hw.runtime.setup_process` does the setup."""

import os
import subprocess
import sys
from pathlib import Path

import ec_hw
from ec_hw.runtime import drop_stale_numba_caches

PKG = Path(ec_hw.__file__).resolve().parent


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "NUMBA_CACHE_DIR")}
    env["PYTHONPATH"] = str(PKG.parent) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def _stale_cache(name: str) -> Path:
    d = PKG / "model" / "__pycache__"
    d.mkdir(exist_ok=True)
    f = d / name
    f.write_bytes(b"not a real cache")
    os.utime(f, (1, 1))  # older than every source file
    return f


def test_import_sets_no_environment_and_deletes_no_file():
    stale = _stale_cache("zz_test_runtime_import.nbi")
    try:
        out = _run("import os, ec_hw, ec_hw.model, ec_hw.model.core, ec_hw.train.run; "
                   "print(os.environ.get('OMP_WAIT_POLICY'))")
        assert out == "None"
        assert stale.exists()
    finally:
        stale.unlink(missing_ok=True)


def test_setup_process_sets_the_wait_policy_and_drops_stale_caches():
    stale = _stale_cache("zz_test_runtime_setup.nbi")
    try:
        out = _run("import os; from ec_hw.runtime import setup_process; setup_process(); "
                   "print(os.environ.get('OMP_WAIT_POLICY'))")
        assert out == "PASSIVE"
        assert not stale.exists()
    finally:
        stale.unlink(missing_ok=True)


def test_the_command_line_runs_the_setup():
    out = _run("import os, contextlib, io\nfrom ec_hw.cli import main\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               "    try:\n        main(['--version'])\n    except SystemExit:\n        pass\n"
               "print(os.environ.get('OMP_WAIT_POLICY'))")
    assert out.splitlines()[-1] == "PASSIVE"


def test_only_caches_older_than_the_sources_are_dropped(tmp_path):
    for sub in ("model", "train"):
        (tmp_path / sub / "__pycache__").mkdir(parents=True)
    (tmp_path / "model" / "lif.py").write_text("# source\n")
    (tmp_path / "fixedpoint.py").write_text("# source\n")
    old = tmp_path / "model" / "__pycache__" / "core.kernel-1.py311.nbi"
    new = tmp_path / "train" / "__pycache__" / "ec.grad-2.py311.nbc"
    other = tmp_path / "model" / "__pycache__" / "core.cpython-311.pyc"
    for f in (old, new, other):
        f.write_bytes(b"x")
    os.utime(old, (1, 1))
    os.utime(other, (1, 1))
    assert drop_stale_numba_caches(tmp_path) == 1
    assert not old.exists() and new.exists() and other.exists()
