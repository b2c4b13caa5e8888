"""Frozen configuration objects, one per concern.

The same :class:`NetConfig` and :class:`CoreConfig` objects feed the golden model
(:mod:`ec_hw.model`), the gateware (:mod:`ec_hw.gateware`) and the trainer, so a network
evaluated in software and one evaluated in hardware are the same network by construction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

__all__ = ["NetConfig", "CoreConfig", "TrainConfig", "NETWORKS", "config_from_dict",
           "config_to_dict", "TARGETS", "FITNESS_SHAPINGS", "is_cluster_address"]

NETWORKS = ("snn", "gru", "lstm")
"""Network kinds a run can evolve (:attr:`TrainConfig.network`)."""

FITNESS_SHAPINGS = ("ranks", "utility", "mixed")
"""How members' fitness becomes their gradient weights (:attr:`TrainConfig.fitness_shaping`):
centered ranks (the authors'), NES utilities (:func:`ec_hw.train.ec.nes_utilities`), or a mix
of the two set by the share of members that ran every episode to the time limit
(:func:`ec_hw.train.ec.mixed_weights`)."""

TARGETS = ("model", "float", "sim", "fpga")
"""Inference targets: the bit-exact golden model, the float reference, the virtual board
(Verilated device behind a pseudo-terminal), a board on a serial port."""


def is_cluster_address(value: object) -> bool:
    """True for the values that mean a Ray cluster: ``ray``, ``auto``, ``ray://...`` or
    ``HOST:PORT`` (``--workers``, :attr:`TrainConfig.cluster`)."""
    return isinstance(value, str) and (
        value in ("ray", "auto") or value.startswith("ray://")
        or (":" in value and value.rsplit(":", 1)[1].isdigit()))


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")


def _positive_float(name: str, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class NetConfig:
    """The spiking network of Evolving Connectivity (Wang et al., NeurIPS 2023).

    Defaults follow the authors' ``ConnSNN``: 256 LIF neurons, first half excitatory,
    dt = 0.5 ms, 33 substeps per environment step, 1-bit input, recurrent and output
    connections.
    """

    n_neurons: int = 256
    """Number of LIF neurons N (recurrent matrix is N x N, self-connections included)."""
    exc_fraction: float = 0.5
    """Fraction of neurons that are excitatory; the first ``round(N * exc_fraction)`` are."""
    obs_dim: int = 11
    """Observation dimension D; the input vector is [x, -x] of length 2D."""
    act_dim: int = 3
    """Action dimension A."""
    substeps: int = 33
    """LIF substeps per environment step (the authors use round(16.6 ms / 0.5 ms) = 33)."""
    dt: float = 0.5
    """Substep length in ms."""
    tau_syn: float = 5.0
    """Synaptic current time constant in ms."""
    tau_m: float = 10.0
    """Membrane time constant in ms."""
    tau_out: float = 10.0
    """Output rate-trace time constant in ms."""
    vth: float = 1.0
    """Firing threshold; the reset potential is 0."""
    rec_gain: float = 1.0
    """K_h of the recurrent scale :attr:`r_rec` (the authors' 1). Structured topologies with
    small fan-in (:mod:`ec_hw.topology`) need a larger one for spikes to cross a layer."""
    out_gain: float = 1.0
    """Factor on the output scale :attr:`r_out` (the authors' 1): a readout that sums many
    active neurons, such as a classifier's, needs a smaller one to stay below saturation."""
    topology: str = "dense"
    """Which connections exist (:mod:`ec_hw.topology`): ``dense`` (all), or a structured
    topology such as ``mixer:patch=4,channels=10`` whose other connections are fixed zeros
    (rho exactly 0, never sampled as 1, never updated)."""

    def __post_init__(self) -> None:
        _positive_int("n_neurons", self.n_neurons)
        if self.n_neurons < 16:
            raise ValueError(f"n_neurons must be at least 16, not {self.n_neurons!r}")
        if not isinstance(self.exc_fraction, (int, float)) or not 0 < self.exc_fraction < 1:
            raise ValueError(f"exc_fraction must lie strictly between 0 and 1, not "
                             f"{self.exc_fraction!r}")
        _positive_int("obs_dim", self.obs_dim)
        _positive_int("act_dim", self.act_dim)
        _positive_int("substeps", self.substeps)
        for name in ("dt", "tau_syn", "tau_m", "tau_out", "vth", "rec_gain", "out_gain"):
            _positive_float(name, getattr(self, name))
        if not 1 <= self.n_exc <= self.n_neurons - 1:
            raise ValueError(f"exc_fraction {self.exc_fraction!r} leaves no excitatory or no "
                             f"inhibitory neuron at n_neurons={self.n_neurons}")
        from .topology import check_topology

        check_topology(self)

    # Derived quantities -------------------------------------------------------------------
    @property
    def n_exc(self) -> int:
        """Number of excitatory neurons (indices ``0 .. n_exc-1``)."""
        return round(self.n_neurons * self.exc_fraction)

    @property
    def n_inputs(self) -> int:
        """Length of the input vector [x, -x]."""
        return 2 * self.obs_dim

    @property
    def alpha_syn(self) -> float:
        return math.exp(-self.dt / self.tau_syn)

    @property
    def alpha_m(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def alpha_out(self) -> float:
        return math.exp(-self.dt / self.tau_out)

    # The authors' scales with K_in = 0.1, K_h = 1, K_out = 5, expected sparsity 0.5.
    @property
    def r_in(self) -> float:
        """Input scale R_in = K_in Vth tau_m sqrt(2 / (0.5 D)) = 2 / sqrt(D) at the defaults."""
        return 0.1 * self.vth * self.tau_m * math.sqrt(2.0 / (0.5 * self.obs_dim))

    @property
    def r_rec(self) -> float:
        """Recurrent scale R = K_h Vth tau_m / tau_syn sqrt(2 / (0.5 N)) = 4 / sqrt(N) at the
        defaults (K_h = :attr:`rec_gain`)."""
        return (self.rec_gain * self.vth * self.tau_m / self.tau_syn
                * math.sqrt(2.0 / (0.5 * self.n_neurons)))

    @property
    def r_out(self) -> float:
        """Output scale R_out = K_out sqrt(1 / (0.5 N)) = 5 sqrt(2 / N) at the defaults
        (K_out = 5 :attr:`out_gain`)."""
        return 5.0 * self.out_gain * math.sqrt(1.0 / (0.5 * self.n_neurons))

    @property
    def n_conn_in(self) -> int:
        return self.n_neurons * self.n_inputs

    @property
    def n_conn_rec(self) -> int:
        return self.n_neurons * self.n_neurons

    @property
    def n_conn_out(self) -> int:
        return self.act_dim * self.n_neurons

    @property
    def n_conn(self) -> int:
        """Total number of Bernoulli connections (the genome length in bits)."""
        return self.n_conn_in + self.n_conn_rec + self.n_conn_out


@dataclass(frozen=True, kw_only=True)
class CoreConfig:
    """Fixed-point widths and hardware shape of the LIF core.

    The arithmetic these widths define is specified in :mod:`ec_hw.fixedpoint`; the golden
    model and the gateware both derive every constant from this object through
    :func:`ec_hw.fixedpoint.derive`.
    """

    frac_bits: int = 12
    """F: fractional bits of currents, membrane potential, rate traces and observations."""
    state_bits: int = 24
    """Signed width of synaptic current, input current, total current and membrane potential."""
    decay_bits: int = 16
    """K: fractional bits of the decay multipliers (unsigned, < 2**K)."""
    obs_bits: int = 16
    """Signed width of one scaled observation value R_in * x in Q(obs_bits-F).F."""
    action_frac_bits: int = 14
    """Fractional bits of the action encoding; an action is in [-2**A, 2**A] (= [-1, 1])."""
    rout_bits: int = 16
    """Fractional bits of the output scale multiplier R_out."""
    lanes: int = 4
    """Neurons updated in parallel by the core (a power of two dividing n_neurons)."""
    word_bits: int = 64
    """Width of one connection-memory word (a power of two, 8..256)."""
    slots: int = 1
    """Member slots held by one core (connections + state each); one STEP runs them all."""

    def __post_init__(self) -> None:
        for f in fields(self):
            _positive_int(f.name, getattr(self, f.name))
        if not 8 <= self.frac_bits <= 16:
            raise ValueError(f"frac_bits must lie in 8..16, not {self.frac_bits!r}")
        # u - v needs state_bits + 1 bits: at the default 24 it fits the DSP48's 25-bit A port;
        # 25 is allowed for headroom studies and costs a wider multiplier.
        if not self.frac_bits + 6 <= self.state_bits <= 25:
            raise ValueError(f"state_bits must lie in frac_bits+6..25 (one DSP48 A port), not "
                             f"{self.state_bits!r}")
        if not 8 <= self.decay_bits <= 17:
            raise ValueError(f"decay_bits must lie in 8..17 (one DSP48 B port), not "
                             f"{self.decay_bits!r}")
        if not self.frac_bits + 1 <= self.obs_bits <= self.state_bits:
            raise ValueError(f"obs_bits must lie in frac_bits+1..state_bits, not "
                             f"{self.obs_bits!r}")
        if not 4 <= self.action_frac_bits <= 30:
            raise ValueError(f"action_frac_bits must lie in 4..30, not {self.action_frac_bits!r}")
        if not 8 <= self.rout_bits <= 17:
            raise ValueError(f"rout_bits must lie in 8..17, not {self.rout_bits!r}")
        if self.lanes & (self.lanes - 1):
            raise ValueError(f"lanes must be a positive power of two, not {self.lanes!r}")
        if self.word_bits & (self.word_bits - 1) or not 8 <= self.word_bits <= 256:
            raise ValueError(f"word_bits must be a power of two in 8..256, not "
                             f"{self.word_bits!r}")

    @property
    def action_bits(self) -> int:
        """Signed width of an action value (holds +-2**action_frac_bits)."""
        return self.action_frac_bits + 2


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Hyperparameters of an Evolving Connectivity (or ES baseline) run."""

    env_id: str = "InvertedPendulum-v5"
    """gymnasium environment id (Box observations and Box actions)."""
    algo: str = "ec"
    """``ec`` (Bernoulli connections, NES) or ``es`` (dense float weights, Gaussian ES)."""
    network: str = "snn"
    """The network the members are: ``snn`` (EC's 1-bit spiking network, or ES-RSNN's dense
    spiking one), ``gru`` or ``lstm`` (ES only: dense float32 recurrent cells of
    ``NetConfig.n_neurons`` units with a linear readout)."""
    pop_size: int = 256
    """Population members sampled per generation (the paper uses 10240)."""
    generations: int = 60
    """Number of generations to run."""
    lr: float = 0.15
    """Adam learning rate on rho (EC) or on the weights (ES)."""
    lr_decay_start: int | None = None
    """Generations of constant ``lr``; after them the step decays as ``lr * sqrt(start / g)``
    for the ``g``-th update (:func:`ec_hw.train.strategy.scheduled_lr`). None: ``lr`` throughout.
    The schedule depends on the generation only, so a resumed run takes the same steps."""
    eps: float = 1e-3
    """rho is clipped to [eps, 1 - eps] after every update."""
    sigma: float = 0.3
    """ES only: standard deviation of the antithetic Gaussian noise (authors: 0.3)."""
    weight_decay: float = 0.1
    """ES only: AdamW decoupled weight decay (authors: 0.1)."""
    episodes: int = 1
    """Episodes per member; fitness is the mean return over them."""
    eval_episodes: int = 4
    """Episodes of the deterministic network (rho > 0.5) evaluated every generation."""
    max_episode_steps: int = 1000
    """Episode length cap (the env's own TimeLimit applies too)."""
    healthy_reward: bool | None = None
    """Whether the fitness keeps the env's survival bonus (``reward_survive``). None (default):
    kept where surviving is the task (balancing envs), dropped where the env also pays for
    forward progress (``reward_forward``: Hopper, Walker2d, Ant, Humanoid), as ARS did, since
    there the bonus makes standing still a deep local optimum. The reported return is always
    the env's true return."""
    seed: int = 0
    """Run seed; every random draw derives from it."""
    target: str = "model"
    """Inference target: ``model`` (bit-exact fixed point), ``float``, ``sim``, ``fpga``."""
    workers: int = 2
    """Worker processes that step environments and run inference (Ray actors if ``cluster``)."""
    cluster: str | None = None
    """Ray cluster that runs the workers: ``ray`` (the local cluster, started if none runs),
    ``auto`` (an existing one), ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT``; None runs
    them on this machine. Results do not depend on it."""
    sampling: str = "host"
    """Where EC members are drawn: ``host`` (connections sent to the target) or ``device``
    (the target receives rho once per generation and samples from the same seeds)."""
    env_backend: str = "gymnasium"
    """Env engine: ``gymnasium`` (every episode reset with its own seed), ``envpool`` (C++
    MuJoCo batches; episodes start from the model's initial state, see docs/engine.md) or
    ``auto`` (EnvPool when it runs the id). ``ec-hw train`` records the resolved engine; runs
    written before this field existed ran on gymnasium."""
    antithetic: bool = False
    """EC only: draw members as mirrored pairs (``u`` and ``65535 - u`` of one Threefry stream
    keyed by ``member >> 1``, see :mod:`ec_hw.model.sampler`); needs an even population. With
    ``sampling='device'`` the target must draw them too (INFO ``FEATURE_ANTITHETIC``; checked
    when the first generation runs)."""

    fitness_shaping: str | None = None
    """How members' fitness becomes the gradient's weights: ``utility`` (NES utilities:
    log-decreasing weights on the better half, one shared weight for the worse half;
    :func:`ec_hw.train.ec.nes_utilities`), ``ranks`` (centered ranks in [-0.5, 0.5], the
    authors') or ``mixed`` (the two mixed by the share of members whose every episode ran to
    the time limit, :func:`ec_hw.train.ec.mixed_weights`; docs/learning.md 9.2, not the
    default). None (default): ``utility`` for EC (docs/learning.md section 8: higher return on
    InvertedDoublePendulum and Walker2d over 3 seeds each), ``ranks`` for the ES baselines
    (OpenAI-ES as in the paper's comparison). Ties share their weight either way. Runs written
    before this field existed used ``ranks``."""

    common_starts: bool = True
    """Every member of a generation runs its episodes from the same start states (common
    random numbers): episode ``e`` of every member is reset with one seed of the generation,
    so the ranking compares connections, not luck of the start; the starts still change from
    one generation to the next. Only the gymnasium engine has seeded starts (EnvPool's
    episodes all start noise-free, see docs/engine.md). ``False``: a seed per member and
    episode. Runs written before this field existed used ``False``."""

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must be a non-empty string, not {self.env_id!r}")
        if self.algo not in ("ec", "es"):
            raise ValueError(f"algo must be 'ec' or 'es', not {self.algo!r}")
        _positive_int("pop_size", self.pop_size)
        if self.pop_size < 2:
            raise ValueError(f"pop_size must be at least 2, not {self.pop_size!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not "
                             f"{self.network!r}")
        if self.network != "snn" and self.algo != "es":
            raise ValueError(f"network {self.network!r} needs algo 'es' (EC evolves the 1-bit "
                             f"spiking network only)")
        if self.algo == "es" and self.target in ("sim", "fpga"):
            raise ValueError(f"target {self.target!r} runs EC's 1-bit network only; the ES "
                             f"baselines run their float networks in-process (target model)")
        if self.algo == "es" and self.pop_size % 2:
            raise ValueError(f"pop_size must be even for antithetic ES, not {self.pop_size!r}")
        _positive_int("generations", self.generations)
        _positive_float("lr", self.lr)
        if self.lr_decay_start is not None:
            _positive_int("lr_decay_start", self.lr_decay_start)
        if not isinstance(self.eps, (int, float)) or not 0 < self.eps < 0.5:
            raise ValueError(f"eps must lie strictly between 0 and 0.5, not {self.eps!r}")
        _positive_float("sigma", self.sigma)
        if not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, not {self.weight_decay!r}")
        _positive_int("episodes", self.episodes)
        if not isinstance(self.eval_episodes, int) or self.eval_episodes < 0:
            raise ValueError(f"eval_episodes must be >= 0, not {self.eval_episodes!r}")
        _positive_int("max_episode_steps", self.max_episode_steps)
        if self.healthy_reward not in (None, True, False):
            raise ValueError(f"healthy_reward must be True, False or None (auto), not "
                             f"{self.healthy_reward!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer in 0..2**63-1, not {self.seed!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not "
                             f"{self.target!r}")
        _positive_int("workers", self.workers)
        if self.cluster is not None and not is_cluster_address(self.cluster):
            raise ValueError(f"cluster must be 'ray', 'auto', 'ray://HOST:PORT' or "
                             f"'HOST:PORT', not {self.cluster!r}")
        if self.sampling not in ("host", "device"):
            raise ValueError(f"sampling must be 'host' or 'device', not {self.sampling!r}")
        if self.env_backend not in ("auto", "envpool", "gymnasium"):
            raise ValueError(f"env_backend must be 'auto', 'envpool' or 'gymnasium', not "
                             f"{self.env_backend!r}")
        if self.sampling == "device" and self.algo != "ec":
            raise ValueError("sampling 'device' needs algo 'ec' (ES members are not Bernoulli)")
        if not isinstance(self.common_starts, bool):
            raise ValueError(f"common_starts must be True or False, not {self.common_starts!r}")
        if self.fitness_shaping is not None and self.fitness_shaping not in FITNESS_SHAPINGS:
            raise ValueError(f"fitness_shaping must be one of {', '.join(FITNESS_SHAPINGS)}, not "
                             f"{self.fitness_shaping!r}")
        if not isinstance(self.antithetic, bool):
            raise ValueError(f"antithetic must be True or False, not {self.antithetic!r}")
        if self.antithetic and self.algo == "ec":
            if self.pop_size % 2:
                raise ValueError(f"pop_size must be even for antithetic pairs, not "
                                 f"{self.pop_size!r}")


    @property
    def method(self) -> str:
        """Display name of the algorithm and network: EC, ES-RSNN, ES-GRU or ES-LSTM."""
        if self.algo == "ec":
            return "EC"
        return "ES-" + {"snn": "RSNN"}.get(self.network, self.network.upper())


def config_from_dict(cls, data: dict):
    """Build a config dataclass from a dict, refusing unknown keys with a clear message."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    return cls(**data)


def config_to_dict(cfg) -> dict:
    """Return a config dataclass as a plain dict (JSON-serializable)."""
    return asdict(cfg)

