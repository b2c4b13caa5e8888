"""cocotb drivers of Amaranth ``lib.stream`` ports and the :class:`TB` of a built component.

Runs inside the simulator. Payload structs are packed/unpacked from the port map that
:func:`hdl_build.port_map` computed on the pytest side (:func:`bench_io.bench_params` hands it
over as ``params["ports"]``). :class:`StreamSource` / :class:`StreamSink` drive and monitor
one stream each; :func:`request_response` serves a request/response pair in one loop;
:class:`TB` bundles clock, reset and the streams of a component.

Timing convention of the drivers: every signal the TB drives changes right after a rising clock
edge; a transfer happens at a rising edge where ``valid & ready`` held in the read-only phase of
the cycle before it. This is exact on Verilator and on event-driven simulators alike.
"""

from __future__ import annotations

import random

from bench_io import CLOCK_PERIOD_NS

__all__ = ["pack_fields", "unpack_fields", "StreamSource", "StreamSink", "request_response",
           "TB"]


def pack_fields(fields: dict[str, list], values: dict[str, int] | int) -> int:
    """Pack field values (ints, signed allowed) into an unsigned payload integer."""
    if not isinstance(values, dict):
        values = {"": values}
    word = 0
    for name, value in values.items():
        try:
            off, width, signed = fields[name]
        except KeyError:
            raise KeyError(f"payload has no field {name!r} (fields: {sorted(fields)})") from None
        v = int(value)
        lo = -(1 << (width - 1)) if signed else 0
        hi = (1 << (width - 1)) - 1 if signed else (1 << width) - 1
        if not lo <= v <= hi:
            raise ValueError(f"field {name!r} value {v} does not fit {width} "
                             f"{'signed' if signed else 'unsigned'} bits")
        word |= (v & ((1 << width) - 1)) << off
    return word


def unpack_fields(fields: dict[str, list], word: int) -> dict[str, int] | int:
    """Inverse of :func:`pack_fields`; a non-struct payload comes back as one int."""
    out = {}
    for name, (off, width, signed) in fields.items():
        v = (word >> off) & ((1 << width) - 1)
        if signed and v >> (width - 1):
            v -= 1 << width
        out[name] = v
    return out[""] if list(out) == [""] else out


class StreamSource:
    """Drive an Amaranth ``stream`` sink port of the DUT (the bench is the producer).

    ``await send(value)`` completes on the clock edge at which the transfer happens.
    ``idle_prob`` inserts random idle cycles (valid low) before a transfer.
    """

    def __init__(self, dut, name: str, desc: dict, clk, *, rng: random.Random | None = None,
                 idle_prob: float = 0.0):
        self.name = name
        self.fields = desc["fields"]
        self.clk = clk
        self.valid = getattr(dut, f"{name}__valid")
        self.payload = getattr(dut, f"{name}__payload")
        self.ready = None if desc.get("always_ready") else getattr(dut, f"{name}__ready")
        self.rng = rng or random.Random(0)
        self.idle_prob = idle_prob
        self.count = 0
        self.valid.value = 0

    async def send(self, value: dict[str, int] | int) -> None:
        from cocotb.triggers import ReadOnly, RisingEdge

        while self.idle_prob and self.rng.random() < self.idle_prob:
            self.valid.value = 0
            await RisingEdge(self.clk)
        self.payload.value = pack_fields(self.fields, value)
        self.valid.value = 1
        while True:
            await ReadOnly()
            fire = self.ready is None or int(self.ready.value)
            await RisingEdge(self.clk)
            if fire:
                break
        self.valid.value = 0
        self.count += 1

    async def send_all(self, values) -> None:
        for v in values:
            await self.send(v)


class StreamSink:
    """Receive from an Amaranth ``stream`` source port of the DUT, with random backpressure.

    ``stall_prob`` is the probability that ready stays low in a cycle while data is offered.
    While no data is offered the sink sleeps on ``valid`` instead of polling every cycle.
    """

    def __init__(self, dut, name: str, desc: dict, clk, *, rng: random.Random | None = None,
                 stall_prob: float = 0.0, period_ns: int = CLOCK_PERIOD_NS):
        self.period_ns = period_ns
        self.name = name
        self.fields = desc["fields"]
        self.clk = clk
        self.valid = getattr(dut, f"{name}__valid")
        self.payload = getattr(dut, f"{name}__payload")
        self.ready = None if desc.get("always_ready") else getattr(dut, f"{name}__ready")
        self.rng = rng or random.Random(1)
        self.stall_prob = stall_prob
        self.count = 0
        if self.ready is not None:
            self.ready.value = 0

    async def recv(self, timeout_cycles: int | None = None) -> dict[str, int] | int:
        """Next transfer's payload (fields unpacked, signed fields sign-extended)."""
        from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

        waited = 0
        while True:
            r = self.rng.random() >= self.stall_prob
            if self.ready is not None:
                self.ready.value = int(r)
            await ReadOnly()
            offered = int(self.valid.value)
            fire = offered and (self.ready is None or r)
            word = int(self.payload.value) if fire else 0
            if not offered:
                # Sleep until the DUT offers data (it rises right after a clock edge).
                await (RisingEdge(self.valid) if timeout_cycles is None else
                       with_timeout(RisingEdge(self.valid), timeout_cycles * self.period_ns,
                                    "ns"))
                continue
            await RisingEdge(self.clk)
            if fire:
                if self.ready is not None:
                    self.ready.value = 0
                self.count += 1
                return unpack_fields(self.fields, word)
            waited += 1
            if timeout_cycles is not None and waited > timeout_cycles:
                raise TimeoutError(f"no transfer on {self.name!r} within {timeout_cycles} cycles")

    async def recv_n(self, n: int, timeout_cycles: int | None = None) -> list:
        return [await self.recv(timeout_cycles) for _ in range(n)]


