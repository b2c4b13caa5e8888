"""Search strategies behind one interface (evosax style): ``ask`` -> members, ``tell`` -> update.

The trainer (:mod:`ec_hw.train.run`) picks one strategy per run with :func:`make_strategy` and
never branches on the algorithm again. Per generation::

    members = strategy.ask(state, gen_seed)           # EvalJob fields describing the members
    result  = evaluator.evaluate(EvalJob(..., **members))
    strategy.tell(state, job, result.fitness)         # moves state.params and state.adam

A member never travels as weights: it is described by the generation seed and its index
(plus the generation's quantized rho for EC, or the ES center and sigma), so evaluators
anywhere regenerate it and the driver regenerates it again in :meth:`Strategy.tell`.

Strategies hold only hyperparameters; everything that changes lives in the
:class:`~ec_hw.train.state.RunState` they are handed, which is what checkpoints save.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from ..config import NetConfig, TrainConfig
from .optim import Adam

if TYPE_CHECKING:
    from .evaluator import EvalJob
    from .state import RunState

__all__ = ["Strategy", "EC", "OpenES", "STRATEGIES", "make_strategy", "scheduled_lr"]


def scheduled_lr(lr: float, decay_start: int | None, update: int) -> float:
    """The learning rate of the ``update``-th update (1-based): ``lr`` for the first
    ``decay_start`` updates, then ``lr * sqrt(decay_start / update)`` (None: always ``lr``).

    With Adam every parameter moves about ``lr`` per update whatever its gradient's
    signal-to-noise ratio, so the noise part of its path has variance ``sum lr_g^2`` and the
    signal part grows as ``sum lr_g``. Under ``1 / sqrt(g)`` the first grows only as
    ``log g`` and the second as ``sqrt g``: late commitments (rho crossing 0.5 toward a bound)
    are made by the averaged gradient rather than by its noise (docs/learning.md 10).
    """
    if decay_start is None or update <= decay_start:
        return lr
    return lr * (decay_start / update) ** 0.5


class Strategy(ABC):
    """A population-based optimizer of a flat float64 parameter vector.

    Parameters
    ----------
    cfg : TrainConfig
        The run's hyperparameters (``lr``, ``eps``, ``sigma``, ...).
    net : NetConfig
        The network the members instantiate.
    """

    algo: str
    """:attr:`TrainConfig.algo` value that selects this strategy."""
    default_shaping: str
    """The fitness shaping used when :attr:`TrainConfig.fitness_shaping` is None."""

    def __init__(self, cfg: TrainConfig, net: NetConfig):
        self.cfg, self.net = cfg, net

    @property
    def shaping(self) -> str:
        """The run's fitness shaping: the configured one, else this strategy's default."""
        return self.cfg.fitness_shaping or self.default_shaping

    @property
    @abstractmethod
    def backend_network(self) -> str:
        """:attr:`~ec_hw.train.backends.BackendSpec.network`: what the backends must run."""

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Length of the parameter vector (rho, or the ES center)."""

    @abstractmethod
    def initial_params(self) -> np.ndarray:
        """The search distribution's center before generation 0 (float64, from the run seed)."""

    def step_params(self, state: RunState, grad: np.ndarray) -> np.ndarray:
        """``state.params`` after one Adam step along ``grad`` at this update's learning rate."""
        state.adam.lr = scheduled_lr(self.cfg.lr, self.cfg.lr_decay_start, state.adam.t + 1)
        return state.adam.step(state.params, grad)

    @abstractmethod
    def optimizer(self) -> Adam:
        """A fresh optimizer with this run's hyperparameters (state restored on resume)."""

    @abstractmethod
    def ask(self, state: RunState, gen_seed: int) -> dict:
        """Describe generation ``gen_seed``'s members as :class:`EvalJob` fields.

        Member ``m`` of the generation is a function of the returned fields and ``m`` alone.
        """

    @abstractmethod
    def tell(self, state: RunState, job: EvalJob, fitness: np.ndarray,
             full: float = 0.0) -> None:
        """Update ``state.params`` and ``state.adam`` from the members' ``fitness`` (job order);
        ``full`` is the share of members that ran every episode to the time limit (used by the
        ``mixed`` fitness shaping)."""

    @abstractmethod
    def deployed(self, state: RunState) -> np.ndarray:
        """The deterministic network (one backend genome row) evaluated and shipped."""

    @abstractmethod
    def metrics(self, state: RunState) -> dict:
        """Strategy-specific entries of a generation's metrics row."""

    def activity(self, state: RunState, core, seed: int) -> dict:
        """Activity of the deployed network for the metrics row (none by default)."""
        return {}


