"""The core's interface numbers, and packed uint64 genomes <-> its connection words.

The interface (ports, commands, debug selectors, word map) is specified in
``docs/core-interface.md``; this module and :class:`ec_hw.gateware.core.Core` are its code, and
``tests/test_core_interface_doc.py`` checks the document's numbers against both. With
``W = core.word_bits``, ``N = net.n_neurons``, ``A = net.act_dim``,
``wpr_in = ceil(2D / W)`` and ``wpr = ceil(N / W)``:

* matrix 0 = ``W_in`` : ``addr = (slot*N + j)*wpr_in + w``
* matrix 1 = ``W_rec``: ``addr = (slot*N + j)*wpr + w``
* matrix 2 = ``W_out``: ``addr = (slot*A + a)*wpr + w``

Bit ``b`` of word ``w`` of a row is column ``w*W + b`` (LSB first), exactly like the packed
genome of :mod:`ec_hw.model.packing` when ``W = 64``; padding columns are zero.

A word can be up to 256 bits wide, so word data is returned as little-endian uint64 limbs:
``data`` has shape ``(n, limbs)`` with ``limbs = ceil(W / 64)``; limb 0 holds bits 0..63.
:func:`word_ints` and :func:`word_bytes` give Python ints and little-endian byte strings.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np

from .config import CoreConfig, NetConfig
from .genome import GenomeLayout

__all__ = ["Matrix", "MATRIX_IN", "MATRIX_REC", "MATRIX_OUT", "CoreOp", "DebugSel", "CoreWords",
           "words_per_row", "limbs",
           "matrix_depth", "addr_bits", "genome_to_words", "words_to_genome", "slot_words",
           "word_ints", "word_bytes", "core_memory_init", "w_in_bits"]



class Matrix(enum.IntEnum):
    """``matrix`` field of the core's ``load`` port (and of the protocol's LOAD)."""

    IN = 0    # W_in: N rows of 2D columns
    REC = 1   # W_rec: N rows of N columns
    OUT = 2   # W_out: A rows of N columns


MATRIX_IN, MATRIX_REC, MATRIX_OUT = Matrix.IN, Matrix.REC, Matrix.OUT


class CoreOp(enum.IntEnum):
    """``op`` field of the core's ``cmd`` port."""

    STEP = 0        # one env step of every slot; then S*A actions on ``act``
    RESET = 1       # zero the network state of ``slot``
    RESET_ALL = 2   # zero the network state of every slot (also done after reset)


class DebugSel(enum.IntEnum):
    """``sel`` field of the core's ``dbg_req`` port: which quantity ``addr`` indexes."""

    V = 0        # membrane potential of neuron addr
    I_SYN = 1    # synaptic current of neuron addr
    RATE = 2     # output rate trace of neuron addr
    SPIKES = 3   # 32-bit word addr of the slot's last spike vector (neuron 32*addr + b is bit b)
    I_IN = 4     # input current of neuron addr (the last projection)


class CoreWords(NamedTuple):
    """Connection words of one member: parallel arrays, one entry per load transfer."""

    matrix: np.ndarray
    """uint8 (n,): 0 = W_in, 1 = W_rec, 2 = W_out."""
    addr: np.ndarray
    """int64 (n,): word address inside the matrix (includes the slot, see the word map)."""
    data: np.ndarray
    """uint64 (n, limbs): the word, little-endian 64-bit limbs."""


