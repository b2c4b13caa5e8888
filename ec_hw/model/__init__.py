"""Bit-exact Numba golden models of the core (see :mod:`ec_hw.fixedpoint`) and float references.

Every gateware block that computes has a twin here with the same stem.
"""

import os as _os
from pathlib import Path as _Path


def _drop_stale_numba_caches() -> None:
    """Delete on-disk Numba caches older than any source a kernel may have inlined.

    Numba keys a cached kernel on the file of the function it compiled, not on the files it
    inlines (``bits.py``, ``lif.py``, ...) or the compile-time constants it imports
    (``fixedpoint.P_*``): after an edit of one of those, a kernel would silently load old
    machine code. Runs once at import, before any kernel is loaded (a few ``stat`` calls).
    """
    pkg = _Path(__file__).resolve().parent.parent
    sources = [*(pkg / "model").glob("*.py"), pkg / "fixedpoint.py", pkg / "train" / "ec.py"]
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    for d in (pkg / "model" / "__pycache__", pkg / "train" / "__pycache__"):
        for cache in d.glob("*.nb[ic]"):
            try:
                if cache.stat().st_mtime < newest:
                    cache.unlink()
            except OSError:  # another process removed it first, or a read-only install
                pass


if not _os.environ.get("NUMBA_CACHE_DIR"):
    _drop_stale_numba_caches()
