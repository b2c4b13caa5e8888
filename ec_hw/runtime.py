"""Process setup that every entry point runs before its first Numba kernel.

Nothing here happens at import: :func:`setup_process` is called by ``ec-hw``
(:func:`ec_hw.cli.main`), by the trainer's worker processes and Ray actors, by the benchmarks
and by the test suite's root ``conftest.py``. A library user who calls the golden model directly
calls it too (or sets the same environment).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["setup_process", "drop_stale_numba_caches"]


def setup_process() -> None:
    """Prepare this process for the golden model's Numba kernels.

    * ``OMP_WAIT_POLICY=PASSIVE`` unless already set: Numba's OpenMP threading layer spin-waits
      between parallel regions by default; on a machine shared with other work that makes every
      small ``prange`` call cost tens of milliseconds (~40 ms instead of ~2 ms measured here).
      OpenMP reads it when Numba first launches its threads, so call this before any kernel runs.
    * :func:`drop_stale_numba_caches`, unless ``NUMBA_CACHE_DIR`` points the caches elsewhere.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not os.environ.get("NUMBA_CACHE_DIR"):
        drop_stale_numba_caches()


def drop_stale_numba_caches(package_dir: Path | None = None) -> int:
    """Delete on-disk Numba caches older than any source a kernel may have inlined.

    Numba keys a cached kernel on the file of the function it compiled, not on the files it
    inlines (``bits.py``, ``lif.py``, ...) or the compile-time constants it imports
    (``fixedpoint.P_*``): after an edit of one of those, a kernel would silently load old
    machine code. A few ``stat`` calls; run before any kernel is loaded.

    Parameters
    ----------
    package_dir : the ``ec_hw`` package directory (default: this package).

    Returns
    -------
    The number of cache files deleted.
    """
    pkg = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    # genome.py holds the Threefry constants the sampler kernels compile in.
    sources = [*(pkg / "model").glob("*.py"), pkg / "fixedpoint.py", pkg / "genome.py",
               pkg / "train" / "ec.py"]
    stamps = [p.stat().st_mtime for p in sources if p.exists()]
    if not stamps:
        return 0
    newest = max(stamps)
    dropped = 0
    for d in (pkg / "model" / "__pycache__", pkg / "train" / "__pycache__"):
        for cache in d.glob("*.nb[ic]"):
            try:
                if cache.stat().st_mtime < newest:
                    cache.unlink()
                    dropped += 1
            except OSError:  # another process removed it first, or a read-only install
                pass
    return dropped
