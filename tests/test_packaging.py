"""A wheel (non-editable install) carries the files the package reads at run time.

``--board`` reads ``ec_hw/boards/*.toml`` (a link to the repository's ``boards/``) and
``--target sim`` compiles ``ec_hw/board_sim/main.cpp``; both must be package data, not files of
the repository.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import ec_hw

REPO = Path(ec_hw.__file__).resolve().parent.parent


def _wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    # As in a clone: ec_hw/boards is a link to the top-level boards/ folder.
    for pkg in ("ec_hw", "host", "boards"):
        shutil.copytree(REPO / pkg, src / pkg, ignore=junk, symlinks=True)
    assert (src / "ec_hw" / "boards").is_symlink()
    out = tmp_path / "wheel"
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "--no-build-isolation", "--quiet", "-w", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    (whl,) = out.glob("ec_hw-*.whl")
    return whl


def test_a_wheel_install_finds_the_boards_and_the_virtual_board_source(tmp_path):
    whl = _wheel(tmp_path)
    names = set(zipfile.ZipFile(whl).namelist())
    shipped = sorted(p.relative_to(REPO).as_posix()
                     for p in (REPO / "ec_hw" / "boards").glob("*.toml"))
    assert shipped and set(shipped) <= names
    assert "ec_hw/board_sim/main.cpp" in names
    # Install = unpack (pure Python); run from a folder that is not the repository.
    site = tmp_path / "site"
    zipfile.ZipFile(whl).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("import json, ec_hw, ec_hw.build as b, ec_hw.boardsim as s\n"
            "print(json.dumps({'pkg': ec_hw.__file__, 'boards': b.supported_boards(),\n"
            "  'clk': b.load_board('ulx3s').clk_hz, 'cpp': str(s.main_cpp()),\n"
            "  'cpp_bytes': len(s.main_cpp().read_bytes())}))")
    run = tmp_path / "elsewhere"
    run.mkdir()
    p = subprocess.run([sys.executable, "-c", code], cwd=run, env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert Path(got["pkg"]).is_relative_to(site)
    assert got["boards"] == [Path(s).stem for s in shipped]
    assert got["clk"] == 100_000_000
    assert Path(got["cpp"]).is_relative_to(site)
    assert got["cpp_bytes"] == (REPO / "ec_hw" / "board_sim" / "main.cpp").stat().st_size
