r"""The wire protocol between a host and an ec-hw device (board, virtual board).

This docstring is the written specification. The gateware (:mod:`ec_hw.gateware.framer`,
:mod:`ec_hw.gateware.top`) and the host (:mod:`host.device`) both import their constants and
layouts from this module, so the two ends cannot drift apart.

Transport
---------
A byte pipe: a UART (8N1, any baud rate), a pseudo-terminal to the virtual board, or a pair of
PCIe XDMA character devices. The protocol is stop-and-wait: the host sends one request frame and
waits for one reply frame before it sends the next.

Frame (both directions)
-----------------------
=========  ======  ==================================================================
offset     bytes   field
=========  ======  ==================================================================
0          2       ``SYNC`` = ``0xEC 0x5A``
2          1       opcode (requests: :class:`Op`; replies: request opcode | ``0x80``,
                   or ``ERROR`` = ``0xFF``)
3          1       sequence number (0..255)
4          2       payload length L, little endian, ``0 <= L <= max_payload``
6          L       payload
6+L        2       CRC-16 of bytes ``2 .. 6+L-1`` (opcode .. payload), little endian
=========  ======  ==================================================================

All multi-byte integers are little endian. Frame overhead is ``FRAME_OVERHEAD`` = 8 bytes.
Every fixed payload (and payload header) is one :class:`Payload` below: an Amaranth
``StructLayout`` of byte-aligned unsigned fields, LSB first, that the host packs and the
gateware slices.

CRC-16/IBM-3740 (a.k.a. CCITT-FALSE): polynomial ``0x1021``, initial value ``0xFFFF``, no
reflection, no final XOR; check value ``crc16(b"123456789") == 0x29B1``. Its Hamming distance
is 4 up to 32751 data bits, so every frame (``max_payload`` <= 4000 bytes) detects all 1-, 2-
and 3-bit errors and every burst of up to 16 bits.

Receiver rules (the device's parser; the host's :class:`FrameDecoder` likewise, except that
it also rescans a bad-CRC frame's bytes for a SYNC, which a byte-at-a-time parser cannot)
-------------------------------------------------------------------------------------------
* Bytes are discarded until ``SYNC`` is seen (resynchronization after garbage).
* A length above ``max_payload`` is answered with ``ERROR BAD_LENGTH`` and the parser goes
  back to hunting for ``SYNC`` (so a corrupted length never makes it wait for kilobytes).
* A frame that stops arriving (no byte for ``idle_timeout`` clock cycles) is dropped silently.
* A CRC mismatch is answered with ``ERROR BAD_CRC``; the frame is not executed.
* The payload is buffered and executed only after its CRC checked out, so a corrupted frame
  never changes device state.

Sequence numbers and retries
----------------------------
The host numbers its requests; a retry reuses the number. The device keeps its last reply and
the (sequence number, CRC) of the request that produced it: a request equal in both is not
executed again, the cached reply is re-sent. Every ``STEP`` is therefore executed at most once
even if its reply was lost. Every executed request replaces the cache, ``INFO`` included;
hosts send ``INFO`` first when they connect, so no reply to an earlier host's request can come
back to them. Error replies are not cached.

Commands
--------
Replies carry the request's opcode with bit 7 set and the request's sequence number.
``S`` = slots, ``D`` = obs_dim, ``A`` = act_dim, ``W`` = word_bits, ``MB = ceil(S/8)`` mask
bytes (bit ``s % 8`` of byte ``s // 8`` is slot ``s``; bits of slots >= S must be 0),
``OB = ceil(obs_bits/8)``, ``AB = ceil(action_bits/8)`` (two's complement, sign-extended).

``INFO`` (0x01), request payload empty.
    Reply: :data:`INFO_STRUCT` (see :class:`Info`): protocol version, network shape, fixed-point
    widths and every derived constant of :func:`ec_hw.fixedpoint.derive`, hardware shape
    (lanes, word_bits, slots, max_payload), clock and baud rate, the configuration hash
    :func:`config_hash`, a free build id (boards: the first 32 bits of the git commit) and,
    on a deployed device (``FEATURE_DEPLOYED``), the :func:`network_hash` of the network its
    connection memories hold from power-up in every slot (0 otherwise).
``LOAD`` (0x02), request :data:`LOAD_HEADER`: matrix (0 W_in, 1 W_rec, 2 W_out), 0, count, start
    address, then ``count`` words of ``W/8`` bytes each (word map: ``docs/core-interface.md``,
    the address includes the slot). Reply payload empty. ``BAD_ARG`` if the matrix is not
    0..2, the words run past the matrix or L != 8 + count * W/8.
Payloads that are well framed but wrong for their command (lengths that do not match the
command's layout, out-of-range fields, mask bits of missing slots) get ``ERROR BAD_ARG`` and
change nothing; hosts do not retry them.

``STEP`` (0x03), request: MB mask bytes, then for every slot in the mask, in slot order, D
    observations ``x_q`` of OB bytes. Runs one env step of the core and replies with, for
    every slot in the mask in slot order, A actions of AB bytes. One frame carries the whole
    batch, so the link's round trip is paid once per env step. The core steps every slot;
    the network state of a slot outside the mask is undefined until it is RESET.
``RESET`` (0x04), request MB mask bytes: zero the network state of the masked slots.
    Reply payload empty.
``LOAD_RHO`` (0x05), optional (``FEATURE_SAMPLER``): :data:`LOAD_RHO_HEADER` start, count, then
    ``count`` uint16 ``rho_q`` values (:func:`ec_hw.model.sampler.quantize_rho`, flat genome
    order) into the device's rho memory. Reply payload empty. ``BAD_ARG`` if count is 0, the
    values run past ``n_conn`` or L != 6 + 2 * count. rho persists until overwritten.
``SAMPLE`` (0x06), optional (``FEATURE_SAMPLER``): :data:`SAMPLE_STRUCT` slot, flags,
    generation seed, member index: draw the member's connections on the device
    (:mod:`ec_hw.model.sampler`, from the rho loaded last) into the slot, replacing what LOAD
    or SAMPLE put there. Flag :data:`SAMPLE_ANTITHETIC` (devices with
    ``FEATURE_ANTITHETIC``): the member is one of a mirrored pair, ``sample_members(...,
    antithetic=True)``. Reply payload empty, sent when the slot is written. ``BAD_ARG`` if
    L != 10, slot >= S or a flag is unknown to the device (a device without
    ``FEATURE_ANTITHETIC`` reads the flags byte as the slot's high byte, so it refuses them
    too). Both are idempotent like LOAD (a re-executed retry writes the same
    values).
``STATUS`` (0x07), request empty. Reply :data:`STATUS_STRUCT`: clock cycles of the last STEP
    (the core's ``cycles``), good frames, bad frames (CRC, length), overruns (bytes lost by
    the UART). Counters wrap.

Devices without a command reply ``ERROR BAD_OPCODE``; ``Info.features`` says which of the
optional commands (``FEATURE_*`` bits) exist. A deployed device (``FEATURE_DEPLOYED``: built
by ``ec-hw deploy`` with one network in its memories) runs that network after power-up and
refuses ``LOAD`` (``BAD_OPCODE``), so INFO's ``network_hash`` stays true; the host only sends
INFO, RESET, STEP and STATUS.

``ERROR`` (0xFF) reply payload: :data:`ERROR_STRUCT` code (:class:`ErrorCode`), request opcode.
"""

