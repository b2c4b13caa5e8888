"""Population evaluation on a Ray cluster: one actor per worker, rho once per generation.

An EC member is fully described by ``(gen_seed, member index)`` plus the generation's quantized
rho, so a generation's job travels to the cluster once (``ray.put``) and each actor fetches it
once; after that the driver hands out chunks of members (index and env seeds per member) and
receives per-member scalars (return, fitness, steps and the observation sums). Chunks are small
and handed out as actors finish (work stealing), so a slow or lost actor costs only its
outstanding chunks: they are re-queued on the others, and the actor is replaced.

A member's result depends only on its connections and its episodes' env seeds (see
:mod:`ec_hw.train.rollout`), so the assembled :class:`~ec_hw.train.evaluator.EvalResult` is the
same whichever actor ran whichever chunk, and the same as on the in-process evaluator, provided
every worker runs the same code and libraries (checked at start-up, see ``check_versions``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..config import is_cluster_address
from .backends import BackendSpec
from .evaluator import EvalJob, EvalResult, Evaluator
from .local import WorkerError

__all__ = ["RayEvaluator", "RayWorker", "ClusterError", "fingerprint", "is_cluster_address",
           "cluster_cpus", "shared_part", "member_rows", "join_job"]


class ClusterError(WorkerError):
    """Ray is missing, the cluster cannot be reached, or its workers cannot serve the job."""


def shared_part(job: EvalJob) -> EvalJob:
    """The job without its per-member rows: what every worker fetches once per job (rho_q or
    the ES center, observation statistics, episode settings)."""
    return replace(job, member_ids=job.member_ids[:0], env_seeds=job.env_seeds[:0],
                   genomes=None if job.genomes is None else job.genomes[:0])


def member_rows(job: EvalJob, idx: np.ndarray) -> tuple:
    """The per-member rows of members ``idx``: ids, env seeds and (explicit jobs) genomes."""
    return (job.member_ids[idx], job.env_seeds[idx],
            None if job.genomes is None else job.genomes[idx])


def join_job(shared: EvalJob, rows: tuple) -> EvalJob:
    """Rebuild the job of a chunk from :func:`shared_part` and :func:`member_rows`."""
    ids, seeds, genomes = rows
    return replace(shared, member_ids=ids, env_seeds=seeds, genomes=genomes)


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("Ray workers need the ray extra: pip install 'ec-hw[ray]'") from None
    return ray


def connect(address: str | None, runtime_env: dict | None = None) -> bool:
    """Connect this process to Ray unless it already is; return True if this call connected.

    ``None`` or ``"ray"``: the cluster Ray finds (``RAY_ADDRESS``, then the latest cluster
    started on this machine), else a new local one. ``"auto"``: an existing cluster only.
    ``"ray://HOST:PORT"``: Ray Client. ``"HOST:PORT"``: the GCS of a cluster this machine
    belongs to. ``runtime_env`` becomes the job's runtime environment (local directories in
    ``py_modules`` are uploaded only at this level).
    """
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=None if address in (None, "ray") else address,
                 include_dashboard=False if address in (None, "ray") else None,
                 log_to_driver=True, runtime_env=runtime_env)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot connect to the Ray cluster at {address or 'ray'}: "
                           f"{exc}") from None
    return True


def cluster_cpus(address: str | None) -> int:
    """Connect (see :func:`connect`) and return the cluster's CPU count (at least 1)."""
    connect(address)
    return max(1, int(_ray().cluster_resources().get("CPU", 1)))


