"""Transports move bytes unchanged: serial over a real pty pair, XDMA over a pair of FIFOs."""

import os
import threading
import tty

import pytest

from host.transport import SerialTransport, TransportError, XdmaTransport, open_transport


def test_serial_transport_over_pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    t = SerialTransport(name, 3_000_000)
    try:
        data = bytes(range(256)) * 4
        t.write(data)
        got = b""
        while len(got) < len(data):
            got += os.read(master, 4096)
        assert got == data
        os.write(master, b"\xec\x5a\x01")
        buf = b""
        while len(buf) < 3:
            chunk = t.read(16, 1.0)
            assert chunk
            buf += chunk
        assert buf == b"\xec\x5a\x01"
        assert t.read(16, 0.05) == b""  # timeout: nothing, no exception
        os.write(master, b"junk")
        import time
        time.sleep(0.05)
        t.flush_input()
        assert t.read(16, 0.05) == b""
    finally:
        t.close()
        os.close(master)
        os.close(slave)


def test_xdma_transport_over_fifos(tmp_path):
    h2c, c2h = tmp_path / "h2c", tmp_path / "c2h"
    os.mkfifo(h2c)
    os.mkfifo(c2h)
    stop = threading.Event()

    def card():  # an echo "card": everything written to h2c comes back on c2h, inverted
        with open(h2c, "rb", buffering=0) as rx, open(c2h, "wb", buffering=0) as tx:
            while not stop.is_set():
                d = rx.read(4096)
                if not d:
                    return
                tx.write(bytes(b ^ 0xFF for b in d))

    th = threading.Thread(target=card, daemon=True)
    th.start()
    t = open_transport(f"xdma:{h2c},{c2h}")
    assert isinstance(t, XdmaTransport)
    try:
        msg = bytes(range(200))
        t.write(msg)
        got = b""
        while len(got) < len(msg):
            chunk = t.read(4096, 2.0)
            assert chunk, "timeout"
            got += chunk
        assert got == bytes(b ^ 0xFF for b in msg)
        assert t.read(10, 0.05) == b""
    finally:
        t.close()
        stop.set()
        th.join(2)


def test_transport_open_errors(tmp_path):
    with pytest.raises(TransportError, match="cannot open serial port"):
        SerialTransport(str(tmp_path / "nope"))
    with pytest.raises(TransportError, match="cannot open"):
        XdmaTransport(str(tmp_path / "a"), str(tmp_path / "b"))
    with pytest.raises(ValueError, match="xdma port must be"):
        open_transport("xdma:only_one")
