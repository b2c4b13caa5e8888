"""Throughput of the golden model against a float32 dense-matmul implementation of the network.

Run ``python bench/bench_model.py`` (``--help`` for sizes). Everything printed is measured in
this one run on this machine:

* the golden model (:func:`ec_hw.model.core.net_step`: packed 1-bit connections, popcounts,
  integer LIF, Numba ``prange`` over members) on ``--threads`` threads and on 1 thread;
* the same network in float32 with numpy: per-member dense 0/1 float32 matrices, the
  recurrent input as a batched matrix-vector product ``(B, N, N) @ (B, N, 1)`` every substep
  (OpenBLAS, ``--threads`` threads), the same LIF equations elementwise in float32;
* connection memory per member: packed bits (what the golden model and the FPGA hold) against
  dense float32.

The unit is network-substeps per second: members x substeps advanced per second of wall time
(one env step is ``substeps`` = 33 substeps). Times are the best of ``--repeat`` runs, the
usual way to read a benchmark on a machine other processes share; the load average and the
cores each measurement actually got (CPU seconds per wall second) are printed with the results,
so a thread speedup hidden by a busy machine shows as such.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=256, help="N (default 256)")
    p.add_argument("--batch", type=int, default=512, help="members stepped together (512)")
    p.add_argument("--obs-dim", type=int, default=11, help="D (default 11, Hopper)")
    p.add_argument("--act-dim", type=int, default=3, help="A (default 3)")
    p.add_argument("--substeps", type=int, default=33, help="substeps per env step (33)")
    p.add_argument("--env-steps", type=int, default=4, help="env steps per timed run (4)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts (3)")
    p.add_argument("--threads", type=int, default=2, help="threads for Numba and BLAS (2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    # Both runtimes read these when they start, so they are set before numpy/numba load.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from ec_hw.runtime import setup_process

    setup_process()  # OMP_WAIT_POLICY=PASSIVE, stale Numba caches dropped

    import numba
    import numpy as np

    from ec_hw.config import CoreConfig, NetConfig
    from ec_hw.fixedpoint import quantize_obs
    from ec_hw.model.core import FixedNet, NetState, net_step
    from ec_hw.model.packing import GenomeLayout, pack_genome

    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim,
                    substeps=args.substeps)
    fx = FixedNet(net, CoreConfig())
    lay = GenomeLayout.of(net)
    b, n, d = args.batch, net.n_neurons, net.obs_dim
    rng = np.random.default_rng(args.seed)
    bits = rng.random((b, lay.n_conn)) < 0.5
    genomes = pack_genome(bits, lay)
    z = rng.normal(size=(args.env_steps, b, d))
    x_q = quantize_obs(z, np.zeros(d), np.ones(d), fx.fp)

    cpu = {}

    def best_of(fn, name) -> float:
        fn()  # warm-up: compilation, caches, page faults
        best = None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            run = (time.perf_counter() - t0, time.process_time() - c0)
            best = run if best is None or run[0] < best[0] else best
        cpu[name] = best[1]
        return best[0]

    # --- golden model -----------------------------------------------------------------------
    def golden():
        state = NetState.zeros(b, lay)
        for t in range(args.env_steps):
            net_step(fx.p, fx.lay, x_q[t], genomes, state)

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    t_gold = best_of(golden, "golden")
    numba.set_num_threads(1)
    t_gold1 = best_of(golden, "golden_1thread")
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    # --- float32 dense ----------------------------------------------------------------------
    dense = DenseFloat32(net, bits)
    t_dense = best_of(lambda: dense.run(z), "dense_f32")

    work = b * args.env_steps * net.substeps
    bytes_packed = lay.n_words * 8
    bytes_dense = lay.n_conn * 4
    res = {
        "neurons": n, "batch": b, "substeps": net.substeps, "env_steps": args.env_steps,
        "threads": args.threads, "threading_layer": numba.threading_layer(),
        "loadavg_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
        "golden_substeps_per_s": work / t_gold,
        "golden_1thread_substeps_per_s": work / t_gold1,
        "dense_f32_substeps_per_s": work / t_dense,
        "bytes_per_member_packed": bytes_packed,
        "bytes_per_member_dense_f32": bytes_dense,
        # CPU seconds per wall second of the timed run: the cores it actually got.
        "cores_used": {"golden": cpu["golden"] / t_gold,
                       "golden_1thread": cpu["golden_1thread"] / t_gold1,
                       "dense_f32": cpu["dense_f32"] / t_dense},
        "golden_substeps_per_cpu_s": work / cpu["golden"],
        "golden_1thread_substeps_per_cpu_s": work / cpu["golden_1thread"],
        "dense_f32_substeps_per_cpu_s": work / cpu["dense_f32"],
    }
    res["speedup_threads"] = res["golden_substeps_per_s"] / res["golden_1thread_substeps_per_s"]
    res["golden_vs_dense"] = res["golden_substeps_per_s"] / res["dense_f32_substeps_per_s"]
    res["golden_1thread_vs_dense"] = (res["golden_1thread_substeps_per_s"]
                                      / res["dense_f32_substeps_per_s"])
    res["memory_ratio"] = bytes_dense / bytes_packed
    print(report(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return res


def report(r: dict) -> str:
    t, u = r["threads"], r["cores_used"]
    return "\n".join([
        f"N={r['neurons']} neurons, batch {r['batch']} members, {r['substeps']} substeps x "
        f"{r['env_steps']} env steps; {r['cpus']} CPUs, 1-min load {r['loadavg_1min']:.1f}, "
        f"Numba layer {r['threading_layer']}",
        f"  golden model, {t} threads     {r['golden_substeps_per_s']:12,.0f} network-substeps/s"
        f"  (got {u['golden']:.2f} cores)",
        f"  golden model, 1 thread       {r['golden_1thread_substeps_per_s']:12,.0f} "
        f"network-substeps/s  (got {u['golden_1thread']:.2f} cores)",
        f"  float32 dense numpy, {t} thr  {r['dense_f32_substeps_per_s']:12,.0f} "
        f"network-substeps/s  (got {u['dense_f32']:.2f} cores)",
        f"  per CPU-second: golden {r['golden_substeps_per_cpu_s']:,.0f} ({t} thr), "
        f"{r['golden_1thread_substeps_per_cpu_s']:,.0f} (1 thr); float32 dense "
        f"{r['dense_f32_substeps_per_cpu_s']:,.0f}",
        f"  ratios: {t} threads / 1 thread = {r['speedup_threads']:.2f}; golden / float32 dense "
        f"= {r['golden_vs_dense']:.2f} ({t} thr), {r['golden_1thread_vs_dense']:.2f} "
        f"(golden on 1 thread)",
        f"  connections per member: packed {r['bytes_per_member_packed']:,} B, float32 dense "
        f"{r['bytes_per_member_dense_f32']:,} B ({r['memory_ratio']:.1f}x)",
    ])


class DenseFloat32:
    """The network of :mod:`ec_hw.fixedpoint` in float32 with dense 0/1 connection matrices.

    The paper's equations as the float reference (:mod:`ec_hw.model.reference`) states them,
    batched over members: ``i_in = R_in W_in [z, -z]``; per substep
    ``i_syn = a_syn i_syn + R W_rec (sign * s)``, ``v = a_m v + (1 - a_m)(i_syn + i_in)``,
    ``s = v > Vth``, ``v[s] = 0``, ``rate = a_out rate + (1 - a_out) sign s / dt``; then
    ``action = clip(R_out W_out rate, -1, 1)``.
    """

    def __init__(self, net, bits):
        import numpy as np

        from ec_hw.model.packing import GenomeLayout

        lay = GenomeLayout.of(net)
        b, n, d2, a = bits.shape[0], net.n_neurons, net.n_inputs, net.act_dim
        f32 = np.float32
        self.net = net
        self.w_in = bits[:, :lay.off_rec_bits].reshape(b, n, d2).astype(f32)
        self.w_rec = bits[:, lay.off_rec_bits:lay.off_out_bits].reshape(b, n, n).astype(f32)
        self.w_out = bits[:, lay.off_out_bits:].reshape(b, a, n).astype(f32)
        self.sign = np.where(np.arange(n) < net.n_exc, 1, -1).astype(f32)
        self.c = {k: f32(v) for k, v in dict(
            a_syn=net.alpha_syn, a_m=net.alpha_m, a_out=net.alpha_out, r_in=net.r_in,
            r=net.r_rec, r_out=net.r_out, vth=net.vth, inv_dt=1.0 / net.dt).items()}

    def run(self, z, state=None):
        """Step every member through ``z`` (T, B, D); return the last actions and the state."""
        import numpy as np

        c, f32 = self.c, np.float32
        b, n = self.w_rec.shape[:2]
        if state is None:
            state = {k: np.zeros((b, n), f32) for k in ("i_syn", "v", "rate", "s")}
        i_syn, v, rate, s = state["i_syn"], state["v"], state["rate"], state["s"]
        for t in range(z.shape[0]):
            zz = z[t].astype(f32)
            x = np.concatenate([zz, -zz], axis=1)[:, :, None]
            i_in = c["r_in"] * np.matmul(self.w_in, x)[:, :, 0]
            for _ in range(self.net.substeps):
                rec = np.matmul(self.w_rec, (s * self.sign)[:, :, None])[:, :, 0]
                i_syn *= c["a_syn"]
                i_syn += c["r"] * rec
                v += (f32(1) - c["a_m"]) * (i_syn + i_in - v)
                spk = v > c["vth"]
                v[spk] = 0
                s = spk.astype(f32)
                rate *= c["a_out"]
                rate += (f32(1) - c["a_out"]) * c["inv_dt"] * s * self.sign
            state["s"] = s
            act = np.clip(c["r_out"] * np.matmul(self.w_out, rate[:, :, None])[:, :, 0], -1, 1)
        return act, state


if __name__ == "__main__":
    main()
