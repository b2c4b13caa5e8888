"""Episodes of a batch of members on a backend: the loop every evaluator shares.

A member's outcome depends only on its connections and its episodes' env seeds (network state
is reset at every episode start), never on which slot, batch or process ran it; that is what
makes runs on the golden model, the virtual board and an FPGA identical for the same seed.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import derive, normalize_obs, quantize_obs
from .envs import make_env, survival_bonus, unit_to_action
from .evaluator import Backend, EvalJob, EvalResult

__all__ = ["job_genomes", "es_noise", "run_members", "EnvPool"]


def es_noise(gen_seed: int, pair: int, n_params: int) -> np.ndarray:
    """The ES baseline's Gaussian noise of antithetic pair ``pair`` (counter-based, Philox)."""
    rng = np.random.Generator(np.random.Philox(key=(int(gen_seed) << 32) | int(pair)))
    return rng.standard_normal(n_params)


def job_genomes(job: EvalJob, idx: np.ndarray) -> np.ndarray:
    """The genomes of members ``job.member_ids[idx]``: explicit, EC seed-based, or ES."""
    idx = np.asarray(idx, np.int64)
    if job.genomes is not None:
        return job.genomes[idx]
    ids = job.member_ids[idx]
    if job.es_center is not None:
        out = np.empty((len(ids), job.es_center.shape[0]))
        for r, m in enumerate(ids):
            sign = 1.0 if m % 2 == 0 else -1.0
            out[r] = job.es_center + sign * job.es_sigma * es_noise(job.gen_seed, m // 2,
                                                                    job.es_center.shape[0])
        return out
    if job.gen_seed is None or job.rho_q is None:
        raise ValueError("an EvalJob needs genomes, or gen_seed and rho_q, or es_center")
    from ..model.packing import GenomeLayout
    from ..model.sampler import sample_members

    return sample_members(job.gen_seed, ids, job.rho_q, GenomeLayout.of(job.net),
                          job.antithetic)


class EnvPool:
    """Environments kept across generations (construction costs more than a reset)."""

    def __init__(self):
        self._envs: dict[str, list] = {}

    def get(self, env_id: str, n: int) -> list:
        envs = self._envs.setdefault(env_id, [])
        while len(envs) < n:
            envs.append(make_env(env_id))
        return envs[:n]

    def close(self) -> None:
        for envs in self._envs.values():
            for e in envs:
                e.close()
        self._envs.clear()


def run_members(backend: Backend, job: EvalJob, idx: np.ndarray, pool: EnvPool) -> EvalResult:
    """Run every episode of members ``idx`` (indices into the job), ``backend.slots`` at a time."""
    idx = np.asarray(idx, np.int64)
    m_total = len(idx)
    d = job.net.obs_dim
    returns = np.zeros(m_total)
    fitness = np.zeros(m_total)
    steps = np.zeros(m_total, np.int64)
    obs_count = np.zeros(m_total, np.int64)
    obs_sum = np.zeros((m_total, d))
    obs_sumsq = np.zeros((m_total, d))
    fixed = backend.encoding == "fixed"
    fp = derive(job.net, job.core) if fixed else None
    n_ep = job.env_seeds.shape[1]
    s = backend.slots
    rho_sent = None
    for c0 in range(0, m_total, s):
        chunk = idx[c0:c0 + s]
        n = len(chunk)
        rows = np.arange(c0, c0 + n)
        if job.sampling == "device" and job.genomes is None and job.es_center is None:
            if job.antithetic:
                raise ValueError("--sampling device with antithetic needs a device that "
                                 "supports it (use --no-antithetic)")
            if not backend.supports_sampling:
                raise ValueError(f"the {type(backend).__name__} target cannot sample members "
                                 f"on the device; use sampling 'host'")
            if rho_sent is None or not np.array_equal(rho_sent, job.rho_q):
                backend.load_rho(job.rho_q)
                rho_sent = job.rho_q
            backend.sample(job.gen_seed, job.member_ids[chunk])
        else:
            backend.load(job_genomes(job, chunk))
        envs = pool.get(job.env_id, n)
        low = envs[0].action_space.low.astype(np.float64)
        high = envs[0].action_space.high.astype(np.float64)
        obs = np.zeros((s, d))
        ep = np.zeros(n, np.int64)
        t_ep = np.zeros(n, np.int64)
        active = np.zeros(s, bool)
        active[:n] = True
        backend.reset(np.ones(s, bool))
        for i in range(n):
            obs[i] = envs[i].reset(seed=int(job.env_seeds[chunk[i], 0]))[0]
        while active.any():
            live = np.flatnonzero(active)
            r_live = rows[live]
            o_live = obs[live]
            obs_count[r_live] += 1
            obs_sum[r_live] += o_live
            obs_sumsq[r_live] += o_live * o_live
            enc = (quantize_obs(obs, job.obs_mean, job.obs_std, fp) if fixed
                   else normalize_obs(obs, job.obs_mean, job.obs_std))
            act = unit_to_action(backend.step(enc, active), low, high)
            reset_mask = np.zeros(s, bool)
            for i in live:
                o, r, term, trunc, info = envs[i].step(act[i])
                r = float(r)
                returns[rows[i]] += r
                fitness[rows[i]] += r - survival_bonus(info, job.healthy_reward)
                t_ep[i] += 1
                obs[i] = o
                if term or trunc or t_ep[i] >= job.max_episode_steps:
                    ep[i] += 1
                    t_ep[i] = 0
                    if ep[i] < n_ep:
                        obs[i] = envs[i].reset(seed=int(job.env_seeds[chunk[i], ep[i]]))[0]
                        reset_mask[i] = True
                    else:
                        active[i] = False
            steps[r_live] += 1
            if reset_mask.any():
                backend.reset(reset_mask)
    return EvalResult(returns=returns / n_ep, fitness=fitness / n_ep, steps=steps,
                      obs_count=obs_count, obs_sum=obs_sum, obs_sumsq=obs_sumsq)


def concat_results(parts: list[EvalResult]) -> EvalResult:
    """Concatenate partial results in order."""
    return EvalResult(**{k: np.concatenate([getattr(p, k) for p in parts])
                         for k in ("returns", "fitness", "steps", "obs_count", "obs_sum",
                                   "obs_sumsq")})
