"""The wire protocol's host half: CRC, frame codec, decoder resynchronization, payloads."""

import random
import struct

import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.protocol import (
    CRC16,
    CRC_CHECK,
    FRAME_OVERHEAD,
    SYNC,
    FrameDecoder,
    Info,
    Op,
    WireFormat,
    config_hash,
    crc16,
    encode_frame,
)


def test_crc16_check_value():
    assert crc16(b"123456789") == CRC_CHECK == 0x29B1
    assert crc16(b"") == 0xFFFF


def test_crc16_is_the_catalog_algorithm_the_gateware_uses():
    # The host's binascii CRC and the amaranth catalog entry the framer instantiates agree,
    # including when a running CRC is continued.
    assert CRC16.crc_width == 16 and CRC16.polynomial == 0x1021 and CRC16.initial_crc == 0xFFFF
    sw = CRC16(data_width=8)
    assert sw.compute(b"123456789") == CRC_CHECK
    rng = random.Random(1)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
        assert sw.compute(data) == crc16(data)
        k = rng.randrange(len(data) + 1)
        assert crc16(data[k:], crc16(data[:k])) == crc16(data)


def test_crc16_detects_every_single_and_double_bit_error():
    body = bytes(range(64))
    good = crc16(body)
    nbits = len(body) * 8
    for i in range(nbits):
        for j in range(i, min(i + 40, nbits)):
            bad = bytearray(body)
            bad[i // 8] ^= 1 << (i % 8)
            if j != i:
                bad[j // 8] ^= 1 << (j % 8)
            assert crc16(bytes(bad)) != good


def test_frame_layout():
    f = encode_frame(Op.STEP, 7, b"\x01\x02\x03")
    assert f[:2] == SYNC
    assert f[2:6] == bytes([0x03, 7, 3, 0])
    assert f[6:9] == b"\x01\x02\x03"
    assert struct.unpack("<H", f[9:])[0] == crc16(f[2:9])
    assert len(f) == 3 + FRAME_OVERHEAD


def test_encode_frame_rejects_bad_fields():
    with pytest.raises(ValueError, match="seq must be in 0..255, not 256"):
        encode_frame(Op.INFO, 256)
    with pytest.raises(ValueError, match="op must be a byte"):
        encode_frame(300, 0)


def test_decoder_resyncs_after_garbage_truncation_and_corruption():
    rng = random.Random(5)
    frames = [encode_frame(Op.STEP, i, bytes(rng.randrange(256) for _ in range(i % 9)))
              for i in range(20)]
    stream = bytearray(b"\x00\xec\xec\x5a\xff\xff\xff")  # garbage, a false SYNC, huge length
    stream += frames[0]
    stream += frames[1][:-3]                                # truncated
    stream += frames[2]
    bad = bytearray(frames[3])
    bad[7] ^= 0x10                                          # corrupted payload
    stream += bad
    for f in frames[4:]:
        stream += f
    dec = FrameDecoder(max_payload=64)
    got = []
    # Feed in random chunk sizes.
    i = 0
    while i < len(stream):
        n = rng.randrange(1, 9)
        got += dec.feed(bytes(stream[i:i + n]))
        i += n
    ok = [f.seq for f in got if f.crc_ok]
    # the host decoder backtracks after a bad CRC, so frame 2 survives frame 1's truncation
    assert ok == [0, 2] + list(range(4, 20))
    assert any(not f.crc_ok and f.seq == 3 for f in got)


def test_info_roundtrip_and_mismatch_message():
    net, core = NetConfig(), CoreConfig(slots=4)
    info = Info.from_configs(net, core, max_payload=2048, clk_hz=100_000_000, baud=3_000_000)
    again = Info.unpack(info.pack())
    assert again == info
    assert again.mismatches(info) == []
    other = Info.from_configs(NetConfig(n_neurons=128), core, max_payload=2048)
    msg = ", ".join(info.mismatches(other))
    assert "n_neurons 256 != 128" in msg and "r_q 1024 != 1448" in msg
    # lanes/word_bits/slots are hardware shape, not arithmetic
    shape = Info.from_configs(net, CoreConfig(lanes=8, word_bits=32, slots=2), max_payload=999)
    assert info.mismatches(shape) == []
    assert config_hash(net, core) != config_hash(net, CoreConfig(slots=3))


def test_wire_format_step_codec():
    wire = WireFormat(slots=10, obs_dim=3, act_dim=2, obs_bits=16, action_bits=16,
                      word_bits=64, max_payload=256)
    assert wire.mask_bytes == 2
    mask = [True, False] * 5
    x = [[s * 10 + d - 15 for d in range(3)] for s in range(10)]
    p = wire.encode_step(x, mask)
    assert len(p) == wire.step_request_len(5) == 2 + 5 * 3 * 2
    assert p[:2] == bytes([0b01010101, 0b01])
    assert struct.unpack_from("<3h", p, 2) == (-15, -14, -13)
    reply = b"".join(struct.pack("<2h", s, -s) for s in range(5))
    rows = wire.decode_step_reply(reply, mask)
    assert rows[0] == [0, 0] and rows[1] == [] and rows[8] == [4, -4]
    with pytest.raises(ValueError, match="does not fit 16 bits"):
        wire.encode_step([[40000, 0, 0]] * 10, mask)


def test_wire_format_validates_max_payload():
    with pytest.raises(ValueError, match="max_payload must be at least"):
        WireFormat(slots=64, obs_dim=17, act_dim=6, obs_bits=16, action_bits=16,
                   word_bits=64, max_payload=256)
