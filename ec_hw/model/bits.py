"""Integer helpers shared by the golden-model kernels: popcount, rounding shift, saturation.

Widths are emulated explicitly with these helpers (int64 arithmetic), never by dtype wraparound.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["popcount64", "rshift_round", "saturate"]


@intrinsic
def _ctpop64_llvm(typingctx, x):
    """LLVM ``ctpop`` on a uint64: compiles to one POPCNT instruction on x86-64 (VPOPCNTQ in a
    vectorized loop on AVX-512 machines)."""
    if x != types.uint64:
        return None
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return sig, codegen


def _ctpop64(x):
    """Set bits of a uint64 word; this body runs only under ``NUMBA_DISABLE_JIT=1`` (compiled
    code gets the LLVM intrinsic through the overload below)."""
    return np.int64(int(x).bit_count())


@overload(_ctpop64, inline="always")
def _ctpop64_overload(x):
    if x == types.uint64:
        return lambda x: _ctpop64_llvm(x)
    return None


@numba.njit(inline="always", cache=True)
def popcount64(x):
    """Number of set bits of a uint64 word, as int64."""
    return _ctpop64(numba.uint64(x))


@numba.njit(inline="always", cache=True)
def rshift_round(x, k):
    """``rs(x, k) = floor((x + 2**(k-1)) / 2**k)``: round half up (fixed-point spec)."""
    return (x + (numba.int64(1) << (k - 1))) >> k


@numba.njit(inline="always", cache=True)
def saturate(x, bits):
    """Clamp ``x`` to the signed range of ``bits`` bits."""
    hi = (numba.int64(1) << (bits - 1)) - 1
    lo = -(numba.int64(1) << (bits - 1))
    if x > hi:
        return hi
    if x < lo:
        return lo
    return x
