"""In-process inference backends: the bit-exact golden model and the float references.

Hardware backends (Verilator virtual board, FPGA) live in :mod:`ec_hw.train.device_backend`
(over the host link, :mod:`host`) and implement the same
:class:`~ec_hw.train.evaluator.Backend` interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import TARGETS, CoreConfig, NetConfig
from .evaluator import Backend, slot_indices

__all__ = ["ModelBackend", "FloatBackend", "DenseBackend", "GRUBackend", "LSTMBackend",
           "BackendSpec", "make_backend", "TARGETS"]



class ModelBackend(Backend):
    """The golden model (:mod:`ec_hw.model.core`): bit-exact to the gateware."""

    encoding = "fixed"

    def __init__(self, net: NetConfig, core: CoreConfig, slots: int):
        from ..model.core import FixedNet, NetState

        self.net, self.core, self.slots = net, core, slots
        self._fx = FixedNet(net, core)
        self._state = NetState.zeros(slots, self._fx.layout)
        self._genomes = np.zeros((slots, self._fx.layout.n_words), np.uint64)

    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        self._genomes[slot_indices(slots, genomes.shape[0], self.slots)] = genomes

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    supports_sampling = True
    supports_antithetic = True

    def load_rho(self, rho_q: np.ndarray) -> None:
        self._rho_q = np.asarray(rho_q, np.uint16).copy()

    def sample(self, gen_seed: int, members: np.ndarray, slots: np.ndarray | None = None,
               antithetic: bool = False) -> None:
        from ..model.sampler import sample_members

        self.load(sample_members(gen_seed, np.asarray(members, np.int64), self._rho_q,
                                 self._fx.layout, antithetic), slots)

    serial_max = 4
    """Steps of at most this many active members run on the calling thread alone: waking
    Numba's other threads for a few members' work (the last episodes of a generation, a
    handful of evaluation episodes) costs more than it saves, and on a loaded machine a
    parallel call waits until every one of its threads is scheduled."""

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        import numba

        from ..fixedpoint import action_to_unit
        from ..model.core import net_step

        threads = numba.get_num_threads()
        serial = threads > 1 and np.count_nonzero(active) <= self.serial_max
        if serial:
            numba.set_num_threads(1)
        try:
            act = net_step(self._fx.p, self._fx.lay, obs, self._genomes, self._state, active)
        finally:
            if serial:
                numba.set_num_threads(threads)
        return action_to_unit(act, self._fx.fp)


class FloatBackend(Backend):
    """The float64 reference of the paper's equations for 1-bit networks."""

    encoding = "float"

    def __init__(self, net: NetConfig, slots: int):
        from ..model.packing import GenomeLayout
        from ..model.reference import RefState

        self.net, self.slots = net, slots
        self._state = RefState.zeros(slots, net.n_neurons)
        self._genomes = np.zeros((slots, GenomeLayout.of(net).n_words), np.uint64)

    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        self._genomes[slot_indices(slots, genomes.shape[0], self.slots)] = genomes

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        from ..model.reference import ref_step

        return ref_step(self.net, self._genomes, self._state, obs, active)


class DenseBackend(Backend):
    """The ES baseline's dense float network (:func:`ec_hw.model.reference.dense_step`)."""

    encoding = "float"

    def __init__(self, net: NetConfig, slots: int):
        from ..model.reference import DenseLayout, RefState

        self.net, self.slots = net, slots
        self._state = RefState.zeros(slots, net.n_neurons)
        self._thetas = np.zeros((slots, DenseLayout.of(net).n_params), np.float64)

    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        self._thetas[slot_indices(slots, genomes.shape[0], self.slots)] = genomes

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        from ..model.reference import dense_step

        return dense_step(self.net, self._thetas, self._state, obs, active)


class RecurrentBackend(Backend):
    """The ES-GRU / ES-LSTM baselines' float32 cells (:func:`ec_hw.model.dense.recurrent_step`)."""

    encoding = "float"
    kind: str

    def __init__(self, net: NetConfig, slots: int):
        from ..model.dense import RecurrentLayout, RecurrentState

        self.net, self.slots = net, slots
        self.layout = RecurrentLayout.of(self.kind, net)
        self._state = RecurrentState.zeros(slots, self.layout.hidden)
        self._weights = np.zeros((slots, self.layout.n_params), np.float32)

    def load(self, genomes: np.ndarray, slots: np.ndarray | None = None) -> None:
        sl = slot_indices(slots, genomes.shape[0], self.slots)
        if len(sl) and np.array_equal(sl, np.arange(sl[0], sl[0] + len(sl))):
            # a run of slots (a whole population's first fill): scaled straight into the
            # buffer, without a temporary of the population's size
            self.layout.effective(genomes, out=self._weights[sl[0]: sl[0] + len(sl)])
        else:
            self._weights[sl] = self.layout.effective(genomes)

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        from ..model.dense import recurrent_step

        return recurrent_step(self.layout, self._weights, self._state, obs, active)