def fingerprint() -> dict:
    """What must match on every worker for results not to depend on the worker: a hash of the
    ec_hw sources (and of the host link's, which the hardware targets run), and the versions of
    Python and the numeric and simulation libraries."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for pkg in ("ec_hw", "host"):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for p in sorted(root.rglob("*.py")):
            h.update(f"{pkg}/{p.relative_to(root)}".encode())
            h.update(p.read_bytes())
    out = {"ec_hw": h.hexdigest()[:16], "python": ".".join(map(str, sys.version_info[:3]))}
    for pkg in ("numpy", "numba", "gymnasium", "mujoco", "envpool"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


@dataclass(frozen=True, kw_only=True)
class RayWorker:
    """One actor's recipe: its backend and the node resources it needs.

    A worker on the host with a board uses ``BackendSpec(target="fpga", port=...)`` and asks for
    a custom resource that only that host offers (``ray start --resources='{"board0": 1}'``),
    so Ray places (and re-places) it there.
    """

    spec: BackendSpec
    resources: Mapping[str, float] = field(default_factory=dict)
    """Custom Ray resources the actor requires, e.g. ``{"board0": 1}``."""
    num_cpus: float = 1.0
    """CPUs the actor reserves (it runs Numba single-threaded)."""

    def __post_init__(self) -> None:
        if not isinstance(self.spec, BackendSpec):
            raise TypeError(f"spec must be a BackendSpec, not {type(self.spec).__name__}")
        if not isinstance(self.num_cpus, (int, float)) or self.num_cpus < 0:
            raise ValueError(f"num_cpus must be >= 0, not {self.num_cpus!r}")


class _RhoOnce:
    """A backend whose ``load_rho`` skips a rho it already holds: the actor runs
    :meth:`~ec_hw.train.rollout.Engine.run` once per chunk, and a board with on-device
    sampling should receive each generation's rho once, not once per chunk."""

    def __init__(self, inner):
        self._inner = inner
        self._rho = None
        self.rho_loads = 0

    def __getattr__(self, name):  # slots, encoding, supports_sampling, load, step, ...
        return getattr(self._inner, name)

    def load_rho(self, rho_q: np.ndarray) -> None:
        if self._rho is None or not np.array_equal(self._rho, rho_q):
            self._inner.load_rho(rho_q)
            self._rho = np.array(rho_q, copy=True)
            self.rho_loads += 1


class _Worker:
    """The actor: its own backend and envs, Numba on one thread, the current job cached."""

    def __init__(self, spec: BackendSpec, env_backend: str = "gymnasium", threads: int = 1):
        from ..runtime import setup_process

        setup_process()  # a Ray actor's process does not inherit the driver's environment
        import numba

        from .backends import make_backend
        from .rollout import Engine

        numba.set_num_threads(threads)
        self._spec = spec
        self._fingerprint = fingerprint()
        self._backend = _RhoOnce(make_backend(spec))
        self._engine = Engine(env_backend, threads)
        self._key = None
        self._job = None
        self.jobs_fetched = 0

    def info(self) -> dict:
        import socket

        import ray

        return {"pid": os.getpid(), "host": socket.gethostname(),
                "node": ray.get_runtime_context().get_node_id(),
                "target": self._spec.target, "fingerprint": self._fingerprint}

    def run(self, job_box: list, rows: tuple) -> EvalResult:
        # The shared job's ref arrives inside a list so Ray does not resolve it per call: the
        # actor fetches each job once and then receives only member rows (a few scalars each).
        import ray

        ref = job_box[0]
        key = ref.binary()
        if key != self._key:
            self._job, self._key = None, None  # release the previous job first
            self._job = ray.get(ref)
            self._key = key
            self.jobs_fetched += 1
        job = join_job(self._job, rows)
        return self._engine.run(self._backend, job, np.arange(len(job.member_ids)))

    def stats(self) -> dict:
        return {"jobs_fetched": self.jobs_fetched, "rho_loads": self._backend.rho_loads,
                "cpu_s": time.process_time()}

    def close(self) -> None:
        self._job = None
        self._engine.close()
        self._backend.close()


_REMOTE = None


def _remote_worker():
    global _REMOTE
    if _REMOTE is None:
        _REMOTE = _ray().remote(_Worker)
    return _REMOTE


