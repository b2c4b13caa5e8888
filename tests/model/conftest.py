"""Settings for the golden-model tests.

``import ec_hw`` sets ``OMP_WAIT_POLICY=PASSIVE`` and ``import ec_hw.model`` drops stale Numba
caches (see :func:`ec_hw.model._drop_stale_numba_caches`); importing them here makes both happen
before the first kernel runs.
"""

import ec_hw.model  # noqa: F401
