"""The dense baseline of ``ec-hw train --task digits``: OpenAI-ES on a float MLP of equal neuron
count, trained like EC (same minibatches, same cross-entropy fitness, same held-out split).

Run ``python bench/digits_baseline.py [--minutes M] [--json FILE]``. The MLP has three tanh
hidden layers of ``--hidden`` units (default 168: 3 x 168 = 504 neurons, the neuron count of the
default mixer, N = 512 with 504 neurons in its three layers) and a linear head; its logits are
the head's outputs. ES: ``--pop`` members (antithetic pairs of
:func:`ec_hw.train.rollout.es_noise`), centered ranks (:func:`ec_hw.train.ec.centered_ranks`),
:func:`ec_hw.train.es.antithetic_gradient`, AdamW (:class:`ec_hw.train.optim.Adam`; lr 0.01,
sigma 0.02, weight decay 0.005, the scales of weight-space ES on a float MLP, not the RSNN's
0.15/0.3/0.1), minibatch of :data:`ec_hw.tasks.classify.BATCH` images drawn per generation by
:func:`~ec_hw.tasks.classify.minibatch`. The held-out accuracy of the center is printed every
``--every`` generations.

It also measures, in the same run, image presentations per second of one generation's work
(``--pop`` members x one minibatch) for the EC golden model (the mixer, 16 substeps per image)
and for the MLP forward pass, and prints their ratio. Absolute numbers depend on the load of
this shared machine; the ratio less so. The MLP runs on one BLAS thread, the golden model on
Numba's threads (both cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def mlp_layout(n_in: int, hidden: int, n_out: int, layers: int = 3):
    sizes = [n_in] + [hidden] * layers + [n_out]
    shapes = [(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    n = sum(a * b + b for a, b in shapes)
    return shapes, n


def mlp_forward(theta: np.ndarray, shapes, x: np.ndarray) -> np.ndarray:
    """Logits (M, K, C) of M parameter vectors on images x (K, D); tanh hidden layers.

    float32; the first layer is one GEMM of the images against every member's weights side by
    side, the others one GEMM per member (numpy's stacked matmul on contiguous arrays).
    """
    m = theta.shape[0]
    th = theta.astype(np.float32)
    h = None
    o = 0
    for i, (a, b) in enumerate(shapes):
        w = np.ascontiguousarray(th[:, o:o + a * b]).reshape(m, a, b)
        o += a * b
        bias = th[:, o:o + b]
        o += b
        if h is None:
            wide = np.ascontiguousarray(w.transpose(1, 0, 2)).reshape(a, m * b)
            h = (x.astype(np.float32) @ wide).reshape(x.shape[0], m, b).transpose(1, 0, 2)
            h = np.ascontiguousarray(h)
        else:  # numpy's stacked matmul does not call BLAS: one GEMM per member instead
            h = np.stack([h[j] @ w[j] for j in range(m)])
        h += bias[:, None, :]
        if i < len(shapes) - 1:
            np.tanh(h, out=h)
    return h


def init_params(shapes, n, seed):
    rng = np.random.Generator(np.random.Philox(key=seed ^ 0x5EED))
    theta = np.zeros(n)
    o = 0
    for a, b in shapes:
        theta[o:o + a * b] = rng.standard_normal(a * b) / np.sqrt(a)
        o += a * b + b
    return theta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="ES training budget")
    ap.add_argument("--pop", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=168)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--sigma", type=float, default=0.02)
    ap.add_argument("--weight-decay", type=float, default=0.005)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the results as one JSON object to this file")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on this shared 2-core machine OpenBLAS's spinning threads made a forward
    # pass vary from 0.7 s to 13 s; with one thread it is steady.
    threadpool_limits(1)

    from ec_hw.config import CoreConfig
    from ec_hw.model.core import FixedNet
    from ec_hw.model.images import present_images
    from ec_hw.model.sampler import generation_seed, quantize_rho, sample_members
    from ec_hw.tasks.classify import BATCH, accuracy, encode_images, minibatch, task_net
    from ec_hw.tasks.data import load_dataset
    from ec_hw.topology import initial_rho
    from ec_hw.train.ec import centered_ranks
    from ec_hw.train.es import antithetic_gradient
    from ec_hw.train.optim import Adam
    from ec_hw.train.rollout import es_noise

    data = load_dataset("digits")
    # Throughput of one generation's presentations, EC golden model vs the MLP.
    net, core = task_net(data), CoreConfig()
    fx = FixedNet(net, core)
    g = sample_members(generation_seed(args.seed, 0), np.arange(args.pop),
                       quantize_rho(initial_rho(net, args.seed)), fx.layout)
    x_q = encode_images(data.x_train[:BATCH], net, core)
    present_images(fx.p, fx.lay, x_q[:2], g[:2])  # compile
    t = time.perf_counter()
    present_images(fx.p, fx.lay, x_q, g)
    ec_rate = args.pop * BATCH / (time.perf_counter() - t)
    shapes, n = mlp_layout(data.n_pixels, args.hidden, data.n_classes)
    theta = init_params(shapes, n, args.seed)
    pop_theta = theta[None] + args.sigma * np.stack(
        [es_noise(1, p, n) for p in range(args.pop // 2) for _ in (0, 1)])
    t = time.perf_counter()
    mlp_forward(pop_theta, shapes, data.x_train[:BATCH])
    mlp_rate = args.pop * BATCH / (time.perf_counter() - t)
    print(f"presentations/s (pop {args.pop} x {BATCH} images): EC golden model "
          f"(N = {net.n_neurons}, {net.substeps} substeps) {ec_rate:,.0f}, ES-MLP "
          f"({3 * args.hidden} neurons, {n} float params) {mlp_rate:,.0f}, "
          f"ratio MLP/EC {mlp_rate / ec_rate:.1f}", flush=True)

    adam = Adam.zeros(n, lr=args.lr, weight_decay=args.weight_decay)
    ids = np.arange(args.pop)
    curve = []
    t0 = time.perf_counter()
    gen = 0
    presented = 0
    while time.perf_counter() - t0 < args.minutes * 60:
        gs = generation_seed(args.seed, gen)
        idx = minibatch(gs, len(data.y_train))
        x, y = data.x_train[idx], data.y_train[idx]
        eps = np.stack([es_noise(gs, p, n) for p in range(args.pop // 2)])
        members = np.repeat(theta[None], args.pop, axis=0)
        members[0::2] += args.sigma * eps
        members[1::2] -= args.sigma * eps
        z = mlp_forward(members, shapes, x).astype(np.float64)
        zmax = z.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(z - zmax).sum(axis=-1)) + zmax[..., 0]
        ce = (lse - z[:, np.arange(len(y)), y]).mean(axis=-1)
        grad = antithetic_gradient(gs, ids, centered_ranks(-ce), n, args.sigma)
        theta = adam.step(theta, grad)
        presented += args.pop * len(y)
        gen += 1
        if gen % args.every == 0:
            acc = accuracy(mlp_forward(theta[None], shapes, data.x_test), data.y_test)[0]
            presented += len(data.y_test)
            el = time.perf_counter() - t0
            curve.append({"generation": gen, "time_s": round(el, 1),
                          "presentations": presented, "test_acc": round(100 * acc, 2)})
            print(f"gen {gen:4d}  {el:6.0f} s  {presented:>10,} presentations  held-out "
                  f"{100 * acc:5.1f} %  train CE {ce.mean():.3f}", flush=True)
    out = {"ec_presentations_per_s": ec_rate, "mlp_presentations_per_s": mlp_rate,
           "mlp_params": n, "mlp_neurons": 3 * args.hidden, "curve": curve,
           "best_test_acc": max((c["test_acc"] for c in curve), default=None)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
