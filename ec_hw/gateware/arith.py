"""Integer arithmetic by constants, without dividers.

:func:`divmod_const` divides an unsigned value by a constant with a multiply by a rounded-up
reciprocal and a shift, exact for every value of the operand's width (Granlund & Montgomery,
PLDI'94, theorem 4.2). The core uses it to split a row-major load address into (row, word) when
a row is not a power of two words long (Humanoid's ``W_in`` row is 11 words of 64 bits).
"""

from __future__ import annotations

from amaranth.hdl import Const, Value

__all__ = ["divmod_const", "reciprocal", "times"]


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


def times(x, c: int) -> Value:
    """``x * c`` of an unsigned Value by a constant ``c >= 0`` as shifted adds, one per set bit
    of ``c`` beyond the first (combinational).

    For address arithmetic (``slot * chunks``, ``row * words``): synthesis maps a ``*`` of a
    2-bit slot index by 3 to a DSP multiplier (an ECP5 MULT18X18D: 3.9 ns, the deployed Walker2d
    device's critical path at 85.5 MHz); ``c = 3`` is one adder. A power of two stays ``x * c``,
    which synthesis turns into wiring either way (so the Verilog of those configurations does
    not change)."""
    if not isinstance(c, int) or c < 0:
        raise ValueError(f"c must be a non-negative integer, not {c!r}")
    x = Value.cast(x)
    if c & (c - 1) == 0:
        return x * c
    acc = None
    for k in range(c.bit_length()):
        if c >> k & 1:
            acc = (x << k) if acc is None else acc + (x << k)
    return acc


MUL_CONST_LATENCY = 2
"""Cycles of :func:`mul_const`: the partial products, then their sum."""

_CHUNK = 17
"""Bits of ``x`` per partial product: an unsigned 17-bit chunk is an 18-bit signed multiplier
operand (ECP5 ``MULT18X18D``; a DSP48E1 takes 25 x 18)."""


def mul_const(m, x, c: int, *, name: str, plus: tuple[int, ...] | None = None):
    """``x * c`` of a signed or unsigned Value by an integer constant, exact, in
    :data:`MUL_CONST_LATENCY` register stages.

    With ``plus`` (integer constants), returns one register per constant, ``x * c + plus[i]``,
    each added in the partial products' sum stage (e.g. a rounding offset, so the cycle that
    uses the product has one adder fewer).

    ``x`` is cut into 17-bit chunks (the top one keeps the sign), each multiplied by ``c`` and
    registered (one 18 x 18 multiplier each), then the shifted partial products are added and
    registered: at most one multiplier or one adder between registers, for 100 MHz on an ECP5.
    The result has the natural width of ``x * c``.
    """
    from amaranth.hdl import Signal

    x = Value.cast(x)
    if not isinstance(c, int):
        raise TypeError(f"c must be an integer constant, not {c!r}")
    full = x * c
    width = len(x)
    partials = []
    for i, lo in enumerate(range(0, width, _CHUNK)):
        hi = min(lo + _CHUNK, width)
        chunk = x[lo:hi]
        if hi == width and x.shape().signed:
            chunk = chunk.as_signed()
        p = Signal((chunk * c).shape(), name=f"{name}_p{i}", reset_less=True)
        m.d.sync += p.eq(chunk * c)
        partials.append((lo, p))
    acc = partials[0][1]
    for lo, p in partials[1:]:
        acc = acc + (p << lo)
    if plus is not None:
        totals = []
        for i, k in enumerate(plus):
            t = Signal((full + k).shape(), name=f"{name}_prod{i}", reset_less=True)
            m.d.sync += t.eq(acc + k)
            totals.append(t)
        return totals
    total = Signal(full.shape(), name=f"{name}_prod", reset_less=True)
    m.d.sync += total.eq(acc)
    return total
