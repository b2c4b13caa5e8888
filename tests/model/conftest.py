"""Settings for the golden-model tests."""

import os
from pathlib import Path

import ec_hw

# Numba's OpenMP layer spin-waits between parallel regions by default; on a machine shared with
# other work (CI runners, 2 cores) that makes every prange call of a small batch cost tens of
# milliseconds. Passive waiting yields the core instead. Must be set before the first parallel
# launch, which is why it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _drop_stale_numba_caches() -> None:
    """Delete on-disk Numba caches older than any golden-model source.

    Numba keys a cached kernel on the source file of the function it compiled, not on the
    files it inlines (``bits.py``, ``lif.py``, ...) or the compile-time constants it imports
    (``fixedpoint.P_*``): after editing one of those, ``core_env_step`` would silently load
    the old machine code and these tests would test it. Runs at collection, before any kernel
    is called.
    """
    pkg = Path(ec_hw.__file__).parent
    newest = max(p.stat().st_mtime for p in [*(pkg / "model").glob("*.py"),
                                              pkg / "fixedpoint.py"])
    for cache in (pkg / "model" / "__pycache__").glob("*.nb[ic]"):
        try:
            if cache.stat().st_mtime < newest:
                cache.unlink()
        except FileNotFoundError:  # another process removed it first
            pass


if not os.environ.get("NUMBA_CACHE_DIR"):
    _drop_stale_numba_caches()
