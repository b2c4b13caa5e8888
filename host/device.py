"""The host's client of an ec-hw device: one class for real boards and the virtual board.

:class:`Device` speaks :mod:`ec_hw.protocol` over a :class:`~host.transport.Transport`:
timeouts, CRC checks, retries with the same sequence number (the device executes a request at
most once and re-sends its cached reply), and typed exceptions. It never turns a link fault into
a value: when retries run out it raises.

Exceptions::

    EcHwError
     +-- LinkError            the link failed to deliver a valid reply
     |    +-- LinkTimeout     no (valid) reply within the timeout, after every retry
     |    +-- ProtocolError   a reply that breaks the protocol (layout, opcode, version)
     |         +-- DeviceError    the device answered ERROR (``code``)
     +-- ConfigMismatch       the device computes a different network than the host expects
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ec_hw import EcHwError
from ec_hw.config import CoreConfig, NetConfig
from ec_hw.protocol import (
    ERROR_STRUCT,
    FEATURE_ANTITHETIC,
    FEATURE_DEPLOYED,
    FEATURE_SAMPLER,
    REPLY_BIT,
    SAMPLE_ANTITHETIC,
    SAMPLE_STRUCT,
    STATUS_STRUCT,
    ErrorCode,
    FrameDecoder,
    Info,
    Op,
    ProtocolFormatError,
    WireFormat,
    chunks,
    encode_frame,
)

from .transport import Transport, TransportError, open_transport

__all__ = ["Device", "LinkError", "LinkTimeout", "ProtocolError", "DeviceError",
           "ConfigMismatch"]

log = logging.getLogger(__name__)


class LinkError(EcHwError):
    """The link did not deliver a valid reply."""


class LinkTimeout(LinkError):
    """No valid reply arrived in time, after every retry."""


class ProtocolError(LinkError):
    """A reply broke the protocol (bad layout, unexpected opcode, wrong version)."""


class DeviceError(ProtocolError):
    """The device answered with an ERROR frame.

    Attributes
    ----------
    code : ErrorCode or int
    op : int, the opcode of the refused request
    """

    def __init__(self, code: int, op: int, message: str):
        super().__init__(message)
        self.code = code
        self.op = op


class ConfigMismatch(EcHwError):
    """The device's core does not compute the network the host was configured for."""


def _hexdump(data: bytes, limit: int = 48) -> str:
    s = data[:limit].hex(" ")
    return s + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


_RETRYABLE = {ErrorCode.BAD_CRC, ErrorCode.BAD_LENGTH, ErrorCode.BUSY}


