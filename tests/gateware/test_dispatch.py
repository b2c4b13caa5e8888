"""RequestDecoder: every opcode x length x retry-cache case against the protocol's rules,
written out here in plain Python (Amaranth sim of the combinational table)."""

import pytest
from amaranth.sim import Simulator

from ec_hw.gateware.dispatch import Action, RequestDecoder
from ec_hw.gateware.framer import FrameKind
from ec_hw.protocol import LOAD_HEADER, LOAD_RHO_HEADER, SAMPLE_STRUCT, ErrorCode, Op

MB = 1


def expected(kind, op, length, retry, *, load, sampler):
    """(action, error, frame_ok) by the protocol's rules."""
    if kind == FrameKind.BAD_CRC:
        return Action.ERROR, ErrorCode.BAD_CRC, 0
    if kind == FrameKind.BAD_LENGTH:
        return Action.ERROR, ErrorCode.BAD_LENGTH, 0
    if retry:
        return Action.RESEND, None, 1
    # opcode: (fixed part of the payload, whether the length must equal it)
    table = {Op.INFO: (0, False), Op.STATUS: (0, False), Op.STEP: (MB, False),
             Op.RESET: (MB, False)}
    if load:
        table[Op.LOAD] = (LOAD_HEADER.size, False)
    if sampler:
        table[Op.LOAD_RHO] = (LOAD_RHO_HEADER.size, False)
        table[Op.SAMPLE] = (SAMPLE_STRUCT.size, True)
    if op not in table:
        return Action.ERROR, ErrorCode.BAD_OPCODE, 1
    n, exact = table[op]
    if (length != n) if exact else (length < n):
        return Action.ERROR, ErrorCode.BAD_ARG, 1
    return Action.EXECUTE, None, 1


@pytest.mark.parametrize("load,sampler", [(True, True), (True, False), (False, False)])
def test_request_table(load, sampler):
    dut = RequestDecoder(max_payload=64, mask_bytes=MB, load=load, sampler=sampler)
    ops = [*Op, 0x00, 0x42, 0x83]
    lengths = [0, 1, 5, 6, 7, 8, 9, 12, 63]
    cases = [(kind, int(op), length, retry)
             for kind in (FrameKind.FRAME, FrameKind.BAD_CRC, FrameKind.BAD_LENGTH)
             for op in ops for length in lengths for retry in (False, True)]

    async def tb(ctx):
        ctx.set(dut.c_seq, 7)
        ctx.set(dut.c_crc, 0xBEEF)
        for kind, op, length, retry in cases:
            ctx.set(dut.ev, {"kind": kind, "op": op, "seq": 7 if retry else 8, "length": length,
                             "crc": 0xBEEF})
            ctx.set(dut.c_valid, 1)
            action, error, ok = expected(kind, op, length, retry, load=load, sampler=sampler)
            got = ctx.get(dut.action)
            assert got == action, (kind, op, length, retry)
            assert ctx.get(dut.frame_ok) == ok and ctx.get(dut.frame_bad) == 1 - ok
            if error is not None:
                assert ctx.get(dut.error) == error
            if retry and kind == FrameKind.FRAME:
                ctx.set(dut.c_valid, 0)   # an invalid cache never matches
                assert ctx.get(dut.action) != Action.RESEND

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
