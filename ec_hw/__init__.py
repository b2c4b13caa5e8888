"""ec-hw: Evolving Connectivity for recurrent spiking networks with 1-bit connections, in FPGA."""

import os as _os

__version__ = "0.1.0"

# Numba's OpenMP threading layer spin-waits between parallel regions by default; on a machine
# shared with other work that makes every small prange call cost tens of milliseconds. Passive
# waiting yields the core. It must be set before Numba launches its threads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class EcHwError(Exception):
    """Base of every runtime error raised by ec-hw (bad input, link faults, checkpoints)."""