from __future__ import annotations

import binascii
import enum
import json
import struct
import zlib
from collections import namedtuple
from dataclasses import dataclass, fields

import numpy as np
from amaranth.hdl import unsigned
from amaranth.lib import data
from amaranth.lib.crc import catalog as crc_catalog

from . import EcHwError
from .config import CoreConfig, NetConfig, config_to_dict

__all__ = ["SYNC", "PROTOCOL_VERSION", "HEADER_LEN", "CRC_LEN", "FRAME_OVERHEAD", "REPLY_BIT",
           "Op", "ErrorCode", "CRC16", "crc16", "encode_frame", "Frame", "FrameDecoder", "Info",
           "config_hash", "WireFormat", "FEATURE_SAMPLER", "FEATURE_STATUS", "CRC_CHECK",
           "ARITHMETIC_FIELDS", "Payload", "PAYLOADS", "INFO_STRUCT", "LOAD_HEADER",
           "STATUS_STRUCT", "ERROR_STRUCT", "SAMPLE_STRUCT", "LOAD_RHO_HEADER",
           "ProtocolFormatError", "chunks", "member_load_wire_bytes", "member_sample_wire_bytes",
           "load_rho_wire_bytes",
           "FEATURE_DEPLOYED", "network_hash", "FEATURE_ANTITHETIC", "SAMPLE_ANTITHETIC",
           "SAMPLE_FLAGS"]

