"""A small NIR interpreter in numpy: runs a NIR graph at a fixed time step, batched.

Written to check :func:`ec_hw.export.to_nir` from the file alone (no ec-hw configuration): a
graph read with ``nir.read`` is rebuilt from its nodes, edges and metadata. It supports
``Input``, ``Output``, ``Linear``, ``Affine``, ``Scale``, ``LI`` and ``LIF`` (an unknown node
type raises :class:`NirError`).

Discretization at step ``dt`` (graph metadata ``dt``, same time unit as the ``tau`` values),
``a = exp(-dt / tau)`` (``math.exp``, as :class:`ec_hw.config.NetConfig`):

* A node's input is the sum of its incoming edges.
* ``LI``/``LIF`` with a continuous input ``I`` (held over the step, the exact solution of NIR's
  ``tau dv/dt = (v_leak - v) + R I``): ``v' = a v + (1 - a) (v_leak + R I)``.
* ``LI``/``LIF`` with a spike input (Dirac impulses: the output of a spiking node, through
  ``Linear``/``Scale`` only): ``v' = (a v + (1 - a) v_leak) + (R / tau) I``, the impulses
  arriving at the end of the step.
* ``LIF`` then fires ``z = v' > v_threshold`` and sets ``v' = v_reset`` where it fired.
* Edges out of a spiking node that close a cycle carry the previous step's spikes (one step
  of synaptic delay; zeros at the first step); every other edge is immediate, in
  topological order.
* A ``Linear``/``Affine`` whose nonzero weights share one magnitude ``s`` (a 1-bit layer times
  its scale) is evaluated as ``s * sum(+-x_k)`` with the sum taken left to right over the
  input index ``k`` (the order in which :mod:`ec_hw.model.reference` sums); any other weight
  matrix as ``W @ x``.

Graph metadata ``substeps`` (default 1) steps run per :meth:`NirNetwork.step` with the input
held; ``action_clip`` (optional) clips the output of the last step.
"""

from __future__ import annotations

import math

import numpy as np

from . import EcHwError

__all__ = ["NirNetwork", "NirError"]

_SPIKING = ("LIF", "IF", "CubaLIF")
_PASS_SPIKES = ("Linear", "Scale")


class NirError(EcHwError, ValueError):
    """The graph uses something this interpreter does not implement."""


def _meta(graph, key, default=None):
    md = graph.metadata if isinstance(graph.metadata, dict) else {}
    if key not in md:
        return default
    v = md[key]
    return v.decode() if isinstance(v, bytes) else v


class _Lin:
    """A Linear/Affine weight matrix, factored when it is a scaled sign matrix."""

    def __init__(self, weight, bias=None):
        w = np.asarray(weight, np.float64)
        if w.ndim != 2:
            raise NirError(f"only 2-D weights are supported, not shape {w.shape}")
        self.w = w
        self.bias = None if bias is None else np.asarray(bias, np.float64)
        nz = np.abs(w[w != 0])
        self.scale = float(nz[0]) if nz.size and np.all(nz == nz[0]) else None
        if self.scale is not None:
            self.sign = np.sign(w).astype(np.int8)
            self.cols = [(k, self.sign[:, k] > 0, self.sign[:, k] < 0)
                         for k in range(w.shape[1]) if self.sign[:, k].any()]

    def __call__(self, x):
        if self.scale is None:
            y = x @ self.w.T
        else:
            acc = np.zeros((x.shape[0], self.w.shape[0]))
            for k, pos, neg in self.cols:
                xk = x[:, k:k + 1]
                acc = np.where(pos, acc + xk, np.where(neg, acc - xk, acc))
            y = self.scale * acc
        return y if self.bias is None else y + self.bias


