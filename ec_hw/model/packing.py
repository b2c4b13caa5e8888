"""Bit-packing of genomes: flat booleans <-> packed uint64 words (:class:`GenomeLayout`).

The layout (flat connection order, packed form) is specified in :mod:`ec_hw.genome`, which the
gateware shares; :class:`GenomeLayout` is re-exported here for the model's users.
"""

from __future__ import annotations

import numba
import numpy as np

from ..genome import GenomeLayout

__all__ = ["GenomeLayout", "pack_genome", "unpack_genome"]


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