SYNC = b"\xEC\x5A"
PROTOCOL_VERSION = 2       # 2: INFO ends with network_hash
HEADER_LEN = 6            # SYNC, opcode, seq, length
CRC_LEN = 2
FRAME_OVERHEAD = HEADER_LEN + CRC_LEN
REPLY_BIT = 0x80
CRC16 = crc_catalog.CRC16_IBM_3740
"""The frame check: :mod:`amaranth.lib.crc`'s catalog entry, whose ``compute()`` and hardware
``Processor`` the gateware uses; the host computes the same with :func:`binascii.crc_hqx`."""
CRC_INIT = CRC16.initial_crc
CRC_CHECK = 0x29B1        # crc16(b"123456789"), the catalog's check value
MAX_PAYLOAD_LIMIT = 4000  # keeps every frame inside CRC-16's Hamming-distance-4 length

FEATURE_STATUS = 1 << 0
FEATURE_SAMPLER = 1 << 1  # LOAD_RHO and SAMPLE
FEATURE_DEPLOYED = 1 << 2  # the connection memories hold one network from power-up; no LOAD
FEATURE_ANTITHETIC = 1 << 3  # SAMPLE takes SAMPLE_ANTITHETIC (mirrored pairs)

SAMPLE_ANTITHETIC = 1 << 0
"""SAMPLE flag: draw the member as one of an antithetic pair (:mod:`ec_hw.model.sampler`)."""
SAMPLE_FLAGS = SAMPLE_ANTITHETIC
"""Every SAMPLE flag a device with ``FEATURE_ANTITHETIC`` knows."""


class Op(enum.IntEnum):
    """Request opcodes (replies set :data:`REPLY_BIT`)."""

    INFO = 0x01
    LOAD = 0x02
    STEP = 0x03
    RESET = 0x04
    LOAD_RHO = 0x05  # optional: the on-device sampler (FEATURE_SAMPLER)
    SAMPLE = 0x06    # optional: the on-device sampler (FEATURE_SAMPLER)
    STATUS = 0x07
    ERROR = 0xFF     # reply only


