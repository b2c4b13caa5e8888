"""ec-hw: Evolving Connectivity for recurrent spiking networks with 1-bit connections, in FPGA.

Importing the package changes nothing outside it; entry points call
:func:`ec_hw.runtime.setup_process` before the first Numba kernel runs.
"""

__version__ = "0.1.0"


class EcHwError(Exception):
    """Base of every runtime error raised by ec-hw (bad input, link faults, checkpoints)."""
