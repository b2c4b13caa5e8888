"""In-process inference backends: the bit-exact golden model and the float references.

Hardware backends (Verilator virtual board, FPGA) live in :mod:`host.backend` and implement the
same :class:`~ec_hw.train.evaluator.Backend` interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import CoreConfig, NetConfig
from .evaluator import Backend

__all__ = ["ModelBackend", "FloatBackend", "DenseBackend", "BackendSpec", "make_backend",
           "TARGETS"]

TARGETS = ("model", "float", "sim", "fpga")


class ModelBackend(Backend):
    """The golden model (:mod:`ec_hw.model.core`): bit-exact to the gateware."""

    encoding = "fixed"

    def __init__(self, net: NetConfig, core: CoreConfig, slots: int):
        from ..model.core import FixedNet, NetState

        self.net, self.core, self.slots = net, core, slots
        self._fx = FixedNet(net, core)
        self._state = NetState.zeros(slots, self._fx.layout)
        self._genomes = np.zeros((slots, self._fx.layout.n_words), np.uint64)

    def load(self, genomes: np.ndarray) -> None:
        n = genomes.shape[0]
        if n > self.slots:
            raise ValueError(f"{n} genomes do not fit {self.slots} slots")
        self._genomes[:n] = genomes
        self._genomes[n:] = 0

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        from ..fixedpoint import action_to_unit
        from ..model.core import net_step

        act = net_step(self._fx.p, self._fx.lay, obs, self._genomes, self._state, active)
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

    def load(self, genomes: np.ndarray) -> None:
        n = genomes.shape[0]
        self._genomes[:n] = genomes
        self._genomes[n:] = 0

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

    def load(self, genomes: np.ndarray) -> None:
        n = genomes.shape[0]
        self._thetas[:n] = genomes
        self._thetas[n:] = 0

    def reset(self, mask: np.ndarray) -> None:
        self._state.reset(mask)

    def step(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        from ..model.reference import dense_step

        return dense_step(self.net, self._thetas, self._state, obs, active)


@dataclass(frozen=True)
class BackendSpec:
    """A picklable recipe for a backend, so worker processes can build their own."""

    target: str
    net: NetConfig
    core: CoreConfig
    algo: str = "ec"
    port: str | None = None
    """Serial port (or ``sim`` to start a virtual board) for hardware targets."""
    slots: int = 64


def make_backend(spec: BackendSpec) -> Backend:
    """Build the backend a :class:`BackendSpec` describes."""
    if spec.algo == "es":
        return DenseBackend(spec.net, spec.slots)
    if spec.target == "model":
        return ModelBackend(spec.net, spec.core, spec.slots)
    if spec.target == "float":
        return FloatBackend(spec.net, spec.slots)
    if spec.target in ("sim", "fpga"):
        from host.backend import open_backend  # the hardware link (issue: boards/link)

        return open_backend(spec)
    raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {spec.target!r}")
