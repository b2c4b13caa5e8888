"""Episodes of many members on a backend: the batched rollout engine every evaluator runs.

A member's outcome depends only on its connections and its episodes' env seeds (network state
is reset at every episode start), never on which slot, batch or process ran it; that is what
makes runs on the golden model, the virtual board and an FPGA identical for the same seed.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import derive, normalize_obs, quantize_obs
from .envs import (
    ENV_BACKENDS,
    EnvBatch,
    keep_survival_bonus,
    make_env_batch,
    probe_env,
    resolve_env_backend,
    unit_to_action,
)
from .evaluator import Backend, EvalJob, EvalResult

__all__ = ["job_genomes", "es_noise", "run_members", "Engine", "concat_results"]


def es_noise(gen_seed: int, pair: int, n_params: int) -> np.ndarray:
    """The ES baseline's Gaussian noise of antithetic pair ``pair`` (counter-based, Philox)."""
    rng = np.random.Generator(np.random.Philox(key=(int(gen_seed) << 32) | int(pair)))
    return rng.standard_normal(n_params)


def job_genomes(job: EvalJob, idx: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The genomes of members ``job.member_ids[idx]``: explicit, EC seed-based, or ES.

    ES genomes are written into ``out`` when it is given (float64, at least ``len(idx)`` rows
    of the center's length) and returned as its first rows: a population of ES-GRU members
    is 256 x 207k float64 (424 MB), and a fresh array of that size every generation costs
    more in page faults than the members' episodes on some machines (docs/baselines.md).
    """
    idx = np.asarray(idx, np.int64)
    if job.genomes is not None:
        return job.genomes[idx]
    ids = job.member_ids[idx]
    if job.es_center is not None:
        shape = (len(ids), job.es_center.shape[0])
        out = np.empty(shape) if out is None else out[: shape[0]]
        if out.shape != shape or out.dtype != np.float64:
            raise ValueError(f"ES genomes need a float64 buffer of {shape}, not "
                             f"{out.dtype} {out.shape}")
        pair, eps = -1, None
        for r, m in enumerate(ids):
            if m // 2 != pair:  # antithetic neighbours share one draw
                pair = m // 2
                eps = es_noise(job.gen_seed, pair, shape[1])
                eps *= job.es_sigma
            # center + eps or center - eps in one pass (same values as center + sign * eps)
            (np.add if m % 2 == 0 else np.subtract)(job.es_center, eps, out=out[r])
        return out
    if job.gen_seed is None or job.rho_q is None:
        raise ValueError("an EvalJob needs genomes, or gen_seed and rho_q, or es_center")
    from ..model.packing import GenomeLayout
    from ..model.sampler import sample_members

    return sample_members(job.gen_seed, ids, job.rho_q, GenomeLayout.of(job.net),
                          job.antithetic)


class Engine:
    """The batched rollout engine of one worker: every in-flight member in one env batch, all
    their actions from one backend call per env step.

    Backend slot ``i`` and env slot ``i`` belong to the same member. A slot whose member has
    finished all its episodes is refilled with the next member at once (per-slot ``load`` or
    ``sample``), so every slot stays busy until the job runs out of members. Observation
    statistics, encoding, episode ends and restarts, returns and step counts are numpy
    operations over the slots.

    A member's outcome depends only on its connections and its episodes' env seeds (network
    state is reset at every episode start), never on its slot, its neighbours, the batch or
    the process that ran it; that is what makes runs on the golden model, the virtual board
    and an FPGA identical for the same seed. On the EnvPool engine the env seeds are not used
    (every episode starts from the model's initial state, see :class:`~ec_hw.train.envs.
    EnvPoolBatch`), so there the outcome depends on the connections alone.

    Parameters
    ----------
    env_backend : str
        ``auto``, ``envpool`` or ``gymnasium`` (:func:`~ec_hw.train.envs.resolve_env_backend`).
    threads : int
        EnvPool worker threads (the worker's cores).
    """

    def __init__(self, env_backend: str = "gymnasium", threads: int = 1):
        if env_backend not in ENV_BACKENDS:
            raise ValueError(f"env_backend must be one of {', '.join(ENV_BACKENDS)}, not "
                             f"{env_backend!r}")
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, not {threads!r}")
        self.env_backend, self.threads = env_backend, threads
        self._batches: dict[str, EnvBatch] = {}
        self._genome_buf: np.ndarray | None = None  # ES members' genomes, reused

    def kind(self, env_id: str) -> str:
        """The engine (``envpool`` or ``gymnasium``) that runs ``env_id``."""
        return resolve_env_backend(env_id, self.env_backend)

    def batch(self, env_id: str, n: int) -> EnvBatch:
        """Env slots ``0..n-1`` of ``env_id`` (kept across jobs: construction costs more than
        a reset)."""
        b = self._batches.get(env_id)
        if b is None or b.n < n:
            if b is not None:
                b.close()
            b = self._batches[env_id] = make_env_batch(env_id, n, self.env_backend,
                                                       self.threads)
        return b

    def close(self) -> None:
        for b in self._batches.values():
            b.close()
        self._batches.clear()

    def _es_buffer(self, job: EvalJob, rows: int) -> np.ndarray | None:
        """A float64 buffer of at least ``rows`` ES genomes, kept across jobs (None: not ES)."""
        if job.es_center is None or job.genomes is not None:
            return None
        n = job.es_center.shape[0]
        buf = self._genome_buf
        if buf is None or buf.shape[1] != n or buf.shape[0] < rows:
            buf = self._genome_buf = np.empty((rows, n))
        return buf

    def run(self, backend: Backend, job: EvalJob, idx: np.ndarray) -> EvalResult:
        """Run every episode of members ``idx`` (indices into the job) on ``backend``."""
        idx = np.asarray(idx, np.int64)
        m_total = len(idx)
        d = job.net.obs_dim
        returns = np.zeros(m_total)
        fitness = np.zeros(m_total)
        steps = np.zeros(m_total, np.int64)
        obs_count = np.zeros(m_total, np.int64)
        obs_sum = np.zeros((m_total, d))
        obs_sumsq = np.zeros((m_total, d))
        n_ep = job.env_seeds.shape[1]
        s = backend.slots
        width = min(s, m_total)
        if width == 0:
            return EvalResult(returns=returns, fitness=fitness, steps=steps,
                              obs_count=obs_count, obs_sum=obs_sum, obs_sumsq=obs_sumsq)
        fixed = backend.encoding == "fixed"
        fp = derive(job.net, job.core) if fixed else None
        spec = probe_env(job.env_id)
        keep_bonus = keep_survival_bonus(job.healthy_reward, spec)
        low, high = spec.act_low, spec.act_high
        envs = self.batch(job.env_id, width)
        device_sampling = (job.sampling == "device" and job.genomes is None
                           and job.es_center is None)
        if device_sampling:
            if not backend.supports_sampling:
                raise ValueError(f"the {type(backend).__name__} target cannot sample members "
                                 f"on the device; use sampling 'host'")
            if job.antithetic and not backend.supports_antithetic:
                raise ValueError("--sampling device with antithetic needs a device that "
                                 "supports it (INFO FEATURE_ANTITHETIC; use --no-antithetic)")
            backend.load_rho(job.rho_q)

        row = np.full(s, -1, np.int64)  # job row (into idx) of each slot's member
        ep = np.zeros(s, np.int64)      # episodes the slot's member has finished
        t_ep = np.zeros(s, np.int64)    # steps into the current episode
        active = np.zeros(s, bool)
        obs = np.zeros((s, d))
        nxt = 0

        def fill(free: np.ndarray) -> np.ndarray:
            # Give the next members of the job to the free slots; return the slots filled.
            nonlocal nxt
            k = min(len(free), m_total - nxt)
            if k == 0:
                return free[:0]
            sl, rows = free[:k], np.arange(nxt, nxt + k)
            nxt += k
            if device_sampling:
                backend.sample(job.gen_seed, job.member_ids[idx[rows]], sl, job.antithetic)
            else:
                backend.load(job_genomes(job, idx[rows], self._es_buffer(job, k)), sl)
            row[sl], ep[sl], t_ep[sl], active[sl] = rows, 0, 0, True
            return sl

        def begin(sl: np.ndarray) -> None:
            # Start the next episode of the members in slots ``sl``: zero state, reset env.
            mask = np.zeros(s, bool)
            mask[sl] = True
            backend.reset(mask)
            obs[sl] = envs.reset(sl, job.env_seeds[idx[row[sl]], ep[sl]])

        begin(fill(np.arange(width)))
        # EnvPool steps in its own threads: the statistics of the observations just acted on
        # are summed while the physics runs (send ... recv); gymnasium steps in this thread.
        split = hasattr(envs, "send")
        x_dtype = np.int32 if fixed else np.float64
        while True:
            live = np.flatnonzero(active)
            if live.size == 0:
                break
            r_live = row[live]  # distinct: a member holds one slot
            o_live = obs[live]
            # Encoded rows of the live slots only (the encoding is row by row); inactive slots
            # get zeros, which no backend reads.
            x = np.zeros((s, d), x_dtype)
            x[live] = (quantize_obs(o_live, job.obs_mean, job.obs_std, fp) if fixed
                       else normalize_obs(o_live, job.obs_mean, job.obs_std))
            act = unit_to_action(backend.step(x, active)[live], low, high)
            if split:
                envs.send(live, act)
            obs_count[r_live] += 1
            obs_sum[r_live] += o_live
            obs_sumsq[r_live] += o_live * o_live
            o, r, term, trunc, surv = envs.recv() if split else envs.step(live, act)
            returns[r_live] += r
            fitness[r_live] += r if keep_bonus else r - surv
            steps[r_live] += 1
            t_ep[live] += 1
            obs[live] = o
            ended = live[term | trunc | (t_ep[live] >= job.max_episode_steps)]
            if ended.size:
                ep[ended] += 1
                t_ep[ended] = 0
                more = ep[ended] < n_ep
                done = ended[~more]
                active[done] = False
                start = np.concatenate([ended[more], fill(done)])
                if start.size:
                    begin(start)
        return EvalResult(returns=returns / n_ep, fitness=fitness / n_ep, steps=steps,
                          obs_count=obs_count, obs_sum=obs_sum, obs_sumsq=obs_sumsq)


def run_members(backend: Backend, job: EvalJob, idx: np.ndarray, engine: Engine
                ) -> EvalResult:
    """Run every episode of members ``idx`` (indices into the job) on ``engine``."""
    return engine.run(backend, job, idx)


def concat_results(parts: list[EvalResult]) -> EvalResult:
    """Concatenate partial results in order."""
    return EvalResult(**{k: np.concatenate([getattr(p, k) for p in parts])
                         for k in ("returns", "fitness", "steps", "obs_count", "obs_sum",
                                   "obs_sumsq")})