class RayEvaluator(Evaluator):
    """Evaluate jobs on Ray actors: one actor per worker, each with its own backend and envs.

    Parameters
    ----------
    spec
        One :class:`BackendSpec` for every actor, or one :class:`BackendSpec` or
        :class:`RayWorker` per actor (per-worker targets: a board's host runs ``fpga``).
    address
        Cluster address, see :func:`connect`. Ignored if this process is already connected.
    workers
        Actor count (a single ``spec`` only); default: the cluster's CPUs.
    chunk
        Members per task; default ``ceil(M / (chunks_per_worker * actors))``.
    chunks_per_worker
        Tasks per actor per job when ``chunk`` is not given (more: finer load balancing).
    inflight
        Tasks queued per actor, so an actor never idles between chunks.
    timeout
        Seconds an actor with outstanding chunks may go without finishing one before it is
        declared hung, killed and its chunks re-queued; None waits forever.
    start_timeout
        Seconds an actor may take to start (import, JIT, connect its backend) on top of
        ``timeout``; a worker that needs resources no node offers fails after it.
    restarts
        Replacement actors per worker over the evaluator's life; 0 never replaces one.
    runtime_env
        Ray runtime environment: the job's if this evaluator connects to Ray (e.g.
        ``{"py_modules": [str(Path(m.__file__).parent) for m in (ec_hw, host)]}`` ships the
        driver's sources to the workers), else the actors' (URIs only).
    check_versions
        Refuse workers whose :func:`fingerprint` differs from the driver's.
    on_chunk
        Called as ``on_chunk(evaluator, done)`` after each chunk of a job completes (progress,
        fault-injection tests).
    env_backend
        The actors' env engine (:data:`~ec_hw.train.envs.ENV_BACKENDS`); each actor runs the
        batched rollout engine with as many threads as the CPUs it reserves.

    Raises
    ------
    ClusterError
        Ray is not installed, the cluster is unreachable, or a worker cannot start or runs
        different code.
    WorkerError
        From :meth:`evaluate`: a chunk raised (a bug or a bad job, not retried), or every
        worker is gone and no replacement is allowed.
    """

    def __init__(self, spec: BackendSpec | Sequence[BackendSpec | RayWorker],
                 address: str | None = None, workers: int | None = None, *,
                 chunk: int | None = None, chunks_per_worker: int = 4, inflight: int = 2,
                 timeout: float | None = 300.0, start_timeout: float = 300.0,
                 restarts: int = 3,
                 runtime_env: dict | None = None, check_versions: bool = True,
                 on_chunk: Callable[[RayEvaluator, int], None] | None = None,
                 env_backend: str = "gymnasium"):
        if isinstance(spec, (BackendSpec, RayWorker)):
            if workers is not None and (not isinstance(workers, int) or workers < 1):
                raise ValueError(f"workers must be a positive integer, not {workers!r}")
            recipes = None
            one = spec if isinstance(spec, RayWorker) else RayWorker(spec=spec)
        else:
            recipes = [s if isinstance(s, RayWorker) else RayWorker(spec=s) for s in spec]
            if not recipes:
                raise ValueError("spec must name at least one worker")
            if workers is not None and workers != len(recipes):
                raise ValueError(f"workers must match the {len(recipes)} worker specs, "
                                 f"not {workers!r}")
        for name, v in (("chunks_per_worker", chunks_per_worker), ("inflight", inflight)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
            raise ValueError(f"chunk must be a positive integer, not {chunk!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive or None, not {timeout!r}")
        if not start_timeout > 0:
            raise ValueError(f"start_timeout must be positive, not {start_timeout!r}")
        if not isinstance(restarts, int) or restarts < 0:
            raise ValueError(f"restarts must be >= 0, not {restarts!r}")
        self.env_backend = env_backend
        self.chunk, self.chunks_per_worker, self.inflight = chunk, chunks_per_worker, inflight
        self.timeout, self.on_chunk = timeout, on_chunk
        self.check_versions, self.start_timeout = check_versions, start_timeout
        self._owns_ray = connect(address, runtime_env)
        if self._owns_ray:
            runtime_env = None  # already the job's
        self.runtime_env = runtime_env
        if recipes is None:
            n = workers if workers is not None else cluster_cpus(address)
            recipes = [one] * n
        self.recipes = recipes
        self.actors: list = [None] * len(recipes)
        """Live actor handle per worker slot (None once lost for good)."""
        self.restarts_left = [restarts] * len(recipes)
        self.restarted = 0
        """Actors replaced so far."""
        self.requeued = 0
        """Chunks re-queued after their actor died or hung."""
        self.last_loss = ""
        """Why the last actor was dropped."""
        self.driver_fingerprint = fingerprint()
        self.worker_info: list[dict | None] = [None] * len(recipes)
        self._owned: list[list] = [[] for _ in recipes]
        self._confirmed = [False] * len(recipes)  # started and checked
        try:
            for w in range(len(recipes)):
                self.actors[w] = self._spawn(w)
            for w in range(len(recipes)):
                self._check(w)
        except BaseException:
            self.close()
            raise

    # --- actors ------------------------------------------------------------------------------

    @property
    def workers(self) -> int:
        return len(self.recipes)

    def _spawn(self, w: int):
        r = self.recipes[w]
        opts = {"num_cpus": r.num_cpus, "max_restarts": 0}
        if r.resources:
            opts["resources"] = dict(r.resources)
        if self.runtime_env is not None:
            opts["runtime_env"] = self.runtime_env
        return _remote_worker().options(**opts).remote(r.spec, self.env_backend,
                                                       max(1, int(r.num_cpus)))

    def _check(self, w: int) -> None:
        ray = _ray()
        try:
            info = ray.get(self.actors[w].info.remote(), timeout=self.start_timeout)
        except ray.exceptions.GetTimeoutError:
            raise ClusterError(f"worker {w} did not start within {self.start_timeout} s (no node "
                               f"with {dict(self.recipes[w].resources) or 'a free CPU'}?)"
                               ) from None
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"worker {w} ({self.recipes[w].spec.target}) failed to start: "
                               f"{_cause(exc)}") from None
        if self.check_versions and info["fingerprint"] != self.driver_fingerprint:
            diff = {k: (self.driver_fingerprint.get(k), v)
                    for k, v in info["fingerprint"].items() if self.driver_fingerprint.get(k) != v}
            raise ClusterError(f"worker {w} on {info['host']} runs other code than the driver "
                               f"(driver, worker): {diff}; results would depend on the worker")
        self.worker_info[w] = info
        self._confirmed[w] = True

    def _lose(self, w: int, why: str) -> None:
        """Drop actor ``w`` (dead or hung) and start a replacement if the budget allows."""
        ray = _ray()
        actor, self.actors[w] = self.actors[w], None
        if actor is not None:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
        self._confirmed[w] = False
        if self.restarts_left[w] > 0:
            self.restarts_left[w] -= 1
            self.restarted += 1
            self.actors[w] = self._spawn(w)  # checked when its first chunk returns
        self.last_loss = why

    @property
    def outstanding(self) -> list[int]:
        """Chunks submitted to each worker and not yet returned (during :meth:`evaluate`)."""
        return [len(o) for o in self._owned]

    def stats(self) -> list[dict | None]:
        """Per live actor: jobs fetched from the object store, rhos loaded into its backend
        (on-device sampling), CPU seconds used."""
        ray = _ray()
        return [None if a is None else ray.get(a.stats.remote()) for a in self.actors]

    # --- evaluation --------------------------------------------------------------------------

    def evaluate(self, job: EvalJob) -> EvalResult:
        ray = _ray()
        from .rollout import concat_results

        m = len(job.member_ids)
        if m == 0:
            d = job.net.obs_dim
            return EvalResult(returns=np.zeros(0), fitness=np.zeros(0),
                              steps=np.zeros(0, np.int64), obs_count=np.zeros(0, np.int64),
                              obs_sum=np.zeros((0, d)), obs_sumsq=np.zeros((0, d)))
        live = sum(a is not None for a in self.actors)
        size = self.chunk or -(-m // (self.chunks_per_worker * max(live, 1)))
        chunks = [np.arange(a, min(a + size, m), dtype=np.int64) for a in range(0, m, size)]
        queue = deque(range(len(chunks)))
        box = [ray.put(shared_part(job))]  # one upload per job; actors fetch it once each
        parts: dict[int, EvalResult] = {}
        pending: dict = {}  # ObjectRef -> (worker, chunk id)
        owned: list[list] = [[] for _ in self.actors]
        self._owned = owned
        progress = [time.monotonic()] * len(self.actors)

        def feed(w: int) -> None:
            while self.actors[w] is not None and queue and len(owned[w]) < self.inflight:
                cid = queue.popleft()
                if cid in parts:
                    continue
                ref = self.actors[w].run.remote(box, member_rows(job, chunks[cid]))
                pending[ref] = (w, cid)
                owned[w].append(ref)
                if len(owned[w]) == 1:
                    progress[w] = time.monotonic()

        def lose(w: int, why: str, failed: tuple = ()) -> None:
            lost = [*failed, *(pending.pop(r)[1] for r in owned[w] if r in pending)]
            owned[w].clear()
            queue.extendleft(reversed([c for c in lost if c not in parts]))
            self.requeued += len(lost)
            self._lose(w, why)
            progress[w] = time.monotonic()

        try:
            for w in range(len(self.actors)):
                feed(w)
            while len(parts) < len(chunks):
                if not pending:
                    raise WorkerError(f"every Ray worker is gone ({self.last_loss})"
                                      f"; {len(chunks) - len(parts)} chunks unevaluated")
                wait_s = 1.0 if self.timeout is None else min(1.0, self.timeout)
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=wait_s)
                for ref in ready:
                    if ref not in pending:  # its actor was dropped meanwhile
                        continue
                    w, cid = pending.pop(ref)
                    owned[w].remove(ref)
                    try:
                        part = ray.get(ref)
                    except ray.exceptions.RayActorError as exc:
                        lose(w, f"worker {w} died: {_cause(exc)}", (cid,))
                    except ray.exceptions.RayTaskError as exc:
                        ids = job.member_ids[chunks[cid]]
                        raise WorkerError(f"worker {w} failed on members {ids[0]}..{ids[-1]}: "
                                          f"{_cause(exc)}") from None
                    except ray.exceptions.RayError as exc:  # a lost object, a crashed process
                        lose(w, f"worker {w} lost a result: {_cause(exc)}", (cid,))
                    else:
                        if not self._confirmed[w]:
                            self._check(w)  # a replacement may have landed on another node
                        parts.setdefault(cid, part)
                        progress[w] = time.monotonic()
                        if self.on_chunk is not None:
                            self.on_chunk(self, len(parts))
                if self.timeout is not None:
                    now = time.monotonic()
                    for w in range(len(self.actors)):
                        limit = self.timeout + (0 if self._confirmed[w] else self.start_timeout)
                        if owned[w] and now - progress[w] > limit:
                            lose(w, f"worker {w} made no progress for {self.timeout} s")
                for w in range(len(self.actors)):
                    feed(w)
        except BaseException:
            for ref in pending:  # queued chunks of an abandoned job: do not run them
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            raise
        return concat_results([parts[c] for c in range(len(chunks))])

    def close(self) -> None:
        ray = _ray()
        if not ray.is_initialized():
            return
        alive = [a for a in self.actors if a is not None]
        started = [a for a, ok in zip(self.actors, self._confirmed, strict=True)
                   if a is not None and ok]
        try:  # let backends release ports and simulators; unstarted actors are just killed
            ray.get([a.close.remote() for a in started], timeout=10)
        except ray.exceptions.RayError:
            pass
        for a in alive:
            try:
                ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
        self.actors = [None] * len(self.actors)
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
