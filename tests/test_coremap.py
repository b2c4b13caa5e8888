"""Packed genomes <-> core connection words (word map of docs/core-interface.md)."""

import numpy as np
import pytest

from ec_hw.config import CoreConfig, NetConfig
from ec_hw.coremap import (
    addr_bits,
    genome_to_words,
    matrix_depth,
    slot_words,
    word_bytes,
    word_ints,
    words_per_row,
    words_to_genome,
)
from ec_hw.model.packing import GenomeLayout, pack_genome

NETS = [NetConfig(n_neurons=32, obs_dim=3, act_dim=2), NetConfig(n_neurons=100, obs_dim=11),
        NetConfig(n_neurons=256, obs_dim=348, act_dim=17)]


def _genome(net, seed):
    rng = np.random.default_rng(seed)
    bits = rng.random(net.n_conn) < 0.5
    return bits, pack_genome(bits, GenomeLayout.of(net))


@pytest.mark.parametrize("word_bits", [8, 16, 32, 64, 128, 256])
@pytest.mark.parametrize("net", NETS, ids=lambda n: f"N{n.n_neurons}D{n.obs_dim}")
def test_word_map_bits_and_round_trip(net, word_bits):
    core = CoreConfig(word_bits=word_bits, slots=3)
    bits, genome = _genome(net, word_bits)
    words = genome_to_words(genome, net, core)
    n, ni, a = net.n_neurons, net.n_inputs, net.act_dim
    wpr_in, wpr = words_per_row(net, core)
    ints = word_ints(words.data)
    # Every bit of every word, against the flat genome order and the word map.
    mats = {0: bits[:n * ni].reshape(n, ni), 1: bits[n * ni:n * ni + n * n].reshape(n, n),
            2: bits[n * ni + n * n:].reshape(a, n)}
    per_row = {0: wpr_in, 1: wpr, 2: wpr}
    for mi, addr, v in zip(words.matrix, words.addr, ints, strict=True):
        row, w = divmod(int(addr), per_row[mi])
        cols = mats[mi].shape[1]
        for b in range(word_bits):
            c = w * word_bits + b
            expect = bool(mats[mi][row, c]) if c < cols else False
            assert bool((v >> b) & 1) == expect
    for mi in (0, 1, 2):
        assert np.sum(words.matrix == mi) == matrix_depth(mi, net, core) // core.slots
    assert words_to_genome(words, net, core).tolist() == genome.tolist()
    moved = slot_words(words, 2, net, core)
    assert words_to_genome(moved, net, core, slot=2).tolist() == genome.tolist()
    assert not words_to_genome(moved, net, core, slot=0).any()
    assert max(moved.addr) < 2 ** addr_bits(net, core)
    assert all(len(x) == word_bits // 8 for x in word_bytes(words.data[:3], core))


def test_word64_equals_packed_rows():
    net = NETS[1]
    core = CoreConfig(word_bits=64)
    _, genome = _genome(net, 7)
    words = genome_to_words(genome, net, core)
    lay = GenomeLayout.of(net)
    assert words.data.shape == (lay.n_words, 1)
    assert words.data[:, 0].tolist() == genome.tolist()


def test_slot_must_exist():
    net, core = NETS[0], CoreConfig(slots=2)
    words = genome_to_words(_genome(net, 1)[1], net, core)
    with pytest.raises(ValueError, match=r"slot must be an integer in 0\.\.1, not 2"):
        slot_words(words, 2, net, core)


def test_genome_shape_checked():
    with pytest.raises(ValueError, match="genome has shape"):
        genome_to_words(np.zeros(3, np.uint64), NETS[0], CoreConfig())
