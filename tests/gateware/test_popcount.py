"""PopcountTree against its golden twin ec_hw.model.popcount.popcount_ei."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from blocksim import run_beats

from ec_hw.gateware.popcount import PopcountTree
from ec_hw.model.popcount import popcount_ei


def _to_u64(bits: np.ndarray) -> np.ndarray:
    pad = np.zeros(-(-len(bits) // 64) * 64, np.uint8)
    pad[:len(bits)] = bits
    return np.packbits(pad, bitorder="little").view("<u8").astype(np.uint64)


def _to_words(bits: np.ndarray, width: int) -> list[int]:
    n = -(-len(bits) // width)
    out = []
    for w in range(n):
        chunk = bits[w * width:(w + 1) * width]
        out.append(sum(int(b) << i for i, b in enumerate(chunk)))
    return out


def _rows(n, seed):
    rng = np.random.default_rng(seed)
    ne = n // 2
    cases = [(np.ones(n, np.uint8), np.ones(n, np.uint8)),   # everything fires, all connected
             (np.zeros(n, np.uint8), np.ones(n, np.uint8)),
             (np.ones(n, np.uint8), np.zeros(n, np.uint8))]
    for _ in range(6):
        cases.append(((rng.random(n) < rng.random()).astype(np.uint8),
                      (rng.random(n) < rng.random()).astype(np.uint8)))
    exc = (np.arange(n) < ne).astype(np.uint8)
    return cases, exc


class _RegisteredRow(wiring.Component):
    """A ``PopcountTree(register_row=False)`` fed as the core feeds it: ``row`` through a
    register (the block RAM's output register), the other inputs directly."""

    def __init__(self, width, count_bits):
        self.tree = PopcountTree(width, count_bits, register_row=False)
        self.latency = self.tree.latency
        super().__init__(dict(self.tree.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.tree = tree = self.tree
        row = Signal(self.tree.width)
        m.d.sync += row.eq(self.row)
        m.d.comb += [tree.row.eq(row), tree.valid.eq(self.valid), tree.first.eq(self.first),
                     tree.last.eq(self.last), tree.spk_e.eq(self.spk_e),
                     tree.spk_i.eq(self.spk_i), self.o_valid.eq(tree.o_valid),
                     self.pe.eq(tree.pe), self.pi.eq(tree.pi)]
        return m


@pytest.mark.parametrize("register_row", [True, False])
@pytest.mark.parametrize("width,n", [(8, 40), (32, 96), (64, 256), (256, 256), (64, 30)])
def test_popcount_matches_model(width, n, register_row):
    """Also with ``register_row=False`` (the row from a block RAM's output register, a cycle
    after the rest of its beat): same counts, same latency."""
    cases, exc = _rows(n, width + n)
    dut = (PopcountTree if register_row else _RegisteredRow)(width, n.bit_length())
    beats, expect = [], []
    for row, spk in cases:
        s_e, s_i = spk & exc, spk & (1 - exc)
        expect.append(tuple(int(x) for x in popcount_ei(_to_u64(row), _to_u64(s_e),
                                                        _to_u64(s_i))))
        rw, ew, iw = _to_words(row, width), _to_words(s_e, width), _to_words(s_i, width)
        for w in range(len(rw)):
            beats.append({"row": rw[w], "spk_e": ew[w], "spk_i": iw[w],
                          "first": w == 0, "last": w == len(rw) - 1})
    got = run_beats(dut, beats, ["pe", "pi"], idle_seed=width)
    assert [(g["pe"], g["pi"]) for g in got] == expect
    assert {g["delay"] for g in got} == {dut.latency}


def test_popcount_back_to_back_one_word_rows():
    dut = PopcountTree(16, 5)
    rng = np.random.default_rng(3)
    beats, expect = [], []
    for _ in range(20):
        r, e, i = (int(x) for x in rng.integers(0, 1 << 16, 3))
        e &= ~i
        beats.append({"row": r, "spk_e": e, "spk_i": i, "first": 1, "last": 1})
        expect.append((bin(r & e).count("1"), bin(r & i).count("1")))
    got = run_beats(dut, beats, ["pe", "pi"])
    assert [(g["pe"], g["pi"]) for g in got] == expect


def test_popcount_parameters_are_checked():
    with pytest.raises(ValueError, match="width must be a positive integer, not 0"):
        PopcountTree(0, 4)
