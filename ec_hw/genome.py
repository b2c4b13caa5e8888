"""The genome: flat connection order, packed layout, and the sampler's Threefry constants.

Shared by the golden model (:mod:`ec_hw.model.packing`, :mod:`ec_hw.model.sampler`), the host
view of the core (:mod:`ec_hw.coremap`) and the gateware (:mod:`ec_hw.gateware.sampler`), so the
gateware does not depend on the model package.

Flat order (the genome, the order of ``rho`` and of the sampler's connection index ``c``):

1. ``W_in``  row-major, N rows of 2D bits: ``c = j * 2D + i``
2. ``W_rec`` row-major, N rows of N bits: ``c = N*2D + j * N + k``   (k presynaptic, j post)
3. ``W_out`` row-major, A rows of N bits: ``c = N*2D + N*N + a * N + j``

Packed form: every row is padded to whole uint64 words, bit ``i`` of a row in word ``i // 64``
at bit position ``i % 64`` (LSB first); the three matrices follow one another. The core's
connection memories use their own word width (``docs/core-interface.md``).

How a member's connections are drawn is specified in :mod:`ec_hw.model.sampler`; its constants
are here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import NetConfig

__all__ = ["GenomeLayout", "THREEFRY_ROUNDS", "THREEFRY_ROTATIONS", "THREEFRY_PARITY",
           "RHO_BITS", "RHO_PER_BLOCK"]

THREEFRY_ROUNDS = 20
"""Rounds of Threefry-2x32 (Salmon et al., SC'11; Random123's default)."""
THREEFRY_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
"""Rotation of round ``r`` is ``THREEFRY_ROTATIONS[r % 8]`` (Random123 ``R_32x2``)."""
THREEFRY_PARITY = 0x1BD11BDA
"""Key-schedule parity constant: ``k2 = PARITY ^ k0 ^ k1``."""
RHO_BITS = 16
"""Bits of a quantized connection probability ``rho_q`` (and of a uniform draw ``u``)."""
RHO_PER_BLOCK = 4
"""16-bit draws (connections) per 64-bit Threefry block."""


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
