"""Evaluators on this machine: in-process, or one worker process per core.

Each evaluator runs the batched rollout engine (:class:`~ec_hw.train.rollout.Engine`) on its
share of the population. In process it uses every core (Numba's threads for the network,
EnvPool's threads for the physics). Each worker process owns its environments and its own
backend and runs on one core, so W workers use W cores with no per-step communication: per
generation a worker receives the job (for EC: two integers and the quantized rho) and the
indices of its members, and sends back their returns, step counts and observation statistics.
"""

from __future__ import annotations

import multiprocessing as mp
import os

import numpy as np

from .. import EcHwError
from .backends import BackendSpec
from .evaluator import EvalJob, EvalResult, Evaluator

__all__ = ["InProcessEvaluator", "ProcessEvaluator", "WorkerError", "split_even",
           "default_workers"]


class WorkerError(EcHwError):
    """A worker process failed; its message is carried over."""


def split_even(n: int, parts: int) -> list[np.ndarray]:
    """Split ``0..n-1`` into ``parts`` contiguous index ranges of near-equal size."""
    bounds = np.linspace(0, n, parts + 1).round().astype(np.int64)
    return [np.arange(bounds[i], bounds[i + 1]) for i in range(parts)]


class InProcessEvaluator(Evaluator):
    """Run the backend in this process (hardware targets, tests, one worker)."""

    def __init__(self, spec: BackendSpec, env_backend: str = "gymnasium",
                 threads: int | None = None):
        from .backends import make_backend
        from .rollout import Engine

        self.spec = spec
        self.engine = Engine(env_backend, threads or default_workers())
        self.backend = make_backend(spec)

    def evaluate(self, job: EvalJob) -> EvalResult:
        return self.engine.run(self.backend, job, np.arange(len(job.member_ids)))

    def close(self) -> None:
        self.backend.close()
        self.engine.close()


def _worker_main(conn, spec: BackendSpec, env_backend: str) -> None:
    # Runs in a spawned process: one core, its own envs and backend.
    from ..runtime import setup_process

    setup_process()
    import numba

    from .backends import make_backend
    from .rollout import Engine

    numba.set_num_threads(1)
    backend = None
    engine = Engine(env_backend, threads=1)
    try:
        backend = make_backend(spec)
        conn.send(("ready", None))
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                break
            _, job, idx = msg
            try:
                conn.send(("ok", engine.run(backend, job, idx)))
            except Exception as exc:  # noqa: BLE001 - carried to the driver as a WorkerError
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, KeyboardInterrupt):
        pass
    except Exception as exc:  # noqa: BLE001
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        engine.close()
        if backend is not None:
            backend.close()


class ProcessEvaluator(Evaluator):
    """Split each job's members over ``workers`` spawned processes (contiguous chunks)."""

    def __init__(self, spec: BackendSpec, workers: int, env_backend: str = "gymnasium"):
        ctx = mp.get_context("spawn")
        self.spec = spec
        self._procs = []
        self._conns = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(child, spec, env_backend),
                            daemon=True)
            p.start()
            child.close()
            self._procs.append(p)
            self._conns.append(parent)
        for c in self._conns:
            self._recv(c)

    def _recv(self, conn):
        try:
            kind, payload = conn.recv()
        except EOFError:
            raise WorkerError("a worker process exited unexpectedly") from None
        if kind == "error":
            raise WorkerError(f"worker failed: {payload}")
        return payload

    def evaluate(self, job: EvalJob) -> EvalResult:
        from .rollout import concat_results

        parts = split_even(len(job.member_ids), len(self._conns))
        busy = []
        for conn, idx in zip(self._conns, parts, strict=True):
            if len(idx):
                conn.send(("eval", job, idx))
                busy.append(conn)
        return concat_results([self._recv(c) for c in busy])

    def close(self) -> None:
        for c in self._conns:
            try:
                c.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
        self._procs.clear()
        self._conns.clear()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
