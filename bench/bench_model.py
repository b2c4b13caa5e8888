"""Throughput of the golden model against its previous kernel, a JAX int8 peer and float32 numpy.

Run ``python bench/bench_model.py`` (``--help`` for sizes); ``--json`` alone prints one JSON
object instead of the table, ``--json PATH`` also writes it to PATH. Everything printed is
measured in this one run on this machine, for 1 thread and for ``--threads`` threads:

* the golden model (:func:`ec_hw.model.core.net_step`: packed 1-bit connections, popcounts,
  integer LIF, Numba ``prange`` over members);
* the golden model's previous kernel, kept verbatim in ``bench/old_golden_kernel.py`` (one neuron
  at a time, every word of every row popcounted, constants read inside the neuron loop), so the
  speedup of the current kernel is measured rather than remembered; both are checked to give
  identical actions and states on the benchmark's inputs;
* the same network in JAX the way the authors of Evolving Connectivity run it, written here
  from the equations (:class:`JaxInt8`): ``jit`` + ``vmap`` over members, int8 spikes (-1 for
  inhibitory neurons) times an int8 0/1 recurrent matrix per member, float32 LIF. It runs in
  a child process pinned to the measured number of cores (XLA sizes its thread pool once, at
  start). Needs ``pip install -e '.[bench]'``; without JAX its
  numbers are reported as missing;
* the same network in float32 with numpy: per-member dense 0/1 float32 matrices, the
  recurrent input as a batched matrix-vector product ``(B, N, N) @ (B, N, 1)`` every substep
  (OpenBLAS, ``--threads`` threads), the same LIF equations elementwise in float32;
* connection memory per member: packed bits (what the golden model and the FPGA hold) against
  dense float32.

The unit is network-substeps per second: members x substeps advanced per second of wall time
(one env step is ``substeps`` = 33 substeps). Times are the best of ``--repeat`` runs (at least
``--min-time`` seconds of runs), the usual way to read a benchmark on a machine other processes
share; the load average and the cores each measurement actually got (CPU seconds per wall
second) are printed with the results, so a thread speedup hidden by a busy machine shows as
such, and the rates per CPU-second are given beside the wall-time rates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=256, help="N (default 256)")
    p.add_argument("--batch", type=int, default=512, help="members stepped together (512)")
    p.add_argument("--obs-dim", type=int, default=11, help="D (default 11, Hopper)")
    p.add_argument("--act-dim", type=int, default=3, help="A (default 3)")
    p.add_argument("--substeps", type=int, default=33, help="substeps per env step (33)")
    p.add_argument("--env-steps", type=int, default=4, help="env steps per timed run (4)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs at least; the best counts (3)")
    p.add_argument("--min-time", type=float, default=0.5,
                   help="keep timing runs until this many seconds have passed (0.5)")
    p.add_argument("--threads", type=int, default=2, help="threads for Numba, BLAS and XLA (2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-jax", action="store_true", help="skip the JAX int8 peer")
    p.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                   help="print one JSON object instead of the table (no PATH), or also write "
                        "it to PATH")
    p.add_argument("--jax-child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name in ("neurons", "batch", "obs_dim", "act_dim", "substeps", "env_steps", "repeat",
                 "threads"):
        if getattr(args, name) < 1:
            print(f"bench_model.py: --{name.replace('_', '-')} must be at least 1, not "
                  f"{getattr(args, name)}", file=sys.stderr)
            sys.exit(2)
    return args


# --- JAX int8 peer -------------------------------------------------------------------------
class JaxInt8:
    """The network of :mod:`ec_hw.fixedpoint` in JAX, as the authors of EC run theirs.

    The paper's equations (the float reference, :mod:`ec_hw.model.reference`), per member:
    ``i_in = R_in [z, -z] W_in``; per substep
    ``i_syn = a_syn i_syn + R (s W_rec)``, ``v = v + (1 - a_m)(i_syn + i_in - v)``,
    ``spike = v > Vth``, ``v[spike] = 0``, ``s = sign * spike`` (int8, -1 for inhibitory),
    ``rate = rate + (1 - a_out)(s / dt - rate)``; then ``action = clip(R_out rate W_out, -1, 1)``.
    ``s W_rec`` is an int8 x int8 product with an int8 result, as in the authors' ``conn_dense``
    (exact while ``|pe - pi| <= 127``, i.e. unless more than 127 neurons of one population fire
    onto one neuron in the same substep; accumulating in int32 instead,
    ``preferred_element_type=int32``, measured 7.5x slower on XLA's CPU backend), the rest
    float32; ``jit`` of ``vmap`` over members, ``lax.scan`` over substeps, one call per env step.
    """

    def __init__(self, net, bits):
        import jax
        import jax.numpy as jnp
        import numpy as np

        from ec_hw.model.packing import GenomeLayout

        lay = GenomeLayout.of(net)
        b, n, d2, a = bits.shape[0], net.n_neurons, net.n_inputs, net.act_dim
        f32 = jnp.float32
        # Kernels oriented (inputs, outputs) as in the authors' conn_dense: x @ W.
        self.w_in = jnp.asarray(bits[:, :lay.off_rec_bits].reshape(b, n, d2)
                                .transpose(0, 2, 1), f32)
        self.w_rec = jnp.asarray(bits[:, lay.off_rec_bits:lay.off_out_bits].reshape(b, n, n)
                                 .transpose(0, 2, 1), jnp.int8)
        self.w_out = jnp.asarray(bits[:, lay.off_out_bits:].reshape(b, a, n)
                                 .transpose(0, 2, 1), f32)
        sign = jnp.asarray(np.where(np.arange(n) < net.n_exc, 1, -1), jnp.int8)
        a_syn, a_m, a_out = (f32(net.alpha_syn), f32(net.alpha_m), f32(net.alpha_out))
        r_in, r, r_out = f32(net.r_in), f32(net.r_rec), f32(net.r_out)
        vth, inv_dt, substeps = f32(net.vth), f32(1.0 / net.dt), net.substeps
        self.n, self.batch = n, b

        def member_step(w_in, w_rec, w_out, carry, z):
            v, i_syn, rate, s = carry
            i_in = r_in * (jnp.concatenate([z, -z]) @ w_in)

            def substep(c, _):
                v, i_syn, rate, s = c
                rec = jax.lax.dot(s, w_rec)  # int8 x int8 -> int8, as the authors' conn_dense
                i_syn = a_syn * i_syn + r * rec.astype(f32)
                v = v + (1 - a_m) * (i_syn + i_in - v)
                spike = v > vth
                v = jnp.where(spike, f32(0), v)
                s = spike.astype(jnp.int8) * sign
                rate = rate + (1 - a_out) * (inv_dt * s.astype(f32) - rate)
                return (v, i_syn, rate, s), None

            carry, _ = jax.lax.scan(substep, (v, i_syn, rate, s), None, length=substeps)
            act = jnp.clip(r_out * (carry[2] @ w_out), -1, 1)
            return carry, act

        self._step = jax.jit(jax.vmap(member_step))

    def zeros(self):
        import jax.numpy as jnp

        z = jnp.zeros((self.batch, self.n), jnp.float32)
        return (z, z, z, jnp.zeros((self.batch, self.n), jnp.int8))

    def run(self, z, carry=None):
        """Step every member through ``z`` (T, B, D); return the last actions and the carry."""
        import jax.numpy as jnp

        carry = self.zeros() if carry is None else carry
        for t in range(z.shape[0]):
            carry, act = self._step(self.w_in, self.w_rec, self.w_out, carry,
                                    jnp.asarray(z[t], jnp.float32))
        act.block_until_ready()
        return act, carry


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


# --- measurement ---------------------------------------------------------------------------
def _net_and_inputs(args):
    import numpy as np

    from ec_hw.config import NetConfig
    from ec_hw.model.packing import GenomeLayout, pack_genome

    net = NetConfig(n_neurons=args.neurons, obs_dim=args.obs_dim, act_dim=args.act_dim,
                    substeps=args.substeps)
    lay = GenomeLayout.of(net)
    rng = np.random.default_rng(args.seed)
    bits = rng.random((args.batch, lay.n_conn)) < 0.5
    z = rng.normal(size=(args.env_steps, args.batch, net.obs_dim))
    return net, lay, bits, pack_genome(bits, lay), z


def _best_of(fn, args):
    """Best (wall, cpu) seconds of at least ``repeat`` runs and ``min_time`` seconds."""
    fn()  # warm-up: compilation, caches, page faults
    best, runs, t_start = None, 0, time.perf_counter()
    while runs < args.repeat or time.perf_counter() - t_start < args.min_time:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        run = (time.perf_counter() - t0, time.process_time() - c0)
        best = run if best is None or run[0] < best[0] else best
        runs += 1
    return best


def jax_child(args) -> dict:
    """Measure :class:`JaxInt8` in this process (already pinned to ``args.jax_child`` cores)."""
    net, _, bits, _, z = _net_and_inputs(args)
    peer = JaxInt8(net, bits)
    wall, cpu = _best_of(lambda: peer.run(z), args)
    work = args.batch * args.env_steps * net.substeps
    return {"substeps_per_s": work / wall, "cores_used": cpu / wall,
            "substeps_per_cpu_s": work / cpu}


def run_jax(args, threads: int) -> dict | None:
    """Run :func:`jax_child` in a child process on ``threads`` cores; None without JAX."""
    import importlib.util

    if args.no_jax or importlib.util.find_spec("jax") is None:
        return None
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                 "")]))
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                        + ("false" if threads == 1 else "true")).strip()
    env["JAX_PLATFORMS"] = "cpu"
    argv = [sys.executable, str(Path(__file__).resolve()), "--jax-child", str(threads),
            "--neurons", str(args.neurons), "--batch", str(args.batch),
            "--obs-dim", str(args.obs_dim), "--act-dim", str(args.act_dim),
            "--substeps", str(args.substeps), "--env-steps", str(args.env_steps),
            "--repeat", str(args.repeat), "--min-time", str(args.min_time),
            "--seed", str(args.seed)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True,
                          preexec_fn=lambda: os.sched_setaffinity(0, cpus))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.jax_child is not None:
        print(json.dumps(jax_child(args)))
        return {}
    # Both runtimes read these when they start, so they are set before numpy/numba load.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from ec_hw.runtime import setup_process

    setup_process()  # OMP_WAIT_POLICY=PASSIVE, stale Numba caches dropped

    import numba
    import numpy as np

    from ec_hw.config import CoreConfig
    from ec_hw.fixedpoint import quantize_obs
    from ec_hw.model.core import FixedNet, NetState, net_step

    net, lay, bits, genomes, z = _net_and_inputs(args)
    fx = FixedNet(net, CoreConfig())
    b, n, d = args.batch, net.n_neurons, net.obs_dim
    x_q = quantize_obs(z, np.zeros(d), np.ones(d), fx.fp)
    from old_golden_kernel import old_net_step_batch as old_batch

    def golden():
        state = NetState.zeros(b, lay)
        for t in range(args.env_steps):
            act = net_step(fx.p, fx.lay, x_q[t], genomes, state)
        return act, state

    def old():
        state = NetState.zeros(b, lay)
        act = np.zeros((b, net.act_dim), np.int32)
        for t in range(args.env_steps):
            act[:] = 0
            old_batch(fx.p, fx.lay, x_q[t], genomes, state.v, state.i_syn, state.rate,
                      state.spk, act)
        return act, state

    # The baseline computes the same thing: actions and whole state after the timed run.
    (act_new, st_new), (act_old, st_old) = golden(), old()
    bit_exact = bool(np.array_equal(act_new, act_old) and all(
        np.array_equal(getattr(st_new, f), getattr(st_old, f))
        for f in ("v", "i_syn", "rate", "spk")))

    work = b * args.env_steps * net.substeps
    max_threads = min(args.threads, numba.config.NUMBA_NUM_THREADS)
    by_threads = {}
    for threads in sorted({1, max_threads}):
        numba.set_num_threads(threads)
        row = {}
        for name, fn in (("golden", golden), ("old_kernel", old)):
            wall, cpu = _best_of(fn, args)
            row[f"{name}_substeps_per_s"] = work / wall
            row[f"{name}_substeps_per_cpu_s"] = work / cpu
            row[f"{name}_cores_used"] = cpu / wall
        jx = run_jax(args, threads)
        row["jax_int8_substeps_per_s"] = jx and jx["substeps_per_s"]
        row["jax_int8_substeps_per_cpu_s"] = jx and jx["substeps_per_cpu_s"]
        row["jax_int8_cores_used"] = jx and jx["cores_used"]
        row["new_over_old"] = row["golden_substeps_per_s"] / row["old_kernel_substeps_per_s"]
        row["new_over_old_per_cpu_s"] = (row["golden_substeps_per_cpu_s"]
                                         / row["old_kernel_substeps_per_cpu_s"])
        row["golden_over_jax_int8"] = jx and row["golden_substeps_per_s"] / jx["substeps_per_s"]
        row["golden_over_jax_int8_per_cpu_s"] = jx and (row["golden_substeps_per_cpu_s"]
                                                        / jx["substeps_per_cpu_s"])
        by_threads[str(threads)] = row
    numba.set_num_threads(max_threads)

    # --- float32 dense ----------------------------------------------------------------------
    dense = DenseFloat32(net, bits)
    t_dense, c_dense = _best_of(lambda: dense.run(z), args)

    top, one = by_threads[str(max_threads)], by_threads["1"]
    bytes_packed = lay.n_words * 8
    bytes_dense = lay.n_conn * 4
    res = {
        "neurons": n, "batch": b, "substeps": net.substeps, "env_steps": args.env_steps,
        "threads": max_threads, "threading_layer": numba.threading_layer(),
        "loadavg_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
        "golden_substeps_per_s": top["golden_substeps_per_s"],
        "golden_1thread_substeps_per_s": one["golden_substeps_per_s"],
        "old_kernel_substeps_per_s": top["old_kernel_substeps_per_s"],
        "old_kernel_1thread_substeps_per_s": one["old_kernel_substeps_per_s"],
        "jax_int8_substeps_per_s": top["jax_int8_substeps_per_s"],
        "jax_int8_1thread_substeps_per_s": one["jax_int8_substeps_per_s"],
        "dense_f32_substeps_per_s": work / t_dense,
        "new_over_old": top["new_over_old"],
        "new_over_old_1thread": one["new_over_old"],
        "golden_over_jax_int8": top["golden_over_jax_int8"],
        "golden_over_jax_int8_1thread": one["golden_over_jax_int8"],
        "new_equals_old_bit_exact": bit_exact,
        "bytes_per_member_packed": bytes_packed,
        "bytes_per_member_dense_f32": bytes_dense,
        # CPU seconds per wall second of the timed run: the cores it actually got.
        "cores_used": {"golden": top["golden_cores_used"],
                       "golden_1thread": one["golden_cores_used"],
                       "old_kernel": top["old_kernel_cores_used"],
                       "jax_int8": top["jax_int8_cores_used"],
                       "dense_f32": c_dense / t_dense},
        "golden_substeps_per_cpu_s": top["golden_substeps_per_cpu_s"],
        "golden_1thread_substeps_per_cpu_s": one["golden_substeps_per_cpu_s"],
        "dense_f32_substeps_per_cpu_s": work / c_dense,
        "by_threads": by_threads,
    }
    res["speedup_threads"] = res["golden_substeps_per_s"] / res["golden_1thread_substeps_per_s"]
    res["golden_vs_dense"] = res["golden_substeps_per_s"] / res["dense_f32_substeps_per_s"]
    res["golden_1thread_vs_dense"] = (res["golden_1thread_substeps_per_s"]
                                      / res["dense_f32_substeps_per_s"])
    res["memory_ratio"] = bytes_dense / bytes_packed
    text = json.dumps(res, indent=2)
    if args.json == "-":
        print(text)
    else:
        print(report(res))
        if args.json:
            Path(args.json).write_text(text + "\n")
    return res


def _rate(x) -> str:
    return "     (no JAX)" if x is None else f"{x:12,.0f}"


def _ratio(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def report(r: dict) -> str:
    t, u = r["threads"], r["cores_used"]
    lines = [
        f"N={r['neurons']} neurons, batch {r['batch']} members, {r['substeps']} substeps x "
        f"{r['env_steps']} env steps; {r['cpus']} CPUs, 1-min load {r['loadavg_1min']:.1f}, "
        f"Numba layer {r['threading_layer']}",
        "  network-substeps/s (wall)      threads   golden      old kernel    JAX int8"
        "     golden/old  golden/JAX",
    ]
    for th, row in r["by_threads"].items():
        lines.append(
            f"  {'':30s}{th:>7s} {row['golden_substeps_per_s']:12,.0f} "
            f"{row['old_kernel_substeps_per_s']:12,.0f} {_rate(row['jax_int8_substeps_per_s'])}"
            f"   {row['new_over_old']:9.2f}  {_ratio(row['golden_over_jax_int8']):>9s}")
    lines.append("  per CPU-second                           golden      old kernel    JAX int8")
    for th, row in r["by_threads"].items():
        lines.append(
            f"  {'':30s}{th:>7s} {row['golden_substeps_per_cpu_s']:12,.0f} "
            f"{row['old_kernel_substeps_per_cpu_s']:12,.0f} "
            f"{_rate(row['jax_int8_substeps_per_cpu_s'])}   "
            f"{row['new_over_old_per_cpu_s']:9.2f}  "
            f"{_ratio(row['golden_over_jax_int8_per_cpu_s']):>9s}")
    lines.append("  cores got (CPU s / wall s):      " + ", ".join(
        f"{th} thr: golden {row['golden_cores_used']:.2f} old {row['old_kernel_cores_used']:.2f}"
        + ("" if row["jax_int8_cores_used"] is None else
           f" JAX {row['jax_int8_cores_used']:.2f}")
        for th, row in r["by_threads"].items()))
    lines.append(f"  golden = old kernel bit for bit on these inputs: "
                 f"{'yes' if r['new_equals_old_bit_exact'] else 'NO'}")
    lines += [
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
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
