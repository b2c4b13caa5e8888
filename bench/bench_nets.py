"""Inference cost per env step of every network the trainer evolves, on one core of this CPU.

Run ``python bench/bench_nets.py [--json FILE]``. For each network, members stepped together
through the trainer's own backends (``backend.step``, observations already encoded), at
``--batch`` members (default 256, a population) and at batch 1 (one deployed controller):

* ``ec_golden``: EC's bit-exact fixed-point golden model (packed 1-bit connections, popcounts,
  integer LIF, 33 substeps per env step) -- what the FPGA computes;
* ``ec_float``: the float64 reference of the same 1-bit network;
* ``es_rsnn``: the ES-RSNN baseline, dense float64 weights, same LIF equations;
* ``es_gru`` / ``es_lstm``: the ES-GRU / ES-LSTM baselines, float32 cells of ``--hidden``
  units (default 256) and a linear readout.

Members are what training starts from: rho = 0.5 Bernoulli connections, N(0, 1) ES centers
(spiking activity, which the float SNNs' sparse loops depend on, is that of untrained
networks). Numba runs on one thread, so the unit is network-env-steps per second per core;
times are the best of ``--repeat`` runs and the CPU time each run got is printed with it, since
other processes share the machine. Ratios are to the EC golden model at the same batch, all
measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

NETS = ("ec_golden", "ec_float", "es_rsnn", "es_gru", "es_lstm")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=256, help="LIF neurons of the SNNs (256)")
    p.add_argument("--hidden", type=int, default=256, help="GRU/LSTM hidden units (256)")
    p.add_argument("--obs-dim", type=int, default=11, help="D (default 11, Hopper)")
    p.add_argument("--act-dim", type=int, default=3, help="A (default 3)")
    p.add_argument("--batch", type=int, default=256, help="members stepped together (256)")
    p.add_argument("--env-steps", type=int, default=8,
                   help="env steps per timed run at --batch (8); batch 1 runs 32x as many")
    p.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts (3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def make_backends(args, batch: int) -> tuple:
    """Each network's backend with ``batch`` members loaded, and how it wants observations."""
    import numpy as np

    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.model.dense import dense_layout
    from ec_hw.model.packing import GenomeLayout, pack_genome
    from ec_hw.train.backends import (
        DenseBackend,
        FloatBackend,
        GRUBackend,
        LSTMBackend,
        ModelBackend,
    )

    snn = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    rnn = NetConfig(n_neurons=args.hidden, obs_dim=args.obs_dim, act_dim=args.act_dim)
    rng = np.random.default_rng(args.seed)
    bits = pack_genome(rng.random((batch, snn.n_conn)) < 0.5, GenomeLayout.of(snn))
    out = {"ec_golden": ModelBackend(snn, CoreConfig(), batch),
           "ec_float": FloatBackend(snn, batch)}
    out["ec_golden"].load(bits)
    out["ec_float"].load(bits)
    for name, cls, net, kind in (("es_rsnn", DenseBackend, snn, "snn"),
                                 ("es_gru", GRUBackend, rnn, "gru"),
                                 ("es_lstm", LSTMBackend, rnn, "lstm")):
        lay = dense_layout(kind, net)
        be = cls(net, batch)
        be.load(np.stack([lay.initial_params(np.random.default_rng(args.seed + m))
                          for m in range(batch)]))
        out[name] = be
    return out, snn


def measure(args, batch: int, steps: int) -> dict:
    import numpy as np

    from ec_hw.config import CoreConfig
    from ec_hw.fixedpoint import derive, quantize_obs

    backends, snn = make_backends(args, batch)
    fp = derive(snn, CoreConfig())
    z = np.random.default_rng(args.seed + 1).normal(size=(steps, batch, args.obs_dim))
    x_q = quantize_obs(z, np.zeros(args.obs_dim), np.ones(args.obs_dim), fp)
    active = np.ones(batch, bool)
    res = {}
    for name in NETS:
        be = backends[name]
        obs = x_q if be.encoding == "fixed" else z

        def run(be=be, obs=obs):
            be.reset(active)
            for t in range(steps):
                be.step(obs[t], active)

        run()  # warm-up: compilation, caches, page faults
        best = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            r = (time.perf_counter() - t0, time.process_time() - c0)
            best = r if best is None or r[0] < best[0] else best
        res[name] = {"steps_per_s": batch * steps / best[0],
                     "steps_per_cpu_s": batch * steps / best[1],
                     "cores_used": best[1] / best[0]}
        be.close()
    gold = res["ec_golden"]["steps_per_s"]
    gold_cpu = res["ec_golden"]["steps_per_cpu_s"]
    for r in res.values():
        r["vs_ec_golden"] = r["steps_per_s"] / gold
        r["vs_ec_golden_cpu"] = r["steps_per_cpu_s"] / gold_cpu
    return res


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # one core per measurement; restored for a caller (tests)
    try:
        return _main(args, numba)
    finally:
        numba.set_num_threads(threads)


def _main(args, numba) -> dict:
    from ec_hw.config import NetConfig
    from ec_hw.model.dense import dense_layout

    rnn = NetConfig(n_neurons=args.hidden, obs_dim=args.obs_dim, act_dim=args.act_dim)
    snn = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim)
    res = {"neurons": args.neurons, "hidden": args.hidden, "obs_dim": args.obs_dim,
           "act_dim": args.act_dim, "numba_threads": numba.get_num_threads(),
           "cpu": _cpu_name(), "loadavg_1min": os.getloadavg()[0],
           "params": {"ec_golden": snn.n_conn, "ec_float": snn.n_conn,
                      "es_rsnn": dense_layout("snn", snn).n_params,
                      "es_gru": dense_layout("gru", rnn).n_params,
                      "es_lstm": dense_layout("lstm", rnn).n_params},
           "batches": {}}
    for batch, steps in ((args.batch, args.env_steps), (1, 32 * args.env_steps)):
        res["batches"][str(batch)] = measure(args, batch, steps)
    res["loadavg_1min_end"] = os.getloadavg()[0]
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return res


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


LABELS = {"ec_golden": "EC golden model (1-bit, fixed point)",
          "ec_float": "EC float64 reference (1-bit)", "es_rsnn": "ES-RSNN (dense float64 SNN)",
          "es_gru": "ES-GRU (float32)", "es_lstm": "ES-LSTM (float32)"}


def report(r: dict) -> str:
    lines = [f"{r['cpu']}, 1 Numba thread; 1-min load {r['loadavg_1min']:.1f} -> "
             f"{r['loadavg_1min_end']:.1f}; SNNs {r['neurons']} neurons x 33 substeps, "
             f"GRU/LSTM {r['hidden']} units; obs {r['obs_dim']}, act {r['act_dim']}"]
    for batch, rows in r["batches"].items():
        lines.append(f"batch {batch}: network-env-steps/s per core (per CPU-second), ratio to "
                     f"the EC golden model")
        for name in NETS:
            x = rows[name]
            lines.append(f"  {LABELS[name]:38s} {x['steps_per_s']:10,.0f}/s "
                         f"({x['steps_per_cpu_s']:10,.0f}/CPU-s, got {x['cores_used']:.2f} "
                         f"cores)  x{x['vs_ec_golden']:6.2f}  (CPU-s x"
                         f"{x['vs_ec_golden_cpu']:6.2f})  {r['params'][name]:,} params")
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ["NUMBA_NUM_THREADS"] = "1"  # read when Numba loads: one core per measurement
    main()