async def request_response(source: StreamSource, sink: StreamSink, requests,
                           *, stall_cycles: int = 1000) -> list:
    """Send ``requests`` on ``source`` and collect as many responses from ``sink``, pipelined.

    One loop serves both streams (one read-only sample and one clock edge per cycle, half the
    scheduler work of two separate coroutines), with the source's random idle cycles and the
    sink's random backpressure. Raises ``TimeoutError`` naming the streams if neither moves for
    ``stall_cycles`` cycles.
    """
    from cocotb.triggers import ReadOnly, RisingEdge

    reqs = [pack_fields(source.fields, r) for r in requests]
    out: list = []
    sent = 0
    quiet = 0
    clk = source.clk
    while len(out) < len(reqs):
        offer = sent < len(reqs) and not (source.idle_prob and
                                          source.rng.random() < source.idle_prob)
        if offer:
            source.payload.value = reqs[sent]
        source.valid.value = int(offer)
        take = sink.rng.random() >= sink.stall_prob
        if sink.ready is not None:
            sink.ready.value = int(take)
        await ReadOnly()
        fire_req = offer and (source.ready is None or int(source.ready.value))
        fire_resp = int(sink.valid.value) and (sink.ready is None or take)
        word = int(sink.payload.value) if fire_resp else 0
        await RisingEdge(clk)
        if fire_req:
            sent += 1
            source.count += 1
        if fire_resp:
            out.append(unpack_fields(sink.fields, word))
            sink.count += 1
        quiet = 0 if (fire_req or fire_resp) else quiet + 1
        if quiet > stall_cycles:
            source.valid.value = 0
            raise TimeoutError(f"{source.name}/{sink.name} stalled for {stall_cycles} cycles "
                               f"after {sent} requests and {len(out)} responses")
    source.valid.value = 0
    if sink.ready is not None:
        sink.ready.value = 0
    return out


class TB:
    """Clock, reset and stream endpoints of a DUT built by :func:`build`.

    ``tb.src[name]`` / ``tb.snk[name]`` hold a :class:`StreamSource` for every stream the DUT
    consumes and a :class:`StreamSink` for every stream it produces.
    """

    def __init__(self, dut, ports: dict, *, seed: int = 0, idle_prob: float = 0.0,
                 stall_prob: float = 0.0, clock_period_ns: int = CLOCK_PERIOD_NS):
        self.dut = dut
        self.ports = ports
        self.rng = random.Random(seed)
        self.clk = dut.clk
        self.rst = dut.rst
        self.period_ns = clock_period_ns
        self.src: dict[str, StreamSource] = {}
        self.snk: dict[str, StreamSink] = {}
        for i, (name, desc) in enumerate(ports.items()):
            if desc["kind"] != "stream":
                continue
            rng = random.Random(seed * 1009 + i)
            if desc["dir"] == "in":
                self.src[name] = StreamSource(dut, name, desc, self.clk, rng=rng,
                                              idle_prob=idle_prob)
            else:
                self.snk[name] = StreamSink(dut, name, desc, self.clk, rng=rng,
                                            stall_prob=stall_prob, period_ns=clock_period_ns)

    async def start(self, reset_cycles: int = 4) -> None:
        """Start the clock and hold reset for ``reset_cycles`` cycles."""
        from cocotb.clock import Clock
        from cocotb.triggers import RisingEdge

        Clock(self.clk, self.period_ns, unit="ns").start()
        self.rst.value = 1
        for _ in range(reset_cycles):
            await RisingEdge(self.clk)
        self.rst.value = 0
        await RisingEdge(self.clk)

    async def cycles(self, n: int) -> None:
        from cocotb.triggers import ClockCycles
        await ClockCycles(self.clk, n)

    async def wait_until(self, signal, value: int, timeout_cycles: int) -> None:
        """Return right after the clock edge at which ``signal`` equals ``value``.

        Sleeps on the signal's edges rather than polling every cycle (long DUT operations cost
        no Python time). Raises ``TimeoutError`` naming the signal after ``timeout_cycles``.
        """
        from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, with_timeout

        await ReadOnly()
        if int(signal.value) == value:
            await RisingEdge(self.clk)
            return
        edge = RisingEdge(signal) if value else FallingEdge(signal)
        try:
            await with_timeout(edge, timeout_cycles * self.period_ns, "ns")
        except TimeoutError:
            raise TimeoutError(f"{signal._name} did not become {value} within "
                               f"{timeout_cycles} cycles") from None

    def now_cycles(self) -> int:
        from cocotb.utils import get_sim_time
        return int(get_sim_time("ns") // self.period_ns)
