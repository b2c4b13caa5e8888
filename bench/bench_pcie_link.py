"""The PCIe link budget, measured through the virtual PCIe board.

Run ``python bench/bench_pcie_link.py [--configs 1x4,2x2,4x1] [--json FILE]``. For each
``KxS`` (K cores of S slots), a virtual PCIe board (the PCIe device's Verilog in Verilator:
XDMA AXI-Stream ports and K cores at the NiteFury's clocks, 250 MHz and 60 MHz from
``boards/nitefury.toml``; clock crossing, protocol) runs
``--steps`` STEPs of all K*S members at Hopper size (N = 256, D = 11, A = 3) through the
unchanged host ``Device``/``XdmaTransport``. The harness logs every request/reply in core
cycles from the request's first H2C beat to the reply's ``tlast``; the benchmark prints

* ``step_cycles``: that round trip of a STEP (core clock cycles), against the core's
  ``cycles_per_env_step`` of S slots (the cores step in parallel) -- the difference is the
  link (AXI-Stream, clock crossing, frame parsing and gathering, serialization);
* ``member env-steps/s`` at the board's core clock (``clk_hz``, 60 MHz on both PCIe boards:
  the clock the only routed evidence supports, docs/pcie.md) with the host's per-exchange
  PCIe cost added (the
  README's assumption for the UART table: 1 us + 800 MB/s), for the measured configurations
  and projected with the same per-byte link cost for the cores x slots of
  ``boards/nitefury.toml`` and ``boards/litefury.toml`` (sized by synthesis, docs/pcie.md);
* ``sim clock/wall-s``: simulated core clock per wall-clock second of the virtual board (this
  machine, loaded: noisy).

The cycle counts are deterministic; only the wall-clock column depends on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HOST_RTT_S = 1e-6
HOST_BYTES_PER_S = 800e6


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default="1x2,2x2,4x2",
                   help="comma-separated KxS: K cores of S slots each (1x2,2x2,4x2)")
    p.add_argument("--steps", type=int, default=4, help="STEPs per configuration (4)")
    p.add_argument("--neurons", type=int, default=256,
                   help="N of the measured boards (256; a smaller N builds and runs faster and "
                        "leaves the link's cycles unchanged: they depend on D, A and slots)")
    p.add_argument("--project-neurons", type=int, default=256,
                   help="N of the projected NiteFury/LiteFury rows (256, Hopper)")
    p.add_argument("--obs-dim", type=int, default=11)
    p.add_argument("--act-dim", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def measure(net, k: int, s: int, steps: int, clocks_hz: tuple[int, int]) -> dict:
    import numpy as np

    from ec_hw.boardsim_pcie import VirtualPcieBoard
    from ec_hw.config import CoreConfig
    from ec_hw.gateware.core import cycles_per_env_step
    from ec_hw.model.packing import GenomeLayout, pack_genome
    from ec_hw.protocol import step_wire_bytes
    from ec_hw.train.device_backend import DeviceBackend
    from host.device import Device

    core = CoreConfig(slots=k * s)
    t0 = time.monotonic()
    with VirtualPcieBoard(net, core, cores=k, clocks_hz=clocks_hz, stats=True) as vb:
        build_s = time.monotonic() - t0
        dev = Device.open(vb.port, net=net, core=core, timeout=60.0)
        backend = DeviceBackend(dev, net, core, own_device=True)
        layout = GenomeLayout.of(net)
        rng = np.random.default_rng(0)
        backend.load(pack_genome(rng.random((k * s, layout.n_conn)) < 0.5, layout))
        backend.reset(np.ones(k * s, bool))
        mask = np.ones(k * s, bool)
        before = len(vb.transactions())
        t1 = time.monotonic()
        for _ in range(steps):
            backend.step_q(rng.integers(-20000, 20000, size=(k * s, net.obs_dim)), mask)
        wall = time.monotonic() - t1
        rows = vb.transactions()[before:]
        backend.close()
    req, rep = step_wire_bytes(dev.wire, k * s)
    step_rows = [r for r in rows if (r[1], r[2]) == (req, rep)]
    if len(step_rows) != steps:
        raise RuntimeError(f"{k}x{s}: {len(step_rows)} STEP round trips logged, not {steps}")
    cyc = [r[0] for r in step_rows]
    compute = cycles_per_env_step(net, CoreConfig(slots=s))
    return {"cores": k, "slots_per_core": s, "members": k * s, "step_cycles": max(cyc),
            "step_cycles_min": min(cyc), "core_cycles": compute,
            "link_cycles": max(cyc) - compute, "request_bytes": req, "reply_bytes": rep,
            "build_s": round(build_s, 1),
            "sim_clock_hz_per_wall_s": round(sum(cyc) / wall, 1)}


def throughput(members: int, device_cycles: int, req: int, rep: int, clk_hz: float) -> float:
    """Member env-steps/s: the device's round trip at ``clk_hz`` plus the host's PCIe cost per
    exchange."""
    t = device_cycles / clk_hz + HOST_RTT_S + (req + rep) / HOST_BYTES_PER_S
    return members / t


def main(argv=None) -> int:
    args = parse_args(argv)
    from ec_hw.boardsim_pcie import board_clocks
    from ec_hw.build import load_board
    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.gateware.core import cycles_per_env_step
    from ec_hw.gateware.top import default_max_payload
    from ec_hw.protocol import WireFormat, step_wire_bytes

    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    results = []
    nitefury = load_board("nitefury")
    clocks = board_clocks(nitefury)
    mhz = f"{nitefury.clk_hz / 1e6:g} MHz"
    print(f"virtual PCIe board at the NiteFury's clocks: axi_aclk {clocks[0] / 1e6:g} MHz, "
          f"core {mhz}")
    print(f"K x S   members  STEP round trip (cycles)  core  link  req/rep bytes  "
          f"member env-steps/s @{mhz:7s}  sim clock/wall-s")
    for spec in args.configs.split(","):
        k, s = (int(v) for v in spec.lower().split("x"))
        r = measure(net, k, s, args.steps, clocks)
        r["clk_hz"] = nitefury.clk_hz
        r["member_env_steps_per_s"] = round(throughput(r["members"], r["step_cycles"],
                                                       r["request_bytes"], r["reply_bytes"],
                                                       nitefury.clk_hz))
        results.append(r)
        print(f"{k} x {s:<4d} {r['members']:7d}  {r['step_cycles']:24d}  {r['core_cycles']:5d} "
              f"{r['link_cycles']:5d}  {r['request_bytes']:5d}/{r['reply_bytes']:<5d}  "
              f"{r['member_env_steps_per_s']:27d}  {r['sim_clock_hz_per_wall_s']:.3g}",
              flush=True)
    # link cycles grow with the bytes of a STEP: fit cycles = a + b * (request + reply bytes)
    pts = [(r["request_bytes"] + r["reply_bytes"], r["link_cycles"]) for r in results]
    if len(pts) >= 2:
        (x0, y0), (x1, y1) = pts[0], pts[-1]
        b = (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0
        a = y0 - b * x0
        print(f"link cycles ~ {a:.0f} + {b:.2f} per STEP byte (request + reply)")
        projections = []
        net = NetConfig(n_neurons=args.project_neurons, obs_dim=args.obs_dim,
                        act_dim=args.act_dim)
        for board in (load_board("nitefury"), load_board("litefury")):
            name, k, s = board.description.split(" (")[0], board.cores, board.slots // board.cores
            core = CoreConfig(slots=k * s)
            wire = WireFormat.of(net, core, default_max_payload(net, core))
            req, rep = step_wire_bytes(wire, k * s)
            cyc = cycles_per_env_step(net, CoreConfig(slots=s)) + round(a + b * (req + rep))
            if board_clocks(board) != clocks:
                raise RuntimeError(f"{board.name}'s clocks {board_clocks(board)} differ from "
                                   f"the measured {clocks}: measure at its clocks")
            rate = throughput(k * s, cyc, req, rep, board.clk_hz)
            projections.append({"board": name, "cores": k, "slots_per_core": s,
                                "request_bytes": req, "reply_bytes": rep,
                                "step_cycles": cyc, "clk_hz": board.clk_hz,
                                "member_env_steps_per_s": round(rate)})
            print(f"projected {name} (N={net.n_neurons}): {k} x {s} = {k * s} members, "
                  f"{req}/{rep} bytes, {cyc} cycles per STEP, "
                  f"{rate:,.0f} member env-steps/s at {board.clk_hz / 1e6:g} MHz")
    else:
        projections = []
    if args.json:
        args.json.write_text(json.dumps({"measured": results, "projected": projections,
                                         "host_rtt_s": HOST_RTT_S,
                                         "host_bytes_per_s": HOST_BYTES_PER_S}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
