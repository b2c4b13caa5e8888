"""pytest setup for the cocotb benches in ``sim/``.

Puts ``sim/`` on ``sys.path`` so runners and benches import :mod:`hdl_build`, :mod:`bench_io`,
:mod:`stream_tb` and their bench
modules by plain name (the simulator's embedded Python inherits this ``sys.path``).
"""

from __future__ import annotations

import sys
from pathlib import Path

_SIM_DIR = str(Path(__file__).resolve().parent)
if _SIM_DIR not in sys.path:
    sys.path.insert(0, _SIM_DIR)
