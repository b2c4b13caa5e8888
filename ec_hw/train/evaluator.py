"""The evaluator seam: the trainer asks for returns of members and never knows what ran them.

Two layers:

* :class:`Backend` runs inference for a batch of member *slots* (golden model, float
  reference, Verilator simulation, or an FPGA over a link). It loads packed genomes, resets
  network state and maps one observation per slot to one action per slot.
* :class:`Evaluator` turns a :class:`EvalJob` (which members, which env, which observation
  statistics) into an :class:`EvalResult` (per-member returns, steps and observation
  statistics). Implementations own the environments and the process layout.

A member is either given explicitly (packed genome words) or, for EC, by two integers
(generation seed, member index) plus the generation's quantized rho, from which
:func:`ec_hw.model.sampler.sample_members` regenerates it anywhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..config import CoreConfig, NetConfig

__all__ = ["Backend", "Evaluator", "EvalJob", "EvalResult", "slot_indices"]


def slot_indices(slots, n: int, total: int) -> np.ndarray:
    """``slots`` as an int64 index array of ``n`` distinct slots below ``total`` (default
    ``0..n-1``).

    Raises
    ------
    ValueError
        Wrong length, a slot out of range, or a slot named twice.
    """
    if slots is None:
        slots = np.arange(n)
    slots = np.asarray(slots, np.int64).reshape(-1)
    if slots.shape[0] != n:
        raise ValueError(f"{n} members need {n} slots, not {slots.shape[0]}")
    if n and (slots.min() < 0 or slots.max() >= total):
        raise ValueError(f"slots must lie in 0..{total - 1}, not {slots.tolist()}")
    if np.unique(slots).shape[0] != n:
        raise ValueError(f"slots must be distinct, not {slots.tolist()}")
    return slots


class Backend(ABC):
    """Inference for ``slots`` networks stepped in lockstep.

    Observations arrive already encoded: int32 ``x_q`` (see :func:`ec_hw.fixedpoint.
    quantize_obs`) for fixed-point backends, float64 normalized observations for float ones
    (``encoding`` says which). Actions leave as floats in [-1, 1].
    """

    slots: int
    encoding: str  # "fixed" or "float"

    @abstractmethod
    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        """Load packed genomes ``(n, n_words)`` uint64 into ``slots`` (n distinct slot
        indices; default ``0..n-1``). Other slots keep their members; network state is not
        touched (see :meth:`reset`)."""

    @abstractmethod
    def reset(self, mask: np.ndarray) -> None:
        """Zero the network state of the slots where ``mask`` is true."""

    @abstractmethod
    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Advance active slots by one env step; return actions ``(slots, A)`` in [-1, 1]."""

    supports_sampling: bool = False
    """True if the backend can draw members itself from (generation seed, member index)."""
    supports_antithetic: bool = False
    """True if :meth:`sample` also draws antithetic (mirrored) pairs."""

    def load_rho(self, rho_q: np.ndarray) -> None:
        """Store a generation's quantized rho (flat genome order, uint16) for :meth:`sample`."""
        raise NotImplementedError(f"{type(self).__name__} cannot sample members itself")

    def sample(self, gen_seed: int, members: np.ndarray, slots: np.ndarray | None = None,
               antithetic: bool = False) -> None:
        """Fill ``slots`` (default ``0..len(members)-1``) with members drawn from the stored
        rho (:mod:`ec_hw.model.sampler`; ``antithetic``: as mirrored pairs, backends with
        :attr:`supports_antithetic` only), instead of loading explicit connections."""
        raise NotImplementedError(f"{type(self).__name__} cannot sample members itself")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the backend's resources (processes, ports)."""


@dataclass(frozen=True, kw_only=True)
class EvalJob:
    """One batch of members to evaluate on one environment."""

    env_id: str
    net: NetConfig
    core: CoreConfig = CoreConfig()
    """Fixed-point widths (the observation encoding of fixed-point backends depends on them)."""
    obs_mean: np.ndarray
    obs_std: np.ndarray
    env_seeds: np.ndarray
    """(M, episodes) int64: the reset seed of every episode of every member."""
    member_ids: np.ndarray
    """(M,) int64: member indices (for seed-based members and for bookkeeping)."""
    genomes: np.ndarray | None = None
    """(M, n_words) uint64 explicit genomes, or None for seed-based members."""
    gen_seed: int | None = None
    """Generation seed of seed-based members."""
    rho_q: np.ndarray | None = None
    """(n_conn,) uint16 quantized rho of seed-based members."""
    es_center: np.ndarray | None = None
    """ES only: (n_params,) float64 center; member ``m`` is ``center +- sigma * eps_{m // 2}``
    with the noise regenerated from ``(gen_seed, m // 2)``."""
    es_sigma: float = 0.0
    antithetic: bool = False
    """EC seed-based members are mirrored pairs (:mod:`ec_hw.model.sampler`)."""
    sampling: str = "host"
    """``host``: connections are drawn on the host and loaded explicitly; ``device``: the
    backend receives rho once and draws each member itself from (gen_seed, member)."""
    max_episode_steps: int = 1000
    healthy_reward: bool | None = True
    """If False, fitness excludes the env's survival bonus (the reported return never does);
    None excludes it only in envs that also reward forward progress (``reward_forward``)."""


@dataclass(frozen=True, kw_only=True)
class EvalResult:
    """Per-member outcome of an :class:`EvalJob`, in the job's member order."""

    returns: np.ndarray
    """(M,) mean true env return over the member's episodes."""
    fitness: np.ndarray
    """(M,) the value ranked by the optimizer (returns, or returns minus survival bonus)."""
    steps: np.ndarray
    """(M,) total env steps taken."""
    obs_count: np.ndarray
    """(M,) observations seen."""
    obs_sum: np.ndarray
    """(M, D) sum of raw observations."""
    obs_sumsq: np.ndarray
    """(M, D) sum of squared raw observations."""


class Evaluator(ABC):
    """Evaluate batches of members; the trainer's only view of inference."""

    @abstractmethod
    def evaluate(self, job: EvalJob) -> EvalResult:
        """Run every member's episodes and return their results in member order."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers, ports, simulators."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
