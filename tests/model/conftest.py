"""Settings for the golden-model tests."""

import os

# Numba's OpenMP layer spin-waits between parallel regions by default; on a machine shared with
# other work (CI runners, 2 cores) that makes every prange call of a small batch cost tens of
# milliseconds. Passive waiting yields the core instead. Must be set before the first parallel
# launch, which is why it lives here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