class ErrorCode(enum.IntEnum):
    """Codes of an ``ERROR`` reply."""

    BAD_CRC = 1
    BAD_LENGTH = 2
    BAD_OPCODE = 3
    BAD_ARG = 4
    BUSY = 5


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/IBM-3740 of ``data`` (continue a running CRC by passing it as ``crc``).

    :func:`binascii.crc_hqx` computes exactly this algorithm (:data:`CRC16`, whose hardware
    processor the gateware's framer instantiates); the tests pin the two to each other.
    """
    return binascii.crc_hqx(data, crc)


def encode_frame(op: int, seq: int, payload: bytes = b"") -> bytes:
    """Return the bytes of one frame."""
    if not 0 <= op <= 0xFF:
        raise ValueError(f"op must be a byte, not {op!r}")
    if not 0 <= seq <= 0xFF:
        raise ValueError(f"seq must be in 0..255, not {seq!r}")
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload must be at most 65535 bytes, not {len(payload)}")
    body = struct.pack("<BBH", op, seq, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Frame:
    """One received frame (``crc_ok`` False for a frame whose CRC did not check out)."""

    op: int
    seq: int
    payload: bytes
    crc: int
    crc_ok: bool = True


class FrameDecoder:
    """Incremental frame parser with the device's receiver rules.

    Feed bytes with :meth:`feed`; it returns the complete frames found (including frames with
    a bad CRC, flagged, so a caller can tell corruption from silence). Oversized lengths drop
    the frame and resynchronize.
    """

    def __init__(self, max_payload: int = 0xFFFF):
        self.max_payload = max_payload
        self._buf = bytearray()
        self.discarded = 0
        """Bytes thrown away while hunting for SYNC or after a bad length."""

    def reset(self) -> None:
        """Forget a partial frame."""
        self.discarded += len(self._buf)
        self._buf.clear()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        while True:
            i = self._buf.find(SYNC)
            if i < 0:
                keep = 1 if self._buf[-1:] == SYNC[:1] else 0
                self.discarded += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return out
            if i:
                self.discarded += i
                del self._buf[:i]
            if len(self._buf) < HEADER_LEN:
                return out
            op, seq, length = struct.unpack_from("<BBH", self._buf, 2)
            if length > self.max_payload:
                self.discarded += 2
                del self._buf[:2]
                continue
            total = HEADER_LEN + length + CRC_LEN
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[2: HEADER_LEN + length])
            (crc,) = struct.unpack_from("<H", self._buf, HEADER_LEN + length)
            ok = crc16(body) == crc
            out.append(Frame(op, seq, body[4:], crc, ok))
            if ok:
                del self._buf[:total]
            else:  # resynchronize just after the false SYNC
                self.discarded += 2
                del self._buf[:2]

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back."""
        return len(self._buf)


# -- fixed payload layouts --------------------------------------------------------------------

class Payload:
    """A fixed-size payload (or payload header) of byte-aligned little-endian unsigned fields.

    Declared once as an Amaranth :class:`~amaranth.lib.data.StructLayout` (:attr:`layout`,
    fields LSB first): the host packs and unpacks bytes through it, and the gateware gathers
    the payload's bytes little endian into a value of ``8 * size`` bits and views it with the
    same layout (``PAYLOAD.layout(value).field``), so a field added or resized here changes
    both ends. :meth:`pack`/:meth:`unpack`/:attr:`size` work like :class:`struct.Struct`'s.

    Parameters
    ----------
    name : str
        For messages.
    fields : dict of str to int
        Field name -> width in bits (a multiple of 8), in wire order.
    """

    def __init__(self, name: str, fields: dict[str, int]):
        for f, w in fields.items():
            if not isinstance(w, int) or w <= 0 or w % 8:
                raise ValueError(f"width of {name}.{f} must be a positive multiple of 8, "
                                 f"not {w!r}")
        self.name = name
        self.layout = data.StructLayout({f: unsigned(w) for f, w in fields.items()})
        self.fields = tuple(fields)
        self.size = self.layout.size // 8
        self._tuple = namedtuple(name, self.fields)
        self._slices = [(f, self.layout[f].offset, self.layout[f].shape.width)
                        for f in self.fields]

    def __repr__(self) -> str:
        return f"Payload({self.name!r}, {self.layout!r})"

    def pack(self, *args: int, **kwargs: int) -> bytes:
        """The payload's bytes from field values (positional in wire order, or by name)."""
        if len(args) > len(self.fields):
            raise TypeError(f"{self.name} has {len(self.fields)} fields, not {len(args)}")
        values = dict(zip(self.fields, args, strict=False))  # a prefix
        for k in kwargs:
            if k in values or k not in self.fields:
                raise TypeError(f"{self.name}: unexpected or repeated field {k!r}")
        values.update(kwargs)
        if len(values) != len(self.fields):
            missing = [f for f in self.fields if f not in values]
            raise TypeError(f"{self.name}: missing fields {missing}")
        bits = 0
        for f, offset, width in self._slices:
            v = values[f]
            if not isinstance(v, (int, np.integer)) or not 0 <= v < 1 << width:
                raise ValueError(f"{self.name}.{f} must be an integer in 0..{(1 << width) - 1}, "
                                 f"not {v!r}")
            bits |= int(v) << offset
        return bits.to_bytes(self.size, "little")

    def unpack(self, payload: bytes) -> tuple:
        """Field values (a named tuple in wire order) of exactly :attr:`size` bytes."""
        if len(payload) != self.size:
            raise ProtocolFormatError(f"{self.name} payload has {len(payload)} bytes, "
                                      f"expected {self.size}")
        bits = int.from_bytes(payload, "little")
        return self._tuple(*((bits >> offset) & ((1 << width) - 1)
                             for _, offset, width in self._slices))


class ProtocolFormatError(EcHwError, ValueError):
    """A payload does not have the layout this protocol version defines."""


INFO_STRUCT = Payload("Info", {
    "version": 16, "n_neurons": 16, "n_exc": 16, "obs_dim": 16, "act_dim": 16, "substeps": 16,
    "slots": 16, "word_bits": 16, "lanes": 16,
    "frac_bits": 8, "state_bits": 8, "decay_bits": 8, "obs_bits": 8, "action_frac_bits": 8,
    "rout_bits": 8, "features": 8, "reserved0": 8,
    "a_syn": 32, "b_m": 32, "b_out": 32, "r_q": 32, "vth_q": 32, "rate_q": 32, "rout_q": 32,
    "max_payload": 16, "reserved1": 16,
    "clk_hz": 32, "baud": 32, "config_hash": 32, "build_id": 32, "network_hash": 32})
"""The INFO reply (one field per :class:`Info` field, same order)."""
LOAD_HEADER = Payload("LoadHeader", {"matrix": 8, "reserved": 8, "count": 16, "addr": 32})
"""LOAD request header; ``count`` words of ``W/8`` bytes follow."""
STATUS_STRUCT = Payload("Status", {"cycles": 32, "frames_ok": 16, "frames_bad": 16,
                                   "overruns": 16})
"""STATUS reply."""
ERROR_STRUCT = Payload("Error", {"code": 8, "op": 8})
"""ERROR reply: :class:`ErrorCode`, request opcode."""
SAMPLE_STRUCT = Payload("Sample", {"slot": 8, "flags": 8, "gen_seed": 32, "member": 32})
"""SAMPLE request (``flags``: :data:`SAMPLE_ANTITHETIC`; 0 is the plain member)."""
LOAD_RHO_HEADER = Payload("LoadRhoHeader", {"start": 32, "count": 16})
"""LOAD_RHO request header; ``count`` uint16 values follow."""
PAYLOADS = (INFO_STRUCT, LOAD_HEADER, STATUS_STRUCT, ERROR_STRUCT, SAMPLE_STRUCT,
            LOAD_RHO_HEADER)
"""Every fixed payload layout of the protocol."""


# -- INFO -------------------------------------------------------------------------------------


ARITHMETIC_FIELDS = ("n_neurons", "n_exc", "obs_dim", "act_dim", "substeps", "frac_bits",
                     "state_bits", "decay_bits", "obs_bits", "action_frac_bits", "rout_bits",
                     "a_syn", "b_m", "b_out", "r_q", "vth_q", "rate_q", "rout_q")
"""INFO fields that define what the core computes; a host refuses a device that differs in any
(lanes, word_bits and slots are hardware shape and may differ)."""


def config_hash(net: NetConfig, core: CoreConfig) -> int:
    """32-bit CRC of the canonical JSON of both configs and the protocol version."""
    doc = {"net": config_to_dict(net), "core": config_to_dict(core),
           "protocol": PROTOCOL_VERSION}
    return zlib.crc32(json.dumps(doc, sort_keys=True).encode()) & 0xFFFFFFFF


def network_hash(genome) -> int:
    """32-bit CRC of a packed genome (uint64 words, little endian; :mod:`ec_hw.model.packing`):
    the network a deployed device reports in INFO. Never 0 (0 means "not deployed")."""
    import numpy as np

    h = zlib.crc32(np.ascontiguousarray(genome, dtype="<u8").tobytes()) & 0xFFFFFFFF
    return h or 1


@dataclass(frozen=True, kw_only=True)
class Info:
    """The INFO reply: what a device computes, how it is shaped and how it was built."""

    version: int
    n_neurons: int
    n_exc: int
    obs_dim: int
    act_dim: int
    substeps: int
    slots: int
    word_bits: int
    lanes: int
    frac_bits: int
    state_bits: int
    decay_bits: int
    obs_bits: int
    action_frac_bits: int
    rout_bits: int
    features: int
    reserved0: int
    a_syn: int
    b_m: int
    b_out: int
    r_q: int
    vth_q: int
    rate_q: int
    rout_q: int
    max_payload: int
    reserved1: int
    clk_hz: int
    baud: int
    config_hash: int
    build_id: int
    network_hash: int = 0
    """:func:`network_hash` of the deployed network (``FEATURE_DEPLOYED``), else 0."""

    @classmethod
    def from_configs(cls, net: NetConfig, core: CoreConfig, *, max_payload: int,
                     clk_hz: int = 0, baud: int = 0, features: int = 0,
                     build_id: int = 0, network_hash: int = 0) -> Info:
        """The INFO a device built from ``net`` and ``core`` reports."""
        from .fixedpoint import derive

        fp = derive(net, core)
        return cls(version=PROTOCOL_VERSION, n_neurons=net.n_neurons, n_exc=net.n_exc,
                   obs_dim=net.obs_dim, act_dim=net.act_dim, substeps=net.substeps,
                   slots=core.slots, word_bits=core.word_bits, lanes=core.lanes,
                   frac_bits=core.frac_bits, state_bits=core.state_bits,
                   decay_bits=core.decay_bits, obs_bits=core.obs_bits,
                   action_frac_bits=core.action_frac_bits, rout_bits=core.rout_bits,
                   features=features, reserved0=0, a_syn=fp.a_syn, b_m=fp.b_m,
                   b_out=fp.b_out, r_q=fp.r_q, vth_q=fp.vth_q, rate_q=fp.rate_q,
                   rout_q=fp.rout_q, max_payload=max_payload, reserved1=0, clk_hz=clk_hz,
                   baud=baud, config_hash=config_hash(net, core), build_id=build_id,
                   network_hash=network_hash)

    def pack(self) -> bytes:
        return INFO_STRUCT.pack(**{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def unpack(cls, payload: bytes) -> Info:
        if len(payload) != INFO_STRUCT.size:
            raise ProtocolFormatError(f"INFO reply has {len(payload)} bytes, protocol "
                                      f"v{PROTOCOL_VERSION} expects {INFO_STRUCT.size}")
        return cls(**INFO_STRUCT.unpack(payload)._asdict())

    def mismatches(self, expected: Info) -> list[str]:
        """``"name device != expected"`` for every arithmetic field that differs."""
        out = []
        if self.version != expected.version:
            out.append(f"protocol version {self.version} != {expected.version}")
        for name in ARITHMETIC_FIELDS:
            a, b = getattr(self, name), getattr(expected, name)
            if a != b:
                out.append(f"{name} {a} != {b}")
        return out

    def core_config(self, base: CoreConfig | None = None) -> CoreConfig:
        """The device's :class:`CoreConfig` (hardware shape from INFO, the rest from ``base``)."""
        from dataclasses import replace

        base = base or CoreConfig()
        return replace(base, frac_bits=self.frac_bits, state_bits=self.state_bits,
                       decay_bits=self.decay_bits, obs_bits=self.obs_bits,
                       action_frac_bits=self.action_frac_bits, rout_bits=self.rout_bits,
                       lanes=self.lanes, word_bits=self.word_bits, slots=self.slots)


# -- variable-length payloads ------------------------------------------------------------------

def chunks(total: int, per: int) -> list[tuple[int, int]]:
    """``(start, count)`` of the frames that carry ``total`` items, at most ``per`` each."""
    return [(i, min(per, total - i)) for i in range(0, total, per)]


def _nbytes(bits: int) -> int:
    return (bits + 7) // 8


@dataclass(frozen=True)
class WireFormat:
    """Payload sizes and codecs of one device shape (shared by the gateware and the host)."""

    slots: int
    obs_dim: int
    act_dim: int
    obs_bits: int
    action_bits: int
    word_bits: int
    max_payload: int

    def __post_init__(self) -> None:
        if not 1 <= self.max_payload <= MAX_PAYLOAD_LIMIT:
            raise ValueError(f"max_payload must lie in 1..{MAX_PAYLOAD_LIMIT}, not "
                             f"{self.max_payload!r}")
        need = max(self.step_request_len(self.slots), INFO_STRUCT.size,
                   LOAD_HEADER.size + self.word_bytes)
        if self.max_payload < need:
            raise ValueError(f"max_payload must be at least {need} for {self.slots} slots, "
                             f"not {self.max_payload!r}")

    @classmethod
    def of(cls, net: NetConfig, core: CoreConfig, max_payload: int) -> WireFormat:
        return cls(core.slots, net.obs_dim, net.act_dim, core.obs_bits, core.action_bits,
                   core.word_bits, max_payload)

    @classmethod
    def from_info(cls, info: Info) -> WireFormat:
        return cls(info.slots, info.obs_dim, info.act_dim, info.obs_bits,
                   info.action_frac_bits + 2, info.word_bits, info.max_payload)

    @property
    def mask_bytes(self) -> int:
        return _nbytes(self.slots)

    @property
    def obs_bytes(self) -> int:
        return _nbytes(self.obs_bits)

    @property
    def act_bytes(self) -> int:
        return _nbytes(self.action_bits)

    @property
    def word_bytes(self) -> int:
        return self.word_bits // 8

    @property
    def max_load_words(self) -> int:
        """Most words one LOAD frame carries."""
        return (self.max_payload - LOAD_HEADER.size) // self.word_bytes

    @property
    def max_rho_values(self) -> int:
        """Most rho values one LOAD_RHO frame carries."""
        return (self.max_payload - LOAD_RHO_HEADER.size) // 2

    def step_request_len(self, n_active: int) -> int:
        return self.mask_bytes + n_active * self.obs_dim * self.obs_bytes

    def step_reply_len(self, n_active: int) -> int:
        return n_active * self.act_dim * self.act_bytes

    # codecs ----------------------------------------------------------------------------------
    def encode_mask(self, mask) -> bytes:
        m = 0
        for s, on in enumerate(mask):
            if on:
                if s >= self.slots:
                    raise ValueError(f"slot {s} is beyond the device's {self.slots} slots")
                m |= 1 << s
        return m.to_bytes(self.mask_bytes, "little")

    def encode_step(self, x_q, mask) -> bytes:
        """STEP request payload: ``x_q`` is (slots, D) integers, ``mask`` (slots,) bools."""
        out = bytearray(self.encode_mask(mask))
        lim = 1 << (self.obs_bits - 1)
        for s, on in enumerate(mask):
            if on:
                for v in x_q[s]:
                    v = int(v)
                    if not -lim <= v < lim:
                        raise ValueError(f"x_q value {v} of slot {s} does not fit "
                                         f"{self.obs_bits} bits")
                    out += v.to_bytes(self.obs_bytes, "little", signed=True)
        return bytes(out)

    def decode_step_reply(self, payload: bytes, mask) -> list[list[int]]:
        """Actions per slot (empty list for slots outside the mask)."""
        n_active = sum(1 for m in mask if m)
        if len(payload) != self.step_reply_len(n_active):
            raise ProtocolFormatError(f"STEP reply has {len(payload)} bytes, expected "
                                      f"{self.step_reply_len(n_active)} for {n_active} slots")
        out: list[list[int]] = []
        p = 0
        ab = self.act_bytes
        for on in mask:
            if on:
                out.append([int.from_bytes(payload[p + k * ab: p + (k + 1) * ab], "little",
                                           signed=True) for k in range(self.act_dim)])
                p += self.act_dim * ab
            else:
                out.append([])
        return out

    def encode_load(self, matrix: int, addr: int, words) -> bytes:
        if matrix not in (0, 1, 2):
            raise ValueError(f"matrix must be 0, 1 or 2, not {matrix!r}")
        words = [int(w) for w in words]
        if not 1 <= len(words) <= self.max_load_words:
            raise ValueError(f"a LOAD carries 1..{self.max_load_words} words, not {len(words)}")
        out = bytearray(LOAD_HEADER.pack(matrix=matrix, reserved=0, count=len(words),
                                         addr=addr))
        for w in words:
            out += w.to_bytes(self.word_bytes, "little")
        return bytes(out)

    def load_payloads(self, words) -> list[bytes]:
        """The LOAD payloads that write ``words`` (:class:`ec_hw.coremap.CoreWords`).

        Per matrix, one run of frames per stretch of consecutive addresses (one per matrix for
        a member's words), each frame at most :attr:`max_load_words` words.
        """
        from .coremap import Matrix, word_ints

        values = word_ints(words.data)
        matrix, addr = np.asarray(words.matrix), np.asarray(words.addr, dtype=np.int64)
        out = []
        for mtx in Matrix:
            sel = np.nonzero(matrix == mtx)[0]
            sel = sel[np.argsort(addr[sel], kind="stable")]
            a = addr[sel]
            breaks = [0, *(np.nonzero(np.diff(a) != 1)[0] + 1), len(a)] if len(a) else [0]
            for lo, hi in zip(breaks[:-1], breaks[1:], strict=True):
                for start, count in chunks(hi - lo, self.max_load_words):
                    run = sel[lo + start: lo + start + count]
                    out.append(self.encode_load(mtx, int(addr[run[0]]),
                                                [values[k] for k in run]))
        return out

    def load_rho_payloads(self, rho_q) -> list[bytes]:
        """The LOAD_RHO payloads that write all of ``rho_q`` (uint16, flat genome order)."""
        data = np.asarray(rho_q).astype("<u2")
        return [LOAD_RHO_HEADER.pack(start, count) + data[start:start + count].tobytes()
                for start, count in chunks(len(data), self.max_rho_values)]


# -- link budget -------------------------------------------------------------------------------

def step_wire_bytes(wire: WireFormat, n_active: int) -> tuple[int, int]:
    """Bytes on the wire of one STEP request and its reply, framing included."""
    return (FRAME_OVERHEAD + wire.step_request_len(n_active),
            FRAME_OVERHEAD + wire.step_reply_len(n_active))


def step_time(wire: WireFormat, n_active: int, *, compute_s: float, baud: float | None = None,
              bytes_per_s: float | None = None, round_trip_s: float = 0.0) -> float:
    """Seconds per STEP (one env step of ``n_active`` members), stop-and-wait.

    ``baud`` for a UART (8N1: 10 bits per byte) or ``bytes_per_s`` for a byte pipe such as
    PCIe; ``round_trip_s`` is the fixed latency per exchange, ``compute_s`` the device's STEP.
    """
    req, rep = step_wire_bytes(wire, n_active)
    rate = bytes_per_s if bytes_per_s is not None else baud / 10.0
    return (req + rep) / rate + round_trip_s + compute_s


def member_load_wire_bytes(wire: WireFormat, net: NetConfig) -> tuple[int, int]:
    """Bytes (request, reply) of loading one member's connections with ``LOAD`` frames.

    One run of frames per matrix (W_in, W_rec, W_out), each frame at most
    ``wire.max_load_words`` words, as :meth:`host.device.Device.load_genome` sends them.
    """
    w = wire.word_bits
    req = rep = 0
    for rows, cols in ((net.n_neurons, net.n_inputs), (net.n_neurons, net.n_neurons),
                       (net.act_dim, net.n_neurons)):
        words = rows * -(-cols // w)
        frames = len(chunks(words, wire.max_load_words))
        req += frames * (FRAME_OVERHEAD + LOAD_HEADER.size) + words * wire.word_bytes
        rep += frames * FRAME_OVERHEAD
    return req, rep


def member_sample_wire_bytes() -> tuple[int, int]:
    """Bytes (request, reply) of drawing one member on the device with ``SAMPLE``."""
    return FRAME_OVERHEAD + SAMPLE_STRUCT.size, FRAME_OVERHEAD


def load_rho_wire_bytes(wire: WireFormat, net: NetConfig) -> tuple[int, int]:
    """Bytes (request, reply) of one generation's ``LOAD_RHO`` frames (all of rho_q)."""
    frames = len(chunks(net.n_conn, wire.max_rho_values))
    return (frames * (FRAME_OVERHEAD + LOAD_RHO_HEADER.size) + 2 * net.n_conn,
            frames * FRAME_OVERHEAD)