class GRUBackend(RecurrentBackend):
    kind = "gru"


class LSTMBackend(RecurrentBackend):
    kind = "lstm"


DENSE_BACKENDS = {"snn": DenseBackend, "gru": GRUBackend, "lstm": LSTMBackend}
"""Backend class of each ES baseline network (:attr:`ec_hw.config.TrainConfig.network`)."""


@dataclass(frozen=True)
class BackendSpec:
    """A picklable recipe for a backend, so worker processes can build their own."""

    target: str
    net: NetConfig
    core: CoreConfig
    network: str = "conn"
    """What a member's genome row is (:attr:`ec_hw.train.strategy.Strategy.backend_network`):
    ``conn``, EC's packed 1-bit connections, run on ``target``; or the float parameters of an
    ES baseline's dense network (``snn``, ``gru``, ``lstm``), run in-process."""
    port: str | None = None
    """Serial port (or XDMA device pair) of the board, for ``--target fpga``."""
    slots: int = 64
    """Member slots of in-process backends (hardware targets use the device's own)."""
    board: str = "arty_a7"
    """Board settings (``ec_hw/boards/<board>.toml``) of hardware targets and the virtual board."""
    sampler: bool = True
    """The virtual board (``sim``) has the on-chip sampler. A run that samples on the host
    (``--sampling host``) never sends ``LOAD_RHO``/``SAMPLE`` and builds it without
    (``Top(sampler=False)``, a configuration the hardware supports; INFO then reports no
    ``FEATURE_SAMPLER``): the simulator skips the sampler's logic on every cycle."""


def make_backend(spec: BackendSpec) -> Backend:
    """Build the backend a :class:`BackendSpec` describes."""
    if spec.network != "conn":
        return DENSE_BACKENDS[spec.network](spec.net, spec.slots)
    if spec.target == "model":
        return ModelBackend(spec.net, spec.core, spec.slots)
    if spec.target == "float":
        return FloatBackend(spec.net, spec.slots)
    if spec.target in ("sim", "fpga"):
        return _open_device_backend(spec)
    raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {spec.target!r}")


class _DeviceBackendOwner(Backend):
    """A device backend plus what it runs on (a virtual board process), closed together."""

    def __init__(self, inner: Backend, stack):
        self._inner, self._stack = inner, stack
        self.slots, self.encoding = inner.slots, inner.encoding

    def load(self, genomes, slots=None):
        self._inner.load(genomes, slots)

    def reset(self, mask):
        self._inner.reset(mask)

    @property
    def supports_sampling(self) -> bool:
        return self._inner.supports_sampling

    @property
    def supports_antithetic(self) -> bool:
        return self._inner.supports_antithetic

    def load_rho(self, rho_q):
        self._inner.load_rho(rho_q)

    def sample(self, gen_seed, members, slots=None, antithetic=False):
        self._inner.sample(gen_seed, members, slots, antithetic)

    def step(self, obs, active):
        return self._inner.step(obs, active[: self.slots] if len(active) > self.slots
                                else active)

    def close(self) -> None:
        self._stack.close()


def _open_device_backend(spec: BackendSpec) -> Backend:
    """``sim``: build (cached) and start a virtual board; ``fpga``: open the board's port."""
    import contextlib
    from dataclasses import replace

    from host.device import Device

    from ..build import load_board
    from .device_backend import DeviceBackend, virtual_board_backend

    board = load_board(spec.board)
    core = replace(spec.core, slots=board.slots, lanes=board.lanes, word_bits=board.word_bits)
    stack = contextlib.ExitStack()
    try:
        if spec.target == "sim":
            kw = {} if board.link == "pcie" else {"sampler": spec.sampler}
            inner = stack.enter_context(virtual_board_backend(spec.net, core, board=board,
                                                              **kw))
        else:
            if not spec.port:
                raise ValueError("--target fpga needs --port (the board's serial port)")
            dev = stack.enter_context(Device.open(spec.port, board.baud, net=spec.net,
                                                  core=core))
            inner = DeviceBackend(dev, spec.net, core)
    except BaseException:
        stack.close()
        raise
    return _DeviceBackendOwner(inner, stack)
