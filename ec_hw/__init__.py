"""ec-hw: Evolving Connectivity for recurrent spiking networks with 1-bit connections, in FPGA."""

__version__ = "0.1.0"


class EcHwError(Exception):
    """Base of every runtime error raised by ec-hw (bad input, link faults, checkpoints)."""
