"""UART receiver and transmitter (8N1) with ``lib.stream`` byte ports.

The bit period is ``divisor`` clock cycles (``clk_hz // baud``); the virtual board uses a tiny
divisor (4) so the UART never limits simulation speed, boards use e.g. 60 MHz / 3 Mbaud = 20.
"""


from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTRx", "UARTTx", "check_divisor"]


def check_divisor(divisor: object) -> int:
    if not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < 4:
        raise ValueError(f"divisor must be an integer of at least 4, not {divisor!r}")
    return divisor


class UARTRx(wiring.Component):
    """8N1 receiver.

    Samples the middle of every bit (after a two-flop synchronizer, so the latency from the
    pin is 2 cycles). A start bit that is not low at its middle is ignored as a glitch; a byte
    whose stop bit is low is dropped (``frame_error`` pulses).

    Members
    -------
    rx : In(1)
        The pin (idle high).
    o : Out(stream.Signature(8))
        Received bytes. The line has no flow control: a byte not taken before the next one
        completes is lost and ``overrun`` pulses for one cycle.
    overrun, frame_error : Out(1)
        One-cycle event pulses.
    """

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    overrun: Out(1)
    frame_error: Out(1)

    def __init__(self, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)

        timer = Signal(range(d))
        bits = Signal(range(8))
        shreg = Signal(8)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    with m.If(rx):  # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), shreg.eq((shreg >> 1) | (rx << 7)),
                                 bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += [self.o.payload.eq(shreg), self.o.valid.eq(1)]
                        m.d.comb += self.overrun.eq(self.o.valid & ~self.o.ready)
                    with m.Else():
                        m.d.comb += self.frame_error.eq(1)
                    # Back to IDLE in the middle of the stop bit: the next falling edge may
                    # come as early as half a bit later.
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """8N1 transmitter.

    Members
    -------
    i : In(stream.Signature(8))
        Bytes to send; ``ready`` is high while the transmitter is idle, so a byte is taken in
        the cycle it is offered and goes out as 10 bit periods.
    tx : Out(1)
        The pin (idle high).
    idle : Out(1)
        High when nothing is being sent.
    """

    i: In(stream.Signature(8))
    tx: Out(1, init=1)
    idle: Out(1)

    def __init__(self, divisor: int):
        self.divisor = check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        bits = Signal(range(10))
        shreg = Signal(10, init=0x3FF)
        m.d.comb += self.tx.eq(shreg[0])

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.i.ready.eq(1), self.idle.eq(1)]
                with m.If(self.i.valid):
                    # stop bit, data LSB first, start bit
                    m.d.sync += [shreg.eq((1 << 9) | (self.i.payload << 1)),
                                 timer.eq(d - 1), bits.eq(0)]
                    m.next = "SEND"
            with m.State("SEND"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), shreg.eq((shreg >> 1) | (1 << 9)),
                                 bits.eq(bits + 1)]
                    with m.If(bits == 9):
                        m.next = "IDLE"
        return m