class Device:
    """A connected ec-hw device.

    Parameters
    ----------
    transport : Transport
    timeout : float
        Seconds to wait for each reply (a STEP of many slots at low baud needs more).
    retries : int
        Re-sends of a request after a timeout or a corrupted exchange before giving up.

    Members
    -------
    info : Info
        The device's INFO, read by :meth:`connect`.
    wire : WireFormat
        Payload layouts for this device's shape.
    """

    def __init__(self, transport: Transport, *, timeout: float = 1.0, retries: int = 4):
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be a non-negative integer, not {retries!r}")
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        self.info: Info | None = None
        self.wire: WireFormat | None = None
        self.stats = {"requests": 0, "retries": 0, "bad_replies": 0, "tx_bytes": 0,
                      "rx_bytes": 0}
        """Counters: requests, re-sends, corrupted replies, bytes written and read."""
        self._seq = int.from_bytes(np.random.default_rng().bytes(1), "little")
        self._decoder = FrameDecoder()

    @classmethod
    def open(cls, port: str, baud: int = 115200, *, net: NetConfig | None = None,
             core: CoreConfig | None = None, **kw) -> Device:
        """Open ``port`` (see :func:`host.transport.open_transport`) and :meth:`connect`."""
        dev = cls(open_transport(port, baud), **kw)
        try:
            dev.connect(net, core)
        except BaseException:
            dev.close()
            raise
        return dev

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- protocol engine ------------------------------------------------------------------------
    def _await_reply(self, op: int, seq: int, deadline: float):
        """Next frame answering (op, seq); None on timeout or on a retryable fault."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = self.transport.read(4096, left)
            if not data:
                return None
            self.stats["rx_bytes"] += len(data)
            log.debug("rx %s", _hexdump(data))
            for fr in self._decoder.feed(data):
                if not fr.crc_ok:
                    self.stats["bad_replies"] += 1
                    log.debug("reply with bad CRC (op %#04x seq %d) dropped", fr.op, fr.seq)
                    continue
                if fr.op == Op.ERROR:
                    if len(fr.payload) != ERROR_STRUCT.size:
                        raise ProtocolError(f"ERROR reply with {len(fr.payload)} payload "
                                            f"bytes, expected {ERROR_STRUCT.size}")
                    code, rop = ERROR_STRUCT.unpack(fr.payload)
                    try:
                        code = ErrorCode(code)
                    except ValueError:
                        raise ProtocolError(f"ERROR reply with unknown code {code}") from None
                    if code in _RETRYABLE:
                        # A corrupted request (whatever seq survived): retry it.
                        log.debug("device reports %s for op %#04x seq %d", code.name, rop,
                                  fr.seq)
                        return None
                    if fr.seq != seq:
                        continue
                    raise DeviceError(code, rop, f"device refused {Op(op).name} "
                                      f"(seq {seq}): {code.name}")
                if fr.seq != seq:
                    log.debug("stale reply seq %d (want %d) dropped", fr.seq, seq)
                    continue
                if fr.op != (op | REPLY_BIT):
                    raise ProtocolError(f"reply opcode {fr.op:#04x} to request {op:#04x}")
                return fr

    def transact(self, op: int, payload: bytes = b"") -> bytes:
        """Send one request and return the reply's payload (retrying as the protocol allows).

        Raises
        ------
        LinkTimeout
            No valid reply after ``retries`` re-sends.
        DeviceError
            The device refused the request (bad argument, unknown opcode).
        """
        seq = self._seq
        frame = encode_frame(op, seq, payload)
        self.stats["requests"] += 1
        self.transport.flush_input()
        self._decoder.reset()
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
                log.debug("retry %d of %s seq %d", attempt, Op(op).name, seq)
                self._decoder.reset()
            log.debug("tx %s seq %d: %s", Op(op).name, seq, _hexdump(frame))
            self.stats["tx_bytes"] += len(frame)
            try:
                self.transport.write(frame)
                fr = self._await_reply(op, seq, time.monotonic() + self.timeout)
            except TransportError as exc:
                raise LinkError(str(exc)) from exc
            if fr is not None:
                self._seq = (seq + 1) & 0xFF
                return fr.payload
        raise LinkTimeout(f"no valid reply to {Op(op).name} (seq {seq}) after "
                          f"{self.retries + 1} attempts of {self.timeout:g} s")

    # -- commands -------------------------------------------------------------------------------
    def connect(self, net: NetConfig | None = None, core: CoreConfig | None = None) -> Info:
        """Read INFO (which also clears the device's retry cache) and check it.

        If ``net`` is given, the device must compute exactly that network with ``core``'s
        fixed-point widths (``lanes``, ``word_bits`` and ``slots`` are the device's own).

        Raises
        ------
        ConfigMismatch
            One line listing every differing field.
        """
        try:
            info = Info.unpack(self.transact(Op.INFO))
        except ProtocolFormatError as exc:
            raise ProtocolError(str(exc)) from exc
        if net is not None:
            want = Info.from_configs(net, info.core_config(core), max_payload=info.max_payload)
            bad = info.mismatches(want)
            if bad:
                raise ConfigMismatch("device core does not match the training config: "
                                     + ", ".join(bad))
        self.info = info
        self.wire = WireFormat.from_info(info)
        log.debug("connected: %s", info)
        return info

    def _need_info(self) -> tuple[Info, WireFormat]:
        if self.info is None or self.wire is None:
            raise EcHwError("call connect() before using the device")
        return self.info, self.wire

    @property
    def slots(self) -> int:
        return self._need_info()[0].slots

    def load_words(self, matrix: int, addr: int, words) -> None:
        """Write consecutive connection words starting at ``addr`` (split into frames)."""
        _, wire = self._need_info()
        words = list(words)
        for start, count in chunks(len(words), wire.max_load_words):
            self._load(wire.encode_load(matrix, addr + start, words[start:start + count]))

    def _load(self, payload: bytes) -> None:
        reply = self.transact(Op.LOAD, payload)
        if reply:
            raise ProtocolError(f"LOAD reply has {len(reply)} payload bytes, expected 0")

    def load_genome(self, slot: int, genome: np.ndarray, net: NetConfig) -> None:
        """Load one packed genome (uint64, :mod:`ec_hw.model.packing`) into ``slot``."""
        from ec_hw import coremap

        info, wire = self._need_info()
        if not 0 <= slot < info.slots:
            raise ValueError(f"slot must lie in 0..{info.slots - 1}, not {slot!r}")
        core = info.core_config()
        words = coremap.slot_words(
            coremap.genome_to_words(np.asarray(genome, np.uint64), net, core), slot, net, core)
        for payload in wire.load_payloads(words):
            self._load(payload)

    @property
    def deployed_hash(self) -> int | None:
        """:func:`ec_hw.protocol.network_hash` of the network a deployed device runs from
        power-up (``FEATURE_DEPLOYED``; such a device refuses ``LOAD``), else None."""
        info, _ = self._need_info()
        return info.network_hash if info.features & FEATURE_DEPLOYED else None

    @property
    def has_sampler(self) -> bool:
        """The device draws members itself (``LOAD_RHO`` and ``SAMPLE``; ``FEATURE_SAMPLER``)."""
        return bool(self._need_info()[0].features & FEATURE_SAMPLER)

    @property
    def has_antithetic(self) -> bool:
        """The device's sampler draws mirrored pairs (``SAMPLE_ANTITHETIC``;
        ``FEATURE_ANTITHETIC``)."""
        return bool(self._need_info()[0].features & FEATURE_ANTITHETIC)

    def _need_sampler(self, what: str) -> Info:
        info, _ = self._need_info()
        if not info.features & FEATURE_SAMPLER:
            raise EcHwError(f"{what}: the device has no on-chip sampler (INFO features "
                            f"{info.features:#x} lack FEATURE_SAMPLER)")
        return info

    def load_rho(self, rho_q) -> None:
        """Write a generation's quantized rho (uint16, flat genome order) into the device.

        Split into ``LOAD_RHO`` frames of at most ``max_payload`` bytes. Each frame is
        idempotent (it writes fixed values at fixed indices), so retries are safe.
        """
        info = self._need_sampler("load_rho")
        _, wire = self._need_info()
        n_conn = info.n_neurons * (2 * info.obs_dim + info.n_neurons + info.act_dim)
        rho_q = np.asarray(rho_q)
        if rho_q.shape != (n_conn,):
            raise ValueError(f"rho_q must have shape ({n_conn},), not {rho_q.shape}")
        if rho_q.dtype.kind not in "iu" or rho_q.min() < 0 or rho_q.max() > 0xFFFF:
            raise ValueError("rho_q must be uint16 integers (ec_hw.model.sampler.quantize_rho)")
        for payload in wire.load_rho_payloads(rho_q):
            reply = self.transact(Op.LOAD_RHO, payload)
            if reply:
                raise ProtocolError(f"LOAD_RHO reply has {len(reply)} payload bytes, "
                                    "expected 0")

    def sample(self, slot: int, gen_seed: int, member: int, *, antithetic: bool = False
               ) -> None:
        """Draw member ``member`` of generation ``gen_seed`` from the loaded rho into ``slot``.

        The device computes :func:`ec_hw.model.sampler.sample_members` (with ``antithetic``:
        as one of a mirrored pair) bit for bit and writes the connections straight into the
        slot (one ``SAMPLE`` frame, idempotent).
        """
        info = self._need_sampler("sample")
        if antithetic and not info.features & FEATURE_ANTITHETIC:
            raise EcHwError(f"sample: the device's sampler draws no antithetic pairs (INFO "
                            f"features {info.features:#x} lack FEATURE_ANTITHETIC)")
        if not 0 <= slot < info.slots:
            raise ValueError(f"slot must lie in 0..{info.slots - 1}, not {slot!r}")
        if not 0 <= gen_seed <= 0xFFFFFFFF:
            raise ValueError(f"gen_seed must be a 32-bit unsigned integer, not {gen_seed!r}")
        if not 0 <= member <= 0xFFFFFFFF:
            raise ValueError(f"member must be a 32-bit unsigned integer, not {member!r}")
        flags = SAMPLE_ANTITHETIC if antithetic else 0
        reply = self.transact(Op.SAMPLE, SAMPLE_STRUCT.pack(slot=slot, flags=flags,
                                                            gen_seed=gen_seed, member=member))
        if reply:
            raise ProtocolError(f"SAMPLE reply has {len(reply)} payload bytes, expected 0")

    def reset(self, mask) -> None:
        """Zero the network state of the slots where ``mask`` is true."""
        _, wire = self._need_info()
        reply = self.transact(Op.RESET, wire.encode_mask(np.asarray(mask, bool)))
        if reply:
            raise ProtocolError(f"RESET reply has {len(reply)} payload bytes, expected 0")

    def step(self, x_q: np.ndarray, active=None) -> np.ndarray:
        """One env step of every active slot: ``x_q`` (slots, D) -> int32 actions (slots, A).

        Inactive slots get zero actions (as :func:`ec_hw.model.core.net_step` returns).
        """
        info, wire = self._need_info()
        x_q = np.asarray(x_q)
        if x_q.shape != (info.slots, info.obs_dim):
            raise ValueError(f"x_q must have shape ({info.slots}, {info.obs_dim}), not "
                             f"{x_q.shape}")
        active = (np.ones(info.slots, bool) if active is None
                  else np.asarray(active, bool).reshape(info.slots))
        act = np.zeros((info.slots, info.act_dim), np.int32)
        if not active.any():
            return act
        reply = self.transact(Op.STEP, wire.encode_step(x_q, active))
        try:
            rows = wire.decode_step_reply(reply, active)
        except ProtocolFormatError as exc:
            raise ProtocolError(str(exc)) from exc
        for s, row in enumerate(rows):
            if row:
                act[s] = row
        return act

    def status(self) -> dict:
        """Cycles of the last STEP and the device's frame counters."""
        reply = self.transact(Op.STATUS)
        if len(reply) != STATUS_STRUCT.size:
            raise ProtocolError(f"STATUS reply has {len(reply)} bytes, expected "
                                f"{STATUS_STRUCT.size}")
        cyc, good, bad, overrun = STATUS_STRUCT.unpack(reply)
        return {"cycles": cyc, "frames_ok": good, "frames_bad": bad, "overruns": overrun}



def main(argv: list[str] | None = None) -> int:
    """``python -m host.device PORT [--baud B]``: print a device's INFO and STATUS."""
    import argparse
    import dataclasses

    parser = argparse.ArgumentParser(prog="python -m host.device",
                                     description="Print an ec-hw device's INFO and STATUS.")
    parser.add_argument("port", help="serial port, pty path or xdma:<h2c>,<c2h>")
    parser.add_argument("--baud", type=int, default=115200)
    parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG log with hex dumps")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        with Device.open(args.port, args.baud) as dev:
            for k, v in dataclasses.asdict(dev.info).items():
                print(f"{k:>18} {v:#010x}" if k in ("config_hash", "build_id", "network_hash")
                      else f"{k:>18} {v}")
            for k, v in dev.status().items():
                print(f"{k:>18} {v}")
    except EcHwError as exc:
        print(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
