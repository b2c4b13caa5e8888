"""Each fixed payload is declared once: the host's bytes and the gateware's field views agree.

The gateware gathers a payload's bytes little endian into a value of ``8 * size`` bits and
reads its fields through ``PAYLOAD.layout(value)`` (:mod:`ec_hw.gateware.top`); here that view
runs in the Amaranth simulator on bytes the host packed, for every payload of the protocol and
for a payload with a field added, and the reverse direction (gateware-built values unpacked by
the host) too.
"""

import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator

from ec_hw.protocol import (
    INFO_STRUCT,
    LOAD_HEADER,
    PAYLOADS,
    SAMPLE_STRUCT,
    Info,
    Payload,
    ProtocolFormatError,
)

EXTENDED = Payload("SampleV2", {"slot": 8, "flags": 8, "gen_seed": 32, "extra": 8,
                                "member": 32})
"""SAMPLE with a field added in the middle: both ends must follow without other edits."""


def _random_values(p: Payload, rng: random.Random) -> dict:
    return {f: rng.choice([0, (1 << p.layout[f].shape.width) - 1,
                           rng.getrandbits(p.layout[f].shape.width)]) for f in p.fields}


def _gateware_roundtrip(p: Payload, cases: list[dict]) -> tuple[list[dict], list[int]]:
    """Feed each case's packed bytes to a gateware view; also build each case in gateware."""
    m = Module()
    raw = Signal(8 * p.size)                # the gathered bytes, little endian
    view = p.layout(raw)
    fields = {f: Signal(p.layout[f].shape, name=f"in_{f}") for f in p.fields}
    built = Signal(p.layout)
    m.d.comb += [built[f].eq(fields[f]) for f in p.fields]
    seen, out = [], []

    async def tb(ctx):
        for case in cases:
            ctx.set(raw, int.from_bytes(p.pack(**case), "little"))
            for f, v in case.items():
                ctx.set(fields[f], v)
            seen.append({f: ctx.get(view[f]) for f in p.fields})
            out.append(ctx.get(built.as_value()))

    sim = Simulator(m)
    sim.add_testbench(tb)
    sim.run()
    return seen, out


@pytest.mark.parametrize("p", [*PAYLOADS, EXTENDED], ids=lambda p: p.name)
def test_host_pack_equals_gateware_view(p):
    rng = random.Random(p.name)
    cases = [_random_values(p, rng) for _ in range(20)]
    seen, built = _gateware_roundtrip(p, cases)
    assert seen == cases
    for case, bits in zip(cases, built, strict=True):
        assert tuple(p.unpack(bits.to_bytes(p.size, "little"))) == tuple(case[f]
                                                                        for f in p.fields)


def test_extended_payload_moves_the_later_fields_on_both_ends():
    case = {"slot": 3, "flags": 1, "gen_seed": 0x11223344, "extra": 0xA5, "member": 9}
    assert EXTENDED.pack(**case) == SAMPLE_STRUCT.pack(slot=3, flags=1, gen_seed=0x11223344,
                                                       member=0)[:6] + b"\xA5" + \
        (9).to_bytes(4, "little")
    assert EXTENDED.size == SAMPLE_STRUCT.size + 1
    assert EXTENDED.layout["member"].offset == SAMPLE_STRUCT.layout["member"].offset + 8


def test_wire_bytes_are_the_documented_little_endian_layout():
    # The protocol's docstring: LOAD header = matrix, 0, count (2 bytes), address (4 bytes).
    assert LOAD_HEADER.pack(2, 0, 0x0102, 0x03040506) == bytes([2, 0, 2, 1, 6, 5, 4, 3])
    # SAMPLE = slot, flags, generation seed (4 bytes), member (4 bytes).
    assert SAMPLE_STRUCT.unpack(bytes(range(10))) == (0x00, 0x01, 0x05040302, 0x09080706)


def test_info_fields_are_the_layout_fields():
    from dataclasses import fields

    assert tuple(f.name for f in fields(Info)) == INFO_STRUCT.fields


def test_payload_checks():
    with pytest.raises(ValueError, match="Sample.slot must be an integer in 0..255, not 256"):
        SAMPLE_STRUCT.pack(256, 0, 0, 0)
    with pytest.raises(TypeError, match="missing fields"):
        SAMPLE_STRUCT.pack(1, 2)
    with pytest.raises(ProtocolFormatError, match="Sample payload has 9 bytes, expected 10"):
        SAMPLE_STRUCT.unpack(bytes(9))
    with pytest.raises(ValueError, match="width of Bad.x must be a positive multiple of 8"):
        Payload("Bad", {"x": 12})
