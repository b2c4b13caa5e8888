"""Settings for every test folder (tests/, sim/): the process setup the entry points run.

:func:`ec_hw.runtime.setup_process` sets ``OMP_WAIT_POLICY=PASSIVE`` and drops stale Numba
caches before the first golden-model kernel is loaded (collection imports the test modules).
"""

from ec_hw.runtime import setup_process

setup_process()
