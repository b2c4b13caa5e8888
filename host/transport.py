"""Byte pipes between the host and a device: serial ports (and pseudo-terminals), PCIe XDMA.

A :class:`Transport` moves bytes and knows nothing about frames; :class:`host.device.Device`
runs the protocol of :mod:`ec_hw.protocol` over any of them.
"""

from __future__ import annotations

import os
import select
import time
from abc import ABC, abstractmethod

from ec_hw import EcHwError

__all__ = ["Transport", "SerialTransport", "XdmaTransport", "open_transport", "TransportError"]


class TransportError(EcHwError):
    """The byte pipe itself failed (port vanished, device file closed)."""


class Transport(ABC):
    """A bidirectional byte pipe."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send all of ``data``."""

    @abstractmethod
    def read(self, n: int, timeout: float) -> bytes:
        """Return 1..n bytes as soon as any arrive, or ``b""`` after ``timeout`` seconds."""

    @abstractmethod
    def flush_input(self) -> None:
        """Discard bytes received but not yet read."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the pipe."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SerialTransport(Transport):
    """A serial port through pyserial: a USB-UART (``/dev/ttyUSB1``), or a pseudo-terminal
    (``/dev/pts/7``) such as the one the virtual board prints.

    Parameters
    ----------
    port : str
        Device path or pyserial URL.
    baud : int
        Baud rate (ignored by pseudo-terminals).
    """

    def __init__(self, port: str, baud: int = 115200):
        import serial  # pyserial

        if not isinstance(baud, int) or baud <= 0:
            raise ValueError(f"baud must be a positive integer, not {baud!r}")
        self.port = port
        try:
            self._ser = serial.serial_for_url(port, baudrate=baud, timeout=0,
                                              write_timeout=10.0, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open serial port {port}: {exc}") from exc

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._ser.write(data)
            self._ser.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"write to {self.port} failed: {exc}") from exc

    def read(self, n: int, timeout: float) -> bytes:
        import serial

        try:
            self._ser.timeout = max(timeout, 0.0)
            first = self._ser.read(1)
            if not first or n == 1:
                return first
            self._ser.timeout = 0
            return first + self._ser.read(min(n - 1, max(self._ser.in_waiting, 0)))
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"read from {self.port} failed: {exc}") from exc

    def flush_input(self) -> None:
        self._ser.reset_input_buffer()

    def close(self) -> None:
        self._ser.close()


class XdmaTransport(Transport):
    """PCIe through the Xilinx XDMA driver's character devices (AXI-Stream mode).

    Writes go to the host-to-card file, reads come from the card-to-host file. Any pair of
    readable/writable files works the same way (tests use two FIFOs).

    Parameters
    ----------
    h2c, c2h : str
        Paths, by default ``/dev/xdma0_h2c_0`` and ``/dev/xdma0_c2h_0``.
    """

    def __init__(self, h2c: str = "/dev/xdma0_h2c_0", c2h: str = "/dev/xdma0_c2h_0"):
        self.h2c, self.c2h = h2c, c2h
        try:
            # Open the read side first and non-blocking: opening a FIFO's read end never
            # blocks, and the writer end then finds a reader.
            self._rfd = os.open(c2h, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise TransportError(f"cannot open {c2h}: {exc}") from exc
        try:
            self._wfd = os.open(h2c, os.O_WRONLY)
        except OSError as exc:
            os.close(self._rfd)
            raise TransportError(f"cannot open {h2c}: {exc}") from exc

    def write(self, data: bytes) -> None:
        view = memoryview(bytes(data))
        try:
            while view:
                n = os.write(self._wfd, view)
                view = view[n:]
        except OSError as exc:
            raise TransportError(f"write to {self.h2c} failed: {exc}") from exc

    def read(self, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self._rfd], [], [], max(left, 0.0))
            if r:
                try:
                    data = os.read(self._rfd, n)
                except BlockingIOError:
                    data = b""
                except OSError as exc:
                    raise TransportError(f"read from {self.c2h} failed: {exc}") from exc
                if data:
                    return data
                # EOF of a FIFO whose writer is not (yet) there: wait and poll again.
                time.sleep(min(0.001, max(left, 0.0)))
            if time.monotonic() >= deadline:
                return b""

    def flush_input(self) -> None:
        while True:
            try:
                if not os.read(self._rfd, 65536):
                    return
            except BlockingIOError:
                return

    def close(self) -> None:
        for fd in (self._rfd, self._wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def open_transport(port: str, baud: int = 115200) -> Transport:
    """Open ``port``: ``xdma:<h2c>,<c2h>`` (or ``xdma`` for the default pair), else serial."""
    if port == "xdma":
        return XdmaTransport()
    if port.startswith("xdma:"):
        h2c, _, c2h = port[5:].partition(",")
        if not c2h:
            raise ValueError(f"xdma port must be 'xdma:<h2c path>,<c2h path>', not {port!r}")
        return XdmaTransport(h2c, c2h)
    return SerialTransport(port, baud)