class NirNetwork:
    """A NIR graph with one ``Input`` and one ``Output``, run ``batch`` copies at a time.

    Parameters
    ----------
    graph : nir.NIRGraph
    batch : int
        Independent copies (episodes) stepped together.
    dt : float, optional
        Time step (default: the graph's metadata ``dt``).

    Raises
    ------
    NirError
        Unsupported node types, a cycle without a spiking node, a node mixing spike and
        continuous inputs, or no ``dt``.
    """

    def __init__(self, graph, batch: int = 1, dt: float | None = None):
        self.dt = float(dt if dt is not None else _meta(graph, "dt", np.nan))
        if not math.isfinite(self.dt) or self.dt <= 0:
            raise NirError("the time step dt is missing (graph metadata 'dt' or dt=)")
        self.substeps = int(_meta(graph, "substeps", 1))
        clip = _meta(graph, "action_clip")
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))
        self.batch = batch
        self.nodes = dict(graph.nodes)
        kinds = {name: type(node).__name__ for name, node in self.nodes.items()}
        for name, kind in kinds.items():
            if kind not in ("Input", "Output", "Linear", "Affine", "Scale", "LI", "LIF"):
                raise NirError(f"node {name!r}: NIR {kind} is not supported")
        self.kinds = kinds
        ins = [n for n, k in kinds.items() if k == "Input"]
        outs = [n for n, k in kinds.items() if k == "Output"]
        if len(ins) != 1 or len(outs) != 1:
            raise NirError(f"need one Input and one Output node, not {len(ins)} and {len(outs)}")
        self.input, self.output = ins[0], outs[0]
        edges = [(str(a), str(b)) for a, b in graph.edges]
        succ = {n: [] for n in self.nodes}
        for a, b in edges:
            succ[a].append(b)

        def reaches(src, dst):
            seen, todo = set(), [src]
            while todo:
                u = todo.pop()
                if u == dst:
                    return True
                if u not in seen:
                    seen.add(u)
                    todo.extend(succ[u])
            return False

        self.delayed = {(a, b) for a, b in edges if kinds[a] in _SPIKING and reaches(b, a)}
        self.preds = {n: [a for a, b in edges if b == n] for n in self.nodes}
        order, indeg = [], {n: 0 for n in self.nodes}
        for a, b in edges:
            if (a, b) not in self.delayed:
                indeg[b] += 1
        ready = [n for n in self.nodes if indeg[n] == 0]
        while ready:
            u = ready.pop(0)
            order.append(u)
            for v in succ[u]:
                if (u, v) not in self.delayed:
                    indeg[v] -= 1
                    if indeg[v] == 0:
                        ready.append(v)
        if len(order) != len(self.nodes):
            raise NirError("the graph has a cycle that no spiking node breaks")
        self.order = order
        # Which node outputs are spike trains.
        self.spiking = {}
        for n in order:
            k = kinds[n]
            if k in _SPIKING:
                self.spiking[n] = True
            elif k in _PASS_SPIKES and self.preds[n]:
                self.spiking[n] = all(self.spiking.get(p, kinds[p] in _SPIKING)
                                      for p in self.preds[n])
            else:
                self.spiking[n] = False
        self.ops = {}
        for n in order:
            node, k = self.nodes[n], kinds[n]
            if k == "Linear":
                self.ops[n] = _Lin(node.weight)
            elif k == "Affine":
                self.ops[n] = _Lin(node.weight, node.bias)
            elif k in ("LI", "LIF"):
                flags = {self.spiking.get(p, kinds[p] in _SPIKING) for p in self.preds[n]}
                if len(flags) > 1:
                    raise NirError(f"node {n!r} mixes spike and continuous inputs")
                tau = np.asarray(node.tau, np.float64)
                a = np.array([math.exp(-self.dt / t) for t in tau.reshape(-1)]).reshape(
                    tau.shape)
                r = np.asarray(node.r, np.float64)
                self.ops[n] = {"a": a, "one_a": 1.0 - a, "r": r, "gain": r / tau,
                               "v_leak": np.asarray(node.v_leak, np.float64),
                               "impulse": flags == {True}}
        self.reset()

    def _size(self, n) -> int:
        t = self.nodes[n].output_type
        return int(np.prod(np.asarray(next(iter(t.values())))))

    def reset(self, mask=None) -> None:
        """Zero the state (``v`` and the outputs of the previous step) of the masked copies."""
        if mask is None or not hasattr(self, "state"):
            self.state = {n: np.zeros((self.batch, self._size(n))) for n in self.ops
                          if isinstance(self.ops[n], dict)}
            self.prev = {n: np.zeros((self.batch, self._size(n))) for n in self.nodes}
            return
        sel = np.asarray(mask, bool)
        for d in (self.state, self.prev):
            for v in d.values():
                v[sel] = 0.0

    def substep(self, x: np.ndarray) -> np.ndarray:
        """Advance one ``dt`` with input ``x`` (batch, D); return the Output's value."""
        out = {}
        for n in self.order:
            k = self.kinds[n]
            if k == "Input":
                out[n] = x
                continue
            srcs = [self.prev[p] if (p, n) in self.delayed else out[p] for p in self.preds[n]]
            inp = srcs[0]
            for s in srcs[1:]:
                inp = inp + s
            if k == "Output":
                out[n] = inp
            elif k == "Scale":
                out[n] = inp * np.asarray(self.nodes[n].scale, np.float64)
            elif k in ("Linear", "Affine"):
                out[n] = self.ops[n](inp)
            else:
                p, v = self.ops[n], self.state[n]
                if p["impulse"]:
                    v = (p["a"] * v + p["one_a"] * p["v_leak"]) + p["gain"] * inp
                else:
                    v = p["a"] * v + p["one_a"] * (p["v_leak"] + p["r"] * inp)
                if k == "LIF":
                    z = v > np.asarray(self.nodes[n].v_threshold, np.float64)
                    v = np.where(z, np.asarray(self.nodes[n].v_reset, np.float64), v)
                    out[n] = z.astype(np.float64)
                else:
                    out[n] = v
                self.state[n] = v
        self.prev = out
        return out[self.output]

    def step(self, x: np.ndarray) -> np.ndarray:
        """One env step: ``substeps`` substeps with ``x`` held; the (clipped) last output."""
        x = np.asarray(x, np.float64).reshape(self.batch, -1)
        for _ in range(self.substeps):
            y = self.substep(x)
        return y if self.clip is None else np.minimum(self.clip[1], np.maximum(self.clip[0], y))