class EC(Strategy):
    """Evolving Connectivity: NES over Bernoulli connection probabilities (:mod:`.ec`).

    ``ask``: members are ``B(rho_q)`` draws regenerated from (generation seed, index);
    ``tell``: centered ranks, natural gradient, Adam, ``rho`` clipped to ``[eps, 1 - eps]``;
    the deployed network is ``rho > 0.5``.
    """

    algo = "ec"
    default_shaping = "utility"  # docs/learning.md section 8
    backend_network = "conn"

    def __init__(self, cfg: TrainConfig, net: NetConfig):
        from ..model.packing import GenomeLayout
        from ..topology import connectivity_mask

        super().__init__(cfg, net)
        self.layout = GenomeLayout.of(net)
        self.mask = connectivity_mask(net)
        """Connections that exist (None: all); the others keep rho exactly 0."""

    @property
    def n_params(self) -> int:
        return self.net.n_conn

    def initial_params(self) -> np.ndarray:
        from ..topology import initial_rho

        # dense: 0.5, as the authors (every connection undecided); masked topologies: 0 on
        # the masked connections and a seeded asymmetric start on the others
        return initial_rho(self.net, self.cfg.seed)

    def optimizer(self) -> Adam:
        return Adam.zeros(self.n_params, lr=self.cfg.lr)

    def ask(self, state: RunState, gen_seed: int) -> dict:
        from ..model.sampler import quantize_rho

        return {"gen_seed": gen_seed, "rho_q": quantize_rho(state.params),
                "sampling": self.cfg.sampling, "antithetic": self.cfg.antithetic}

    def tell(self, state: RunState, job: EvalJob, fitness: np.ndarray,
             full: float = 0.0) -> None:
        import time

        from .ec import natural_gradient_halves, shape_fitness

        t_up = time.perf_counter()
        w = shape_fitness(fitness, self.shaping, full)
        # Bit-identical to natural_gradient; the two halves' estimates give its SNR per group.
        grad, self._diag = natural_gradient_halves(job.gen_seed, job.member_ids, w, job.rho_q,
                                                   self.layout, job.antithetic)
        state.params = np.clip(self.step_params(state, grad), self.cfg.eps,
                               1.0 - self.cfg.eps)
        if self.mask is not None:
            # A masked connection is never drawn (rho_q 0), so its gradient is exactly 0; only
            # the clip would lift it to eps.
            state.params[~self.mask] = 0.0
        self._diag["update_s"] = round(time.perf_counter() - t_up, 3)

    def deployed(self, state: RunState) -> np.ndarray:
        from .ec import deterministic_genome

        return deterministic_genome(state.params, self.layout)

    def metrics(self, state: RunState) -> dict:
        """rho's entropy and clipping per connection group, members' expected distance from the
        deployed network, the learning rate, the last update's gradient SNR and time
        (docs/learning.md)."""
        from .ec import mode_flips, rho_diagnostics, rho_entropy

        live = state.params if self.mask is None else state.params[self.mask]
        return {"rho_entropy": rho_entropy(live), "mode_flips": round(mode_flips(live), 1),
                "lr": state.adam.lr, **getattr(self, "_diag", {}),
                **rho_diagnostics(state.params, self.layout, self.cfg.eps, self.mask)}

    def activity(self, state: RunState, core, seed: int) -> dict:
        """Spiking and output saturation of the deployed network (golden model, one episode
        of at most 100 env steps)."""
        from ..tasks import is_task
        from .ec import probe_activity

        if is_task(self.cfg.env_id):  # no env to probe; the task's metrics carry accuracy
            return {}
        return probe_activity(self.net, core, self.deployed(state), self.cfg.env_id,
                              state.obs_mean, state.obs_std, seed)


class OpenES(Strategy):
    """OpenAI-ES (Salimans et al. 2017) with antithetic Gaussian noise and AdamW (:mod:`.es`).

    Members ``2p`` and ``2p + 1`` are ``center +- sigma * eps_p`` with ``eps_p`` regenerated
    from (generation seed, p); the network is ``cfg.network`` (ES-RSNN, ES-GRU or ES-LSTM);
    the deployed network is the center.
    """

    algo = "es"
    default_shaping = "ranks"  # OpenAI-ES, as in the paper's comparison

    def __init__(self, cfg: TrainConfig, net: NetConfig):
        from ..model.dense import dense_layout

        super().__init__(cfg, net)
        self.layout = dense_layout(cfg.network, net)

    @property
    def backend_network(self) -> str:
        return self.cfg.network

    @property
    def n_params(self) -> int:
        return self.layout.n_params

    def initial_params(self) -> np.ndarray:
        return self.layout.initial_params(np.random.Generator(
            np.random.Philox(key=self.cfg.seed ^ 0x5EED)))

    def optimizer(self) -> Adam:
        return Adam.zeros(self.n_params, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)

    def ask(self, state: RunState, gen_seed: int) -> dict:
        return {"gen_seed": gen_seed, "es_center": state.params, "es_sigma": self.cfg.sigma}

    def tell(self, state: RunState, job: EvalJob, fitness: np.ndarray,
             full: float = 0.0) -> None:
        from .ec import shape_fitness
        from .es import antithetic_gradient

        grad = antithetic_gradient(job.gen_seed, job.member_ids,
                                   shape_fitness(fitness, self.shaping, full),
                                   self.n_params, self.cfg.sigma)
        state.params = self.step_params(state, grad)

    def deployed(self, state: RunState) -> np.ndarray:
        return state.params.copy()

    def metrics(self, state: RunState) -> dict:
        return {"param_norm": float(np.linalg.norm(state.params)), "lr": state.adam.lr}


STRATEGIES: dict[str, type[Strategy]] = {s.algo: s for s in (EC, OpenES)}
"""Strategy class per :attr:`TrainConfig.algo`."""


def make_strategy(cfg: TrainConfig, net: NetConfig) -> Strategy:
    """The strategy ``cfg.algo`` names, for ``net``."""
    return STRATEGIES[cfg.algo](cfg, net)