def words_per_row(net: NetConfig, core: CoreConfig) -> tuple[int, int]:
    """``(wpr_in, wpr)``: core words per W_in row and per W_rec / W_out row."""
    w = core.word_bits
    return -(-net.n_inputs // w), -(-net.n_neurons // w)


def limbs(core: CoreConfig) -> int:
    """uint64 limbs per core word."""
    return -(-core.word_bits // 64)


def matrix_depth(matrix: int, net: NetConfig, core: CoreConfig) -> int:
    """Words of one matrix over all ``core.slots`` slots (host view)."""
    wpr_in, wpr = words_per_row(net, core)
    rows = {MATRIX_IN: net.n_neurons * wpr_in, MATRIX_REC: net.n_neurons * wpr,
            MATRIX_OUT: net.act_dim * wpr}
    if matrix not in rows:
        raise ValueError(f"matrix must be 0 (W_in), 1 (W_rec) or 2 (W_out), not {matrix!r}")
    return core.slots * rows[matrix]


def addr_bits(net: NetConfig, core: CoreConfig) -> int:
    """Width of the ``load`` port's ``addr`` field: addresses every word of the deepest matrix."""
    depth = max(matrix_depth(m, net, core) for m in (MATRIX_IN, MATRIX_REC, MATRIX_OUT))
    return max(1, (depth - 1).bit_length())


def _bits_to_words(bits: np.ndarray, rows: int, cols: int, wpr: int, word_bits: int,
                   nlimbs: int) -> np.ndarray:
    """Boolean rows ``(rows, cols)`` -> ``(rows * wpr, nlimbs)`` uint64 little-endian limbs."""
    padded = np.zeros((rows, wpr * word_bits), dtype=np.uint8)
    padded[:, :cols] = bits.reshape(rows, cols)
    words = padded.reshape(rows * wpr, word_bits)
    limb_bits = np.zeros((rows * wpr, nlimbs * 64), dtype=np.uint8)
    limb_bits[:, :word_bits] = words
    packed = np.packbits(limb_bits, axis=1, bitorder="little")
    return packed.view("<u8").astype(np.uint64).reshape(rows * wpr, nlimbs)


def _words_to_bits(data: np.ndarray, rows: int, cols: int, wpr: int, word_bits: int) -> np.ndarray:
    raw = np.ascontiguousarray(data, dtype="<u8").view(np.uint8)
    bits = np.unpackbits(raw, axis=1, bitorder="little")[:, :word_bits]
    return bits.reshape(rows, wpr * word_bits)[:, :cols]


def genome_to_words(genome: np.ndarray, net: NetConfig, core: CoreConfig) -> CoreWords:
    """Connection words of one packed genome for slot 0 (W_in, then W_rec, then W_out).

    Parameters
    ----------
    genome : uint64 (n_words,), a packed genome (:func:`ec_hw.model.packing.pack_genome`).

    Returns
    -------
    CoreWords, in address order within each matrix. Use :func:`slot_words` for other slots.
    """
    from .model.packing import unpack_genome  # the gateware imports this module, not numba

    layout = GenomeLayout.of(net)
    genome = np.asarray(genome, dtype=np.uint64)
    if genome.shape != (layout.n_words,):
        raise ValueError(f"genome has shape {genome.shape}, expected ({layout.n_words},)")
    flat = unpack_genome(genome, layout)
    n, ni, a = net.n_neurons, net.n_inputs, net.act_dim
    wpr_in, wpr = words_per_row(net, core)
    nl = limbs(core)
    parts = [
        (MATRIX_IN, _bits_to_words(flat[:layout.off_rec_bits], n, ni, wpr_in, core.word_bits, nl)),
        (MATRIX_REC, _bits_to_words(flat[layout.off_rec_bits:layout.off_out_bits], n, n, wpr,
                                    core.word_bits, nl)),
        (MATRIX_OUT, _bits_to_words(flat[layout.off_out_bits:], a, n, wpr, core.word_bits, nl)),
    ]
    matrix = np.concatenate([np.full(len(d), mi, np.uint8) for mi, d in parts])
    addr = np.concatenate([np.arange(len(d), dtype=np.int64) for _, d in parts])
    data = np.concatenate([d for _, d in parts])
    return CoreWords(matrix, addr, data)


def slot_words(words: CoreWords, slot: int, net: NetConfig, core: CoreConfig) -> CoreWords:
    """Move slot-0 words (from :func:`genome_to_words`) to member slot ``slot``."""
    if not isinstance(slot, (int, np.integer)) or not 0 <= slot < core.slots:
        raise ValueError(f"slot must be an integer in 0..{core.slots - 1}, not {slot!r}")
    per_slot = np.array([matrix_depth(m, net, core) // core.slots
                         for m in (MATRIX_IN, MATRIX_REC, MATRIX_OUT)], dtype=np.int64)
    addr = words.addr + per_slot[words.matrix.astype(np.int64)] * int(slot)
    return CoreWords(words.matrix.copy(), addr, words.data.copy())


def words_to_genome(words: CoreWords, net: NetConfig, core: CoreConfig,
                    slot: int = 0) -> np.ndarray:
    """Inverse of :func:`genome_to_words` (+ :func:`slot_words`): the packed genome of ``slot``.

    Words of other slots are ignored; words may come in any order; missing words read as zero.
    Padding bits are dropped.
    """
    from .model.packing import pack_genome

    layout = GenomeLayout.of(net)
    n, ni, a = net.n_neurons, net.n_inputs, net.act_dim
    wpr_in, wpr = words_per_row(net, core)
    nl = limbs(core)
    data = np.asarray(words.data, dtype=np.uint64).reshape(len(words.addr), nl)
    flat = []
    for mi, rows, cols, per_row in ((MATRIX_IN, n, ni, wpr_in), (MATRIX_REC, n, n, wpr),
                                    (MATRIX_OUT, a, n, wpr)):
        depth = rows * per_row
        sel = (np.asarray(words.matrix) == mi)
        rel = np.asarray(words.addr, dtype=np.int64)[sel] - slot * depth
        keep = (rel >= 0) & (rel < depth)
        buf = np.zeros((depth, nl), dtype=np.uint64)
        buf[rel[keep]] = data[sel][keep]
        flat.append(_words_to_bits(buf, rows, cols, per_row, core.word_bits).reshape(-1))
    return pack_genome(np.concatenate(flat).astype(bool), layout)


def word_ints(data: np.ndarray) -> list[int]:
    """Words as Python ints (from ``(n, limbs)`` little-endian uint64 limbs)."""
    data = np.asarray(data, dtype=np.uint64)
    out = []
    for row in data.reshape(data.shape[0], -1):
        v = 0
        for i, limb in enumerate(row):
            v |= int(limb) << (64 * i)
        out.append(v)
    return out


def word_bytes(data: np.ndarray, core: CoreConfig) -> list[bytes]:
    """Words as little-endian byte strings of ``word_bits / 8`` bytes each."""
    nbytes = core.word_bits // 8
    return [v.to_bytes(nbytes, "little") for v in word_ints(data)]


def w_in_bits(net: NetConfig, core: CoreConfig) -> int:
    """Width of the core's ``W_in`` memories: a row that fits one word keeps only its 2D
    columns (the padding is zero), else whole words."""
    return core.word_bits if words_per_row(net, core)[0] > 1 else net.n_inputs


def core_memory_init(genome: np.ndarray, net: NetConfig, core: CoreConfig) -> dict[str, list[int]]:
    """The contents of :class:`ec_hw.gateware.core.Core`'s connection memories with ``genome``
    in every slot, by memory name: ``w_in<l>`` and ``w_rec<l>`` per lane ``l``, ``w_out``.

    The core banks ``W_in`` and ``W_rec`` by lane: host word ``addr = row * per_row + w``
    (``row = slot * N + j``) lives in bank ``row % lanes`` at ``(row // lanes) * per_row + w``;
    ``W_out`` is one memory addressed as the host does. Words are Python ints.
    """
    if net.n_neurons % core.lanes:
        raise ValueError(f"lanes must divide n_neurons ({net.n_neurons}), not {core.lanes!r}")
    words = genome_to_words(np.asarray(genome, np.uint64), net, core)
    every = [slot_words(words, s, net, core) for s in range(core.slots)]
    matrix = np.concatenate([w.matrix for w in every])
    addr = np.concatenate([w.addr for w in every])
    values = word_ints(np.concatenate([w.data for w in every]))
    wpr_in, wpr = words_per_row(net, core)
    lanes = core.lanes
    out: dict[str, list[int]] = {}
    for mx, name, per_row in ((MATRIX_IN, "w_in", wpr_in), (MATRIX_REC, "w_rec", wpr)):
        depth = matrix_depth(mx, net, core) // lanes
        banks = [[0] * depth for _ in range(lanes)]
        for i in np.nonzero(matrix == mx)[0]:
            row, w = divmod(int(addr[i]), per_row)
            banks[row % lanes][(row // lanes) * per_row + w] = values[i]
        for ln in range(lanes):
            out[f"{name}{ln}"] = banks[ln]
    w_out = [0] * matrix_depth(MATRIX_OUT, net, core)
    for i in np.nonzero(matrix == MATRIX_OUT)[0]:
        w_out[int(addr[i])] = values[i]
    out["w_out"] = w_out
    return out
