"""Genome layout: flat connection order and its bit-packed uint64 form.

Flat order (the genome, the order of ``rho`` and of the sampler's connection index ``c``):

1. ``W_in``  row-major, N rows of 2D bits: ``c = j * 2D + i``
2. ``W_rec`` row-major, N rows of N bits: ``c = N*2D + j * N + k``   (k presynaptic, j post)
3. ``W_out`` row-major, A rows of N bits: ``c = N*2D + N*N + a * N + j``

Packed form: every row is padded to whole uint64 words, bit ``i`` of a row in word ``i // 64``
at bit position ``i % 64`` (LSB first); the three matrices follow one another. The gateware's
connection memories use their own word width; :mod:`ec_hw.gateware` documents that mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ..config import NetConfig

__all__ = ["GenomeLayout", "pack_genome", "unpack_genome"]


def _words(nbits: int) -> int:
    return (nbits + 63) // 64


@dataclass(frozen=True)
class GenomeLayout:
    """Sizes and offsets of the flat and the packed genome of one network."""

    n_neurons: int
    n_inputs: int
    act_dim: int

    @classmethod
    def of(cls, net: NetConfig) -> GenomeLayout:
        return cls(net.n_neurons, net.n_inputs, net.act_dim)

    @property
    def wi(self) -> int:
        """uint64 words per W_in row."""
        return _words(self.n_inputs)

    @property
    def nw(self) -> int:
        """uint64 words per W_rec / W_out row (and per spike vector)."""
        return _words(self.n_neurons)

    @property
    def n_conn(self) -> int:
        return self.n_neurons * self.n_inputs + self.n_neurons ** 2 + self.act_dim * self.n_neurons

    @property
    def off_rec_bits(self) -> int:
        return self.n_neurons * self.n_inputs

    @property
    def off_out_bits(self) -> int:
        return self.off_rec_bits + self.n_neurons ** 2

    @property
    def off_rec(self) -> int:
        """Word offset of W_rec in the packed genome."""
        return self.n_neurons * self.wi

    @property
    def off_out(self) -> int:
        """Word offset of W_out in the packed genome."""
        return self.off_rec + self.n_neurons * self.nw

    @property
    def n_words(self) -> int:
        """Packed genome length in uint64 words."""
        return self.off_out + self.act_dim * self.nw

    def as_array(self) -> np.ndarray:
        """``[N, 2D, A, wi, nw, off_rec, off_out, n_words]`` for Numba kernels."""
        return np.array([self.n_neurons, self.n_inputs, self.act_dim, self.wi, self.nw,
                         self.off_rec, self.off_out, self.n_words], dtype=np.int64)

    def split(self, words: np.ndarray):
        """Views ``(w_in[N, wi], w_rec[N, nw], w_out[A, nw])`` of one packed genome."""
        n = self.n_neurons
        return (words[: self.off_rec].reshape(n, self.wi),
                words[self.off_rec: self.off_out].reshape(n, self.nw),
                words[self.off_out: self.n_words].reshape(self.act_dim, self.nw))


@numba.njit(cache=True)
def _pack_rows(bits, rows, cols, words_per_row, out, word_off):
    for r in range(rows):
        for c in range(cols):
            if bits[r * cols + c]:
                w = word_off + r * words_per_row + (c >> 6)
                out[w] |= numba.uint64(1) << numba.uint64(c & 63)


@numba.njit(cache=True)
def _unpack_rows(words, rows, cols, words_per_row, word_off, out, bit_off):
    for r in range(rows):
        for c in range(cols):
            w = words[word_off + r * words_per_row + (c >> 6)]
            out[bit_off + r * cols + c] = (w >> numba.uint64(c & 63)) & numba.uint64(1)


def pack_genome(bits: np.ndarray, layout: GenomeLayout) -> np.ndarray:
    """Pack flat boolean genomes ``(..., n_conn)`` into ``(..., n_words)`` uint64."""
    bits = np.asarray(bits)
    if bits.shape[-1] != layout.n_conn:
        raise ValueError(f"genome has {bits.shape[-1]} bits, layout expects {layout.n_conn}")
    flat = bits.reshape(-1, layout.n_conn).astype(np.uint8)
    out = np.zeros((flat.shape[0], layout.n_words), dtype=np.uint64)
    n, ni, a = layout.n_neurons, layout.n_inputs, layout.act_dim
    for m in range(flat.shape[0]):
        b = flat[m]
        _pack_rows(b[: layout.off_rec_bits], n, ni, layout.wi, out[m], 0)
        _pack_rows(b[layout.off_rec_bits: layout.off_out_bits], n, n, layout.nw, out[m],
                   layout.off_rec)
        _pack_rows(b[layout.off_out_bits:], a, n, layout.nw, out[m], layout.off_out)
    return out.reshape(bits.shape[:-1] + (layout.n_words,))


def unpack_genome(words: np.ndarray, layout: GenomeLayout) -> np.ndarray:
    """Inverse of :func:`pack_genome`: ``(..., n_words)`` uint64 to ``(..., n_conn)`` bool."""
    words = np.asarray(words, dtype=np.uint64)
    if words.shape[-1] != layout.n_words:
        raise ValueError(f"packed genome has {words.shape[-1]} words, layout expects "
                         f"{layout.n_words}")
    flat = words.reshape(-1, layout.n_words)
    out = np.zeros((flat.shape[0], layout.n_conn), dtype=np.uint8)
    n, ni, a = layout.n_neurons, layout.n_inputs, layout.act_dim
    for m in range(flat.shape[0]):
        _unpack_rows(flat[m], n, ni, layout.wi, 0, out[m], 0)
        _unpack_rows(flat[m], n, n, layout.nw, layout.off_rec, out[m], layout.off_rec_bits)
        _unpack_rows(flat[m], a, n, layout.nw, layout.off_out, out[m], layout.off_out_bits)
    return out.astype(bool).reshape(words.shape[:-1] + (layout.n_conn,))
