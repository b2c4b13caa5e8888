"""Integer helpers shared by the golden-model kernels: popcount, rounding shift, saturation.

Widths are emulated explicitly with these helpers (int64 arithmetic), never by dtype wraparound.
"""

from __future__ import annotations

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["popcount64", "rshift_round", "saturate"]


@intrinsic
def _ctpop64(typingctx, x):
    """LLVM ``ctpop`` on a uint64: compiles to one POPCNT instruction on x86-64."""
    if x != types.uint64:
        return None
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, [args[0]])

    return sig, codegen


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
