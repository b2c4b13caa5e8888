"""pack_genome / unpack_genome: round trips and an independent packer (numpy.packbits)."""

from __future__ import annotations

import numpy as np
import pytest

from ec_hw.config import NetConfig
from ec_hw.model.packing import GenomeLayout, pack_genome, unpack_genome


def packbits_rows(mat: np.ndarray) -> np.ndarray:
    """Rows of a 0/1 matrix as LSB-first uint64 words, padded with zeros: via numpy.packbits."""
    rows, cols = mat.shape
    words = (cols + 63) // 64
    padded = np.zeros((rows, words * 64), np.uint8)
    padded[:, :cols] = mat
    by = np.packbits(padded, axis=1, bitorder="little")          # bit i -> byte i//8, bit i%8
    return by.view("<u8").astype(np.uint64).reshape(rows, words)


def independent_pack(bits: np.ndarray, lay: GenomeLayout) -> np.ndarray:
    n, ni, a = lay.n_neurons, lay.n_inputs, lay.act_dim
    w_in = bits[: n * ni].reshape(n, ni)
    w_rec = bits[n * ni: n * ni + n * n].reshape(n, n)
    w_out = bits[n * ni + n * n:].reshape(a, n)
    return np.concatenate([packbits_rows(w_in).ravel(), packbits_rows(w_rec).ravel(),
                           packbits_rows(w_out).ravel()])


SHAPES = [(16, 1, 1), (63, 3, 2), (64, 32, 1), (65, 33, 4), (100, 11, 3), (128, 64, 8),
          (200, 40, 5), (256, 11, 3)]


@pytest.mark.parametrize("n,d,a", SHAPES)
def test_pack_equals_packbits_and_round_trips(n, d, a):
    lay = GenomeLayout.of(NetConfig(n_neurons=n, obs_dim=d, act_dim=a))
    rng = np.random.default_rng(n * 1000 + d)
    for density in (0.0, 0.03, 0.5, 0.97, 1.0):
        bits = rng.random(lay.n_conn) < density
        words = pack_genome(bits, lay)
        assert words.dtype == np.uint64 and words.shape == (lay.n_words,)
        assert np.array_equal(words, independent_pack(bits, lay))
        assert np.array_equal(unpack_genome(words, lay), bits)


def test_layout_offsets_and_split_views():
    lay = GenomeLayout.of(NetConfig(n_neurons=100, obs_dim=40, act_dim=3))
    assert (lay.wi, lay.nw) == (2, 2)
    assert lay.off_rec == 100 * 2 and lay.off_out == 200 + 100 * 2 and lay.n_words == 406
    assert lay.as_array().tolist() == [100, 80, 3, 2, 2, 200, 400, 406]
    rng = np.random.default_rng(1)
    bits = rng.random(lay.n_conn) < 0.5
    w_in, w_rec, w_out = lay.split(pack_genome(bits, lay))
    assert np.array_equal(w_rec, packbits_rows(bits[8000:18000].reshape(100, 100)))
    assert np.array_equal(w_in, packbits_rows(bits[:8000].reshape(100, 80)))
    assert np.array_equal(w_out, packbits_rows(bits[18000:].reshape(3, 100)))


def test_batched_shapes_round_trip():
    lay = GenomeLayout.of(NetConfig(n_neurons=70, obs_dim=5, act_dim=2))
    rng = np.random.default_rng(2)
    bits = rng.random((2, 3, lay.n_conn)) < 0.4
    words = pack_genome(bits, lay)
    assert words.shape == (2, 3, lay.n_words)
    for i in range(2):
        for j in range(3):
            assert np.array_equal(words[i, j], pack_genome(bits[i, j], lay))
    assert np.array_equal(unpack_genome(words, lay), bits)


def test_padding_bits_are_written_zero_and_ignored_on_unpack():
    lay = GenomeLayout.of(NetConfig(n_neurons=70, obs_dim=5, act_dim=2))
    words = pack_genome(np.ones(lay.n_conn, bool), lay)
    w_in, w_rec, w_out = lay.split(words)
    assert (w_in[:, 0] == np.uint64(2 ** 10 - 1)).all()            # 2D = 10 columns
    assert (w_rec[:, 1] == np.uint64(2 ** 6 - 1)).all()            # 70 = 64 + 6
    assert (w_out[:, 1] == np.uint64(2 ** 6 - 1)).all()
    dirty = words.copy()
    ws = lay.split(dirty)
    ws[0][:, 0] |= np.uint64(0xFFFF) << np.uint64(48)
    ws[1][:, 1] |= np.uint64(1) << np.uint64(63)
    assert unpack_genome(dirty, lay).all()


def test_wrong_lengths_are_refused():
    lay = GenomeLayout.of(NetConfig(n_neurons=16, obs_dim=2, act_dim=1))
    with pytest.raises(ValueError, match=rf"^genome has 5 bits, layout expects {lay.n_conn}$"):
        pack_genome(np.zeros(5, bool), lay)
    with pytest.raises(ValueError,
                       match=rf"^packed genome has 3 words, layout expects {lay.n_words}$"):
        unpack_genome(np.zeros(3, np.uint64), lay)
