"""The virtual board's speed: main's original build vs today's, measured in one run.

    python bench/bench_boardsim.py [--json] [--steps 60] [--board arty_a7] [--sizes 64,256]

For every network size (N = 64 with InvertedPendulum's D = 4, A = 1; N = 256 with Hopper's
D = 11, A = 3) and every variant of :data:`VARIANTS` (``baseline``: main's original Verilator
flags and UART model, with the sampler, driven by today's harness loop; ``fast``: the ``fast``
profile (byte link, ``-march=native``, GCC PGO) of
:data:`ec_hw.boardsim.BUILD_PROFILES` without the sampler, what ``--target sim --sampling host``
runs; ``fast_sampler``: the same with the sampler, what ``--sampling device`` runs), this
script builds the virtual board (cached under ``build/boardsim/``), starts it behind its
pseudo-terminal and drives it
with the unchanged host link (:class:`host.device.Device` over pyserial): LOAD of a random
member into every slot of the board, RESET, then ``--steps`` STEPs of random observations
with every slot active. Every action is checked against the golden model
(:func:`ec_hw.model.core.net_step`), so both builds are bit-identical by construction.

Reported per size and variant:

* ``mhz_per_cpu_s``: device clock cycles the simulator evaluated (its own count, printed when
  it exits) over the CPU seconds of the simulator process (``getrusage``), for the whole
  session (INFO, LOAD, RESET, STEPs);
* ``env_steps_per_s``: member env-steps (STEPs x slots) per wall-clock second through the
  board, host link included; ``env_steps_per_sim_cpu_s`` the same per CPU second of the
  simulator (less sensitive to the machine's load);
* ``cycles_per_step``: simulated cycles per STEP request (core + link + idle gaps);
* ``step_mhz_per_cpu_s`` and ``step_env_steps_per_sim_cpu_s``: the same rates for the STEPs
  alone (the session without STEPs, run first, subtracted: no start-up, INFO or LOAD).

and the ratios variant / baseline. ``--json`` prints one JSON object. Absolute numbers depend on
the machine's load; the ratios are measured in one run, the variants one after the other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ec_hw.boardsim import VirtualBoard, build_boardsim  # noqa: E402
from ec_hw.build import load_board  # noqa: E402
from ec_hw.config import CoreConfig, NetConfig  # noqa: E402
from ec_hw.model.core import FixedNet, NetState, net_step  # noqa: E402
from ec_hw.model.packing import GenomeLayout, pack_genome  # noqa: E402
from host.device import Device  # noqa: E402
from host.transport import SerialTransport  # noqa: E402

VARIANTS = {"baseline": ("baseline", True), "fast": ("fast", False),
            "fast_sampler": ("fast", True)}
"""Variant name -> (build profile, sampler)."""
SHAPES = {64: dict(obs_dim=4, act_dim=1), 256: dict(obs_dim=11, act_dim=3)}


def _configs(n: int, board: str) -> tuple[NetConfig, CoreConfig]:
    b = load_board(board)
    net = NetConfig(n_neurons=n, **SHAPES[n])
    return net, CoreConfig(slots=b.slots, lanes=b.lanes, word_bits=b.word_bits)


def run_once(net: NetConfig, core: CoreConfig, profile: str, sampler: bool, steps: int,
             seed: int = 0) -> dict:
    """One session on a fresh virtual board; returns its measurements."""
    layout = GenomeLayout.of(net)
    rng = np.random.default_rng(seed)
    genomes = pack_genome(rng.random((core.slots, layout.n_conn)) < 0.5, layout)
    xs = rng.integers(-8000, 8000, size=(steps, core.slots, net.obs_dim)).astype(np.int32)
    with VirtualBoard(net, core, profile=profile, sampler=sampler) as vb:
        dev = Device(SerialTransport(vb.port), timeout=60.0)
        dev.connect(net, core)
        for s in range(core.slots):
            dev.load_genome(s, genomes[s], net)
        dev.reset(np.ones(core.slots, bool))
        t0 = time.perf_counter()
        acts = np.array([dev.step(x) for x in xs])
        wall = time.perf_counter() - t0
        dev.close()
    stats = vb.stats
    if stats is None:
        raise RuntimeError(f"the {profile} virtual board did not report its cycle count")
    fx = FixedNet(net, core)
    state = NetState.zeros(core.slots, layout)
    want = np.array([net_step(fx.p, fx.lay, x, genomes, state) for x in xs])
    if not np.array_equal(acts, want):
        raise RuntimeError(f"the {profile} virtual board's actions differ from the golden model")
    return {"cycles": stats["cycles"], "sim_cpu_s": round(stats["cpu_s"], 3),
            "mhz_per_cpu_s": stats["cycles"] / stats["cpu_s"] / 1e6,
            "step_wall_s": round(wall, 3),
            "env_steps_per_s": steps * core.slots / wall,
            "env_steps_per_sim_cpu_s": steps * core.slots / stats["cpu_s"],
            "cycles_per_step": None}


def measure(n: int, board: str, steps: int) -> dict:
    net, core = _configs(n, board)
    for profile, sampler in VARIANTS.values():  # build (or find) all first: no build inside
        build_boardsim(net, core, profile=profile, sampler=sampler, quiet=False)  # a timing
    out: dict = {"net": {"n_neurons": n, **SHAPES[n]}, "slots": core.slots,
                 "lanes": core.lanes, "steps": steps}
    for name, (profile, sampler) in VARIANTS.items():
        # the session without STEPs, subtracted to get the cycles and CPU of the STEPs alone
        base = run_once(net, core, profile, sampler, 0)
        r = run_once(net, core, profile, sampler, steps)
        cyc, cpu = r["cycles"] - base["cycles"], r["sim_cpu_s"] - base["sim_cpu_s"]
        r["cycles_per_step"] = cyc / steps
        r["step_mhz_per_cpu_s"] = cyc / cpu / 1e6
        r["step_env_steps_per_sim_cpu_s"] = steps * core.slots / cpu
        out[name] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
    b = out["baseline"]
    out["ratio"] = {}
    for name in list(VARIANTS)[1:]:
        f = out[name]
        out["ratio"][name] = {k: round(f[k] / b[k], 2) for k in RATE_KEYS}
        out["ratio"][name]["cycles_per_step"] = round(b["cycles_per_step"] /
                                                      f["cycles_per_step"], 2)
    return out


RATE_KEYS = ("mhz_per_cpu_s", "env_steps_per_s", "env_steps_per_sim_cpu_s", "step_mhz_per_cpu_s",
             "step_env_steps_per_sim_cpu_s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--steps", type=int, default=60, help="STEP requests per session")
    ap.add_argument("--board", default="arty_a7", help="board whose slots/lanes to copy")
    ap.add_argument("--sizes", default="64,256", help="network sizes N (64 and/or 256)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    bad = [s for s in sizes if s not in SHAPES]
    if bad or args.steps < 1:
        print(f"bench_boardsim: --sizes takes {sorted(SHAPES)} and --steps >= 1",
              file=sys.stderr)
        return 2
    result = {"board": args.board, "variants": {k: {"profile": p, "sampler": s}
                                                for k, (p, s) in VARIANTS.items()}}
    for n in sizes:
        result[f"n{n}"] = measure(n, args.board, args.steps)
    if args.json:
        print(json.dumps(result))
        return 0
    for n in sizes:
        r = result[f"n{n}"]
        print(f"N = {n} ({r['slots']} slots, {r['lanes']} lanes, {args.steps} STEPs):")
        for k in (*RATE_KEYS, "cycles_per_step"):
            print(f"  {k:29s} " + "   ".join(
                f"{v} {r[v][k]:>9.3f}" + ("" if v == "baseline" else f" x{r['ratio'][v][k]}")
                for v in VARIANTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
