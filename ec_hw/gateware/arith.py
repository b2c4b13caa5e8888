"""Integer arithmetic by constants, without dividers.

:func:`divmod_const` divides an unsigned value by a constant with a multiply by a rounded-up
reciprocal and a shift, exact for every value of the operand's width (Granlund & Montgomery,
PLDI'94, theorem 4.2). The core uses it to split a row-major load address into (row, word) when
a row is not a power of two words long (Humanoid's ``W_in`` row is 11 words of 64 bits).
"""

from __future__ import annotations

from amaranth.hdl import Const, Value

__all__ = ["divmod_const", "reciprocal"]


def reciprocal(divisor: int, width: int) -> tuple[int, int]:
    """``(multiplier, shift)`` with ``x // divisor == (x * multiplier) >> shift`` for every
    ``0 <= x < 2**width``."""
    if not isinstance(divisor, int) or divisor < 1:
        raise ValueError(f"divisor must be a positive integer, not {divisor!r}")
    shift = width + (divisor - 1).bit_length()
    return -(-(1 << shift) // divisor), shift


def divmod_const(x, divisor: int) -> tuple[Value, Value]:
    """``(x // divisor, x % divisor)`` of an unsigned Value by a constant, without a divider."""
    x = Value.cast(x)
    width = len(x)
    if divisor & (divisor - 1) == 0:
        k = divisor.bit_length() - 1
        return x >> k, (x[:k] if k else Const(0, 1))
    mult, shift = reciprocal(divisor, width)
    q = ((x * mult) >> shift)[:width]
    r = (x - q * divisor)[:divisor.bit_length()]
    return q, r
